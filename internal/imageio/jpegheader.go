package imageio

import (
	"encoding/binary"
	"fmt"
)

// jpegFrame is what a JPEG's start-of-frame segment declares.
type jpegFrame struct {
	// Marker is the SOF marker: 0xC0 baseline, 0xC1 extended sequential,
	// 0xC2 progressive, 0xC3 lossless, 0xC9-0xCB arithmetic coded.
	Marker        byte
	Precision     int // bits per sample
	Width, Height int
	Components    []jpegComponent
	// ScanComponents is the number of components in the first scan (0
	// when the data ends before it): fewer than the frame's means the
	// scans are not interleaved, and a decoder keeps every coefficient.
	ScanComponents int
}

// jpegComponent is one colour component of a frame with its sampling
// factors.
type jpegComponent struct {
	H, V int
}

// Progressive reports whether the frame is progressive (the whole image's
// DCT coefficients are kept until the last scan).
func (f jpegFrame) Progressive() bool {
	return f.Marker == 0xC2 || f.Marker == 0xC6 || f.Marker == 0xCA || f.Marker == 0xCE
}

// coefficientBytes is what a decoder must keep to hold every DCT
// coefficient of the image (a progressive JPEG's buffer): 64 coefficients
// of 2 bytes for each 8x8 block of each component, whole MCUs.
func (f jpegFrame) coefficientBytes() int64 {
	hmax, vmax := 1, 1
	for _, c := range f.Components {
		hmax, vmax = max(hmax, c.H), max(vmax, c.V)
	}
	mcuX := (int64(f.Width) + int64(8*hmax) - 1) / int64(8*hmax)
	mcuY := (int64(f.Height) + int64(8*vmax) - 1) / int64(8*vmax)
	var blocks int64
	for _, c := range f.Components {
		blocks += mcuX * int64(c.H) * mcuY * int64(c.V)
	}
	return blocks * 64 * 2
}

// parseJPEGFrame reads the markers of a JPEG up to its first SOF segment.
func parseJPEGFrame(d []byte) (jpegFrame, error) {
	if len(d) < 4 || d[0] != 0xFF || d[1] != 0xD8 {
		return jpegFrame{}, fmt.Errorf("jpeg: no SOI marker")
	}
	for i := 2; ; {
		if i+4 > len(d) {
			return jpegFrame{}, fmt.Errorf("jpeg: no frame header before the end of the data")
		}
		if d[i] != 0xFF {
			return jpegFrame{}, fmt.Errorf("jpeg: bad marker at offset %d", i)
		}
		m := d[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		if m == 0xD8 || m == 0xD9 || m == 0xDA || (m >= 0xD0 && m <= 0xD7) || m == 0x01 {
			return jpegFrame{}, fmt.Errorf("jpeg: marker %#x before the frame header", m)
		}
		n := int(binary.BigEndian.Uint16(d[i+2:]))
		if n < 2 || i+2+n > len(d) {
			return jpegFrame{}, fmt.Errorf("jpeg: segment %#x of %d bytes overruns the data", m, n)
		}
		seg := d[i+4 : i+2+n]
		if m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC {
			f, err := parseSOF(m, seg)
			if err == nil {
				f.ScanComponents = firstScanComponents(d[i+2+n:])
			}
			return f, err
		}
		i += 2 + n
	}
}

// firstScanComponents returns the component count of the first SOS
// segment among the markers that start d, or 0.
func firstScanComponents(d []byte) int {
	for i := 0; i+5 <= len(d) && d[i] == 0xFF; {
		m := d[i+1]
		if m == 0xFF {
			i++
			continue
		}
		n := int(binary.BigEndian.Uint16(d[i+2:]))
		if m == 0xDA {
			return int(d[i+4])
		}
		if n < 2 {
			return 0
		}
		i += 2 + n
	}
	return 0
}

func parseSOF(m byte, seg []byte) (jpegFrame, error) {
	if len(seg) < 6 {
		return jpegFrame{}, fmt.Errorf("jpeg: short frame header")
	}
	f := jpegFrame{Marker: m, Precision: int(seg[0]),
		Height: int(binary.BigEndian.Uint16(seg[1:])), Width: int(binary.BigEndian.Uint16(seg[3:]))}
	nc := int(seg[5])
	if nc == 0 || len(seg) < 6+3*nc {
		return jpegFrame{}, fmt.Errorf("jpeg: frame header declares %d components in %d bytes", nc, len(seg))
	}
	for k := 0; k < nc; k++ {
		hv := seg[6+3*k+1]
		c := jpegComponent{H: int(hv >> 4), V: int(hv & 0x0F)}
		if c.H < 1 || c.H > 4 || c.V < 1 || c.V > 4 {
			return jpegFrame{}, fmt.Errorf("jpeg: component %d has sampling factors %dx%d", k, c.H, c.V)
		}
		f.Components = append(f.Components, c)
	}
	if f.Width == 0 || f.Height == 0 {
		return jpegFrame{}, fmt.Errorf("jpeg: frame header declares %dx%d pixels", f.Width, f.Height)
	}
	return f, nil
}
