package pass

import (
	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// fusedAct are the activations a producer can apply itself (those whose
// OpInfo says FusedActivation), by the name of the option value.
var fusedAct = map[tflitefile.BuiltinOp]string{tflitefile.Relu: "RELU", tflitefile.Relu6: "RELU6", tflitefile.ReluN1To1: "RELU_N1_TO_1"}

// FuseActivations folds RELU, RELU6 and RELU_N1_TO_1 into the operator
// producing their input when that operator supports a fused activation
// and nothing else reads its output. (TANH is never fused: the conv
// kernels and XNNPACK do not take it as a fused activation.)
func FuseActivations(g *ir.Graph) error {
	prod := g.Producers()
	cons := g.Consumers()
	for _, n := range g.Nodes {
		op, _ := n.Builtin()
		act, ok := fusedAct[op]
		if !ok {
			continue
		}
		x := n.In(0)
		p := prod[x]
		if p == nil || !fusable(p) || len(cons[x]) != 1 || g.IsOutput(x) ||
			p.Attrs.String("fused_activation_function", "NONE") != "NONE" {
			continue
		}
		p.Attrs["fused_activation_function"] = act
		g.ReplaceUses(n.Outputs[0], x)
		n.Inputs = nil
		n.Op = "dead"
	}
	g.RemoveDead()
	return nil
}

// fusable reports whether n's kernel applies a fused activation.
func fusable(n *ir.Node) bool {
	op, ok := n.Builtin()
	return ok && op.Info().FusedActivation
}

// CountOps counts nodes of an op.
func CountOps(g *ir.Graph, op string) int {
	c := 0
	for _, n := range g.Nodes {
		if n.Op == op {
			c++
		}
	}
	return c
}
