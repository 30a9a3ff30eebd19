package pass

import (
	"github.com/animed/animed/converter/ir"
)

// requiredInputs names the inputs an ONNX operator cannot do without, in
// order; the passes index them without further checks.
var requiredInputs = map[string][]string{
	"Conv":          {"X", "W"},
	"ConvTranspose": {"X", "W"},
	"MatMul":        {"A", "B"},
	"Gemm":          {"A", "B"},
	"Gather":        {"data", "indices"},
	"Where":         {"condition", "X", "Y"},
	"Add":           {"A", "B"},
	"Sub":           {"A", "B"},
	"Mul":           {"A", "B"},
	"Div":           {"A", "B"},
	"Pow":           {"X", "Y"},
	"Equal":         {"A", "B"},
	"Less":          {"A", "B"},
	"Greater":       {"A", "B"},
	"And":           {"A", "B"},
	"Or":            {"A", "B"},
	"PRelu":         {"X", "slope"},
	"Expand":        {"input", "shape"},
	"Concat":        {"inputs"},
}

// CheckInputs refuses nodes that lack a required input, naming the node and
// the input, before any pass indexes them.
func CheckInputs(g *ir.Graph) error {
	for _, n := range g.Nodes {
		for i, name := range requiredInputs[n.Op] {
			if n.In(i) == nil {
				return nodeErr(n, "required input %d (%s) is missing", i, name)
			}
		}
	}
	return nil
}

// constOperands returns the indices of the inputs of n that decide its
// output shape or its semantics at conversion time: the lowering bakes
// them into the model, so they must be constants. A runtime value there
// would be ignored and the exporter's declared shape trusted instead.
func constOperands(n *ir.Node, opset int) []int {
	switch n.Op {
	case "Resize":
		if opset < 11 {
			return []int{1}
		}
		return []int{2, 3}
	case "Upsample", "Reshape", "Expand", "Squeeze", "Unsqueeze", "Tile", "Split",
		"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd":
		return []int{1}
	case "Slice":
		return []int{1, 2, 3, 4}
	case "Pad", "Clip":
		return []int{1, 2, 3}
	}
	return nil
}

// checkConstOperands refuses a node whose shape-deciding operand is
// computed at run time.
func checkConstOperands(n *ir.Node, opset int) error {
	for _, i := range constOperands(n, opset) {
		if v := n.In(i); v != nil && !v.IsConst() {
			return nodeErr(n, "input %q is computed at run time; only a constant is supported there", v.Name)
		}
	}
	return nil
}
