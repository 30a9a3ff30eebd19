package hw

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestProbeUnderQemu builds the probe for arm64 and runs it under
// qemu-aarch64, where /proc/device-tree is missing and /proc/cpuinfo is the
// host's: the report must still be valid JSON for arm64.
func TestProbeUnderQemu(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-build skipped in -short mode")
	}
	qemu, err := exec.LookPath("qemu-aarch64")
	if err != nil {
		t.Skip("qemu-aarch64 not installed (Debian package qemu-user)")
	}
	bin := filepath.Join(t.TempDir(), "probecmd")
	build := exec.Command("go", "build", "-o", bin, "./testdata/probecmd")
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build for arm64: %v\n%s", err, out)
	}
	watch := t.TempDir()
	out, err := exec.Command(qemu, bin, "--json", "--watch", watch).Output()
	if err != nil {
		t.Fatalf("qemu-aarch64 probecmd --json: %v", err)
	}
	var r Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, out)
	}
	if r.Schema != Schema || r.Version != SchemaVersion || r.Host.Arch != "arm64" || r.CPU.Online < 1 || r.Cgroup.CPUs < 1 {
		t.Errorf("report under qemu: %s", out)
	}
	if r.Watch == nil || r.Watch.Type == "" {
		t.Errorf("watch folder under qemu: %+v", r.Watch)
	}
	t.Logf("under qemu: board %q, cpu %q features %v (%s), emulated %v, problems %v",
		r.Board.Model, r.CPU.Model, r.CPU.Features, r.CPU.FeatureSource, r.Host.Emulated, r.Problems)
}
