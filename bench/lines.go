package bench

import "math"

// LineLevel is the black-hat (5x5 closing minus luma, in luma levels 0..255)
// from which a pixel counts as an ink line; models/distill/data.py's
// LINE_LEVEL.
const LineLevel = 18.0

// LineScores compares the ink lines of an image with a reference's.
type LineScores struct {
	Recall    float64 `json:"recall"`    // share of the reference's line pixels with a line pixel within 1 px in the image
	Precision float64 `json:"precision"` // share of the image's line pixels with a reference line pixel within 1 px
	F1        float64 `json:"f1"`
}

// Lines scores the line pixels of img against those of ref, two h x w NHWC
// RGB tensors in [-1, 1], with a 1-pixel tolerance: the line metric of
// models/distill/data.py (line_scores). A side without line pixels scores 1
// for its ratio (nothing to find, or nothing wrong).
func Lines(img, ref []float32, h, w int) LineScores {
	s, t := LineMask(img, h, w), LineMask(ref, h, w)
	recall := found(t, s, h, w)
	precision := found(s, t, h, w)
	f1 := 0.0
	if recall+precision > 0 {
		f1 = 2 * recall * precision / (recall + precision)
	}
	return LineScores{Recall: recall, Precision: precision, F1: f1}
}

// found returns the share of a's set pixels that have a set pixel of b in
// their 3x3 neighbourhood, 1 when a has none.
func found(a, b []bool, h, w int) float64 {
	var n, hit int
	for y := range h {
		for x := range w {
			if !a[y*w+x] {
				continue
			}
			n++
		near:
			for yy := max(0, y-1); yy <= min(h-1, y+1); yy++ {
				for xx := max(0, x-1); xx <= min(w-1, x+1); xx++ {
					if b[yy*w+xx] {
						hit++
						break near
					}
				}
			}
		}
	}
	if n == 0 {
		return 1
	}
	return float64(hit) / float64(n)
}

// LineMask marks the ink-line pixels of an h x w NHWC RGB tensor in [-1, 1]:
// where the black-hat of luma (BT.601, 0..255) with a 5x5 square, its window
// clipped at the border, is at least LineLevel.
func LineMask(t []float32, h, w int) []bool {
	l := make([]float64, h*w)
	for i := range l {
		r, g, b := (clamp1(t[3*i])+1)*127.5, (clamp1(t[3*i+1])+1)*127.5, (clamp1(t[3*i+2])+1)*127.5
		l[i] = 0.299*r + 0.587*g + 0.114*b
	}
	closed := morph(morph(l, h, w, math.Max), h, w, math.Min)
	m := make([]bool, h*w)
	for i := range m {
		m[i] = closed[i]-l[i] >= LineLevel
	}
	return m
}

// morph applies op (math.Max: dilation, math.Min: erosion) over a 5x5 square
// window clipped at the border, separably.
func morph(in []float64, h, w int, op func(a, b float64) float64) []float64 {
	const r = 2
	tmp := make([]float64, h*w)
	for y := range h {
		for x := range w {
			v := in[y*w+x]
			for xx := max(0, x-r); xx <= min(w-1, x+r); xx++ {
				v = op(v, in[y*w+xx])
			}
			tmp[y*w+x] = v
		}
	}
	out := make([]float64, h*w)
	for y := range h {
		for x := range w {
			v := tmp[y*w+x]
			for yy := max(0, y-r); yy <= min(h-1, y+r); yy++ {
				v = op(v, tmp[yy*w+x])
			}
			out[y*w+x] = v
		}
	}
	return out
}
