package pass

import (
	"slices"

	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// Gather on constant indices and Expand of data: Gather becomes a SLICE
// per run of consecutive indices, a CONCATENATION along the axis and, when
// the indices are not 1-D, a RESHAPE; Expand becomes BROADCAST_TO. With
// constant data both fold instead (fold.go).
func init() {
	register(family{infer: inferGather, lower: lowerGather}, "Gather")
	register(family{infer: inferExpand, lower: lowerExpand}, "Expand")
}

// maxGatherRuns bounds the SLICE ops one Gather may become.
const maxGatherRuns = 32

func inferGather(n *ir.Node) error {
	x, xs, a := n.In(0), n.In(0).Shape, n.Attrs
	ax, err := axis(a.Int("axis", 0), len(xs))
	if err != nil {
		return nodeErr(n, "%v", err)
	}
	s := slices.Clone(xs[:ax])
	s = append(s, n.Inputs[1].Shape...)
	s = append(s, xs[ax+1:]...)
	setOut(n, 0, x.DType, s)
	return nil
}

func inferExpand(n *ir.Node) error {
	x, xs := n.In(0), n.In(0).Shape
	shp, _, ok := constInts(n.In(1))
	if !ok {
		return errUnknown
	}
	s, err := ir.BroadcastShapes(xs, ints(shp))
	if err != nil {
		return nodeErr(n, "%v", err)
	}
	setOut(n, 0, x.DType, s)
	return nil
}

func lowerGather(l *lowering, n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	x, idx := n.In(0), n.In(1)
	if !idx.IsConst() {
		return nodeErr(n, "indices %q are computed at run time; only constant indices are supported", idx.Name)
	}
	r := x.Rank()
	ax, err := axis(n.Attrs.Int("axis", 0), r)
	if err != nil {
		return nodeErr(n, "%v", err)
	}
	d := x.Shape[ax]
	// Runs of consecutive indices: [start, count].
	var runs [][2]int
	for _, i := range idx.Const.Ints() {
		if i < 0 {
			i += int64(d)
		}
		if i < 0 || i >= int64(d) {
			return nodeErr(n, "index %d out of range for a dimension of %d", i, d)
		}
		if k := len(runs) - 1; k >= 0 && runs[k][0]+runs[k][1] == int(i) {
			runs[k][1]++
			continue
		}
		runs = append(runs, [2]int{int(i), 1})
	}
	if len(runs) > maxGatherRuns {
		return nodeErr(n, "%d separate index runs; at most %d are supported", len(runs), maxGatherRuns)
	}
	pax := ir.InversePerm(e.perm)[ax]
	var parts []*ir.Value
	for _, run := range runs {
		begin, size := make([]int, r), slices.Clone(x.Shape)
		begin[ax], size[ax] = run[0], run[1]
		pb, ps := permute(begin, e.perm), permute(size, e.perm)
		parts = append(parts, l.emit(tflitefile.Slice, n.Name+"_part", []*ir.Value{e.v,
			l.int32Const("begin", []int{r}, toI64(pb)), l.int32Const("size", []int{r}, toI64(ps))}, ps, nil))
	}
	v := parts[0]
	gathered := slices.Clone(x.Shape)
	gathered[ax] = idx.Const.Len()
	if len(parts) > 1 {
		v = l.emit(tflitefile.Concatenation, n.Name+"_parts", parts, permute(gathered, e.perm),
			ir.Attrs{"axis": int64(pax), "fused_activation_function": "NONE"})
	}
	out := n.Outputs[0]
	if slices.Equal(gathered, out.Shape) {
		l.set(n, v, e.perm)
		return nil
	}
	// Other index ranks change the rank: reshape in the logical layout.
	tmp := l.src.NewValue(n.Name+"_gathered", x.DType, gathered)
	l.vals[tmp] = lowered{v, e.perm}
	v = l.get(tmp, identity(r))
	l.set(n, l.emit(tflitefile.Reshape, n.Name, []*ir.Value{v, l.shapeConst(out.Shape)}, slices.Clone(out.Shape),
		ir.Attrs{"new_shape": toI64(out.Shape)}), identity(out.Rank()))
	return nil
}

func lowerExpand(l *lowering, n *ir.Node) error {
	if _, err := l.entry(n, 0); err != nil {
		return err
	}
	out := n.Outputs[0]
	r := out.Rank()
	perm, err := l.binaryLayout(n)
	if err != nil {
		return err
	}
	x, err := l.operand(n, 0, r, perm)
	if err != nil {
		return nodeErr(n, "%v", err)
	}
	shape := permute(out.Shape, perm)
	if slices.Equal(x.Shape, shape) {
		l.set(n, x, perm)
		return nil
	}
	l.set(n, l.emit(tflitefile.BroadcastTo, n.Name, []*ir.Value{x, l.shapeConst(shape)}, shape, nil), perm)
	return nil
}
