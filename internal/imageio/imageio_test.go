package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// quadrants returns a w x h image with a distinct colour in each quadrant,
// so orientation mistakes show.
func quadrants(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	cols := []color.RGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {255, 255, 0, 255}}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			q := 0
			if x >= w/2 {
				q++
			}
			if y >= h/2 {
				q += 2
			}
			m.SetRGBA(x, y, cols[q])
		}
	}
	return m
}

func encodePNG(t *testing.T, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t *testing.T, m image.Image) []byte {
	t.Helper()
	return encodeJPEGB(t, m)
}

func encodeJPEGB(t testing.TB, m image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withEXIFOrientation inserts an APP1 Exif segment with the orientation tag.
func withEXIFOrientation(j []byte, o uint16) []byte {
	tiff := []byte("MM\x00*\x00\x00\x00\x08")
	tiff = binary.BigEndian.AppendUint16(tiff, 1)
	tiff = binary.BigEndian.AppendUint16(tiff, 0x0112)
	tiff = binary.BigEndian.AppendUint16(tiff, 3)
	tiff = binary.BigEndian.AppendUint32(tiff, 1)
	tiff = binary.BigEndian.AppendUint16(tiff, o)
	tiff = append(tiff, 0, 0, 0, 0, 0, 0)
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, j[:2]...)
	out = append(out, seg...)
	return append(out, j[2:]...)
}

// bombPNG is a PNG header declaring w x h pixels and nothing else.
func bombPNG(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := []byte("IHDR")
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, ihdr...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(ihdr))
}

func near(a, b color.RGBA) bool {
	d := func(x, y uint8) int { return max(int(x), int(y)) - min(int(x), int(y)) }
	return d(a.R, b.R) < 40 && d(a.G, b.G) < 40 && d(a.B, b.B) < 40
}

func TestDecodeOrientation(t *testing.T) {
	src := encodeJPEG(t, quadrants(64, 32))
	red, green, blue, yellow := color.RGBA{255, 0, 0, 255}, color.RGBA{0, 255, 0, 255}, color.RGBA{0, 0, 255, 255}, color.RGBA{255, 255, 0, 255}
	tests := []struct {
		o          uint16
		w, h       int
		topLeft    color.RGBA
		bottomLeft color.RGBA
	}{
		{1, 64, 32, red, blue},
		{2, 64, 32, green, yellow},
		{3, 64, 32, yellow, green},
		{4, 64, 32, blue, red},
		{5, 32, 64, red, green},
		{6, 32, 64, blue, yellow},
		{7, 32, 64, yellow, blue},
		{8, 32, 64, green, red},
	}
	for _, tt := range tests {
		p, err := Decode(withEXIFOrientation(src, tt.o), DecodeOptions{})
		if err != nil {
			t.Fatalf("orientation %d: %v", tt.o, err)
		}
		b := p.RGB.Bounds()
		if b.Dx() != tt.w || b.Dy() != tt.h || p.Orientation != int(tt.o) {
			t.Errorf("orientation %d: got %dx%d (orientation %d), want %dx%d", tt.o, b.Dx(), b.Dy(), p.Orientation, tt.w, tt.h)
			continue
		}
		if tl := p.RGB.RGBAAt(2, 2); !near(tl, tt.topLeft) {
			t.Errorf("orientation %d: top left %v, want %v", tt.o, tl, tt.topLeft)
		}
		if bl := p.RGB.RGBAAt(2, b.Dy()-3); !near(bl, tt.bottomLeft) {
			t.Errorf("orientation %d: bottom left %v, want %v", tt.o, bl, tt.bottomLeft)
		}
	}
}

func TestDecodeFormats(t *testing.T) {
	gray16 := image.NewGray16(image.Rect(0, 0, 40, 20))
	for i := range gray16.Pix {
		gray16.Pix[i] = 0x80
	}
	half := image.NewNRGBA(image.Rect(0, 0, 20, 20))
	for i := 0; i < len(half.Pix); i += 4 {
		half.Pix[i], half.Pix[i+3] = 255, 128 // half-transparent red
	}
	cmyk := image.NewCMYK(image.Rect(0, 0, 16, 16))
	for i := 0; i < len(cmyk.Pix); i += 4 {
		cmyk.Pix[i+1] = 255 // magenta
	}
	var g bytes.Buffer
	pal := image.NewPaletted(image.Rect(0, 0, 10, 30), color.Palette{color.Black, color.White})
	if err := gif.Encode(&g, pal, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		data      []byte
		format    string
		w, h      int
		wantAlpha bool
		pixel     color.RGBA
	}{
		{"gray16 png", encodePNG(t, gray16), "png", 40, 20, false, color.RGBA{128, 128, 128, 255}},
		{"alpha png", encodePNG(t, half), "png", 20, 20, true, color.RGBA{255, 127, 127, 255}},
		{"cmyk jpeg", encodeJPEG(t, cmyk), "jpeg", 16, 16, false, color.RGBA{255, 0, 255, 255}},
		{"gif", g.Bytes(), "gif", 10, 30, false, color.RGBA{0, 0, 0, 255}},
	}
	for _, tt := range tests {
		p, err := Decode(tt.data, DecodeOptions{MaxPixels: 1 << 20})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if p.Format != tt.format || p.RGB.Bounds().Dx() != tt.w || p.RGB.Bounds().Dy() != tt.h {
			t.Errorf("%s: got %s %v", tt.name, p.Format, p.RGB.Bounds())
		}
		if (p.Alpha != nil) != tt.wantAlpha {
			t.Errorf("%s: alpha kept = %v, want %v", tt.name, p.Alpha != nil, tt.wantAlpha)
		}
		if c := p.RGB.RGBAAt(5, 5); !near(c, tt.pixel) || c.A != 255 {
			t.Errorf("%s: pixel %v, want %v", tt.name, c, tt.pixel)
		}
	}
}

func TestDecodeScalesLongSide(t *testing.T) {
	p, err := Decode(encodePNG(t, quadrants(300, 100)), DecodeOptions{MaxSide: 120})
	if err != nil {
		t.Fatal(err)
	}
	if b := p.RGB.Bounds(); b.Dx() != 120 || b.Dy() != 40 {
		t.Fatalf("scaled to %v, want 120x40", b)
	}
	if p.Width != 300 || p.Height != 100 {
		t.Fatalf("stored size %dx%d, want 300x100", p.Width, p.Height)
	}
}

func TestDecodeRefusesBadInput(t *testing.T) {
	good := encodeJPEG(t, quadrants(32, 32))
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"bomb header", bombPNG(100000, 100000), ErrTooManyPixels},
		{"text", []byte("hello, I am not a photo\n"), ErrUnknownFormat},
		{"truncated jpeg", good[:len(good)/2], nil},
		{"header only", good[:20], nil},
	}
	for _, tt := range tests {
		_, err := Decode(tt.data, DecodeOptions{MaxPixels: 50_000_000})
		if err == nil {
			t.Errorf("%s: decoded without error", tt.name)
			continue
		}
		if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestEncodeComment(t *testing.T) {
	m := quadrants(16, 8)
	for _, f := range []Format{JPEG, PNG} {
		var b bytes.Buffer
		if err := Encode(&b, m, EncodeOptions{Format: f, Comment: "generated by animed, model x"}); err != nil {
			t.Fatal(err)
		}
		if got := Comment(b.Bytes()); got != "generated by animed, model x" {
			t.Errorf("%s: comment %q", f, got)
		}
		p, err := Decode(b.Bytes(), DecodeOptions{})
		if err != nil {
			t.Fatalf("%s: re-decode: %v", f, err)
		}
		if p.Format != string(f) || p.RGB.Bounds().Dx() != 16 {
			t.Errorf("%s: re-decoded as %s %v", f, p.Format, p.RGB.Bounds())
		}
	}
}

func TestWithAlphaRoundTrip(t *testing.T) {
	half := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	for i := 0; i < len(half.Pix); i += 4 {
		half.Pix[i+2], half.Pix[i+3] = 255, 64
	}
	p, err := Decode(encodePNG(t, half), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := WithAlpha(p.RGB, p.Alpha).(*image.NRGBA)
	if a := out.NRGBAAt(3, 3).A; a != 64 {
		t.Fatalf("alpha %d, want 64", a)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "a.jpg")
	if err := os.WriteFile(good, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.jpg")
	os.WriteFile(empty, nil, 0o644)
	link := filepath.Join(dir, "link.jpg")
	os.Symlink(good, link)
	fifo := filepath.Join(dir, "fifo.jpg")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		max  int64
		want error
	}{
		{good, 100, nil},
		{good, 5, ErrTooLarge},
		{empty, 100, ErrEmpty},
		{link, 100, ErrNotRegular},
		{fifo, 100, ErrNotRegular},
		{dir, 100, ErrNotRegular},
	}
	for _, tt := range tests {
		_, err := ReadFile(tt.path, tt.max)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: error %v, want %v", filepath.Base(tt.path), err, tt.want)
		}
	}
}

func ExampleEncode() {
	var b bytes.Buffer
	m := image.NewRGBA(image.Rect(0, 0, 4, 4))
	_ = Encode(&b, m, EncodeOptions{Format: PNG, Comment: "generated by animed, model demo"})
	fmt.Println(Comment(b.Bytes()))
	// Output: generated by animed, model demo
}

func TestDecodeShrinkKeepsColours(t *testing.T) {
	for _, sz := range [][3]int{{256, 128, 64}, {1000, 500, 128}, {130, 260, 100}} {
		p, err := Decode(encodePNG(t, quadrants(sz[0], sz[1])), DecodeOptions{MaxSide: sz[2]})
		if err != nil {
			t.Fatal(err)
		}
		b := p.RGB.Bounds()
		if max(b.Dx(), b.Dy()) != sz[2] {
			t.Fatalf("%v: scaled to %v", sz, b)
		}
		want := quadrants(b.Dx(), b.Dy())
		for _, pt := range []image.Point{{2, 2}, {b.Dx() - 3, 2}, {2, b.Dy() - 3}, {b.Dx() - 3, b.Dy() - 3}} {
			if got := p.RGB.RGBAAt(pt.X, pt.Y); !near(got, want.RGBAAt(pt.X, pt.Y)) {
				t.Errorf("%v at %v: %v, want %v", sz, pt, got, want.RGBAAt(pt.X, pt.Y))
			}
		}
	}
}

// orientPix's blocked copy puts every pixel where orientSrc says, for
// every orientation, 4- and 1-byte pixels, and sizes that end mid-block.
func TestOrientPix(t *testing.T) {
	for _, size := range [][2]int{{1, 1}, {37, 70}, {64, 32}, {3, 100}} {
		w, h := size[0], size[1]
		for _, bpp := range []int{4, 1} {
			src := make([]uint8, w*h*bpp)
			for i := range src {
				src[i] = uint8(i*7 + i/251)
			}
			for o := 1; o <= 8; o++ {
				dw, dh := orientedSize(o, w, h)
				dst := make([]uint8, dw*dh*bpp)
				orientPix(dst, dw*bpp, src, w*bpp, bpp, o, w, h)
				for dy := range dh {
					for dx := range dw {
						sx, sy := orientSrc(o, dx, dy, w, h)
						for c := range bpp {
							if got, want := dst[(dy*dw+dx)*bpp+c], src[(sy*w+sx)*bpp+c]; got != want {
								t.Fatalf("%dx%d, %d bytes, orientation %d: (%d,%d)[%d] = %d, want %d", w, h, bpp, o, dx, dy, c, got, want)
							}
						}
					}
				}
			}
		}
	}
}
