package pass

import (
	"fmt"
	"math"
	"slices"

	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// TFLite-level nodes are made by lowering.emit from a
// tflitefile.BuiltinOp (ir.Graph.AddTFLite). Their attributes use the
// TFLite option field names (padding, stride_w, stride_h, dilation_w,
// dilation_h, fused_activation_function, depth_multiplier, axis,
// keep_dims, alpha, align_corners, half_pixel_centers, mode, beta, adj_x,
// adj_y, keep_num_dims, block_size).

// nhwc is the physical order of an NCHW value in channels-last layout.
var nhwc = []int{0, 2, 3, 1}

// lowered is where an ONNX value lives after lowering: a TFLite-level value
// whose physical dimension i is the logical (ONNX) dimension perm[i].
type lowered struct {
	v    *ir.Value
	perm []int
}

// LowerOptions tune choices the lowering makes where several exact
// lowerings exist.
type LowerOptions struct {
	// PlainMean lowers reductions over the channel axis with MEAN. By
	// default they become MEAN over H,W plus a 1x1 CONV_2D with weights
	// 1/C, because XNNPACK takes MEAN only over H,W.
	PlainMean bool
}

type lowering struct {
	opt      LowerOptions
	src, dst *ir.Graph
	vals     map[*ir.Value]lowered
	views    map[*ir.Value]map[string]*ir.Value // cached transposes per perm
	consts   map[*ir.Value]map[string]*ir.Value
	prod     map[*ir.Value]*ir.Node
	// stats are the mean and 1/stddev (kept dims) of the last
	// normalization emitted, for LayerNormalization's extra outputs.
	stats [2]*ir.Value
}

// Lower turns an ONNX-level graph (after FoldConstants, RemoveIdentity,
// FoldBatchNorm and RecognizeNorms) into a TFLite-level graph with
// channels-last layout. Every value carries a permutation instead of being
// transposed eagerly; a TRANSPOSE is emitted only where an operator needs
// a layout its input does not have, so convolutional graphs get none.
// Four-dimensional graph inputs become NHWC (unless they already look
// NHWC: at most 4 in the last dim and more in dim 1); four-dimensional
// outputs are NHWC. Both are recorded in Metadata.
func Lower(src *ir.Graph, o LowerOptions) (*ir.Graph, error) {
	dst := ir.NewGraph(src.Name)
	for k, v := range src.Metadata {
		dst.Metadata[k] = v
	}
	l := &lowering{opt: o, src: src, dst: dst, vals: map[*ir.Value]lowered{}, views: map[*ir.Value]map[string]*ir.Value{},
		consts: map[*ir.Value]map[string]*ir.Value{}, prod: src.Producers()}
	for _, o := range src.Outputs {
		dst.UniqueName(o.Name) // reserved: outputs keep their ONNX names
	}
	for i, in := range src.Inputs {
		if !in.StaticShape() {
			return nil, fmt.Errorf("input %q has unknown dimensions %v: give --input-shape", in.Name, in.Shape)
		}
		if in.DType != ir.Float32 {
			return nil, fmt.Errorf("input %q: only float32 inputs are supported, not %v", in.Name, in.DType)
		}
		perm := identity(in.Rank())
		layout := "as-is"
		if in.Rank() == 4 && !(in.Shape[3] <= 4 && in.Shape[1] > 4) { // unless it already looks NHWC
			perm, layout = nhwc, "NHWC"
		}
		v := &ir.Value{Name: dst.UniqueName(in.Name), DType: ir.Float32, Shape: permute(in.Shape, perm)}
		dst.Inputs = append(dst.Inputs, v)
		l.vals[in] = lowered{v, perm}
		dst.Metadata[fmt.Sprintf("input%d_layout", i)] = layout
	}
	for _, n := range src.Nodes {
		if err := checkConstOperands(n, src.Opset); err != nil {
			return nil, err
		}
	}
	for _, n := range src.Nodes {
		if f, ok := families[n.Op]; !ok || f.lower == nil {
			return nil, nodeErr(n, "operator %s is not supported (opset %d)", n.Op, src.Opset)
		}
		for _, o := range n.Outputs {
			if o != nil && o.Shape == nil {
				return nil, nodeErr(n, "output %q has an unknown shape (unsupported op or dynamic shape)", o.Name)
			}
		}
		if err := l.node(n); err != nil {
			return nil, err
		}
	}
	for i, o := range src.Outputs {
		if o.IsConst() {
			return nil, fmt.Errorf("output %q is a constant", o.Name)
		}
		if o.DType != ir.Float32 {
			return nil, fmt.Errorf("output %q has type %v; only float32 outputs are supported", o.Name, o.DType)
		}
		e, ok := l.vals[o]
		if !ok {
			return nil, fmt.Errorf("output %q was not lowered", o.Name)
		}
		want := identity(len(e.perm))
		layout := "as-is"
		if len(e.perm) == 4 && !slices.Equal(e.perm, want) {
			want, layout = nhwc, "NHWC"
		}
		v := l.get(o, want)
		if slices.Contains(dst.Inputs, v) || slices.Contains(dst.Outputs, v) {
			cp := l.emit(tflitefile.Reshape, o.Name, []*ir.Value{v, l.shapeConst(v.Shape)}, v.Shape, ir.Attrs{"new_shape": toI64(v.Shape)})
			v = cp
		}
		v.Name = o.Name
		dst.Outputs = append(dst.Outputs, v)
		dst.Metadata[fmt.Sprintf("output%d_layout", i)] = layout
	}
	dst.RemoveDead()
	for _, n := range dst.Nodes {
		for _, v := range append(slices.Clone(n.Inputs), n.Outputs...) {
			op, ok := n.Builtin()
			if !ok {
				return nil, fmt.Errorf("internal: lowering emitted %s, which is not in the operator table", n.Op)
			}
			limit := op.Info().MaxRank
			// TFLite 2.9 broadcasts over at most 4 dims (and aborts
			// beyond); equal shapes run flat at any rank.
			if op.Info().Broadcasting && op != tflitefile.Concatenation && len(n.Inputs) == 2 &&
				!slices.Equal(n.Inputs[0].Shape, n.Inputs[1].Shape) {
				limit = min(limit, 4)
			}
			if v != nil && len(v.Shape) > limit && !v.IsConst() {
				return nil, fmt.Errorf("%s %q needs a rank-%d tensor %v; TFLite takes at most %d dims there", op, n.Name, len(v.Shape), v.Shape, limit)
			}
		}
	}
	if err := dst.Sort(); err != nil {
		return nil, err
	}
	return dst, nil
}

func identity(r int) []int {
	p := make([]int, max(r, 0))
	for i := range p {
		p[i] = i
	}
	return p
}

// permute gives the physical shape of a logical shape under perm.
func permute(s, perm []int) []int {
	out := make([]int, len(perm))
	for i, p := range perm {
		out[i] = s[p]
	}
	return out
}

func toI64(s []int) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}

func permKey(p []int) string { return fmt.Sprint(p) }

// emit adds a TFLite node with one output of the given shape: float, or
// of its input's type for the layout operators (RESHAPE, TRANSPOSE),
// which also move boolean conditions.
func (l *lowering) emit(op tflitefile.BuiltinOp, name string, in []*ir.Value, shape []int, attrs ir.Attrs) *ir.Value {
	dt := ir.Float32
	if (op == tflitefile.Reshape || op == tflitefile.Transpose) && in[0].DType == ir.Bool {
		dt = ir.Bool
	}
	out := l.dst.NewValue(name, dt, shape)
	l.dst.AddTFLite(op, name, in, []*ir.Value{out}, attrs)
	return out
}

func (l *lowering) int32Const(name string, shape []int, data []int64) *ir.Value {
	return l.dst.NewConst(name, &ir.Tensor{DType: ir.Int32, Shape: shape, I: data})
}

func (l *lowering) shapeConst(s []int) *ir.Value {
	return l.int32Const("shape", []int{len(s)}, toI64(s))
}

// get returns v in the physical layout perm, transposing if needed.
func (l *lowering) get(v *ir.Value, perm []int) *ir.Value {
	if v.IsConst() {
		return l.constIn(v, perm)
	}
	e := l.vals[v]
	if slices.Equal(e.perm, perm) {
		return e.v
	}
	key := permKey(perm)
	if c := l.views[v][key]; c != nil {
		return c
	}
	var out *ir.Value
	if sameOrder(v.Shape, e.perm, perm) {
		// Only unit dims move: the data is already in order.
		shape := permute(v.Shape, perm)
		out = l.emit(tflitefile.Reshape, v.Name+"_relayout", []*ir.Value{e.v, l.shapeConst(shape)}, shape, ir.Attrs{"new_shape": toI64(shape)})
		if l.views[v] == nil {
			l.views[v] = map[string]*ir.Value{}
		}
		l.views[v][key] = out
		return out
	}
	inv := ir.InversePerm(e.perm)
	t := make([]int64, len(perm))
	for i, p := range perm {
		t[i] = int64(inv[p])
	}
	out = l.emit(tflitefile.Transpose, v.Name+"_transposed", []*ir.Value{e.v, l.int32Const("perm", []int{len(t)}, t)}, permute(v.Shape, perm), nil)
	if l.views[v] == nil {
		l.views[v] = map[string]*ir.Value{}
	}
	l.views[v][key] = out
	return out
}

// sameOrder reports whether two layouts of a value order its non-unit
// dims the same way (then they hold identical data).
func sameOrder(shape, a, b []int) bool {
	var x, y []int
	for _, d := range a {
		if shape[d] != 1 {
			x = append(x, d)
		}
	}
	for _, d := range b {
		if shape[d] != 1 {
			y = append(y, d)
		}
	}
	return slices.Equal(x, y)
}

// constIn is a float constant laid out as perm: transposed in Go.
func (l *lowering) constIn(v *ir.Value, perm []int) *ir.Value {
	key := permKey(perm)
	if c := l.consts[v][key]; c != nil {
		return c
	}
	t := v.Const
	f := &ir.Tensor{DType: ir.Float32, Shape: slices.Clone(t.Shape), F: t.Floats()}
	if !slices.Equal(perm, identity(len(perm))) {
		f = f.Transpose(perm)
	}
	c := l.dst.NewConst(v.Name, f)
	if l.consts[v] == nil {
		l.consts[v] = map[string]*ir.Value{}
	}
	l.consts[v][key] = c
	return c
}

// broadcastConst lays out a constant operand of a binary op whose other
// operand has logical rank r and layout perm: pad to rank r with leading
// ones, transpose, then drop leading ones (TFLite broadcasts from the
// right).
func (l *lowering) broadcastConst(v *ir.Value, r int, perm []int) (*ir.Value, error) {
	t := v.Const
	if len(t.Shape) > r {
		return nil, fmt.Errorf("constant %q of rank %d broadcast to rank %d", v.Name, len(t.Shape), r)
	}
	shape := append(slices.Repeat([]int{1}, r-len(t.Shape)), t.Shape...)
	f := &ir.Tensor{DType: ir.Float32, Shape: shape, F: t.Floats()}
	if len(perm) > 0 {
		f = f.Transpose(perm)
	}
	s := f.Shape
	for len(s) > 1 && s[0] == 1 {
		s = s[1:]
	}
	if len(s) == 0 {
		s = []int{1}
	}
	return l.dst.NewConst(v.Name, f.Reshaped(s)), nil
}

// entry returns the lowered form of a non-constant input.
func (l *lowering) entry(n *ir.Node, i int) (lowered, error) {
	v := n.In(i)
	if v == nil {
		return lowered{}, nodeErr(n, "input %d is missing", i)
	}
	if v.IsConst() {
		return lowered{}, nodeErr(n, "input %d (%s) is constant; only data inputs are supported there", i, v.Name)
	}
	e, ok := l.vals[v]
	if !ok {
		return lowered{}, nodeErr(n, "input %q was not lowered", v.Name)
	}
	return e, nil
}

func (l *lowering) set(n *ir.Node, v *ir.Value, perm []int) {
	l.vals[n.Outputs[0]] = lowered{v, perm}
}

func (l *lowering) node(n *ir.Node) error {
	out := n.Outputs[0]
	if out == nil {
		return nodeErr(n, "first output is unused")
	}
	if f, ok := families[n.Op]; ok && f.lower != nil {
		return f.lower(l, n)
	}
	return nodeErr(n, "operator %s is not supported (opset %d)", n.Op, l.src.Opset)
}

// rsqrtFollows reports whether every reader of Sqrt's output is a Div
// (as divisor) or Reciprocal, which lower to RSQRT + MUL.
func (l *lowering) rsqrtFollows(sq *ir.Node) bool {
	readers := 0
	for _, m := range l.src.Nodes {
		for i, v := range m.Inputs {
			if v != sq.Outputs[0] {
				continue
			}
			readers++
			if !(m.Op == "Div" && i == 1 || m.Op == "Reciprocal") {
				return false
			}
		}
	}
	return readers > 0 && !l.src.IsOutput(sq.Outputs[0])
}

// binaryLayout picks the layout of a broadcasting op: the layout of its
// first full-rank data input.
func (l *lowering) binaryLayout(n *ir.Node) ([]int, error) {
	r := n.Outputs[0].Rank()
	for _, v := range n.Inputs {
		if v != nil && !v.IsConst() && v.Rank() == r {
			return l.vals[v].perm, nil
		}
	}
	return identity(r), nil
}

// operand lays out input i for a broadcasting op of rank r in layout perm.
func (l *lowering) operand(n *ir.Node, i, r int, perm []int) (*ir.Value, error) {
	v := n.In(i)
	if v.IsConst() {
		return l.broadcastConst(v, r, perm)
	}
	if v.Rank() == r {
		return l.get(v, perm), nil
	}
	// Lower-rank data operand: reshape it (logical layout) to rank r first.
	base := l.get(v, identity(v.Rank()))
	shape := append(slices.Repeat([]int{1}, r-v.Rank()), v.Shape...)
	rs := l.emit(tflitefile.Reshape, v.Name+"_rank", []*ir.Value{base, l.shapeConst(shape)}, shape, ir.Attrs{"new_shape": toI64(shape)})
	if slices.Equal(perm, identity(r)) {
		return rs, nil
	}
	inv := identity(r)
	t := make([]int64, r)
	for k, p := range perm {
		t[k] = int64(inv[p])
	}
	return l.emit(tflitefile.Transpose, v.Name+"_transposed", []*ir.Value{rs, l.int32Const("perm", []int{r}, t)}, permute(shape, perm), nil), nil
}

func (l *lowering) binary(n *ir.Node) error {
	if done, err := l.lowerHardSwishMul(n); done {
		return err
	}
	out := n.Outputs[0]
	r := out.Rank()
	if n.In(0).IsConst() && n.In(1).IsConst() {
		return nodeErr(n, "both inputs constant (constant folding should have removed it)")
	}
	perm, err := l.binaryLayout(n)
	if err != nil {
		return err
	}
	shape := permute(out.Shape, perm)
	op := map[string]tflitefile.BuiltinOp{"Add": tflitefile.Add, "Sub": tflitefile.Sub, "Mul": tflitefile.Mul, "Div": tflitefile.Div, "Max": tflitefile.Maximum, "Min": tflitefile.Minimum}[n.Op]
	switch n.Op {
	case "Pow":
		// Common constant exponents as cheaper ops (XNNPACK takes MUL and
		// SQRT, not POW); anything else as POW.
		e, ok := constScalar(n.In(1))
		if ok && !n.In(0).IsConst() && (e == 1 || e == 2 || e == 0.5 || e == -0.5) {
			x, err := l.operand(n, 0, r, perm)
			if err != nil {
				return nodeErr(n, "%v", err)
			}
			switch e {
			case 1:
				l.set(n, x, perm)
			case 2:
				l.set(n, l.emit(tflitefile.Mul, n.Name, []*ir.Value{x, x}, shape, nil), perm)
			case 0.5:
				l.set(n, l.emit(tflitefile.Sqrt, n.Name, []*ir.Value{x}, shape, nil), perm)
			case -0.5:
				l.set(n, l.emit(tflitefile.Rsqrt, n.Name, []*ir.Value{x}, shape, nil), perm)
			}
			return nil
		}
		op = tflitefile.Pow
	case "Div":
		if sq := opOf(l.prod, n.In(1), "Sqrt"); sq != nil && l.rsqrtFollows(sq) {
			// a / sqrt(b) = a * rsqrt(b)
			y, err := l.operandOf(sq.In(0), r, perm)
			if err != nil {
				return nodeErr(n, "%v", err)
			}
			rs := l.emit(tflitefile.Rsqrt, sq.Name, []*ir.Value{y}, y.Shape, nil)
			x, err := l.operand(n, 0, r, perm)
			if err != nil {
				return nodeErr(n, "%v", err)
			}
			l.set(n, l.emit(tflitefile.Mul, n.Name, []*ir.Value{x, rs}, shape, nil), perm)
			return nil
		}
		if c := n.In(1); c.IsConst() {
			// Division by a constant is multiplication by its reciprocal.
			f := c.Const.Floats()
			inv := make([]float32, len(f))
			for i, v := range f {
				inv[i] = 1 / v
			}
			rc := l.src.NewConst(c.Name+"_reciprocal", ir.FloatTensor(c.Const.Shape, inv))
			cv, err := l.broadcastConst(rc, r, perm)
			if err != nil {
				return nodeErr(n, "%v", err)
			}
			x, err := l.operand(n, 0, r, perm)
			if err != nil {
				return nodeErr(n, "%v", err)
			}
			l.set(n, l.emit(tflitefile.Mul, n.Name, []*ir.Value{x, cv}, shape, nil), perm)
			return nil
		}
	}
	ins, err := l.operands(n, r, perm)
	if err != nil {
		return err
	}
	l.set(n, l.emit(op, n.Name, ins, shape, nil), perm)
	return nil
}

// operands lays out all inputs of a broadcasting op of rank r in layout
// perm (see operand).
func (l *lowering) operands(n *ir.Node, r int, perm []int) ([]*ir.Value, error) {
	ins := make([]*ir.Value, len(n.Inputs))
	for i := range ins {
		var err error
		if ins[i], err = l.operand(n, i, r, perm); err != nil {
			return nil, nodeErr(n, "%v", err)
		}
	}
	return ins, nil
}

// operandOf lays out a value (not tied to a node input index).
func (l *lowering) operandOf(v *ir.Value, r int, perm []int) (*ir.Value, error) {
	n := &ir.Node{Op: "operand", Inputs: []*ir.Value{v}}
	return l.operand(n, 0, r, perm)
}

func (l *lowering) clip(n *ir.Node) error {
	e, err := l.entry(n, 0)
	if err != nil {
		return err
	}
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if l.src.Opset < 11 {
		lo, hi = n.Attrs.Float("min", lo), n.Attrs.Float("max", hi)
	} else {
		for i, p := range []*float32{&lo, &hi} {
			v := n.In(i + 1)
			if v == nil {
				continue
			}
			s, ok := constScalar(v)
			if !ok {
				return nodeErr(n, "min/max must be constant")
			}
			*p = s
		}
	}
	op := tflitefile.Custom // none
	switch {
	case lo == 0 && hi == 6:
		op = tflitefile.Relu6
	case lo == -1 && hi == 1:
		op = tflitefile.ReluN1To1
	case lo == 0 && math.IsInf(float64(hi), 1):
		op = tflitefile.Relu
	}
	if op != tflitefile.Custom {
		l.set(n, l.emit(op, n.Name, []*ir.Value{e.v}, e.v.Shape, nil), e.perm)
		return nil
	}
	cur := e.v
	if !math.IsInf(float64(lo), -1) {
		cur = l.emit(tflitefile.Maximum, n.Name+"_min", []*ir.Value{cur, l.dst.NewConst("clip_min", ir.FloatTensor([]int{1}, []float32{lo}))}, cur.Shape, nil)
	}
	if !math.IsInf(float64(hi), 1) {
		cur = l.emit(tflitefile.Minimum, n.Name+"_max", []*ir.Value{cur, l.dst.NewConst("clip_max", ir.FloatTensor([]int{1}, []float32{hi}))}, cur.Shape, nil)
	}
	l.set(n, cur, e.perm)
	return nil
}

// allSame reports whether t holds the same values for every index of its
// leading dims up to and including dim d (so those dims can be dropped).
func allSame(t *ir.Tensor, d int) bool {
	inner := ir.NumElements(t.Shape[d+1:])
	for i := inner; i < len(t.F); i++ {
		if t.F[i] != t.F[i%inner] {
			return false
		}
	}
	return true
}

// reduceLeading drops the first n dims of t (whose slices are all equal).
func reduceLeading(t *ir.Tensor, n int) *ir.Tensor {
	shape := t.Shape[n:]
	return ir.FloatTensor(shape, slices.Clone(t.F[:ir.NumElements(shape)]))
}
