package pass

import (
	"fmt"

	"github.com/animed/animed/converter/ir"
)

// family is how one family of ONNX operators is converted: the shape
// inference and the lowering side by side, in one op_*.go file that
// registers it (see "Adding an operator" in converter/README.md).
// Operators not (yet) moved to a family are handled by the switches in
// inferNode and lowering.node.
type family struct {
	// infer sets the outputs' shapes and types of n, whose input shapes
	// are known. It returns errUnknown when a constant it needs is not
	// known yet; nil infer keeps the exporter's shapes.
	infer func(n *ir.Node) error
	// lower emits the TFLite operators computing n.
	lower func(l *lowering, n *ir.Node) error
}

// families maps ONNX operator names to their family. It is filled by the
// op_*.go files' init functions and only read afterwards.
var families = map[string]family{}

// register makes f the family of the ONNX operators ops.
func register(f family, ops ...string) {
	for _, op := range ops {
		if _, dup := families[op]; dup {
			panic(fmt.Sprintf("pass: operator %s registered twice", op))
		}
		families[op] = f
	}
}

// sameShape is the infer function of element-wise unary operators.
func sameShape(n *ir.Node) error {
	x := n.In(0)
	setOut(n, 0, x.DType, append([]int(nil), x.Shape...))
	return nil
}
