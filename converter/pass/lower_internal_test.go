package pass

import (
	"slices"
	"testing"
)

func TestSpatialPadding(t *testing.T) {
	for _, tc := range []struct {
		k, s, d    int
		pads       []int
		same, expl bool
	}{
		{3, 1, 1, []int{1, 1, 1, 1}, true, false},
		{3, 1, 1, []int{0, 0, 0, 0}, false, false}, // VALID
		{3, 2, 1, []int{1, 1, 1, 1}, false, true},  // TF SAME pads bottom/right only at even sizes
		{4, 1, 1, []int{1, 1, 2, 2}, true, false},  // floor/ceil split
		{4, 1, 1, []int{2, 2, 1, 1}, false, true},  // the other split is not SAME
		{3, 1, 2, []int{2, 2, 2, 2}, true, false},  // dilated
		{3, 1, 1, []int{0, 0, 1, 1}, false, true},
	} {
		p := windowParams{kernel: []int{tc.k, tc.k}, strides: []int{tc.s, tc.s}, dilations: []int{tc.d, tc.d}, pads: tc.pads}
		same, expl := spatialPadding(p)
		if same != tc.same || expl != tc.expl {
			t.Errorf("k%d s%d d%d pads %v: same=%v explicit=%v, want %v %v", tc.k, tc.s, tc.d, tc.pads, same, expl, tc.same, tc.expl)
		}
	}
}

func TestReshapeLayout(t *testing.T) {
	for _, tc := range []struct {
		in, out, perm      []int
		wantShape, wantPrm []int
		ok                 bool
	}{
		// NCHW [1,C,H,W] stored NHWC -> [1,C,HW] is [1,HW,C] physically.
		{[]int{1, 4, 5, 6}, []int{1, 4, 30}, nhwc, []int{1, 30, 4}, []int{0, 2, 1}, true},
		// and back
		{[]int{1, 4, 30}, []int{1, 4, 5, 6}, []int{0, 2, 1}, []int{1, 5, 6, 4}, []int{0, 2, 3, 1}, true},
		// flatten of a pooled [1,C,1,1]
		{[]int{1, 4, 1, 1}, []int{1, 4}, nhwc, []int{1, 4}, []int{0, 1}, true},
		// splitting C across H,W is not a physical reshape in NHWC
		{[]int{1, 4, 5, 6}, []int{1, 2, 60}, nhwc, nil, nil, false},
	} {
		s, p, ok := reshapeLayout(tc.in, tc.out, tc.perm)
		if ok != tc.ok || ok && (!slices.Equal(s, tc.wantShape) || !slices.Equal(p, tc.wantPrm)) {
			t.Errorf("%v -> %v (perm %v): %v %v %v, want %v %v %v", tc.in, tc.out, tc.perm, s, p, ok, tc.wantShape, tc.wantPrm, tc.ok)
		}
	}
}
