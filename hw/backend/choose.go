package backend

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/animed/animed/hw"
	"github.com/animed/animed/hw/selftest"
	"github.com/animed/animed/internal/durable"
	"github.com/animed/animed/internal/tflite"
)

// Defaults for Config's zero values.
const (
	DefaultRuns    = 5
	DefaultTimeout = 2 * time.Minute
	// DefaultMeanTol and DefaultMaxTol bound the mean and the largest
	// absolute difference from the CPU reference, on outputs in [-1,1]:
	// a few INT8 steps, far below what a broken delegate produces.
	DefaultMeanTol = 0.02
	DefaultMaxTol  = 0.15
	// fewerGain is how much faster fewer threads must be to be kept.
	fewerGain = 0.9
	// cacheFormat is bumped when Decision or the choice logic changes.
	cacheFormat = 1
)

// Config says what to choose for.
type Config struct {
	// Exe and Args start a child: Exe Args... --backend B --threads N
	// [--also-threads N/2] --runs R --json [--delegate P] [--model M].
	// For animed that is os.Executable() and ["selftest"].
	Exe  string
	Args []string
	// Model is the model file the children load; "" lets them use their
	// default (the embedded model). ModelSHA256 is its hex sha256, part of
	// the cache key: required with the embedded model, computed from the
	// file otherwise.
	Model       string
	ModelSHA256 string
	// Backend is Auto (""), CPU, XNNPACK or External (--backend).
	Backend tflite.Backend
	// Delegate is the user's --delegate plugin; it is tried first.
	Delegate string
	// Report is the hardware probe: plugins found, CPUs, throttling and
	// the fingerprint. Probe with Options.Delegate set to Delegate.
	Report hw.Report
	// Threads overrides the thread count; 0 means the CPUs the cgroup
	// allows (Report.Cgroup.CPUs).
	Threads int
	// StateDir is where the decision is cached; "" disables the cache.
	StateDir string
	// Version identifies the animed build and runtime for the cache key
	// (a new build re-runs the self-test).
	Version string
	// Runs, Timeout (per child), MeanTol and MaxTol default to the
	// Default* constants.
	Runs            int
	Timeout         time.Duration
	MeanTol, MaxTol float64
	Logger          *slog.Logger
}

// Trial is one candidate's self-test.
type Trial struct {
	Backend  tflite.Backend `json:"backend"`
	Delegate string         `json:"delegate,omitempty"`
	Threads  int            `json:"threads"`
	Ran      bool           `json:"ran"`     // the child finished
	Correct  bool           `json:"correct"` // output matches the CPU reference
	Actual   tflite.Backend `json:"actual,omitempty"`
	MedianMs float64        `json:"median_ms,omitempty"`
	LoadMs   float64        `json:"load_ms,omitempty"`
	MeanDiff float64        `json:"mean_diff,omitempty"`
	MaxDiff  float64        `json:"max_diff,omitempty"`
	Error    string         `json:"error,omitempty"`
}

// Decision is the backend to use and why.
type Decision struct {
	Backend  tflite.Backend `json:"backend"` // CPU, XNNPACK or External
	Delegate string         `json:"delegate,omitempty"`
	// DelegateSHA256 is the hex sha256 of the Delegate file when the
	// decision was taken: a cached decision is used only if the file
	// still has it.
	DelegateSHA256 string    `json:"delegate_sha256,omitempty"`
	Threads        int       `json:"threads"`
	Reason         string    `json:"reason"`
	Trials         []Trial   `json:"trials,omitempty"`
	Key            string    `json:"key,omitempty"`
	Decided        time.Time `json:"decided"`
	// Cached is set when the decision came from the state folder.
	Cached bool `json:"-"`
}

func (c *Config) defaults() {
	if c.Backend == "" {
		c.Backend = Auto
	}
	if c.Runs <= 0 {
		c.Runs = DefaultRuns
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MeanTol <= 0 {
		c.MeanTol = DefaultMeanTol
	}
	if c.MaxTol <= 0 {
		c.MaxTol = DefaultMaxTol
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Threads <= 0 {
		c.Threads = max(c.Report.Cgroup.CPUs, 1)
	}
}

// Choose decides the backend. With --backend cpu or xnnpack it decides
// without a self-test. With auto it runs every candidate (external
// delegate plugins, XNNPACK, and the CPU kernels as the reference) in its
// own child process, each timed at Threads and at half as many; a
// candidate keeps fewer threads only if clearly faster (throttled boards
// and busy CPUs often are), and the fastest correct candidate wins. With
// external it tests only the asked-for plugin and fails if it crashes or
// is wrong. A cached decision for the same model, hardware, build and
// settings is returned without running anything.
//
// On error the Decision is still usable: xnnpack, which falls back to the
// CPU kernels on its own.
func Choose(ctx context.Context, c Config) (Decision, error) {
	c.defaults()
	log := c.Logger
	switch c.Backend {
	case CPU, XNNPACK:
		d := Decision{Backend: c.Backend, Threads: c.Threads, Reason: "--backend " + string(c.Backend) + " (no self-test)", Decided: time.Now().UTC()}
		log.Info("backend: chosen", "backend", d.Backend, "threads", d.Threads, "reason", d.Reason)
		return d, nil
	case Auto, External:
	default:
		_, err := Parse(string(c.Backend))
		return fallback(c, "bad --backend"), fmt.Errorf("--backend: %w", err)
	}
	if c.ModelSHA256 == "" && c.Model != "" {
		sum, err := fileSHA256(c.Model)
		if err != nil {
			return fallback(c, "model unreadable"), fmt.Errorf("self-test: %w", err)
		}
		c.ModelSHA256 = sum
	}
	if c.Exe == "" || c.ModelSHA256 == "" {
		return fallback(c, "no self-test"), errors.New("backend: Config needs Exe, and ModelSHA256 for the embedded model")
	}
	key := c.key()
	if d, ok := c.load(key); ok {
		log.Info("backend: using the cached self-test result", "backend", d.Backend, "delegate", d.Delegate,
			"threads", d.Threads, "reason", d.Reason, "key", key)
		return d, nil
	}

	plugins := c.plugins()
	if c.Backend == External && len(plugins) == 0 {
		return fallback(c, "no delegate"), errors.New("--backend external: no delegate plugin: give --delegate PATH")
	}

	start := time.Now()
	refTrials, refOut, err := c.trial(ctx, CPU, "", nil)
	trials := refTrials
	if err != nil {
		d := fallback(c, "CPU reference failed")
		d.Trials = trials
		logTable(log, d)
		return d, fmt.Errorf("self-test: CPU reference: %w", err)
	}

	// Each candidate runs in its own child at each thread count; per
	// candidate, fewer threads are kept only when clearly faster.
	best := pick(refTrials)
	if c.Backend == External {
		ts := c.pluginTrials(ctx, plugins[0], refOut) // the plugin asked for
		trials = append(trials, ts...)
		if !ts[0].Correct {
			d := fallback(c, "external delegate failed its self-test")
			d.Trials = trials
			logTable(log, d)
			return d, fmt.Errorf("--backend external: %s: %s", ts[0].Delegate, ts[0].Error)
		}
		best = pick(ts)
	} else {
		for _, p := range plugins {
			ts := c.pluginTrials(ctx, p, refOut)
			trials = append(trials, ts...)
			best = faster(best, pick(ts))
		}
		ts, _, _ := c.trial(ctx, XNNPACK, "", refOut)
		trials = append(trials, ts...)
		best = faster(best, pick(ts))
	}

	d := Decision{
		Backend: best.Backend, Delegate: best.Delegate, Threads: best.Threads,
		Trials: trials, Key: key, Decided: time.Now().UTC(),
	}
	d.Reason = reason(d, best, pick(refTrials), c)
	logTable(log, d)
	log.Info("backend: chosen", "backend", d.Backend, "delegate", d.Delegate, "threads", d.Threads,
		"reason", d.Reason, "self_test", time.Since(start).Round(time.Millisecond))
	if err := c.save(d); err != nil {
		log.Warn("backend: cannot cache the self-test result", "err", err)
	}
	return d, nil
}

// TryModel runs c.Model once in a self-test child on the backend c asks
// for (XNNPACK for auto), so that a model that crashes or hangs the
// interpreter (a cycle in its graph, a 0x0 input) fails there, within
// c.Timeout, and not in the daemon that would load it next.
func TryModel(ctx context.Context, c Config) error {
	c.defaults()
	c.Runs = 1
	backend, delegate := c.Backend, ""
	switch backend {
	case Auto:
		backend = XNNPACK
	case External:
		delegate = c.Delegate
	}
	if _, err := c.child(ctx, backend, delegate, c.Threads, nil); err != nil {
		return fmt.Errorf("the model failed its trial run in a child process: %w", err)
	}
	return nil
}

func fallback(c Config, why string) Decision {
	return Decision{Backend: XNNPACK, Threads: c.Threads, Reason: why + ": using xnnpack (it falls back to the CPU kernels itself)", Decided: time.Now().UTC()}
}

func reason(d Decision, best, ref Trial, c Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", best.Backend)
	if best.Delegate != "" {
		fmt.Fprintf(&b, " (%s)", filepath.Base(best.Delegate))
	}
	switch {
	case c.Backend == External:
		fmt.Fprintf(&b, " as asked: correct, median %.2f ms vs CPU %.2f ms", best.MedianMs, ref.MedianMs)
	case best.Backend == CPU:
		fmt.Fprintf(&b, " is the fastest correct candidate: median %.2f ms", best.MedianMs)
	default:
		fmt.Fprintf(&b, " is the fastest correct candidate: median %.2f ms vs CPU %.2f ms", best.MedianMs, ref.MedianMs)
	}
	if d.Threads != c.Threads {
		fmt.Fprintf(&b, "; %d threads instead of %d (measured faster", d.Threads, c.Threads)
		if c.Report.Thermal.Throttling {
			b.WriteString(", throttling")
		}
		b.WriteString(")")
	}
	return b.String()
}

// plugins lists the external delegates to try, the user's first.
func (c Config) plugins() []hw.Plugin {
	ps := c.Report.Plugins()
	if c.Delegate == "" {
		return ps
	}
	user := hw.CheckPlugin(c.Delegate, c.Report.Host.Arch)
	if r := c.Report.Delegate; r != nil && r.Path == c.Delegate {
		user = *r
	}
	out := []hw.Plugin{user}
	for _, p := range ps {
		if p.Path != user.Path {
			out = append(out, p)
		}
	}
	return out
}

// trial runs one candidate in a child at c.Threads and, when more than
// one, at half as many, and compares its output with ref (nil for the
// reference itself). It returns one Trial per thread count, the output and
// the child's error.
func (c Config) trial(ctx context.Context, backend tflite.Backend, delegate string, ref []float32) ([]Trial, []float32, error) {
	t := Trial{Backend: backend, Delegate: delegate, Threads: c.Threads}
	var also []int
	if c.Threads > 1 {
		also = []int{c.Threads / 2}
	}
	res, err := c.child(ctx, backend, delegate, c.Threads, also)
	if err != nil {
		t.Error = err.Error()
		return []Trial{t}, nil, err
	}
	t.Ran, t.Actual, t.MedianMs, t.LoadMs, t.Threads = true, res.Actual, res.Median(), res.LoadMs, res.Threads
	out, err := res.Floats()
	if err != nil {
		t.Error = err.Error()
		return []Trial{t}, nil, err
	}
	if res.Fallback != "" {
		t.Error = "fell back to " + string(res.Actual) + ": " + res.Fallback
	}
	if ref == nil {
		t.Correct = true
	} else {
		t.MeanDiff, t.MaxDiff = diff(out, ref)
		switch {
		case len(out) != len(ref):
			t.Error = fmt.Sprintf("output has %d values, the CPU reference %d", len(out), len(ref))
		case math.IsNaN(t.MaxDiff) || t.MeanDiff > c.MeanTol || t.MaxDiff > c.MaxTol:
			t.Error = fmt.Sprintf("wrong output: mean difference %.4f (limit %.4f), max %.4f (limit %.4f)", t.MeanDiff, c.MeanTol, t.MaxDiff, c.MaxTol)
		default:
			t.Correct = true
		}
	}
	ts := []Trial{t}
	for _, a := range res.Also {
		at := t
		at.Threads, at.MedianMs, at.LoadMs = a.Threads, a.Median(), 0
		at.MaxDiff = math.Max(t.MaxDiff, a.MaxDiff)
		if a.MaxDiff > c.MaxTol {
			at.Correct = false
			at.Error = fmt.Sprintf("output with %d threads differs from %d threads by %.4f", a.Threads, t.Threads, a.MaxDiff)
		}
		ts = append(ts, at)
	}
	return ts, out, nil
}

// pluginTrials tries an external delegate plugin, unless its ELF check
// already failed.
func (c Config) pluginTrials(ctx context.Context, p hw.Plugin, ref []float32) []Trial {
	if !p.OK {
		return []Trial{{Backend: External, Delegate: p.Path, Threads: c.Threads, Error: p.Error}}
	}
	ts, _, _ := c.trial(ctx, External, p.Path, ref)
	return ts
}

// faster returns b if it is correct, ran as asked and is faster than a.
func faster(a, b Trial) Trial {
	if b.Correct && b.Actual == b.Backend && b.MedianMs < a.MedianMs {
		return b
	}
	return a
}

// pick returns the trial to use among one candidate's thread counts: the
// first (most threads) unless another is correct and clearly faster.
func pick(ts []Trial) Trial {
	best := ts[0]
	for _, t := range ts[1:] {
		if t.Correct && t.MedianMs < best.MedianMs*fewerGain {
			best = t
		}
	}
	return best
}

// diff returns the mean and largest absolute difference; NaN anywhere
// makes the largest NaN.
func diff(a, b []float32) (mean, most float64) {
	n := min(len(a), len(b))
	if n == 0 {
		return 0, 0
	}
	var sum float64
	for i := 0; i < n; i++ {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(d) {
			return math.NaN(), math.NaN()
		}
		sum += d
		most = math.Max(most, d)
	}
	return sum / float64(n), most
}

// maxOutput bounds what a child may write to stdout (the output image as
// base64 JSON).
const maxOutput = 256 << 20

// child runs `Exe Args... --backend ...` and decodes its Result.
func (c Config) child(ctx context.Context, backend tflite.Backend, delegate string, threads int, also []int) (selftest.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	args := append(append([]string{}, c.Args...), "--backend", string(backend), "--threads", strconv.Itoa(threads),
		"--runs", strconv.Itoa(c.Runs), "--json")
	if delegate != "" {
		args = append(args, "--delegate", delegate)
	}
	for _, n := range also {
		args = append(args, "--also-threads", strconv.Itoa(n))
	}
	if c.Model != "" {
		args = append(args, "--model", c.Model)
	}
	cmd := exec.CommandContext(ctx, c.Exe, args...)
	// Stage lines and crash reports come first: keep stderr's head.
	stdout, stderr := limitBuffer{max: maxOutput}, limitBuffer{max: 256 << 10}
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()

	var res selftest.Result
	jsonErr := json.Unmarshal(resultLine(stdout.Bytes()), &res)
	if runErr == nil && jsonErr == nil {
		return res, nil
	}
	stage := lastStage(stderr.String())
	if jsonErr == nil && res.Error != "" {
		return res, fmt.Errorf("%s: %s", res.Stage, res.Error)
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return res, fmt.Errorf("timed out after %v during %s", c.Timeout, stage)
	}
	var exit *exec.ExitError
	if errors.As(runErr, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return res, fmt.Errorf("crashed (signal %v) during %s", ws.Signal(), stage)
		}
	}
	if sig := goCrash(stderr.String()); sig != "" {
		// The Go runtime turns a fault in C code into a crash report.
		return res, fmt.Errorf("crashed (%s) during %s", sig, stage)
	}
	if runErr != nil && !errors.As(runErr, &exit) {
		return res, fmt.Errorf("cannot start the self-test: %w", runErr)
	}
	if runErr != nil {
		msg := fmt.Sprintf("%v during %s", runErr, stage)
		if last := lastLine(stderr.String()); last != "" {
			msg += ": " + last
		}
		return res, errors.New(msg)
	}
	return res, fmt.Errorf("bad self-test output: %v", jsonErr)
}

// resultLine returns the child's JSON result: its last line that is a JSON
// object, as delegate libraries may print to stdout themselves.
func resultLine(stdout []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(stdout), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		if bytes.HasPrefix(lines[i], []byte(`{"`)) {
			return lines[i]
		}
	}
	return stdout
}

func lastStage(stderr string) string {
	stage := "start-up"
	for _, line := range strings.Split(stderr, "\n") {
		if s, ok := strings.CutPrefix(line, "stage: "); ok {
			stage = strings.TrimSpace(s)
		}
	}
	return stage
}

// goCrash finds the Go runtime's crash report in a child's stderr: a fault
// in C code reads "SIGSEGV: segmentation violation", one in Go "[signal
// SIGSEGV: segmentation violation ...]"; other deaths "fatal error: ...".
func goCrash(stderr string) string {
	var fatal string
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimPrefix(line, "[signal ")
		if name, desc, ok := strings.Cut(line, ": "); ok && strings.HasPrefix(name, "SIG") && name == strings.ToUpper(name) && !strings.Contains(name, " ") {
			desc, _, _ = strings.Cut(desc, " code=")
			return "signal " + name + ": " + strings.TrimSuffix(desc, "]")
		}
		if s, ok := strings.CutPrefix(line, "fatal error: "); ok && fatal == "" {
			fatal = s
		}
	}
	return fatal
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// limitBuffer keeps at most max bytes and drops the rest.
type limitBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room < len(p) {
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// key identifies a decision: model, hardware, build and what was asked.
func (c Config) key() string {
	h := sha256.New()
	// Throttling is part of the key: a decision taken while throttled
	// (maybe with fewer threads) is not reused when the board is cool.
	fmt.Fprintf(h, "%d\n%s\n%s\n%s\n%s\n%s\n%d\n%d\n%v\n", cacheFormat, c.ModelSHA256, c.Report.Fingerprint,
		c.Version, c.Backend, c.Delegate, c.Threads, c.Runs, c.Report.Thermal.Throttling)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// cacheName is the decision's file in the state folder.
func cacheName(key string) string { return "backend-" + key + ".json" }

// maxCacheBytes bounds a cached decision file (ours are a few KB).
const maxCacheBytes = 1 << 20

// load returns the cached decision for key, if there is one that passes
// checkCached. The state folder is trusted no more than it must be: the
// file is opened with O_NOFOLLOW through the folder's descriptor.
func (c Config) load(key string) (Decision, bool) {
	if c.StateDir == "" {
		return Decision{}, false
	}
	dir, err := durable.OpenDir(c.StateDir)
	if err != nil {
		return Decision{}, false
	}
	defer dir.Close()
	data, err := dir.ReadFile(cacheName(key), maxCacheBytes)
	if errors.Is(err, os.ErrNotExist) {
		return Decision{}, false
	}
	if err == nil {
		var d Decision
		if d, err = c.checkCached(data, key); err == nil {
			d.Cached = true
			return d, true
		}
	}
	c.Logger.Warn("backend: ignoring the cached self-test result; running the self-test again", "file", dir.Join(cacheName(key)), "err", err)
	return Decision{}, false
}

// checkCached decodes a cached decision and checks it against what the
// operator configured now: a known backend, a sane thread count, the same
// key, and a delegate only if it is one this Config would try (--delegate,
// or a plugin the probe found in the system's library folders) with the
// same sha256 as when it was tested. Anything else is refused: a forged
// cache must never make animed dlopen a library of someone else's.
func (c Config) checkCached(data []byte, key string) (Decision, error) {
	var d Decision
	if err := json.Unmarshal(data, &d); err != nil {
		return d, fmt.Errorf("bad JSON: %w", err)
	}
	switch {
	case d.Key != key:
		return d, fmt.Errorf("key %q, want %q", d.Key, key)
	case d.Backend != CPU && d.Backend != XNNPACK && d.Backend != External:
		return d, fmt.Errorf("unknown backend %q", d.Backend)
	case d.Threads < 1 || d.Threads > 4096:
		return d, fmt.Errorf("threads %d", d.Threads)
	case d.Backend == External && d.Delegate == "":
		return d, errors.New("external backend without a delegate")
	case d.Backend != External && d.Delegate != "":
		return d, fmt.Errorf("backend %s with a delegate", d.Backend)
	}
	if d.Delegate == "" {
		return d, nil
	}
	configured := false
	for _, p := range c.plugins() {
		configured = configured || (p.Path == d.Delegate && p.OK)
	}
	if !configured {
		return d, fmt.Errorf("delegate %s is not one the operator configured (--delegate) or the probe found", d.Delegate)
	}
	sum, err := fileSHA256(d.Delegate)
	if err != nil {
		return d, fmt.Errorf("delegate: %w", err)
	}
	if d.DelegateSHA256 == "" || sum != d.DelegateSHA256 {
		return d, fmt.Errorf("delegate %s changed since its self-test (sha256 %s, cached %q)", d.Delegate, sum, d.DelegateSHA256)
	}
	return d, nil
}

// save writes the decision durably (temp file, fsync, rename, fsync the
// folder) into the private state folder.
func (c Config) save(d Decision) error {
	if c.StateDir == "" {
		return nil
	}
	if d.Delegate != "" {
		sum, err := fileSHA256(d.Delegate)
		if err != nil {
			return err
		}
		d.DelegateSHA256 = sum
	}
	if err := os.MkdirAll(c.StateDir, 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(c.StateDir, cacheName(d.Key), 0o600, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

func logTable(log *slog.Logger, d Decision) {
	for _, t := range d.Trials {
		log.Info("backend: self-test", "backend", t.Backend, "delegate", t.Delegate, "threads", t.Threads,
			"ran", t.Ran, "correct", t.Correct, "median_ms", t.MedianMs, "load_ms", t.LoadMs,
			"mean_diff", t.MeanDiff, "max_diff", t.MaxDiff, "error", t.Error)
	}
}

// WriteTable writes the decision and its trials as a table for people.
func (d Decision) WriteTable(w io.Writer) error {
	var b strings.Builder
	src := ""
	if d.Cached {
		src = " (cached)"
	}
	fmt.Fprintf(&b, "backend: %s", d.Backend)
	if d.Delegate != "" {
		fmt.Fprintf(&b, " %s", d.Delegate)
	}
	fmt.Fprintf(&b, ", %d threads%s: %s\n", d.Threads, src, d.Reason)
	if len(d.Trials) > 0 {
		fmt.Fprintf(&b, "%-9s %-24s %7s %8s %10s %9s %9s  %s\n", "candidate", "delegate", "threads", "correct", "median ms", "mean diff", "max diff", "note")
		for _, t := range d.Trials {
			del := "-"
			if t.Delegate != "" {
				del = filepath.Base(t.Delegate)
			}
			fmt.Fprintf(&b, "%-9s %-24s %7d %8v %10.2f %9.4f %9.4f  %s\n", t.Backend, del, t.Threads, t.Correct, t.MedianMs, t.MeanDiff, t.MaxDiff, t.Error)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
