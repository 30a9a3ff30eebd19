package bench

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
)

// buildAnimed builds daemon/cmd/animed.
func buildAnimed(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "animed")
	cmd := exec.Command("go", "build", "-o", bin, "../daemon/cmd/animed")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build animed: %v\n%s", err, out)
	}
	return bin
}

func TestDaemon(t *testing.T) {
	animed := buildAnimed(t)
	inputs, err := PreparePhotos(E2EOptions{Photos: writePhotos(t, 2, 90, 60), Width: 160, Height: 120})
	if err != nil {
		t.Fatal(err)
	}
	inputs = append(inputs, inputs...)
	res, err := Daemon(context.Background(), DaemonOptions{Animed: animed, Inputs: inputs, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Photos != 4 || res.WallS <= 0 || res.PeakRSSKB <= 0 || res.SteadyPhotosPerS <= 0 {
		t.Errorf("result %+v", res)
	}
	if s := res.Stages["infer_ms"]; s.Runs != 4 {
		t.Errorf("infer_ms from %d log lines, want 4 (stages %v)", s.Runs, res.Stages)
	}
	// A binary that exits at once fails cleanly.
	if _, err := Daemon(context.Background(), DaemonOptions{Animed: "/bin/false", Inputs: inputs[:1]}); err == nil {
		t.Error("Daemon(/bin/false) succeeded")
	}
}
