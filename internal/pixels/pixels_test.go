package pixels

import (
	"image"
	"math"
	"testing"

	"github.com/animed/animed/internal/testmodel"
	"github.com/animed/animed/internal/tflite"
)

// allBytes is a 256x1 image whose red, green and blue run through every
// byte value.
func allBytes() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 256, 1))
	for x := range 256 {
		img.Pix[4*x], img.Pix[4*x+1], img.Pix[4*x+2], img.Pix[4*x+3] = uint8(x), uint8(255-x), uint8(x*7), 255
	}
	return img
}

func TestToFromTensorRoundTrip(t *testing.T) {
	img := allBytes()
	f := make([]float32, 256*3)
	ToTensor(img, f)
	if f[0] != -1 || f[3*255] != 1 || f[1] != 1 {
		t.Errorf("ends: %v %v %v, want -1, 1, 1", f[0], f[3*255], f[1])
	}
	back := image.NewRGBA(img.Bounds())
	FromTensor(f, back)
	for i := range img.Pix {
		if img.Pix[i] != back.Pix[i] {
			t.Fatalf("byte %d: %d -> %d", i, img.Pix[i], back.Pix[i])
		}
	}
	// Out-of-range values clamp.
	back = image.NewRGBA(image.Rect(0, 0, 1, 1))
	FromTensor([]float32{-3, 3, float32(math.Inf(1))}, back)
	if back.Pix[0] != 0 || back.Pix[1] != 255 || back.Pix[2] != 255 {
		t.Errorf("clamped %v", back.Pix[:3])
	}
}

// int8Model is an interpreter of a test model with int8 I/O of h x w.
func int8Model(t *testing.T, h, w int) *tflite.Interpreter {
	t.Helper()
	m, err := tflite.NewModel(testmodel.MustBuild(testmodel.Config{Int8: true, Int8IO: true, H: h, W: w}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	it, err := tflite.NewInterpreter(m, tflite.Options{Threads: 1, Backend: tflite.BackendCPU})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { it.Close() })
	return it
}

// The LUT path must give exactly what the runtime's float path gives:
// SetFloat32 quantizing ToTensor's floats, ReadFloat32 then FromTensor.
func TestQuantizerMatchesRuntime(t *testing.T) {
	it := int8Model(t, 1, 256)
	in, out := it.Input(0), it.Output(0)
	if in.Type() != tflite.Int8 || out.Type() != tflite.Int8 {
		t.Fatalf("I/O types %s, %s, want int8", in.Type(), out.Type())
	}
	is, iz := in.Quant()
	os, oz := out.Quant()
	q := NewQuantizer(is, iz, os, oz)
	img := allBytes()
	f := make([]float32, 256*3)
	ToTensor(img, f)
	if err := in.SetFloat32(f); err != nil {
		t.Fatal(err)
	}
	lut := make([]int8, 256*3)
	q.ToInt8(img, lut)
	for i, v := range in.Int8s() {
		if lut[i] != v {
			t.Fatalf("input %d (byte %d): LUT %d, runtime %d", i, img.Pix[i/3*4+i%3], lut[i], v)
		}
	}
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	if err := out.ReadFloat32(f); err != nil {
		t.Fatal(err)
	}
	vals := make([]float32, len(f))
	NewInt8Output(os, oz).Values(vals, out.Int8s())
	for i := range f {
		if vals[i] != f[i] {
			t.Fatalf("output value %d: table %v, runtime %v", i, vals[i], f[i])
		}
	}
	want, got := image.NewRGBA(img.Bounds()), image.NewRGBA(img.Bounds())
	FromTensor(f, want)
	q.FromInt8(out.Int8s(), got)
	for i := range want.Pix {
		if want.Pix[i] != got.Pix[i] {
			t.Fatalf("output byte %d: LUT %d, float path %d", i, got.Pix[i], want.Pix[i])
		}
	}
}

// The int8 window must be the float window quantized as the runtime
// quantizes it, reflection included.
func TestInt8WindowMatchesRuntime(t *testing.T) {
	in := int8Model(t, 2, 256).Input(0)
	scale, zp, err := in.Quantization()
	if err != nil {
		t.Fatal(err)
	}
	q := NewInt8Input(scale, zp)
	img := allBytes()
	tests := []struct{ x0, y0 int }{{0, 0}, {-5, -1}, {7, 1}, {-300, 2}}
	for _, tt := range tests {
		f := make([]float32, 2*256*3)
		Window(img, f, tt.x0, tt.y0, 2, 256)
		if err := in.SetFloat32(f); err != nil {
			t.Fatal(err)
		}
		got := make([]int8, len(f))
		q.Window(img, got, tt.x0, tt.y0, 2, 256)
		for i, v := range in.Int8s() {
			if got[i] != v {
				t.Fatalf("window at %d,%d: value %d: table %d, runtime %d", tt.x0, tt.y0, i, got[i], v)
			}
		}
	}
}

func TestToByte(t *testing.T) {
	tests := []struct {
		v    float32
		want uint8
	}{
		{-1, 0}, {1, 255}, {0, 128}, {-3, 0}, {3, 255},
		{float32(math.NaN()), 0}, {float32(math.Inf(1)), 255}, {float32(math.Inf(-1)), 0},
		{ToFloat(77), 77},
	}
	for _, tt := range tests {
		if got := ToByte(tt.v); got != tt.want {
			t.Errorf("ToByte(%v) = %d, want %d", tt.v, got, tt.want)
		}
	}
}

func TestMirror(t *testing.T) {
	n := 4
	want := map[int]int{-3: 3, -2: 2, -1: 1, 0: 0, 3: 3, 4: 2, 5: 1, 6: 0, 7: 1}
	for i, w := range want {
		if got := Mirror(i, n); got != w {
			t.Errorf("Mirror(%d, %d) = %d, want %d", i, n, got, w)
		}
	}
	if got := Mirror(-5, 1); got != 0 {
		t.Errorf("Mirror(-5, 1) = %d, want 0", got)
	}
}

// Window reflects beyond the image and reads sub-images relative to
// their corner.
func TestWindow(t *testing.T) {
	img := allBytes().SubImage(image.Rect(10, 0, 13, 1)).(*image.RGBA) // red 10, 11, 12
	dst := make([]float32, 7*3)
	Window(img, dst, -2, 0, 1, 7)
	for i, want := range []uint8{12, 11, 10, 11, 12, 11, 10} {
		if got := ToByte(dst[3*i]); got != want {
			t.Errorf("pixel %d: red %d, want %d", i, got, want)
		}
	}
}
