package selftest

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/animed/animed/internal/tflite"
)

// Request is one candidate to try.
type Request struct {
	Model    []byte         // .tflite bytes
	Backend  tflite.Backend // cpu, xnnpack or external
	Delegate string         // plugin path for external
	Threads  int            // <= 0: one per CPU
	// AlsoThreads are further thread counts to time, each with its own
	// interpreter, after Threads.
	AlsoThreads []int
	Runs        int // timed runs after one warm-up; <= 0: 3
	// Size is the test image's height and width; 0 means the model's
	// native input size.
	Size int
	// Stage, when set, is told each stage before it starts, so that a
	// parent can say where a crashed child died.
	Stage func(string)
}

// Stages, in order.
const (
	StageDlopen = "dlopen"
	StageLoad   = "load"
	StageInvoke = "invoke"
	StageDone   = "done"
)

// Result is what one candidate did. Its JSON form is the protocol between
// the child and hw/backend.
type Result struct {
	Backend  string         `json:"backend"`            // requested
	Actual   tflite.Backend `json:"actual"`             // what ran (xnnpack may fall back to cpu)
	Fallback string         `json:"fallback,omitempty"` // why it fell back
	Delegate string         `json:"delegate,omitempty"`
	Threads  int            `json:"threads"`
	Shape    []int          `json:"shape,omitempty"` // output shape
	LoadMs   float64        `json:"load_ms"`
	RunMs    []float64      `json:"run_ms,omitempty"`
	// Output is the first output tensor as float32 little-endian, base64.
	Output string `json:"output,omitempty"`
	// Also holds the timings for Request.AlsoThreads.
	Also  []Timing `json:"also,omitempty"`
	Stage string   `json:"stage"`
	Error string   `json:"error,omitempty"`
}

// Timing is the same candidate with another thread count.
type Timing struct {
	Threads int       `json:"threads"`
	RunMs   []float64 `json:"run_ms"`
	// MaxDiff is the largest difference from Result.Output.
	MaxDiff float64 `json:"max_diff"`
}

// Median returns the median run time in milliseconds.
func (t Timing) Median() float64 { return median(t.RunMs) }

// Floats decodes Output.
func (r Result) Floats() ([]float32, error) {
	raw, err := base64.StdEncoding.DecodeString(r.Output)
	if err != nil {
		return nil, fmt.Errorf("selftest output: %w", err)
	}
	if len(raw)%4 != 0 {
		return nil, fmt.Errorf("selftest output: %d bytes is not float32s", len(raw))
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}

func encodeFloats(f []float32) string {
	raw := make([]byte, 4*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// Median returns the median run time in milliseconds, or 0 without runs.
func (r Result) Median() float64 { return median(r.RunMs) }

func median(ms []float64) float64 {
	if len(ms) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ms))
	return s[len(s)/2]
}

// Run tries the candidate in this process. Errors are returned and also
// recorded in the Result with the stage they happened in.
func Run(ctx context.Context, req Request) (res Result, err error) {
	res = Result{Backend: string(req.Backend), Delegate: req.Delegate, Threads: req.Threads}
	stage := func(s string) {
		res.Stage = s
		if req.Stage != nil {
			req.Stage(s)
		}
	}
	defer func() {
		if err != nil {
			res.Error = err.Error()
		}
	}()
	if req.Runs <= 0 {
		req.Runs = 3
	}
	if req.Backend == tflite.BackendExternal {
		stage(StageDlopen)
		if err := CheckLoad(req.Delegate); err != nil {
			return res, err
		}
	}

	stage(StageLoad)
	start := time.Now()
	m, err := tflite.NewModel(req.Model)
	if err != nil {
		return res, err
	}
	defer m.Close()
	it, err := newSession(m, req, req.Threads)
	if err != nil {
		return res, err
	}
	defer it.Close()
	res.Actual, res.Fallback, res.Threads = it.Backend(), it.FallbackReason(), it.Threads()
	res.LoadMs = ms(time.Since(start))

	stage(StageInvoke)
	out, runs, err := timeRuns(ctx, it, req.Runs)
	if err != nil {
		return res, err
	}
	res.RunMs, res.Shape = runs, it.Output(0).Shape()
	for _, n := range req.AlsoThreads {
		other, err := newSession(m, req, n)
		if err != nil {
			return res, fmt.Errorf("%d threads: %w", n, err)
		}
		o, runs, err := timeRuns(ctx, other, req.Runs)
		t := Timing{Threads: other.Threads(), RunMs: runs}
		other.Close()
		if err != nil {
			return res, fmt.Errorf("%d threads: %w", n, err)
		}
		for i := range min(len(o), len(out)) {
			t.MaxDiff = math.Max(t.MaxDiff, math.Abs(float64(o[i]-out[i])))
		}
		if len(o) != len(out) {
			t.MaxDiff = math.Inf(1)
		}
		res.Also = append(res.Also, t)
	}
	res.Output = encodeFloats(out)
	stage(StageDone)
	return res, nil
}

// newSession builds an interpreter for the request with n threads and
// sets its input to the test image.
func newSession(m *tflite.Model, req Request, n int) (*tflite.Interpreter, error) {
	it, err := tflite.NewInterpreter(m, tflite.Options{
		Threads:          n,
		Backend:          req.Backend,
		ExternalDelegate: req.Delegate,
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*tflite.Interpreter, error) {
		it.Close()
		return nil, err
	}
	if it.InputCount() != 1 || it.OutputCount() < 1 {
		return fail(fmt.Errorf("model has %d inputs and %d outputs, want an image-to-image model", it.InputCount(), it.OutputCount()))
	}
	shape := it.Input(0).Shape()
	if len(shape) != 4 || shape[3] != 3 {
		return fail(fmt.Errorf("model input shape %v, want [1,H,W,3]", shape))
	}
	if req.Size > 0 && (shape[1] != req.Size || shape[2] != req.Size) {
		shape = []int{1, req.Size, req.Size, 3}
		if err := it.ResizeInput(0, shape); err != nil {
			return fail(err)
		}
	}
	if err := it.Input(0).SetFloat32(TestImage(shape[1], shape[2])); err != nil {
		return fail(err)
	}
	return it, nil
}

// timeRuns invokes it once to warm up, then runs times, and returns the
// first output and the run times.
func timeRuns(ctx context.Context, it *tflite.Interpreter, runs int) ([]float32, []float64, error) {
	var times []float64
	for i := 0; i <= runs; i++ { // run 0 warms up
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		t := time.Now()
		if err := it.Invoke(); err != nil {
			return nil, nil, err
		}
		if i > 0 {
			times = append(times, ms(time.Since(t)))
		}
	}
	out := it.Output(0)
	buf := make([]float32, out.Len())
	if err := out.ReadFloat32(buf); err != nil {
		return nil, nil, err
	}
	return buf, times, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// TestImage returns the fixed NHWC [1,h,w,3] test image in [-1,1]: smooth
// gradients, a hard-edged disc and fine stripes, so that a delegate that
// gets edges, colours or borders wrong shows up in the comparison.
func TestImage(h, w int) []float32 {
	img := make([]float32, h*w*3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			u, v := float64(x)/float64(max(w-1, 1)), float64(y)/float64(max(h-1, 1))
			dx, dy := u-0.6, v-0.4
			disc := 0.0
			if dx*dx+dy*dy < 0.06 {
				disc = 0.7
			}
			stripe := 0.25 * math.Sin(float64(x+2*y)*0.9)
			rgb := [3]float64{
				2*u - 1 + disc,
				math.Sin(3*v+1) + stripe,
				0.8*math.Cos(5*u*v) - disc,
			}
			for c, val := range rgb {
				img[(y*w+x)*3+c] = float32(math.Max(-1, math.Min(1, val)))
			}
		}
	}
	return img
}
