package pass

import "github.com/animed/animed/converter/ir"

// fusable are the TFLite ops whose kernels apply a fused activation.
var fusable = map[string]bool{
	"tfl.CONV_2D": true, "tfl.DEPTHWISE_CONV_2D": true, "tfl.ADD": true, "tfl.SUB": true,
	"tfl.MUL": true, "tfl.FULLY_CONNECTED": true, "tfl.CONCATENATION": true, "tfl.MAX_POOL_2D": true, "tfl.AVERAGE_POOL_2D": true,
}

var fusedAct = map[string]string{"tfl.RELU": "RELU", "tfl.RELU6": "RELU6", "tfl.RELU_N1_TO_1": "RELU_N1_TO_1"}

// FuseActivations folds RELU, RELU6 and RELU_N1_TO_1 into the operator
// producing their input when that operator supports a fused activation
// and nothing else reads its output. (TANH is never fused: the conv
// kernels and XNNPACK do not take it as a fused activation.)
func FuseActivations(g *ir.Graph) error {
	prod := g.Producers()
	cons := g.Consumers()
	for _, n := range g.Nodes {
		act, ok := fusedAct[n.Op]
		if !ok {
			continue
		}
		x := n.In(0)
		p := prod[x]
		if p == nil || !fusable[p.Op] || len(cons[x]) != 1 || g.IsOutput(x) ||
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
