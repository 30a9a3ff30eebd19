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

// orientPix copies pixels of bpp bytes from a w x h source into the
// upright destination.
func orientPix(dst []uint8, dstStride int, src []uint8, srcStride, bpp, o, w, h int) {
	dw, dh := orientedSize(o, w, h)
	for dy := 0; dy < dh; dy++ {
		for dx := 0; dx < dw; dx++ {
			sx, sy := orientSrc(o, dx, dy, w, h)
			copy(dst[dy*dstStride+bpp*dx:dy*dstStride+bpp*dx+bpp], src[sy*srcStride+bpp*sx:])
		}
	}
}
