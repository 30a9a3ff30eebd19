package imageio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"path/filepath"
	"strings"
)

// Format is an output file format.
type Format string

// Output formats.
const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
)

// Ext returns the file name extension for the format (".jpg" or ".png").
func (f Format) Ext() string {
	if f == PNG {
		return ".png"
	}
	return ".jpg"
}

// ParseFormat accepts "jpg", "jpeg" or "png" (any case, with or without a
// leading dot).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimPrefix(s, ".")) {
	case "jpg", "jpeg":
		return JPEG, nil
	case "png":
		return PNG, nil
	}
	return "", fmt.Errorf("unknown output format %q (want jpg or png)", s)
}

// FormatFromName picks the output format from a file name's extension.
func FormatFromName(name string) (Format, error) {
	f, err := ParseFormat(filepath.Ext(name))
	if err != nil {
		return "", fmt.Errorf("%s: extension must be .jpg, .jpeg or .png", name)
	}
	return f, nil
}

// EncodeOptions says how Encode writes an image.
type EncodeOptions struct {
	Format  Format
	Quality int    // JPEG quality 1-100; <= 0 means 90
	Comment string // stored as a JPEG COM segment or a PNG tEXt "Comment"
}

// Encode writes img in the chosen format with the comment as its only
// metadata.
func Encode(w io.Writer, img image.Image, o EncodeOptions) error {
	var buf bytes.Buffer
	switch o.Format {
	case JPEG, "":
		q := o.Quality
		if q <= 0 {
			q = 90
		}
		j, err := compressJPEG(img, min(q, 100))
		if err != nil {
			return fmt.Errorf("encode jpeg: %w", err)
		}
		if o.Comment != "" {
			return writeJPEGComment(w, j, o.Comment)
		}
		_, err = w.Write(j)
		return err
	case PNG:
		enc := png.Encoder{CompressionLevel: png.DefaultCompression}
		if err := enc.Encode(&buf, img); err != nil {
			return fmt.Errorf("encode png: %w", err)
		}
		if o.Comment != "" {
			return writePNGComment(w, buf.Bytes(), o.Comment)
		}
	default:
		return fmt.Errorf("encode: unknown format %q", o.Format)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// compressJPEG compresses RGBA pixels (what the model returns) with
// libjpeg-turbo, about five times faster than image/jpeg, and anything
// else with image/jpeg.
func compressJPEG(img image.Image, quality int) ([]byte, error) {
	if m, ok := img.(*image.RGBA); ok && !m.Bounds().Empty() {
		return turboEncode(m, quality)
	}
	var buf bytes.Buffer
	err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality})
	return buf.Bytes(), err
}

// writeJPEGComment writes the JPEG with a COM segment right after SOI.
func writeJPEGComment(w io.Writer, j []byte, comment string) error {
	if len(comment) > 0xFFFF-2 {
		comment = comment[:0xFFFF-2]
	}
	seg := make([]byte, 4, 4+len(comment))
	seg[0], seg[1] = 0xFF, 0xFE
	binary.BigEndian.PutUint16(seg[2:], uint16(2+len(comment)))
	seg = append(seg, comment...)
	return writeAll(w, j[:2], seg, j[2:])
}

// writePNGComment writes the PNG with a tEXt chunk right after IHDR.
func writePNGComment(w io.Writer, p []byte, comment string) error {
	const ihdrEnd = 8 + 4 + 4 + 13 + 4
	if len(p) < ihdrEnd || string(p[12:16]) != "IHDR" {
		return fmt.Errorf("encode png: unexpected encoder output")
	}
	data := append([]byte("Comment\x00"), comment...)
	chunk := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(chunk, uint32(len(data)))
	copy(chunk[4:], "tEXt")
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	return writeAll(w, p[:ihdrEnd], chunk, p[ihdrEnd:])
}

func writeAll(w io.Writer, parts ...[]byte) error {
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// Comment returns the text comment of a JPEG (first COM segment) or PNG
// (tEXt "Comment"), or "" when there is none.
func Comment(data []byte) string {
	if t := pngChunk(data, "tEXt"); t != nil {
		if k, v, ok := bytes.Cut(t, []byte{0}); ok && string(k) == "Comment" {
			return string(v)
		}
	}
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return ""
	}
	for i := 2; i+4 <= len(data) && data[i] == 0xFF; {
		m := data[i+1]
		if m == 0xDA || m == 0xD9 {
			return ""
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return ""
		}
		if m == 0xFE {
			return string(data[i+4 : i+2+n])
		}
		i += 2 + n
	}
	return ""
}
