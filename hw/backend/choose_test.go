package backend

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

// TestForgedCacheIsIgnored: a backend-KEY.json planted by someone who
// could write the state folder (under the old default, any uploader),
// naming an external delegate .so of theirs, is never used: the self-test
// runs again and the decision names no delegate. The same holds for a
// configured delegate whose file changed since its self-test.
func TestForgedCacheIsIgnored(t *testing.T) {
	s := newConfig(t, "")
	s.cfg.Threads = 1
	c := s.cfg
	c.defaults()
	key := c.key()
	evil := filepath.Join(t.TempDir(), "libevil.so")
	os.WriteFile(evil, []byte("\x7fELF not really"), 0o644)
	sum := sha256.Sum256([]byte("\x7fELF not really"))
	forged := Decision{Backend: External, Delegate: evil, DelegateSHA256: hex.EncodeToString(sum[:]), Threads: 1, Key: key, Reason: "forged"}
	data, _ := json.Marshal(forged)
	os.WriteFile(filepath.Join(s.cfg.StateDir, cacheName(key)), data, 0o644)

	d, err := Choose(context.Background(), s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d.Cached || d.Delegate != "" || d.Backend == External {
		t.Fatalf("used the forged cache: %+v", d)
	}
	if !strings.Contains(s.log.String(), "not one the operator configured") {
		t.Errorf("the refusal is not logged:\n%s", s.log.String())
	}
	// The self-test's own decision replaced the forged file, durably.
	if again, err := Choose(context.Background(), s.cfg); err != nil || !again.Cached || again.Delegate != "" {
		t.Fatalf("second Choose: %+v, %v", again, err)
	}
	if st, err := os.Stat(filepath.Join(s.cfg.StateDir, cacheName(key))); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("cache file: %v %v", st, err)
	}
}

func TestCheckCached(t *testing.T) {
	so := filepath.Join(t.TempDir(), "libdelegate.so")
	os.WriteFile(so, []byte("plugin v1"), 0o644)
	sum := sha256.Sum256([]byte("plugin v1"))
	c := Config{Delegate: so, Report: hw.Report{Delegate: &hw.Plugin{Path: so, OK: true}}}
	good := Decision{Backend: External, Delegate: so, DelegateSHA256: hex.EncodeToString(sum[:]), Threads: 2, Key: "k"}
	for _, tt := range []struct {
		name string
		edit func(d *Decision)
		ok   bool
	}{
		{"configured delegate, same sha256", func(d *Decision) {}, true},
		{"no sha256", func(d *Decision) { d.DelegateSHA256 = "" }, false},
		{"other sha256", func(d *Decision) { d.DelegateSHA256 = strings.Repeat("0", 64) }, false},
		{"other delegate", func(d *Decision) { d.Delegate = "/srv/drop/libevil.so" }, false},
		{"relative path", func(d *Decision) { d.Delegate = "libdelegate.so" }, false},
		{"delegate on xnnpack", func(d *Decision) { d.Backend = XNNPACK }, false},
		{"unknown backend", func(d *Decision) { d.Backend = "gpu"; d.Delegate = "" }, false},
		{"no threads", func(d *Decision) { d.Threads = 0 }, false},
		{"other key", func(d *Decision) { d.Key = "x" }, false},
		{"cpu", func(d *Decision) { *d = Decision{Backend: CPU, Threads: 1, Key: "k"} }, true},
	} {
		d := good
		tt.edit(&d)
		data, _ := json.Marshal(d)
		if _, err := c.checkCached(data, "k"); (err == nil) != tt.ok {
			t.Errorf("%s: checkCached = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
	// The plugin is replaced after its self-test: refused.
	os.WriteFile(so, []byte("plugin v2"), 0o644)
	data, _ := json.Marshal(good)
	if _, err := c.checkCached(data, "k"); err == nil {
		t.Error("a changed delegate file was accepted")
	}
}

// FuzzCheckCached: whatever the cache file holds, an accepted decision
// names a known backend and no delegate but the configured one.
func FuzzCheckCached(f *testing.F) {
	dir := f.TempDir()
	so := filepath.Join(dir, "libdelegate.so")
	os.WriteFile(so, []byte("plugin"), 0o644)
	sum := sha256.Sum256([]byte("plugin"))
	c := Config{Delegate: so, Report: hw.Report{Delegate: &hw.Plugin{Path: so, OK: true}}}
	for _, seed := range []string{
		`{"backend":"xnnpack","threads":4,"key":"k"}`,
		`{"backend":"external","delegate":"` + so + `","delegate_sha256":"` + hex.EncodeToString(sum[:]) + `","threads":1,"key":"k"}`,
		`{"backend":"external","delegate":"/srv/drop/x.so","delegate_sha256":"00","threads":1,"key":"k"}`,
		`{"backend":"cpu","threads":-1,"key":"k"}`, `{"backend":"gpu"}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := c.checkCached(data, "k")
		if err != nil {
			return
		}
		if d.Backend != CPU && d.Backend != XNNPACK && d.Backend != External {
			t.Fatalf("accepted backend %q", d.Backend)
		}
		if d.Delegate != "" && d.Delegate != so {
			t.Fatalf("accepted delegate %q", d.Delegate)
		}
	})
}

// FuzzSelftestOutput: whatever a self-test child prints (delegate
// libraries print to stdout too), reading its result never panics, and
// a result with values decodes to floats or an error.
func FuzzSelftestOutput(f *testing.F) {
	for _, seed := range []string{
		`{"backend":"cpu","actual":"cpu","threads":1,"runs_ms":[1.5,2],"output":"AACAPw=="}`,
		"INFO: delegate says hi\n{\"backend\":\"xnnpack\",\"error\":\"boom\",\"stage\":\"invoke\"}\n",
		`{"output":"!!!"}`, `{"runs_ms":[]}`, `{"`, "", "\n\n{\"also\":[{\"threads\":0}]}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, stdout []byte) {
		var res selftest.Result
		if json.Unmarshal(resultLine(stdout), &res) != nil {
			return
		}
		res.Median()
		res.Floats()
		for _, a := range res.Also {
			a.Median()
		}
	})
}

// TryModel runs the model in a child: a good model passes; a file that
// crashes or fails the child, or a child that hangs, fails here instead
// of in the daemon that would load it.
func TestTryModel(t *testing.T) {
	s := newConfig(t, "")
	s.cfg.Threads = 1
	if err := TryModel(context.Background(), s.cfg); err != nil {
		t.Fatalf("good model: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.tflite")
	os.WriteFile(bad, []byte("TFL3 but not a model"), 0o644)
	c := s.cfg
	c.Model = bad
	if err := TryModel(context.Background(), c); err == nil {
		t.Error("a broken model passed its trial run")
	}
	c = s.cfg
	c.Timeout = time.Millisecond
	if err := TryModel(context.Background(), c); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("a hanging child: %v", err)
	}
}
