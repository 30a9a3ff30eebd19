// Package quantize turns an FP32 TFLite model into a fully INT8 one by
// post-training quantization, and measures what that costs.
//
// The pass works on internal/tflitefile models and knows nothing about
// ONNX, so it applies to any FP32 .tflite of the image-to-image family the
// converter produces. It follows the rules TFLite's INT8 kernels and
// XNNPACK's QS8 path require:
//
//   - weights: symmetric int8 in [-127, 127], zero point 0, one scale per
//     output channel (quantized_dimension 0 for CONV_2D and TRANSPOSE_CONV,
//     3 for DEPTHWISE_CONV_2D); all-zero channels get a floor scale;
//   - bias: int32 with scale input_scale × weight_scale[c]; a weight scale is
//     raised where the bias would not fit;
//   - activations: asymmetric int8 whose range includes 0;
//   - fixed outputs: TANH (1/128, 0), LOGISTIC and SOFTMAX (float32(1/256),
//     -128);
//   - ops that move data without rescaling it (RESHAPE, TRANSPOSE,
//     CONCATENATION, PAD, PADV2, MIRROR_PAD, RESIZE_*, MAX_POOL_2D,
//     AVERAGE_POOL_2D, DEPTH_TO_SPACE, SPACE_TO_DEPTH, SQUEEZE, SLICE,
//     MAXIMUM, MINIMUM) get one shared scale and zero point on their inputs
//     and output; where that is impossible a requantizing QUANTIZE is
//     inserted, never a silent mismatch;
//   - operator versions are raised to the versions TFLite gives their INT8
//     kernels.
//
// Ranges for activations come from calibration: package calib runs the
// FP32 model through the TFLite runtime and picks each range. Ops without
// an INT8 kernel, or named in Options.FloatOps, stay float islands behind
// DEQUANTIZE/QUANTIZE pairs. UndelegatedOps lists the ops XNNPACK 2.9
// cannot take. This package is pure Go (it builds with CGO_ENABLED=0);
// everything that runs TFLite (calibration, the quality gate, the command
// line flags) is in converter/quantize/calib.
//
// # Int8 input and output
//
// With IOInt8 the model's input is int8 with PixelInput's parameters
// (scale 2/255, zero point 0): a caller feeds pixel-128 for 8-bit RGB
// pixels, which is 1/255 (half a step) below the float model's
// pixel/127.5-1; the pass folds that constant into the bias of the
// convolutions that read the input (exact behind MIRROR_PAD or VALID
// padding, off at the border for SAME). The output keeps its own int8
// parameters (TANH: 1/128, 0); read them from the tensor. Measured on the
// test generator, the fold and the half step are both below int8 noise:
// 46.4 to 46.7 dB either way.
package quantize
