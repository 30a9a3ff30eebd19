package converter

import (
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/animed/animed/internal/tflitefile"
)

// Summary describes a TFLite model: operator histogram, parameter count,
// multiply-accumulates per inference, and the ops XNNPACK cannot take.
type Summary struct {
	Ops        map[string]int
	Params     int   // elements of constant float/int8 tensors read by operators as weights or biases
	MACs       int64 // of CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV, FULLY_CONNECTED, BATCH_MATMUL
	NotXNNPACK map[string]int
}

// Summarize computes a Summary of subgraph 0.
func Summarize(m *tflitefile.Model) Summary {
	s := Summary{Ops: map[string]int{}, NotXNNPACK: map[string]int{}}
	g := m.Main()
	shape := func(i int32) []int {
		if i < 0 || int(i) >= len(g.Tensors) {
			return nil
		}
		out := make([]int, len(g.Tensors[i].Shape))
		for k, d := range g.Tensors[i].Shape {
			out[k] = int(d)
		}
		return out
	}
	prod := func(s []int) int64 {
		p := int64(1)
		for _, d := range s {
			p *= int64(d)
		}
		return p
	}
	counted := map[int32]bool{}
	for _, op := range g.Operators {
		name := op.Op.String()
		s.Ops[name]++
		if !xnnpackTakes(m, op) {
			s.NotXNNPACK[name]++
		}
		for _, in := range op.Inputs {
			if in < 0 || int(in) >= len(g.Tensors) || counted[in] {
				continue
			}
			t := g.Tensors[in]
			if t.Buffer != 0 && (t.Type == tflitefile.Float32 || t.Type == tflitefile.Int8 || t.Type == tflitefile.Float16) &&
				int(t.Buffer) < len(m.Buffers) && len(m.Buffers[t.Buffer].Data) > 0 {
				counted[in] = true
				s.Params += int(prod(shape(in)))
			}
		}
		if len(op.Outputs) == 0 || len(op.Inputs) < 2 {
			continue
		}
		out := shape(op.Outputs[0])
		switch op.Op {
		case tflitefile.Conv2D:
			w := shape(op.Inputs[1])
			s.MACs += prod(out) * prod(w[1:])
		case tflitefile.DepthwiseConv2D:
			w := shape(op.Inputs[1])
			s.MACs += prod(out) * int64(w[1]*w[2])
		case tflitefile.TransposeConv:
			w, x := shape(op.Inputs[1]), shape(op.Inputs[2])
			s.MACs += prod(x) * prod(w[:3])
		case tflitefile.FullyConnected:
			w := shape(op.Inputs[1])
			s.MACs += prod(out) * int64(w[1])
		case tflitefile.BatchMatMul:
			a := shape(op.Inputs[0])
			k := a[len(a)-1]
			if o, ok := op.Options.(*tflitefile.BatchMatMulOptions); ok && o.AdjX {
				k = a[len(a)-2]
			}
			s.MACs += prod(out) * int64(k)
		}
	}
	return s
}

// Write prints the summary as text.
func (s Summary) Write(w io.Writer) {
	fmt.Fprintf(w, "operators:\n")
	for _, k := range slices.Sorted(maps.Keys(s.Ops)) {
		fmt.Fprintf(w, "  %-24s %d\n", k, s.Ops[k])
	}
	fmt.Fprintf(w, "parameters: %d\nMACs: %d (%.3f G)\n", s.Params, s.MACs, float64(s.MACs)/1e9)
	if len(s.NotXNNPACK) == 0 {
		fmt.Fprintf(w, "XNNPACK (TFLite 2.9) can take every operator\n")
		return
	}
	fmt.Fprintf(w, "not taken by XNNPACK (TFLite 2.9):")
	for _, k := range slices.Sorted(maps.Keys(s.NotXNNPACK)) {
		fmt.Fprintf(w, " %s×%d", k, s.NotXNNPACK[k])
	}
	fmt.Fprintln(w)
}

// xnnpackTakes applies the op list plus the per-op limits the delegate
// checks that matter for converted generators: MEAN only over the spatial
// axes [1,2] of a 4-D tensor with keep_dims.
func xnnpackTakes(m *tflitefile.Model, op *tflitefile.Operator) bool {
	if !op.Op.Info().XNNPACK {
		return false
	}
	if op.Op != tflitefile.Mean {
		return true
	}
	g := m.Main()
	if o, ok := op.Options.(*tflitefile.ReducerOptions); !ok || !o.KeepDims || len(op.Inputs) < 2 {
		return false
	}
	in, axes := g.Tensors[op.Inputs[0]], g.Tensors[op.Inputs[1]]
	if len(in.Shape) != 4 || int(axes.Buffer) >= len(m.Buffers) {
		return false
	}
	a := tflitefile.BytesInt32(m.Buffers[axes.Buffer].Data)
	return len(a) == 2 && min(a[0], a[1]) == 1 && max(a[0], a[1]) == 2
}
