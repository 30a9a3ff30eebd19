package emit_test

import (
	"testing"

	"github.com/animed/animed/converter/emit"
	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// Each IR op must come out with its builtin code, options and FP32 op
// version, and survive a Marshal/Parse round trip.
func TestModelOptionsAndVersions(t *testing.T) {
	g := ir.NewGraph("t")
	x := g.NewValue("x", ir.Float32, []int{1, 4, 4, 2})
	g.Inputs = []*ir.Value{x}
	w := g.NewConst("w", ir.FloatTensor([]int{2, 1, 1, 2}, []float32{1, 0, 0, 1}))
	b := g.NewConst("b", ir.FloatTensor([]int{2}, []float32{0, 0}))
	size := g.NewConst("size", &ir.Tensor{DType: ir.Int32, Shape: []int{2}, I: []int64{8, 8}})
	c := g.NewValue("c", ir.Float32, []int{1, 4, 4, 2})
	g.AddTFLite(tflitefile.Conv2D, "conv", []*ir.Value{x, w, b}, []*ir.Value{c}, ir.Attrs{"padding": "SAME", "stride_h": int64(1),
		"stride_w": int64(1), "fused_activation_function": "RELU6"})
	d := g.NewValue("d", ir.Float32, []int{1, 4, 4, 2})
	g.AddTFLite(tflitefile.DepthwiseConv2D, "dw", []*ir.Value{c, g.NewConst("dw_w", ir.FloatTensor([]int{1, 1, 1, 2}, []float32{1, 1})), b},
		[]*ir.Value{d}, ir.Attrs{"padding": "VALID", "depth_multiplier": int64(1), "dilation_h": int64(2), "dilation_w": int64(2)})
	r := g.NewValue("r", ir.Float32, []int{1, 8, 8, 2})
	g.AddTFLite(tflitefile.ResizeBilinear, "up", []*ir.Value{d, size}, []*ir.Value{r}, ir.Attrs{"half_pixel_centers": true})
	o := g.NewValue("o", ir.Float32, []int{1, 8, 8, 2})
	g.AddTFLite(tflitefile.LeakyRelu, "lr", []*ir.Value{r}, []*ir.Value{o}, ir.Attrs{"alpha": float32(0.2)})
	g.Outputs = []*ir.Value{o}
	g.Metadata["k"] = "v"

	m, err := emit.Model(g, "test")
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err = tflitefile.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	ops := m.Main().Operators
	if len(ops) != 4 {
		t.Fatalf("%d operators", len(ops))
	}
	conv, ok := ops[0].Options.(*tflitefile.Conv2DOptions)
	if ops[0].Op != tflitefile.Conv2D || !ok || conv.Padding != tflitefile.Same || conv.Activation != tflitefile.ActRelu6 {
		t.Errorf("conv: %v %+v", ops[0].Op, ops[0].Options)
	}
	dw, ok := ops[1].Options.(*tflitefile.DepthwiseConv2DOptions)
	if !ok || dw.DepthMultiplier != 1 || dw.DilationHFac != 2 || ops[1].Version != 2 {
		t.Errorf("depthwise: v%d %+v", ops[1].Version, ops[1].Options)
	}
	rb, ok := ops[2].Options.(*tflitefile.ResizeBilinearOptions)
	if !ok || !rb.HalfPixelCenters || ops[2].Version != 3 {
		t.Errorf("resize: v%d %+v", ops[2].Version, ops[2].Options)
	}
	if lr, ok := ops[3].Options.(*tflitefile.LeakyReluOptions); !ok || lr.Alpha != 0.2 {
		t.Errorf("leaky relu: %+v", ops[3].Options)
	}
	if v, ok := m.MetadataValue("k"); !ok || string(v) != "v" {
		t.Errorf("metadata k = %q", v)
	}
	if sz := m.Main().Tensors[ops[2].Inputs[1]]; sz.Type != tflitefile.Int32 || len(tflitefile.BytesInt32(m.Buffers[sz.Buffer].Data)) != 2 {
		t.Errorf("size tensor %+v", sz)
	}
}

func TestModelRejectsUnlowered(t *testing.T) {
	g := ir.NewGraph("t")
	x := g.NewValue("x", ir.Float32, []int{1})
	y := g.NewValue("y", ir.Float32, []int{1})
	g.Inputs, g.Outputs = []*ir.Value{x}, []*ir.Value{y}
	g.Add("Erf", "erf", []*ir.Value{x}, []*ir.Value{y}, nil)
	if _, err := emit.Model(g, ""); err == nil {
		t.Error("ONNX-level op emitted")
	}
}
