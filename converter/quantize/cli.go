package quantize

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	tfl "github.com/animed/animed/converter/tflitefile"
	"github.com/animed/animed/internal/progress"
	"github.com/animed/animed/internal/tflite"
	"github.com/spf13/pflag"
)

// Flags are the command-line settings of the INT8 pass, shared by
// onnx2tflite (--int8) and tflite-quantize.
type Flags struct {
	Int8       bool
	CalibDir   string
	GateDir    string
	CalibCount int
	GateCount  int
	Method     string
	Percentile float64
	Seed       int64
	IO         string
	MinPSNR    float64
	Report     string
	FloatOps   []string
	Threads    int
}

// Register adds the flags to fs.
func (f *Flags) Register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.Int8, "int8", false, "quantize to full INT8 (post-training, calibrated on --calib images)")
	fs.StringVar(&f.CalibDir, "calib", "", "folder of calibration photos (JPEG/PNG, searched recursively)")
	fs.StringVar(&f.GateDir, "gate", "", "folder of photos for the quality gate (default: held-back photos of --calib)")
	fs.IntVar(&f.CalibCount, "calib-count", 32, "number of calibration images (random crops of the photos)")
	fs.IntVar(&f.GateCount, "gate-count", 8, "further images held back for the quality gate")
	fs.StringVar(&f.Method, "calib-method", string(Percentile), "activation range method: minmax, percentile or mse")
	fs.Float64Var(&f.Percentile, "calib-percentile", 99.99, "percentile kept by --calib-method percentile")
	fs.Int64Var(&f.Seed, "calib-seed", 1, "seed of the image choice, crops and sampling")
	fs.StringVar(&f.IO, "io", string(IOFloat), "input/output type: float (QUANTIZE/DEQUANTIZE at the ends) or int8 (feed pixel-128)")
	fs.Float64Var(&f.MinPSNR, "min-psnr", 30, "refuse to write a model whose output PSNR against FP32 is below this (dB); 0 disables")
	fs.StringVar(&f.Report, "report", "", "write a JSON quality report (metrics, per-layer error) to this file")
	fs.StringSliceVar(&f.FloatOps, "float-ops", nil, "operators kept float32 (e.g. RSQRT,MEAN or layernorm); needed for ops without INT8 kernels")
}

// Report is the JSON quality report of one quantization.
type Report struct {
	Method       string        `json:"calib_method"`
	Percentile   float64       `json:"calib_percentile,omitempty"`
	Seed         int64         `json:"calib_seed"`
	CalibImages  int           `json:"calib_images"`
	GateImages   int           `json:"gate_images"`
	IO           IO            `json:"io"`
	FP32Bytes    int           `json:"fp32_bytes"`
	INT8Bytes    int           `json:"int8_bytes"`
	Output       Metrics       `json:"output"`
	MinPSNR      float64       `json:"min_psnr_db"`
	Passed       bool          `json:"passed"`
	Layers       []LayerError  `json:"layers"`
	FloatIslands []Island      `json:"float_islands"`
	Requantized  []string      `json:"requantized"`
	Undelegated  []Undelegated `json:"xnnpack_undelegated"`
	Warnings     []string      `json:"warnings"`
	Seconds      float64       `json:"seconds"`
}

// ErrGate is returned when the quantized model misses --min-psnr.
var ErrGate = errors.New("quality gate failed")

// Validate checks the flags without touching any file, so a command can
// fail before a long conversion.
func (f *Flags) Validate() error {
	_, err := f.settings()
	return err
}

type settings struct {
	floatOps  []tfl.BuiltinOp
	floatNorm bool
	io        IO
	method    Method
}

func (f *Flags) settings() (settings, error) {
	var s settings
	if f.CalibDir == "" {
		return s, errors.New("int8: --calib DIR is required (a folder of photos for calibration)")
	}
	if f.CalibCount < 1 {
		return s, fmt.Errorf("int8: --calib-count %d: need at least 1", f.CalibCount)
	}
	if f.GateCount < 1 {
		return s, fmt.Errorf("int8: --gate-count %d: need at least 1", f.GateCount)
	}
	var err error
	if s.floatOps, s.floatNorm, err = ParseOps(f.FloatOps); err != nil {
		return s, fmt.Errorf("int8: --float-ops: %w", err)
	}
	s.io = IO(f.IO)
	if s.io != IOFloat && s.io != IOInt8 {
		return s, fmt.Errorf("int8: --io %q: want float or int8", f.IO)
	}
	s.method = Method(f.Method)
	if s.method != MinMax && s.method != Percentile && s.method != MSE {
		return s, fmt.Errorf("int8: --calib-method %q: want minmax, percentile or mse", f.Method)
	}
	if s.method == Percentile && !(f.Percentile > 50 && f.Percentile <= 100) {
		return s, fmt.Errorf("int8: --calib-percentile %g: want a value in (50, 100]", f.Percentile)
	}
	return s, nil
}

// Run calibrates and quantizes the FP32 model m as the flags say, measures
// the result on held-back images, writes the report if asked, and returns
// the INT8 model. It returns an error wrapping ErrGate (and no model, but
// the report) when the output PSNR is below MinPSNR. Progress goes to w.
func (f *Flags) Run(ctx context.Context, m *tfl.Model, w io.Writer) (*tfl.Model, *Report, error) {
	start := time.Now()
	s, err := f.settings()
	if err != nil {
		return nil, nil, err
	}
	floatOps, floatNorm, io, method := s.floatOps, s.floatNorm, s.io, s.method
	if len(m.Subgraphs) == 0 || len(m.Main().Inputs) != 1 {
		return nil, nil, errors.New("int8: the model must have one image input")
	}
	in := m.Main().Tensors[m.Main().Inputs[0]]
	if len(in.Shape) != 4 || in.Shape[3] != 3 || in.Shape[1] <= 0 || in.Shape[2] <= 0 {
		return nil, nil, fmt.Errorf("int8: input %s has shape %v, want [1,H,W,3]", in.Name, in.Shape)
	}
	h, wd := int(in.Shape[1]), int(in.Shape[2])
	files, err := FindImages(f.CalibDir)
	if err != nil {
		return nil, nil, fmt.Errorf("int8: %w", err)
	}
	fmt.Fprintf(w, "int8: %d photos in %s; %d calibration + %d gate crops of %dx%d (seed %d)\n",
		len(files), f.CalibDir, f.CalibCount, f.GateCount, wd, h, f.Seed)
	imgs, err := LoadImages(files, f.CalibCount+f.GateCount, h, wd, f.Seed)
	if err != nil {
		return nil, nil, fmt.Errorf("int8: %w", err)
	}
	calib, gate := imgs[:f.CalibCount], imgs[f.CalibCount:]
	if f.GateDir != "" {
		gfiles, err := FindImages(f.GateDir)
		if err != nil {
			return nil, nil, fmt.Errorf("int8: --gate: %w", err)
		}
		if gate, err = LoadImages(gfiles, f.GateCount, h, wd, f.Seed+1); err != nil {
			return nil, nil, fmt.Errorf("int8: --gate: %w", err)
		}
	}
	bar := progress.New(w, "calibrate: images") // nil off a terminal
	co := CalibOptions{Threads: f.Threads, Seed: f.Seed, Progress: w, Step: bar.Update}
	if bar != nil {
		co.Progress = nil // the bar replaces the line per image
	}
	st, err := Calibrate(ctx, m, calib, co)
	bar.Finish()
	if err != nil {
		return nil, nil, fmt.Errorf("int8: %w", err)
	}
	ranges, err := st.Ranges(method, f.Percentile)
	if err != nil {
		return nil, nil, fmt.Errorf("int8: %w", err)
	}
	log := slog.New(slog.NewTextHandler(w, nil))
	res, err := Quantize(m, Options{Ranges: ranges, IO: io, FloatOps: floatOps, FloatLayerNorm: floatNorm, Logger: log})
	if err != nil {
		return nil, nil, fmt.Errorf("int8: %w", err)
	}
	fp32, err := m.Marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("int8: %w", err)
	}
	q, err := res.Model.Marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("int8: %w", err)
	}
	met, err := Compare(ctx, fp32, q, gate, RunOptions{Threads: f.Threads, Backend: tflite.BackendXNNPACK})
	if err != nil {
		return nil, nil, fmt.Errorf("int8: quality gate: %w", err)
	}
	layers, err := LayerErrors(ctx, m, res.Model, gate[0], f.Threads)
	if err != nil {
		return nil, nil, fmt.Errorf("int8: per-layer error: %w", err)
	}
	rep := &Report{Method: string(method), Seed: f.Seed, CalibImages: len(calib), GateImages: len(gate), IO: io,
		FP32Bytes: len(fp32), INT8Bytes: len(q), Output: met, MinPSNR: f.MinPSNR, Layers: layers,
		FloatIslands: res.FloatIslands, Requantized: res.Requantized, Undelegated: UndelegatedOps(res.Model),
		Warnings: res.Warnings}
	if method == Percentile {
		rep.Percentile = f.Percentile
	}
	if rep.FloatIslands == nil {
		rep.FloatIslands = []Island{}
	}
	if rep.Requantized == nil {
		rep.Requantized = []string{}
	}
	if rep.Undelegated == nil {
		rep.Undelegated = []Undelegated{}
	}
	if rep.Warnings == nil {
		rep.Warnings = []string{}
	}
	rep.Passed = f.MinPSNR <= 0 || met.PSNR >= f.MinPSNR
	rep.Seconds = time.Since(start).Seconds()
	fmt.Fprintf(w, "int8: %d -> %d bytes; INT8 vs FP32 on %d held-back images: %v\n", len(fp32), len(q), len(gate), met)
	fmt.Fprintf(w, "int8: layers with the most error (SNR against FP32, one image):\n%s", WorstLayers(layers, 5))
	if len(res.FloatIslands) > 0 {
		fmt.Fprintf(w, "int8: WARNING: %d float islands left (see the report)\n", len(res.FloatIslands))
	}
	if len(rep.Undelegated) > 0 {
		fmt.Fprintf(w, "int8: XNNPACK 2.9 cannot take %d operators: %s\n", len(rep.Undelegated), SummarizeUndelegated(rep.Undelegated))
	}
	if f.Report != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return nil, nil, fmt.Errorf("int8: report: %w", err)
		}
		if err := os.WriteFile(f.Report, append(data, '\n'), 0o644); err != nil {
			return nil, nil, fmt.Errorf("int8: report: %w", err)
		}
	}
	if !rep.Passed {
		return nil, rep, fmt.Errorf("int8: %w: output PSNR %.2f dB is below --min-psnr %.2f dB; model not written (try more --calib-count, another --calib-method, or --float-ops; see --report)",
			ErrGate, met.PSNR, f.MinPSNR)
	}
	return res.Model, rep, nil
}
