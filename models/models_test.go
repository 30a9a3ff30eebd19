package models_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/animed/animed/converter/quantize"
	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/internal/tflite/tflitetest"
	"github.com/animed/animed/internal/tflitefile"
	"github.com/animed/animed/models"
)

// TestDefaultRunsInXNNPACK guards the shipped model's speed: every operator
// is int8 (its input and output too: internal/stylize quantizes and
// dequantizes; a model with float I/O may add QUANTIZE and DEQUANTIZE at
// the ends), and the
// XNNPACK delegate of TFLite 2.9 takes all of them but the final TANH
// (an INT8 LEAKY_RELU, say, would run on TFLite's reference kernel and
// triple the latency).
func TestDefaultRunsInXNNPACK(t *testing.T) {
	checkXNNPACK(t, models.Default())
}

func checkXNNPACK(t *testing.T, model []byte) {
	t.Helper()
	m, err := tflitefile.Parse(model)
	if err != nil {
		t.Fatal(err)
	}
	g := m.Subgraphs[0]
	for i, op := range g.Operators {
		if op.Op == tflitefile.Quantize || op.Op == tflitefile.Dequantize {
			continue
		}
		for _, ti := range op.Outputs {
			if typ := g.Tensors[ti].Type; typ != tflitefile.Int8 {
				t.Errorf("operator %d (%s) outputs %s, want int8", i, op.Op, typ)
			}
		}
	}
	if got := quantize.SummarizeUndelegated(quantize.UndelegatedOps(m)); got != "TANH×1" {
		t.Errorf("XNNPACK 2.9 cannot take %s, want TANH×1 only", got)
	}
}

// TestDefaultMatchesReference runs the embedded INT8 model on the reference
// input that models/distill/export.py wrote beside the ONNX and compares it
// with the PyTorch output stored there: the shipped .tflite and the
// committed ONNX must come from the same checkpoint.
func TestDefaultMatchesReference(t *testing.T) {
	checkReference(t, models.Default(), "animegan_tiny_ref_input.npy", "animegan_tiny_ref_output.npy")
}

func checkReference(t *testing.T, model []byte, input, output string) {
	t.Helper()
	in, inShape := readNpy(t, input)
	want, outShape := readNpy(t, output)
	if len(inShape) != 4 || inShape[1] != 3 || fmt.Sprint(inShape) != fmt.Sprint(outShape) {
		t.Fatalf("reference shapes %v -> %v, want [1 3 H W] both", inShape, outShape)
	}
	h, w := inShape[2], inShape[3]
	data, err := tflitefile.ScaleInput(model, h, w)
	if err != nil {
		t.Fatal(err)
	}
	got := tflitetest.Run(t, data, tflite.BackendXNNPACK, nchwToNHWC(in, h, w))[0].Data
	ref := nchwToNHWC(want, h, w)
	var se float64
	for i := range got {
		d := float64(got[i]-ref[i]) / 2 // [-1, 1] -> [0, 1] pixel range
		se += d * d
	}
	psnr := 10 * math.Log10(float64(len(got))/se)
	t.Logf("INT8 vs PyTorch reference %s at %dx%d: PSNR %.1f dB", output, w, h, psnr)
	if psnr < 30 {
		t.Errorf("PSNR %.1f dB < 30 dB: the INT8 model does not match the exported reference %s (re-run make model)", psnr, output)
	}
}

func nchwToNHWC(a []float32, h, w int) []float32 {
	out := make([]float32, len(a))
	for c := range 3 {
		for y := range h {
			for x := range w {
				out[(y*w+x)*3+c] = a[(c*h+y)*w+x]
			}
		}
	}
	return out
}

// readNpy reads a little-endian float32, C-order .npy file (format 1.0).
func readNpy(t *testing.T, path string) ([]float32, []int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 10 || !bytes.Equal(b[:6], []byte("\x93NUMPY")) || b[6] != 1 {
		t.Fatalf("%s: not a version 1 .npy file", path)
	}
	n := int(binary.LittleEndian.Uint16(b[8:10]))
	if len(b) < 10+n {
		t.Fatalf("%s: truncated header", path)
	}
	header, body := string(b[10:10+n]), b[10+n:]
	if !strings.Contains(header, "'descr': '<f4'") || !strings.Contains(header, "'fortran_order': False") {
		t.Fatalf("%s: want little-endian float32 in C order, header %s", path, header)
	}
	sm := regexp.MustCompile(`'shape': \(([0-9, ]*)\)`).FindStringSubmatch(header)
	if sm == nil {
		t.Fatalf("%s: no shape in header %s", path, header)
	}
	var shape []int
	count := 1
	for _, f := range strings.Split(sm[1], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("%s: shape %q: %v", path, sm[1], err)
		}
		shape = append(shape, d)
		count *= d
	}
	if len(body) != 4*count {
		t.Fatalf("%s: %d data bytes for shape %v", path, len(body), shape)
	}
	out := make([]float32, count)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
	}
	return out, shape
}
