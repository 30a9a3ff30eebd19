// Command benchmodel runs the model benchmark of package bench, as
// `animed bench` does, until the daemon's command wires it; and the
// end-to-end and quality measurements that bench/run.sh needs.
//
//	benchmodel [--models default,PATH...] [--sizes 256,512,1024] [--threads N] [--runs N] [--max-time D] [--json]
//	benchmodel e2e [--model default|PATH] [--photos DIR] [--threads N] [--count N] [--max-time D] [--json]
//	benchmodel daemon --animed BIN [--photos DIR] [--count N] [--threads N] [--arg FLAG]... [--json]
//	benchmodel report --models-json F [--torch-json F] [--e2e-json F] [--daemon-json F] [--daemon-variant-json F]... [--quality-json F] [--sheet PNG] [--gobench F] [--teacher L] [--fp32 L] [--int8 L] [--note TEXT]... [--missing KEY=WHY]...
//	benchmodel quality --teacher PATH --models A,B [--labels "a,b"] --photos DIR [--max-photos N] [--sheet PNG] [--json]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/animed/animed/bench"
	measure "github.com/animed/animed/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == measure.ChildCommand {
		if err := measure.ChildMain(ctx, os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "e2e":
		err = e2e(ctx, os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "quality":
		err = quality(ctx, os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "daemon":
		err = daemon(ctx, os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "report":
		err = report(os.Args[2:])
	default:
		err = run(ctx, os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmodel:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("benchmodel", flag.ExitOnError)
	modelList := fs.String("models", measure.DefaultModel, "comma-separated models: "+measure.DefaultModel+" or .tflite paths")
	sizeList := fs.String("sizes", "256,512,1024", "comma-separated square input sides")
	var o measure.Options
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
	return measure.Run(ctx, o, os.Stdout)
}

func e2e(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("benchmodel e2e", flag.ExitOnError)
	var o bench.E2EOptions
	fs.StringVar(&o.Model, "model", measure.DefaultModel, "model: "+measure.DefaultModel+" or a resizable .tflite")
	photos := fs.String("photos", "", "folder of source photos (held-out split); empty: generated pictures")
	maxPhotos := fs.Int("max-photos", 8, "distinct source photos")
	fs.IntVar(&o.Threads, "threads", 0, "TFLite threads (0: all usable CPUs)")
	fs.IntVar(&o.Count, "count", 20, "max timed photos")
	fs.DurationVar(&o.MaxTime, "max-time", 20*time.Second, "max time of the timed photos")
	asJSON := fs.Bool("json", false, "write JSON")
	fs.Parse(args)
	if *photos != "" {
		held, err := bench.HeldOut(*photos)
		if err != nil {
			return err
		}
		o.Photos = held[:min(len(held), *maxPhotos)]
	}
	res, err := bench.EndToEnd(ctx, o)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(os.Stdout, res)
	}
	return bench.WriteE2EMarkdown(os.Stdout, res)
}

func quality(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("benchmodel quality", flag.ExitOnError)
	var o bench.QualityOptions
	fs.StringVar(&o.Reference, "teacher", "", "reference model (the teacher)")
	modelList := fs.String("models", measure.DefaultModel, "comma-separated student models")
	labelList := fs.String("labels", "", "comma-separated column names for --models")
	photos := fs.String("photos", "", "photo folder: its held-out split (every 10th) is used")
	maxPhotos := fs.Int("max-photos", 8, "held-out photos to compare")
	sheet := fs.String("sheet", "", "write a PNG contact sheet here")
	fs.IntVar(&o.Threads, "threads", 0, "TFLite threads (0: all usable CPUs)")
	fs.IntVar(&o.Size, "size", 256, "square side")
	asJSON := fs.Bool("json", false, "write JSON")
	fs.Parse(args)
	if o.Reference == "" || *photos == "" {
		return fmt.Errorf("quality: --teacher and --photos are required")
	}
	o.Models = strings.Split(*modelList, ",")
	if *labelList != "" {
		o.Labels = strings.Split(*labelList, ",")
	}
	held, err := bench.HeldOut(*photos)
	if err != nil {
		return err
	}
	// Spread the chosen photos over the whole held-out list (scenes and people).
	step := max(1, len(held)/max(1, *maxPhotos))
	for i := 0; i < len(held) && len(o.Photos) < *maxPhotos; i += step {
		o.Photos = append(o.Photos, held[i])
	}
	if *sheet != "" {
		f, err := os.Create(*sheet)
		if err != nil {
			return err
		}
		defer f.Close()
		o.Sheet = f
	}
	o.Progress = os.Stderr
	res, err := bench.Quality(ctx, o)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(os.Stdout, res)
	}
	if err := bench.WriteQualityMarkdown(os.Stdout, res); err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "\nPhotos: %s\n", names(o.Photos))
	return nil
}

func names(paths []string) string {
	var out []string
	for _, p := range paths {
		out = append(out, filepath.Base(p))
	}
	return strings.Join(out, ", ")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func report(args []string) error {
	fs := flag.NewFlagSet("benchmodel report", flag.ExitOnError)
	modelsJSON := fs.String("models-json", "", "output of `animed bench --json`")
	torchJSON := fs.String("torch-json", "", "output of bench/torch_teacher.py")
	e2eJSON := fs.String("e2e-json", "", "output of `benchmodel e2e --json`")
	daemonJSON := fs.String("daemon-json", "", "output of `benchmodel daemon --json`")
	qualityJSON := fs.String("quality-json", "", "output of `benchmodel quality --json`")
	gobench := fs.String("gobench", "", "`go test -bench` output")
	in := bench.ReportInput{Missing: map[string]string{}}
	fs.Func("daemon-variant-json", "output of `benchmodel daemon --json --arg ...` (repeatable)", func(s string) error {
		r, err := loadJSON[bench.DaemonResult](s)
		if err != nil {
			return err
		}
		if r != nil {
			in.DaemonVariants = append(in.DaemonVariants, *r)
		}
		return nil
	})
	fs.StringVar(&in.Sheet, "sheet", "", "contact sheet, relative to the report")
	fs.StringVar(&in.Teacher, "teacher", "", "row label of the teacher")
	fs.StringVar(&in.StudentFP32, "fp32", "", "row label of the FP32 student")
	fs.StringVar(&in.StudentInt8, "int8", "", "row label of the INT8 student")
	fs.Func("note", "a note under the machine table (repeatable)", func(s string) error {
		in.Notes = append(in.Notes, s)
		return nil
	})
	fs.Func("missing", "KEY=WHY for a section not measured (models, torch, e2e, quality)", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("want KEY=WHY")
		}
		in.Missing[k] = v
		return nil
	})
	fs.Parse(args)
	var err error
	if in.Models, err = loadJSON[measure.Report](*modelsJSON); err != nil {
		return err
	}
	if in.Torch, err = loadJSON[bench.TorchResult](*torchJSON); err != nil {
		return err
	}
	if in.E2E, err = loadJSON[bench.E2EResult](*e2eJSON); err != nil {
		return err
	}
	if in.Daemon, err = loadJSON[bench.DaemonResult](*daemonJSON); err != nil {
		return err
	}
	if in.Quality, err = loadJSON[bench.QualityResult](*qualityJSON); err != nil {
		return err
	}
	if *gobench != "" {
		b, err := os.ReadFile(*gobench)
		if err != nil {
			return err
		}
		in.GoBench = string(b)
	}
	return bench.WriteReport(os.Stdout, in)
}

// loadJSON reads a step's JSON output; nil for no path or an empty file
// (a step that did not run).
func loadJSON[T any](path string) (*T, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil || len(strings.TrimSpace(string(b))) == 0 {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

func daemon(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("benchmodel daemon", flag.ExitOnError)
	var o bench.DaemonOptions
	fs.StringVar(&o.Animed, "animed", "build/bin/animed", "the animed binary")
	photos := fs.String("photos", "", "folder of source photos (held-out split); empty: generated pictures")
	count := fs.Int("count", 20, "photos to drop")
	fs.IntVar(&o.Threads, "threads", 0, "--threads of animed run (0: its default)")
	fs.Func("arg", "an extra `animed run` flag, e.g. --arg=--tile-pixels=32768 (repeatable)", func(s string) error {
		o.Args = append(o.Args, s)
		return nil
	})
	asJSON := fs.Bool("json", false, "write JSON")
	fs.Parse(args)
	var src []string
	if *photos != "" {
		held, err := bench.HeldOut(*photos)
		if err != nil {
			return err
		}
		src = held
	}
	prepared, err := bench.PreparePhotos(bench.E2EOptions{Photos: src[:min(len(src), *count)]})
	if err != nil {
		return err
	}
	for i := 0; len(o.Inputs) < *count; i++ {
		o.Inputs = append(o.Inputs, prepared[i%len(prepared)])
	}
	res, err := bench.Daemon(ctx, o)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(os.Stdout, res)
	}
	return bench.WriteDaemonMarkdown(os.Stdout, res)
}
