package pass

import (
	"math"

	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// Pooling: MaxPool and AveragePool (MAX_POOL_2D, AVERAGE_POOL_2D), shaped
// like convolutions (inferWindow).
func init() {
	register(family{infer: inferWindow, lower: (*lowering).pool}, "MaxPool", "AveragePool")
}

// pool lowers MaxPool and AveragePool to MAX_POOL_2D / AVERAGE_POOL_2D.
// TFLite's SAME excludes the padding from both (max ignores it, average
// divides by the valid count), so SAME is used only when it equals the
// ONNX pads for every size and, for AveragePool, count_include_pad is 0.
// Other pads become an explicit PADV2 (-FLT_MAX for max) or PAD (zeros,
// averaging with count_include_pad=1) followed by VALID.
func (l *lowering) pool(n *ir.Node) error {
	if _, err := l.entry(n, 0); err != nil {
		return err
	}
	x := n.In(0)
	if x.Rank() != 4 {
		return nodeErr(n, "only 2-D pooling is supported")
	}
	if len(n.Outputs) > 1 && n.Outputs[1] != nil {
		return nodeErr(n, "the indices output is not supported")
	}
	p, err := window(n, x.Shape[2:])
	if err != nil {
		return err
	}
	if p.dilations[0] != 1 || p.dilations[1] != 1 {
		return nodeErr(n, "dilated pooling is not supported")
	}
	out := permute(n.Outputs[0].Shape, nhwc)
	if n.Attrs.Int("ceil_mode", 0) != 0 {
		for i := range 2 {
			in := x.Shape[2+i]
			floor := (in+p.pads[i]+p.pads[i+2]-p.kernel[i])/p.strides[i] + 1
			if floor != n.Outputs[0].Shape[2+i] {
				return nodeErr(n, "ceil_mode changes the output size here; it is not supported")
			}
		}
	}
	isMax := n.Op == "MaxPool"
	includePad := n.Attrs.Int("count_include_pad", 0) != 0
	same, explicit := spatialPadding(p)
	in := l.get(x, nhwc)
	switch {
	case same && (isMax || !includePad):
	case same || explicit:
		same = false
		if isMax {
			in = l.padNHWC(n.Name, in, p.pads, -math.MaxFloat32)
		} else if includePad {
			in = l.padNHWC(n.Name, in, p.pads, 0)
		} else {
			return nodeErr(n, "AveragePool with these pads and count_include_pad=0 has no TFLite equivalent")
		}
	}
	padding := "VALID"
	if same {
		padding = "SAME"
	}
	op := tflitefile.AveragePool2D
	if isMax {
		op = tflitefile.MaxPool2D
	}
	l.set(n, l.emit(op, n.Name, []*ir.Value{in}, out, ir.Attrs{"padding": padding,
		"stride_h": int64(p.strides[0]), "stride_w": int64(p.strides[1]),
		"filter_height": int64(p.kernel[0]), "filter_width": int64(p.kernel[1]), "fused_activation_function": "NONE"}), nhwc)
	return nil
}
