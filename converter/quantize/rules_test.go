package quantize_test

import (
	"log/slog"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/animed/animed/converter/quantize"
	"github.com/animed/animed/internal/testmodel"
	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/internal/tflite/tflitetest"
	tfl "github.com/animed/animed/internal/tflitefile"
)

// opCase builds one operator after t1 (= input + constant, [1,8,8,4]) and
// returns its output and code.
type opCase struct {
	name  string
	build func(b *testmodel.Builder, x, t1 int32) int32
}

var equalScaleCases = []opCase{
	{"RESHAPE", func(b *testmodel.Builder, x, t1 int32) int32 {
		s := b.Int32("shape", []int32{1, 16, 4, 4}, 4)
		return b.Op(tfl.Reshape, &tfl.ReshapeOptions{NewShape: []int32{1, 16, 4, 4}}, "out", []int32{1, 16, 4, 4}, t1, s)
	}},
	{"TRANSPOSE", func(b *testmodel.Builder, x, t1 int32) int32 {
		p := b.Int32("perm", []int32{0, 2, 1, 3}, 4)
		return b.Op(tfl.Transpose, &tfl.TransposeOptions{}, "out", []int32{1, 8, 8, 4}, t1, p)
	}},
	{"CONCATENATION", func(b *testmodel.Builder, x, t1 int32) int32 {
		return b.Op(tfl.Concatenation, &tfl.ConcatenationOptions{Axis: 3}, "out", []int32{1, 8, 8, 8}, t1, x)
	}},
	{"PAD", func(b *testmodel.Builder, x, t1 int32) int32 {
		p := b.Int32("pads", []int32{0, 0, 1, 1, 2, 2, 0, 0}, 4, 2)
		return b.Op(tfl.Pad, &tfl.PadOptions{}, "out", []int32{1, 10, 12, 4}, t1, p)
	}},
	{"PADV2", func(b *testmodel.Builder, x, t1 int32) int32 {
		p := b.Int32("pads", []int32{0, 0, 1, 1, 1, 1, 0, 0}, 4, 2)
		v := b.Const("value", []float32{0.5}, 1)
		return b.Op(tfl.PadV2, &tfl.PadV2Options{}, "out", []int32{1, 10, 10, 4}, t1, p, v)
	}},
	{"MIRROR_PAD", func(b *testmodel.Builder, x, t1 int32) int32 { return b.MirrorPad("out", t1, 2) }},
	{"RESIZE_BILINEAR", func(b *testmodel.Builder, x, t1 int32) int32 {
		s := b.Int32("size", []int32{16, 16}, 2)
		return b.Op(tfl.ResizeBilinear, &tfl.ResizeBilinearOptions{HalfPixelCenters: true}, "out", []int32{1, 16, 16, 4}, t1, s)
	}},
	{"RESIZE_NEAREST_NEIGHBOR", func(b *testmodel.Builder, x, t1 int32) int32 {
		s := b.Int32("size", []int32{16, 16}, 2)
		return b.Op(tfl.ResizeNearestNeighbor, &tfl.ResizeNearestNeighborOptions{}, "out", []int32{1, 16, 16, 4}, t1, s)
	}},
	{"MAX_POOL_2D", func(b *testmodel.Builder, x, t1 int32) int32 {
		return b.Op(tfl.MaxPool2D, &tfl.Pool2DOptions{Padding: tfl.Valid, StrideW: 2, StrideH: 2, FilterWidth: 2, FilterHeight: 2}, "out", []int32{1, 4, 4, 4}, t1)
	}},
	{"AVERAGE_POOL_2D", func(b *testmodel.Builder, x, t1 int32) int32 {
		return b.Op(tfl.AveragePool2D, &tfl.Pool2DOptions{Padding: tfl.Valid, StrideW: 2, StrideH: 2, FilterWidth: 2, FilterHeight: 2}, "out", []int32{1, 4, 4, 4}, t1)
	}},
	{"DEPTH_TO_SPACE", func(b *testmodel.Builder, x, t1 int32) int32 {
		return b.Op(tfl.DepthToSpace, &tfl.DepthToSpaceOptions{BlockSize: 2}, "out", []int32{1, 16, 16, 1}, t1)
	}},
	{"SPACE_TO_DEPTH", func(b *testmodel.Builder, x, t1 int32) int32 {
		return b.Op(tfl.SpaceToDepth, &tfl.SpaceToDepthOptions{BlockSize: 2}, "out", []int32{1, 4, 4, 16}, t1)
	}},
	{"SLICE", func(b *testmodel.Builder, x, t1 int32) int32 {
		begin := b.Int32("begin", []int32{0, 1, 2, 0}, 4)
		size := b.Int32("size", []int32{1, 4, 5, 4}, 4)
		return b.Op(tfl.Slice, &tfl.SliceOptions{}, "out", []int32{1, 4, 5, 4}, t1, begin, size)
	}},
	{"SQUEEZE", func(b *testmodel.Builder, x, t1 int32) int32 {
		return b.Op(tfl.Squeeze, &tfl.SqueezeOptions{SqueezeDims: []int32{0}}, "out", []int32{8, 8, 4}, t1)
	}},
	{"MAXIMUM", func(b *testmodel.Builder, x, t1 int32) int32 {
		return b.Op(tfl.Maximum, &tfl.MaximumMinimumOptions{}, "out", []int32{1, 8, 8, 4}, t1, x)
	}},
	{"MINIMUM", func(b *testmodel.Builder, x, t1 int32) int32 {
		return b.Op(tfl.Minimum, &tfl.MaximumMinimumOptions{}, "out", []int32{1, 8, 8, 4}, t1, x)
	}},
}

var fixedCases = []struct {
	opCase
	scale float32
	zp    int64
}{
	{opCase{"TANH", func(b *testmodel.Builder, x, t1 int32) int32 {
		return b.Op(tfl.Tanh, nil, "out", []int32{1, 8, 8, 4}, t1)
	}}, 1.0 / 128, 0},
	{opCase{"LOGISTIC", func(b *testmodel.Builder, x, t1 int32) int32 {
		return b.Op(tfl.Logistic, nil, "out", []int32{1, 8, 8, 4}, t1)
	}}, float32(1.0 / 256), -128},
	{opCase{"SOFTMAX", func(b *testmodel.Builder, x, t1 int32) int32 {
		return b.Op(tfl.Softmax, &tfl.SoftmaxOptions{Beta: 1}, "out", []int32{1, 8, 8, 4}, t1)
	}}, float32(1.0 / 256), -128},
}

// singleOp builds input [1,8,8,4] -> ADD constant -> t1 -> op -> output
// and quantizes it with deliberately different ranges for the input, t1
// and the output, so that a rule the pass forgets shows up.
func singleOp(t *testing.T, c opCase) (fp32, q *tfl.Model) {
	t.Helper()
	b := testmodel.NewBuilder(3)
	x := b.Input("input", 1, 8, 8, 4)
	t1 := b.Add("t1", x, b.Const("c", []float32{0.5, -0.25, 1, 0}, 4))
	out := c.build(b, x, t1)
	b.Output(out)
	ranges := map[int32]quantize.Range{x: {-1, 1}, t1: {-1.25, 2}, out: {-3, 4}}
	res, err := quantize.Quantize(b.M, quantize.Options{Ranges: ranges})
	if err != nil {
		t.Fatal(err)
	}
	return b.M, res.Model
}

// quiet discards the pass's warnings in tests that expect them.
var quiet = slog.New(slog.DiscardHandler)

// findOp returns the first operator of q with the code.
func findOp(t *testing.T, q *tfl.Model, op tfl.BuiltinOp) *tfl.Operator {
	t.Helper()
	for _, o := range q.Main().Operators {
		if o.Op == op {
			return o
		}
	}
	t.Fatalf("no %s in the quantized model", op)
	return nil
}

func params(q *tfl.Model, i int32) (float32, int64) {
	qt := q.Main().Tensors[i].Quant
	if qt == nil || len(qt.Scale) != 1 {
		return 0, 0
	}
	return qt.Scale[0], qt.ZeroPoint[0]
}

// maxError runs both models on the same random [-1,1] input with the CPU
// kernels and returns the largest output difference.
func maxError(t *testing.T, fp32, q *tfl.Model) float64 {
	t.Helper()
	run := func(m *tfl.Model, in []float32) []float32 {
		return tflitetest.Run(t, tflitetest.Marshal(t, m), tflite.BackendCPU, in)[0].Data
	}
	r := rand.New(rand.NewSource(5))
	n := 1
	for _, d := range fp32.Main().Tensors[fp32.Main().Inputs[0]].Shape {
		n *= int(d)
	}
	in := make([]float32, n)
	for i := range in {
		in[i] = float32(r.Float64()*2 - 1)
	}
	a, b := run(fp32, in), run(q, in)
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

func TestEqualScaleRule(t *testing.T) {
	for _, c := range equalScaleCases {
		t.Run(c.name, func(t *testing.T) {
			fp32, q := singleOp(t, c)
			var code tfl.BuiltinOp
			for _, op := range fp32.Main().Operators {
				code = op.Op // the last one is the op under test
			}
			op := findOp(t, q, code)
			os, oz := params(q, op.Outputs[0])
			n := 0
			for _, in := range op.Inputs {
				if in < 0 || q.Main().Tensors[in].Type != tfl.Int8 {
					continue
				}
				n++
				if s, z := params(q, in); s != os || z != oz {
					t.Errorf("input %s has (%g, %d), output (%g, %d)", q.Main().Tensors[in].Name, s, z, os, oz)
				}
			}
			if n == 0 {
				t.Fatalf("%s has no int8 input", code)
			}
			if e := maxError(t, fp32, q); e > 3*float64(os) {
				t.Errorf("INT8 differs from FP32 by %.4f (> 3 steps of %.4f)", e, os)
			}
		})
	}
}

// TestEqualScaleCheckHasTeeth shows that the value check in
// TestEqualScaleRule catches a mismatch: TFLite runs a RESHAPE whose
// output parameters differ from its input's and silently gives wrong values.
func TestEqualScaleCheckHasTeeth(t *testing.T) {
	fp32, q := singleOp(t, equalScaleCases[0])
	op := findOp(t, q, tfl.Reshape)
	out := q.Main().Tensors[op.Outputs[0]]
	out.Quant = &tfl.Quantization{Scale: []float32{out.Quant.Scale[0] * 2}, ZeroPoint: []int64{out.Quant.ZeroPoint[0]}}
	if e := maxError(t, fp32, q); e < 0.5 {
		t.Errorf("a scale mismatch gave error %.4f only: the check could not catch it", e)
	}
}

func TestFixedOutputRule(t *testing.T) {
	for _, c := range fixedCases {
		t.Run(c.name, func(t *testing.T) {
			fp32, q := singleOp(t, c.opCase)
			op := findOp(t, q, fp32.Main().Operators[1].Op)
			if s, z := params(q, op.Outputs[0]); s != c.scale || z != c.zp {
				t.Errorf("output (%g, %d), want (%g, %d)", s, z, c.scale, c.zp)
			}
			if op.Version < 2 {
				t.Errorf("version %d, want >= 2 for int8", op.Version)
			}
			if e := maxError(t, fp32, q); e > 0.03 {
				t.Errorf("INT8 differs from FP32 by %.4f", e)
			}
		})
	}
}

// TestFixedThenEqual feeds a TANH (fixed output) into a CONCATENATION with a
// wider second input: the tanh cannot share the concat's parameters, so
// the pass must requantize it rather than mismatch.
func TestFixedThenEqual(t *testing.T) {
	b := testmodel.NewBuilder(4)
	x := b.Input("input", 1, 8, 8, 4)
	th := b.Op(tfl.Tanh, nil, "tanh", []int32{1, 8, 8, 4}, x)
	wide := b.Add("wide", x, b.Const("c", []float32{2, -2, 1, 0}, 4))
	out := b.Op(tfl.Concatenation, &tfl.ConcatenationOptions{Axis: 3}, "out", []int32{1, 8, 8, 8}, th, wide)
	b.Output(out)
	res, err := quantize.Quantize(b.M, quantize.Options{Ranges: map[int32]quantize.Range{x: {-1, 1}, th: {-0.8, 0.8}, wide: {-3, 3}, out: {-3, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Requantized) != 1 || res.Requantized[0] != "tanh" {
		t.Errorf("requantized %v, want [tanh]", res.Requantized)
	}
	op := findOp(t, res.Model, tfl.Concatenation)
	os, oz := params(res.Model, op.Outputs[0])
	for _, in := range op.Inputs {
		if s, z := params(res.Model, in); s != os || z != oz {
			t.Errorf("concat input %s (%g, %d) != output (%g, %d)", res.Model.Main().Tensors[in].Name, s, z, os, oz)
		}
	}
	if e := maxError(t, b.M, res.Model); e > 3*float64(os) {
		t.Errorf("INT8 differs from FP32 by %.4f", e)
	}
}

// convModel is input [1,6,6,3] -> CONV_2D or DEPTHWISE_CONV_2D -> output,
// with weights whose channels have very different magnitudes and one
// all-zero channel.
func convModel(kind tfl.BuiltinOp, bias []float32) (*tfl.Model, []float32, []int32, map[int32]quantize.Range) {
	b := testmodel.NewBuilder(5)
	x := b.Input("input", 1, 6, 6, 3)
	var shape []int32
	var out int32
	mags := []float32{0.01, 1, 0, 2}
	depthwise := kind == tfl.DepthwiseConv2D
	if depthwise {
		shape = []int32{1, 3, 3, 4} // channel multiplier 4/3 is not integral: use 3 channels
		shape[3] = 3
		mags = mags[:3]
	} else {
		shape = []int32{4, 3, 3, 3}
	}
	n := int(shape[0] * shape[1] * shape[2] * shape[3])
	w := b.Random(n, 1)
	channels := len(mags)
	inner := n / channels
	for i := range w {
		c := i / inner
		if depthwise {
			c = i % channels
		}
		w[i] *= mags[c]
	}
	wt := b.Const("w", w, shape...)
	if bias == nil {
		bias = make([]float32, channels)
	}
	bt := b.Const("b", bias, int32(channels))
	switch kind {
	case tfl.TransposeConv:
		os := b.Int32("output_shape", []int32{1, 12, 12, 4}, 4)
		out = b.Tensor("out", 1, 12, 12, 4)
		b.G.AddOperator(&tfl.Operator{Op: tfl.TransposeConv, Version: 3, Inputs: []int32{os, wt, x, bt}, Outputs: []int32{out},
			Options: &tfl.TransposeConvOptions{Padding: tfl.Same, StrideW: 2, StrideH: 2}})
	case tfl.DepthwiseConv2D:
		out = b.Op(tfl.DepthwiseConv2D, &tfl.DepthwiseConv2DOptions{Padding: tfl.Same, StrideW: 1, StrideH: 1, DepthMultiplier: 1,
			DilationWFactor: 1, DilationHFac: 1}, "out", []int32{1, 6, 6, 3}, x, wt, bt)
	default:
		out = b.Op(tfl.Conv2D, &tfl.Conv2DOptions{Padding: tfl.Same, StrideW: 1, StrideH: 1, DilationWFactor: 1, DilationHFac: 1},
			"out", []int32{1, 6, 6, 4}, x, wt, bt)
	}
	b.Output(out)
	return b.M, w, shape, map[int32]quantize.Range{x: {-1, 1}, out: {-40, 40}}
}

func TestPerChannelWeights(t *testing.T) {
	for _, c := range []struct {
		op                tfl.BuiltinOp
		axis              int32
		in, weights, bias int // operator input positions
		version           int32
	}{
		{tfl.Conv2D, 0, 0, 1, 2, 3},
		{tfl.DepthwiseConv2D, 3, 0, 1, 2, 3},
		{tfl.TransposeConv, 0, 2, 1, 3, 3}, // OHWI weights; inputs: output_shape, weights, input, bias
	} {
		t.Run(c.op.String(), func(t *testing.T) {
			m, w, shape, ranges := convModel(c.op, nil)
			res, err := quantize.Quantize(m, quantize.Options{Ranges: ranges})
			if err != nil {
				t.Fatal(err)
			}
			q := res.Model
			op := findOp(t, q, c.op)
			if op.Version != c.version {
				t.Errorf("version %d, want %d", op.Version, c.version)
			}
			wt := q.Main().Tensors[op.Inputs[c.weights]]
			qp := wt.Quant
			channels := int(shape[c.axis])
			if wt.Type != tfl.Int8 || qp == nil || qp.QuantizedDimension != c.axis || len(qp.Scale) != channels || len(qp.ZeroPoint) != channels {
				t.Fatalf("weights: type %s, quant %+v; want int8 with %d scales on axis %d", wt.Type, qp, channels, c.axis)
			}
			// Expected scale per channel: max |w| / 127 (floored for the zero channel).
			maxAbs := make([]float64, channels)
			inner := 1
			for _, d := range shape[c.axis+1:] {
				inner *= int(d)
			}
			for i, v := range w {
				ch := (i / inner) % channels
				maxAbs[ch] = math.Max(maxAbs[ch], math.Abs(float64(v)))
			}
			data := q.Buffers[wt.Buffer].Data
			for ch := range channels {
				if qp.ZeroPoint[ch] != 0 {
					t.Errorf("channel %d: zero point %d", ch, qp.ZeroPoint[ch])
				}
				want := maxAbs[ch] / 127
				if maxAbs[ch] == 0 {
					if !(qp.Scale[ch] > 0) {
						t.Errorf("all-zero channel %d: scale %g, want a positive floor", ch, qp.Scale[ch])
					}
					continue
				}
				if math.Abs(float64(qp.Scale[ch])-want) > want*1e-5 {
					t.Errorf("channel %d: scale %g, want %g", ch, qp.Scale[ch], want)
				}
			}
			for i, v := range data {
				if int8(v) == -128 {
					t.Fatalf("weight %d is -128: symmetric weights use [-127, 127]", i)
				}
			}
			// Bias: int32, scale input_scale * weight_scale[c], zero point 0.
			inScale, _ := params(q, op.Inputs[c.in])
			bt := q.Main().Tensors[op.Inputs[c.bias]]
			if bt.Type != tfl.Int32 || len(bt.Quant.Scale) != channels {
				t.Fatalf("bias: %s with %d scales", bt.Type, len(bt.Quant.Scale))
			}
			for ch := range channels {
				if want := inScale * qp.Scale[ch]; bt.Quant.Scale[ch] != want {
					t.Errorf("bias scale %d: %g, want %g", ch, bt.Quant.Scale[ch], want)
				}
			}
			if e := maxError(t, m, q); e > 0.5 {
				t.Errorf("INT8 differs from FP32 by %.4f", e)
			}
			tflitetest.RequireXNNPACK(t, tflitetest.Marshal(t, q))
		})
	}
}

// TestBiasOverflowRaisesWeightScale gives an all-zero weight channel a
// large bias: at the floor weight scale the bias would not fit in int32,
// so the pass must raise that channel's scale.
func TestBiasOverflowRaisesWeightScale(t *testing.T) {
	m, _, _, ranges := convModel(tfl.Conv2D, []float32{0.1, 0.2, 30, -0.3})
	res, err := quantize.Quantize(m, quantize.Options{Ranges: ranges})
	if err != nil {
		t.Fatal(err)
	}
	if res.RaisedWeightScales != 1 {
		t.Errorf("raised %d weight scales, want 1 (the zero channel)", res.RaisedWeightScales)
	}
	op := findOp(t, res.Model, tfl.Conv2D)
	bt := res.Model.Main().Tensors[op.Inputs[2]]
	bias := tfl.BytesInt32(res.Model.Buffers[bt.Buffer].Data)
	if got := float64(bias[2]) * float64(bt.Quant.Scale[2]); math.Abs(got-30) > 1e-3 {
		t.Errorf("bias 2 dequantizes to %g, want 30 (int %d, scale %g)", got, bias[2], bt.Quant.Scale[2])
	}
	if e := maxError(t, m, res.Model); e > 0.5 {
		t.Errorf("INT8 differs from FP32 by %.4f", e)
	}
}

func TestOpVersions(t *testing.T) {
	res, err := quantize.Quantize(testmodel.Generator(testmodel.GeneratorConfig{Size: 16}), quantize.Options{Ranges: wideRanges(testmodel.Generator(testmodel.GeneratorConfig{Size: 16}))})
	if err != nil {
		t.Fatal(err)
	}
	want := map[tfl.BuiltinOp]int32{tfl.Conv2D: 3, tfl.DepthwiseConv2D: 3, tfl.Add: 2, tfl.MirrorPad: 2,
		tfl.ResizeBilinear: 3, tfl.DepthToSpace: 2, tfl.Tanh: 2, tfl.LeakyRelu: 1, tfl.Quantize: 1, tfl.Dequantize: 2}
	seen := map[tfl.BuiltinOp]bool{}
	for _, op := range res.Model.Main().Operators {
		seen[op.Op] = true
		if v, ok := want[op.Op]; ok && op.Version != v {
			t.Errorf("%s version %d, want %d", op.Op, op.Version, v)
		}
	}
	for op := range want {
		if !seen[op] {
			t.Errorf("no %s in the quantized generator", op)
		}
	}
}

// wideRanges gives every activation of m the range [-4, 4].
func wideRanges(m *tfl.Model) map[int32]quantize.Range {
	r := map[int32]quantize.Range{}
	for i, t := range m.Main().Tensors {
		if t.Type == tfl.Float32 && t.Buffer == 0 {
			r[int32(i)] = quantize.Range{Min: -4, Max: 4}
		}
	}
	return r
}

func TestNoInt8KernelNeedsFloatOps(t *testing.T) {
	b := testmodel.NewBuilder(6)
	x := b.Input("input", 1, 4, 4, 3)
	d := b.Op(tfl.Div, &tfl.DivOptions{}, "div", []int32{1, 4, 4, 3}, x, b.Const("two", []float32{2}, 1))
	b.Output(b.Op(tfl.Tanh, nil, "out", []int32{1, 4, 4, 3}, d))
	ranges := wideRanges(b.M)
	if _, err := quantize.Quantize(b.M, quantize.Options{Ranges: ranges}); err == nil {
		t.Fatal("DIV quantized without --float-ops")
	}
	res, err := quantize.Quantize(b.M, quantize.Options{Ranges: ranges, FloatOps: []tfl.BuiltinOp{tfl.Div}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.FloatIslands) != 1 || res.FloatIslands[0].Op != "DIV" || len(res.Warnings) == 0 {
		t.Errorf("islands %v, warnings %v", res.FloatIslands, res.Warnings)
	}
	if e := maxError(t, b.M, res.Model); e > 0.02 {
		t.Errorf("INT8 differs from FP32 by %.4f", e)
	}
}

// TestLayerNormIslandsStopAtResidual: --float-ops layernorm keeps the
// norms float but not a residual ADD of two norm outputs.
func TestLayerNormIslandsStopAtResidual(t *testing.T) {
	b := testmodel.NewBuilder(7)
	x := b.Input("input", 1, 4, 4, 8)
	n1 := b.LayerNorm("ln1", x)
	n2 := b.LayerNorm("ln2", n1)
	out := b.Add("residual", n1, n2)
	b.Output(out)
	res, err := quantize.Quantize(b.M, quantize.Options{Ranges: wideRanges(b.M), FloatLayerNorm: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.FloatIslands) != 18 {
		t.Errorf("%d float islands, want 2 norms x 9 operators: %v", len(res.FloatIslands), res.FloatIslands)
	}
	for _, is := range res.FloatIslands {
		if is.Output == "residual" {
			t.Error("the residual ADD was kept float")
		}
	}
}

// TestAttentionBlock quantizes a small self-attention block (RESHAPE,
// FULLY_CONNECTED projections, BATCH_MATMUL, SOFTMAX) and checks it
// against FP32.
func TestAttentionBlock(t *testing.T) {
	b := testmodel.NewBuilder(8)
	x := b.Input("input", 1, 4, 4, 8)
	seq := b.Op(tfl.Reshape, &tfl.ReshapeOptions{NewShape: []int32{16, 8}}, "seq", []int32{16, 8}, x, b.Int32("s1", []int32{16, 8}, 2))
	proj := func(name string) int32 {
		w := b.Const(name+"/w", b.Random(64, 0.35), 8, 8)
		bias := b.Const(name+"/b", b.Random(8, 0.05), 8)
		return b.Op(tfl.FullyConnected, &tfl.FullyConnectedOptions{}, name, []int32{16, 8}, seq, w, bias)
	}
	q, k, v := proj("q"), proj("k"), proj("v")
	r3 := func(name string, t int32) int32 {
		return b.Op(tfl.Reshape, &tfl.ReshapeOptions{NewShape: []int32{1, 16, 8}}, name, []int32{1, 16, 8}, t, b.Int32(name+"/s", []int32{1, 16, 8}, 3))
	}
	q3, k3, v3 := r3("q3", q), r3("k3", k), r3("v3", v)
	scores := b.Op(tfl.BatchMatMul, &tfl.BatchMatMulOptions{AdjY: true}, "scores", []int32{1, 16, 16}, q3, k3)
	attn := b.Op(tfl.Softmax, &tfl.SoftmaxOptions{Beta: 0.35}, "attn", []int32{1, 16, 16}, scores)
	ctx := b.Op(tfl.BatchMatMul, &tfl.BatchMatMulOptions{}, "ctx", []int32{1, 16, 8}, attn, v3)
	out := b.Op(tfl.Reshape, &tfl.ReshapeOptions{NewShape: []int32{1, 4, 4, 8}}, "out", []int32{1, 4, 4, 8}, ctx, b.Int32("s2", []int32{1, 4, 4, 8}, 4))
	b.Output(out)
	// The input has 8 channels, not an image: give ranges directly.
	ranges := map[int32]quantize.Range{}
	for i, tt := range b.G.Tensors {
		if tt.Type == tfl.Float32 && tt.Buffer == 0 {
			ranges[int32(i)] = quantize.Range{Min: -2, Max: 2}
		}
	}
	ranges[x] = quantize.Range{Min: -1, Max: 1}
	ranges[scores] = quantize.Range{Min: -6, Max: 6}
	res, err := quantize.Quantize(b.M, quantize.Options{Ranges: ranges})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range res.Model.Main().Operators {
		switch op.Op {
		case tfl.FullyConnected:
			w := res.Model.Main().Tensors[op.Inputs[1]]
			if op.Version != 4 || w.Type != tfl.Int8 || len(w.Quant.Scale) != 1 {
				t.Errorf("FULLY_CONNECTED v%d, weights %s with %d scales", op.Version, w.Type, len(w.Quant.Scale))
			}
		case tfl.BatchMatMul:
			if op.Version != 2 {
				t.Errorf("BATCH_MATMUL v%d", op.Version)
			}
		}
	}
	e := maxError(t, b.M, res.Model)
	t.Logf("attention block: max abs error %.4f", e)
	if e > 0.1 {
		t.Errorf("INT8 differs from FP32 by %.4f", e)
	}
}

func TestRefusesBadModels(t *testing.T) {
	int8Model, err := tfl.Parse(testmodel.Int8())
	if err != nil {
		t.Fatal(err)
	}
	fp32, err := tfl.Parse(testmodel.FP32())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		m    *tfl.Model
		o    quantize.Options
		want string
	}{
		{"already int8", int8Model, quantize.Options{}, "already int8"},
		{"no ranges", fp32, quantize.Options{}, "no calibration range"},
		{"bad io", fp32, quantize.Options{IO: "uint8"}, "unknown I/O type"},
	} {
		if _, err := quantize.Quantize(c.m, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}
