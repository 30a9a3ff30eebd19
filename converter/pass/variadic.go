package pass

import "github.com/animed/animed/converter/ir"

// ExpandVariadic rewrites the n-ary ONNX ops Max, Min, Sum and Mean into
// chains of binary ones (Mean as a Sum times 1/n); with one input they
// become Identity.
func ExpandVariadic(g *ir.Graph) error {
	var out []*ir.Node
	for _, n := range g.Nodes {
		op := map[string]string{"Max": "Max", "Min": "Min", "Sum": "Add", "Mean": "Add"}[n.Op]
		if op == "" || (len(n.Inputs) == 2 && n.Op != "Sum" && n.Op != "Mean") {
			out = append(out, n)
			continue
		}
		if len(n.Inputs) == 0 {
			return nodeErr(n, "no inputs")
		}
		res := n.Outputs[0]
		cur := n.Inputs[0]
		for i, v := range n.Inputs[1:] {
			last := i == len(n.Inputs)-2 && n.Op != "Mean"
			o := res
			if !last {
				o = g.NewValue(n.Name+"_part", res.DType, nil)
			}
			out = append(out, &ir.Node{Op: op, Name: g.UniqueName(n.Name + "_part"), Inputs: []*ir.Value{cur, v}, Outputs: []*ir.Value{o}, Attrs: ir.Attrs{}})
			cur = o
		}
		switch {
		case n.Op == "Mean":
			k := g.NewConst(n.Name+"_inv_n", ir.FloatTensor(nil, []float32{1 / float32(len(n.Inputs))}))
			out = append(out, &ir.Node{Op: "Mul", Name: n.Name, Inputs: []*ir.Value{cur, k}, Outputs: []*ir.Value{res}, Attrs: ir.Attrs{}})
		case len(n.Inputs) == 1:
			out = append(out, &ir.Node{Op: "Identity", Name: n.Name, Inputs: []*ir.Value{cur}, Outputs: []*ir.Value{res}, Attrs: ir.Attrs{}})
		}
	}
	g.Nodes = out
	return nil
}
