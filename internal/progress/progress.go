// Package progress shows how far a long task is on a terminal: one line,
// redrawn in place, with the steps done, the time elapsed and an estimate
// of the time left. Off a terminal (a log file, a pipe, CI) it writes
// nothing: callers keep their own log lines for that.
package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// A Bar draws the progress of one task. A nil *Bar does nothing, so callers
// need not check New's result. It is not safe for concurrent use.
type Bar struct {
	w     io.Writer
	what  string // "tiles", "images": what the steps are
	now   func() time.Time
	start time.Time
	drawn time.Time // of the last line drawn
	lines bool      // something was drawn
}

// Every is the least time between two lines: a task of small fast steps
// does not flood the terminal.
const Every = 100 * time.Millisecond

// New returns a Bar drawing on w when w is a terminal, and nil otherwise.
// what names the steps ("tiles").
func New(w io.Writer, what string) *Bar {
	if !IsTerminal(w) {
		return nil
	}
	return newBar(w, what, time.Now)
}

func newBar(w io.Writer, what string, now func() time.Time) *Bar {
	return &Bar{w: w, what: what, now: now, start: now()}
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// Update records that done of total steps are done and redraws the line,
// at most every Every and always for the last step.
func (b *Bar) Update(done, total int) {
	if b == nil {
		return
	}
	now := b.now()
	if done < total && b.lines && now.Sub(b.drawn) < Every {
		return
	}
	b.drawn, b.lines = now, true
	elapsed := now.Sub(b.start)
	line := fmt.Sprintf("%s %d/%d, %s elapsed", b.what, done, total, round(elapsed))
	if done > 0 && done < total {
		left := time.Duration(float64(elapsed) * float64(total-done) / float64(done))
		line += ", about " + round(left).String() + " left"
	}
	fmt.Fprintf(b.w, "\r%s\x1b[K", line) // \x1b[K: clear the rest of a longer previous line
}

// Finish ends the line, if one was drawn, so that what follows starts on a
// line of its own.
func (b *Bar) Finish() {
	if b == nil || !b.lines {
		return
	}
	fmt.Fprintln(b.w)
	b.lines = false
}

// round keeps a duration readable: tenths of a second under a minute,
// whole seconds above.
func round(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
