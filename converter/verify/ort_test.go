package verify_test

import (
	"context"
	"testing"

	"github.com/animed/animed/converter/verify"
)

func TestORTRuns(t *testing.T) {
	o, err := verify.FindORT()
	if err != nil {
		t.Skip(err)
	}
	in := verify.Tensor{Shape: []int{1, 3, 64, 64}, Data: make([]float32, 3*64*64)}
	out, err := o.Run(context.Background(), "../testdata/animegan_tiny.onnx", []map[string]verify.Tensor{{"input": in}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || len(out[0]) != 1 || len(out[0][0].Data) != 3*64*64 {
		t.Fatalf("unexpected outputs %+v", out)
	}
	t.Log(out[0][0].Shape, out[0][0].Data[:4])
}
