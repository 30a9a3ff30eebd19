package tflitefile

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"github.com/animed/animed/internal/sharedtest"
)

// tiny builds ADD(x, const) with a Conv2D-options-free graph plus a conv, to
// exercise tensors, buffers, quantization and options.
func tiny() *Model {
	m := NewModel()
	g := m.Main()
	in := g.AddTensor(&Tensor{Name: "in", Shape: []int32{1, 4, 4, 3}, Type: Float32})
	w := g.AddTensor(&Tensor{Name: "w", Shape: []int32{2, 1, 1, 3}, Type: Int8,
		Buffer: m.AddBuffer(Int8Bytes([]int8{1, 2, 3, -4, -5, -6})),
		Quant:  &Quantization{Scale: []float32{0.5, 0.25}, ZeroPoint: []int64{0, 0}}})
	bias := g.AddTensor(&Tensor{Name: "b", Shape: []int32{2}, Type: Int32, Buffer: m.AddBuffer(Int32Bytes([]int32{7, -7}))})
	out := g.AddTensor(&Tensor{Name: "out", Shape: []int32{1, 4, 4, 2}, Type: Float32, ShapeSignature: []int32{1, -1, -1, 2}})
	g.Inputs, g.Outputs = []int32{in}, []int32{out}
	g.AddOperator(&Operator{Op: Conv2D, Version: 3, Inputs: []int32{in, w, bias}, Outputs: []int32{out},
		Options: &Conv2DOptions{Padding: Same, StrideW: 1, StrideH: 1, Activation: ActRelu, DilationWFactor: 1, DilationHFac: 1}})
	g.AddOperator(&Operator{Op: Reshape, Version: 1, Inputs: []int32{out}, Outputs: []int32{out},
		Options: &ReshapeOptions{NewShape: []int32{1, 4, 4, 2}}})
	m.Description = "tiny"
	m.SetMetadata("animed.resizable", []byte("true"))
	return m
}

func TestRoundTrip(t *testing.T) {
	m := tiny()
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(data[4:8]) != "TFL3" {
		t.Fatalf("identifier %q", data[4:8])
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	m.Version = 3
	if !reflect.DeepEqual(got, m) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", got, m)
	}
	if v, ok := got.MetadataValue("animed.resizable"); !ok || string(v) != "true" {
		t.Errorf("metadata = %q, %v", v, ok)
	}
	again, err := got.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Error("second marshal is not byte-identical")
	}
}

func TestBufferAlignment(t *testing.T) {
	m := NewModel()
	g := m.Main()
	for i := 1; i < 6; i++ {
		g.AddTensor(&Tensor{Shape: []int32{int32(i + 6)}, Type: Int8, Buffer: m.AddBuffer(bytes.Repeat([]byte{byte(0xa0 + i)}, i+6))})
	}
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 6; i++ {
		d := got.Buffers[i].Data
		off := bytes.Index(data, d) // each buffer's bytes are unique in the file
		if off%16 != 0 {
			t.Errorf("buffer %d at offset %d, not 16-aligned", i, off)
		}
	}
}

func TestParseRejects(t *testing.T) {
	good, err := tiny().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":     nil,
		"short":     []byte("TFL3"),
		"not tfl":   []byte("hello world, not a model"),
		"truncated": good[:len(good)/2],
		"garbage":   append([]byte{0xff, 0xff, 0xff, 0x7f, 'T', 'F', 'L', '3'}, good[8:]...),
	}
	for name, data := range cases {
		if _, err := Parse(data); err == nil {
			t.Errorf("%s: Parse succeeded", name)
		}
	}
}

func TestValidate(t *testing.T) {
	m := tiny()
	m.Main().Operators[0].Inputs[0] = 99
	if err := m.Validate(); err == nil {
		t.Error("out-of-range tensor index accepted")
	}
	m = tiny()
	m.Buffers[0].Data = []byte{1}
	if err := m.Validate(); err == nil {
		t.Error("non-empty buffer 0 accepted")
	}
	m = tiny()
	m.Main().Tensors[1].Shape = []int32{3, 1, 1, 3}
	if err := m.Validate(); err == nil {
		t.Error("data size mismatch accepted")
	}
}

// The teacher model from ../shared round-trips without loss.
func TestTeacherRoundTrip(t *testing.T) {
	data, err := os.ReadFile(sharedtest.Teacher(t))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Main().Operators) < 50 {
		t.Fatalf("only %d operators", len(m.Main().Operators))
	}
	hist := map[BuiltinOp]int{}
	for _, op := range m.Main().Operators {
		hist[op.Op]++
	}
	for _, want := range []BuiltinOp{Conv2D, DepthwiseConv2D, MirrorPad, LeakyRelu, ResizeBilinear, Tanh} {
		if hist[want] == 0 {
			t.Errorf("teacher has no %s (ops: %v)", want, hist)
		}
	}
	out, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, m2) {
		t.Error("teacher does not round-trip")
	}
}

func FuzzParse(f *testing.F) {
	good, _ := tiny().Marshal()
	f.Add(good)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err == nil {
			if _, err := m.Marshal(); err != nil {
				t.Fatalf("parsed model does not marshal: %v", err)
			}
		}
	})
}
