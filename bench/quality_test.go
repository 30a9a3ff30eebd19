package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	measure "github.com/animed/animed/internal/bench"
	"github.com/animed/animed/internal/pixels"
	"github.com/animed/animed/internal/testmodel"
)

func TestPSNRSSIM(t *testing.T) {
	const h, w = 24, 20
	a := measure.Pattern(h, w, 3)
	if p := PSNR(a, a); !math.IsInf(p, 1) {
		t.Errorf("PSNR(a, a) = %v, want +Inf", p)
	}
	if s := SSIM(a, a, h, w); math.Abs(s-1) > 1e-12 {
		t.Errorf("SSIM(a, a) = %v, want 1", s)
	}
	// A constant offset of 0.2 in [-1,1] is 0.1 in [0,1]: MSE 0.01, 20 dB.
	b := make([]float32, len(a))
	for i, v := range a {
		b[i] = v*0.5 + 0.2 // keep inside [-1,1] after scaling
		a[i] = v * 0.5
	}
	if p := PSNR(a, b); math.Abs(p-20) > 1e-4 {
		t.Errorf("PSNR with offset 0.2 = %v, want 20 dB", p)
	}
	neg := make([]float32, len(a))
	for i, v := range a {
		neg[i] = -v
	}
	if s := SSIM(a, neg, h, w); s > 0.5 {
		t.Errorf("SSIM(a, -a) = %v, want < 0.5", s)
	}
	if s := SSIM(a, b, h, w); s < 0.9 || s >= 1 {
		t.Errorf("SSIM(a, a+offset) = %v, want in [0.9, 1)", s)
	}
	if s := SSIM(a[:3*5*5], a[:3*5*5], 5, 5); !math.IsNaN(s) {
		t.Errorf("SSIM of 5x5 = %v, want NaN (smaller than the window)", s)
	}
}

func TestHeldOut(t *testing.T) {
	dir := t.TempDir()
	for i := range 25 {
		sub := "a"
		if i%2 == 1 {
			sub = "b"
		}
		p := filepath.Join(dir, sub, string(rune('a'+i))+".jpg")
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, nil, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o644)
	held, err := HeldOut(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Held out by the hash of the relative path; the same five that
	// models/distill/data.py's held_out picks from these names.
	var want []string
	for _, n := range []string{"a/c.jpg", "a/e.jpg", "a/k.jpg", "b/l.jpg", "b/p.jpg"} {
		want = append(want, filepath.Join(dir, filepath.FromSlash(n)))
	}
	if !slices.Equal(held, want) {
		t.Errorf("HeldOut = %q, want %q", held, want)
	}
	// Adding photos moves none of the others across the split.
	for i := range 40 {
		p := filepath.Join(dir, "c", fmt.Sprintf("new%d.jpg", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, nil, 0o644)
	}
	more, err := HeldOut(dir)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, p := range more {
		if !strings.HasPrefix(p, filepath.Join(dir, "c")+string(filepath.Separator)) {
			kept = append(kept, p)
		}
	}
	if !slices.Equal(kept, want) || len(more) == len(want) {
		t.Errorf("after adding 40 photos: HeldOut = %q, want %q plus some of c/", more, want)
	}
	if _, err := HeldOut(filepath.Join(dir, "a", "s.jpg", "nope")); err == nil {
		t.Error("HeldOut(missing) succeeded")
	}
}

// writePhotos writes n generated PNG photos of w x h.
func writePhotos(t *testing.T, n, w, h int) []string {
	t.Helper()
	var out []string
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		p := measure.Pattern(h, w, 3)
		for k := range p {
			p[k] = float32(math.Mod(float64(p[k])+float64(i)*0.3+1, 2) - 1)
		}
		pixels.FromTensor(p, img)
		var buf bytes.Buffer
		png.Encode(&buf, img)
		path := filepath.Join(t.TempDir(), "photo.png")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, path)
	}
	return out
}

// testModels writes the FP32 and INT8 test models to files.
func testModels(t *testing.T) (fp32, int8 string) {
	t.Helper()
	dir := t.TempDir()
	fp32, int8 = filepath.Join(dir, "fp32.tflite"), filepath.Join(dir, "int8.tflite")
	if err := errors.Join(os.WriteFile(fp32, testmodel.FP32(), 0o644), os.WriteFile(int8, testmodel.Int8(), 0o644)); err != nil {
		t.Fatal(err)
	}
	return fp32, int8
}

func TestQuality(t *testing.T) {
	fp32, int8 := testModels(t)
	var sheet bytes.Buffer
	res, err := Quality(context.Background(), QualityOptions{Reference: fp32, Models: []string{fp32, int8},
		Labels: []string{"same"}, Photos: writePhotos(t, 3, 90, 70), Size: 48, Threads: 1, Sheet: &sheet, SheetRows: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Photos != 3 || len(res.Entries) != 3 {
		t.Fatalf("result %+v, want 3 photos and 3 entries", res)
	}
	floor, same, q := res.Entries[0], res.Entries[1], res.Entries[2]
	if floor.Label != "photo (floor)" || same.Label != "same" || q.Label != "int8.tflite" {
		t.Errorf("labels %q %q %q", floor.Label, same.Label, q.Label)
	}
	if same.Lines != (LineScores{1, 1, 1}) {
		t.Errorf("reference vs itself: lines %+v, want all 1", same.Lines)
	}
	if same.PSNR != MaxPSNR || same.SSIM != 1 {
		t.Errorf("reference vs itself: %+v, want PSNR %v and SSIM 1", same, float64(MaxPSNR))
	}
	// The INT8 test model tracks the FP32 one closely; the photo does not
	// (the model shifts colours).
	if q.PSNR < 30 || q.SSIM < 0.95 || q.PSNR <= floor.PSNR {
		t.Errorf("int8 vs fp32 %+v, floor %+v: want > 30 dB, SSIM > 0.95, above the floor", q, floor)
	}
	img, err := png.Decode(&sheet)
	if err != nil {
		t.Fatal(err)
	}
	// 4 columns (photo, reference, 2 models) x 2 rows of 48 px, 4 px gaps, 18 px caption.
	if b := img.Bounds(); b.Dx() != 4*48+5*4 || b.Dy() != 18+2*48+3*4 {
		t.Errorf("contact sheet %v, want %dx%d", b, 4*48+5*4, 18+2*48+3*4)
	}
	if _, err := Quality(context.Background(), QualityOptions{Reference: fp32, Models: []string{"/nonexistent.tflite"}, Photos: writePhotos(t, 1, 64, 64)}); err == nil {
		t.Error("Quality with a missing model succeeded")
	}
	if _, err := Quality(context.Background(), QualityOptions{Reference: fp32}); err == nil {
		t.Error("Quality without photos succeeded")
	}
}

func TestEndToEnd(t *testing.T) {
	_, int8 := testModels(t)
	res, err := EndToEnd(context.Background(), E2EOptions{Model: int8, Threads: 1, Photos: writePhotos(t, 2, 100, 60),
		Width: 128, Height: 96, Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Photos != 3 || res.PhotosPerSec <= 0 || res.Width != 128 || res.Height != 96 || res.InBytes == 0 || res.OutBytes == 0 {
		t.Errorf("result %+v", res)
	}
	var sum float64
	for _, s := range Stages {
		st := res.Stages[s]
		if st.Runs != 3 || st.Median < 0 {
			t.Errorf("stage %s: %+v, want 3 runs", s, st)
		}
		sum += st.Mean
		if res.HWMAfterKB[s] <= 0 {
			t.Errorf("no VmHWM after %s", s)
		}
	}
	if math.Abs(sum-res.Total.Mean) > 0.01*res.Total.Mean+0.05 {
		t.Errorf("stage means add to %.3f ms, total mean %.3f ms", sum, res.Total.Mean)
	}
	if res.PeakRSSKB <= 0 {
		t.Errorf("peak RSS %d", res.PeakRSSKB)
	}
	var md bytes.Buffer
	WriteE2EMarkdown(&md, res)
	if !bytes.Contains(md.Bytes(), []byte("photos/s")) || !bytes.Contains(md.Bytes(), []byte("| infer |")) {
		t.Errorf("Markdown:\n%s", md.String())
	}
	// Generated pictures when no photos are given; bad sizes and fixed models fail.
	if _, err := EndToEnd(context.Background(), E2EOptions{Model: int8, Threads: 1, Width: 64, Height: 48, Count: 1}); err != nil {
		t.Errorf("generated photos: %v", err)
	}
	if _, err := EndToEnd(context.Background(), E2EOptions{Model: int8, Width: 65, Height: 48}); err == nil {
		t.Error("65x48 succeeded")
	}
	fixed := filepath.Join(t.TempDir(), "fixed.tflite")
	if err := os.WriteFile(fixed, testmodel.MustBuild(testmodel.Config{FixedSize: true}), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := EndToEnd(context.Background(), E2EOptions{Model: fixed, Width: 128, Height: 96, Count: 1}); err == nil {
		t.Error("fixed-size model succeeded at 128x96")
	}
}
