package selftest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/animed/animed/internal/tflite"
)

// Command is the hidden subcommand hw/backend runs in its children.
const Command = "selftest"

// Main is the hidden `animed selftest` subcommand: it parses args (the
// arguments after the subcommand name), runs one candidate and writes its
// Result as JSON to stdout. Before each stage it writes "stage: NAME" to
// stderr, so a parent can tell where a crashed child died. defaultModel is
// used when --model is not given. It returns the process exit code: 0 when
// the candidate ran, 1 when it failed, 2 on bad usage.
func Main(ctx context.Context, args []string, defaultModel []byte, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet(Command, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	backend := fs.String("backend", string(tflite.BackendXNNPACK), "backend to try: "+tflite.Names(tflite.Backends))
	delegate := fs.String("delegate", "", "external delegate plugin (.so) for --backend external")
	model := fs.String("model", "", "model file (default: the embedded model)")
	threads := fs.Int("threads", 0, "threads (0: one per CPU)")
	also := fs.IntSlice("also-threads", nil, "further thread counts to time, each with its own interpreter")
	runs := fs.Int("runs", 3, "timed runs after one warm-up")
	size := fs.Int("size", 0, "test image height and width (0: the model's input size)")
	fs.Bool("json", true, "write the result as JSON (always on)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "selftest: %v\n", err)
		return 2
	}
	b, err := tflite.ParseBackend(*backend)
	if err != nil {
		fmt.Fprintf(stderr, "selftest: %v\n", err)
		return 2
	}
	if b == tflite.BackendExternal && *delegate == "" {
		fmt.Fprintln(stderr, "selftest: --backend external needs --delegate PATH")
		return 2
	}
	data := defaultModel
	if *model != "" {
		if data, err = os.ReadFile(*model); err != nil {
			fmt.Fprintf(stderr, "selftest: %v\n", err)
			return 2
		}
	}
	if len(data) == 0 {
		fmt.Fprintln(stderr, "selftest: no model (give --model PATH)")
		return 2
	}
	res, err := Run(ctx, Request{
		Model: data, Backend: b, Delegate: *delegate, Threads: *threads, AlsoThreads: *also, Runs: *runs, Size: *size,
		Stage: func(s string) { fmt.Fprintf(stderr, "stage: %s\n", s) },
	})
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		fmt.Fprintf(stderr, "selftest: %v\n", err)
		return 1
	}
	if err != nil {
		return 1
	}
	return 0
}
