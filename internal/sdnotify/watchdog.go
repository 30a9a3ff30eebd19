package sdnotify

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Watchdog sends keep-alives to systemd's watchdog while the pipeline is
// alive. The pipeline calls Begin when it starts a photo, Advance after each
// tile (or any other bounded step) and End when the photo is done or failed.
//
// The pipeline counts as alive when no photo is in progress, or when the last
// Begin, Advance or End happened less than MaxStall ago. Time is measured on
// the monotonic clock, so a clock jump (NTP on a board without a real-time
// clock) does not look like a stall.
//
// All methods are safe for concurrent use and are no-ops on a nil *Watchdog.
type Watchdog struct {
	n        *Notifier
	interval time.Duration // WatchdogSec; 0 = disabled
	maxStall time.Duration
	base     time.Time    // monotonic reference for last
	busy     atomic.Int64 // photos in progress
	last     atomic.Int64 // nanoseconds since base of the last progress
}

// Watchdog returns the watchdog systemd asked for with WatchdogSec=
// (WATCHDOG_USEC, for this process per WATCHDOG_PID). When no watchdog is
// configured it returns a disabled Watchdog whose Run just waits for ctx.
// MaxStall defaults to the watchdog interval: each tile may take up to
// WatchdogSec.
func (n *Notifier) Watchdog() *Watchdog {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		n.log.Warn("systemd watchdog disabled: bad environment", "err", err)
		interval = 0
	}
	if n.socket == "" {
		interval = 0
	}
	return newWatchdog(n, interval)
}

func newWatchdog(n *Notifier, interval time.Duration) *Watchdog {
	return &Watchdog{n: n, interval: interval, maxStall: interval, base: time.Now()}
}

// Enabled reports whether systemd expects keep-alives.
func (w *Watchdog) Enabled() bool { return w != nil && w.interval > 0 }

// Interval returns WatchdogSec, or 0 when the watchdog is disabled.
func (w *Watchdog) Interval() time.Duration {
	if w == nil {
		return 0
	}
	return w.interval
}

// SetMaxStall sets how long a photo in progress may go without Advance
// before the keep-alives stop. Call it before Run. Values <= 0 are ignored.
func (w *Watchdog) SetMaxStall(d time.Duration) {
	if w != nil && d > 0 {
		w.maxStall = d
	}
}

// Begin records that a photo is now in progress.
func (w *Watchdog) Begin() {
	if w == nil {
		return
	}
	w.touch()
	w.busy.Add(1)
}

// Advance records progress within the current photo (one tile done).
func (w *Watchdog) Advance() {
	if w == nil {
		return
	}
	w.touch()
}

// End records that a photo is finished, successfully or not.
func (w *Watchdog) End() {
	if w == nil {
		return
	}
	w.touch()
	if w.busy.Add(-1) < 0 {
		w.busy.Store(0) // unbalanced End: never let it mask a later stall
	}
}

func (w *Watchdog) touch() { w.last.Store(int64(time.Since(w.base))) }

// alive reports whether the pipeline counts as alive at now (a duration since
// base).
func (w *Watchdog) alive(now time.Duration) bool {
	if w.busy.Load() == 0 {
		return true
	}
	return now-time.Duration(w.last.Load()) < w.maxStall
}

// Run sends a keep-alive every quarter interval while the pipeline is alive,
// until ctx is cancelled. When it stalls, Run logs it, sets the status line
// and stops pinging, so systemd restarts the daemon after WatchdogSec. When
// the watchdog is disabled Run waits for ctx and returns.
func (w *Watchdog) Run(ctx context.Context) {
	if !w.Enabled() {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(w.interval / 4)
	defer t.Stop()
	stalled := false
	for {
		if w.alive(time.Since(w.base)) {
			if stalled {
				w.n.log.Info("pipeline progresses again")
				stalled = false
			}
			if err := w.n.ping(); err != nil {
				w.n.log.Warn("systemd watchdog ping failed", "err", err)
			}
		} else if !stalled {
			stalled = true
			since := time.Since(w.base) - time.Duration(w.last.Load())
			w.n.log.Error("pipeline stalled: no progress, withholding watchdog keep-alive",
				"since", since.Round(time.Millisecond), "watchdog", w.interval)
			_ = w.n.Status("stalled: no progress for " + since.Round(time.Second).String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
