package tflite

import "fmt"

// TensorInfo describes a tensor.
type TensorInfo struct {
	Name      string
	Type      TensorType
	Shape     []int
	Scale     float32 // 0 when not quantized
	ZeroPoint int32
}

// Description describes a model's inputs and outputs.
type Description struct {
	Inputs, Outputs []TensorInfo
	// Resizable reports that the model follows a resized input: after every
	// NHWC input is resized, every NHWC output's H and W scale with it.
	// Models that take sizes from constant tensors (RESIZE_*, TRANSPOSE_CONV
	// output shapes) are not resizable and must be run at their native size
	// (tile larger images).
	Resizable bool
}

// Describe returns the model's tensors and whether it is resizable. It
// builds a CPU interpreter with one thread and resizes its inputs to half
// (or twice) their height and width; it does not run the model.
func Describe(m *Model) (Description, error) {
	it, err := NewInterpreter(m, Options{Backend: BackendCPU, Threads: 1})
	if err != nil {
		return Description{}, fmt.Errorf("describe: %w", err)
	}
	defer it.Close()
	var d Description
	for i := range it.InputCount() {
		d.Inputs = append(d.Inputs, it.Input(i).Info())
	}
	for i := range it.OutputCount() {
		d.Outputs = append(d.Outputs, it.Output(i).Info())
	}
	d.Resizable = resizable(it, d)
	return d, nil
}

func resizable(it *Interpreter, d Description) bool {
	if len(d.Inputs) == 0 || len(d.Outputs) == 0 {
		return false
	}
	// Half the size when it divides evenly (cheap: resizing a model up
	// can make TFLite's CPU kernels touch a hundred megabytes), else twice
	// the size rounded up to a multiple of 4, so strided models still
	// divide evenly.
	half := true
	for _, in := range d.Inputs {
		if len(in.Shape) != 4 || in.Shape[1]%8 != 0 || in.Shape[2]%8 != 0 || in.Shape[1] < 16 || in.Shape[2] < 16 {
			half = false
		}
	}
	grow := func(n int) int {
		if half {
			return n / 2
		}
		return (2*n + 3) / 4 * 4
	}
	for i, in := range d.Inputs {
		if len(in.Shape) != 4 || in.Shape[1] < 1 || in.Shape[2] < 1 {
			return false
		}
		s := []int{in.Shape[0], grow(in.Shape[1]), grow(in.Shape[2]), in.Shape[3]}
		if it.ResizeInput(i, s) != nil {
			return false
		}
	}
	in0 := d.Inputs[0].Shape
	h0, w0 := in0[1], in0[2]
	h1, w1 := grow(h0), grow(w0)
	for i, out := range d.Outputs {
		if len(out.Shape) != 4 {
			return false
		}
		s := it.Output(i).Shape()
		if len(s) != 4 {
			return false
		}
		// Output H,W must scale like the input's: out1/out0 == in1/in0.
		if s[1]*h0 != out.Shape[1]*h1 || s[2]*w0 != out.Shape[2]*w1 {
			return false
		}
	}
	return true
}
