package pass

import (
	"errors"
	"fmt"
	"slices"

	"github.com/animed/animed/converter/ir"
)

// errUnknown means a shape cannot be inferred yet (an input shape or a
// constant operand is missing); it is not a failure by itself.
var errUnknown = errors.New("shape unknown")

// InferShapes fills in output shapes and types of ONNX-level nodes, in
// topological order, assuming input shapes are known. Nodes whose shape
// cannot be inferred keep what the exporter recorded.
func InferShapes(g *ir.Graph) error {
	for _, n := range g.Nodes {
		if err := inferNode(n); err != nil && !errors.Is(err, errUnknown) {
			return err
		}
	}
	return nil
}

func setOut(n *ir.Node, i int, dt ir.DType, shape []int) {
	if i < len(n.Outputs) && n.Outputs[i] != nil {
		n.Outputs[i].DType = dt
		n.Outputs[i].Shape = shape
	}
}

func inferNode(n *ir.Node) error {
	for _, v := range n.Inputs {
		if v != nil && v.Shape == nil {
			return errUnknown
		}
	}
	if len(n.Inputs) == 0 || n.Inputs[0] == nil {
		return errUnknown
	}
	if f, ok := families[n.Op]; ok && f.infer != nil {
		return f.infer(n)
	}
	x := n.Inputs[0]
	xs := x.Shape
	a := n.Attrs
	switch n.Op {
	case "Dropout", "InstanceNormalization", "BatchNormalization", "Not":
		setOut(n, 0, x.DType, slices.Clone(xs))
		if n.Op == "Dropout" && len(n.Outputs) > 1 {
			setOut(n, 1, ir.Bool, slices.Clone(xs))
		}
	case "Cast":
		setOut(n, 0, onnxDType(a.Int("to", 1)), slices.Clone(xs))
	case "Shape":
		setOut(n, 0, ir.Int64, []int{len(xs)})
	case "ConstantOfShape":
		shp, _, ok := constInts(x)
		if !ok {
			return errUnknown
		}
		dt := ir.Float32
		if t, ok := a["value"].(*ir.Tensor); ok {
			dt = t.DType
		}
		setOut(n, 0, dt, ints(shp))
	default:
		return errUnknown
	}
	return nil
}

func onnxDType(to int64) ir.DType {
	switch to {
	case 1:
		return ir.Float32
	case 2:
		return ir.Uint8
	case 3:
		return ir.Int8
	case 6:
		return ir.Int32
	case 7:
		return ir.Int64
	case 9:
		return ir.Bool
	case 10:
		return ir.Float16
	case 11:
		return ir.Float64
	}
	return ir.Undefined
}

func reduceShape(xs []int, axes []int64, keep bool) ([]int, error) {
	red := map[int]bool{}
	for _, av := range axes {
		ax, err := axis(av, len(xs))
		if err != nil {
			return nil, err
		}
		red[ax] = true
	}
	var s []int
	for i, d := range xs {
		if len(axes) == 0 || red[i] {
			if keep {
				s = append(s, 1)
			}
			continue
		}
		s = append(s, d)
	}
	return s, nil
}

func reshapeShape(xs []int, shp []int64, allowZero bool) ([]int, error) {
	s := make([]int, len(shp))
	infer := -1
	known := 1
	for i, d := range shp {
		switch {
		case d == 0 && !allowZero:
			if i >= len(xs) {
				return nil, fmt.Errorf("reshape %v: 0 at %d beyond input rank", shp, i)
			}
			s[i] = xs[i]
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("reshape %v: two -1 dims", shp)
			}
			infer = i
			continue
		case d < -1:
			return nil, fmt.Errorf("reshape %v: negative dim", shp)
		default:
			s[i] = int(d)
		}
		if s[i] < 0 {
			known = -1
		} else if known >= 0 {
			known *= s[i]
		}
	}
	total := ir.NumElements(xs)
	if infer >= 0 {
		if total < 0 || known <= 0 {
			s[infer] = -1
		} else {
			if total%known != 0 {
				return nil, fmt.Errorf("cannot reshape %v to %v", xs, shp)
			}
			s[infer] = total / known
		}
	} else if total >= 0 && known >= 0 && total != known {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", xs, total, s)
	}
	return s, nil
}

func sliceShape(n *ir.Node) ([]int, error) {
	xs := n.Inputs[0].Shape
	starts, ends, axes, steps, err := sliceParams(n)
	if err != nil {
		return nil, err
	}
	s := slices.Clone(xs)
	for i, av := range axes {
		ax, err := axis(av, len(xs))
		if err != nil {
			return nil, nodeErr(n, "%v", err)
		}
		if xs[ax] < 0 {
			s[ax] = -1
			continue
		}
		_, _, s[ax] = sliceRange(starts[i], ends[i], steps[i], xs[ax])
	}
	return s, nil
}

func sliceParams(n *ir.Node) (starts, ends, axes, steps []int64, err error) {
	if n.In(1) == nil { // opset < 10
		starts, ends, axes = n.Attrs.Ints("starts"), n.Attrs.Ints("ends"), n.Attrs.Ints("axes")
	} else {
		var ok1, ok2, ok3, ok4 bool
		starts, _, ok1 = constInts(n.In(1))
		ends, _, ok2 = constInts(n.In(2))
		axes, _, ok3 = constInts(n.In(3))
		steps, _, ok4 = constInts(n.In(4))
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, nil, nil, nil, errUnknown
		}
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	if steps == nil {
		steps = slices.Repeat([]int64{1}, len(starts))
	}
	if len(ends) != len(starts) || len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, nil, nil, nil, nodeErr(n, "starts/ends/axes/steps lengths differ")
	}
	for _, st := range steps {
		if st == 0 {
			return nil, nil, nil, nil, nodeErr(n, "slice step 0")
		}
	}
	return starts, ends, axes, steps, nil
}

// sliceRange clamps ONNX slice bounds for a dimension of size d.
func sliceRange(start, end, step int64, d int) (begin, stop, count int) {
	dd := int64(d)
	clamp := func(v, lo, hi int64) int64 { return max(lo, min(v, hi)) }
	if start < 0 {
		start += dd
	}
	if end < 0 {
		end += dd
	}
	if step > 0 {
		start = clamp(start, 0, dd)
		end = clamp(end, 0, dd)
		if end <= start {
			return int(start), int(start), 0
		}
		return int(start), int(end), int((end - start + step - 1) / step)
	}
	start = clamp(start, 0, dd-1)
	end = clamp(end, -1, dd-1)
	if start <= end {
		return int(start), int(start), 0
	}
	return int(start), int(end), int((start - end + (-step) - 1) / (-step))
}
