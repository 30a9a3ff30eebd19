package pass

import (
	"github.com/animed/animed/converter/ir"
)

// SpaceToDepth is TFLite's SPACE_TO_DEPTH in NHWC: both put the block
// offset (row, column) before the channel in the output depth. (Its
// inverse DepthToSpace lives in pixelshuffle.go with the PixelShuffle
// pattern.)
func init() {
	register(family{infer: inferSpaceToDepth, lower: lowerSpaceToDepth}, "SpaceToDepth")
}

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
	l.set(n, l.emit("SPACE_TO_DEPTH", n.Name, []*ir.Value{in}, permute(n.Outputs[0].Shape, nhwc), ir.Attrs{"block_size": r}), nhwc)
	return nil
}
