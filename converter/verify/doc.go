// Package verify checks a conversion against an independent reference:
// ONNX Runtime (npm onnxruntime-node, driven through a small Node script)
// runs the ONNX model, and the converted model runs in TFLite (package
// internal/tflite) and in the Go reference executor (package
// converter/exec); outputs are compared in the ONNX layout.
package verify
