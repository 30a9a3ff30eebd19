package main

import (
	"context"
	"strings"

	"github.com/spf13/pflag"

	"github.com/animed/animed/converter"
	"github.com/animed/animed/converter/quantize/calib"
)

// quantizer is what the INT8 flags decide before the conversion starts.
type quantizer struct {
	step step // nil: FP32 output
	// plainMean: keep channel means as MEAN, the pattern the quantizer's
	// "layernorm" float islands recognize.
	plainMean bool
}

// quantizeFlags registers the INT8 pass's flags (package converter/quantize:
// --int8, --calib, --calib-count, --calib-method, --io, --min-psnr,
// --report, --float-ops, ...) and returns a constructor that validates them.
func quantizeFlags(fs *pflag.FlagSet) func() (quantizer, error) {
	var f calib.Flags
	f.Register(fs)
	fs.IntVar(&f.Threads, "threads", 0, "interpreter threads for calibration and the quality gate (0: all CPUs)")
	return func() (quantizer, error) {
		if !f.Int8 {
			return quantizer{}, nil
		}
		if err := f.Validate(); err != nil {
			return quantizer{}, err
		}
		q := quantizer{step: func(ctx context.Context, res *converter.Result, e *env) error {
			m, _, err := f.Run(ctx, res.Model, e.stderr)
			if err != nil {
				return err
			}
			res.Model = m
			return nil
		}}
		for _, op := range f.FloatOps {
			if strings.EqualFold(strings.TrimSpace(op), "layernorm") {
				q.plainMean = true
			}
		}
		return q, nil
	}
}
