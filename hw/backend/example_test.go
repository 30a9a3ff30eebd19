package backend_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/animed/animed/hw"
	"github.com/animed/animed/hw/backend"
	"github.com/animed/animed/hw/selftest"
	"github.com/animed/animed/models"
)

// How animed wires the choice: probe, then let Choose re-execute animed's
// hidden selftest subcommand for each candidate. main dispatches
// os.Args[1] == selftest.Command to selftest.Main before anything else.
func ExampleChoose() {
	ctx := context.Background()
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	delegate := "" // --delegate PATH
	report := hw.Probe(ctx, hw.Options{WatchDir: "/srv/drop", Delegate: delegate})
	d, err := backend.Choose(ctx, backend.Config{
		Exe:         exe,
		Args:        []string{selftest.Command},
		Model:       "", // the embedded model
		ModelSHA256: models.DefaultSHA256(),
		Backend:     backend.Auto, // --backend
		Delegate:    delegate,
		Report:      report,
		StateDir:    "/var/lib/animed", // --state
		Version:     "animed 1.0, TFLite 2.9.0",
		Logger:      slog.Default(),
	})
	if err != nil {
		slog.Warn("backend self-test", "err", err) // d is still usable
	}
	d.WriteTable(os.Stdout)
	// Then: tflite.Options{Backend: d.Backend,
	//   ExternalDelegate: d.Delegate, Threads: d.Threads}
}
