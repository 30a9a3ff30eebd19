package tflitefile

// Field slots of the TFLite schema tables, as SCHEMA.md lists them (the
// schema test checks both agree). The *Slots constants are the number of
// slots the writer declares for each table.
const (
	modelVersion       = 0
	modelOperatorCodes = 1
	modelSubgraphs     = 2
	modelDescription   = 3
	modelBuffers       = 4
	modelMetadata      = 6
	modelSlots         = 8

	subgraphTensors   = 0
	subgraphInputs    = 1
	subgraphOutputs   = 2
	subgraphOperators = 3
	subgraphName      = 4
	subgraphSlots     = 5

	tensorShape          = 0
	tensorType           = 1
	tensorBuffer         = 2
	tensorName           = 3
	tensorQuantization   = 4
	tensorIsVariable     = 5
	tensorShapeSignature = 7
	tensorSlots          = 9

	bufferData  = 0
	bufferSlots = 3

	operatorOpcodeIndex        = 0
	operatorInputs             = 1
	operatorOutputs            = 2
	operatorBuiltinOptionsType = 3
	operatorBuiltinOptions     = 4
	operatorCustomOptions      = 5
	operatorSlots              = 9

	opcodeDeprecatedBuiltinCode = 0
	opcodeCustomCode            = 1
	opcodeVersion               = 2
	opcodeBuiltinCode           = 3
	opcodeSlots                 = 4

	quantMin                = 0
	quantMax                = 1
	quantScale              = 2
	quantZeroPoint          = 3
	quantQuantizedDimension = 6
	quantSlots              = 7

	metadataName   = 0
	metadataBuffer = 1
	metadataSlots  = 2
)
