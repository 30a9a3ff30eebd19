// Package tflitetest runs a TFLite model once for tests: the load,
// interpreter, feed, invoke and read every test would otherwise repeat.
package tflitetest

import (
	"testing"

	"github.com/animed/animed/internal/tflite"
)

// Result is one output of a run.
type Result struct {
	Data  []float32
	Shape []int
}

// Run loads data, runs it once on backend (one thread) with float32
// inputs at the model's own sizes, and returns every output; any failure
// fails t.
func Run(t testing.TB, data []byte, backend tflite.Backend, inputs ...[]float32) []Result {
	t.Helper()
	m, err := tflite.NewModel(data)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	it, err := tflite.NewInterpreter(m, tflite.Options{Backend: backend, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for i, in := range inputs {
		if err := it.Input(i).SetFloat32(in); err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
	}
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	out := make([]Result, it.OutputCount())
	for i := range out {
		o := it.Output(i)
		out[i] = Result{Data: make([]float32, o.Len()), Shape: o.Shape()}
		if err := o.ReadFloat32(out[i].Data); err != nil {
			t.Fatalf("output %d: %v", i, err)
		}
	}
	return out
}
