package quantize

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand"
	"slices"
	"time"

	tfl "github.com/animed/animed/converter/tflitefile"
	"github.com/animed/animed/internal/tflite"
)

// Method chooses an activation range from calibration statistics.
type Method string

const (
	// MinMax takes the smallest and largest value seen.
	MinMax Method = "minmax"
	// Percentile clips to the given percentile at both ends (default
	// 99.99), ignoring rare outliers.
	Percentile Method = "percentile"
	// MSE picks the clipping range that minimises the quantization error
	// of the sampled values.
	MSE Method = "mse"
)

// Instrument returns a copy of m whose main subgraph also outputs every
// intermediate float tensor (each operator output that is not already a
// graph output), so the C API can read them, and the indices of those
// tensors in output order (original outputs first).
func Instrument(m *tfl.Model) (*tfl.Model, []int32, error) {
	if len(m.Subgraphs) == 0 {
		return nil, nil, fmt.Errorf("instrument: model has no subgraph")
	}
	c := *m
	g := *m.Subgraphs[0]
	c.Subgraphs = append([]*tfl.Subgraph{&g}, m.Subgraphs[1:]...)
	outs := slices.Clone(g.Outputs)
	seen := map[int32]bool{}
	for _, t := range outs {
		seen[t] = true
	}
	for _, t := range g.Inputs {
		seen[t] = true
	}
	for _, op := range g.Operators {
		for _, t := range op.Outputs {
			if t < 0 || seen[t] {
				continue
			}
			typ := g.Tensors[t].Type
			if typ == tfl.Float32 || typ == tfl.Int8 || typ == tfl.Uint8 {
				seen[t] = true
				outs = append(outs, t)
			}
		}
	}
	g.Outputs = outs
	return &c, outs, nil
}

// CalibOptions configure Calibrate.
type CalibOptions struct {
	// Threads for the interpreter; <= 0 means all CPUs.
	Threads int
	// Backend runs the FP32 model; "" means XNNPACK.
	Backend tflite.Backend
	// SamplesPerImage is how many values per tensor and image are kept
	// for the percentile and MSE methods (min and max see every value);
	// 0 means 4096 (a 300-tensor model calibrated on 32 images keeps
	// about 160 MB of samples).
	SamplesPerImage int
	// Seed makes the sampling deterministic.
	Seed int64
	// Progress receives one line per image; nil means none.
	Progress io.Writer
	// Step, when set, is called after each image with the images done
	// and their count (a progress display).
	Step func(done, total int)
}

// Stats are per-tensor activation statistics gathered by Calibrate.
type Stats struct {
	Images  int
	Tensors map[int32]*TensorStats
}

// TensorStats describe the values one tensor took.
type TensorStats struct {
	Name     string
	Min, Max float32
	Samples  []float32 // a deterministic subsample of the values
	PerImage int       // values per image (the tensor's size)
}

// Calibrate runs the FP32 model on images and records the range of every
// intermediate float tensor (and the input's).
func Calibrate(ctx context.Context, m *tfl.Model, images []Image, o CalibOptions) (*Stats, error) {
	if len(images) == 0 {
		return nil, fmt.Errorf("calibrate: no images")
	}
	im, outs, err := Instrument(m)
	if err != nil {
		return nil, err
	}
	data, err := im.Marshal()
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	tm, err := tflite.NewModel(data)
	if err != nil {
		return nil, fmt.Errorf("calibrate: load instrumented model: %w", err)
	}
	defer tm.Close()
	it, err := tflite.NewInterpreter(tm, tflite.Options{Threads: o.Threads, Backend: o.Backend})
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	defer it.Close()
	if it.InputCount() != 1 {
		return nil, fmt.Errorf("calibrate: model has %d inputs, want 1 image input", it.InputCount())
	}
	if err := fitInput(it, images[0].H, images[0].W); err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	per := o.SamplesPerImage
	if per <= 0 {
		per = 4096
	}
	g := m.Subgraphs[0]
	st := &Stats{Tensors: map[int32]*TensorStats{}}
	watch := append(slices.Clone(g.Inputs), outs...)
	for _, t := range watch {
		st.Tensors[t] = &TensorStats{Name: g.Tensors[t].Name, Min: float32(math.Inf(1)), Max: float32(math.Inf(-1))}
	}
	start := time.Now()
	buf := []float32{}
	for n, img := range images {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := it.Input(0).SetFloat32(img.Float()); err != nil {
			return nil, fmt.Errorf("calibrate: image %s: %w", img.Source, err)
		}
		if err := it.Invoke(); err != nil {
			return nil, fmt.Errorf("calibrate: image %s: %w", img.Source, err)
		}
		r := rand.New(rand.NewSource(o.Seed + int64(n)*7919))
		record := func(t int32, tt *tflite.Tensor) error {
			if l := tt.Len(); cap(buf) < l {
				buf = make([]float32, l)
			}
			buf = buf[:tt.Len()]
			if err := tt.ReadFloat32(buf); err != nil {
				return err
			}
			s := st.Tensors[t]
			s.PerImage = len(buf)
			for _, v := range buf {
				if v < s.Min {
					s.Min = v
				}
				if v > s.Max {
					s.Max = v
				}
			}
			if len(buf) <= per {
				s.Samples = append(s.Samples, buf...)
				return nil
			}
			for range per {
				s.Samples = append(s.Samples, buf[r.Intn(len(buf))])
			}
			return nil
		}
		if err := record(g.Inputs[0], it.Input(0)); err != nil {
			return nil, fmt.Errorf("calibrate: %w", err)
		}
		for k, t := range outs {
			if err := record(t, it.Output(k)); err != nil {
				return nil, fmt.Errorf("calibrate: %w", err)
			}
		}
		st.Images++
		if o.Step != nil {
			o.Step(st.Images, len(images))
		}
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "calibrate: %d/%d images, %d tensors (%s)\n", n+1, len(images), len(watch), time.Since(start).Round(time.Millisecond))
		}
	}
	return st, nil
}

// fitInput resizes the interpreter's input to h×w when it differs.
func fitInput(it *tflite.Interpreter, h, w int) error {
	shape := it.Input(0).Shape()
	if len(shape) != 4 || shape[3] != 3 {
		return fmt.Errorf("input shape %v is not NHWC RGB", shape)
	}
	if shape[1] == h && shape[2] == w {
		return nil
	}
	if err := it.ResizeInput(0, []int{1, h, w, 3}); err != nil {
		return fmt.Errorf("resize input to %dx%d: %w", w, h, err)
	}
	return nil
}

// Ranges chooses a range for every recorded tensor. percentile is used by
// the Percentile method (e.g. 99.99).
func (s *Stats) Ranges(method Method, percentile float64) (map[int32]Range, error) {
	switch method {
	case MinMax, MSE:
	case Percentile:
		if !(percentile > 50 && percentile <= 100) {
			return nil, fmt.Errorf("percentile %g is not in (50, 100]", percentile)
		}
	default:
		return nil, fmt.Errorf("unknown calibration method %q (want minmax, percentile or mse)", method)
	}
	out := make(map[int32]Range, len(s.Tensors))
	for t, ts := range s.Tensors {
		if ts.Min > ts.Max { // never recorded
			continue
		}
		full := Range{ts.Min, ts.Max}
		if ts.PerImage > 0 && ts.PerImage <= smallTensor {
			out[t] = widen(full)
			continue
		}
		switch method {
		case MinMax:
			out[t] = full
		case Percentile:
			out[t] = percentileRange(ts.Samples, percentile, full)
		case MSE:
			out[t] = mseRange(ts.Samples, full)
		}
	}
	return out, nil
}

// smallTensor is the size up to which a tensor counts as a statistic
// (a norm's per-channel mean or variance, a pooled vector): it has only a
// few values per image, so calibration sees few samples of it and an
// unseen image easily falls outside their range. Such tensors get their
// minmax range widened by smallMargin of its width on each side that is
// not zero, whatever the method: clipping a statistic shifts a whole
// feature map.
const (
	smallTensor = 64
	smallMargin = 0.15
)

func widen(r Range) Range {
	w := r.Max - r.Min
	if r.Min < 0 {
		r.Min -= smallMargin * w
	}
	if r.Max > 0 {
		r.Max += smallMargin * w
	}
	return r
}

func percentileRange(samples []float32, p float64, full Range) Range {
	if len(samples) == 0 {
		return full
	}
	v := slices.Clone(samples)
	slices.Sort(v)
	at := func(q float64) float32 {
		i := int(math.Round(q * float64(len(v)-1)))
		return v[max(0, min(len(v)-1, i))]
	}
	return Range{at(1 - p/100), at(p / 100)}
}

// mseRange shrinks the full range by factors from 1 down to 0.3 and keeps
// the one whose int8 round trip of the samples has the least squared error.
func mseRange(samples []float32, full Range) Range {
	if len(samples) == 0 {
		return full
	}
	if len(samples) > 65536 {
		samples = samples[:65536]
	}
	best, bestErr := full, math.Inf(1)
	for k := 0; k <= 35; k++ {
		f := float32(1 - 0.02*float64(k))
		r := Range{full.Min * f, full.Max * f}
		p := ActivationParams(r)
		var e float64
		for _, v := range samples {
			q := p.Quantize(v)
			d := float64(v) - float64(p.Scale)*float64(int32(q)-p.ZeroPoint)
			e += d * d
		}
		if e < bestErr {
			best, bestErr = r, e
		}
	}
	return best
}
