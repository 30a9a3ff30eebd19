package imageio

import (
	"image"
	"image/draw"
	"runtime"
	"sync"

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
//
// Every output pixel gets the same number of taps (zero weights pad the
// shorter ones), so the loops have no per-pixel slices to load. The top
// and bottom halves of a photo are made on two cores where there are two
// (each output row on its own, so the result is the same): a 12 MP
// phone photo's decode waits for the resize.
func areaResize(src *image.RGBA, w, h int) *image.RGBA {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xs, xw, xn := areaTaps(w, sw)
	ys, yw, yn := areaTaps(h, sh)
	rows := func(y0, y1 int) {
		// The row has room for the last pixel's zero-weighted padding taps.
		row := make([]uint32, 4*(sw+xn))
		for y := y0; y < y1; y++ {
			sumRows(row[:4*sw], src, b.Min.X, b.Min.Y+ys[y], yw[y*yn:][:yn])
			sumColumns(dst.Pix[y*dst.Stride:][:4*w], row, xs, xw, xn)
		}
	}
	if h < 64 || runtime.GOMAXPROCS(0) < 2 {
		rows(0, h)
		return dst
	}
	var wg sync.WaitGroup
	wg.Go(func() { rows(0, h/2) })
	rows(h/2, h)
	wg.Wait()
	return dst
}

// sumColumns sets out's pixels to the weighted sums of row's columns
// (taps per pixel from areaTaps), rounded from areaBits twice over.
func sumColumns(out []uint8, row []uint32, xs []int, xw []uint32, xn int) {
	const round = 1 << (2*areaBits - 1)
	if xn == 3 { // a reduction by less than 2, such as the 3/8 DCT scale's 1.5x
		for x := range len(out) / 4 {
			p := row[4*xs[x]:][:12]
			wt := xw[3*x:][:3]
			w0, w1, w2 := uint64(wt[0]), uint64(wt[1]), uint64(wt[2])
			o := out[4*x:][:4]
			o[0] = uint8((w0*uint64(p[0]) + w1*uint64(p[4]) + w2*uint64(p[8]) + round) >> (2 * areaBits))
			o[1] = uint8((w0*uint64(p[1]) + w1*uint64(p[5]) + w2*uint64(p[9]) + round) >> (2 * areaBits))
			o[2] = uint8((w0*uint64(p[2]) + w1*uint64(p[6]) + w2*uint64(p[10]) + round) >> (2 * areaBits))
			o[3] = uint8((w0*uint64(p[3]) + w1*uint64(p[7]) + w2*uint64(p[11]) + round) >> (2 * areaBits))
		}
		return
	}
	for x := range len(out) / 4 {
		p := row[4*xs[x]:][:4*xn]
		var s0, s1, s2, s3 uint64
		for k, wt := range xw[x*xn:][:xn] {
			p := p[4*k:][:4]
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

// sumRows sets row to the weighted sum of len(wts) rows of src from
// (x0, y0) down, in one pass for up to three rows (a reduction by less
// than 2), which covers the 3/8 DCT scale's 1.5x.
func sumRows(row []uint32, src *image.RGBA, x0, y0 int, wts []uint32) {
	n := len(row)
	at := func(k int) []uint8 {
		return src.Pix[src.PixOffset(x0, min(y0+k, src.Rect.Max.Y-1)):][:n]
	}
	switch len(wts) { // areaTaps gives at least two
	case 2:
		r0, r1, w0, w1 := at(0), at(1), wts[0], wts[1]
		for i := range row {
			row[i] = w0*uint32(r0[i]) + w1*uint32(r1[i])
		}
	default:
		r0, r1, r2, w0, w1, w2 := at(0), at(1), at(2), wts[0], wts[1], wts[2]
		for i := range row {
			row[i] = w0*uint32(r0[i]) + w1*uint32(r1[i]) + w2*uint32(r2[i])
		}
		for k := 3; k < len(wts); k++ {
			r, wt := at(k), wts[k]
			for i := range row {
				row[i] += wt * uint32(r[i])
			}
		}
	}
}

// areaBits is the precision of areaResize's weights: 1/4096 keeps a 40x
// reduction's weights within 1% and a row's sums within 32 bits.
const areaBits = 12

// areaTaps returns, for each of n output pixels spread over sn source
// pixels (sn >= n), the first source pixel it covers and the weights
// (summing to 1<<areaBits) of the source pixels from there: taps weights
// per output pixel, output pixel i's at weights[i*taps:], zero-padded.
// A zero-weighted tap may lie past the last source pixel.
func areaTaps(n, sn int) (first []int, weights []uint32, taps int) {
	taps = (sn+n-1)/n + 1 // an interval of sn/n pixels touches at most this many
	first = make([]int, n)
	weights = make([]uint32, n*taps)
	for i := range n {
		// Output pixel i covers [i*sn/n, (i+1)*sn/n) in source pixels;
		// in units of 1/n source pixel that is [i*sn, (i+1)*sn).
		lo, hi := i*sn, (i+1)*sn
		j0, j1 := lo/n, (hi+n-1)/n
		first[i] = j0
		wt := weights[i*taps:][:j1-j0]
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
	}
	return first, weights, taps
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
