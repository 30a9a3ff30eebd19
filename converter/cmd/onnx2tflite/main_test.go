package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/animed/animed/converter/onnx"
	. "github.com/animed/animed/converter/onnxtest"
	"github.com/animed/animed/converter/verify"
)

func writeModel(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func convNet(opset int, op string) []byte {
	b := New(opset)
	x := b.Input("x", 1, 3, 16, 16)
	c := b.Node("Conv", []string{x, b.Rand("w", -1, 1, 4, 3, 3, 3)}, A("pads", []int{1, 1, 1, 1}))
	b.Output(b.Node(op, []string{c}))
	return b.Bytes()
}

// TestBadInputs runs the real binary: every failure must exit non-zero
// with one line naming the problem.
func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "onnx2tflite")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	good := convNet(13, "Relu")
	for _, tc := range []struct {
		name string
		data []byte
		args []string
		want string
	}{
		{"missing file", nil, nil, "no such file"},
		{"truncated", good[:len(good)/3], nil, "not an ONNX model"},
		{"not onnx", []byte("GIF89a........"), nil, "not an ONNX model"},
		{"unsupported op", convNet(13, "Asin"), nil, `node "Asin_2" (Asin): operator Asin is not supported`},
		{"opset too new", convNet(onnx.MaxOpset+1, "Relu"), nil, "opset 19 is not supported"},
		{"bad shape flag", good, []string{"--input-shape", "1,x,3"}, "bad --input-shape"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := filepath.Join(dir, "absent.onnx")
			if tc.data != nil {
				in = writeModel(t, dir, strings.ReplaceAll(tc.name, " ", "_")+".onnx", tc.data)
			}
			cmd := exec.Command(bin, append(tc.args, in, filepath.Join(dir, "out.tflite"))...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if err == nil {
				t.Fatal("exit status 0")
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "onnx2tflite: ") || !strings.Contains(last, tc.want) {
				t.Errorf("last stderr line %q, want it to contain %q", last, tc.want)
			}
		})
	}
}

func TestConvertSummary(t *testing.T) {
	dir := t.TempDir()
	in := writeModel(t, dir, "m.onnx", convNet(13, "Relu"))
	out := filepath.Join(dir, "m.tflite")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"--summary", in, out}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		t.Fatalf("no output: %v", err)
	}
	for _, want := range []string{"CONV_2D", "parameters: 112", "MACs: 27648", "XNNPACK (TFLite 2.9) can take every operator"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "msg=converted") {
		t.Errorf("no progress on stderr:\n%s", stderr.String())
	}
}

func TestVerify(t *testing.T) {
	if _, err := verify.FindORT(); err != nil {
		t.Skipf("ONNX reference unavailable: %v", err)
	}
	dir := t.TempDir()
	in := writeModel(t, dir, "m.onnx", convNet(13, "Tanh"))
	imgs := filepath.Join(dir, "photos", "sub")
	if err := os.MkdirAll(imgs, 0o755); err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(imgs, "a.png"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"--verify", "--verify-runs", "2", "--verify-images", filepath.Join(dir, "photos"), in, filepath.Join(dir, "m.tflite")}
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	for _, b := range []string{"tflite-cpu", "tflite-xnnpack", "exec"} {
		if !strings.Contains(stderr.String(), "msg=verified backend="+b+" inputs=3") {
			t.Errorf("no verification line for %s:\n%s", b, stderr.String())
		}
	}
}

// The PyTorch-exported generator through the command, as a user runs it.
func TestVerifyAnimeGAN(t *testing.T) {
	if _, err := verify.FindORT(); err != nil {
		t.Skipf("ONNX reference unavailable: %v", err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"--verify", "--verify-runs", "1", "--input-shape", "64x96", "--summary",
		"../../testdata/animegan_tiny.onnx", filepath.Join(t.TempDir(), "g.tflite")}
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if strings.Contains(stdout.String(), "TRANSPOSE") {
		t.Errorf("TRANSPOSE in the generator:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "msg=verified backend=tflite-xnnpack") {
		t.Errorf("not verified:\n%s", stderr.String())
	}
}

// --int8 runs the quantizer (package converter/quantize) on the converted
// model; with --float-ops layernorm the norms keep the MEAN form it
// recognizes.
func TestInt8(t *testing.T) {
	dir := t.TempDir()
	photos := filepath.Join(dir, "photos")
	if err := os.Mkdir(photos, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		img := image.NewRGBA(image.Rect(0, 0, 48, 40))
		for p := range img.Pix {
			img.Pix[p] = uint8((p*(i+3))/5 + 17*i)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(photos, "p"+string(rune('a'+i))+".png"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, extra := range [][]string{nil, {"--float-ops", "layernorm"}} {
		out := filepath.Join(dir, "int8.tflite")
		var stdout, stderr bytes.Buffer
		args := append([]string{"--int8", "--calib", photos, "--calib-count", "4", "--gate-count", "2", "--min-psnr", "20",
			"--threads", "1", "--input-shape", "32x32", "--summary"}, extra...)
		args = append(args, "../../testdata/animegan_tiny.onnx", out)
		if err := run(context.Background(), args, &stdout, &stderr); err != nil {
			t.Fatalf("%v %v\n%s", extra, err, stderr.String())
		}
		if !strings.Contains(stdout.String(), "QUANTIZE") || !strings.Contains(stderr.String(), "msg=quantized") {
			t.Errorf("%v: not quantized:\n%s\n%s", extra, stdout.String(), stderr.String())
		}
	}
}
