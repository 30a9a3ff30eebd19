package stylize

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/animed/animed/internal/pixels"
)

// span is one tile along one axis: its input starts at start (photo
// coordinates; before 0 or past the end the photo is reflected) and it
// keeps the output over lo..hi, its interior within the photo.
type span struct{ start, lo, hi int }

// planAxis lays tiles of size t over n photo pixels so that each keeps
// its interior, t less margin on each side, and neighbouring interiors
// overlap by at least blend. Starts are -margin plus multiples of stride,
// the grid a one-piece run of the photo padded by margin samples on; the
// tiles are spread evenly, each step the smallest that still covers n.
// It needs t-2*margin-blend >= stride.
func planAxis(n, t, margin, stride, blend int) []span {
	inner := t - 2*margin
	count := 1
	step := 0
	if n > inner {
		maxStep := (inner - blend) / stride * stride
		count = (n-inner+maxStep-1)/maxStep + 1
		step = roundUp((n-inner+count-2)/(count-1), stride)
	}
	s := make([]span, count)
	for k := range s {
		start := k*step - margin
		s[k] = span{start, max(start+margin, 0), min(start+t-margin, n)}
	}
	return s
}

// rampWeights returns, for each tile of an axis, the blending weight of
// each pixel of its interior: 1, falling linearly to 0 across the part it
// shares with a neighbour's interior (the only part both computed from
// pixels within their reach), so two neighbours' weights sum to 1.
func rampWeights(s []span) [][]float32 {
	w := make([][]float32, len(s))
	for k, t := range s {
		w[k] = make([]float32, t.hi-t.lo)
		for p := t.lo; p < t.hi; p++ {
			v := float32(1)
			if k > 0 && p < s[k-1].hi {
				v = min(v, (float32(p-t.lo)+0.5)/float32(s[k-1].hi-t.lo))
			}
			if k+1 < len(s) && p >= s[k+1].lo {
				v = min(v, (float32(t.hi-p)-0.5)/float32(t.hi-s[k+1].lo))
			}
			w[k][p-t.lo] = v
		}
	}
	return w
}

// tiled runs the model over th x tw tiles of img, each keeping its
// interior (margin discarded on each side), blended where neighbouring
// interiors overlap. A single tile is the one-piece run of the photo
// padded by margin. Parts of a tile beyond the photo are filled by
// reflection. Tiles run row by row; the blending sums live in a band one
// tile high, and rows no later tile touches are finished as soon as their
// tile row is done, so memory follows the tile, not the photo.
func (s *Stylizer) tiled(ctx context.Context, img *image.RGBA, th, tw, margin int) (*image.RGBA, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	ys := planAxis(h, th, margin, s.field.Stride, blend(s.field.Stride))
	xs := planAxis(w, tw, margin, s.field.Stride, blend(s.field.Stride))
	wy, wx := rampWeights(ys), rampWeights(xs)

	bandH := th - 2*margin
	acc := make([]float32, bandH*w*3) // weighted sums, rows origin..origin+bandH
	wsum := make([]float32, bandH*w)  // sums of weights
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	in := s.buffer(&s.in, th*tw*3)
	done, total := 0, len(ys)*len(xs)
	for i, ty := range ys {
		origin := ty.lo
		for j, tx := range xs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			pixels.Window(img, in, tx.start, ty.start, th, tw)
			out, err := s.invoke(in, th, tw)
			if err != nil {
				return nil, fmt.Errorf("tile at %d,%d: %w", tx.start, ty.start, err)
			}
			// One piece is not a tiled photo.
			if done++; s.o.Tiles != nil && total > 1 {
				s.o.Tiles(done, total)
			}
			for y := ty.lo; y < ty.hi; y++ {
				a, ws := acc[3*(y-origin)*w:], wsum[(y-origin)*w:]
				for x := tx.lo; x < tx.hi; x++ {
					wt := wy[i][y-ty.lo] * wx[j][x-tx.lo]
					o := out[3*((y-ty.start)*tw+x-tx.start):]
					a[3*x] += wt * o[0]
					a[3*x+1] += wt * o[1]
					a[3*x+2] += wt * o[2]
					ws[x] += wt
				}
			}
		}
		// Rows before the next tile row's interior are final.
		next := h
		if i+1 < len(ys) {
			next = ys[i+1].lo
		}
		for y := origin; y < next; y++ {
			finishRow(dst, y, acc[3*(y-origin)*w:3*(y-origin+1)*w], wsum[(y-origin)*w:(y-origin+1)*w])
		}
		// Slide the band down to start at the next tile row.
		shift := next - origin
		if shift >= bandH {
			clear(acc)
			clear(wsum)
		} else {
			copy(acc, acc[3*shift*w:])
			clear(acc[3*(bandH-shift)*w:])
			copy(wsum, wsum[shift*w:])
			clear(wsum[(bandH-shift)*w:])
		}
	}
	return dst, nil
}

// finishRow divides a row of weighted sums by its weights into pixels.
func finishRow(dst *image.RGBA, y int, acc, wsum []float32) {
	row := dst.Pix[y*dst.Stride:]
	for x, ws := range wsum {
		p := row[4*x:]
		p[0], p[1], p[2], p[3] = pixels.ToByte(acc[3*x]/ws), pixels.ToByte(acc[3*x+1]/ws), pixels.ToByte(acc[3*x+2]/ws), 0xFF
	}
}

// blend is how much neighbouring interiors overlap at least: a few pixels
// to hide what differs below the reach's one-step threshold.
func blend(stride int) int { return roundUp(8, stride) }

// fitMargin is the largest margin, up to want, that tiles of size t can
// discard on each side and still advance by a stride.
func fitMargin(t, want, stride int) int {
	return max(0, min(want, (t-stride-blend(stride))/2/stride*stride))
}

// gridTile picks the tile size for a resizable model on an h x w photo
// with the given margin: among grids whose tiles stay within maxPixels,
// the one that runs the model over the fewest pixels (each tile computes
// its margins again), then the fewest tiles, then the squarest. Sides are
// multiples of the stride. ok is false when no tile within maxPixels can
// hold the margins.
func gridTile(h, w, maxPixels, margin, stride int) (th, tw int, ok bool) {
	bl := blend(stride)
	side := func(n, k int) int {
		if k == 1 {
			return roundUp(n+2*margin, stride)
		}
		return max(roundUp((n-bl+k-1)/k, stride), stride) + roundUp(2*margin+bl, stride)
	}
	best, bestTiles, bestSkew := math.MaxInt, 0, 0
	for ny := 1; ny <= 64; ny++ {
		for nx := 1; nx <= 64; nx++ {
			y, x := side(h, ny), side(w, nx)
			if y*x > maxPixels {
				continue
			}
			// The planner may need fewer tiles of this size.
			n := len(planAxis(h, y, margin, stride, bl)) * len(planAxis(w, x, margin, stride, bl))
			cost, skew := n*y*x, abs(y-x)
			if cost < best || cost == best && (n < bestTiles || n == bestTiles && skew < bestSkew) {
				best, bestTiles, bestSkew, th, tw = cost, n, skew, y, x
			}
		}
	}
	return th, tw, best != math.MaxInt
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
