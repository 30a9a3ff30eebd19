package tflitefile

import (
	"fmt"
	"slices"
)

// CheckGraph checks what the TFLite 2.9 interpreter assumes of a graph
// without checking it itself: every tensor an operator reads is a subgraph
// input, a constant, a variable or the output of an earlier operator (so
// the graph is acyclic and in execution order), no tensor is written
// twice, every subgraph output is computed, and no dimension is negative
// nor, on the main subgraph's inputs, zero. A model with a
// cycle crashes TFLite's CPU kernels; one with a 0x0 input makes it loop.
// Call Validate first (Parse does): CheckGraph assumes indices in range.
func (m *Model) CheckGraph() error {
	for si, g := range m.Subgraphs {
		ready := make([]bool, len(g.Tensors))   // may be read
		written := make([]bool, len(g.Tensors)) // may not be written
		for ti, t := range g.Tensors {
			for _, d := range t.Shape {
				if d < 0 {
					return fmt.Errorf("subgraph %d: tensor %d %q has a negative dimension in %v", si, ti, t.Name, t.Shape)
				}
			}
			constant := int(t.Buffer) < len(m.Buffers) && len(m.Buffers[t.Buffer].Data) > 0
			written[ti] = constant
			// An empty tensor holds nothing to compute.
			ready[ti] = t.IsVariable || constant || slices.Contains(t.Shape, 0)
		}
		for _, i := range g.Inputs {
			ready[i], written[i] = true, true
		}
		for oi, op := range g.Operators {
			for _, i := range op.Inputs {
				if i >= 0 && !ready[i] {
					return fmt.Errorf("subgraph %d: operator %d (%s) reads tensor %d %q before any operator writes it (a cycle or operators out of order)",
						si, oi, op.Op, i, g.Tensors[i].Name)
				}
			}
			for _, o := range op.Outputs {
				if written[o] {
					return fmt.Errorf("subgraph %d: operator %d (%s) writes tensor %d %q, which is already an input, a constant or another operator's output",
						si, oi, op.Op, o, g.Tensors[o].Name)
				}
				written[o], ready[o] = true, true
			}
		}
		for _, o := range g.Outputs {
			if !ready[o] {
				return fmt.Errorf("subgraph %d: output tensor %d %q is never computed", si, o, g.Tensors[o].Name)
			}
		}
		if si != 0 {
			continue
		}
		for _, i := range g.Inputs {
			if t := g.Tensors[i]; slices.Contains(t.Shape, 0) {
				return fmt.Errorf("input tensor %d %q has an empty shape %v", i, t.Name, t.Shape)
			}
		}
	}
	return nil
}
