package stylize

import (
	"context"
	"fmt"
	"image"
)

// tiled runs the model over overlapping th x tw tiles of img and blends
// the overlaps with linear ramps. Parts of a tile beyond the photo are
// filled by reflection, so photos smaller than a tile work too. Tiles run
// row by row; the blending sums live in a band one tile high, and rows no
// later tile touches are finished as soon as their tile row is done, so
// memory follows the tile, not the photo.
func (s *Stylizer) tiled(ctx context.Context, img *image.RGBA, th, tw int) (*image.RGBA, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	ys := tileStarts(h, th, overlap(th))
	xs := tileStarts(w, tw, overlap(tw))
	wy, wx := ramp(th, overlap(th)), ramp(tw, overlap(tw))

	acc := make([]float32, th*w*3) // weighted sums, rows origin..origin+th
	wsum := make([]float32, th*w)  // sums of weights
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	in := s.buffer(&s.in, th*tw*3)
	done := 0
	for i, y0 := range ys {
		for _, x0 := range xs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			fillInput(in, img, x0, y0, th, tw)
			out, err := s.invoke(in, th, tw)
			if err != nil {
				return nil, fmt.Errorf("tile at %d,%d: %w", x0, y0, err)
			}
			if done++; s.o.Tiles != nil {
				s.o.Tiles(done, len(ys)*len(xs))
			}
			for ty := 0; ty < th && y0+ty < h; ty++ {
				for tx := 0; tx < tw && x0+tx < w; tx++ {
					wt := wy[ty] * wx[tx]
					p := ty*w + x0 + tx
					o := out[3*(ty*tw+tx):]
					acc[3*p] += wt * o[0]
					acc[3*p+1] += wt * o[1]
					acc[3*p+2] += wt * o[2]
					wsum[p] += wt
				}
			}
		}
		// Rows before the next tile row are final.
		next := h
		if i+1 < len(ys) {
			next = ys[i+1]
		}
		for y := y0; y < min(next, h); y++ {
			finishRow(dst, y, acc[3*(y-y0)*w:3*(y-y0+1)*w], wsum[(y-y0)*w:(y-y0+1)*w])
		}
		// Slide the band down to start at the next tile row.
		shift := next - y0
		if shift >= th {
			clear(acc)
			clear(wsum)
		} else {
			copy(acc, acc[3*shift*w:])
			clear(acc[3*(th-shift)*w:])
			copy(wsum, wsum[shift*w:])
			clear(wsum[(th-shift)*w:])
		}
	}
	return dst, nil
}

// finishRow divides a row of weighted sums by its weights into pixels.
func finishRow(dst *image.RGBA, y int, acc, wsum []float32) {
	row := dst.Pix[y*dst.Stride:]
	for x, ws := range wsum {
		p := row[4*x:]
		p[0], p[1], p[2], p[3] = to8(acc[3*x]/ws), to8(acc[3*x+1]/ws), to8(acc[3*x+2]/ws), 0xFF
	}
}

// overlap is how much neighbouring tiles share: an eighth of the tile,
// at least 8 pixels (when the tile allows).
func overlap(tile int) int {
	return min(max(tile/8, 8), tile/2)
}

// tileStarts returns tile offsets covering 0..n with tiles of size t
// overlapping by at least ov; the last tile ends exactly at n (or the only
// tile starts at 0 when n <= t).
func tileStarts(n, t, ov int) []int {
	if n <= t {
		return []int{0}
	}
	step := t - ov
	var s []int
	for x := 0; x+t < n; x += step {
		s = append(s, x)
	}
	return append(s, n-t)
}

// ramp is the blending weight across a tile: rising linearly from almost
// 0 at the tile's edge (where padding, not the photo, fed the model) to 1
// over the overlap. It is never 0, so a photo border covered by one tile
// only still normalizes to that tile's output.
func ramp(t, ov int) []float32 {
	r := make([]float32, t)
	for i := range r {
		d := min(i, t-1-i)
		r[i] = min(max(float32(d)/float32(ov), 1e-4), 1)
	}
	return r
}

// gridTile picks the tile size for a resizable model on an h x w photo:
// the fewest tiles (a grid, overlapping by overlap()) whose padded size
// stays within maxPixels, and among those the smallest. Sides are
// multiples of 4.
func gridTile(h, w, maxPixels int) (th, tw int) {
	for n := 2; n <= 4096; n++ {
		best := 0
		for ny := 1; ny <= n; ny++ {
			if n%ny != 0 {
				continue
			}
			y, x := split(h, ny), split(w, n/ny)
			if a := y * x; a <= maxPixels && (best == 0 || a < best) {
				best, th, tw = a, y, x
			}
		}
		if best > 0 {
			return th, tw
		}
	}
	return 64, 64
}

// split returns the tile side that covers n in k overlapping tiles.
func split(n, k int) int {
	if k == 1 {
		return roundUp4(n)
	}
	t := (n + k - 1) / k
	for {
		t4 := roundUp4(t)
		if t4*k-(k-1)*overlap(t4) >= n {
			return t4
		}
		t++
	}
}
