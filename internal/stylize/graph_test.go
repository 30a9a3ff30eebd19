package stylize

import (
	"os"
	"strings"
	"testing"

	"github.com/animed/animed/internal/sharedtest"
	"github.com/animed/animed/internal/testmodel"
	"github.com/animed/animed/internal/tflitefile"
	"github.com/animed/animed/models"
)

// oneOp builds input [1 8 8 3] -> op(input, const int32 arg) -> output of
// the given shape.
func oneOp(t *testing.T, op tflitefile.BuiltinOp, opts tflitefile.Options, arg []int32, out ...int32) []byte {
	t.Helper()
	m := tflitefile.NewModel()
	g := m.Main()
	in := g.AddTensor(&tflitefile.Tensor{Name: "input", Shape: []int32{1, 8, 8, 3}, Type: tflitefile.Float32})
	a := g.AddTensor(&tflitefile.Tensor{Name: "arg", Shape: []int32{int32(len(arg))}, Type: tflitefile.Int32,
		Buffer: m.AddBuffer(tflitefile.Int32Bytes(arg))})
	o := g.AddTensor(&tflitefile.Tensor{Name: "output", Shape: out, Type: tflitefile.Float32})
	g.AddOperator(&tflitefile.Operator{Op: op, Inputs: []int32{in, a}, Outputs: []int32{o}, Options: opts})
	g.Inputs, g.Outputs = []int32{in}, []int32{o}
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestReadGraph(t *testing.T) {
	norm, err := normGenerator(t, 64, 64).Model.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	keep := &tflitefile.ReducerOptions{KeepDims: true}
	tests := []struct {
		name   string
		model  []byte
		stride int
		whole  string // a word of the reason, "" for none
	}{
		{"shipped model", models.Default(), 4, ""},
		{"3x3 conv", testmodel.FP32(), 1, ""},
		{"upsampling", upsampling(t, 64), 2, ""},
		{"five eighths", squeeze(t, 64), 8, ""},
		{"instance norm", norm, 1, "MEAN"},
		{"mean over H and W", oneOp(t, tflitefile.Mean, keep, []int32{1, 2}, 1, 1, 1, 3), 1, "MEAN"},
		{"sum over W", oneOp(t, tflitefile.Sum, keep, []int32{-2}, 1, 8, 1, 3), 1, "SUM"},
		{"max over H", oneOp(t, tflitefile.ReduceMax, keep, []int32{1}, 1, 1, 8, 3), 1, "REDUCE_MAX"},
		{"mean over channels", oneOp(t, tflitefile.Mean, keep, []int32{3}, 1, 8, 8, 1), 1, ""},
		{"reshape merging H and W", oneOp(t, tflitefile.Reshape, &tflitefile.ReshapeOptions{NewShape: []int32{1, 64, 3}}, []int32{1, 64, 3}, 1, 64, 3), 1, "RESHAPE"},
		{"reshape keeping H and W", oneOp(t, tflitefile.Reshape, &tflitefile.ReshapeOptions{NewShape: []int32{1, 8, 8, 3}}, []int32{1, 8, 8, 3}, 1, 8, 8, 3), 1, ""},
	}
	for _, tt := range tests {
		g, err := readGraph(tt.model)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if g.stride != tt.stride || (tt.whole == "") != (g.whole == "") || !strings.Contains(g.whole, tt.whole) {
			t.Errorf("%s: stride %d, whole %q; want %d, %q", tt.name, g.stride, g.whole, tt.stride, tt.whole)
		}
	}
}

// The AnimeGANv2 teacher normalizes over the whole image (its layer
// norms): from its bytes it runs whole, rewritten for each photo size,
// with nothing measured at load.
func TestTeacherRunsWhole(t *testing.T) {
	data, err := os.ReadFile(sharedtest.Teacher(t))
	if err != nil {
		t.Fatal(err)
	}
	s := newFromData(t, data, Options{})
	if f := s.Field(); f.Whole == "" || s.Mode() != ModeRewrite {
		t.Errorf("teacher: mode %s, field %v; want rewrite, whole image", s.Mode(), f)
	}
}
