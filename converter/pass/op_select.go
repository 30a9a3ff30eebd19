package pass

import (
	"slices"

	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// Comparisons and selection: Greater, Less, Equal (GREATER, LESS, EQUAL
// on float operands, giving a boolean tensor), Where (SELECT_V2) and
// ThresholdedRelu (GREATER + SELECT_V2). Their shape inference is the
// broadcasting one of op_binary.go.
func init() {
	register(family{infer: inferBroadcast, lower: (*lowering).compare}, "Greater", "Less", "Equal")
	register(family{infer: inferBroadcast, lower: (*lowering).where}, "Where")
	register(family{infer: sameShape, lower: (*lowering).thresholdedRelu}, "ThresholdedRelu")
}

var comparisons = map[string]tflitefile.BuiltinOp{"Greater": tflitefile.Greater, "Less": tflitefile.Less, "Equal": tflitefile.Equal}

func (l *lowering) compare(n *ir.Node) error {
	if n.In(0).IsConst() && n.In(1).IsConst() {
		return nodeErr(n, "both inputs constant (constant folding should have removed it)")
	}
	for i := range 2 {
		if dt := n.In(i).DType; dt != ir.Float32 {
			return nodeErr(n, "input %d has type %v; only float32 comparisons are supported", i, dt)
		}
	}
	out := n.Outputs[0]
	r := out.Rank()
	perm, err := l.binaryLayout(n)
	if err != nil {
		return err
	}
	a, err := l.operand(n, 0, r, perm)
	if err != nil {
		return nodeErr(n, "%v", err)
	}
	b, err := l.operand(n, 1, r, perm)
	if err != nil {
		return nodeErr(n, "%v", err)
	}
	v := l.emit(comparisons[n.Op], n.Name, []*ir.Value{a, b}, permute(out.Shape, perm), nil)
	v.DType = ir.Bool
	l.set(n, v, perm)
	return nil
}

func (l *lowering) where(n *ir.Node) error {
	if dt := n.In(0).DType; dt != ir.Bool {
		return nodeErr(n, "condition has type %v, not bool", dt)
	}
	for i := 1; i <= 2; i++ {
		if dt := n.In(i).DType; dt != ir.Float32 {
			return nodeErr(n, "input %d has type %v; only float32 X and Y are supported", i, dt)
		}
	}
	out := n.Outputs[0]
	r := out.Rank()
	perm, err := l.binaryLayout(n)
	if err != nil {
		return err
	}
	ins := make([]*ir.Value, 3)
	for i := range ins {
		if ins[i], err = l.operand(n, i, r, perm); err != nil {
			return nodeErr(n, "%v", err)
		}
	}
	if c := ins[0]; c.IsConst() { // laid out as float by broadcastConst
		c.DType = ir.Bool
		c.Const = &ir.Tensor{DType: ir.Bool, Shape: slices.Clone(c.Const.Shape), I: c.Const.Ints()}
	}
	l.set(n, l.emit(tflitefile.SelectV2, n.Name, ins, permute(out.Shape, perm), nil), perm)
	return nil
}

// thresholdedRelu is x > alpha ? x : 0.
func (l *lowering) thresholdedRelu(n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	alpha := n.Attrs.Float("alpha", 1)
	c := l.emit(tflitefile.Greater, n.Name+"_mask", []*ir.Value{e.v, l.dst.NewConst(n.Name+"_alpha", ir.FloatTensor([]int{1}, []float32{alpha}))}, e.v.Shape, nil)
	c.DType = ir.Bool
	zero := l.dst.NewConst(n.Name+"_zero", ir.FloatTensor([]int{1}, []float32{0}))
	l.set(n, l.emit(tflitefile.SelectV2, n.Name, []*ir.Value{c, e.v, zero}, e.v.Shape, nil), e.perm)
	return nil
}
