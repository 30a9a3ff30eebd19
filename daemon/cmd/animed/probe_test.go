package main

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProbeJSON(t *testing.T) {
	out, stderr, code := animed(t, nil, "probe", "--json", "--watch", t.TempDir())
	if code != 0 {
		t.Fatalf("animed probe --json: exit %d\n%s", code, stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("probe --json is not JSON: %v\n%s", err, out)
	}
	if doc["schema"] != "animed.hw.report" {
		t.Errorf("schema = %v", doc["schema"])
	}
	for _, k := range []string{"cpu", "memory", "accelerators"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("report lacks %q", k)
		}
	}
	text, _, code := animed(t, nil, "probe")
	if code != 0 || !strings.Contains(text, "cpu:") {
		t.Errorf("animed probe: exit %d\n%s", code, text)
	}
}

// The daemon chooses its backend by self-test, logs the choice and why,
// and a restart reuses the cached decision.
func TestRunLogsBackendChoice(t *testing.T) {
	dir := t.TempDir()
	drop, out := filepath.Join(dir, "drop"), filepath.Join(dir, "out")
	os.MkdirAll(drop, 0o755)
	for i := range 2 {
		d := runDaemon(t, "--watch", drop, "--out", out, "--settle", "100ms")
		if i == 0 {
			os.WriteFile(filepath.Join(drop, "p.jpg"), testPhoto(rand.New(rand.NewSource(3)), 64, 48, "jpeg", 1), 0o644)
		}
		waitFor(t, 60*time.Second, "the photo's result and the backend decision", func() bool {
			return exists(filepath.Join(out, "p.jpg")) && strings.Contains(d.log.String(), "backend chosen")
		})
		d.stop(os.Interrupt)
		log := d.log.String()
		if !strings.Contains(log, "backend chosen") {
			t.Fatalf("run %d: no backend decision in the log:\n%s", i, log)
		}
		cached := strings.Contains(string(log), "cached=true")
		if cached != (i == 1) {
			t.Errorf("run %d: cached=%v in\n%s", i, cached, log)
		}
	}
}
