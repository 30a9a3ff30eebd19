package tflitefile_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/internal/tflite/tflitetest"
	tfl "github.com/animed/animed/internal/tflitefile"
)

// upsampler builds input [1 h w 3] -> RESIZE_BILINEAR (half-pixel
// centers) to [sh sw] -> TANH, and, when tconv is set, a 2x2 stride-2
// TRANSPOSE_CONV (3 -> 2 channels) on the input added as a second path
// via its own output (so the model has two outputs).
func upsampler(h, w, sh, sw int, tconv bool) *tfl.Model {
	m := tfl.NewModel()
	g := m.Main()
	in := g.AddTensor(&tfl.Tensor{Name: "in", Shape: []int32{1, int32(h), int32(w), 3}, Type: tfl.Float32,
		ShapeSignature: []int32{1, int32(h), int32(w), 3}})
	size := g.AddTensor(&tfl.Tensor{Name: "size", Shape: []int32{2}, Type: tfl.Int32,
		Buffer: m.AddBuffer(tfl.Int32Bytes([]int32{int32(sh), int32(sw)}))})
	up := g.AddTensor(&tfl.Tensor{Name: "up", Shape: []int32{1, int32(sh), int32(sw), 3}, Type: tfl.Float32})
	out := g.AddTensor(&tfl.Tensor{Name: "out", Shape: []int32{1, int32(sh), int32(sw), 3}, Type: tfl.Float32})
	g.AddOperator(&tfl.Operator{Op: tfl.ResizeBilinear, Version: 3, Inputs: []int32{in, size}, Outputs: []int32{up},
		Options: &tfl.ResizeBilinearOptions{HalfPixelCenters: true}})
	g.AddOperator(&tfl.Operator{Op: tfl.Tanh, Inputs: []int32{up}, Outputs: []int32{out}})
	g.Inputs, g.Outputs = []int32{in}, []int32{out}
	if tconv {
		shape := g.AddTensor(&tfl.Tensor{Name: "oshape", Shape: []int32{4}, Type: tfl.Int32,
			Buffer: m.AddBuffer(tfl.Int32Bytes([]int32{1, int32(2 * h), int32(2 * w), 2}))})
		wt := g.AddTensor(&tfl.Tensor{Name: "w", Shape: []int32{2, 2, 2, 3}, Type: tfl.Float32,
			Buffer: m.AddBuffer(tfl.Float32Bytes(tconvWeights()))})
		t := g.AddTensor(&tfl.Tensor{Name: "t", Shape: []int32{1, int32(2 * h), int32(2 * w), 2}, Type: tfl.Float32})
		g.AddOperator(&tfl.Operator{Op: tfl.TransposeConv, Inputs: []int32{shape, wt, in}, Outputs: []int32{t},
			Options: &tfl.TransposeConvOptions{Padding: tfl.Valid, StrideW: 2, StrideH: 2}})
		g.Outputs = append(g.Outputs, t)
	}
	return m
}

func tconvWeights() []float32 {
	w := make([]float32, 2*2*2*3)
	for i := range w {
		w[i] = float32(i%7)/4 - 0.7
	}
	return w
}

// refBilinear is TFLite's RESIZE_BILINEAR with half_pixel_centers on
// NHWC data, followed by tanh.
func refBilinear(in []float32, h, w, oh, ow int) []float32 {
	out := make([]float32, oh*ow*3)
	src := func(o, n, on int) (int, int, float64) {
		f := (float64(o)+0.5)*float64(n)/float64(on) - 0.5
		lo := math.Floor(f)
		return max(int(lo), 0), min(int(math.Ceil(f)), n-1), f - lo
	}
	for y := range oh {
		y0, y1, fy := src(y, h, oh)
		for x := range ow {
			x0, x1, fx := src(x, w, ow)
			for c := range 3 {
				at := func(yy, xx int) float64 { return float64(in[(yy*w+xx)*3+c]) }
				v := (1-fy)*((1-fx)*at(y0, x0)+fx*at(y0, x1)) + fy*((1-fx)*at(y1, x0)+fx*at(y1, x1))
				out[(y*ow+x)*3+c] = float32(math.Tanh(v))
			}
		}
	}
	return out
}

// refTConv is a 2x2 stride-2 transposed convolution, 3 -> 2 channels,
// weights [O kh kw I].
func refTConv(in []float32, h, w int) []float32 {
	wt := tconvWeights()
	out := make([]float32, 4*h*w*2)
	for y := range h {
		for x := range w {
			for i := range 2 {
				for j := range 2 {
					for o := range 2 {
						var s float32
						for c := range 3 {
							s += in[(y*w+x)*3+c] * wt[((o*2+i)*2+j)*3+c]
						}
						out[((2*y+i)*2*w+2*x+j)*2+o] = s
					}
				}
			}
		}
	}
	return out
}

// run invokes data at its own input size on backend and returns its
// outputs and their shapes.
func run(t *testing.T, data []byte, backend tflite.Backend, in []float32) ([][]float32, [][]int) {
	t.Helper()
	var outs [][]float32
	var shapes [][]int
	for _, r := range tflitetest.Run(t, data, backend, in) {
		outs, shapes = append(outs, r.Data), append(shapes, r.Shape)
	}
	return outs, shapes
}

func maxAbs(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// A model converted at 8x8 and rewritten for other sizes computes the
// bilinear upsampling and transposed convolution at those sizes, on the
// reference kernels and on XNNPACK.
func TestScaleInputComputes(t *testing.T) {
	data, err := upsampler(8, 8, 16, 16, true).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, sz := range [][2]int{{8, 8}, {12, 20}, {4, 6}, {36, 28}} {
		h, w := sz[0], sz[1]
		scaled, err := tfl.ScaleInput(data, h, w)
		if err != nil {
			t.Fatalf("%dx%d: %v", w, h, err)
		}
		in := make([]float32, h*w*3)
		for i := range in {
			in[i] = float32((i*37)%29)/14 - 1
		}
		wantUp, wantT := refBilinear(in, h, w, 2*h, 2*w), refTConv(in, h, w)
		for _, b := range []tflite.Backend{tflite.BackendCPU, tflite.BackendXNNPACK} {
			outs, shapes := run(t, scaled, b, in)
			if s := shapes[0]; len(s) != 4 || s[1] != 2*h || s[2] != 2*w {
				t.Fatalf("%dx%d %s: resize output %v, want %dx%d", w, h, b, s, 2*w, 2*h)
			}
			if d := maxAbs(outs[0], wantUp); d > 1e-5 {
				t.Errorf("%dx%d %s: bilinear differs from the reference by %.3g", w, h, b, d)
			}
			if d := maxAbs(outs[1], wantT); d > 1e-4 {
				t.Errorf("%dx%d %s: transposed conv differs from the reference by %.3g", w, h, b, d)
			}
		}
	}
}

// Without the rewrite the runtime keeps the converted output size: the
// reason ScaleInput exists.
func TestResizeInputKeepsConstantSize(t *testing.T) {
	data, err := upsampler(8, 8, 16, 16, false).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := tflite.NewModel(data)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	d, err := tflite.Describe(m)
	if err != nil {
		t.Fatal(err)
	}
	if d.Resizable {
		t.Fatal("a model with a constant RESIZE_BILINEAR size is resizable in the runtime; ScaleInput is not needed")
	}
}

func TestScaleInputRefuses(t *testing.T) {
	tests := []struct {
		name  string
		model func() *tfl.Model
		h, w  int
	}{
		{"scaled size not whole", func() *tfl.Model { return upsampler(8, 8, 12, 12, false) }, 5, 8},
		{"size is not a constant", func() *tfl.Model {
			m := upsampler(8, 8, 16, 16, false)
			m.Main().Tensors[1].Buffer = 0
			return m
		}, 16, 16},
		{"size is also an output", func() *tfl.Model {
			m := upsampler(8, 8, 16, 16, false)
			m.Main().Outputs = append(m.Main().Outputs, 1)
			return m
		}, 16, 16},
		{"reshape", func() *tfl.Model {
			m := upsampler(8, 8, 16, 16, false)
			g := m.Main()
			r := g.AddTensor(&tfl.Tensor{Name: "r", Shape: []int32{1, 256, 3}, Type: tfl.Float32})
			g.AddOperator(&tfl.Operator{Op: tfl.Reshape, Inputs: []int32{3}, Outputs: []int32{r},
				Options: &tfl.ReshapeOptions{NewShape: []int32{1, 256, 3}}})
			g.Outputs = []int32{r}
			return m
		}, 16, 16},
		{"spatial constant operand", func() *tfl.Model {
			m := upsampler(8, 8, 16, 16, false)
			g := m.Main()
			c := g.AddTensor(&tfl.Tensor{Name: "pos", Shape: []int32{1, 16, 16, 3}, Type: tfl.Float32,
				Buffer: m.AddBuffer(make([]byte, 16*16*3*4))})
			o := g.AddTensor(&tfl.Tensor{Name: "o", Shape: []int32{1, 16, 16, 3}, Type: tfl.Float32})
			g.AddOperator(&tfl.Operator{Op: tfl.Add, Inputs: []int32{3, c}, Outputs: []int32{o}, Options: &tfl.AddOptions{}})
			g.Outputs = []int32{o}
			return m
		}, 16, 16},
		{"two inputs", func() *tfl.Model {
			m := upsampler(8, 8, 16, 16, false)
			g := m.Main()
			g.Inputs = append(g.Inputs, g.AddTensor(&tfl.Tensor{Name: "in2", Shape: []int32{1, 8, 8, 3}, Type: tfl.Float32}))
			return m
		}, 16, 16},
		{"zero size", func() *tfl.Model { return upsampler(8, 8, 16, 16, false) }, 0, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := tt.model().Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := tfl.ScaleInput(data, tt.h, tt.w)
			if err == nil {
				t.Fatalf("ScaleInput succeeded (%d bytes), want an error", len(got))
			}
			if tt.h > 0 && !errors.Is(err, tfl.ErrNotScalable) {
				t.Errorf("error %v is not ErrNotScalable", err)
			}
			t.Log(err)
		})
	}
}

// The scalable check agrees with ScaleInput on a plain model.
func TestScalable(t *testing.T) {
	if err := tfl.Scalable(upsampler(8, 8, 16, 16, true)); err != nil {
		t.Errorf("Scalable: %v", err)
	}
}

func ExampleScaleInput() {
	// A model converted at 8x8 that upsamples to 16x16 with a constant size.
	m := tfl.NewModel()
	g := m.Main()
	in := g.AddTensor(&tfl.Tensor{Name: "in", Shape: []int32{1, 8, 8, 3}, Type: tfl.Float32})
	size := g.AddTensor(&tfl.Tensor{Name: "size", Shape: []int32{2}, Type: tfl.Int32, Buffer: m.AddBuffer(tfl.Int32Bytes([]int32{16, 16}))})
	out := g.AddTensor(&tfl.Tensor{Name: "out", Shape: []int32{1, 16, 16, 3}, Type: tfl.Float32})
	g.AddOperator(&tfl.Operator{Op: tfl.ResizeBilinear, Inputs: []int32{in, size}, Outputs: []int32{out},
		Options: &tfl.ResizeBilinearOptions{HalfPixelCenters: true}})
	g.Inputs, g.Outputs = []int32{in}, []int32{out}
	data, err := m.Marshal()
	if err != nil {
		panic(err)
	}

	scaled, err := tfl.ScaleInput(data, 12, 20)
	if err != nil {
		panic(err)
	}
	sm, err := tfl.Parse(scaled)
	if err != nil {
		panic(err)
	}
	sg := sm.Main()
	fmt.Println(sg.Tensors[in].Shape, tfl.BytesInt32(sm.Buffers[sg.Tensors[size].Buffer].Data))
	// Output: [1 12 20 3] [24 40]
}
