package main

import "github.com/spf13/pflag"

// quantizeFlags is the hook for the INT8 quantizer (--int8, --calib,
// --calib-count, --calib-method, --io, --min-psnr, --report, --float-ops):
// register its flags on fs and return a constructor that validates them
// and returns the step to run on the FP32 result (nil for FP32 output).
func quantizeFlags(fs *pflag.FlagSet) func() (step, error) {
	return func() (step, error) { return nil, nil }
}
