package pass

import (
	"slices"

	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
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
	register(family{infer: inferReduce, lower: (*lowering).mean}, "ReduceMean")
	register(family{infer: inferGlobalPool, lower: (*lowering).mean}, "GlobalAveragePool")
	register(family{infer: sameShape, lower: func(l *lowering, n *ir.Node) error { return l.softmaxLike(n, tflitefile.LogSoftmax) }}, "LogSoftmax")
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
	v, perm := l.reduceWith(tflitefile.ReduceMax, n.Name, e, axes, true)
	l.set(n, v, perm)
	return nil
}

// reduceSpec returns the logical axes a reduction node reduces (nil with
// noop true when it passes its input through).
func reduceSpec(n *ir.Node) (axes []int64, noop bool, err error) {
	a, ok := axesOperand(n)
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
	unary := func(op tflitefile.BuiltinOp, x *ir.Value) *ir.Value {
		return l.emit(op, n.Name+"_"+op.String(), []*ir.Value{x}, x.Shape, nil)
	}
	square := func(x *ir.Value) *ir.Value {
		return l.emit(tflitefile.Mul, n.Name+"_square", []*ir.Value{x, x}, x.Shape, nil)
	}
	var v *ir.Value
	var perm []int
	switch n.Op {
	case "ReduceSum":
		v, perm = l.reduceWith(tflitefile.Sum, n.Name, e, axes, keep)
	case "ReduceMax":
		v, perm = l.reduceWith(tflitefile.ReduceMax, n.Name, e, axes, keep)
	case "ReduceMin":
		v, perm = l.reduceWith(tflitefile.ReduceMin, n.Name, e, axes, keep)
	case "ReduceProd":
		v, perm = l.reduceWith(tflitefile.ReduceProd, n.Name, e, axes, keep)
	case "ReduceSumSquare":
		v, perm = l.reduceWith(tflitefile.Sum, n.Name, lowered{square(e.v), e.perm}, axes, keep)
	case "ReduceL1":
		v, perm = l.reduceWith(tflitefile.Sum, n.Name, lowered{unary(tflitefile.Abs, e.v), e.perm}, axes, keep)
	case "ReduceL2":
		v, perm = l.reduceWith(tflitefile.Sum, n.Name+"_sum", lowered{square(e.v), e.perm}, axes, keep)
		v = l.emit(tflitefile.Sqrt, n.Name, []*ir.Value{v}, v.Shape, nil)
	case "ReduceLogSum":
		v, perm = l.reduceWith(tflitefile.Sum, n.Name+"_sum", e, axes, keep)
		v = l.emit(tflitefile.Log, n.Name, []*ir.Value{v}, v.Shape, nil)
	case "ReduceLogSumExp":
		// log(sum(exp(x - m))) + m with m the max, kept for broadcasting.
		m, _ := l.reduceWith(tflitefile.ReduceMax, n.Name+"_max", e, axes, true)
		d := l.emit(tflitefile.Sub, n.Name+"_shifted", []*ir.Value{e.v, m}, e.v.Shape, nil)
		v, perm = l.reduceWith(tflitefile.Sum, n.Name+"_sum", lowered{unary(tflitefile.Exp, d), e.perm}, axes, keep)
		v = l.emit(tflitefile.Log, n.Name+"_log", []*ir.Value{v}, v.Shape, nil)
		if !keep {
			m = l.emit(tflitefile.Reshape, n.Name+"_max_squeezed", []*ir.Value{m, l.shapeConst(v.Shape)}, v.Shape, ir.Attrs{"new_shape": toI64(v.Shape)})
		}
		v = l.emit(tflitefile.Add, n.Name, []*ir.Value{v, m}, v.Shape, nil)
	}
	l.set(n, v, perm)
	return nil
}

// reduce emits MEAN over logical axes of a lowered value.
func (l *lowering) reduce(name string, e lowered, logicalShape []int, axes []int64, keep bool) (*ir.Value, []int) {
	return l.reduceWith(tflitefile.Mean, name, e, axes, keep)
}

// reduceWith emits the TFLite reducer op (MEAN, SUM, REDUCE_MAX ...) over
// logical axes of a lowered value and returns it with its layout.
func (l *lowering) reduceWith(op tflitefile.BuiltinOp, name string, e lowered, axes []int64, keep bool) (*ir.Value, []int) {
	inv := ir.InversePerm(e.perm)
	red := map[int]bool{}
	var phys []int64
	for _, a := range axes {
		phys = append(phys, int64(inv[a]))
		red[int(a)] = true
	}
	slices.Sort(phys)
	if op == tflitefile.Mean && !l.opt.PlainMean && keep && len(e.v.Shape) == 4 && slices.Contains(phys, 3) && !slices.Contains(phys, 0) {
		return l.channelMean(name, e, phys), slices.Clone(e.perm)
	}
	shape := slices.Clone(e.v.Shape)
	perm := slices.Clone(e.perm)
	if keep {
		for _, p := range phys {
			shape[p] = 1
		}
	} else {
		var s []int
		var q []int
		for i, lg := range e.perm {
			if !red[lg] {
				s = append(s, shape[i])
				q = append(q, lg)
			}
		}
		// renumber the remaining logical dims
		order := slices.Clone(q)
		slices.Sort(order)
		for i, lg := range q {
			q[i] = slices.Index(order, lg)
		}
		shape, perm = s, q
	}
	out := l.emit(op, name, []*ir.Value{e.v, l.int32Const("axes", []int{len(phys)}, phys)}, shape, ir.Attrs{"keep_dims": keep})
	return out, perm
}

// channelMean reduces a 4-D NHWC value over axes that include the
// channels: spatial axes with MEAN over [1,2] (the only MEAN XNNPACK
// takes), the channels with a 1x1 CONV_2D whose weights are all 1/C.
// Equal group sizes make the mean of means the overall mean.
func (l *lowering) channelMean(name string, e lowered, phys []int64) *ir.Value {
	x := e.v
	if slices.Contains(phys, 1) || slices.Contains(phys, 2) {
		var sp []int64
		shape := slices.Clone(x.Shape)
		for _, a := range phys {
			if a != 3 {
				sp = append(sp, a)
				shape[a] = 1
			}
		}
		x = l.emit(tflitefile.Mean, name+"_spatial", []*ir.Value{x, l.int32Const("axes", []int{len(sp)}, sp)}, shape, ir.Attrs{"keep_dims": true})
	}
	c := x.Shape[3]
	w := make([]float32, c)
	for i := range w {
		w[i] = 1 / float32(c)
	}
	shape := []int{x.Shape[0], x.Shape[1], x.Shape[2], 1}
	return l.emit(tflitefile.Conv2D, name, []*ir.Value{x, l.dst.NewConst(name+"_weights", ir.FloatTensor([]int{1, 1, 1, c}, w)),
		l.dst.NewConst(name+"_bias", ir.FloatTensor([]int{1}, []float32{0}))}, shape,
		ir.Attrs{"padding": "VALID", "stride_h": int64(1), "stride_w": int64(1), "dilation_h": int64(1), "dilation_w": int64(1),
			"fused_activation_function": "NONE"})
}

func (l *lowering) mean(n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	x := n.In(0)
	var axes []int64
	keep := true
	if n.Op == "GlobalAveragePool" {
		for i := 2; i < x.Rank(); i++ {
			axes = append(axes, int64(i))
		}
	} else {
		a, ok := axesOperand(n)
		if !ok {
			return nodeErr(n, "axes must be constant")
		}
		if len(a) == 0 {
			if n.Attrs.Int("noop_with_empty_axes", 0) != 0 {
				return nodeErr(n, "noop_with_empty_axes is not supported")
			}
			for i := range x.Rank() {
				a = append(a, int64(i))
			}
		}
		if axes = normAxes(a, x.Rank()); axes == nil {
			return nodeErr(n, "bad axes %v", a)
		}
		keep = n.Attrs.Int("keepdims", 1) != 0
	}
	v, perm := l.reduce(n.Name, e, x.Shape, axes, keep)
	l.set(n, v, perm)
	return nil
}

func (l *lowering) softmax(n *ir.Node) error { return l.softmaxLike(n, tflitefile.Softmax) }

// softmaxLike lowers Softmax or LogSoftmax to op over the last physical
// axis, moving the ONNX axis there.
func (l *lowering) softmaxLike(n *ir.Node, op tflitefile.BuiltinOp) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	r := len(e.perm)
	def := int64(-1)
	if l.src.Opset < 13 {
		def = 1
	}
	ax, err := axis(n.Attrs.Int("axis", def), r)
	if err != nil {
		return nodeErr(n, "%v", err)
	}
	if l.src.Opset < 13 && ax != r-1 {
		return nodeErr(n, "opset %d softmax over axis %d of rank %d (2-D coercion) is not supported", l.src.Opset, ax, r)
	}
	perm := e.perm
	if perm[r-1] != ax {
		perm = slices.DeleteFunc(slices.Clone(perm), func(p int) bool { return p == ax })
		perm = append(perm, ax)
	}
	x := l.get(n.In(0), perm)
	attrs := ir.Attrs{}
	if op == tflitefile.Softmax {
		attrs["beta"] = float32(1)
	}
	l.set(n, l.emit(op, n.Name, []*ir.Value{x}, x.Shape, attrs), perm)
	return nil
}
