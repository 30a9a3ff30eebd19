package imageio

// libjpeg-turbo's TurboJPEG API (Debian libturbojpeg0-dev), linked
// dynamically: the .deb depends on libturbojpeg0, which gets the
// distribution's security fixes.

/*
#cgo LDFLAGS: -lturbojpeg
#include <stdlib.h>
#include <turbojpeg.h>

// Scaling factors are a static table inside the library.
static int tj_scale(int i, int *num, int *denom) {
	int n = 0;
	tjscalingfactor *f = tjGetScalingFactors(&n);
	if (f == NULL || i >= n) return 0;
	*num = f[i].num;
	*denom = f[i].denom;
	return 1;
}
*/
import "C"

import (
	"fmt"
	"image"
	"strings"
	"unsafe"
)

// turboScale picks the smallest of libjpeg-turbo's DCT scaling factors
// (k/8) at which a w x h JPEG still covers tw x th, and returns the size
// it decodes to.
func turboScale(w, h, tw, th int) (sw, sh int) {
	sw, sh = w, h
	var num, denom C.int
	for i := C.int(0); C.tj_scale(i, &num, &denom) != 0; i++ {
		if num > denom {
			continue // enlargements
		}
		n, d := int(num), int(denom)
		x, y := (w*n+d-1)/d, (h*n+d-1)/d // TJSCALED
		if x >= tw && y >= th && x*y < sw*sh {
			sw, sh = x, y
		}
	}
	return sw, sh
}

// turboDecode decodes a JPEG with libjpeg-turbo to opaque RGBA into m,
// whose size is one of those turboScale returns. Warnings (libjpeg's name
// for recoverable corruption, such as stray bytes between markers) are
// accepted, except a premature end of the data: a truncated upload fails.
func turboDecode(data []byte, m *image.RGBA) error {
	h := C.tjInitDecompress()
	if h == nil {
		return fmt.Errorf("libjpeg-turbo: %s", C.GoString(C.tjGetErrorStr2(nil)))
	}
	defer C.tjDestroy(h)
	var w, ht, subsamp, cs C.int
	if C.tjDecompressHeader3(h, (*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), &w, &ht, &subsamp, &cs) != 0 {
		return turboError(h)
	}
	b := m.Bounds()
	rc := C.tjDecompress2(h, (*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)),
		(*C.uchar)(unsafe.Pointer(&m.Pix[0])), C.int(b.Dx()), C.int(m.Stride), C.int(b.Dy()), C.TJPF_RGBA, C.TJFLAG_LIMITSCANS)
	if rc != 0 {
		msg := C.GoString(C.tjGetErrorStr2(h))
		if C.tjGetErrorCode(h) == C.TJERR_FATAL || strings.Contains(msg, "Premature end") {
			return fmt.Errorf("libjpeg-turbo: %s", msg)
		}
	}
	return nil
}

// turboEncode compresses opaque RGBA pixels to a baseline 4:2:0 JPEG.
func turboEncode(m *image.RGBA, quality int) ([]byte, error) {
	h := C.tjInitCompress()
	if h == nil {
		return nil, fmt.Errorf("libjpeg-turbo: %s", C.GoString(C.tjGetErrorStr2(nil)))
	}
	defer C.tjDestroy(h)
	b := m.Bounds()
	pix := m.Pix[m.PixOffset(b.Min.X, b.Min.Y):]
	var buf *C.uchar
	var size C.ulong
	if C.tjCompress2(h, (*C.uchar)(unsafe.Pointer(&pix[0])), C.int(b.Dx()), C.int(m.Stride), C.int(b.Dy()),
		C.TJPF_RGBA, &buf, &size, C.TJSAMP_420, C.int(quality), 0) != 0 {
		if buf != nil {
			C.tjFree(buf)
		}
		return nil, turboError(h)
	}
	defer C.tjFree(buf)
	return C.GoBytes(unsafe.Pointer(buf), C.int(size)), nil
}

func turboError(h C.tjhandle) error {
	return fmt.Errorf("libjpeg-turbo: %s", C.GoString(C.tjGetErrorStr2(h)))
}
