package bench

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/animed/animed/converter/tflitefile"
)

// Stats describes a model without running it.
type Stats struct {
	FileBytes int   `json:"file_bytes"`
	Params    int64 `json:"params"` // elements of constant weight tensors
	// NativeH and NativeW are the input size stored in the file.
	NativeH int `json:"native_h"`
	NativeW int `json:"native_w"`
	// H and W are the input size the MACs are counted at.
	H int `json:"h"`
	W int `json:"w"`
	// MACs counts multiply-accumulates of CONV_2D, DEPTHWISE_CONV_2D,
	// TRANSPOSE_CONV and FULLY_CONNECTED at H x W; MACsByOp splits it.
	MACs     int64            `json:"macs"`
	MACsByOp map[string]int64 `json:"macs_by_op"`
	// Ops counts the graph's operators by name.
	Ops map[string]int `json:"ops"`
}

// weightInputs lists, per op, the inputs that hold trainable weights and
// biases (rather than shapes, axes or paddings).
var weightInputs = map[tflitefile.BuiltinOp][]int{
	tflitefile.Conv2D:          {1, 2},
	tflitefile.DepthwiseConv2D: {1, 2},
	tflitefile.TransposeConv:   {1, 3},
	tflitefile.FullyConnected:  {1, 2},
	tflitefile.PRelu:           {1},
}

// ModelStats parses a .tflite file and counts its parameters and its MACs
// for an NHWC input of h x w (h or w <= 0: the size stored in the file).
// Params counts the elements of constant tensors that are weights or
// biases of the ops in weightInputs, plus constant float/int8 operands of
// other ops (scales, offsets); constant shapes, axes and paddings are not
// parameters. Shapes at other sizes are inferred op by op; an op whose
// output shape cannot be inferred gives an error naming it.
func ModelStats(data []byte, h, w int) (Stats, error) {
	m, err := tflitefile.Parse(data)
	if err != nil {
		return Stats{}, fmt.Errorf("model stats: %w", err)
	}
	g := m.Main()
	st := Stats{FileBytes: len(data), MACsByOp: map[string]int64{}, Ops: map[string]int{}}
	if len(g.Inputs) != 1 {
		return Stats{}, fmt.Errorf("model stats: %d inputs, want 1", len(g.Inputs))
	}
	in := g.Tensors[g.Inputs[0]]
	if len(in.Shape) != 4 {
		return Stats{}, fmt.Errorf("model stats: input shape %v is not NHWC", in.Shape)
	}
	st.NativeH, st.NativeW = int(in.Shape[1]), int(in.Shape[2])
	if h <= 0 || w <= 0 {
		h, w = st.NativeH, st.NativeW
	}
	st.H, st.W = h, w
	st.Params = countParams(m, g)

	shapes, err := inferShapes(m, g, []int{int(in.Shape[0]), h, w, int(in.Shape[3])})
	if err != nil {
		return Stats{}, fmt.Errorf("model stats at %dx%d: %w", w, h, err)
	}
	for _, op := range g.Operators {
		st.Ops[op.Op.String()]++
		macs := opMACs(g, op, shapes)
		if macs > 0 {
			st.MACsByOp[op.Op.String()] += macs
			st.MACs += macs
		}
	}
	return st, nil
}

func isConst(m *tflitefile.Model, t *tflitefile.Tensor) bool {
	return t.Buffer != 0 && int(t.Buffer) < len(m.Buffers) && len(m.Buffers[t.Buffer].Data) > 0
}

func elems(shape []int32) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= int64(d)
	}
	return n
}

func countParams(m *tflitefile.Model, g *tflitefile.Subgraph) int64 {
	counted := map[int32]bool{}
	var n int64
	add := func(i int32) {
		if i < 0 || int(i) >= len(g.Tensors) || counted[i] {
			return
		}
		t := g.Tensors[i]
		if !isConst(m, t) {
			return
		}
		counted[i] = true
		n += elems(t.Shape)
	}
	for _, op := range g.Operators {
		if idx, ok := weightInputs[op.Op]; ok {
			for _, k := range idx {
				if k < len(op.Inputs) {
					add(op.Inputs[k])
				}
			}
			continue
		}
		switch op.Op {
		case tflitefile.Add, tflitefile.Sub, tflitefile.Mul, tflitefile.Div,
			tflitefile.Maximum, tflitefile.Minimum, tflitefile.SquaredDifference,
			tflitefile.Dequantize:
			for _, i := range op.Inputs {
				if i >= 0 && int(i) < len(g.Tensors) {
					switch g.Tensors[i].Type {
					case tflitefile.Float32, tflitefile.Float16, tflitefile.Int8, tflitefile.Uint8, tflitefile.Int16:
						add(i)
					}
				}
			}
		}
	}
	return n
}

// opMACs returns the multiply-accumulates of one conv-like op.
func opMACs(g *tflitefile.Subgraph, op *tflitefile.Operator, shapes [][]int) int64 {
	shape := func(k int) []int {
		if k >= len(op.Inputs) || op.Inputs[k] < 0 {
			return nil
		}
		return shapes[op.Inputs[k]]
	}
	var out []int
	if len(op.Outputs) > 0 {
		out = shapes[op.Outputs[0]]
	}
	prod := func(s []int) int64 {
		n := int64(1)
		for _, d := range s {
			n *= int64(d)
		}
		return n
	}
	switch op.Op {
	case tflitefile.Conv2D: // weights OHWI: out pixels x O x KH x KW x I
		wt := shape(1)
		if len(wt) != 4 || len(out) != 4 {
			return 0
		}
		return prod(out) * int64(wt[1]*wt[2]*wt[3])
	case tflitefile.DepthwiseConv2D: // weights [1,KH,KW,C*M]
		wt := shape(1)
		if len(wt) != 4 || len(out) != 4 {
			return 0
		}
		return prod(out) * int64(wt[1]*wt[2])
	case tflitefile.TransposeConv: // each input pixel scatters a KHxKWxO patch
		wt, x := shape(1), shape(2)
		if len(wt) != 4 || len(x) != 4 {
			return 0
		}
		return prod(x) * int64(wt[0]*wt[1]*wt[2])
	case tflitefile.FullyConnected: // weights [O, I]
		wt := shape(1)
		if len(wt) != 2 {
			return 0
		}
		return prod(out) * int64(wt[1])
	}
	return 0
}

// inferShapes returns every tensor's shape when the model's input has the
// given shape. Constant tensors keep their stored shapes.
func inferShapes(m *tflitefile.Model, g *tflitefile.Subgraph, input []int) ([][]int, error) {
	shapes := make([][]int, len(g.Tensors))
	for i, t := range g.Tensors {
		if isConst(m, t) {
			shapes[i] = toInts(t.Shape)
		}
	}
	shapes[g.Inputs[0]] = input
	for oi, op := range g.Operators {
		out, err := outputShape(m, g, op, shapes)
		if err != nil {
			return nil, fmt.Errorf("operator %d (%s): %w", oi, op.Op, err)
		}
		if len(op.Outputs) > 0 {
			shapes[op.Outputs[0]] = out
		}
	}
	return shapes, nil
}

func toInts(s []int32) []int {
	out := make([]int, len(s))
	for i, d := range s {
		out[i] = int(d)
	}
	return out
}

// constInts reads a constant int32 or int64 tensor.
func constInts(m *tflitefile.Model, g *tflitefile.Subgraph, i int32) ([]int, bool) {
	if i < 0 || int(i) >= len(g.Tensors) {
		return nil, false
	}
	t := g.Tensors[i]
	if !isConst(m, t) {
		return nil, false
	}
	b := m.Buffers[t.Buffer].Data
	var out []int
	switch t.Type {
	case tflitefile.Int32:
		for k := 0; k+4 <= len(b); k += 4 {
			out = append(out, int(int32(binary.LittleEndian.Uint32(b[k:]))))
		}
	case tflitefile.Int64:
		for k := 0; k+8 <= len(b); k += 8 {
			out = append(out, int(int64(binary.LittleEndian.Uint64(b[k:]))))
		}
	default:
		return nil, false
	}
	return out, true
}

// convOut is the output length of a convolution or pool along one axis.
func convOut(in, k, stride, dilation int, pad tflitefile.Padding) int {
	stride = max(stride, 1)
	dilation = max(dilation, 1)
	if pad == tflitefile.Same {
		return (in + stride - 1) / stride
	}
	eff := (k-1)*dilation + 1
	return (in - eff + stride) / stride
}

func broadcast(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := 1, 1
		if k := len(a) - n + i; k >= 0 {
			da = a[k]
		}
		if k := len(b) - n + i; k >= 0 {
			db = b[k]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("cannot broadcast %v with %v", a, b)
		}
	}
	return out, nil
}

// outputShape infers the shape of op's first output from its inputs'
// shapes, by op family.
func outputShape(m *tflitefile.Model, g *tflitefile.Subgraph, op *tflitefile.Operator, shapes [][]int) ([]int, error) {
	in := func(k int) []int {
		if k >= len(op.Inputs) || op.Inputs[k] < 0 {
			return nil
		}
		return shapes[op.Inputs[k]]
	}
	x := in(0)
	if x == nil && op.Op != tflitefile.TransposeConv {
		return nil, fmt.Errorf("input shape unknown")
	}
	switch op.Op {
	case tflitefile.Conv2D, tflitefile.DepthwiseConv2D, tflitefile.AveragePool2D, tflitefile.MaxPool2D,
		tflitefile.TransposeConv, tflitefile.FullyConnected:
		return windowShape(op, x, in)
	case tflitefile.Pad, tflitefile.PadV2, tflitefile.MirrorPad, tflitefile.ResizeBilinear, tflitefile.ResizeNearestNeighbor,
		tflitefile.Mean, tflitefile.Sum, opReduceMax, tflitefile.Reshape, tflitefile.Transpose, tflitefile.Slice:
		return constOperandShape(m, g, op, x)
	case tflitefile.Concatenation, tflitefile.DepthToSpace, tflitefile.SpaceToDepth, tflitefile.Squeeze:
		return layoutShape(op, x, in)
	case tflitefile.Add, tflitefile.Sub, tflitefile.Mul, tflitefile.Div, tflitefile.Maximum,
		tflitefile.Minimum, tflitefile.SquaredDifference, tflitefile.Pow:
		return broadcast(x, in(1))
	case tflitefile.Relu, tflitefile.Relu6, tflitefile.LeakyRelu, tflitefile.Tanh,
		tflitefile.Logistic, tflitefile.Quantize, tflitefile.Dequantize, tflitefile.Rsqrt,
		tflitefile.Sqrt, tflitefile.HardSwish, tflitefile.PRelu, tflitefile.Abs, tflitefile.Exp,
		tflitefile.Square, tflitefile.Softmax, opNeg, opElu, opReluN1To1:
		return slices.Clone(x), nil
	}
	return nil, fmt.Errorf("cannot infer the output shape of %s", op.Op)
}

func need4(s []int) error {
	if len(s) != 4 {
		return fmt.Errorf("want a 4-D input, have %v", s)
	}
	return nil
}

// windowShape: convolutions, pools and fully connected layers, whose
// output follows the input through a kernel window or a weight matrix.
func windowShape(op *tflitefile.Operator, x []int, in func(int) []int) ([]int, error) {
	switch op.Op {
	case tflitefile.Conv2D:
		o, _ := op.Options.(*tflitefile.Conv2DOptions)
		wt := in(1)
		if o == nil || need4(x) != nil || len(wt) != 4 {
			return nil, fmt.Errorf("input %v, weights %v", x, wt)
		}
		return []int{x[0], convOut(x[1], wt[1], int(o.StrideH), int(o.DilationHFac), o.Padding),
			convOut(x[2], wt[2], int(o.StrideW), int(o.DilationWFactor), o.Padding), wt[0]}, nil
	case tflitefile.DepthwiseConv2D:
		o, _ := op.Options.(*tflitefile.DepthwiseConv2DOptions)
		wt := in(1)
		if o == nil || need4(x) != nil || len(wt) != 4 {
			return nil, fmt.Errorf("input %v, weights %v", x, wt)
		}
		return []int{x[0], convOut(x[1], wt[1], int(o.StrideH), int(o.DilationHFac), o.Padding),
			convOut(x[2], wt[2], int(o.StrideW), int(o.DilationWFactor), o.Padding), wt[3]}, nil
	case tflitefile.AveragePool2D, tflitefile.MaxPool2D:
		o, _ := op.Options.(*tflitefile.Pool2DOptions)
		if o == nil || need4(x) != nil {
			return nil, fmt.Errorf("input %v", x)
		}
		return []int{x[0], convOut(x[1], int(o.FilterHeight), int(o.StrideH), 1, o.Padding),
			convOut(x[2], int(o.FilterWidth), int(o.StrideW), 1, o.Padding), x[3]}, nil
	case tflitefile.TransposeConv:
		o, _ := op.Options.(*tflitefile.TransposeConvOptions)
		wt, x := in(1), in(2)
		if o == nil || need4(x) != nil || len(wt) != 4 {
			return nil, fmt.Errorf("input %v, weights %v", x, wt)
		}
		up := func(n, k, s int) int {
			s = max(s, 1)
			if o.Padding == tflitefile.Same {
				return n * s
			}
			return (n-1)*s + k
		}
		return []int{x[0], up(x[1], wt[1], int(o.StrideH)), up(x[2], wt[2], int(o.StrideW)), wt[0]}, nil
	case tflitefile.FullyConnected:
		wt := in(1)
		if len(wt) != 2 || wt[1] == 0 {
			return nil, fmt.Errorf("weights %v", wt)
		}
		o, _ := op.Options.(*tflitefile.FullyConnectedOptions)
		if o != nil && o.KeepNumDims {
			return append(slices.Clone(x[:len(x)-1]), wt[0]), nil
		}
		n := 1
		for _, d := range x {
			n *= d
		}
		return []int{n / wt[1], wt[0]}, nil
	}
	return nil, fmt.Errorf("cannot infer the output shape of %s", op.Op)
}

// constOperandShape: ops whose output shape comes from a constant operand
// (paddings, sizes, axes, a new shape, a permutation, a slice).
func constOperandShape(m *tflitefile.Model, g *tflitefile.Subgraph, op *tflitefile.Operator, x []int) ([]int, error) {
	switch op.Op {
	case tflitefile.Pad, tflitefile.PadV2, tflitefile.MirrorPad:
		p, ok := constInts(m, g, op.Inputs[1])
		if !ok || len(p) != 2*len(x) {
			return nil, fmt.Errorf("paddings are not a constant [%d,2]", len(x))
		}
		out := slices.Clone(x)
		for i := range out {
			out[i] += p[2*i] + p[2*i+1]
		}
		return out, nil
	case tflitefile.ResizeBilinear, tflitefile.ResizeNearestNeighbor:
		s, ok := constInts(m, g, op.Inputs[1])
		if !ok || len(s) != 2 || need4(x) != nil {
			return nil, fmt.Errorf("size is not a constant [2]")
		}
		return []int{x[0], s[0], s[1], x[3]}, nil
	case tflitefile.Mean, tflitefile.Sum, opReduceMax:
		axes, ok := constInts(m, g, op.Inputs[1])
		if !ok {
			return nil, fmt.Errorf("axes are not constant")
		}
		keep := false
		if o, _ := op.Options.(*tflitefile.ReducerOptions); o != nil {
			keep = o.KeepDims
		}
		red := map[int]bool{}
		for _, a := range axes {
			if a < 0 {
				a += len(x)
			}
			red[a] = true
		}
		var out []int
		for i, d := range x {
			switch {
			case !red[i]:
				out = append(out, d)
			case keep:
				out = append(out, 1)
			}
		}
		return out, nil
	case tflitefile.Reshape:
		var s []int
		if len(op.Inputs) > 1 {
			s, _ = constInts(m, g, op.Inputs[1])
		}
		if s == nil {
			if o, _ := op.Options.(*tflitefile.ReshapeOptions); o != nil {
				s = toInts(o.NewShape)
			}
		}
		if s == nil {
			return nil, fmt.Errorf("new shape is not constant")
		}
		return reshape(x, s)
	case tflitefile.Transpose:
		p, ok := constInts(m, g, op.Inputs[1])
		if !ok || len(p) != len(x) {
			return nil, fmt.Errorf("permutation is not constant")
		}
		out := make([]int, len(x))
		for i, k := range p {
			out[i] = x[k]
		}
		return out, nil
	case tflitefile.Slice:
		begin, ok1 := constInts(m, g, op.Inputs[1])
		size, ok2 := constInts(m, g, op.Inputs[2])
		if !ok1 || !ok2 || len(size) != len(x) || len(begin) != len(x) {
			return nil, fmt.Errorf("begin/size are not constant")
		}
		out := make([]int, len(x))
		for i := range x {
			out[i] = size[i]
			if size[i] < 0 {
				out[i] = x[i] - begin[i]
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot infer the output shape of %s", op.Op)
}

// layoutShape: ops that rearrange or join their inputs along axes.
func layoutShape(op *tflitefile.Operator, x []int, in func(int) []int) ([]int, error) {
	switch op.Op {
	case tflitefile.Concatenation:
		o, _ := op.Options.(*tflitefile.ConcatenationOptions)
		if o == nil {
			return nil, fmt.Errorf("no options")
		}
		axis := int(o.Axis)
		if axis < 0 {
			axis += len(x)
		}
		out := slices.Clone(x)
		for k := 1; k < len(op.Inputs); k++ {
			s := in(k)
			if len(s) != len(x) || axis >= len(s) {
				return nil, fmt.Errorf("inputs %v and %v", x, s)
			}
			out[axis] += s[axis]
		}
		return out, nil
	case tflitefile.DepthToSpace, tflitefile.SpaceToDepth:
		var b int
		if o, ok := op.Options.(*tflitefile.DepthToSpaceOptions); ok {
			b = int(o.BlockSize)
		}
		if o, ok := op.Options.(*tflitefile.SpaceToDepthOptions); ok {
			b = int(o.BlockSize)
		}
		if b < 1 || need4(x) != nil {
			return nil, fmt.Errorf("block size %d, input %v", b, x)
		}
		if op.Op == tflitefile.DepthToSpace {
			return []int{x[0], x[1] * b, x[2] * b, x[3] / (b * b)}, nil
		}
		return []int{x[0], x[1] / b, x[2] / b, x[3] * b * b}, nil
	case tflitefile.Squeeze:
		o, _ := op.Options.(*tflitefile.SqueezeOptions)
		drop := map[int]bool{}
		if o != nil {
			for _, d := range o.SqueezeDims {
				if d < 0 {
					d += int32(len(x))
				}
				drop[int(d)] = true
			}
		}
		var out []int
		for i, d := range x {
			if d == 1 && (len(drop) == 0 || drop[i]) {
				continue
			}
			out = append(out, d)
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot infer the output shape of %s", op.Op)
}

// Builtin codes not named by tflitefile.
const (
	opReluN1To1 tflitefile.BuiltinOp = 20
	opNeg       tflitefile.BuiltinOp = 59
	opElu       tflitefile.BuiltinOp = 111
	opReduceMax tflitefile.BuiltinOp = 82
)

func reshape(x, s []int) ([]int, error) {
	total := 1
	for _, d := range x {
		total *= d
	}
	out := slices.Clone(s)
	known, free := 1, -1
	for i, d := range out {
		if d == -1 {
			if free >= 0 {
				return nil, fmt.Errorf("new shape %v has two -1", s)
			}
			free = i
			continue
		}
		known *= d
	}
	if free >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", x, s)
		}
		out[free] = total / known
	} else if known != total {
		return nil, fmt.Errorf("cannot reshape %v to %v", x, s)
	}
	return out, nil
}
