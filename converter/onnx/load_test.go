package onnx_test

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/animed/animed/converter/onnx"
	"github.com/animed/animed/converter/onnxtest"
)

func convModel() *onnxtest.Builder {
	b := onnxtest.New(13)
	x := b.Input("x", 1, 3, 8, 8)
	w := b.Rand("w", -1, 1, 4, 3, 3, 3)
	c := b.Node("Conv", []string{x, w}, onnxtest.A("pads", []int{1, 1, 1, 1}))
	b.Output(b.Node("Relu", []string{c}))
	return b
}

func TestLoad(t *testing.T) {
	g, err := onnx.Load(convModel().Bytes(), "")
	if err != nil {
		t.Fatal(err)
	}
	if g.Opset != 13 || len(g.Nodes) != 2 || g.Nodes[0].Op != "Conv" || g.Nodes[1].Op != "Relu" {
		t.Fatalf("unexpected graph:\n%s", g.Dump())
	}
	w := g.Nodes[0].Inputs[1]
	if !w.IsConst() || len(w.Const.F) != 4*3*3*3 {
		t.Fatalf("weight not loaded: %v", w)
	}
	if got := g.Nodes[0].Attrs.Ints("pads"); len(got) != 4 {
		t.Fatalf("pads = %v", got)
	}
}

func TestLoadTypedAndExternal(t *testing.T) {
	dir := t.TempDir()
	raw := make([]byte, 16+8)
	for i := range 2 {
		binary.LittleEndian.PutUint32(raw[16+4*i:], math.Float32bits(float32(i)+0.5))
	}
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	b := onnxtest.New(13)
	x := b.Input("x", 1, 2)
	m := b.Model()
	ext := &onnx.TensorProto{Name: proto.String("e"), Dims: []int64{2}, DataType: proto.Int32(int32(onnx.TensorProto_FLOAT)),
		DataLocation: onnx.TensorProto_EXTERNAL.Enum(),
		ExternalData: []*onnx.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("w.bin")}, {Key: proto.String("offset"), Value: proto.String("16")}}}
	typed := &onnx.TensorProto{Name: proto.String("f"), Dims: []int64{2}, DataType: proto.Int32(int32(onnx.TensorProto_FLOAT)), FloatData: []float32{3, 4}}
	m.Graph.Initializer = append(m.Graph.Initializer, ext, typed)
	m.Graph.Node = []*onnx.NodeProto{{Name: proto.String("a"), OpType: proto.String("Add"), Input: []string{x, "e"}, Output: []string{"y"}},
		{Name: proto.String("b"), OpType: proto.String("Add"), Input: []string{"y", "f"}, Output: []string{"z"}}}
	m.Graph.Output = []*onnx.ValueInfoProto{{Name: proto.String("z")}}
	data, _ := proto.Marshal(m)
	path := filepath.Join(dir, "m.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := onnx.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Nodes[0].Inputs[1].Const.F; got[0] != 0.5 || got[1] != 1.5 {
		t.Errorf("external data = %v", got)
	}
	if got := g.Nodes[1].Inputs[1].Const.F; got[0] != 3 || got[1] != 4 {
		t.Errorf("typed data = %v", got)
	}
	// External data from memory, or escaping the folder, is refused.
	if _, err := onnx.Load(data, ""); err == nil {
		t.Error("external data loaded without a folder")
	}
	ext.ExternalData[0].Value = proto.String("../w.bin")
	data, _ = proto.Marshal(m)
	if _, err := onnx.Load(data, dir); err == nil || !strings.Contains(err.Error(), "relative path") {
		t.Errorf("escaping location: err = %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	good := convModel().Bytes()
	newer := onnxtest.New(onnx.MaxOpset + 1)
	newer.Output(newer.Node("Relu", []string{newer.Input("x", 1)}))
	foreign := convModel().Model()
	foreign.Graph.Node[1].Domain = proto.String("com.microsoft")
	fdata, _ := proto.Marshal(foreign)
	short := convModel().Model()
	short.Graph.Initializer[0].RawData = short.Graph.Initializer[0].RawData[:10]
	sdata, _ := proto.Marshal(short)
	dup := convModel().Model()
	dup.Graph.Initializer = append(dup.Graph.Initializer, dup.Graph.Initializer[0])
	ddata, _ := proto.Marshal(dup)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"text", []byte("hello, this is not a model"), "not an ONNX model"},
		{"truncated", good[:len(good)/2], "not an ONNX model"},
		{"opset too new", newer.Bytes(), "opset 19 is not supported"},
		{"foreign domain", fdata, `"Relu_2": op Relu from domain "com.microsoft"`},
		{"short raw data", sdata, `initializer "w": raw data has 10 bytes`},
		{"duplicate initializer", ddata, `initializer "w" is defined twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := onnx.Load(tc.data, "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// FuzzLoad checks that no input makes the loader panic. Run it with
// go test -fuzz FuzzLoad ./converter/onnx (not part of CI).
func FuzzLoad(f *testing.F) {
	f.Add(convModel().Bytes())
	f.Add([]byte{0x08, 0x07, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := onnx.Load(data, "")
		if err == nil && g == nil {
			t.Fatal("nil graph without error")
		}
	})
}
