package stylize

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/animed/animed/internal/tflitefile"
)

// graphFacts is what the model's graph says about tiling it.
type graphFacts struct {
	stride int    // total stride: the LCM of the spatial downsampling ratios
	whole  string // why the output needs the whole image, or ""
}

// readGraph finds the model's total stride and the first op whose output
// depends on the whole image: a reduction (MEAN, SUM, REDUCE_*) over H or
// W, as InstanceNorm, LayerNorm and GroupNorm become, or a RESHAPE that
// merges H and W with other axes, as attention over all pixels does.
func readGraph(data []byte) (graphFacts, error) {
	m, err := tflitefile.Parse(data)
	if err != nil {
		return graphFacts{}, err
	}
	if len(m.Subgraphs) == 0 || len(m.Subgraphs[0].Inputs) != 1 {
		return graphFacts{}, fmt.Errorf("read graph: want one subgraph with one input: %w", ErrModelShape)
	}
	g := m.Subgraphs[0]
	tensor := func(i int32) *tflitefile.Tensor {
		if i < 0 || int(i) >= len(g.Tensors) {
			return nil
		}
		return g.Tensors[i]
	}
	in := tensor(g.Inputs[0])
	if in == nil || len(in.Shape) != 4 {
		return graphFacts{}, fmt.Errorf("read graph: input is not NHWC: %w", ErrModelShape)
	}
	h, w := int(in.Shape[1]), int(in.Shape[2])
	f := graphFacts{stride: 1}
	for i, op := range g.Operators {
		if len(op.Inputs) == 0 || len(op.Outputs) == 0 {
			continue
		}
		x, y := tensor(op.Inputs[0]), tensor(op.Outputs[0])
		if x == nil || y == nil {
			continue
		}
		switch op.Op {
		case tflitefile.Conv2D, tflitefile.DepthwiseConv2D, tflitefile.AveragePool2D, tflitefile.MaxPool2D, tflitefile.SpaceToDepth,
			tflitefile.ResizeBilinear, tflitefile.ResizeNearestNeighbor, tflitefile.TransposeConv, tflitefile.DepthToSpace:
			// A tensor of h' rows samples the input on a grid of
			// h/gcd(h, h') rows: 4 for a quarter, 8 for five eighths.
			if len(y.Shape) == 4 && y.Shape[1] > 0 && y.Shape[2] > 0 {
				f.stride = lcm(f.stride, lcm(h/gcd(h, int(y.Shape[1])), w/gcd(w, int(y.Shape[2]))))
			}
		case tflitefile.Mean, tflitefile.Sum, tflitefile.ReduceProd, tflitefile.ReduceMax, tflitefile.ReduceMin:
			if f.whole == "" && len(x.Shape) == 4 && len(op.Inputs) > 1 && spatialAxes(m, tensor(op.Inputs[1])) {
				f.whole = fmt.Sprintf("%s over H and W (operator %d)", op.Op, i)
			}
		case tflitefile.Reshape:
			if f.whole == "" && len(x.Shape) == 4 && (x.Shape[1] > 1 || x.Shape[2] > 1) &&
				(len(y.Shape) < 3 || y.Shape[1] != x.Shape[1] || y.Shape[2] != x.Shape[2]) {
				f.whole = fmt.Sprintf("RESHAPE %v -> %v merges H and W (operator %d)", x.Shape, y.Shape, i)
			}
		}
	}
	return f, nil
}

// spatialAxes reports whether the constant axes tensor of a reduction over
// an NHWC tensor names H or W (1, 2, -3 or -2); unknown axes count as yes.
func spatialAxes(m *tflitefile.Model, axes *tflitefile.Tensor) bool {
	if axes == nil || int(axes.Buffer) >= len(m.Buffers) || axes.Type != tflitefile.Int32 {
		return true
	}
	d := m.Buffers[axes.Buffer].Data
	if len(d) == 0 {
		return true
	}
	var v []int32
	for i := 0; i+4 <= len(d); i += 4 {
		v = append(v, int32(binary.LittleEndian.Uint32(d[i:])))
	}
	return slices.ContainsFunc(v, func(a int32) bool { return a == 1 || a == 2 || a == -3 || a == -2 })
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func lcm(a, b int) int { return a / gcd(a, b) * b }
