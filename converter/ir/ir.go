// Package ir is the converter's one intermediate representation: a graph of
// nodes over named values, used both for ONNX-level operators (as loaded,
// NCHW) and for TFLite-level operators (after lowering, NHWC; made with
// AddTFLite from a tflitefile.BuiltinOp, read back with Node.Builtin). Passes in package converter/pass rewrite it in place.
package ir

import (
	"fmt"
	"slices"
	"strings"

	"github.com/animed/animed/internal/tflitefile"
)

// DType is the element type of a value.
type DType int

// Element types the converter handles.
const (
	Undefined DType = iota
	Float32
	Int64
	Int32
	Bool
	Int8
	Uint8
	Float16
	Float64
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Int64:
		return "int64"
	case Int32:
		return "int32"
	case Bool:
		return "bool"
	case Int8:
		return "int8"
	case Uint8:
		return "uint8"
	case Float16:
		return "float16"
	case Float64:
		return "float64"
	}
	return "undefined"
}

// Tensor is constant data. Float types are held in F, integer and boolean
// types in I (booleans as 0/1).
type Tensor struct {
	DType DType
	Shape []int
	F     []float32
	I     []int64
}

// Len is the number of elements the shape describes.
func (t *Tensor) Len() int { return NumElements(t.Shape) }

// IsFloat reports whether the data lives in F.
func (t *Tensor) IsFloat() bool {
	return t.DType == Float32 || t.DType == Float16 || t.DType == Float64
}

// Floats returns the data as float32 whatever the type.
func (t *Tensor) Floats() []float32 {
	if t.IsFloat() {
		return t.F
	}
	out := make([]float32, len(t.I))
	for i, v := range t.I {
		out[i] = float32(v)
	}
	return out
}

// Ints returns the data as int64 whatever the type.
func (t *Tensor) Ints() []int64 {
	if !t.IsFloat() {
		return t.I
	}
	out := make([]int64, len(t.F))
	for i, v := range t.F {
		out[i] = int64(v)
	}
	return out
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{DType: t.DType, Shape: slices.Clone(t.Shape), F: slices.Clone(t.F), I: slices.Clone(t.I)}
}

// FloatTensor makes a float32 constant.
func FloatTensor(shape []int, data []float32) *Tensor {
	if shape == nil {
		shape = []int{}
	}
	return &Tensor{DType: Float32, Shape: slices.Clone(shape), F: data}
}

// IntTensor makes an int64 constant.
func IntTensor(shape []int, data []int64) *Tensor {
	if shape == nil {
		shape = []int{}
	}
	return &Tensor{DType: Int64, Shape: slices.Clone(shape), I: data}
}

// NumElements is the product of the dimensions (1 for a scalar); -1 when a
// dimension is unknown.
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return -1
		}
		n *= d
	}
	return n
}

// Value is a tensor flowing through the graph: a graph input, a constant
// (Const set) or a node output. Shape is nil when unknown; unknown
// dimensions are -1.
type Value struct {
	Name  string
	DType DType
	Shape []int
	Const *Tensor
}

// IsConst reports whether v holds constant data.
func (v *Value) IsConst() bool { return v != nil && v.Const != nil }

// Rank is len(Shape), or -1 when the shape is unknown.
func (v *Value) Rank() int {
	if v.Shape == nil {
		return -1
	}
	return len(v.Shape)
}

// StaticShape reports whether every dimension is known.
func (v *Value) StaticShape() bool { return v.Shape != nil && NumElements(v.Shape) >= 0 }

func (v *Value) String() string {
	if v == nil {
		return "<none>"
	}
	return fmt.Sprintf("%s%v", v.Name, v.Shape)
}

// Node is one operator application. A nil entry in Inputs is an omitted
// optional input.
type Node struct {
	// Op is the ONNX operator, or for a lowered node "tfl." + TFL's name
	// (for printing and messages only: passes read TFL).
	Op string
	// TFL is the TFLite operator of a lowered node (Lowered is true);
	// only AddTFLite sets them.
	TFL     tflitefile.BuiltinOp
	Lowered bool
	Name    string
	Inputs  []*Value
	Outputs []*Value
	Attrs   Attrs
}

func (n *Node) String() string { return fmt.Sprintf("node %q (%s)", n.Name, n.Op) }

// TFLitePrefix starts the Op of TFLite-level nodes: "tfl." + the builtin
// operator's name (AddTFLite writes it from a tflitefile.BuiltinOp).
const TFLitePrefix = "tfl."

// Is reports whether n is a TFLite-level node computing op.
func (n *Node) Is(op tflitefile.BuiltinOp) bool { return n.Lowered && n.TFL == op }

// Builtin returns the TFLite operator of a lowered node; ok is false for
// an ONNX-level node or an operator outside the operator table.
func (n *Node) Builtin() (op tflitefile.BuiltinOp, ok bool) {
	if !n.Lowered {
		return 0, false
	}
	_, known := tflitefile.OpByName(n.TFL.String())
	return n.TFL, known
}

// In returns input i or nil when it is absent.
func (n *Node) In(i int) *Value {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return nil
}

// Attrs holds operator attributes: int64, float32, string, []int64,
// []float32, []string or *Tensor.
type Attrs map[string]any

// Int returns an integer attribute or def.
func (a Attrs) Int(name string, def int64) int64 {
	if v, ok := a[name].(int64); ok {
		return v
	}
	return def
}

// Float returns a float attribute or def.
func (a Attrs) Float(name string, def float32) float32 {
	if v, ok := a[name].(float32); ok {
		return v
	}
	return def
}

// String returns a string attribute or def.
func (a Attrs) String(name, def string) string {
	if v, ok := a[name].(string); ok {
		return v
	}
	return def
}

// Ints returns an integer-list attribute or nil.
func (a Attrs) Ints(name string) []int64 {
	if v, ok := a[name].([]int64); ok {
		return v
	}
	return nil
}

// Floats returns a float-list attribute or nil.
func (a Attrs) Floats(name string) []float32 {
	if v, ok := a[name].([]float32); ok {
		return v
	}
	return nil
}

// Has reports whether the attribute is set.
func (a Attrs) Has(name string) bool { _, ok := a[name]; return ok }

// Graph is a computation graph. Nodes are kept in topological order by the
// passes (call Sort after rewrites that may break it).
type Graph struct {
	Name    string
	Opset   int // ONNX default-domain opset the graph was loaded with
	Inputs  []*Value
	Outputs []*Value
	Nodes   []*Node
	// Metadata is carried into the written model (key/value strings).
	Metadata map[string]string

	names map[string]int
}

// NewGraph returns an empty graph.
func NewGraph(name string) *Graph {
	return &Graph{Name: name, Metadata: map[string]string{}}
}

// UniqueName returns a value/node name not used before in this graph,
// derived from base.
func (g *Graph) UniqueName(base string) string {
	if g.names == nil {
		g.names = map[string]int{}
		for _, v := range g.Values() {
			g.names[v.Name] = 1
		}
	}
	if base == "" {
		base = "t"
	}
	if g.names[base] == 0 {
		g.names[base] = 1
		return base
	}
	for {
		n := g.names[base]
		g.names[base] = n + 1
		name := fmt.Sprintf("%s_%d", base, n)
		if g.names[name] == 0 {
			g.names[name] = 1
			return name
		}
	}
}

// NewValue makes a fresh non-constant value.
func (g *Graph) NewValue(base string, dt DType, shape []int) *Value {
	return &Value{Name: g.UniqueName(base), DType: dt, Shape: slices.Clone(shape)}
}

// NewConst makes a fresh constant value.
func (g *Graph) NewConst(base string, t *Tensor) *Value {
	return &Value{Name: g.UniqueName(base), DType: t.DType, Shape: slices.Clone(t.Shape), Const: t}
}

// AddTFLite appends a TFLite-level node computing op.
func (g *Graph) AddTFLite(op tflitefile.BuiltinOp, name string, in []*Value, out []*Value, attrs Attrs) *Node {
	n := g.Add(TFLitePrefix+op.String(), name, in, out, attrs)
	n.TFL, n.Lowered = op, true
	return n
}

// Add appends a node with a unique name and returns it.
func (g *Graph) Add(op, name string, in []*Value, out []*Value, attrs Attrs) *Node {
	if attrs == nil {
		attrs = Attrs{}
	}
	n := &Node{Op: op, Name: g.UniqueName(name), Inputs: in, Outputs: out, Attrs: attrs}
	g.Nodes = append(g.Nodes, n)
	return n
}

// Values lists every distinct value reachable from inputs, nodes and outputs.
func (g *Graph) Values() []*Value {
	seen := map[*Value]bool{}
	var out []*Value
	add := func(v *Value) {
		if v != nil && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for _, v := range g.Inputs {
		add(v)
	}
	for _, n := range g.Nodes {
		for _, v := range n.Inputs {
			add(v)
		}
		for _, v := range n.Outputs {
			add(v)
		}
	}
	for _, v := range g.Outputs {
		add(v)
	}
	return out
}

// Producers maps each node output to its node.
func (g *Graph) Producers() map[*Value]*Node {
	m := map[*Value]*Node{}
	for _, n := range g.Nodes {
		for _, v := range n.Outputs {
			if v != nil {
				m[v] = n
			}
		}
	}
	return m
}

// Consumers maps each value to the nodes reading it.
func (g *Graph) Consumers() map[*Value][]*Node {
	m := map[*Value][]*Node{}
	for _, n := range g.Nodes {
		for _, v := range n.Inputs {
			if v != nil && !slices.Contains(m[v], n) {
				m[v] = append(m[v], n)
			}
		}
	}
	return m
}

// IsOutput reports whether v is a graph output.
func (g *Graph) IsOutput(v *Value) bool { return slices.Contains(g.Outputs, v) }

// ReplaceUses makes every reader of old (nodes and graph outputs) read nw.
// When old is a graph output, nw takes over its name so the model's output
// names stay stable.
func (g *Graph) ReplaceUses(old, nw *Value) {
	for _, n := range g.Nodes {
		for i, v := range n.Inputs {
			if v == old {
				n.Inputs[i] = nw
			}
		}
	}
	for i, v := range g.Outputs {
		if v == old {
			g.Outputs[i] = nw
			if !slices.Contains(g.Inputs, nw) && !nw.IsConst() {
				nw.Name, old.Name = old.Name, nw.Name
			}
		}
	}
}

// RemoveDead drops nodes whose outputs nobody reads.
func (g *Graph) RemoveDead() {
	for {
		used := map[*Value]bool{}
		for _, v := range g.Outputs {
			used[v] = true
		}
		for _, n := range g.Nodes {
			for _, v := range n.Inputs {
				used[v] = true
			}
		}
		kept := g.Nodes[:0]
		removed := false
		for _, n := range g.Nodes {
			live := false
			for _, v := range n.Outputs {
				if v != nil && used[v] {
					live = true
				}
			}
			if live {
				kept = append(kept, n)
			} else {
				removed = true
			}
		}
		g.Nodes = kept
		if !removed {
			return
		}
	}
}

// Sort orders the nodes topologically; it fails on a cycle or on a node
// reading a value nothing produces.
func (g *Graph) Sort() error {
	prod := g.Producers()
	avail := map[*Value]bool{}
	for _, v := range g.Inputs {
		avail[v] = true
	}
	state := map[*Node]int{}
	var order []*Node
	var visit func(n *Node) error
	visit = func(n *Node) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("%v: graph has a cycle", n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, v := range n.Inputs {
			if v == nil || v.IsConst() || avail[v] {
				continue
			}
			p := prod[v]
			if p == nil {
				return fmt.Errorf("%v: input %q is not produced by any node", n, v.Name)
			}
			if err := visit(p); err != nil {
				return err
			}
		}
		state[n] = 2
		order = append(order, n)
		return nil
	}
	for _, n := range g.Nodes {
		if err := visit(n); err != nil {
			return err
		}
	}
	g.Nodes = order
	return nil
}

// OpHistogram counts nodes per op type, sorted "OP:count" lines.
func (g *Graph) OpHistogram() map[string]int {
	h := map[string]int{}
	for _, n := range g.Nodes {
		h[n.Op]++
	}
	return h
}

// Dump is a human-readable listing for debugging and test failures.
func (g *Graph) Dump() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %s inputs=%v outputs=%v\n", g.Name, g.Inputs, g.Outputs)
	for _, n := range g.Nodes {
		fmt.Fprintf(&b, "  %s %s(%v) -> %v %v\n", n.Name, n.Op, n.Inputs, n.Outputs, n.Attrs)
	}
	return b.String()
}
