package pass_test

import (
	"slices"
	"strings"
	"testing"

	. "github.com/animed/animed/converter/onnxtest"
	"github.com/animed/animed/converter/pass"
)

func TestLowerRefusesWithReason(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(b *Builder, x string) string
		want  string
	}{
		{"unsupported op", func(b *Builder, x string) string { return b.Node("Cast", []string{x}, A("to", 7)) },
			`node "Cast_1" (Cast): operator Cast is not supported`},
		{"cubic resize", func(b *Builder, x string) string {
			return b.Node("Resize", []string{x, "", b.Init("s", []int{4}, []float32{1, 1, 2, 2})}, A("mode", "cubic"))
		}, `resize mode "cubic" is not supported`},
		{"nearest align_corners floor", func(b *Builder, x string) string {
			return b.Node("Resize", []string{x, "", b.Init("s", []int{4}, []float32{1, 1, 2, 2})}, A("mode", "nearest"),
				A("coordinate_transformation_mode", "align_corners"), A("nearest_mode", "floor"))
		}, "has no exact TFLite equivalent"},
		{"edge pad", func(b *Builder, x string) string {
			return b.Node("Pad", []string{x, b.Ints("p", 0, 0, 1, 1, 0, 0, 1, 1)}, A("mode", "edge"))
		}, `pad mode "edge" is not supported`},
		{"grouped conv transpose", func(b *Builder, x string) string {
			return b.Node("ConvTranspose", []string{x, b.Rand("w", 0, 1, 4, 1, 3, 3)}, A("group", 4))
		}, "group 4 is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(13)
			b.Output(tc.build(b, b.Input("x", 1, 4, 8, 8)))
			_, err := pass.Lower(prepare(t, load(t, b)), pass.LowerOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// A conv generator (convs, norms, pads, resizes, residual adds, concat)
// must come out without a single TRANSPOSE.
func TestLowerNoTransposes(t *testing.T) {
	b := New(13)
	x := b.Input("x", 1, 3, 16, 16)
	p := b.Node("Pad", []string{x, b.Ints("p", 0, 0, 1, 1, 0, 0, 1, 1)}, A("mode", "reflect"))
	c := b.Node("Conv", []string{p, b.Rand("w", -1, 1, 8, 3, 3, 3)})
	n := b.Node("InstanceNormalization", []string{c, b.Rand("s", 1, 2, 8), b.Rand("bb", 0, 1, 8)})
	d := b.Node("Conv", []string{n, b.Rand("wd", -1, 1, 8, 1, 3, 3)}, A("group", 8), A("pads", []int{1, 1, 1, 1}), A("strides", []int{2, 2}))
	u := b.Node("Resize", []string{d, "", b.Init("sc", []int{4}, []float32{1, 1, 2, 2})}, A("mode", "linear"))
	a := b.Node("Concat", []string{b.Node("Add", []string{u, c}), x}, A("axis", 1))
	b.Output(b.Node("Tanh", []string{b.Node("Conv", []string{a, b.Rand("wo", -1, 1, 3, 11, 1, 1)})}))
	g := lower(t, load(t, b))
	if n := pass.CountOps(g, "tfl.TRANSPOSE"); n != 0 {
		t.Fatalf("%d TRANSPOSE ops:\n%s", n, g.Dump())
	}
	if got := g.Inputs[0].Shape; got[3] != 3 || g.Outputs[0].Shape[3] != 3 {
		t.Errorf("input %v / output %v are not NHWC", got, g.Outputs[0].Shape)
	}
}

// PyTorch's ConvTranspose2d(k=3, s=2, p=1, output_padding=1) is one
// TRANSPOSE_CONV (SAME, kernel grown by a zero tap), no crop.
func TestLowerConvTransposeWithoutCrop(t *testing.T) {
	b := New(13)
	x := b.Input("x", 1, 4, 8, 8)
	b.Output(b.Node("ConvTranspose", []string{x, b.Rand("w", -1, 1, 4, 6, 3, 3)},
		A("strides", []int{2, 2}), A("pads", []int{1, 1, 1, 1}), A("output_padding", []int{1, 1})))
	g := lower(t, load(t, b))
	if got := ops(g); len(got) != 1 || got[0] != "tfl.TRANSPOSE_CONV" {
		t.Fatalf("ops = %v\n%s", got, g.Dump())
	}
	if s := g.Nodes[0].Inputs[1].Shape; s[1] != 4 || s[2] != 4 {
		t.Errorf("kernel %v, want 4x4", s)
	}
}

// PyTorch exports Hardswish as x · HardSigmoid(x) (alpha 1/6) at opset
// 13: one HARD_SWISH. A HardSigmoid read elsewhere too stays composed.
func TestLowerHardSwishPattern(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alpha float32
		extra bool // the HardSigmoid output is also a graph output
		want  []string
	}{
		{"hardswish", 1.0 / 6, false, []string{"tfl.HARD_SWISH"}},
		{"other alpha", 0.2, false, []string{"tfl.MUL", "tfl.ADD", "tfl.MAXIMUM", "tfl.MINIMUM", "tfl.MUL"}},
		{"shared", 1.0 / 6, true, []string{"tfl.MUL", "tfl.ADD", "tfl.MAXIMUM", "tfl.MINIMUM", "tfl.MUL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(13)
			x := b.Input("x", 1, 4, 8, 8)
			hs := b.Node("HardSigmoid", []string{x}, A("alpha", tc.alpha), A("beta", float32(0.5)))
			b.Output(b.Node("Mul", []string{x, hs}))
			if tc.extra {
				b.Output(hs)
			}
			g := lower(t, load(t, b))
			if got := ops(g); !slices.Equal(got, tc.want) {
				t.Fatalf("ops = %v, want %v\n%s", got, tc.want, g.Dump())
			}
		})
	}
}

// Constant exponents 1, 2, 0.5, -0.5 become cheaper ops; others POW
// (which refused exponent 3 before).
func TestLowerPow(t *testing.T) {
	for _, tc := range []struct {
		exp  float32
		want []string
	}{
		{2, []string{"tfl.MUL"}},
		{0.5, []string{"tfl.SQRT"}},
		{3, []string{"tfl.POW"}},
	} {
		b := New(13)
		x := b.Input("x", 1, 4, 8, 8)
		b.Output(b.Node("Pow", []string{x, b.Init("e", nil, []float32{tc.exp})}))
		if got := ops(lower(t, load(t, b))); !slices.Equal(got, tc.want) {
			t.Errorf("exponent %g: ops %v, want %v", tc.exp, got, tc.want)
		}
	}
}
