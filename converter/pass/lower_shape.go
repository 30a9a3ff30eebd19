package pass

import (
	"slices"

	"github.com/animed/animed/converter/ir"
)

func (l *lowering) concat(n *ir.Node) error {
	out := n.Outputs[0]
	r := out.Rank()
	perm, err := l.binaryLayout(n)
	if err != nil {
		return err
	}
	ax, err := axis(n.Attrs.Int("axis", 0), r)
	if err != nil {
		return nodeErr(n, "%v", err)
	}
	var in []*ir.Value
	for _, v := range n.Inputs {
		if v.Rank() != r {
			return nodeErr(n, "inputs of different rank")
		}
		in = append(in, l.get(v, perm))
	}
	l.set(n, l.emit("CONCATENATION", n.Name, in, permute(out.Shape, perm),
		ir.Attrs{"axis": int64(ir.InversePerm(perm)[ax]), "fused_activation_function": "NONE"}), perm)
	return nil
}

// reduce emits MEAN over logical axes of a lowered value.
func (l *lowering) reduce(name string, e lowered, logicalShape []int, axes []int64, keep bool) (*ir.Value, []int) {
	return l.reduceWith("MEAN", name, e, axes, keep)
}

// reduceWith emits the TFLite reducer op (MEAN, SUM, REDUCE_MAX ...) over
// logical axes of a lowered value and returns it with its layout.
func (l *lowering) reduceWith(op, name string, e lowered, axes []int64, keep bool) (*ir.Value, []int) {
	inv := ir.InversePerm(e.perm)
	red := map[int]bool{}
	var phys []int64
	for _, a := range axes {
		phys = append(phys, int64(inv[a]))
		red[int(a)] = true
	}
	slices.Sort(phys)
	if op == "MEAN" && !l.opt.PlainMean && keep && len(e.v.Shape) == 4 && slices.Contains(phys, 3) && !slices.Contains(phys, 0) {
		return l.channelMean(name, e, phys), slices.Clone(e.perm)
	}
	shape := slices.Clone(e.v.Shape)
	perm := slices.Clone(e.perm)
	if keep {
		for _, p := range phys {
			shape[p] = 1
		}
	} else {
		var s []int
		var q []int
		for i, lg := range e.perm {
			if !red[lg] {
				s = append(s, shape[i])
				q = append(q, lg)
			}
		}
		// renumber the remaining logical dims
		order := slices.Clone(q)
		slices.Sort(order)
		for i, lg := range q {
			q[i] = slices.Index(order, lg)
		}
		shape, perm = s, q
	}
	out := l.emit(op, name, []*ir.Value{e.v, l.int32Const("axes", []int{len(phys)}, phys)}, shape, ir.Attrs{"keep_dims": keep})
	return out, perm
}

// channelMean reduces a 4-D NHWC value over axes that include the
// channels: spatial axes with MEAN over [1,2] (the only MEAN XNNPACK
// takes), the channels with a 1x1 CONV_2D whose weights are all 1/C.
// Equal group sizes make the mean of means the overall mean.
func (l *lowering) channelMean(name string, e lowered, phys []int64) *ir.Value {
	x := e.v
	if slices.Contains(phys, 1) || slices.Contains(phys, 2) {
		var sp []int64
		shape := slices.Clone(x.Shape)
		for _, a := range phys {
			if a != 3 {
				sp = append(sp, a)
				shape[a] = 1
			}
		}
		x = l.emit("MEAN", name+"_spatial", []*ir.Value{x, l.int32Const("axes", []int{len(sp)}, sp)}, shape, ir.Attrs{"keep_dims": true})
	}
	c := x.Shape[3]
	w := make([]float32, c)
	for i := range w {
		w[i] = 1 / float32(c)
	}
	shape := []int{x.Shape[0], x.Shape[1], x.Shape[2], 1}
	return l.emit("CONV_2D", name, []*ir.Value{x, l.dst.NewConst(name+"_weights", ir.FloatTensor([]int{1, 1, 1, c}, w)),
		l.dst.NewConst(name+"_bias", ir.FloatTensor([]int{1}, []float32{0}))}, shape,
		ir.Attrs{"padding": "VALID", "stride_h": int64(1), "stride_w": int64(1), "dilation_h": int64(1), "dilation_w": int64(1),
			"fused_activation_function": "NONE"})
}

func (l *lowering) mean(n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	x := n.In(0)
	var axes []int64
	keep := true
	if n.Op == "GlobalAveragePool" {
		for i := 2; i < x.Rank(); i++ {
			axes = append(axes, int64(i))
		}
	} else {
		a, ok := reduceAxes(n)
		if !ok {
			return nodeErr(n, "axes must be constant")
		}
		if len(a) == 0 {
			if n.Attrs.Int("noop_with_empty_axes", 0) != 0 {
				return nodeErr(n, "noop_with_empty_axes is not supported")
			}
			for i := range x.Rank() {
				a = append(a, int64(i))
			}
		}
		if axes = normAxes(a, x.Rank()); axes == nil {
			return nodeErr(n, "bad axes %v", a)
		}
		keep = n.Attrs.Int("keepdims", 1) != 0
	}
	v, perm := l.reduce(n.Name, e, x.Shape, axes, keep)
	l.set(n, v, perm)
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
		r := l.emit("RESHAPE", name+"_groups", []*ir.Value{in, l.shapeConst(gshape)}, gshape, ir.Attrs{"new_shape": toI64(gshape)})
		y, _ := l.normalized(name+"_grouped", nil, lowered{r, identity(4)}, []int64{1, 3}, eps, 0)
		back := permute(x.Shape, nhwc)
		return l.emit("RESHAPE", name+"_ungroup", []*ir.Value{y, l.shapeConst(back)}, back, ir.Attrs{"new_shape": toI64(back)}), nhwc
	}
	m, _ := l.reduce(name+"_mean", e, nil, axes, true)
	d := l.emit("SUB", name+"_centered", []*ir.Value{e.v, m}, e.v.Shape, nil)
	sq := l.emit("SQUARED_DIFFERENCE", name+"_sqdiff", []*ir.Value{e.v, m}, e.v.Shape, nil)
	v, _ := l.reduce(name+"_var", lowered{sq, e.perm}, nil, axes, true)
	ve := l.emit("ADD", name+"_var_eps", []*ir.Value{v, l.dst.NewConst(name+"_eps", ir.FloatTensor([]int{1}, []float32{eps}))}, v.Shape, nil)
	r := l.emit("RSQRT", name+"_rstd", []*ir.Value{ve}, v.Shape, nil)
	l.stats = [2]*ir.Value{m, r}
	return l.emit("MUL", name, []*ir.Value{d, r}, e.v.Shape, nil), e.perm
}

func (l *lowering) softmax(n *ir.Node) error { return l.softmaxLike(n, "SOFTMAX") }

// softmaxLike lowers Softmax or LogSoftmax to op over the last physical
// axis, moving the ONNX axis there.
func (l *lowering) softmaxLike(n *ir.Node, op string) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	r := len(e.perm)
	def := int64(-1)
	if l.src.Opset < 13 {
		def = 1
	}
	ax, err := axis(n.Attrs.Int("axis", def), r)
	if err != nil {
		return nodeErr(n, "%v", err)
	}
	if l.src.Opset < 13 && ax != r-1 {
		return nodeErr(n, "opset %d softmax over axis %d of rank %d (2-D coercion) is not supported", l.src.Opset, ax, r)
	}
	perm := e.perm
	if perm[r-1] != ax {
		perm = slices.DeleteFunc(slices.Clone(perm), func(p int) bool { return p == ax })
		perm = append(perm, ax)
	}
	x := l.get(n.In(0), perm)
	attrs := ir.Attrs{}
	if op == "SOFTMAX" {
		attrs["beta"] = float32(1)
	}
	l.set(n, l.emit(op, n.Name, []*ir.Value{x}, x.Shape, attrs), perm)
	return nil
}

// reshapeLayout finds a physical reshape equal to the logical one: the
// non-unit dims are grouped into runs whose products match; when each
// run of input dims is contiguous and in order in the physical layout,
// the reshape can be done on the physical data. It returns the output's
// physical shape and perm.
func reshapeLayout(in, out, perm []int) ([]int, []int, bool) {
	var ii, oo []int
	for i, d := range in {
		if d != 1 {
			ii = append(ii, i)
		}
	}
	for i, d := range out {
		if d != 1 {
			oo = append(oo, i)
		}
	}
	type group struct{ in, out []int }
	var groups []group
	i, j := 0, 0
	for i < len(ii) || j < len(oo) {
		if i >= len(ii) || j >= len(oo) {
			return nil, nil, false
		}
		g := group{in: []int{ii[i]}, out: []int{oo[j]}}
		pi, po := in[ii[i]], out[oo[j]]
		i++
		j++
		for pi != po {
			if pi < po {
				if i >= len(ii) {
					return nil, nil, false
				}
				g.in = append(g.in, ii[i])
				pi *= in[ii[i]]
				i++
			} else {
				if j >= len(oo) {
					return nil, nil, false
				}
				g.out = append(g.out, oo[j])
				po *= out[oo[j]]
				j++
			}
		}
		groups = append(groups, g)
	}
	// Physical order of the non-unit input dims.
	var phys []int
	for _, lg := range perm {
		if in[lg] != 1 {
			phys = append(phys, lg)
		}
	}
	var outPerm []int
	for k := 0; k < len(phys); {
		gi := slices.IndexFunc(groups, func(g group) bool { return g.in[0] == phys[k] })
		if gi < 0 {
			return nil, nil, false
		}
		g := groups[gi]
		if k+len(g.in) > len(phys) || !slices.Equal(phys[k:k+len(g.in)], g.in) {
			return nil, nil, false
		}
		outPerm = append(outPerm, g.out...)
		k += len(g.in)
	}
	var units []int
	for i, d := range out {
		if d == 1 {
			units = append(units, i)
		}
	}
	outPerm = append(units, outPerm...)
	return permute(out, outPerm), outPerm, true
}

// reshape lowers Reshape, Flatten, Squeeze, Unsqueeze and Identity: all
// are a RESHAPE of the data to the output shape, done on the physical
// layout when possible (no transpose).
func (l *lowering) reshape(n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	x, out := n.In(0), n.Outputs[0]
	if !out.StaticShape() {
		return nodeErr(n, "output shape %v is not static", out.Shape)
	}
	shape, perm, ok := reshapeLayout(x.Shape, out.Shape, e.perm)
	src := e.v
	if !ok {
		src = l.get(x, identity(x.Rank()))
		shape, perm = slices.Clone(out.Shape), identity(out.Rank())
	}
	if slices.Equal(shape, src.Shape) && n.Op != "Identity" {
		l.set(n, src, perm)
		return nil
	}
	l.set(n, l.emit("RESHAPE", n.Name, []*ir.Value{src, l.shapeConst(shape)}, shape, ir.Attrs{"new_shape": toI64(shape)}), perm)
	return nil
}

func (l *lowering) matmul(n *ir.Node) error {
	a, b := n.In(0), n.In(1)
	ea, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	out := n.Outputs[0]
	r := a.Rank()
	if n.Op == "Gemm" || (b.IsConst() && b.Rank() == 2) {
		// FULLY_CONNECTED: weights [N, K], bias [N].
		if !b.IsConst() || b.Rank() != 2 {
			return nodeErr(n, "only a constant 2-D B is supported, B is %v", b.Shape)
		}
		alpha, beta := n.Attrs.Float("alpha", 1), n.Attrs.Float("beta", 1)
		if n.Attrs.Int("transA", 0) != 0 {
			return nodeErr(n, "transA is not supported")
		}
		bt := &ir.Tensor{DType: ir.Float32, Shape: b.Const.Shape, F: b.Const.Floats()}
		if n.Attrs.Int("transB", 0) == 0 {
			bt = bt.Transpose([]int{1, 0})
		}
		nOut, k := bt.Shape[0], bt.Shape[1]
		w := make([]float32, len(bt.F))
		for i, v := range bt.F {
			w[i] = v * alpha
		}
		bias := make([]float32, nOut)
		if c := n.In(2); c != nil {
			if !c.IsConst() {
				return nodeErr(n, "C must be constant")
			}
			cf := c.Const.Floats()
			switch len(cf) {
			case 1:
				for i := range bias {
					bias[i] = beta * cf[0]
				}
			case nOut:
				for i := range bias {
					bias[i] = beta * cf[i]
				}
			default:
				return nodeErr(n, "C of shape %v is not supported (scalar or [N])", c.Shape)
			}
		}
		perm := ea.perm
		if perm[r-1] != r-1 {
			perm = identity(r)
		}
		x := l.get(a, perm)
		if x.Shape[len(x.Shape)-1] != k {
			return nodeErr(n, "inner dims %d and %d differ", x.Shape[len(x.Shape)-1], k)
		}
		oshape := append(slices.Clone(x.Shape[:len(x.Shape)-1]), nOut)
		wv := l.dst.NewConst(n.Name+"_weights", ir.FloatTensor([]int{nOut, k}, w))
		bv := l.dst.NewConst(n.Name+"_bias", ir.FloatTensor([]int{nOut}, bias))
		l.set(n, l.emit("FULLY_CONNECTED", n.Name, []*ir.Value{x, wv, bv}, oshape,
			ir.Attrs{"keep_num_dims": true, "fused_activation_function": "NONE"}), perm)
		return nil
	}
	if r < 2 || b.Rank() != r {
		return nodeErr(n, "MatMul of ranks %d and %d is not supported", r, b.Rank())
	}
	side := func(v *ir.Value) (*ir.Value, bool) {
		if v.IsConst() {
			return l.constIn(v, identity(r)), false
		}
		e := l.vals[v]
		swapped := identity(r)
		swapped[r-2], swapped[r-1] = r-1, r-2
		if slices.Equal(e.perm, swapped) {
			return e.v, true
		}
		return l.get(v, identity(r)), false
	}
	x, adjX := side(a)
	y, adjY := side(b)
	l.set(n, l.emit("BATCH_MATMUL", n.Name, []*ir.Value{x, y}, slices.Clone(out.Shape), ir.Attrs{"adj_x": adjX, "adj_y": adjY}), identity(r))
	return nil
}

func (l *lowering) slice(n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	x := n.In(0)
	starts, ends, axes, steps, err := sliceParams(n)
	if err != nil {
		return err
	}
	r := x.Rank()
	begin := make([]int, r)
	size := slices.Clone(x.Shape)
	for i, av := range axes {
		ax, err := axis(av, r)
		if err != nil {
			return nodeErr(n, "%v", err)
		}
		if steps[i] != 1 {
			return nodeErr(n, "slice steps other than 1 are not supported")
		}
		b, _, cnt := sliceRange(starts[i], ends[i], 1, x.Shape[ax])
		begin[ax], size[ax] = b, cnt
	}
	pb, ps := permute(begin, e.perm), permute(size, e.perm)
	l.set(n, l.emit("SLICE", n.Name, []*ir.Value{e.v, l.int32Const("begin", []int{r}, toI64(pb)), l.int32Const("size", []int{r}, toI64(ps))}, ps, nil), e.perm)
	return nil
}
