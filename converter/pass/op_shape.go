package pass

import (
	"slices"

	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// Layout and shape operators: Concat (CONCATENATION), Reshape, Flatten,
// Squeeze, Unsqueeze, Identity (RESHAPE or nothing), Transpose (only the
// layout bookkeeping changes) and Slice (SLICE).
func init() {
	register(family{infer: inferConcat, lower: (*lowering).concat}, "Concat")
	register(family{infer: inferReshape, lower: (*lowering).reshape}, "Reshape")
	register(family{infer: inferFlatten, lower: (*lowering).reshape}, "Flatten")
	register(family{infer: inferSqueeze, lower: (*lowering).reshape}, "Squeeze")
	register(family{infer: inferUnsqueeze, lower: (*lowering).reshape}, "Unsqueeze")
	register(family{infer: inferTranspose, lower: (*lowering).transpose}, "Transpose")
	register(family{infer: inferSlice, lower: (*lowering).slice}, "Slice")
	register(family{infer: sameShape, lower: (*lowering).reshape}, "Identity")
}

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
	l.set(n, l.emit(tflitefile.Concatenation, n.Name, in, permute(out.Shape, perm),
		ir.Attrs{"axis": int64(ir.InversePerm(perm)[ax]), "fused_activation_function": "NONE"}), perm)
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
	l.set(n, l.emit(tflitefile.Reshape, n.Name, []*ir.Value{src, l.shapeConst(shape)}, shape, ir.Attrs{"new_shape": toI64(shape)}), perm)
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
	l.set(n, l.emit(tflitefile.Slice, n.Name, []*ir.Value{e.v, l.int32Const("begin", []int{r}, toI64(pb)), l.int32Const("size", []int{r}, toI64(ps))}, ps, nil), e.perm)
	return nil
}

func inferConcat(n *ir.Node) error {
	x, xs, a := n.In(0), n.In(0).Shape, n.Attrs
	ax, err := axis(a.Int("axis", 0), len(xs))
	if err != nil {
		return nodeErr(n, "%v", err)
	}
	s := slices.Clone(xs)
	for _, v := range n.Inputs[1:] {
		if len(v.Shape) != len(xs) {
			return nodeErr(n, "inputs of rank %d and %d", len(xs), len(v.Shape))
		}
		if s[ax] >= 0 && v.Shape[ax] >= 0 {
			s[ax] += v.Shape[ax]
		} else {
			s[ax] = -1
		}
	}
	setOut(n, 0, x.DType, s)
	return nil
}

func inferReshape(n *ir.Node) error {
	x, xs, a := n.In(0), n.In(0).Shape, n.Attrs
	shp, _, ok := constInts(n.In(1))
	if !ok || shp == nil {
		return errUnknown
	}
	s, err := reshapeShape(xs, shp, a.Int("allowzero", 0) != 0)
	if err != nil {
		return nodeErr(n, "%v", err)
	}
	setOut(n, 0, x.DType, s)
	return nil
}

func inferFlatten(n *ir.Node) error {
	x, xs, a := n.In(0), n.In(0).Shape, n.Attrs
	ax := int(a.Int("axis", 1))
	if ax < 0 {
		ax += len(xs)
	}
	if ax < 0 || ax > len(xs) {
		return nodeErr(n, "axis %d out of range for rank %d", a.Int("axis", 1), len(xs))
	}
	setOut(n, 0, x.DType, []int{ir.NumElements(xs[:ax]), ir.NumElements(xs[ax:])})
	return nil
}

func inferTranspose(n *ir.Node) error {
	x, xs, a := n.In(0), n.In(0).Shape, n.Attrs
	perm := ints(a.Ints("perm"))
	if perm == nil {
		for i := len(xs) - 1; i >= 0; i-- {
			perm = append(perm, i)
		}
	}
	if len(perm) != len(xs) {
		return nodeErr(n, "perm %v does not match rank %d", perm, len(xs))
	}
	s := make([]int, len(perm))
	seen := make([]bool, len(xs))
	for i, p := range perm {
		if p < 0 || p >= len(xs) || seen[p] {
			return nodeErr(n, "perm %v is not a permutation of %d dims", perm, len(xs))
		}
		seen[p] = true
		s[i] = xs[p]
	}
	setOut(n, 0, x.DType, s)
	return nil
}

func inferUnsqueeze(n *ir.Node) error {
	x, xs := n.In(0), n.In(0).Shape
	axes, ok := axesOperand(n)
	if !ok {
		return errUnknown
	}
	r := len(xs) + len(axes)
	ins := map[int]bool{}
	for _, av := range axes {
		ax, err := axis(av, r)
		if err != nil {
			return nodeErr(n, "%v", err)
		}
		ins[ax] = true
	}
	var s []int
	j := 0
	for i := range r {
		if ins[i] {
			s = append(s, 1)
		} else {
			s = append(s, xs[j])
			j++
		}
	}
	setOut(n, 0, x.DType, s)
	return nil
}

func inferSqueeze(n *ir.Node) error {
	x, xs := n.In(0), n.In(0).Shape
	axes, ok := axesOperand(n)
	if !ok {
		return errUnknown
	}
	drop := map[int]bool{}
	for _, av := range axes {
		ax, err := axis(av, len(xs))
		if err != nil {
			return nodeErr(n, "%v", err)
		}
		drop[ax] = true
	}
	var s []int
	for i, d := range xs {
		if (len(axes) == 0 && d == 1) || drop[i] {
			continue
		}
		s = append(s, d)
	}
	setOut(n, 0, x.DType, s)
	return nil
}

func inferSlice(n *ir.Node) error {
	x := n.In(0)
	s, err := sliceShape(n)
	if err != nil {
		return err
	}
	setOut(n, 0, x.DType, s)
	return nil
}

// transpose changes only the layout bookkeeping: no data moves.
func (l *lowering) transpose(n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	t := ints(n.Attrs.Ints("perm"))
	if t == nil {
		for i := len(e.perm) - 1; i >= 0; i-- {
			t = append(t, i)
		}
	}
	inv := ir.InversePerm(t)
	q := make([]int, len(e.perm))
	for j, p := range e.perm {
		q[j] = inv[p]
	}
	l.set(n, e.v, q) // no data movement: only the bookkeeping changes
	return nil
}

// axesOperand returns the axes of Squeeze, Unsqueeze and the reductions:
// the attribute in older opsets, else the constant input 1; ok is false
// while that input is not known.
func axesOperand(n *ir.Node) ([]int64, bool) {
	if n.In(1) == nil {
		return n.Attrs.Ints("axes"), true
	}
	axes, _, ok := constInts(n.In(1))
	return axes, ok
}
