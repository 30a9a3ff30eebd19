package pass

import (
	"github.com/animed/animed/converter/ir"
)

// Broadcasting binary operators: Add, Sub, Mul, Div, Max, Min, Pow (ADD,
// SUB, MUL, DIV or MUL by a reciprocal, MAXIMUM, MINIMUM, POW, with the
// patterns in binary). The logic operators share the shape inference for
// constant folding only; the comparisons and Where (op_select.go) share
// it too.
func init() {
	register(family{infer: inferBroadcast, lower: (*lowering).binary}, "Add", "Sub", "Mul", "Div", "Max", "Min", "Pow")
	register(family{infer: inferBroadcast}, "And", "Or")
}

func inferBroadcast(n *ir.Node) error {
	x := n.In(0)
	s := x.Shape
	for _, v := range n.Inputs[1:] {
		var err error
		if s, err = ir.BroadcastShapes(s, v.Shape); err != nil {
			return nodeErr(n, "%v", err)
		}
	}
	dt := x.DType
	switch n.Op {
	case "Equal", "Less", "Greater", "And", "Or":
		dt = ir.Bool
	case "Where":
		dt = n.Inputs[1].DType
	}
	setOut(n, 0, dt, s)
	return nil
}
