package main

import (
	"github.com/animed/animed/converter"
	"github.com/animed/animed/converter/verify"
)

// verifyBackends lists what --verify runs next to ONNX Runtime.
func verifyBackends(res *converter.Result, e *env) ([]verify.Backend, func(), error) {
	return []verify.Backend{verify.ExecBackend(res.Graph)}, func() {}, nil
}
