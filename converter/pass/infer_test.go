package pass_test

import (
	"slices"
	"testing"

	. "github.com/animed/animed/converter/onnxtest"
	"github.com/animed/animed/converter/pass"
)

func TestInferShapes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(b *Builder, x string) string
		want  []int
	}{
		{"conv stride pad dilation", func(b *Builder, x string) string {
			return b.Node("Conv", []string{x, b.Rand("w", 0, 1, 5, 3, 3, 3)}, A("strides", []int{2, 2}), A("pads", []int{1, 2, 1, 2}), A("dilations", []int{1, 2}))
		}, []int{1, 5, 8, 10}},
		{"conv auto_pad same", func(b *Builder, x string) string {
			return b.Node("Conv", []string{x, b.Rand("w", 0, 1, 5, 3, 3, 3)}, A("strides", []int{2, 2}), A("auto_pad", "SAME_UPPER"))
		}, []int{1, 5, 8, 10}},
		{"conv transpose output padding", func(b *Builder, x string) string {
			return b.Node("ConvTranspose", []string{x, b.Rand("w", 0, 1, 3, 2, 3, 3)}, A("strides", []int{2, 2}), A("pads", []int{1, 1, 1, 1}), A("output_padding", []int{1, 1}))
		}, []int{1, 2, 32, 40}},
		{"resize scales", func(b *Builder, x string) string {
			return b.Node("Resize", []string{x, "", b.Init("s", []int{4}, []float32{1, 1, 2, 0.5})})
		}, []int{1, 3, 32, 10}},
		{"reshape zero and minus one", func(b *Builder, x string) string {
			return b.Node("Reshape", []string{x, b.Ints("s", 0, -1, 20)})
		}, []int{1, 48, 20}},
		{"reduce mean no keepdims", func(b *Builder, x string) string {
			return b.Node("ReduceMean", []string{x}, A("axes", []int{-1, 2}), A("keepdims", 0))
		}, []int{1, 3}},
		{"broadcast", func(b *Builder, x string) string {
			return b.Node("Add", []string{x, b.Rand("c", 0, 1, 3, 1, 1)})
		}, []int{1, 3, 16, 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(13)
			x := b.Input("x", 1, 3, 16, 20)
			b.Output(tc.build(b, x))
			g := load(t, b)
			if err := pass.InferShapes(g); err != nil {
				t.Fatal(err)
			}
			if got := g.Outputs[0].Shape; !slices.Equal(got, tc.want) {
				t.Errorf("shape %v, want %v", got, tc.want)
			}
		})
	}
}
