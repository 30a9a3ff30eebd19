package verify_test

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/animed/animed/converter"
	"github.com/animed/animed/converter/onnx"
	"github.com/animed/animed/converter/verify"
)

const (
	onnxTestRoot = "/usr/share/libonnx-testdata/data"
	onnxTestData = onnxTestRoot + "/node"
)

// errCase marks a case the harness cannot feed (not a converter verdict).
type errCase struct{ error }

// loadCase reads a libonnx-testdata node case frozen: inputs after the
// first become initializers (the converter needs constant weights); the
// first stays the graph input. Conversion errors are returned as they are;
// cases the harness cannot read come back as errCase.
func loadCase(t *testing.T, name string) (*converter.Result, verify.Input, []verify.Tensor, error) {
	return loadCaseMode(t, name, true)
}

// loadCaseMode reads a case frozen (see loadCase) or, with frozen false,
// as shipped: every input stays a graph input. Frozen, the graph input is
// the first float input when the first is not (Where's condition): the
// converter takes float inputs only.
func loadCaseMode(t *testing.T, name string, frozen bool) (*converter.Result, verify.Input, []verify.Tensor, error) {
	t.Helper()
	dir := filepath.Join(onnxTestData, name)
	if filepath.IsAbs(name) {
		dir = name
	}
	data, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return nil, nil, nil, errCase{err}
	}
	var m onnx.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil || m.Graph == nil {
		return nil, nil, nil, errCase{fmt.Errorf("model: %v", err)}
	}
	readTensor := func(f string) (verify.Tensor, *onnx.TensorProto, error) {
		b, err := os.ReadFile(filepath.Join(dir, "test_data_set_0", f))
		if err != nil {
			return verify.Tensor{}, nil, err
		}
		var tp onnx.TensorProto
		if err := proto.Unmarshal(b, &tp); err != nil {
			return verify.Tensor{}, nil, err
		}
		it, err := onnx.LoadTensor(&tp)
		if err != nil {
			return verify.Tensor{}, nil, err
		}
		return verify.Tensor{Name: tp.GetName(), Shape: it.Shape, Data: it.Floats()}, &tp, nil
	}
	feed := verify.Input{}
	inits := map[string]bool{}
	for _, in := range m.Graph.Initializer {
		inits[in.GetName()] = true
	}
	var inputs []*onnx.ValueInfoProto
	for _, vi := range m.Graph.Input {
		if !inits[vi.GetName()] { // old exporters list weights as inputs too
			inputs = append(inputs, vi)
		}
	}
	m.Graph.Input = nil
	if len(inputs) == 0 {
		return nil, nil, nil, errCase{fmt.Errorf("no inputs")}
	}
	keep := 0
	for i, vi := range inputs {
		if vi.GetType().GetTensorType().GetElemType() == int32(onnx.TensorProto_FLOAT) {
			keep = i
			break
		}
	}
	for i, vi := range inputs {
		tv, tp, err := readTensor("input_" + itoa(i) + ".pb")
		if err != nil {
			return nil, nil, nil, errCase{fmt.Errorf("input %d: %v", i, err)}
		}
		tp.Name = proto.String(vi.GetName())
		if i == keep || !frozen {
			tv.Name = vi.GetName()
			feed[tv.Name] = tv
			m.Graph.Input = append(m.Graph.Input, vi)
			continue
		}
		m.Graph.Initializer = append(m.Graph.Initializer, tp)
	}
	var want []verify.Tensor
	for i := range m.Graph.Output {
		tv, _, err := readTensor("output_" + itoa(i) + ".pb")
		if err != nil {
			return nil, nil, nil, errCase{fmt.Errorf("output %d: %v", i, err)}
		}
		want = append(want, tv)
	}
	data, _ = proto.Marshal(&m)
	g, err := onnx.Load(data, "")
	if err != nil {
		return nil, nil, nil, err
	}
	res, err := converter.Convert(g, converter.Options{})
	if err != nil {
		return nil, nil, nil, err
	}
	return res, feed, want, nil
}

// Node cases from Debian's libonnx-testdata that the converter must
// reproduce (expected outputs shipped with the cases).
var nodeCases = []string{
	"test_basic_conv_with_padding", "test_basic_conv_without_padding", "test_conv_with_strides_padding",
	"test_conv_with_strides_no_padding", "test_conv_with_strides_and_asymmetric_padding", "test_conv_with_autopad_same",
	"test_convtranspose", "test_convtranspose_pads", "test_convtranspose_kernel_shape",
	"test_where_example", "test_thresholdedrelu", "test_thresholdedrelu_default", "test_thresholdedrelu_example",
	"test_relu", "test_leakyrelu", "test_leakyrelu_default", "test_sigmoid", "test_tanh", "test_prelu_broadcast", "test_prelu_example",
	"test_clip", "test_clip_example", "test_clip_default_min", "test_sqrt", "test_reciprocal", "test_hardswish",
	"test_add_bcast", "test_sub_bcast", "test_mul_bcast", "test_div_bcast", "test_pow_bcast_scalar",
	"test_constant_pad", "test_globalaveragepool", "test_globalaveragepool_precomputed",
	"test_instancenorm_example", "test_instancenorm_epsilon", "test_batchnorm_example", "test_batchnorm_epsilon",
	"test_reduce_mean_keepdims_random", "test_reduce_mean_do_not_keepdims_random", "test_reduce_mean_negative_axes_keepdims_random",
	"test_reduce_mean_default_axes_keepdims_random",
	"test_softmax_axis_0", "test_softmax_axis_1", "test_softmax_axis_2", "test_softmax_default_axis", "test_softmax_negative_axis", "test_softmax_large_number",
	"test_transpose_default", "test_transpose_all_permutations_0", "test_transpose_all_permutations_1", "test_transpose_all_permutations_2",
	"test_transpose_all_permutations_3", "test_transpose_all_permutations_4", "test_transpose_all_permutations_5",
	"test_flatten_axis0", "test_flatten_axis1", "test_flatten_axis2", "test_flatten_axis3", "test_flatten_default_axis",
	"test_squeeze", "test_unsqueeze_axis_0", "test_unsqueeze_two_axes",
	"test_reshape_reordered_all_dims", "test_reshape_negative_dim", "test_reshape_extended_dims", "test_reshape_reduced_dims",
	"test_reshape_zero_and_negative_dim", "test_reshape_one_dim",
	"test_matmul_2d", "test_matmul_3d", "test_matmul_4d",
	"test_gemm_default_vector_bias", "test_gemm_default_scalar_bias", "test_gemm_default_no_bias", "test_gemm_transposeB", "test_gemm_alpha", "test_gemm_beta",
	"test_concat_2d_axis_0", "test_concat_3d_axis_1", "test_concat_3d_axis_negative_1",
	"test_resize_upsample_scales_linear", "test_resize_upsample_scales_linear_align_corners", "test_resize_upsample_scales_nearest",
	"test_upsample_nearest",
	"test_identity", "test_dropout_default",
	"test_maxpool_2d_pads", "test_maxpool_2d_precomputed_pads", "test_averagepool_2d_pads_count_include_pad",
	"test_averagepool_2d_precomputed_pads", "test_averagepool_2d_precomputed_pads_count_include_pad",
	"test_layer_normalization_4d_axis1_expanded", "test_layer_normalization_4d_axis_negative_1_expanded",
}

// Node cases TFLite cannot reproduce exactly: the converter must refuse
// them with a reason rather than convert them approximately.
var refusedCases = map[string]string{
	"test_resize_upsample_sizes_nearest":                     "has no exact TFLite equivalent",
	"test_resize_upsample_sizes_nearest_ceil_half_pixel":     "has no exact TFLite equivalent",
	"test_resize_downsample_sizes_linear_pytorch_half_pixel": "output size of 1",
	"test_resize_downsample_scales_linear":                   "not exactly output/input",
	"test_resize_upsample_scales_cubic":                      `resize mode "cubic"`,
	"test_resize_tf_crop_and_resize":                         "tf_crop_and_resize",
	"test_convtranspose_3d":                                  "only 2-D transposed convolution",
}

func TestONNXNodeCasesRefused(t *testing.T) {
	if _, err := os.Stat(onnxTestData); err != nil {
		t.Skipf("libonnx-testdata is not installed (%v): make deps installs it", err)
	}
	for name, want := range refusedCases {
		t.Run(name, func(t *testing.T) {
			_, _, _, err := loadCase(t, name)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want it to contain %q", err, want)
			}
		})
	}
}

func TestONNXNodeCases(t *testing.T) {
	if _, err := os.Stat(onnxTestData); err != nil {
		t.Skipf("libonnx-testdata is not installed (%v): make deps installs it", err)
	}
	for _, name := range nodeCases {
		t.Run(name, func(t *testing.T) {
			res, in, want, err := loadCase(t, name)
			if err != nil {
				t.Fatalf("convert: %v", err)
			}
			backends := append([]verify.Backend{verify.ExecBackend(res.Graph)}, runtimeBackends(t, res)...)
			rep, err := verify.Compare(res, []verify.Input{in}, [][]verify.Tensor{want}, backends...)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: max abs error vs expected output: %v", name, rep.MaxAbs)
			for b, m := range rep.MaxAbs {
				if m > tolerance {
					t.Errorf("%s: max abs error %.3g > %g\n%s", b, m, tolerance, res.Graph.Dump())
				}
			}
		})
	}
}

// matchedFloor is how many libonnx-testdata node cases must convert and
// reproduce their expected outputs with the weights frozen, and
// shippedFloor as shipped; raise them when the converter learns an
// operator.
const (
	matchedFloor = 355
	shippedFloor = 251
)

// Every node and PyTorch case in libonnx-testdata, frozen and as shipped:
// whatever the converter accepts must reproduce the expected output
// (no silent mismatch in either mode); everything else must be refused
// with an error (never a wrong model, never a crash). It logs converted,
// matched and refused counts per operator (multi-node cases count under
// "(graph)"); go test -v -run TestONNXNodeCasesAll shows them.
func TestONNXNodeCasesAll(t *testing.T) {
	for _, mode := range []string{"frozen", "shipped"} {
		for _, set := range []string{"node", "pytorch-converted", "pytorch-operator", "simple"} {
			t.Run(mode+"/"+set, func(t *testing.T) {
				root := filepath.Join(onnxTestRoot, set)
				ents, err := os.ReadDir(root)
				if err != nil {
					t.Skipf("libonnx-testdata is not installed (%v): make deps installs it", err)
				}
				type counts struct{ cases, matched, refused, unreadable int }
				perOp := map[string]*counts{}
				var total counts
				for _, e := range ents {
					name := e.Name()
					op := caseOp(filepath.Join(root, name))
					c := perOp[op]
					if c == nil {
						c = &counts{}
						perOp[op] = c
					}
					c.cases++
					total.cases++
					ok, refused, unreadable := runCase(t, filepath.Join(root, name), mode == "frozen")
					switch {
					case unreadable:
						c.unreadable++
						total.unreadable++
					case refused:
						c.refused++
						total.refused++
					case ok:
						c.matched++
						total.matched++
					}
				}
				var b strings.Builder
				ops := slices.Sorted(maps.Keys(perOp))
				fmt.Fprintf(&b, "%-28s %6s %8s %8s %10s\n", "op", "cases", "matched", "refused", "unreadable")
				for _, op := range ops {
					c := perOp[op]
					fmt.Fprintf(&b, "%-28s %6d %8d %8d %10d\n", op, c.cases, c.matched, c.refused, c.unreadable)
				}
				if testing.Verbose() {
					t.Logf("%s %s per operator:\n%s", mode, set, b.String())
				}
				t.Logf("%s %s: %d cases: %d converted and reproduced, %d refused, %d not readable by this harness",
					mode, set, total.cases, total.matched, total.refused, total.unreadable)
				if floor := map[string]int{"frozen": matchedFloor, "shipped": shippedFloor}[mode]; set == "node" && total.matched < floor {
					t.Errorf("%d node cases matched %s, want at least %d", total.matched, mode, floor)
				}
			})
		}
	}
}

// caseOp names the operator a case tests: its node's op type, or
// "(graph)" for a case of several nodes.
func caseOp(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return "(unreadable)"
	}
	var m onnx.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil || m.Graph == nil {
		return "(unreadable)"
	}
	if len(m.Graph.Node) != 1 {
		return "(graph)"
	}
	return m.Graph.Node[0].GetOpType()
}

// runCase converts one case and, when it converts, compares every backend
// with the expected outputs; a mismatch or a crash fails t.
func runCase(t *testing.T, dir string, frozen bool) (matched, refused, unreadable bool) {
	name := filepath.Base(dir)
	res, in, want, err := loadCaseMode(t, dir, frozen)
	var ec errCase
	switch {
	case errors.As(err, &ec):
		return false, false, true
	case err != nil && strings.Contains(err.Error(), "internal converter error"):
		t.Errorf("%s: %v", name, err)
		return false, false, false
	case err != nil:
		if testing.Verbose() {
			t.Logf("refused %s: %v", name, err)
		}
		return false, true, false
	}
	rb, err := tryRuntimeBackends(t, res)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return false, false, false
	}
	backends := append([]verify.Backend{verify.ExecBackend(res.Graph)}, rb...)
	rep, err := verify.Compare(res, []verify.Input{in}, [][]verify.Tensor{want}, backends...)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return false, false, false
	}
	matched = true
	for b, m := range rep.MaxAbs {
		if m > tolerance {
			t.Errorf("%s: %s: silent mismatch: max abs error %.3g > %g", name, b, m, tolerance)
			matched = false
		}
	}
	return matched, false, false
}
