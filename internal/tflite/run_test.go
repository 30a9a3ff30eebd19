package tflite

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/animed/animed/internal/testmodel"
)

// maxDiff returns the largest absolute difference between a and b.
func maxDiff(t testing.TB, a, b []float32) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("lengths %d and %d differ", len(a), len(b))
	}
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// The generated models compute testmodel.Reference; TFLite must agree on
// every backend and at the native and a resized input size.
func TestOutputsMatchGoReference(t *testing.T) {
	// INT8 I/O is quantized at 2/255 and the hidden layer at its own scale;
	// a few output steps of error are the quantization, more is a bug.
	const int8Tol = 4 * 2.0 / 255
	tests := []struct {
		model   string
		c       testmodel.Config
		backend Backend
		h, w    int // 0: the model's own 64x64
		tol     float64
	}{
		{"fp32", testmodel.Config{}, BackendCPU, 0, 0, 1e-5},
		{"fp32", testmodel.Config{}, BackendXNNPACK, 0, 0, 1e-5},
		{"fp32", testmodel.Config{}, BackendXNNPACK, 32, 48, 1e-5},
		{"int8", testmodel.Config{Int8: true}, BackendCPU, 0, 0, int8Tol},
		{"int8", testmodel.Config{Int8: true}, BackendXNNPACK, 0, 0, int8Tol},
		{"int8", testmodel.Config{Int8: true}, BackendCPU, 40, 24, int8Tol},
		{"int8", testmodel.Config{Int8: true}, BackendXNNPACK, 40, 24, int8Tol},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s/%s/%dx%d", tt.model, tt.backend, tt.h, tt.w)
		t.Run(name, func(t *testing.T) {
			m := buildModel(t, tt.c)
			var logs bytes.Buffer
			it, err := NewInterpreter(m, Options{Threads: 2, Backend: tt.backend, Logger: testLogger(&logs)})
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			if it.Backend() != tt.backend || it.FallbackReason() != "" {
				t.Fatalf("Backend() = %q, FallbackReason() = %q; want %q without fallback (log: %s)", it.Backend(), it.FallbackReason(), tt.backend, logs.String())
			}
			h, w := 64, 64
			if tt.h != 0 {
				h, w = tt.h, tt.w
				if err := it.ResizeInput(0, []int{1, h, w, 3}); err != nil {
					t.Fatal(err)
				}
			}
			if got := it.Output(0).Shape(); !slices.Equal(got, []int{1, h, w, 3}) {
				t.Fatalf("output shape %v, want [1 %d %d 3]", got, h, w)
			}
			in := pattern(h, w)
			got := run(t, it, in)
			d := maxDiff(t, got, testmodel.Reference(in, h, w))
			t.Logf("max |tflite - Go reference| = %.3g", d)
			if d > tt.tol {
				t.Errorf("output differs from the Go reference by %.3g, more than %.3g", d, tt.tol)
			}
		})
	}
}

// XNNPACK's QS8 kernels and TFLite's builtin INT8 kernels round differently
// in places, but must agree within 2 LSB on the int8 output.
func TestXNNPACKQS8AgreesWithCPU(t *testing.T) {
	m := buildModel(t, testmodel.Config{Int8: true, Int8IO: true})
	out := map[Backend][]int8{}
	for _, b := range []Backend{BackendCPU, BackendXNNPACK} {
		it, err := NewInterpreter(m, Options{Threads: 2, Backend: b})
		if err != nil {
			t.Fatal(err)
		}
		if it.Backend() != b {
			t.Fatalf("Backend() = %q, want %q (fallback: %s)", it.Backend(), b, it.FallbackReason())
		}
		if it.Input(0).Type() != Int8 || it.Output(0).Type() != Int8 {
			t.Fatalf("I/O types %s, %s; want int8", it.Input(0).Type(), it.Output(0).Type())
		}
		if err := it.Input(0).SetFloat32(pattern(64, 64)); err != nil {
			t.Fatal(err)
		}
		if err := it.Invoke(); err != nil {
			t.Fatal(err)
		}
		out[b] = slices.Clone(it.Output(0).Int8s())
		it.Close()
	}
	a, x := out[BackendCPU], out[BackendXNNPACK]
	worst, differ := 0, 0
	for i := range a {
		d := int(a[i]) - int(x[i])
		worst = max(worst, d, -d)
		if d != 0 {
			differ++
		}
	}
	t.Logf("%d of %d int8 outputs differ; the largest difference is %d LSB", differ, len(a), worst)
	if worst > 2 {
		t.Errorf("XNNPACK QS8 and CPU kernels differ by %d LSB, more than 2", worst)
	}
}

func TestDescribe(t *testing.T) {
	// testmodel quantizes [-1, 1] at scale 2/255 with zero point
	// round(-128 + 127.5) = -1.
	ioScale, ioZP := float32(2.0/255), int32(-1)
	tests := []struct {
		name      string
		c         testmodel.Config
		typ       TensorType
		shape     []int
		resizable bool
		quant     bool
	}{
		{"fp32", testmodel.Config{}, Float32, []int{1, 64, 64, 3}, true, false},
		{"int8", testmodel.Config{Int8: true}, Float32, []int{1, 64, 64, 3}, true, false},
		{"int8 io", testmodel.Config{Int8: true, Int8IO: true, H: 16, W: 24}, Int8, []int{1, 16, 24, 3}, true, true},
		{"fixed size", testmodel.Config{FixedSize: true, H: 32, W: 48}, Float32, []int{1, 32, 48, 3}, false, false},
		{"fixed size int8", testmodel.Config{Int8: true, FixedSize: true}, Float32, []int{1, 64, 64, 3}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Describe(buildModel(t, tt.c))
			if err != nil {
				t.Fatal(err)
			}
			if d.Resizable != tt.resizable {
				t.Errorf("Resizable = %v, want %v", d.Resizable, tt.resizable)
			}
			if len(d.Inputs) != 1 || len(d.Outputs) != 1 {
				t.Fatalf("%d inputs, %d outputs; want 1, 1", len(d.Inputs), len(d.Outputs))
			}
			for _, ti := range []TensorInfo{d.Inputs[0], d.Outputs[0]} {
				if ti.Type != tt.typ || !slices.Equal(ti.Shape, tt.shape) {
					t.Errorf("%s: %s %v, want %s %v", ti.Name, ti.Type, ti.Shape, tt.typ, tt.shape)
				}
				if tt.quant && (math.Abs(float64(ti.Scale-ioScale)) > 1e-6 || ti.ZeroPoint != ioZP) {
					t.Errorf("%s: scale %g zero point %d, want %g and %d", ti.Name, ti.Scale, ti.ZeroPoint, ioScale, ioZP)
				}
				if !tt.quant && ti.Scale != 0 {
					t.Errorf("%s: float tensor has scale %g", ti.Name, ti.Scale)
				}
			}
		})
	}
}

func TestQuantize(t *testing.T) {
	tests := []struct {
		v, scale float32
		zp       int32
		want     int32
	}{
		{0, 0.5, 0, 0},
		{0.25, 0.5, 0, 1},   // 0.5 rounds away from zero
		{-0.25, 0.5, 0, -1}, // -0.5 too
		{0.24, 0.5, 0, 0},
		{1, 0.5, 3, 5},
		{-1, 0.5, -3, -5},
		{1000, 0.5, 0, 127},
		{-1000, 0.5, 0, -128},
		{-1, 1.0 / 128, 0, -128},
		{1, 1.0 / 128, 0, 127},
		{float32(math.NaN()), 0.5, 7, 7},
		{float32(math.Inf(1)), 0.5, 0, 127},
		{float32(math.Inf(-1)), 0.5, 0, -128},
	}
	for _, tt := range tests {
		if got := quantize(tt.v, tt.scale, tt.zp, math.MinInt8, math.MaxInt8); got != tt.want {
			t.Errorf("quantize(%g, scale %g, zp %d) = %d, want %d", tt.v, tt.scale, tt.zp, got, tt.want)
		}
	}
	if got := quantize(-1, 0.5, 0, 0, 255); got != 0 {
		t.Errorf("uint8 quantize(-1) = %d, want 0 (clamped)", got)
	}
}

// SetFloat32 and ReadFloat32 quantize with the tensor's own parameters.
func TestSetReadFloat32Int8(t *testing.T) {
	m := buildModel(t, testmodel.Config{Int8: true, Int8IO: true, H: 2, W: 2})
	it, err := NewInterpreter(m, Options{Threads: 1, Backend: BackendCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	in := it.Input(0)
	scale, zp := in.Quant()
	if scale == 0 {
		t.Fatal("int8 input has no scale")
	}
	src := []float32{-1, -0.5, 0, 0.5, 1, 2, -2, scale / 2, -scale / 2, 3 * scale / 2, 0.1, -0.1}
	if err := in.SetFloat32(src); err != nil {
		t.Fatal(err)
	}
	got := in.Int8s()
	for i, v := range src {
		want := int8(quantize(v, scale, zp, -128, 127))
		if got[i] != want {
			t.Errorf("SetFloat32(%g) stored %d, want %d", v, got[i], want)
		}
	}
	// Half a step rounds away from zero: ±scale/2 -> zp±1.
	if got[7] != int8(zp+1) || got[8] != int8(zp-1) {
		t.Errorf("±scale/2 stored %d, %d; want %d, %d", got[7], got[8], zp+1, zp-1)
	}
	back := make([]float32, len(src))
	if err := in.ReadFloat32(back); err != nil {
		t.Fatal(err)
	}
	for i, q := range got {
		if want := scale * float32(int32(q)-zp); back[i] != want {
			t.Errorf("ReadFloat32[%d] = %g, want %g", i, back[i], want)
		}
	}
	// Clamped to the int8 range.
	if back[5] > 1.01 || back[6] < -1.01 {
		t.Errorf("±2 read back as %g, %g; want clamped to about ±1", back[5], back[6])
	}
}

// Several goroutines may share one Model, each with its own Interpreter.
func TestSharedModelConcurrent(t *testing.T) {
	m := smallModel(t)
	in := pattern(64, 64)
	want := testmodel.Reference(in, 64, 64)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			b := []Backend{BackendCPU, BackendXNNPACK}[g%2]
			it, err := NewInterpreter(m, Options{Threads: 1, Backend: b})
			if err != nil {
				t.Error(err)
				return
			}
			defer it.Close()
			for range 3 {
				if err := it.Input(0).SetFloat32(in); err != nil {
					t.Error(err)
					return
				}
				if err := it.Invoke(); err != nil {
					t.Error(err)
					return
				}
				if d := maxDiff(t, it.Output(0).Float32s(), want); d > 4*2.0/255 {
					t.Errorf("goroutine %d (%s): output off by %.3g", g, b, d)
				}
			}
		})
	}
	wg.Wait()
}
