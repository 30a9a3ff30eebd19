package bench

import (
	"strings"
	"testing"

	"github.com/animed/animed/internal/sharedtest"
	"github.com/animed/animed/internal/testmodel"
	"github.com/animed/animed/internal/tflitefile"
	"os"
)

// handModel builds, for an h x w x 3 input: CONV_2D 3->16 3x3 stride 2
// SAME, DEPTHWISE_CONV_2D 3x3 on 16, TRANSPOSE_CONV 16->8 2x2 stride 2
// SAME, MEAN over H,W and FULLY_CONNECTED 8->4. It is only parsed, never
// run.
func handModel(t *testing.T, h, w int32) []byte {
	t.Helper()
	m := tflitefile.NewModel()
	g := m.Main()
	f := tflitefile.Float32
	c := func(shape ...int32) int32 {
		n := int32(1)
		for _, d := range shape {
			n *= d
		}
		return g.AddTensor(&tflitefile.Tensor{Shape: shape, Type: f, Buffer: m.AddBuffer(tflitefile.Float32Bytes(make([]float32, n)))})
	}
	ci := func(v ...int32) int32 {
		return g.AddTensor(&tflitefile.Tensor{Shape: []int32{int32(len(v))}, Type: tflitefile.Int32, Buffer: m.AddBuffer(tflitefile.Int32Bytes(v))})
	}
	act := func(shape ...int32) int32 { return g.AddTensor(&tflitefile.Tensor{Shape: shape, Type: f}) }
	in := act(1, h, w, 3)
	a := act(1, h/2, w/2, 16)
	b := act(1, h/2, w/2, 16)
	d := act(1, h, w, 8)
	e := act(1, 8)
	out := act(1, 4)
	g.Inputs, g.Outputs = []int32{in}, []int32{out}
	g.AddOperator(&tflitefile.Operator{Op: tflitefile.Conv2D, Inputs: []int32{in, c(16, 3, 3, 3), c(16)}, Outputs: []int32{a},
		Options: &tflitefile.Conv2DOptions{Padding: tflitefile.Same, StrideW: 2, StrideH: 2, DilationWFactor: 1, DilationHFac: 1}})
	g.AddOperator(&tflitefile.Operator{Op: tflitefile.DepthwiseConv2D, Inputs: []int32{a, c(1, 3, 3, 16), c(16)}, Outputs: []int32{b},
		Options: &tflitefile.DepthwiseConv2DOptions{Padding: tflitefile.Same, StrideW: 1, StrideH: 1, DepthMultiplier: 1, DilationWFactor: 1, DilationHFac: 1}})
	g.AddOperator(&tflitefile.Operator{Op: tflitefile.TransposeConv, Inputs: []int32{ci(1, h, w, 8), c(8, 2, 2, 16), b, c(8)}, Outputs: []int32{d},
		Options: &tflitefile.TransposeConvOptions{Padding: tflitefile.Same, StrideW: 2, StrideH: 2}})
	g.AddOperator(&tflitefile.Operator{Op: tflitefile.Mean, Inputs: []int32{d, ci(1, 2)}, Outputs: []int32{e},
		Options: &tflitefile.ReducerOptions{}})
	g.AddOperator(&tflitefile.Operator{Op: tflitefile.FullyConnected, Inputs: []int32{e, c(4, 8), c(4)}, Outputs: []int32{out},
		Options: &tflitefile.FullyConnectedOptions{}})
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestModelStatsByHand(t *testing.T) {
	data := handModel(t, 32, 32)
	// Params: conv 16*27+16, depthwise 9*16+16, transpose conv 8*2*2*16+8,
	// FC 4*8+4; the constant output shape and axes are not parameters.
	const params = 448 + 160 + 520 + 36
	for _, tc := range []struct {
		side int
		want map[string]int64
	}{
		{0, map[string]int64{ // native 32x32
			"CONV_2D":           16 * 16 * 16 * 27, // 16x16 outputs, 16 channels, 3x3x3
			"DEPTHWISE_CONV_2D": 16 * 16 * 16 * 9,
			"TRANSPOSE_CONV":    16 * 16 * 16 * 2 * 2 * 8, // every input value to a 2x2x8 patch
			"FULLY_CONNECTED":   8 * 4,
		}},
		{64, map[string]int64{
			"CONV_2D":           32 * 32 * 16 * 27,
			"DEPTHWISE_CONV_2D": 32 * 32 * 16 * 9,
			"TRANSPOSE_CONV":    32 * 32 * 16 * 2 * 2 * 8,
			"FULLY_CONNECTED":   8 * 4,
		}},
	} {
		st, err := ModelStats(data, tc.side, tc.side)
		if err != nil {
			t.Fatalf("side %d: %v", tc.side, err)
		}
		if st.Params != params {
			t.Errorf("side %d: Params = %d, want %d", tc.side, st.Params, params)
		}
		var total int64
		for op, want := range tc.want {
			total += want
			if got := st.MACsByOp[op]; got != want {
				t.Errorf("side %d: MACs of %s = %d, want %d", tc.side, op, got, want)
			}
		}
		if st.MACs != total {
			t.Errorf("side %d: MACs = %d, want %d", tc.side, st.MACs, total)
		}
		if st.NativeH != 32 || st.FileBytes != len(data) {
			t.Errorf("side %d: NativeH %d FileBytes %d, want 32 and %d", tc.side, st.NativeH, st.FileBytes, len(data))
		}
	}
}

func TestModelStatsTestModel(t *testing.T) {
	// conv1 3x3 3->8 and conv2 1x1 8->3 at every pixel.
	perPixel := int64(8*27 + 3*8)
	for _, tc := range []struct {
		name string
		data []byte
		side int
	}{
		{"fp32", testmodel.FP32(), 0},
		{"int8", testmodel.Int8(), 0},
		{"int8", testmodel.Int8(), 256},
	} {
		st, err := ModelStats(tc.data, tc.side, tc.side)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		side := int64(tc.side)
		if side == 0 {
			side = 64
		}
		if want := side * side * perPixel; st.MACs != want {
			t.Errorf("%s at %d: MACs = %d, want %d", tc.name, side, st.MACs, want)
		}
		if st.Params != 216+8+24+3 {
			t.Errorf("%s: Params = %d, want 251", tc.name, st.Params)
		}
	}
}

func TestModelStatsErrors(t *testing.T) {
	// A fixed-size model reshapes to a constant shape: other sizes fail
	// with the op named, its own size works.
	fixed := testmodel.MustBuild(testmodel.Config{FixedSize: true})
	if _, err := ModelStats(fixed, 0, 0); err != nil {
		t.Fatalf("native size: %v", err)
	}
	if _, err := ModelStats(fixed, 128, 128); err == nil || !strings.Contains(err.Error(), "RESHAPE") {
		t.Errorf("128x128: err = %v, want one naming RESHAPE", err)
	}
	for _, bad := range [][]byte{nil, []byte("not a model at all"), testmodel.FP32()[:100]} {
		if _, err := ModelStats(bad, 0, 0); err == nil {
			t.Errorf("ModelStats(%d bytes of junk) succeeded", len(bad))
		}
	}
}

func TestModelStatsTeacher(t *testing.T) {
	data, err := os.ReadFile(sharedtest.Teacher(t))
	if err != nil {
		t.Fatal(err)
	}
	st, err := ModelStats(data, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// ../shared/README.md: about 2.14M weights, 26 GMACs at 256x256.
	if st.Params < 2_100_000 || st.Params > 2_200_000 {
		t.Errorf("teacher params = %d, want about 2.14M", st.Params)
	}
	if st.MACs < 25e9 || st.MACs > 27e9 {
		t.Errorf("teacher MACs = %d, want about 26G", st.MACs)
	}
	if st.NativeH != 256 || st.Ops["MIRROR_PAD"] == 0 {
		t.Errorf("teacher native %d, ops %v", st.NativeH, st.Ops)
	}
}
