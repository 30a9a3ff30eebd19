// Package calib is the part of INT8 quantization that runs TFLite:
// Calibrate runs the FP32 model on a copy whose intermediate tensors are
// all outputs and picks each activation range (minmax, percentile or MSE),
// Compare and LayerErrors measure the INT8 model against the FP32 one (the
// quality gate), and Flags wires calibration, quantize.Quantize and the
// gate to the command line of tflite-quantize and onnx2tflite --int8:
// --calib DIR, --calib-count, --gate DIR, --gate-count, --calib-method,
// --calib-percentile, --calib-seed, --io, --min-psnr, --report and
// --float-ops (operator names or "layernorm"). Calibration and gate images
// come from photo folders (LoadImages) or are synthetic (SyntheticImages).
package calib
