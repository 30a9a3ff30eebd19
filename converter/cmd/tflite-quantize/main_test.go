package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/animed/animed/converter/quantize/calib"
	"github.com/animed/animed/internal/sharedtest"
	"github.com/animed/animed/internal/testmodel"
	tfl "github.com/animed/animed/internal/tflitefile"
)

// photos returns the shared photo folder, or a folder of synthetic PNGs
// when it is absent.
func photos(t *testing.T) string {
	if root, ok := sharedtest.Root(); ok {
		if p := filepath.Join(root, "photos"); isDir(p) {
			return p
		}
	}
	t.Logf("shared photos not found (../shared/photos or $%s): using synthetic images", sharedtest.EnvVar)
	dir := t.TempDir()
	for i, im := range calib.SyntheticImages(6, 96, 128, 3) {
		writePNG(t, filepath.Join(dir, "s"+string(rune('a'+i))+".png"), im.W, im.H, func(x, y int) color.RGBA {
			p := im.Pix[(y*im.W+x)*3:]
			return color.RGBA{p[0], p[1], p[2], 255}
		})
	}
	return dir
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func writePNG(t *testing.T, path string, w, h int, at func(x, y int) color.RGBA) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, at(x, y))
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeGenerator(t *testing.T, dir string) string {
	data, err := testmodel.Generator(testmodel.GeneratorConfig{Size: 48}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "gen.tflite")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return in
}

func TestQuantizeCommand(t *testing.T) {
	dir := t.TempDir()
	in := writeGenerator(t, dir)
	out := filepath.Join(dir, "gen_int8.tflite")
	rep := filepath.Join(dir, "report.json")
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"--calib", photos(t), "--calib-count", "6", "--gate-count", "3",
		"--min-psnr", "35", "--report", rep, "--threads", "2", in, out}, &stderr)
	t.Log(stderr.String())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tfl.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if typ := m.Main().Tensors[m.Main().Inputs[0]].Type; typ != tfl.Float32 {
		t.Errorf("--io float model has %s input", typ)
	}
	r := readReport(t, rep)
	if !r.Passed || r.Output.PSNR < 35 || len(r.Layers) < 10 || r.CalibImages != 6 || r.GateImages != 3 {
		t.Errorf("report: passed %v, PSNR %.2f, %d layers, %d+%d images", r.Passed, r.Output.PSNR, len(r.Layers), r.CalibImages, r.GateImages)
	}
	for _, want := range []string{"calibrate: 6/6 images", "PSNR", "XNNPACK 2.9 cannot take 9 operators: LEAKY_RELU×7 MIRROR_PAD×1 TANH×1"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
}

// TestGateRefusesBadCalibration calibrates on a flat grey image, so every
// activation range is far too narrow for real photos: the gate must refuse
// to write the model and exit with an error.
func TestGateRefusesBadCalibration(t *testing.T) {
	dir := t.TempDir()
	in := writeGenerator(t, dir)
	flat := filepath.Join(dir, "flat")
	if err := os.Mkdir(flat, 0o755); err != nil {
		t.Fatal(err)
	}
	writePNG(t, filepath.Join(flat, "grey.png"), 64, 64, func(x, y int) color.RGBA { return color.RGBA{128, 128, 128, 255} })
	out := filepath.Join(dir, "bad.tflite")
	rep := filepath.Join(dir, "report.json")
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"--calib", flat, "--gate", photos(t), "--calib-method", "minmax",
		"--calib-count", "2", "--gate-count", "3", "--min-psnr", "35", "--report", rep, "--threads", "2", in, out}, &stderr)
	t.Log(stderr.String())
	if !errors.Is(err, calib.ErrGate) {
		t.Fatalf("error %v, want the quality gate to refuse", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the refused model was written (stat: %v)", err)
	}
	r := readReport(t, rep)
	if r.Passed || r.Output.PSNR >= 35 {
		t.Errorf("report says passed %v at %.2f dB", r.Passed, r.Output.PSNR)
	}
}

func TestBadArguments(t *testing.T) {
	dir := t.TempDir()
	in := writeGenerator(t, dir)
	garbage := filepath.Join(dir, "garbage.tflite")
	os.WriteFile(garbage, []byte("not a model"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{in}, "need IN.tflite and OUT.tflite"},
		{[]string{in, filepath.Join(dir, "o")}, "--calib DIR is required"},
		{[]string{"--calib", dir, "--calib-method", "magic", in, filepath.Join(dir, "o")}, "--calib-method"},
		{[]string{"--calib", dir, "--io", "uint8", in, filepath.Join(dir, "o")}, "--io"},
		{[]string{"--calib", dir, "--float-ops", "FROB", in, filepath.Join(dir, "o")}, "unknown operator"},
		{[]string{"--calib", dir, in, filepath.Join(dir, "o")}, "no .jpg, .jpeg or .png"},
		{[]string{"--calib", dir, garbage, filepath.Join(dir, "o")}, "read " + garbage},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), c.args, &stderr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}

func readReport(t *testing.T, path string) calib.Report {
	t.Helper()
	var r calib.Report
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}
