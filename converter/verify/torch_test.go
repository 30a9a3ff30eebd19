package verify_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/animed/animed/converter"
	"github.com/animed/animed/converter/onnx"
	"github.com/animed/animed/converter/quantize"
	"github.com/animed/animed/converter/quantize/calib"
	"github.com/animed/animed/converter/verify"
)

// debianPython is the interpreter of Debian's python3-torch and
// python3-torchvision (make deps installs them).
const debianPython = "/usr/bin/python3"

// exportGenerators runs converter/testdata/export_generators.py into a
// temporary folder, or skips when PyTorch is missing.
func exportGenerators(t *testing.T) (dir string, models []struct {
	Name   string
	Opset  int
	Input  []int
	Output []int
}) {
	t.Helper()
	if out, err := exec.Command(debianPython, "-c", "import torch, torchvision").CombinedOutput(); err != nil {
		t.Skipf("Debian python3-torch and python3-torchvision are needed (make deps installs them): %v\n%s", err, out)
	}
	dir = t.TempDir()
	cmd := exec.Command(debianPython, "../testdata/export_generators.py", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Torch  string
		Models []struct {
			Name   string
			Opset  int
			Input  []int
			Output []int
		}
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	t.Logf("exported %d generators with PyTorch %s", len(m.Models), m.Torch)
	return dir, m.Models
}

func readFloats(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := make([]float32, len(b)/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return f
}

// writeCalibPhotos writes n synthetic 96x96 PNG photos into a new folder.
func writeCalibPhotos(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	for i, im := range calib.SyntheticImages(n, 96, 96, 5) {
		img := image.NewRGBA(image.Rect(0, 0, im.W, im.H))
		for p := range im.W * im.H {
			copy(img.Pix[4*p:], im.Pix[3*p:3*p+3])
			img.Pix[4*p+3] = 255
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%d.png", i)), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// floatOps are the --float-ops a user gives, as the quantizer's refusal
// asks: exact GELU's erf uses ops without INT8 kernels.
var floatOps = map[string][]string{"layernorm_gelu": {"ABS", "DIV", "NEG", "EXP"}}

// Generators as PyTorch 1.13 exports them (fast-neural-style, CartoonGAN,
// LayerNorm+GELU at opset 17, split/Hardswish/pixel_unshuffle, a U-Net on
// torchvision's MobileNetV3-small) convert and match PyTorch within 1e-4
// through the TFLite runtime (builtin kernels and XNNPACK) and the Go
// executor. INT8 with calibration passes the 30 dB gate or is refused by
// it with its report.
func TestPyTorchExports(t *testing.T) {
	dir, models := exportGenerators(t)
	if len(models) != 5 {
		t.Fatalf("%d models exported, want 5", len(models))
	}
	photos := writeCalibPhotos(t, 12)
	for _, m := range models {
		t.Run(m.Name, func(t *testing.T) {
			g, err := onnx.LoadFile(filepath.Join(dir, m.Name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := converter.Convert(g, converter.Options{})
			if err != nil {
				t.Fatalf("convert: %v", err)
			}
			in := verify.Input{"input": {Name: "input", Shape: m.Input, Data: readFloats(t, filepath.Join(dir, m.Name+".in"))}}
			want := []verify.Tensor{{Name: "output", Shape: m.Output, Data: readFloats(t, filepath.Join(dir, m.Name+".out"))}}
			backends := append([]verify.Backend{verify.ExecBackend(res.Graph)}, runtimeBackends(t, res)...)
			rep, err := verify.Compare(res, []verify.Input{in}, [][]verify.Tensor{want}, backends...)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("FP32 max abs error vs PyTorch: %v", rep.MaxAbs)
			for b, e := range rep.MaxAbs {
				if e > tolerance {
					t.Errorf("%s: max abs error %.3g > %g", b, e, tolerance)
				}
			}
			if testing.Short() {
				return
			}
			f := calib.Flags{Int8: true, CalibDir: photos, CalibCount: 8, GateCount: 4, Method: string(calib.Percentile),
				Percentile: 99.99, Seed: 1, IO: string(quantize.IOFloat), MinPSNR: 30, FloatOps: floatOps[m.Name]}
			_, qrep, err := f.Run(context.Background(), res.Model, io.Discard)
			switch {
			case err == nil:
				t.Logf("INT8: passed the gate: PSNR %.1f dB (min %.0f)", qrep.Output.PSNR, f.MinPSNR)
			case errors.Is(err, calib.ErrGate) && qrep != nil && !qrep.Passed:
				t.Logf("INT8: refused by the gate with its report: %v; worst layers: %s", err, calib.WorstLayers(qrep.Layers, 3))
			default:
				t.Errorf("INT8: %v", err)
			}
		})
	}
}
