package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/animed/animed/converter/ir"
)

// Opset range of the default ONNX domain the converter understands.
const (
	MinOpset = 1
	MaxOpset = 18
)

// maxElements bounds any single tensor the loader allocates (1G elements),
// so a corrupt header cannot make it allocate without bound.
const maxElements = 1 << 30

// LoadFile reads an ONNX model file. External tensor data is resolved
// relative to the file's directory.
func LoadFile(path string) (*ir.Graph, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	g, err := Load(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// Load decodes an ONNX model. dir is where external data files live ("" to
// refuse external data).
func Load(data []byte, dir string) (*ir.Graph, error) {
	if len(data) == 0 {
		return nil, errors.New("not an ONNX model: empty file")
	}
	var m ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("not an ONNX model (protobuf decode: %v)", err)
	}
	if m.Graph == nil {
		return nil, errors.New("not an ONNX model: no graph")
	}
	if len(m.Graph.Node) == 0 {
		return nil, errors.New("ONNX model has no nodes")
	}
	opset := -1
	for _, o := range m.OpsetImport {
		if d := o.GetDomain(); d == "" || d == "ai.onnx" {
			opset = int(o.GetVersion())
		}
	}
	if opset < 0 {
		if len(m.OpsetImport) == 0 && m.GetIrVersion() <= 2 {
			opset = 1
		} else {
			return nil, errors.New("ONNX model imports no default-domain (ai.onnx) opset")
		}
	}
	if opset < MinOpset || opset > MaxOpset {
		return nil, fmt.Errorf("ONNX opset %d is not supported (supported: %d to %d)", opset, MinOpset, MaxOpset)
	}
	l := &loader{dir: dir, values: map[string]*ir.Value{}, produced: map[*ir.Value]bool{}}
	g, err := l.graph(m.Graph)
	if err != nil {
		return nil, err
	}
	g.Opset = opset
	g.Metadata["source_producer"] = strings.TrimSpace(m.GetProducerName() + " " + m.GetProducerVersion())
	return g, nil
}

type loader struct {
	dir      string
	values   map[string]*ir.Value
	produced map[*ir.Value]bool // graph inputs and node outputs
	g        *ir.Graph
}

func (l *loader) graph(gp *GraphProto) (*ir.Graph, error) {
	g := ir.NewGraph(gp.GetName())
	l.g = g
	for _, t := range gp.Initializer {
		c, err := l.tensor(t)
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", t.GetName(), err)
		}
		if t.GetName() == "" {
			return nil, errors.New("initializer without a name")
		}
		if _, dup := l.values[t.GetName()]; dup {
			return nil, fmt.Errorf("initializer %q is defined twice", t.GetName())
		}
		l.values[t.GetName()] = &ir.Value{Name: t.GetName(), DType: c.DType, Shape: c.Shape, Const: c}
	}
	for _, vi := range gp.Input {
		if _, ok := l.values[vi.GetName()]; ok {
			continue // an initializer listed as input (old exporters)
		}
		if vi.GetName() == "" {
			return nil, errors.New("graph input without a name")
		}
		v, err := valueInfo(vi)
		if err != nil {
			return nil, fmt.Errorf("graph input %q: %w", vi.GetName(), err)
		}
		if l.produced[v] || l.values[v.Name] != nil {
			return nil, fmt.Errorf("graph input %q is declared twice", v.Name)
		}
		l.values[v.Name] = v
		l.produced[v] = true
		g.Inputs = append(g.Inputs, v)
	}
	if len(g.Inputs) == 0 {
		return nil, errors.New("ONNX graph has no (non-constant) inputs")
	}
	for i, np := range gp.Node {
		if err := l.node(np, i); err != nil {
			return nil, err
		}
	}
	for _, vi := range gp.Output {
		v, ok := l.values[vi.GetName()]
		if !ok {
			return nil, fmt.Errorf("graph output %q is not produced by any node", vi.GetName())
		}
		if v.Shape == nil {
			if info, err := valueInfo(vi); err == nil {
				v.Shape = info.Shape
			}
		}
		g.Outputs = append(g.Outputs, v)
	}
	if len(g.Outputs) == 0 {
		return nil, errors.New("ONNX graph has no outputs")
	}
	// Shapes exporters recorded for intermediate values help inference.
	for _, vi := range gp.ValueInfo {
		if v, ok := l.values[vi.GetName()]; ok && v.Shape == nil && !v.IsConst() {
			if info, err := valueInfo(vi); err == nil {
				v.Shape = info.Shape
			}
		}
	}
	if err := g.Sort(); err != nil {
		return nil, err
	}
	return g, nil
}

func nodeName(np *NodeProto, i int) string {
	if np.GetName() != "" {
		return np.GetName()
	}
	if len(np.Output) > 0 && np.Output[0] != "" {
		return np.Output[0]
	}
	return fmt.Sprintf("node%d", i)
}

func (l *loader) node(np *NodeProto, idx int) error {
	name := nodeName(np, idx)
	if d := np.GetDomain(); d != "" && d != "ai.onnx" {
		return fmt.Errorf("node %q: op %s from domain %q is not supported", name, np.GetOpType(), d)
	}
	if np.GetOpType() == "" {
		return fmt.Errorf("node %q has no op type", name)
	}
	if len(np.Output) == 0 || np.Output[0] == "" {
		return fmt.Errorf("node %q (%s) has no output", name, np.GetOpType())
	}
	attrs := ir.Attrs{}
	for _, a := range np.Attribute {
		v, err := l.attr(a)
		if err != nil {
			return fmt.Errorf("node %q (%s): attribute %q: %w", name, np.GetOpType(), a.GetName(), err)
		}
		attrs[a.GetName()] = v
	}
	if np.GetOpType() == "Constant" {
		if len(np.Output) != 1 || np.Output[0] == "" {
			return fmt.Errorf("node %q (Constant): needs one output", name)
		}
		t, err := constantValue(attrs)
		if err != nil {
			return fmt.Errorf("node %q (Constant): %w", name, err)
		}
		l.values[np.Output[0]] = &ir.Value{Name: np.Output[0], DType: t.DType, Shape: t.Shape, Const: t}
		return nil
	}
	var in []*ir.Value
	for _, s := range np.Input {
		if s == "" {
			in = append(in, nil)
			continue
		}
		v, ok := l.values[s]
		if !ok {
			// Forward reference: ONNX requires topological order, but be
			// lenient and let Sort check it.
			v = &ir.Value{Name: s}
			l.values[s] = v
		}
		in = append(in, v)
	}
	var out []*ir.Value
	for _, s := range np.Output {
		if s == "" {
			out = append(out, nil)
			continue
		}
		v, ok := l.values[s]
		if ok && (v.IsConst() || l.produced[v]) {
			return fmt.Errorf("node %q (%s): output %q is already defined", name, np.GetOpType(), s)
		}
		if !ok {
			v = &ir.Value{Name: s}
			l.values[s] = v
		}
		l.produced[v] = true
		out = append(out, v)
	}
	l.g.Add(np.GetOpType(), name, in, out, attrs)
	return nil
}

func constantValue(a ir.Attrs) (*ir.Tensor, error) {
	switch {
	case a.Has("value"):
		t, ok := a["value"].(*ir.Tensor)
		if !ok {
			return nil, errors.New("attribute value is not a tensor")
		}
		return t, nil
	case a.Has("value_float"):
		return ir.FloatTensor(nil, []float32{a.Float("value_float", 0)}), nil
	case a.Has("value_floats"):
		f := a.Floats("value_floats")
		return ir.FloatTensor([]int{len(f)}, f), nil
	case a.Has("value_int"):
		return ir.IntTensor(nil, []int64{a.Int("value_int", 0)}), nil
	case a.Has("value_ints"):
		i := a.Ints("value_ints")
		return ir.IntTensor([]int{len(i)}, i), nil
	}
	return nil, errors.New("no supported value attribute (sparse and string constants are not supported)")
}

func (l *loader) attr(a *AttributeProto) (any, error) {
	typ := a.GetType()
	if typ == AttributeProto_UNDEFINED {
		// Old writers leave type unset: infer from what is filled.
		switch {
		case a.T != nil:
			typ = AttributeProto_TENSOR
		case len(a.Floats) > 0:
			typ = AttributeProto_FLOATS
		case len(a.Ints) > 0:
			typ = AttributeProto_INTS
		case len(a.Strings) > 0:
			typ = AttributeProto_STRINGS
		case a.S != nil:
			typ = AttributeProto_STRING
		case a.F != nil:
			typ = AttributeProto_FLOAT
		default:
			typ = AttributeProto_INT
		}
	}
	switch typ {
	case AttributeProto_FLOAT:
		return a.GetF(), nil
	case AttributeProto_INT:
		return a.GetI(), nil
	case AttributeProto_STRING:
		return string(a.GetS()), nil
	case AttributeProto_FLOATS:
		return append([]float32(nil), a.Floats...), nil
	case AttributeProto_INTS:
		return append([]int64(nil), a.Ints...), nil
	case AttributeProto_STRINGS:
		s := make([]string, len(a.Strings))
		for i, b := range a.Strings {
			s[i] = string(b)
		}
		return s, nil
	case AttributeProto_TENSOR:
		if a.T == nil {
			return nil, errors.New("tensor attribute without a tensor")
		}
		return l.tensor(a.T)
	}
	return nil, fmt.Errorf("attribute type %v is not supported (subgraphs and sparse tensors are not)", typ)
}

func valueInfo(vi *ValueInfoProto) (*ir.Value, error) {
	v := &ir.Value{Name: vi.GetName()}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return v, nil // unknown type: inference fills it in
	}
	dt, err := dtype(TensorProto_DataType(tt.GetElemType()))
	if err != nil && tt.GetElemType() != 0 {
		return nil, err
	}
	v.DType = dt
	if tt.Shape != nil {
		v.Shape = make([]int, len(tt.Shape.Dim))
		for i, d := range tt.Shape.Dim {
			v.Shape[i] = -1
			if x, ok := d.Value.(*TensorShapeProto_Dimension_DimValue); ok && x.DimValue > 0 && x.DimValue < maxElements {
				v.Shape[i] = int(x.DimValue)
			}
		}
	}
	return v, nil
}

func dtype(t TensorProto_DataType) (ir.DType, error) {
	switch t {
	case TensorProto_FLOAT:
		return ir.Float32, nil
	case TensorProto_INT64:
		return ir.Int64, nil
	case TensorProto_INT32:
		return ir.Int32, nil
	case TensorProto_BOOL:
		return ir.Bool, nil
	case TensorProto_INT8:
		return ir.Int8, nil
	case TensorProto_UINT8:
		return ir.Uint8, nil
	case TensorProto_FLOAT16:
		return ir.Float16, nil
	case TensorProto_DOUBLE:
		return ir.Float64, nil
	}
	return ir.Undefined, fmt.Errorf("element type %v is not supported", t)
}

// elemSize is the raw_data width of each supported type.
func elemSize(dt ir.DType) int {
	switch dt {
	case ir.Float32, ir.Int32:
		return 4
	case ir.Int64, ir.Float64:
		return 8
	case ir.Float16:
		return 2
	}
	return 1
}

func (l *loader) tensor(t *TensorProto) (*ir.Tensor, error) {
	dt, err := dtype(TensorProto_DataType(t.GetDataType()))
	if err != nil {
		return nil, err
	}
	shape := make([]int, len(t.Dims))
	n := 1
	for i, d := range t.Dims {
		if d < 0 || d > maxElements {
			return nil, fmt.Errorf("bad dimension %d", d)
		}
		shape[i] = int(d)
		if d > 0 && n > maxElements/int(d) {
			return nil, errors.New("tensor too large")
		}
		n *= int(d)
	}
	if t.Segment != nil {
		return nil, errors.New("segmented tensors are not supported")
	}
	raw := t.RawData
	if t.GetDataLocation() == TensorProto_EXTERNAL {
		raw, err = l.external(t, n*elemSize(dt))
		if err != nil {
			return nil, err
		}
	}
	out := &ir.Tensor{DType: dt, Shape: shape}
	if raw != nil || t.GetDataLocation() == TensorProto_EXTERNAL {
		if len(raw) != n*elemSize(dt) {
			return nil, fmt.Errorf("raw data has %d bytes, shape %v of %v needs %d", len(raw), shape, dt, n*elemSize(dt))
		}
		le := binary.LittleEndian
		switch dt {
		case ir.Float32:
			out.F = make([]float32, n)
			for i := range out.F {
				out.F[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
			}
		case ir.Float64:
			out.F = make([]float32, n)
			for i := range out.F {
				out.F[i] = float32(math.Float64frombits(le.Uint64(raw[8*i:])))
			}
		case ir.Float16:
			out.F = make([]float32, n)
			for i := range out.F {
				out.F[i] = halfToFloat(le.Uint16(raw[2*i:]))
			}
		case ir.Int64:
			out.I = make([]int64, n)
			for i := range out.I {
				out.I[i] = int64(le.Uint64(raw[8*i:]))
			}
		case ir.Int32:
			out.I = make([]int64, n)
			for i := range out.I {
				out.I[i] = int64(int32(le.Uint32(raw[4*i:])))
			}
		case ir.Int8:
			out.I = make([]int64, n)
			for i := range out.I {
				out.I[i] = int64(int8(raw[i]))
			}
		case ir.Uint8, ir.Bool:
			out.I = make([]int64, n)
			for i := range out.I {
				out.I[i] = int64(raw[i])
			}
		}
		return out, nil
	}
	var got int
	switch dt {
	case ir.Float32:
		out.F, got = append([]float32(nil), t.FloatData...), len(t.FloatData)
	case ir.Float64:
		out.F = make([]float32, len(t.DoubleData))
		for i, v := range t.DoubleData {
			out.F[i] = float32(v)
		}
		got = len(t.DoubleData)
	case ir.Float16:
		out.F = make([]float32, len(t.Int32Data))
		for i, v := range t.Int32Data {
			out.F[i] = halfToFloat(uint16(v))
		}
		got = len(t.Int32Data)
	case ir.Int64:
		out.I, got = append([]int64(nil), t.Int64Data...), len(t.Int64Data)
	default: // int32, int8, uint8, bool live in int32_data
		out.I = make([]int64, len(t.Int32Data))
		for i, v := range t.Int32Data {
			out.I[i] = int64(v)
		}
		got = len(t.Int32Data)
	}
	if got != n {
		return nil, fmt.Errorf("has %d values, shape %v needs %d", got, shape, n)
	}
	return out, nil
}

func (l *loader) external(t *TensorProto, size int) ([]byte, error) {
	var loc string
	var off, length int64 = 0, -1
	for _, kv := range t.ExternalData {
		switch kv.GetKey() {
		case "location":
			loc = kv.GetValue()
		case "offset":
			if _, err := fmt.Sscan(kv.GetValue(), &off); err != nil || off < 0 {
				return nil, fmt.Errorf("bad external data offset %q", kv.GetValue())
			}
		case "length":
			if _, err := fmt.Sscan(kv.GetValue(), &length); err != nil || length < 0 {
				return nil, fmt.Errorf("bad external data length %q", kv.GetValue())
			}
		}
	}
	if l.dir == "" {
		return nil, errors.New("external data is not available when loading from memory")
	}
	if loc == "" || filepath.IsAbs(loc) || !filepath.IsLocal(loc) {
		return nil, fmt.Errorf("external data location %q must be a relative path inside the model's folder", loc)
	}
	if length < 0 {
		length = int64(size)
	}
	if length != int64(size) {
		return nil, fmt.Errorf("external data length %d, tensor needs %d bytes", length, size)
	}
	f, err := os.Open(filepath.Join(l.dir, loc))
	if err != nil {
		return nil, fmt.Errorf("external data: %w", err)
	}
	defer f.Close()
	buf := make([]byte, length)
	if _, err := f.ReadAt(buf, off); err != nil && !(errors.Is(err, io.EOF) && length == 0) {
		return nil, fmt.Errorf("external data %s at %d+%d: %w", loc, off, length, err)
	}
	return buf, nil
}

func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		for frac&0x400 == 0 {
			frac <<= 1
			exp--
		}
		exp++
		frac &= 0x3ff
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

// LoadTensor decodes one TensorProto (e.g. a test-data .pb file) without
// external data.
func LoadTensor(t *TensorProto) (*ir.Tensor, error) {
	return (&loader{}).tensor(t)
}
