package pass

import (
	"slices"

	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// MatMul and Gemm: FULLY_CONNECTED with constant B, else BATCH_MATMUL.
func init() {
	register(family{infer: inferMatMul, lower: (*lowering).matmul}, "MatMul")
	register(family{infer: inferGemm, lower: (*lowering).matmul}, "Gemm")
}

func (l *lowering) matmul(n *ir.Node) error {
	a, b := n.In(0), n.In(1)
	ea, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	out := n.Outputs[0]
	r := a.Rank()
	if n.Op == "Gemm" || (b.IsConst() && b.Rank() == 2) {
		// FULLY_CONNECTED: weights [N, K], bias [N].
		if !b.IsConst() || b.Rank() != 2 {
			return nodeErr(n, "only a constant 2-D B is supported, B is %v", b.Shape)
		}
		alpha, beta := n.Attrs.Float("alpha", 1), n.Attrs.Float("beta", 1)
		if n.Attrs.Int("transA", 0) != 0 {
			return nodeErr(n, "transA is not supported")
		}
		bt := &ir.Tensor{DType: ir.Float32, Shape: b.Const.Shape, F: b.Const.Floats()}
		if n.Attrs.Int("transB", 0) == 0 {
			bt = bt.Transpose([]int{1, 0})
		}
		nOut, k := bt.Shape[0], bt.Shape[1]
		w := make([]float32, len(bt.F))
		for i, v := range bt.F {
			w[i] = v * alpha
		}
		bias := make([]float32, nOut)
		if c := n.In(2); c != nil {
			if !c.IsConst() {
				return nodeErr(n, "C must be constant")
			}
			cf := c.Const.Floats()
			switch len(cf) {
			case 1:
				for i := range bias {
					bias[i] = beta * cf[0]
				}
			case nOut:
				for i := range bias {
					bias[i] = beta * cf[i]
				}
			default:
				return nodeErr(n, "C of shape %v is not supported (scalar or [N])", c.Shape)
			}
		}
		perm := ea.perm
		if perm[r-1] != r-1 {
			perm = identity(r)
		}
		x := l.get(a, perm)
		if x.Shape[len(x.Shape)-1] != k {
			return nodeErr(n, "inner dims %d and %d differ", x.Shape[len(x.Shape)-1], k)
		}
		oshape := append(slices.Clone(x.Shape[:len(x.Shape)-1]), nOut)
		wv := l.dst.NewConst(n.Name+"_weights", ir.FloatTensor([]int{nOut, k}, w))
		bv := l.dst.NewConst(n.Name+"_bias", ir.FloatTensor([]int{nOut}, bias))
		l.set(n, l.emit(tflitefile.FullyConnected, n.Name, []*ir.Value{x, wv, bv}, oshape,
			ir.Attrs{"keep_num_dims": true, "fused_activation_function": "NONE"}), perm)
		return nil
	}
	if r < 2 || b.Rank() != r {
		return nodeErr(n, "MatMul of ranks %d and %d is not supported", r, b.Rank())
	}
	side := func(v *ir.Value) (*ir.Value, bool) {
		if v.IsConst() {
			return l.constIn(v, identity(r)), false
		}
		e := l.vals[v]
		swapped := identity(r)
		swapped[r-2], swapped[r-1] = r-1, r-2
		if slices.Equal(e.perm, swapped) {
			return e.v, true
		}
		return l.get(v, identity(r)), false
	}
	x, adjX := side(a)
	y, adjY := side(b)
	l.set(n, l.emit(tflitefile.BatchMatMul, n.Name, []*ir.Value{x, y}, slices.Clone(out.Shape), ir.Attrs{"adj_x": adjX, "adj_y": adjY}), identity(r))
	return nil
}

func inferMatMul(n *ir.Node) error {
	x, xs := n.In(0), n.In(0).Shape
	ys := n.Inputs[1].Shape
	if len(xs) < 2 || len(ys) < 2 {
		return nodeErr(n, "MatMul of rank < 2 is not supported")
	}
	batch, err := ir.BroadcastShapes(xs[:len(xs)-2], ys[:len(ys)-2])
	if err != nil {
		return nodeErr(n, "%v", err)
	}
	setOut(n, 0, x.DType, append(batch, xs[len(xs)-2], ys[len(ys)-1]))
	return nil
}

func inferGemm(n *ir.Node) error {
	x, xs, a := n.In(0), n.In(0).Shape, n.Attrs
	ys := n.Inputs[1].Shape
	if len(xs) != 2 || len(ys) != 2 {
		return nodeErr(n, "Gemm needs 2-D A and B, not %v and %v", xs, ys)
	}
	m, k := xs[0], xs[1]
	if a.Int("transA", 0) != 0 {
		m = k
	}
	nn := ys[1]
	if a.Int("transB", 0) != 0 {
		nn = ys[0]
	}
	setOut(n, 0, x.DType, []int{m, nn})
	return nil
}
