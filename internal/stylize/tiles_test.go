package stylize

import (
	"context"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/animed/animed/converter"
	"github.com/animed/animed/converter/exec"
	"github.com/animed/animed/converter/onnx"
	"github.com/animed/animed/converter/onnxtest"
	"github.com/animed/animed/internal/pixels"
	"github.com/animed/animed/internal/sharedtest"
	"github.com/animed/animed/internal/testmodel"
	"github.com/animed/animed/internal/tflitefile"
	"github.com/animed/animed/models"
)

// onePiece is a tile limit no test photo reaches.
const onePiece = 1 << 24

// gradient is a smooth synthetic sky: a vertical blue-to-white ramp with a
// slow horizontal drift, the content where seams show most.
func gradient(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			fy, fx := float64(y)/float64(h), float64(x)/float64(w)
			p := m.Pix[m.PixOffset(x, y):]
			p[0] = uint8(70 + 150*fy + 20*fx)
			p[1] = uint8(120 + 100*fy + 10*math.Sin(3*fx))
			p[2] = uint8(230 - 20*fy)
			p[3] = 0xFF
		}
	}
	return m
}

// sky returns the top of a photo of a clear sky from ../shared/photos, or
// skips.
func sky(t *testing.T) *image.RGBA {
	t.Helper()
	p := filepath.Join(sharedtest.Photos(t), "scenes-japan", "v3_49.jpg")
	f, err := os.Open(p)
	if err != nil {
		t.Skipf("sky photo not available: %v", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The top 320 rows of this 906x1280 photo are sky.
	m := image.NewRGBA(image.Rect(0, 0, 448, 320))
	draw.Draw(m, m.Bounds(), img, image.Pt(200, 0), draw.Src)
	return m
}

// compare returns the PSNR of got against want, and the worst ratio, over
// rows and over columns, of the largest per-line mean |difference| to the
// median one: lines stand out when seams show. When no line's mean
// difference reaches half an 8-bit step there is no visible structure and
// the ratio is 0 (the median of near-equal images is 0).
func compare(got, want *image.RGBA) (psnr, lines float64) {
	b := want.Bounds()
	w, h := b.Dx(), b.Dy()
	rows, cols := make([]float64, h), make([]float64, w)
	var se float64
	for y := range h {
		for x := range w {
			g, r := got.Pix[got.PixOffset(x, y):], want.Pix[want.PixOffset(x, y):]
			for c := range 3 {
				d := float64(g[c]) - float64(r[c])
				se += d * d
				rows[y] += math.Abs(d) / float64(3*w)
				cols[x] += math.Abs(d) / float64(3*h)
			}
		}
	}
	psnr = math.Inf(1)
	if se > 0 {
		psnr = 10 * math.Log10(255*255/(se/float64(3*w*h)))
	}
	for _, v := range [][]float64{rows, cols} {
		top := slices.Max(v)
		if top < 0.5 {
			continue
		}
		lines = max(lines, top/max(median(v), 1e-9))
	}
	return psnr, lines
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func apply(t *testing.T, s *Stylizer, img *image.RGBA) *image.RGBA {
	t.Helper()
	out, err := s.Apply(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Tiles leave no seams: at the default tile size and at 16384 pixels, the
// shipped model's tiled result equals its one-piece result within 45 dB,
// with no row or column standing out.
func TestTilesMatchOnePiece(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the shipped model on 100k-pixel photos")
	}
	ref := newFromData(t, models.Default(), Options{MaxWholePixels: onePiece})
	photos := []struct {
		name string
		img  func(t *testing.T) *image.RGBA
	}{
		{"gradient", func(*testing.T) *image.RGBA { return gradient(400, 300) }},
		{"sky", sky},
	}
	for _, p := range photos {
		t.Run(p.name, func(t *testing.T) {
			img := p.img(t)
			whole := apply(t, ref, img)
			for _, tile := range []int{0, 16384} {
				calls := 0
				s := newFromData(t, models.Default(), Options{MaxWholePixels: tile, Progress: func() { calls++ }})
				got := apply(t, s, img)
				psnr, lines := compare(got, whole)
				t.Logf("tile-pixels %d: %d tiles, %.1f dB, line ratio %.1f", tile, calls, psnr, lines)
				if calls < 2 {
					t.Errorf("tile-pixels %d: %d model runs, want tiles", tile, calls)
				}
				if psnr < 45 || lines > 3 {
					t.Errorf("tile-pixels %d: tiled vs one piece %.1f dB (want >= 45), line ratio %.1f (want <= 3)", tile, psnr, lines)
				}
			}
		})
	}
}

// pad returns img extended by n pixels of reflection on every side.
func pad(img *image.RGBA, n int) *image.RGBA {
	b := img.Bounds()
	m := image.NewRGBA(image.Rect(0, 0, b.Dx()+2*n, b.Dy()+2*n))
	for y := range m.Bounds().Dy() {
		for x := range m.Bounds().Dx() {
			copy(m.Pix[m.PixOffset(x, y):][:4], img.Pix[img.PixOffset(pixels.Mirror(x-n, b.Dx()), pixels.Mirror(y-n, b.Dy())):])
		}
	}
	return m
}

// band returns the outer n-pixel frame of img as an image of its pixels
// laid end to end (so compare can score it).
func band(img *image.RGBA, n int) *image.RGBA {
	b := img.Bounds()
	var pix []uint8
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if x < b.Min.X+n || y < b.Min.Y+n || x >= b.Max.X-n || y >= b.Max.Y-n {
				pix = append(pix, img.Pix[img.PixOffset(x, y):][:4]...)
			}
		}
	}
	return &image.RGBA{Pix: pix, Stride: len(pix), Rect: image.Rect(0, 0, len(pix)/4, 1)}
}

// A photo's border comes out as it does inside a larger photo: the outer
// 8-pixel band equals, within 45 dB, the same photo padded by 64 pixels
// of reflection, styled and cropped back.
func TestBordersLikeInterior(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the shipped model on 100k-pixel photos")
	}
	const margin = 64
	photos := []struct {
		name string
		img  func(t *testing.T) *image.RGBA
	}{
		{"gradient", func(*testing.T) *image.RGBA { return gradient(240, 180) }},
		{"photo", func(*testing.T) *image.RGBA { return photo(240, 180, 11) }},
		{"sky", sky},
	}
	for _, p := range photos {
		t.Run(p.name, func(t *testing.T) {
			img := p.img(t)
			b := img.Bounds()
			for _, tile := range []int{0, onePiece} {
				s := newFromData(t, models.Default(), Options{MaxWholePixels: tile})
				got := apply(t, s, img)
				padded := apply(t, s, pad(img, margin))
				want := padded.SubImage(b.Add(image.Pt(margin, margin))).(*image.RGBA)
				psnr, _ := compare(band(got, 8), band(want, 8))
				t.Logf("tile-pixels %d: outer band %.1f dB", tile, psnr)
				if psnr < 45 {
					t.Errorf("tile-pixels %d: outer 8-px band %.1f dB from the padded photo's, want >= 45", tile, psnr)
				}
			}
		})
	}
}

// normGenerator builds an ONNX generator with instance norm (whole-image
// statistics) and converts it at size x size.
func normGenerator(t *testing.T, h, w int) *converter.Result {
	t.Helper()
	b := onnxtest.New(13)
	x := b.Input("x", 1, 3, -1, -1)
	c := b.Node("Conv", []string{x, b.Rand("w1", -0.5, 0.5, 8, 3, 3, 3), b.Rand("b1", -0.1, 0.1, 8)}, onnxtest.A("pads", []int{1, 1, 1, 1}))
	n := b.Node("InstanceNormalization", []string{c, b.Rand("s", 0.5, 1, 8), b.Rand("bb", -0.2, 0.2, 8)})
	r := b.Node("LeakyRelu", []string{n}, onnxtest.A("alpha", float32(0.2)))
	o := b.Node("Conv", []string{r, b.Rand("w2", -0.4, 0.4, 3, 8, 1, 1), b.Rand("b2", -0.1, 0.1, 3)})
	b.Output(b.Node("Tanh", []string{b.Node("Add", []string{o, x})}))
	g, err := onnx.Load(b.Bytes(), "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := converter.Convert(g, converter.Options{InputShape: []int{1, 3, h, w}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// normReference returns a 256x192 photo whose halves differ (so tiles'
// statistics would too) and normGenerator's FP32 output on it, whole.
func normReference(t *testing.T) (img *image.RGBA, want []float32, wantImg *image.RGBA) {
	t.Helper()
	img = gradient(256, 192)
	draw.Draw(img, image.Rect(0, 0, 96, 192), photo(96, 192, 12), image.Point{}, draw.Src)
	out, err := exec.Run(normGenerator(t, 192, 256).Graph, [][]float32{toFloats(img)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantImg = image.NewRGBA(img.Bounds())
	pixels.FromTensor(out[0], wantImg)
	return img, out[0], wantImg
}

// A model that normalizes over the whole image runs in one piece at the
// default tile size: its result is its FP32 reference on the whole photo.
func TestWholeImageModel(t *testing.T) {
	res := normGenerator(t, 64, 64)
	data, err := res.Model.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	img, want, wantImg := normReference(t)
	s := newFromData(t, data, Options{})
	got := apply(t, s, img)
	psnr, _ := compare(got, wantImg)
	t.Logf("mode %s: %.1f dB from the FP32 reference", s.Mode(), psnr)
	if d := maxDiff(got, want); psnr < 45 || d > 2 {
		t.Errorf("whole-image model at defaults: %.1f dB, max difference %.1f steps from its FP32 one-piece reference, want >= 45 dB and <= 2", psnr, d)
	}
}

// BenchmarkApplyPhoto runs the shipped model on a 1024x768 photo in one
// piece and in tiles of a few sizes (0: the default): what tiles cost,
// since each recomputes its margins, and, as the metric dB, how far the
// tiled result is from the one-piece one (99: identical). make bench
// reports it.
func BenchmarkApplyPhoto(b *testing.B) {
	img := gradient(1024, 768)
	draw.Draw(img, image.Rect(0, 0, 512, 768), photo(512, 768, 13), image.Point{}, draw.Src)
	whole, err := NewFromData(models.Default(), Options{MaxWholePixels: onePiece})
	if err != nil {
		b.Fatal(err)
	}
	ref, err := whole.Apply(context.Background(), img)
	whole.Close()
	if err != nil {
		b.Fatal(err)
	}
	for _, tile := range []int{onePiece, 0, 16384, 65536} {
		b.Run(fmt.Sprintf("tile-pixels=%d", tile), func(b *testing.B) {
			calls := 0
			s, err := NewFromData(models.Default(), Options{MaxWholePixels: tile, Progress: func() { calls++ }})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			// The first run rewrites the model for the tile size.
			out, err := s.Apply(context.Background(), img)
			if err != nil {
				b.Fatal(err)
			}
			calls = 0
			b.ResetTimer()
			for range b.N {
				if _, err := s.Apply(context.Background(), img); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			psnr, _ := compare(out, ref)
			b.ReportMetric(min(psnr, 99), "dB")
			b.ReportMetric(float64(calls)/float64(b.N), "tiles/op")
		})
	}
}

// fixedSize returns the model with a RESHAPE to its own shape appended,
// so that TFLite cannot resize it.
func fixedSize(t *testing.T, m *tflitefile.Model) []byte {
	t.Helper()
	g := m.Subgraphs[0]
	out := g.Tensors[g.Outputs[0]]
	shape := g.AddTensor(&tflitefile.Tensor{Name: "fixed/shape", Shape: []int32{4}, Type: tflitefile.Int32,
		Buffer: m.AddBuffer(tflitefile.Int32Bytes(out.Shape))})
	fixed := g.AddTensor(&tflitefile.Tensor{Name: "fixed", Shape: out.Shape, Type: out.Type})
	g.AddOperator(&tflitefile.Operator{Op: tflitefile.Reshape, Inputs: []int32{g.Outputs[0], shape}, Outputs: []int32{fixed},
		Options: &tflitefile.ReshapeOptions{NewShape: out.Shape}})
	g.Outputs = []int32{fixed}
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Without the graph (New), a whole-image model is found by measuring:
// a change reaches across every probe. Resizable, it runs in one piece;
// of fixed size, it runs in tiles with a warning that says why; over
// MaxWholeImagePixels it runs scaled down, once.
func TestWholeImageMeasured(t *testing.T) {
	img, _, wantImg := normReference(t)
	resizable, err := normGenerator(t, 64, 64).Model.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		model   []byte
		opts    Options
		calls   int     // model runs per photo, 0: several
		minPSNR float64 // from the FP32 reference
		warn    string
	}{
		{"resizable", resizable, Options{}, 1, 45, ""},
		{"scaled down", resizable, Options{MaxWholeImagePixels: 12288}, 1, 25, ""},
		{"fixed size", fixedSize(t, normGenerator(t, 64, 64).Model), Options{}, 0, 0, "needs the whole image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			calls := 0
			tt.opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			tt.opts.Progress = func() { calls++ }
			s := newStylizer(t, tt.model, tt.opts)
			if f := s.Field(); !strings.HasPrefix(f.Whole, "measured") {
				t.Fatalf("field %v, want whole image by measurement", f)
			}
			got := apply(t, s, img)
			psnr, _ := compare(got, wantImg)
			t.Logf("%d runs, %.1f dB from the FP32 reference", calls, psnr)
			if tt.calls > 0 && calls != tt.calls || tt.calls == 0 && calls < 2 {
				t.Errorf("%d model runs, want %d (0: tiles)", calls, tt.calls)
			}
			if psnr < tt.minPSNR {
				t.Errorf("%.1f dB from the FP32 reference, want >= %.0f", psnr, tt.minPSNR)
			}
			if !strings.Contains(logs.String(), tt.warn) {
				t.Errorf("log %q lacks %q", logs.String(), tt.warn)
			}
		})
	}
}

// A tiled photo costs the Go heap its result and the sums of the pixels
// tiles share, no more: the tiles' pixels go in and out of the
// interpreter's own tensors, and the blending sums cover the overlaps,
// not a band of the photo (which alone took 2x the result).
func TestTiledHeapFollowsTheResult(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the shipped model on a 300k-pixel photo")
	}
	s := newFromData(t, models.Default(), Options{MaxWholePixels: 65536})
	img := gradient(640, 480)
	apply(t, s, img) // the interpreter's size, the tables
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out := apply(t, s, img)
	runtime.ReadMemStats(&after)
	res := int64(len(out.Pix))
	alloc := int64(after.TotalAlloc - before.TotalAlloc)
	t.Logf("Go heap allocations %.2f MB for a %.2f MB result", float64(alloc)/1e6, float64(res)/1e6)
	if alloc > res*3/2 {
		t.Errorf("styling allocated %d bytes in the Go heap, more than 1.5x the %d-byte result", alloc, res)
	}
}

// denseTiled is the blending tiled does, written the plain way: every
// pixel summed, weighted, in sums over the whole photo.
func denseTiled(t *testing.T, s *Stylizer, img *image.RGBA, th, tw, margin int) *image.RGBA {
	t.Helper()
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	ys := planAxis(h, th, margin, s.field.Stride, blend(s.field.Stride))
	xs := planAxis(w, tw, margin, s.field.Stride, blend(s.field.Stride))
	wy, wx := rampWeights(ys), rampWeights(xs)
	acc, ws := make([]float32, 3*w*h), make([]float32, w*h)
	in := make([]float32, 3*th*tw)
	for i, ty := range ys {
		for j, tx := range xs {
			pixels.Window(img, in, tx.start, ty.start, th, tw)
			out, err := s.run(in, th, tw)
			if err != nil {
				t.Fatal(err)
			}
			for y := ty.lo; y < ty.hi; y++ {
				for x := tx.lo; x < tx.hi; x++ {
					wt := wy[i][y-ty.lo] * wx[j][x-tx.lo]
					o := out[3*((y-ty.start)*tw+x-tx.start):]
					for c := range 3 {
						acc[3*(y*w+x)+c] += wt * o[c]
					}
					ws[y*w+x] += wt
				}
			}
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for p := range ws {
		finish(dst.Pix[4*p:4*p+4], []float32{acc[3*p], acc[3*p+1], acc[3*p+2], ws[p]})
	}
	return dst
}

// tiled's sparse sums give exactly the plain dense blend: one tile, a
// grid of two, and a photo three tiles cover at once in a band (the step
// under half the interior), for float and int8 I/O.
func TestTiledMatchesDenseBlend(t *testing.T) {
	models := []struct {
		name string
		data []byte
	}{
		{"float", testmodel.FP32()},
		{"int8", testmodel.MustBuild(testmodel.Config{Int8: true, Int8IO: true})},
	}
	for _, m := range models {
		s := newStylizer(t, m.data, Options{})
		st, margin := s.field.Stride, s.field.Margin()
		inner := roundUp(100, st)
		tile := inner + 2*margin
		tests := []struct {
			name  string
			w, h  int
			cover int // the most tiles a row shares
		}{
			{"one tile", inner - 3, inner - 5, 1},
			{"two by two", inner + 37, inner + 11, 2},
			// 2*inner - blend/2 pixels: three tiles whose steps are
			// just under half the interior.
			{"three at once", 2*inner - blend(st)/2, 2*inner - blend(st)/2, 3},
			{"thin", 3*inner + 5, 7, 1},
		}
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				cover := make([]int, tt.h)
				for _, sp := range planAxis(tt.h, tile, margin, st, blend(st)) {
					for y := sp.lo; y < sp.hi; y++ {
						cover[y]++
					}
				}
				if got := slices.Max(cover); got != tt.cover {
					t.Fatalf("rows in up to %d tiles, want %d", got, tt.cover)
				}
				img := photo(tt.w, tt.h, 7)
				got, err := s.tiled(context.Background(), img, tile, tile, margin)
				if err != nil {
					t.Fatal(err)
				}
				want := denseTiled(t, s, img, tile, tile, margin)
				for i := range want.Pix {
					if got.Pix[i] != want.Pix[i] {
						p := i / 4
						t.Fatalf("pixel %d,%d channel %d: %d, dense blend %d", p%tt.w, p/tt.w, i%4, got.Pix[i], want.Pix[i])
					}
				}
			})
		}
	}
}
