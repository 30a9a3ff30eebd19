package bench

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"testing"

	"github.com/animed/animed/converter/tflitefile"
	measure "github.com/animed/animed/internal/bench"
	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/models"
)

// Hot paths of the photo pipeline at the daemon's working size, named for
// benchstat: go test -run '^$' -bench . -count 6 ./bench | benchstat -

const benchW, benchH = 1024, 768

func benchImage() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, benchW, benchH))
	FromTensor(measure.Pattern(benchH, benchW, 3), img)
	return img
}

func BenchmarkPreprocess(b *testing.B) {
	img := benchImage()
	b.Run("path=float", func(b *testing.B) {
		dst := make([]float32, benchW*benchH*3)
		b.SetBytes(benchW * benchH * 4)
		for b.Loop() {
			ToTensor(img, dst)
		}
	})
	b.Run("path=int8lut", func(b *testing.B) {
		q := NewQuantizer(1/127.5, 0, 1/128.0, 0)
		dst := make([]int8, benchW*benchH*3)
		b.SetBytes(benchW * benchH * 4)
		for b.Loop() {
			q.ToInt8(img, dst)
		}
	})
}

func BenchmarkPostprocess(b *testing.B) {
	out := image.NewRGBA(image.Rect(0, 0, benchW, benchH))
	b.Run("path=float", func(b *testing.B) {
		src := measure.Pattern(benchH, benchW, 3)
		b.SetBytes(benchW * benchH * 4)
		for b.Loop() {
			FromTensor(src, out)
		}
	})
	b.Run("path=int8lut", func(b *testing.B) {
		q := NewQuantizer(1/127.5, 0, 1/128.0, 0)
		src := make([]int8, benchW*benchH*3)
		q.ToInt8(benchImage(), src)
		b.SetBytes(benchW * benchH * 4)
		for b.Loop() {
			q.FromInt8(src, out)
		}
	})
}

// BenchmarkQuantize is the float <-> int8 conversion the runtime does at
// the I/O of a model with float ends fed to int8 tensors.
func BenchmarkQuantize(b *testing.B) {
	it := defaultAt(b, benchH, benchW, tflite.BackendXNNPACK, 1)
	src := measure.Pattern(benchH, benchW, 3)
	b.Run(fmt.Sprintf("op=set/type=%s", it.Input(0).Type()), func(b *testing.B) {
		b.SetBytes(int64(len(src)) * 4)
		for b.Loop() {
			if err := it.Input(0).SetFloat32(src); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("op=read/type=%s", it.Output(0).Type()), func(b *testing.B) {
		b.SetBytes(int64(len(src)) * 4)
		for b.Loop() {
			if err := it.Output(0).ReadFloat32(src); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInvoke times the embedded default model at square sizes on both
// backends, 2 threads.
func BenchmarkInvoke(b *testing.B) {
	for _, be := range []tflite.Backend{tflite.BackendXNNPACK, tflite.BackendCPU} {
		for _, size := range []int{256, 512} {
			b.Run(fmt.Sprintf("model=default/size=%d/backend=%s", size, be), func(b *testing.B) {
				it := defaultAt(b, size, size, be, 2)
				if err := it.Input(0).SetFloat32(measure.Pattern(size, size, 3)); err != nil {
					b.Fatal(err)
				}
				// warm-up: the first run sets XNNPACK up (packs weights, plans buffers)
				if err := it.Invoke(); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if err := it.Invoke(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkJPEG(b *testing.B) {
	img := benchImage()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.Run("op=decode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=encode", func(b *testing.B) {
		var out bytes.Buffer
		for b.Loop() {
			out.Reset()
			if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: 90}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// defaultAt is an interpreter for the embedded default model at h x w, its
// constant resize sizes rewritten as animed does for each photo.
func defaultAt(b *testing.B, h, w int, be tflite.Backend, threads int) *tflite.Interpreter {
	b.Helper()
	data, err := tflitefile.ScaleInput(models.Default(), h, w)
	if err != nil {
		b.Fatalf("rescale the default model to %dx%d: %v", w, h, err)
	}
	m, err := tflite.NewModel(data)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	it, err := tflite.NewInterpreter(m, tflite.Options{Threads: threads, Backend: be})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { it.Close() })
	return it
}
