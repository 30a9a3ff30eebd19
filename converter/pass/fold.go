package pass

import (
	"errors"
	"math"
	"slices"

	"github.com/animed/animed/converter/ir"
)

// FoldConstants infers shapes and evaluates every node whose inputs are
// constant, in one topological walk, so the shape arithmetic PyTorch's
// exporter emits (Shape -> Gather -> Unsqueeze -> Concat -> Reshape ...)
// collapses into constants. Shape of a statically shaped value is itself a
// constant. Folded nodes are removed.
func FoldConstants(g *ir.Graph) error {
	kept := g.Nodes[:0]
	for _, n := range g.Nodes {
		t, err := foldNode(n)
		if err != nil {
			return err
		}
		if t == nil {
			if err := inferNode(n); err != nil && !errors.Is(err, errUnknown) {
				return err
			}
			kept = append(kept, n)
			continue
		}
		out := n.Outputs[0]
		if t.Shape == nil {
			t.Shape = []int{}
		}
		out.Const, out.DType, out.Shape = t, t.DType, slices.Clone(t.Shape)
	}
	g.Nodes = kept
	return nil
}

// maxFoldElements bounds the constants folding creates (16M elements).
const maxFoldElements = 1 << 24

// folders evaluate the ops FoldConstants folds, given constant inputs
// (x is the first) and the inferred output. Shape and Size fold from a
// static input shape alone (in foldNode).
var folders = map[string]func(n *ir.Node, x *ir.Tensor, out *ir.Value) (*ir.Tensor, error){
	"Identity":        foldReshape,
	"Reshape":         foldReshape,
	"Flatten":         foldReshape,
	"Squeeze":         foldReshape,
	"Unsqueeze":       foldReshape,
	"Transpose":       foldTranspose,
	"Cast":            foldCast,
	"ConstantOfShape": foldConstantOfShape,
	"Range":           foldRange,
	"Gather":          foldGather,
	"Concat":          foldConcat,
	"Slice":           foldSlice,
	"Expand":          foldExpand,
	"Where":           foldWhere,
	"Sqrt":            foldUnary,
	"Neg":             foldUnary,
	"Floor":           foldUnary,
	"Ceil":            foldUnary,
	"Reciprocal":      foldUnary,
	"Add":             foldBinary,
	"Sub":             foldBinary,
	"Mul":             foldBinary,
	"Div":             foldBinary,
	"Pow":             foldBinary,
	"Equal":           foldBinary,
	"Greater":         foldBinary,
	"Less":            foldBinary,
	"Max":             foldBinary,
	"Min":             foldBinary,
	"Shape":           nil,
	"Size":            nil,
}

func foldNode(n *ir.Node) (*ir.Tensor, error) {
	if _, ok := folders[n.Op]; len(n.Outputs) != 1 || n.Outputs[0] == nil || !ok {
		return nil, nil
	}
	if n.Op == "Shape" {
		x := n.In(0)
		if x == nil || !x.StaticShape() {
			return nil, nil
		}
		s := make([]int64, len(x.Shape))
		for i, d := range x.Shape {
			s[i] = int64(d)
		}
		b, _, cnt := sliceRange(n.Attrs.Int("start", 0), n.Attrs.Int("end", int64(len(s))), 1, len(s))
		s = s[b : b+cnt]
		return ir.IntTensor([]int{len(s)}, s), nil
	}
	if n.Op == "Size" {
		if x := n.In(0); x != nil && x.StaticShape() {
			return ir.IntTensor(nil, []int64{int64(ir.NumElements(x.Shape))}), nil
		}
		return nil, nil
	}
	for _, v := range n.Inputs {
		if v != nil && !v.IsConst() {
			return nil, nil
		}
	}
	if n.In(0) == nil && n.Op != "ConstantOfShape" {
		return nil, nil
	}
	// Shapes first: the evaluator needs the output shape (Range's depends
	// on its values and is computed below).
	if err := inferNode(n); err != nil && n.Op != "Range" {
		if errors.Is(err, errUnknown) {
			return nil, nil
		}
		return nil, err
	}
	out := n.Outputs[0]
	if c := ir.NumElements(out.Shape); c < 0 || c > maxFoldElements {
		return nil, nil // not worth (or not safe) materializing
	}
	return folders[n.Op](n, n.In(0).Const, out)
}

func binary(op string, x, y *ir.Tensor, shape []int) *ir.Tensor {
	xi := ir.BroadcastIndex(x.Shape, shape)
	yi := ir.BroadcastIndex(y.Shape, shape)
	t := &ir.Tensor{DType: x.DType, Shape: slices.Clone(shape)}
	if op == "Equal" || op == "Greater" || op == "Less" {
		t.DType = ir.Bool
	}
	if x.IsFloat() || y.IsFloat() {
		xf, yf := x.Floats(), y.Floats()
		for k := range xi {
			a, b := xf[xi[k]], yf[yi[k]]
			var r float32
			switch op {
			case "Add":
				r = a + b
			case "Sub":
				r = a - b
			case "Mul":
				r = a * b
			case "Div":
				r = a / b
			case "Pow":
				r = float32(math.Pow(float64(a), float64(b)))
			case "Max":
				r = max(a, b)
			case "Min":
				r = min(a, b)
			default:
				r = cmpResult(op, a, b)
			}
			if t.IsFloat() {
				t.F = append(t.F, r)
			} else {
				t.I = append(t.I, int64(r))
			}
		}
		return t
	}
	xv, yv := x.I, y.I
	for k := range xi {
		a, b := xv[xi[k]], yv[yi[k]]
		var r int64
		switch op {
		case "Add":
			r = a + b
		case "Sub":
			r = a - b
		case "Mul":
			r = a * b
		case "Div":
			if b != 0 {
				r = a / b
			}
		case "Pow":
			r = int64(math.Pow(float64(a), float64(b)))
		case "Max":
			r = max(a, b)
		case "Min":
			r = min(a, b)
		default:
			r = cmpResult(op, a, b)
		}
		t.I = append(t.I, r)
	}
	return t
}

// cmpResult is a comparison operator's result, 1 or 0.
func cmpResult[T int64 | float32](op string, a, b T) T {
	var c bool
	switch op {
	case "Equal":
		c = a == b
	case "Greater":
		c = a > b
	case "Less":
		c = a < b
	}
	if c {
		return 1
	}
	return 0
}

func broadcastTo(x *ir.Tensor, shape []int) *ir.Tensor {
	idx := ir.BroadcastIndex(x.Shape, shape)
	t := &ir.Tensor{DType: x.DType, Shape: slices.Clone(shape)}
	for _, j := range idx {
		if x.IsFloat() {
			t.F = append(t.F, x.F[j])
		} else {
			t.I = append(t.I, x.I[j])
		}
	}
	return t
}

func sliceTensor(x *ir.Tensor, starts, ends, axes, steps []int64) *ir.Tensor {
	r := len(x.Shape)
	begin := make([]int, r)
	step := slices.Repeat([]int{1}, r)
	shape := slices.Clone(x.Shape)
	for i, av := range axes {
		ax, _ := axis(av, r)
		b, _, cnt := sliceRange(starts[i], ends[i], steps[i], x.Shape[ax])
		begin[ax], step[ax], shape[ax] = b, int(steps[i]), cnt
	}
	st := ir.Strides(x.Shape)
	t := &ir.Tensor{DType: x.DType, Shape: shape}
	nn := ir.NumElements(shape)
	coord := make([]int, r)
	for range nn {
		off := 0
		for i, c := range coord {
			off += (begin[i] + c*step[i]) * st[i]
		}
		if x.IsFloat() {
			t.F = append(t.F, x.F[off])
		} else {
			t.I = append(t.I, x.I[off])
		}
		for i := r - 1; i >= 0; i-- {
			coord[i]++
			if coord[i] < shape[i] {
				break
			}
			coord[i] = 0
		}
	}
	return t
}

func foldReshape(n *ir.Node, x *ir.Tensor, out *ir.Value) (*ir.Tensor, error) {
	return x.Reshaped(out.Shape), nil
}

func foldTranspose(n *ir.Node, x *ir.Tensor, out *ir.Value) (*ir.Tensor, error) {
	a := n.Attrs
	perm := ints(a.Ints("perm"))
	if perm == nil {
		for i := len(x.Shape) - 1; i >= 0; i-- {
			perm = append(perm, i)
		}
	}
	return x.Transpose(perm), nil
}

func foldCast(n *ir.Node, x *ir.Tensor, out *ir.Value) (*ir.Tensor, error) {
	t := &ir.Tensor{DType: out.DType, Shape: slices.Clone(x.Shape)}
	if t.IsFloat() {
		t.F = x.Floats()
	} else {
		t.I = x.Ints()
	}
	return t, nil
}

func foldConstantOfShape(n *ir.Node, x *ir.Tensor, out *ir.Value) (*ir.Tensor, error) {
	a := n.Attrs
	t := &ir.Tensor{DType: ir.Float32, Shape: slices.Clone(out.Shape)}
	fill := []float32{0}
	if v, ok := a["value"].(*ir.Tensor); ok {
		t.DType = v.DType
		fill = v.Floats()
	}
	nn := ir.NumElements(t.Shape)
	if t.IsFloat() {
		t.F = slices.Repeat(fill[:1], nn)
	} else {
		t.I = slices.Repeat([]int64{int64(fill[0])}, nn)
	}
	return t, nil
}

func foldRange(n *ir.Node, x *ir.Tensor, out *ir.Value) (*ir.Tensor, error) {
	st, lim, d := x.Floats()[0], n.In(1).Const.Floats()[0], n.In(2).Const.Floats()[0]
	if d == 0 {
		return nil, nodeErr(n, "range delta 0")
	}
	cnt := max(int(math.Ceil(float64((lim-st)/d))), 0)
	if cnt > maxFoldElements {
		return nil, nodeErr(n, "range of %d elements", cnt)
	}
	t := &ir.Tensor{DType: x.DType, Shape: []int{cnt}}
	for i := range cnt {
		v := st + float32(i)*d
		if t.IsFloat() {
			t.F = append(t.F, v)
		} else {
			t.I = append(t.I, int64(v))
		}
	}
	return t, nil
}

func foldGather(n *ir.Node, x *ir.Tensor, out *ir.Value) (*ir.Tensor, error) {
	a := n.Attrs
	ax, _ := axis(a.Int("axis", 0), len(x.Shape))
	idx := n.In(1).Const.Ints()
	outer := ir.NumElements(x.Shape[:ax])
	inner := ir.NumElements(x.Shape[ax+1:])
	d := x.Shape[ax]
	t := &ir.Tensor{DType: x.DType, Shape: slices.Clone(out.Shape)}
	for o := range outer {
		for _, i := range idx {
			if i < 0 {
				i += int64(d)
			}
			if i < 0 || i >= int64(d) {
				return nil, nodeErr(n, "gather index %d out of range", i)
			}
			base := (o*d + int(i)) * inner
			if x.IsFloat() {
				t.F = append(t.F, x.F[base:base+inner]...)
			} else {
				t.I = append(t.I, x.I[base:base+inner]...)
			}
		}
	}
	return t, nil
}

func foldConcat(n *ir.Node, x *ir.Tensor, out *ir.Value) (*ir.Tensor, error) {
	a := n.Attrs
	ax, _ := axis(a.Int("axis", 0), len(x.Shape))
	outer := ir.NumElements(out.Shape[:ax])
	t := &ir.Tensor{DType: x.DType, Shape: slices.Clone(out.Shape)}
	for o := range outer {
		for _, v := range n.Inputs {
			c := v.Const
			inner := ir.NumElements(c.Shape[ax:])
			if t.IsFloat() {
				t.F = append(t.F, c.Floats()[o*inner:(o+1)*inner]...)
			} else {
				t.I = append(t.I, c.Ints()[o*inner:(o+1)*inner]...)
			}
		}
	}
	return t, nil
}

func foldSlice(n *ir.Node, x *ir.Tensor, out *ir.Value) (*ir.Tensor, error) {
	starts, ends, axes, steps, err := sliceParams(n)
	if err != nil {
		return nil, err
	}
	return sliceTensor(x, starts, ends, axes, steps), nil
}

func foldExpand(n *ir.Node, x *ir.Tensor, out *ir.Value) (*ir.Tensor, error) {
	return broadcastTo(x, out.Shape), nil
}

func foldWhere(n *ir.Node, x *ir.Tensor, out *ir.Value) (*ir.Tensor, error) {
	c, y, z := x, n.In(1).Const, n.In(2).Const
	ci := ir.BroadcastIndex(c.Shape, out.Shape)
	yi := ir.BroadcastIndex(y.Shape, out.Shape)
	zi := ir.BroadcastIndex(z.Shape, out.Shape)
	t := &ir.Tensor{DType: y.DType, Shape: slices.Clone(out.Shape)}
	cv := c.Ints()
	for k := range ci {
		pick := z
		j := zi[k]
		if cv[ci[k]] != 0 {
			pick, j = y, yi[k]
		}
		if t.IsFloat() {
			t.F = append(t.F, pick.Floats()[j])
		} else {
			t.I = append(t.I, pick.Ints()[j])
		}
	}
	return t, nil
}

func foldUnary(n *ir.Node, x *ir.Tensor, out *ir.Value) (*ir.Tensor, error) {
	f := map[string]func(float64) float64{
		"Sqrt": math.Sqrt, "Neg": func(v float64) float64 { return -v }, "Floor": math.Floor,
		"Ceil": math.Ceil, "Reciprocal": func(v float64) float64 { return 1 / v },
	}[n.Op]
	t := &ir.Tensor{DType: x.DType, Shape: slices.Clone(x.Shape)}
	if x.IsFloat() {
		for _, v := range x.F {
			t.F = append(t.F, float32(f(float64(v))))
		}
	} else {
		for _, v := range x.I {
			t.I = append(t.I, int64(f(float64(v))))
		}
	}
	return t, nil
}

func foldBinary(n *ir.Node, x *ir.Tensor, out *ir.Value) (*ir.Tensor, error) {
	return binary(n.Op, x, n.In(1).Const, out.Shape), nil
}
