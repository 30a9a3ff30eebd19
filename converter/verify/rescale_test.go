package verify_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/animed/animed/converter"
	. "github.com/animed/animed/converter/onnxtest"
	"github.com/animed/animed/converter/verify"
	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/internal/tflite/tflitetest"
	"github.com/animed/animed/internal/tflitefile"
)

// The rescalable claim in the metadata holds: a model converted at 16x16
// that is not resizable (constant upsampling sizes), rewritten by
// tflitefile.ScaleInput for 24x40, computes in TFLite what the converter's
// FP32 executor computes for the graph converted at 24x40 directly.
func TestRescalableClaimHolds(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		build func(b *Builder, x string) string
		dims  []int // ONNX input dims
		want  bool  // rescalable
	}{
		{"bilinear 2x upsample", func(b *Builder, x string) string {
			d := b.Node("LeakyRelu", []string{conv(b, x, 3, 8, 3, A("pads", []int{1, 1, 1, 1}), A("strides", []int{2, 2}))}, A("alpha", float32(0.2)))
			u := b.Node("Resize", []string{d, "", b.Init("sc", []int{4}, []float32{1, 1, 2, 2})},
				A("mode", "linear"), A("coordinate_transformation_mode", "half_pixel"))
			return b.Node("Tanh", []string{b.Node("Add", []string{conv(b, u, 8, 3, 3, A("pads", []int{1, 1, 1, 1})), x})})
		}, []int{1, 3, -1, -1}, true},
		{"nearest upsample and transposed conv", func(b *Builder, x string) string {
			u := b.Node("Resize", []string{x, "", b.Init("sc", []int{4}, []float32{1, 1, 2, 2})}, A("mode", "nearest"))
			tc := b.Node("ConvTranspose", []string{conv(b, u, 3, 4, 2, A("strides", []int{2, 2})), b.Rand("tw", -0.5, 0.5, 4, 3, 2, 2)},
				A("strides", []int{2, 2}))
			return b.Node("Tanh", []string{tc})
		}, []int{1, 3, -1, -1}, true},
		{"group norm with reshape", func(b *Builder, x string) string {
			c := conv(b, x, 3, 4, 1)
			r := b.Node("Reshape", []string{c, b.Ints("gs", 1, 2, -1)})
			in := b.Node("InstanceNormalization", []string{r, b.Init("one", []int{2}, ones(2, 1)), b.Init("zero", []int{2}, ones(2, 0))})
			return b.Node("Reshape", []string{in, b.Ints("back", 1, 4, 16, 16)})
		}, []int{1, 3, 16, 16}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(13)
			b.Output(tc.build(b, b.Input("x", tc.dims...)))
			path := filepath.Join(dir, "m.onnx")
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			small := convertFile(t, path, converter.Options{InputShape: []int{1, 3, 16, 16}})
			info, err := converter.ReadInfo(small.Model)
			if err != nil {
				t.Fatal(err)
			}
			if info.Rescalable != tc.want || small.Info.Rescalable != tc.want {
				t.Fatalf("metadata says rescalable=%v (%s), want %v", info.Rescalable, info.RescaleReason, tc.want)
			}
			data, err := small.Model.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want {
				if _, err := tflitefile.ScaleInput(data, 24, 40); err == nil {
					t.Fatal("ScaleInput rewrote a model the metadata calls not rescalable")
				}
				return
			}
			if info.Resizable {
				t.Fatal("the model is resizable: the case does not test rescaling")
			}
			scaled, err := tflitefile.ScaleInput(data, 24, 40)
			if err != nil {
				t.Fatal(err)
			}
			in := make([]float32, 24*40*3)
			for i := range in {
				in[i] = float32(i%23)/11 - 1
			}
			big := convertFile(t, path, converter.Options{InputShape: []int{1, 3, 24, 40}})
			want, err := verify.ExecBackend(big.Graph).Run([][]float32{in})
			if err != nil {
				t.Fatal(err)
			}
			for _, backend := range []tflite.Backend{tflite.BackendCPU, tflite.BackendXNNPACK} {
				got := runTFLite(t, scaled, backend, in, len(want[0]))
				var worst float64
				for i := range got {
					worst = max(worst, math.Abs(float64(got[i]-want[0][i])))
				}
				if worst > tolerance {
					t.Errorf("%s: rescaled model differs from the reference at 40x24 by %.3g", backend, worst)
				}
			}
		})
	}
}

// runTFLite runs a one-input model at its own size and returns its first
// output, which must hold n values.
func runTFLite(t *testing.T, data []byte, backend tflite.Backend, in []float32, n int) []float32 {
	t.Helper()
	out := tflitetest.Run(t, data, backend, in)[0]
	if sh := out.Shape; len(sh) != 4 || len(out.Data) != n {
		t.Fatalf("output shape %v, want %d values", sh, n)
	}
	return out.Data
}

// The AnimeGAN-Tiny export (two bilinear 2x upsamplings, so not
// resizable) converted at 64x64 and rewritten for 48x80 computes what the
// export converted at 48x80 computes.
func TestAnimeGANRescaled(t *testing.T) {
	path := "../testdata/animegan_tiny.onnx"
	small := convertFile(t, path, converter.Options{InputShape: []int{1, 3, 64, 64}})
	if small.Info.Resizable || !small.Info.Rescalable {
		t.Fatalf("resizable=%v rescalable=%v (%s), want false and true", small.Info.Resizable, small.Info.Rescalable, small.Info.RescaleReason)
	}
	data, err := small.Model.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	scaled, err := tflitefile.ScaleInput(data, 48, 80)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, 48*80*3)
	for i := range in {
		in[i] = float32((i*7)%31)/15 - 1
	}
	big := convertFile(t, path, converter.Options{InputShape: []int{1, 3, 48, 80}})
	want, err := verify.ExecBackend(big.Graph).Run([][]float32{in})
	if err != nil {
		t.Fatal(err)
	}
	got := runTFLite(t, scaled, tflite.BackendXNNPACK, in, len(want[0]))
	var worst float64
	for i := range got {
		worst = max(worst, math.Abs(float64(got[i]-want[0][i])))
	}
	t.Logf("max abs difference %.3g", worst)
	if worst > 2*tolerance {
		t.Errorf("rescaled AnimeGAN-Tiny differs from the reference at 80x48 by %.3g", worst)
	}
}
