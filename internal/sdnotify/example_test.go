package sdnotify_test

import (
	"context"
	"log/slog"

	"github.com/animed/animed/internal/sdnotify"
)

// The daemon's side of Type=notify and WatchdogSec=: readiness once the
// pipeline runs, keep-alives that follow the pipeline's progress, and a
// status line for `systemctl status`.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	n := sdnotify.New(slog.Default())
	wd := n.Watchdog()
	go wd.Run(ctx)
	_ = n.Ready()

	// One photo in four tiles.
	wd.Begin()
	for range 4 {
		// ... run the model on one tile ...
		wd.Advance()
	}
	wd.End()
	_ = n.Status("idle, 1 converted, 0 failed")

	// On SIGTERM:
	_ = n.Stopping()
	// Output:
}
