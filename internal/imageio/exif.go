package imageio

import (
	"bytes"
	"encoding/binary"
)

// Orientation reads the EXIF orientation (1-8) of an encoded image. It
// returns 1 (as stored) when there is no EXIF block, no orientation tag or
// anything it cannot parse: a broken EXIF block never fails a photo.
func Orientation(format string, data []byte) int {
	var tiff []byte
	switch format {
	case "jpeg":
		tiff = jpegEXIF(data)
	case "png":
		tiff = pngChunk(data, "eXIf")
	case "webp":
		tiff = webpChunk(data, "EXIF")
	}
	tiff = bytes.TrimPrefix(tiff, []byte("Exif\x00\x00"))
	o := tiffOrientation(tiff)
	if o < 1 || o > 8 {
		return 1
	}
	return o
}

// jpegEXIF returns the TIFF payload of the first APP1 Exif segment.
func jpegEXIF(d []byte) []byte {
	if len(d) < 4 || d[0] != 0xFF || d[1] != 0xD8 {
		return nil
	}
	for i := 2; i+4 <= len(d); {
		if d[i] != 0xFF {
			return nil
		}
		marker := d[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image
			return nil
		}
		n := int(binary.BigEndian.Uint16(d[i+2:]))
		if n < 2 || i+2+n > len(d) {
			return nil
		}
		seg := d[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return seg[6:]
		}
		i += 2 + n
	}
	return nil
}

// pngChunk returns the data of the first chunk of the given type.
func pngChunk(d []byte, typ string) []byte {
	const sig = "\x89PNG\r\n\x1a\n"
	if !bytes.HasPrefix(d, []byte(sig)) {
		return nil
	}
	for i := len(sig); i+12 <= len(d); {
		n := int(binary.BigEndian.Uint32(d[i:]))
		if n < 0 || i+12+n > len(d) {
			return nil
		}
		if string(d[i+4:i+8]) == typ {
			return d[i+8 : i+8+n]
		}
		if string(d[i+4:i+8]) == "IDAT" && typ != "IDAT" {
			// eXIf must come before IDAT; stop at the pixels.
			return nil
		}
		i += 12 + n
	}
	return nil
}

// webpChunk returns the data of the first RIFF chunk of the given type.
func webpChunk(d []byte, typ string) []byte {
	if len(d) < 12 || string(d[0:4]) != "RIFF" || string(d[8:12]) != "WEBP" {
		return nil
	}
	for i := 12; i+8 <= len(d); {
		n := int(binary.LittleEndian.Uint32(d[i+4:]))
		if n < 0 || i+8+n > len(d) {
			return nil
		}
		if string(d[i:i+4]) == typ {
			return d[i+8 : i+8+n]
		}
		i += 8 + n + n&1
	}
	return nil
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF structure.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[0:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 0
	}
	count := int(bo.Uint16(t[off:]))
	for k := 0; k < count; k++ {
		e := off + 2 + 12*k
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 { // SHORT
			return int(bo.Uint16(t[e+8:]))
		}
	}
	return 0
}
