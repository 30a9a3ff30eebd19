package pass_test

import (
	"slices"
	"testing"

	. "github.com/animed/animed/converter/onnxtest"
	"github.com/animed/animed/converter/pass"
)

func TestRecognizeNorms(t *testing.T) {
	b := New(13)
	x := b.Input("x", 1, 4, 6, 6)
	// LayerNorm over channels as PyTorch 1.13 decomposes it.
	m := b.Node("ReduceMean", []string{x}, A("axes", []int{1}))
	d := b.Node("Sub", []string{x, m})
	v := b.Node("ReduceMean", []string{b.Node("Pow", []string{d, b.Init("two", nil, []float32{2})})}, A("axes", []int{1}))
	ln := b.Node("Div", []string{d, b.Node("Sqrt", []string{b.Node("Add", []string{v, b.Init("eps", nil, []float32{1e-5})})})})
	// GroupNorm(1, C): Reshape, InstanceNormalization(ones, zeros), Reshape.
	r := b.Node("Reshape", []string{ln, b.Ints("gs", 1, 1, -1)})
	in := b.Node("InstanceNormalization", []string{r, b.Init("one", []int{1}, []float32{1}), b.Init("zero", []int{1}, []float32{0})})
	gn := b.Node("Reshape", []string{in, b.Ints("back", 1, 4, 6, 6)})
	// plain InstanceNormalization with affine parameters
	out := b.Node("InstanceNormalization", []string{gn, b.Rand("s", 1, 2, 4), b.Rand("bb", 1, 2, 4)})
	b.Output(out)
	g := prepare(t, load(t, b))
	if got := ops(g); !slices.Equal(got, []string{pass.OpNormalize, pass.OpNormalize, pass.OpNormalize, "Mul", "Add"}) {
		t.Fatalf("ops = %v\n%s", got, g.Dump())
	}
	for i, want := range [][]int64{{1}, {1, 2, 3}, {2, 3}} {
		if got := g.Nodes[i].Attrs.Ints("axes"); !slices.Equal(got, want) {
			t.Errorf("norm %d axes %v, want %v", i, got, want)
		}
	}
	tg := lower(t, g)
	for _, op := range []string{"tfl.DIV", "tfl.SQRT", "tfl.TRANSPOSE"} {
		if n := pass.CountOps(tg, op); n != 0 {
			t.Errorf("%d %s after lowering", n, op)
		}
	}
	if n := pass.CountOps(tg, "tfl.RSQRT"); n != 3 {
		t.Errorf("%d RSQRT, want 3", n)
	}
}

func TestChannelMeanLowering(t *testing.T) {
	build := func() *Builder {
		b := New(13)
		x := b.Input("x", 1, 4, 6, 6)
		r := b.Node("Reshape", []string{x, b.Ints("gs", 1, 1, -1)})
		in := b.Node("InstanceNormalization", []string{r, b.Init("one", []int{1}, []float32{1}), b.Init("zero", []int{1}, []float32{0})})
		b.Output(b.Node("Reshape", []string{in, b.Ints("back", 1, 4, 6, 6)}))
		return b
	}
	for _, tc := range []struct {
		plain      bool
		mean, conv int
	}{{false, 2, 2}, {true, 2, 0}} {
		tg, err := pass.Lower(prepare(t, load(t, build())), pass.LowerOptions{PlainMean: tc.plain})
		if err != nil {
			t.Fatal(err)
		}
		if m, c := pass.CountOps(tg, "tfl.MEAN"), pass.CountOps(tg, "tfl.CONV_2D"); m != tc.mean || c != tc.conv {
			t.Errorf("PlainMean=%v: %d MEAN, %d CONV_2D; want %d, %d\n%s", tc.plain, m, c, tc.mean, tc.conv, tg.Dump())
		}
	}
}
