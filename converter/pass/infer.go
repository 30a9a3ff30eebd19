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
	case "Clip", "Reciprocal", "Identity", "Dropout", "Softmax", "PRelu", "InstanceNormalization",
		"BatchNormalization", "Not":
		setOut(n, 0, x.DType, slices.Clone(xs))
		if n.Op == "Dropout" && len(n.Outputs) > 1 {
			setOut(n, 1, ir.Bool, slices.Clone(xs))
		}
	case "Cast":
		setOut(n, 0, onnxDType(a.Int("to", 1)), slices.Clone(xs))
	case "DepthToSpace", OpPixelShuffle:
		r := int(a.Int("blocksize", 0))
		if len(xs) != 4 || r < 1 || xs[1]%(r*r) != 0 {
			return nodeErr(n, "needs a rank-4 input with channels divisible by blocksize²")
		}
		setOut(n, 0, x.DType, []int{xs[0], xs[1] / (r * r), xs[2] * r, xs[3] * r})
	case "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Equal", "Less", "Greater", "And", "Or", "Where", "Sum", "Mean":
		s := xs
		for _, v := range n.Inputs[1:] {
			var err error
			if s, err = ir.BroadcastShapes(s, v.Shape); err != nil {
				return nodeErr(n, "%v", err)
			}
		}
		dt := x.DType
		switch n.Op {
		case "Equal", "Less", "Greater", "And", "Or":
			dt = ir.Bool
		case "Where":
			dt = n.Inputs[1].DType
		}
		setOut(n, 0, dt, s)
	case "Conv", "MaxPool", "AveragePool":
		return inferWindow(n)
	case "ConvTranspose":
		return inferConvTranspose(n)
	case "GlobalAveragePool":
		return inferGlobalPool(n)
	case "Pad":
		pads, _, ok := constInts(n.In(1))
		if n.In(1) == nil {
			pads, ok = a.Ints("pads"), true
		}
		if !ok {
			return errUnknown
		}
		if len(pads) != 2*len(xs) {
			return nodeErr(n, "pads %v do not match rank %d", pads, len(xs))
		}
		s := slices.Clone(xs)
		for i := range s {
			if s[i] >= 0 {
				s[i] += int(pads[i] + pads[i+len(xs)])
			}
		}
		setOut(n, 0, x.DType, s)
	case "Resize", "Upsample":
		s, err := resizeOutShape(n)
		if err != nil {
			return err
		}
		setOut(n, 0, x.DType, s)
	case "Concat":
		ax, err := axis(a.Int("axis", 0), len(xs))
		if err != nil {
			return nodeErr(n, "%v", err)
		}
		s := slices.Clone(xs)
		for _, v := range n.Inputs[1:] {
			if len(v.Shape) != len(xs) {
				return nodeErr(n, "inputs of rank %d and %d", len(xs), len(v.Shape))
			}
			if s[ax] >= 0 && v.Shape[ax] >= 0 {
				s[ax] += v.Shape[ax]
			} else {
				s[ax] = -1
			}
		}
		setOut(n, 0, x.DType, s)
	case "Reshape":
		shp, _, ok := constInts(n.In(1))
		if !ok || shp == nil {
			return errUnknown
		}
		s, err := reshapeShape(xs, shp, a.Int("allowzero", 0) != 0)
		if err != nil {
			return nodeErr(n, "%v", err)
		}
		setOut(n, 0, x.DType, s)
	case "Flatten":
		ax := int(a.Int("axis", 1))
		if ax < 0 {
			ax += len(xs)
		}
		if ax < 0 || ax > len(xs) {
			return nodeErr(n, "axis %d out of range for rank %d", a.Int("axis", 1), len(xs))
		}
		setOut(n, 0, x.DType, []int{ir.NumElements(xs[:ax]), ir.NumElements(xs[ax:])})
	case "Transpose":
		perm := ints(a.Ints("perm"))
		if perm == nil {
			for i := len(xs) - 1; i >= 0; i-- {
				perm = append(perm, i)
			}
		}
		if len(perm) != len(xs) {
			return nodeErr(n, "perm %v does not match rank %d", perm, len(xs))
		}
		s := make([]int, len(perm))
		seen := make([]bool, len(xs))
		for i, p := range perm {
			if p < 0 || p >= len(xs) || seen[p] {
				return nodeErr(n, "perm %v is not a permutation of %d dims", perm, len(xs))
			}
			seen[p] = true
			s[i] = xs[p]
		}
		setOut(n, 0, x.DType, s)
	case "MatMul":
		ys := n.Inputs[1].Shape
		if len(xs) < 2 || len(ys) < 2 {
			return nodeErr(n, "MatMul of rank < 2 is not supported")
		}
		batch, err := ir.BroadcastShapes(xs[:len(xs)-2], ys[:len(ys)-2])
		if err != nil {
			return nodeErr(n, "%v", err)
		}
		setOut(n, 0, x.DType, append(batch, xs[len(xs)-2], ys[len(ys)-1]))
	case "Gemm":
		ys := n.Inputs[1].Shape
		m, k := xs[0], xs[1]
		if a.Int("transA", 0) != 0 {
			m = k
		}
		nn := ys[1]
		if a.Int("transB", 0) != 0 {
			nn = ys[0]
		}
		setOut(n, 0, x.DType, []int{m, nn})
	case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd":
		axes, ok := reduceAxes(n)
		if !ok {
			return errUnknown
		}
		s, err := reduceShape(xs, axes, a.Int("keepdims", 1) != 0)
		if err != nil {
			return nodeErr(n, "%v", err)
		}
		setOut(n, 0, x.DType, s)
	case "Unsqueeze":
		axes := a.Ints("axes")
		if n.In(1) != nil {
			var ok bool
			if axes, _, ok = constInts(n.In(1)); !ok {
				return errUnknown
			}
		}
		r := len(xs) + len(axes)
		ins := map[int]bool{}
		for _, av := range axes {
			ax, err := axis(av, r)
			if err != nil {
				return nodeErr(n, "%v", err)
			}
			ins[ax] = true
		}
		var s []int
		j := 0
		for i := range r {
			if ins[i] {
				s = append(s, 1)
			} else {
				s = append(s, xs[j])
				j++
			}
		}
		setOut(n, 0, x.DType, s)
	case "Squeeze":
		axes := a.Ints("axes")
		if n.In(1) != nil {
			var ok bool
			if axes, _, ok = constInts(n.In(1)); !ok {
				return errUnknown
			}
		}
		drop := map[int]bool{}
		for _, av := range axes {
			ax, err := axis(av, len(xs))
			if err != nil {
				return nodeErr(n, "%v", err)
			}
			drop[ax] = true
		}
		var s []int
		for i, d := range xs {
			if (len(axes) == 0 && d == 1) || drop[i] {
				continue
			}
			s = append(s, d)
		}
		setOut(n, 0, x.DType, s)
	case "Gather":
		ax, err := axis(a.Int("axis", 0), len(xs))
		if err != nil {
			return nodeErr(n, "%v", err)
		}
		s := slices.Clone(xs[:ax])
		s = append(s, n.Inputs[1].Shape...)
		s = append(s, xs[ax+1:]...)
		setOut(n, 0, x.DType, s)
	case "Shape":
		setOut(n, 0, ir.Int64, []int{len(xs)})
	case "Slice":
		s, err := sliceShape(n)
		if err != nil {
			return err
		}
		setOut(n, 0, x.DType, s)
	case "Expand":
		shp, _, ok := constInts(n.In(1))
		if !ok {
			return errUnknown
		}
		s, err := ir.BroadcastShapes(xs, ints(shp))
		if err != nil {
			return nodeErr(n, "%v", err)
		}
		setOut(n, 0, x.DType, s)
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

func reduceAxes(n *ir.Node) ([]int64, bool) {
	if n.In(1) != nil {
		axes, _, ok := constInts(n.In(1))
		return axes, ok
	}
	return n.Attrs.Ints("axes"), true
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

// windowParams are the spatial parameters of Conv/Pool nodes.
type windowParams struct {
	kernel, strides, dilations, pads []int // pads: begins then ends
}

func window(n *ir.Node, spatial []int) (windowParams, error) {
	a := n.Attrs
	r := len(spatial)
	p := windowParams{kernel: ints(a.Ints("kernel_shape"))}
	if p.kernel == nil && n.Op == "Conv" || n.Op == "ConvTranspose" && p.kernel == nil {
		if w := n.In(1); w != nil && len(w.Shape) == r+2 {
			p.kernel = slices.Clone(w.Shape[2:])
		}
	}
	if len(p.kernel) != r {
		return p, nodeErr(n, "kernel_shape %v does not match %d spatial dims", p.kernel, r)
	}
	if w := n.In(1); (n.Op == "Conv" || n.Op == "ConvTranspose") && w != nil && w.Shape != nil &&
		(len(w.Shape) != r+2 || !slices.Equal(w.Shape[2:], p.kernel)) {
		return p, nodeErr(n, "kernel_shape %v contradicts the weights %v", p.kernel, w.Shape)
	}
	p.strides = ints(a.Ints("strides"))
	if p.strides == nil {
		p.strides = slices.Repeat([]int{1}, r)
	}
	p.dilations = ints(a.Ints("dilations"))
	if p.dilations == nil {
		p.dilations = slices.Repeat([]int{1}, r)
	}
	p.pads = ints(a.Ints("pads"))
	if p.pads == nil {
		p.pads = make([]int, 2*r)
	}
	if len(p.strides) != r || len(p.dilations) != r || len(p.pads) != 2*r {
		return p, nodeErr(n, "strides/dilations/pads do not match %d spatial dims", r)
	}
	for i := range r {
		if p.strides[i] <= 0 || p.dilations[i] <= 0 || p.kernel[i] <= 0 || p.pads[i] < 0 || p.pads[i+r] < 0 {
			return p, nodeErr(n, "bad kernel/stride/dilation/pad values")
		}
	}
	switch ap := a.String("auto_pad", "NOTSET"); ap {
	case "NOTSET":
	case "VALID":
		p.pads = make([]int, 2*r)
	case "SAME_UPPER", "SAME_LOWER":
		if n.Op == "ConvTranspose" {
			return p, nodeErr(n, "auto_pad %s is not supported", ap)
		}
		for i := range r {
			if spatial[i] < 0 {
				return p, errUnknown
			}
			out := (spatial[i] + p.strides[i] - 1) / p.strides[i]
			total := max((out-1)*p.strides[i]+(p.kernel[i]-1)*p.dilations[i]+1-spatial[i], 0)
			small, big := total/2, total-total/2
			if ap == "SAME_UPPER" {
				p.pads[i], p.pads[i+r] = small, big
			} else {
				p.pads[i], p.pads[i+r] = big, small
			}
		}
	default:
		return p, nodeErr(n, "unknown auto_pad %q", ap)
	}
	return p, nil
}

func inferWindow(n *ir.Node) error {
	xs := n.Inputs[0].Shape
	if len(xs) < 3 {
		return nodeErr(n, "input rank %d < 3", len(xs))
	}
	p, err := window(n, xs[2:])
	if err != nil {
		return err
	}
	c := xs[1]
	if n.Op == "Conv" {
		c = n.Inputs[1].Shape[0]
	}
	s := []int{xs[0], c}
	ceil := n.Attrs.Int("ceil_mode", 0) != 0
	r := len(xs) - 2
	for i, in := range xs[2:] {
		if in < 0 {
			s = append(s, -1)
			continue
		}
		num := in + p.pads[i] + p.pads[i+r] - ((p.kernel[i]-1)*p.dilations[i] + 1)
		if num < 0 {
			return nodeErr(n, "window larger than padded input %v", xs)
		}
		o := num/p.strides[i] + 1
		if ceil && num%p.strides[i] != 0 {
			o++
		}
		s = append(s, o)
	}
	setOut(n, 0, n.Inputs[0].DType, s)
	return nil
}

func inferConvTranspose(n *ir.Node) error {
	xs, ws := n.Inputs[0].Shape, n.Inputs[1].Shape
	if len(xs) < 3 || len(ws) != len(xs) {
		return nodeErr(n, "input rank %d, weight rank %d", len(xs), len(ws))
	}
	p, err := window(n, xs[2:])
	if err != nil {
		return err
	}
	r := len(xs) - 2
	group := int(n.Attrs.Int("group", 1))
	s := []int{xs[0], ws[1] * group}
	op := ints(n.Attrs.Ints("output_padding"))
	if op != nil && len(op) != r {
		return nodeErr(n, "output_padding %v does not match %d spatial dims", op, r)
	}
	for i, v := range op {
		// ONNX also allows values below the dilation; TFLite's kernel
		// crashes on values that reach the stride.
		if v < 0 || v >= p.strides[i] {
			return nodeErr(n, "output_padding %v must be smaller than the strides %v", op, p.strides)
		}
	}
	if os := ints(n.Attrs.Ints("output_shape")); os != nil {
		// Pads follow from the requested size; rewrite them so the
		// lowering sees explicit pads.
		if len(os) == len(xs)+2 {
			os = os[2:]
		}
		if len(os) != r {
			return nodeErr(n, "output_shape %v does not match %d spatial dims", os, r)
		}
		pads := make([]int64, 2*r)
		for i, in := range xs[2:] {
			extra := 0
			if i < len(op) {
				extra = op[i]
			}
			total := p.strides[i]*(in-1) + extra + (p.kernel[i]-1)*p.dilations[i] + 1 - os[i]
			if total < 0 {
				return nodeErr(n, "output_shape %v is larger than the full output", os)
			}
			if n.Attrs.String("auto_pad", "NOTSET") == "SAME_UPPER" {
				pads[i], pads[i+r] = int64(total/2), int64(total-total/2)
			} else {
				pads[i], pads[i+r] = int64(total-total/2), int64(total/2)
			}
		}
		delete(n.Attrs, "output_shape")
		delete(n.Attrs, "auto_pad")
		n.Attrs["pads"] = pads
		return inferConvTranspose(n)
	}
	for i, in := range xs[2:] {
		extra := 0
		if i < len(op) {
			extra = op[i]
		}
		if in < 0 {
			s = append(s, -1)
			continue
		}
		s = append(s, p.strides[i]*(in-1)+extra+(p.kernel[i]-1)*p.dilations[i]+1-p.pads[i]-p.pads[i+r])
	}
	setOut(n, 0, n.Inputs[0].DType, s)
	return nil
}

// resizeScales returns the per-dimension output sizes of Resize/Upsample.
func resizeOutShape(n *ir.Node) ([]int, error) {
	xs := n.Inputs[0].Shape
	var scales []float32
	var sizes []int64
	switch {
	case n.Op == "Upsample" && n.In(1) == nil:
		scales = n.Attrs.Floats("scales")
	case n.Op == "Upsample":
		f, _, ok := constFloats(n.In(1))
		if !ok {
			return nil, errUnknown
		}
		scales = f
	default: // Resize: opset 10 (X, scales), 11+ (X, roi, scales, sizes)
		si := 2
		if len(n.Inputs) == 2 {
			si = 1
		}
		f, _, ok := constFloats(n.In(si))
		if !ok {
			return nil, errUnknown
		}
		scales = f
		sz, _, ok := constInts(n.In(3))
		if !ok {
			return nil, errUnknown
		}
		sizes = sz
	}
	s := make([]int, len(xs))
	switch {
	case len(sizes) == len(xs):
		for i := range s {
			s[i] = int(sizes[i])
		}
	case len(scales) == len(xs):
		for i := range s {
			if xs[i] < 0 {
				s[i] = -1
			} else {
				s[i] = int(float32(xs[i]) * scales[i])
			}
		}
	default:
		return nil, nodeErr(n, "needs constant scales or sizes for all %d dims", len(xs))
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
