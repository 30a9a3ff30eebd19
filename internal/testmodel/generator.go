package testmodel

import (
	"math"
	"math/rand"

	tfl "github.com/animed/animed/internal/tflitefile"
)

// Builder appends tensors and operators to a model's main subgraph.
type Builder struct {
	M *tfl.Model
	G *tfl.Subgraph
	R *rand.Rand
}

// NewBuilder returns a builder of an empty model with seeded weights.
func NewBuilder(seed int64) *Builder {
	m := tfl.NewModel()
	return &Builder{M: m, G: m.Main(), R: rand.New(rand.NewSource(seed))}
}

// Input adds a float graph input.
func (b *Builder) Input(name string, shape ...int32) int32 {
	t := b.Tensor(name, shape...)
	b.G.Inputs = append(b.G.Inputs, t)
	return t
}

// Output marks t as a graph output.
func (b *Builder) Output(t int32) { b.G.Outputs = append(b.G.Outputs, t) }

// Tensor adds a float activation tensor.
func (b *Builder) Tensor(name string, shape ...int32) int32 {
	return b.G.AddTensor(&tfl.Tensor{Name: name, Shape: shape, Type: tfl.Float32})
}

// Const adds a float constant.
func (b *Builder) Const(name string, data []float32, shape ...int32) int32 {
	return b.G.AddTensor(&tfl.Tensor{Name: name, Shape: shape, Type: tfl.Float32, Buffer: b.M.AddBuffer(tfl.Float32Bytes(data))})
}

// Int32 adds an int32 constant.
func (b *Builder) Int32(name string, data []int32, shape ...int32) int32 {
	return b.G.AddTensor(&tfl.Tensor{Name: name, Shape: shape, Type: tfl.Int32, Buffer: b.M.AddBuffer(tfl.Int32Bytes(data))})
}

// Shape returns t's shape.
func (b *Builder) Shape(t int32) []int32 { return b.G.Tensors[t].Shape }

// Op adds an operator with a new float output of the given shape.
func (b *Builder) Op(op tfl.BuiltinOp, opts tfl.Options, name string, shape []int32, inputs ...int32) int32 {
	out := b.Tensor(name, shape...)
	v := int32(1)
	if op == tfl.ResizeBilinear || op == tfl.ResizeNearestNeighbor {
		v = 3 // half-pixel centers
	}
	b.G.AddOperator(&tfl.Operator{Op: op, Version: v, Inputs: inputs, Outputs: []int32{out}, Options: opts})
	return out
}

// Random returns n normal values with standard deviation std.
func (b *Builder) Random(n int, std float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(b.R.NormFloat64() * std)
	}
	return v
}

func same(in, stride int32) int32 { return (in + stride - 1) / stride }

// Conv adds a k×k CONV_2D with random weights (OHWI) and bias.
func (b *Builder) Conv(name string, in, outC, k, stride int32, pad tfl.Padding, act tfl.Activation) int32 {
	s := b.Shape(in)
	inC := s[3]
	w := b.Const(name+"/w", b.Random(int(outC*k*k*inC), 1/math.Sqrt(float64(k*k*inC))), outC, k, k, inC)
	bias := b.Const(name+"/b", b.Random(int(outC), 0.05), outC)
	h, wd := same(s[1], stride), same(s[2], stride)
	if pad == tfl.Valid {
		h, wd = (s[1]-k)/stride+1, (s[2]-k)/stride+1
	}
	return b.Op(tfl.Conv2D, &tfl.Conv2DOptions{Padding: pad, StrideW: stride, StrideH: stride, Activation: act,
		DilationWFactor: 1, DilationHFac: 1}, name, []int32{1, h, wd, outC}, in, w, bias)
}

// DWConv adds a k×k DEPTHWISE_CONV_2D (multiplier 1, SAME, stride 1).
func (b *Builder) DWConv(name string, in, k int32, act tfl.Activation) int32 {
	s := b.Shape(in)
	c := s[3]
	w := b.Const(name+"/w", b.Random(int(k*k*c), 1/float64(k)), 1, k, k, c)
	bias := b.Const(name+"/b", b.Random(int(c), 0.05), c)
	return b.Op(tfl.DepthwiseConv2D, &tfl.DepthwiseConv2DOptions{Padding: tfl.Same, StrideW: 1, StrideH: 1,
		DepthMultiplier: 1, Activation: act, DilationWFactor: 1, DilationHFac: 1}, name, s, in, w, bias)
}

// LeakyRelu adds LEAKY_RELU with alpha 0.2.
func (b *Builder) LeakyRelu(name string, in int32) int32 {
	return b.Op(tfl.LeakyRelu, &tfl.LeakyReluOptions{Alpha: 0.2}, name, b.Shape(in), in)
}

// Add adds ADD of two same-shaped tensors.
func (b *Builder) Add(name string, x, y int32) int32 {
	return b.Op(tfl.Add, &tfl.AddOptions{}, name, b.Shape(x), x, y)
}

// MirrorPad adds a reflect pad of p pixels on H and W.
func (b *Builder) MirrorPad(name string, in, p int32) int32 {
	s := b.Shape(in)
	pads := b.Int32(name+"/pads", []int32{0, 0, p, p, p, p, 0, 0}, 4, 2)
	return b.Op(tfl.MirrorPad, &tfl.MirrorPadOptions{Mode: tfl.Reflect}, name, []int32{1, s[1] + 2*p, s[2] + 2*p, s[3]}, in, pads)
}

// LayerNorm adds a layer norm over H, W and C lowered to MEAN,
// SQUARED_DIFFERENCE, RSQRT, SUB, MUL and ADD, with per-channel gamma/beta.
func (b *Builder) LayerNorm(name string, in int32) int32 {
	s := b.Shape(in)
	one := []int32{1, 1, 1, 1}
	axes := b.Int32(name+"/axes", []int32{1, 2, 3}, 3)
	keep := &tfl.ReducerOptions{KeepDims: true}
	mean := b.Op(tfl.Mean, keep, name+"/mean", one, in, axes)
	sq := b.Op(tfl.SquaredDifference, &tfl.SquaredDifferenceOptions{}, name+"/sqdiff", s, in, mean)
	variance := b.Op(tfl.Mean, keep, name+"/var", one, sq, axes)
	eps := b.Const(name+"/eps", []float32{1e-5}, 1)
	ve := b.Op(tfl.Add, &tfl.AddOptions{}, name+"/var_eps", one, variance, eps)
	inv := b.Op(tfl.Rsqrt, nil, name+"/rsqrt", one, ve)
	cen := b.Op(tfl.Sub, &tfl.SubOptions{}, name+"/centered", s, in, mean)
	norm := b.Op(tfl.Mul, &tfl.MulOptions{}, name+"/norm", s, cen, inv)
	gamma := make([]float32, s[3])
	beta := make([]float32, s[3])
	for i := range gamma {
		gamma[i] = 1 + float32(b.R.NormFloat64()*0.1)
		beta[i] = float32(b.R.NormFloat64() * 0.1)
	}
	g := b.Const(name+"/gamma", gamma, s[3])
	bt := b.Const(name+"/beta", beta, s[3])
	scaled := b.Op(tfl.Mul, &tfl.MulOptions{}, name+"/scaled", s, norm, g)
	return b.Op(tfl.Add, &tfl.AddOptions{}, name+"/out", s, scaled, bt)
}

// GeneratorConfig selects the generator's size and blocks.
type GeneratorConfig struct {
	Size      int32 // input and output H = W; a multiple of 4 (default 64)
	Width     int32 // channels of the first layer (default 16)
	LayerNorm bool  // add a layer-norm block in the bottleneck
	Seed      int64
}

// Generator returns an FP32 image-to-image generator [1,S,S,3] -> [1,S,S,3]
// in [-1, 1]: reflect pad, conv + leaky ReLU, two stride-2 convs, an
// inverted-residual block with a depthwise conv (and optionally a layer
// norm), bilinear half-pixel 2x upsampling, a 1x1 conv + DEPTH_TO_SPACE 2x
// upsampling, skip adds, and a final conv + TANH.
func Generator(c GeneratorConfig) *tfl.Model {
	if c.Size == 0 {
		c.Size = 64
	}
	if c.Width == 0 {
		c.Width = 16
	}
	b := NewBuilder(c.Seed + 1)
	S, W := c.Size, c.Width
	x := b.Input("input", 1, S, S, 3)
	p := b.MirrorPad("pad", x, 1)
	e1 := b.LeakyRelu("enc1/act", b.Conv("enc1", p, W, 3, 1, tfl.Valid, tfl.ActNone))
	d1 := b.LeakyRelu("down1/act", b.Conv("down1", e1, 2*W, 3, 2, tfl.Same, tfl.ActNone))
	d2 := b.LeakyRelu("down2/act", b.Conv("down2", d1, 2*W, 3, 2, tfl.Same, tfl.ActNone))
	// Inverted residual: expand 1x1, depthwise 3x3, project 1x1, add.
	ex := b.LeakyRelu("ir/expand/act", b.Conv("ir/expand", d2, 4*W, 1, 1, tfl.Same, tfl.ActNone))
	dw := b.LeakyRelu("ir/dw/act", b.DWConv("ir/dw", ex, 3, tfl.ActNone))
	if c.LayerNorm {
		dw = b.LayerNorm("ir/ln", dw)
	}
	pr := b.Conv("ir/project", dw, 2*W, 1, 1, tfl.Same, tfl.ActNone)
	r := b.Add("ir/add", d2, pr)
	// Up 1: bilinear half-pixel resize to S/2, conv, skip from down1.
	size := b.Int32("up1/size", []int32{S / 2, S / 2}, 2)
	u1 := b.Op(tfl.ResizeBilinear, &tfl.ResizeBilinearOptions{HalfPixelCenters: true}, "up1/resize", []int32{1, S / 2, S / 2, 2 * W}, r, size)
	u1 = b.LeakyRelu("up1/act", b.Conv("up1", u1, 2*W, 3, 1, tfl.Same, tfl.ActNone))
	u1 = b.Add("up1/add", u1, d1)
	// Up 2: 1x1 conv to 4W channels, DEPTH_TO_SPACE to S with W channels.
	u2 := b.Conv("up2", u1, 4*W, 1, 1, tfl.Same, tfl.ActNone)
	u2 = b.Op(tfl.DepthToSpace, &tfl.DepthToSpaceOptions{BlockSize: 2}, "up2/d2s", []int32{1, S, S, W}, u2)
	u2 = b.LeakyRelu("up2/act", u2)
	u2 = b.Add("up2/add", u2, e1)
	o := b.Conv("out", u2, 3, 3, 1, tfl.Same, tfl.ActNone)
	b.Output(b.Op(tfl.Tanh, nil, "output", []int32{1, S, S, 3}, o))
	b.M.Description = "animed testmodel generator (fp32)"
	return b.M
}
