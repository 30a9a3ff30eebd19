package pipeline

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/animed/animed/daemon/fleet"
	"github.com/animed/animed/daemon/watch"
)

// Run processes the photos w reports until ctx is done, one at a time.
// When ctx is cancelled the photo in hand is abandoned cleanly (no partial
// output; its claim makes the next start redo it) and Run returns nil.
//
// While one of our folders cannot be written (see PauseError) the queue
// is paused: the photo in hand is retried every Options.RetryEvery, and
// the others wait. Between photos Run checks the folders: a removed
// journal, out, done or failed folder is made again; a removed or replaced
// drop folder ends Run with ErrDropFolderGone.
func (p *Pipeline) Run(ctx context.Context, w *watch.Watcher) error {
	p.m.SetQueue(w.Queued)
	var wg sync.WaitGroup
	wctx, stop := context.WithCancel(ctx)
	defer func() { stop(); wg.Wait() }()
	var werr error
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
	check := time.NewTicker(p.o.RetryEvery)
	defer check.Stop()
	for {
		select {
		case <-wctx.Done():
			stop()
			wg.Wait()
			return werr
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
			err := p.handle(ctx, name, w.RetryAt)
			w.Done(name)
			if err != nil {
				return err
			}
		}
	}
}

// handle processes one photo, retrying it while the queue is paused. It
// returns an error only when the daemon cannot go on.
func (p *Pipeline) handle(ctx context.Context, name string, retryAt func() time.Time) error {
	for {
		o, err := p.Process(ctx, name)
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
