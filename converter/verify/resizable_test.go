package verify_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/animed/animed/converter"
	. "github.com/animed/animed/converter/onnxtest"
	"github.com/animed/animed/converter/verify"
	"github.com/animed/animed/internal/tflite"
)

// The resizable flag the converter writes into the metadata must agree
// with what the runtime finds when it resizes the input (tflite.Describe).
func TestResizableClaimMatchesRuntime(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		build func(b *Builder, x string) string
		want  bool
	}{
		{"fully convolutional", func(b *Builder, x string) string {
			c := conv(b, x, 3, 8, 3, A("pads", []int{1, 1, 1, 1}))
			n := b.Node("InstanceNormalization", []string{c, b.Rand("s", 1, 2, 8), b.Rand("bb", 0, 1, 8)})
			p := b.Node("Pad", []string{n, b.Ints("p", 0, 0, 1, 1, 0, 0, 1, 1)}, A("mode", "reflect"))
			return b.Node("Tanh", []string{conv(b, p, 8, 3, 3, A("strides", []int{2, 2}))})
		}, true},
		{"bilinear upsample", func(b *Builder, x string) string {
			return b.Node("Resize", []string{conv(b, x, 3, 3, 1), "", b.Init("sc", []int{4}, []float32{1, 1, 2, 2})}, A("mode", "linear"))
		}, false},
		{"transposed conv", func(b *Builder, x string) string {
			return b.Node("ConvTranspose", []string{x, b.Rand("w", -1, 1, 3, 3, 2, 2)}, A("strides", []int{2, 2}))
		}, false},
		{"group norm with reshape", func(b *Builder, x string) string {
			c := conv(b, x, 3, 4, 1)
			r := b.Node("Reshape", []string{c, b.Ints("gs", 1, 2, -1)})
			in := b.Node("InstanceNormalization", []string{r, b.Init("one", []int{2}, ones(2, 1)), b.Init("zero", []int{2}, ones(2, 0))})
			return b.Node("Reshape", []string{in, b.Ints("back", 1, 4, 16, 16)})
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(13)
			b.Output(tc.build(b, b.Input("x", 1, 3, 16, 16)))
			path := filepath.Join(dir, "m.onnx")
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			res := convertFile(t, path, converter.Options{})
			if res.Info.Resizable != tc.want {
				t.Fatalf("converter claims resizable=%v, want %v (%s)", res.Info.Resizable, tc.want, res.Info.Reason)
			}
			data, err := res.Model.Marshal()
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
			if d.Resizable != res.Info.Resizable {
				t.Errorf("metadata says resizable=%v, runtime finds %v", res.Info.Resizable, d.Resizable)
			}
		})
	}
}

// A model converted at 16x16 and resized in the runtime to 24x40 must
// compute what the converter produces for 24x40 directly.
func TestResizedModelComputesTheSame(t *testing.T) {
	build := func() *Builder {
		b := New(13)
		x := b.Input("x", 1, 3, -1, -1)
		c := conv(b, x, 3, 8, 3, A("pads", []int{1, 1, 1, 1}))
		n := b.Node("InstanceNormalization", []string{c, b.Rand("s", 1, 2, 8), b.Rand("bb", 0, 1, 8)})
		p := b.Node("Pad", []string{b.Node("LeakyRelu", []string{n}), b.Ints("p", 0, 0, 1, 1, 0, 0, 1, 1)}, A("mode", "reflect"))
		b.Output(b.Node("Tanh", []string{conv(b, p, 8, 3, 3, A("strides", []int{2, 2}))}))
		return b
	}
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(path, build().Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	small := convertFile(t, path, converter.Options{InputShape: []int{1, 3, 16, 16}})
	big := convertFile(t, path, converter.Options{InputShape: []int{1, 3, 24, 40}})
	if !small.Info.Resizable {
		t.Fatal("not resizable")
	}
	data, err := small.Model.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := tflite.NewModel(data)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	it, err := tflite.NewInterpreter(m, tflite.Options{Backend: tflite.BackendCPU, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if err := it.ResizeInput(0, []int{1, 24, 40, 3}); err != nil {
		t.Fatal(err)
	}
	in := make([]float32, 24*40*3)
	for i := range in {
		in[i] = float32(i%17)/8 - 1
	}
	if err := it.Input(0).SetFloat32(in); err != nil {
		t.Fatal(err)
	}
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 12*20*3)
	if err := it.Output(0).ReadFloat32(got); err != nil {
		t.Fatal(err)
	}
	want, err := verify.ExecBackend(big.Graph).Run([][]float32{in})
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for i := range got {
		worst = max(worst, math.Abs(float64(got[i]-want[0][i])))
	}
	if worst > tolerance {
		t.Errorf("resized model differs by %.3g", worst)
	}
}
