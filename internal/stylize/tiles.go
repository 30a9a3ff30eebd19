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
	count, step := axisSteps(n, t, margin, stride, blend)
	s := make([]span, count)
	for k := range s {
		start := k*step - margin
		s[k] = span{start, max(start+margin, 0), min(start+t-margin, n)}
	}
	return s
}

// axisSteps returns how many tiles planAxis lays and the step between
// their starts.
func axisSteps(n, t, margin, stride, blend int) (count, step int) {
	inner := t - 2*margin
	if n <= inner {
		return 1, 0
	}
	maxStep := (inner - blend) / stride * stride
	count = (n-inner+maxStep-1)/maxStep + 1
	return count, roundUp((n-inner+count-2)/(count-1), stride)
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
// reflection. Tiles run row by row. A pixel inside one interior only is
// written straight to the result; one shared by several is summed,
// weighted, in its row's sums (sums), which live from the first tile that
// reaches the row until the last: the whole row for rows shared between
// tile rows, the shared columns only for the others. So memory follows
// the overlaps, not the photo.
func (s *Stylizer) tiled(ctx context.Context, img *image.RGBA, th, tw, margin int) (*image.RGBA, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	ys := planAxis(h, th, margin, s.field.Stride, blend(s.field.Stride))
	xs := planAxis(w, tw, margin, s.field.Stride, blend(s.field.Stride))
	wy, wx := rampWeights(ys), rampWeights(xs)
	rowShared := shared(ys, h)
	colSlot := make([]int, w) // index of a shared column in a row's sums, or -1
	nc := 0
	for x, sh := range shared(xs, w) {
		colSlot[x] = -1
		if sh {
			colSlot[x] = nc
			nc++
		}
	}
	sums := newRowSums(h)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	done, total := 0, len(ys)*len(xs)
	for i, ty := range ys {
		for j, tx := range xs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			t, err := s.runTile(img, tx.start, ty.start, th, tw)
			if err != nil {
				return nil, fmt.Errorf("tile at %d,%d: %w", tx.start, ty.start, err)
			}
			// One piece is not a tiled photo.
			if done++; s.o.Tiles != nil && total > 1 {
				s.o.Tiles(done, total)
			}
			for y := ty.lo; y < ty.hi; y++ {
				v := t.values(y-ty.start, tx.lo-tx.start, tx.hi-tx.start)
				ry, rx := wy[i][y-ty.lo], wx[j]
				if rowShared[y] {
					a := sums.row(y, 4*w)
					for x := tx.lo; x < tx.hi; x++ {
						o, wt := v[3*(x-tx.lo):], ry*rx[x-tx.lo]
						add(a[4*x:4*x+4], o, wt)
					}
					continue
				}
				px := dst.Pix[y*dst.Stride:]
				for x := tx.lo; x < tx.hi; x++ {
					o := v[3*(x-tx.lo):]
					if c := colSlot[x]; c >= 0 {
						add(sums.row(y, 4*nc)[4*c:4*c+4], o, ry*rx[x-tx.lo])
						continue
					}
					p := px[4*x : 4*x+4]
					p[0], p[1], p[2], p[3] = pixels.ToByte(o[0]), pixels.ToByte(o[1]), pixels.ToByte(o[2]), 0xFF
				}
			}
		}
		// Rows before the next tile row's interior are final.
		next := h
		if i+1 < len(ys) {
			next = ys[i+1].lo
		}
		for y := ty.lo; y < next; y++ {
			a := sums.take(y)
			if a == nil {
				continue
			}
			px := dst.Pix[y*dst.Stride:]
			if rowShared[y] {
				for x := range w {
					finish(px[4*x:4*x+4], a[4*x:4*x+4])
				}
			} else {
				for x, c := range colSlot {
					if c >= 0 {
						finish(px[4*x:4*x+4], a[4*c:4*c+4])
					}
				}
			}
			sums.put(a)
		}
	}
	return dst, nil
}

// shared reports, for each of n positions, whether it lies in more than
// one tile's interior.
func shared(s []span, n int) []bool {
	in := make([]int, n)
	for _, t := range s {
		for p := t.lo; p < t.hi; p++ {
			in[p]++
		}
	}
	sh := make([]bool, n)
	for p, k := range in {
		sh[p] = k > 1
	}
	return sh
}

// add adds a tile's value o (r, g, b), weighted by wt, to a pixel's sums
// a: r, g, b and the sum of weights.
func add(a, o []float32, wt float32) {
	a[0] += wt * o[0]
	a[1] += wt * o[1]
	a[2] += wt * o[2]
	a[3] += wt
}

// finish divides a pixel's weighted sums by its weights into p (opaque).
func finish(p []uint8, a []float32) {
	p[0], p[1], p[2], p[3] = pixels.ToByte(a[0]/a[3]), pixels.ToByte(a[1]/a[3]), pixels.ToByte(a[2]/a[3]), 0xFF
}

// rowSums holds the blending sums of the rows being blended, each made on
// first use and handed back (put) to be reused once the row is done. Rows
// come in two lengths: all columns, or the shared ones only.
type rowSums struct {
	rows [][]float32
	free map[int][][]float32 // by length
}

func newRowSums(h int) *rowSums {
	return &rowSums{rows: make([][]float32, h), free: map[int][][]float32{}}
}

// row returns row y's sums, n values, made zero on first use.
func (r *rowSums) row(y, n int) []float32 {
	if a := r.rows[y]; a != nil {
		return a
	}
	var a []float32
	if f := r.free[n]; len(f) > 0 {
		a, r.free[n] = f[len(f)-1], f[:len(f)-1]
		clear(a)
	} else {
		a = make([]float32, n)
	}
	r.rows[y] = a
	return a
}

// take returns row y's sums, nil if it has none, and forgets them.
func (r *rowSums) take(y int) []float32 {
	a := r.rows[y]
	r.rows[y] = nil
	return a
}

// put keeps a row's sums for reuse.
func (r *rowSums) put(a []float32) { r.free[len(a)] = append(r.free[len(a)], a) }

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
			cy, _ := axisSteps(h, y, margin, stride, bl)
			cx, _ := axisSteps(w, x, margin, stride, bl)
			n := cy * cx
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
