package tflitefile

import "fmt"

// BuiltinOp is a builtin operator code (schema enum BuiltinOperator).
type BuiltinOp int32

// Builtin operator codes used by this project (SCHEMA.md lists them).
const (
	Add                   BuiltinOp = 0
	AveragePool2D         BuiltinOp = 1
	Concatenation         BuiltinOp = 2
	Conv2D                BuiltinOp = 3
	DepthwiseConv2D       BuiltinOp = 4
	DepthToSpace          BuiltinOp = 5
	Dequantize            BuiltinOp = 6
	Floor                 BuiltinOp = 8
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
	Custom                BuiltinOp = 32 // Operator.Custom holds its name
	Pad                   BuiltinOp = 34
	Gather                BuiltinOp = 36
	Transpose             BuiltinOp = 39
	Mean                  BuiltinOp = 40
	Sub                   BuiltinOp = 41
	Div                   BuiltinOp = 42
	Squeeze               BuiltinOp = 43
	StridedSlice          BuiltinOp = 45
	Exp                   BuiltinOp = 47
	Split                 BuiltinOp = 49
	LogSoftmax            BuiltinOp = 50
	PRelu                 BuiltinOp = 54
	Maximum               BuiltinOp = 55
	Minimum               BuiltinOp = 57
	Less                  BuiltinOp = 58
	Neg                   BuiltinOp = 59
	PadV2                 BuiltinOp = 60
	Greater               BuiltinOp = 61
	Slice                 BuiltinOp = 65
	Sin                   BuiltinOp = 66
	TransposeConv         BuiltinOp = 67
	Equal                 BuiltinOp = 71
	Log                   BuiltinOp = 73
	Sum                   BuiltinOp = 74
	Sqrt                  BuiltinOp = 75
	Rsqrt                 BuiltinOp = 76
	Pow                   BuiltinOp = 78
	ReduceProd            BuiltinOp = 81
	ReduceMax             BuiltinOp = 82
	ReduceMin             BuiltinOp = 89
	Square                BuiltinOp = 92
	ResizeNearestNeighbor BuiltinOp = 97
	LeakyRelu             BuiltinOp = 98
	SquaredDifference     BuiltinOp = 99
	MirrorPad             BuiltinOp = 100
	Abs                   BuiltinOp = 101
	Ceil                  BuiltinOp = 104
	Cos                   BuiltinOp = 108
	Elu                   BuiltinOp = 111
	Quantize              BuiltinOp = 114
	Round                 BuiltinOp = 116
	HardSwish             BuiltinOp = 117
	SelectV2              BuiltinOp = 123
	BatchMatMul           BuiltinOp = 126
	BroadcastTo           BuiltinOp = 130
)

// OpInfo is what the project knows about a builtin operator in TFLite 2.9:
// the one table the converter, the quantizer, the scaler, the summary and
// the bench statistics read.
type OpInfo struct {
	Name string // schema name, e.g. "CONV_2D"
	// Weights and Bias are the inputs that hold constant weights and
	// bias, or -1.
	Weights, Bias int
	// Int8 reports an int8 kernel.
	Int8 bool
	// EqualScale: the int8 kernel needs the same scale and zero point on
	// its input and output (a mismatch may run and give wrong values).
	EqualScale bool
	// SizeAgnostic: the op's constants (weights, paddings, permutations,
	// axes) do not depend on the input's height and width.
	SizeAgnostic bool
	// ConstSize: the op takes an absolute size from a constant tensor, so
	// a model using it computes something else when its input is resized.
	ConstSize bool
	// Broadcasting: a binary op whose constant operand must not have a
	// spatial extent to keep broadcasting at another size.
	Broadcasting bool
	// FusedActivation: its options carry a fused activation (RELU,
	// RELU6, RELU_N1_TO_1) the kernel applies.
	FusedActivation bool
	// MaxRank is the most dimensions its kernel takes.
	MaxRank int
	// XNNPACK: the XNNPACK delegate of TFLite 2.9 takes the float op;
	// XNNPACKInt8: it also has the int8 (QS8) kernel.
	XNNPACK, XNNPACKInt8 bool
}

// fact flags, to keep the table readable.
const (
	fInt8 = 1 << iota
	fEqualScale
	fSizeAgnostic
	fConstSize
	fBroadcasting
	fXNNPACK
	fXNNPACKInt8
	fFused
)

func info(name string, flags int, maxRank int) OpInfo {
	return OpInfo{Name: name, Weights: -1, Bias: -1, MaxRank: maxRank,
		Int8: flags&fInt8 != 0, EqualScale: flags&fEqualScale != 0, SizeAgnostic: flags&fSizeAgnostic != 0,
		ConstSize: flags&fConstSize != 0, Broadcasting: flags&fBroadcasting != 0, FusedActivation: flags&fFused != 0,
		XNNPACK: flags&fXNNPACK != 0, XNNPACKInt8: flags&fXNNPACKInt8 != 0}
}

func weighted(i OpInfo, weights, bias int) OpInfo {
	i.Weights, i.Bias = weights, bias
	return i
}

// The XNNPACK columns come from the delegate's own "failed to delegate"
// table in 2.9 (see SCHEMA.md). The C API does not report what the
// delegate took, so its INT8 (QS8) subset was checked by timing chains of
// eight of one operator (1x16x256x256, one thread) on XNNPACK against the
// builtin kernels: ADD, DEPTHWISE_CONV_2D, PAD, LOGISTIC and fused RELU
// run in XNNPACK (2-35x faster); LEAKY_RELU takes the same time on both
// (the builtin reference kernel, ~4 ns per element), and an INT8 MUL makes
// the delegate fail to prepare, so the whole model falls back to the
// builtin kernels: both are left out. The int8 column lists the kernels
// the quantizer has been tested with (TFLite has a few more).
const (
	sa    = fSizeAgnostic
	xnn   = fXNNPACK
	xnn8  = fXNNPACK | fXNNPACKInt8
	int8E = fInt8 | fEqualScale
)

var opInfo = map[BuiltinOp]OpInfo{
	Add:                   info("ADD", fInt8|sa|fBroadcasting|fFused|xnn8, 6),
	AveragePool2D:         info("AVERAGE_POOL_2D", int8E|sa|fFused|xnn8, 4),
	Concatenation:         info("CONCATENATION", int8E|sa|fBroadcasting|fFused, 5),
	Conv2D:                weighted(info("CONV_2D", fInt8|sa|fFused|xnn8, 4), 1, 2),
	DepthwiseConv2D:       weighted(info("DEPTHWISE_CONV_2D", fInt8|sa|fFused|xnn8, 4), 1, 2),
	DepthToSpace:          info("DEPTH_TO_SPACE", int8E|sa|xnn8, 4),
	Dequantize:            info("DEQUANTIZE", fInt8|sa|xnn8, 6),
	Floor:                 info("FLOOR", sa|xnn, 6),
	FullyConnected:        weighted(info("FULLY_CONNECTED", fInt8|fFused|xnn8, 6), 1, 2),
	Logistic:              info("LOGISTIC", fInt8|sa|xnn8, 6),
	MaxPool2D:             info("MAX_POOL_2D", int8E|sa|fFused|xnn8, 4),
	Mul:                   info("MUL", fInt8|sa|fBroadcasting|fFused|xnn, 6),
	Relu:                  info("RELU", fInt8|sa|xnn8, 6),
	ReluN1To1:             info("RELU_N1_TO_1", sa, 6),
	Relu6:                 info("RELU6", fInt8|sa|xnn, 6),
	Reshape:               info("RESHAPE", int8E|fConstSize|xnn8, 8),
	ResizeBilinear:        info("RESIZE_BILINEAR", int8E|fConstSize|xnn8, 4),
	Softmax:               info("SOFTMAX", fInt8|sa|xnn8, 6),
	SpaceToDepth:          info("SPACE_TO_DEPTH", int8E|sa, 4),
	Tanh:                  info("TANH", fInt8|sa, 6),
	Custom:                info("CUSTOM", 0, 6),
	Pad:                   info("PAD", int8E|sa|xnn8, 4),
	Gather:                info("GATHER", 0, 6),
	Transpose:             info("TRANSPOSE", int8E|sa, 5),
	Mean:                  info("MEAN", fInt8|sa|xnn8, 6),
	Sub:                   info("SUB", fInt8|sa|fBroadcasting|fFused|xnn8, 6),
	Div:                   info("DIV", sa|fBroadcasting|xnn, 6),
	Squeeze:               info("SQUEEZE", int8E, 6),
	StridedSlice:          info("STRIDED_SLICE", fConstSize, 5),
	Exp:                   info("EXP", sa, 6),
	Split:                 info("SPLIT", sa, 6),
	LogSoftmax:            info("LOG_SOFTMAX", sa, 6),
	PRelu:                 weighted(info("PRELU", fInt8|sa|fBroadcasting|xnn8, 6), 1, -1),
	Maximum:               info("MAXIMUM", int8E|sa|fBroadcasting|xnn, 6),
	Minimum:               info("MINIMUM", int8E|sa|fBroadcasting|xnn, 6),
	Less:                  info("LESS", sa|fBroadcasting, 4),
	Neg:                   info("NEG", sa|xnn, 6),
	PadV2:                 info("PADV2", int8E|sa, 4),
	Greater:               info("GREATER", sa|fBroadcasting, 4),
	Slice:                 info("SLICE", int8E|fConstSize, 5),
	Sin:                   info("SIN", sa, 6),
	TransposeConv:         weighted(info("TRANSPOSE_CONV", fInt8|fConstSize|xnn8, 4), 1, 3),
	Equal:                 info("EQUAL", sa|fBroadcasting, 4),
	Log:                   info("LOG", sa, 6),
	Sum:                   info("SUM", fInt8|sa, 6),
	Sqrt:                  info("SQRT", sa|xnn, 6),
	Rsqrt:                 info("RSQRT", fInt8|sa, 6),
	Pow:                   info("POW", sa|fBroadcasting, 6),
	ReduceProd:            info("REDUCE_PROD", sa, 6),
	ReduceMax:             info("REDUCE_MAX", sa, 6),
	ReduceMin:             info("REDUCE_MIN", sa, 6),
	Square:                info("SQUARE", sa|xnn, 6),
	ResizeNearestNeighbor: info("RESIZE_NEAREST_NEIGHBOR", int8E|fConstSize, 4),
	LeakyRelu:             info("LEAKY_RELU", fInt8|sa|xnn, 6),
	SquaredDifference:     info("SQUARED_DIFFERENCE", fInt8|sa|fBroadcasting|xnn, 6),
	MirrorPad:             info("MIRROR_PAD", int8E|sa, 4),
	Abs:                   info("ABS", sa|xnn, 6),
	Ceil:                  info("CEIL", sa|xnn, 6),
	Cos:                   info("COS", sa, 6),
	Elu:                   info("ELU", sa|xnn, 6),
	Quantize:              info("QUANTIZE", fInt8|sa|xnn8, 6),
	Round:                 info("ROUND", sa|xnn, 6),
	HardSwish:             info("HARD_SWISH", fInt8|sa|xnn, 6),
	SelectV2:              info("SELECT_V2", sa|fBroadcasting, 4),
	BatchMatMul:           info("BATCH_MATMUL", fInt8, 6),
	BroadcastTo:           info("BROADCAST_TO", fConstSize, 8),
}

// Info returns the facts about op; an op outside the table gets its
// number as name, no kernels and no guarantees.
func (op BuiltinOp) Info() OpInfo {
	if i, ok := opInfo[op]; ok {
		return i
	}
	return info(fmt.Sprintf("BUILTIN_%d", int32(op)), 0, 6)
}

func (op BuiltinOp) String() string { return op.Info().Name }

// opByName inverts opInfo's names.
var opByName = func() map[string]BuiltinOp {
	m := make(map[string]BuiltinOp, len(opInfo))
	for op, i := range opInfo {
		m[i.Name] = op
	}
	return m
}()

// OpByName returns the builtin operator of a schema name ("CONV_2D").
func OpByName(name string) (BuiltinOp, bool) {
	op, ok := opByName[name]
	return op, ok
}
