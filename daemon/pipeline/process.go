package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/animed/animed/daemon/fleet"
	"github.com/animed/animed/daemon/journal"
	"github.com/animed/animed/internal/durable"
	"github.com/animed/animed/internal/imageio"
)

// Outcome is what Process did with a photo.
type Outcome int

// Outcomes of Process.
const (
	Abandoned Outcome = iota // stopped by ctx, or the input changed or is still being written; retried later
	Succeeded                // result written, original in done/
	Failed                   // original in failed/ with NAME.EXT.error.txt
	Paused                   // one of our folders cannot be written (a *PauseError); retried, never failed
)

// errVanished: the input went away before it was read or moved.
var errVanished = errors.New("vanished from the drop folder")

// Process takes the photo name (a file in the drop folder) through the
// whole pipeline. It returns Abandoned with an error when ctx was
// cancelled, the input vanished or changed, or it still looks like it is
// being written; Paused with a *PauseError when one of our folders cannot
// be written. The claim stays in both cases: a later call redoes the
// photo under the same names.
//
// Process is prepare then finish in one goroutine; Run runs finish for a
// photo while prepare runs the next (see run.go).
func (p *Pipeline) Process(ctx context.Context, name string) (Outcome, error) {
	p.busy(true)
	defer p.busy(false)
	j, o, err := p.prepare(ctx, name)
	if j == nil {
		return o, err
	}
	return p.finish(j)
}

// job is a claimed photo between its model run and its result on disk.
type job struct {
	c       journal.Claim
	renewed bool
	start   time.Time
	log     *slog.Logger
	st      *styled   // nil: the result was written before a restart
	r       *Rendered // once encoded
	written bool      // the result is in the out folder
}

// prepare opens, claims, reads, decodes and styles the photo name. It
// returns the job that finish completes, or a nil job and the outcome
// when the photo is over (or is to be retried) already. It holds the disk
// lock except while decoding and while the model runs.
func (p *Pipeline) prepare(ctx context.Context, name string) (*job, Outcome, error) {
	start := p.o.Now()
	if err := durable.CheckName(name); err != nil {
		return nil, Abandoned, fmt.Errorf("process: %w", err)
	}
	p.disk.Lock()
	defer p.disk.Unlock()
	if err := p.f.heal(p.log); err != nil {
		o, err := p.pause(err)
		return nil, o, err
	}
	log := p.log.With("photo", name)
	over := func(o Outcome, err error) (*job, Outcome, error) { return nil, o, err }

	// open: fingerprint the input through the drop folder's descriptor.
	in, fp, openErr := p.open(name)
	if errors.Is(openErr, errVanished) {
		if c, ok := p.j.Get(name); ok {
			p.settled(c)
		}
		return nil, Abandoned, fmt.Errorf("process %s: %w", name, openErr)
	}
	if in != nil {
		defer in.Close()
	}

	// claim: in a fleet, first the shared lock (with the names an earlier
	// holder recorded), then the journal.
	var adopted *journal.Claim
	if p.o.Fleet != nil {
		fc, err := p.o.Fleet.Acquire(name)
		if err != nil {
			return over(p.pause(ours("fleet", err)))
		}
		adopted = fc.Names
	}
	c, renewed, err := p.claim(name, fp, adopted)
	if err != nil {
		return over(p.pause(ours("state", err)))
	}
	if p.o.Fleet != nil {
		if err := p.o.Fleet.Record(c); err != nil {
			return over(p.hold(c, ours("fleet", err)))
		}
	}
	if c.Tries > p.o.MaxTries {
		why := "it may crash the daemon"
		if c.LastError != "" {
			why = "last error: " + c.LastError
		}
		return over(p.fail(c, fmt.Errorf("processing was started %d times without finishing (%s)", c.Tries-1, why)))
	}
	if openErr != nil { // a symbolic link, a FIFO, a device: the photo's fault
		return over(p.failOrWait(c, renewed, openErr))
	}
	j := &job{c: c, renewed: renewed, start: start, log: log}

	// A crash after the result was renamed into place but before the
	// original moved: the result is complete, only "done" is left.
	if p.ours(c.Result) {
		log.Info("result already written before a restart; finishing", "result", c.Result)
		j.written = true
		return j, Succeeded, nil
	}
	if p.f.out.Exists(c.Result) {
		// Someone else put a file there since the claim: take a new name.
		if j.c, err = p.rename(c); err != nil {
			return over(p.hold(j.c, ours("state", err)))
		}
	}
	// read -> decode (or the pixels decoded ahead from this very file,
	// see ahead.go) -> model
	d := p.ahead.take(name, fp)
	if d == nil {
		data, err := p.read(in, fp)
		if err != nil {
			return over(p.failOrWait(j.c, renewed, err))
		}
		d = &decoded{name: name, fp: fp}
		p.disk.Unlock()
		d.photo, d.took, err = p.decode(data)
		p.disk.Lock()
		if errors.Is(err, unix.ENOMEM) {
			// The board is short of memory, which is not the photo's
			// fault: a later try (failed/ after MaxTries).
			return over(p.hold(j.c, fmt.Errorf("decode: %w", err)))
		}
		if err != nil {
			return over(p.failOrWait(j.c, renewed, err))
		}
	} else {
		j.log = log.With("decoded_ahead", true)
	}
	p.disk.Unlock()
	j.st, err = infer(ctx, p.s, d.photo, d.took)
	p.disk.Lock()
	if err != nil {
		if ctx.Err() != nil {
			return over(p.stopped(j.c, fmt.Errorf("process %s: stopped: %w", name, ctx.Err())))
		}
		return over(p.failOrWait(j.c, renewed, err))
	}
	return j, Succeeded, nil
}

// finish encodes a prepared photo, writes its result durably and moves
// the original to done/. A Paused outcome leaves the job as it is, so
// that finish can be called again for it.
func (p *Pipeline) finish(j *job) (Outcome, error) {
	var err error
	if !j.written && j.r == nil {
		if j.r, err = j.st.encode(p.o.Format, p.o); err != nil {
			p.disk.Lock()
			defer p.disk.Unlock()
			return p.failOrWait(j.c, j.renewed, err)
		}
		j.st = nil // the pixels are not needed any more
	}
	p.disk.Lock()
	defer p.disk.Unlock()
	c, name := j.c, j.c.Input
	if !j.written {
		if changed, err := p.changed(c); changed || err != nil {
			return p.replaced(c, err, false)
		}
		if lost := p.lost(c); lost != nil {
			return Abandoned, lost
		}
		// write
		t := p.o.Now()
		err = p.f.out.WriteFile(c.Result, 0o644, func(w io.Writer) error {
			_, err := w.Write(j.r.Data)
			return err
		})
		if err != nil {
			return p.hold(c, ours("out", fmt.Errorf("process %s: write result: %w", name, err)))
		}
		j.r.Write = p.o.Now().Sub(t)
		j.written = true
	}

	// done: only the version of the input that was read.
	if changed, err := p.changed(c); changed || err != nil {
		return p.replaced(c, err, true)
	}
	if lost := p.lost(c); lost != nil {
		return Abandoned, lost
	}
	if err := durable.Move(p.f.watch, name, p.f.done, c.Done); err != nil {
		if !p.f.watch.Exists(name) {
			p.settled(c)
			return Abandoned, fmt.Errorf("process %s: %w", name, errVanished)
		}
		return p.hold(c, ours("done", fmt.Errorf("process %s: move original to %s: %w", name, p.f.done.Path(), err)))
	}
	p.settled(c)
	total := p.o.Now().Sub(j.start)
	p.m.Processed()
	p.m.Observe("total", total)
	attrs := []any{"result", c.Result, "total_ms", ms(total)}
	if r := j.r; r != nil {
		p.m.Observe("decode", r.Decode)
		p.m.Observe("infer", r.Infer)
		p.m.Observe("encode", r.Encode)
		p.m.Observe("write", r.Write)
		attrs = append(attrs, "src", fmt.Sprintf("%dx%d", r.SrcW, r.SrcH), "size", fmt.Sprintf("%dx%d", r.Width, r.Height),
			"bytes", len(r.Data), "decode_ms", ms(r.Decode), "infer_ms", ms(r.Infer),
			"encode_ms", ms(r.Encode), "write_ms", ms(r.Write))
	}
	j.log.Info("photo done", attrs...)
	return Succeeded, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// open opens the input through the drop folder's descriptor, without
// following a symbolic link or blocking on a FIFO, and fingerprints it.
// For an input that is not a regular file it returns a nil file, the
// fingerprint of the entry and an error wrapping imageio.ErrNotRegular.
func (p *Pipeline) open(name string) (*os.File, journal.Fingerprint, error) {
	st, err := p.f.watch.Lstat(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, journal.Fingerprint{}, errVanished
	}
	if err != nil {
		return nil, journal.Fingerprint{}, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, journal.FingerprintOf(&st), fmt.Errorf("%s: %w", durable.Kind(st.Mode), imageio.ErrNotRegular)
	}
	f, err := p.f.watch.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, journal.Fingerprint{}, errVanished
	}
	if err != nil { // replaced by a link or FIFO since the lstat
		return nil, journal.FingerprintOf(&st), fmt.Errorf("open: %w (%w)", err, imageio.ErrNotRegular)
	}
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		f.Close()
		return nil, journal.FingerprintOf(&st), fmt.Errorf("%s: %w", durable.Kind(st.Mode), imageio.ErrNotRegular)
	}
	if err := unix.SetNonblock(int(f.Fd()), false); err != nil {
		f.Close()
		return nil, journal.Fingerprint{}, err
	}
	return f, journal.FingerprintOf(&st), nil
}

// read reads the opened input, at most MaxBytes, and checks that it did
// not change while it was read.
func (p *Pipeline) read(f *os.File, fp journal.Fingerprint) ([]byte, error) {
	switch {
	case fp.Size == 0:
		return nil, imageio.ErrEmpty
	case p.o.MaxBytes > 0 && fp.Size > p.o.MaxBytes:
		return nil, fmt.Errorf("%d bytes, limit %d: %w", fp.Size, p.o.MaxBytes, imageio.ErrTooLarge)
	}
	limit := p.o.MaxBytes
	if limit <= 0 {
		limit = 1<<63 - 1
	}
	// Room for the size it had, and for a read that finds the end: no
	// doubling copies of a photo of several MB.
	buf := bytes.NewBuffer(make([]byte, 0, min(fp.Size, limit)+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	data := buf.Bytes()
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("grew past the limit of %d bytes: %w", p.o.MaxBytes, imageio.ErrTooLarge)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err == nil && journal.FingerprintOf(&st) != fp {
		return nil, errChanging
	}
	return data, nil
}

// errChanging: the input changed while it was read.
var errChanging = errors.New("the file changed while it was read; it is still being written")

// claim returns the photo's claim, recording a new one (with fresh names)
// or counting another try of an existing one, durably, before anything is
// written. An existing claim for another version of the input (same name,
// different fingerprint) is replaced: that is a new photo, or the same
// upload that went on (renewed is true).
func (p *Pipeline) claim(name string, fp journal.Fingerprint, adopted *journal.Claim) (c journal.Claim, renewed bool, err error) {
	c, ok := p.j.Get(name)
	if !ok && adopted != nil && adopted.Input == name && adopted.Source.SameVersion(fp) {
		// Taken over from a daemon of the fleet, for this version of
		// the file: its names, so that a result it already wrote is not
		// written again.
		c, ok = *adopted, true
		c.Source = fp
	}
	if ok && !c.Source.Matches(fp) {
		p.log.Info("the file under this name changed since it was claimed; it is taken as a new photo",
			"photo", name, "earlier_result", c.Result)
		if err := p.j.Remove(name); err != nil {
			return c, false, err
		}
		ok, renewed = false, true
	}
	if !ok {
		ext := filepath.Ext(name)
		base := strings.TrimSuffix(name, ext)
		if base == "" {
			base = name
		}
		c = journal.Claim{Input: name, Created: p.o.Now().UTC(), Source: fp}
		if c.Result, err = p.f.out.FreeName(p.resultBase(name), p.o.Format.Ext(), 0, p.resultTaken); err != nil {
			return c, renewed, err
		}
		if c.Done, err = p.f.done.FreeName(base, ext, 0, func(n string) bool { return p.j.Reserved("done", n) }); err != nil {
			return c, renewed, err
		}
		if c.Failed, err = p.f.failed.FreeName(base, ext, len(journal.ErrorSuffix), func(n string) bool {
			return p.j.Reserved("failed", n) || p.f.failed.Exists(n+journal.ErrorSuffix)
		}); err != nil {
			return c, renewed, err
		}
	}
	c.Tries++
	return c, renewed, p.j.Put(c)
}

// resultTaken reports whether a result name is in use: by a claim of the
// journal, by a temporary file, or, in a fleet, by another daemon (else
// it is reserved for this one).
func (p *Pipeline) resultTaken(n string) bool {
	if p.j.Reserved("result", n) || p.f.out.Exists(n) || p.f.out.Exists(durable.TempName(n)) {
		return true
	}
	return p.o.Fleet != nil && !p.o.Fleet.Reserve(n)
}

// lost reports (as an error) that another daemon of the fleet took the
// photo over while this one was stalled; this one then writes nothing.
func (p *Pipeline) lost(c journal.Claim) error {
	if p.o.Fleet == nil || p.o.Fleet.Holds(c.Input) {
		return nil
	}
	if err := p.j.Remove(c.Input); err != nil {
		p.log.Warn("journal", "err", err)
	}
	return fmt.Errorf("process %s: %w", c.Input, fleet.ErrHeld)
}

// settled closes a claim whose photo is finished, failed or gone: the
// journal's, and in a fleet the shared lock and the result's reservation.
func (p *Pipeline) settled(c journal.Claim) {
	if err := p.j.Remove(c.Input); err != nil {
		p.log.Warn("journal", "err", err)
	}
	if p.o.Fleet != nil {
		if err := p.o.Fleet.Release(c.Input); err != nil {
			p.log.Warn("fleet", "err", err)
		}
		if c.Result != "" {
			p.o.Fleet.Unreserve(c.Result)
		}
	}
}

// ours reports whether OUT/name is a result written by animed (it carries
// the comment, which sits in the first bytes of a JPEG or PNG).
func (p *Pipeline) ours(name string) bool {
	f, err := p.f.out.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	return strings.HasPrefix(imageio.Comment(head[:n]), "generated by animed")
}

// rename gives a claim a new result name, durably.
func (p *Pipeline) rename(c journal.Claim) (journal.Claim, error) {
	name, err := p.f.out.FreeName(p.resultBase(c.Input), p.o.Format.Ext(), 0, p.resultTaken)
	if err != nil {
		return c, err
	}
	c.Result = name
	return c, p.j.Put(c)
}

// changed reports whether the drop folder's entry is no longer the version
// of the input that was claimed.
func (p *Pipeline) changed(c journal.Claim) (bool, error) {
	st, err := p.f.watch.Lstat(c.Input)
	if errors.Is(err, os.ErrNotExist) {
		return true, errVanished
	}
	if err != nil {
		return false, err
	}
	return !c.Source.Matches(journal.FingerprintOf(&st)), nil
}

// resultBase is the result's name for input, before the format's
// extension and any -N suffix.
func (p *Pipeline) resultBase(input string) string {
	if base := strings.TrimSuffix(input, filepath.Ext(input)); base != "" && !p.o.KeepExt {
		return base
	}
	return input
}

// replaced handles an input that changed (or vanished) after its claim:
// the new version is a new photo, taken again from the start under fresh
// names. A result already written stays: it is the earlier version's.
func (p *Pipeline) replaced(c journal.Claim, err error, written bool) (Outcome, error) {
	if err != nil && !errors.Is(err, errVanished) {
		return p.hold(c, ours("drop", err))
	}
	p.settled(c)
	if errors.Is(err, errVanished) {
		return Abandoned, fmt.Errorf("process %s: %w", c.Input, errVanished)
	}
	result := ""
	if written {
		result = c.Result
	}
	p.log.Warn("photo replaced while it was processed; the new version will be processed as a new photo",
		"photo", c.Input, "result_of_earlier_version", result)
	return Abandoned, fmt.Errorf("process %s: replaced while it was processed", c.Input)
}

// stopped abandons a photo on a clean stop (SIGTERM, SIGHUP): that try is
// not counted, so clean restarts never send a good photo to failed/.
func (p *Pipeline) stopped(c journal.Claim, err error) (Outcome, error) {
	c.Tries--
	if perr := p.j.Put(c); perr != nil {
		p.log.Warn("journal", "err", perr)
	}
	return Abandoned, err
}

// pause returns Paused for a *PauseError (one of our folders failed; see
// PauseError) and Abandoned for other errors, before a claim was made.
func (p *Pipeline) pause(err error) (Outcome, error) {
	var pe *PauseError
	if errors.As(err, &pe) {
		return Paused, err
	}
	return Abandoned, err
}

// hold leaves a claimed photo for a later try after a system error, noting
// the error in its claim so that the reason is known if it ends in failed/
// after MaxTries. A *PauseError does not count as a try: the photo did not
// crash the daemon, and it waits for as long as the folder needs mending.
func (p *Pipeline) hold(c journal.Claim, err error) (Outcome, error) {
	o, err := p.pause(err)
	if o == Paused {
		c.Tries--
	}
	c.LastError = err.Error()
	if perr := p.j.Put(c); perr != nil {
		p.log.Warn("journal", "err", perr)
	}
	return o, err
}

// failOrWait fails the photo for reason, unless it may still be being
// written: it changed since its last try (renewed) or its claim, or its
// mtime is younger than Options.Grace. Then it is retried later and the
// try is not counted.
func (p *Pipeline) failOrWait(c journal.Claim, renewed bool, reason error) (Outcome, error) {
	if p.o.Grace > 0 {
		changed, err := p.changed(c)
		if errors.Is(err, errVanished) {
			return p.replaced(c, err, false)
		}
		young := p.o.Now().Sub(c.Source.Mtime()) < p.o.Grace
		if changed || renewed || young || errors.Is(reason, errChanging) {
			c.Tries--
			if err := p.j.Put(c); err != nil {
				return p.hold(c, ours("state", err))
			}
			return Abandoned, fmt.Errorf("process %s: %v; it may still be being written: retried later (failed if unchanged for %v)", c.Input, reason, p.o.Grace)
		}
	}
	return p.fail(c, reason)
}

// fail moves the input to the failed folder next to NAME.EXT.error.txt
// saying why.
func (p *Pipeline) fail(c journal.Claim, reason error) (Outcome, error) {
	msg := fmt.Sprintf("animed could not process %s: %v\n", c.Input, reason)
	err := p.f.failed.WriteFile(c.Failed+journal.ErrorSuffix, 0o644, func(w io.Writer) error {
		_, err := io.WriteString(w, msg)
		return err
	})
	if err != nil {
		return p.hold(c, ours("failed", fmt.Errorf("process %s: write reason: %w", c.Input, err)))
	}
	if err := durable.Move(p.f.watch, c.Input, p.f.failed, c.Failed); err != nil {
		if !p.f.watch.Exists(c.Input) {
			p.settled(c)
			return Abandoned, fmt.Errorf("process %s: %w", c.Input, errVanished)
		}
		return p.hold(c, ours("failed", fmt.Errorf("process %s: move to %s: %w", c.Input, p.f.failed.Path(), err)))
	}
	p.f.out.Remove(durable.TempName(c.Result))
	p.settled(c)
	p.m.Failed()
	p.log.Warn("photo failed", "photo", c.Input, "moved_to", p.f.failed.Join(c.Failed), "reason", reason)
	return Failed, nil
}
