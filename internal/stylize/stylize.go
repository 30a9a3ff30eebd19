// Package stylize runs an image-to-image TFLite model over a photo.
//
// The model takes and returns NHWC RGB in [-1, 1] (float or int8 I/O).
// At load, New measures how far the model looks (Field): its total
// stride, and its reach, how far a change reaches into the output by more
// than one 8-bit step. A photo is padded by reflection by that margin
// (so its border comes out as it would inside a larger photo), rounded up
// to the stride, run, and cropped back. A photo too large to run in one
// piece (Options.MaxWholePixels), or a model with a fixed input size,
// goes through tiles that overlap by the margin on each side: each keeps
// only its interior, tiles start on the stride's grid, and neighbours
// blend only where both interiors overlap, so the result is the one-piece
// result (tiles.go). Memory is bounded by the tile, not the photo.
//
// A model whose output depends on the whole image (a MEAN over H and W,
// as instance and layer norms become, or a reshape that merges H and W,
// as attention does; graph.go) is not tiled: it runs in one piece up to
// Options.MaxWholeImagePixels, above that at the largest size that fits
// and upscaled; a fixed-size one goes through tiles with a warning.
//
// A model that is not resizable in TFLite only because RESIZE_* or
// TRANSPOSE_CONV ops read their output sizes from constants (an upsampling
// generator) is resizable by rewrite when built with NewFromData: the
// constants are rewritten for each input size (tflitefile.ScaleInput) and
// the photo runs at its own size on an interpreter built for that size
// (rewrite.go).
package stylize

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"

	"golang.org/x/image/draw"

	"github.com/animed/animed/internal/pixels"
	"github.com/animed/animed/internal/tflite"
)

// Options configure a Stylizer.
type Options struct {
	Threads          int            // TFLite threads; <= 0: all CPUs
	Backend          tflite.Backend // "" = XNNPACK
	ExternalDelegate string         // plugin path for tflite.BackendExternal
	Logger           *slog.Logger

	// MaxWholePixels is the largest input (height*width) a resizable
	// model runs on in one piece: TFLite's memory grows with it (XNNPACK's
	// buffers take about 100 bytes a pixel for the default model, v2, and
	// 1.5 KB for v1, most of it indirection buffers for its full-resolution
	// 7x7 convolutions). Larger photos go
	// through tiles under it, each of which computes its margins again
	// (Field.Margin), so smaller tiles cost more time. Default 1<<15
	// (32768, e.g. 181x181); BenchmarkApplyPhoto measures the cost of
	// tiles, and bench/REPORT.md's daemon table has the photos/s and peak
	// RSS `animed run` measured at this and other values.
	MaxWholePixels int
	// MaxWholeImagePixels is the largest input a model that needs the
	// whole image (Field.Whole) runs on in one piece; larger photos run
	// scaled down to it and the result is scaled up. Default 1<<20, so
	// every photo within the daemon's default --max-side 1024 runs whole.
	MaxWholeImagePixels int
	// Field, when set, is the model's Field as measured before with the
	// same model and backend (e.g. cached with the backend decision), and
	// New does not measure it again.
	Field *Field
	// Progress, when set, is called after every model invocation (one per
	// tile), e.g. to feed a watchdog on slow boards.
	Progress func()
	// Tiles, when set, is called after each tile of a tiled photo with the
	// tiles done and the photo's tile count (a progress display).
	Tiles func(done, total int)
}

// How a Stylizer runs photos (Mode).
const (
	ModeNative  = "native"  // resizable in TFLite: the photo at its own size
	ModeRewrite = "rewrite" // sizes rewritten per photo size (ScaleInput)
	ModeTiles   = "tiles"   // fixed size: tiles of the model's size
)

// Stylizer owns one interpreter (two in rewrite mode: the converted size
// and the last other size). It is not safe for concurrent use.
type Stylizer struct {
	o         Options
	it        *tflite.Interpreter
	resizable bool
	mode      string
	data      []byte              // the model, for rewrites
	rw        *tflite.Interpreter // rewritten for rwH x rwW, or nil
	rwH, rwW  int
	inH, inW  int // the model's native input size
	curH      int // the input size the interpreter is allocated for
	curW      int
	in, out   []float32   // float copies of tiles of other I/O types than float32 and int8
	tile      tile        // the last tile's output
	tables    quantTables // for int8 I/O
	field     Field
	warned    map[string]bool // warnings logged once
}

// ErrModelShape is returned for models that are not NHWC RGB image-to-image.
var ErrModelShape = errors.New("model is not an image-to-image NHWC RGB model")

// New checks that m is an image-to-image model and builds its interpreter.
// A model that is not resizable runs in tiles of its size; NewFromData can
// do better for models with constant upsampling sizes.
func New(m *tflite.Model, o Options) (*Stylizer, error) {
	return build(m, nil, o)
}

// NewFromData is New for the model in data. A model that is not resizable
// in TFLite but whose sizes tflitefile.ScaleInput can rewrite (checked at
// twice the converted size) runs in ModeRewrite.
func NewFromData(data []byte, o Options) (*Stylizer, error) {
	m, err := tflite.NewModel(data)
	if err != nil {
		return nil, fmt.Errorf("stylize: %w", err)
	}
	// The interpreters keep what they need.
	defer m.Close()
	return build(m, data, o)
}

func build(m *tflite.Model, data []byte, o Options) (*Stylizer, error) {
	if o.MaxWholePixels <= 0 {
		o.MaxWholePixels = 1 << 15
	}
	o.MaxWholePixels = max(o.MaxWholePixels, 64*64)
	if o.MaxWholeImagePixels <= 0 {
		o.MaxWholeImagePixels = 1 << 20
	}
	d, err := tflite.Describe(m)
	if err != nil {
		return nil, fmt.Errorf("stylize: %w", err)
	}
	if len(d.Inputs) != 1 || len(d.Outputs) != 1 {
		return nil, fmt.Errorf("stylize: %d inputs and %d outputs, want 1 and 1: %w", len(d.Inputs), len(d.Outputs), ErrModelShape)
	}
	in, out := d.Inputs[0].Shape, d.Outputs[0].Shape
	if len(in) != 4 || in[0] != 1 || in[3] != 3 || len(out) != 4 || out[0] != 1 || out[3] != 3 {
		return nil, fmt.Errorf("stylize: input %v, output %v, want [1 H W 3]: %w", in, out, ErrModelShape)
	}
	if out[1] != in[1] || out[2] != in[2] {
		return nil, fmt.Errorf("stylize: output %dx%d differs from input %dx%d: %w", out[2], out[1], in[2], in[1], ErrModelShape)
	}
	for _, t := range []tflite.TensorInfo{d.Inputs[0], d.Outputs[0]} {
		switch t.Type {
		case tflite.Float32, tflite.Int8, tflite.Uint8:
		default:
			return nil, fmt.Errorf("stylize: tensor %s is %s, want float32, int8 or uint8: %w", t.Name, t.Type, ErrModelShape)
		}
	}
	mode := ModeTiles
	switch {
	case d.Resizable:
		mode = ModeNative
	case data != nil:
		if err := probeRewrite(data, in[1], in[2]); err != nil {
			o.logger().Info("model runs in tiles of its size", "input", fmt.Sprintf("%dx%d", in[2], in[1]), "not_rewritable", err)
			break
		}
		mode = ModeRewrite
	}
	opts := tflite.Options{Threads: o.Threads, Backend: o.Backend, ExternalDelegate: o.ExternalDelegate, Logger: o.Logger}
	s := &Stylizer{o: o, resizable: mode != ModeTiles, mode: mode, inH: in[1], inW: in[2], curH: in[1], curW: in[2]}
	if mode == ModeRewrite {
		// One interpreter at a time, and the first one small: XNNPACK's
		// buffers grow with the input (the default model takes ~100 MB at
		// its native 256x256), and each photo's size replaces it anyway.
		h, w := in[1], in[2]
		if h%16 == 0 && w%16 == 0 {
			h, w = h/4, w/4
		}
		it, err := rewritten(data, h, w, opts)
		if err != nil && (h != in[1] || w != in[2]) {
			h, w = in[1], in[2]
			it, err = rewritten(data, h, w, opts)
		}
		if err != nil {
			return nil, fmt.Errorf("stylize: %w", err)
		}
		s.data, s.rw, s.rwH, s.rwW = data, it, h, w
	} else {
		it, err := tflite.NewInterpreter(m, opts)
		if err != nil {
			return nil, fmt.Errorf("stylize: %w", err)
		}
		s.it = it
	}
	if err := s.setField(data); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// setField takes the Field from Options or measures it, with the stride
// and whole-image ops the graph in data shows (stride 4 without data).
func (s *Stylizer) setField(data []byte) error {
	g := graphFacts{stride: 4}
	if data != nil {
		var err error
		if g, err = readGraph(data); err != nil {
			return fmt.Errorf("stylize: %w", err)
		}
	}
	switch {
	case s.o.Field != nil:
		s.field = *s.o.Field
		if s.field.Stride < 1 || s.field.Stride > maxStride || s.field.Reach < 0 || s.field.Reach > maxReach {
			return fmt.Errorf("stylize: invalid cached field %+v", s.field)
		}
	case g.whole != "":
		// Nothing to measure: the model is not tiled.
		s.field = Field{Stride: g.stride, Whole: g.whole}
	default:
		f, err := s.measure(g.stride)
		if err != nil {
			return fmt.Errorf("stylize: measure the receptive field: %w", err)
		}
		s.field = f
	}
	if s.field.Whole == "" {
		s.field.Whole = g.whole
	}
	s.log().Info("model field", "field", s.field.String(), "margin", s.field.Margin(), "mode", s.mode)
	return nil
}

// Field is what New measured (or was given) about how far the model looks.
func (s *Stylizer) Field() Field { return s.field }

// active is the interpreter that ran (or will run) last.
func (s *Stylizer) active() *tflite.Interpreter {
	if s.it != nil {
		return s.it
	}
	return s.rw
}

// Backend is the backend the interpreter really uses.
func (s *Stylizer) Backend() tflite.Backend { return s.active().Backend() }

// FallbackReason says why the requested backend was not used, or "".
func (s *Stylizer) FallbackReason() string { return s.active().FallbackReason() }

// Resizable reports whether the model runs at any size, natively or by
// rewrite (else it is tiled).
func (s *Stylizer) Resizable() bool { return s.resizable }

// Mode says how photos run: ModeNative, ModeRewrite or ModeTiles.
func (s *Stylizer) Mode() string { return s.mode }

// InputSize is the model's native input size.
func (s *Stylizer) InputSize() (h, w int) { return s.inH, s.inW }

// Close frees the interpreters.
func (s *Stylizer) Close() error {
	if s.rw != nil {
		s.rw.Close()
		s.rw = nil
	}
	if s.it == nil {
		return nil
	}
	return s.it.Close()
}

// Apply styles img and returns a new image of the same size. It stops
// between tiles when ctx is done.
func (s *Stylizer) Apply(ctx context.Context, img *image.RGBA) (*image.RGBA, error) {
	b := img.Bounds()
	if b.Empty() {
		return nil, errors.New("stylize: empty image")
	}
	if s.field.Whole != "" {
		return s.applyWhole(ctx, img)
	}
	if !s.resizable {
		return s.fixedTiles(ctx, img)
	}
	h, w := b.Dy(), b.Dx()
	st, m := s.field.Stride, s.field.Margin()
	th, tw, margin := roundUp(h+2*m, st), roundUp(w+2*m, st), m
	if th*tw > s.o.MaxWholePixels {
		var ok bool
		if th, tw, ok = gridTile(h, w, s.o.MaxWholePixels, m, st); !ok {
			t := int(math.Sqrt(float64(s.o.MaxWholePixels))) / st * st
			th, tw, margin = t, t, fitMargin(t, m, st)
			need := roundUp(2*m+blend(st), st) + st
			s.warnOnce("tile-small", "tiles too small for the model's reach: seams may show",
				"tile_pixels", s.o.MaxWholePixels, "reach", s.field.Reach, "want_tile_pixels", need*need)
		}
	}
	if s.mode == ModeRewrite {
		if _, err := s.interpreter(th, tw); err != nil {
			// A size the rewrite cannot reach (a size ratio that is
			// not whole, say): tiles of the converted size.
			s.log().Warn("rewritten model unusable at this size; tiling", "size", fmt.Sprintf("%dx%d", tw, th), "err", err)
			return s.fixedTiles(ctx, img)
		}
	}
	return s.tiled(ctx, img, th, tw, margin)
}

// fixedTiles runs img in tiles of the model's own size.
func (s *Stylizer) fixedTiles(ctx context.Context, img *image.RGBA) (*image.RGBA, error) {
	m := s.field.Margin()
	if s.field.Whole != "" {
		// No margin makes tiles of such a model exact; an eighth of
		// the tile keeps the cost down and the edges away.
		m = min(s.inH, s.inW) / 8 / s.field.Stride * s.field.Stride
	}
	margin := fitMargin(min(s.inH, s.inW), m, s.field.Stride)
	if margin < m {
		s.warnOnce("fixed-small", "the model's input is too small for its reach: tile seams may show",
			"input", fmt.Sprintf("%dx%d", s.inW, s.inH), "reach", s.field.Reach, "margin", margin)
	}
	return s.tiled(ctx, img, s.inH, s.inW, margin)
}

// applyWhole runs a model that needs the whole image in one piece: at
// the photo's size up to MaxWholeImagePixels (and while TFLite can
// allocate it), else scaled down to fit and the result scaled up. A model
// of fixed size goes through tiles, with a warning.
func (s *Stylizer) applyWhole(ctx context.Context, img *image.RGBA) (*image.RGBA, error) {
	if !s.resizable {
		s.warnOnce("whole-fixed", "the model needs the whole image but has a fixed input size: each tile is normalized on its own, colours may differ between tiles",
			"why", s.field.Whole, "input", fmt.Sprintf("%dx%d", s.inW, s.inH))
		return s.fixedTiles(ctx, img)
	}
	b := img.Bounds()
	h, w := b.Dy(), b.Dx()
	sh, sw := h, w
	if n := s.o.MaxWholeImagePixels; h*w > n {
		f := math.Sqrt(float64(n) / float64(h*w))
		sh, sw = max(int(float64(h)*f), 1), max(int(float64(w)*f), 1)
	}
	st := s.field.Stride
	for {
		_, err := s.interpreter(roundUp(sh, st), roundUp(sw, st))
		if err == nil {
			break
		}
		if s.mode == ModeRewrite && sh == h && sw == w {
			s.warnOnce("whole-rewrite", "the model needs the whole image but cannot be rewritten for this size: tiling, colours may differ between tiles",
				"why", s.field.Whole, "size", fmt.Sprintf("%dx%d", w, h), "err", err)
			return s.fixedTiles(ctx, img)
		}
		if sh <= 64 || sw <= 64 {
			return nil, err
		}
		s.log().Warn("model input too large to allocate; trying half the size", "size", fmt.Sprintf("%dx%d", sw, sh), "err", err)
		sh, sw = sh/2, sw/2
	}
	if sh == h && sw == w {
		return s.tiled(ctx, img, roundUp(h, st), roundUp(w, st), 0)
	}
	s.log().Info("the model needs the whole image: running it scaled down and scaling the result up",
		"why", s.field.Whole, "size", fmt.Sprintf("%dx%d", w, h), "run_at", fmt.Sprintf("%dx%d", sw, sh))
	small := image.NewRGBA(image.Rect(0, 0, sw, sh))
	draw.CatmullRom.Scale(small, small.Bounds(), img, b, draw.Src, nil)
	out, err := s.tiled(ctx, small, roundUp(sh, st), roundUp(sw, st), 0)
	if err != nil {
		return nil, err
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), out, out.Bounds(), draw.Src, nil)
	return dst, nil
}

// warnOnce logs a warning the first time key comes up.
func (s *Stylizer) warnOnce(key, msg string, args ...any) {
	if s.warned[key] {
		return
	}
	if s.warned == nil {
		s.warned = map[string]bool{}
	}
	s.warned[key] = true
	s.log().Warn(msg, args...)
}

// tile is the model's output for one tile, read a row at a time as
// values in [-1, 1]: a view of the output tensor, valid until the next
// run; an int8 output is dequantized a row at a time.
type tile struct {
	w   int       // width in pixels
	f   []float32 // a float32 output, or a float copy of another type
	q   []int8    // an int8 output
	deq *pixels.Int8Output
	row []float32 // q's current row, dequantized
}

// values returns the values (3 a pixel) of pixels x0..x1-1 of row y.
func (t *tile) values(y, x0, x1 int) []float32 {
	i, j := 3*(y*t.w+x0), 3*(y*t.w+x1)
	if t.q == nil {
		return t.f[i:j]
	}
	if cap(t.row) < j-i {
		t.row = make([]float32, 3*t.w)
	}
	r := t.row[:j-i]
	t.deq.Values(r, t.q[i:j])
	return r
}

// runTile runs the model on the h x w window of img at (x0, y0) (see
// pixels.Window) and reports progress. Float32 and int8 tensors are
// written and read in place, without a copy in Go's memory; other types
// go through float32 (SetFloat32, ReadFloat32).
func (s *Stylizer) runTile(img *image.RGBA, x0, y0, h, w int) (*tile, error) {
	it, err := s.interpreter(h, w)
	if err != nil {
		return nil, err
	}
	in, n := it.Input(0), h*w*3
	switch {
	case in.Len() != n:
		return nil, fmt.Errorf("stylize: input shape %v for %dx%d: %w", in.Shape(), w, h, ErrModelShape)
	case in.Type() == tflite.Float32 && in.Float32s() != nil:
		pixels.Window(img, in.Float32s(), x0, y0, h, w)
	case in.Type() == tflite.Int8 && in.Int8s() != nil:
		scale, zp, err := in.Quantization()
		if err != nil {
			return nil, fmt.Errorf("stylize: %w", err)
		}
		s.tables.input(scale, zp).Window(img, in.Int8s(), x0, y0, h, w)
	default:
		buf := s.buffer(&s.in, n)
		pixels.Window(img, buf, x0, y0, h, w)
		if err := in.SetFloat32(buf); err != nil {
			return nil, fmt.Errorf("stylize: %w", err)
		}
	}
	if err := it.Invoke(); err != nil {
		return nil, fmt.Errorf("stylize: %w", err)
	}
	if s.o.Progress != nil {
		s.o.Progress()
	}
	o, err := output(it, h, w)
	if err != nil {
		return nil, err
	}
	t := &s.tile
	t.w, t.f, t.q = w, nil, nil
	switch {
	case o.Type() == tflite.Float32 && o.Float32s() != nil:
		t.f = o.Float32s()
	case o.Type() == tflite.Int8 && o.Int8s() != nil:
		scale, zp, err := o.Quantization()
		if err != nil {
			return nil, fmt.Errorf("stylize: %w", err)
		}
		t.q, t.deq = o.Int8s(), s.tables.output(scale, zp)
	default:
		t.f = s.buffer(&s.out, n)
		if err := o.ReadFloat32(t.f); err != nil {
			return nil, fmt.Errorf("stylize: %w", err)
		}
	}
	return t, nil
}

// output returns the output tensor of it after a run on h x w, checked to
// be h x w x 3.
func output(it *tflite.Interpreter, h, w int) (*tflite.Tensor, error) {
	o := it.Output(0)
	if sh := o.Shape(); len(sh) != 4 || sh[1] != h || sh[2] != w || sh[3] != 3 {
		return nil, fmt.Errorf("stylize: output shape %v for input %dx%d: %w", sh, w, h, ErrModelShape)
	}
	return o, nil
}

// quantTables keeps the int8 tables of the last quantization parameters
// asked for.
type quantTables struct {
	inScale, outScale float32
	inZP, outZP       int32
	in                *pixels.Int8Input
	out               *pixels.Int8Output
}

func (q *quantTables) input(scale float32, zp int32) *pixels.Int8Input {
	if q.in == nil || scale != q.inScale || zp != q.inZP {
		q.in, q.inScale, q.inZP = pixels.NewInt8Input(scale, zp), scale, zp
	}
	return q.in
}

func (q *quantTables) output(scale float32, zp int32) *pixels.Int8Output {
	if q.out == nil || scale != q.outScale || zp != q.outZP {
		q.out, q.outScale, q.outZP = pixels.NewInt8Output(scale, zp), scale, zp
	}
	return q.out
}

// run runs the model on in (h x w x 3 floats) and returns a copy of its
// output, for measuring.
func (s *Stylizer) run(in []float32, h, w int) ([]float32, error) {
	it, err := s.interpreter(h, w)
	if err != nil {
		return nil, err
	}
	if err := it.Input(0).SetFloat32(in); err != nil {
		return nil, fmt.Errorf("stylize: %w", err)
	}
	if err := it.Invoke(); err != nil {
		return nil, fmt.Errorf("stylize: %w", err)
	}
	o, err := output(it, h, w)
	if err != nil {
		return nil, err
	}
	out := make([]float32, h*w*3)
	if err := o.ReadFloat32(out); err != nil {
		return nil, fmt.Errorf("stylize: %w", err)
	}
	return out, nil
}

// buffer returns *p resized to n values, reallocated only to grow.
func (s *Stylizer) buffer(p *[]float32, n int) []float32 {
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return *p
}
