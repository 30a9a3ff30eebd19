package converter_test

import (
	"strings"
	"testing"

	"github.com/animed/animed/converter"
	"github.com/animed/animed/converter/onnx"
	. "github.com/animed/animed/converter/onnxtest"
)

// Models the converter cannot translate exactly must be refused with the
// name of the node at fault, never written wrong and never reported as an
// internal error.
func TestConvertRefusesWithNodeName(t *testing.T) {
	for _, tc := range []struct {
		name string
		// build adds the node under test to b (input x is [1,4,8,8]) and
		// returns its output; the output is declared with shape out.
		build func(b *Builder, x string) string
		out   []int
		want  string
	}{
		{"resize runtime scales", func(b *Builder, x string) string {
			return b.Node("Resize", []string{x, "", b.Input("scales", 4)})
		}, []int{1, 4, 16, 16}, `input "scales" is computed at run time`},
		{"resize runtime sizes", func(b *Builder, x string) string {
			sizes := b.Node("Cast", []string{b.Input("sizes", 4)}, A("to", 7))
			return b.Node("Resize", []string{x, "", "", sizes})
		}, []int{1, 4, 16, 16}, `input "Cast_1_out0" is computed at run time`},
		{"reshape runtime shape", func(b *Builder, x string) string {
			shape := b.Node("Cast", []string{b.Input("shape", 2)}, A("to", 7))
			return b.Node("Reshape", []string{x, shape})
		}, []int{4, 64}, `input "Cast_1_out0" is computed at run time`},
		{"conv transpose output_padding >= stride", func(b *Builder, x string) string {
			return b.Node("ConvTranspose", []string{x, b.Rand("w", -1, 1, 4, 2, 3, 3)},
				A("strides", []int{2, 2}), A("output_padding", []int{2, 2}))
		}, nil, "output_padding [2 2] must be smaller than the strides [2 2]"},
		{"transpose duplicate perm", func(b *Builder, x string) string {
			return b.Node("Transpose", []string{x}, A("perm", []int{0, 2, 2, 1}))
		}, nil, "perm [0 2 2 1] is not a permutation"},
		{"conv kernel_shape contradicts weights", func(b *Builder, x string) string {
			return b.Node("Conv", []string{x, b.Rand("w", -1, 1, 4, 4, 3, 3)}, A("kernel_shape", []int{1, 1}))
		}, nil, "kernel_shape [1 1] contradicts the weights [4 4 3 3]"},
		{"conv without weights", func(b *Builder, x string) string {
			return b.Node("Conv", []string{x})
		}, nil, "required input 1 (W) is missing"},
		{"conv transpose without weights", func(b *Builder, x string) string {
			return b.Node("ConvTranspose", []string{x, ""})
		}, nil, "required input 1 (W) is missing"},
		{"matmul with one input", func(b *Builder, x string) string {
			return b.Node("MatMul", []string{x})
		}, nil, "required input 1 (B) is missing"},
		{"gemm with one input", func(b *Builder, x string) string {
			return b.Node("Gemm", []string{x})
		}, nil, "required input 1 (B) is missing"},
		{"gather without indices", func(b *Builder, x string) string {
			return b.Node("Gather", []string{x})
		}, nil, "required input 1 (indices) is missing"},
		{"where with two inputs", func(b *Builder, x string) string {
			return b.Node("Where", []string{b.Node("Greater", []string{x, b.Init("z", nil, []float32{0})}), x})
		}, nil, "required input 2 (Y) is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(13)
			out := tc.build(b, b.Input("x", 1, 4, 8, 8))
			if tc.out != nil {
				b.OutputShaped(out, tc.out...)
			} else {
				b.Output(out)
			}
			node := strings.TrimSuffix(out, "_out0")
			g, err := onnx.Load(b.Bytes(), "")
			if err != nil {
				t.Fatal(err)
			}
			_, err = converter.Convert(g, converter.Options{})
			if err == nil {
				t.Fatalf("converted; want an error naming %q", node)
			}
			if msg := err.Error(); !strings.Contains(msg, `"`+node+`"`) || !strings.Contains(msg, tc.want) ||
				strings.Contains(msg, "internal converter error") {
				t.Fatalf("err = %v\nwant it to name node %q and say %q", err, node, tc.want)
			}
		})
	}
}
