package exec_test

import (
	"fmt"

	"github.com/animed/animed/converter"
	"github.com/animed/animed/converter/exec"
	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/converter/onnx"
	. "github.com/animed/animed/converter/onnxtest"
)

// Run executes the converted (TFLite-level, NHWC) graph in Go; the observer
// sees every tensor, which is what INT8 calibration needs.
func ExampleRun() {
	b := New(13)
	x := b.Input("x", 1, 1, 2, 2)
	b.Output(b.Node("Relu", []string{b.Node("Sub", []string{x, b.Init("half", nil, []float32{0.5})})}))
	g, err := onnx.Load(b.Bytes(), "")
	if err != nil {
		panic(err)
	}
	res, err := converter.Convert(g, converter.Options{})
	if err != nil {
		panic(err)
	}
	out, err := exec.Run(res.Graph, [][]float32{{0, 1, 2, 3}}, func(v *ir.Value, data []float32) {
		fmt.Println(v.Name, data)
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(out[0])
	// The RELU is fused into the SUB, so one tensor is computed:

	// Output:
	// Relu_2_out0 [0 0.5 1.5 2.5]
	// [0 0.5 1.5 2.5]
}
