package pipeline

import (
	"cmp"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/animed/animed/daemon/fleet"
	"github.com/animed/animed/daemon/watch"
)

// Run processes the photos w reports until ctx is done. When ctx is
// cancelled the photo in the model is abandoned cleanly (no partial
// output; its claim makes the next start redo it), the one being written
// is finished, and Run returns nil.
//
// Run is a bounded pipeline three photos deep. One goroutine decodes the
// next photo (ahead.go); this one prepares a photo (claim, model: see
// prepare) and hands it to the finisher, which encodes and writes it and
// moves the original (finish) while the model runs the next. At most one
// photo waits in each stage: about three photos' pixels at --max-side,
// plus one encoded result.
//
// While one of our folders cannot be written (see PauseError) the queue
// is paused: the photo in hand is retried every Options.RetryEvery, and
// the others wait. Between photos Run checks the folders: a removed
// journal, out, done or failed folder is made again; a removed or replaced
// drop folder ends Run with ErrDropFolderGone.
func (p *Pipeline) Run(ctx context.Context, w *watch.Watcher) (err error) {
	p.m.SetQueue(w.Queued)
	var wg, finWG sync.WaitGroup
	wctx, stop := context.WithCancel(ctx)
	var werr, ferr error // the watcher's, the finisher's
	fin := make(chan *job)
	defer func() {
		stop()
		close(fin)
		finWG.Wait()
		wg.Wait()
		if err == nil {
			err = cmp.Or(ferr, werr)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		werr = w.Run(wctx)
		stop()
	}()
	if p.o.Fleet != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.o.Fleet.Run(wctx)
		}()
	}
	// Names go through decodeAheadLoop, which decodes each while the photo
	// before it is processed (ahead.go).
	next := make(chan *decoded)
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.decodeAheadLoop(wctx, w.Ready(), next)
	}()
	// The finisher writes each prepared photo while the next one is
	// prepared. It takes every job it is handed, also after a fatal
	// error, so that a hand-off never blocks for long. A write that
	// pauses is retried until Run ends (wctx); the claim then stays and
	// the next start finishes the photo.
	finWG.Add(1)
	go func() {
		defer finWG.Done()
		for j := range fin {
			err := p.retry(wctx, j.c.Input, w.RetryAt, func() (Outcome, error) { return p.finish(j) })
			p.busy(false)
			w.Done(j.c.Input)
			if err != nil {
				ferr = err
				stop()
			}
		}
	}()
	check := time.NewTicker(p.o.RetryEvery)
	defer check.Stop()
	for {
		select {
		case <-wctx.Done():
			return nil // the deferred func: ferr or werr
		case <-check.C:
			err := p.checkFolders()
			var pe *PauseError
			switch {
			case errors.Is(err, ErrDropFolderGone):
				return err
			case errors.As(err, &pe):
				p.setPaused(err.Error())
			default:
				p.setPaused("")
			}
		case d := <-next:
			name := d.name
			p.ahead.put(d)
			p.busy(true)
			var j *job
			err := p.retry(ctx, name, w.RetryAt, func() (o Outcome, err error) {
				j, o, err = p.prepare(ctx, name)
				return o, err
			})
			if j == nil {
				p.busy(false)
				w.Done(name)
			} else {
				fin <- j
			}
			if err != nil {
				return err
			}
		}
	}
}

func (p *Pipeline) busy(b bool) {
	if p.o.Busy != nil {
		p.o.Busy(b)
	}
}

// retry runs try (one stage of a photo) until its outcome is not Paused,
// every Options.RetryEvery while the queue is paused. It returns an error
// only when the daemon cannot go on.
func (p *Pipeline) retry(ctx context.Context, name string, retryAt func() time.Time, try func() (Outcome, error)) error {
	for {
		o, err := try()
		if errors.Is(err, ErrDropFolderGone) {
			return err
		}
		if o != Paused {
			p.setPaused("")
			switch {
			case errors.Is(err, fleet.ErrHeld):
				p.log.Debug("photo claimed by another daemon of the fleet", "photo", name)
			case err != nil && ctx.Err() == nil:
				next := retryAt()
				p.log.Error("photo not finished; it will be retried at "+next.Format(time.TimeOnly), "photo", name,
					"retry_in", time.Until(next).Round(time.Second), "err", err)
			}
			return nil
		}
		p.setPaused(err.Error())
		t := time.NewTimer(p.o.RetryEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if err := p.checkFolders(); errors.Is(err, ErrDropFolderGone) {
			return err
		}
	}
}

// checkFolders mends what can be mended: the journal's folder, and the out,
// done and failed folders (see dirs.heal).
func (p *Pipeline) checkFolders() error {
	p.disk.Lock()
	defer p.disk.Unlock()
	if err := p.j.Check(); err != nil {
		p.log.Error("journal", "err", err)
	}
	err := p.f.heal(p.log)
	if errors.Is(err, ErrDropFolderGone) {
		p.setPaused(err.Error())
		p.log.Error("stopping: the drop folder was removed or replaced; a restart (the service manager's) picks it up again", "err", err)
	}
	return err
}
