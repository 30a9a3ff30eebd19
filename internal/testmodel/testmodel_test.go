package testmodel

import (
	"math"
	"testing"

	"github.com/animed/animed/internal/tflitefile"
)

func TestBuildVariants(t *testing.T) {
	tests := []struct {
		name    string
		c       Config
		ops     []tflitefile.BuiltinOp
		inType  tflitefile.TensorType
		outType tflitefile.TensorType
	}{
		{"fp32", Config{}, []tflitefile.BuiltinOp{tflitefile.Conv2D, tflitefile.Conv2D}, tflitefile.Float32, tflitefile.Float32},
		{"int8", Config{Int8: true}, []tflitefile.BuiltinOp{tflitefile.Quantize, tflitefile.Conv2D, tflitefile.Conv2D, tflitefile.Dequantize}, tflitefile.Float32, tflitefile.Float32},
		{"int8 io", Config{Int8: true, Int8IO: true}, []tflitefile.BuiltinOp{tflitefile.Conv2D, tflitefile.Conv2D}, tflitefile.Int8, tflitefile.Int8},
		{"fixed", Config{FixedSize: true, H: 32, W: 48}, []tflitefile.BuiltinOp{tflitefile.Conv2D, tflitefile.Conv2D, tflitefile.Reshape}, tflitefile.Float32, tflitefile.Float32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Build(tt.c)
			if err != nil {
				t.Fatal(err)
			}
			m, err := tflitefile.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			g := m.Main()
			var ops []tflitefile.BuiltinOp
			for _, op := range g.Operators {
				ops = append(ops, op.Op)
			}
			if len(ops) != len(tt.ops) {
				t.Fatalf("ops %v, want %v", ops, tt.ops)
			}
			for i := range ops {
				if ops[i] != tt.ops[i] {
					t.Fatalf("ops %v, want %v", ops, tt.ops)
				}
			}
			if got := g.Tensors[g.Inputs[0]].Type; got != tt.inType {
				t.Errorf("input type %s, want %s", got, tt.inType)
			}
			if got := g.Tensors[g.Outputs[0]].Type; got != tt.outType {
				t.Errorf("output type %s, want %s", got, tt.outType)
			}
		})
	}
	if _, err := Build(Config{Int8IO: true}); err == nil {
		t.Error("Int8IO without Int8 accepted")
	}
}

func TestReferenceResemblesInput(t *testing.T) {
	in := make([]float32, 8*8*3)
	for i := range in {
		in[i] = float32(i%17)/8 - 1
	}
	out := Reference(in, 8, 8)
	var num, da, db float64
	for i := range in {
		a, b := float64(in[i]), float64(out[i])
		num += a * b
		da += a * a
		db += b * b
	}
	if c := num / (sqrt(da) * sqrt(db)); c < 0.8 {
		t.Errorf("output correlates with input by %.2f only", c)
	}
}

func sqrt(x float64) float64 { return math.Sqrt(x) }
