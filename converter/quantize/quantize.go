package quantize

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	tfl "github.com/animed/animed/converter/tflitefile"
)

// IO selects the type of the quantized model's input and output tensors.
type IO string

const (
	// IOFloat keeps float32 input and output, with QUANTIZE and DEQUANTIZE
	// at the ends of the graph.
	IOFloat IO = "float"
	// IOInt8 makes the input and output int8 tensors. The input uses
	// PixelInput: the caller feeds pixel-128.
	IOInt8 IO = "int8"
)

// PixelInput are the input parameters of an IOInt8 model: the caller feeds
// q = pixel - 128 for 8-bit pixels, so q * 2/255 = pixel/127.5 - 1 - 1/255,
// half a quantization step below the float model's pixel/127.5 - 1 (no
// integer zero point makes that mapping exact). Quantize folds the constant
// 1/255 shift into the bias of the convolutions that read the input, so the
// model computes what the float model computes on pixel/127.5 - 1.
var PixelInput = Params{Scale: 2.0 / 255, ZeroPoint: 0}

// pixelShift is the real value by which PixelInput's input sits below the
// float model's input.
const pixelShift = 1.0 / 255

// Options configure Quantize.
type Options struct {
	// Ranges holds the calibrated range of every activation tensor of the
	// main subgraph, by tensor index (see Stats.Ranges).
	Ranges map[int32]Range
	// IO is IOFloat (default) or IOInt8.
	IO IO
	// FloatOps are operators kept in float32 (float islands), e.g. the
	// layer-norm pieces. Operators without an INT8 kernel must be listed
	// here, or Quantize fails naming them.
	FloatOps []tfl.BuiltinOp
	// FloatLayerNorm keeps the layer and instance norms the converter
	// lowers (MEAN, SQUARED_DIFFERENCE, RSQRT and the SUB, MUL and ADD
	// around them) float, but not other operators of those types.
	FloatLayerNorm bool
	// Logger receives warnings; nil means slog.Default().
	Logger *slog.Logger
}

// Island is an operator kept in float32.
type Island struct {
	Index  int    `json:"index"` // operator index in the FP32 model
	Op     string `json:"op"`
	Output string `json:"output"` // name of its first output tensor
}

// Result is a quantized model and what the pass did to get it.
type Result struct {
	Model *tfl.Model
	// FloatIslands are the operators left in float32.
	FloatIslands []Island
	// Requantized names the tensors that needed a requantizing QUANTIZE
	// to meet an equal-scale operator's rule.
	Requantized []string
	// RaisedWeightScales counts output channels whose weight scale was
	// raised so the int32 bias fits.
	RaisedWeightScales int
	// InputShiftFolded is true when IOInt8's half-step input shift was
	// folded into the bias of the first convolutions.
	InputShiftFolded bool
	// Warnings are the messages also sent to the logger.
	Warnings []string
}

// ParseOps parses operator names such as "RSQRT,MEAN" (case-insensitive)
// for Options.FloatOps. The name "layernorm" sets layerNorm instead: keep
// the lowered layer norms (see Options.FloatLayerNorm) float.
func ParseOps(names []string) (ops []tfl.BuiltinOp, layerNorm bool, err error) {
	for _, n := range names {
		n = strings.ToUpper(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		if n == "LAYERNORM" {
			layerNorm = true
			continue
		}
		found := false
		for op := range tfl.BuiltinOp(130) {
			if op.String() == n {
				ops = append(ops, op)
				found = true
				break
			}
		}
		if !found {
			return nil, false, fmt.Errorf("unknown operator %q (use TFLite names such as RSQRT, or layernorm)", n)
		}
	}
	return ops, layerNorm, nil
}

type domain int8

const (
	domOther domain = iota // no float tensor: copied as is
	domInt8
	domFloat
)

// Quantize returns a fully INT8 copy of the FP32 model m. m is not changed.
func Quantize(m *tfl.Model, o Options) (*Result, error) {
	if o.IO == "" {
		o.IO = IOFloat
	}
	if o.IO != IOFloat && o.IO != IOInt8 {
		return nil, fmt.Errorf("quantize: unknown I/O type %q (want %q or %q)", o.IO, IOFloat, IOInt8)
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("quantize: invalid model: %w", err)
	}
	if len(m.Subgraphs) != 1 {
		return nil, fmt.Errorf("quantize: models with %d subgraphs are not supported", len(m.Subgraphs))
	}
	p := &pass{m: m, g: m.Main(), o: o, log: log, res: &Result{}}
	if err := p.run(); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	return p.res, nil
}

type pass struct {
	m   *tfl.Model
	g   *tfl.Subgraph
	o   Options
	log *slog.Logger
	res *Result

	dom    []domain
	params map[int32]Params

	out  *tfl.Model
	ng   *tfl.Subgraph
	repF []int32 // new index of the float (or native, for non-float) version
	repQ []int32 // new index of the int8 version
}

func (p *pass) warn(msg string) {
	p.res.Warnings = append(p.res.Warnings, msg)
	p.log.Warn("quantize: " + msg)
}

func (p *pass) isConst(i int32) bool {
	t := p.g.Tensors[i]
	return t.Buffer != 0 && len(p.m.Buffers[t.Buffer].Data) > 0
}

func (p *pass) isFloat(i int32) bool { return i >= 0 && p.g.Tensors[i].Type == tfl.Float32 }

func (p *pass) name(i int32) string { return p.g.Tensors[i].Name }

func (p *pass) run() error {
	g := p.g
	for i, t := range g.Tensors {
		if (t.Type == tfl.Int8 || t.Type == tfl.Uint8 || t.Type == tfl.Int16) && !p.isConst(int32(i)) {
			return fmt.Errorf("tensor %d (%s) is already %s: the input must be an FP32 model", i, t.Name, t.Type)
		}
	}
	for _, i := range g.Inputs {
		if g.Tensors[i].Type != tfl.Float32 {
			return fmt.Errorf("input %s is %s, want float32", p.name(i), g.Tensors[i].Type)
		}
	}
	if err := p.domains(); err != nil {
		return err
	}
	if err := p.chooseParams(); err != nil {
		return err
	}
	if err := p.emit(); err != nil {
		return err
	}
	p.collectBuffers()
	if err := p.out.Validate(); err != nil {
		return fmt.Errorf("quantized model is invalid (a bug): %w", err)
	}
	p.res.Model = p.out
	return nil
}

// domains decides which operators run in int8 and which stay float.
func (p *pass) domains() error {
	keep := map[tfl.BuiltinOp]bool{}
	for _, op := range p.o.FloatOps {
		keep[op] = true
	}
	p.dom = make([]domain, len(p.g.Operators))
	norm := map[int]bool{}
	if p.o.FloatLayerNorm {
		norm = p.layerNormOps()
	}
	var missing []string
	for i, op := range p.g.Operators {
		hasFloat := false
		for _, t := range slices.Concat(op.Inputs, op.Outputs) {
			if p.isFloat(t) {
				hasFloat = true
			}
		}
		switch {
		case !hasFloat:
			p.dom[i] = domOther
		case keep[op.Op] || norm[i]:
			p.dom[i] = domFloat
		case !int8Ops[op.Op] || op.Op == tfl.Quantize || op.Op == tfl.Dequantize:
			missing = append(missing, fmt.Sprintf("%s (operator %d, output %s)", op.Op, i, p.name(op.Outputs[0])))
		default:
			p.dom[i] = domInt8
		}
		if p.dom[i] == domFloat {
			p.res.FloatIslands = append(p.res.FloatIslands, Island{Index: i, Op: op.Op.String(), Output: p.name(op.Outputs[0])})
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no INT8 kernel for %s: keep such operators float with --float-ops", strings.Join(missing, ", "))
	}
	if n := len(p.res.FloatIslands); n > 0 {
		var names []string
		for _, is := range p.res.FloatIslands {
			names = append(names, is.Op+" -> "+is.Output)
		}
		p.warn(fmt.Sprintf("%d operators stay float32 (float islands, not fully INT8): %s", n, strings.Join(names, ", ")))
	}
	return nil
}

// layerNormOps finds the operators of lowered norms: every MEAN,
// SQUARED_DIFFERENCE and RSQRT, and each ADD, SUB or MUL that combines a
// norm's statistics (a MEAN or RSQRT result, or a constant) with at most
// one full-size tensor: x - mean, var + eps, centered * rsqrt, * gamma,
// + beta. A residual ADD of two full-size tensors is not part of a norm.
func (p *pass) layerNormOps() map[int]bool {
	norm := map[int]bool{}
	normOut := map[int32]bool{} // produced by a norm operator
	reduced := map[int32]bool{} // a statistic: MEAN, RSQRT or derived from them
	for i, op := range p.g.Operators {
		in, red := false, false
		switch op.Op {
		case tfl.Mean, tfl.Rsqrt:
			in, red = true, true
		case tfl.SquaredDifference:
			in = true
		case tfl.Add, tfl.Sub, tfl.Mul:
			full, stat, fromNorm := 0, 0, false
			for _, t := range op.Inputs {
				switch {
				case t < 0:
				case reduced[t]:
					stat++
					fromNorm = true
				case p.isConst(t):
				default:
					full++
					fromNorm = fromNorm || normOut[t]
				}
			}
			in = fromNorm && full <= 1
			red = in && full == 0 && stat > 0
		}
		if in {
			norm[i] = true
			for _, t := range op.Outputs {
				normOut[t] = true
				reduced[t] = red
			}
		}
	}
	return norm
}

// valueInputs returns the positions of op's float inputs that carry values
// (not weights or bias).
func (p *pass) valueInputs(op *tfl.Operator) []int {
	w, b, _, _, _, hasW := weightRole(op.Op)
	var out []int
	for k, t := range op.Inputs {
		if !p.isFloat(t) || (hasW && (k == w || k == b)) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// chooseParams gives every float value tensor touched by an int8 operator
// its int8 parameters, honouring the fixed-output and equal-scale rules.
func (p *pass) chooseParams() error {
	g := p.g
	rng := map[int32]Range{}
	pinned := map[int32]Params{}
	need := func(t int32) error {
		if _, ok := rng[t]; ok {
			return nil
		}
		if p.isConst(t) {
			rng[t] = dataRange(tfl.BytesFloat32(p.m.Buffers[g.Tensors[t].Buffer].Data))
			return nil
		}
		r, ok := p.o.Ranges[t]
		if !ok {
			return fmt.Errorf("no calibration range for tensor %d (%s)", t, p.name(t))
		}
		rng[t] = r
		return nil
	}
	if p.o.IO == IOInt8 {
		for _, t := range g.Inputs {
			pinned[t] = PixelInput
			rng[t] = PixelInput.Representable()
		}
	}
	for i, op := range g.Operators {
		if p.dom[i] != domInt8 {
			continue
		}
		for _, k := range p.valueInputs(op) {
			if err := need(op.Inputs[k]); err != nil {
				return err
			}
		}
		for _, t := range op.Outputs {
			if !p.isFloat(t) {
				continue
			}
			if err := need(t); err != nil {
				return err
			}
			if f, ok := fixedOutput[op.Op]; ok {
				pinned[t] = Params{Scale: f.scale, ZeroPoint: f.zp}
			}
		}
		// A float island's output read by an int8 op also needs a range:
		// covered above through valueInputs.
	}
	// Graph outputs produced by float islands need no int8 parameters.

	// Union the equal-scale operators' tensors (pinned ones stay apart).
	parent := map[int32]int32{}
	var find func(int32) int32
	find = func(t int32) int32 {
		if q, ok := parent[t]; ok && q != t {
			r := find(q)
			parent[t] = r
			return r
		}
		return t
	}
	union := func(a, b int32) {
		ra, rb := find(a), find(b)
		if ra != rb {
			parent[ra] = rb
		}
	}
	for i, op := range g.Operators {
		if p.dom[i] != domInt8 || !equalScaleOps[op.Op] {
			continue
		}
		out := op.Outputs[0]
		for _, k := range p.valueInputs(op) {
			if _, ok := pinned[op.Inputs[k]]; !ok {
				union(op.Inputs[k], out)
			}
		}
	}
	groupRange := map[int32]Range{}
	for t, r := range rng {
		if _, ok := pinned[t]; ok {
			continue
		}
		root := find(t)
		if gr, ok := groupRange[root]; ok {
			r = Range{min(gr.Min, r.Min), max(gr.Max, r.Max)}
		}
		groupRange[root] = r
	}
	// A group fed by a pinned tensor (tanh output, int8 graph input) adopts
	// its parameters when the group's values fit them; otherwise the
	// emitter inserts a requantize.
	adopted := map[int32]Params{}
	for i, op := range g.Operators {
		if p.dom[i] != domInt8 || !equalScaleOps[op.Op] {
			continue
		}
		root := find(op.Outputs[0])
		for _, k := range p.valueInputs(op) {
			pp, ok := pinned[op.Inputs[k]]
			if !ok {
				continue
			}
			if _, done := adopted[root]; done {
				continue
			}
			rep := pp.Representable()
			gr := groupRange[root]
			tol := 2 * pp.Scale
			if gr.Min >= rep.Min-tol && gr.Max <= rep.Max+tol {
				adopted[root] = pp
			}
		}
	}
	p.params = map[int32]Params{}
	for t := range rng {
		if pp, ok := pinned[t]; ok {
			p.params[t] = pp
			continue
		}
		root := find(t)
		if pp, ok := adopted[root]; ok {
			p.params[t] = pp
			continue
		}
		p.params[t] = ActivationParams(groupRange[root])
	}
	p.shareAddConstants(find)
	return nil
}

// shareAddConstants quantizes a constant operand of ADD or SUB (a bias,
// beta, a norm's epsilon) with the output's parameters when its values fit
// them. Its own range can be tiny (epsilon = 1e-5 gets a scale near 4e-8),
// and XNNPACK refuses an addition whose input and output scales are that
// far apart; at the output's scale the constant costs no extra precision
// beyond the output's own rounding.
func (p *pass) shareAddConstants(find func(int32) int32) {
	uses := map[int32]int{}
	for _, op := range p.g.Operators {
		for _, t := range op.Inputs {
			uses[t]++
		}
	}
	for i, op := range p.g.Operators {
		if p.dom[i] != domInt8 || (op.Op != tfl.Add && op.Op != tfl.Sub) || len(op.Inputs) != 2 {
			continue
		}
		out, ok := p.params[op.Outputs[0]]
		if !ok {
			continue
		}
		rep := out.Representable()
		for _, c := range op.Inputs {
			if !p.isConst(c) || !p.isFloat(c) || uses[c] != 1 || find(c) != c {
				continue
			}
			r := dataRange(tfl.BytesFloat32(p.m.Buffers[p.g.Tensors[c].Buffer].Data))
			if r.Min >= rep.Min && r.Max <= rep.Max {
				p.params[c] = out
			}
		}
	}
}

func dataRange(v []float32) Range {
	var r Range
	for _, x := range v {
		r.Min = min(r.Min, x)
		r.Max = max(r.Max, x)
	}
	return r
}

func (p *pass) newTensor(t *tfl.Tensor) int32 { return p.ng.AddTensor(t) }

// copyOf returns the new index of tensor i copied unchanged (float or
// other types).
func (p *pass) copyOf(i int32) int32 {
	if i < 0 {
		return i
	}
	if p.repF[i] >= 0 {
		return p.repF[i]
	}
	t := *p.g.Tensors[i]
	p.repF[i] = p.newTensor(&t)
	return p.repF[i]
}

// floatOf returns the float version of tensor i, dequantizing its int8
// version when that is what exists.
func (p *pass) floatOf(i int32) int32 {
	if i < 0 || p.repF[i] >= 0 || p.isConst(i) || !p.isFloat(i) || p.repQ[i] < 0 {
		return p.copyOf(i)
	}
	t := p.g.Tensors[i]
	f := p.newTensor(&tfl.Tensor{Name: t.Name + "_float", Shape: t.Shape, ShapeSignature: t.ShapeSignature, Type: tfl.Float32})
	p.ng.AddOperator(&tfl.Operator{Op: tfl.Dequantize, Version: 2, Inputs: []int32{p.repQ[i]}, Outputs: []int32{f}})
	p.repF[i] = f
	return f
}

// int8Of returns the int8 version of float tensor i: quantized constant
// data, or a QUANTIZE of its float version.
func (p *pass) int8Of(i int32) (int32, error) {
	if p.repQ[i] >= 0 {
		return p.repQ[i], nil
	}
	t := p.g.Tensors[i]
	pp, ok := p.params[i]
	if !ok {
		return 0, fmt.Errorf("tensor %d (%s) has no int8 parameters (a bug)", i, t.Name)
	}
	nt := &tfl.Tensor{Name: t.Name, Shape: t.Shape, ShapeSignature: t.ShapeSignature, Type: tfl.Int8, Quant: pp.quant()}
	if p.isConst(i) {
		data := tfl.BytesFloat32(p.m.Buffers[t.Buffer].Data)
		q := make([]int8, len(data))
		for k, v := range data {
			q[k] = pp.Quantize(v)
		}
		nt.Buffer = p.out.AddBuffer(tfl.Int8Bytes(q))
		p.repQ[i] = p.newTensor(nt)
		return p.repQ[i], nil
	}
	f := p.floatOf(i)
	nt.Name = t.Name + "_int8"
	q := p.newTensor(nt)
	p.ng.AddOperator(&tfl.Operator{Op: tfl.Quantize, Version: 1, Inputs: []int32{f}, Outputs: []int32{q}})
	p.repQ[i] = q
	return q, nil
}

func (p *pass) emit() error {
	m, g := p.m, p.g
	p.out = &tfl.Model{Version: 3, Description: m.Description, Buffers: slices.Clone(m.Buffers), Metadata: slices.Clone(m.Metadata)}
	p.ng = &tfl.Subgraph{Name: g.Name}
	p.out.Subgraphs = []*tfl.Subgraph{p.ng}
	p.repF = make([]int32, len(g.Tensors))
	p.repQ = make([]int32, len(g.Tensors))
	for i := range p.repF {
		p.repF[i], p.repQ[i] = -1, -1
	}
	for _, i := range g.Inputs {
		t := g.Tensors[i]
		if p.o.IO == IOInt8 {
			p.repQ[i] = p.newTensor(&tfl.Tensor{Name: t.Name, Shape: t.Shape, ShapeSignature: t.ShapeSignature, Type: tfl.Int8, Quant: PixelInput.quant()})
			p.ng.Inputs = append(p.ng.Inputs, p.repQ[i])
		} else {
			p.ng.Inputs = append(p.ng.Inputs, p.copyOf(i))
		}
	}
	shift := p.inputShiftConvs()
	for i, op := range g.Operators {
		nop := *op
		nop.Inputs = slices.Clone(op.Inputs)
		nop.Outputs = slices.Clone(op.Outputs)
		switch p.dom[i] {
		case domOther, domFloat:
			for k, t := range op.Inputs {
				nop.Inputs[k] = p.floatOf(t)
			}
			for k, t := range op.Outputs {
				nop.Outputs[k] = p.copyOf(t)
			}
		case domInt8:
			if err := p.emitInt8(&nop, op, shift[i]); err != nil {
				return fmt.Errorf("operator %d (%s, output %s): %w", i, op.Op, p.name(op.Outputs[0]), err)
			}
		}
		p.ng.AddOperator(&nop)
	}
	for _, i := range g.Outputs {
		if p.o.IO == IOInt8 && p.repQ[i] >= 0 {
			p.ng.Outputs = append(p.ng.Outputs, p.repQ[i])
			continue
		}
		f := p.floatOf(i)
		if q := p.repQ[i]; q >= 0 {
			p.ng.Tensors[f].Name = g.Tensors[i].Name
			p.ng.Tensors[q].Name = g.Tensors[i].Name + "_int8"
		}
		p.ng.Outputs = append(p.ng.Outputs, f)
	}
	return nil
}

func (p *pass) emitInt8(nop, op *tfl.Operator, shift bool) error {
	wk, bk, ik, axis, perChannel, hasW := weightRole(op.Op)
	for k, t := range op.Inputs {
		switch {
		case t < 0:
		case hasW && (k == wk || k == bk):
			// below
		case p.isFloat(t):
			q, err := p.int8Of(t)
			if err != nil {
				return err
			}
			if equalScaleOps[op.Op] {
				q = p.requantize(t, q, p.params[op.Outputs[0]])
			}
			nop.Inputs[k] = q
		default:
			nop.Inputs[k] = p.copyOf(t)
		}
	}
	if hasW {
		if err := p.emitWeights(nop, op, wk, bk, ik, axis, perChannel, shift); err != nil {
			return err
		}
	}
	var inScales []float32
	for _, k := range p.valueInputs(op) {
		inScales = append(inScales, p.params[op.Inputs[k]].Scale)
	}
	var outScale float32
	for k, t := range op.Outputs {
		if !p.isFloat(t) {
			nop.Outputs[k] = p.copyOf(t)
			continue
		}
		src := p.g.Tensors[t]
		pp := p.params[t]
		if k == 0 {
			outScale = pp.Scale
		}
		p.repQ[t] = p.newTensor(&tfl.Tensor{Name: src.Name, Shape: src.Shape, ShapeSignature: src.ShapeSignature, Type: tfl.Int8, Quant: pp.quant()})
		nop.Outputs[k] = p.repQ[t]
	}
	nop.Version = max(op.Version, int8Version(op, inScales, outScale))
	return nil
}

// requantize returns q, or a QUANTIZE of q to want when q's parameters
// differ (an equal-scale operator's input that could not share them).
func (p *pass) requantize(orig, q int32, want Params) int32 {
	have := p.params[orig]
	if have == want {
		return q
	}
	t := p.ng.Tensors[q]
	r := p.newTensor(&tfl.Tensor{Name: p.name(orig) + "_requant", Shape: t.Shape, ShapeSignature: t.ShapeSignature, Type: tfl.Int8, Quant: want.quant()})
	p.ng.AddOperator(&tfl.Operator{Op: tfl.Quantize, Version: 1, Inputs: []int32{q}, Outputs: []int32{r}})
	p.res.Requantized = append(p.res.Requantized, p.name(orig))
	return r
}

func (p *pass) emitWeights(nop, op *tfl.Operator, wk, bk, ik, axis int, perChannel, shift bool) error {
	g := p.g
	if wk >= len(op.Inputs) || ik >= len(op.Inputs) || op.Inputs[wk] < 0 {
		return fmt.Errorf("missing weights")
	}
	wt := op.Inputs[wk]
	if !p.isConst(wt) || !p.isFloat(wt) {
		return fmt.Errorf("weights %s are not constant float32", p.name(wt))
	}
	in := op.Inputs[ik]
	inP, ok := p.params[in]
	if !ok {
		return fmt.Errorf("input %s has no int8 parameters", p.name(in))
	}
	w := tfl.BytesFloat32(p.m.Buffers[g.Tensors[wt].Buffer].Data)
	shape := g.Tensors[wt].Shape
	channels := int(shape[axis])
	var bias []float32
	bt := int32(-1)
	if bk < len(op.Inputs) {
		bt = op.Inputs[bk]
	}
	if bt >= 0 {
		if !p.isConst(bt) || !p.isFloat(bt) {
			return fmt.Errorf("bias %s is not constant float32", p.name(bt))
		}
		bias = tfl.BytesFloat32(p.m.Buffers[g.Tensors[bt].Buffer].Data)
	}
	if shift {
		// The int8 input sits pixelShift below the float input: add the
		// weights' response to that shift to the bias.
		if bias == nil {
			bias = make([]float32, channels)
		} else {
			bias = slices.Clone(bias)
		}
		inner := 1
		for _, d := range shape[axis+1:] {
			inner *= int(d)
		}
		for i, v := range w {
			bias[(i/inner)%channels] += pixelShift * v
		}
	}
	qw, err := QuantizeWeights(w, shape, axis, perChannel, bias, inP.Scale)
	if err != nil {
		return err
	}
	p.res.RaisedWeightScales += qw.RaisedScale
	wsrc := g.Tensors[wt]
	nop.Inputs[wk] = p.newTensor(&tfl.Tensor{Name: wsrc.Name, Shape: wsrc.Shape, Type: tfl.Int8,
		Buffer: p.out.AddBuffer(tfl.Int8Bytes(qw.Weights)),
		Quant:  &tfl.Quantization{Scale: qw.Scales, ZeroPoint: make([]int64, len(qw.Scales)), QuantizedDimension: int32(axis)}})
	if qw.Bias != nil {
		name := wsrc.Name + "_bias"
		if bt >= 0 {
			name = g.Tensors[bt].Name
		}
		bidx := p.newTensor(&tfl.Tensor{Name: name, Shape: []int32{int32(len(qw.Bias))}, Type: tfl.Int32,
			Buffer: p.out.AddBuffer(tfl.Int32Bytes(qw.Bias)),
			Quant:  &tfl.Quantization{Scale: qw.BiasScales, ZeroPoint: make([]int64, len(qw.BiasScales))}})
		for len(nop.Inputs) <= bk {
			nop.Inputs = append(nop.Inputs, -1)
		}
		nop.Inputs[bk] = bidx
	}
	return nil
}

// inputShiftConvs returns, for IOInt8, the convolutions whose bias absorbs
// PixelInput's shift: those that read the graph input directly or through
// MIRROR_PAD (which copies the shift to the border). It folds only when
// every reader of the input is such a path; otherwise it warns.
func (p *pass) inputShiftConvs() map[int]bool {
	if p.o.IO != IOInt8 {
		return nil
	}
	readers := map[int32][]int{}
	for i, op := range p.g.Operators {
		for _, t := range op.Inputs {
			if t >= 0 {
				readers[t] = append(readers[t], i)
			}
		}
	}
	convs := map[int]bool{}
	var visit func(t int32) bool
	visit = func(t int32) bool {
		for _, i := range readers[t] {
			op := p.g.Operators[i]
			switch {
			case p.dom[i] != domInt8:
				return false
			case op.Op == tfl.MirrorPad && op.Inputs[0] == t:
				if !visit(op.Outputs[0]) {
					return false
				}
			case (op.Op == tfl.Conv2D || op.Op == tfl.DepthwiseConv2D) && op.Inputs[0] == t:
				convs[i] = true
			default:
				return false
			}
		}
		return true
	}
	for _, t := range p.g.Inputs {
		if !visit(t) {
			p.warn(fmt.Sprintf("input %s is not read only by convolutions: its half-step pixel shift (%.4f) is not compensated", p.name(t), pixelShift))
			return nil
		}
	}
	// A SAME-padded convolution sees zeros at the border, where the shift
	// does not apply; the fold is then exact inside and off by the shift's
	// response at the border pixels only.
	p.res.InputShiftFolded = len(convs) > 0
	return convs
}

// collectBuffers drops buffers no tensor refers to any more (the float
// weights) and renumbers the rest.
func (p *pass) collectBuffers() {
	used := map[uint32]bool{0: true}
	for _, t := range p.ng.Tensors {
		used[t.Buffer] = true
	}
	for _, md := range p.out.Metadata {
		used[md.Buffer] = true
	}
	remap := make([]uint32, len(p.out.Buffers))
	var bufs []tfl.Buffer
	for i, b := range p.out.Buffers {
		if used[uint32(i)] {
			remap[i] = uint32(len(bufs))
			bufs = append(bufs, b)
		}
	}
	p.out.Buffers = bufs
	for _, t := range p.ng.Tensors {
		t.Buffer = remap[t.Buffer]
	}
	for k := range p.out.Metadata {
		p.out.Metadata[k].Buffer = remap[p.out.Metadata[k].Buffer]
	}
}
