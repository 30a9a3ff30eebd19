package bench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	measure "github.com/animed/animed/internal/bench"
	"github.com/animed/animed/internal/pixels"
	"github.com/animed/animed/internal/tflite"
)

// PSNR returns the peak signal-to-noise ratio in dB of two equally long
// NHWC tensors in [-1, 1], with the peak at the [0, 1] pixel range (as
// models/distill/data.py computes it); +Inf for identical inputs.
func PSNR(a, b []float32) float64 {
	var sum float64
	for i := range a {
		d := (clamp1(a[i]) - clamp1(b[i])) / 2
		sum += d * d
	}
	mse := sum / float64(len(a))
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(1/mse)
}

func clamp1(v float32) float64 { return float64(max(-1, min(1, v))) }

// MaxPSNR caps the PSNR of identical images in QualityResult (JSON has
// no infinity).
const MaxPSNR = 100

// SSIM returns the mean structural similarity of the luma of two h x w
// NHWC RGB tensors in [-1, 1]: Gaussian window 11 with sigma 1.5, valid
// positions only, C1 = 0.01², C2 = 0.03² (as models/distill/data.py).
func SSIM(a, b []float32, h, w int) float64 {
	const k, sigma = 11, 1.5
	if h < k || w < k {
		return math.NaN()
	}
	var g [k]float64
	var gs float64
	for i := range g {
		d := float64(i - k/2)
		g[i] = math.Exp(-d * d / (2 * sigma * sigma))
		gs += g[i]
	}
	for i := range g {
		g[i] /= gs
	}
	luma := func(t []float32) []float64 {
		out := make([]float64, h*w)
		for i := range out {
			r, gg, bb := (clamp1(t[3*i])+1)/2, (clamp1(t[3*i+1])+1)/2, (clamp1(t[3*i+2])+1)/2
			out[i] = 0.299*r + 0.587*gg + 0.114*bb
		}
		return out
	}
	x, y := luma(a), luma(b)
	// Separable valid filtering of x, y, x², y², xy.
	oh, ow := h-k+1, w-k+1
	filter := func(f func(i int) float64) []float64 {
		tmp := make([]float64, h*ow)
		for r := range h {
			for c := range ow {
				var s float64
				for t := range k {
					s += g[t] * f(r*w+c+t)
				}
				tmp[r*ow+c] = s
			}
		}
		out := make([]float64, oh*ow)
		for r := range oh {
			for c := range ow {
				var s float64
				for t := range k {
					s += g[t] * tmp[(r+t)*ow+c]
				}
				out[r*ow+c] = s
			}
		}
		return out
	}
	mx := filter(func(i int) float64 { return x[i] })
	my := filter(func(i int) float64 { return y[i] })
	mxx := filter(func(i int) float64 { return x[i] * x[i] })
	myy := filter(func(i int) float64 { return y[i] * y[i] })
	mxy := filter(func(i int) float64 { return x[i] * y[i] })
	const c1, c2 = 0.01 * 0.01, 0.03 * 0.03
	var sum float64
	for i := range mx {
		sxx, syy, sxy := mxx[i]-mx[i]*mx[i], myy[i]-my[i]*my[i], mxy[i]-mx[i]*my[i]
		sum += ((2*mx[i]*my[i] + c1) * (2*sxy + c2)) / ((mx[i]*mx[i] + my[i]*my[i] + c1) * (sxx + syy + c2))
	}
	return sum / float64(len(mx))
}

// HeldOut lists the photos under root sorted by relative path and returns
// the held-out ones: those whose relative path (slash-separated) hashes, as
// the first 8 bytes of its SHA-256 read big-endian, to 0 modulo 10. That is
// models/distill/data.py's held_out; it depends on each photo's own path, so
// adding photos moves none across the split.
func HeldOut(root string) ([]string, error) {
	var all []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".jpg", ".jpeg", ".png", ".bmp", ".webp":
			if !d.IsDir() {
				all = append(all, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("held-out photos: %w", err)
	}
	slices.SortFunc(all, func(a, b string) int {
		ra, _ := filepath.Rel(root, a)
		rb, _ := filepath.Rel(root, b)
		return strings.Compare(ra, rb)
	})
	var held []string
	for _, p := range all {
		rel, _ := filepath.Rel(root, p)
		if heldOut(filepath.ToSlash(rel)) {
			held = append(held, p)
		}
	}
	if len(held) == 0 {
		return nil, fmt.Errorf("held-out photos: none of the %d photos under %s is held out", len(all), root)
	}
	return held, nil
}

func heldOut(rel string) bool {
	sum := sha256.Sum256([]byte(rel))
	return binary.BigEndian.Uint64(sum[:8])%10 == 0
}

// QualityOptions configure Quality.
type QualityOptions struct {
	Reference string   // the teacher: path
	Models    []string // students: paths or measure.DefaultModel
	Labels    []string // column names for Models; default the file names
	Photos    []string
	Size      int // square side, default 256
	Threads   int
	// Sheet, when set, receives a PNG contact sheet: one row per photo (at
	// most SheetRows, default 6), columns photo, reference, each model.
	Sheet     io.Writer
	SheetRows int
	Progress  io.Writer
}

// QualityResult holds mean PSNR/SSIM of each model against the reference;
// the first entry is the untouched photo (the floor).
type QualityResult struct {
	Size    int            `json:"size"`
	Photos  int            `json:"photos"`
	Entries []QualityEntry `json:"entries"`
}

// QualityEntry is one column of the comparison.
type QualityEntry struct {
	Label   string     `json:"label"`
	PSNR    float64    `json:"psnr_db"`
	SSIM    float64    `json:"ssim"`
	MinPSNR float64    `json:"min_psnr_db"`
	Lines   LineScores `json:"lines"` // mean over the photos
}

// Quality runs the reference and every model on each photo (scaled so its
// short side is Size and centre-cropped) and compares their outputs.
func Quality(ctx context.Context, o QualityOptions) (QualityResult, error) {
	if o.Size <= 0 {
		o.Size = 256
	}
	if o.SheetRows <= 0 {
		o.SheetRows = 6
	}
	if len(o.Photos) == 0 {
		return QualityResult{}, fmt.Errorf("quality: no photos")
	}
	labels := append([]string{"photo (floor)"}, o.Labels...)
	for i := len(o.Labels); i < len(o.Models); i++ {
		labels = append(labels, measure.Label(o.Models[i]))
	}
	names := append([]string{o.Reference}, o.Models...)
	var runners []*runner
	defer func() {
		for _, r := range runners {
			r.close()
		}
	}()
	for _, n := range names {
		r, err := newRunner(n, o.Size, o.Threads)
		if err != nil {
			return QualityResult{}, fmt.Errorf("quality: %s: %w", n, err)
		}
		runners = append(runners, r)
	}
	res := QualityResult{Size: o.Size}
	sums := make([]QualityEntry, len(labels))
	for i := range sums {
		sums[i] = QualityEntry{Label: labels[i], MinPSNR: math.Inf(1)}
	}
	var sheet []*image.RGBA // photo, reference, models... per row
	for pi, p := range o.Photos {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		img, err := loadSquare(p, o.Size)
		if err != nil {
			return res, fmt.Errorf("quality: %w", err)
		}
		in := make([]float32, o.Size*o.Size*3)
		pixels.ToTensor(img, in)
		outs := [][]float32{in}
		for _, r := range runners {
			out, err := r.run(in)
			if err != nil {
				return res, fmt.Errorf("quality: %s on %s: %w", r.name, p, err)
			}
			outs = append(outs, out)
		}
		ref := outs[1]
		cols := append([][]float32{outs[0]}, outs[2:]...)
		for i, c := range cols {
			ps := min(PSNR(c, ref), MaxPSNR)
			sums[i].PSNR += ps
			sums[i].SSIM += SSIM(c, ref, o.Size, o.Size)
			sums[i].MinPSNR = min(sums[i].MinPSNR, ps)
			l := Lines(c, ref, o.Size, o.Size)
			sums[i].Lines.Recall += l.Recall
			sums[i].Lines.Precision += l.Precision
			sums[i].Lines.F1 += l.F1
		}
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "quality: %d/%d %s\n", pi+1, len(o.Photos), filepath.Base(p))
		}
		if o.Sheet != nil && pi < o.SheetRows {
			for _, t := range outs {
				tile := image.NewRGBA(image.Rect(0, 0, o.Size, o.Size))
				pixels.FromTensor(t, tile)
				sheet = append(sheet, tile)
			}
		}
		res.Photos++
	}
	for i := range sums {
		sums[i].PSNR /= float64(res.Photos)
		sums[i].SSIM /= float64(res.Photos)
		sums[i].Lines.Recall /= float64(res.Photos)
		sums[i].Lines.Precision /= float64(res.Photos)
		sums[i].Lines.F1 /= float64(res.Photos)
	}
	res.Entries = sums
	if o.Sheet != nil {
		head := append([]string{"photo", "teacher"}, labels[1:]...)
		if err := png.Encode(o.Sheet, contactSheet(sheet, head, o.Size)); err != nil {
			return res, fmt.Errorf("quality: contact sheet: %w", err)
		}
	}
	return res, nil
}

// contactSheet lays tiles out in rows of len(head), with a caption bar.
func contactSheet(tiles []*image.RGBA, head []string, size int) *image.RGBA {
	const bar, gap = 18, 4
	cols := len(head)
	rows := (len(tiles) + cols - 1) / cols
	w := cols*size + (cols+1)*gap
	h := bar + rows*size + (rows+1)*gap
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: basicfont.Face7x13}
	for c, s := range head {
		d.Dot = fixed.P(gap+c*(size+gap)+4, 14)
		d.DrawString(s)
	}
	for i, t := range tiles {
		r, c := i/cols, i%cols
		at := image.Pt(gap+c*(size+gap), bar+gap+r*(size+gap))
		draw.Draw(img, image.Rectangle{Min: at, Max: at.Add(image.Pt(size, size))}, t, image.Point{}, draw.Src)
	}
	return img
}

// loadSquare decodes a photo, scales its short side to size and crops the
// centre square.
func loadSquare(path string, size int) (*image.RGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	b := src.Bounds()
	s := float64(size) / float64(min(b.Dx(), b.Dy()))
	sw, sh := max(size, int(float64(b.Dx())*s+0.5)), max(size, int(float64(b.Dy())*s+0.5))
	tmp := image.NewRGBA(image.Rect(0, 0, sw, sh))
	xdraw.CatmullRom.Scale(tmp, tmp.Bounds(), src, b, xdraw.Src, nil)
	out := image.NewRGBA(image.Rect(0, 0, size, size))
	draw.Draw(out, out.Bounds(), tmp, image.Pt((sw-size)/2, (sh-size)/2), draw.Src)
	return out, nil
}

// runner is one model's interpreter at a square size.
type runner struct {
	name string
	m    *tflite.Model
	it   *tflite.Interpreter
	out  []float32
}

func newRunner(name string, size, threads int) (*runner, error) {
	data, err := measure.ReadModel(name)
	if err != nil {
		return nil, err
	}
	m, err := tflite.NewModel(data)
	if err != nil {
		return nil, err
	}
	it, err := tflite.NewInterpreter(m, tflite.Options{Threads: threads, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		m.Close()
		return nil, err
	}
	r := &runner{name: measure.Label(name), m: m, it: it, out: make([]float32, size*size*3)}
	if s := it.Input(0).Shape(); len(s) != 4 || s[1] != size || s[2] != size {
		if err := it.ResizeInput(0, []int{1, size, size, 3}); err != nil {
			r.close()
			return nil, fmt.Errorf("cannot run at %d²: %w", size, err)
		}
	}
	return r, nil
}

func (r *runner) run(in []float32) ([]float32, error) {
	if err := r.it.Input(0).SetFloat32(in); err != nil {
		return nil, err
	}
	if err := r.it.Invoke(); err != nil {
		return nil, err
	}
	out := make([]float32, len(r.out))
	if err := r.it.Output(0).ReadFloat32(out); err != nil {
		return nil, err
	}
	return out, nil
}

func (r *runner) close() {
	r.it.Close()
	r.m.Close()
}

// WriteQualityMarkdown writes the quality table.
func WriteQualityMarkdown(w io.Writer, r QualityResult) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Against the teacher's output, mean over %d held-out photos at %d² (PSNR on RGB, SSIM on luma, "+
		"lines: the teacher's ink-line pixels found within 1 px, see Lines; as models/distill/data.py).\n\n", r.Photos, r.Size)
	measure.TableRow(&b, []string{"Output", "PSNR dB", "min PSNR dB", "SSIM", "line recall", "line precision", "line F1"})
	measure.TableRow(&b, []string{"---", "---:", "---:", "---:", "---:", "---:", "---:"})
	for _, e := range r.Entries {
		measure.TableRow(&b, []string{e.Label, fmt.Sprintf("%.2f", e.PSNR), fmt.Sprintf("%.2f", e.MinPSNR), fmt.Sprintf("%.4f", e.SSIM),
			fmt.Sprintf("%.3f", e.Lines.Recall), fmt.Sprintf("%.3f", e.Lines.Precision), fmt.Sprintf("%.3f", e.Lines.F1)})
	}
	_, err := io.WriteString(w, b.String())
	return err
}
