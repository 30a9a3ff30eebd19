package tflitefile

import "fmt"

// BuiltinOp is a builtin operator code (schema enum BuiltinOperator).
type BuiltinOp int32

// Builtin operator codes used by this project.
const (
	Add                   BuiltinOp = 0
	AveragePool2D         BuiltinOp = 1
	Concatenation         BuiltinOp = 2
	Conv2D                BuiltinOp = 3
	DepthwiseConv2D       BuiltinOp = 4
	DepthToSpace          BuiltinOp = 5
	Dequantize            BuiltinOp = 6
	FullyConnected        BuiltinOp = 9
	Logistic              BuiltinOp = 14
	MaxPool2D             BuiltinOp = 17
	Mul                   BuiltinOp = 18
	Relu                  BuiltinOp = 19
	ReluN1To1             BuiltinOp = 20
	Relu6                 BuiltinOp = 21
	Reshape               BuiltinOp = 22
	ResizeBilinear        BuiltinOp = 23
	Softmax               BuiltinOp = 25
	SpaceToDepth          BuiltinOp = 26
	Tanh                  BuiltinOp = 28
	Pad                   BuiltinOp = 34
	Transpose             BuiltinOp = 39
	Mean                  BuiltinOp = 40
	Sub                   BuiltinOp = 41
	Div                   BuiltinOp = 42
	Squeeze               BuiltinOp = 43
	Exp                   BuiltinOp = 47
	PRelu                 BuiltinOp = 54
	Neg                   BuiltinOp = 59
	Maximum               BuiltinOp = 55
	Minimum               BuiltinOp = 57
	PadV2                 BuiltinOp = 60
	Slice                 BuiltinOp = 65
	TransposeConv         BuiltinOp = 67
	Sum                   BuiltinOp = 74
	ReduceProd            BuiltinOp = 81
	ReduceMax             BuiltinOp = 82
	ReduceMin             BuiltinOp = 89
	Sqrt                  BuiltinOp = 75
	Rsqrt                 BuiltinOp = 76
	Pow                   BuiltinOp = 78
	Square                BuiltinOp = 92
	ResizeNearestNeighbor BuiltinOp = 97
	LeakyRelu             BuiltinOp = 98
	SquaredDifference     BuiltinOp = 99
	MirrorPad             BuiltinOp = 100
	Abs                   BuiltinOp = 101
	Quantize              BuiltinOp = 114
	HardSwish             BuiltinOp = 117
	BatchMatMul           BuiltinOp = 126
	// Custom marks a custom operator; Operator.Custom holds its name.
	Custom BuiltinOp = 32
)

var opNames = map[BuiltinOp]string{
	Add: "ADD", AveragePool2D: "AVERAGE_POOL_2D", Concatenation: "CONCATENATION",
	Conv2D: "CONV_2D", DepthwiseConv2D: "DEPTHWISE_CONV_2D", DepthToSpace: "DEPTH_TO_SPACE",
	Dequantize: "DEQUANTIZE", FullyConnected: "FULLY_CONNECTED", Logistic: "LOGISTIC",
	MaxPool2D: "MAX_POOL_2D", Mul: "MUL", Relu: "RELU", ReluN1To1: "RELU_N1_TO_1", Relu6: "RELU6", Neg: "NEG", Reshape: "RESHAPE",
	ResizeBilinear: "RESIZE_BILINEAR", Softmax: "SOFTMAX", SpaceToDepth: "SPACE_TO_DEPTH",
	Tanh: "TANH", Pad: "PAD", Transpose: "TRANSPOSE", Mean: "MEAN", Sub: "SUB", Div: "DIV",
	Squeeze: "SQUEEZE", Exp: "EXP", PRelu: "PRELU", Maximum: "MAXIMUM", Minimum: "MINIMUM",
	PadV2: "PADV2", Slice: "SLICE", TransposeConv: "TRANSPOSE_CONV", Sum: "SUM", Sqrt: "SQRT",
	ReduceProd: "REDUCE_PROD", ReduceMax: "REDUCE_MAX", ReduceMin: "REDUCE_MIN",
	Rsqrt: "RSQRT", Pow: "POW", Square: "SQUARE", ResizeNearestNeighbor: "RESIZE_NEAREST_NEIGHBOR",
	LeakyRelu: "LEAKY_RELU", SquaredDifference: "SQUARED_DIFFERENCE", MirrorPad: "MIRROR_PAD",
	Abs: "ABS", Quantize: "QUANTIZE", HardSwish: "HARD_SWISH", BatchMatMul: "BATCH_MATMUL",
	Custom: "CUSTOM",
}

func (op BuiltinOp) String() string {
	if s, ok := opNames[op]; ok {
		return s
	}
	return fmt.Sprintf("BUILTIN_%d", int32(op))
}
