package verify_test

import (
	"fmt"
	"testing"

	"github.com/animed/animed/converter"
	"github.com/animed/animed/converter/verify"
	"github.com/animed/animed/internal/tflite"
)

// runtimeBackends runs the converted model in TFLite: the builtin CPU
// kernels and the XNNPACK delegate.
func runtimeBackends(t *testing.T, res *converter.Result) []verify.Backend {
	t.Helper()
	out, err := tryRuntimeBackends(t, res)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tryRuntimeBackends(t *testing.T, res *converter.Result) ([]verify.Backend, error) {
	data, err := res.Model.Marshal()
	if err != nil {
		return nil, err
	}
	var out []verify.Backend
	for _, be := range []tflite.Backend{tflite.BackendCPU, tflite.BackendXNNPACK} {
		b, closeFn, err := verify.TFLiteBackend("tflite-"+string(be), data, tflite.Options{Backend: be, Threads: 1})
		if err != nil {
			return nil, fmt.Errorf("tflite %s: %w", be, err)
		}
		t.Cleanup(closeFn)
		out = append(out, b)
	}
	return out, nil
}
