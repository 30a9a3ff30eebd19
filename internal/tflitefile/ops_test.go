package tflitefile

import "testing"

func TestOpTable(t *testing.T) {
	names := map[string]BuiltinOp{}
	for op, i := range opInfo {
		if prev, dup := names[i.Name]; dup {
			t.Errorf("%s is the name of %d and %d", i.Name, prev, op)
		}
		names[i.Name] = op
		if got, ok := OpByName(i.Name); !ok || got != op {
			t.Errorf("OpByName(%q) = %d, %v; want %d", i.Name, got, ok, op)
		}
		if i.MaxRank < 1 || i.MaxRank > 8 {
			t.Errorf("%s: MaxRank %d", i.Name, i.MaxRank)
		}
		if i.EqualScale && !i.Int8 || i.XNNPACKInt8 && !i.XNNPACK {
			t.Errorf("%s: equal-scale or XNNPACK int8 without the kernel: %+v", i.Name, i)
		}
		if i.SizeAgnostic && i.ConstSize {
			t.Errorf("%s: both size-agnostic and constant-size", i.Name)
		}
	}
	if s := BuiltinOp(999).String(); s != "BUILTIN_999" {
		t.Errorf("unknown op String() = %q", s)
	}
}
