package verify_test

import (
	. "github.com/animed/animed/converter/onnxtest"
)

// graph is one generated ONNX test model.
type graph struct {
	name  string
	build func() *Builder
	// noTranspose: the converted graph must contain no TRANSPOSE.
	noTranspose bool
}

func conv(b *Builder, x string, cin, cout, k int, attrs ...Attr) string {
	name := b.Rand(b.Name(x+"_w"), -0.3, 0.3, cout, cin, k, k)
	bias := b.Rand(b.Name(x+"_b"), -0.2, 0.2, cout)
	return b.Node("Conv", []string{x, name, bias}, attrs...)
}

func itoa(i int) string {
	const d = "0123456789"
	if i < 10 {
		return d[i : i+1]
	}
	return itoa(i/10) + d[i%10:i%10+1]
}

func single(opset int, f func(b *Builder, x string) string) func() *Builder {
	return func() *Builder {
		b := New(opset)
		x := b.Input("x", 1, 4, 10, 12)
		b.Output(f(b, x))
		return b
	}
}

var graphs = []graph{
	{"conv_reflect_relu", single(13, func(b *Builder, x string) string {
		p := b.Node("Pad", []string{x, b.Ints("pads", 0, 0, 2, 1, 0, 0, 2, 1)}, A("mode", "reflect"))
		return b.Node("Relu", []string{conv(b, p, 4, 8, 3)})
	}), true},
	{"conv_same_relu6", single(13, func(b *Builder, x string) string {
		c := conv(b, x, 4, 8, 3, A("pads", []int{1, 1, 1, 1}))
		return b.Node("Clip", []string{c, b.Init("lo", nil, []float32{0}), b.Init("hi", nil, []float32{6})})
	}), true},
	{"conv_stride2_leaky", single(13, func(b *Builder, x string) string {
		c := conv(b, x, 4, 8, 3, A("pads", []int{1, 1, 1, 1}), A("strides", []int{2, 2}))
		return b.Node("LeakyRelu", []string{c}, A("alpha", 0.2))
	}), true},
	{"conv_asym_pads_dilated", single(13, func(b *Builder, x string) string {
		c := conv(b, x, 4, 6, 3, A("pads", []int{0, 0, 1, 1}))
		return conv(b, c, 6, 5, 3, A("pads", []int{2, 2, 2, 2}), A("dilations", []int{2, 2}))
	}), true},
	{"conv_auto_pad_same_upper", single(11, func(b *Builder, x string) string {
		return conv(b, x, 4, 4, 3, A("auto_pad", "SAME_UPPER"), A("strides", []int{2, 2}))
	}), true},
	{"depthwise_multiplier_prelu", single(13, func(b *Builder, x string) string {
		c := conv(b, x, 1, 8, 3, A("group", 4), A("pads", []int{1, 1, 1, 1}))
		return b.Node("PRelu", []string{c, b.Rand("slope", 0, 0.5, 8, 1, 1)})
	}), true},
	{"grouped_sigmoid", single(13, func(b *Builder, x string) string {
		return b.Node("Sigmoid", []string{conv(b, x, 2, 6, 3, A("group", 2))})
	}), true},
	{"conv_batchnorm_tanh", single(13, func(b *Builder, x string) string {
		c := conv(b, x, 4, 8, 1)
		bn := b.Node("BatchNormalization", []string{c, b.Rand("s", 0.5, 1.5, 8), b.Rand("bb", -1, 1, 8), b.Rand("m", -1, 1, 8), b.Rand("v", 0.5, 2, 8)})
		return b.Node("Tanh", []string{bn})
	}), true},
	{"batchnorm_alone", single(9, func(b *Builder, x string) string {
		return b.Node("BatchNormalization", []string{x, b.Rand("s", 0.5, 1.5, 4), b.Rand("bb", -1, 1, 4), b.Rand("m", -1, 1, 4), b.Rand("v", 0.5, 2, 4)})
	}), true},
	{"conv_transpose_k4s2p1", single(13, func(b *Builder, x string) string {
		return b.Node("ConvTranspose", []string{x, b.Rand("w", -0.3, 0.3, 4, 6, 4, 4), b.Rand("b", -0.2, 0.2, 6)},
			A("strides", []int{2, 2}), A("pads", []int{1, 1, 1, 1}))
	}), true},
	{"conv_transpose_k3s2p1op1", single(13, func(b *Builder, x string) string {
		return b.Node("ConvTranspose", []string{x, b.Rand("w", -0.3, 0.3, 4, 6, 3, 3), b.Rand("b", -0.2, 0.2, 6)},
			A("strides", []int{2, 2}), A("pads", []int{1, 1, 1, 1}), A("output_padding", []int{1, 1}))
	}), true},
	{"conv_transpose_k2s2", single(13, func(b *Builder, x string) string {
		return b.Node("ConvTranspose", []string{x, b.Rand("w", -0.3, 0.3, 4, 3, 2, 2)}, A("strides", []int{2, 2}))
	}), true},
	{"instance_norm", single(13, func(b *Builder, x string) string {
		return b.Node("InstanceNormalization", []string{conv(b, x, 4, 6, 3), b.Rand("s", 0.5, 1.5, 6), b.Rand("bb", -1, 1, 6)}, A("epsilon", 1e-5))
	}), true},
	{"layer_norm_channels", single(13, func(b *Builder, x string) string {
		c := conv(b, x, 4, 6, 1)
		m := b.Node("ReduceMean", []string{c}, A("axes", []int{1}))
		d := b.Node("Sub", []string{c, m})
		p := b.Node("Pow", []string{d, b.Init("two", nil, []float32{2})})
		v := b.Node("ReduceMean", []string{p}, A("axes", []int{1}))
		e := b.Node("Add", []string{v, b.Init("eps", nil, []float32{1e-5})})
		y := b.Node("Div", []string{d, b.Node("Sqrt", []string{e})})
		y = b.Node("Mul", []string{y, b.Rand("g", 0.5, 1.5, 6, 1, 1)})
		return b.Node("Add", []string{y, b.Rand("be", -1, 1, 6, 1, 1)})
	}), true},
	{"group_norm_1_and_C", single(13, func(b *Builder, x string) string {
		out := x
		for _, g := range []int{1, 4} {
			r := b.Node("Reshape", []string{out, b.Ints("gs"+itoa(g), 1, int64(g), -1)})
			in := b.Node("InstanceNormalization", []string{r, b.Init("ones"+itoa(g), []int{g}, ones(g, 1)), b.Init("zeros"+itoa(g), []int{g}, ones(g, 0))})
			r2 := b.Node("Reshape", []string{in, b.Ints("back"+itoa(g), 1, 4, 10, 12)})
			out = b.Node("Add", []string{b.Node("Mul", []string{r2, b.Rand("gg"+itoa(g), 0.5, 1.5, 4, 1, 1)}), b.Rand("gb"+itoa(g), -1, 1, 4, 1, 1)})
		}
		return out
	}), true},
	{"group_norm_2_groups", func() *Builder {
		b := New(13)
		x := b.Input("x", 1, 6, 10, 12)
		r := b.Node("Reshape", []string{x, b.Ints("gs", 1, 2, -1)})
		in := b.Node("InstanceNormalization", []string{r, b.Init("ones", []int{2}, ones(2, 1)), b.Init("zeros", []int{2}, ones(2, 0))})
		r2 := b.Node("Reshape", []string{in, b.Ints("back", 1, 6, 10, 12)})
		b.Output(b.Node("Add", []string{b.Node("Mul", []string{r2, b.Rand("gg", 0.5, 1.5, 6, 1, 1)}), b.Rand("gb", -1, 1, 6, 1, 1)}))
		return b
	}, true},
	{"arith_broadcast", single(13, func(b *Builder, x string) string {
		c := conv(b, x, 4, 4, 1)
		a := b.Node("Add", []string{b.Node("Mul", []string{x, b.Rand("k", -1, 1, 4, 1, 1)}), c})
		s := b.Node("Sub", []string{a, b.Init("half", nil, []float32{0.5})})
		d := b.Node("Div", []string{s, b.Init("three", []int{1}, []float32{3})})
		den := b.Node("Add", []string{b.Node("Sigmoid", []string{c}), b.Init("one", nil, []float32{1})})
		q := b.Node("Div", []string{d, den})
		q = b.Node("Max", []string{q, b.Node("Mul", []string{c, b.Init("tenth", nil, []float32{0.1})})})
		return b.Node("Min", []string{q, b.Rand("row", 0, 1, 12)})
	}), true},
	{"pad_constant_value", single(11, func(b *Builder, x string) string {
		return b.Node("Pad", []string{x, b.Ints("pads", 0, 0, 1, 2, 0, 0, 3, 0), b.Init("v", nil, []float32{0.5})})
	}), true},
	{"pad_opset9_attr", single(9, func(b *Builder, x string) string {
		return b.Node("Pad", []string{x}, A("pads", []int{0, 0, 1, 1, 0, 0, 1, 1}), A("mode", "reflect"))
	}), true},
	{"resize_bilinear_modes", single(13, func(b *Builder, x string) string {
		sc := b.Init("sc", []int{4}, []float32{1, 1, 2, 2})
		out := []string{}
		for _, m := range []string{"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"} {
			out = append(out, b.Node("Resize", []string{x, "", sc}, A("mode", "linear"), A("coordinate_transformation_mode", m)))
		}
		return b.Node("Concat", out, A("axis", 1))
	}), true},
	{"resize_bilinear_sizes", single(13, func(b *Builder, x string) string {
		return b.Node("Resize", []string{x, "", "", b.Ints("sz", 1, 4, 15, 18)}, A("mode", "linear"), A("coordinate_transformation_mode", "half_pixel"))
	}), true},
	{"resize_nearest_modes", single(13, func(b *Builder, x string) string {
		sc := b.Init("sc", []int{4}, []float32{1, 1, 2, 3})
		n1 := b.Node("Resize", []string{x, "", sc}, A("mode", "nearest"), A("coordinate_transformation_mode", "asymmetric"), A("nearest_mode", "floor"))
		n2 := b.Node("Resize", []string{x, "", sc}, A("mode", "nearest"))
		return b.Node("Add", []string{n1, n2})
	}), true},
	{"upsample_opset9", single(9, func(b *Builder, x string) string {
		return b.Node("Upsample", []string{x, b.Init("sc", []int{4}, []float32{1, 1, 2, 2})}, A("mode", "nearest"))
	}), true},
	{"pools", single(13, func(b *Builder, x string) string {
		m1 := b.Node("MaxPool", []string{x}, A("kernel_shape", []int{3, 3}), A("pads", []int{1, 1, 1, 1}))
		m2 := b.Node("MaxPool", []string{x}, A("kernel_shape", []int{3, 3}), A("pads", []int{1, 1, 1, 1}), A("strides", []int{2, 2}))
		a1 := b.Node("AveragePool", []string{x}, A("kernel_shape", []int{3, 3}), A("pads", []int{1, 1, 1, 1}))
		a2 := b.Node("AveragePool", []string{x}, A("kernel_shape", []int{2, 2}), A("strides", []int{2, 2}))
		a3 := b.Node("AveragePool", []string{x}, A("kernel_shape", []int{3, 3}), A("pads", []int{1, 1, 1, 1}), A("strides", []int{2, 2}), A("count_include_pad", 1))
		b.Output(b.Node("Add", []string{m1, a1}))
		return b.Node("Add", []string{b.Node("Add", []string{m2, a2}), a3})
	}), true},
	{"pixel_shuffle_pytorch", single(13, func(b *Builder, x string) string {
		c := conv(b, x, 4, 12, 3, A("pads", []int{1, 1, 1, 1}))
		r := b.Node("Reshape", []string{c, b.Ints("s6", 1, 3, 2, 2, 10, 12)})
		tr := b.Node("Transpose", []string{r}, A("perm", []int{0, 1, 4, 2, 5, 3}))
		return b.Node("Reshape", []string{tr, b.Ints("s4", 1, 3, 20, 24)})
	}), true},
	{"depth_to_space_dcr_crd", single(13, func(b *Builder, x string) string {
		d1 := b.Node("DepthToSpace", []string{conv(b, x, 4, 8, 1)}, A("blocksize", 2))
		d2 := b.Node("DepthToSpace", []string{conv(b, x, 4, 8, 3, A("pads", []int{1, 1, 1, 1}))}, A("blocksize", 2), A("mode", "CRD"))
		return b.Node("Add", []string{d1, d2})
	}), true},
	{"concat_channels", single(13, func(b *Builder, x string) string {
		return b.Node("Concat", []string{conv(b, x, 4, 3, 3, A("pads", []int{1, 1, 1, 1})), x, b.Node("Relu", []string{x})}, A("axis", 1))
	}), true},
	{"squeeze_excite", single(13, func(b *Builder, x string) string {
		gp := b.Node("GlobalAveragePool", []string{x})
		s := b.Node("Sigmoid", []string{conv(b, b.Node("Relu", []string{conv(b, gp, 4, 2, 1)}), 2, 4, 1)})
		m := b.Node("ReduceMean", []string{x}, A("axes", []int{2, 3}), A("keepdims", 0))
		m = b.Node("Unsqueeze", []string{m, b.Ints("ax", 2, 3)})
		return b.Node("Add", []string{b.Node("Mul", []string{x, s}), m})
	}), true},
	{"attention", single(13, func(b *Builder, x string) string {
		q := b.Node("Reshape", []string{conv(b, x, 4, 4, 1), b.Ints("s1", 1, 4, 120)})
		k := b.Node("Reshape", []string{conv(b, x, 4, 4, 1), b.Ints("s2", 1, 4, 120)})
		v := b.Node("Reshape", []string{conv(b, x, 4, 4, 1), b.Ints("s3", 1, 4, 120)})
		qt := b.Node("Transpose", []string{q}, A("perm", []int{0, 2, 1}))
		att := b.Node("Softmax", []string{b.Node("MatMul", []string{qt, k})}, A("axis", -1))
		o := b.Node("MatMul", []string{v, b.Node("Transpose", []string{att}, A("perm", []int{0, 2, 1}))})
		return b.Node("Add", []string{x, b.Node("Reshape", []string{o, b.Ints("s4", 1, 4, 10, 12)})})
	}), false},
	{"flatten_gemm_matmul", func() *Builder {
		b := New(13)
		x := b.Input("x", 1, 4, 10, 12)
		f := b.Node("Flatten", []string{b.Node("GlobalAveragePool", []string{x})})
		g := b.Node("Gemm", []string{f, b.Rand("gw", -1, 1, 5, 4), b.Rand("gc", -1, 1, 5)}, A("transB", 1), A("alpha", 0.5))
		b.Output(b.Node("MatMul", []string{g, b.Rand("mw", -1, 1, 5, 3)}))
		return b
	}, true},
	{"softmax_channels", single(13, func(b *Builder, x string) string {
		return b.Node("Softmax", []string{x}, A("axis", 1))
	}), false},
	{"unary_math", single(13, func(b *Builder, x string) string {
		sq := b.Node("Sqrt", []string{b.Node("Add", []string{b.Node("Pow", []string{x, b.Init("two", nil, []float32{2})}), b.Init("one", nil, []float32{1})})})
		r := b.Node("Reciprocal", []string{sq})
		c := b.Node("Clip", []string{x, b.Init("lo", nil, []float32{-0.5}), b.Init("hi", nil, []float32{0.25})})
		d := b.Node("Dropout", []string{b.Node("Identity", []string{c})})
		return b.Node("Add", []string{b.Node("Mul", []string{r, sq}), d})
	}), true},
	{"shape_chain_reshape", single(13, func(b *Builder, x string) string {
		sh := b.Node("Shape", []string{x})
		h := b.Node("Gather", []string{sh, b.Ints("i2", 2)}, A("axis", 0))
		w := b.Node("Gather", []string{sh, b.Ints("i3", 3)}, A("axis", 0))
		hw := b.Node("Mul", []string{h, w})
		shape := b.Node("Concat", []string{b.Ints("n1", 1), b.Ints("c4", 4), hw}, A("axis", 0))
		r := b.Node("Reshape", []string{x, shape})
		back := b.Node("Concat", []string{b.Ints("n1b", 1), b.Ints("c4b", 4), h, w}, A("axis", 0))
		return b.Node("Relu", []string{b.Node("Reshape", []string{r, back})})
	}), true},
	// PyTorch 2 exports nn.LayerNorm as the native op (opset 17), here
	// channels-last between transposes as in transformer blocks.
	{"layer_norm_opset17", single(17, func(b *Builder, x string) string {
		t := b.Node("Transpose", []string{x}, A("perm", []int{0, 2, 3, 1}))
		ln := b.Node("LayerNormalization", []string{t, b.Rand("g", 0.5, 1.5, 4), b.Rand("bt", -0.5, 0.5, 4)}, A("axis", -1), A("epsilon", float32(1e-5)))
		return b.Node("Transpose", []string{ln}, A("perm", []int{0, 3, 1, 2}))
	}), true},
	{"group_norm_opset18", single(18, func(b *Builder, x string) string {
		c := conv(b, x, 4, 8, 3, A("pads", []int{1, 1, 1, 1}))
		return b.Node("GroupNormalization", []string{c, b.Rand("g", 0.5, 1.5, 2), b.Rand("bt", -0.5, 0.5, 2)}, A("num_groups", 2))
	}), true},
	{"hardswish_opset13", single(13, func(b *Builder, x string) string {
		c := conv(b, x, 4, 8, 3, A("pads", []int{1, 1, 1, 1}))
		hs := b.Node("HardSigmoid", []string{c}, A("alpha", float32(1.0/6)), A("beta", float32(0.5)))
		return b.Node("Mul", []string{c, hs})
	}), true},
	{"gelu_erf", single(13, func(b *Builder, x string) string {
		c := conv(b, x, 4, 8, 3, A("pads", []int{1, 1, 1, 1}))
		e := b.Node("Erf", []string{b.Node("Div", []string{c, b.Init("sqrt2", nil, []float32{1.4142135})})})
		half := b.Node("Mul", []string{c, b.Init("half", nil, []float32{0.5})})
		return b.Node("Mul", []string{half, b.Node("Add", []string{e, b.Init("one", nil, []float32{1})})})
	}), true},
	{"split_space_to_depth", single(13, func(b *Builder, x string) string {
		parts := b.NodeN("Split", []string{x, b.Ints("sizes", 1, 3)}, 2, A("axis", 1))
		s := b.Node("SpaceToDepth", []string{b.Node("Concat", []string{parts[1], parts[0]}, A("axis", 1))}, A("blocksize", 2))
		return b.Node("DepthToSpace", []string{conv(b, s, 16, 16, 1)}, A("blocksize", 2))
	}), false},
	{"gather_expand", single(13, func(b *Builder, x string) string {
		g := b.Node("Gather", []string{x, b.Ints("idx", 3, 0, 1)}, A("axis", 1))
		s := b.Node("Gather", []string{x, b.Ints("one", 2)}, A("axis", 1))
		row := b.Node("ReduceMean", []string{s}, A("axes", []int{1}), A("keepdims", 0))
		e := b.Node("Expand", []string{b.Node("Unsqueeze", []string{row, b.Ints("ax1", 1)}), b.Ints("shape", 1, 3, 10, 12)})
		return b.Node("Add", []string{g, e})
	}), false},
	{"where_greater", single(13, func(b *Builder, x string) string {
		c := conv(b, x, 4, 8, 3, A("pads", []int{1, 1, 1, 1}))
		mask := b.Node("Greater", []string{c, b.Rand("th", -0.1, 0.1, 8, 1, 1)})
		return b.Node("Where", []string{mask, c, b.Node("Mul", []string{c, b.Init("slope", nil, []float32{0.25})})})
	}), false},
	{"thresholded_relu", single(10, func(b *Builder, x string) string {
		return b.Node("ThresholdedRelu", []string{conv(b, x, 4, 8, 3)}, A("alpha", float32(0.1)))
	}), false},
	{"reductions", single(13, func(b *Builder, x string) string {
		mx := b.Node("ReduceMax", []string{x}, A("axes", []int{1}))
		sm := b.Node("ReduceSum", []string{x, b.Ints("ax", 1)})
		return b.Node("Sub", []string{x, b.Node("Add", []string{mx, sm})})
	}), true},
}

func ones(n int, v float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}
