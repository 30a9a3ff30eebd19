package selftest

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/animed/animed/internal/testmodel"
	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/models"
)

func TestRun(t *testing.T) {
	for _, b := range []tflite.Backend{tflite.BackendCPU, tflite.BackendXNNPACK} {
		t.Run(string(b), func(t *testing.T) {
			var stages []string
			res, err := Run(context.Background(), Request{
				Model: testmodel.Int8(), Backend: b, Threads: 1, Runs: 2,
				Stage: func(s string) { stages = append(stages, s) },
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Actual != b || res.Fallback != "" || len(res.RunMs) != 2 || res.Stage != StageDone {
				t.Errorf("result = %+v", res)
			}
			if got := strings.Join(stages, ","); got != "load,invoke,done" {
				t.Errorf("stages = %s", got)
			}
			out, err := res.Floats()
			if err != nil {
				t.Fatal(err)
			}
			// The test model is a real network: its INT8 output on the
			// test image stays within a few steps of the float reference.
			want := testmodel.Reference(TestImage(64, 64), 64, 64)
			if len(out) != len(want) {
				t.Fatalf("output has %d values, want %d", len(out), len(want))
			}
			var worst float64
			for i := range out {
				worst = math.Max(worst, math.Abs(float64(out[i]-want[i])))
			}
			if worst > 0.1 {
				t.Errorf("largest difference from the float reference %.4f", worst)
			}
		})
	}
}

func TestRunResized(t *testing.T) {
	res, err := Run(context.Background(), Request{Model: testmodel.Int8(), Backend: tflite.BackendCPU, Threads: 1, Runs: 1, Size: 32})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 32, 32, 3}; !slicesEqual(res.Shape, want) {
		t.Errorf("shape = %v, want %v", res.Shape, want)
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name   string
		req    Request
		stage  string
		errHas string
	}{
		{"not a model", Request{Model: []byte("nope"), Backend: tflite.BackendCPU}, StageLoad, "tflite"},
		{"missing plugin", Request{Model: testmodel.Int8(), Backend: tflite.BackendExternal, Delegate: "/nonexistent/libx.so"}, StageDlopen, "dlopen /nonexistent/libx.so"},
		{"no delegate", Request{Model: testmodel.Int8(), Backend: tflite.BackendExternal}, StageDlopen, "no delegate path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.errHas) || res.Stage != tt.stage || res.Error != err.Error() {
				t.Errorf("Run = %+v, %v; want stage %s and error containing %q", res, err, tt.stage, tt.errHas)
			}
		})
	}
}

func TestCheckLoad(t *testing.T) {
	// The TFLite package's external delegate object is a real shared
	// library without the plugin entry points.
	lib := filepath.Join("..", "..", "build", "tflite", "linux_"+runtime.GOARCH, "libexternal_delegate_obj.so")
	if _, err := os.Stat(lib); err != nil {
		t.Skip("TFLite library missing: run make deps-tflite")
	}
	if err := CheckLoad(lib); err == nil || !strings.Contains(err.Error(), "no symbol tflite_plugin_create_delegate") {
		t.Errorf("CheckLoad(%s) = %v", lib, err)
	}
	text := filepath.Join(t.TempDir(), "text.so")
	os.WriteFile(text, []byte("hello"), 0o644)
	if err := CheckLoad(text); err == nil || !strings.Contains(err.Error(), "dlopen") {
		t.Errorf("CheckLoad(text) = %v", err)
	}
}

func TestMainUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--backend", "gpu"},
		{"--backend", "external"},
		{"--model", "/nonexistent.tflite"},
		{"--bogus"},
	} {
		var out, errb bytes.Buffer
		if code := Main(context.Background(), args, testmodel.Int8(), &out, &errb); code != 2 || errb.Len() == 0 {
			t.Errorf("Main(%q) = %d, stderr %q", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := Main(context.Background(), nil, nil, &out, &errb); code != 2 {
		t.Errorf("Main without a model = %d", code)
	}
}

// The embedded default model runs through the hidden subcommand's body.
func TestMainDefaultModel(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"--backend", "xnnpack", "--runs", "1", "--threads", "1"}, models.Default(), &out, &errb)
	if code != 0 {
		t.Fatalf("Main = %d, stderr:\n%s", code, errb.String())
	}
	var res Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Stage != StageDone || res.Output == "" || !strings.Contains(errb.String(), "stage: invoke") {
		t.Errorf("result %+v, stderr %q", res, errb.String())
	}
	t.Logf("default model: backend %s, output %v, load %.1f ms, run %.1f ms", res.Actual, res.Shape, res.LoadMs, res.Median())
}

func TestTestImage(t *testing.T) {
	a, b := TestImage(16, 24), TestImage(16, 24)
	if len(a) != 16*24*3 {
		t.Fatalf("len = %d", len(a))
	}
	lo, hi := float32(1), float32(-1)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("TestImage is not deterministic")
		}
		lo, hi = min(lo, a[i]), max(hi, a[i])
	}
	if lo < -1 || hi > 1 || hi-lo < 1.5 {
		t.Errorf("range [%v, %v], want most of [-1,1]", lo, hi)
	}
}

func BenchmarkSelfTestDefaultModel(b *testing.B) {
	for _, be := range []tflite.Backend{tflite.BackendCPU, tflite.BackendXNNPACK} {
		b.Run(string(be), func(b *testing.B) {
			for b.Loop() {
				if _, err := Run(context.Background(), Request{Model: models.Default(), Backend: be, Runs: 1}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
