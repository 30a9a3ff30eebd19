package verify

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/animed/animed/converter"
	"github.com/animed/animed/converter/exec"
	"github.com/animed/animed/converter/ir"
)

// Input is one set of model inputs in ONNX layout (e.g. NCHW), keyed by
// input name.
type Input map[string]Tensor

// Report is the result of Check: the largest absolute difference to ONNX
// Runtime per backend over all runs and outputs.
type Report struct {
	Runs   int
	MaxAbs map[string]float64 // backend ("tflite", "exec") -> max abs error
}

// Backend runs the converted model on inputs in its own (physical) layout
// and returns outputs in the physical layout.
type Backend struct {
	Name string
	Run  func(inputs [][]float32) ([][]float32, error)
}

// ExecBackend runs the TFLite-level IR with the Go reference executor.
func ExecBackend(g *ir.Graph) Backend {
	return Backend{Name: "exec", Run: func(in [][]float32) ([][]float32, error) { return exec.Run(g, in, nil) }}
}

// RandomInputs makes n input sets uniform in [-1, 1] for the ONNX input
// shapes (logical layout) of a converted model.
func RandomInputs(res *converter.Result, n int, seed uint64) []Input {
	rng := rand.New(rand.NewPCG(seed, 99))
	var out []Input
	for range n {
		in := Input{}
		for i, v := range res.Graph.Inputs {
			shape := logicalShape(v.Shape, res.Info.Layouts[fmt.Sprintf("input%d_layout", i)])
			d := make([]float32, ir.NumElements(shape))
			for k := range d {
				d[k] = rng.Float32()*2 - 1
			}
			in[v.Name] = Tensor{Name: v.Name, Shape: shape, Data: d}
		}
		out = append(out, in)
	}
	return out
}

var toNHWC, toNCHW = []int{0, 2, 3, 1}, []int{0, 3, 1, 2}

func logicalShape(phys []int, layout string) []int {
	if layout == "NHWC" {
		return permute(phys, toNCHW)
	}
	return slices.Clone(phys)
}

func permute(s, p []int) []int {
	out := make([]int, len(p))
	for i, v := range p {
		out[i] = s[v]
	}
	return out
}

// Check runs ONNX Runtime on the ONNX file and each backend on the same
// inputs and reports the maximum absolute differences.
func Check(ctx context.Context, ort *ORT, onnxPath string, res *converter.Result, inputs []Input, backends ...Backend) (Report, error) {
	ref, err := ort.Run(ctx, onnxPath, toRuns(inputs))
	if err != nil {
		return Report{}, err
	}
	return Compare(res, inputs, ref, backends...)
}

// Compare runs each backend on inputs and compares with reference outputs
// (ONNX layout, one list per input set).
func Compare(res *converter.Result, inputs []Input, ref [][]Tensor, backends ...Backend) (Report, error) {
	rep := Report{Runs: len(inputs), MaxAbs: map[string]float64{}}
	for ri, in := range inputs {
		var phys [][]float32
		for i, v := range res.Graph.Inputs {
			t, ok := in[v.Name]
			if !ok {
				return rep, fmt.Errorf("no data for input %q", v.Name)
			}
			d := t.Data
			if res.Info.Layouts[fmt.Sprintf("input%d_layout", i)] == "NHWC" {
				d = ir.FloatTensor(t.Shape, d).Transpose(toNHWC).F
			}
			phys = append(phys, d)
		}
		for _, b := range backends {
			outs, err := b.Run(phys)
			if err != nil {
				return rep, fmt.Errorf("%s: %w", b.Name, err)
			}
			if len(outs) != len(ref[ri]) {
				return rep, fmt.Errorf("%s: %d outputs, ONNX Runtime has %d", b.Name, len(outs), len(ref[ri]))
			}
			for oi, r := range ref[ri] {
				want := r.Data
				if res.Info.Layouts[fmt.Sprintf("output%d_layout", oi)] == "NHWC" {
					want = ir.FloatTensor(r.Shape, want).Transpose(toNHWC).F
				}
				if len(outs[oi]) != len(want) {
					return rep, fmt.Errorf("%s: output %d has %d values, ONNX Runtime %d", b.Name, oi, len(outs[oi]), len(want))
				}
				m := rep.MaxAbs[b.Name]
				for k, w := range want {
					g := float64(outs[oi][k])
					d := math.Abs(g - float64(w))
					switch {
					case math.IsNaN(g) && math.IsNaN(float64(w)):
						d = 0 // both undefined (e.g. sqrt of a negative)
					case math.IsNaN(d):
						d = math.Inf(1)
					}
					m = max(m, d)
				}
				rep.MaxAbs[b.Name] = m
			}
		}
	}
	return rep, nil
}

func toRuns(in []Input) []map[string]Tensor {
	out := make([]map[string]Tensor, len(in))
	for i, m := range in {
		out[i] = m
	}
	return out
}
