package pass

import "github.com/animed/animed/converter/ir"

// RemoveIdentity drops Identity and Dropout (inference mode) nodes, and
// Casts to the type their input already has, wiring readers to the input.
func RemoveIdentity(g *ir.Graph) error {
	kept := g.Nodes[:0]
	var drop []*ir.Node
	for _, n := range g.Nodes {
		if n.Op == "Dropout" {
			if m := n.In(2); m != nil && (!m.IsConst() || m.Const.Len() != 1 || m.Const.Ints()[0] != 0) {
				return nodeErr(n, "Dropout in training mode is not supported")
			}
			if n.Attrs.Int("is_test", 1) == 0 && g.Opset < 7 {
				return nodeErr(n, "Dropout in training mode is not supported")
			}
		}
		switch {
		case n.Op == "Identity", n.Op == "Dropout",
			n.Op == "Cast" && n.In(0) != nil && n.In(0).DType != ir.Undefined && onnxDType(n.Attrs.Int("to", 0)) == n.In(0).DType:
			if n.In(0) != nil && len(n.Outputs) > 0 && n.Outputs[0] != nil {
				drop = append(drop, n)
				continue
			}
		}
		kept = append(kept, n)
	}
	g.Nodes = kept
	alias := map[*ir.Value]*ir.Value{}
	for _, n := range drop {
		in, out := n.Inputs[0], n.Outputs[0]
		for alias[in] != nil {
			in = alias[in]
		}
		n.Inputs[0] = in
		alias[out] = in
		if g.IsOutput(out) && (in.IsConst() || isInput(g, in)) {
			// Keep the value distinct from a graph input: a copy survives
			// lowering as a no-op reshape.
			g.Nodes = append(g.Nodes, n)
			n.Op, n.Attrs = "Identity", ir.Attrs{}
			continue
		}
		g.ReplaceUses(out, in)
	}
	return g.Sort()
}

func isInput(g *ir.Graph, v *ir.Value) bool {
	for _, i := range g.Inputs {
		if i == v {
			return true
		}
	}
	return false
}
