package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/animed/animed/internal/bench"
)

// benchCommand measures models on this machine: size, MACs, latency with
// and without XNNPACK, load time and peak RSS of a fresh process per cell.
func benchCommand(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("bench", pflag.ContinueOnError)
	fs.SortFlags = false
	models := fs.StringSlice("models", []string{bench.DefaultModel}, "models to measure: "+bench.DefaultModel+" (the embedded model) or .tflite paths; PATH@N measures that model at N² only")
	sizes := fs.IntSlice("sizes", []int{256, 512, 1024}, "square input sides; models with constant resize sizes are rewritten for each (as animed run does), other fixed-size models run at their own size only")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "inference threads; the default is the number of CPUs this process may use")
	runs := fs.Int("runs", 20, "at most this many timed runs per measurement (each measurement also stops after 10s)")
	asJSON := fs.Bool("json", false, "write JSON instead of Markdown tables")
	const head = "Usage: animed bench [flags]\n\nMeasures models on this machine; progress goes to stderr, the tables to stdout."
	if code, ok := parseFlags(fs, head, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "animed bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := bench.Options{Models: *models, Sizes: *sizes, Threads: *threads, Runs: *runs, JSON: *asJSON, Progress: stderr}
	if err := bench.Run(ctx, o, stdout); err != nil {
		fmt.Fprintln(stderr, "animed bench:", err)
		return 1
	}
	return 0
}

// benchChildCommand is the hidden re-exec target of bench.Run: one
// measurement in a fresh process, a JSON line on stdout.
func benchChildCommand(args []string, stdout, stderr io.Writer) int {
	if err := bench.ChildMain(context.Background(), args, stdout); err != nil {
		fmt.Fprintln(stderr, "animed:", err)
		return 1
	}
	return 0
}
