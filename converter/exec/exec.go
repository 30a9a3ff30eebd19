// Package exec is a float32 reference executor for TFLite-level IR graphs
// (package converter/pass lowers ONNX to them). It follows the TFLite
// reference kernels' semantics, is slow and simple, and exists to check
// the lowering without a TFLite runtime and to collect per-tensor
// statistics for INT8 calibration (Run's observe callback sees every
// tensor the graph computes).
package exec

import (
	"fmt"
	"math"
	"slices"

	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// Observer is called with every computed tensor (node outputs, in
// execution order).
type Observer func(v *ir.Value, data []float32)

// Run executes g on inputs (physical NHWC layout, one slice per graph
// input) and returns the graph outputs.
func Run(g *ir.Graph, inputs [][]float32, observe Observer) ([][]float32, error) {
	if len(inputs) != len(g.Inputs) {
		return nil, fmt.Errorf("graph has %d inputs, got %d", len(g.Inputs), len(inputs))
	}
	vals := map[*ir.Value][]float32{}
	for i, v := range g.Inputs {
		if len(inputs[i]) != ir.NumElements(v.Shape) {
			return nil, fmt.Errorf("input %q: %d values for shape %v", v.Name, len(inputs[i]), v.Shape)
		}
		vals[v] = inputs[i]
	}
	get := func(v *ir.Value) []float32 {
		if v.IsConst() {
			return v.Const.Floats()
		}
		return vals[v]
	}
	for _, n := range g.Nodes {
		for _, v := range n.Inputs {
			if v != nil && !v.IsConst() && vals[v] == nil {
				return nil, fmt.Errorf("%v: input %q not computed", n, v.Name)
			}
		}
		out, err := node(n, get)
		if err != nil {
			return nil, fmt.Errorf("%v: %w", n, err)
		}
		if len(out) != ir.NumElements(n.Outputs[0].Shape) {
			return nil, fmt.Errorf("%v: computed %d values for shape %v", n, len(out), n.Outputs[0].Shape)
		}
		vals[n.Outputs[0]] = out
		if observe != nil {
			observe(n.Outputs[0], out)
		}
	}
	res := make([][]float32, len(g.Outputs))
	for i, v := range g.Outputs {
		res[i] = get(v)
	}
	return res, nil
}

func act(a ir.Attrs, x []float32) []float32 {
	switch a.String("fused_activation_function", "NONE") {
	case "RELU":
		for i, v := range x {
			x[i] = max(v, 0)
		}
	case "RELU6":
		for i, v := range x {
			x[i] = min(max(v, 0), 6)
		}
	case "RELU_N1_TO_1":
		for i, v := range x {
			x[i] = min(max(v, -1), 1)
		}
	}
	return x
}

func unary(x []float32, f func(float32) float32) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = f(v)
	}
	return out
}

func f64(f func(float64) float64) func(float32) float32 {
	return func(v float32) float32 { return float32(f(float64(v))) }
}

func ints(v *ir.Value) []int {
	iv := v.Const.Ints()
	out := make([]int, len(iv))
	for i, x := range iv {
		out[i] = int(x)
	}
	return out
}

func node(n *ir.Node, get func(*ir.Value) []float32) ([]float32, error) {
	op, _ := n.Builtin()
	k, ok := kernels[op]
	if !ok || !n.Is(op) {
		return nil, fmt.Errorf("op %s is not implemented by the reference executor", n.Op)
	}
	return k(n, func(i int) []float32 { return get(n.Inputs[i]) })
}

// A kernel computes a TFLite operator on float data; in(i) is input i.
type kernel func(n *ir.Node, in func(int) []float32) ([]float32, error)

// kernels are the reference executor's operators.
var kernels = map[tflitefile.BuiltinOp]kernel{
	tflitefile.Conv2D:                kConv,
	tflitefile.DepthwiseConv2D:       kConv,
	tflitefile.MaxPool2D:             kPool,
	tflitefile.AveragePool2D:         kPool,
	tflitefile.TransposeConv:         kTransposeConv,
	tflitefile.FullyConnected:        kFullyConnected,
	tflitefile.Add:                   kBinary,
	tflitefile.Sub:                   kBinary,
	tflitefile.Mul:                   kBinary,
	tflitefile.Div:                   kBinary,
	tflitefile.Maximum:               kBinary,
	tflitefile.Minimum:               kBinary,
	tflitefile.SquaredDifference:     kBinary,
	tflitefile.PRelu:                 kBinary,
	tflitefile.Pow:                   kBinary,
	tflitefile.Greater:               kBinary,
	tflitefile.Less:                  kBinary,
	tflitefile.Equal:                 kBinary,
	tflitefile.SelectV2:              kSelect,
	tflitefile.Relu:                  kRelu,
	tflitefile.Relu6:                 kRelu6,
	tflitefile.ReluN1To1:             kReluN1To1,
	tflitefile.LeakyRelu:             kLeakyRelu,
	tflitefile.Logistic:              kLogistic,
	tflitefile.Tanh:                  kTanh,
	tflitefile.HardSwish:             kHardSwish,
	tflitefile.Sqrt:                  kSqrt,
	tflitefile.Rsqrt:                 kRsqrt,
	tflitefile.Exp:                   kExp,
	tflitefile.Abs:                   kAbs,
	tflitefile.Neg:                   kNeg,
	tflitefile.Reshape:               kReshape,
	tflitefile.Transpose:             kTranspose,
	tflitefile.Pad:                   kPad,
	tflitefile.PadV2:                 kPad,
	tflitefile.MirrorPad:             kPad,
	tflitefile.Slice:                 kSlice,
	tflitefile.Concatenation:         kConcatenation,
	tflitefile.Mean:                  kMean,
	tflitefile.Sum:                   kReduce,
	tflitefile.ReduceProd:            kReduce,
	tflitefile.ReduceMax:             kReduce,
	tflitefile.ReduceMin:             kReduce,
	tflitefile.Log:                   kLog,
	tflitefile.Floor:                 kFloor,
	tflitefile.Ceil:                  kCeil,
	tflitefile.Round:                 kRound,
	tflitefile.Sin:                   kSin,
	tflitefile.Cos:                   kCos,
	tflitefile.Elu:                   kElu,
	tflitefile.Softmax:               kSoftmax,
	tflitefile.ResizeBilinear:        kResize,
	tflitefile.ResizeNearestNeighbor: kResize,
	tflitefile.BatchMatMul:           kBatchMatmul,
	tflitefile.SpaceToDepth:          kSpaceToDepth,
	tflitefile.LogSoftmax:            kLogSoftmax,
	tflitefile.DepthToSpace:          kDepthToSpace,
	tflitefile.BroadcastTo:           kBroadcastTo,
}

func kConv(n *ir.Node, in func(int) []float32) ([]float32, error) {
	a := n.Attrs
	shape := func(i int) []int { return n.Inputs[i].Shape }
	oshape := n.Outputs[0].Shape
	return act(a, conv(n, in(0), shape(0), in(1), shape(1), in(2), oshape)), nil
}

func kPool(n *ir.Node, in func(int) []float32) ([]float32, error) {
	a := n.Attrs
	shape := func(i int) []int { return n.Inputs[i].Shape }
	oshape := n.Outputs[0].Shape
	return act(a, pool(n, in(0), shape(0), oshape)), nil
}

func kTransposeConv(n *ir.Node, in func(int) []float32) ([]float32, error) {
	shape := func(i int) []int { return n.Inputs[i].Shape }
	oshape := n.Outputs[0].Shape
	return transposeConv(n, in(2), shape(2), in(1), shape(1), in(3), oshape), nil
}

func kFullyConnected(n *ir.Node, in func(int) []float32) ([]float32, error) {
	a := n.Attrs
	shape := func(i int) []int { return n.Inputs[i].Shape }
	x, w, b := in(0), in(1), in(2)
	nOut, k := shape(1)[0], shape(1)[1]
	rows := len(x) / k
	out := make([]float32, rows*nOut)
	for r := range rows {
		for o := range nOut {
			s := b[o]
			for j := range k {
				s += x[r*k+j] * w[o*k+j]
			}
			out[r*nOut+o] = s
		}
	}
	return act(a, out), nil
}

func kBinary(n *ir.Node, in func(int) []float32) ([]float32, error) {
	a := n.Attrs
	shape := func(i int) []int { return n.Inputs[i].Shape }
	oshape := n.Outputs[0].Shape
	op, _ := n.Builtin()
	f := map[tflitefile.BuiltinOp]func(x, y float32) float32{
		tflitefile.Add: func(x, y float32) float32 { return x + y }, tflitefile.Sub: func(x, y float32) float32 { return x - y },
		tflitefile.Mul: func(x, y float32) float32 { return x * y }, tflitefile.Div: func(x, y float32) float32 { return x / y },
		tflitefile.Maximum: func(x, y float32) float32 { return max(x, y) }, tflitefile.Minimum: func(x, y float32) float32 { return min(x, y) },
		tflitefile.SquaredDifference: func(x, y float32) float32 { d := x - y; return d * d },
		tflitefile.Pow:               func(x, y float32) float32 { return float32(math.Pow(float64(x), float64(y))) },
		tflitefile.Greater:           func(x, y float32) float32 { return b2f(x > y) }, tflitefile.Less: func(x, y float32) float32 { return b2f(x < y) },
		tflitefile.Equal: func(x, y float32) float32 { return b2f(x == y) },
		tflitefile.PRelu: func(x, y float32) float32 {
			if x >= 0 {
				return x
			}
			return x * y
		},
	}[op]
	xi := ir.BroadcastIndex(shape(0), oshape)
	yi := ir.BroadcastIndex(shape(1), oshape)
	x, y := in(0), in(1)
	out := make([]float32, len(xi))
	for k := range out {
		out[k] = f(x[xi[k]], y[yi[k]])
	}
	return act(a, out), nil
}

// b2f is a boolean as the executor holds it: 1 or 0.
func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// kSelect is SELECT_V2: condition ? x : y, all three broadcast.
func kSelect(n *ir.Node, in func(int) []float32) ([]float32, error) {
	oshape := n.Outputs[0].Shape
	ci := ir.BroadcastIndex(n.Inputs[0].Shape, oshape)
	xi := ir.BroadcastIndex(n.Inputs[1].Shape, oshape)
	yi := ir.BroadcastIndex(n.Inputs[2].Shape, oshape)
	c, x, y := in(0), in(1), in(2)
	out := make([]float32, len(ci))
	for k := range out {
		if c[ci[k]] != 0 {
			out[k] = x[xi[k]]
		} else {
			out[k] = y[yi[k]]
		}
	}
	return out, nil
}

func kRelu(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), func(v float32) float32 { return max(v, 0) }), nil
}

func kRelu6(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), func(v float32) float32 { return min(max(v, 0), 6) }), nil
}

func kReluN1To1(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), func(v float32) float32 { return min(max(v, -1), 1) }), nil
}

func kLeakyRelu(n *ir.Node, in func(int) []float32) ([]float32, error) {
	a := n.Attrs
	al := a.Float("alpha", 0.2)
	return unary(in(0), func(v float32) float32 {
		if v < 0 {
			return v * al
		}
		return v
	}), nil
}

func kLogistic(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), f64(func(v float64) float64 { return 1 / (1 + math.Exp(-v)) })), nil
}

func kTanh(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), f64(math.Tanh)), nil
}

func kHardSwish(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), func(v float32) float32 { return v * min(max(v+3, 0), 6) / 6 }), nil
}

func kSqrt(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), f64(math.Sqrt)), nil
}

func kRsqrt(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), f64(func(v float64) float64 { return 1 / math.Sqrt(v) })), nil
}

func kExp(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), f64(math.Exp)), nil
}

func kAbs(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), f64(math.Abs)), nil
}

func kNeg(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), func(v float32) float32 { return -v }), nil
}

func kReshape(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return slices.Clone(in(0)), nil
}

func kTranspose(n *ir.Node, in func(int) []float32) ([]float32, error) {
	shape := func(i int) []int { return n.Inputs[i].Shape }
	t := ir.FloatTensor(shape(0), in(0)).Transpose(ints(n.Inputs[1]))
	return t.F, nil
}

func kPad(n *ir.Node, in func(int) []float32) ([]float32, error) {
	a := n.Attrs
	shape := func(i int) []int { return n.Inputs[i].Shape }
	oshape := n.Outputs[0].Shape
	var value float32
	if n.Is(tflitefile.PadV2) {
		value = in(2)[0]
	}
	mode := ""
	if n.Is(tflitefile.MirrorPad) {
		mode = a.String("mode", "REFLECT")
	}
	return pad(in(0), shape(0), ints(n.Inputs[1]), oshape, value, mode), nil
}

func kSlice(n *ir.Node, in func(int) []float32) ([]float32, error) {
	shape := func(i int) []int { return n.Inputs[i].Shape }
	oshape := n.Outputs[0].Shape
	begin := ints(n.Inputs[1])
	t := ir.FloatTensor(shape(0), in(0))
	var st, en, ax, sp []int64
	for i, b := range begin {
		st, en, ax, sp = append(st, int64(b)), append(en, int64(b+oshape[i])), append(ax, int64(i)), append(sp, 1)
	}
	return sliceT(t, st, en, ax), nil
}

func kConcatenation(n *ir.Node, in func(int) []float32) ([]float32, error) {
	a := n.Attrs
	shape := func(i int) []int { return n.Inputs[i].Shape }
	oshape := n.Outputs[0].Shape
	ax := int(a.Int("axis", 0))
	outer := ir.NumElements(oshape[:ax])
	var out []float32
	for o := range outer {
		for i := range n.Inputs {
			inner := ir.NumElements(shape(i)[ax:])
			out = append(out, in(i)[o*inner:(o+1)*inner]...)
		}
	}
	return act(a, out), nil
}

func kMean(n *ir.Node, in func(int) []float32) ([]float32, error) {
	shape := func(i int) []int { return n.Inputs[i].Shape }
	return mean(in(0), shape(0), ints(n.Inputs[1])), nil
}

func kReduce(n *ir.Node, in func(int) []float32) ([]float32, error) {
	shape := func(i int) []int { return n.Inputs[i].Shape }
	op, _ := n.Builtin()
	return reduce(op, in(0), shape(0), ints(n.Inputs[1])), nil
}

func kLog(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), f64(math.Log)), nil
}

func kFloor(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), f64(math.Floor)), nil
}

func kCeil(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), f64(math.Ceil)), nil
}

func kRound(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), f64(math.RoundToEven)), nil
}

func kSin(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), f64(math.Sin)), nil
}

func kCos(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), f64(math.Cos)), nil
}

func kElu(n *ir.Node, in func(int) []float32) ([]float32, error) {
	return unary(in(0), func(v float32) float32 {
		if v > 0 {
			return v
		}
		return float32(math.Expm1(float64(v)))
	}), nil
}

func kSoftmax(n *ir.Node, in func(int) []float32) ([]float32, error) {
	a := n.Attrs
	shape := func(i int) []int { return n.Inputs[i].Shape }
	x := in(0)
	c := shape(0)[len(shape(0))-1]
	beta := float64(a.Float("beta", 1))
	out := make([]float32, len(x))
	for r := 0; r < len(x); r += c {
		m := x[r]
		for _, v := range x[r : r+c] {
			m = max(m, v)
		}
		var s float64
		for j := range c {
			e := math.Exp(beta * float64(x[r+j]-m))
			out[r+j] = float32(e)
			s += e
		}
		for j := range c {
			out[r+j] = float32(float64(out[r+j]) / s)
		}
	}
	return out, nil
}

func kResize(n *ir.Node, in func(int) []float32) ([]float32, error) {
	shape := func(i int) []int { return n.Inputs[i].Shape }
	oshape := n.Outputs[0].Shape
	return resize(n, in(0), shape(0), oshape), nil
}

func kBatchMatmul(n *ir.Node, in func(int) []float32) ([]float32, error) {
	a := n.Attrs
	shape := func(i int) []int { return n.Inputs[i].Shape }
	oshape := n.Outputs[0].Shape
	return batchMatMul(in(0), shape(0), in(1), shape(1), oshape, a), nil
}

func kSpaceToDepth(n *ir.Node, in func(int) []float32) ([]float32, error) {
	a := n.Attrs
	shape := func(i int) []int { return n.Inputs[i].Shape }
	bs := int(a.Int("block_size", 2))
	s := shape(0)
	h, w, c := s[1], s[2], s[3]
	x := in(0)
	out := make([]float32, len(x))
	for b := range s[0] {
		for y := range h {
			for xx := range w {
				for ch := range c {
					oc := ((y%bs)*bs+xx%bs)*c + ch
					out[((b*(h/bs)+y/bs)*(w/bs)+xx/bs)*c*bs*bs+oc] = x[((b*h+y)*w+xx)*c+ch]
				}
			}
		}
	}
	return out, nil
}

func kLogSoftmax(n *ir.Node, in func(int) []float32) ([]float32, error) {
	shape := func(i int) []int { return n.Inputs[i].Shape }
	x := in(0)
	c := shape(0)[len(shape(0))-1]
	out := make([]float32, len(x))
	for r := 0; r < len(x); r += c {
		m := x[r]
		for _, v := range x[r : r+c] {
			m = max(m, v)
		}
		var sum float64
		for _, v := range x[r : r+c] {
			sum += math.Exp(float64(v - m))
		}
		ls := math.Log(sum)
		for j := range c {
			out[r+j] = float32(float64(x[r+j]-m) - ls)
		}
	}
	return out, nil
}

func kDepthToSpace(n *ir.Node, in func(int) []float32) ([]float32, error) {
	a := n.Attrs
	shape := func(i int) []int { return n.Inputs[i].Shape }
	bs := int(a.Int("block_size", 2))
	s := shape(0)
	h, w, c := s[1], s[2], s[3]
	oc := c / (bs * bs)
	x := in(0)
	out := make([]float32, len(x))
	for b := range s[0] {
		for y := range h * bs {
			for xx := range w * bs {
				for ch := range oc {
					ic := ((y%bs)*bs+xx%bs)*oc + ch
					out[((b*h*bs+y)*w*bs+xx)*oc+ch] = x[((b*h+y/bs)*w+xx/bs)*c+ic]
				}
			}
		}
	}
	return out, nil
}

func kBroadcastTo(n *ir.Node, in func(int) []float32) ([]float32, error) {
	x := in(0)
	idx := ir.BroadcastIndex(n.Inputs[0].Shape, n.Outputs[0].Shape)
	out := make([]float32, len(idx))
	for k, j := range idx {
		out[k] = x[j]
	}
	return out, nil
}
