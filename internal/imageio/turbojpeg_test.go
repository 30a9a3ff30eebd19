package imageio

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"runtime"
	"testing"

	"github.com/animed/animed/internal/imageio/phototest"
)

// TestScaledJPEGDecode decodes a realistic 12 MP phone JPEG at DCT scale
// and checks it against Go's full-size decode shrunk by exact area
// averaging, and that the Go heap saw nothing but the result.
func TestScaledJPEGDecode(t *testing.T) {
	w, h := phototest.PhoneWidth, phototest.PhoneHeight
	if testing.Short() { // under qemu (cross/), a quarter of the pixels
		w, h = w/2, h/2
	}
	data, err := phototest.Photo(phototest.Scene(1024, 768, 2), w, h, 2)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	full := image.NewRGBA(img.Bounds())
	draw.Draw(full, full.Bounds(), img, image.Point{}, draw.Src)
	img = nil
	for _, side := range []int{1024, 700, 500, 256, 100} {
		t.Run(fmt.Sprint(side), func(t *testing.T) {
			p, err := Decode(data, DecodeOptions{MaxSide: side})
			if err != nil {
				t.Fatal(err)
			}
			w, h := scaledSize(w, h, side)
			if b := p.RGB.Bounds(); b.Dx() != w || b.Dy() != h {
				t.Fatalf("decoded to %v, want %dx%d", b, w, h)
			}
			mean, far := compareRGB(p.RGB, areaReference(full, w, h), 24)
			t.Logf("%dx%d: mean difference %.2f levels, %.3f%% of samples differ by more than 24", w, h, mean, 100*far)
			// At 1/8 scale (500 px) a 4:2:0 photo's colour comes at half
			// the output's resolution, which blurs the generated scene's
			// saturated edges: about 1.6% of samples differ by more than 24.
			// A pixel of misalignment or a swapped channel makes it 5-10%.
			if mean > 2.5 || far > 0.025 {
				t.Errorf("scaled decode differs from full decode + resize: mean %.2f levels (want <= 2.5), %.3f%% of samples by more than 24 (want <= 2.5%%)", mean, 100*far)
			}
		})
	}
	t.Run("memory", func(t *testing.T) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		p, err := Decode(data, DecodeOptions{MaxSide: 1024})
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		out := int64(len(p.RGB.Pix))
		alloc := int64(after.TotalAlloc - before.TotalAlloc)
		t.Logf("Go heap allocations %.1f MB for a %.1f MB result", float64(alloc)/1e6, float64(out)/1e6)
		// The result only: the DCT-scaled decode (3/8: 2.2x the result's
		// pixels) lives outside the Go heap (offheap) and is gone once
		// resized; in the heap it would add 2.2x, and Go's full decode
		// 12 MP of YCbCr (18 MB).
		if alloc > out*5/4 {
			t.Errorf("decoding allocated %d bytes in the Go heap, more than 1.25x the %d-byte result", alloc, out)
		}
	})
}

// areaReference shrinks m to w x h by exact area averaging in floating
// point.
func areaReference(m *image.RGBA, w, h int) *image.RGBA {
	sw, sh := m.Bounds().Dx(), m.Bounds().Dy()
	rx, ry := float64(sw)/float64(w), float64(sh)/float64(h)
	// cover returns the share of source pixel j inside [lo, hi).
	cover := func(j int, lo, hi float64) float64 {
		return max(0, min(hi, float64(j+1))-max(lo, float64(j)))
	}
	rows := make([]float64, 4*sw)
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		clear(rows)
		lo, hi := float64(y)*ry, float64(y+1)*ry
		for j := int(lo); j < sh && float64(j) < hi; j++ {
			c := cover(j, lo, hi)
			for i := range rows {
				rows[i] += c * float64(m.Pix[j*m.Stride+i])
			}
		}
		for x := range w {
			lo, hi := float64(x)*rx, float64(x+1)*rx
			var sum [4]float64
			for j := int(lo); j < sw && float64(j) < hi; j++ {
				c := cover(j, lo, hi)
				for k := range sum {
					sum[k] += c * rows[4*j+k]
				}
			}
			for k := range sum {
				out.Pix[y*out.Stride+4*x+k] = uint8(sum[k]/(rx*ry) + 0.5)
			}
		}
	}
	return out
}

// compareRGB returns the mean absolute difference of the colour samples
// of a and b and the fraction that differ by more than limit.
func compareRGB(a, b *image.RGBA, limit int) (mean, far float64) {
	var sum, n, over int
	for i := range a.Pix {
		if i%4 == 3 {
			continue
		}
		d := int(a.Pix[i]) - int(b.Pix[i])
		d = max(d, -d)
		sum += d
		n++
		if d > limit {
			over++
		}
	}
	return float64(sum) / float64(n), float64(over) / float64(n)
}

// TestAreaResize checks areaResize against exact area averaging in
// floating point at the ratios its loops treat differently: under 2x
// (three taps, straight-line), exact multiples, large reductions, one
// pixel wide or tall, and a side kept at its size.
func TestAreaResize(t *testing.T) {
	for _, c := range []struct{ sw, sh, w, h int }{
		{1512, 1134, 1024, 768}, // 3/8 DCT scale of a 12 MP photo
		{301, 203, 300, 202},
		{300, 200, 150, 100},
		{504, 378, 100, 75},
		{997, 13, 7, 1},
		{1, 640, 1, 9},
		{64, 48, 64, 5},
	} {
		t.Run(fmt.Sprintf("%dx%d-%dx%d", c.sw, c.sh, c.w, c.h), func(t *testing.T) {
			src := image.NewRGBA(image.Rect(0, 0, c.sw, c.sh))
			for i := range src.Pix {
				src.Pix[i] = uint8(i*7 + i/(4*c.sw)*13)
			}
			got := areaResize(src, c.w, c.h)
			want := areaReference(src, c.w, c.h)
			if got.Bounds() != want.Bounds() {
				t.Fatalf("resized to %v, want %v", got.Bounds(), want.Bounds())
			}
			for i := range got.Pix { // alpha too: premultiplied sources keep theirs
				if d := int(got.Pix[i]) - int(want.Pix[i]); d > 1 || d < -1 {
					t.Fatalf("sample %d (pixel %d, %d) is %d, want %d±1", i, i/4%c.w, i/4/c.w, got.Pix[i], want.Pix[i])
				}
			}
		})
	}
}
