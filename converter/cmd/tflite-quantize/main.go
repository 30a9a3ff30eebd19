// Command tflite-quantize turns an FP32 .tflite image-to-image model into a
// fully INT8 one: it calibrates on a folder of photos, quantizes (see
// package converter/quantize), measures the INT8 output against FP32 on
// held-back photos and refuses to write a model below --min-psnr.
//
//	tflite-quantize --calib ../shared/photos [flags] IN.tflite OUT.tflite
//
// onnx2tflite --int8 runs the same pass with the same flags.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/animed/animed/converter/quantize/calib"
	tfl "github.com/animed/animed/internal/tflitefile"
	"github.com/spf13/pflag"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tflite-quantize:", err)
		if errors.Is(err, pflag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := pflag.NewFlagSet("tflite-quantize", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var f calib.Flags
	f.Register(fs)
	fs.IntVar(&f.Threads, "threads", 0, "interpreter threads (0: all CPUs)")
	_ = fs.MarkHidden("int8") // always on here
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tflite-quantize --calib DIR [flags] IN.tflite OUT.tflite")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return errors.New("need IN.tflite and OUT.tflite")
	}
	if err := f.Validate(); err != nil {
		return err
	}
	in, out := fs.Arg(0), fs.Arg(1)
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	m, err := tfl.Parse(data)
	if err != nil {
		return fmt.Errorf("read %s: %w", in, err)
	}
	qm, _, err := f.Run(ctx, m, stderr)
	if err != nil {
		return err
	}
	q, err := qm.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, q, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "tflite-quantize: wrote %s (%d bytes)\n", out, len(q))
	return nil
}
