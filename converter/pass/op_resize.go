package pass

import (
	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// Resize and Upsample (RESIZE_BILINEAR, RESIZE_NEAREST_NEIGHBOR).
func init() {
	register(family{infer: inferResize, lower: (*lowering).resize}, "Resize", "Upsample")
}

func inferResize(n *ir.Node) error {
	s, err := resizeOutShape(n)
	if err != nil {
		return err
	}
	setOut(n, 0, n.In(0).DType, s)
	return nil
}

// resize maps ONNX Resize/Upsample to RESIZE_BILINEAR or
// RESIZE_NEAREST_NEIGHBOR when TFLite computes exactly the same sampling,
// and refuses everything else with the reason:
//   - linear: align_corners -> align_corners; half_pixel and
//     pytorch_half_pixel (output size > 1) -> half_pixel_centers;
//     asymmetric -> neither.
//   - nearest: asymmetric+floor -> neither; half_pixel+round_prefer_ceil,
//     and half_pixel+round_prefer_floor for integer upscaling ->
//     half_pixel_centers; align_corners+round_prefer_ceil -> align_corners.
//
// Only the two spatial dims of an NCHW tensor may change.
func (l *lowering) resize(n *ir.Node) error {
	if _, err := l.entry(n, 0); err != nil {
		return err
	}
	x, out := n.In(0), n.Outputs[0]
	if x.Rank() != 4 || out.Shape[0] != x.Shape[0] || out.Shape[1] != x.Shape[1] {
		return nodeErr(n, "only resizing the spatial dims of an NCHW tensor is supported (%v -> %v)", x.Shape, out.Shape)
	}
	a := n.Attrs
	mode := a.String("mode", "nearest")
	ctm := a.String("coordinate_transformation_mode", "half_pixel")
	nearest := a.String("nearest_mode", "round_prefer_floor")
	if n.Op == "Upsample" || l.src.Opset < 11 {
		ctm, nearest = "asymmetric", "floor" // Upsample and Resize-10 semantics
	}
	if a.Int("antialias", 0) != 0 {
		return nodeErr(n, "antialias is not supported")
	}
	if p := a.String("keep_aspect_ratio_policy", "stretch"); p != "stretch" {
		return nodeErr(n, "keep_aspect_ratio_policy %q is not supported", p)
	}
	if a.Has("axes") {
		return nodeErr(n, "the axes attribute is not supported")
	}
	ih, iw, oh, ow := x.Shape[2], x.Shape[3], out.Shape[2], out.Shape[3]
	// ONNX samples with the given scale; TFLite with in/out. They agree
	// only when the scale is exactly out/in.
	if sc := resizeScales(n); len(sc) == 4 {
		if sc[2] != float32(oh)/float32(ih) || sc[3] != float32(ow)/float32(iw) {
			return nodeErr(n, "scales %v are not exactly output/input (%dx%d -> %dx%d); TFLite samples with input/output", sc, ih, iw, oh, ow)
		}
	}
	intUp := oh%ih == 0 && ow%iw == 0
	var alignCorners, halfPixel bool
	var op tflitefile.BuiltinOp
	switch mode {
	case "linear", "bilinear":
		op = tflitefile.ResizeBilinear
		switch ctm {
		case "align_corners":
			alignCorners = true
		case "half_pixel":
			halfPixel = true
		case "pytorch_half_pixel":
			if oh == 1 || ow == 1 {
				return nodeErr(n, "pytorch_half_pixel with an output size of 1 is not supported")
			}
			halfPixel = true
		case "asymmetric":
		default:
			return nodeErr(n, "linear resize with coordinate_transformation_mode %q is not supported", ctm)
		}
	case "nearest":
		op = tflitefile.ResizeNearestNeighbor
		switch {
		case ctm == "asymmetric" && nearest == "floor" && intUp:
		case (ctm == "half_pixel" || ctm == "pytorch_half_pixel") && nearest == "round_prefer_ceil" && oh > 1 && ow > 1:
			halfPixel = true
		case (ctm == "half_pixel" || ctm == "pytorch_half_pixel") && nearest == "round_prefer_floor" && intUp:
			halfPixel = true
		case ctm == "align_corners" && nearest == "round_prefer_ceil":
			alignCorners = true
		default:
			return nodeErr(n, "nearest resize with coordinate_transformation_mode %q, nearest_mode %q and sizes %dx%d -> %dx%d has no exact TFLite equivalent",
				ctm, nearest, ih, iw, oh, ow)
		}
	default:
		return nodeErr(n, "resize mode %q is not supported (nearest and linear are)", mode)
	}
	if ctm == "asymmetric" && !intUp {
		return nodeErr(n, "asymmetric resize %dx%d -> %dx%d: only integer upscaling is mapped exactly", ih, iw, oh, ow)
	}
	in := l.get(x, nhwc)
	size := l.int32Const("size", []int{2}, []int64{int64(oh), int64(ow)})
	attrs := ir.Attrs{"align_corners": alignCorners, "half_pixel_centers": halfPixel}
	l.set(n, l.emit(op, n.Name, []*ir.Value{in, size}, permute(out.Shape, nhwc), attrs), nhwc)
	return nil
}

// resizeScales returns the constant scales input or attribute, if any.
func resizeScales(n *ir.Node) []float32 {
	switch {
	case n.Op == "Upsample" && n.In(1) == nil:
		return n.Attrs.Floats("scales")
	case n.Op == "Upsample":
		f, _, _ := constFloats(n.In(1))
		return f
	case len(n.Inputs) == 2:
		f, _, _ := constFloats(n.In(1))
		return f
	}
	if sz, _, _ := constInts(n.In(3)); len(sz) > 0 {
		return nil
	}
	f, _, _ := constFloats(n.In(2))
	return f
}

// resizeScales returns the per-dimension output sizes of Resize/Upsample.
func resizeOutShape(n *ir.Node) ([]int, error) {
	xs := n.Inputs[0].Shape
	var scales []float32
	var sizes []int64
	switch {
	case n.Op == "Upsample" && n.In(1) == nil:
		scales = n.Attrs.Floats("scales")
	case n.Op == "Upsample":
		f, _, ok := constFloats(n.In(1))
		if !ok {
			return nil, errUnknown
		}
		scales = f
	default: // Resize: opset 10 (X, scales), 11+ (X, roi, scales, sizes)
		si := 2
		if len(n.Inputs) == 2 {
			si = 1
		}
		f, _, ok := constFloats(n.In(si))
		if !ok {
			return nil, errUnknown
		}
		scales = f
		sz, _, ok := constInts(n.In(3))
		if !ok {
			return nil, errUnknown
		}
		sizes = sz
	}
	s := make([]int, len(xs))
	switch {
	case len(sizes) == len(xs):
		for i := range s {
			s[i] = int(sizes[i])
		}
	case len(scales) == len(xs):
		for i := range s {
			if xs[i] < 0 {
				s[i] = -1
			} else {
				s[i] = int(float32(xs[i]) * scales[i])
			}
		}
	default:
		return nil, nodeErr(n, "needs constant scales or sizes for all %d dims", len(xs))
	}
	return s, nil
}
