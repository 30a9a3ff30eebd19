package stylize

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/animed/animed/internal/pixels"
	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/internal/tflite/tflitetest"
	"github.com/animed/animed/internal/tflitefile"
	"github.com/animed/animed/models"
)

// upsampling builds a small generator like AnimeGAN-Tiny's shape at
// size x size: CONV 3x3 stride 2 (3 -> 8) + LEAKY_RELU, RESIZE_BILINEAR x2
// with half-pixel centers (a constant size: not resizable in TFLite),
// CONV 1x1 (8 -> 3), ADD of the input, TANH.
func upsampling(t testing.TB, size int) []byte {
	t.Helper()
	m := tflitefile.NewModel()
	g := m.Main()
	n, h := int32(size), int32(size/2)
	weights := func(k int, scale float32) []byte {
		w := make([]float32, k)
		for i := range w {
			w[i] = (float32((i*53)%23)/11 - 1) * scale
		}
		return tflitefile.Float32Bytes(w)
	}
	f32 := func(name string, shape ...int32) int32 {
		return g.AddTensor(&tflitefile.Tensor{Name: name, Shape: shape, Type: tflitefile.Float32})
	}
	constF := func(name string, data []byte, shape ...int32) int32 {
		return g.AddTensor(&tflitefile.Tensor{Name: name, Shape: shape, Type: tflitefile.Float32, Buffer: m.AddBuffer(data)})
	}
	in := f32("input", 1, n, n, 3)
	c1 := f32("c1", 1, h, h, 8)
	a1 := f32("a1", 1, h, h, 8)
	up := f32("up", 1, n, n, 8)
	c2 := f32("c2", 1, n, n, 3)
	sum := f32("sum", 1, n, n, 3)
	out := f32("output", 1, n, n, 3)
	size2 := g.AddTensor(&tflitefile.Tensor{Name: "up/size", Shape: []int32{2}, Type: tflitefile.Int32,
		Buffer: m.AddBuffer(tflitefile.Int32Bytes([]int32{n, n}))})
	g.AddOperator(&tflitefile.Operator{Op: tflitefile.Conv2D, Version: 1,
		Inputs:  []int32{in, constF("w1", weights(8*3*3*3, 0.4), 8, 3, 3, 3), constF("b1", weights(8, 0.1), 8)},
		Outputs: []int32{c1},
		Options: &tflitefile.Conv2DOptions{Padding: tflitefile.Same, StrideW: 2, StrideH: 2, DilationWFactor: 1, DilationHFac: 1}})
	g.AddOperator(&tflitefile.Operator{Op: tflitefile.LeakyRelu, Inputs: []int32{c1}, Outputs: []int32{a1},
		Options: &tflitefile.LeakyReluOptions{Alpha: 0.2}})
	g.AddOperator(&tflitefile.Operator{Op: tflitefile.ResizeBilinear, Version: 3, Inputs: []int32{a1, size2}, Outputs: []int32{up},
		Options: &tflitefile.ResizeBilinearOptions{HalfPixelCenters: true}})
	g.AddOperator(&tflitefile.Operator{Op: tflitefile.Conv2D, Version: 1,
		Inputs:  []int32{up, constF("w2", weights(3*8, 0.5), 3, 1, 1, 8), constF("b2", weights(3, 0.1), 3)},
		Outputs: []int32{c2},
		Options: &tflitefile.Conv2DOptions{Padding: tflitefile.Same, StrideW: 1, StrideH: 1, DilationWFactor: 1, DilationHFac: 1}})
	g.AddOperator(&tflitefile.Operator{Op: tflitefile.Add, Inputs: []int32{c2, in}, Outputs: []int32{sum}, Options: &tflitefile.AddOptions{}})
	g.AddOperator(&tflitefile.Operator{Op: tflitefile.Tanh, Inputs: []int32{sum}, Outputs: []int32{out}})
	g.Inputs, g.Outputs = []int32{in}, []int32{out}
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// runRewritten runs the model rewritten for h x w directly on in.
func runRewritten(t *testing.T, data []byte, in []float32, h, w int) []float32 {
	t.Helper()
	scaled, err := tflitefile.ScaleInput(data, h, w)
	if err != nil {
		t.Fatal(err)
	}
	return tflitetest.Run(t, scaled, tflite.BackendCPU, in)[0].Data
}

// crop returns the w x h pixels at x0, y0 of NHWC data of width stride.
func crop(v []float32, stride, x0, y0, w, h int) []float32 {
	out := make([]float32, 0, w*h*3)
	for y := y0; y < y0+h; y++ {
		out = append(out, v[3*(y*stride+x0):3*(y*stride+x0+w)]...)
	}
	return out
}

func newFromData(t *testing.T, data []byte, o Options) *Stylizer {
	t.Helper()
	o.Threads = 1
	s, err := NewFromData(data, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestModes(t *testing.T) {
	data := upsampling(t, 64)
	if s := newFromData(t, data, Options{}); s.Mode() != ModeRewrite || !s.Resizable() {
		t.Errorf("NewFromData: mode %q resizable %v, want %q true", s.Mode(), s.Resizable(), ModeRewrite)
	}
	m, err := tflite.NewModel(data)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := New(m, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Mode() != ModeTiles || s.Resizable() {
		t.Errorf("New: mode %q resizable %v, want %q false", s.Mode(), s.Resizable(), ModeTiles)
	}
}

// A 150x100 photo runs through the 64x64 upsampling model in one
// invocation at its size padded by the margin and rounded up to the
// stride, and matches the rewritten model run directly on the padded photo.
func TestRewriteRunsWhole(t *testing.T) {
	data := upsampling(t, 64)
	calls := 0
	s := newFromData(t, data, Options{Backend: tflite.BackendCPU, Progress: func() { calls++ }})
	img := photo(150, 100, 5)
	for round := range 2 {
		calls = 0
		got, err := s.Apply(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		if calls != 1 {
			t.Fatalf("round %d: %d model invocations, want 1 (no tiles)", round, calls)
		}
		f := s.Field()
		m := f.Margin()
		h, w := roundUp(100+2*m, f.Stride), roundUp(150+2*m, f.Stride)
		if s.rwH != h || s.rwW != w {
			t.Fatalf("rewritten for %dx%d, want %dx%d", s.rwW, s.rwH, w, h)
		}
		in := make([]float32, h*w*3)
		pixels.Window(img, in, -m, -m, h, w)
		want := crop(runRewritten(t, data, in, h, w), w, m, m, 150, 100)
		if d := maxDiff(got, want); d > 0.51 {
			t.Errorf("round %d: differs from the rewritten model by %.2f 8-bit steps", round, d)
		}
	}
}

// Over the whole-photo limit the rewritten model runs in tiles larger
// than its converted size, and they blend close to the whole result.
func TestRewriteTilesLarger(t *testing.T) {
	data := upsampling(t, 64)
	whole := newFromData(t, data, Options{})
	img := photo(300, 200, 6)
	ref, err := whole.Apply(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	s := newFromData(t, data, Options{MaxWholePixels: 20000, Progress: func() { calls++ }})
	got, err := s.Apply(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	if s.rwH*s.rwW > 20000 || s.rwH <= 64 || s.rwW <= 64 {
		t.Errorf("tiles %dx%d, want larger than 64x64 within 20000 pixels", s.rwW, s.rwH)
	}
	f := s.Field()
	th, tw, _ := gridTile(200, 300, 20000, f.Margin(), f.Stride)
	if n := tiles(f, 200, 300, th, tw, f.Margin()); calls != n {
		t.Errorf("%d invocations, want %d tiles", calls, n)
	}
	var worst float64
	for i := range ref.Pix {
		worst = max(worst, math.Abs(float64(ref.Pix[i])-float64(got.Pix[i])))
	}
	t.Logf("tiled vs whole: %.0f steps", worst)
	if worst > 12 {
		t.Errorf("tiled result differs from the whole one by %.0f 8-bit steps", worst)
	}
}

// BenchmarkApplyMode compares an upsampling model run by rewrite (the
// photo at its own size) with the same model in tiles of its size.
func BenchmarkApplyMode(b *testing.B) {
	data := upsampling(b, 64)
	img := photo(640, 480, 7)
	for _, mode := range []string{ModeRewrite, ModeTiles} {
		b.Run(mode, func(b *testing.B) {
			var s *Stylizer
			var err error
			if mode == ModeRewrite {
				s, err = NewFromData(data, Options{})
			} else {
				m, merr := tflite.NewModel(data)
				if merr != nil {
					b.Fatal(merr)
				}
				defer m.Close()
				s, err = New(m, Options{})
			}
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if s.Mode() != mode {
				b.Fatalf("mode %q, want %q", s.Mode(), mode)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := s.Apply(context.Background(), img); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// squeeze builds input [1 n n 3] -> RESIZE_BILINEAR to 5n/8 -> RESIZE_BILINEAR
// back to n -> TANH: rescalable only to sizes that are multiples of 8.
func squeeze(t testing.TB, n int32) []byte {
	t.Helper()
	m := tflitefile.NewModel()
	g := m.Main()
	k := 5 * n / 8
	in := g.AddTensor(&tflitefile.Tensor{Name: "input", Shape: []int32{1, n, n, 3}, Type: tflitefile.Float32})
	mid := g.AddTensor(&tflitefile.Tensor{Name: "mid", Shape: []int32{1, k, k, 3}, Type: tflitefile.Float32})
	up := g.AddTensor(&tflitefile.Tensor{Name: "up", Shape: []int32{1, n, n, 3}, Type: tflitefile.Float32})
	out := g.AddTensor(&tflitefile.Tensor{Name: "output", Shape: []int32{1, n, n, 3}, Type: tflitefile.Float32})
	for _, r := range [][3]int32{{in, mid, k}, {mid, up, n}} {
		size := g.AddTensor(&tflitefile.Tensor{Name: "size", Shape: []int32{2}, Type: tflitefile.Int32,
			Buffer: m.AddBuffer(tflitefile.Int32Bytes([]int32{r[2], r[2]}))})
		g.AddOperator(&tflitefile.Operator{Op: tflitefile.ResizeBilinear, Version: 3, Inputs: []int32{r[0], size}, Outputs: []int32{r[1]},
			Options: &tflitefile.ResizeBilinearOptions{HalfPixelCenters: true}})
	}
	g.AddOperator(&tflitefile.Operator{Op: tflitefile.Tanh, Inputs: []int32{up}, Outputs: []int32{out}})
	g.Inputs, g.Outputs = []int32{in}, []int32{out}
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A photo size the rewrite cannot reach falls back to tiles of the
// converted size; a reachable one runs whole. The model's stride (8: it
// squeezes 64 rows to 40) makes every padded size reachable, so the
// stylizers here are given a field of stride 1, as a cache could hold.
func TestRewriteFallsBackToTiles(t *testing.T) {
	data := squeeze(t, 64)
	if f := newFromData(t, data, Options{}).Field(); f.Stride != 8 {
		t.Errorf("stride %d, want 8", f.Stride)
	}
	f := Field{Stride: 1, Reach: 3}
	calls := 0
	s := newFromData(t, data, Options{Field: &f, Progress: func() { calls++ }})
	if s.Mode() != ModeRewrite {
		t.Fatalf("mode %q, want %q", s.Mode(), ModeRewrite)
	}
	m, err := tflite.NewModel(data)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tiler, err := New(m, Options{Threads: 1, Field: &f})
	if err != nil {
		t.Fatal(err)
	}
	defer tiler.Close()

	img := photo(100, 100, 8)
	got, err := s.Apply(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	want, err := tiler.Apply(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	if n := tiles(f, 100, 100, 64, 64, fitMargin(64, f.Margin(), f.Stride)); calls != n {
		t.Errorf("%d invocations, want %d tiles of 64x64", calls, n)
	}
	for i := range got.Pix {
		if d := int(got.Pix[i]) - int(want.Pix[i]); d > 1 || d < -1 {
			t.Fatalf("fallback differs from tiling at byte %d: %d vs %d", i, got.Pix[i], want.Pix[i])
		}
	}

	calls = 0
	if _, err := s.Apply(context.Background(), photo(96-2*f.Margin(), 80-2*f.Margin(), 9)); err != nil {
		t.Fatal(err)
	}
	if calls != 1 || s.rwH != 80 || s.rwW != 96 {
		t.Errorf("96x80: %d invocations at %dx%d, want 1 at 96x80", calls, s.rwW, s.rwH)
	}
}

// TestRewriteStartsSmall: in ModeRewrite the stylizer holds one interpreter,
// built at a quarter of the converted size, so that loading the model costs
// megabytes (XNNPACK's buffers grow with the input) and the first photo's
// size replaces it. The model is the previous default, v1, whose resizes
// have constant sizes (the default runs natively: TestDefaultRunsNatively).
func TestRewriteStartsSmall(t *testing.T) {
	v1, err := os.ReadFile("../../models/previous/animegan_tiny_int8.tflite")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewFromData(v1, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Mode() != ModeRewrite || s.it != nil || s.rw == nil || s.rwH != 64 || s.rwW != 64 {
		t.Fatalf("mode %s, native interpreter %v, rewritten %dx%d: want one 64x64 rewritten interpreter", s.Mode(), s.it != nil, s.rwW, s.rwH)
	}
	if s.Backend() != tflite.BackendXNNPACK {
		t.Errorf("backend %s, want xnnpack", s.Backend())
	}
}

// TestDefaultRunsNatively: the default model resizes in TFLite itself, so
// a photo runs at its own size with no rewritten copy of the model.
func TestDefaultRunsNatively(t *testing.T) {
	s, err := NewFromData(models.Default(), Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Mode() != ModeNative || s.rw != nil {
		t.Fatalf("mode %s (rewritten interpreter %v), want %s", s.Mode(), s.rw != nil, ModeNative)
	}
}
