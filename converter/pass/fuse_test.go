package pass_test

import (
	"slices"
	"testing"

	. "github.com/animed/animed/converter/onnxtest"
)

func TestFuseActivations(t *testing.T) {
	b := New(13)
	x := b.Input("x", 1, 3, 8, 8)
	w := b.Rand("w", -1, 1, 3, 3, 1, 1)
	c1 := b.Node("Relu", []string{b.Node("Conv", []string{x, w})})
	c2 := b.Node("Conv", []string{c1, w})
	r2 := b.Node("Clip", []string{c2, b.Init("lo", nil, []float32{0}), b.Init("hi", nil, []float32{6})})
	// c2 is also read by Tanh: RELU6 cannot be fused into it.
	b.Output(b.Node("Add", []string{r2, b.Node("Tanh", []string{c2})}))
	g := lower(t, load(t, b))
	want := []string{"tfl.CONV_2D", "tfl.CONV_2D", "tfl.RELU6", "tfl.TANH", "tfl.ADD"}
	if got := ops(g); !slices.Equal(got, want) {
		t.Fatalf("ops = %v, want %v\n%s", got, want, g.Dump())
	}
	if a := g.Nodes[0].Attrs.String("fused_activation_function", ""); a != "RELU" {
		t.Errorf("first conv activation %q, want RELU", a)
	}
	if a := g.Nodes[1].Attrs.String("fused_activation_function", ""); a != "NONE" {
		t.Errorf("second conv activation %q, want NONE", a)
	}
}
