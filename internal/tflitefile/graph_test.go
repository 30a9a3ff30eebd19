package tflitefile

import (
	"strings"
	"testing"
)

// chain is in -> RELU -> mid -> TANH -> out, with a constant operand.
func chain() *Model {
	m := NewModel()
	g := m.Main()
	in := g.AddTensor(&Tensor{Name: "in", Shape: []int32{1, 2, 2, 1}, Type: Float32})
	mid := g.AddTensor(&Tensor{Name: "mid", Shape: []int32{1, 2, 2, 1}, Type: Float32})
	c := g.AddTensor(&Tensor{Name: "c", Shape: []int32{1}, Type: Float32, Buffer: m.AddBuffer(Float32Bytes([]float32{1}))})
	out := g.AddTensor(&Tensor{Name: "out", Shape: []int32{1, 2, 2, 1}, Type: Float32})
	g.Inputs, g.Outputs = []int32{in}, []int32{out}
	g.AddOperator(&Operator{Op: Relu, Inputs: []int32{in}, Outputs: []int32{mid}})
	g.AddOperator(&Operator{Op: Add, Inputs: []int32{mid, c}, Outputs: []int32{out}, Options: &AddOptions{}})
	return m
}

func TestCheckGraph(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(g *Subgraph)
		want   string // "" for a valid graph
	}{
		{"valid", func(*Subgraph) {}, ""},
		{"cycle", func(g *Subgraph) { g.Operators[0].Inputs = []int32{3} }, `operator 0 (RELU) reads tensor 3 "out" before any operator writes it`},
		{"out of order", func(g *Subgraph) { g.Operators[0], g.Operators[1] = g.Operators[1], g.Operators[0] }, `reads tensor 1 "mid" before`},
		{"written twice", func(g *Subgraph) { g.Operators[1].Outputs = []int32{1} }, `operator 1 (ADD) writes tensor 1 "mid", which is already`},
		{"writes an input", func(g *Subgraph) { g.Operators[0].Outputs = []int32{0} }, `writes tensor 0 "in"`},
		{"writes a constant", func(g *Subgraph) { g.Operators[1].Outputs = []int32{2} }, `writes tensor 2 "c"`},
		{"dangling output", func(g *Subgraph) { g.Operators = g.Operators[:1] }, `output tensor 3 "out" is never computed`},
		{"0x0 input", func(g *Subgraph) { g.Tensors[0].Shape = []int32{1, 0, 0, 1} }, `tensor 0 "in" has an empty shape`},
		{"negative dim", func(g *Subgraph) { g.Tensors[1].Shape = []int32{1, -2, 2, 1} }, `tensor 1 "mid" has a negative dimension`},
		{"optional input", func(g *Subgraph) { g.Operators[1].Inputs = []int32{1, 2, -1} }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := chain()
			tc.change(m.Main())
			err := m.CheckGraph()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("CheckGraph: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("CheckGraph = %v, want %q", err, tc.want)
			}
		})
	}
}
