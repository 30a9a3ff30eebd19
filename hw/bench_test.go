package hw

import (
	"context"
	"testing"
)

// BenchmarkProbe is the cost of probing this machine at start-up.
func BenchmarkProbe(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		Probe(context.Background(), Options{WatchDir: dir})
	}
}
