package calib_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/animed/animed/converter/quantize"
	"github.com/animed/animed/converter/quantize/calib"
	"github.com/animed/animed/internal/sharedtest"
	"github.com/animed/animed/internal/testmodel"
	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/internal/tflite/tflitetest"
	tfl "github.com/animed/animed/internal/tflitefile"
)

// testImages returns n calibration or gate images: crops of the shared
// photos when present, else synthetic images (logged).
func testImages(t testing.TB, n, size int, seed int64) []calib.Image {
	imgs, _ := testImagesReal(t, n, size, seed)
	return imgs
}

// testImagesReal is testImages that also says whether the images are photos.
func testImagesReal(t testing.TB, n, size int, seed int64) ([]calib.Image, bool) {
	t.Helper()
	root, ok := sharedtest.Root()
	photos := filepath.Join(root, "photos")
	if _, err := os.Stat(photos); !ok || err != nil {
		t.Logf("shared photos not found (../shared/photos or $%s): using synthetic images", sharedtest.EnvVar)
		return calib.SyntheticImages(n, size, size, seed), false
	}
	files, err := calib.FindImages(photos)
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := calib.LoadImages(files, n, size, size, seed)
	if err != nil {
		t.Fatal(err)
	}
	return imgs, true
}

// quantizeGenerator calibrates and quantizes the generator.
func quantizeGenerator(t testing.TB, cfg testmodel.GeneratorConfig, calibImgs []calib.Image, o quantize.Options, method calib.Method) (*tfl.Model, *quantize.Result) {
	t.Helper()
	m := testmodel.Generator(cfg)
	st, err := calib.Calibrate(context.Background(), m, calibImgs, calib.CalibOptions{Threads: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	o.Ranges, err = st.Ranges(method, 99.99)
	if err != nil {
		t.Fatal(err)
	}
	res, err := quantize.Quantize(m, o)
	if err != nil {
		t.Fatal(err)
	}
	return m, res
}

// TestGeneratorEndToEnd calibrates the generator on photos (or synthetic
// images), quantizes it with each range method and both I/O types, and
// requires a fully INT8 graph that XNNPACK takes and ≥ 35 dB PSNR against
// FP32 on held-back images.
func TestGeneratorEndToEnd(t *testing.T) {
	const size = 64
	imgs := testImages(t, 12, size, 7)
	calibImgs, gate := imgs[:8], imgs[8:]
	m := testmodel.Generator(testmodel.GeneratorConfig{Size: size})
	fp32 := tflitetest.Marshal(t, m)
	st, err := calib.Calibrate(context.Background(), m, calibImgs, calib.CalibOptions{Threads: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		io     quantize.IO
		method calib.Method
	}{
		{quantize.IOFloat, calib.Percentile},
		{quantize.IOFloat, calib.MinMax},
		{quantize.IOFloat, calib.MSE},
		{quantize.IOInt8, calib.Percentile},
	} {
		t.Run(string(c.io)+"/"+string(c.method), func(t *testing.T) {
			ranges, err := st.Ranges(c.method, 99.99)
			if err != nil {
				t.Fatal(err)
			}
			res, err := quantize.Quantize(m, quantize.Options{Ranges: ranges, IO: c.io})
			if err != nil {
				t.Fatal(err)
			}
			q := res.Model
			// No float operator is left: only QUANTIZE at the input and
			// DEQUANTIZE at the output touch float tensors.
			for i, op := range q.Main().Operators {
				for _, ti := range append(append([]int32{}, op.Inputs...), op.Outputs...) {
					if ti >= 0 && q.Main().Tensors[ti].Type == tfl.Float32 && op.Op != tfl.Quantize && op.Op != tfl.Dequantize {
						t.Errorf("operator %d (%s) has float tensor %s", i, op.Op, q.Main().Tensors[ti].Name)
					}
				}
			}
			if c.io == quantize.IOInt8 {
				g := q.Main()
				if in, out := g.Tensors[g.Inputs[0]], g.Tensors[g.Outputs[0]]; in.Type != tfl.Int8 || out.Type != tfl.Int8 {
					t.Errorf("--io int8: input %s, output %s", in.Type, out.Type)
				}
				if !res.InputShiftFolded {
					t.Errorf("int8 I/O: input shift not folded")
				}
			}
			qb := tflitetest.Marshal(t, q)
			met, err := calib.Compare(context.Background(), fp32, qb, gate, calib.RunOptions{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%v; fp32 %d bytes, int8 %d bytes", met, len(fp32), len(qb))
			if met.PSNR < 35 {
				t.Errorf("PSNR %.2f dB < 35 dB", met.PSNR)
			}
			tflitetest.RequireXNNPACK(t, qb)
			// The generator graph uses LeakyReLU, which XNNPACK 2.9 has no INT8 kernel for.
			if u := quantize.SummarizeUndelegated(quantize.UndelegatedOps(q)); u != "LEAKY_RELU×7 MIRROR_PAD×1 TANH×1" {
				t.Errorf("XNNPACK cannot take %s, want LEAKY_RELU×7 MIRROR_PAD×1 TANH×1", u)
			}
		})
	}
}

// TestLayerNorm quantizes a generator with a layer norm (MEAN,
// SQUARED_DIFFERENCE, RSQRT, SUB, MUL, ADD) twice: fully INT8, and with the
// norm kept as a float island (--float-ops layernorm), which must be
// reported. A norm divides by the feature's spread, so it amplifies the
// int8 error of its input on images of little contrast: the smooth
// synthetic images (used without ../shared) get a lower bar than photos.
func TestLayerNorm(t *testing.T) {
	const size = 32
	imgs, photos := testImagesReal(t, 10, size, 11)
	bar := 35.0
	if !photos {
		bar = 25
	}
	calibImgs, gate := imgs[:6], imgs[6:]
	cfg := testmodel.GeneratorConfig{Size: size, LayerNorm: true}
	for _, c := range []struct {
		name      string
		floatNorm bool
		minPSNR   float64
	}{
		{"int8", false, bar},
		{"float-islands", true, bar},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, res := quantizeGenerator(t, cfg, calibImgs, quantize.Options{FloatLayerNorm: c.floatNorm, Logger: quiet}, calib.Percentile)
			met, err := calib.Compare(context.Background(), tflitetest.Marshal(t, m), tflitetest.Marshal(t, res.Model), gate, calib.RunOptions{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %v; %d float islands", c.name, met, len(res.FloatIslands))
			if !c.floatNorm {
				// XNNPACK refuses an ADD whose operand scale is far from
				// the output's (a norm's epsilon quantized on its own).
				tflitetest.RequireXNNPACK(t, tflitetest.Marshal(t, res.Model))
			}
			if met.PSNR < c.minPSNR {
				t.Errorf("PSNR %.2f dB < %.0f dB", met.PSNR, c.minPSNR)
			}
			if !c.floatNorm && len(res.FloatIslands) != 0 {
				t.Errorf("float islands without --float-ops: %v", res.FloatIslands)
			}
			if c.floatNorm {
				// MEAN x2, SQUARED_DIFFERENCE, ADD (eps), RSQRT, SUB, MUL x2,
				// ADD (beta); not the generator's own ADDs.
				ops := map[string]int{}
				for _, is := range res.FloatIslands {
					ops[is.Op]++
				}
				if ops["RSQRT"] != 1 || ops["MEAN"] != 2 || ops["SQUARED_DIFFERENCE"] != 1 || ops["ADD"] != 2 ||
					ops["MUL"] != 2 || ops["SUB"] != 1 || len(res.FloatIslands) != 9 || len(res.Warnings) == 0 {
					t.Errorf("float islands %v, warnings %v", ops, res.Warnings)
				}
			}
		})
	}
}

// sharedRoot returns the shared photo folder.
func sharedRoot() (string, bool) {
	root, ok := sharedtest.Root()
	return filepath.Join(root, "photos"), ok
}

// writeSynthetic writes n synthetic PNG photos of 40x30 into dir.
func writeSynthetic(t *testing.T, dir string, n int) []string {
	var files []string
	for i, im := range calib.SyntheticImages(n, 30, 40, 9) {
		img := image.NewRGBA(image.Rect(0, 0, im.W, im.H))
		for p := range im.W * im.H {
			copy(img.Pix[4*p:], im.Pix[3*p:3*p+3])
			img.Pix[4*p+3] = 255
		}
		f := filepath.Join(dir, fmt.Sprintf("s%d.png", i))
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// TestResizableStaysResizable quantizes the fully convolutional test model
// (calibrated at 64x64) and runs it at another size.
func TestResizableStaysResizable(t *testing.T) {
	m, err := tfl.Parse(testmodel.FP32())
	if err != nil {
		t.Fatal(err)
	}
	imgs := testImages(t, 6, 64, 2)
	st, err := calib.Calibrate(context.Background(), m, imgs[:4], calib.CalibOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	ranges, _ := st.Ranges(calib.Percentile, 99.99)
	res, err := quantize.Quantize(m, quantize.Options{Ranges: ranges})
	if err != nil {
		t.Fatal(err)
	}
	q := tflitetest.Marshal(t, res.Model)
	d, err := tflite.Describe(mustModel(t, q))
	if err != nil {
		t.Fatal(err)
	}
	if !d.Resizable {
		t.Fatal("the quantized model is not resizable")
	}
	small := testImages(t, 2, 40, 3) // Compare resizes both models' inputs to 40x40
	met, err := calib.Compare(context.Background(), testmodel.FP32(), q, small, calib.RunOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("at 40x40: %v", met)
	if met.PSNR < 35 {
		t.Errorf("PSNR %.2f dB at another size", met.PSNR)
	}
}

func mustModel(t *testing.T, data []byte) *tflite.Model {
	t.Helper()
	m, err := tflite.NewModel(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

var quiet = slog.New(slog.DiscardHandler)
