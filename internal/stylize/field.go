package stylize

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Field is how far a model looks: what tiling and border padding need to
// know to give the result of one piece. New measures it once per model;
// it depends on the model and a little on the backend's arithmetic, so a
// caller may cache it with the backend decision and pass it back in
// Options.Field.
type Field struct {
	// Stride is the model's total stride: inputs are padded to a multiple
	// of it and tiles start at multiples of it, so every tile samples the
	// photo on the grid a one-piece run does.
	Stride int `json:"stride"`
	// Reach is the effective receptive field: how far, in input pixels, a
	// change beyond a tile's edge reaches into the output by more than one
	// 8-bit step. Tiles overlap by it and photos are padded by it.
	Reach int `json:"reach"`
	// Whole, when set, says why the output depends on the whole image
	// (InstanceNorm or LayerNorm statistics, attention): such a model is
	// not tiled while it fits (Options.MaxWholeImagePixels).
	Whole string `json:"whole,omitempty"`
}

// Margin is the border, a multiple of the stride, that a tile discards on
// each side and a photo is padded by: the reach rounded up.
func (f Field) Margin() int { return roundUp(f.Reach, f.Stride) }

func (f Field) String() string {
	if f.Whole != "" {
		return fmt.Sprintf("stride %d, whole image: %s", f.Stride, f.Whole)
	}
	return fmt.Sprintf("stride %d, reach %d px", f.Stride, f.Reach)
}

// Bounds of a Field given in Options (a cached one): a measured reach
// never exceeds the largest probe, and no image model has a larger stride.
const (
	maxStride = 64
	maxReach  = 4 * maxProbe
)

// Probe sizes for the reach of resizable models: the smallest first (the
// interpreter's memory grows with it), doubled while the change reaches
// the probe's far side.
const (
	minProbe = 64
	maxProbe = 256
)

// measure finds the model's reach, or that it has none short of the whole
// image, with the graph's stride.
func (s *Stylizer) measure(stride int) (Field, error) {
	f := Field{Stride: stride}
	if !s.resizable {
		reach, saturated, err := s.reach(s.inH, s.inW, stride)
		if err != nil {
			return f, err
		}
		f.Reach = reach
		if saturated {
			f.Whole = fmt.Sprintf("measured: a change reaches across the model's %dx%d input", s.inW, s.inH)
		}
		return f, nil
	}
	for p := roundUp(minProbe, stride); ; p *= 2 {
		reach, saturated, err := s.reach(p, p, stride)
		if err != nil {
			return f, err
		}
		f.Reach = reach
		if !saturated {
			return f, nil
		}
		if p >= maxProbe {
			f.Whole = fmt.Sprintf("measured: a change reaches across a %dx%d probe", p, p)
			return f, nil
		}
	}
}

// reach runs the model on an h x w probe, smooth with some texture as
// photos are, and on copies of it whose part beyond a cut (right, left,
// bottom, top; at each phase of the stride, up to 8) is noise. It returns
// how far back from a cut the output changed by more than one 8-bit step,
// the largest over the cuts, and whether that reached within a stride of
// the probe's far side.
func (s *Stylizer) reach(h, w, stride int) (reach int, saturated bool, err error) {
	base := make([]float32, h*w*3)
	r := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			for c := range 3 {
				v := 0.5*math.Sin(float64(x)/9+float64(c)) + 0.3*math.Cos(float64(y)/7) + 0.1*(r.Float64()*2-1)
				base[(y*w+x)*3+c] = float32(v)
			}
		}
	}
	ref, err := s.run(base, h, w)
	if err != nil {
		return 0, false, err
	}
	// Cuts at a quarter from the sides, so that three quarters of the
	// probe show how far a change reaches, at every phase of the stride.
	in := make([]float32, len(base))
	for phase := range min(stride, 8) {
		cx, cy := w*3/4+phase, h*3/4+phase
		cuts := []struct {
			changed func(x, y int) bool
			dist    func(x, y int) int // from the cut, for unchanged pixels
			room    int                // the largest dist the probe has
		}{
			{func(x, _ int) bool { return x >= cx }, func(x, _ int) int { return cx - 1 - x }, cx - 1},
			{func(x, _ int) bool { return x < w-cx }, func(x, _ int) int { return x - (w - cx) }, cx - 1},
			{func(_, y int) bool { return y >= cy }, func(_, y int) int { return cy - 1 - y }, cy - 1},
			{func(_, y int) bool { return y < h-cy }, func(_, y int) int { return y - (h - cy) }, cy - 1},
		}
		for _, cut := range cuts {
			copy(in, base)
			for y := range h {
				for x := range w {
					if cut.changed(x, y) {
						for c := range 3 {
							in[(y*w+x)*3+c] = r.Float32()*2 - 1
						}
					}
				}
			}
			out, err := s.run(in, h, w)
			if err != nil {
				return 0, false, err
			}
			for y := range h {
				for x := range w {
					if cut.changed(x, y) {
						continue
					}
					k := (y*w + x) * 3
					for c := range 3 {
						if math.Abs(float64(out[k+c]-ref[k+c]))*127.5 > 1 {
							d := cut.dist(x, y) + 1
							reach = max(reach, d)
							if d > cut.room-stride {
								saturated = true
							}
						}
					}
				}
			}
		}
	}
	return reach, saturated, nil
}

// roundUp rounds n up to a multiple of m.
func roundUp(n, m int) int { return (n + m - 1) / m * m }
