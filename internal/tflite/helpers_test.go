package tflite

import (
	"bytes"
	"image"
	_ "image/jpeg"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/animed/animed/internal/sharedtest"
)

const (
	teacherRel = "teacher/animeganv2_hayao_256_int8.tflite"
	photoRel   = "photos/scenes-japan/v3_0.jpg"
)

// sharedPath returns the path of rel in the project's ../shared data folder
// and whether it exists, for tests that can do without it.
func sharedPath(rel string) (string, bool) {
	root, ok := sharedtest.Root()
	if !ok {
		return "", false
	}
	p := filepath.Join(root, rel)
	_, err := os.Stat(p)
	return p, err == nil
}

func teacher(t testing.TB) *Model {
	t.Helper()
	m, err := LoadModel(sharedtest.Teacher(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// photo returns a real photo, center-cropped to a square and box-sampled to
// size x size, as NHWC RGB floats in [-1, 1].
func photo(t testing.TB, size int) []float32 {
	t.Helper()
	path := sharedtest.Path(t, filepath.FromSlash(photoRel))
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return toFloats(img, size)
}

// toFloats center-crops img to a square and box-samples it to size x size.
func toFloats(img image.Image, size int) []float32 {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	x0, y0 := b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2
	out := make([]float32, 0, size*size*3)
	for y := range size {
		for x := range size {
			var sum [3]float64
			n := 0
			for sy := y * side / size; sy < (y+1)*side/size; sy++ {
				for sx := x * side / size; sx < (x+1)*side/size; sx++ {
					r, g, bl, _ := img.At(x0+sx, y0+sy).RGBA()
					sum[0] += float64(r >> 8)
					sum[1] += float64(g >> 8)
					sum[2] += float64(bl >> 8)
					n++
				}
			}
			for c := range 3 {
				out = append(out, float32(sum[c]/float64(n)/127.5-1))
			}
		}
	}
	return out
}

// testLogger returns a logger writing into buf.
func testLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// run sets input 0 from in, invokes it and returns output 0 as floats.
func run(t testing.TB, it *Interpreter, in []float32) []float32 {
	t.Helper()
	if err := it.Input(0).SetFloat32(in); err != nil {
		t.Fatal(err)
	}
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	out := make([]float32, it.Output(0).Len())
	if err := it.Output(0).ReadFloat32(out); err != nil {
		t.Fatal(err)
	}
	return out
}

func tempFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
