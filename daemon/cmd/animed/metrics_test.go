package main

import (
	"io"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The daemon serves /metrics with process and build figures, and /healthz
// turns unhealthy (503, naming the check) when the out folder goes away.
func TestRunMetricsAndHealth(t *testing.T) {
	dir := t.TempDir()
	drop, out := filepath.Join(dir, "drop"), filepath.Join(dir, "out")
	os.Mkdir(drop, 0o755)
	d := runDaemon(t, "--watch", drop, "--out", out, "--settle", "100ms", "--backend", "xnnpack",
		"--threads", "1", "--metrics", "127.0.0.1:0")
	addrRE := regexp.MustCompile(`msg="serving metrics" addr=(\S+)`)
	var base string
	waitFor(t, 20*time.Second, "the metrics address", func() bool {
		if m := addrRE.FindStringSubmatch(d.log.String()); m != nil {
			base = "http://" + m[1]
		}
		return base != "" && strings.Contains(d.log.String(), `msg="animed running"`)
	})
	if strings.Contains(d.log.String(), "non-loopback") {
		t.Errorf("warned about a loopback address")
	}
	os.WriteFile(filepath.Join(drop, "p.jpg"), testPhoto(rand.New(rand.NewSource(4)), 64, 48, "jpeg", 1), 0o644)
	// "photo done" is logged after the photo is counted (its result
	// appears a little earlier).
	waitFor(t, 20*time.Second, "p.jpg", func() bool { return strings.Contains(d.log.String(), `msg="photo done" photo=p.jpg`) })

	get := func(path string) (int, string) {
		t.Helper()
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, body := get("/metrics")
	for _, re := range []string{
		`(?m)^animed_photos_processed_total 1$`,
		`(?m)^process_resident_memory_bytes [1-9]`,
		`(?m)^process_open_fds [1-9]`,
		`(?m)^go_gc_cycles_total \d`,
		`(?m)^animed_build_info\{version="[^"]+",tflite="2\.9[^"]*",goversion="go[^"]+",model="[^"]+"\} 1$`,
	} {
		if code != 200 || !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("/metrics (%d) lacks %s", code, re)
		}
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}
	if err := os.Rename(out, out+".gone"); err != nil {
		t.Fatal(err)
	}
	if code, body := get("/healthz"); code != 503 || !strings.HasPrefix(body, "out: --out "+out) {
		t.Errorf("/healthz without the out folder = %d %q, want 503 naming out", code, body)
	}
	if err := d.stop(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
}
