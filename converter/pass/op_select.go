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
	ins, perm, shape, err := l.floatOperands(n, 0)
	if err != nil {
		return err
	}
	v := l.emit(comparisons[n.Op], n.Name, ins, shape, nil)
	v.DType = ir.Bool
	l.set(n, v, perm)
	return nil
}

func (l *lowering) where(n *ir.Node) error {
	if dt := n.In(0).DType; dt != ir.Bool {
		return nodeErr(n, "condition has type %v, not bool", dt)
	}
	ins, perm, shape, err := l.floatOperands(n, 1)
	if err != nil {
		return err
	}
	if c := ins[0]; c.IsConst() { // laid out as float by broadcastConst
		c.DType = ir.Bool
		c.Const = &ir.Tensor{DType: ir.Bool, Shape: slices.Clone(c.Const.Shape), I: c.Const.Ints()}
	}
	l.set(n, l.emit(tflitefile.SelectV2, n.Name, ins, shape, nil), perm)
	return nil
}

// floatOperands refuses inputs from the first-th on that are not float32
// and lays out all inputs of the broadcasting op n; shape is the output's
// physical shape.
func (l *lowering) floatOperands(n *ir.Node, first int) (ins []*ir.Value, perm, shape []int, err error) {
	for i := first; i < len(n.Inputs); i++ {
		if dt := n.In(i).DType; dt != ir.Float32 {
			return nil, nil, nil, nodeErr(n, "input %d has type %v; only float32 is supported there", i, dt)
		}
	}
	out := n.Outputs[0]
	if perm, err = l.binaryLayout(n); err != nil {
		return nil, nil, nil, err
	}
	if ins, err = l.operands(n, out.Rank(), perm); err != nil {
		return nil, nil, nil, err
	}
	return ins, perm, permute(out.Shape, perm), nil
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
