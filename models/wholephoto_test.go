package models_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/models"
)

// previous is the default model that AnimeGAN-Tiny v2 replaced, kept for
// make bench's comparison rows.
const previous = "previous/animegan_tiny_int8.tflite"

// TestPreviousRunsInXNNPACK guards the comparison: the kept model must be the
// fully delegated INT8 v1 the numbers in MODEL_CARD.md were measured on.
func TestPreviousRunsInXNNPACK(t *testing.T) {
	b, err := os.ReadFile(previous)
	if err != nil {
		t.Fatal(err)
	}
	checkXNNPACK(t, b)
}

// BenchmarkWholePhoto runs the default and the previous model on a whole
// 1024x768 photo with XNNPACK (2 threads) and reports the growth of the
// resident set over the model's load, per input pixel (the working memory
// of TFLite and XNNPACK: activations, indirection buffers; the issue's
// target is <= 50 B/px). glibc keeps freed memory for reuse, so the figure
// is exact for the first sub-benchmark of the process and a lower bound for
// the later ones: -bench WholePhoto/NAME measures one alone.
func BenchmarkWholePhoto(b *testing.B) {
	prev, err := os.ReadFile(previous)
	if err != nil {
		b.Fatal(err)
	}
	type model struct {
		name string
		data []byte
	}
	cases := []model{{"default", models.Default()}, {"previous", prev}} // first: the smallest
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			const h, w = 768, 1024
			m, err := tflite.NewModel(tc.data)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			rss0 := vmRSS(b)
			it, err := tflite.NewInterpreter(m, tflite.Options{Threads: 2})
			if err != nil {
				b.Fatal(err)
			}
			defer it.Close()
			if err := it.ResizeInput(0, []int{1, h, w, 3}); err != nil {
				b.Fatal(err)
			}
			in := make([]float32, h*w*3)
			for i := range in {
				in[i] = float32(i%251)/125 - 1
			}
			if err := it.Input(0).SetFloat32(in); err != nil {
				b.Fatal(err)
			}
			if err := it.Invoke(); err != nil {
				b.Fatal(err)
			}
			grown := vmRSS(b) - rss0
			b.ResetTimer()
			for range b.N {
				if err := it.Invoke(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(grown)/(h*w), "rss-B/px") // after ResetTimer, which drops metrics
		})
	}
}

// vmRSS returns the process's resident set in bytes.
func vmRSS(b *testing.B) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status:", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb * 1024
		}
	}
	b.Skip("no VmRSS in /proc/self/status")
	return 0
}
