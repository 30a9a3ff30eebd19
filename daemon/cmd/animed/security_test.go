package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/animed/animed/converter/tflitefile"
	"github.com/animed/animed/internal/testmodel"
)

// TestUploadersGainNothing runs the real daemon against what issue 16's
// attacker did as an uploader: a claim planted in the journal whose names
// hold ../ (replayed after a restart, it made the old daemon replace a file
// outside its folders), and done/ swapped for a symbolic link while the
// daemon runs. Nothing outside the folders changes, the forged claim is
// refused and logged, and no photo is lost.
func TestUploadersGainNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon: skipped in -short mode")
	}
	bin := buildAnimed(t)
	root := t.TempDir()
	drop, out, state := filepath.Join(root, "drop"), filepath.Join(root, "out"), filepath.Join(root, "state")
	done, elsewhere := filepath.Join(drop, "done"), filepath.Join(root, "elsewhere")
	for _, d := range []string{drop, out, state, elsewhere} {
		os.MkdirAll(d, 0o700)
	}
	victim := filepath.Join(root, "victim.txt")
	os.WriteFile(victim, []byte("keep"), 0o600)
	r := rand.New(rand.NewSource(1))
	os.WriteFile(filepath.Join(drop, "a.jpg"), testPhoto(r, 64, 48, "jpeg", 1), 0o644)

	// The forged claim, under the file name the journal uses for a.jpg.
	forged, _ := json.Marshal(map[string]any{"input": "a.jpg", "result": "../victim.txt",
		"done": "../../victim.txt", "failed": "../victim.txt", "tries": 1})
	sum := sha256.Sum256([]byte("a.jpg"))
	claim := filepath.Join(state, hex.EncodeToString(sum[:16])+".claim")
	os.WriteFile(claim, forged, 0o600)

	logPath := filepath.Join(root, "animed.log")
	d := startDaemon(t, bin, []string{"--watch", drop, "--out", out, "--state", state, "--backend", "cpu",
		"--threads", "1", "--settle", "100ms", "--max-side", "64"}, logPath)
	defer d.kill(t)
	logText := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", logText())
		}
	})
	waitFor(t, 60*time.Second, "a.jpg converted", func() bool {
		return exists(filepath.Join(out, "a.jpg")) && exists(filepath.Join(done, "a.jpg"))
	})
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Fatalf("the file outside the folders was replaced: %q", b)
	}
	if !strings.Contains(logText(), "refusing a claim file") || !exists(claim+".refused") {
		t.Errorf("the forged claim was not refused and set aside")
	}

	// done/ swapped for a symbolic link while running.
	os.Rename(done, done+".old")
	os.Symlink(elsewhere, done)
	os.WriteFile(filepath.Join(drop, "b.jpg"), testPhoto(r, 64, 48, "jpeg", 1), 0o644)
	waitFor(t, 60*time.Second, "the swap to be refused", func() bool {
		return strings.Contains(logText(), "replaced by a symbolic link")
	})
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Fatalf("wrote through the symbolic link: %v", entries)
	}
	if !exists(filepath.Join(drop, "b.jpg")) {
		t.Fatal("b.jpg left the drop folder while done/ was a symbolic link")
	}
	// The operator puts done/ back: b.jpg is finished.
	os.Remove(done)
	os.Rename(done+".old", done)
	waitFor(t, 60*time.Second, "b.jpg finished after done/ came back", func() bool {
		return exists(filepath.Join(done, "b.jpg")) && exists(filepath.Join(out, "b.jpg"))
	})
	d.cmd.Process.Signal(syscall.SIGTERM)
	if err := d.cmd.Wait(); err != nil {
		t.Errorf("SIGTERM: exit %v, want 0", err)
	}
}

// TestRemovedDropFolderStopsTheDaemon: with the drop folder gone nothing
// more can arrive; the daemon exits non-zero so that systemd restarts it,
// instead of idling with a healthy look.
func TestRemovedDropFolderStopsTheDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon: skipped in -short mode")
	}
	bin := buildAnimed(t)
	root := t.TempDir()
	drop := filepath.Join(root, "drop")
	os.MkdirAll(drop, 0o700)
	logPath := filepath.Join(root, "animed.log")
	d := startDaemon(t, bin, []string{"--watch", drop, "--out", filepath.Join(root, "out"), "--state", filepath.Join(root, "state"),
		"--backend", "cpu", "--threads", "1"}, logPath)
	logText := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	waitFor(t, 60*time.Second, "the daemon to run", func() bool { return strings.Contains(logText(), "animed running") })
	os.RemoveAll(drop)
	exited := make(chan error, 1)
	go func() { exited <- d.cmd.Wait() }()
	select {
	case err := <-exited:
		if err == nil {
			t.Fatal("the daemon exited 0 without its drop folder")
		}
	case <-time.After(60 * time.Second):
		d.cmd.Process.Kill()
		t.Fatalf("the daemon still runs without its drop folder:\n%s", logText())
	}
	d.log.Close()
}

// TestReloadTriesTheModelFirst: a new model on SIGHUP runs in a self-test
// child before the daemon loads it; a model that fails there is refused
// and the daemon keeps converting with the running one.
func TestReloadTriesTheModelFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon: skipped in -short mode")
	}
	dir := t.TempDir()
	drop, out := filepath.Join(dir, "drop"), filepath.Join(dir, "out")
	os.Mkdir(drop, 0o755)
	good, bad := filepath.Join(dir, "good.tflite"), filepath.Join(dir, "bad.tflite")
	os.WriteFile(good, testmodel.FP32(), 0o644)
	// A flatbuffer that loads but whose interpreter cannot be built.
	broken := testmodel.FP32()
	m, err := tflitefile.Parse(broken)
	if err != nil {
		t.Fatal(err)
	}
	m.Main().Operators[1].Inputs[1] = m.Main().Operators[0].Inputs[1] // a 3x3x3 kernel where 1x1x8 is needed
	if broken, err = m.Marshal(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bad, broken, 0o644)
	conf := filepath.Join(dir, "animed.conf")
	base := "watch = " + drop + "\nout = " + out + "\nstate = " + filepath.Join(dir, "state") +
		"\nsettle = 100ms\nmax-side = 64\nbackend = cpu\nthreads = 1\n"
	os.WriteFile(conf, []byte(base), 0o644)
	logPath := filepath.Join(dir, "animed.log")
	d := startDaemon(t, buildAnimed(t), []string{"--config", conf}, logPath)
	defer d.kill(t)
	logText := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", logText())
		}
	})
	waitFor(t, 60*time.Second, "the daemon to run", func() bool { return strings.Contains(logText(), "animed running") })

	os.WriteFile(conf, []byte(base+"model = "+bad+"\n"), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, 60*time.Second, "the refused model", func() bool {
		return strings.Contains(logText(), "failed its trial run") && strings.Count(logText(), "animed running") >= 2
	})
	r := rand.New(rand.NewSource(3))
	os.WriteFile(filepath.Join(drop, "a.jpg"), testPhoto(r, 64, 48, "jpeg", 1), 0o644)
	waitFor(t, 60*time.Second, "a.jpg with the running model", func() bool { return exists(filepath.Join(out, "a.jpg")) })

	os.WriteFile(conf, []byte(base+"model = "+good+"\n"), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, 60*time.Second, "the new model", func() bool {
		return strings.Contains(logText(), "model=good.tflite")
	})
	os.WriteFile(filepath.Join(drop, "b.jpg"), testPhoto(r, 64, 48, "jpeg", 1), 0o644)
	waitFor(t, 60*time.Second, "b.jpg with the new model", func() bool { return exists(filepath.Join(out, "b.jpg")) })
}
