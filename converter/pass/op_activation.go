package pass

import (
	"slices"

	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// Element-wise activations and unary math. Those TFLite has map to one
// op; the others are composed exactly from TFLite ops:
//
//	HardSigmoid       max(0, min(1, alpha·x + beta)) (MUL, ADD, MAXIMUM, MINIMUM);
//	                  x · HardSigmoid(x) with alpha 1/6, beta 1/2, as PyTorch
//	                  exports Hardswish at opset < 14, becomes HARD_SWISH
//	Elu, Selu, Celu   RELU(x) + MINIMUM(alpha·(EXP(x/alpha')-1), 0) (ELU for Elu alpha 1)
//	Softplus          LOG(EXP(x) + 1)
//	Softsign          x / (1 + |x|)
//	Erf               Abramowitz-Stegun 7.1.26 (error < 1.5e-7): exact GELU in float32
func init() {
	register(family{infer: sameShape, lower: lowerUnary},
		"Relu", "Sigmoid", "Tanh", "HardSwish", "Sqrt", "Exp", "Abs", "Neg", "LeakyRelu",
		"Log", "Floor", "Ceil", "Round", "Sin", "Cos")
	register(family{infer: sameShape, lower: lowerHardSigmoid}, "HardSigmoid")
	register(family{infer: sameShape, lower: lowerELU}, "Elu", "Selu", "Celu")
	register(family{infer: sameShape, lower: lowerSoftplus}, "Softplus", "Softsign")
	register(family{infer: sameShape, lower: lowerErf}, "Erf")
	register(family{infer: sameShape, lower: (*lowering).clip}, "Clip")
	register(family{infer: sameShape, lower: lowerPRelu}, "PRelu")
	register(family{infer: sameShape, lower: lowerReciprocal}, "Reciprocal")
	register(family{infer: sameShape, lower: (*lowering).softmax}, "Softmax")
}

// unaryOps maps ONNX operators to the TFLite operator computing them.
var unaryOps = map[string]tflitefile.BuiltinOp{
	"Relu":      tflitefile.Relu,
	"Sigmoid":   tflitefile.Logistic,
	"Tanh":      tflitefile.Tanh,
	"HardSwish": tflitefile.HardSwish,
	"Sqrt":      tflitefile.Sqrt,
	"Exp":       tflitefile.Exp,
	"Abs":       tflitefile.Abs,
	"Neg":       tflitefile.Neg,
	"LeakyRelu": tflitefile.LeakyRelu,
	"Log":       tflitefile.Log,
	"Floor":     tflitefile.Floor,
	"Ceil":      tflitefile.Ceil,
	"Round":     tflitefile.Round,
	"Sin":       tflitefile.Sin,
	"Cos":       tflitefile.Cos,
}

func lowerUnary(l *lowering, n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	attrs := ir.Attrs{}
	if n.Op == "LeakyRelu" {
		attrs["alpha"] = n.Attrs.Float("alpha", 0.01)
	}
	if n.Op == "Sqrt" && l.rsqrtFollows(n) {
		return nil // lowered with the Div/Reciprocal reading it
	}
	l.set(n, l.emit(unaryOps[n.Op], n.Name, []*ir.Value{e.v}, e.v.Shape, attrs), e.perm)
	return nil
}

// scalar is a float constant [1] operand.
func (l *lowering) scalar(name string, v float32) *ir.Value {
	return l.dst.NewConst(name, ir.FloatTensor([]int{1}, []float32{v}))
}

// affine emits a·x + b, leaving out a factor 1 and a term 0.
func (l *lowering) affine(name string, x *ir.Value, a, b float32) *ir.Value {
	if a != 1 {
		x = l.emit(tflitefile.Mul, name+"_scaled", []*ir.Value{x, l.scalar(name+"_a", a)}, x.Shape, nil)
	}
	if b != 0 {
		x = l.emit(tflitefile.Add, name+"_shifted", []*ir.Value{x, l.scalar(name+"_b", b)}, x.Shape, nil)
	}
	return x
}

// hardSwishOf returns the HardSigmoid node whose output m multiplies by
// that HardSigmoid's own input, when m is the only reader and the
// parameters are Hardswish's: then x·HardSigmoid(x) is HARD_SWISH(x).
func (l *lowering) hardSwishOf(m *ir.Node) *ir.Node {
	if m.Op != "Mul" || len(m.Inputs) != 2 {
		return nil
	}
	for i, v := range m.Inputs {
		hs := opOf(l.prod, v, "HardSigmoid")
		if hs == nil || hs.In(0) != m.In(1-i) || hs.In(0).IsConst() || l.src.IsOutput(v) ||
			hs.Attrs.Float("alpha", 0.2) != float32(1.0/6) || hs.Attrs.Float("beta", 0.5) != 0.5 {
			continue
		}
		readers := 0
		for _, o := range l.src.Nodes {
			for _, in := range o.Inputs {
				if in == v {
					readers++
				}
			}
		}
		if readers == 1 && m.Outputs[0].Rank() == hs.In(0).Rank() {
			return hs
		}
	}
	return nil
}

// hardSwishFollows reports whether HardSigmoid n is lowered with the Mul
// reading it (as HARD_SWISH).
func (l *lowering) hardSwishFollows(n *ir.Node) bool {
	for _, m := range l.src.Nodes {
		if l.hardSwishOf(m) == n {
			return true
		}
	}
	return false
}

// lowerHardSwishMul lowers Mul m as HARD_SWISH when it completes one; it
// reports whether it did.
func (l *lowering) lowerHardSwishMul(m *ir.Node) (bool, error) {
	hs := l.hardSwishOf(m)
	if hs == nil {
		return false, nil
	}
	e, err := l.entry(hs, 0)
	if err != nil {
		return true, err
	}
	l.set(m, l.emit(tflitefile.HardSwish, m.Name, []*ir.Value{e.v}, e.v.Shape, nil), e.perm)
	return true, nil
}

func lowerHardSigmoid(l *lowering, n *ir.Node) error {
	if l.hardSwishFollows(n) {
		return nil
	}
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	y := l.affine(n.Name, e.v, n.Attrs.Float("alpha", 0.2), n.Attrs.Float("beta", 0.5))
	y = l.emit(tflitefile.Maximum, n.Name+"_lo", []*ir.Value{y, l.scalar(n.Name+"_zero", 0)}, y.Shape, nil)
	l.set(n, l.emit(tflitefile.Minimum, n.Name, []*ir.Value{y, l.scalar(n.Name+"_one", 1)}, y.Shape, nil), e.perm)
	return nil
}

func lowerELU(l *lowering, n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	alpha, scale, inner := n.Attrs.Float("alpha", 1), float32(1), float32(1)
	switch n.Op {
	case "Selu":
		alpha, scale = n.Attrs.Float("alpha", 1.67326319217681884765625), n.Attrs.Float("gamma", 1.05070102214813232421875)
	case "Celu":
		inner = 1 / alpha
	}
	if alpha <= 0 {
		return nodeErr(n, "alpha %g: only positive values are supported", alpha)
	}
	x := e.v
	var y *ir.Value
	if n.Op == "Elu" && alpha == 1 {
		y = l.emit(tflitefile.Elu, n.Name, []*ir.Value{x}, x.Shape, nil)
	} else {
		// For alpha > 0 the negative branch is <= 0 exactly where x <= 0.
		pos := l.emit(tflitefile.Relu, n.Name+"_pos", []*ir.Value{x}, x.Shape, nil)
		ex := l.emit(tflitefile.Exp, n.Name+"_exp", []*ir.Value{l.affine(n.Name+"_in", x, inner, 0)}, x.Shape, nil)
		neg := l.affine(n.Name+"_neg", ex, alpha, -alpha)
		neg = l.emit(tflitefile.Minimum, n.Name+"_negpart", []*ir.Value{neg, l.scalar(n.Name+"_zero", 0)}, x.Shape, nil)
		y = l.emit(tflitefile.Add, n.Name+"_sum", []*ir.Value{pos, neg}, x.Shape, nil)
	}
	if scale != 1 {
		y = l.affine(n.Name, y, scale, 0)
	}
	l.set(n, y, e.perm)
	return nil
}

func lowerSoftplus(l *lowering, n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	x := e.v
	if n.Op == "Softplus" {
		ex := l.emit(tflitefile.Exp, n.Name+"_exp", []*ir.Value{x}, x.Shape, nil)
		l.set(n, l.emit(tflitefile.Log, n.Name, []*ir.Value{l.affine(n.Name, ex, 1, 1)}, x.Shape, nil), e.perm)
		return nil
	}
	d := l.affine(n.Name, l.emit(tflitefile.Abs, n.Name+"_abs", []*ir.Value{x}, x.Shape, nil), 1, 1)
	l.set(n, l.emit(tflitefile.Div, n.Name, []*ir.Value{x, d}, x.Shape, nil), e.perm)
	return nil
}

// Abramowitz and Stegun 7.1.26.
var erfA = [5]float32{0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429}

const erfP = 0.3275911

// lowerErf computes sign(x)·(1 - t·P(t)·exp(-x²)) with t = 1/(1 + p|x|);
// sign(x) is x / max(|x|, tiny), exact except below tiny where erf(x) is
// below float32's resolution anyway.
func lowerErf(l *lowering, n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	x, s := e.v, e.v.Shape
	name := n.Name
	ax := l.emit(tflitefile.Abs, name+"_abs", []*ir.Value{x}, s, nil)
	t := l.emit(tflitefile.Div, name+"_t", []*ir.Value{l.scalar(name+"_one", 1), l.affine(name+"_pa", ax, erfP, 1)}, s, nil)
	// Horner: ((((a5 t + a4) t + a3) t + a2) t + a1) t
	poly := l.affine(name+"_h4", t, erfA[4], erfA[3])
	for i := 2; i >= 0; i-- {
		poly = l.emit(tflitefile.Mul, name+"_horner", []*ir.Value{poly, t}, s, nil)
		poly = l.affine(name+"_h", poly, 1, erfA[i])
	}
	poly = l.emit(tflitefile.Mul, name+"_poly", []*ir.Value{poly, t}, s, nil)
	sq := l.emit(tflitefile.Mul, name+"_sq", []*ir.Value{x, x}, s, nil)
	ex := l.emit(tflitefile.Exp, name+"_exp", []*ir.Value{l.emit(tflitefile.Neg, name+"_negsq", []*ir.Value{sq}, s, nil)}, s, nil)
	r := l.affine(name+"_r", l.emit(tflitefile.Mul, name+"_tail", []*ir.Value{poly, ex}, s, nil), -1, 1)
	den := l.emit(tflitefile.Maximum, name+"_den", []*ir.Value{ax, l.scalar(name+"_tiny", 1e-30)}, s, nil)
	sign := l.emit(tflitefile.Div, name+"_sign", []*ir.Value{x, den}, s, nil)
	l.set(n, l.emit(tflitefile.Mul, name, []*ir.Value{sign, r}, s, nil), e.perm)
	return nil
}

func lowerPRelu(l *lowering, n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	if !n.In(1).IsConst() {
		return nodeErr(n, "slope must be constant")
	}
	x, slope := n.In(0), n.In(1).Const
	st := &ir.Tensor{DType: ir.Float32, Shape: slices.Clone(slope.Shape), F: slope.Floats()}
	if l.src.Opset < 7 && len(st.Shape) == 1 && x.Rank() >= 2 && st.Shape[0] == x.Shape[1] && x.Rank() > 2 {
		// Before opset 7 a 1-D slope runs along the channels (dim 1).
		st.Shape = append([]int{st.Shape[0]}, slices.Repeat([]int{1}, x.Rank()-2)...)
	}
	if _, err := ir.BroadcastShapes(x.Shape, st.Shape); err != nil || len(st.Shape) > x.Rank() {
		return nodeErr(n, "slope of shape %v does not broadcast to the input %v", slope.Shape, x.Shape)
	}
	// XNNPACK reads the slope per channel (last dim): give it the
	// full broadcast shape so a shared slope is not misread.
	full := ir.FloatTensor(x.Shape, nil)
	full.F = make([]float32, ir.NumElements(x.Shape))
	idx := ir.BroadcastIndex(st.Shape, x.Shape)
	for i, j := range idx {
		full.F[i] = st.F[j]
	}
	phys := full.Transpose(e.perm)
	// Drop leading dims the slope does not vary along (TFLite
	// broadcasts them); the last (channel) dim always stays.
	lead := 0
	for lead < len(phys.Shape)-1 && allSame(phys, lead) {
		lead++
	}
	a := l.dst.NewConst(n.In(1).Name, reduceLeading(phys, lead))
	l.set(n, l.emit(tflitefile.PRelu, n.Name, []*ir.Value{e.v, a}, e.v.Shape, nil), e.perm)
	return nil
}

// lowerReciprocal: RSQRT for 1/Sqrt(x), else DIV.
func lowerReciprocal(l *lowering, n *ir.Node) error {
	if sq := opOf(l.prod, n.In(0), "Sqrt"); sq != nil && !sq.In(0).IsConst() {
		se, err := l.entry(sq, 0)
		if err != nil {
			return err
		}
		l.set(n, l.emit(tflitefile.Rsqrt, n.Name, []*ir.Value{se.v}, se.v.Shape, nil), se.perm)
		return nil
	}
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	one := l.dst.NewConst("one", ir.FloatTensor([]int{1}, []float32{1}))
	l.set(n, l.emit(tflitefile.Div, n.Name, []*ir.Value{one, e.v}, e.v.Shape, nil), e.perm)
	return nil
}
