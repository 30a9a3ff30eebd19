package verify_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/animed/animed/converter"
	. "github.com/animed/animed/converter/onnxtest"
	"github.com/animed/animed/converter/pass"
)

// TRANSPOSE_CONV's padding rules differ between TFLite's kernels, XNNPACK
// and ONNX outside the canonical shapes, so sweep kernel, stride, pads and
// output padding in one model (one output per combination) and compare
// every backend with ONNX Runtime.
func TestConvTransposeSweep(t *testing.T) {
	ort := findORT(t)
	b := New(13)
	x := b.Input("x", 1, 2, 5, 6)
	n := 0
	for _, k := range []int{1, 2, 3, 4, 5} {
		for _, s := range []int{1, 2, 3} {
			for pb := 0; pb < k; pb++ {
				for _, pe := range []int{pb, max(pb-1, 0), pb + 1} {
					for _, op := range []int{0, s - 1} {
						if pe >= k || (op > 0 && s == 1) {
							continue
						}
						n++
						w := b.Rand("w"+itoa(n), -1, 1, 2, 3, k, k)
						b.Output(b.Node("ConvTranspose", []string{x, w},
							A("strides", []int{s, s}), A("pads", []int{pb, pb, pe, pe}), A("output_padding", []int{op, op})))
					}
				}
			}
		}
	}
	path := filepath.Join(t.TempDir(), "sweep.onnx")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res := convertFile(t, path, converter.Options{})
	t.Logf("%d transposed convolutions, %d cropped with SLICE", n, pass.CountOps(res.Graph, "tfl.SLICE"))
	checkAgainstORT(t, ort, path, res, 1)
}

// Convolutions (regular and depthwise) and pools over kernel, stride,
// dilation and asymmetric pads: SAME where exact, PAD + VALID otherwise.
func TestConvAndPoolSweep(t *testing.T) {
	ort := findORT(t)
	b := New(13)
	x := b.Input("x", 1, 3, 9, 10)
	n := 0
	for _, k := range []int{1, 2, 3, 4} {
		for _, s := range []int{1, 2, 3} {
			for _, d := range []int{1, 2} {
				for _, pads := range [][]int{{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 1, 1, 0}, {k / 2, k / 2, (k - 1) / 2, (k - 1) / 2}, {(k - 1) / 2, 0, k / 2, 1}} {
					if (k-1)*d+1 > 9 {
						continue
					}
					n++
					attrs := []Attr{A("strides", []int{s, s}), A("pads", pads), A("dilations", []int{d, d})}
					b.Output(b.Node("Conv", []string{x, b.Rand("w"+itoa(n), -1, 1, 4, 3, k, k)}, attrs...))
					b.Output(b.Node("Conv", []string{x, b.Rand("dw"+itoa(n), -1, 1, 6, 1, k, k)}, append(attrs, A("group", 3))...))
					if d == 1 && pads[0] < k && pads[1] < k && pads[2] < k && pads[3] < k {
						pa := []Attr{A("kernel_shape", []int{k, k}), A("strides", []int{s, s}), A("pads", pads)}
						b.Output(b.Node("MaxPool", []string{x}, pa...))
						b.Output(b.Node("AveragePool", []string{x}, append(pa, A("count_include_pad", 1))...))
					}
				}
			}
		}
	}
	path := filepath.Join(t.TempDir(), "sweep.onnx")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res := convertFile(t, path, converter.Options{})
	t.Logf("%d configurations, ops %v", n, res.Graph.OpHistogram())
	checkAgainstORT(t, ort, path, res, 1)
}

// Resize in every mode TFLite reproduces, at several scales.
func TestResizeSweep(t *testing.T) {
	ort := findORT(t)
	b := New(13)
	x := b.Input("x", 1, 3, 5, 7)
	for i, sc := range [][]float32{{1, 1, 2, 2}, {1, 1, 3, 2}, {1, 1, 4, 4}, {1, 1, 1, 3}} {
		s := b.Init("sc"+itoa(i), []int{4}, sc)
		for _, m := range []string{"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"} {
			b.Output(b.Node("Resize", []string{x, "", s}, A("mode", "linear"), A("coordinate_transformation_mode", m)))
		}
		for _, m := range [][2]string{{"asymmetric", "floor"}, {"half_pixel", "round_prefer_floor"}, {"half_pixel", "round_prefer_ceil"}, {"align_corners", "round_prefer_ceil"}} {
			b.Output(b.Node("Resize", []string{x, "", s}, A("mode", "nearest"), A("coordinate_transformation_mode", m[0]), A("nearest_mode", m[1])))
		}
	}
	for i, sz := range [][]int64{{1, 3, 8, 9}, {1, 3, 12, 30}, {1, 3, 3, 4}} {
		b.Output(b.Node("Resize", []string{x, "", "", b.Ints("sz"+itoa(i), sz...)}, A("mode", "linear"), A("coordinate_transformation_mode", "half_pixel")))
		b.Output(b.Node("Resize", []string{x, "", "", b.Ints("sza"+itoa(i), sz...)}, A("mode", "linear"), A("coordinate_transformation_mode", "align_corners")))
	}
	path := filepath.Join(t.TempDir(), "sweep.onnx")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res := convertFile(t, path, converter.Options{})
	checkAgainstORT(t, ort, path, res, 1)
}

// Layout bookkeeping: after a conv (channels-last inside), every axis-
// dependent op on every axis, and every transpose, must see the ONNX axes.
func TestLayoutSweep(t *testing.T) {
	ort := findORT(t)
	b := New(13)
	x := b.Input("x", 1, 3, 4, 5)
	c := b.Node("Conv", []string{x, b.Rand("w", -1, 1, 6, 3, 1, 1)})
	for ax := 0; ax < 4; ax++ {
		b.Output(b.Node("ReduceMean", []string{c}, A("axes", []int{ax}), A("keepdims", 1)))
		b.Output(b.Node("ReduceMean", []string{c}, A("axes", []int{ax}), A("keepdims", 0)))
		b.Output(b.Node("Softmax", []string{c}, A("axis", ax)))
		b.Output(b.Node("Concat", []string{c, b.Node("Relu", []string{c})}, A("axis", ax)))
		b.Output(b.Node("Flatten", []string{c}, A("axis", ax)))
	}
	b.Output(b.Node("ReduceMean", []string{c}, A("axes", []int{1, 3}), A("keepdims", 0)))
	perms := [][]int{{0, 1, 2, 3}, {0, 2, 3, 1}, {0, 3, 1, 2}, {0, 1, 3, 2}, {3, 2, 1, 0}, {1, 0, 2, 3}, {2, 0, 3, 1}}
	for i, p := range perms {
		tr := b.Node("Transpose", []string{c}, A("perm", p))
		b.Output(b.Node("Relu", []string{tr}))
		b.Output(b.Node("Add", []string{tr, b.Rand("bias"+itoa(i), -1, 1, 1)}))
		b.Output(b.Node("Reshape", []string{tr, b.Ints("flat"+itoa(i), 1, -1)}))
	}
	sq := b.Node("Squeeze", []string{b.Node("ReduceMean", []string{c}, A("axes", []int{2})), b.Ints("sqax", 2)})
	b.Output(b.Node("Mul", []string{sq, b.Rand("row", -1, 1, 5)}))
	path := filepath.Join(t.TempDir(), "layout.onnx")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res := convertFile(t, path, converter.Options{})
	t.Logf("ops %v", res.Graph.OpHistogram())
	checkAgainstORT(t, ort, path, res, 1)
}

// Broadcasting constants and lower-rank values against a channels-last
// tensor, for every binary op.
func TestBroadcastSweep(t *testing.T) {
	ort := findORT(t)
	b := New(13)
	x := b.Input("x", 1, 3, 5, 6)
	c := b.Node("Conv", []string{x, b.Rand("w", -1, 1, 4, 3, 1, 1)})
	shapes := [][]int{{}, {1}, {6}, {5, 1}, {4, 1, 1}, {1, 4, 1, 1}, {1, 1, 5, 6}, {4, 5, 6}, {1, 4, 5, 1}}
	for i, s := range shapes {
		k := b.Rand(b.Name("k"), 0.5, 1.5, s...)
		for _, op := range []string{"Add", "Sub", "Mul", "Div", "Max", "Min"} {
			b.Output(b.Node(op, []string{c, k}))
			if i%3 == 0 && op != "Div" { // k/c is unbounded near c = 0
				b.Output(b.Node(op, []string{k, c}))
			}
		}
	}
	row := b.Node("ReduceMean", []string{c}, A("axes", []int{0, 1, 2}), A("keepdims", 0)) // [6]
	col := b.Node("ReduceMean", []string{c}, A("axes", []int{0, 3}), A("keepdims", 0))    // [4,5]
	b.Output(b.Node("Mul", []string{c, row}))
	b.Output(b.Node("Add", []string{b.Node("Unsqueeze", []string{col, b.Ints("ax", 2)}), c}))
	path := filepath.Join(t.TempDir(), "bcast.onnx")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res := convertFile(t, path, converter.Options{})
	t.Logf("ops %v", res.Graph.OpHistogram())
	checkAgainstORT(t, ort, path, res, 1)
}
