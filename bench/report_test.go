package bench

import (
	"bytes"
	"strings"
	"testing"

	measure "github.com/animed/animed/internal/bench"
)

func reportRow(model string, size int, medianMs float64) measure.Row {
	return measure.Row{Model: model, Stats: measure.Stats{H: size, W: size},
		Results: []measure.ChildResult{{Measurement: measure.Measurement{Latency: measure.Latency{Runs: 3, Median: medianMs}}}}}
}

func TestGoals(t *testing.T) {
	rep := &measure.Report{Rows: []measure.Row{reportRow("teacher", 256, 3000), reportRow("fp32", 256, 30), reportRow("int8", 256, 15), reportRow("int8", 512, 60)}}
	in := ReportInput{Models: rep, Teacher: "teacher", StudentFP32: "fp32", StudentInt8: "int8",
		Torch: &TorchResult{Available: true, Latency: measure.Latency{Median: 300}},
		E2E:   &E2EResult{PeakRSSKB: 100 * 1024, PhotosPerSec: 5}}
	want := map[string]string{
		"student INT8 ≤ 20 ms at 256²":           "yes", // 15 ms
		"≥ 100x the teacher INT8 TFLite at 256²": "yes", // 200x
		"≥ 30x the PyTorch teacher at 256²":      "no",  // 20x
		"INT8 ≥ 2x student FP32 at 256²":         "yes", // exactly 2x
		"daemon RSS ≤ 80 MB on 1024x768 photos":  "no",  // 100 MB
		"≥ 4 photos/s end to end":                "yes",
	}
	goals := Goals(in)
	if len(goals) != len(want) {
		t.Fatalf("%d goals, want %d", len(goals), len(want))
	}
	for _, g := range goals {
		if g.Met != want[g.Name] {
			t.Errorf("%s: met %q (%s), want %q", g.Name, g.Met, g.Measured, want[g.Name])
		}
	}
	if !strings.Contains(goals[1].Measured, "200x") || !strings.Contains(goals[2].Measured, "20x") {
		t.Errorf("ratios: %q, %q", goals[1].Measured, goals[2].Measured)
	}
	// The daemon's own numbers win over the in-process pipeline's.
	in.Daemon = &DaemonResult{PeakRSSKB: 70 * 1024, SteadyPhotosPerS: 3}
	if g := Goals(in); g[4].Met != "yes" || g[5].Met != "no" || !strings.Contains(g[4].Measured, "animed run") {
		t.Errorf("with the daemon: %+v", g[4:])
	}
	// Missing pieces are "not measured", with the reason.
	in = ReportInput{Models: rep, StudentInt8: "int8", Torch: &TorchResult{Reason: "port not found"}}
	for _, g := range Goals(in)[1:] {
		if g.Met != "not measured" {
			t.Errorf("%s: %q, want not measured", g.Name, g.Met)
		}
	}
	if g := Goals(in)[2]; g.Measured != "port not found" {
		t.Errorf("torch goal says %q", g.Measured)
	}

	var b bytes.Buffer
	in.Missing = map[string]string{"e2e": "no e2e here"}
	if err := WriteReport(&b, in); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"## Goals", "| int8 | 512² |", "Not measured: port not found", "Not measured: no e2e here"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, b.String())
		}
	}
}
