package pass_test

import (
	"slices"
	"testing"

	. "github.com/animed/animed/converter/onnxtest"
	"github.com/animed/animed/converter/pass"
)

// The shape arithmetic PyTorch's exporter emits for x.view(n, c, -1) and
// F.pad's reversed pads must fold to constants, leaving only real ops.
func TestFoldConstantsShapeChain(t *testing.T) {
	b := New(13)
	x := b.Input("x", 1, 3, 8, 10)
	sh := b.Node("Shape", []string{x})
	h := b.Node("Gather", []string{sh, b.Ints("i2", 2)})
	w := b.Node("Gather", []string{sh, b.Ints("i3", 3)})
	hw := b.Node("Mul", []string{h, w})
	shape := b.Node("Concat", []string{b.Ints("a", 1, 3), hw}, A("axis", 0))
	r := b.Node("Reshape", []string{x, shape})
	// reversed pads via Slice with step -1, then Cast
	pads := b.Node("Slice", []string{b.Ints("p", 1, 2, 3, 4), b.Ints("st", -1), b.Ints("en", -100), b.Ints("axs", 0), b.Ints("stp", -1)})
	pads = b.Node("Cast", []string{pads}, A("to", 7))
	c := b.Node("ConstantOfShape", []string{b.Ints("cs", 2)}, A("value", FloatTensor("v", []int{1}, []float32{0.5})))
	rg := b.Node("Range", []string{b.Init("r0", nil, []float32{1}), b.Init("r1", nil, []float32{2.5}), b.Init("rd", nil, []float32{0.5})})
	b.Output(r, pads, c, rg)
	g := load(t, b)
	if err := pass.FoldConstants(g); err != nil {
		t.Fatal(err)
	}
	if got := ops(g); !slices.Equal(got, []string{"Reshape"}) {
		t.Fatalf("ops after folding = %v, want only Reshape\n%s", got, g.Dump())
	}
	if s := g.Nodes[0].Inputs[1].Const.Ints(); !slices.Equal(s, []int64{1, 3, 80}) {
		t.Errorf("reshape target = %v", s)
	}
	if p := g.Outputs[1].Const.Ints(); !slices.Equal(p, []int64{4, 3, 2, 1}) {
		t.Errorf("reversed pads = %v", p)
	}
	if c := g.Outputs[2].Const.Floats(); !slices.Equal(c, []float32{0.5, 0.5}) {
		t.Errorf("ConstantOfShape = %v", c)
	}
	if c := g.Outputs[3].Const.Floats(); !slices.Equal(c, []float32{1, 1.5, 2}) {
		t.Errorf("Range = %v", c)
	}
}

// A Where whose condition is a comparison of constants folds away.
func TestFoldConstantsWhereOfComparison(t *testing.T) {
	b := New(13)
	x := b.Input("x", 1, 3)
	a := b.Init("a", []int{3}, []float32{1, 5, 3})
	c := b.Init("c", []int{3}, []float32{2, 2, 3})
	gt := b.Node("Where", []string{b.Node("Greater", []string{a, c}), a, c})
	lt := b.Node("Where", []string{b.Node("Less", []string{a, c}), a, c})
	b.Output(b.Node("Add", []string{x, gt}), b.Node("Add", []string{x, lt}))
	g := load(t, b)
	if err := pass.FoldConstants(g); err != nil {
		t.Fatal(err)
	}
	if got := ops(g); !slices.Equal(got, []string{"Add", "Add"}) {
		t.Fatalf("ops after folding = %v, want Add Add\n%s", got, g.Dump())
	}
	for i, want := range [][]float32{{2, 5, 3}, {1, 2, 3}} { // max, min
		if got := g.Nodes[i].Inputs[1].Const.Floats(); !slices.Equal(got, want) {
			t.Errorf("folded Where %d = %v, want %v", i, got, want)
		}
	}
}
