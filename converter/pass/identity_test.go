package pass_test

import (
	"slices"
	"testing"

	. "github.com/animed/animed/converter/onnxtest"
	"github.com/animed/animed/converter/pass"
)

func TestRemoveIdentity(t *testing.T) {
	b := New(13)
	x := b.Input("x", 1, 3, 4, 4)
	r := b.Node("Relu", []string{x})
	d := b.Node("Dropout", []string{b.Node("Identity", []string{r})})
	out := b.Node("Identity", []string{b.Node("Sigmoid", []string{d})})
	b.Output(out)
	g := load(t, b)
	if err := pass.RemoveIdentity(g); err != nil {
		t.Fatal(err)
	}
	if got := ops(g); !slices.Equal(got, []string{"Relu", "Sigmoid"}) {
		t.Fatalf("ops = %v\n%s", got, g.Dump())
	}
	if g.Nodes[1].Inputs[0] != g.Nodes[0].Outputs[0] {
		t.Error("Sigmoid does not read Relu")
	}
	if g.Outputs[0].Name != out {
		t.Errorf("output renamed to %q, want %q", g.Outputs[0].Name, out)
	}
}
