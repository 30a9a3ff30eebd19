package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/animed/animed/internal/tflite"
)

// Limits caps one latency measurement. Timed runs stop at MaxRuns or once
// MaxTime has passed, whichever comes first, but never before MinRuns.
// Warm-up runs come first and are not counted.
type Limits struct {
	Warmup  int           // untimed runs first; default 1
	MinRuns int           // default 1
	MaxRuns int           // default 20
	MaxTime time.Duration // default 10s
}

func (l Limits) withDefaults() Limits {
	if l.Warmup < 0 {
		l.Warmup = 0
	} else if l.Warmup == 0 {
		l.Warmup = 1
	}
	if l.MinRuns <= 0 {
		l.MinRuns = 1
	}
	if l.MaxRuns <= 0 {
		l.MaxRuns = 20
	}
	l.MinRuns = min(l.MinRuns, l.MaxRuns)
	if l.MaxTime <= 0 {
		l.MaxTime = 10 * time.Second
	}
	return l
}

// Latency summarizes timed runs, in milliseconds.
type Latency struct {
	Runs   int     `json:"runs"`
	Median float64 `json:"median_ms"`
	P90    float64 `json:"p90_ms"`
	Min    float64 `json:"min_ms"`
	Mean   float64 `json:"mean_ms"`
}

// Summarize computes the median (mean of the middle two for an even count)
// and the nearest-rank 90th percentile of samples.
func Summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	ms := make([]float64, len(samples))
	var sum float64
	for i, d := range samples {
		ms[i] = float64(d) / float64(time.Millisecond)
		sum += ms[i]
	}
	slices.Sort(ms)
	n := len(ms)
	med := ms[n/2]
	if n%2 == 0 {
		med = (ms[n/2-1] + ms[n/2]) / 2
	}
	p90 := ms[int(math.Ceil(0.9*float64(n)))-1]
	return Latency{Runs: n, Median: med, P90: p90, Min: ms[0], Mean: sum / float64(n)}
}

// Measurement is one model run at one size on one backend.
type Measurement struct {
	Requested tflite.Backend `json:"requested_backend"`
	Backend   tflite.Backend `json:"backend"`            // what really ran
	Fallback  string         `json:"fallback,omitempty"` // why XNNPACK was not used
	Threads   int            `json:"threads"`
	LoadMs    float64        `json:"load_ms"`  // model + interpreter + tensors at the size
	FirstMs   float64        `json:"first_ms"` // first (warm-up) invoke
	Latency   Latency        `json:"latency"`
}

// Measure loads data, sizes the input to h x w (0: the model's own size),
// fills it with a photo-like pattern and times Invoke within lim.
func Measure(ctx context.Context, data []byte, h, w int, o tflite.Options, lim Limits) (Measurement, error) {
	lim = lim.withDefaults()
	res := Measurement{Requested: o.Backend}
	if res.Requested == "" {
		res.Requested = tflite.BackendXNNPACK
	}
	start := time.Now()
	m, err := tflite.NewModel(data)
	if err != nil {
		return res, err
	}
	defer m.Close()
	it, err := tflite.NewInterpreter(m, o)
	if err != nil {
		return res, err
	}
	defer it.Close()
	if it.InputCount() != 1 {
		return res, fmt.Errorf("model has %d inputs, want 1", it.InputCount())
	}
	in := it.Input(0)
	shape := in.Shape()
	if len(shape) != 4 {
		return res, fmt.Errorf("input shape %v is not NHWC", shape)
	}
	if h > 0 && w > 0 && (shape[1] != h || shape[2] != w) {
		shape = []int{shape[0], h, w, shape[3]}
		if err := it.ResizeInput(0, shape); err != nil {
			return res, err
		}
		in = it.Input(0)
	}
	res.LoadMs = msSince(start)
	res.Backend, res.Fallback, res.Threads = it.Backend(), it.FallbackReason(), it.Threads()
	if err := in.SetFloat32(Pattern(shape[1], shape[2], shape[3])); err != nil {
		return res, err
	}
	samples, first, err := timeRuns(ctx, it.Invoke, lim)
	res.FirstMs = first
	res.Latency = Summarize(samples)
	return res, err
}

// timeRuns calls run lim.Warmup times untimed (returning the first one's
// duration), then times it until a limit is reached or ctx is done.
func timeRuns(ctx context.Context, run func() error, lim Limits) (samples []time.Duration, firstMs float64, err error) {
	for i := range lim.Warmup {
		t := time.Now()
		if err := run(); err != nil {
			return nil, 0, err
		}
		if i == 0 {
			firstMs = msSince(t)
		}
		if err := ctx.Err(); err != nil {
			return nil, firstMs, err
		}
	}
	begin := time.Now()
	for len(samples) < lim.MaxRuns && (len(samples) < lim.MinRuns || time.Since(begin) < lim.MaxTime) {
		if err := ctx.Err(); err != nil {
			return samples, firstMs, err
		}
		t := time.Now()
		if err := run(); err != nil {
			return samples, firstMs, err
		}
		samples = append(samples, time.Since(t))
	}
	return samples, firstMs, nil
}

func msSince(t time.Time) float64 { return float64(time.Since(t)) / float64(time.Millisecond) }

// Pattern returns a deterministic photo-like NHWC image in [-1, 1]: smooth
// gradients with texture, so quantized kernels see realistic ranges.
func Pattern(h, w, c int) []float32 {
	out := make([]float32, h*w*c)
	for y := range h {
		for x := range w {
			for k := range c {
				v := 0.6*math.Sin(float64(x)*0.031+float64(k)) + 0.3*math.Cos(float64(y)*0.047-float64(k)) +
					0.1*math.Sin(float64(x*y%97))
				out[(y*w+x)*c+k] = float32(v)
			}
		}
	}
	return out
}
