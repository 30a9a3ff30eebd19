package pass

import (
	"slices"

	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// Native normalization operators (the exported patterns are recognized by
// RecognizeNorms): LayerNormalization (opset 17: over axis..rank-1, then
// scale and bias) and GroupNormalization (opset 18: over each of
// num_groups channel groups and H, W, then a scale and bias per group).
// Both lower like OpNormalize: MEAN, SUB, SQUARED_DIFFERENCE, MEAN, ADD,
// RSQRT, MUL, then the affine MUL and ADD.
func init() {
	register(family{infer: inferNorm, lower: lowerLayerNorm}, "LayerNormalization")
	register(family{infer: inferNorm, lower: lowerGroupNorm}, "GroupNormalization")
	register(family{infer: sameShape, lower: (*lowering).normalize}, OpNormalize)
}

// inferNorm gives Y the input's shape, and LayerNormalization's optional
// Mean and InvStdDev the input's shape with ones from axis on.
func inferNorm(n *ir.Node) error {
	x := n.In(0)
	setOut(n, 0, x.DType, slices.Clone(x.Shape))
	if n.Op == "LayerNormalization" {
		ax, err := axis(n.Attrs.Int("axis", -1), x.Rank())
		if err != nil {
			return nodeErr(n, "%v", err)
		}
		s := slices.Clone(x.Shape)
		for i := ax; i < len(s); i++ {
			s[i] = 1
		}
		setOut(n, 1, x.DType, s)
		setOut(n, 2, x.DType, slices.Clone(s))
	}
	return nil
}

func lowerLayerNorm(l *lowering, n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	x := n.In(0)
	r := x.Rank()
	ax, err := axis(n.Attrs.Int("axis", -1), r)
	if err != nil {
		return nodeErr(n, "%v", err)
	}
	if n.Attrs.Int("stash_type", 1) != 1 {
		return nodeErr(n, "stash_type %d is not supported (float32 only)", n.Attrs.Int("stash_type", 1))
	}
	var axes []int64
	for i := ax; i < r; i++ {
		axes = append(axes, int64(i))
	}
	y, perm := l.normalized(n.Name+"_norm", x, e, axes, n.Attrs.Float("epsilon", 1e-5), 0)
	for i, v := range l.stats {
		if i+1 < len(n.Outputs) && n.Outputs[i+1] != nil {
			l.vals[n.Outputs[i+1]] = lowered{v, perm}
		}
	}
	// Scale and bias broadcast over the normalized dims [axis:].
	return l.affineParams(n, y, perm, n.In(1), n.In(2), x.Shape[ax:])
}

func lowerGroupNorm(l *lowering, n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	x := n.In(0)
	g := int(n.Attrs.Int("num_groups", 0))
	if x.Rank() != 4 || g < 1 || x.Shape[1]%g != 0 {
		return nodeErr(n, "needs an NCHW input whose %d channels divide into num_groups %d", x.Shape[1], g)
	}
	c := x.Shape[1]
	var y *ir.Value
	var perm []int
	switch g {
	case 1:
		y, perm = l.normalized(n.Name+"_norm", x, e, []int64{1, 2, 3}, n.Attrs.Float("epsilon", 1e-5), 0)
	case c:
		y, perm = l.normalized(n.Name+"_norm", x, e, []int64{2, 3}, n.Attrs.Float("epsilon", 1e-5), 0)
	default:
		y, perm = l.normalized(n.Name+"_norm", x, e, nil, n.Attrs.Float("epsilon", 1e-5), g)
	}
	// Opset 18: scale and bias hold one value per group; spread them over
	// the group's channels as [C,1,1].
	perChannel := func(v *ir.Value) (*ir.Value, error) {
		if v == nil {
			return nil, nil
		}
		if !v.IsConst() || v.Const.Len() != g && v.Const.Len() != c {
			return nil, nodeErr(n, "scale and bias must be constants of %d (or %d) values", g, c)
		}
		f := v.Const.Floats()
		out := make([]float32, c)
		for i := range out {
			if len(f) == c {
				out[i] = f[i]
			} else {
				out[i] = f[i/(c/g)]
			}
		}
		return l.src.NewConst(v.Name+"_per_channel", ir.FloatTensor([]int{c, 1, 1}, out)), nil
	}
	scale, err := perChannel(n.In(1))
	if err != nil {
		return err
	}
	bias, err := perChannel(n.In(2))
	if err != nil {
		return err
	}
	return l.affineParams(n, y, perm, scale, bias, []int{c, 1, 1})
}

// affineParams finishes a normalization: y·scale + bias with constant
// scale and bias (nil when absent) broadcast as params to the logical
// output of n, whose lowered form is y in layout perm.
func (l *lowering) affineParams(n *ir.Node, y *ir.Value, perm []int, scale, bias *ir.Value, params []int) error {
	r := len(perm)
	for _, p := range []struct {
		v   *ir.Value
		op  tflitefile.BuiltinOp
		def float32
	}{{scale, tflitefile.Mul, 1}, {bias, tflitefile.Add, 0}} {
		if p.v == nil {
			continue
		}
		if !p.v.IsConst() {
			return nodeErr(n, "input %q must be constant", p.v.Name)
		}
		if allEqual(p.v.Const.Floats(), p.def) {
			continue
		}
		if _, err := ir.BroadcastShapes(params, p.v.Const.Shape); err != nil || len(p.v.Const.Shape) > r {
			return nodeErr(n, "%q of shape %v does not broadcast to %v", p.v.Name, p.v.Const.Shape, params)
		}
		cv, err := l.broadcastConst(p.v, r, perm)
		if err != nil {
			return nodeErr(n, "%v", err)
		}
		y = l.emit(p.op, n.Name+"_"+p.op.String(), []*ir.Value{y, cv}, slices.Clone(y.Shape), nil)
	}
	// The last op carries the node's name (tensor names follow ONNX).
	l.set(n, y, perm)
	return nil
}

func (l *lowering) normalize(n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	v, perm := l.normalized(n.Name, n.In(0), e, n.Attrs.Ints("axes"), n.Attrs.Float("epsilon", 1e-5), int(n.Attrs.Int("groups", 0)))
	l.set(n, v, perm)
	return nil
}

// normalized emits (x - mean) * rsqrt(var + eps) over the logical axes of
// x (lowered as e), or, with groups > 1, over each group of channels and
// H, W of an NCHW x. It returns the value and its layout.
func (l *lowering) normalized(name string, x *ir.Value, e lowered, axes []int64, eps float32, groups int) (*ir.Value, []int) {
	if groups > 1 {
		// NHWC [N,H,W,C] -> [N,H*W,G,C/G]: each group is dims 1 and 3.
		nn, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
		in := l.get(x, nhwc)
		gshape := []int{nn, h * w, groups, c / groups}
		r := l.emit(tflitefile.Reshape, name+"_groups", []*ir.Value{in, l.shapeConst(gshape)}, gshape, ir.Attrs{"new_shape": toI64(gshape)})
		y, _ := l.normalized(name+"_grouped", nil, lowered{r, identity(4)}, []int64{1, 3}, eps, 0)
		back := permute(x.Shape, nhwc)
		return l.emit(tflitefile.Reshape, name+"_ungroup", []*ir.Value{y, l.shapeConst(back)}, back, ir.Attrs{"new_shape": toI64(back)}), nhwc
	}
	m, _ := l.reduce(name+"_mean", e, nil, axes, true)
	d := l.emit(tflitefile.Sub, name+"_centered", []*ir.Value{e.v, m}, e.v.Shape, nil)
	sq := l.emit(tflitefile.SquaredDifference, name+"_sqdiff", []*ir.Value{e.v, m}, e.v.Shape, nil)
	v, _ := l.reduce(name+"_var", lowered{sq, e.perm}, nil, axes, true)
	ve := l.emit(tflitefile.Add, name+"_var_eps", []*ir.Value{v, l.dst.NewConst(name+"_eps", ir.FloatTensor([]int{1}, []float32{eps}))}, v.Shape, nil)
	r := l.emit(tflitefile.Rsqrt, name+"_rstd", []*ir.Value{ve}, v.Shape, nil)
	l.stats = [2]*ir.Value{m, r}
	return l.emit(tflitefile.Mul, name, []*ir.Value{d, r}, e.v.Shape, nil), e.perm
}
