// Command benchmodel runs the model benchmark of package bench, as
// `animed bench` does, until the daemon's command wires it; and the
// end-to-end and quality measurements that bench/run.sh needs.
//
//	benchmodel [--models default,PATH...] [--sizes 256,512,1024] [--threads N] [--runs N] [--max-time D] [--json]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/animed/animed/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == bench.ChildCommand {
		if err := bench.ChildMain(ctx, os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchmodel:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("benchmodel", flag.ExitOnError)
	modelList := fs.String("models", bench.DefaultModel, "comma-separated models: "+bench.DefaultModel+" or .tflite paths")
	sizeList := fs.String("sizes", "256,512,1024", "comma-separated square input sides")
	var o bench.Options
	fs.IntVar(&o.Threads, "threads", 0, "TFLite threads (0: all usable CPUs)")
	fs.IntVar(&o.Runs, "runs", 20, "max timed runs per measurement")
	fs.DurationVar(&o.MaxTime, "max-time", 0, "max time per measurement (0: 10s)")
	fs.BoolVar(&o.JSON, "json", false, "write JSON instead of Markdown tables")
	fs.Parse(args)
	o.Models = strings.Split(*modelList, ",")
	for _, s := range strings.Split(*sizeList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("--sizes: %q is not a number", s)
		}
		o.Sizes = append(o.Sizes, n)
	}
	o.Progress = os.Stderr
	return bench.Run(ctx, o, os.Stdout)
}
