package offheap

import (
	"errors"
	"os"
	"regexp"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// rssAnonKB is this process's anonymous resident memory.
func rssAnonKB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	m := regexp.MustCompile(`RssAnon:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Skip("no RssAnon in /proc/self/status")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// The memory counts as resident while it is used and stops counting the
// moment it is freed, with no collection in between.
func TestFreeReturnsMemoryAtOnce(t *testing.T) {
	const n = 64 << 20
	before := rssAnonKB(t)
	b, err := Alloc(n)
	if err != nil {
		t.Fatal(err)
	}
	buf := b.Bytes()
	if len(buf) != n {
		t.Fatalf("len %d, want %d", len(buf), n)
	}
	for i := 0; i < n; i += 4096 {
		if buf[i] != 0 {
			t.Fatalf("byte %d is %d, want 0", i, buf[i])
		}
		buf[i] = 1
	}
	used := rssAnonKB(t)
	if used-before < n/1024*9/10 {
		t.Fatalf("RssAnon grew by %d kB for %d kB touched", used-before, n/1024)
	}
	if err := b.Free(); err != nil {
		t.Fatal(err)
	}
	if after := rssAnonKB(t); used-after < n/1024*9/10 {
		t.Errorf("RssAnon fell by %d kB after freeing %d kB", used-after, n/1024)
	}
	if b.Bytes() != nil {
		t.Error("Bytes after Free is not nil")
	}
	if err := b.Free(); err != nil {
		t.Errorf("second Free: %v", err)
	}
}

// A mapping the kernel refuses says so with ENOMEM, which callers tell
// from bad input (the daemon retries the photo later).
func TestAllocTooMuchIsENOMEM(t *testing.T) {
	_, err := Alloc(1 << 60)
	if !errors.Is(err, unix.ENOMEM) {
		t.Fatalf("Alloc(1<<60): %v, want ENOMEM", err)
	}
}

func TestAllocRefusesNothing(t *testing.T) {
	for _, n := range []int{0, -1} {
		if _, err := Alloc(n); err == nil {
			t.Errorf("Alloc(%d) succeeded", n)
		}
	}
}
