package pipeline

import (
	"bytes"
	"context"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/animed/animed/daemon/watch"
	"github.com/animed/animed/internal/imageio"
)

// syncBuffer is a log destination safe for the pipeline's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunDecodesAhead runs the daemon's loop on several photos: each is
// decoded ahead (while the one before runs the model) and finished exactly
// once.
func TestRunDecodesAhead(t *testing.T) {
	f, p, _ := setup(t)
	var logs syncBuffer
	p.log = slog.New(slog.NewTextHandler(&logs, nil))
	w, err := watch.New(watch.Options{Dir: f.watch, Settle: 10 * time.Millisecond, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"}
	for i, n := range names {
		os.WriteFile(filepath.Join(f.watch, n), jpegBytes(t, 24+8*i, 30), 0o644)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, w) }()
	defer func() { cancel(); <-done }()
	eventually(t, "every photo to be finished", func() bool {
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(f.done, n)); err != nil {
				return false
			}
		}
		return true
	})
	out, _ := os.ReadDir(f.out)
	if len(out) != len(names) {
		t.Errorf("%d results for %d photos", len(out), len(names))
	}
	for i, n := range names {
		data, err := os.ReadFile(filepath.Join(f.out, n))
		if err != nil {
			t.Fatal(err)
		}
		ph, err := imageio.Decode(data, imageio.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := ph.RGB.Bounds().Dx(); got != 24+8*i {
			t.Errorf("%s: result %d px wide, want %d (another photo's pixels?)", n, got, 24+8*i)
		}
	}
	if got := strings.Count(logs.String(), "decoded_ahead=true"); got != len(names) {
		t.Errorf("%d of %d photos were decoded ahead:\n%s", got, len(names), logs.String())
	}
}

// TestDecodedAheadIsUsedOnlyForTheSameFile replaces a photo after it was
// decoded ahead: Process must decode the new file.
func TestDecodedAheadIsUsedOnlyForTheSameFile(t *testing.T) {
	f, p, _ := setup(t)
	path := filepath.Join(f.watch, "p.jpg")
	os.WriteFile(path, jpegBytes(t, 40, 30), 0o644)
	d := p.decodeAhead("p.jpg")
	if d == nil || d.photo.RGB.Bounds() != image.Rect(0, 0, 40, 30) {
		t.Fatalf("decoded ahead: %+v", d)
	}
	p.ahead.put(d)
	tmp := filepath.Join(f.watch, ".new")
	os.WriteFile(tmp, jpegBytes(t, 24, 24), 0o644)
	if err := os.Rename(tmp, path); err != nil { // a new inode under the same name
		t.Fatal(err)
	}
	if o, err := p.Process(context.Background(), "p.jpg"); o != Succeeded || err != nil {
		t.Fatalf("Process: %v %v", o, err)
	}
	data, err := os.ReadFile(filepath.Join(f.out, "p.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	ph, err := imageio.Decode(data, imageio.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b := ph.RGB.Bounds(); b.Dx() != 24 {
		t.Errorf("result %v: made from the pixels decoded ahead of the replaced file", b)
	}
}

// TestRunStylesTheNextWhileWriting: Run's finisher writes a photo while
// the next one is claimed and styled. The out folder is a full tmpfs
// (ENOSPC on the write only), so the first photo waits in the finisher;
// meanwhile the second must be claimed and taken through the model. Once
// there is space again, each is finished exactly once.
func TestRunStylesTheNextWhileWriting(t *testing.T) {
	f, p, j := setup(t)
	filler := fullOut(t, p)
	p.o.RetryEvery = 20 * time.Millisecond
	var mu sync.Mutex
	busy, most := 0, 0
	p.o.Busy = func(b bool) {
		mu.Lock()
		defer mu.Unlock()
		if b {
			busy++
		} else {
			busy--
		}
		most = max(most, busy)
	}
	w, err := watch.New(watch.Options{Dir: f.watch, Settle: 10 * time.Millisecond, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"a.jpg", "b.jpg"}
	for _, n := range names {
		os.WriteFile(filepath.Join(f.watch, n), jpegBytes(t, 40, 30), 0o644)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, w) }()
	defer func() { cancel(); <-done }()

	styled := func() int {
		n := 0
		for _, name := range names {
			if _, ok := j.Get(name); ok {
				n++
			}
		}
		return n
	}
	eventually(t, "both photos to be claimed while the first cannot be written", func() bool {
		return styled() == 2 && strings.Contains(p.Paused(), "out folder")
	})
	if got := read(filepath.Join(f.done, "a.jpg")) + read(filepath.Join(f.done, "b.jpg")); got != "" {
		t.Fatal("a photo went to done/ with no result written")
	}
	os.Remove(filler)
	eventually(t, "both photos to be finished", func() bool {
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(f.done, n)); err != nil {
				return false
			}
		}
		return styled() == 0
	})
	out, _ := os.ReadDir(p.o.Out)
	if len(out) != len(names) {
		t.Errorf("out holds %v, want one result per photo", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if most != 2 || busy != 0 {
		t.Errorf("photos in progress at once: at most %d (want 2: one written, one styled), %d at the end", most, busy)
	}
}
