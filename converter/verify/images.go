package verify

import (
	"fmt"
	"image"
	_ "image/jpeg" // photos
	_ "image/png"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/image/draw"

	"github.com/animed/animed/converter"
	"github.com/animed/animed/internal/pixels"
)

// ImagePaths expands files and folders (recursively) into image files
// (.jpg, .jpeg, .png), sorted.
func ImagePaths(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		err := filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p == a && !d.IsDir() {
				out = append(out, p)
				return nil
			}
			switch strings.ToLower(filepath.Ext(p)) {
			case ".jpg", ".jpeg", ".png":
				if !d.IsDir() {
					out = append(out, p)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(out)
	return out, nil
}

// ImageInputs makes one input set per image for a model with a single
// [1,3,H,W] input: the image is resized to H x W and scaled to [-1, 1]
// (x/127.5 - 1), RGB, NCHW.
func ImageInputs(res *converter.Result, paths []string) ([]Input, error) {
	if len(res.Graph.Inputs) != 1 {
		return nil, fmt.Errorf("image inputs need a model with one input")
	}
	v := res.Graph.Inputs[0]
	shape := logicalShape(v.Shape, res.Info.Layouts["input0_layout"])
	if len(shape) != 4 || shape[0] != 1 || shape[1] != 3 {
		return nil, fmt.Errorf("image inputs need a [1,3,H,W] input, model has %v", shape)
	}
	h, w := shape[2], shape[3]
	var out []Input
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		img, _, err := image.Decode(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("decode %s: %w", p, err)
		}
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.BiLinear.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)
		d := make([]float32, 3*h*w)
		for y := range h {
			for x := range w {
				o := dst.PixOffset(x, y)
				for c := range 3 {
					d[(c*h+y)*w+x] = pixels.ToFloat(dst.Pix[o+c])
				}
			}
		}
		out = append(out, Input{v.Name: {Name: v.Name, Shape: shape, Data: d}})
	}
	return out, nil
}
