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
	a := n.Attrs
	in := func(i int) []float32 { return get(n.Inputs[i]) }
	shape := func(i int) []int { return n.Inputs[i].Shape }
	oshape := n.Outputs[0].Shape
	switch n.Op {
	case "tfl.CONV_2D", "tfl.DEPTHWISE_CONV_2D":
		return act(a, conv(n, in(0), shape(0), in(1), shape(1), in(2), oshape)), nil
	case "tfl.MAX_POOL_2D", "tfl.AVERAGE_POOL_2D":
		return act(a, pool(n, in(0), shape(0), oshape)), nil
	case "tfl.TRANSPOSE_CONV":
		return transposeConv(n, in(2), shape(2), in(1), shape(1), in(3), oshape), nil
	case "tfl.FULLY_CONNECTED":
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
	case "tfl.ADD", "tfl.SUB", "tfl.MUL", "tfl.DIV", "tfl.MAXIMUM", "tfl.MINIMUM", "tfl.SQUARED_DIFFERENCE", "tfl.PRELU", "tfl.POW":
		f := map[string]func(x, y float32) float32{
			"tfl.ADD": func(x, y float32) float32 { return x + y }, "tfl.SUB": func(x, y float32) float32 { return x - y },
			"tfl.MUL": func(x, y float32) float32 { return x * y }, "tfl.DIV": func(x, y float32) float32 { return x / y },
			"tfl.MAXIMUM": func(x, y float32) float32 { return max(x, y) }, "tfl.MINIMUM": func(x, y float32) float32 { return min(x, y) },
			"tfl.SQUARED_DIFFERENCE": func(x, y float32) float32 { d := x - y; return d * d },
			"tfl.POW":                func(x, y float32) float32 { return float32(math.Pow(float64(x), float64(y))) },
			"tfl.PRELU": func(x, y float32) float32 {
				if x >= 0 {
					return x
				}
				return x * y
			},
		}[n.Op]
		xi := ir.BroadcastIndex(shape(0), oshape)
		yi := ir.BroadcastIndex(shape(1), oshape)
		x, y := in(0), in(1)
		out := make([]float32, len(xi))
		for k := range out {
			out[k] = f(x[xi[k]], y[yi[k]])
		}
		return act(a, out), nil
	case "tfl.RELU":
		return unary(in(0), func(v float32) float32 { return max(v, 0) }), nil
	case "tfl.RELU6":
		return unary(in(0), func(v float32) float32 { return min(max(v, 0), 6) }), nil
	case "tfl.RELU_N1_TO_1":
		return unary(in(0), func(v float32) float32 { return min(max(v, -1), 1) }), nil
	case "tfl.LEAKY_RELU":
		al := a.Float("alpha", 0.2)
		return unary(in(0), func(v float32) float32 {
			if v < 0 {
				return v * al
			}
			return v
		}), nil
	case "tfl.LOGISTIC":
		return unary(in(0), f64(func(v float64) float64 { return 1 / (1 + math.Exp(-v)) })), nil
	case "tfl.TANH":
		return unary(in(0), f64(math.Tanh)), nil
	case "tfl.HARD_SWISH":
		return unary(in(0), func(v float32) float32 { return v * min(max(v+3, 0), 6) / 6 }), nil
	case "tfl.SQRT":
		return unary(in(0), f64(math.Sqrt)), nil
	case "tfl.RSQRT":
		return unary(in(0), f64(func(v float64) float64 { return 1 / math.Sqrt(v) })), nil
	case "tfl.EXP":
		return unary(in(0), f64(math.Exp)), nil
	case "tfl.ABS":
		return unary(in(0), f64(math.Abs)), nil
	case "tfl.NEG":
		return unary(in(0), func(v float32) float32 { return -v }), nil
	case "tfl.RESHAPE":
		return slices.Clone(in(0)), nil
	case "tfl.TRANSPOSE":
		t := ir.FloatTensor(shape(0), in(0)).Transpose(ints(n.Inputs[1]))
		return t.F, nil
	case "tfl.PAD", "tfl.PADV2", "tfl.MIRROR_PAD":
		var value float32
		if n.Op == "tfl.PADV2" {
			value = in(2)[0]
		}
		mode := ""
		if n.Op == "tfl.MIRROR_PAD" {
			mode = a.String("mode", "REFLECT")
		}
		return pad(in(0), shape(0), ints(n.Inputs[1]), oshape, value, mode), nil
	case "tfl.SLICE":
		begin := ints(n.Inputs[1])
		t := ir.FloatTensor(shape(0), in(0))
		var st, en, ax, sp []int64
		for i, b := range begin {
			st, en, ax, sp = append(st, int64(b)), append(en, int64(b+oshape[i])), append(ax, int64(i)), append(sp, 1)
		}
		return sliceT(t, st, en, ax), nil
	case "tfl.CONCATENATION":
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
	case "tfl.MEAN":
		return mean(in(0), shape(0), ints(n.Inputs[1])), nil
	case "tfl.SUM", "tfl.REDUCE_PROD", "tfl.REDUCE_MAX", "tfl.REDUCE_MIN":
		return reduce(n.Op, in(0), shape(0), ints(n.Inputs[1])), nil
	case "tfl.LOG":
		return unary(in(0), f64(math.Log)), nil
	case "tfl.FLOOR":
		return unary(in(0), f64(math.Floor)), nil
	case "tfl.CEIL":
		return unary(in(0), f64(math.Ceil)), nil
	case "tfl.ROUND":
		return unary(in(0), f64(math.RoundToEven)), nil
	case "tfl.SIN":
		return unary(in(0), f64(math.Sin)), nil
	case "tfl.COS":
		return unary(in(0), f64(math.Cos)), nil
	case "tfl.ELU":
		return unary(in(0), func(v float32) float32 {
			if v > 0 {
				return v
			}
			return float32(math.Expm1(float64(v)))
		}), nil
	case "tfl.SOFTMAX":
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
	case "tfl.RESIZE_BILINEAR", "tfl.RESIZE_NEAREST_NEIGHBOR":
		return resize(n, in(0), shape(0), oshape), nil
	case "tfl.BATCH_MATMUL":
		return batchMatMul(in(0), shape(0), in(1), shape(1), oshape, a), nil
	case "tfl.SPACE_TO_DEPTH":
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
	case "tfl.LOG_SOFTMAX":
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
	case "tfl.DEPTH_TO_SPACE":
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
	return nil, fmt.Errorf("op %s is not implemented by the reference executor", n.Op)
}
