package quantize

import (
	"fmt"
	"slices"
	"strings"

	tfl "github.com/animed/animed/converter/tflitefile"
)

// equalScaleOps move values without rescaling them: TFLite's INT8 kernels
// for these ops assume (and do not always check) that every data input and
// the output share one scale and zero point.
var equalScaleOps = map[tfl.BuiltinOp]bool{
	tfl.Reshape: true, tfl.Transpose: true, tfl.Concatenation: true,
	tfl.Pad: true, tfl.PadV2: true, tfl.MirrorPad: true,
	tfl.ResizeBilinear: true, tfl.ResizeNearestNeighbor: true,
	tfl.MaxPool2D: true, tfl.AveragePool2D: true,
	tfl.DepthToSpace: true, tfl.SpaceToDepth: true,
	tfl.Squeeze: true, tfl.Slice: true, tfl.Maximum: true, tfl.Minimum: true,
}

// fixedOutput is the output quantization TFLite's INT8 kernels require.
type fixedParams struct {
	scale float32
	zp    int32
}

var fixedOutput = map[tfl.BuiltinOp]fixedParams{
	tfl.Tanh:     {1.0 / 128, 0},
	tfl.Logistic: {float32(1.0 / 256), -128},
	tfl.Softmax:  {float32(1.0 / 256), -128},
}

// int8Ops have INT8 kernels in TFLite 2.9's builtin op resolver.
var int8Ops = map[tfl.BuiltinOp]bool{
	tfl.Add: true, tfl.Sub: true, tfl.Mul: true,
	tfl.Conv2D: true, tfl.DepthwiseConv2D: true, tfl.FullyConnected: true, tfl.TransposeConv: true,
	tfl.AveragePool2D: true, tfl.MaxPool2D: true,
	tfl.Concatenation: true, tfl.Reshape: true, tfl.Squeeze: true, tfl.Transpose: true, tfl.Slice: true,
	tfl.Pad: true, tfl.PadV2: true, tfl.MirrorPad: true,
	tfl.ResizeBilinear: true, tfl.ResizeNearestNeighbor: true,
	tfl.DepthToSpace: true, tfl.SpaceToDepth: true,
	tfl.Tanh: true, tfl.Logistic: true, tfl.Softmax: true,
	tfl.Relu: true, tfl.Relu6: true, tfl.LeakyRelu: true, tfl.PRelu: true, tfl.HardSwish: true,
	tfl.Mean: true, tfl.Sum: true, tfl.SquaredDifference: true, tfl.Rsqrt: true,
	tfl.Maximum: true, tfl.Minimum: true, tfl.BatchMatMul: true,
	tfl.Quantize: true, tfl.Dequantize: true,
}

// int8Version returns the operator version TFLite gives op's INT8 kernel
// (tensorflow/lite/tools/versioning/op_version.cc), or 1.
func int8Version(op *tfl.Operator, inScales []float32, outScale float32) int32 {
	switch op.Op {
	case tfl.Conv2D, tfl.DepthwiseConv2D:
		return 3
	case tfl.FullyConnected:
		return 4
	case tfl.TransposeConv:
		if len(op.Inputs) == 4 && op.Inputs[3] >= 0 {
			return 3
		}
		return 2
	case tfl.Mul:
		if len(inScales) == 2 && outScale > 0 && float64(inScales[0])*float64(inScales[1])/float64(outScale) >= 1 {
			return 3
		}
		return 2
	case tfl.ResizeBilinear:
		if o, ok := op.Options.(*tfl.ResizeBilinearOptions); ok && o.HalfPixelCenters {
			return 3
		}
		return 2
	case tfl.ResizeNearestNeighbor:
		if o, ok := op.Options.(*tfl.ResizeNearestNeighborOptions); ok && (o.HalfPixelCenters || o.AlignCorners) {
			return 3
		}
		return 2
	case tfl.Add, tfl.Sub, tfl.Transpose, tfl.Concatenation, tfl.Pad, tfl.PadV2, tfl.Mean, tfl.Sum,
		tfl.Rsqrt, tfl.SquaredDifference, tfl.Softmax, tfl.Tanh, tfl.Logistic, tfl.Relu, tfl.Relu6,
		tfl.BatchMatMul, tfl.MirrorPad, tfl.Dequantize, tfl.MaxPool2D, tfl.AveragePool2D,
		tfl.DepthToSpace, tfl.SpaceToDepth, tfl.Maximum, tfl.Minimum, tfl.Slice:
		return 2
	}
	return 1
}

// weightRole says which inputs of op are weights (per-channel int8) and
// bias (int32), and the weights' channel axis. ok is false for other ops.
func weightRole(op tfl.BuiltinOp) (weight, bias, input, axis int, perChannel, ok bool) {
	switch op {
	case tfl.Conv2D:
		return 1, 2, 0, 0, true, true // OHWI
	case tfl.DepthwiseConv2D:
		return 1, 2, 0, 3, true, true // 1,H,W,C*M
	case tfl.TransposeConv:
		return 1, 3, 2, 0, true, true // OHWI; inputs: output_shape, weights, input, bias
	case tfl.FullyConnected:
		return 1, 2, 0, 0, false, true // [O,I]; per-tensor for TFLite 2.9
	}
	return 0, 0, 0, 0, false, false
}

// XNNPACK 2.9 (TFLite 2.9.0 with delegate flag QS8): the operators the
// delegate knows at all, from the library's own "failed to delegate" table,
// and the subset it runs in signed INT8. The C API does not report what the
// delegate took, so the INT8 subset was checked by timing chains of eight
// of one operator (1x16x256x256, one thread) on XNNPACK against the builtin
// kernels: ADD, DEPTHWISE_CONV_2D, PAD, LOGISTIC and fused RELU run in
// XNNPACK (2-35x faster); LEAKY_RELU takes the same time on both (the
// builtin reference kernel, ~4 ns per element), and an INT8 MUL makes the
// delegate fail to prepare, so the whole model falls back to the builtin
// kernels. Both are therefore left out.
var (
	xnnpackOps = map[tfl.BuiltinOp]bool{
		tfl.Abs: true, tfl.Add: true, tfl.AveragePool2D: true, tfl.Conv2D: true,
		tfl.DepthToSpace: true, tfl.DepthwiseConv2D: true, tfl.Dequantize: true, tfl.Div: true,
		tfl.FullyConnected: true, tfl.HardSwish: true, tfl.LeakyRelu: true, tfl.Logistic: true,
		tfl.Maximum: true, tfl.Minimum: true, tfl.MaxPool2D: true, tfl.Mean: true, tfl.Mul: true,
		tfl.Pad: true, tfl.PRelu: true, tfl.Quantize: true, tfl.Relu: true, tfl.Relu6: true,
		tfl.Reshape: true, tfl.ResizeBilinear: true, tfl.Softmax: true, tfl.Sqrt: true,
		tfl.Square: true, tfl.SquaredDifference: true, tfl.Sub: true, tfl.TransposeConv: true,
	}
	xnnpackQS8Ops = map[tfl.BuiltinOp]bool{
		tfl.Add: true, tfl.Conv2D: true, tfl.DepthwiseConv2D: true, tfl.DepthToSpace: true,
		tfl.Dequantize: true, tfl.FullyConnected: true, tfl.Logistic: true,
		tfl.Mean: true, tfl.Pad: true, tfl.PRelu: true, tfl.Quantize: true,
		tfl.Relu: true, tfl.ResizeBilinear: true, tfl.Softmax: true, tfl.Sub: true,
		tfl.TransposeConv: true, tfl.MaxPool2D: true, tfl.AveragePool2D: true, tfl.Reshape: true,
	}
)

// Undelegated is one operator the XNNPACK delegate of TFLite 2.9 leaves to
// the builtin kernels.
type Undelegated struct {
	Index  int    `json:"index"` // operator index in the main subgraph
	Op     string `json:"op"`    // operator name, e.g. "TANH"
	Reason string `json:"reason"`
}

// UndelegatedOps lists the operators of m's main subgraph that XNNPACK 2.9
// with QS8 enabled cannot take; each one splits the delegated graph and runs
// on TFLite's slower builtin kernels. An operator counts as INT8 when its
// first input or output is int8.
func UndelegatedOps(m *tfl.Model) []Undelegated {
	var out []Undelegated
	if len(m.Subgraphs) == 0 {
		return nil
	}
	g := m.Subgraphs[0]
	typeOf := func(idx []int32) (tfl.TensorType, bool) {
		for _, i := range idx {
			if i >= 0 && int(i) < len(g.Tensors) {
				return g.Tensors[i].Type, true
			}
		}
		return 0, false
	}
	for i, op := range g.Operators {
		name := op.Op.String()
		if op.Op == tfl.Custom {
			name = "CUSTOM(" + op.Custom + ")"
		}
		if !xnnpackOps[op.Op] {
			out = append(out, Undelegated{i, name, "no XNNPACK kernel"})
			continue
		}
		in, _ := typeOf(op.Inputs)
		o, _ := typeOf(op.Outputs)
		quant := in == tfl.Int8 || o == tfl.Int8 || in == tfl.Uint8 || o == tfl.Uint8
		if quant && op.Op != tfl.Quantize && op.Op != tfl.Dequantize && !xnnpackQS8Ops[op.Op] {
			out = append(out, Undelegated{i, name, "no XNNPACK QS8 (int8) kernel"})
		}
	}
	return out
}

// SummarizeUndelegated formats a list from UndelegatedOps as counts per
// operator, e.g. "MIRROR_PAD×18 RSQRT×22 TANH×1".
func SummarizeUndelegated(us []Undelegated) string {
	count := map[string]int{}
	for _, u := range us {
		count[u.Op]++
	}
	var names []string
	for n := range count {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s×%d", n, count[n])
	}
	return strings.Join(parts, " ")
}
