package bench

import "testing"

func TestComputeRatios(t *testing.T) {
	row := func(model string, size int, medianMs float64) Row {
		return Row{Model: model, Stats: Stats{H: size, W: size},
			Results: []ChildResult{{Measurement: Measurement{Latency: Latency{Runs: 3, Median: medianMs}}}}}
	}
	rows := []Row{row("a", 256, 100), row("b", 256, 25), row("b", 512, 80)}
	rows[0].Stats.FileBytes, rows[1].Stats.FileBytes, rows[2].Stats.FileBytes = 1000, 250, 250
	rows[0].Stats.MACs, rows[1].Stats.MACs = 0, 5 // base without MACs: ratio 0, not Inf
	computeRatios(rows)
	if r := rows[1].Ratios; r.Speedup != 4 || r.File != 0.25 || r.MACs != 0 || r.Base != "a at 256²" {
		t.Errorf("b at 256: %+v, want speed-up 4, file 0.25, MACs 0, base a", r)
	}
	if r := rows[2].Ratios; r.Speedup != 1 || r.Base != "b at 512²" {
		t.Errorf("b at 512 (first of its size): %+v", r)
	}
}
