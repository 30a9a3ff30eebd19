package pass

import (
	"math"

	"github.com/animed/animed/converter/ir"
)

// FoldBatchNorm folds inference-mode BatchNormalization into the Conv or
// ConvTranspose before it (scaling weights and bias per output channel)
// when that conv feeds nothing else; any other BatchNormalization becomes
// a per-channel Mul and Add.
func FoldBatchNorm(g *ir.Graph) error {
	prod := g.Producers()
	cons := g.Consumers()
	for _, n := range g.Nodes {
		if n.Op != "BatchNormalization" {
			continue
		}
		if len(n.Inputs) < 5 {
			return nodeErr(n, "needs 5 inputs")
		}
		for _, v := range n.Inputs[1:5] {
			if !v.IsConst() {
				return nodeErr(n, "scale, bias, mean and variance must be constant")
			}
		}
		if n.Attrs.Int("spatial", 1) != 1 {
			return nodeErr(n, "spatial=0 is not supported")
		}
		if n.Attrs.Int("training_mode", 0) != 0 {
			return nodeErr(n, "training_mode is not supported")
		}
		for _, o := range n.Outputs[1:] {
			if o != nil && len(cons[o]) > 0 {
				return nodeErr(n, "running statistics outputs are not supported")
			}
		}
		eps := float64(n.Attrs.Float("epsilon", 1e-5))
		scale, bias := n.Inputs[1].Const.Floats(), n.Inputs[2].Const.Floats()
		mean, vr := n.Inputs[3].Const.Floats(), n.Inputs[4].Const.Floats()
		c := len(scale)
		if len(bias) != c || len(mean) != c || len(vr) != c {
			return nodeErr(n, "parameter lengths differ")
		}
		a := make([]float32, c)
		b := make([]float32, c)
		for i := range c {
			a[i] = float32(float64(scale[i]) / math.Sqrt(float64(vr[i])+eps))
			b[i] = bias[i] - mean[i]*a[i]
		}
		x := n.Inputs[0]
		if p := prod[x]; p != nil && (p.Op == "Conv" || p.Op == "ConvTranspose") && len(cons[x]) == 1 &&
			!g.IsOutput(x) && p.In(1).IsConst() && (p.In(2) == nil || p.In(2).IsConst()) && foldIntoConv(g, p, a, b) {
			// Conv now computes the normalized value: BN becomes a pass-through.
			n.Op, n.Inputs, n.Outputs, n.Attrs = "Identity", []*ir.Value{x}, n.Outputs[:1], ir.Attrs{}
			continue
		}
		shape := make([]int, max(x.Rank()-1, 1))
		shape[0] = c
		for i := 1; i < len(shape); i++ {
			shape[i] = 1
		}
		av := g.NewConst(n.Name+"_scale", ir.FloatTensor(shape, a))
		bv := g.NewConst(n.Name+"_shift", ir.FloatTensor(shape, b))
		mid := g.NewValue(n.Name+"_mul", x.DType, x.Shape)
		mul := &ir.Node{Op: "Mul", Name: g.UniqueName(n.Name + "_mul"), Inputs: []*ir.Value{x, av}, Outputs: []*ir.Value{mid}, Attrs: ir.Attrs{}}
		g.Nodes = append(g.Nodes, mul)
		n.Op, n.Inputs, n.Outputs, n.Attrs = "Add", []*ir.Value{mid, bv}, n.Outputs[:1], ir.Attrs{}
	}
	if err := g.Sort(); err != nil {
		return err
	}
	return RemoveIdentity(g)
}

// foldIntoConv scales conv output channel o by a[o] and adds b[o].
func foldIntoConv(g *ir.Graph, p *ir.Node, a, b []float32) bool {
	w := p.In(1).Const
	if len(w.Shape) < 3 {
		return false
	}
	group := int(p.Attrs.Int("group", 1))
	outC := w.Shape[0]
	if p.Op == "ConvTranspose" {
		outC = w.Shape[1] * group
	}
	if outC != len(a) {
		return false
	}
	nw := w.Clone()
	nw.DType = ir.Float32
	nw.F = w.Floats()
	nw.F = append([]float32(nil), nw.F...)
	if p.Op == "Conv" {
		inner := ir.NumElements(w.Shape[1:])
		for o := range outC {
			for k := range inner {
				nw.F[o*inner+k] *= a[o]
			}
		}
	} else { // [Cin, Cout/group, k...]
		cin, cpg := w.Shape[0], w.Shape[1]
		inner := ir.NumElements(w.Shape[2:])
		for i := range cin {
			gi := i / (cin / group)
			for j := range cpg {
				o := gi*cpg + j
				for k := range inner {
					nw.F[(i*cpg+j)*inner+k] *= a[o]
				}
			}
		}
	}
	nb := make([]float32, outC)
	if p.In(2) != nil {
		copy(nb, p.In(2).Const.Floats())
	}
	for o := range outC {
		nb[o] = nb[o]*a[o] + b[o]
	}
	wv := g.NewConst(p.Name+"_w_bn", nw)
	bv := g.NewConst(p.Name+"_b_bn", ir.FloatTensor([]int{outC}, nb))
	p.Inputs = []*ir.Value{p.Inputs[0], wv, bv}
	return true
}
