package pass_test

import (
	"slices"
	"testing"

	. "github.com/animed/animed/converter/onnxtest"
	"github.com/animed/animed/converter/pass"
)

func TestExpandVariadic(t *testing.T) {
	b := New(13)
	x := b.Input("x", 1, 3, 4, 4)
	y := b.Node("Relu", []string{x})
	z := b.Node("Sigmoid", []string{x})
	b.Output(b.Node("Max", []string{x, y, z}), b.Node("Mean", []string{x, y, z}), b.Node("Min", []string{x}))
	g := load(t, b)
	if err := pass.ExpandVariadic(g); err != nil {
		t.Fatal(err)
	}
	want := []string{"Relu", "Sigmoid", "Max", "Max", "Add", "Add", "Mul", "Identity"}
	if got := ops(g); !slices.Equal(got, want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
	if err := g.Sort(); err != nil {
		t.Fatal(err)
	}
}
