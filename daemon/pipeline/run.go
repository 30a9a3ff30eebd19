package pipeline

import (
	"context"
	"sync"
	"time"

	"github.com/animed/animed/daemon/watch"
)

// Run processes the photos w reports until ctx is done, one at a time.
// When ctx is cancelled the photo in hand is abandoned cleanly (no partial
// output; its claim makes the next start redo it) and Run returns nil.
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
	for {
		select {
		case <-wctx.Done():
			stop()
			wg.Wait()
			return werr
		case name := <-w.Ready():
			_, err := p.Process(ctx, name)
			if err != nil && ctx.Err() == nil {
				next := w.RetryAt()
				p.log.Error("photo not finished; it will be retried at "+next.Format(time.TimeOnly), "photo", name,
					"retry_in", time.Until(next).Round(time.Second), "err", err)
			}
			w.Done(name)
		}
	}
}
