// Package pass holds the converter's graph passes over package ir: each pass
// is one file (input checks, shape inference, constant folding, identity
// removal, batch norm folding, normalization patterns, lowering to TFLite
// ops with the NCHW to NHWC layout change, activation fusion) with its own
// test; converter.Convert runs them in order. What each ONNX operator
// means lives in one file per operator family, op_*.go: its shape
// inference and its lowering, registered in registry.go (see "Adding an
// operator" in converter/README.md).
package pass
