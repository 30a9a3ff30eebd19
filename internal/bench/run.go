package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/animed/animed/converter/tflitefile"
	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/models"
)

// Options configure Run.
type Options struct {
	// Models are model paths or DefaultModel; default: just DefaultModel.
	// A name may end in @N (e.g. teacher.tflite@256) to measure that model
	// at that one size only.
	Models []string
	// Sizes are square input sides; default 256, 512, 1024. A resizable
	// model is resized to each; a rescalable one (constant resize sizes,
	// see tflitefile.ScaleInput) is rewritten for each, as animed does; any
	// other runs only at its own size.
	Sizes []int
	// Threads for TFLite; <= 0: one per CPU this process may use.
	Threads int
	// Runs caps the timed runs per measurement (default 20); MaxTime caps
	// their total time (default 10s). At least one timed run is made.
	Runs    int
	MaxTime time.Duration
	// Warmup runs per measurement, excluded from the timings (default 1;
	// negative: none).
	Warmup int
	// Backends to time; default XNNPACK then CPU (builtin kernels).
	Backends []tflite.Backend
	// JSON writes a Report as JSON instead of the Markdown tables.
	JSON bool
	// Progress receives one line per step (e.g. os.Stderr); nil: silent.
	Progress io.Writer
	// Child is the command line that reaches ChildMain, without the job's
	// flags; default: this executable followed by ChildCommand.
	Child []string
	// ChildEnv is added to the children's environment.
	ChildEnv []string
}

// Machine describes where the numbers come from.
type Machine struct {
	CPU       string `json:"cpu"`
	CPUs      int    `json:"cpus"` // CPUs this process may use
	Arch      string `json:"arch"`
	Kernel    string `json:"kernel"`
	TFLite    string `json:"tflite"`
	GoVersion string `json:"go"`
	Date      string `json:"date"` // RFC 3339, UTC
	Load      string `json:"load"` // /proc/loadavg at the start
}

// Row is one model at one size.
type Row struct {
	Model string `json:"model"`
	Stats Stats  `json:"stats"`
	// StatsErr says why MACs could not be counted at this size.
	StatsErr  string `json:"stats_error,omitempty"`
	Resizable bool   `json:"resizable"`
	// Rescaled: the model was rewritten for this size (tflitefile.ScaleInput).
	Rescaled bool `json:"rescaled,omitempty"`
	// Results holds one measurement per backend, in Options.Backends order.
	Results []ChildResult `json:"results"`
	// Ratios compare this row with the first row of the same size.
	Ratios Ratios `json:"ratios"`
}

// Ratios compare a row with a base row: this/base for sizes, base/this for
// latency (a speed-up), from each row's first backend.
type Ratios struct {
	Base    string  `json:"base"`
	File    float64 `json:"file"`
	Params  float64 `json:"params"`
	MACs    float64 `json:"macs"`
	Speedup float64 `json:"speedup"`
	PeakRSS float64 `json:"peak_rss"`
}

// Report is the output of Run.
type Report struct {
	Machine Machine `json:"machine"`
	// DefaultName names the embedded model that DefaultModel rows ran.
	DefaultName string           `json:"default_name"`
	Threads     int              `json:"threads"`
	Backends    []tflite.Backend `json:"backends"`
	Limits      Limits           `json:"limits"`
	Rows        []Row            `json:"rows"`
	Skipped     []string         `json:"skipped,omitempty"`
}

func (o Options) withDefaults() (Options, error) {
	if len(o.Models) == 0 {
		o.Models = []string{DefaultModel}
	}
	if len(o.Sizes) == 0 {
		o.Sizes = []int{256, 512, 1024}
	}
	for _, s := range o.Sizes {
		if s < 4 || s > 8192 {
			return o, fmt.Errorf("bench: size %d out of range 4..8192", s)
		}
	}
	if o.Threads <= 0 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	if len(o.Backends) == 0 {
		o.Backends = []tflite.Backend{tflite.BackendXNNPACK, tflite.BackendCPU}
	}
	if len(o.Child) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("bench: find own executable for the child processes: %w", err)
		}
		o.Child = []string{exe, ChildCommand}
	}
	return o, nil
}

// Run measures every model at every size it supports, each backend in a
// fresh child process, and writes Markdown tables (or JSON) to w.
func Run(ctx context.Context, o Options, w io.Writer) error {
	rep, err := MeasureAll(ctx, o)
	if err != nil {
		return err
	}
	if o.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return WriteMarkdown(w, rep)
}

// MeasureAll is Run without the output: it returns the Report.
func MeasureAll(ctx context.Context, o Options) (*Report, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	lim := Limits{Warmup: o.Warmup, MaxRuns: o.Runs, MaxTime: o.MaxTime}.withDefaults()
	rep := &Report{Machine: DescribeMachine(), DefaultName: models.DefaultName(), Threads: o.Threads,
		Backends: o.Backends, Limits: lim}
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "bench: "+format+"\n", args...)
		}
	}
	for _, spec := range o.Models {
		name, only, err := splitModelSpec(spec)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		data, err := ReadModel(name)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		resizable, err := isResizable(data)
		if err != nil {
			return nil, fmt.Errorf("bench: %s: %w", name, err)
		}
		native, err := ModelStats(data, 0, 0)
		if err != nil {
			return nil, fmt.Errorf("bench: %s: %w", name, err)
		}
		rescalable := !resizable && isRescalable(data)
		sizes := o.Sizes
		if only > 0 {
			sizes = []int{only}
		}
		if !resizable && !rescalable {
			if native.NativeH != native.NativeW {
				return nil, fmt.Errorf("bench: %s: fixed input %dx%d is not square", name, native.NativeW, native.NativeH)
			}
			for _, s := range sizes {
				if s != native.NativeH {
					rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s at %d² (fixed input size %d²)", Label(name), s, native.NativeH))
				}
			}
			sizes = []int{native.NativeH}
		}
		for _, size := range sizes {
			row := Row{Model: Label(name), Resizable: resizable, Rescaled: rescalable && size != native.NativeH}
			st, err := statsAt(data, size, row.Rescaled)
			if err != nil {
				row.StatsErr = err.Error()
				st = native
				st.MACs, st.MACsByOp, st.H, st.W = 0, nil, size, size
			}
			row.Stats = st
			for _, b := range o.Backends {
				progress("%s at %d², %s, %d threads: up to %d runs or %s", row.Model, size, b, o.Threads, lim.MaxRuns, lim.MaxTime)
				job := childJob{model: name, size: size, rescale: row.Rescaled, threads: o.Threads, backend: b, lim: lim}
				if !resizable && !row.Rescaled {
					job.size = 0
				}
				res, err := runChild(ctx, o.Child, o.ChildEnv, job)
				if err != nil {
					return nil, fmt.Errorf("bench: %s at %d² on %s: %w", row.Model, size, b, err)
				}
				progress("  median %.1f ms, p90 %.1f ms (%d runs), load %.0f ms, peak RSS %.1f MB%s",
					res.Latency.Median, res.Latency.P90, res.Latency.Runs, res.LoadMs, float64(res.PeakRSSKB)/1024, fallbackNote(res))
				row.Results = append(row.Results, res)
			}
			rep.Rows = append(rep.Rows, row)
		}
	}
	computeRatios(rep.Rows)
	return rep, nil
}

func fallbackNote(r ChildResult) string {
	if r.Backend != r.Requested {
		return fmt.Sprintf(" (ran on %s: %s)", r.Backend, firstLine(r.Fallback))
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

// label is a short name for a model path.
func Label(name string) string {
	if name == DefaultModel {
		return DefaultModel
	}
	return filepath.Base(name)
}

// splitModelSpec splits "PATH@N" into PATH and N (0 without a suffix).
func splitModelSpec(spec string) (string, int, error) {
	i := strings.LastIndexByte(spec, '@')
	if i < 0 {
		return spec, 0, nil
	}
	n, err := strconv.Atoi(spec[i+1:])
	if err != nil || n <= 0 {
		return "", 0, fmt.Errorf("model %q: want PATH or PATH@SIZE", spec)
	}
	return spec[:i], n, nil
}

// isRescalable reports whether tflitefile.ScaleInput can rewrite the model
// for other input sizes (constant RESIZE/TRANSPOSE_CONV sizes).
func isRescalable(data []byte) bool {
	m, err := tflitefile.Parse(data)
	if err != nil {
		return false
	}
	return tflitefile.Scalable(m) == nil
}

// statsAt counts the model's MACs at size² (rewriting it first when rescaled).
func statsAt(data []byte, size int, rescaled bool) (Stats, error) {
	if !rescaled {
		return ModelStats(data, size, size)
	}
	scaled, err := tflitefile.ScaleInput(data, size, size)
	if err != nil {
		return Stats{}, err
	}
	return ModelStats(scaled, 0, 0)
}

func isResizable(data []byte) (bool, error) {
	m, err := tflite.NewModel(data)
	if err != nil {
		return false, err
	}
	defer m.Close()
	d, err := tflite.Describe(m)
	if err != nil {
		return false, err
	}
	return d.Resizable, nil
}

// computeRatios fills each row's Ratios against the first row of its size.
func computeRatios(rows []Row) {
	base := map[int]int{}
	for i := range rows {
		b, ok := base[rows[i].Stats.H]
		if !ok {
			b = i
			base[rows[i].Stats.H] = i
		}
		rows[i].Ratios = ratios(rows[b], rows[i])
	}
}

func ratios(base, r Row) Ratios {
	div := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	out := Ratios{
		Base:   fmt.Sprintf("%s at %d²", base.Model, base.Stats.H),
		File:   div(float64(r.Stats.FileBytes), float64(base.Stats.FileBytes)),
		Params: div(float64(r.Stats.Params), float64(base.Stats.Params)),
		MACs:   div(float64(r.Stats.MACs), float64(base.Stats.MACs)),
	}
	if len(base.Results) > 0 && len(r.Results) > 0 {
		out.Speedup = div(base.Results[0].Latency.Median, r.Results[0].Latency.Median)
		out.PeakRSS = div(float64(r.Results[0].PeakRSSKB), float64(base.Results[0].PeakRSSKB))
	}
	return out
}

// DescribeMachine reads the CPU model, CPU count, kernel and library
// versions of this machine.
func DescribeMachine() Machine {
	m := Machine{
		CPU:       cpuModel(),
		CPUs:      runtime.GOMAXPROCS(0),
		Arch:      runtime.GOARCH,
		TFLite:    tflite.Version(),
		GoVersion: runtime.Version(),
		Date:      time.Now().UTC().Format(time.RFC3339),
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.Load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return m
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name", "Model", "Hardware":
			return strings.TrimSpace(v)
		}
	}
	return "unknown (" + runtime.GOARCH + ")"
}
