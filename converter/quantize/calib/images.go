package calib

import (
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // calibration photos
	_ "image/png"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/image/draw"

	"github.com/animed/animed/internal/pixels"
)

// Image is an 8-bit RGB image of the model's input size.
type Image struct {
	Source string // file and crop it came from
	H, W   int
	Pix    []uint8 // RGB, row-major, H*W*3
}

// Float returns the image as the float models see it: NHWC values
// pixel/127.5 - 1 in [-1, 1].
func (im *Image) Float() []float32 {
	out := make([]float32, len(im.Pix))
	for i, v := range im.Pix {
		out[i] = pixels.ToFloat(v)
	}
	return out
}

// Int8 returns the image as a quantize.IOInt8 model reads it: pixel - 128.
func (im *Image) Int8() []int8 {
	out := make([]int8, len(im.Pix))
	for i, v := range im.Pix {
		out[i] = int8(int(v) - 128)
	}
	return out
}

// FindImages returns the JPEG and PNG files under dir, sorted.
func FindImages(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".jpg", ".jpeg", ".png":
			if d.Type().IsRegular() {
				out = append(out, path)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find calibration images: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("find calibration images: no .jpg, .jpeg or .png file under %s", dir)
	}
	slices.Sort(out)
	return out, nil
}

// LoadImages returns n images of h×w cut from the files at random: the
// files are shuffled, and each image is a random square-ish crop (60-100%
// of the shorter side, at the target aspect ratio) resized with bilinear
// filtering. The same files, n, size and seed give the same images. With
// fewer files than n, files are reused with other crops. Files that fail
// to decode are skipped with an error returned only when none is left.
func LoadImages(files []string, n, h, w int, seed int64) ([]Image, error) {
	if n <= 0 {
		return nil, nil
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("load images: no files")
	}
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("load images: bad size %dx%d", w, h)
	}
	r := rand.New(rand.NewSource(seed))
	order := slices.Clone(files)
	r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	var out []Image
	var lastErr error
	failed := map[string]bool{}
	for k := 0; len(out) < n; k++ {
		if len(failed) == len(order) {
			return nil, fmt.Errorf("load images: no file could be decoded: %w", lastErr)
		}
		path := order[k%len(order)]
		// Draw the crop's random numbers even for failing files, so a
		// bad file does not shift every later crop.
		cropScale := 0.6 + 0.4*r.Float64()
		fx, fy := r.Float64(), r.Float64()
		if failed[path] {
			continue
		}
		src, err := decode(path)
		if err != nil {
			failed[path] = true
			lastErr = err
			continue
		}
		b := src.Bounds()
		sw, sh := float64(b.Dx()), float64(b.Dy())
		aspect := float64(w) / float64(h)
		cw, ch := sw, sw/aspect
		if ch > sh {
			cw, ch = sh*aspect, sh
		}
		cw, ch = cw*cropScale, ch*cropScale
		x0 := b.Min.X + int(fx*(sw-cw))
		y0 := b.Min.Y + int(fy*(sh-ch))
		crop := image.Rect(x0, y0, x0+max(1, int(cw)), y0+max(1, int(ch)))
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.BiLinear.Scale(dst, dst.Bounds(), src, crop, draw.Src, nil)
		im := Image{Source: fmt.Sprintf("%s@%v", path, crop), H: h, W: w, Pix: make([]uint8, h*w*3)}
		for i := range h * w {
			copy(im.Pix[3*i:3*i+3], dst.Pix[4*i:4*i+3])
		}
		out = append(out, im)
	}
	return out, nil
}

func decode(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return img, nil
}

// SyntheticImages returns n deterministic h×w test images (smooth colour
// gradients, blobs and edges, covering the full 0-255 range) for when no
// photos are at hand.
func SyntheticImages(n, h, w int, seed int64) []Image {
	r := rand.New(rand.NewSource(seed))
	out := make([]Image, n)
	for k := range out {
		im := Image{Source: fmt.Sprintf("synthetic-%d", k), H: h, W: w, Pix: make([]uint8, h*w*3)}
		var base, grad [3]float64
		for c := range 3 {
			base[c] = r.Float64() * 255
			grad[c] = (r.Float64()*2 - 1) * 255
		}
		cx, cy, rad := r.Float64()*float64(w), r.Float64()*float64(h), (0.1+0.3*r.Float64())*float64(min(h, w))
		blob := color.RGBA{uint8(r.Intn(256)), uint8(r.Intn(256)), uint8(r.Intn(256)), 255}
		edge := r.Intn(w)
		for y := range h {
			for x := range w {
				i := (y*w + x) * 3
				dx, dy := float64(x)-cx, float64(y)-cy
				in := dx*dx+dy*dy < rad*rad
				for c := range 3 {
					v := base[c] + grad[c]*float64(x+y)/float64(h+w)
					if in {
						v = float64([]uint8{blob.R, blob.G, blob.B}[c])
					}
					if x == edge {
						v = 255 - v
					}
					v += r.NormFloat64() * 4
					im.Pix[i+c] = uint8(max(0, min(255, v)))
				}
			}
		}
		out[k] = im
	}
	return out
}
