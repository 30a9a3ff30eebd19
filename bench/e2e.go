package bench

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	_ "image/png" // photos may be PNG
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	xdraw "golang.org/x/image/draw"

	"github.com/animed/animed/converter/tflitefile"
	measure "github.com/animed/animed/internal/bench"
	"github.com/animed/animed/internal/tflite"
)

// E2EOptions configure EndToEnd.
type E2EOptions struct {
	Model   string // path or measure.DefaultModel
	Threads int
	// Photos are source images; each is scaled and centre-cropped to
	// Width x Height and stored as a JPEG before timing starts. Empty:
	// generated pictures.
	Photos        []string
	Width, Height int // default 1024 x 768
	Quality       int // JPEG quality of inputs and outputs; default 90
	// Count caps the timed photos (default 20) and MaxTime their total time
	// (default 20s); one warm-up photo comes first.
	Count   int
	MaxTime time.Duration
	Backend tflite.Backend
}

// Stages of EndToEnd, in order.
var Stages = []string{"decode", "preprocess", "infer", "postprocess", "encode"}

// E2EResult is the throughput of the photo pipeline.
type E2EResult struct {
	Model        string                     `json:"model"`
	Backend      tflite.Backend             `json:"backend"`
	Threads      int                        `json:"threads"`
	Width        int                        `json:"width"`
	Height       int                        `json:"height"`
	Photos       int                        `json:"photos"`
	PhotosPerSec float64                    `json:"photos_per_s"`
	Total        measure.Latency            `json:"total"`
	Stages       map[string]measure.Latency `json:"stages"`
	InBytes      int                        `json:"in_bytes_mean"`
	OutBytes     int                        `json:"out_bytes_mean"`
	PeakRSSKB    int64                      `json:"peak_rss_kb"`
	// HWMAfterKB is VmHWM after each stage of the warm-up photo (and
	// "load" after the model is ready): where the peak comes from.
	HWMAfterKB map[string]int64 `json:"hwm_after_kb"`
}

// EndToEnd runs JPEG bytes -> decode -> float NHWC -> model at the photo's
// own size -> pixels -> JPEG bytes, one photo after the other, and times
// each stage. The model must be resizable (the daemon tiles fixed-size
// models; that path is measured by the daemon's own benchmarks).
func EndToEnd(ctx context.Context, o E2EOptions) (E2EResult, error) {
	o = o.withDefaults()
	if o.Width%4 != 0 || o.Height%4 != 0 {
		return E2EResult{}, fmt.Errorf("e2e: %dx%d is not a multiple of 4", o.Width, o.Height)
	}
	inputs, err := PreparePhotos(o)
	if err != nil {
		return E2EResult{}, err
	}
	data, err := measure.ReadModel(o.Model)
	if err != nil {
		return E2EResult{}, fmt.Errorf("e2e: %w", err)
	}
	// The peak RSS should be the pipeline's, not the photo preparation's:
	// return the preparation's memory and reset VmHWM (Linux >= 4.0).
	debug.FreeOSMemory()
	resetPeakRSS()
	// A model whose upsampling sizes are constants runs at the photo's size
	// once they are rewritten, as the daemon does (internal/stylize).
	if scaled, err := tflitefile.ScaleInput(data, o.Height, o.Width); err == nil {
		data = scaled
	}
	m, err := tflite.NewModel(data)
	if err != nil {
		return E2EResult{}, fmt.Errorf("e2e: %w", err)
	}
	defer m.Close()
	it, err := tflite.NewInterpreter(m, tflite.Options{Threads: o.Threads, Backend: o.Backend,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return E2EResult{}, fmt.Errorf("e2e: %w", err)
	}
	defer it.Close()
	if err := it.ResizeInput(0, []int{1, o.Height, o.Width, 3}); err != nil {
		return E2EResult{}, fmt.Errorf("e2e: model cannot run at %dx%d: %w", o.Width, o.Height, err)
	}
	if s := it.Output(0).Shape(); len(s) != 4 || s[1] != o.Height || s[2] != o.Width || s[3] != 3 {
		return E2EResult{}, fmt.Errorf("e2e: output %v at input %dx%d: model is not resizable image-to-image", s, o.Width, o.Height)
	}
	buf := make([]float32, o.Width*o.Height*3)
	out := image.NewRGBA(image.Rect(0, 0, o.Width, o.Height))
	var enc bytes.Buffer
	stage := map[string][]time.Duration{}
	var totals []time.Duration
	var inBytes, outBytes int

	hwm := map[string]int64{"load": measure.ProcStatusKB("VmHWM")}
	mark := func(record bool, stage string) {
		if !record {
			hwm[stage] = measure.ProcStatusKB("VmHWM")
		}
	}
	one := func(jpg []byte, record bool) error {
		t0 := time.Now()
		src, err := jpeg.Decode(bytes.NewReader(jpg))
		if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		rgba, ok := src.(*image.RGBA)
		if !ok {
			rgba = image.NewRGBA(src.Bounds())
			draw.Draw(rgba, rgba.Bounds(), src, src.Bounds().Min, draw.Src)
		}
		t1 := time.Now()
		mark(record, "decode")
		if rgba.Bounds().Dx() != o.Width || rgba.Bounds().Dy() != o.Height {
			return fmt.Errorf("decoded %v, want %dx%d", rgba.Bounds(), o.Width, o.Height)
		}
		ToTensor(rgba, buf)
		t2 := time.Now()
		mark(record, "preprocess")
		if err := it.Input(0).SetFloat32(buf); err != nil {
			return err
		}
		if err := it.Invoke(); err != nil {
			return err
		}
		if err := it.Output(0).ReadFloat32(buf); err != nil {
			return err
		}
		t3 := time.Now()
		mark(record, "infer")
		FromTensor(buf, out)
		t4 := time.Now()
		mark(record, "postprocess")
		enc.Reset()
		if err := jpeg.Encode(&enc, out, &jpeg.Options{Quality: o.Quality}); err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		t5 := time.Now()
		mark(record, "encode")
		if record {
			ts := []time.Time{t0, t1, t2, t3, t4, t5}
			for i, name := range Stages {
				stage[name] = append(stage[name], ts[i+1].Sub(ts[i]))
			}
			totals = append(totals, t5.Sub(t0))
			inBytes += len(jpg)
			outBytes += enc.Len()
		}
		return nil
	}
	if err := one(inputs[0], false); err != nil { // warm-up
		return E2EResult{}, fmt.Errorf("e2e: %w", err)
	}
	begin := time.Now()
	for i := 0; i < o.Count && (i == 0 || time.Since(begin) < o.MaxTime); i++ {
		if err := ctx.Err(); err != nil {
			return E2EResult{}, err
		}
		if err := one(inputs[i%len(inputs)], true); err != nil {
			return E2EResult{}, fmt.Errorf("e2e: %w", err)
		}
	}
	elapsed := time.Since(begin)
	res := E2EResult{Model: measure.Label(o.Model), Backend: it.Backend(), Threads: it.Threads(), Width: o.Width, Height: o.Height,
		Photos: len(totals), PhotosPerSec: float64(len(totals)) / elapsed.Seconds(), Total: measure.Summarize(totals),
		Stages: map[string]measure.Latency{}, InBytes: inBytes / len(totals), OutBytes: outBytes / len(totals),
		PeakRSSKB: measure.ProcStatusKB("VmHWM"), HWMAfterKB: hwm}
	for name, s := range stage {
		res.Stages[name] = measure.Summarize(s)
	}
	return res, nil
}

func (o E2EOptions) withDefaults() E2EOptions {
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 1024, 768
	}
	if o.Quality <= 0 {
		o.Quality = 90
	}
	if o.Count <= 0 {
		o.Count = 20
	}
	if o.MaxTime <= 0 {
		o.MaxTime = 20 * time.Second
	}
	if o.Model == "" {
		o.Model = measure.DefaultModel
	}
	return o
}

// PreparePhotos turns o.Photos (or, when empty, one generated picture)
// into JPEGs of exactly o.Width x o.Height (scaled to cover, centre-cropped),
// as EndToEnd feeds them (default 1024x768, quality 90).
func PreparePhotos(o E2EOptions) ([][]byte, error) {
	o = o.withDefaults()
	var out [][]byte
	encode := func(img image.Image) error {
		dst := image.NewRGBA(image.Rect(0, 0, o.Width, o.Height))
		b := img.Bounds()
		// Scale to cover, then centre-crop.
		s := max(float64(o.Width)/float64(b.Dx()), float64(o.Height)/float64(b.Dy()))
		sw, sh := int(float64(b.Dx())*s+0.5), int(float64(b.Dy())*s+0.5)
		tmp := image.NewRGBA(image.Rect(0, 0, max(sw, o.Width), max(sh, o.Height)))
		xdraw.CatmullRom.Scale(tmp, image.Rect(0, 0, sw, sh), img, b, xdraw.Src, nil)
		off := image.Pt((tmp.Bounds().Dx()-o.Width)/2, (tmp.Bounds().Dy()-o.Height)/2)
		draw.Draw(dst, dst.Bounds(), tmp, off, draw.Src)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: o.Quality}); err != nil {
			return err
		}
		out = append(out, buf.Bytes())
		return nil
	}
	for _, p := range o.Photos {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("e2e: %w", err)
		}
		img, _, err := image.Decode(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("e2e: decode %s: %w", p, err)
		}
		if err := encode(img); err != nil {
			return nil, fmt.Errorf("e2e: %s: %w", p, err)
		}
	}
	if len(out) == 0 {
		img := image.NewRGBA(image.Rect(0, 0, o.Width, o.Height))
		FromTensor(measure.Pattern(o.Height, o.Width, 3), img)
		if err := encode(img); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// WriteE2EMarkdown writes the stage breakdown as a Markdown table.
func WriteE2EMarkdown(w io.Writer, r E2EResult) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s, %d threads, %dx%d JPEG in (%s mean) → JPEG out (%s mean), %d photos after 1 warm-up.\n\n",
		r.Model, r.Backend, r.Threads, r.Width, r.Height, measure.HumanBytes(int64(r.InBytes)), measure.HumanBytes(int64(r.OutBytes)), r.Photos)
	measure.TableRow(&b, []string{"Stage", "median ms", "p90 ms", "mean ms", "share of mean", "VmHWM after (1st photo) MB"})
	measure.TableRow(&b, []string{"---", "---:", "---:", "---:", "---:", "---:"})
	mb := func(kb int64) string { return fmt.Sprintf("%.1f", float64(kb)/1024) }
	measure.TableRow(&b, []string{"(model loaded)", "", "", "", "", mb(r.HWMAfterKB["load"])})
	for _, name := range Stages {
		s := r.Stages[name]
		measure.TableRow(&b, []string{name, measure.FormatMs(s.Median), measure.FormatMs(s.P90), measure.FormatMs(s.Mean), fmt.Sprintf("%.0f%%", 100*s.Mean/r.Total.Mean), mb(r.HWMAfterKB[name])})
	}
	measure.TableRow(&b, []string{"**total**", measure.FormatMs(r.Total.Median), measure.FormatMs(r.Total.P90), measure.FormatMs(r.Total.Mean), "100%", ""})
	fmt.Fprintf(&b, "\n**%.2f photos/s** end to end; peak RSS of the process %.1f MB.\n", r.PhotosPerSec, float64(r.PeakRSSKB)/1024)
	_, err := io.WriteString(w, b.String())
	return err
}

// resetPeakRSS resets this process's VmHWM to its current RSS.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}
