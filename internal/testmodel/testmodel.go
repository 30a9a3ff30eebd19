// Package testmodel builds tiny but real TFLite image-to-image models for
// tests, so that the runtime, the daemon and the hardware self-test can run
// actual inference without any outside file.
//
// Every model maps an NHWC RGB image [1,H,W,3] in [-1,1] to an image of the
// same shape in [-1,1]: a 3x3 convolution to 8 channels with ReLU, then a
// 1x1 convolution back to 3 channels clamped to [-1,1]. The weights are a
// fixed, seeded perturbation of the identity, so outputs resemble inputs.
// Reference computes the same function in plain Go.
//
// Builder and Generator (generator.go) build the quantizer's FP32 test
// models: a generator of the AnimeGAN family (reflect pad, convolutions,
// depthwise convolution, leaky ReLU, residual adds, bilinear half-pixel
// upsampling, depth-to-space, optional layer norm, tanh) and
// single-operator graphs for the quantization rules.
package testmodel

import (
	"fmt"
	"math"
	"math/rand"

	"github.com/animed/animed/internal/tflitefile"
)

// Config selects a model variant.
type Config struct {
	H, W int // input size; 0 means 64
	// Int8 quantizes the model fully (per-channel int8 weights, int8
	// activations) with QUANTIZE/DEQUANTIZE at the float ends.
	Int8 bool
	// Int8IO drops the QUANTIZE/DEQUANTIZE ends of an Int8 model, so the
	// caller feeds and reads int8 tensors (scale 1/127.5-ish, see Build).
	Int8IO bool
	// FixedSize appends a RESHAPE to a constant shape, so the model only
	// works at its own size, as models with constant-size ops do.
	FixedSize bool
}

const hidden = 8

// weights returns the seeded conv weights: w1 OHWI [8,3,3,3], b1 [8],
// w2 OHWI [3,1,1,8], b2 [3].
func weights() (w1, b1, w2, b2 []float32) {
	r := rand.New(rand.NewSource(42))
	w1 = make([]float32, hidden*3*3*3)
	b1 = make([]float32, hidden)
	for o := 0; o < hidden; o++ {
		for i := range 27 {
			w1[o*27+i] = float32(r.NormFloat64() * 0.08)
		}
		b1[o] = float32(r.NormFloat64() * 0.05)
	}
	// Channels 0..2 carry the input, shifted by +1 to survive the ReLU;
	// channels 3..5 carry its negation.
	for c := range 3 {
		center := (1*3 + 1) * 3 // kh=1, kw=1
		w1[c*27+center+c] += 1
		w1[(c+3)*27+center+c] -= 1
		b1[c] += 1
	}
	w2 = make([]float32, 3*hidden)
	b2 = make([]float32, 3)
	for o := range 3 {
		for i := range hidden {
			w2[o*hidden+i] = float32(r.NormFloat64() * 0.05)
		}
		w2[o*hidden+o] += 0.5
		w2[o*hidden+o+3] -= 0.5
		b2[o] = -0.5
	}
	return
}

// Reference computes the float model on an NHWC [1,h,w,3] image.
func Reference(in []float32, h, w int) []float32 {
	w1, b1, w2, b2 := weights()
	mid := make([]float32, h*w*hidden)
	for y := range h {
		for x := range w {
			for o := range hidden {
				acc := float64(b1[o])
				for ky := range 3 {
					for kx := range 3 {
						iy, ix := y+ky-1, x+kx-1
						if iy < 0 || iy >= h || ix < 0 || ix >= w {
							continue
						}
						for c := range 3 {
							acc += float64(in[(iy*w+ix)*3+c]) * float64(w1[((o*3+ky)*3+kx)*3+c])
						}
					}
				}
				mid[(y*w+x)*hidden+o] = float32(max(acc, 0))
			}
		}
	}
	out := make([]float32, h*w*3)
	for p := range h * w {
		for o := range 3 {
			acc := float64(b2[o])
			for i := range hidden {
				acc += float64(mid[p*hidden+i]) * float64(w2[o*hidden+i])
			}
			out[p*3+o] = float32(min(max(acc, -1), 1))
		}
	}
	return out
}

// FP32 returns the 64x64 float model.
func FP32() []byte { return MustBuild(Config{}) }

// Int8 returns the 64x64 fully quantized model with float I/O.
func Int8() []byte { return MustBuild(Config{Int8: true}) }

// MustBuild is Build for configurations known to be valid.
func MustBuild(c Config) []byte {
	b, err := Build(c)
	if err != nil {
		panic(err)
	}
	return b
}

// Build returns the .tflite bytes of the configured model.
func Build(c Config) ([]byte, error) {
	if c.H == 0 {
		c.H = 64
	}
	if c.W == 0 {
		c.W = 64
	}
	if c.Int8IO && !c.Int8 {
		return nil, fmt.Errorf("testmodel: Int8IO needs Int8")
	}
	m := tflitefile.NewModel()
	g := m.Main()
	h, w := int32(c.H), int32(c.W)
	w1, b1, w2, b2 := weights()
	img := []int32{1, h, w, 3}
	midShape := []int32{1, h, w, hidden}
	conv1 := &tflitefile.Conv2DOptions{Padding: tflitefile.Same, StrideW: 1, StrideH: 1,
		Activation: tflitefile.ActRelu, DilationWFactor: 1, DilationHFac: 1}
	conv2 := &tflitefile.Conv2DOptions{Padding: tflitefile.Same, StrideW: 1, StrideH: 1,
		Activation: tflitefile.ActReluN1To1, DilationWFactor: 1, DilationHFac: 1}
	sig := []int32{1, -1, -1, 3}
	if c.FixedSize {
		sig = nil
	}

	if !c.Int8 {
		in := g.AddTensor(&tflitefile.Tensor{Name: "input", Shape: img, ShapeSignature: sig, Type: tflitefile.Float32})
		k1 := g.AddTensor(&tflitefile.Tensor{Name: "conv1/w", Shape: []int32{hidden, 3, 3, 3}, Type: tflitefile.Float32, Buffer: m.AddBuffer(tflitefile.Float32Bytes(w1))})
		c1 := g.AddTensor(&tflitefile.Tensor{Name: "conv1/b", Shape: []int32{hidden}, Type: tflitefile.Float32, Buffer: m.AddBuffer(tflitefile.Float32Bytes(b1))})
		mid := g.AddTensor(&tflitefile.Tensor{Name: "mid", Shape: midShape, Type: tflitefile.Float32})
		k2 := g.AddTensor(&tflitefile.Tensor{Name: "conv2/w", Shape: []int32{3, 1, 1, hidden}, Type: tflitefile.Float32, Buffer: m.AddBuffer(tflitefile.Float32Bytes(w2))})
		c2 := g.AddTensor(&tflitefile.Tensor{Name: "conv2/b", Shape: []int32{3}, Type: tflitefile.Float32, Buffer: m.AddBuffer(tflitefile.Float32Bytes(b2))})
		out := g.AddTensor(&tflitefile.Tensor{Name: "output", Shape: img, ShapeSignature: sig, Type: tflitefile.Float32})
		g.Inputs = []int32{in}
		g.AddOperator(&tflitefile.Operator{Op: tflitefile.Conv2D, Version: 1, Inputs: []int32{in, k1, c1}, Outputs: []int32{mid}, Options: conv1})
		g.AddOperator(&tflitefile.Operator{Op: tflitefile.Conv2D, Version: 1, Inputs: []int32{mid, k2, c2}, Outputs: []int32{out}, Options: conv2})
		g.Outputs = []int32{finish(m, c, out, img, tflitefile.Float32, nil)}
		m.Description = "animed test model (fp32)"
		return m.Marshal()
	}

	// Activation ranges: the input and output images are [-1,1]; the hidden
	// layer's range comes from running the reference on random images.
	ioQ := quant(-1, 1)
	midMax := hiddenMax(w1, b1)
	midQ := quant(0, midMax)
	f := tflitefile.Float32
	if c.Int8IO {
		f = tflitefile.Int8
	}
	var in, qin int32
	if c.Int8IO {
		in = g.AddTensor(&tflitefile.Tensor{Name: "input", Shape: img, ShapeSignature: sig, Type: tflitefile.Int8, Quant: ioQ})
		qin = in
	} else {
		in = g.AddTensor(&tflitefile.Tensor{Name: "input", Shape: img, ShapeSignature: sig, Type: f})
		qin = g.AddTensor(&tflitefile.Tensor{Name: "input/q", Shape: img, Type: tflitefile.Int8, Quant: ioQ})
		g.AddOperator(&tflitefile.Operator{Op: tflitefile.Quantize, Version: 1, Inputs: []int32{in}, Outputs: []int32{qin}})
	}
	g.Inputs = []int32{in}
	k1, c1 := quantConv(m, g, "conv1", w1, b1, hidden, 9*3, ioQ.Scale[0], []int32{hidden, 3, 3, 3})
	mid := g.AddTensor(&tflitefile.Tensor{Name: "mid", Shape: midShape, Type: tflitefile.Int8, Quant: midQ})
	k2, c2 := quantConv(m, g, "conv2", w2, b2, 3, hidden, midQ.Scale[0], []int32{3, 1, 1, hidden})
	qout := g.AddTensor(&tflitefile.Tensor{Name: "output/q", Shape: img, Type: tflitefile.Int8, Quant: ioQ})
	g.AddOperator(&tflitefile.Operator{Op: tflitefile.Conv2D, Version: 3, Inputs: []int32{qin, k1, c1}, Outputs: []int32{mid}, Options: conv1})
	g.AddOperator(&tflitefile.Operator{Op: tflitefile.Conv2D, Version: 3, Inputs: []int32{mid, k2, c2}, Outputs: []int32{qout}, Options: conv2})
	last := finish(m, c, qout, img, tflitefile.Int8, ioQ)
	if c.Int8IO {
		g.Outputs = []int32{last}
	} else {
		out := g.AddTensor(&tflitefile.Tensor{Name: "output", Shape: img, ShapeSignature: sig, Type: tflitefile.Float32})
		g.AddOperator(&tflitefile.Operator{Op: tflitefile.Dequantize, Version: 2, Inputs: []int32{last}, Outputs: []int32{out}})
		g.Outputs = []int32{out}
	}
	m.Description = "animed test model (int8)"
	return m.Marshal()
}

// finish appends the RESHAPE of a FixedSize model and returns the tensor
// that carries the result.
func finish(m *tflitefile.Model, c Config, t int32, shape []int32, typ tflitefile.TensorType, q *tflitefile.Quantization) int32 {
	if !c.FixedSize {
		return t
	}
	g := m.Main()
	s := g.AddTensor(&tflitefile.Tensor{Name: "reshape/shape", Shape: []int32{4}, Type: tflitefile.Int32, Buffer: m.AddBuffer(tflitefile.Int32Bytes(shape))})
	out := g.AddTensor(&tflitefile.Tensor{Name: "reshaped", Shape: shape, Type: typ, Quant: q})
	g.AddOperator(&tflitefile.Operator{Op: tflitefile.Reshape, Version: 1, Inputs: []int32{t, s}, Outputs: []int32{out},
		Options: &tflitefile.ReshapeOptions{NewShape: shape}})
	return out
}

// quant returns asymmetric int8 parameters covering [lo, hi] (0 included).
func quant(lo, hi float64) *tflitefile.Quantization {
	lo, hi = min(lo, 0), max(hi, 0)
	scale := (hi - lo) / 255
	zp := math.Round(-128 - lo/scale)
	return &tflitefile.Quantization{Scale: []float32{float32(scale)}, ZeroPoint: []int64{int64(zp)}}
}

// quantConv adds per-channel int8 weights (axis 0, symmetric) and int32 bias.
func quantConv(m *tflitefile.Model, g *tflitefile.Subgraph, name string, w, b []float32, outC, perOut int, inScale float32, shape []int32) (int32, int32) {
	qw := make([]int8, len(w))
	qb := make([]int32, outC)
	scales := make([]float32, outC)
	bscales := make([]float32, outC)
	zps := make([]int64, outC)
	for o := range outC {
		var m float32
		for _, v := range w[o*perOut : (o+1)*perOut] {
			m = max(m, float32(math.Abs(float64(v))))
		}
		s := max(m/127, 1e-9)
		scales[o] = s
		for i, v := range w[o*perOut : (o+1)*perOut] {
			qw[o*perOut+i] = int8(max(-127, min(127, math.Round(float64(v/s)))))
		}
		bscales[o] = inScale * s
		qb[o] = int32(math.Round(float64(b[o] / bscales[o])))
	}
	k := g.AddTensor(&tflitefile.Tensor{Name: name + "/w", Shape: shape, Type: tflitefile.Int8, Buffer: m.AddBuffer(tflitefile.Int8Bytes(qw)),
		Quant: &tflitefile.Quantization{Scale: scales, ZeroPoint: zps, QuantizedDimension: 0}})
	c := g.AddTensor(&tflitefile.Tensor{Name: name + "/b", Shape: []int32{int32(outC)}, Type: tflitefile.Int32, Buffer: m.AddBuffer(tflitefile.Int32Bytes(qb)),
		Quant: &tflitefile.Quantization{Scale: bscales, ZeroPoint: make([]int64, outC)}})
	return k, c
}

// hiddenMax bounds the hidden layer's activations over [-1,1] inputs: the
// sum of absolute weights plus the bias, per channel, is a safe range.
func hiddenMax(w1, b1 []float32) float64 {
	var m float64
	for o := range hidden {
		s := float64(b1[o])
		for _, v := range w1[o*27 : (o+1)*27] {
			s += math.Abs(float64(v))
		}
		m = max(m, s)
	}
	return m
}
