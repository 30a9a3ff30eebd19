package tflitefile

import (
	"fmt"
	"math"

	flatbuffers "github.com/google/flatbuffers/go"
)

// fileIdentifier is the four bytes after the root offset of every .tflite.
const fileIdentifier = "TFL3"

type opKey struct {
	op      BuiltinOp
	custom  string
	version int32
}

// Marshal encodes the model as a .tflite flatbuffer. Buffer data is aligned
// to 16 bytes so that runtimes can use it in place.
func (m *Model) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("marshal: %w", err)
	}
	size := 4096
	for _, buf := range m.Buffers {
		size += len(buf.Data) + 32
	}
	b := flatbuffers.NewBuilder(size)

	// Operator codes, deduplicated in order of first use.
	var codes []opKey
	codeIndex := map[opKey]uint32{}
	for _, g := range m.Subgraphs {
		for _, op := range g.Operators {
			k := opKeyOf(op)
			if _, ok := codeIndex[k]; !ok {
				codeIndex[k] = uint32(len(codes))
				codes = append(codes, k)
			}
		}
	}

	buffers := make([]flatbuffers.UOffsetT, len(m.Buffers))
	for i := len(m.Buffers) - 1; i >= 0; i-- {
		buffers[i] = writeBuffer(b, m.Buffers[i].Data)
	}
	subgraphs := make([]flatbuffers.UOffsetT, len(m.Subgraphs))
	for i, g := range m.Subgraphs {
		subgraphs[i] = writeSubgraph(b, g, codeIndex)
	}
	codeOffs := make([]flatbuffers.UOffsetT, len(codes))
	for i, k := range codes {
		var custom flatbuffers.UOffsetT
		if k.custom != "" {
			custom = b.CreateString(k.custom)
		}
		b.StartObject(opcodeSlots)
		dep := int32(k.op)
		if dep > 127 {
			dep = 127
		}
		b.PrependInt8(int8(dep))
		b.Slot(opcodeDeprecatedBuiltinCode)
		if custom != 0 {
			b.PrependUOffsetTSlot(opcodeCustomCode, custom, 0)
		}
		b.PrependInt32(k.version)
		b.Slot(opcodeVersion)
		b.PrependInt32(int32(k.op))
		b.Slot(opcodeBuiltinCode)
		codeOffs[i] = b.EndObject()
	}
	metaOffs := make([]flatbuffers.UOffsetT, len(m.Metadata))
	for i, md := range m.Metadata {
		name := b.CreateString(md.Name)
		b.StartObject(metadataSlots)
		b.PrependUOffsetTSlot(metadataName, name, 0)
		b.PrependUint32(md.Buffer)
		b.Slot(metadataBuffer)
		metaOffs[i] = b.EndObject()
	}

	codesVec := tableVector(b, codeOffs)
	subgraphsVec := tableVector(b, subgraphs)
	buffersVec := tableVector(b, buffers)
	var metaVec, desc flatbuffers.UOffsetT
	if len(metaOffs) > 0 {
		metaVec = tableVector(b, metaOffs)
	}
	if m.Description != "" {
		desc = b.CreateString(m.Description)
	}
	version := m.Version
	if version == 0 {
		version = 3
	}
	b.StartObject(modelSlots)
	b.PrependUint32(version)
	b.Slot(modelVersion)
	b.PrependUOffsetTSlot(modelOperatorCodes, codesVec, 0)
	b.PrependUOffsetTSlot(modelSubgraphs, subgraphsVec, 0)
	if desc != 0 {
		b.PrependUOffsetTSlot(modelDescription, desc, 0)
	}
	b.PrependUOffsetTSlot(modelBuffers, buffersVec, 0)
	if metaVec != 0 {
		b.PrependUOffsetTSlot(modelMetadata, metaVec, 0)
	}
	root := b.EndObject()
	b.FinishWithFileIdentifier(root, []byte(fileIdentifier))
	return b.FinishedBytes(), nil
}

func opKeyOf(op *Operator) opKey {
	v := op.Version
	if v == 0 {
		v = 1
	}
	k := opKey{op: op.Op, version: v}
	if op.Op == Custom {
		k.custom = op.Custom
	}
	return k
}

func writeBuffer(b *flatbuffers.Builder, data []byte) flatbuffers.UOffsetT {
	var vec flatbuffers.UOffsetT
	if len(data) > 0 {
		b.StartVector(1, len(data), 16)
		for i := len(data) - 1; i >= 0; i-- {
			b.PlaceByte(data[i])
		}
		vec = b.EndVector(len(data))
	}
	b.StartObject(bufferSlots)
	if vec != 0 {
		b.PrependUOffsetTSlot(bufferData, vec, 0)
	}
	return b.EndObject()
}

func writeSubgraph(b *flatbuffers.Builder, g *Subgraph, codeIndex map[opKey]uint32) flatbuffers.UOffsetT {
	tensors := make([]flatbuffers.UOffsetT, len(g.Tensors))
	for i, t := range g.Tensors {
		tensors[i] = writeTensor(b, t)
	}
	ops := make([]flatbuffers.UOffsetT, len(g.Operators))
	for i, op := range g.Operators {
		ops[i] = writeOperator(b, op, codeIndex[opKeyOf(op)])
	}
	tensorsVec := tableVector(b, tensors)
	inputs := int32Vector(b, g.Inputs)
	outputs := int32Vector(b, g.Outputs)
	opsVec := tableVector(b, ops)
	var name flatbuffers.UOffsetT
	if g.Name != "" {
		name = b.CreateString(g.Name)
	}
	b.StartObject(subgraphSlots)
	b.PrependUOffsetTSlot(subgraphTensors, tensorsVec, 0)
	b.PrependUOffsetTSlot(subgraphInputs, inputs, 0)
	b.PrependUOffsetTSlot(subgraphOutputs, outputs, 0)
	b.PrependUOffsetTSlot(subgraphOperators, opsVec, 0)
	if name != 0 {
		b.PrependUOffsetTSlot(subgraphName, name, 0)
	}
	return b.EndObject()
}

func writeTensor(b *flatbuffers.Builder, t *Tensor) flatbuffers.UOffsetT {
	var shape, sig, name, quant flatbuffers.UOffsetT
	if t.Shape != nil { // nil and [] both mean a scalar; keep which one it was
		shape = int32Vector(b, t.Shape)
	}
	if t.ShapeSignature != nil {
		sig = int32Vector(b, t.ShapeSignature)
	}
	if t.Name != "" {
		name = b.CreateString(t.Name)
	}
	if t.Quant != nil {
		quant = writeQuant(b, t.Quant)
	}
	b.StartObject(tensorSlots)
	if shape != 0 {
		b.PrependUOffsetTSlot(tensorShape, shape, 0)
	}
	b.PrependInt8(int8(t.Type))
	b.Slot(tensorType)
	b.PrependUint32Slot(tensorBuffer, t.Buffer, 0)
	if name != 0 {
		b.PrependUOffsetTSlot(tensorName, name, 0)
	}
	if quant != 0 {
		b.PrependUOffsetTSlot(tensorQuantization, quant, 0)
	}
	b.PrependBoolSlot(tensorIsVariable, t.IsVariable, false)
	if sig != 0 {
		b.PrependUOffsetTSlot(tensorShapeSignature, sig, 0)
	}
	return b.EndObject()
}

func writeQuant(b *flatbuffers.Builder, q *Quantization) flatbuffers.UOffsetT {
	floats := func(v []float32) flatbuffers.UOffsetT {
		if v == nil {
			return 0
		}
		b.StartVector(4, len(v), 4)
		for i := len(v) - 1; i >= 0; i-- {
			b.PrependFloat32(v[i])
		}
		return b.EndVector(len(v))
	}
	minV, maxV, scale := floats(q.Min), floats(q.Max), floats(q.Scale)
	var zp flatbuffers.UOffsetT
	if q.ZeroPoint != nil {
		b.StartVector(8, len(q.ZeroPoint), 8)
		for i := len(q.ZeroPoint) - 1; i >= 0; i-- {
			b.PrependInt64(q.ZeroPoint[i])
		}
		zp = b.EndVector(len(q.ZeroPoint))
	}
	b.StartObject(quantSlots)
	for _, f := range []struct {
		slot int
		off  flatbuffers.UOffsetT
	}{{quantMin, minV}, {quantMax, maxV}, {quantScale, scale}, {quantZeroPoint, zp}} {
		if f.off != 0 {
			b.PrependUOffsetTSlot(f.slot, f.off, 0)
		}
	}
	b.PrependInt32Slot(quantQuantizedDimension, q.QuantizedDimension, 0)
	return b.EndObject()
}

func writeOperator(b *flatbuffers.Builder, op *Operator, code uint32) flatbuffers.UOffsetT {
	inputs := int32Vector(b, op.Inputs)
	outputs := int32Vector(b, op.Outputs)
	var opts, custom flatbuffers.UOffsetT
	if op.Options != nil {
		opts = writeOptions(b, op.Options)
	}
	if len(op.CustomOptions) > 0 {
		custom = b.CreateByteVector(op.CustomOptions)
	}
	b.StartObject(operatorSlots)
	b.PrependUint32Slot(operatorOpcodeIndex, code, 0)
	b.PrependUOffsetTSlot(operatorInputs, inputs, 0)
	b.PrependUOffsetTSlot(operatorOutputs, outputs, 0)
	if opts != 0 {
		b.PrependByte(op.Options.UnionType())
		b.Slot(operatorBuiltinOptionsType)
		b.PrependUOffsetTSlot(operatorBuiltinOptions, opts, 0)
	}
	if custom != 0 {
		b.PrependUOffsetTSlot(operatorCustomOptions, custom, 0)
	}
	return b.EndObject()
}

// writeOptions writes every field of an options table explicitly, defaults
// included, so that readers which ignore schema defaults still agree.
func writeOptions(b *flatbuffers.Builder, o Options) flatbuffers.UOffsetT {
	fs := o.fields()
	vecs := map[int]flatbuffers.UOffsetT{}
	for _, f := range fs {
		if p, ok := f.ptr.(*[]int32); ok && *p != nil {
			vecs[f.slot] = int32Vector(b, *p)
		}
	}
	n := 0
	for _, f := range fs {
		n = max(n, f.slot+1)
	}
	if raw, ok := o.(*RawOptions); ok {
		for s := range raw.Scalar {
			n = max(n, s+1)
		}
	}
	b.StartObject(n)
	for _, f := range fs {
		switch p := f.ptr.(type) {
		case *int32:
			b.PrependInt32(*p)
		case *float32:
			b.PrependFloat32(*p)
		case *bool:
			b.PrependBool(*p)
		case *Padding:
			b.PrependInt8(int8(*p))
		case *Activation:
			b.PrependInt8(int8(*p))
		case *MirrorPadMode:
			b.PrependInt8(int8(*p))
		case *TensorType:
			b.PrependInt8(int8(*p))
		case *[]int32:
			if off, ok := vecs[f.slot]; ok {
				b.PrependUOffsetTSlot(f.slot, off, 0)
			}
			continue
		default:
			panic(fmt.Sprintf("tflitefile: unhandled option field type %T", p))
		}
		b.Slot(f.slot)
	}
	if raw, ok := o.(*RawOptions); ok {
		for s, v := range raw.Scalar {
			switch raw.Width[s] {
			case 1:
				b.PrependUint8(uint8(v))
			case 2:
				b.PrependUint16(uint16(v))
			case 4:
				b.PrependUint32(uint32(v))
			default:
				b.PrependUint64(v)
			}
			b.Slot(s)
		}
	}
	return b.EndObject()
}

func int32Vector(b *flatbuffers.Builder, v []int32) flatbuffers.UOffsetT {
	b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependInt32(v[i])
	}
	return b.EndVector(len(v))
}

func tableVector(b *flatbuffers.Builder, offs []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	b.StartVector(4, len(offs), 4)
	for i := len(offs) - 1; i >= 0; i-- {
		b.PrependUOffsetT(offs[i])
	}
	return b.EndVector(len(offs))
}

// Float32Bytes encodes v little-endian, as TFLite stores float32 tensors.
func Float32Bytes(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		u := math.Float32bits(x)
		out[4*i], out[4*i+1], out[4*i+2], out[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	return out
}

// Int32Bytes encodes v little-endian.
func Int32Bytes(v []int32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		u := uint32(x)
		out[4*i], out[4*i+1], out[4*i+2], out[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	return out
}

// Int8Bytes reinterprets v as bytes.
func Int8Bytes(v []int8) []byte {
	out := make([]byte, len(v))
	for i, x := range v {
		out[i] = byte(x)
	}
	return out
}

// BytesFloat32 decodes little-endian float32 data.
func BytesFloat32(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
	}
	return out
}

// BytesInt32 decodes little-endian int32 data.
func BytesInt32(b []byte) []int32 {
	out := make([]int32, len(b)/4)
	for i := range out {
		out[i] = int32(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
	}
	return out
}
