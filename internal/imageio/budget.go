package imageio

import (
	"errors"
	"fmt"
)

// DefaultMaxDecodeBytes is the decode memory budget when
// DecodeOptions.MaxDecodeBytes is 0: with the daemon's own ~75 MB it keeps
// a worst-case photo under 300 MB of RSS (MemoryMax=350M in the README's
// unit).
const DefaultMaxDecodeBytes = 200 << 20

// ErrDecodeMemory is returned by Decode when decoding the image would take
// more memory than allowed, judged from its header before decoding: a
// "memory bomb" under the pixel limit, such as a 16-bit interlaced PNG, a
// progressive 4:4:4 JPEG or a lossless WebP of tens of megapixels.
var ErrDecodeMemory = errors.New("too much memory to decode")

// decodeBytes estimates from the header the most memory the decoder of
// format h.Format holds at once to decode data to at least sw x sh: the
// pixels at the size it decodes to, plus any whole-image buffer such as a
// progressive JPEG's coefficients.
func decodeBytes(data []byte, h Header, sw, sh int) (int64, error) {
	px := int64(h.Width) * int64(h.Height)
	out := int64(sw) * int64(sh) * 4
	switch h.Format {
	case "jpeg":
		f, err := parseJPEGFrame(data)
		if err != nil {
			return 0, err
		}
		// Every coefficient is kept for progressive or non-interleaved
		// scans (libjpeg-turbo: 2 bytes each; image/jpeg: 4).
		whole := f.Progressive() || f.ScanComponents < len(f.Components)
		if turboReads(f) {
			dw, dh := turboScale(h.Width, h.Height, sw, sh)
			n := int64(dw)*int64(dh)*4 + out
			if whole {
				n += f.coefficientBytes()
			}
			return n, nil
		}
		// image/jpeg: full-size planes (YCbCr or CMYK), converted to RGBA
		// a band at a time.
		n := px*int64(len(f.Components)) + out
		if whole {
			n += 2 * f.coefficientBytes()
		}
		return n, nil
	case "png":
		return pngBytes(data, px) + out, nil
	case "webp":
		// Lossless (VP8L): 4 bytes of ARGB a pixel, and transforms that
		// make new copies; lossy: 4:2:0 YCbCr and an alpha plane.
		if webpChunk(data, "VP8L") != nil {
			return px*12 + out, nil
		}
		return px*3 + out, nil
	case "gif":
		return px*2 + out, nil // the paletted frame
	case "heif", "avif":
		// libheif: YCbCr planes (up to 4:4:4, 16 bits) and the RGBA image.
		return px*10 + out, nil
	}
	return px*8 + out, nil
}

// pngBytes is what image/png holds for a px-pixel PNG: the image in the
// Go type its IHDR maps to, twice when interlaced (the passes, then the
// merged image).
func pngBytes(data []byte, px int64) int64 {
	ihdr := pngChunk(data, "IHDR")
	if len(ihdr) < 13 {
		return px * 16
	}
	depth, colour, interlace := ihdr[8], ihdr[9], ihdr[12]
	var bpp int64
	switch colour {
	case 0: // gray
		bpp = 1
		if pngChunk(data, "tRNS") != nil {
			bpp = 4 // gray with a transparent colour becomes NRGBA
		}
	case 3: // paletted
		bpp = 1
	default: // RGB, gray+alpha, RGBA
		bpp = 4
	}
	if depth == 16 {
		bpp *= 2
	}
	if interlace != 0 {
		bpp *= 2
	}
	return px * bpp
}

// checkDecodeMemory refuses data whose decoding, with the encoded bytes
// themselves, would exceed max bytes.
func checkDecodeMemory(data []byte, h Header, sw, sh int, max int64) error {
	if max == 0 {
		max = DefaultMaxDecodeBytes
	}
	if max < 0 {
		return nil
	}
	n, err := decodeBytes(data, h, sw, sh)
	if err != nil {
		return err
	}
	if n+int64(len(data)) > max {
		return fmt.Errorf("%s of %dx%d pixels would take about %d MB to decode, limit %d MB: %w",
			h.Format, h.Width, h.Height, (n+int64(len(data)))>>20, max>>20, ErrDecodeMemory)
	}
	return nil
}
