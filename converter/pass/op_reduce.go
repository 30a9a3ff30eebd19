package pass

import (
	"github.com/animed/animed/converter/ir"
)

// Reductions other than ReduceMean (and GlobalMaxPool, LogSoftmax): ReduceSum, ReduceMax, ReduceMin,
// ReduceProd map to TFLite's SUM, REDUCE_MAX, REDUCE_MIN, REDUCE_PROD over
// the physical axes; ReduceSumSquare, ReduceL1, ReduceL2, ReduceLogSum
// and ReduceLogSumExp (max-shifted, as ONNX Runtime computes it) are
// composed from them. Axes come from the attribute (opset < 13, or < 18
// except ReduceSum) or a constant input; empty axes reduce everything
// unless noop_with_empty_axes.
func init() {
	register(family{infer: inferReduce, lower: lowerReduce},
		"ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare",
		"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp")
	register(family{infer: inferGlobalPool, lower: lowerGlobalMaxPool}, "GlobalMaxPool")
	register(family{infer: sameShape, lower: func(l *lowering, n *ir.Node) error { return l.softmaxLike(n, "LOG_SOFTMAX") }}, "LogSoftmax")
}

// inferGlobalPool keeps N and C and makes every spatial dim 1.
func inferGlobalPool(n *ir.Node) error {
	xs := n.In(0).Shape
	if len(xs) < 3 {
		return nodeErr(n, "input rank %d < 3", len(xs))
	}
	s := append([]int(nil), xs...)
	for i := 2; i < len(s); i++ {
		s[i] = 1
	}
	setOut(n, 0, n.In(0).DType, s)
	return nil
}

// lowerGlobalMaxPool is REDUCE_MAX over the spatial axes.
func lowerGlobalMaxPool(l *lowering, n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	var axes []int64
	for i := 2; i < n.In(0).Rank(); i++ {
		axes = append(axes, int64(i))
	}
	v, perm := l.reduceWith("REDUCE_MAX", n.Name, e, axes, true)
	l.set(n, v, perm)
	return nil
}

// reduceSpec returns the logical axes a reduction node reduces (nil with
// noop true when it passes its input through).
func reduceSpec(n *ir.Node) (axes []int64, noop bool, err error) {
	a, ok := reduceAxes(n)
	if !ok {
		return nil, false, errUnknown
	}
	r := n.In(0).Rank()
	if len(a) == 0 {
		if n.Attrs.Int("noop_with_empty_axes", 0) != 0 {
			return nil, true, nil
		}
		for i := range r {
			a = append(a, int64(i))
		}
	}
	if axes = normAxes(a, r); axes == nil {
		return nil, false, nodeErr(n, "bad axes %v for rank %d", a, r)
	}
	return axes, false, nil
}

func inferReduce(n *ir.Node) error {
	x := n.In(0)
	axes, noop, err := reduceSpec(n)
	if err != nil {
		return err
	}
	if noop {
		return sameShape(n)
	}
	s, err := reduceShape(x.Shape, axes, n.Attrs.Int("keepdims", 1) != 0)
	if err != nil {
		return nodeErr(n, "%v", err)
	}
	setOut(n, 0, x.DType, s)
	return nil
}

func lowerReduce(l *lowering, n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	axes, noop, err := reduceSpec(n)
	if err != nil {
		return err
	}
	if noop {
		l.set(n, e.v, e.perm)
		return nil
	}
	keep := n.Attrs.Int("keepdims", 1) != 0
	unary := func(op string, x *ir.Value) *ir.Value {
		return l.emit(op, n.Name+"_"+op, []*ir.Value{x}, x.Shape, nil)
	}
	square := func(x *ir.Value) *ir.Value {
		return l.emit("MUL", n.Name+"_square", []*ir.Value{x, x}, x.Shape, nil)
	}
	var v *ir.Value
	var perm []int
	switch n.Op {
	case "ReduceSum":
		v, perm = l.reduceWith("SUM", n.Name, e, axes, keep)
	case "ReduceMax":
		v, perm = l.reduceWith("REDUCE_MAX", n.Name, e, axes, keep)
	case "ReduceMin":
		v, perm = l.reduceWith("REDUCE_MIN", n.Name, e, axes, keep)
	case "ReduceProd":
		v, perm = l.reduceWith("REDUCE_PROD", n.Name, e, axes, keep)
	case "ReduceSumSquare":
		v, perm = l.reduceWith("SUM", n.Name, lowered{square(e.v), e.perm}, axes, keep)
	case "ReduceL1":
		v, perm = l.reduceWith("SUM", n.Name, lowered{unary("ABS", e.v), e.perm}, axes, keep)
	case "ReduceL2":
		v, perm = l.reduceWith("SUM", n.Name+"_sum", lowered{square(e.v), e.perm}, axes, keep)
		v = l.emit("SQRT", n.Name, []*ir.Value{v}, v.Shape, nil)
	case "ReduceLogSum":
		v, perm = l.reduceWith("SUM", n.Name+"_sum", e, axes, keep)
		v = l.emit("LOG", n.Name, []*ir.Value{v}, v.Shape, nil)
	case "ReduceLogSumExp":
		// log(sum(exp(x - m))) + m with m the max, kept for broadcasting.
		m, _ := l.reduceWith("REDUCE_MAX", n.Name+"_max", e, axes, true)
		d := l.emit("SUB", n.Name+"_shifted", []*ir.Value{e.v, m}, e.v.Shape, nil)
		v, perm = l.reduceWith("SUM", n.Name+"_sum", lowered{unary("EXP", d), e.perm}, axes, keep)
		v = l.emit("LOG", n.Name+"_log", []*ir.Value{v}, v.Shape, nil)
		if !keep {
			m = l.emit("RESHAPE", n.Name+"_max_squeezed", []*ir.Value{m, l.shapeConst(v.Shape)}, v.Shape, ir.Attrs{"new_shape": toI64(v.Shape)})
		}
		v = l.emit("ADD", n.Name, []*ir.Value{v, m}, v.Shape, nil)
	}
	l.set(n, v, perm)
	return nil
}
