package imageio

import (
	"image"
	"image/draw"

	xdraw "golang.org/x/image/draw"
)

// toRGBA converts src to premultiplied RGBA at w x h (no larger than src).
// RGBA sources (libjpeg-turbo's DCT-scaled output) are area-averaged to
// the size directly. Other sources, decoded at full size, are first
// averaged in k x k blocks (k = the integer part of the reduction), a band
// of k source rows at a time, so a 12 MP photo never exists as a full RGBA
// copy; area averaging then makes the exact size.
func toRGBA(src image.Image, w, h int) *image.RGBA {
	b := src.Bounds()
	if w == b.Dx() && h == b.Dy() {
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(dst, dst.Bounds(), src, b.Min, draw.Src)
		return dst
	}
	if m, ok := src.(*image.RGBA); ok {
		return areaResize(m, w, h)
	}
	k := min(b.Dx()/w, b.Dy()/h)
	if k >= 2 {
		m := boxShrink(src, k)
		if b := m.Bounds(); b.Dx() == w && b.Dy() == h {
			return m
		}
		return areaResize(m, w, h)
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, b, xdraw.Src, nil)
	return dst
}

// areaResize shrinks src to w x h by area averaging: each output pixel is
// the mean of the source pixels it covers, partly covered ones weighted by
// their share, in fixed point. Each output row sums its source rows into
// one row, then sums that row's columns. It antialiases like a box filter,
// where bilinear sampling would skip pixels and keep their noise and hard
// edges, and it runs several times faster than x/image/draw's kernels,
// which also hold a float64 copy of width x source height.
func areaResize(src *image.RGBA, w, h int) *image.RGBA {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xs, xw := areaTaps(w, sw)
	ys, yw := areaTaps(h, sh)
	row := make([]uint32, 4*sw)
	const round = 1 << (2*areaBits - 1)
	for y := range h {
		clear(row)
		for k, wt := range yw[y] {
			r := src.Pix[(ys[y]+k)*src.Stride:][:4*sw]
			for i := range row {
				row[i] += wt * uint32(r[i])
			}
		}
		out := dst.Pix[y*dst.Stride:][:4*w]
		for x := range w {
			var s0, s1, s2, s3 uint64
			for k, wt := range xw[x] {
				p := row[4*(xs[x]+k):][:4]
				w := uint64(wt)
				s0 += w * uint64(p[0])
				s1 += w * uint64(p[1])
				s2 += w * uint64(p[2])
				s3 += w * uint64(p[3])
			}
			o := out[4*x:][:4]
			o[0] = uint8((s0 + round) >> (2 * areaBits))
			o[1] = uint8((s1 + round) >> (2 * areaBits))
			o[2] = uint8((s2 + round) >> (2 * areaBits))
			o[3] = uint8((s3 + round) >> (2 * areaBits))
		}
	}
	return dst
}

// areaBits is the precision of areaResize's weights: 1/4096 keeps a 40x
// reduction's weights within 1% and a row's sums within 32 bits.
const areaBits = 12

// areaTaps returns, for each of n output pixels spread over sn source
// pixels (sn >= n), the first source pixel it covers and the weights
// (summing to 1<<areaBits) of the source pixels from there.
func areaTaps(n, sn int) ([]int, [][]uint32) {
	first := make([]int, n)
	weights := make([][]uint32, n)
	for i := range n {
		// Output pixel i covers [i*sn/n, (i+1)*sn/n) in source pixels;
		// in units of 1/n source pixel that is [i*sn, (i+1)*sn).
		lo, hi := i*sn, (i+1)*sn
		j0, j1 := lo/n, (hi+n-1)/n
		first[i] = j0
		wt := make([]uint32, j1-j0)
		var sum uint32
		big := 0
		for j := j0; j < j1; j++ {
			cover := min(hi, (j+1)*n) - max(lo, j*n)
			wt[j-j0] = uint32((cover<<areaBits + sn/2) / sn)
			sum += wt[j-j0]
			if wt[j-j0] > wt[big] {
				big = j - j0
			}
		}
		wt[big] += 1<<areaBits - sum // rounding: the weights sum to exactly 1<<areaBits
		weights[i] = wt
	}
	return first, weights
}

// boxShrink averages k x k blocks of src (partial blocks at the right and
// bottom edges average what they have).
func boxShrink(src image.Image, k int) *image.RGBA {
	b := src.Bounds()
	sw := b.Dx()
	ow, oh := (sw+k-1)/k, (b.Dy()+k-1)/k
	dst := image.NewRGBA(image.Rect(0, 0, ow, oh))
	band := image.NewRGBA(image.Rect(0, 0, sw, k))
	acc := make([]uint32, ow*4)
	for oy := 0; oy < oh; oy++ {
		y0 := b.Min.Y + oy*k
		rows := min(k, b.Max.Y-y0)
		draw.Draw(band, image.Rect(0, 0, sw, rows), src, image.Pt(b.Min.X, y0), draw.Src)
		clear(acc)
		for r := 0; r < rows; r++ {
			row := band.Pix[r*band.Stride : r*band.Stride+4*sw]
			for x, ox := 0, 0; x < sw; x += k {
				end := min(x+k, sw)
				a := acc[4*ox : 4*ox+4]
				for _, p := range [][]uint8{row[4*x : 4*end]} {
					for i := 0; i < len(p); i += 4 {
						a[0] += uint32(p[i])
						a[1] += uint32(p[i+1])
						a[2] += uint32(p[i+2])
						a[3] += uint32(p[i+3])
					}
				}
				ox++
			}
		}
		out := dst.Pix[oy*dst.Stride:]
		for ox := 0; ox < ow; ox++ {
			n := uint32(rows * (min(ox*k+k, sw) - ox*k))
			for c := 0; c < 4; c++ {
				out[4*ox+c] = uint8((acc[4*ox+c] + n/2) / n)
			}
		}
	}
	return dst
}
