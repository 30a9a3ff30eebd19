package pass

import (
	"slices"

	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// Convolutions and padding: Conv (CONV_2D, DEPTHWISE_CONV_2D, grouped as
// block-diagonal CONV_2D), ConvTranspose (TRANSPOSE_CONV) and Pad (PAD,
// PADV2, MIRROR_PAD), with their shape inference.
func init() {
	register(family{infer: inferWindow, lower: (*lowering).conv}, "Conv")
	register(family{infer: inferConvTranspose, lower: (*lowering).convTranspose}, "ConvTranspose")
	register(family{infer: inferPad, lower: (*lowering).pad}, "Pad")
}

// spatialPadding decides TFLite padding for a stride/kernel/dilation and
// ONNX pads (begin h, begin w, end h, end w). SAME is used only when it
// equals the ONNX pads for every input size: stride 1 with the total
// (k-1)*d split floor/ceil; otherwise the caller pads explicitly.
func spatialPadding(p windowParams) (same bool, explicit bool) {
	zero := true
	for _, v := range p.pads {
		if v != 0 {
			zero = false
		}
	}
	if zero {
		return false, false
	}
	for i := range 2 {
		if p.strides[i] != 1 {
			return false, true
		}
		total := (p.kernel[i] - 1) * p.dilations[i]
		if p.pads[i]+p.pads[i+2] != total || p.pads[i] != total/2 {
			return false, true
		}
	}
	return true, false
}

// padNHWC emits PAD (or PADV2 with value) for begin/end spatial pads.
func (l *lowering) padNHWC(name string, x *ir.Value, pads []int, value float32) *ir.Value {
	pp := []int64{0, 0, int64(pads[0]), int64(pads[2]), int64(pads[1]), int64(pads[3]), 0, 0}
	s := slices.Clone(x.Shape)
	s[1] += pads[0] + pads[2]
	s[2] += pads[1] + pads[3]
	in := []*ir.Value{x, l.int32Const("paddings", []int{4, 2}, pp)}
	if value != 0 {
		in = append(in, l.dst.NewConst("pad_value", ir.FloatTensor(nil, []float32{value})))
		return l.emit(tflitefile.PadV2, name+"_pad", in, s, nil)
	}
	return l.emit(tflitefile.Pad, name+"_pad", in, s, nil)
}

func (l *lowering) conv(n *ir.Node) error {
	if _, err := l.entry(n, 0); err != nil {
		return err
	}
	x, w := n.In(0), n.In(1)
	if x.Rank() != 4 {
		return nodeErr(n, "only 2-D convolution (rank-4 input) is supported, input is %v", x.Shape)
	}
	if !w.IsConst() || (n.In(2) != nil && !n.In(2).IsConst()) {
		return nodeErr(n, "weights and bias must be constant")
	}
	if w.Rank() != 4 || (n.In(2) != nil && n.In(2).Const.Len() != w.Shape[0]) {
		return nodeErr(n, "weight shape %v and bias shape %v do not fit a 2-D convolution", w.Shape, n.In(2).Shape)
	}
	p, err := window(n, x.Shape[2:])
	if err != nil {
		return err
	}
	wt := w.Const
	o, ipg, kh, kw := wt.Shape[0], wt.Shape[1], wt.Shape[2], wt.Shape[3]
	group := int(n.Attrs.Int("group", 1))
	c := x.Shape[1]
	if group <= 0 || c%group != 0 || o%group != 0 || ipg*group != c {
		return nodeErr(n, "group %d does not fit %d input and %d output channels (weight %v)", group, c, o, wt.Shape)
	}
	bias := make([]float32, o)
	if b := n.In(2); b != nil {
		copy(bias, b.Const.Floats())
	}
	in := l.get(x, nhwc)
	same, explicit := spatialPadding(p)
	if explicit {
		in = l.padNHWC(n.Name, in, p.pads, 0)
	}
	out := permute(n.Outputs[0].Shape, nhwc)
	padding := "VALID"
	if same {
		padding = "SAME"
	}
	attrs := ir.Attrs{"padding": padding, "stride_h": int64(p.strides[0]), "stride_w": int64(p.strides[1]),
		"dilation_h": int64(p.dilations[0]), "dilation_w": int64(p.dilations[1]), "fused_activation_function": "NONE"}
	f := &ir.Tensor{DType: ir.Float32, Shape: wt.Shape, F: wt.Floats()}
	bv := l.dst.NewConst(n.Name+"_bias", ir.FloatTensor([]int{o}, bias))
	if group == c && ipg == 1 && group > 1 {
		// Depthwise: [C*M,1,kh,kw] -> [1,kh,kw,C*M].
		attrs["depth_multiplier"] = int64(o / group)
		wv := l.dst.NewConst(n.Name+"_weights", f.Transpose([]int{1, 2, 3, 0}))
		l.set(n, l.emit(tflitefile.DepthwiseConv2D, n.Name, []*ir.Value{in, wv, bv}, out, attrs), nhwc)
		return nil
	}
	if group > 1 {
		// Grouped: a dense convolution whose weights are zero across
		// groups. Exact, and every runtime and delegate takes it.
		dense := make([]float32, o*c*kh*kw)
		opg := o / group
		for oc := range o {
			gi := oc / opg
			for ic := range ipg {
				for k := range kh * kw {
					dense[(oc*c+gi*ipg+ic)*kh*kw+k] = f.F[(oc*ipg+ic)*kh*kw+k]
				}
			}
		}
		f = ir.FloatTensor([]int{o, c, kh, kw}, dense)
	}
	wv := l.dst.NewConst(n.Name+"_weights", f.Transpose([]int{0, 2, 3, 1}))
	l.set(n, l.emit(tflitefile.Conv2D, n.Name, []*ir.Value{in, wv, bv}, out, attrs), nhwc)
	return nil
}

// convTranspose lowers to TRANSPOSE_CONV. TFLite derives the top/left
// crop from its padding mode and the output size; when neither SAME nor
// VALID gives ONNX's begin pads, the full VALID result is cropped with a
// SLICE.
func (l *lowering) convTranspose(n *ir.Node) error {
	x, w := n.In(0), n.In(1)
	if _, err := l.entry(n, 0); err != nil {
		return err
	}
	if x.Rank() != 4 {
		return nodeErr(n, "only 2-D transposed convolution is supported")
	}
	if !w.IsConst() || (n.In(2) != nil && !n.In(2).IsConst()) {
		return nodeErr(n, "weights and bias must be constant")
	}
	if g := n.Attrs.Int("group", 1); g != 1 {
		return nodeErr(n, "group %d is not supported", g)
	}
	if w.Rank() != 4 || w.Shape[0] != x.Shape[1] || (n.In(2) != nil && n.In(2).Const.Len() != w.Shape[1]) {
		return nodeErr(n, "weight shape %v does not fit input %v", w.Shape, x.Shape)
	}
	p, err := window(n, x.Shape[2:])
	if err != nil {
		return err
	}
	if p.dilations[0] != 1 || p.dilations[1] != 1 {
		return nodeErr(n, "dilation is not supported")
	}
	wt := w.Const
	o := wt.Shape[1]
	bias := make([]float32, o)
	if b := n.In(2); b != nil {
		copy(bias, b.Const.Floats())
	}
	// ONNX [I, O, kh, kw] -> TFLite [O, kh, kw, I].
	wv := l.dst.NewConst(n.Name+"_weights", (&ir.Tensor{DType: ir.Float32, Shape: wt.Shape, F: wt.Floats()}).Transpose([]int{1, 2, 3, 0}))
	bv := l.dst.NewConst(n.Name+"_bias", ir.FloatTensor([]int{o}, bias))
	in := l.get(x, nhwc)
	out := permute(n.Outputs[0].Shape, nhwc)
	attrs := ir.Attrs{"stride_h": int64(p.strides[0]), "stride_w": int64(p.strides[1])}
	// TFLite (builtin kernels and XNNPACK) agree with each other on
	// TRANSPOSE_CONV only in the canonical shapes: VALID with no padding,
	// and SAME with output = input * stride, where the top/left padding is
	// (k - stride) / 2. Growing the kernel with zero taps shifts that
	// padding onto ONNX's begin pad (PyTorch's k3 s2 p1 output_padding 1
	// becomes a 4x4 SAME kernel); anything else is cropped with SLICE.
	mk := func(padding string, shape []int) *ir.Value {
		a := ir.Attrs{"padding": padding}
		for k, v := range attrs {
			a[k] = v
		}
		return l.emit(tflitefile.TransposeConv, n.Name, []*ir.Value{l.shapeConst(shape), wv, in, bv}, shape, a)
	}
	canonical := out[1] == x.Shape[2]*p.strides[0] && out[2] == x.Shape[3]*p.strides[1]
	switch {
	case p.pads[0] == 0 && p.pads[1] == 0 && p.pads[2] == 0 && p.pads[3] == 0:
		l.set(n, mk("VALID", out), nhwc)
	case canonical && l.sameKernel(n, p, wt, &wv):
		l.set(n, mk("SAME", out), nhwc)
	default:
		full := slices.Clone(out)
		full[1] = (x.Shape[2]-1)*p.strides[0] + p.kernel[0]
		full[2] = (x.Shape[3]-1)*p.strides[1] + p.kernel[1]
		full[1] = max(full[1], out[1]+p.pads[0])
		full[2] = max(full[2], out[2]+p.pads[1])
		t := mk("VALID", full)
		begin := l.int32Const("begin", []int{4}, []int64{0, int64(p.pads[0]), int64(p.pads[1]), 0})
		size := l.int32Const("size", []int{4}, toI64(out))
		l.set(n, l.emit(tflitefile.Slice, n.Name+"_crop", []*ir.Value{t, begin, size}, out, nil), nhwc)
	}
	return nil
}

func (l *lowering) pad(n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	x := n.In(0)
	r := x.Rank()
	var pads []int64
	var value float32
	if l.src.Opset < 11 {
		pads, value = n.Attrs.Ints("pads"), n.Attrs.Float("value", 0)
	} else {
		var ok bool
		if pads, _, ok = constInts(n.In(1)); !ok || pads == nil {
			return nodeErr(n, "pads must be constant")
		}
		if v := n.In(2); v != nil {
			s, ok := constScalar(v)
			if !ok {
				return nodeErr(n, "constant_value must be a constant scalar")
			}
			value = s
		}
		if n.In(3) != nil {
			return nodeErr(n, "the axes input is not supported")
		}
	}
	if len(pads) != 2*r {
		return nodeErr(n, "pads %v do not match rank %d", pads, r)
	}
	pp := make([]int64, 0, 2*r)
	for _, lg := range e.perm {
		if pads[lg] < 0 || pads[lg+r] < 0 {
			return nodeErr(n, "negative pads are not supported")
		}
		pp = append(pp, pads[lg], pads[lg+r])
	}
	shape := permute(n.Outputs[0].Shape, e.perm)
	paddings := l.int32Const("paddings", []int{r, 2}, pp)
	switch mode := n.Attrs.String("mode", "constant"); mode {
	case "constant":
		if value != 0 {
			l.set(n, l.emit(tflitefile.PadV2, n.Name, []*ir.Value{e.v, paddings, l.dst.NewConst("pad_value", ir.FloatTensor(nil, []float32{value}))}, shape, nil), e.perm)
		} else {
			l.set(n, l.emit(tflitefile.Pad, n.Name, []*ir.Value{e.v, paddings}, shape, nil), e.perm)
		}
	case "reflect":
		for i, lg := range e.perm {
			if int(pads[lg]) >= e.v.Shape[i] || int(pads[lg+r]) >= e.v.Shape[i] {
				return nodeErr(n, "reflect pad %d of a dimension of size %d", max(pads[lg], pads[lg+r]), e.v.Shape[i])
			}
		}
		l.set(n, l.emit(tflitefile.MirrorPad, n.Name, []*ir.Value{e.v, paddings}, shape, ir.Attrs{"mode": "REFLECT"}), e.perm)
	default:
		return nodeErr(n, "pad mode %q is not supported (constant and reflect are)", mode)
	}
	return nil
}

// sameKernel finds, per spatial dim, how many zero taps to put before (b)
// and after the kernel so that SAME's top/left padding for the grown
// kernel kk, (kk - stride) / 2, minus b equals ONNX's begin pad. Extra
// taps are zero, so the sums are unchanged. It sets *wv to the (possibly
// grown) kernel.
func (l *lowering) sameKernel(n *ir.Node, p windowParams, wt *ir.Tensor, wv **ir.Value) bool {
	var before, size [2]int
	for i := range 2 {
		s, k := p.strides[i], p.kernel[i]
		found := false
		for grow := 0; grow <= 2*s && !found; grow++ {
			kk := k + grow
			if kk < s {
				continue
			}
			if b := (kk-s)/2 - p.pads[i]; b >= 0 && b <= grow {
				before[i], size[i], found = b, kk, true
			}
		}
		if !found {
			return false
		}
	}
	ci, co, kh, kw := wt.Shape[0], wt.Shape[1], wt.Shape[2], wt.Shape[3]
	if size[0] == kh && size[1] == kw {
		return true // the kernel as it is
	}
	// ONNX [I, O, kh, kw] -> TFLite [O, kh', kw', I] with the taps placed
	// at (before[0], before[1]).
	f := wt.Floats()
	g := make([]float32, co*size[0]*size[1]*ci)
	for i := range ci {
		for o := range co {
			for y := range kh {
				for x := range kw {
					g[((o*size[0]+y+before[0])*size[1]+x+before[1])*ci+i] = f[((i*co+o)*kh+y)*kw+x]
				}
			}
		}
	}
	*wv = l.dst.NewConst(n.Name+"_weights_grown", ir.FloatTensor([]int{co, size[0], size[1], ci}, g))
	return true
}

// windowParams are the spatial parameters of Conv/Pool nodes.
type windowParams struct {
	kernel, strides, dilations, pads []int // pads: begins then ends
}

func window(n *ir.Node, spatial []int) (windowParams, error) {
	a := n.Attrs
	r := len(spatial)
	p := windowParams{kernel: ints(a.Ints("kernel_shape"))}
	if p.kernel == nil && n.Op == "Conv" || n.Op == "ConvTranspose" && p.kernel == nil {
		if w := n.In(1); w != nil && len(w.Shape) == r+2 {
			p.kernel = slices.Clone(w.Shape[2:])
		}
	}
	if len(p.kernel) != r {
		return p, nodeErr(n, "kernel_shape %v does not match %d spatial dims", p.kernel, r)
	}
	if w := n.In(1); (n.Op == "Conv" || n.Op == "ConvTranspose") && w != nil && w.Shape != nil &&
		(len(w.Shape) != r+2 || !slices.Equal(w.Shape[2:], p.kernel)) {
		return p, nodeErr(n, "kernel_shape %v contradicts the weights %v", p.kernel, w.Shape)
	}
	p.strides = ints(a.Ints("strides"))
	if p.strides == nil {
		p.strides = slices.Repeat([]int{1}, r)
	}
	p.dilations = ints(a.Ints("dilations"))
	if p.dilations == nil {
		p.dilations = slices.Repeat([]int{1}, r)
	}
	p.pads = ints(a.Ints("pads"))
	if p.pads == nil {
		p.pads = make([]int, 2*r)
	}
	if len(p.strides) != r || len(p.dilations) != r || len(p.pads) != 2*r {
		return p, nodeErr(n, "strides/dilations/pads do not match %d spatial dims", r)
	}
	for i := range r {
		if p.strides[i] <= 0 || p.dilations[i] <= 0 || p.kernel[i] <= 0 || p.pads[i] < 0 || p.pads[i+r] < 0 {
			return p, nodeErr(n, "bad kernel/stride/dilation/pad values")
		}
	}
	switch ap := a.String("auto_pad", "NOTSET"); ap {
	case "NOTSET":
	case "VALID":
		p.pads = make([]int, 2*r)
	case "SAME_UPPER", "SAME_LOWER":
		if n.Op == "ConvTranspose" {
			return p, nodeErr(n, "auto_pad %s is not supported", ap)
		}
		for i := range r {
			if spatial[i] < 0 {
				return p, errUnknown
			}
			out := (spatial[i] + p.strides[i] - 1) / p.strides[i]
			total := max((out-1)*p.strides[i]+(p.kernel[i]-1)*p.dilations[i]+1-spatial[i], 0)
			small, big := total/2, total-total/2
			if ap == "SAME_UPPER" {
				p.pads[i], p.pads[i+r] = small, big
			} else {
				p.pads[i], p.pads[i+r] = big, small
			}
		}
	default:
		return p, nodeErr(n, "unknown auto_pad %q", ap)
	}
	return p, nil
}

func inferWindow(n *ir.Node) error {
	xs := n.Inputs[0].Shape
	if len(xs) < 3 {
		return nodeErr(n, "input rank %d < 3", len(xs))
	}
	p, err := window(n, xs[2:])
	if err != nil {
		return err
	}
	c := xs[1]
	if n.Op == "Conv" {
		c = n.Inputs[1].Shape[0]
	}
	s := []int{xs[0], c}
	ceil := n.Attrs.Int("ceil_mode", 0) != 0
	r := len(xs) - 2
	for i, in := range xs[2:] {
		if in < 0 {
			s = append(s, -1)
			continue
		}
		num := in + p.pads[i] + p.pads[i+r] - ((p.kernel[i]-1)*p.dilations[i] + 1)
		if num < 0 {
			return nodeErr(n, "window larger than padded input %v", xs)
		}
		o := num/p.strides[i] + 1
		if ceil && num%p.strides[i] != 0 {
			o++
		}
		s = append(s, o)
	}
	setOut(n, 0, n.Inputs[0].DType, s)
	return nil
}

func inferConvTranspose(n *ir.Node) error {
	xs, ws := n.Inputs[0].Shape, n.Inputs[1].Shape
	if len(xs) < 3 || len(ws) != len(xs) {
		return nodeErr(n, "input rank %d, weight rank %d", len(xs), len(ws))
	}
	p, err := window(n, xs[2:])
	if err != nil {
		return err
	}
	r := len(xs) - 2
	group := int(n.Attrs.Int("group", 1))
	s := []int{xs[0], ws[1] * group}
	op := ints(n.Attrs.Ints("output_padding"))
	if op != nil && len(op) != r {
		return nodeErr(n, "output_padding %v does not match %d spatial dims", op, r)
	}
	for i, v := range op {
		// ONNX also allows values below the dilation; TFLite's kernel
		// crashes on values that reach the stride.
		if v < 0 || v >= p.strides[i] {
			return nodeErr(n, "output_padding %v must be smaller than the strides %v", op, p.strides)
		}
	}
	if os := ints(n.Attrs.Ints("output_shape")); os != nil {
		// Pads follow from the requested size; rewrite them so the
		// lowering sees explicit pads.
		if len(os) == len(xs)+2 {
			os = os[2:]
		}
		if len(os) != r {
			return nodeErr(n, "output_shape %v does not match %d spatial dims", os, r)
		}
		pads := make([]int64, 2*r)
		for i, in := range xs[2:] {
			extra := 0
			if i < len(op) {
				extra = op[i]
			}
			total := p.strides[i]*(in-1) + extra + (p.kernel[i]-1)*p.dilations[i] + 1 - os[i]
			if total < 0 {
				return nodeErr(n, "output_shape %v is larger than the full output", os)
			}
			if n.Attrs.String("auto_pad", "NOTSET") == "SAME_UPPER" {
				pads[i], pads[i+r] = int64(total/2), int64(total-total/2)
			} else {
				pads[i], pads[i+r] = int64(total-total/2), int64(total/2)
			}
		}
		delete(n.Attrs, "output_shape")
		delete(n.Attrs, "auto_pad")
		n.Attrs["pads"] = pads
		return inferConvTranspose(n)
	}
	for i, in := range xs[2:] {
		extra := 0
		if i < len(op) {
			extra = op[i]
		}
		if in < 0 {
			s = append(s, -1)
			continue
		}
		s = append(s, p.strides[i]*(in-1)+extra+(p.kernel[i]-1)*p.dilations[i]+1-p.pads[i]-p.pads[i+r])
	}
	setOut(n, 0, n.Inputs[0].DType, s)
	return nil
}

func inferPad(n *ir.Node) error {
	xs, x, a := n.In(0).Shape, n.In(0), n.Attrs
	pads, _, ok := constInts(n.In(1))
	if n.In(1) == nil {
		pads, ok = a.Ints("pads"), true
	}
	if !ok {
		return errUnknown
	}
	if len(pads) != 2*len(xs) {
		return nodeErr(n, "pads %v do not match rank %d", pads, len(xs))
	}
	s := slices.Clone(xs)
	for i := range s {
		if s[i] >= 0 {
			s[i] += int(pads[i] + pads[i+len(xs)])
		}
	}
	setOut(n, 0, x.DType, s)
	return nil
}
