package quantize

import (
	"fmt"
	"math"

	tfl "github.com/animed/animed/internal/tflitefile"
)

// Range is an observed or chosen range of real values.
type Range struct {
	Min, Max float32
}

// Params are per-tensor affine int8 parameters: real = Scale * (q - ZeroPoint).
type Params struct {
	Scale     float32
	ZeroPoint int32
}

// minRangeWidth keeps a constant (often all-zero) tensor from getting a
// zero scale.
const minRangeWidth = 1e-6

// ActivationParams returns asymmetric int8 parameters that cover r and
// represent 0 exactly.
func ActivationParams(r Range) Params {
	lo := math.Min(float64(r.Min), 0)
	hi := math.Max(float64(r.Max), 0)
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		lo, hi = -1, 1
	}
	if hi-lo < minRangeWidth {
		hi = lo + minRangeWidth
	}
	scale := (hi - lo) / 255
	zp := math.Round(-128 - lo/scale)
	zp = math.Max(-128, math.Min(127, zp))
	return Params{Scale: float32(scale), ZeroPoint: int32(zp)}
}

// Representable returns the real range p can express.
func (p Params) Representable() Range {
	return Range{Min: p.Scale * float32(-128-p.ZeroPoint), Max: p.Scale * float32(127-p.ZeroPoint)}
}

// Quantize maps v to int8 with p, rounding half away from zero.
func (p Params) Quantize(v float32) int8 {
	q := math.Round(float64(v)/float64(p.Scale)) + float64(p.ZeroPoint)
	if math.IsNaN(q) {
		q = float64(p.ZeroPoint)
	}
	return int8(math.Max(-128, math.Min(127, q)))
}

func (p Params) quant() *tfl.Quantization {
	return &tfl.Quantization{Scale: []float32{p.Scale}, ZeroPoint: []int64{int64(p.ZeroPoint)}}
}

// minWeightScale is the floor for per-channel weight scales: all-zero (or
// nearly zero) channels would otherwise get a zero or denormal scale, which
// XNNPACK rejects and the bias scale cannot follow.
const minWeightScale = 1e-8

// maxBias is the largest int32 bias magnitude the pass writes; the headroom
// keeps the kernels' accumulators from overflowing.
const maxBias = 1 << 30

// QuantizedWeights are per-channel symmetric int8 weights with their int32
// bias.
type QuantizedWeights struct {
	Weights     []int8
	Scales      []float32 // one per channel along Axis
	Axis        int
	Bias        []int32   // nil without bias
	BiasScales  []float32 // InputScale * Scales[c]
	RaisedScale int       // channels whose weight scale was raised to fit the bias
}

// QuantizeWeights quantizes float weights of the given shape per channel
// along axis (or per tensor when perChannel is false), and bias (one per
// channel, may be nil) to int32 at inputScale × weight scale.
func QuantizeWeights(w []float32, shape []int32, axis int, perChannel bool, bias []float32, inputScale float32) (*QuantizedWeights, error) {
	if axis < 0 || axis >= len(shape) {
		return nil, fmt.Errorf("weights of shape %v have no axis %d", shape, axis)
	}
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	if n != len(w) {
		return nil, fmt.Errorf("weights of shape %v need %d values, have %d", shape, n, len(w))
	}
	channels := int(shape[axis])
	inner := 1
	for _, d := range shape[axis+1:] {
		inner *= int(d)
	}
	chanOf := func(i int) int { return (i / inner) % channels }
	if bias != nil && len(bias) != channels {
		return nil, fmt.Errorf("bias has %d values for %d output channels", len(bias), channels)
	}
	if !(inputScale > 0) {
		return nil, fmt.Errorf("input scale %g is not positive", inputScale)
	}
	maxAbs := make([]float64, channels)
	for i, v := range w {
		c := chanOf(i)
		maxAbs[c] = math.Max(maxAbs[c], math.Abs(float64(v)))
	}
	nScales := channels
	if !perChannel {
		nScales = 1
		var m float64
		for _, v := range maxAbs {
			m = math.Max(m, v)
		}
		maxAbs = []float64{m}
	}
	q := &QuantizedWeights{Scales: make([]float32, nScales), Axis: axis, Weights: make([]int8, len(w))}
	for c := range nScales {
		s := math.Max(maxAbs[c]/127, minWeightScale)
		// The bias must fit in int32 at scale inputScale*s.
		need := 0.0
		if bias != nil {
			if perChannel {
				need = math.Abs(float64(bias[c]))
			} else {
				for _, b := range bias {
					need = math.Max(need, math.Abs(float64(b)))
				}
			}
		}
		if need/(float64(inputScale)*s) > maxBias {
			s = need / (float64(inputScale) * maxBias) * (1 + 1e-6)
			q.RaisedScale++
		}
		q.Scales[c] = float32(s)
	}
	for i, v := range w {
		c := 0
		if perChannel {
			c = chanOf(i)
		}
		x := math.Round(float64(v) / float64(q.Scales[c]))
		q.Weights[i] = int8(math.Max(-127, math.Min(127, x)))
	}
	if bias != nil {
		q.Bias = make([]int32, len(bias))
		q.BiasScales = make([]float32, nScales)
		for c := range nScales {
			q.BiasScales[c] = inputScale * q.Scales[c]
		}
		for c, b := range bias {
			bs := q.BiasScales[0]
			if perChannel {
				bs = q.BiasScales[c]
			}
			x := math.Round(float64(b) / float64(bs))
			q.Bias[c] = int32(math.Max(-maxBias*2+1, math.Min(maxBias*2-1, x)))
		}
	}
	return q, nil
}
