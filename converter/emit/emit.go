// Package emit writes a TFLite-level IR graph (nodes made by ir.Graph.AddTFLite, see
// package converter/pass) as a tflitefile.Model.
package emit

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

func act(a ir.Attrs) (tflitefile.Activation, error) {
	switch s := a.String("fused_activation_function", "NONE"); s {
	case "NONE":
		return tflitefile.ActNone, nil
	case "RELU":
		return tflitefile.ActRelu, nil
	case "RELU6":
		return tflitefile.ActRelu6, nil
	case "RELU_N1_TO_1":
		return tflitefile.ActReluN1To1, nil
	default:
		return 0, fmt.Errorf("fused activation %q", s)
	}
}

func padding(a ir.Attrs) tflitefile.Padding {
	if a.String("padding", "VALID") == "SAME" {
		return tflitefile.Same
	}
	return tflitefile.Valid
}

func flag(a ir.Attrs, k string) bool { b, _ := a[k].(bool); return b }

func i32(a ir.Attrs, k string, def int64) int32 { return int32(a.Int(k, def)) }

// options builds the option table and op version for a node (FP32
// versions; the INT8 pass raises them).
func options(n *ir.Node) (tflitefile.Options, int32, error) {
	a := n.Attrs
	ac, err := act(a)
	if err != nil {
		return nil, 0, err
	}
	op, _ := n.Builtin()
	switch op {
	case tflitefile.Conv2D:
		return &tflitefile.Conv2DOptions{Padding: padding(a), StrideW: i32(a, "stride_w", 1), StrideH: i32(a, "stride_h", 1),
			Activation: ac, DilationWFactor: i32(a, "dilation_w", 1), DilationHFac: i32(a, "dilation_h", 1)}, 1, nil
	case tflitefile.DepthwiseConv2D:
		v := int32(1)
		if a.Int("dilation_w", 1) != 1 || a.Int("dilation_h", 1) != 1 {
			v = 2
		}
		return &tflitefile.DepthwiseConv2DOptions{Padding: padding(a), StrideW: i32(a, "stride_w", 1), StrideH: i32(a, "stride_h", 1),
			DepthMultiplier: i32(a, "depth_multiplier", 1), Activation: ac,
			DilationWFactor: i32(a, "dilation_w", 1), DilationHFac: i32(a, "dilation_h", 1)}, v, nil
	case tflitefile.MaxPool2D, tflitefile.AveragePool2D:
		return &tflitefile.Pool2DOptions{Padding: padding(a), StrideW: i32(a, "stride_w", 1), StrideH: i32(a, "stride_h", 1),
			FilterWidth: i32(a, "filter_width", 1), FilterHeight: i32(a, "filter_height", 1), Activation: ac}, 1, nil
	case tflitefile.TransposeConv:
		v := int32(1)
		if len(n.Inputs) > 3 {
			v = 3
		}
		return &tflitefile.TransposeConvOptions{Padding: padding(a), StrideW: i32(a, "stride_w", 1), StrideH: i32(a, "stride_h", 1)}, v, nil
	case tflitefile.FullyConnected:
		v := int32(1)
		if flag(a, "keep_num_dims") {
			v = 5
		}
		return &tflitefile.FullyConnectedOptions{Activation: ac, KeepNumDims: flag(a, "keep_num_dims")}, v, nil
	case tflitefile.Add:
		return &tflitefile.AddOptions{Activation: ac}, 1, nil
	case tflitefile.Sub:
		return &tflitefile.SubOptions{Activation: ac}, 1, nil
	case tflitefile.Mul:
		return &tflitefile.MulOptions{Activation: ac}, 1, nil
	case tflitefile.Div:
		return &tflitefile.DivOptions{Activation: ac}, 1, nil
	case tflitefile.Concatenation:
		return &tflitefile.ConcatenationOptions{Axis: i32(a, "axis", 0), Activation: ac}, 1, nil
	case tflitefile.Softmax:
		return &tflitefile.SoftmaxOptions{Beta: a.Float("beta", 1)}, 1, nil
	case tflitefile.Reshape:
		var s []int32
		for _, d := range a.Ints("new_shape") {
			s = append(s, int32(d))
		}
		return &tflitefile.ReshapeOptions{NewShape: s}, 1, nil
	case tflitefile.Mean, tflitefile.Sum, tflitefile.ReduceProd, tflitefile.ReduceMax, tflitefile.ReduceMin:
		return &tflitefile.ReducerOptions{KeepDims: flag(a, "keep_dims")}, 1, nil
	case tflitefile.ResizeBilinear:
		v := int32(1)
		if flag(a, "half_pixel_centers") {
			v = 3
		}
		return &tflitefile.ResizeBilinearOptions{AlignCorners: flag(a, "align_corners"), HalfPixelCenters: flag(a, "half_pixel_centers")}, v, nil
	case tflitefile.ResizeNearestNeighbor:
		v := int32(1)
		if flag(a, "half_pixel_centers") || flag(a, "align_corners") {
			v = 3
		}
		return &tflitefile.ResizeNearestNeighborOptions{AlignCorners: flag(a, "align_corners"), HalfPixelCenters: flag(a, "half_pixel_centers")}, v, nil
	case tflitefile.LeakyRelu:
		return &tflitefile.LeakyReluOptions{Alpha: a.Float("alpha", 0.2)}, 1, nil
	case tflitefile.MirrorPad:
		m := tflitefile.Reflect
		if a.String("mode", "REFLECT") == "SYMMETRIC" {
			m = tflitefile.Symmetric
		}
		return &tflitefile.MirrorPadOptions{Mode: m}, 1, nil
	case tflitefile.BatchMatMul:
		return &tflitefile.BatchMatMulOptions{AdjX: flag(a, "adj_x"), AdjY: flag(a, "adj_y")}, 1, nil
	case tflitefile.DepthToSpace:
		return &tflitefile.DepthToSpaceOptions{BlockSize: i32(a, "block_size", 2)}, 1, nil
	case tflitefile.SpaceToDepth:
		return &tflitefile.SpaceToDepthOptions{BlockSize: i32(a, "block_size", 2)}, 1, nil
	case tflitefile.Pad:
		return &tflitefile.PadOptions{}, 1, nil
	case tflitefile.PadV2:
		return &tflitefile.PadV2Options{}, 1, nil
	case tflitefile.Transpose:
		return &tflitefile.TransposeOptions{}, 1, nil
	case tflitefile.Slice:
		return &tflitefile.SliceOptions{}, 1, nil
	case tflitefile.SquaredDifference:
		return &tflitefile.SquaredDifferenceOptions{}, 1, nil
	case tflitefile.Maximum, tflitefile.Minimum:
		return &tflitefile.MaximumMinimumOptions{}, 1, nil
	case tflitefile.BroadcastTo:
		// Version 1 was the flex op; TFLite registers its kernel from 2.
		return nil, 2, nil
	case tflitefile.HardSwish:
		return &tflitefile.HardSwishOptions{}, 1, nil
	}
	return nil, 1, nil
}

// Model converts g. Every value becomes a tensor; constants get buffers.
// Metadata entries of g are stored as model metadata (name -> value).
func Model(g *ir.Graph, description string) (*tflitefile.Model, error) {
	m := tflitefile.NewModel()
	m.Description = description
	sg := m.Main()
	sg.Name = g.Name
	if sg.Name == "" {
		sg.Name = "main"
	}
	idx := map[*ir.Value]int32{}
	tensor := func(v *ir.Value) (int32, error) {
		if v == nil {
			return -1, nil
		}
		if i, ok := idx[v]; ok {
			return i, nil
		}
		t := &tflitefile.Tensor{Name: v.Name}
		for _, d := range v.Shape {
			if d < 0 {
				return 0, fmt.Errorf("tensor %q has unknown shape %v", v.Name, v.Shape)
			}
			t.Shape = append(t.Shape, int32(d))
		}
		switch v.DType {
		case ir.Float32:
			t.Type = tflitefile.Float32
		case ir.Int32:
			t.Type = tflitefile.Int32
		case ir.Bool:
			t.Type = tflitefile.Bool
		default:
			return 0, fmt.Errorf("tensor %q has type %v, not float32, int32 or bool", v.Name, v.DType)
		}
		if c := v.Const; c != nil {
			if c.Len() != ir.NumElements(v.Shape) {
				return 0, fmt.Errorf("constant %q: %d values for shape %v", v.Name, c.Len(), v.Shape)
			}
			switch v.DType {
			case ir.Float32:
				t.Buffer = m.AddBuffer(tflitefile.Float32Bytes(c.Floats()))
			case ir.Int32:
				iv := c.Ints()
				d := make([]int32, len(iv))
				for k, x := range iv {
					if x > math.MaxInt32 || x < math.MinInt32 {
						return 0, fmt.Errorf("constant %q: %d does not fit int32", v.Name, x)
					}
					d[k] = int32(x)
				}
				t.Buffer = m.AddBuffer(tflitefile.Int32Bytes(d))
			case ir.Bool:
				b := make([]byte, c.Len())
				for k, x := range c.Ints() {
					if x != 0 {
						b[k] = 1
					}
				}
				t.Buffer = m.AddBuffer(b)
			}
		}
		i := sg.AddTensor(t)
		idx[v] = i
		return i, nil
	}
	for _, v := range g.Inputs {
		i, err := tensor(v)
		if err != nil {
			return nil, err
		}
		sg.Inputs = append(sg.Inputs, i)
	}
	for _, n := range g.Nodes {
		if !n.Lowered {
			return nil, fmt.Errorf("%v: not lowered to a TFLite op", n)
		}
		code, ok := n.Builtin()
		if !ok {
			return nil, fmt.Errorf("%v: no TFLite builtin code for %s", n, n.Op)
		}
		opts, version, err := options(n)
		if err != nil {
			return nil, fmt.Errorf("%v: %w", n, err)
		}
		op := &tflitefile.Operator{Op: code, Version: version, Options: opts}
		for _, v := range n.Inputs {
			i, err := tensor(v)
			if err != nil {
				return nil, err
			}
			op.Inputs = append(op.Inputs, i)
		}
		for _, v := range n.Outputs {
			i, err := tensor(v)
			if err != nil {
				return nil, err
			}
			op.Outputs = append(op.Outputs, i)
		}
		sg.AddOperator(op)
	}
	for _, v := range g.Outputs {
		i, err := tensor(v)
		if err != nil {
			return nil, err
		}
		sg.Outputs = append(sg.Outputs, i)
	}
	for _, k := range sortedKeys(g.Metadata) {
		m.SetMetadata(k, []byte(g.Metadata[k]))
	}
	return m, m.Validate()
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
