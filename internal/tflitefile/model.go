package tflitefile

import (
	"fmt"
)

// TensorType is a tensor's element type (schema enum TensorType).
type TensorType int8

// Tensor element types (see SCHEMA.md).
const (
	Float32    TensorType = 0
	Float16    TensorType = 1
	Int32      TensorType = 2
	Uint8      TensorType = 3
	Int64      TensorType = 4
	String     TensorType = 5
	Bool       TensorType = 6
	Int16      TensorType = 7
	Complex64  TensorType = 8
	Int8       TensorType = 9
	Float64    TensorType = 10
	Complex128 TensorType = 11
	Uint64     TensorType = 12
	Resource   TensorType = 13
	Variant    TensorType = 14
	Uint32     TensorType = 15
)

func (t TensorType) String() string {
	switch t {
	case Float32:
		return "float32"
	case Float16:
		return "float16"
	case Int32:
		return "int32"
	case Uint8:
		return "uint8"
	case Int64:
		return "int64"
	case Int16:
		return "int16"
	case Int8:
		return "int8"
	case String:
		return "string"
	case Bool:
		return "bool"
	case Complex64:
		return "complex64"
	case Float64:
		return "float64"
	case Complex128:
		return "complex128"
	case Uint64:
		return "uint64"
	case Resource:
		return "resource"
	case Variant:
		return "variant"
	case Uint32:
		return "uint32"
	}
	return fmt.Sprintf("type(%d)", int8(t))
}

// Size returns the size in bytes of one element, or 0 if it has none
// (strings, resources, variants) or the type is unknown.
func (t TensorType) Size() int {
	switch t {
	case Float32, Int32, Uint32:
		return 4
	case Float16, Int16:
		return 2
	case Uint8, Int8, Bool:
		return 1
	case Int64, Float64, Complex64, Uint64:
		return 8
	case Complex128:
		return 16
	}
	return 0
}

// Model is a whole .tflite file.
type Model struct {
	Version     uint32 // schema version; 0 is written as 3
	Description string
	Subgraphs   []*Subgraph
	// Buffers holds constant data. Buffers[0] must be the empty sentinel:
	// NewModel creates it, and tensors without data refer to it.
	Buffers  []Buffer
	Metadata []Metadata
}

// Buffer is one constant data blob.
type Buffer struct {
	Data []byte
}

// Metadata names a buffer that holds model metadata.
type Metadata struct {
	Name   string
	Buffer uint32
}

// Subgraph is a graph of tensors and operators; Subgraphs[0] is the model.
type Subgraph struct {
	Name      string
	Tensors   []*Tensor
	Inputs    []int32
	Outputs   []int32
	Operators []*Operator
}

// Tensor describes one tensor. Buffer is 0 for tensors without constant data.
type Tensor struct {
	Name           string
	Shape          []int32
	ShapeSignature []int32 // -1 for dynamic dimensions; nil if absent
	Type           TensorType
	Buffer         uint32
	Quant          *Quantization
	IsVariable     bool
}

// Quantization holds affine quantization parameters: real = scale * (q - zp).
// With more than one scale, QuantizedDimension names the per-channel axis.
type Quantization struct {
	Min, Max           []float32
	Scale              []float32
	ZeroPoint          []int64
	QuantizedDimension int32
}

// Operator is one node. Optional inputs are -1.
type Operator struct {
	Op      BuiltinOp
	Custom  string // custom op name when Op == Custom
	Version int32  // op version; 0 is written as 1
	Inputs  []int32
	Outputs []int32
	Options Options // nil for ops without options
	// CustomOptions are the raw custom_options bytes of a custom op.
	CustomOptions []byte
}

// NewModel returns an empty model with one empty subgraph and the buffer 0
// sentinel.
func NewModel() *Model {
	return &Model{Version: 3, Buffers: []Buffer{{}}, Subgraphs: []*Subgraph{{Name: "main"}}}
}

// AddBuffer appends a buffer holding data and returns its index.
func (m *Model) AddBuffer(data []byte) uint32 {
	m.Buffers = append(m.Buffers, Buffer{Data: data})
	return uint32(len(m.Buffers) - 1)
}

// SetMetadata stores value under name, replacing an entry of that name.
func (m *Model) SetMetadata(name string, value []byte) {
	for _, md := range m.Metadata {
		if md.Name == name {
			m.Buffers[md.Buffer].Data = value
			return
		}
	}
	m.Metadata = append(m.Metadata, Metadata{Name: name, Buffer: m.AddBuffer(value)})
}

// MetadataValue returns the metadata stored under name.
func (m *Model) MetadataValue(name string) ([]byte, bool) {
	for _, md := range m.Metadata {
		if md.Name == name && int(md.Buffer) < len(m.Buffers) {
			return m.Buffers[md.Buffer].Data, true
		}
	}
	return nil, false
}

// Main returns the model's first subgraph.
func (m *Model) Main() *Subgraph {
	if len(m.Subgraphs) == 0 {
		m.Subgraphs = append(m.Subgraphs, &Subgraph{Name: "main"})
	}
	return m.Subgraphs[0]
}

// AddTensor appends t and returns its index.
func (g *Subgraph) AddTensor(t *Tensor) int32 {
	g.Tensors = append(g.Tensors, t)
	return int32(len(g.Tensors) - 1)
}

// AddOperator appends op.
func (g *Subgraph) AddOperator(op *Operator) {
	g.Operators = append(g.Operators, op)
}

// Validate checks the structural invariants a runtime relies on: the buffer
// sentinel, index ranges and constant data sizes.
func (m *Model) Validate() error {
	if len(m.Buffers) == 0 || len(m.Buffers[0].Data) != 0 {
		return fmt.Errorf("buffer 0 must exist and be empty")
	}
	if len(m.Subgraphs) == 0 {
		return fmt.Errorf("model has no subgraph")
	}
	for si, g := range m.Subgraphs {
		n := int32(len(g.Tensors))
		check := func(what string, idx []int32, optional bool) error {
			for _, i := range idx {
				if i == -1 && optional {
					continue
				}
				if i < 0 || i >= n {
					return fmt.Errorf("subgraph %d: %s refers to tensor %d of %d", si, what, i, n)
				}
			}
			return nil
		}
		if err := check("inputs", g.Inputs, false); err != nil {
			return err
		}
		if err := check("outputs", g.Outputs, false); err != nil {
			return err
		}
		for oi, op := range g.Operators {
			if err := check(fmt.Sprintf("operator %d (%s) inputs", oi, op.Op), op.Inputs, true); err != nil {
				return err
			}
			if err := check(fmt.Sprintf("operator %d (%s) outputs", oi, op.Op), op.Outputs, false); err != nil {
				return err
			}
		}
		for ti, t := range g.Tensors {
			if int(t.Buffer) >= len(m.Buffers) {
				return fmt.Errorf("subgraph %d: tensor %d (%s) refers to buffer %d of %d", si, ti, t.Name, t.Buffer, len(m.Buffers))
			}
			data := m.Buffers[t.Buffer].Data
			if t.Buffer != 0 && len(data) > 0 && t.Type.Size() > 0 {
				want := t.Type.Size()
				for _, d := range t.Shape {
					want *= int(d)
				}
				if len(data) != want {
					return fmt.Errorf("subgraph %d: tensor %d (%s) has %d bytes of data, shape %v %s needs %d", si, ti, t.Name, len(data), t.Shape, t.Type, want)
				}
			}
		}
	}
	return nil
}
