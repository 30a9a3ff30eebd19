package quantize_test

import (
	"context"
	"testing"

	"github.com/animed/animed/converter/quantize"
	"github.com/animed/animed/converter/quantize/quanttest"
	"github.com/animed/animed/internal/tflite"
)

// benchSize is the generator's input size in the benchmarks: the size the
// daemon runs at.
const benchSize = 256

// benchModels returns the FP32 generator and its INT8 quantization
// (calibrated on two synthetic images: ranges do not change the speed).
func benchModels(b *testing.B) (fp32, int8 []byte) {
	b.Helper()
	m := quanttest.Generator(quanttest.GeneratorConfig{Size: benchSize})
	st, err := quantize.Calibrate(context.Background(), m, quantize.SyntheticImages(2, benchSize, benchSize, 1), quantize.CalibOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ranges, _ := st.Ranges(quantize.MinMax, 0)
	res, err := quantize.Quantize(m, quantize.Options{Ranges: ranges})
	if err != nil {
		b.Fatal(err)
	}
	return marshal(b, m), marshal(b, res.Model)
}

func benchRun(b *testing.B, data []byte, backend tflite.Backend) {
	tm, err := tflite.NewModel(data)
	if err != nil {
		b.Fatal(err)
	}
	defer tm.Close()
	it, err := tflite.NewInterpreter(tm, tflite.Options{Backend: backend})
	if err != nil {
		b.Fatal(err)
	}
	defer it.Close()
	if it.Backend() != backend {
		b.Fatalf("backend %s, want %s: %s", it.Backend(), backend, it.FallbackReason())
	}
	img := quantize.SyntheticImages(1, benchSize, benchSize, 2)[0].Float()
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
