package pass

import (
	"slices"

	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// Split (and PyTorch's chunk) becomes one SLICE per output, in the
// input's layout. The sizes come from the split input (opset 13+), the
// split attribute (before), or equal parts (num_outputs at opset 18, the
// last part smaller when the axis does not divide).
func init() {
	register(family{infer: inferSplit, lower: lowerSplit}, "Split")
}

// splitSizes returns the axis and the size of each output along it.
func splitSizes(n *ir.Node) (int, []int, error) {
	x := n.In(0)
	ax, err := axis(n.Attrs.Int("axis", 0), x.Rank())
	if err != nil {
		return 0, nil, nodeErr(n, "%v", err)
	}
	d := x.Shape[ax]
	sizes := ints(n.Attrs.Ints("split"))
	if v := n.In(1); v != nil {
		s, present, ok := constInts(v)
		if !ok {
			return 0, nil, errUnknown
		}
		if present {
			sizes = ints(s)
		}
	}
	if sizes == nil {
		k := len(n.Outputs)
		if k == 0 || d < 0 {
			return 0, nil, errUnknown
		}
		part := (d + k - 1) / k
		for i := range k {
			sizes = append(sizes, max(min(part, d-i*part), 0))
		}
		if !n.Attrs.Has("num_outputs") && d%k != 0 {
			return 0, nil, nodeErr(n, "axis of %d does not split into %d equal parts", d, k)
		}
	}
	total := 0
	for _, s := range sizes {
		if s < 0 {
			return 0, nil, nodeErr(n, "negative split %v", sizes)
		}
		total += s
	}
	if len(sizes) != len(n.Outputs) || d >= 0 && total != d {
		return 0, nil, nodeErr(n, "split %v does not divide a dimension of %d into %d outputs", sizes, d, len(n.Outputs))
	}
	return ax, sizes, nil
}

func inferSplit(n *ir.Node) error {
	ax, sizes, err := splitSizes(n)
	if err != nil {
		return err
	}
	x := n.In(0)
	for i, s := range sizes {
		shape := slices.Clone(x.Shape)
		shape[ax] = s
		setOut(n, i, x.DType, shape)
	}
	return nil
}

func lowerSplit(l *lowering, n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	ax, sizes, err := splitSizes(n)
	if err != nil {
		return err
	}
	x := n.In(0)
	r := x.Rank()
	begin := make([]int, r)
	for i, s := range sizes {
		out := n.Outputs[i]
		if out == nil || s == 0 {
			begin[ax] += s
			continue
		}
		size := slices.Clone(x.Shape)
		size[ax] = s
		pb, ps := permute(begin, e.perm), permute(size, e.perm)
		v := l.emit(tflitefile.Slice, out.Name, []*ir.Value{e.v, l.int32Const("begin", []int{r}, toI64(pb)), l.int32Const("size", []int{r}, toI64(ps))}, ps, nil)
		l.vals[out] = lowered{v, e.perm}
		begin[ax] += s
	}
	return nil
}
