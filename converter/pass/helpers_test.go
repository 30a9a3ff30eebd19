package pass_test

import (
	"testing"

	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/converter/onnx"
	"github.com/animed/animed/converter/onnxtest"
	"github.com/animed/animed/converter/pass"
)

func load(t *testing.T, b *onnxtest.Builder) *ir.Graph {
	t.Helper()
	g, err := onnx.Load(b.Bytes(), "")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// prepare runs the ONNX-level passes in pipeline order.
func prepare(t *testing.T, g *ir.Graph) *ir.Graph {
	t.Helper()
	for _, p := range []func(*ir.Graph) error{pass.CheckInputs, pass.ExpandVariadic, pass.FoldConstants, pass.RemoveIdentity, pass.FoldConstants,
		pass.FoldBatchNorm, pass.RecognizeNorms, pass.RecognizePixelShuffle, pass.InferShapes} {
		if err := p(g); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func lower(t *testing.T, g *ir.Graph) *ir.Graph {
	t.Helper()
	tg, err := pass.Lower(prepare(t, g), pass.LowerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pass.FuseActivations(tg); err != nil {
		t.Fatal(err)
	}
	return tg
}

func ops(g *ir.Graph) []string {
	var out []string
	for _, n := range g.Nodes {
		out = append(out, n.Op)
	}
	return out
}
