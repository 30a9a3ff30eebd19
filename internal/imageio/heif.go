package imageio

// HEIF (HEIC from phones, and AVIF) through libheif, loaded with dlopen
// when the first such photo comes: animed runs without it, and a HEIC
// photo then fails with an error that names the package to install. Only
// libheif's header (libheif-dev) is needed to build.

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <libheif/heif.h>

#define HEIF_FUNCS(X) \
	X(context_alloc) X(context_free) X(context_read_from_memory_without_copy) \
	X(context_get_primary_image_handle) X(image_handle_release) \
	X(image_handle_get_width) X(image_handle_get_height) \
	X(image_handle_has_alpha_channel) X(decoding_options_alloc) \
	X(decoding_options_free) X(decode_image) X(image_get_plane_readonly) \
	X(image_get_width) X(image_get_height) X(image_release) \
	X(have_decoder_for_format)

typedef struct {
#define FIELD(f) __typeof__(heif_##f) *f;
	HEIF_FUNCS(FIELD)
#undef FIELD
} heif_api;

// heif_load fills api from the library and returns NULL, or dlerror().
static const char *heif_load(const char *name, heif_api *api) {
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) return dlerror();
#define LOAD(f) if ((api->f = dlsym(h, "heif_" #f)) == NULL) return dlerror();
	HEIF_FUNCS(LOAD)
#undef LOAD
	return NULL;
}

typedef struct {
	struct heif_context *ctx;
	struct heif_image_handle *handle;
	struct heif_image *img;
	int width, height, alpha; // the primary image, transformations applied
	const uint8_t *pix;       // interleaved RGBA after heif_decode
	int stride;
} heif_photo;

// heif_open parses the file (data must stay until heif_close) and its
// primary image's header.
static struct heif_error heif_open(heif_api *api, const void *data, size_t n, heif_photo *p) {
	p->ctx = api->context_alloc();
	struct heif_error err = api->context_read_from_memory_without_copy(p->ctx, data, n, NULL);
	if (err.code != heif_error_Ok) return err;
	err = api->context_get_primary_image_handle(p->ctx, &p->handle);
	if (err.code != heif_error_Ok) return err;
	p->width = api->image_handle_get_width(p->handle);
	p->height = api->image_handle_get_height(p->handle);
	p->alpha = api->image_handle_has_alpha_channel(p->handle);
	return err;
}

// heif_decode decodes the primary image to 8-bit interleaved RGBA with
// the file's rotation and mirroring (irot, imir) applied.
static struct heif_error heif_decode(heif_api *api, heif_photo *p) {
	struct heif_decoding_options *o = api->decoding_options_alloc();
	o->ignore_transformations = 0;
	o->convert_hdr_to_8bit = 1;
	struct heif_error err = api->decode_image(p->handle, &p->img, heif_colorspace_RGB, heif_chroma_interleaved_RGBA, o);
	api->decoding_options_free(o);
	if (err.code != heif_error_Ok) return err;
	p->pix = api->image_get_plane_readonly(p->img, heif_channel_interleaved, &p->stride);
	p->width = api->image_get_width(p->img, heif_channel_interleaved);
	p->height = api->image_get_height(p->img, heif_channel_interleaved);
	return err;
}

static void heif_close(heif_api *api, heif_photo *p) {
	if (p->img) api->image_release(p->img);
	if (p->handle) api->image_handle_release(p->handle);
	if (p->ctx) api->context_free(p->ctx);
}
*/
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"sync"
	"unsafe"
)

// ErrNoLibheif is returned for HEIF and AVIF photos when libheif cannot
// be loaded.
var ErrNoLibheif = errors.New("HEIF/AVIF photos need libheif: install the Debian package libheif1 (apt-get install libheif1)")

const libheifName = "libheif.so.1"

// libheif is loaded once, on first use.
var libheif = sync.OnceValues(func() (*C.heif_api, error) { return loadHeif(libheifName) })

func loadHeif(name string) (*C.heif_api, error) {
	api := (*C.heif_api)(C.calloc(1, C.sizeof_heif_api)) // lives as long as the process
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	if msg := C.heif_load(cname, api); msg != nil {
		C.free(unsafe.Pointer(api))
		return nil, fmt.Errorf("%w: %s", ErrNoLibheif, C.GoString(msg))
	}
	return api, nil
}

// heifBrands are the ftyp brands of still HEIF images: HEVC-coded (HEIC,
// what phones write), AVIF, and the general ones.
var heifBrands = map[string]string{
	"heic": "heif", "heix": "heif", "heim": "heif", "heis": "heif",
	"mif1": "heif", "msf1": "heif", "avif": "avif", "avis": "avif",
}

// heifFormat returns "heif" or "avif" for data that starts with an ISO
// media file's ftyp box naming a HEIF brand, else "".
func heifFormat(data []byte) string {
	if len(data) < 16 || string(data[4:8]) != "ftyp" {
		return ""
	}
	n := int(uint32(data[0])<<24 | uint32(data[1])<<16 | uint32(data[2])<<8 | uint32(data[3]))
	if n < 16 || n > len(data) {
		return ""
	}
	if f, ok := heifBrands[string(data[8:12])]; ok {
		return f
	}
	for i := 16; i+4 <= n; i += 4 { // compatible brands
		if f, ok := heifBrands[string(data[i:i+4])]; ok && !bytes.Equal(data[i:i+4], []byte("mif1")) {
			return f
		}
	}
	for i := 16; i+4 <= n; i += 4 {
		if string(data[i:i+4]) == "mif1" {
			return "heif"
		}
	}
	return ""
}

// heifPhoto is a parsed HEIF file whose C memory heifPhoto.close frees.
type heifPhoto struct {
	api  *C.heif_api
	data unsafe.Pointer // C copy of the file, which libheif reads in place
	p    C.heif_photo
}

func openHeif(data []byte) (*heifPhoto, error) {
	api, err := libheif()
	if err != nil {
		return nil, err
	}
	h := &heifPhoto{api: api, data: C.CBytes(data)}
	if e := C.heif_open(api, h.data, C.size_t(len(data)), &h.p); e.code != C.heif_error_Ok {
		err := heifError(e)
		h.close()
		return nil, err
	}
	return h, nil
}

func (h *heifPhoto) close() {
	C.heif_close(h.api, &h.p)
	C.free(h.data)
}

// heifError copies libheif's message (which may live in the context).
func heifError(e C.struct_heif_error) error {
	return fmt.Errorf("libheif: %s (error %d.%d)", C.GoString(e.message), int(e.code), int(e.subcode))
}

// heifHeader returns the size of a HEIF file's primary image as shown,
// that is after its rotation.
func heifHeader(data []byte) (w, h int, err error) {
	p, err := openHeif(data)
	if err != nil {
		return 0, 0, err
	}
	defer p.close()
	return int(p.p.width), int(p.p.height), nil
}

// heifDecode decodes a HEIF file's primary image, upright, and shrinks it
// to sw x sh (no larger than the size heifHeader returns) while the
// decoded pixels are still libheif's: the Go heap never holds the full
// size. Transparent images come back premultiplied, for Decode to flatten.
func heifDecode(data []byte, sw, sh int) (*image.RGBA, error) {
	p, err := openHeif(data)
	if err != nil {
		return nil, err
	}
	defer p.close()
	if e := C.heif_decode(p.api, &p.p); e.code != C.heif_error_Ok {
		return nil, heifError(e)
	}
	w, h, stride := int(p.p.width), int(p.p.height), int(p.p.stride)
	if p.p.pix == nil || w < sw || h < sh || stride < 4*w {
		return nil, fmt.Errorf("libheif: decoded %dx%d pixels (stride %d), want at least %dx%d", w, h, stride, sw, sh)
	}
	pix := unsafe.Slice((*byte)(unsafe.Pointer(p.p.pix)), (h-1)*stride+4*w)
	rect := image.Rect(0, 0, w, h)
	if p.p.alpha == 0 {
		return toRGBA(&image.RGBA{Pix: pix, Stride: stride, Rect: rect}, sw, sh), nil
	}
	return toRGBA(&image.NRGBA{Pix: pix, Stride: stride, Rect: rect}, sw, sh), nil
}
