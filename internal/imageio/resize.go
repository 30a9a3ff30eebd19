package imageio

import (
	"image"
	"image/draw"

	xdraw "golang.org/x/image/draw"
)

// toRGBA converts src to premultiplied RGBA at w x h. Large reductions
// first average k x k blocks (k = the integer part of the reduction),
// converting a band of k source rows at a time, so a 12 MP photo never
// exists as a full RGBA copy; bilinear sampling then makes the exact size
// (a reduction of less than 2x, where it does not alias visibly, and it
// needs no buffer, unlike x/image/draw's kernels, which hold a float64
// copy of width x source height: ~100 MB for a 12 MP photo).
func toRGBA(src image.Image, w, h int) *image.RGBA {
	b := src.Bounds()
	if w == b.Dx() && h == b.Dy() {
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(dst, dst.Bounds(), src, b.Min, draw.Src)
		return dst
	}
	k := min(b.Dx()/w, b.Dy()/h)
	if k >= 2 {
		src = boxShrink(src, k)
		b = src.Bounds()
		if b.Dx() == w && b.Dy() == h {
			return src.(*image.RGBA)
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, b, xdraw.Src, nil)
	return dst
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
