// Package sdnotify tells systemd how the animed daemon is doing, through the
// sd_notify protocol (a datagram on the unix socket named by NOTIFY_SOCKET):
// readiness, reloading, stopping, a one-line status, and watchdog keep-alives.
//
// A service unit with Type=notify waits for Ready before it counts the daemon
// as started; with WatchdogSec= it kills and restarts the daemon when the
// keep-alives stop. A Watchdog sends them only while the daemon's pipeline is
// alive: either idle (nothing to convert) or making progress, which the
// pipeline reports with Advance after every tile it finishes. A single slow
// inference on a slow board therefore never trips the watchdog as long as each
// tile takes less than WatchdogSec, while a pipeline stuck in one photo stops
// the keep-alives and systemd restarts the daemon within twice WatchdogSec.
//
// Outside systemd (NOTIFY_SOCKET unset) every call is a cheap no-op, so the
// daemon calls them unconditionally. Methods on a nil *Watchdog are no-ops
// too, so the pipeline can take one without checking.
//
// Wiring in the daemon:
//
//	n := sdnotify.New(logger)
//	wd := n.Watchdog()
//	go wd.Run(ctx)                  // returns when ctx is cancelled
//	n.Ready()                       // after the folders are scanned and the model is loaded
//	// per photo:  wd.Begin(); defer wd.End(); after each tile: wd.Advance()
//	// SIGHUP:     n.Reloading(); reload; n.Ready()
//	// SIGTERM:    n.Stopping(); drain; exit 0
//	n.Status("idle, 12 converted, 0 failed")
package sdnotify
