package ir

import (
	"slices"
	"strings"
	"testing"

	"github.com/animed/animed/internal/tflitefile"
)

// A lowered node's operator is the BuiltinOp AddTFLite stored, not its
// printed name: a node spelled "tfl.CONV_2D" by hand is not lowered.
func TestBuiltin(t *testing.T) {
	g := NewGraph("g")
	x := g.NewValue("x", Float32, []int{1})
	for _, tc := range []struct {
		n       *Node
		want    tflitefile.BuiltinOp
		lowered bool
	}{
		{g.AddTFLite(tflitefile.Add, "add", []*Value{x, x}, []*Value{g.NewValue("y", Float32, []int{1})}, nil), tflitefile.Add, true},
		{g.AddTFLite(tflitefile.SelectV2, "sel", []*Value{x, x, x}, []*Value{g.NewValue("s", Float32, []int{1})}, nil), tflitefile.SelectV2, true},
		{g.Add("tfl.CONV_2D", "conv", []*Value{x}, []*Value{g.NewValue("c", Float32, []int{1})}, nil), 0, false},
		{g.Add("Add", "onnx", []*Value{x, x}, []*Value{g.NewValue("o", Float32, []int{1})}, nil), 0, false},
	} {
		op, ok := tc.n.Builtin()
		if ok != tc.lowered || ok && op != tc.want || tc.n.Is(tflitefile.Add) != (tc.lowered && tc.want == tflitefile.Add) {
			t.Errorf("%v: Builtin() = %v, %v; want %v, %v", tc.n, op, ok, tc.want, tc.lowered)
		}
	}
}

func TestBroadcast(t *testing.T) {
	s, err := BroadcastShapes([]int{1, 4, 1, 3}, []int{4, 5, 1})
	if err != nil || !slices.Equal(s, []int{1, 4, 5, 3}) {
		t.Fatalf("BroadcastShapes = %v, %v", s, err)
	}
	if _, err := BroadcastShapes([]int{2, 3}, []int{4, 3}); err == nil {
		t.Error("2x3 and 4x3 broadcast")
	}
	// [2,1] against [2,3]: each row repeats its element.
	if got := BroadcastIndex([]int{2, 1}, []int{2, 3}); !slices.Equal(got, []int{0, 0, 0, 1, 1, 1}) {
		t.Errorf("BroadcastIndex = %v", got)
	}
}

func TestTranspose(t *testing.T) {
	x := FloatTensor([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	y := x.Transpose([]int{1, 0})
	if !slices.Equal(y.Shape, []int{3, 2}) || !slices.Equal(y.F, []float32{1, 4, 2, 5, 3, 6}) {
		t.Errorf("transpose = %v %v", y.Shape, y.F)
	}
	if p := InversePerm([]int{0, 2, 3, 1}); !slices.Equal(p, []int{0, 3, 1, 2}) {
		t.Errorf("InversePerm = %v", p)
	}
}

func TestGraphEditing(t *testing.T) {
	g := NewGraph("g")
	in := g.NewValue("x", Float32, []int{1})
	g.Inputs = []*Value{in}
	a := g.NewValue("a", Float32, []int{1})
	b := g.NewValue("b", Float32, []int{1})
	// out of order on purpose
	g.Add("Neg", "second", []*Value{a}, []*Value{b}, nil)
	g.Add("Neg", "first", []*Value{in}, []*Value{a}, nil)
	g.Outputs = []*Value{b}
	if err := g.Sort(); err != nil {
		t.Fatal(err)
	}
	if g.Nodes[0].Name != "first" {
		t.Errorf("Sort: %s", g.Dump())
	}
	// Replacing a graph output keeps the output's name.
	g.ReplaceUses(b, a)
	if g.Outputs[0] != a || a.Name != "b" {
		t.Errorf("output now %v", g.Outputs[0])
	}
	g.RemoveDead()
	if len(g.Nodes) != 1 {
		t.Errorf("RemoveDead left %d nodes", len(g.Nodes))
	}
	// A cycle is an error, not a hang.
	c := g.NewValue("c", Float32, []int{1})
	d := g.NewValue("d", Float32, []int{1})
	g.Add("Neg", "p", []*Value{c}, []*Value{d}, nil)
	g.Add("Neg", "q", []*Value{d}, []*Value{c}, nil)
	if err := g.Sort(); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("Sort on a cycle: %v", err)
	}
	if n := g.UniqueName("a"); n == "a" {
		t.Error("UniqueName reused a name")
	}
}
