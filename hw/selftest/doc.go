// Package selftest runs one backend candidate (the builtin CPU kernels,
// XNNPACK, or an external delegate plugin) on a model with a fixed test
// image and reports its output and timings as JSON.
//
// It is the body of the hidden `animed selftest` subcommand, which package
// hw/backend runs in a child process for each candidate: a delegate that
// crashes or hangs takes down only that child. The parent compares each
// candidate's output with the CPU reference; this package only measures.
package selftest
