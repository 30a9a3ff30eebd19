package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/animed/animed/converter/tflitefile"
	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/models"
)

// ChildCommand is the hidden first argument under which a binary that
// calls Run must call ChildMain with the remaining arguments:
//
//	if len(os.Args) > 1 && os.Args[1] == bench.ChildCommand {
//		err := bench.ChildMain(ctx, os.Args[2:], os.Stdout)
//	}
const ChildCommand = "__bench-child"

// DefaultModel names the embedded default model in Options.Models.
const DefaultModel = "default"

// ChildResult is what one child process reports.
type ChildResult struct {
	Measurement
	// PeakRSSKB is the child's VmHWM after the measurement; BaseRSSKB is
	// its VmHWM before the model was loaded (the runtime's own share).
	PeakRSSKB int64 `json:"peak_rss_kb"`
	BaseRSSKB int64 `json:"base_rss_kb"`
	// RusageMaxRSSKB is the parent's view of the child (getrusage).
	RusageMaxRSSKB int64 `json:"rusage_maxrss_kb"`
}

// ChildMain measures one model at one size on one backend in this process
// and writes a ChildResult as JSON to stdout. args: -model PATH|default
// -size N (0: native) -threads N -backend xnnpack|cpu -runs N -max-time D
// -warmup N.
func ChildMain(ctx context.Context, args []string, stdout io.Writer) error {
	base := ProcStatusKB("VmHWM")
	fs := flag.NewFlagSet(ChildCommand, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	model := fs.String("model", DefaultModel, "model path or "+DefaultModel)
	size := fs.Int("size", 0, "input side (0: native)")
	rescale := fs.Bool("rescale", false, "rewrite the model's constant resize sizes for -size (tflitefile.ScaleInput)")
	threads := fs.Int("threads", 0, "threads")
	backend := fs.String("backend", string(tflite.BackendXNNPACK), "backend")
	runs := fs.Int("runs", 0, "max timed runs")
	maxTime := fs.Duration("max-time", 0, "max time of the timed runs")
	warmup := fs.Int("warmup", 1, "warm-up runs")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s: %w", ChildCommand, err)
	}
	data, err := ReadModel(*model)
	if err != nil {
		return err
	}
	if *rescale && *size > 0 {
		if data, err = tflitefile.ScaleInput(data, *size, *size); err != nil {
			return fmt.Errorf("rescale %s to %d²: %w", *model, *size, err)
		}
		*size = 0
	}
	if *warmup == 0 {
		*warmup = -1 // Limits: 0 means the default
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := Measure(ctx, data, *size, *size,
		tflite.Options{Threads: *threads, Backend: tflite.Backend(*backend), Logger: log},
		Limits{Warmup: *warmup, MaxRuns: *runs, MaxTime: *maxTime})
	if err != nil {
		return fmt.Errorf("measure %s at %d: %w", *model, *size, err)
	}
	res := ChildResult{Measurement: m, PeakRSSKB: ProcStatusKB("VmHWM"), BaseRSSKB: base}
	return json.NewEncoder(stdout).Encode(res)
}

// readModel returns the embedded default model or a file's bytes.
func ReadModel(name string) ([]byte, error) {
	if name == DefaultModel {
		return models.Default(), nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	return data, nil
}

// procStatusKB reads a "Key:   N kB" line of /proc/self/status, or -1.
func ProcStatusKB(key string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	return StatusKB(f, key)
}

func StatusKB(r io.Reader, key string) int64 {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return -1
		}
		return n
	}
	return -1
}

// childJob is one child invocation.
type childJob struct {
	model   string
	size    int
	rescale bool
	threads int
	backend tflite.Backend
	lim     Limits
}

func (j childJob) args() []string {
	a := []string{"-model", j.model, "-size", strconv.Itoa(j.size), "-threads", strconv.Itoa(j.threads),
		"-backend", string(j.backend), "-runs", strconv.Itoa(j.lim.MaxRuns),
		"-max-time", j.lim.MaxTime.String(), "-warmup", strconv.Itoa(j.lim.Warmup)}
	if j.rescale {
		a = append(a, "-rescale")
	}
	return a
}

// runChild runs one measurement in a fresh process started as
// argv[0] argv[1:]... followed by the job's flags.
func runChild(ctx context.Context, argv, env []string, j childJob) (ChildResult, error) {
	if len(argv) == 0 {
		return ChildResult{}, errors.New("no child command")
	}
	cmd := exec.CommandContext(ctx, argv[0], append(argv[1:len(argv):len(argv)], j.args()...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return ChildResult{}, fmt.Errorf("child %s: %w: %s", strings.Join(j.args(), " "), err, lastLines(stderr.String(), 5))
	}
	var res ChildResult
	if err := json.Unmarshal(lastLine(stdout.Bytes()), &res); err != nil {
		return ChildResult{}, fmt.Errorf("child %s: bad result %q: %w", strings.Join(j.args(), " "), stdout.String(), err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.RusageMaxRSSKB = ru.Maxrss // kilobytes on Linux
	}
	return res, nil
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
