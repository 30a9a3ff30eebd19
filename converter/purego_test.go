package converter_test

import (
	"os"
	"os/exec"
	"testing"
)

// The conversion and the quantization logic are pure Go, as the README
// says: they build without cgo (only verification, calibration and the
// quality gate run TFLite, in verify and quantize/calib).
func TestPureGo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the packages again without cgo")
	}
	cmd := exec.Command("go", "build", "-o", os.DevNull, ".", "./pass", "./emit", "./exec", "./onnx", "./ir",
		"./quantize", "../internal/tflitefile")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
}
