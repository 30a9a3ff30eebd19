package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/animed/animed/daemon/config"
	"github.com/animed/animed/hw"
	"github.com/animed/animed/hw/backend"
	"github.com/animed/animed/hw/selftest"
	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/models"
)

// backendChoice is what the daemon and convert need to choose a backend.
type backendChoice struct {
	Model    string         // model file; "" = the embedded default
	Backend  tflite.Backend // backend.Auto or one of tflite's
	Delegate string         // user's external delegate plugin
	Threads  int
	WatchDir string // reported in the hardware log line
	StateDir string // where the decision is cached; "" = no cache
}

// chooseBackend probes the hardware and runs the backend self-test (each
// candidate in a child `animed selftest`), or returns the cached decision.
// With --backend external a failing plugin is an error; otherwise an error
// is logged and the returned decision (XNNPACK) is still usable.
func chooseBackend(ctx context.Context, c backendChoice, log *slog.Logger) (backend.Decision, error) {
	exe, err := os.Executable()
	if err != nil {
		return backend.Decision{Backend: backend.XNNPACK, Threads: c.Threads}, fmt.Errorf("find own executable: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	report := hw.Probe(pctx, hw.Options{WatchDir: c.WatchDir, Delegate: c.Delegate})
	cancel()
	log.Info("hardware", "board", report.Board.Model, "cpu", report.CPU.Model, "features", report.CPU.Features,
		"cpus", report.Cgroup.CPUs, "throttling", report.Thermal.Throttling, "fingerprint", report.Fingerprint)
	sum := ""
	if c.Model == "" {
		sum = models.DefaultSHA256()
	}
	d, err := backend.Choose(ctx, backend.Config{
		Exe: exe, Args: []string{selftest.Command},
		Model: c.Model, ModelSHA256: sum, Backend: c.Backend, Delegate: c.Delegate,
		Threads: c.Threads, Report: report, StateDir: c.StateDir, Logger: log,
		Version: versionString() + " tflite " + tflite.Version(),
	})
	if err != nil && c.Backend != backend.External {
		log.Warn("backend self-test failed; using XNNPACK", "err", err)
		err = nil
	}
	log.Info("backend chosen", "backend", d.Backend, "delegate", d.Delegate, "threads", d.Threads,
		"reason", d.Reason, "cached", d.Cached)
	return d, err
}

// tryModel runs cfg's model once in a self-test child (see
// backend.TryModel), within a minute.
func tryModel(cfg *config.Config, log *slog.Logger) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	log.Info("reload: trying the new model in a child process", "model", cfg.Model)
	return backend.TryModel(context.Background(), backend.Config{
		Exe: exe, Args: []string{selftest.Command}, Model: cfg.Model,
		Backend: cfg.Backend, Delegate: cfg.Delegate, Threads: 1, Timeout: time.Minute, Logger: log,
	})
}

// selftestCommand is the hidden child of chooseBackend: it runs one
// candidate backend on the model and prints its output and timings.
func selftestCommand(args []string, stdout, stderr io.Writer) int {
	return selftest.Main(context.Background(), args, models.Default(), stdout, stderr)
}

// probeCommand prints what animed finds on this machine.
func probeCommand(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("probe", pflag.ContinueOnError)
	fs.SortFlags = false
	asJSON := fs.Bool("json", false, "print JSON (schema animed.hw.report, version 1)")
	watch := fs.String("watch", "", "also report this folder's filesystem and whether inotify works there")
	delegate := fs.String("delegate", "", "also check this external delegate plugin (.so)")
	const head = "Usage: animed probe [flags]\n\nReports the board, CPU, memory, limits, temperature and accelerators."
	if code, ok := parseFlags(fs, head, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "animed probe: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := hw.Probe(ctx, hw.Options{WatchDir: *watch, Delegate: *delegate})
	write := r.WriteText
	if *asJSON {
		write = r.WriteJSON
	}
	if err := write(stdout); err != nil {
		fmt.Fprintf(stderr, "animed probe: %v\n", err)
		return 1
	}
	return 0
}
