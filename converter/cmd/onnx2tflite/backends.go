package main

import (
	"fmt"

	"github.com/animed/animed/converter"
	"github.com/animed/animed/converter/verify"
	"github.com/animed/animed/internal/tflite"
)

// verifyBackends lists what --verify runs next to ONNX Runtime: the TFLite
// runtime with its builtin kernels and with XNNPACK, and the Go reference
// executor of the IR.
func verifyBackends(res *converter.Result, e *env) ([]verify.Backend, func(), error) {
	data, err := res.Model.Marshal()
	if err != nil {
		return nil, nil, err
	}
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	out := []verify.Backend{}
	for _, be := range []tflite.Backend{tflite.BackendCPU, tflite.BackendXNNPACK} {
		b, c, err := verify.TFLiteBackend("tflite-"+string(be), data, tflite.Options{Backend: be, Logger: e.log})
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("tflite %s: %w", be, err)
		}
		closers = append(closers, c)
		out = append(out, b)
	}
	out = append(out, verify.ExecBackend(res.Graph))
	return out, closeAll, nil
}
