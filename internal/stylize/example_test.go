package stylize_test

import (
	"context"
	"fmt"
	"image"

	"github.com/animed/animed/internal/stylize"
	"github.com/animed/animed/internal/testmodel"
	"github.com/animed/animed/internal/tflite"
)

func ExampleStylizer_Apply() {
	m, err := tflite.NewModel(testmodel.Int8())
	if err != nil {
		panic(err)
	}
	defer m.Close()
	s, err := stylize.New(m, stylize.Options{Threads: 1})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	photo := image.NewRGBA(image.Rect(0, 0, 150, 99)) // not a multiple of 4: padded and cropped
	out, err := s.Apply(context.Background(), photo)
	if err != nil {
		panic(err)
	}
	fmt.Println(out.Bounds().Dx(), out.Bounds().Dy(), s.Resizable())
	// Output: 150 99 true
}

func ExampleNewFromData() {
	// From the model's bytes, a model whose upsampling sizes are constants
	// can still run at each photo's size (ModeRewrite); this fully
	// convolutional one is resizable as it is.
	s, err := stylize.NewFromData(testmodel.FP32(), stylize.Options{Threads: 1})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	fmt.Println(s.Mode(), s.Resizable())
	// Output: native true
}
