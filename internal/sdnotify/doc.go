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
// Wiring in the daemon (daemon/cmd/animed's lifecycle hooks):
//
//	n := sdnotify.New(log)
//	wd := n.Watchdog()
//	go wd.Run(ctx)                 // until the daemon exits
//	lc := lifecycle{
//		Ready:    func(s string) { n.Status(s); n.Ready() }, // each generation: start and after SIGHUP
//		Progress: wd.Advance,                                 // after every tile
//		Stopping: func() { n.Stopping() },
//	}
//	// SIGHUP: n.Reloading() before re-reading the configuration.
//	// Per photo (pipeline.Process): wd.Begin(); defer wd.End()
//
// Without Begin and End the pipeline always counts as idle: the watchdog
// then only catches a daemon whose pinger goroutine stops, not a stuck
// photo. Child processes (the hardware self-test) inherit NOTIFY_SOCKET;
// NotifyAccess=main makes systemd ignore them, so nothing needs unsetting
// (and unsetting it in the daemon's own environment would silence it).
package sdnotify
