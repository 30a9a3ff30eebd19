package pass

import (
	"slices"

	"github.com/animed/animed/converter/ir"
)

// OpNormalize is the IR op the normalization patterns become:
// y = (x - mean(x)) * rsqrt(mean((x - mean(x))^2) + epsilon) over the
// "axes" attribute (logical, NCHW axes). Lowering emits it as MEAN,
// SUB, SQUARED_DIFFERENCE, MEAN, ADD, RSQRT, MUL: no DIV, no SQRT.
const OpNormalize = "ir.Normalize"

// RecognizeNorms rewrites the normalizations PyTorch exports at opset 13:
//   - LayerNorm: ReduceMean, Sub, Pow(2), ReduceMean, Add(eps), Sqrt, Div;
//   - GroupNorm: Reshape(N,G,-1), InstanceNormalization(ones, zeros),
//     Reshape(back), then the affine Mul/Add (left as they are);
//   - InstanceNormalization itself;
//
// into OpNormalize (followed by Mul/Add for the affine parameters).
func RecognizeNorms(g *ir.Graph) error {
	prod := g.Producers()
	cons := g.Consumers()
	var extra []*ir.Node
	for _, n := range g.Nodes {
		switch n.Op {
		case "Div":
			if m := matchLayerNorm(n, prod); m != nil {
				*n = *m
			}
		case "Reshape":
			if m := matchGroupNorm(n, prod, cons); m != nil {
				*n = *m
			}
		}
	}
	for _, n := range g.Nodes {
		if n.Op != "InstanceNormalization" {
			continue
		}
		x := n.In(0)
		if x.Rank() < 3 || len(n.Inputs) != 3 || !n.In(1).IsConst() || !n.In(2).IsConst() {
			return nodeErr(n, "needs constant scale and bias and a known input rank")
		}
		axes := make([]int64, 0, x.Rank()-2)
		for i := 2; i < x.Rank(); i++ {
			axes = append(axes, int64(i))
		}
		eps := n.Attrs.Float("epsilon", 1e-5)
		scale, bias := n.In(1).Const.Floats(), n.In(2).Const.Floats()
		out := n.Outputs[0]
		norm := g.NewValue(n.Name+"_norm", x.DType, x.Shape)
		*n = ir.Node{Op: OpNormalize, Name: n.Name, Inputs: []*ir.Value{x}, Outputs: []*ir.Value{norm},
			Attrs: ir.Attrs{"axes": axes, "epsilon": eps}}
		pshape := slices.Repeat([]int{1}, x.Rank()-1)
		pshape[0] = len(scale)
		cur := norm
		if !allEqual(scale, 1) {
			nx := g.NewValue(n.Name+"_scaled", x.DType, x.Shape)
			extra = append(extra, &ir.Node{Op: "Mul", Name: g.UniqueName(n.Name + "_scale"), Attrs: ir.Attrs{},
				Inputs: []*ir.Value{cur, g.NewConst(n.Name+"_gamma", ir.FloatTensor(pshape, scale))}, Outputs: []*ir.Value{nx}})
			cur = nx
		}
		if !allEqual(bias, 0) {
			nx := g.NewValue(n.Name+"_shifted", x.DType, x.Shape)
			extra = append(extra, &ir.Node{Op: "Add", Name: g.UniqueName(n.Name + "_bias"), Attrs: ir.Attrs{},
				Inputs: []*ir.Value{cur, g.NewConst(n.Name+"_beta", ir.FloatTensor(pshape, bias))}, Outputs: []*ir.Value{nx}})
			cur = nx
		}
		g.ReplaceUses(out, cur)
		if cur == norm {
			// keep the original output value name
			n.Outputs[0] = cur
		}
	}
	g.Nodes = append(g.Nodes, extra...)
	g.RemoveDead()
	return g.Sort()
}

func allEqual(f []float32, v float32) bool {
	for _, x := range f {
		if x != v {
			return false
		}
	}
	return true
}

func single(cons map[*ir.Value][]*ir.Node, v *ir.Value) bool { return len(cons[v]) == 1 }

func opOf(prod map[*ir.Value]*ir.Node, v *ir.Value, op string) *ir.Node {
	if v == nil {
		return nil
	}
	if p := prod[v]; p != nil && p.Op == op {
		return p
	}
	return nil
}

func constScalar(v *ir.Value) (float32, bool) {
	if !v.IsConst() || v.Const.Len() != 1 {
		return 0, false
	}
	return v.Const.Floats()[0], true
}

// matchLayerNorm matches y = Div(d, Sqrt(Add(ReduceMean(Pow(d, 2)), eps)))
// with d = Sub(x, ReduceMean(x)) over the same axes.
func matchLayerNorm(div *ir.Node, prod map[*ir.Value]*ir.Node) *ir.Node {
	sub := opOf(prod, div.In(0), "Sub")
	sqrt := opOf(prod, div.In(1), "Sqrt")
	if sub == nil || sqrt == nil {
		return nil
	}
	add := opOf(prod, sqrt.In(0), "Add")
	if add == nil {
		return nil
	}
	eps, ok := constScalar(add.In(1))
	if !ok {
		return nil
	}
	rm2 := opOf(prod, add.In(0), "ReduceMean")
	if rm2 == nil {
		return nil
	}
	pow := opOf(prod, rm2.In(0), "Pow")
	if pow == nil || pow.In(0) != sub.Outputs[0] {
		return nil
	}
	if e, ok := constScalar(pow.In(1)); !ok || e != 2 {
		return nil
	}
	x := sub.In(0)
	rm1 := opOf(prod, sub.In(1), "ReduceMean")
	if rm1 == nil || rm1.In(0) != x {
		return nil
	}
	a1, ok1 := axesOperand(rm1)
	a2, ok2 := axesOperand(rm2)
	if !ok1 || !ok2 || x.Rank() < 0 || rm1.Attrs.Int("keepdims", 1) == 0 || rm2.Attrs.Int("keepdims", 1) == 0 {
		return nil
	}
	n1, n2 := normAxes(a1, x.Rank()), normAxes(a2, x.Rank())
	if n1 == nil || !slices.Equal(n1, n2) {
		return nil
	}
	return &ir.Node{Op: OpNormalize, Name: div.Name, Inputs: []*ir.Value{x}, Outputs: div.Outputs,
		Attrs: ir.Attrs{"axes": n1, "epsilon": eps}}
}

func normAxes(a []int64, rank int) []int64 {
	if len(a) == 0 {
		return nil
	}
	out := make([]int64, 0, len(a))
	for _, v := range a {
		ax, err := axis(v, rank)
		if err != nil {
			return nil
		}
		out = append(out, int64(ax))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// matchGroupNorm matches Reshape(InstanceNormalization(Reshape(x, [N,G,-1]),
// ones, zeros), shape(x)) and returns the normalization over each group:
// over C,H,W for one group, over H,W for one group per channel, and with a
// "groups" attribute otherwise.
func matchGroupNorm(r2 *ir.Node, prod map[*ir.Value]*ir.Node, cons map[*ir.Value][]*ir.Node) *ir.Node {
	in := opOf(prod, r2.In(0), "InstanceNormalization")
	if in == nil || !single(cons, in.Outputs[0]) || !in.In(1).IsConst() || !in.In(2).IsConst() {
		return nil
	}
	if !allEqual(in.In(1).Const.Floats(), 1) || !allEqual(in.In(2).Const.Floats(), 0) {
		return nil
	}
	r1 := opOf(prod, in.In(0), "Reshape")
	if r1 == nil || !single(cons, r1.Outputs[0]) {
		return nil
	}
	x := r1.In(0)
	if !x.StaticShape() || x.Rank() < 3 || !r2.Outputs[0].StaticShape() || !slices.Equal(x.Shape, r2.Outputs[0].Shape) {
		return nil
	}
	gs := r1.Outputs[0].Shape
	if len(gs) != 3 || gs[0] != x.Shape[0] {
		return nil
	}
	var axes []int64
	attrs := ir.Attrs{"epsilon": in.Attrs.Float("epsilon", 1e-5)}
	switch g := gs[1]; {
	case g == 1:
		for i := 1; i < x.Rank(); i++ {
			axes = append(axes, int64(i))
		}
	case g == x.Shape[1]:
		for i := 2; i < x.Rank(); i++ {
			axes = append(axes, int64(i))
		}
	case g > 1 && x.Shape[1]%g == 0 && x.Rank() == 4:
		// Lowered with a reshape to [N, H*W, G, C/G] (see lowering).
		attrs["groups"] = int64(g)
	default:
		return nil
	}
	attrs["axes"] = axes
	return &ir.Node{Op: OpNormalize, Name: r2.Name, Inputs: []*ir.Value{x}, Outputs: r2.Outputs, Attrs: attrs}
}
