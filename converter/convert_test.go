package converter_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/animed/animed/converter"
	"github.com/animed/animed/converter/onnx"
	. "github.com/animed/animed/converter/onnxtest"
	"github.com/animed/animed/internal/tflitefile"
)

// fullyConv is a small resizable generator with symbolic H and W.
func fullyConv() *Builder {
	b := New(13)
	x := b.Input("image", 1, 3, -1, -1)
	c := b.Node("Conv", []string{x, b.Rand("w", -1, 1, 8, 3, 3, 3), b.Rand("b", -1, 1, 8)}, A("pads", []int{1, 1, 1, 1}))
	d := b.Node("Conv", []string{b.Node("Relu", []string{c}), b.Rand("w2", -1, 1, 3, 8, 1, 1)})
	b.Output(b.Node("Tanh", []string{d}))
	return b
}

func ExampleConvert() {
	g, err := onnx.Load(fullyConv().Bytes(), "")
	if err != nil {
		panic(err)
	}
	res, err := converter.Convert(g, converter.Options{InputShape: []int{1, 3, 64, 48}})
	if err != nil {
		panic(err)
	}
	data, err := res.Model.Marshal()
	if err != nil {
		panic(err)
	}
	fmt.Println(len(data) > 0, res.Info.Resizable, res.Graph.Inputs[0].Shape)
	// Output: true true [1 64 48 3]
}

func TestConvertMetadataRoundTrip(t *testing.T) {
	g, err := onnx.Load(fullyConv().Bytes(), "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := converter.Convert(g, converter.Options{InputShape: []int{1, 3, 32, 32}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := res.Model.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := tflitefile.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	info, err := converter.ReadInfo(m)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Resizable || info.Opset != 13 || info.Layouts["input0_layout"] != "NHWC" || info.Layouts["output0_layout"] != "NHWC" {
		t.Errorf("info = %+v", info)
	}
	if !strings.Contains(m.Description, "resizable=true") {
		t.Errorf("description %q", m.Description)
	}
	var ops []string
	for _, op := range m.Main().Operators {
		ops = append(ops, op.Op.String())
	}
	if want := []string{"CONV_2D", "CONV_2D", "TANH"}; !slices.Equal(ops, want) {
		t.Errorf("ops %v, want %v (ReLU fused)", ops, want)
	}
	s := converter.Summarize(m)
	if s.Params != 8*3*9+8+3*8+3 || s.MACs != int64(32*32*8*27+32*32*3*8) {
		t.Errorf("summary params %d MACs %d", s.Params, s.MACs)
	}
	if len(s.NotXNNPACK) != 1 || s.NotXNNPACK["TANH"] != 1 {
		t.Errorf("not XNNPACK: %v", s.NotXNNPACK)
	}
}

func TestConvertInputShapeErrors(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		want  string
	}{
		{nil, "unknown dimensions"},
		{[]int{1, 3, 32}, "rank 4"},
		{[]int{1, 4, 32, 32}, "conflicts"},
		{[]int{1, 3, 0, 32}, "must be positive"},
	} {
		g, err := onnx.Load(fullyConv().Bytes(), "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = converter.Convert(g, converter.Options{InputShape: tc.shape})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("shape %v: err = %v, want %q", tc.shape, err, tc.want)
		}
	}
}

// Tensor names in the model are unique and graph outputs keep their ONNX
// names (the INT8 pass and calibration match tensors by name).
func TestTensorNamesUnique(t *testing.T) {
	b := New(13)
	x := b.Input("x", 1, 3, 8, 8)
	y := b.Node("Relu", []string{x})
	b.Output(b.Node("Tanh", []string{y}), y)
	g, err := onnx.Load(b.Bytes(), "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := converter.Convert(g, converter.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tn := range res.Model.Main().Tensors {
		if seen[tn.Name] {
			t.Errorf("tensor name %q used twice", tn.Name)
		}
		seen[tn.Name] = true
	}
	sg := res.Model.Main()
	for i, want := range []string{"Tanh_2_out0", "Relu_1_out0"} {
		if got := sg.Tensors[sg.Outputs[i]].Name; got != want {
			t.Errorf("output %d named %q, want %q", i, got, want)
		}
	}
}

// FuzzConvert checks that no ONNX input makes the pipeline panic: bad
// graphs must come back as errors. Run with
// go test -fuzz FuzzConvert ./converter (not part of CI).
func FuzzConvert(f *testing.F) {
	f.Add(fullyConv().Bytes())
	b := New(13)
	x := b.Input("x", 1, 4, 8, 8)
	c := b.Node("Conv", []string{x, b.Rand("w", -1, 1, 4, 1, 3, 3)}, A("group", 4), A("pads", []int{1, 1, 1, 1}))
	r := b.Node("Resize", []string{c, "", b.Init("s", []int{4}, []float32{1, 1, 2, 2})}, A("mode", "linear"))
	m := b.Node("ReduceMean", []string{r}, A("axes", []int{1}))
	b.Output(b.Node("Sub", []string{r, m}))
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := onnx.Load(data, "")
		if err != nil {
			return
		}
		res, err := converter.Convert(g, converter.Options{InputShape: nil})
		if err != nil {
			if strings.Contains(err.Error(), "internal converter error") {
				t.Fatal(err) // a recovered panic: a bug to fix
			}
			return
		}
		if _, err := res.Model.Marshal(); err != nil {
			t.Fatalf("converted model does not marshal: %v", err)
		}
	})
}
