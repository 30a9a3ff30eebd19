package exec

import (
	"math"
	"slices"

	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// reduceWith folds x over axes (negative axes count from the end) with
// combine, starting each output element at init; it returns the reduced
// values and how many inputs each one combined.
func reduceWith(x []float32, xs, axes []int, init float64, combine func(acc, v float64) float64) ([]float64, int) {
	red := make([]bool, len(xs))
	for _, a := range axes {
		if a < 0 {
			a += len(xs)
		}
		red[a] = true
	}
	os := slices.Clone(xs)
	cnt := 1
	for i := range os {
		if red[i] {
			cnt *= os[i]
			os[i] = 1
		}
	}
	acc := make([]float64, ir.NumElements(os))
	for i := range acc {
		acc[i] = init
	}
	ost := ir.Strides(os)
	coord := make([]int, len(xs))
	for k := range x {
		off := 0
		for i, c := range coord {
			if !red[i] {
				off += c * ost[i]
			}
		}
		acc[off] = combine(acc[off], float64(x[k]))
		for i := len(xs) - 1; i >= 0; i-- {
			coord[i]++
			if coord[i] < xs[i] {
				break
			}
			coord[i] = 0
		}
	}
	return acc, cnt
}

func mean(x []float32, xs, axes []int) []float32 {
	sum, cnt := reduceWith(x, xs, axes, 0, func(a, v float64) float64 { return a + v })
	out := make([]float32, len(sum))
	for i, s := range sum {
		out[i] = float32(s / float64(cnt))
	}
	return out
}

// reducers are the TFLite reductions besides MEAN.
var reducers = map[tflitefile.BuiltinOp]struct {
	init    float64
	combine func(acc, v float64) float64
}{
	tflitefile.Sum: {0, func(a, v float64) float64 { return a + v }},
	// In float32, as TFLite multiplies: a product of many values keeps
	// float32's rounding, which float64 would not reproduce.
	tflitefile.ReduceProd: {1, func(a, v float64) float64 { return float64(float32(a) * float32(v)) }},
	tflitefile.ReduceMax:  {math.Inf(-1), math.Max},
	tflitefile.ReduceMin:  {math.Inf(1), math.Min},
}

func reduce(op tflitefile.BuiltinOp, x []float32, xs, axes []int) []float32 {
	r := reducers[op]
	acc, _ := reduceWith(x, xs, axes, r.init, r.combine)
	out := make([]float32, len(acc))
	for i, v := range acc {
		out[i] = float32(v)
	}
	return out
}
