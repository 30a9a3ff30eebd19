package bench

import (
	"math"
	"testing"
)

// fill returns an h x w NHWC tensor, white but where dark(y, x) holds,
// which are luma 100 (black-hat 155 on white: a line).
func fill(h, w int, dark func(y, x int) bool) []float32 {
	t := make([]float32, h*w*3)
	for y := range h {
		for x := range w {
			v := float32(1)
			if dark(y, x) {
				v = 100/127.5 - 1
			}
			t[3*(y*w+x)], t[3*(y*w+x)+1], t[3*(y*w+x)+2] = v, v, v
		}
	}
	return t
}

func TestLines(t *testing.T) {
	const h, w = 10, 12
	ref := fill(h, w, func(y, x int) bool { return x == 4 })
	// The numbers models/distill/data.py's line_scores gives for the same
	// images: the line moved by 1 px and shortened to rows 2..7 (recall 8/10:
	// rows 1..8 have a line pixel within 1 px), plus a stray dot (precision 6/7).
	img := fill(h, w, func(y, x int) bool { return (x == 5 && y >= 2 && y < 8) || (y == 1 && x == 10) })
	white := fill(h, w, func(y, x int) bool { return false })
	ramp := make([]float32, h*w*3) // a gentle gradient (3 levels per pixel) has no lines
	for i := range ramp {
		ramp[i] = float32(i/3%w)*3/127.5 - 0.5
	}
	for _, tc := range []struct {
		name     string
		img, ref []float32
		want     LineScores
	}{
		{"identical", ref, ref, LineScores{1, 1, 1}},
		{"shifted, shorter, stray dot", img, ref, LineScores{0.8, 6.0 / 7, 2 * 0.8 * (6.0 / 7) / (0.8 + 6.0/7)}},
		{"lines lost", white, ref, LineScores{0, 1, 0}},
		{"no lines anywhere", white, ramp, LineScores{1, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Lines(tc.img, tc.ref, h, w)
			if math.Abs(got.Recall-tc.want.Recall) > 1e-12 || math.Abs(got.Precision-tc.want.Precision) > 1e-12 ||
				math.Abs(got.F1-tc.want.F1) > 1e-12 {
				t.Errorf("Lines = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLineMaskThreshold(t *testing.T) {
	// A one-pixel dark line on grey is a line from LineLevel levels darker.
	const h, w = 7, 7
	for _, tc := range []struct {
		depth float64
		want  bool
	}{{LineLevel + 0.5, true}, {LineLevel - 0.5, false}} {
		grey := 0.2
		tt := make([]float32, h*w*3)
		for i := range h * w {
			v := grey
			if i%w == 3 {
				v = grey - tc.depth/127.5
			}
			tt[3*i], tt[3*i+1], tt[3*i+2] = float32(v), float32(v), float32(v)
		}
		if got := LineMask(tt, h, w)[3*w+3]; got != tc.want {
			t.Errorf("line %v levels deep: LineMask = %v, want %v", tc.depth, got, tc.want)
		}
	}
}
