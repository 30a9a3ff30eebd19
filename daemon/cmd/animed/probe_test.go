package main

import (
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
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
	for i := range 2 {
		logPath := filepath.Join(dir, "log"+string(rune('0'+i)))
		logf, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(buildAnimed(t), "run", "--watch", drop, "--out", out, "--settle", "100ms")
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(drop, "p.jpg")
		if i == 0 {
			os.MkdirAll(drop, 0o755)
			os.WriteFile(name, testPhoto(rand.New(rand.NewSource(3)), 64, 48, "jpeg", 1), 0o644)
		}
		waitFor(t, 60*time.Second, "the photo's result and the backend decision", func() bool {
			log, _ := os.ReadFile(logPath)
			return exists(filepath.Join(out, "p.jpg")) && strings.Contains(string(log), "backend chosen")
		})
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		logf.Close()
		log, _ := os.ReadFile(logPath)
		if !strings.Contains(string(log), "backend chosen") {
			t.Fatalf("run %d: no backend decision in the log:\n%s", i, log)
		}
		cached := strings.Contains(string(log), "cached=true")
		if cached != (i == 1) {
			t.Errorf("run %d: cached=%v in\n%s", i, cached, log)
		}
	}
}
