package tflitefile

import (
	"encoding/binary"
	"errors"
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"
)

// ErrNotTFLite reports data without the "TFL3" file identifier.
var ErrNotTFLite = errors.New("not a TFLite model (no TFL3 identifier)")

// Parse decodes a .tflite file. It copies what it keeps, so data may be
// reused afterwards. Malformed input gives an error, never a panic.
func Parse(data []byte) (*Model, error) { return parse(data, true) }

// View decodes like Parse, but the buffers of the model it returns share
// data instead of copying it: for reading a model's graph without keeping
// or changing it.
func View(data []byte) (*Model, error) { return parse(data, false) }

func parse(data []byte, copyBuffers bool) (m *Model, err error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("parse: %d bytes is too short for a model", len(data))
	}
	if string(data[4:8]) != fileIdentifier {
		return nil, fmt.Errorf("parse: %w", ErrNotTFLite)
	}
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("parse: malformed flatbuffer: %v", r)
		}
	}()
	root := tbl{flatbuffers.Table{Bytes: data, Pos: flatbuffers.GetUOffsetT(data)}}
	root.check()
	m = &Model{
		Version:     root.uint32(modelVersion, 0),
		Description: root.str(modelDescription),
	}
	var codes []opKey
	for _, c := range root.tables(modelOperatorCodes) {
		op := BuiltinOp(max(int32(c.int8(opcodeDeprecatedBuiltinCode, 0)), c.int32(opcodeBuiltinCode, 0)))
		codes = append(codes, opKey{op: op, custom: c.str(opcodeCustomCode), version: c.int32(opcodeVersion, 1)})
	}
	for _, bt := range root.tables(modelBuffers) {
		b := bt.bytes(bufferData)
		if copyBuffers {
			b = append([]byte(nil), b...)
		}
		m.Buffers = append(m.Buffers, Buffer{Data: b})
	}
	for _, g := range root.tables(modelSubgraphs) {
		sg := &Subgraph{Name: g.str(subgraphName), Inputs: g.int32s(subgraphInputs), Outputs: g.int32s(subgraphOutputs)}
		for _, t := range g.tables(subgraphTensors) {
			tensor := &Tensor{
				Name:       t.str(tensorName),
				Shape:      t.int32s(tensorShape),
				Type:       TensorType(t.int8(tensorType, 0)),
				Buffer:     t.uint32(tensorBuffer, 0),
				IsVariable: t.bool(tensorIsVariable),
			}
			if t.has(tensorShapeSignature) {
				tensor.ShapeSignature = t.int32s(tensorShapeSignature)
			}
			if q, ok := t.table(tensorQuantization); ok {
				tensor.Quant = &Quantization{
					Min:                q.float32s(quantMin),
					Max:                q.float32s(quantMax),
					Scale:              q.float32s(quantScale),
					ZeroPoint:          q.int64s(quantZeroPoint),
					QuantizedDimension: q.int32(quantQuantizedDimension, 0),
				}
			}
			sg.Tensors = append(sg.Tensors, tensor)
		}
		for i, o := range g.tables(subgraphOperators) {
			idx := o.uint32(operatorOpcodeIndex, 0)
			if int(idx) >= len(codes) {
				return nil, fmt.Errorf("parse: operator %d uses opcode %d of %d", i, idx, len(codes))
			}
			k := codes[idx]
			op := &Operator{Op: k.op, Custom: k.custom, Version: k.version,
				Inputs: o.int32s(operatorInputs), Outputs: o.int32s(operatorOutputs)}
			if bt := o.uint8(operatorBuiltinOptionsType, 0); bt != 0 {
				if ot, ok := o.table(operatorBuiltinOptions); ok {
					op.Options = readOptions(ot, bt)
				}
			}
			if o.has(operatorCustomOptions) {
				op.CustomOptions = append([]byte(nil), o.bytes(operatorCustomOptions)...)
			}
			sg.Operators = append(sg.Operators, op)
		}
		m.Subgraphs = append(m.Subgraphs, sg)
	}
	for _, md := range root.tables(modelMetadata) {
		m.Metadata = append(m.Metadata, Metadata{Name: md.str(metadataName), Buffer: md.uint32(metadataBuffer, 0)})
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	return m, nil
}

func readOptions(t tbl, union uint8) Options {
	o := newOptions(union)
	if o == nil {
		raw := &RawOptions{Type: union, Scalar: map[int]uint64{}, Width: map[int]int{}}
		// Without the schema the width of each scalar is unknown: keep four
		// little-endian bytes, which readers of narrower fields truncate.
		n := t.numSlots()
		for s := 0; s < n; s++ {
			if !t.has(s) {
				continue
			}
			pos := t.Pos + t.fieldOffset(s)
			w := min(4, len(t.Bytes)-int(pos))
			var v uint64
			for i := 0; i < w; i++ {
				v |= uint64(t.Bytes[int(pos)+i]) << (8 * i)
			}
			raw.Scalar[s], raw.Width[s] = v, w
		}
		return raw
	}
	for _, f := range o.fields() {
		if !t.has(f.slot) {
			continue
		}
		switch p := f.ptr.(type) {
		case *int32:
			*p = t.int32(f.slot, 0)
		case *float32:
			*p = t.float32(f.slot)
		case *bool:
			*p = t.bool(f.slot)
		case *Padding:
			*p = Padding(t.int8(f.slot, 0))
		case *Activation:
			*p = Activation(t.int8(f.slot, 0))
		case *MirrorPadMode:
			*p = MirrorPadMode(t.int8(f.slot, 0))
		case *TensorType:
			*p = TensorType(t.int8(f.slot, 0))
		case *[]int32:
			*p = t.int32s(f.slot)
		}
	}
	return o
}

// tbl wraps a flatbuffers table with slot-number accessors and bounds checks.
type tbl struct{ flatbuffers.Table }

func (t tbl) check() {
	if int(t.Pos)+4 > len(t.Bytes) {
		panic("table offset out of range")
	}
	vt := int(t.Pos) - int(int32(binary.LittleEndian.Uint32(t.Bytes[t.Pos:])))
	if vt < 0 || vt+4 > len(t.Bytes) {
		panic("vtable out of range")
	}
}

func (t tbl) numSlots() int {
	vt := int(t.Pos) - int(int32(binary.LittleEndian.Uint32(t.Bytes[t.Pos:])))
	return (int(binary.LittleEndian.Uint16(t.Bytes[vt:])) - 4) / 2
}

func (t tbl) fieldOffset(slot int) flatbuffers.UOffsetT {
	return flatbuffers.UOffsetT(t.Offset(flatbuffers.VOffsetT(4 + 2*slot)))
}

func (t tbl) has(slot int) bool { return t.fieldOffset(slot) != 0 }

func (t tbl) need(off flatbuffers.UOffsetT, n int) {
	if int(off)+n > len(t.Bytes) || int(off) < 0 {
		panic(fmt.Sprintf("field at %d+%d beyond %d bytes", off, n, len(t.Bytes)))
	}
}

func (t tbl) int8(slot int, d int8) int8 {
	if o := t.fieldOffset(slot); o != 0 {
		t.need(t.Pos+o, 1)
		return t.GetInt8(t.Pos + o)
	}
	return d
}

func (t tbl) uint8(slot int, d uint8) uint8 { return uint8(t.int8(slot, int8(d))) }

func (t tbl) bool(slot int) bool { return t.int8(slot, 0) != 0 }

func (t tbl) int32(slot int, d int32) int32 {
	if o := t.fieldOffset(slot); o != 0 {
		t.need(t.Pos+o, 4)
		return t.GetInt32(t.Pos + o)
	}
	return d
}

func (t tbl) uint32(slot int, d uint32) uint32 { return uint32(t.int32(slot, int32(d))) }

func (t tbl) float32(slot int) float32 {
	if o := t.fieldOffset(slot); o != 0 {
		t.need(t.Pos+o, 4)
		return t.GetFloat32(t.Pos + o)
	}
	return 0
}

// vector returns the start and length of a vector field.
func (t tbl) vector(slot int, elem int) (flatbuffers.UOffsetT, int) {
	o := t.fieldOffset(slot)
	if o == 0 {
		return 0, 0
	}
	t.need(t.Pos+o, 4)
	start := t.Vector(o)
	t.need(start-4, 4)
	n := t.VectorLen(o)
	if n < 0 || int(start)+n*elem > len(t.Bytes) {
		panic(fmt.Sprintf("vector of %d elements at %d beyond %d bytes", n, start, len(t.Bytes)))
	}
	return start, n
}

func (t tbl) bytes(slot int) []byte {
	start, n := t.vector(slot, 1)
	if n == 0 {
		return nil
	}
	return t.Bytes[start : int(start)+n]
}

func (t tbl) str(slot int) string { return string(t.bytes(slot)) }

func (t tbl) int32s(slot int) []int32 {
	start, n := t.vector(slot, 4)
	if !t.has(slot) {
		return nil
	}
	out := make([]int32, n)
	for i := range out {
		out[i] = t.GetInt32(start + flatbuffers.UOffsetT(4*i))
	}
	return out
}

func (t tbl) int64s(slot int) []int64 {
	start, n := t.vector(slot, 8)
	if !t.has(slot) {
		return nil
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = t.GetInt64(start + flatbuffers.UOffsetT(8*i))
	}
	return out
}

func (t tbl) float32s(slot int) []float32 {
	start, n := t.vector(slot, 4)
	if !t.has(slot) {
		return nil
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = t.GetFloat32(start + flatbuffers.UOffsetT(4*i))
	}
	return out
}

func (t tbl) table(slot int) (tbl, bool) {
	o := t.fieldOffset(slot)
	if o == 0 {
		return tbl{}, false
	}
	t.need(t.Pos+o, 4)
	x := tbl{flatbuffers.Table{Bytes: t.Bytes, Pos: t.Indirect(t.Pos + o)}}
	x.check()
	return x, true
}

func (t tbl) tables(slot int) []tbl {
	start, n := t.vector(slot, 4)
	out := make([]tbl, n)
	for i := range out {
		p := start + flatbuffers.UOffsetT(4*i)
		out[i] = tbl{flatbuffers.Table{Bytes: t.Bytes, Pos: t.Indirect(p)}}
		out[i].check()
	}
	return out
}
