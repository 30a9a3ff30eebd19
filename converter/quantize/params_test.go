package quantize_test

import (
	"testing"

	"github.com/animed/animed/converter/quantize"
)

func TestActivationParams(t *testing.T) {
	for _, r := range []quantize.Range{{-1, 1}, {0, 6}, {0.5, 3}, {-7, -2}, {0, 0}, {-0.001, 100}} {
		p := quantize.ActivationParams(r)
		rep := p.Representable()
		lo, hi := min(r.Min, 0), max(r.Max, 0)
		if rep.Min > lo+p.Scale/2 || rep.Max < hi-p.Scale/2 || p.ZeroPoint < -128 || p.ZeroPoint > 127 || !(p.Scale > 0) {
			t.Errorf("%v: params %+v represent %v", r, p, rep)
		}
		// 0 is exact.
		if q := p.Quantize(0); int32(q) != p.ZeroPoint {
			t.Errorf("%v: 0 quantizes to %d, zero point %d", r, q, p.ZeroPoint)
		}
	}
}
