// Package pass holds the converter's graph passes over package ir: each pass
// is one file (shape inference, constant folding, identity removal, batch
// norm folding, normalization patterns, lowering to TFLite ops with the
// NCHW to NHWC layout change, activation fusion) with its own test. Run
// them in order with Pipeline.
package pass
