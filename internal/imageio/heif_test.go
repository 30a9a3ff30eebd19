package imageio

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// heifEnc encodes an image file into HEIC (or AVIF, by the name's suffix)
// with libheif's heif-enc, skipping the test when it is missing.
func heifEnc(t *testing.T, src []byte, srcName, outName string) []byte {
	t.Helper()
	enc, err := exec.LookPath("heif-enc")
	if err != nil {
		t.Skip("skipping: heif-enc not found (Debian package libheif-examples: make deps)")
	}
	if _, err := libheif(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, srcName), filepath.Join(dir, outName)
	if err := os.WriteFile(in, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(enc, "-q", "90", "-o", out, in).CombinedOutput(); err != nil {
		if strings.HasSuffix(outName, ".avif") {
			t.Skipf("skipping: heif-enc cannot write AVIF here: %v\n%s", err, b)
		}
		t.Fatalf("heif-enc: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodeHEIF(t *testing.T) {
	red, blue := color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}
	half := image.NewNRGBA(image.Rect(0, 0, 64, 32))
	for i := 0; i < len(half.Pix); i += 4 {
		half.Pix[i+2], half.Pix[i+3] = 255, 128 // half-transparent blue
	}
	tests := []struct {
		name       string
		src        []byte
		srcName    string
		out        string
		format     string
		w, h       int
		topLeft    color.RGBA
		bottomLeft color.RGBA
		alpha      bool
	}{
		{"heic", encodePNG(t, quadrants(64, 32)), "q.png", "q.heic", "heif", 64, 32, red, blue, false},
		// heif-enc 1.15 copies the EXIF block (orientation 6) and writes no
		// rotation (irot): in HEIF only irot/imir, which libheif applies,
		// orient the image, and the EXIF tag must not turn it a second time.
		{"heic exif 6", withEXIFOrientation(encodeJPEG(t, quadrants(64, 32)), 6), "q.jpg", "q6.heic", "heif", 64, 32, red, blue, false},
		{"heic alpha", encodePNG(t, half), "a.png", "a.heic", "heif", 64, 32, color.RGBA{127, 127, 255, 255}, color.RGBA{127, 127, 255, 255}, true},
		{"avif", encodePNG(t, quadrants(64, 32)), "q.png", "q.avif", "avif", 64, 32, red, blue, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := heifEnc(t, tt.src, tt.srcName, tt.out)
			if tt.name == "heic exif 6" && !bytes.Contains(data, []byte("MM\x00*")) {
				t.Fatal("heif-enc dropped the EXIF block: the test needs it")
			}
			p, err := Decode(data, DecodeOptions{MaxPixels: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			b := p.RGB.Bounds()
			if p.Format != tt.format || b.Dx() != tt.w || b.Dy() != tt.h || p.Orientation != 1 {
				t.Fatalf("decoded %s %v orientation %d, want %s %dx%d orientation 1", p.Format, b, p.Orientation, tt.format, tt.w, tt.h)
			}
			if c := p.RGB.RGBAAt(2, 2); !near(c, tt.topLeft) {
				t.Errorf("top left %v, want %v", c, tt.topLeft)
			}
			if c := p.RGB.RGBAAt(2, b.Dy()-3); !near(c, tt.bottomLeft) {
				t.Errorf("bottom left %v, want %v", c, tt.bottomLeft)
			}
			if (p.Alpha != nil) != tt.alpha {
				t.Errorf("alpha kept = %v, want %v", p.Alpha != nil, tt.alpha)
			}
			if _, err := Decode(data, DecodeOptions{MaxPixels: 1000}); !errors.Is(err, ErrTooManyPixels) {
				t.Errorf("with a 1000-pixel limit: %v, want ErrTooManyPixels", err)
			}
			if _, err := Decode(data[:len(data)/2], DecodeOptions{}); err == nil {
				t.Errorf("a truncated file decoded")
			}
		})
	}
}

func TestHEIFWithoutLibheif(t *testing.T) {
	_, err := loadHeif("libheif-not-installed.so.1")
	if !errors.Is(err, ErrNoLibheif) || !strings.Contains(err.Error(), "libheif1") {
		t.Fatalf("error %v, want ErrNoLibheif naming the package libheif1", err)
	}
}
