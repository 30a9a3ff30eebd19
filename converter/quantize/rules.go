package quantize

import (
	"fmt"
	"slices"
	"strings"

	tfl "github.com/animed/animed/internal/tflitefile"
)

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
// bias (int32) (from the operator table), its data input, and the
// weights' channel axis. ok is false for other ops (PRELU's slope is
// quantized as an operand).
func weightRole(op tfl.BuiltinOp) (weight, bias, input, axis int, perChannel, ok bool) {
	i := op.Info()
	switch op {
	case tfl.Conv2D:
		return i.Weights, i.Bias, 0, 0, true, true // OHWI
	case tfl.DepthwiseConv2D:
		return i.Weights, i.Bias, 0, 3, true, true // 1,H,W,C*M
	case tfl.TransposeConv:
		return i.Weights, i.Bias, 2, 0, true, true // OHWI; inputs: output_shape, weights, input, bias
	case tfl.FullyConnected:
		return i.Weights, i.Bias, 0, 0, false, true // [O,I]; per-tensor for TFLite 2.9
	}
	return 0, 0, 0, 0, false, false
}

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
		if !op.Op.Info().XNNPACK {
			out = append(out, Undelegated{i, name, "no XNNPACK kernel"})
			continue
		}
		in, _ := typeOf(op.Inputs)
		o, _ := typeOf(op.Outputs)
		quant := in == tfl.Int8 || o == tfl.Int8 || in == tfl.Uint8 || o == tfl.Uint8
		if quant && op.Op != tfl.Quantize && op.Op != tfl.Dequantize && !op.Op.Info().XNNPACKInt8 {
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
