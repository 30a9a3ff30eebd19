package tflite_test

import (
	"fmt"
	"log"

	"github.com/animed/animed/internal/testmodel"
	"github.com/animed/animed/internal/tflite"
)

func Example() {
	m, err := tflite.NewModel(testmodel.Int8())
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	d, err := tflite.Describe(m)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("input:", d.Inputs[0].Type, d.Inputs[0].Shape, "resizable:", d.Resizable)

	it, err := tflite.NewInterpreter(m, tflite.Options{Threads: 2}) // XNNPACK with QS8
	if err != nil {
		log.Fatal(err)
	}
	defer it.Close()
	if err := it.ResizeInput(0, []int{1, 32, 48, 3}); err != nil {
		log.Fatal(err)
	}
	img := make([]float32, 32*48*3) // NHWC RGB in [-1, 1]
	if err := it.Input(0).SetFloat32(img); err != nil {
		log.Fatal(err)
	}
	if err := it.Invoke(); err != nil {
		log.Fatal(err)
	}
	out := make([]float32, it.Output(0).Len())
	if err := it.Output(0).ReadFloat32(out); err != nil {
		log.Fatal(err)
	}
	fmt.Println("backend:", it.Backend(), "output:", it.Output(0).Shape())
	// Output:
	// input: float32 [1 64 64 3] resizable: true
	// backend: xnnpack output: [1 32 48 3]
}
