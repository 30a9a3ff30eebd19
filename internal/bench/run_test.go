package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/animed/animed/internal/testmodel"
	"github.com/animed/animed/internal/tflite"
)

// childEnv marks the test binary's re-exec as a bench child.
const childEnv = "ANIMED_BENCH_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		if err := ChildMain(context.Background(), os.Args[1:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testOptions runs children through this test binary.
func testOptions(t *testing.T, models ...string) Options {
	t.Helper()
	return Options{Models: models, Threads: 1, Runs: 2, MaxTime: time.Second,
		Child: []string{os.Args[0]}, ChildEnv: []string{childEnv + "=1"}}
}

func writeModel(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSummarize(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	for _, tc := range []struct {
		in                 []time.Duration
		med, p90, min, avg float64
	}{
		{ms(5), 5, 5, 5, 5},
		{ms(4, 1, 3, 2), 2.5, 4, 1, 2.5},
		{ms(10, 1, 2, 3, 4, 5, 6, 7, 8, 9), 5.5, 9, 1, 5.5},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100), 6, 10, 1, 155.0 / 11},
	} {
		got := Summarize(tc.in)
		if got.Runs != len(tc.in) || got.Median != tc.med || got.P90 != tc.p90 || got.Min != tc.min || got.Mean != tc.avg {
			t.Errorf("Summarize(%v) = %+v, want median %v p90 %v min %v mean %v", tc.in, got, tc.med, tc.p90, tc.min, tc.avg)
		}
	}
	if got := Summarize(nil); got.Runs != 0 {
		t.Errorf("Summarize(nil) = %+v", got)
	}
}

func TestTimeRunsLimits(t *testing.T) {
	calls := 0
	run := func() error { calls++; time.Sleep(20 * time.Millisecond); return nil }
	// The time cap stops it long before 1000 runs.
	s, first, err := timeRuns(context.Background(), run, Limits{Warmup: 2, MaxRuns: 1000, MaxTime: 100 * time.Millisecond}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if len(s) < 1 || len(s) > 10 || calls != len(s)+2 || first < 20 {
		t.Errorf("time cap: %d timed runs, %d calls, first %.1f ms; want 1..10 timed, 2 warm-ups, first >= 20 ms", len(s), calls, first)
	}
	// The run cap stops it long before the time cap.
	calls = 0
	s, _, _ = timeRuns(context.Background(), run, Limits{Warmup: -1, MaxRuns: 3, MaxTime: time.Hour}.withDefaults())
	if len(s) != 3 || calls != 3 {
		t.Errorf("run cap: %d timed runs, %d calls, want 3 and 3", len(s), calls)
	}
	// MinRuns wins over a spent time budget.
	s, _, _ = timeRuns(context.Background(), run, Limits{Warmup: -1, MinRuns: 2, MaxRuns: 5, MaxTime: time.Nanosecond}.withDefaults())
	if len(s) != 2 {
		t.Errorf("min runs: %d timed runs, want 2", len(s))
	}
	// Errors and cancellation stop it.
	boom := errors.New("boom")
	if _, _, err := timeRuns(context.Background(), func() error { return boom }, Limits{}.withDefaults()); !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := timeRuns(ctx, run, Limits{}.withDefaults()); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestMeasureInProcess(t *testing.T) {
	m, err := Measure(context.Background(), testmodel.Int8(), 96, 96, tflite.Options{Threads: 1}, Limits{MaxRuns: 2})
	if err != nil {
		t.Fatal(err)
	}
	if m.Backend != tflite.BackendXNNPACK || m.Latency.Runs != 2 || m.Latency.Median <= 0 || m.LoadMs <= 0 {
		t.Errorf("Measure = %+v, want 2 XNNPACK runs with positive times", m)
	}
	if _, err := Measure(context.Background(), []byte("junk"), 0, 0, tflite.Options{}, Limits{}); err == nil {
		t.Error("Measure(junk) succeeded")
	}
}

func TestRunChildren(t *testing.T) {
	fp32 := writeModel(t, "fp32.tflite", testmodel.FP32())
	int8 := writeModel(t, "int8.tflite", testmodel.Int8())
	fixed := writeModel(t, "fixed.tflite", testmodel.MustBuild(testmodel.Config{FixedSize: true, Int8: true}))
	o := testOptions(t, fp32, int8, fixed)
	o.Sizes = []int{64, 128}
	var progress bytes.Buffer
	o.Progress = &progress
	rep, err := MeasureAll(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// fp32 and int8 at both sizes; the fixed model only at its own 64.
	want := []struct {
		model string
		side  int
	}{{"fp32.tflite", 64}, {"fp32.tflite", 128}, {"int8.tflite", 64}, {"int8.tflite", 128}, {"fixed.tflite", 64}}
	if len(rep.Rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rep.Rows), len(want), rep.Rows)
	}
	for i, w := range want {
		r := rep.Rows[i]
		if r.Model != w.model || r.Stats.H != w.side {
			t.Errorf("row %d = %s at %d, want %s at %d", i, r.Model, r.Stats.H, w.model, w.side)
		}
		if len(r.Results) != 2 {
			t.Fatalf("row %d: %d results, want xnnpack and cpu", i, len(r.Results))
		}
		for _, res := range r.Results {
			if res.Latency.Runs < 1 || res.Latency.Runs > 2 || res.Latency.Median <= 0 {
				t.Errorf("row %d %s: latency %+v, want 1..2 runs", i, res.Requested, res.Latency)
			}
			if res.BaseRSSKB <= 0 || res.PeakRSSKB < res.BaseRSSKB || res.RusageMaxRSSKB <= 0 {
				t.Errorf("row %d %s: RSS base %d peak %d rusage %d, want 0 < base <= peak, rusage > 0",
					i, res.Requested, res.BaseRSSKB, res.PeakRSSKB, res.RusageMaxRSSKB)
			}
			if res.Threads != 1 {
				t.Errorf("row %d: threads %d, want 1", i, res.Threads)
			}
		}
		if r.Results[0].Requested != tflite.BackendXNNPACK || r.Results[1].Backend != tflite.BackendCPU {
			t.Errorf("row %d: backends %s, %s", i, r.Results[0].Requested, r.Results[1].Backend)
		}
	}
	// Ratios: the int8 row at 64 against fp32 at 64 has the file ratio of
	// the two files and the same MACs; rows at 128 compare with fp32 at 128.
	r := rep.Rows[2].Ratios
	if wantFile := float64(len(testmodel.Int8())) / float64(len(testmodel.FP32())); r.File != wantFile || r.MACs != 1 || r.Base != "fp32.tflite at 64²" {
		t.Errorf("int8 ratios %+v, want file %.3f, MACs 1 against fp32.tflite at 64²", r, wantFile)
	}
	if rep.Rows[3].Ratios.Base != "fp32.tflite at 128²" {
		t.Errorf("int8 at 128 compares with %q", rep.Rows[3].Ratios.Base)
	}
	if rep.Rows[1].Stats.MACs != 4*rep.Rows[0].Stats.MACs {
		t.Errorf("MACs at 128 = %d, want 4x those at 64 (%d)", rep.Rows[1].Stats.MACs, rep.Rows[0].Stats.MACs)
	}
	if len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0], "fixed.tflite at 128²") {
		t.Errorf("Skipped = %q", rep.Skipped)
	}
	if n := strings.Count(progress.String(), "median"); n != 10 {
		t.Errorf("progress has %d result lines, want 10:\n%s", n, progress.String())
	}

	var md bytes.Buffer
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| CPU |", "| fp32.tflite | 64² | 251 |", "| int8.tflite | 128² |", "xnnpack median / p90 ms", "skipped: fixed.tflite at 128²"} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("Markdown lacks %q:\n%s", s, md.String())
		}
	}
}

func TestRunJSONAndErrors(t *testing.T) {
	o := testOptions(t, writeModel(t, "m.tflite", testmodel.Int8()))
	o.Sizes, o.JSON, o.Backends = []int{32}, true, []tflite.Backend{tflite.BackendCPU}
	var out bytes.Buffer
	if err := Run(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out.String())
	}
	if len(rep.Rows) != 1 || rep.Rows[0].Ratios.Speedup != 1 || rep.Machine.TFLite == "" || rep.Machine.CPUs < 1 {
		t.Errorf("report %+v", rep)
	}

	for name, o := range map[string]Options{
		"missing model": testOptions(t, filepath.Join(t.TempDir(), "nope.tflite")),
		"junk model":    testOptions(t, writeModel(t, "junk.tflite", []byte("TFL3 but not really a model"))),
		"bad size":      {Sizes: []int{0}},
		"bad child":     {Models: []string{writeModel(t, "ok.tflite", testmodel.FP32())}, Sizes: []int{32}, Child: []string{"/bin/false"}},
	} {
		if err := Run(context.Background(), o, &out); err == nil {
			t.Errorf("%s: Run succeeded", name)
		}
	}
}

func TestStatusKB(t *testing.T) {
	in := "Name:\tx\nVmPeak:\t  12345 kB\nVmHWM:\t    4321 kB\nVmRSS:\t 100 kB\n"
	if got := StatusKB(strings.NewReader(in), "VmHWM"); got != 4321 {
		t.Errorf("VmHWM = %d, want 4321", got)
	}
	if got := StatusKB(strings.NewReader(in), "VmSwap"); got != -1 {
		t.Errorf("missing key = %d, want -1", got)
	}
	if got := ProcStatusKB("VmHWM"); got <= 0 {
		t.Errorf("own VmHWM = %d, want > 0", got)
	}
}

// TestRescaledRows measures the previous default model, v1 (constant
// resize sizes: rescalable, not resizable), at two sizes; each child
// rewrites the model, so the MACs follow the size and every row is marked
// rescaled. A "@N" suffix limits a model to one size.
func TestRescaledRows(t *testing.T) {
	const v1 = "../../models/previous/animegan_tiny_int8.tflite"
	o := testOptions(t, v1, v1+"@64")
	o.Sizes = []int{64, 128}
	o.Backends = []tflite.Backend{tflite.BackendXNNPACK}
	o.Runs = 1
	rep, err := MeasureAll(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rep.Rows {
		got = append(got, fmt.Sprintf("%s@%d rescaled=%v", r.Model, r.Stats.H, r.Rescaled))
		if len(r.Results) != 1 || r.Results[0].Latency.Runs < 1 {
			t.Errorf("%s at %d²: results %+v", r.Model, r.Stats.H, r.Results)
		}
	}
	want := []string{"animegan_tiny_int8.tflite@64 rescaled=true", "animegan_tiny_int8.tflite@128 rescaled=true",
		"animegan_tiny_int8.tflite@64 rescaled=true"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("rows %v, want %v", got, want)
	}
	if m64, m128 := rep.Rows[0].Stats.MACs, rep.Rows[1].Stats.MACs; m64 <= 0 || m128 != 4*m64 {
		t.Errorf("MACs at 64² %d and 128² %d: want a 4x ratio", m64, m128)
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "128² ‡") || !strings.Contains(md.String(), "rewritten for this input size") {
		t.Errorf("markdown does not mark the rescaled rows:\n%s", md.String())
	}
	for _, bad := range []string{"m.tflite@", "m.tflite@0", "m.tflite@x"} {
		if _, _, err := splitModelSpec(bad); err == nil {
			t.Errorf("splitModelSpec(%q) accepted", bad)
		}
	}
}
