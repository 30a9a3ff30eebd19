package verify_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/animed/animed/converter"
	"github.com/animed/animed/converter/onnx"
	"github.com/animed/animed/converter/pass"
	"github.com/animed/animed/converter/verify"
)

const tolerance = 1e-4

func findORT(t *testing.T) *verify.ORT {
	t.Helper()
	o, err := verify.FindORT()
	if err != nil {
		t.Skipf("ONNX reference unavailable: %v", err)
	}
	return o
}

// convertFile loads and converts an ONNX file.
func convertFile(t *testing.T, path string, o converter.Options) *converter.Result {
	t.Helper()
	g, err := onnx.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := converter.Convert(g, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// checkAgainstORT compares every backend with ONNX Runtime on random
// [-1,1] inputs.
func checkAgainstORT(t *testing.T, ort *verify.ORT, path string, res *converter.Result, runs int) verify.Report {
	t.Helper()
	backends := append([]verify.Backend{verify.ExecBackend(res.Graph)}, runtimeBackends(t, res)...)
	rep, err := verify.Check(context.Background(), ort, path, res, verify.RandomInputs(res, runs, 1), backends...)
	if err != nil {
		t.Fatal(err)
	}
	var line []string
	for _, name := range slices.Sorted(maps.Keys(rep.MaxAbs)) {
		line = append(line, fmt.Sprintf("%s %.2g", name, rep.MaxAbs[name]))
	}
	t.Logf("%s: max abs error vs ONNX Runtime: %s", t.Name(), strings.Join(line, ", "))
	for name, m := range rep.MaxAbs {
		if strings.Contains(name, "refused") {
			t.Errorf("%s", name)
		}
		if m > tolerance {
			t.Errorf("%s: max abs error %.3g > %g\n%s", name, m, tolerance, res.Graph.Dump())
		}
	}
	return rep
}

func TestGraphsAgainstORT(t *testing.T) {
	ort := findORT(t)
	dir := t.TempDir()
	for _, gc := range graphs {
		t.Run(gc.name, func(t *testing.T) {
			path := filepath.Join(dir, gc.name+".onnx")
			if err := os.WriteFile(path, gc.build().Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			res := convertFile(t, path, converter.Options{})
			if n := pass.CountOps(res.Graph, "tfl.TRANSPOSE"); gc.noTranspose && n > 0 {
				t.Errorf("%d TRANSPOSE ops:\n%s", n, res.Graph.Dump())
			}
			checkAgainstORT(t, ort, path, res, 2)
		})
	}
}

// The PyTorch export has dynamic height and width: convert it at two
// sizes (the second not square) and compare each with ONNX Runtime.
func TestAnimeGANExport(t *testing.T) {
	ort := findORT(t)
	path := "../testdata/animegan_tiny.onnx"
	for _, shape := range [][]int{{1, 3, 64, 64}, {1, 3, 48, 80}} {
		t.Run(fmt.Sprint(shape[2], "x", shape[3]), func(t *testing.T) {
			res := convertFile(t, path, converter.Options{InputShape: shape})
			if n := pass.CountOps(res.Graph, "tfl.TRANSPOSE"); n > 0 {
				t.Errorf("generator has %d TRANSPOSE ops", n)
			}
			for _, op := range []string{"tfl.DIV", "tfl.SQRT"} {
				if n := pass.CountOps(res.Graph, op); n > 0 {
					t.Errorf("generator has %d %s ops (norms must lower to RSQRT/MUL)", n, op)
				}
			}
			for _, op := range []string{"tfl.MIRROR_PAD", "tfl.DEPTHWISE_CONV_2D", "tfl.RESIZE_BILINEAR", "tfl.RSQRT", "tfl.TANH"} {
				if pass.CountOps(res.Graph, op) == 0 {
					t.Errorf("expected %s in the converted generator", op)
				}
			}
			t.Logf("ops: %v", res.Graph.OpHistogram())
			checkAgainstORT(t, ort, path, res, 2)
		})
	}
	t.Run("plain mean", func(t *testing.T) {
		checkAgainstORT(t, ort, path, convertFile(t, path, converter.Options{InputShape: []int{1, 3, 64, 64}, PlainMean: true}), 1)
	})
}
