package bench

import (
	"image"
	"math"
)

// ToTensor writes img as NHWC RGB float32 in [-1, 1] (x/127.5 - 1) into
// dst, which must hold 3 values per pixel.
func ToTensor(img *image.RGBA, dst []float32) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	k := 0
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < len(row); x += 4 {
			dst[k] = float32(row[x])/127.5 - 1
			dst[k+1] = float32(row[x+1])/127.5 - 1
			dst[k+2] = float32(row[x+2])/127.5 - 1
			k += 3
		}
	}
}

// FromTensor writes NHWC RGB float32 in [-1, 1] into img (opaque),
// rounding and clamping to 0..255.
func FromTensor(src []float32, img *image.RGBA) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	k := 0
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < len(row); x += 4 {
			row[x] = toByte(src[k])
			row[x+1] = toByte(src[k+1])
			row[x+2] = toByte(src[k+2])
			row[x+3] = 255
			k += 3
		}
	}
}

func toByte(v float32) uint8 {
	f := (v + 1) * 127.5
	switch {
	case f <= 0:
		return 0
	case f >= 255:
		return 255
	}
	return uint8(f + 0.5)
}

// Quantizer maps 8-bit pixels straight to a model's int8 input and its
// int8 output straight back to pixels through two 256-entry tables, with
// the same rounding as going through float32 in [-1, 1].
type Quantizer struct {
	in  [256]int8
	out [256]uint8
}

// NewQuantizer builds the tables for input (inScale, inZP) and output
// (outScale, outZP) quantization.
func NewQuantizer(inScale float32, inZP int32, outScale float32, outZP int32) *Quantizer {
	q := &Quantizer{}
	for p := range 256 {
		v := float32(p)/127.5 - 1
		r := math.Round(float64(v)/float64(inScale)) + float64(inZP)
		q.in[p] = int8(max(-128, min(127, r)))
	}
	for i := range 256 {
		qv := int8(i - 128)
		q.out[i] = toByte(outScale * float32(int32(qv)-outZP))
	}
	return q
}

// ToInt8 writes img's RGB as the model's int8 input.
func (q *Quantizer) ToInt8(img *image.RGBA, dst []int8) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	k := 0
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < len(row); x += 4 {
			dst[k] = q.in[row[x]]
			dst[k+1] = q.in[row[x+1]]
			dst[k+2] = q.in[row[x+2]]
			k += 3
		}
	}
}

// FromInt8 writes the model's int8 output into img (opaque).
func (q *Quantizer) FromInt8(src []int8, img *image.RGBA) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	k := 0
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < len(row); x += 4 {
			row[x] = q.out[uint8(src[k])^0x80]
			row[x+1] = q.out[uint8(src[k+1])^0x80]
			row[x+2] = q.out[uint8(src[k+2])^0x80]
			row[x+3] = 255
			k += 3
		}
	}
}
