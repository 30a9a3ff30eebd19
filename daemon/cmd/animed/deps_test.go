package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The daemon binary links what it runs: not the fonts, the contact sheets
// and the reports of `make bench` (the top-level package bench), nor the
// ONNX converter. As Tailscale's cmd/tailscaled/deps_test.go does, the
// list comes from `go list -deps`.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 || !strings.Contains(string(out), "github.com/animed/animed/internal/bench\n") {
		t.Fatalf("go list -deps gave %d packages without internal/bench: %q", len(deps), deps)
	}
	for _, dep := range deps {
		for _, bad := range []string{
			"golang.org/x/image/font",        // and its subpackages
			"github.com/animed/animed/bench", // reports, quality, contact sheets
			"github.com/animed/animed/converter/onnx",
		} {
			if dep == bad || strings.HasPrefix(dep, bad+"/") {
				t.Errorf("animed links %s", dep)
			}
		}
	}
}
