// Package onnxtest builds small ONNX models in Go for the converter's tests:
// graphs are written as protobufs directly, no Python needed.
package onnxtest

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"google.golang.org/protobuf/proto"

	"github.com/animed/animed/converter/onnx"
)

// Builder accumulates one ONNX graph.
type Builder struct {
	g     onnx.GraphProto
	opset int64
	n     int
	rng   *rand.Rand
}

// New starts a graph at the given default-domain opset.
func New(opset int) *Builder {
	return &Builder{opset: int64(opset), rng: rand.New(rand.NewPCG(1, uint64(opset)))}
}

// Seed resets the random generator used by Rand.
func (b *Builder) Seed(s uint64) { b.rng = rand.New(rand.NewPCG(s, 7)) }

// Input declares a float32 graph input; -1 dims are symbolic.
func (b *Builder) Input(name string, dims ...int) string {
	b.g.Input = append(b.g.Input, valueInfo(name, onnx.TensorProto_FLOAT, dims))
	return name
}

// OutputShaped marks a value as a graph output with a declared float32
// shape, as exporters record it.
func (b *Builder) OutputShaped(name string, dims ...int) {
	b.g.Output = append(b.g.Output, valueInfo(name, onnx.TensorProto_FLOAT, dims))
}

// Output marks values as graph outputs (shape left unknown).
func (b *Builder) Output(names ...string) {
	for _, n := range names {
		b.g.Output = append(b.g.Output, &onnx.ValueInfoProto{Name: proto.String(n), Type: &onnx.TypeProto{
			Value: &onnx.TypeProto_TensorType{TensorType: &onnx.TypeProto_Tensor{ElemType: proto.Int32(int32(onnx.TensorProto_FLOAT))}}}})
	}
}

func valueInfo(name string, et onnx.TensorProto_DataType, dims []int) *onnx.ValueInfoProto {
	sh := &onnx.TensorShapeProto{}
	for _, d := range dims {
		if d < 0 {
			sh.Dim = append(sh.Dim, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimParam{DimParam: "d"}})
		} else {
			sh.Dim = append(sh.Dim, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
		}
	}
	return &onnx.ValueInfoProto{Name: proto.String(name), Type: &onnx.TypeProto{
		Value: &onnx.TypeProto_TensorType{TensorType: &onnx.TypeProto_Tensor{ElemType: proto.Int32(int32(et)), Shape: sh}}}}
}

// FloatTensor makes a float tensor proto stored as raw_data.
func FloatTensor(name string, dims []int, data []float32) *onnx.TensorProto {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &onnx.TensorProto{Name: proto.String(name), Dims: i64s(dims), DataType: proto.Int32(int32(onnx.TensorProto_FLOAT)), RawData: raw}
}

// IntTensor makes an int64 tensor proto stored in int64_data.
func IntTensor(name string, dims []int, data []int64) *onnx.TensorProto {
	return &onnx.TensorProto{Name: proto.String(name), Dims: i64s(dims), DataType: proto.Int32(int32(onnx.TensorProto_INT64)), Int64Data: data}
}

func i64s(d []int) []int64 {
	out := make([]int64, len(d))
	for i, v := range d {
		out[i] = int64(v)
	}
	return out
}

// Name returns a fresh name starting with prefix (for initializers).
func (b *Builder) Name(prefix string) string {
	b.n++
	return fmt.Sprintf("%s_%d", prefix, b.n)
}

// Init adds a float initializer.
func (b *Builder) Init(name string, dims []int, data []float32) string {
	b.g.Initializer = append(b.g.Initializer, FloatTensor(name, dims, data))
	return name
}

// Ints adds an int64 initializer (shapes, axes, pads).
func (b *Builder) Ints(name string, data ...int64) string {
	b.g.Initializer = append(b.g.Initializer, IntTensor(name, []int{len(data)}, data))
	return name
}

// Rand adds a float initializer with values uniform in [lo, hi).
func (b *Builder) Rand(name string, lo, hi float32, dims ...int) string {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = lo + (hi-lo)*b.rng.Float32()
	}
	return b.Init(name, dims, data)
}

// Attr is one node attribute.
type Attr struct {
	Name  string
	Value any // int, int64, float32, float64, string, []int64, []int, []float32, *onnx.TensorProto
}

// A is shorthand for an Attr.
func A(name string, v any) Attr { return Attr{name, v} }

// Node adds a node with one output and returns the output's name.
func (b *Builder) Node(op string, inputs []string, attrs ...Attr) string {
	return b.NodeN(op, inputs, 1, attrs...)[0]
}

// NodeN adds a node with n outputs.
func (b *Builder) NodeN(op string, inputs []string, n int, attrs ...Attr) []string {
	b.n++
	name := fmt.Sprintf("%s_%d", op, b.n)
	var outs []string
	for i := 0; i < n; i++ {
		outs = append(outs, fmt.Sprintf("%s_out%d", name, i))
	}
	np := &onnx.NodeProto{Name: proto.String(name), OpType: proto.String(op), Input: inputs, Output: outs}
	for _, a := range attrs {
		np.Attribute = append(np.Attribute, attr(a))
	}
	b.g.Node = append(b.g.Node, np)
	return outs
}

func attr(a Attr) *onnx.AttributeProto {
	p := &onnx.AttributeProto{Name: proto.String(a.Name)}
	set := func(t onnx.AttributeProto_AttributeType) { p.Type = t.Enum() }
	switch v := a.Value.(type) {
	case int:
		p.I = proto.Int64(int64(v))
		set(onnx.AttributeProto_INT)
	case int64:
		p.I = proto.Int64(v)
		set(onnx.AttributeProto_INT)
	case float32:
		p.F = proto.Float32(v)
		set(onnx.AttributeProto_FLOAT)
	case float64:
		p.F = proto.Float32(float32(v))
		set(onnx.AttributeProto_FLOAT)
	case string:
		p.S = []byte(v)
		set(onnx.AttributeProto_STRING)
	case []int64:
		p.Ints = v
		set(onnx.AttributeProto_INTS)
	case []int:
		p.Ints = i64s(v)
		set(onnx.AttributeProto_INTS)
	case []float32:
		p.Floats = v
		set(onnx.AttributeProto_FLOATS)
	case *onnx.TensorProto:
		p.T = v
		set(onnx.AttributeProto_TENSOR)
	default:
		panic(fmt.Sprintf("onnxtest: attribute %s: unsupported type %T", a.Name, a.Value))
	}
	return p
}

// Model returns the model proto.
func (b *Builder) Model() *onnx.ModelProto {
	g := proto.Clone(&b.g).(*onnx.GraphProto)
	g.Name = proto.String("test")
	return &onnx.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("onnxtest"),
		OpsetImport:  []*onnx.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(b.opset)}},
		Graph:        g,
	}
}

// Bytes serializes the model.
func (b *Builder) Bytes() []byte {
	data, err := proto.Marshal(b.Model())
	if err != nil {
		panic(err)
	}
	return data
}
