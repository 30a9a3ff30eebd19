package progress

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestUpdate(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newBar(&out, "tiles", func() time.Time { return now })
	steps := []struct {
		after time.Duration // since the previous step
		done  int
		want  string // "" = nothing drawn
	}{
		{2 * time.Second, 1, "\rtiles 1/4, 2s elapsed, about 6s left\x1b[K"},
		{50 * time.Millisecond, 2, ""}, // too soon after the last line
		{2 * time.Second, 3, "\rtiles 3/4, 4.1s elapsed, about 1.4s left\x1b[K"},
		{10 * time.Millisecond, 4, "\rtiles 4/4, 4.1s elapsed\x1b[K"}, // the last step always
	}
	for _, s := range steps {
		now = now.Add(s.after)
		out.Reset()
		b.Update(s.done, 4)
		if out.String() != s.want {
			t.Errorf("step %d: drew %q, want %q", s.done, out.String(), s.want)
		}
	}
	out.Reset()
	b.Finish()
	if out.String() != "\n" {
		t.Errorf("Finish wrote %q", out.String())
	}
}

func TestNilBar(t *testing.T) {
	var b *Bar
	b.Update(1, 2)
	b.Finish()
}

// openPTY opens a pseudo-terminal pair (posix_openpt, unlockpt, ptsname).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skip("no pseudo-terminals:", err)
	}
	t.Cleanup(func() { m.Close() })
	var unlock int32
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, m.Fd(), unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Skip("unlockpt:", e)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skip("ptsname:", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skip("open pts:", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

func TestNewOnlyOnATerminal(t *testing.T) {
	if New(&bytes.Buffer{}, "tiles") != nil {
		t.Error("a buffer is not a terminal")
	}
	f, err := os.Create(t.TempDir() + "/log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if New(f, "tiles") != nil {
		t.Error("a file is not a terminal")
	}
	master, slave := openPTY(t)
	b := New(slave, "tiles")
	if b == nil {
		t.Fatal("a pseudo-terminal is a terminal")
	}
	b.Update(1, 1)
	b.Finish()
	buf := make([]byte, 256)
	n, _ := master.Read(buf)
	if got := string(buf[:n]); !strings.Contains(got, "tiles 1/1") {
		t.Errorf("the terminal shows %q", got)
	}
}
