package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// Two photos that differ only in their extension: by default the second
// result takes a -1 suffix; with KeepExt each keeps its whole name.
func TestResultNamesSameBase(t *testing.T) {
	for _, tt := range []struct {
		keepExt bool
		want    []string
	}{
		{false, []string{"test.jpg", "test-1.jpg"}},
		{true, []string{"test.webp.jpg", "test.gif.jpg"}},
	} {
		f, p, _ := setup(t)
		p.o.KeepExt = tt.keepExt
		for i, in := range []string{"test.webp", "test.gif"} {
			os.WriteFile(filepath.Join(f.watch, in), jpegBytes(t, 40, 20), 0o644)
			if o, err := p.Process(context.Background(), in); o != Succeeded || err != nil {
				t.Fatalf("KeepExt %v: Process(%s) = %v, %v", tt.keepExt, in, o, err)
			}
			if _, err := os.Stat(filepath.Join(f.out, tt.want[i])); err != nil {
				t.Errorf("KeepExt %v: %s: no result %s", tt.keepExt, in, tt.want[i])
			}
		}
	}
}
