package stylize

import (
	"context"
	"errors"
	"image"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/animed/animed/internal/pixels"
	"github.com/animed/animed/internal/testmodel"
	"github.com/animed/animed/internal/tflite"
)

// photo returns a smooth random-ish w x h test image.
func photo(w, h int, seed int64) *image.RGBA {
	r := rand.New(rand.NewSource(seed))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	fx, fy := r.Float64()*0.2+0.02, r.Float64()*0.2+0.02
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := m.PixOffset(x, y)
			m.Pix[i] = uint8(127 + 120*math.Sin(float64(x)*fx))
			m.Pix[i+1] = uint8(127 + 120*math.Cos(float64(y)*fy))
			m.Pix[i+2] = uint8((x*7 + y*3 + r.Intn(16)) & 0xFF)
			m.Pix[i+3] = 0xFF
		}
	}
	return m
}

func toFloats(m *image.RGBA) []float32 {
	out := make([]float32, m.Bounds().Dx()*m.Bounds().Dy()*3)
	pixels.ToTensor(m, out)
	return out
}

// maxDiff compares an 8-bit result with the float reference, in 8-bit steps.
func maxDiff(got *image.RGBA, want []float32) float64 {
	var worst float64
	k := 0
	b := got.Bounds()
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			p := got.Pix[got.PixOffset(x, y):]
			for c := 0; c < 3; c++ {
				d := math.Abs(float64(p[c]) - (float64(want[k])+1)*127.5)
				worst = max(worst, d)
				k++
			}
		}
	}
	return worst
}

func newStylizer(t *testing.T, model []byte, o Options) *Stylizer {
	t.Helper()
	m, err := tflite.NewModel(model)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	o.Threads = 1
	s, err := New(m, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestApplyMatchesReference(t *testing.T) {
	fixed := testmodel.MustBuild(testmodel.Config{FixedSize: true})
	tests := []struct {
		name      string
		model     []byte
		opts      Options
		w, h      int
		resizable bool
		tol       float64 // in 8-bit steps
	}{
		{"fp32 whole, multiple of 4", testmodel.FP32(), Options{}, 96, 64, true, 1},
		{"int8 whole", testmodel.Int8(), Options{}, 96, 64, true, 8},
		{"fp32 tiled (fixed size model)", fixed, Options{}, 150, 100, false, 6},
		{"fp32 tiled (photo over the whole limit)", testmodel.FP32(), Options{MaxWholePixels: 5000}, 132, 72, true, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStylizer(t, tt.model, tt.opts)
			if s.Resizable() != tt.resizable {
				t.Fatalf("Resizable() = %v, want %v", s.Resizable(), tt.resizable)
			}
			img := photo(tt.w, tt.h, 1)
			got, err := s.Apply(context.Background(), img)
			if err != nil {
				t.Fatal(err)
			}
			if got.Bounds() != img.Bounds() {
				t.Fatalf("result %v, want %v", got.Bounds(), img.Bounds())
			}
			// The photo is padded by reflection by the margin, so its
			// border is styled as the inside is.
			m := s.Field().Margin()
			want := crop(testmodel.Reference(toFloats(pad(img, m)), tt.h+2*m, tt.w+2*m), tt.w+2*m, m, m, tt.w, tt.h)
			if d := maxDiff(got, want); d > tt.tol {
				t.Errorf("max difference from the reference %.1f, want <= %.1f", d, tt.tol)
			}
		})
	}
}

func TestApplyOddSizes(t *testing.T) {
	// Sizes that are not multiples of 4, and smaller than a tile, are
	// padded by reflection and cropped back.
	for _, model := range [][]byte{testmodel.FP32(), testmodel.MustBuild(testmodel.Config{FixedSize: true})} {
		s := newStylizer(t, model, Options{})
		for _, sz := range [][2]int{{1, 1}, {3, 7}, {63, 65}, {101, 33}} {
			img := photo(sz[0], sz[1], 2)
			got, err := s.Apply(context.Background(), img)
			if err != nil {
				t.Fatalf("%v: %v", sz, err)
			}
			if got.Bounds() != img.Bounds() {
				t.Fatalf("%v: result %v", sz, got.Bounds())
			}
		}
	}
}

func TestApplyStopsBetweenTiles(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	s := newStylizer(t, testmodel.MustBuild(testmodel.Config{FixedSize: true}), Options{Progress: func() {
		calls++
		if calls == 2 {
			cancel()
		}
	}})
	_, err := s.Apply(ctx, photo(300, 200, 3))
	if !errors.Is(err, context.Canceled) || calls != 2 {
		t.Fatalf("err %v after %d tiles, want context.Canceled after 2", err, calls)
	}
}

// tiles counts the tiles of th x tw over an h x w photo.
func tiles(f Field, h, w, th, tw, margin int) int {
	return len(planAxis(h, th, margin, f.Stride, blend(f.Stride))) * len(planAxis(w, tw, margin, f.Stride, blend(f.Stride)))
}

func TestPlanAxis(t *testing.T) {
	tests := []struct {
		n, t, margin, stride int
		want                 []span
	}{
		{64, 64, 0, 4, []span{{0, 0, 64}}},
		{10, 64, 8, 4, []span{{-8, 0, 10}}},
		// interiors 48 wide, overlapping by at least 8, starts on the grid
		{100, 64, 8, 4, []span{{-8, 0, 48}, {20, 28, 76}, {48, 56, 100}}},
		{200, 64, 16, 8, []span{{-16, 0, 32}, {8, 24, 56}, {32, 48, 80}, {56, 72, 104}, {80, 96, 128},
			{104, 120, 152}, {128, 144, 176}, {152, 168, 200}}},
	}
	for _, tt := range tests {
		got := planAxis(tt.n, tt.t, tt.margin, tt.stride, blend(tt.stride))
		if !slices.Equal(got, tt.want) {
			t.Errorf("planAxis(%d, %d, %d, %d) = %v, want %v", tt.n, tt.t, tt.margin, tt.stride, got, tt.want)
		}
		for k, sp := range got {
			if (sp.start+tt.margin)%tt.stride != 0 || k > 0 && got[k-1].hi-sp.lo < blend(tt.stride) {
				t.Errorf("planAxis(%d, %d, %d, %d): tile %d %v off the grid or overlapping too little", tt.n, tt.t, tt.margin, tt.stride, k, sp)
			}
		}
	}
}

// Blending weights of neighbours sum to 1 everywhere.
func TestRampWeights(t *testing.T) {
	s := planAxis(300, 96, 16, 4, blend(4))
	w := rampWeights(s)
	sum := make([]float32, 300)
	for k, sp := range s {
		for p := sp.lo; p < sp.hi; p++ {
			sum[p] += w[k][p-sp.lo]
		}
	}
	for p, v := range sum {
		if math.Abs(float64(v)-1) > 1e-5 {
			t.Fatalf("weights at %d sum to %v", p, v)
		}
	}
}

func TestGridTile(t *testing.T) {
	tests := []struct{ h, w, max, margin, stride, tiles int }{
		{684, 1024, 1 << 19, 0, 4, 2}, // a 1024x684 photo: two tiles side by side
		{1024, 684, 1 << 19, 0, 4, 2},
		{768, 1024, 1 << 15, 24, 4, 54},
		{72, 132, 4096, 0, 4, 3},
	}
	for _, tt := range tests {
		th, tw, ok := gridTile(tt.h, tt.w, tt.max, tt.margin, tt.stride)
		n := tiles(Field{Stride: tt.stride}, tt.h, tt.w, th, tw, tt.margin)
		if !ok || th*tw > tt.max || th%tt.stride != 0 || tw%tt.stride != 0 || n != tt.tiles {
			t.Errorf("gridTile(%d, %d, %d, %d) = %dx%d in %d tiles, want %d tiles within the limit", tt.h, tt.w, tt.max, tt.margin, th, tw, n, tt.tiles)
		}
	}
	if _, _, ok := gridTile(500, 500, 4096, 40, 4); ok {
		t.Error("64x64 tiles cannot keep a 40-px margin, gridTile says they can")
	}
}

func BenchmarkApply(b *testing.B) {
	m, err := tflite.NewModel(testmodel.Int8())
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	s, err := New(m, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	img := photo(256, 256, 4)
	b.ResetTimer()
	for range b.N {
		if _, err := s.Apply(context.Background(), img); err != nil {
			b.Fatal(err)
		}
	}
}
