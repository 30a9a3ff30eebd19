package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/animed/animed/daemon/config"
	"github.com/animed/animed/daemon/fleet"
	"github.com/animed/animed/daemon/journal"
	"github.com/animed/animed/daemon/metrics"
	"github.com/animed/animed/daemon/pipeline"
	"github.com/animed/animed/daemon/watch"
	"github.com/animed/animed/internal/imageio"
	"github.com/animed/animed/internal/sdnotify"
	"github.com/animed/animed/internal/stylize"
	"github.com/animed/animed/internal/tflite"
)

// lifecycle lets a service manager follow the daemon: Ready once the first
// scan is about to run, Progress after every model invocation (one per
// tile: a watchdog fed from here never trips on a long photo), Busy around
// each photo, Reloading on SIGHUP and Stopping on the way out. Under systemd
// they speak sd_notify (internal/sdnotify); elsewhere they cost nothing.
type lifecycle struct {
	Ready     func(status string)
	Progress  func()
	Busy      func(busy bool)
	Reloading func()
	Stopping  func()
}

func runCommand(args []string, stdout, stderr io.Writer) int {
	// First of all: a SIGTERM while the model loads is a clean stop too.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	cfg, fs, err := loadRunConfig(args)
	if err != nil {
		head := fmt.Sprintf("Usage: animed run --watch DIR --out DIR [flags]\n\n"+
			"Watches DIR for photos and writes each one, styled, to the --out folder.\n"+
			"Every flag can also be set in the environment (--max-side: %s) or in the\n"+
			"--config file as \"max-side = 1024\"; the command line wins over the\n"+
			"environment, which wins over the file.", config.EnvName("max-side"))
		return flagError(fs, head, err, stdout, stderr)
	}
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	collectSooner()
	lc, stopLC := newLifecycle(log)
	defer stopLC()
	m := metrics.New()
	if cfg.Metrics != "" {
		stop, err := serveMetrics(cfg.Metrics, m, log)
		if err != nil {
			fmt.Fprintf(stderr, "animed run: %v\n", err)
			return 2
		}
		defer stop()
	}

	var running *config.Config // the configuration before a reload
	for {
		g, err := loadGeneration(cfg, running, log, lc)
		if err != nil {
			if running == nil {
				fmt.Fprintf(stderr, "animed run: %v\n", err)
				return 2
			}
			log.Error("reload: keeping the running configuration", "err", err)
			cfg, running = running, nil
			continue
		}
		reload, err := runGeneration(cfg, g, log, m, lc, sigs)
		if err != nil {
			log.Error("stopped", "err", err)
			return 1
		}
		if !reload {
			return 0
		}
		next, _, err := loadRunConfig(args)
		if err != nil {
			log.Error("reload: keeping the running configuration", "err", err)
			continue
		}
		running = cfg
		if next.Metrics != cfg.Metrics {
			log.Warn("reload: a new --metrics address takes effect at the next start", "metrics", cfg.Metrics)
			next.Metrics = cfg.Metrics
		}
		if next.LogFormat != cfg.LogFormat || next.LogLevel != cfg.LogLevel {
			log = newLogger(stderr, next.LogFormat, next.LogLevel)
		}
		cfg = next
	}
}

// loadRunConfig reads and validates the configuration of `animed run`
// from args, the environment and the config file. The flag set is returned
// for the usage text, also on error.
func loadRunConfig(args []string) (*config.Config, *pflag.FlagSet, error) {
	var c config.Config
	fs := c.FlagSet()
	fs.SetOutput(io.Discard)
	if err := config.Load(fs, args, os.LookupEnv); err != nil {
		return nil, fs, err
	}
	return &c, fs, c.Validate()
}

// newLifecycle connects the lifecycle to sd_notify and starts the
// watchdog; stop ends the watchdog.
func newLifecycle(log *slog.Logger) (lc lifecycle, stop func()) {
	n := sdnotify.New(log)
	wd := n.Watchdog()
	ctx, stop := context.WithCancel(context.Background())
	go wd.Run(ctx)
	return lifecycle{
		Ready:    func(s string) { n.Status(s); n.Ready() },
		Progress: wd.Advance,
		Busy: func(busy bool) {
			if busy {
				wd.Begin()
			} else {
				wd.End()
			}
		},
		Reloading: func() { n.Reloading() },
		Stopping:  func() { n.Stopping() },
	}, stop
}

// serveMetrics serves m's /metrics and /healthz on addr until stop.
func serveMetrics(addr string, m *metrics.Metrics, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics %s: cannot listen (%v)", addr, err)
	}
	srv := metrics.NewServer(m.Handler())
	go srv.Serve(ln)
	log.Info("serving metrics", "addr", ln.Addr().String())
	if !metrics.Loopback(addr) {
		log.Warn("--metrics listens on a non-loopback address: other machines can read the counters and /healthz; "+
			"use 127.0.0.1:PORT unless a firewall guards it", "addr", addr)
	}
	return func() { srv.Close() }, nil
}

// generation is what one configuration loads before it serves.
type generation struct {
	stylizer *stylize.Stylizer
	model    string // its name, for logs and result comments
	threads  int    // the backend decision's, not always --threads
}

// loadGeneration checks the model, chooses its backend and loads it. The
// model and its backend are part of the configuration: a file that is not
// a usable model, or a --backend external plugin that fails its self-test,
// stops the start (or the reload) here. A new model on reload (running is
// the configuration before it) runs once in a child first: one that crashes
// or hangs the interpreter must not take the running daemon down with it.
func loadGeneration(cfg, running *config.Config, log *slog.Logger, lc lifecycle) (generation, error) {
	if err := checkModel(cfg.Model); err != nil {
		return generation{}, err
	}
	if running != nil && cfg.Model != running.Model {
		if err := tryModel(cfg, log); err != nil {
			return generation{}, err
		}
	}
	d, err := chooseBackend(context.Background(), backendChoice{Model: cfg.Model, Backend: cfg.Backend,
		Delegate: cfg.Delegate, Threads: cfg.Threads, WatchDir: cfg.Watch, StateDir: cfg.State}, log)
	if err != nil {
		return generation{}, fmt.Errorf("--backend %s: %w", cfg.Backend, err)
	}
	s, name, err := loadStylizer(cfg.Model, stylize.Options{
		Threads: d.Threads, Backend: d.Backend, ExternalDelegate: d.Delegate,
		MaxWholePixels: cfg.Tile, Logger: log, Progress: lc.Progress, Field: cachedField(d, log)})
	if err != nil {
		return generation{}, err
	}
	rememberField(cfg.State, d, s, log)
	return generation{stylizer: s, model: name, threads: d.Threads}, nil
}

// runGeneration serves cfg with g until the daemon stops by itself or a
// signal arrives on sigs; reload reports a SIGHUP. It closes g's stylizer.
func runGeneration(cfg *config.Config, g generation, log *slog.Logger, m *metrics.Metrics, lc lifecycle, sigs <-chan os.Signal) (reload bool, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer g.stylizer.Close()
		done <- serve(ctx, cfg, g, log, m, lc)
	}()
	var sig os.Signal
	select {
	case err := <-done:
		return false, err
	case sig = <-sigs:
	}
	if sig == syscall.SIGHUP {
		log.Info("SIGHUP: reloading the configuration")
		lc.Reloading()
	} else {
		log.Info("stopping", "signal", sig.String())
		lc.Stopping()
	}
	cancel()
	if err := <-done; err != nil {
		return false, err
	}
	if sig != syscall.SIGHUP {
		log.Info("stopped cleanly")
	}
	return sig == syscall.SIGHUP, nil
}

// serve runs one generation of the daemon with cfg until ctx is done:
// journal -> recovery -> watcher -> pipeline, styling with g.
func serve(ctx context.Context, cfg *config.Config, g generation, log *slog.Logger, m *metrics.Metrics, lc lifecycle) error {
	s, modelName := g.stylizer, g.model
	h, w := s.InputSize()
	m.SetBuildInfo(metrics.BuildInfo{Version: versionString(), TFLite: tflite.Version(), Model: modelName})
	log.Info("model loaded", "model", modelName, "backend", s.Backend(), "fallback", s.FallbackReason(),
		"threads", g.threads, "resizable", s.Resizable(), "mode", s.Mode(), "input", fmt.Sprintf("%dx%d", w, h))

	j, err := journal.Open(cfg.State, log)
	if err != nil {
		return err
	}
	defer j.Close()
	var fl *fleet.Fleet
	if cfg.Fleet != "" {
		if fl, err = fleet.Open(fleet.Options{Dir: cfg.Fleet, Instance: cfg.Instance, Lease: cfg.Lease, Logger: log}); err != nil {
			return err
		}
		defer fl.Close()
		log.Info("fleet: sharing the drop folder", "fleet", cfg.Fleet, "instance", cfg.Instance, "lease", cfg.Lease)
	}
	format, _ := imageio.ParseFormat(cfg.Format) // validated
	p, err := pipeline.New(pipeline.Options{
		Watch: cfg.Watch, Out: cfg.Out, Done: cfg.Done, Failed: cfg.Failed,
		Format: format, Quality: cfg.Quality, MaxSide: cfg.MaxSide, KeepExt: cfg.KeepExt,
		MaxPixels: cfg.MaxPixels, MaxBytes: cfg.MaxBytes, ModelName: modelName,
		Logger: log, Metrics: m, Busy: lc.Busy, Grace: cfg.Grace, Fleet: fl,
	}, j, s)
	if err != nil {
		return err
	}
	defer p.Close()
	if err := p.Recover(); err != nil {
		return fmt.Errorf("recover after restart: %w", err)
	}
	wt, err := watch.New(watch.Options{Dir: cfg.Watch, Settle: cfg.Settle, Poll: cfg.Poll, Logger: log})
	if err != nil {
		return err
	}
	log.Info("animed running", "version", versionString(), "watch", cfg.Watch, "out", cfg.Out,
		"done", cfg.Done, "failed", cfg.Failed, "state", cfg.State, "format", cfg.Format,
		"max_side", cfg.MaxSide, "settle", cfg.Settle, "mode", wt.Mode())
	for name, c := range map[string]metrics.Checker{
		"watcher": wt,
		"journal": writable("--state", cfg.State),
		"out":     writable("--out", cfg.Out),
		"queue": metrics.CheckerFunc(func() error {
			if why := p.Paused(); why != "" {
				return fmt.Errorf("paused: %s", why)
			}
			return nil
		}),
	} {
		defer m.RegisterHealth(name, c)()
	}
	lc.Ready(fmt.Sprintf("watching %s", cfg.Watch))
	return p.Run(ctx, wt)
}

// writable checks that the folder of flag can still be written.
func writable(flag, dir string) metrics.Checker {
	return metrics.CheckerFunc(func() error {
		if err := config.CheckWritable(dir); err != nil {
			return fmt.Errorf("%s %s: %w", flag, dir, err)
		}
		return nil
	})
}

// newLogger returns a logger writing format ("text" or "json") to w from
// level ("debug", "info", "warn" or "error"; validated by config) up.
func newLogger(w io.Writer, format, level string) *slog.Logger {
	l, _ := config.ParseLogLevel(level) // validated
	o := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// collectSooner runs the garbage collector when the heap has grown by half
// since the last collection, not doubled (GOGC=50 instead of 100), unless
// GOGC is set. Every photo allocates its pixels anew and three are in
// flight, so a board's peak memory follows the garbage: measured with
// `benchmodel daemon` on 1024x768 photos, the daemon's peak RSS went from
// 103 MB to 85 MB at the same photos/s. Since the stylizer and the decoder
// stopped making most of their garbage, it gains less: on 12 MP JPEGs,
// 76.5 MB with GOGC=100 and 74 MB with 50.
func collectSooner() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(50)
	}
}
