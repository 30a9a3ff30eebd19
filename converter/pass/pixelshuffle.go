package pass

import (
	"slices"

	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// DepthToSpace (DCR, and CRD after a conv) and the PixelShuffle pattern:
// DEPTH_TO_SPACE.
func init() {
	register(family{infer: inferDepthToSpace, lower: (*lowering).depthToSpace}, "DepthToSpace", OpPixelShuffle)
}

// OpPixelShuffle is the IR op PyTorch's PixelShuffle export becomes:
// Reshape [N,C,r,r,H,W] -> Transpose [0,1,4,2,5,3] -> Reshape [N,C,H*r,W*r],
// which is ONNX DepthToSpace in CRD mode (attribute "blocksize").
const OpPixelShuffle = "ir.PixelShuffle"

// RecognizePixelShuffle rewrites that six-dimensional reshape/transpose
// chain into OpPixelShuffle, so it lowers to DEPTH_TO_SPACE instead of a
// rank-6 TRANSPOSE that TFLite cannot run, and pixel_unshuffle's chain
// into OpPixelUnshuffle (see op_space.go).
func RecognizePixelShuffle(g *ir.Graph) error {
	prod := g.Producers()
	cons := g.Consumers()
	for _, n := range g.Nodes {
		if n.Op != "Reshape" || !n.Outputs[0].StaticShape() {
			continue
		}
		tr := opOf(prod, n.In(0), "Transpose")
		if m := matchPixelUnshuffle(n, tr, prod, cons); m != nil {
			*n = *m
			continue
		}
		if tr == nil || !single(cons, tr.Outputs[0]) || !slices.Equal(tr.Attrs.Ints("perm"), []int64{0, 1, 4, 2, 5, 3}) {
			continue
		}
		r1 := opOf(prod, tr.In(0), "Reshape")
		if r1 == nil || !single(cons, r1.Outputs[0]) {
			continue
		}
		x := r1.In(0)
		s6 := r1.Outputs[0].Shape
		if x.Rank() != 4 || len(s6) != 6 || s6[2] != s6[3] || !x.StaticShape() {
			continue
		}
		r := s6[2]
		nn, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
		if s6[0] != nn || s6[1]*r*r != c || s6[4] != h || s6[5] != w ||
			!slices.Equal(n.Outputs[0].Shape, []int{nn, c / (r * r), h * r, w * r}) {
			continue
		}
		*n = ir.Node{Op: OpPixelShuffle, Name: n.Name, Inputs: []*ir.Value{x}, Outputs: n.Outputs, Attrs: ir.Attrs{"blocksize": int64(r)}}
	}
	g.RemoveDead()
	return g.Sort()
}

// matchPixelUnshuffle matches PyTorch's pixel_unshuffle export ending in
// Reshape n: Reshape [N,C,H/r,r,W/r,r] -> Transpose [0,1,3,5,2,4] ->
// Reshape [N,C*r*r,H/r,W/r], and returns the OpPixelUnshuffle node.
func matchPixelUnshuffle(n, tr *ir.Node, prod map[*ir.Value]*ir.Node, cons map[*ir.Value][]*ir.Node) *ir.Node {
	if tr == nil || !single(cons, tr.Outputs[0]) || !slices.Equal(tr.Attrs.Ints("perm"), []int64{0, 1, 3, 5, 2, 4}) {
		return nil
	}
	r1 := opOf(prod, tr.In(0), "Reshape")
	if r1 == nil || !single(cons, r1.Outputs[0]) {
		return nil
	}
	x := r1.In(0)
	s6 := r1.Outputs[0].Shape
	if x.Rank() != 4 || len(s6) != 6 || s6[3] != s6[5] || !x.StaticShape() {
		return nil
	}
	r := s6[3]
	nn, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	if s6[0] != nn || s6[1] != c || s6[2]*r != h || s6[4]*r != w ||
		!slices.Equal(n.Outputs[0].Shape, []int{nn, c * r * r, h / r, w / r}) {
		return nil
	}
	return &ir.Node{Op: OpPixelUnshuffle, Name: n.Name, Inputs: []*ir.Value{x}, Outputs: n.Outputs, Attrs: ir.Attrs{"blocksize": int64(r)}}
}

// depthToSpace lowers ONNX DepthToSpace and OpPixelShuffle to
// DEPTH_TO_SPACE, which is DCR order in NHWC. CRD order (PixelShuffle,
// mode=CRD) is DCR after permuting the input channels, done exactly by
// reordering the output channels of the convolution producing the input.
func (l *lowering) depthToSpace(n *ir.Node) error {
	if _, err := l.entry(n, 0); err != nil {
		return err
	}
	x := n.In(0)
	r := int(n.Attrs.Int("blocksize", 0))
	if x.Rank() != 4 || r < 1 || x.Shape[1]%(r*r) != 0 {
		return nodeErr(n, "needs a rank-4 input with channels divisible by blocksize²")
	}
	crd := n.Op == OpPixelShuffle || n.Attrs.String("mode", "DCR") == "CRD"
	if crd {
		if err := l.crdToDCR(n, x, r); err != nil {
			return err
		}
	}
	in := l.get(x, nhwc)
	l.set(n, l.emit(tflitefile.DepthToSpace, n.Name, []*ir.Value{in}, permute(n.Outputs[0].Shape, nhwc), ir.Attrs{"block_size": int64(r)}), nhwc)
	return nil
}

// crdToDCR reorders the output channels of the CONV_2D (or
// DEPTHWISE_CONV_2D with multiplier) already lowered for x, so that
// channel k*C' + c holds what CRD puts at c*r*r + k.
func (l *lowering) crdToDCR(n *ir.Node, x *ir.Value, r int) error {
	e := l.vals[x]
	var conv *ir.Node
	readers := 0
	for _, m := range l.dst.Nodes {
		for _, o := range m.Outputs {
			if o == e.v {
				conv = m
			}
		}
		if slices.Contains(m.Inputs, e.v) {
			readers++
		}
	}
	srcReaders := 0
	for _, m := range l.src.Nodes {
		if slices.Contains(m.Inputs, x) {
			srcReaders++
		}
	}
	if conv == nil || !conv.Is(tflitefile.Conv2D) || readers > 0 || srcReaders != 1 || l.src.IsOutput(x) {
		return nodeErr(n, "CRD-order DepthToSpace (PixelShuffle) is supported only right after a convolution that feeds nothing else")
	}
	c := x.Shape[1]
	cp := c / (r * r)
	// new channel j = k*cp + ch takes old channel ch*r*r + k
	src := make([]int, c)
	for k := range r * r {
		for ch := range cp {
			src[k*cp+ch] = ch*r*r + k
		}
	}
	w, b := conv.Inputs[1].Const, conv.Inputs[2].Const
	inner := ir.NumElements(w.Shape[1:])
	nw := make([]float32, len(w.F))
	nb := make([]float32, len(b.F))
	for j, o := range src {
		copy(nw[j*inner:(j+1)*inner], w.F[o*inner:(o+1)*inner])
		nb[j] = b.F[o]
	}
	conv.Inputs[1] = l.dst.NewConst(conv.Name+"_weights_dcr", ir.FloatTensor(w.Shape, nw))
	conv.Inputs[2] = l.dst.NewConst(conv.Name+"_bias_dcr", ir.FloatTensor(b.Shape, nb))
	return nil
}

func inferDepthToSpace(n *ir.Node) error {
	x, xs, a := n.In(0), n.In(0).Shape, n.Attrs
	r := int(a.Int("blocksize", 0))
	if len(xs) != 4 || r < 1 || xs[1]%(r*r) != 0 {
		return nodeErr(n, "needs a rank-4 input with channels divisible by blocksize²")
	}
	setOut(n, 0, x.DType, []int{xs[0], xs[1] / (r * r), xs[2] * r, xs[3] * r})
	return nil
}
