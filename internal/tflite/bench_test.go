package tflite

import (
	"fmt"
	"testing"

	"github.com/animed/animed/internal/testmodel"
)

// benchInvoke runs the generated INT8 model at 256x256 on one backend.
// XNNPACK's QS8 kernels should beat the builtin ones: compare
// BenchmarkInvokeXNNPACK with BenchmarkInvokeCPU at the same thread count.
func benchInvoke(b *testing.B, backend Backend) {
	m := buildModel(b, testmodel.Config{Int8: true, H: 256, W: 256})
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			it, err := NewInterpreter(m, Options{Threads: threads, Backend: backend})
			if err != nil {
				b.Fatal(err)
			}
			defer it.Close()
			if it.Backend() != backend {
				b.Fatalf("Backend() = %q, want %q (fallback: %s)", it.Backend(), backend, it.FallbackReason())
			}
			if err := it.Input(0).SetFloat32(pattern(256, 256)); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(256 * 256 * 3 * 4)
			for b.Loop() {
				if err := it.Invoke(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkInvokeCPU(b *testing.B)     { benchInvoke(b, BackendCPU) }
func BenchmarkInvokeXNNPACK(b *testing.B) { benchInvoke(b, BackendXNNPACK) }
