package calib_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/animed/animed/converter/quantize"
	"github.com/animed/animed/converter/quantize/calib"
	"github.com/animed/animed/internal/testmodel"
	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/internal/tflite/tflitetest"
)

// benchSize is the generator's input size in the benchmarks: the size the
// daemon runs at.
const benchSize = 256

// benchModels returns the FP32 generator and its INT8 quantization
// (calibrated on two synthetic images: ranges do not change the speed).
func benchModels(b *testing.B) (fp32, int8 []byte) {
	b.Helper()
	m := testmodel.Generator(testmodel.GeneratorConfig{Size: benchSize})
	st, err := calib.Calibrate(context.Background(), m, calib.SyntheticImages(2, benchSize, benchSize, 1), calib.CalibOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ranges, _ := st.Ranges(calib.MinMax, 0)
	res, err := quantize.Quantize(m, quantize.Options{Ranges: ranges})
	if err != nil {
		b.Fatal(err)
	}
	return tflitetest.Marshal(b, m), tflitetest.Marshal(b, res.Model)
}

func benchRun(b *testing.B, data []byte, backend tflite.Backend) {
	benchRunSize(b, data, backend, benchSize, benchSize)
}

func benchRunSize(b *testing.B, data []byte, backend tflite.Backend, h, w int) {
	tm, err := tflite.NewModel(data)
	if err != nil {
		b.Fatal(err)
	}
	defer tm.Close()
	it, err := tflite.NewInterpreter(tm, tflite.Options{Backend: backend, Threads: benchThreads(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer it.Close()
	if it.Backend() != backend {
		b.Fatalf("backend %s, want %s: %s", it.Backend(), backend, it.FallbackReason())
	}
	img := calib.SyntheticImages(1, h, w, 2)[0].Float()
	if err := it.Input(0).SetFloat32(img); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(data)), "model-bytes")
	b.ResetTimer()
	for b.Loop() {
		if err := it.Invoke(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchThreads is $ANIMED_BENCH_THREADS, else 1: on a shared machine more
// threads than idle cores make XNNPACK's spinning thread pool wait for
// the scheduler at every partition boundary, and the timings then measure
// the load, not the model.
func benchThreads(b *testing.B) int {
	if s := os.Getenv("ANIMED_BENCH_THREADS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("ANIMED_BENCH_THREADS=%q: %v", s, err)
		}
		return n
	}
	return 1
}

// BenchmarkFP32 runs the FP32 generator at 256x256 on XNNPACK.
func BenchmarkFP32(b *testing.B) {
	fp32, _ := benchModels(b)
	benchRun(b, fp32, tflite.BackendXNNPACK)
}

// BenchmarkINT8 runs the INT8 generator at 256x256 on XNNPACK (QS8).
func BenchmarkINT8(b *testing.B) {
	_, q := benchModels(b)
	benchRun(b, q, tflite.BackendXNNPACK)
}

// BenchmarkINT8CPU runs the INT8 generator on TFLite's builtin kernels.
func BenchmarkINT8CPU(b *testing.B) {
	_, q := benchModels(b)
	benchRun(b, q, tflite.BackendCPU)
}

// BenchmarkFP32CPU runs the FP32 generator on TFLite's builtin kernels.
func BenchmarkFP32CPU(b *testing.B) {
	fp32, _ := benchModels(b)
	benchRun(b, fp32, tflite.BackendCPU)
}

// BenchmarkFiles compares a converted model pair given by environment
// variables: ANIMED_BENCH_FP32=model.tflite ANIMED_BENCH_INT8=model_int8.tflite
// (e.g. onnx2tflite's output with and without --int8). It is skipped
// otherwise.
func BenchmarkFiles(b *testing.B) {
	fp32Path, int8Path := os.Getenv("ANIMED_BENCH_FP32"), os.Getenv("ANIMED_BENCH_INT8")
	if fp32Path == "" || int8Path == "" {
		b.Skip("set ANIMED_BENCH_FP32 and ANIMED_BENCH_INT8 to model files")
	}
	fp32, err := os.ReadFile(fp32Path)
	if err != nil {
		b.Fatal(err)
	}
	q, err := os.ReadFile(int8Path)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("FP32", func(b *testing.B) { benchFile(b, fp32, tflite.BackendXNNPACK) })
	b.Run("FP32CPU", func(b *testing.B) { benchFile(b, fp32, tflite.BackendCPU) })
	b.Run("INT8", func(b *testing.B) { benchFile(b, q, tflite.BackendXNNPACK) })
	b.Run("INT8CPU", func(b *testing.B) { benchFile(b, q, tflite.BackendCPU) })
}

func benchFile(b *testing.B, data []byte, backend tflite.Backend) {
	tm, err := tflite.NewModel(data)
	if err != nil {
		b.Fatal(err)
	}
	defer tm.Close()
	d, err := tflite.Describe(tm)
	if err != nil {
		b.Fatal(err)
	}
	s := d.Inputs[0].Shape
	benchRunSize(b, data, backend, s[1], s[2])
}
