package main

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFleet runs 3 daemons on one drop folder, drops 300 photos, and
// kills one of them with SIGKILL midway: every photo is converted exactly
// once (one result under its own name, no NAME-1 duplicates), none is
// lost, and the killed daemon's claims are taken over after its lease.
func TestFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three daemons: skipped in -short mode")
	}
	bin := buildAnimed(t)
	root := t.TempDir()
	drop, out, shared := filepath.Join(root, "drop"), filepath.Join(root, "out"), filepath.Join(root, "fleet")
	os.MkdirAll(drop, 0o755)
	start := func(id string) *daemonProc {
		return startDaemon(t, bin, []string{"--watch", drop, "--out", out, "--state", filepath.Join(root, "state-"+id),
			"--fleet", shared, "--instance", id, "--lease", "3s", "--poll", "300ms", "--settle", "200ms",
			"--backend", "cpu", "--threads", "1", "--max-side", "64"}, filepath.Join(root, id+".log"))
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, id := range []string{"a", "b", "c"} {
				b, _ := os.ReadFile(filepath.Join(root, id+".log"))
				t.Logf("daemon %s log (last 3000 bytes):\n%s", id, b[max(0, len(b)-3000):])
			}
		}
	})
	daemons := map[string]*daemonProc{"a": start("a"), "b": start("b"), "c": start("c")}
	defer func() {
		for _, d := range daemons {
			if d != nil {
				d.kill(t)
			}
		}
	}()

	r := rand.New(rand.NewSource(4))
	const n = 300
	var names []string
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("photo-%03d.jpg", i)
		names = append(names, name)
		if err := os.WriteFile(filepath.Join(drop, name), testPhoto(r, 48+r.Intn(32), 48+r.Intn(32), "jpeg", 1), 0o644); err != nil {
			t.Fatal(err)
		}
		if i == n/3 {
			// Kill b once it is busy.
			waitFor(t, 120*time.Second, "b to convert photos", func() bool {
				b, _ := os.ReadFile(filepath.Join(root, "b.log"))
				return strings.Count(string(b), "photo done") >= 5
			})
			daemons["b"].kill(t)
			daemons["b"] = nil
		}
	}
	waitFor(t, 240*time.Second, "the drop folder to empty", func() bool {
		ents, _ := os.ReadDir(drop)
		for _, e := range ents {
			if !e.IsDir() {
				return false
			}
		}
		return true
	})
	for id, d := range daemons {
		if d == nil {
			continue
		}
		d.cmd.Process.Signal(syscall.SIGTERM)
		if err := d.cmd.Wait(); err != nil {
			t.Errorf("daemon %s: SIGTERM: exit %v", id, err)
		}
		d.log.Close()
		daemons[id] = nil
	}

	results := listFiles(t, out)
	var extra []string
	for _, name := range names {
		if !results[name] {
			t.Errorf("%s: no result", name)
		}
		delete(results, name)
		if !exists(filepath.Join(drop, "done", name)) {
			t.Errorf("%s: original not in done/", name)
		}
	}
	for name := range results {
		extra = append(extra, name)
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("duplicate or partial results: %v", extra)
	}
	if n := len(listFiles(t, filepath.Join(drop, "done"))); n != len(names) {
		t.Errorf("done/ holds %d files, want %d", n, len(names))
	}
	locks, _ := filepath.Glob(filepath.Join(shared, "*.lock"))
	if len(locks) > 0 {
		t.Errorf("claims left in the fleet folder: %v", locks)
	}
	took := 0
	for _, id := range []string{"a", "c"} {
		b, _ := os.ReadFile(filepath.Join(root, id+".log"))
		took += strings.Count(string(b), "taking over")
	}
	t.Logf("claims of the killed daemon taken over: %d", took)
}
