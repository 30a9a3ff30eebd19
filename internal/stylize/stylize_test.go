package stylize

import (
	"context"
	"errors"
	"image"
	"math"
	"math/rand"
	"testing"

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
	b := m.Bounds()
	out := make([]float32, 0, b.Dx()*b.Dy()*3)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			p := m.Pix[m.PixOffset(x, y):]
			out = append(out, float32(p[0])/127.5-1, float32(p[1])/127.5-1, float32(p[2])/127.5-1)
		}
	}
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
			want := testmodel.Reference(toFloats(img), tt.h, tt.w)
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

func TestTileStarts(t *testing.T) {
	tests := []struct {
		n, t, ov int
		want     []int
	}{
		{64, 64, 8, []int{0}},
		{10, 64, 8, []int{0}},
		{100, 64, 8, []int{0, 36}},
		{200, 64, 8, []int{0, 56, 112, 136}},
	}
	for _, tt := range tests {
		got := tileStarts(tt.n, tt.t, tt.ov)
		if len(got) != len(tt.want) {
			t.Errorf("tileStarts(%d,%d,%d) = %v, want %v", tt.n, tt.t, tt.ov, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("tileStarts(%d,%d,%d) = %v, want %v", tt.n, tt.t, tt.ov, got, tt.want)
				break
			}
		}
	}
}

func TestGridTile(t *testing.T) {
	tests := []struct{ h, w, max, tiles int }{
		{684, 1024, 1 << 19, 2}, // a 1024x684 photo: two tiles side by side
		{1024, 684, 1 << 19, 2},
		{3000, 4000, 1 << 19, 27}, // a 12 MP photo (with --max-side 4000)
		{72, 132, 4096, 3},
	}
	for _, tt := range tests {
		th, tw := gridTile(tt.h, tt.w, tt.max)
		n := len(tileStarts(tt.h, th, overlap(th))) * len(tileStarts(tt.w, tw, overlap(tw)))
		if th*tw > tt.max || th%4 != 0 || tw%4 != 0 || n != tt.tiles {
			t.Errorf("gridTile(%d, %d, %d) = %dx%d in %d tiles, want %d tiles within the limit", tt.h, tt.w, tt.max, th, tw, n, tt.tiles)
		}
	}
}

func TestMirror(t *testing.T) {
	n := 4
	want := map[int]int{-3: 3, -2: 2, -1: 1, 0: 0, 3: 3, 4: 2, 5: 1, 6: 0, 7: 1}
	for i, w := range want {
		if got := mirror(i, n); got != w {
			t.Errorf("mirror(%d, %d) = %d, want %d", i, n, got, w)
		}
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
