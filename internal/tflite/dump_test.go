package tflite

import (
	"encoding/json"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/animed/animed/internal/testmodel"
)

// dumpEnv names the folder TestDumpOutputs writes into. cross/'s test sets
// it for an amd64 and an arm64 (qemu) build of this package's tests
// and compares the two dumps.
const dumpEnv = "ANIMED_TFLITE_DUMP"

// dumpRecord describes one dumped output tensor (the .json next to the raw
// .bin); cross/'s test decodes the same fields.
type dumpRecord struct {
	Case  string `json:"case"`
	Type  string `json:"type"` // TensorType.String()
	Shape []int  `json:"shape"`
	// LSB is one quantization step of the values (the int8 scale, or the
	// step of the int8 tensor a float output was dequantized from); 0 for a
	// float model.
	LSB   float64 `json:"lsb"`
	Image string  `json:"image"`
}

// TestDumpOutputs runs the generated models on a real photo (64x64) on
// each backend and writes the raw outputs for a cross-architecture
// comparison. It only runs when ANIMED_TFLITE_DUMP is set.
func TestDumpOutputs(t *testing.T) {
	dir := os.Getenv(dumpEnv)
	if dir == "" {
		t.Skipf("skipping: set %s=DIR to dump outputs (the cross package's arm64 test does)", dumpEnv)
	}
	const size = 64
	in, src := dumpImage(t, size)
	int8Step := 2.0 / 255 // testmodel's I/O quantization step
	cases := []struct {
		name    string
		c       testmodel.Config
		backend Backend
		lsb     float64
	}{
		{"fp32-cpu", testmodel.Config{}, BackendCPU, 0},
		{"fp32-xnnpack", testmodel.Config{}, BackendXNNPACK, 0},
		{"int8-cpu", testmodel.Config{Int8: true}, BackendCPU, int8Step},
		{"int8-xnnpack", testmodel.Config{Int8: true}, BackendXNNPACK, int8Step},
		{"int8io-cpu", testmodel.Config{Int8: true, Int8IO: true}, BackendCPU, int8Step},
		{"int8io-xnnpack", testmodel.Config{Int8: true, Int8IO: true}, BackendXNNPACK, int8Step},
	}
	for _, c := range cases {
		m := buildModel(t, c.c)
		it, err := NewInterpreter(m, Options{Threads: 1, Backend: c.backend})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if it.Backend() != c.backend {
			t.Fatalf("%s: runs on %s: %s", c.name, it.Backend(), it.FallbackReason())
		}
		out := it.Output(0)
		if err := it.Input(0).SetFloat32(in); err != nil {
			t.Fatal(err)
		}
		if err := it.Invoke(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		rec := dumpRecord{Case: c.name, Type: out.Type().String(), Shape: out.Shape(), LSB: c.lsb, Image: src}
		if out.Type() == Int8 {
			scale, _ := out.Quant()
			rec.LSB = float64(scale)
		}
		writeDump(t, dir, rec, slices.Clone(out.Bytes()))
		it.Close()
	}
}

func writeDump(t *testing.T, dir string, rec dumpRecord, data []byte) {
	t.Helper()
	j, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, rec.Case+".json"), j, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, rec.Case+".bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dumpImage returns the real photo at size x size, or a synthetic picture
// with edges and gradients when ../shared is absent.
func dumpImage(t *testing.T, size int) ([]float32, string) {
	if p, ok := sharedPath(photoRel); ok {
		return photo(t, size), filepath.Base(p)
	}
	t.Logf("../shared/%s absent: dumping outputs for a synthetic image", photoRel)
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	for y := range 256 {
		for x := range 256 {
			c := color.RGBA{uint8(x), uint8(y), uint8((x ^ y) & 0xff), 255}
			if (x-128)*(x-128)+(y-100)*(y-100) < 40*40 {
				c = color.RGBA{240, 200, 40, 255}
			}
			img.Set(x, y, c)
		}
	}
	return toFloats(img, size), "synthetic"
}
