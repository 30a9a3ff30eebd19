package watch

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestIgnored(t *testing.T) {
	tests := map[string]bool{
		"photo.jpg": false, "IMG_0001.JPG": false, "a.b.png": false,
		".hidden.jpg": true, "~lock.jpg": true, "x.jpg.tmp": true, "x.jpg.PART": true,
		"x.jpg.filepart": true, "": true,
	}
	for name, want := range tests {
		if got := Ignored(name); got != want {
			t.Errorf("Ignored(%q) = %v, want %v", name, got, want)
		}
	}
}

func startWatcher(t *testing.T, o Options) (*Watcher, context.CancelFunc) {
	t.Helper()
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return w, cancel
}

func next(t *testing.T, w *Watcher, within time.Duration) (string, bool) {
	t.Helper()
	select {
	case n := <-w.Ready():
		return n, true
	case <-time.After(within):
		return "", false
	}
}

func TestSettleWaitsForTheWriter(t *testing.T) {
	for _, mode := range []struct {
		name string
		poll time.Duration
	}{{"inotify", 0}, {"poll", 50 * time.Millisecond}} {
		t.Run(mode.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "before.jpg"), []byte("x"), 0o644) // found by the start-up scan
			os.Mkdir(filepath.Join(dir, "done"), 0o755)
			os.WriteFile(filepath.Join(dir, ".hidden.jpg"), []byte("x"), 0o644)
			w, _ := startWatcher(t, Options{Dir: dir, Settle: 300 * time.Millisecond, Poll: mode.poll})
			if w.Mode() != mode.name {
				t.Fatalf("mode %s, want %s", w.Mode(), mode.name)
			}
			if n, ok := next(t, w, 3*time.Second); !ok || n != "before.jpg" {
				t.Fatalf("first ready %q %v, want before.jpg", n, ok)
			}

			// A slow writer: a chunk every 100ms for 1s. Not ready until it stops.
			f, _ := os.Create(filepath.Join(dir, "slow.jpg"))
			start := time.Now()
			for i := 0; i < 10; i++ {
				f.Write([]byte("chunk"))
				time.Sleep(100 * time.Millisecond)
				select {
				case n := <-w.Ready():
					t.Fatalf("%s ready while being written", n)
				default:
				}
			}
			f.Close()
			n, ok := next(t, w, 3*time.Second)
			if !ok || n != "slow.jpg" {
				t.Fatalf("ready %q %v, want slow.jpg", n, ok)
			}
			if el := time.Since(start); el < time.Second {
				t.Fatalf("taken after %v, before the writer finished", el)
			}
			// Not sent again until Done; nothing else (folders, hidden) at all.
			if n, ok := next(t, w, 700*time.Millisecond); ok {
				t.Fatalf("unexpected %q", n)
			}
		})
	}
}

func TestQueueIsBounded(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 50; i++ {
		os.WriteFile(filepath.Join(dir, "p"+string(rune('a'+i%26))+string(rune('a'+i/26))+".jpg"), []byte("x"), 0o644)
	}
	w, _ := startWatcher(t, Options{Dir: dir, Settle: 10 * time.Millisecond, Queue: 4})
	time.Sleep(500 * time.Millisecond)
	if q := w.Queued(); q != 4 {
		t.Fatalf("queued %d, want the bound 4", q)
	}
	seen := map[string]bool{}
	for len(seen) < 50 {
		n, ok := next(t, w, 3*time.Second)
		if !ok {
			t.Fatalf("only %d of 50 ready", len(seen))
		}
		if seen[n] {
			t.Fatalf("%s sent twice", n)
		}
		seen[n] = true
		os.Remove(filepath.Join(dir, n))
		w.Done(n)
	}
}

func TestFilesystemName(t *testing.T) {
	tests := []struct {
		magic  int64
		name   string
		remote bool
	}{
		{0x6969, "nfs", true},
		{0xFF534D42, "cifs", true},
		{0xFE534D42, "smb2", true},
		{0x65735546, "fuse", true},
		{0xEF53, "ext4", false},
		{0x01021994, "tmpfs", false},
		{0x12345678, "0x12345678", false}, // unknown
	}
	for _, tt := range tests {
		if name, remote := filesystemName(tt.magic); name != tt.name || remote != tt.remote {
			t.Errorf("filesystemName(%#x) = %s, %v; want %s, %v", tt.magic, name, remote, tt.name, tt.remote)
		}
	}
}

func TestRemoteFilesystem(t *testing.T) {
	name, remote, err := RemoteFilesystem(t.TempDir())
	if err != nil || remote {
		t.Fatalf("temp dir: %s remote=%v err=%v", name, remote, err)
	}
}

// A name given up with Done comes back after the next full scan: RetryAt
// says when, from the scan interval of the mode and the settle time.
func TestRetryAt(t *testing.T) {
	for _, tt := range []struct {
		name  string
		o     Options
		every time.Duration
	}{
		{"inotify", Options{SafetyScan: time.Hour}, time.Hour},
		{"poll", Options{Poll: 30 * time.Second, SafetyScan: time.Hour}, 30 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Dir = t.TempDir()
			os.WriteFile(filepath.Join(tt.o.Dir, "a.jpg"), []byte("x"), 0o644)
			tt.o.Settle = 10 * time.Millisecond
			before := time.Now()
			w, _ := startWatcher(t, tt.o)
			name, ok := next(t, w, 10*time.Second) // after the start-up scan
			if !ok {
				t.Fatal("a.jpg not sent")
			}
			w.Done(name)
			got := w.RetryAt()
			if lo, hi := before.Add(tt.every+tt.o.Settle), time.Now().Add(tt.every+tt.o.Settle); got.Before(lo) || got.After(hi) {
				t.Errorf("RetryAt %v, want between %v and %v", got, lo, hi)
			}
		})
	}
}

// When the kernel refuses a new inotify instance (EMFILE: the open files
// limit here, fs.inotify.max_user_instances on a busy host), New polls
// instead and says which limits to raise.
func TestInotifyLimitFallsBackToPolling(t *testing.T) {
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	dir := t.TempDir()
	// The kernel hands out the lowest free descriptor: with the limit at
	// that number, no new one fits.
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	free := f.Fd()
	f.Close()
	lim := unix.Rlimit{Cur: uint64(free), Max: old.Max}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip("setrlimit:", err)
	}
	w, err := New(Options{Dir: dir, Logger: log})
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if w.Mode() != "poll" {
		t.Fatalf("mode %s, want poll", w.Mode())
	}
	for _, want := range []string{"level=WARN", "fs.inotify.max_user_watches", "fs.inotify.max_user_instances"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	// It still finds photos.
	os.WriteFile(filepath.Join(dir, "a.jpg"), []byte("x"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if name, ok := next(t, w, 10*time.Second); !ok || name != "a.jpg" {
		t.Errorf("got %q, %v", name, ok)
	}
}
