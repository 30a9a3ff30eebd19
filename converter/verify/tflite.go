package verify

import (
	"fmt"

	"github.com/animed/animed/internal/tflite"
)

// TFLiteBackend runs a serialized model in the TFLite runtime (package
// internal/tflite) with the given options; close releases it. When the
// XNNPACK delegate was asked for but refused the graph, the backend's
// name says so.
func TFLiteBackend(name string, model []byte, o tflite.Options) (b Backend, close func(), err error) {
	m, err := tflite.NewModel(model)
	if err != nil {
		return Backend{}, nil, err
	}
	it, err := tflite.NewInterpreter(m, o)
	if err != nil {
		m.Close()
		return Backend{}, nil, err
	}
	close = func() {
		it.Close()
		m.Close()
	}
	run := func(inputs [][]float32) ([][]float32, error) {
		if len(inputs) != it.InputCount() {
			return nil, fmt.Errorf("model has %d inputs, got %d", it.InputCount(), len(inputs))
		}
		for i, in := range inputs {
			if err := it.Input(i).SetFloat32(in); err != nil {
				return nil, fmt.Errorf("input %d: %w", i, err)
			}
		}
		if err := it.Invoke(); err != nil {
			return nil, err
		}
		outs := make([][]float32, it.OutputCount())
		for i := range outs {
			t := it.Output(i)
			n := 1
			for _, d := range t.Shape() {
				n *= d
			}
			outs[i] = make([]float32, n)
			if err := t.ReadFloat32(outs[i]); err != nil {
				return nil, fmt.Errorf("output %d: %w", i, err)
			}
		}
		return outs, nil
	}
	if o.Backend == tflite.BackendXNNPACK && it.Backend() != tflite.BackendXNNPACK {
		name += " (delegate refused: " + it.FallbackReason() + ")"
	}
	return Backend{Name: name, Run: run}, close, nil
}
