// Package phototest makes realistic phone photos for tests and benchmarks:
// a photo scaled up to a phone camera's 12 MP, with sensor noise, saved as
// a phone saves it (JPEG quality 92, 4:2:0, 3-4 MB).
//
// The noise matters: a plain upscale has little entropy and decodes about
// 20 times faster than a real photo of the same size, so it would flatter
// every decoder measurement.
package phototest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	xdraw "golang.org/x/image/draw"

	"github.com/animed/animed/internal/sharedtest"
)

// Phone sizes: a 12 MP phone camera's landscape frame.
const (
	PhoneWidth  = 4032
	PhoneHeight = 3024
)

// Source returns a landscape photo to start from: one of ../shared's
// people photos when the folder is there (i picks which), else a
// generated scene.
func Source(i int) image.Image {
	if root, ok := sharedtest.Root(); ok {
		names, _ := filepath.Glob(filepath.Join(root, "photos", "people", "bryandlee-*.jpg"))
		if len(names) > 0 {
			if f, err := os.Open(names[i%len(names)]); err == nil {
				m, err := jpeg.Decode(f)
				f.Close()
				if err == nil {
					return m
				}
			}
		}
	}
	return Scene(1280, 960, uint64(i))
}

// Scene draws a w x h picture with smooth gradients, hard edges and
// texture, different for each seed.
func Scene(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	type disc struct {
		x, y, rad float64
		c         color.RGBA
	}
	discs := make([]disc, 24)
	for i := range discs {
		discs[i] = disc{r.Float64() * float64(w), r.Float64() * float64(h), (0.03 + 0.15*r.Float64()) * float64(w),
			color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			c := color.RGBA{uint8(90 + 120*fy), uint8(140 + 60*fx), uint8(200 - 80*fy), 255}
			for _, d := range discs {
				if dx, dy := float64(x)-d.x, float64(y)-d.y; dx*dx+dy*dy < d.rad*d.rad {
					c = d.c
				}
			}
			t := uint8(24 * math.Sin(float64(x)*0.21+math.Sin(float64(y)*0.05)*4))
			c.R, c.G, c.B = c.R+t, c.G+t, c.B+t
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// Photo scales src to cover w x h (cropping the middle), adds sensor
// noise (per-pixel luma noise of sigma 3.5 levels and chroma noise of 1.5,
// the same for a given seed) and encodes it as a JPEG at quality 92.
func Photo(src image.Image, w, h int, seed uint64) ([]byte, error) {
	b := src.Bounds()
	// The part of src with the target's aspect ratio.
	crop := b
	if b.Dx()*h > b.Dy()*w {
		cw := b.Dy() * w / h
		crop.Min.X += (b.Dx() - cw) / 2
		crop.Max.X = crop.Min.X + cw
	} else {
		ch := b.Dx() * h / w
		crop.Min.Y += (b.Dy() - ch) / 2
		crop.Max.Y = crop.Min.Y + ch
	}
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.ApproxBiLinear.Scale(m, m.Bounds(), src, crop, xdraw.Src, nil)
	r := rand.New(rand.NewPCG(seed, 0x1015e))
	for i := 0; i < len(m.Pix); i += 4 {
		l := r.NormFloat64() * 3.5
		for c := 0; c < 3; c++ {
			v := float64(m.Pix[i+c]) + l + r.NormFloat64()*2
			m.Pix[i+c] = uint8(min(255, max(0, math.Round(v))))
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 92}); err != nil {
		return nil, fmt.Errorf("phototest: encode: %w", err)
	}
	return buf.Bytes(), nil
}
