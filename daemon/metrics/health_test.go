package metrics

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestHealthz(t *testing.T) {
	m := New()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	var outErr error
	m.RegisterHealth("watcher", CheckerFunc(func() error { return nil }))
	removeOut := m.RegisterHealth("out", CheckerFunc(func() error { return outErr }))
	if code, body := get(t, srv.URL+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("all healthy: %d %q", code, body)
	}
	outErr = errors.New("--out /srv/out: cannot write")
	m.RegisterHealth("journal", CheckerFunc(func() error { return errors.New("disk full") }))
	if code, body := get(t, srv.URL+"/healthz"); code != 503 || body != "journal: disk full\nout: --out /srv/out: cannot write\n" {
		t.Errorf("two failing: %d %q", code, body)
	}
	// A newer registration under the same name replaces the old one, and
	// the old one's remove leaves it alone.
	m.RegisterHealth("out", CheckerFunc(func() error { return nil }))
	removeOut()
	if bad := m.Health(); len(bad) != 1 || bad["journal"] == nil {
		t.Errorf("Health() = %v, want only journal", bad)
	}
}

func TestProcessMetrics(t *testing.T) {
	m := New()
	m.SetBuildInfo(BuildInfo{Version: "1.2.3", TFLite: "2.9.0", Model: "tiny.tflite"})
	var b strings.Builder
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, line := range strings.Split(b.String(), "\n") {
		name, v, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Errorf("bad sample %q", line)
		}
		values[name] = f
	}
	for _, tt := range []struct {
		name string
		min  float64
	}{
		{"process_resident_memory_bytes", 1 << 20},
		{"process_open_fds", 3},
		{"process_max_fds", 3},
		{"process_cpu_seconds_total", 0},
		{"process_start_time_seconds", 1e9},
		{"go_gc_cycles_total", 0},
		{"go_goroutines", 1},
		{"go_memory_total_bytes", 1 << 20},
		{`animed_build_info{version="1.2.3",tflite="2.9.0",goversion="` + runtime.Version() + `",model="tiny.tflite"}`, 1},
	} {
		v, ok := values[tt.name]
		if !ok || v < tt.min {
			t.Errorf("%s = %v (present %v), want at least %v", tt.name, v, ok, tt.min)
		}
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9120": true, "[::1]:9120": true, "localhost:9120": true, "127.0.0.2:1": true,
		":9120": false, "0.0.0.0:9120": false, "192.168.1.5:9120": false, "[::]:9120": false, "pi.local:9120": false,
	} {
		if got := Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestServerTimeouts(t *testing.T) {
	s := NewServer(http.NotFoundHandler())
	for name, d := range map[string]int64{"ReadHeaderTimeout": int64(s.ReadHeaderTimeout), "ReadTimeout": int64(s.ReadTimeout),
		"WriteTimeout": int64(s.WriteTimeout), "IdleTimeout": int64(s.IdleTimeout)} {
		if d <= 0 {
			t.Errorf("%s unset: a client could hold a connection open", name)
		}
	}
}
