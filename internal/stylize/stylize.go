// Package stylize runs an image-to-image TFLite model over a photo.
//
// The model takes and returns NHWC RGB in [-1, 1] (float or int8 I/O). A
// resizable model runs at the photo's own size, padded by reflection to a
// multiple of 4 and cropped back. A model with a fixed input size, or a
// photo too large to run in one piece, goes through overlapping tiles of the
// model's size whose overlaps are blended with linear ramps, so no seams
// show (tiles.go). Memory is bounded by the tile, not the photo.
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
	// buffers for the shipped model take about 1.5 KB a pixel, most of it
	// indirection buffers for its 7x7 convolutions). Larger photos are
	// split into the fewest overlapping tiles under it. Default 1<<15
	// (32768, e.g. 181x181); bench/REPORT.md's daemon table has the
	// photos/s and peak RSS `animed run` measured at this and other values.
	MaxWholePixels int
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
	in, out   []float32
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
		return s, nil
	}
	it, err := tflite.NewInterpreter(m, opts)
	if err != nil {
		return nil, fmt.Errorf("stylize: %w", err)
	}
	s.it = it
	return s, nil
}

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
	h4, w4 := roundUp4(b.Dy()), roundUp4(b.Dx())
	whole := h4*w4 <= s.o.MaxWholePixels
	th, tw := s.inH, s.inW
	if s.resizable {
		th, tw = h4, w4
		if !whole {
			th, tw = gridTile(h4, w4, s.o.MaxWholePixels)
		}
		if s.mode == ModeRewrite {
			if _, err := s.interpreter(th, tw); err != nil {
				// A size the rewrite cannot reach (a size ratio that is
				// not whole, say): tiles of the converted size.
				s.log().Warn("rewritten model unusable at this size; tiling", "size", fmt.Sprintf("%dx%d", tw, th), "err", err)
				return s.tiled(ctx, img, s.inH, s.inW)
			}
		}
		if whole {
			return s.whole(ctx, img, h4, w4)
		}
	}
	return s.tiled(ctx, img, th, tw)
}

// whole runs the model once at h x w (the photo padded by reflection).
func (s *Stylizer) whole(ctx context.Context, img *image.RGBA, h, w int) (*image.RGBA, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in := s.buffer(&s.in, h*w*3)
	fillInput(in, img, 0, 0, h, w)
	out, err := s.invoke(in, h, w)
	if err != nil {
		return nil, err
	}
	dst := image.NewRGBA(image.Rect(0, 0, img.Bounds().Dx(), img.Bounds().Dy()))
	writeOutput(dst, out, w)
	return dst, nil
}

// invoke runs the model on in (h x w x 3) and returns its output, a view
// valid until the next call.
func (s *Stylizer) invoke(in []float32, h, w int) ([]float32, error) {
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
	if s.o.Progress != nil {
		s.o.Progress()
	}
	o := it.Output(0)
	if sh := o.Shape(); len(sh) != 4 || sh[1] != h || sh[2] != w || sh[3] != 3 {
		return nil, fmt.Errorf("stylize: output shape %v for input %dx%d: %w", sh, w, h, ErrModelShape)
	}
	out := s.buffer(&s.out, h*w*3)
	if err := o.ReadFloat32(out); err != nil {
		return nil, fmt.Errorf("stylize: %w", err)
	}
	return out, nil
}

func (s *Stylizer) buffer(p *[]float32, n int) []float32 {
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return *p
}

func roundUp4(n int) int { return (n + 3) &^ 3 }

// mirror maps any index onto 0..n-1 by reflection without repeating the
// edge pixel (…2 1 0 1 2… at the start), the way reflect padding does.
func mirror(i, n int) int {
	if n == 1 {
		return 0
	}
	p := 2*n - 2
	i %= p
	if i < 0 {
		i += p
	}
	if i >= n {
		i = p - i
	}
	return i
}

// fillInput writes the h x w window of img starting at (x0, y0), reflected
// where it leaves the image, as NHWC floats in [-1, 1].
func fillInput(dst []float32, img *image.RGBA, x0, y0, h, w int) {
	b := img.Bounds()
	iw, ih := b.Dx(), b.Dy()
	k := 0
	for y := 0; y < h; y++ {
		row := img.Pix[mirror(y0+y, ih)*img.Stride:]
		for x := 0; x < w; x++ {
			p := row[4*mirror(x0+x, iw):]
			dst[k] = float32(p[0])/127.5 - 1
			dst[k+1] = float32(p[1])/127.5 - 1
			dst[k+2] = float32(p[2])/127.5 - 1
			k += 3
		}
	}
}

// writeOutput converts the top-left part of src (stride w pixels) that
// fits dst from [-1, 1] to 8-bit pixels.
func writeOutput(dst *image.RGBA, src []float32, w int) {
	b := dst.Bounds()
	for y := 0; y < b.Dy(); y++ {
		row := dst.Pix[y*dst.Stride:]
		for x := 0; x < b.Dx(); x++ {
			s := src[3*(y*w+x):]
			p := row[4*x:]
			p[0], p[1], p[2], p[3] = to8(s[0]), to8(s[1]), to8(s[2]), 0xFF
		}
	}
}

func to8(v float32) uint8 {
	f := (v+1)*127.5 + 0.5
	switch {
	case f <= 0 || f != f: // negative or NaN
		return 0
	case f >= 255:
		return 255
	}
	return uint8(f)
}
