package pass

import (
	"fmt"

	"github.com/animed/animed/converter/ir"
)

func axis(a int64, rank int) (int, error) {
	if a < 0 {
		a += int64(rank)
	}
	if a < 0 || a >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, rank)
	}
	return int(a), nil
}

func ints(v []int64) []int {
	if v == nil {
		return nil
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// constInts reads an optional constant integer input; ok is false when the
// input is present but not constant.
func constInts(v *ir.Value) (vals []int64, present, ok bool) {
	if v == nil || (v.Shape != nil && ir.NumElements(v.Shape) == 0 && v.IsConst()) {
		return nil, false, true
	}
	if !v.IsConst() {
		return nil, true, false
	}
	return v.Const.Ints(), true, true
}

func constFloats(v *ir.Value) (vals []float32, present, ok bool) {
	if v == nil || (v.IsConst() && v.Const.Len() == 0) {
		return nil, false, true
	}
	if !v.IsConst() {
		return nil, true, false
	}
	return v.Const.Floats(), true, true
}

// nodeErr names the node in an error.
func nodeErr(n *ir.Node, format string, args ...any) error {
	return fmt.Errorf("node %q (%s): %s", n.Name, n.Op, fmt.Sprintf(format, args...))
}
