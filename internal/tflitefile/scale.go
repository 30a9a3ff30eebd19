package tflitefile

import (
	"errors"
	"fmt"
	"slices"
)

// ErrNotScalable reports a model whose constants cannot be rewritten for
// another input size.
var ErrNotScalable = errors.New("model cannot be rescaled")

// sizeUse is a constant tensor that holds output sizes: the [2] size of a
// RESIZE_* op (dims H, W) or the [4] output_shape of a TRANSPOSE_CONV
// (dims 1, 2).
type sizeUse struct {
	tensor int32
	hw     [2]int // positions of H and W in the tensor's data
}

// scalePlan is what ScaleInput changes: the input tensor and the size
// constants.
type scalePlan struct {
	input  int32
	h0, w0 int
	sizes  []sizeUse
}

// planScale checks that m is a single-input NHWC image model whose only
// size-dependent constants are RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR
// sizes and TRANSPOSE_CONV output shapes, each a constant int32 tensor
// used for that purpose only.
func planScale(m *Model) (*scalePlan, error) {
	if len(m.Subgraphs) != 1 {
		return nil, fmt.Errorf("%w: %d subgraphs, want 1", ErrNotScalable, len(m.Subgraphs))
	}
	g := m.Subgraphs[0]
	if len(g.Inputs) != 1 {
		return nil, fmt.Errorf("%w: %d inputs, want 1", ErrNotScalable, len(g.Inputs))
	}
	nt := int32(len(g.Tensors))
	in := g.Inputs[0]
	if in < 0 || in >= nt {
		return nil, fmt.Errorf("%w: input refers to tensor %d of %d", ErrNotScalable, in, nt)
	}
	if s := g.Tensors[in].Shape; len(s) != 4 || s[0] != 1 || s[1] < 1 || s[2] < 1 {
		return nil, fmt.Errorf("%w: input shape %v, want [1 H W C]", ErrNotScalable, s)
	}
	p := &scalePlan{input: in, h0: int(g.Tensors[in].Shape[1]), w0: int(g.Tensors[in].Shape[2])}

	// How each tensor is used: by how many operator inputs, and whether
	// it is a graph input or output.
	uses := make(map[int32]int)
	for _, t := range g.Inputs {
		uses[t]++
	}
	for _, t := range g.Outputs {
		uses[t]++
	}
	for _, op := range g.Operators {
		for _, t := range op.Inputs {
			if t >= 0 {
				uses[t]++
			}
		}
	}
	isConst := func(t int32) bool {
		return t >= 0 && t < nt && g.Tensors[t].Buffer != 0 && int(g.Tensors[t].Buffer) < len(m.Buffers) &&
			len(m.Buffers[g.Tensors[t].Buffer].Data) > 0
	}
	seen := make(map[int32]bool)
	for oi, op := range g.Operators {
		var (
			t    int32 = -1
			n    int
			hw   [2]int
			what string
		)
		switch op.Op {
		case ResizeBilinear, ResizeNearestNeighbor:
			if len(op.Inputs) < 2 {
				return nil, fmt.Errorf("%w: operator %d (%s) has no size input", ErrNotScalable, oi, op.Op)
			}
			t, n, hw, what = op.Inputs[1], 2, [2]int{0, 1}, "size"
		case TransposeConv:
			if len(op.Inputs) < 1 {
				return nil, fmt.Errorf("%w: operator %d (%s) has no output_shape input", ErrNotScalable, oi, op.Op)
			}
			t, n, hw, what = op.Inputs[0], 4, [2]int{1, 2}, "output_shape"
		default:
			if !op.Op.Info().SizeAgnostic {
				return nil, fmt.Errorf("%w: operator %d (%s) may encode absolute sizes", ErrNotScalable, oi, op.Op)
			}
			if op.Op.Info().Broadcasting {
				for _, x := range op.Inputs {
					if !isConst(x) {
						continue
					}
					if s := g.Tensors[x].Shape; len(s) >= 3 && (s[len(s)-3] != 1 || s[len(s)-2] != 1) {
						return nil, fmt.Errorf("%w: operator %d (%s) has a constant operand %q of spatial shape %v",
							ErrNotScalable, oi, op.Op, g.Tensors[x].Name, s)
					}
				}
			}
			continue
		}
		if !isConst(t) {
			return nil, fmt.Errorf("%w: operator %d (%s): its %s is not a constant tensor", ErrNotScalable, oi, op.Op, what)
		}
		st := g.Tensors[t]
		if st.Type != Int32 || len(st.Shape) != 1 || int(st.Shape[0]) != n || len(m.Buffers[st.Buffer].Data) != 4*n {
			return nil, fmt.Errorf("%w: operator %d (%s): %s %q is %s %v, want int32 [%d]", ErrNotScalable, oi, op.Op, what, st.Name, st.Type, st.Shape, n)
		}
		if uses[t] != 1 {
			return nil, fmt.Errorf("%w: operator %d (%s): %s %q is used %d times", ErrNotScalable, oi, op.Op, what, st.Name, uses[t])
		}
		if seen[t] {
			continue
		}
		seen[t] = true
		p.sizes = append(p.sizes, sizeUse{tensor: t, hw: hw})
	}
	return p, nil
}

// Scalable reports whether ScaleInput can rewrite m for other input sizes
// (which sizes then work depends on their ratio to the converted size):
// nil, or an error that says why not.
func Scalable(m *Model) error {
	_, err := planScale(m)
	return err
}

// ScaleInput rewrites m in place for an input of h x w pixels: the input
// tensor's shape becomes [1 h w C], and the constant output sizes of
// RESIZE_BILINEAR, RESIZE_NEAREST_NEIGHBOR (size, [2]) and TRANSPOSE_CONV
// (output_shape, dims 1 and 2) are scaled by h/H0 and w/W0, where H0 x W0
// is the current input size. Other tensors keep their recorded shapes:
// the runtime computes them again when it allocates. It refuses (and
// leaves m unchanged) when a scaled size is not a whole number, when a
// size tensor is not a constant used only as that size, or when the model
// has an operator whose constants may encode absolute sizes (RESHAPE,
// SLICE, FULLY_CONNECTED, ...).
func (m *Model) ScaleInput(h, w int) error {
	if h < 1 || w < 1 {
		return fmt.Errorf("scale input to %dx%d: sizes must be positive", w, h)
	}
	p, err := planScale(m)
	if err != nil {
		return fmt.Errorf("scale input to %dx%d: %w", w, h, err)
	}
	g := m.Subgraphs[0]
	newData := make([][]byte, len(p.sizes))
	for i, s := range p.sizes {
		t := g.Tensors[s.tensor]
		v := BytesInt32(m.Buffers[t.Buffer].Data)
		for k, to := range [2][2]int{{p.h0, h}, {p.w0, w}} {
			d := int(v[s.hw[k]])
			if d*to[1]%to[0] != 0 {
				return fmt.Errorf("scale input to %dx%d: %w: %q dimension %d (%d) times %d/%d is not a whole number",
					w, h, ErrNotScalable, t.Name, s.hw[k], d, to[1], to[0])
			}
			v[s.hw[k]] = int32(d * to[1] / to[0])
		}
		newData[i] = Int32Bytes(v)
	}
	for i, s := range p.sizes {
		// A fresh buffer: the old one may be shared with other tensors.
		g.Tensors[s.tensor].Buffer = m.AddBuffer(newData[i])
	}
	in := g.Tensors[p.input]
	in.Shape = slices.Clone(in.Shape)
	in.Shape[1], in.Shape[2] = int32(h), int32(w)
	if len(in.ShapeSignature) == 4 {
		in.ShapeSignature = slices.Clone(in.ShapeSignature)
		for k, d := range map[int]int{1: h, 2: w} {
			if in.ShapeSignature[k] != -1 {
				in.ShapeSignature[k] = int32(d)
			}
		}
	}
	return nil
}

// ScaleInput returns a copy of the model in data rewritten for an h x w
// input (see Model.ScaleInput).
func ScaleInput(data []byte, h, w int) ([]byte, error) {
	m, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if err := m.ScaleInput(h, w); err != nil {
		return nil, err
	}
	return m.Marshal()
}
