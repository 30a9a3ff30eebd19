package imageio

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode with small limits: it must
// return an image or an error, never panic, hang or exceed the limits.
//
//	go test ./internal/imageio -run '^$' -fuzz FuzzDecode -fuzztime 1m
func FuzzDecode(f *testing.F) {
	var g bytes.Buffer
	gif.Encode(&g, image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White}), nil)
	for _, seed := range [][]byte{
		encodeJPEGB(f, quadrants(16, 8)),
		withEXIFOrientation(encodeJPEGB(f, quadrants(16, 8)), 6),
		pngFile(f, 8, 8, 16, 6, true),
		pngFile(f, 8, 4, 8, 3, false),
		g.Bytes(),
		losslessWebP(8, 8),
		jpegHeader(0xC2, 16, 16, 0x11, 0x11, 0x11),
		jpegHeader(0xC0, 16, 16, 0x22, 0x11, 0x11, 0x11),
		bombPNG(1<<20, 1<<20),
		[]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data, DecodeOptions{MaxPixels: 1 << 16, MaxSide: 64, MaxDecodeBytes: 16 << 20})
		if err != nil {
			return
		}
		if b := p.RGB.Bounds(); b.Dx() > 64 || b.Dy() > 64 || b.Empty() {
			t.Fatalf("decoded to %v with MaxSide 64", b)
		}
		if p.Alpha != nil && p.Alpha.Bounds() != p.RGB.Bounds() {
			t.Fatalf("alpha %v for RGB %v", p.Alpha.Bounds(), p.RGB.Bounds())
		}
	})
}

// FuzzOrientation parses arbitrary EXIF containers: the orientation is
// always 1-8 and a broken block never panics.
func FuzzOrientation(f *testing.F) {
	j := withEXIFOrientation(encodeJPEGB(f, quadrants(8, 8)), 8)
	f.Add("jpeg", j)
	f.Add("jpeg", j[:40])
	f.Add("png", pngFile(f, 4, 4, 8, 2, false))
	f.Add("webp", losslessWebP(4, 4))
	f.Fuzz(func(t *testing.T, format string, data []byte) {
		if o := Orientation(format, data); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
		parseJPEGFrame(data)
		Comment(data)
	})
}
