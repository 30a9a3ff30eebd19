package sdnotify

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// listen opens a real unixgram socket and points NOTIFY_SOCKET at it. The
// socket lives in a short temporary folder: socket paths are limited to 108
// bytes and t.TempDir can be longer.
func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return conn
}

// recv reads one datagram, or returns "" after d.
func recv(t *testing.T, conn *net.UnixConn, d time.Duration) string {
	t.Helper()
	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(d))
	n, err := conn.Read(buf)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestMessages(t *testing.T) {
	conn := listen(t)
	n := New(nil)
	if !n.Enabled() {
		t.Fatal("Enabled() = false with NOTIFY_SOCKET set")
	}
	tests := []struct {
		name string
		send func() error
		want string
	}{
		{"ready", n.Ready, "READY=1"},
		{"reloading", n.Reloading, "RELOADING=1"},
		{"status", func() error { return n.Status("idle, 3 converted") }, "STATUS=idle, 3 converted"},
		{"status one line", func() error { return n.Status("a\nb\r\nc") }, "STATUS=a b c"},
		{"stopping", n.Stopping, "STOPPING=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.send(); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, conn, 5*time.Second); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAbstractSocket(t *testing.T) {
	name := "@animed-sdnotify-test-" + strconv.Itoa(os.Getpid())
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Skipf("abstract unix sockets unavailable: %v", err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", name)
	if err := New(nil).Ready(); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, conn, 5*time.Second); got != "READY=1" {
		t.Errorf("got %q, want READY=1", got)
	}
}

func TestNoSocketIsNoOp(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "1000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	n := New(nil)
	if n.Enabled() {
		t.Fatal("Enabled() = true without NOTIFY_SOCKET")
	}
	for _, f := range []func() error{n.Ready, n.Reloading, n.Stopping, func() error { return n.Status("x") }} {
		if err := f(); err != nil {
			t.Errorf("no-op send failed: %v", err)
		}
	}
	if wd := n.Watchdog(); wd.Enabled() {
		t.Error("watchdog enabled without NOTIFY_SOCKET")
	}
}

func TestDeadSocketIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gone")
	t.Setenv("NOTIFY_SOCKET", path)
	err := New(nil).Ready()
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Ready() to a missing socket: err = %v, want an error naming %s", err, path)
	}
}

func TestWatchdogFromEnvironment(t *testing.T) {
	me := strconv.Itoa(os.Getpid())
	tests := []struct {
		name, usec, pid string
		want            time.Duration
	}{
		{"enabled", "30000000", me, 30 * time.Second},
		{"no pid: for us", "2000000", "", 2 * time.Second},
		{"other process", "30000000", "1", 0},
		{"unset", "", "", 0},
		{"garbage", "soon", me, 0},
		{"zero", "0", me, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			listen(t)
			t.Setenv("WATCHDOG_USEC", tt.usec)
			t.Setenv("WATCHDOG_PID", tt.pid)
			wd := New(nil).Watchdog()
			if got := wd.Interval(); got != tt.want {
				t.Errorf("Interval() = %v, want %v", got, tt.want)
			}
			if wd.Enabled() != (tt.want > 0) {
				t.Errorf("Enabled() = %v", wd.Enabled())
			}
		})
	}
}

func TestAlive(t *testing.T) {
	const stall = 10 * time.Second
	tests := []struct {
		name  string
		busy  int64
		last  time.Duration // last progress
		now   time.Duration
		alive bool
	}{
		{"idle long ago", 0, 0, time.Hour, true},
		{"busy, fresh tile", 1, 50 * time.Second, 55 * time.Second, true},
		{"busy, just under", 1, 0, stall - time.Millisecond, true},
		{"busy, stalled", 1, 0, stall, false},
		{"busy, stalled long", 2, time.Second, time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWatchdog(New(nil), stall)
			w.busy.Store(tt.busy)
			w.last.Store(int64(tt.last))
			if got := w.alive(tt.now); got != tt.alive {
				t.Errorf("alive = %v, want %v", got, tt.alive)
			}
		})
	}
}

func TestUnbalancedEndDoesNotHideStall(t *testing.T) {
	w := newWatchdog(New(nil), time.Second)
	w.End() // no Begin
	w.Begin()
	if w.busy.Load() != 1 {
		t.Fatalf("busy = %d after End, Begin; want 1", w.busy.Load())
	}
}

func TestNilWatchdog(t *testing.T) {
	var w *Watchdog
	w.Begin()
	w.Advance()
	w.End()
	w.SetMaxStall(time.Second)
	if w.Enabled() || w.Interval() != 0 {
		t.Error("nil watchdog reports enabled")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w.Run(ctx)
}

// drain returns the WATCHDOG=1 datagrams waiting on conn and the other
// messages, without waiting (no deadline, no clock).
func drain(t *testing.T, conn *net.UnixConn) (n int, other []string) {
	t.Helper()
	rc, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		var m int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			m, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			return true
		})
		switch {
		case err != nil:
			t.Fatal(err)
		case errors.Is(rerr, syscall.EAGAIN):
			return n, other
		case rerr != nil:
			t.Fatal(rerr)
		case string(buf[:m]) == "WATCHDOG=1":
			n++
		default:
			other = append(other, string(buf[:m]))
		}
	}
}

// pings lets d pass on the bubble's clock (testing/synctest) and counts the
// WATCHDOG=1 datagrams sent meanwhile. It drains the socket every step, so
// that its small queue never blocks the sender.
func pings(t *testing.T, conn *net.UnixConn, d time.Duration) (n int, other []string) {
	t.Helper()
	const step = 10 * time.Millisecond
	for passed := time.Duration(0); passed < d; passed += step {
		time.Sleep(step)
		synctest.Wait() // every goroutine of the bubble is blocked: the pings due are sent
		k, o := drain(t, conn)
		n += k
		other = append(other, o...)
	}
	return n, other
}

// TestWatchdogFollowsProgress runs the real pinger against a real socket,
// on the fake clock of testing/synctest: it pings while idle and while
// tiles finish, stops when a photo stalls, and resumes when the photo makes
// progress again.
func TestWatchdogFollowsProgress(t *testing.T) {
	conn := listen(t)
	t.Setenv("WATCHDOG_USEC", "200000") // 200ms, pings every 50ms
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	synctest.Test(t, func(t *testing.T) {
		wd := New(nil).Watchdog()
		if !wd.Enabled() {
			t.Fatal("watchdog not enabled")
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { wd.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()

		if n, _ := pings(t, conn, 400*time.Millisecond); n < 8 {
			t.Fatalf("idle: %d pings in 400ms, want >= 8", n)
		}

		// A photo whose tiles each take 100ms (half of WatchdogSec): alive.
		wd.Begin()
		stop := make(chan struct{})
		ticked := make(chan struct{})
		go func() {
			defer close(ticked)
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
					wd.Advance()
				}
			}
		}()
		n, _ := pings(t, conn, 600*time.Millisecond)
		close(stop)
		<-ticked
		if n < 12 {
			t.Fatalf("busy with progress: %d pings in 600ms, want >= 12", n)
		}

		// The photo stalls: once MaxStall (200ms) has passed, no more pings.
		pings(t, conn, 200*time.Millisecond)
		if n, _ := pings(t, conn, time.Second); n != 0 {
			t.Fatalf("stalled: %d pings, want 0", n)
		}

		// Progress again: pings resume.
		wd.Advance()
		if n, _ := pings(t, conn, 400*time.Millisecond); n < 2 {
			t.Fatalf("after progress: %d pings, want >= 2", n)
		}
		wd.End()
		if n, _ := pings(t, conn, 400*time.Millisecond); n < 8 {
			t.Fatalf("idle after End: %d pings, want >= 8", n)
		}
	})
}

// TestWatchdogReportsStall checks that a stall sets the status line once.
func TestWatchdogReportsStall(t *testing.T) {
	conn := listen(t)
	t.Setenv("WATCHDOG_USEC", "100000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	synctest.Test(t, func(t *testing.T) {
		wd := New(nil).Watchdog()
		wd.Begin()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { wd.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		_, other := pings(t, conn, 600*time.Millisecond)
		if len(other) != 1 || !strings.HasPrefix(other[0], "STATUS=stalled: no progress for ") {
			t.Fatalf("messages besides pings: %q, want one STATUS=stalled", other)
		}
	})
}

func TestRunStopsOnCancel(t *testing.T) {
	listen(t)
	t.Setenv("WATCHDOG_USEC", "100000")
	t.Setenv("WATCHDOG_PID", "")
	wd := New(nil).Watchdog()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { wd.Run(ctx); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
