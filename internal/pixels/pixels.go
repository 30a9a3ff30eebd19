// Package pixels converts 8-bit RGB pixels to the tensors image models
// take and back. A pixel value p is the float p/127.5 - 1, in [-1, 1]; a
// model's output is rounded back to the nearest byte, clamped, NaN as 0.
// Tensors are NHWC RGB unless a function says otherwise. Every part of
// animed that feeds a model (the stylizer, the benchmarks, the
// converter's calibration and verification) converts here.
package pixels

import (
	"image"
	"math"
)

// ToFloat is a pixel value as the model sees it: p/127.5 - 1.
func ToFloat(p uint8) float32 { return float32(p)/127.5 - 1 }

// ToByte is a model's output value as a pixel: rounded, clamped to
// 0..255, NaN as 0.
func ToByte(v float32) uint8 {
	f := (v+1)*127.5 + 0.5
	switch {
	case f <= 0 || f != f: // negative or NaN
		return 0
	case f >= 255:
		return 255
	}
	return uint8(f)
}

// ToTensor writes img's RGB as NHWC floats into dst, which must hold 3
// values per pixel.
func ToTensor(img *image.RGBA, dst []float32) {
	b := img.Bounds()
	Window(img, dst, 0, 0, b.Dy(), b.Dx())
}

// Window writes the h x w window of img whose top-left corner is at
// (x0, y0) relative to img's, reflected where it leaves the image (see
// Mirror), as NHWC floats into dst.
func Window(img *image.RGBA, dst []float32, x0, y0, h, w int) {
	eachWindowRow(img, x0, y0, h, w, func(row []uint8, cols []int, k int) {
		for _, c := range cols {
			p := row[c : c+3 : c+3]
			dst[k], dst[k+1], dst[k+2] = ToFloat(p[0]), ToFloat(p[1]), ToFloat(p[2])
			k += 3
		}
	})
}

// eachWindowRow calls f with the pixels of each source row of the h x w
// window of img at (x0, y0), reflected as Window does, the offsets in
// that row of the window's pixels, left to right, and the index of the
// row's first value in an NHWC tensor of the window's size.
func eachWindowRow(img *image.RGBA, x0, y0, h, w int, f func(row []uint8, cols []int, k int)) {
	b := img.Bounds()
	iw, ih := b.Dx(), b.Dy()
	cols := make([]int, w)
	for x := range cols {
		sx := x0 + x
		if sx < 0 || sx >= iw {
			sx = Mirror(sx, iw)
		}
		cols[x] = 4 * sx
	}
	for y := range h {
		f(img.Pix[Mirror(y0+y, ih)*img.Stride:], cols, 3*y*w)
	}
}

// FromTensor writes NHWC floats, one row per row of img, into img's
// pixels (opaque).
func FromTensor(src []float32, img *image.RGBA) {
	eachRow(img, func(row []uint8, k int) {
		for x := 0; x < len(row); x, k = x+4, k+3 {
			row[x], row[x+1], row[x+2], row[x+3] = ToByte(src[k]), ToByte(src[k+1]), ToByte(src[k+2]), 255
		}
	})
}

// eachRow calls f with each row of img's pixels and the index of the
// row's first value in an NHWC tensor of img's size.
func eachRow(img *image.RGBA, f func(row []uint8, k int)) {
	b := img.Bounds()
	w := b.Dx()
	for y := range b.Dy() {
		f(img.Pix[y*img.Stride:y*img.Stride+4*w], 3*y*w)
	}
}

// Mirror maps any index onto 0..n-1 by reflection without repeating the
// edge pixel (…2 1 0 1 2… at the start), as reflect padding does.
func Mirror(i, n int) int {
	if n == 1 {
		return 0
	}
	p := 2*n - 2
	i %= p
	if i < 0 {
		i += p
	}
	if i >= n {
		i = p - i
	}
	return i
}

// Int8Input maps 8-bit pixels to a model's int8 input through a table,
// with the same rounding as quantizing their float values (ToFloat): round
// half away from zero, clamped.
type Int8Input [256]int8

// NewInt8Input builds the table for an input of the given scale and zero
// point.
func NewInt8Input(scale float32, zp int32) *Int8Input {
	t := &Int8Input{}
	for p := range 256 {
		r := math.Round(float64(ToFloat(uint8(p)))/float64(scale)) + float64(zp)
		t[p] = int8(max(-128, min(127, r)))
	}
	return t
}

// Window is the int8 counterpart of the package's Window.
func (t *Int8Input) Window(img *image.RGBA, dst []int8, x0, y0, h, w int) {
	eachWindowRow(img, x0, y0, h, w, func(row []uint8, cols []int, k int) {
		for _, c := range cols {
			p := row[c : c+3 : c+3]
			dst[k], dst[k+1], dst[k+2] = t[p[0]], t[p[1]], t[p[2]]
			k += 3
		}
	})
}

// Int8Output maps a model's int8 output to the values dequantizing gives,
// scale * (q - zero point), and to pixels (ToByte of those) through tables.
type Int8Output struct {
	v [256]float32
	p [256]uint8
}

// NewInt8Output builds the tables for an output of the given scale and
// zero point.
func NewInt8Output(scale float32, zp int32) *Int8Output {
	t := &Int8Output{}
	for i := range 256 {
		t.v[i] = scale * float32(int32(int8(i-128))-zp)
		t.p[i] = ToByte(t.v[i])
	}
	return t
}

// Values writes the values of src into dst.
func (t *Int8Output) Values(dst []float32, src []int8) {
	for i, q := range src {
		dst[i] = t.v[uint8(q)^0x80]
	}
}

// Quantizer maps 8-bit pixels straight to a model's int8 input and its
// int8 output straight back to pixels through two 256-entry tables, with
// the same rounding as going through float32 in [-1, 1].
type Quantizer struct {
	in  *Int8Input
	out *Int8Output
}

// NewQuantizer builds the tables for input (inScale, inZP) and output
// (outScale, outZP) quantization.
func NewQuantizer(inScale float32, inZP int32, outScale float32, outZP int32) *Quantizer {
	return &Quantizer{in: NewInt8Input(inScale, inZP), out: NewInt8Output(outScale, outZP)}
}

// ToInt8 writes img's RGB as the model's int8 input.
func (q *Quantizer) ToInt8(img *image.RGBA, dst []int8) {
	eachRow(img, func(row []uint8, k int) {
		for x := 0; x < len(row); x, k = x+4, k+3 {
			dst[k], dst[k+1], dst[k+2] = q.in[row[x]], q.in[row[x+1]], q.in[row[x+2]]
		}
	})
}

// FromInt8 writes the model's int8 output into img (opaque).
func (q *Quantizer) FromInt8(src []int8, img *image.RGBA) {
	p := &q.out.p
	eachRow(img, func(row []uint8, k int) {
		for x := 0; x < len(row); x, k = x+4, k+3 {
			row[x], row[x+1], row[x+2], row[x+3] = p[uint8(src[k])^0x80], p[uint8(src[k+1])^0x80], p[uint8(src[k+2])^0x80], 255
		}
	})
}
