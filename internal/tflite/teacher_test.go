package tflite

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// The AnimeGANv2 teacher (INT8 with float islands, MIRROR_PAD, ...) is the
// known case where the XNNPACK QS8 delegate fails at interpreter creation.
func TestTeacherFallsBackToCPU(t *testing.T) {
	m := teacher(t)
	var logs bytes.Buffer
	x, err := NewInterpreter(m, Options{Threads: 2, Logger: testLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if x.Backend() != BackendCPU {
		t.Errorf("Backend() = %q, want %q after the XNNPACK fallback", x.Backend(), BackendCPU)
	}
	const want = "Restored original execution plan after delegate application failure"
	if r := x.FallbackReason(); !strings.Contains(r, want) || strings.HasPrefix(r, "tflite:") {
		t.Errorf("FallbackReason() = %q, want TFLite's message containing %q", r, want)
	}
	if !strings.Contains(logs.String(), want) || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("log = %q, want a warning carrying %q", logs.String(), want)
	}
	t.Logf("fallback reason: %s", x.FallbackReason())

	c, err := NewInterpreter(m, Options{Threads: 2, Backend: BackendCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Backend() != BackendCPU || c.FallbackReason() != "" {
		t.Errorf("CPU interpreter: Backend() = %q, FallbackReason() = %q", c.Backend(), c.FallbackReason())
	}

	if got := x.Input(0).Shape(); !slices.Equal(got, []int{1, 256, 256, 3}) {
		t.Fatalf("input shape %v, want [1 256 256 3]", got)
	}
	if testing.Short() {
		t.Skip("skipping the two 256x256 teacher runs in -short mode (seconds each, minutes under qemu)")
	}
	in := photo(t, 256)
	a, b := run(t, x, in), run(t, c, in)
	if !slices.Equal(a, b) {
		t.Errorf("fallback output differs from the CPU backend's")
	}
	// A styled photo, not a constant: tanh output spread over [-1, 1].
	lo, hi := slices.Min(a), slices.Max(a)
	if lo < -1.001 || hi > 1.001 || hi-lo < 0.5 {
		t.Errorf("output range [%g, %g], want a picture in [-1, 1]", lo, hi)
	}
}

func TestDescribeTeacher(t *testing.T) {
	m := teacher(t)
	d, err := Describe(m)
	if err != nil {
		t.Fatal(err)
	}
	if d.Resizable {
		t.Errorf("Resizable = true, want false: RESIZE_BILINEAR takes its size from a constant, so 512² in gives 256² out")
	}
	if len(d.Inputs) != 1 || len(d.Outputs) != 1 {
		t.Fatalf("got %d inputs, %d outputs, want 1 and 1", len(d.Inputs), len(d.Outputs))
	}
	for _, ti := range []TensorInfo{d.Inputs[0], d.Outputs[0]} {
		if ti.Type != Float32 || !slices.Equal(ti.Shape, []int{1, 256, 256, 3}) {
			t.Errorf("tensor %q: %s %v, want float32 [1 256 256 3]", ti.Name, ti.Type, ti.Shape)
		}
	}
	t.Logf("%+v", d)
}
