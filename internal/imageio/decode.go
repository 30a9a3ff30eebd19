package imageio

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif"  // GIF decoder (first frame)
	_ "image/jpeg" // JPEG decoder
	_ "image/png"  // PNG decoder

	_ "golang.org/x/image/webp" // WebP decoder

	"github.com/animed/animed/internal/offheap"
)

// ErrTooManyPixels is returned by Decode when the header declares more
// pixels than allowed, before any pixel is decoded.
var ErrTooManyPixels = errors.New("too many pixels")

// ErrUnknownFormat is returned by Decode for data that is not a JPEG, PNG,
// WebP, GIF, HEIF or AVIF image.
var ErrUnknownFormat = errors.New("not a JPEG, PNG, WebP, GIF, HEIF or AVIF image")

// DecodeOptions limits and shapes what Decode returns.
type DecodeOptions struct {
	// MaxPixels refuses images whose header declares more pixels
	// (width*height); <= 0 means no limit.
	MaxPixels int64
	// MaxSide scales the image down (keeping the aspect ratio) so its
	// long side is at most MaxSide pixels; <= 0 keeps the size.
	MaxSide int
	// MaxDecodeBytes refuses images whose decoding would take more
	// memory, estimated from the header (ErrDecodeMemory); 0 means
	// DefaultMaxDecodeBytes, < 0 no limit.
	MaxDecodeBytes int64
}

// Photo is a decoded photo, upright and ready for a model.
type Photo struct {
	// RGB holds the opaque pixels (alpha composited on white), with the
	// EXIF orientation applied and the long side capped.
	RGB *image.RGBA
	// Alpha holds the original transparency at RGB's size, or nil when
	// the image is opaque.
	Alpha *image.Alpha
	// Format is the decoder's name: "jpeg", "png", "webp", "gif", "heif"
	// or "avif".
	Format string
	// Width and Height are the stored size, before orientation and scaling
	// (for HEIF and AVIF: after the file's rotation, which libheif applies).
	Width, Height int
	// Orientation is the EXIF orientation (1-8) that was applied. HEIF and
	// AVIF files carry theirs as transformations that libheif applies (an
	// EXIF orientation tag in them only repeats it), so theirs is 1.
	Orientation int
}

// Header is what Decode learns from an image header without decoding it.
type Header struct {
	Format        string
	Width, Height int
}

// DecodeHeader reads only the header of an encoded image.
func DecodeHeader(data []byte) (Header, error) {
	if f := heifFormat(data); f != "" {
		w, h, err := heifHeader(data)
		if err != nil {
			return Header{}, fmt.Errorf("read %s header: %w", f, err)
		}
		return Header{Format: f, Width: w, Height: h}, nil
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return Header{}, ErrUnknownFormat
		}
		return Header{}, fmt.Errorf("read header: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Header{}, fmt.Errorf("read header: %s declares %dx%d pixels", format, cfg.Width, cfg.Height)
	}
	return Header{Format: format, Width: cfg.Width, Height: cfg.Height}, nil
}

// Decode decodes an encoded photo. The pixel limit is checked against the
// header first; only then are the pixels decoded.
func Decode(data []byte, o DecodeOptions) (*Photo, error) {
	h, err := DecodeHeader(data)
	if err != nil {
		return nil, err
	}
	if n := int64(h.Width) * int64(h.Height); o.MaxPixels > 0 && n > o.MaxPixels {
		return nil, fmt.Errorf("%s header declares %dx%d = %d pixels, limit %d: %w",
			h.Format, h.Width, h.Height, n, o.MaxPixels, ErrTooManyPixels)
	}
	sw, sh := scaledSize(h.Width, h.Height, o.MaxSide)
	if err := checkDecodeMemory(data, h, sw, sh, o.MaxDecodeBytes); err != nil {
		return nil, fmt.Errorf("decode %s: %w", h.Format, err)
	}
	r, err := decodePixels(data, h, sw, sh)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", h.Format, err)
	}
	p := &Photo{Format: h.Format, Width: h.Width, Height: h.Height,
		Orientation: Orientation(h.Format, data)}
	opaque := r.opaque || isOpaque(r.img)
	rgb, ok := r.img.(*image.RGBA)
	if b := r.img.Bounds(); r.release != nil || !ok || b.Min != (image.Point{}) || b.Dx() != sw || b.Dy() != sh {
		rgb = toRGBA(r.img, sw, sh)
	}
	r.img = nil // let the decoded pixels go before the next allocations
	if r.release != nil {
		r.release()
	}
	alpha := flattenOnWhite(rgb, opaque)
	p.RGB = orientRGBA(rgb, p.Orientation)
	if alpha != nil {
		p.Alpha = orientAlpha(alpha, p.Orientation)
	}
	return p, nil
}

// raw is an image as a decoder made it.
type raw struct {
	img image.Image
	// opaque is true when every pixel is known to be opaque (a JPEG)
	// without a look at each.
	opaque bool
	// release, when not nil, frees img's pixels, which are outside the
	// Go heap (package offheap): the caller resizes them and then calls
	// it, and RSS drops at once instead of at the collector's next turn.
	release func()
}

// decodePixels decodes the image at least at sw x sh pixels: a JPEG that
// libjpeg-turbo can read goes straight to the smallest DCT scale that
// still covers sw x sh; everything else is decoded at full size by Go.
func decodePixels(data []byte, h Header, sw, sh int) (raw, error) {
	if h.Format == "heif" || h.Format == "avif" {
		m, err := heifDecode(data, sw, sh)
		return raw{img: m}, err
	}
	if h.Format == "jpeg" {
		f, err := parseJPEGFrame(data)
		if err != nil {
			return raw{}, err
		}
		if turboReads(f) {
			return turboDecodeScaled(data, h, sw, sh)
		}
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	return raw{img: img}, err
}

// turboDecodeScaled is decodePixels for JPEGs libjpeg-turbo reads: at the
// final size into the Go heap, at a larger DCT scale outside it.
func turboDecodeScaled(data []byte, h Header, sw, sh int) (raw, error) {
	w, ht := turboScale(h.Width, h.Height, sw, sh)
	rect := image.Rect(0, 0, w, ht)
	if w == sw && ht == sh {
		m := image.NewRGBA(rect)
		return raw{img: m, opaque: true}, turboDecode(data, m)
	}
	buf, err := offheap.Alloc(4 * w * ht)
	if err != nil {
		return raw{}, err
	}
	m := &image.RGBA{Pix: buf.Bytes(), Stride: 4 * w, Rect: rect}
	if err := turboDecode(data, m); err != nil {
		buf.Free()
		return raw{}, err
	}
	return raw{img: m, opaque: true, release: func() { buf.Free() }}, nil
}

// turboReads reports whether libjpeg-turbo decodes the frame to RGB: 8-bit
// grayscale or YCbCr, Huffman or arithmetic coded, sequential or
// progressive. CMYK (which it cannot convert to RGB) goes to Go's decoder.
func turboReads(f jpegFrame) bool {
	switch f.Marker {
	case 0xC0, 0xC1, 0xC2, 0xC9, 0xCA:
	default:
		return false
	}
	return f.Precision == 8 && (len(f.Components) == 1 || len(f.Components) == 3)
}

// scaledSize caps the long side of w x h at maxSide, keeping the aspect
// ratio and at least one pixel per side.
func scaledSize(w, h, maxSide int) (int, int) {
	if maxSide <= 0 || (w <= maxSide && h <= maxSide) {
		return w, h
	}
	if w >= h {
		return maxSide, max(1, int(int64(h)*int64(maxSide)/int64(w)))
	}
	return max(1, int(int64(w)*int64(maxSide)/int64(h))), maxSide
}

func isOpaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}

// flattenOnWhite composites the premultiplied pixels of m on white in
// place and returns the alpha channel it removed, or nil when every pixel
// was opaque.
func flattenOnWhite(m *image.RGBA, opaque bool) *image.Alpha {
	if opaque {
		return nil
	}
	var alpha *image.Alpha
	b := m.Bounds()
	for y := 0; y < b.Dy(); y++ {
		row := m.Pix[y*m.Stride : y*m.Stride+4*b.Dx()]
		for x := 0; x < len(row); x += 4 {
			a := row[x+3]
			if a == 0xFF {
				continue
			}
			if alpha == nil {
				alpha = image.NewAlpha(b)
				for i := range alpha.Pix {
					alpha.Pix[i] = 0xFF
				}
			}
			alpha.Pix[y*alpha.Stride+x/4] = a
			w := 0xFF - a // premultiplied "over white": c + (1-a)*255
			row[x] += w
			row[x+1] += w
			row[x+2] += w
			row[x+3] = 0xFF
		}
	}
	return alpha
}

// WithAlpha puts an alpha channel (as returned in Photo.Alpha) back onto
// opaque pixels of the same size. It returns rgb itself when alpha is nil.
func WithAlpha(rgb *image.RGBA, alpha *image.Alpha) image.Image {
	if alpha == nil {
		return rgb
	}
	b := rgb.Bounds()
	out := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := rgb.RGBAAt(x, y)
			a := uint8(0xFF)
			if (image.Point{x, y}).In(alpha.Bounds()) {
				a = alpha.AlphaAt(x, y).A
			}
			out.SetNRGBA(x, y, color.NRGBA{c.R, c.G, c.B, a})
		}
	}
	return out
}
