package pass

import (
	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// SpaceToDepth is TFLite's SPACE_TO_DEPTH in NHWC: both put the block
// offset (row, column) before the channel in the output depth. (Its
// inverse DepthToSpace lives in pixelshuffle.go with the PixelShuffle
// pattern.)
func init() {
	register(family{infer: inferSpaceToDepth, lower: lowerSpaceToDepth}, "SpaceToDepth", OpPixelUnshuffle)
}

// OpPixelUnshuffle is the IR op PyTorch's pixel_unshuffle export becomes
// (see RecognizePixelShuffle): SpaceToDepth with the channel first in the
// output depth, c·r² + row·r + column (CRD), where ONNX SpaceToDepth and
// TFLite put it last.
const OpPixelUnshuffle = "ir.PixelUnshuffle"

func inferSpaceToDepth(n *ir.Node) error {
	xs := n.In(0).Shape
	r := int(n.Attrs.Int("blocksize", 0))
	if len(xs) != 4 || r < 1 || xs[2] < 0 || xs[3] < 0 || xs[2]%r != 0 || xs[3]%r != 0 {
		return nodeErr(n, "needs a rank-4 input whose height and width divide by blocksize %d, not %v", r, xs)
	}
	setOut(n, 0, n.In(0).DType, []int{xs[0], xs[1] * r * r, xs[2] / r, xs[3] / r})
	return nil
}

func lowerSpaceToDepth(l *lowering, n *ir.Node) error {
	if _, err := l.entry(n, 0); err != nil {
		return err
	}
	in := l.get(n.In(0), nhwc)
	r := n.Attrs.Int("blocksize", 0)
	shape := permute(n.Outputs[0].Shape, nhwc)
	if n.Op == "SpaceToDepth" {
		l.set(n, l.emit(tflitefile.SpaceToDepth, n.Name, []*ir.Value{in}, shape, ir.Attrs{"block_size": r}), nhwc)
		return nil
	}
	// CRD: reorder each pixel's depth from (block, c) to (c, block).
	s2d := l.emit(tflitefile.SpaceToDepth, n.Name+"_dcr", []*ir.Value{in}, shape, ir.Attrs{"block_size": r})
	rr, c := int(r*r), n.In(0).Shape[1]
	pix := []int{shape[0] * shape[1] * shape[2], rr, c}
	v := l.emit(tflitefile.Reshape, n.Name+"_blocks", []*ir.Value{s2d, l.shapeConst(pix)}, pix, ir.Attrs{"new_shape": toI64(pix)})
	v = l.emit(tflitefile.Transpose, n.Name+"_crd", []*ir.Value{v, l.int32Const("perm", []int{3}, []int64{0, 2, 1})}, []int{pix[0], c, rr}, nil)
	l.set(n, l.emit(tflitefile.Reshape, n.Name, []*ir.Value{v, l.shapeConst(shape)}, shape, ir.Attrs{"new_shape": toI64(shape)}), nhwc)
	return nil
}
