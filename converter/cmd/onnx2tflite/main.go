// Command onnx2tflite converts an ONNX image-to-image model to TFLite in
// pure Go:
//
//	onnx2tflite [flags] IN.onnx OUT.tflite
//
// --input-shape fixes the input size, --summary prints the operator
// histogram, parameters, MACs and the ops XNNPACK cannot take, --verify
// compares the result with ONNX Runtime (npm onnxruntime-node, see `make
// converter-deps`) on random inputs and on --verify-images, and --int8
// --calib DIR quantizes the result (package converter/quantize). Progress
// and timings go to stderr; any failure exits non-zero with a one-line
// reason.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/animed/animed/converter"
	"github.com/animed/animed/converter/onnx"
	"github.com/animed/animed/converter/verify"
)

// config holds the parsed flags.
type config struct {
	in, out      string
	inputShape   []int
	summary      bool
	verify       bool
	verifyImages []string
	verifyCount  int
	verifyRuns   int
	tolerance    float64
	plainMean    bool
	verbose      bool
	quiet        bool
}

// step transforms the converted model before it is written. The INT8
// quantizer plugs in here (see quantize.go): its flags are registered by
// quantizeFlags and its step runs after FP32 conversion and verification,
// so --verify checks the FP32 conversion and --summary shows the written
// (INT8) model.
type step func(ctx context.Context, res *converter.Result, env *env) error

// env is what a step may use.
type env struct {
	log    *slog.Logger
	stderr io.Writer
	cfg    *config
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "onnx2tflite: %s\n", oneLine(err))
		}
		os.Exit(1)
	}
}

func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}

func parseShape(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	sep := ","
	if !strings.Contains(s, ",") {
		sep = "x" // 256x256
	}
	for _, p := range strings.Split(s, sep) {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad --input-shape %q: want positive integers like 1,3,256,256", s)
		}
		out = append(out, v)
	}
	if len(out) == 2 { // H,W: an NCHW RGB image
		out = []int{1, 3, out[0], out[1]}
	}
	return out, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("onnx2tflite", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	var shape string
	fs.StringVar(&shape, "input-shape", "", "input shape in ONNX order, e.g. 1,3,256,256 (or HxW for a [1,3,H,W] input)")
	fs.BoolVar(&cfg.summary, "summary", false, "print operator histogram, parameters, MACs and ops XNNPACK cannot take")
	fs.BoolVar(&cfg.verify, "verify", false, "compare the converted model with ONNX Runtime")
	fs.StringSliceVar(&cfg.verifyImages, "verify-images", nil, "image files or folders to verify on (with --verify)")
	fs.IntVar(&cfg.verifyCount, "verify-image-count", 8, "use at most this many of the --verify-images (evenly spread)")
	fs.IntVar(&cfg.verifyRuns, "verify-runs", 3, "random [-1,1] inputs to verify on (with --verify)")
	fs.Float64Var(&cfg.tolerance, "tolerance", 1e-4, "largest max-abs difference --verify accepts")
	fs.BoolVar(&cfg.plainMean, "plain-mean", false, "lower channel means of norms as MEAN (default: MEAN over H,W + 1x1 CONV_2D, which XNNPACK takes)")
	fs.BoolVarP(&cfg.verbose, "verbose", "v", false, "log every pass")
	fs.BoolVarP(&cfg.quiet, "quiet", "q", false, "no progress output")
	quantize := quantizeFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: onnx2tflite [flags] IN.onnx OUT.tflite\n\n%s", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("need IN.onnx and OUT.tflite, got %d arguments", fs.NArg())
	}
	cfg.in, cfg.out = fs.Arg(0), fs.Arg(1)
	var err error
	if cfg.inputShape, err = parseShape(shape); err != nil {
		return err
	}
	level := slog.LevelInfo
	switch {
	case cfg.verbose:
		level = slog.LevelDebug
	case cfg.quiet:
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	e := &env{log: log, stderr: stderr, cfg: &cfg}
	q, err := quantize()
	if err != nil {
		return err
	}
	cfg.plainMean = cfg.plainMean || q.plainMean

	t0 := time.Now()
	g, err := onnx.LoadFile(cfg.in)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	log.Info("loaded", "file", cfg.in, "nodes", len(g.Nodes), "opset", g.Opset, "took", time.Since(t0).Round(time.Millisecond))
	t := time.Now()
	res, err := converter.Convert(g, converter.Options{InputShape: cfg.inputShape, PlainMean: cfg.plainMean, Logger: log})
	if err != nil {
		return fmt.Errorf("convert %s: %w", cfg.in, err)
	}
	log.Info("converted", "ops", len(res.Graph.Nodes), "resizable", res.Info.Resizable, "took", time.Since(t).Round(time.Millisecond))
	if cfg.verify {
		if err := verifyModel(ctx, e, res); err != nil {
			return err
		}
	}
	if q.step != nil {
		t := time.Now()
		if err := q.step(ctx, res, e); err != nil {
			return err
		}
		log.Info("quantized", "took", time.Since(t).Round(time.Millisecond))
	}
	data, err := res.Model.Marshal()
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := writeFile(cfg.out, data); err != nil {
		return err
	}
	log.Info("wrote", "file", cfg.out, "bytes", len(data), "total", time.Since(t0).Round(time.Millisecond))
	if cfg.summary {
		converter.Summarize(res.Model).Write(stdout)
	}
	return nil
}

// writeFile writes atomically: a temporary file renamed into place.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func verifyModel(ctx context.Context, e *env, res *converter.Result) error {
	cfg := e.cfg
	ort, err := verify.FindORT()
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	inputs := verify.RandomInputs(res, cfg.verifyRuns, 1)
	if len(cfg.verifyImages) > 0 {
		paths, err := verify.ImagePaths(cfg.verifyImages)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		if len(paths) == 0 {
			return fmt.Errorf("verify: no JPEG or PNG images in %v", cfg.verifyImages)
		}
		if n := cfg.verifyCount; n > 0 && len(paths) > n {
			picked := make([]string, n)
			for i := range picked {
				picked[i] = paths[i*len(paths)/n]
			}
			paths = picked
		}
		imgs, err := verify.ImageInputs(res, paths)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		inputs = append(inputs, imgs...)
	}
	t := time.Now()
	backends, closeAll, err := verifyBackends(res, e)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer closeAll()
	rep, err := verify.Check(ctx, ort, cfg.in, res, inputs, backends...)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	for _, b := range backends {
		m := rep.MaxAbs[b.Name]
		e.log.Info("verified", "backend", b.Name, "inputs", rep.Runs, "max_abs_error", fmt.Sprintf("%.3g", m), "took", time.Since(t).Round(time.Millisecond))
		if m > cfg.tolerance {
			return fmt.Errorf("verify: %s differs from ONNX Runtime by %.3g (max abs) > tolerance %g", b.Name, m, cfg.tolerance)
		}
	}
	return nil
}
