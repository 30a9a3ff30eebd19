package backend

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/animed/animed/hw"
	"github.com/animed/animed/hw/selftest"
	"github.com/animed/animed/internal/testmodel"
	"github.com/animed/animed/internal/tflite"
)

// TestMain doubles as the self-test child: Choose re-executes this test
// binary with "selftest ...", as the daemon re-executes animed.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == selftest.Command {
		os.Exit(selftest.Main(context.Background(), os.Args[2:], testmodel.Int8(), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// plugin builds testdata/plugin.c in the given mode with the system cc.
func plugin(t *testing.T, mode string) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) to build the test delegate plugins")
	}
	tfl, err := filepath.Abs(filepath.Join("..", "..", "build", "tflite"))
	if err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(tfl, "linux_"+runtime.GOARCH)
	if _, err := os.Stat(filepath.Join(lib, "libtensorflowlite_c.so")); err != nil {
		t.Skip("TFLite library missing: run make deps-tflite")
	}
	so := filepath.Join(t.TempDir(), "libanimed_test_"+strings.ToLower(mode)+".so")
	args := []string{"-shared", "-fPIC", "-O1", "-DMODE_" + mode,
		"-I", filepath.Join(tfl, "include"), "-o", so, filepath.Join("testdata", "plugin.c")}
	if mode == "XNNPACK" {
		args = append(args, "-L", lib, "-ltensorflowlite_c", "-Wl,-rpath,"+lib)
	}
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("cc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return so
}

type setup struct {
	cfg Config
	log *bytes.Buffer
}

// newConfig writes the INT8 test model to a file and probes this machine
// with the given delegate.
func newConfig(t *testing.T, delegate string) setup {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	model := testmodel.Int8()
	path := filepath.Join(t.TempDir(), "model.tflite")
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(model)
	var log bytes.Buffer
	return setup{
		cfg: Config{
			Exe: exe, Args: []string{selftest.Command},
			Model: path, ModelSHA256: hex.EncodeToString(sum[:]),
			Delegate: delegate,
			Report:   hw.Probe(context.Background(), hw.Options{Delegate: delegate}),
			StateDir: t.TempDir(),
			Version:  "test",
			Runs:     3,
			Timeout:  time.Minute,
			Logger:   slog.New(slog.NewTextHandler(&log, nil)),
		},
		log: &log,
	}
}

func trialOf(d Decision, backend tflite.Backend) (Trial, bool) {
	for _, t := range d.Trials {
		if t.Backend == backend {
			return t, true
		}
	}
	return Trial{}, false
}

func table(d Decision) string {
	var b strings.Builder
	d.WriteTable(&b)
	return b.String()
}

// The external path end to end: a plugin wrapping XNNPACK loads in a
// child, matches the CPU reference and competes on speed; the decision is
// cached and a restart reuses it without running children.
func TestChooseExternalXNNPACK(t *testing.T) {
	s := newConfig(t, plugin(t, "XNNPACK"))
	d, err := Choose(context.Background(), s.cfg)
	if err != nil {
		t.Fatalf("Choose: %v\n%s", err, table(d))
	}
	t.Logf("\n%s", table(d))
	ext, ok := trialOf(d, External)
	if !ok || !ext.Ran || !ext.Correct || ext.Actual != External || ext.MedianMs <= 0 || ext.Error != "" {
		t.Errorf("external trial = %+v", ext)
	}
	x, ok := trialOf(d, XNNPACK)
	if !ok || !x.Correct || x.Actual != XNNPACK {
		t.Errorf("xnnpack trial = %+v", x)
	}
	// The pick is the fastest correct candidate (each candidate at the
	// thread count pick keeps).
	groups := map[string][]Trial{}
	var chosen *Trial
	for i, tr := range d.Trials {
		groups[string(tr.Backend)+tr.Delegate] = append(groups[string(tr.Backend)+tr.Delegate], tr)
		if tr.Backend == d.Backend && tr.Delegate == d.Delegate && tr.Threads == d.Threads {
			chosen = &d.Trials[i]
		}
	}
	if chosen == nil {
		t.Fatalf("decision %s/%d threads is not among the trials", d.Backend, d.Threads)
	}
	for _, g := range groups {
		if p := pick(g); p.Correct && p.MedianMs < chosen.MedianMs {
			t.Errorf("picked %s at %.3f ms but %s was faster and correct at %.3f ms", d.Backend, chosen.MedianMs, p.Backend, p.MedianMs)
		}
	}
	if d.Cached || d.Key == "" || !strings.Contains(s.log.String(), "backend: chosen") {
		t.Errorf("decision %+v, log:\n%s", d, s.log)
	}

	again, err := Choose(context.Background(), s.cfg)
	if err != nil || !again.Cached || again.Backend != d.Backend || again.Delegate != d.Delegate || again.Key != d.Key {
		t.Errorf("second Choose = %+v, %v; want the cached %+v", again, err, d)
	}
	// Another model is another key.
	s.cfg.ModelSHA256 = strings.Repeat("0", 64)
	s.cfg.Backend = CPU
	if other, _ := Choose(context.Background(), s.cfg); other.Cached {
		t.Error("a different model and backend reused the cache")
	}
}

// The shipped default model, chosen for end to end with the XNNPACK plugin;
// the model's hash comes from its file.
func TestChooseDefaultModel(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the default model in three children")
	}
	s := newConfig(t, plugin(t, "XNNPACK"))
	s.cfg.Model = filepath.Join("..", "..", "models", "animegan_tiny_int8.tflite")
	s.cfg.ModelSHA256 = ""
	start := time.Now()
	d, err := Choose(context.Background(), s.cfg)
	if err != nil {
		t.Fatalf("Choose: %v\n%s", err, table(d))
	}
	t.Logf("self-test of the default model took %v:\n%s", time.Since(start).Round(time.Millisecond), table(d))
	for _, tr := range d.Trials {
		if !tr.Correct {
			t.Errorf("trial %+v not correct", tr)
		}
	}
	if _, err := os.Stat(filepath.Join(s.cfg.StateDir, "backend-"+d.Key+".json")); err != nil {
		t.Errorf("decision not cached: %v", err)
	}
}

// Plugins that crash or compute garbage are caught in their child and the
// choice falls back to a correct backend.
func TestChooseFallback(t *testing.T) {
	tests := []struct {
		mode    string
		errHas  string
		correct bool
	}{
		{"CRASH_CREATE", "crashed (signal SIGSEGV: segmentation violation) during load", false},
		{"CRASH_INVOKE", "crashed (signal SIGSEGV: segmentation violation) during invoke", false},
		{"WRONG", "wrong output", false},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			s := newConfig(t, plugin(t, tt.mode))
			d, err := Choose(context.Background(), s.cfg)
			if err != nil {
				t.Fatalf("Choose: %v", err)
			}
			ext, _ := trialOf(d, External)
			if ext.Correct || !strings.Contains(ext.Error, tt.errHas) {
				t.Errorf("external trial = %+v, want error containing %q", ext, tt.errHas)
			}
			if d.Backend == External {
				t.Errorf("chose the broken plugin:\n%s", table(d))
			}
			if !strings.Contains(s.log.String(), tt.errHas) {
				t.Errorf("log lacks %q:\n%s", tt.errHas, s.log)
			}

			// Asked for explicitly, the broken plugin is an error, and
			// the decision left is still safe.
			s.cfg.Backend = External
			d, err = Choose(context.Background(), s.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.errHas) || d.Backend != XNNPACK {
				t.Errorf("--backend external: %+v, %v", d, err)
			}
		})
	}
}

func TestChooseBadDelegate(t *testing.T) {
	dir := t.TempDir()
	notPlugin := filepath.Join(dir, "libnot.so")
	os.WriteFile(notPlugin, []byte("not ELF"), 0o644)
	s := newConfig(t, notPlugin)
	s.cfg.Runs = 1
	d, err := Choose(context.Background(), s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ext, _ := trialOf(d, External)
	if ext.Ran || !strings.Contains(ext.Error, "not an ELF") {
		t.Errorf("external trial = %+v", ext)
	}
	s.cfg.Backend = External
	if _, err := Choose(context.Background(), s.cfg); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("--backend external with a non-plugin: %v", err)
	}
}

func TestChooseOverride(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, b := range []tflite.Backend{CPU, XNNPACK} {
		d, err := Choose(context.Background(), Config{Backend: b, Threads: 3, Logger: quiet})
		if err != nil || d.Backend != b || d.Threads != 3 || len(d.Trials) != 0 {
			t.Errorf("--backend %s: %+v, %v", b, d, err)
		}
	}
	if d, err := Choose(context.Background(), Config{Backend: "gpu", Logger: quiet}); err == nil || d.Backend != XNNPACK {
		t.Errorf("--backend gpu: %+v, %v", d, err)
	}
	if _, err := Choose(context.Background(), Config{Backend: External, Exe: "x", ModelSHA256: "y", Logger: quiet}); err == nil || !strings.Contains(err.Error(), "--delegate") {
		t.Errorf("--backend external without a plugin: %v", err)
	}
}

// A binary that cannot run is reported, and the decision stays usable.
func TestChooseNoChild(t *testing.T) {
	s := newConfig(t, "")
	s.cfg.Exe = filepath.Join(t.TempDir(), "missing")
	d, err := Choose(context.Background(), s.cfg)
	if err == nil || !strings.Contains(err.Error(), "cannot start the self-test") || d.Backend != XNNPACK {
		t.Errorf("Choose with a missing binary: %+v, %v", d, err)
	}
}

// A child that does not finish in time is killed and reported.
func TestChooseTimeout(t *testing.T) {
	s := newConfig(t, "")
	s.cfg.Timeout = time.Millisecond
	d, err := Choose(context.Background(), s.cfg)
	if err == nil || !strings.Contains(err.Error(), "timed out") || d.Backend != XNNPACK {
		t.Errorf("Choose with 1ms timeout: %+v, %v", d, err)
	}
}

// Every candidate is timed at the cgroup's CPUs and at half as many, and
// keeps fewer threads only if that was clearly faster.
func TestChooseThreads(t *testing.T) {
	s := newConfig(t, "")
	s.cfg.Threads = 2
	d, err := Choose(context.Background(), s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table(d))
	byThreads := map[tflite.Backend]map[int]Trial{}
	for _, tr := range d.Trials {
		if byThreads[tr.Backend] == nil {
			byThreads[tr.Backend] = map[int]Trial{}
		}
		byThreads[tr.Backend][tr.Threads] = tr
	}
	for _, b := range []tflite.Backend{CPU, XNNPACK} {
		if len(byThreads[b]) != 2 || !byThreads[b][1].Correct || !byThreads[b][2].Correct {
			t.Errorf("%s: want correct 1- and 2-thread trials, have %+v", b, byThreads[b])
		}
	}
	one, two := byThreads[d.Backend][1], byThreads[d.Backend][2]
	want := 2
	if one.MedianMs < two.MedianMs*fewerGain {
		want = 1
		if !strings.Contains(d.Reason, "1 threads instead of 2 (measured faster)") {
			t.Errorf("reason %q", d.Reason)
		}
	}
	if d.Threads != want {
		t.Errorf("threads = %d, want %d", d.Threads, want)
	}
}
