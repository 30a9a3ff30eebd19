package pass_test

import (
	"math"
	"slices"
	"testing"

	"github.com/animed/animed/converter/ir"
	. "github.com/animed/animed/converter/onnxtest"
	"github.com/animed/animed/converter/pass"
)

func TestFoldBatchNorm(t *testing.T) {
	b := New(13)
	x := b.Input("x", 1, 1, 4, 4)
	c := b.Node("Conv", []string{x, b.Init("w", []int{2, 1, 1, 1}, []float32{1, 2}), b.Init("b", []int{2}, []float32{0.5, -1})})
	bn := b.Node("BatchNormalization", []string{c, b.Init("s", []int{2}, []float32{2, 3}), b.Init("bb", []int{2}, []float32{1, 0}),
		b.Init("m", []int{2}, []float32{0, 1}), b.Init("v", []int{2}, []float32{4, 1})}, A("epsilon", 0.0))
	// a second BN on a graph input cannot fold and becomes Mul + Add
	bn2 := b.Node("BatchNormalization", []string{x, b.Init("s2", []int{1}, []float32{2}), b.Init("b2", []int{1}, []float32{1}),
		b.Init("m2", []int{1}, []float32{0}), b.Init("v2", []int{1}, []float32{1})}, A("epsilon", 0.0))
	b.Output(bn, bn2)
	g := load(t, b)
	if err := pass.FoldBatchNorm(g); err != nil {
		t.Fatal(err)
	}
	got := ops(g)
	slices.Sort(got)
	if !slices.Equal(got, []string{"Add", "Conv", "Mul"}) {
		t.Fatalf("ops = %v\n%s", got, g.Dump())
	}
	var conv = g.Nodes[slices.IndexFunc(g.Nodes, func(n *ir.Node) bool { return n.Op == "Conv" })]
	// channel 0: a = 2/sqrt(4) = 1, w = 1, b = 0.5*1 + 1 - 0 = 1.5
	// channel 1: a = 3/1 = 3, w = 6, b = -1*3 + 0 - 1*3 = -6
	w, bias := conv.Inputs[1].Const.F, conv.Inputs[2].Const.F
	want := []float32{1, 6, 1.5, -6}
	for i, v := range []float32{w[0], w[1], bias[0], bias[1]} {
		if math.Abs(float64(v-want[i])) > 1e-6 {
			t.Errorf("folded params %v %v, want %v", w, bias, want)
			break
		}
	}
	if g.Outputs[0] != conv.Outputs[0] {
		t.Error("graph output is not the conv's output")
	}
}
