package watch

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Options configure a Watcher.
type Options struct {
	Dir    string        // the drop folder
	Settle time.Duration // unchanged size+mtime for this long = ready
	Poll   time.Duration // > 0: poll at this interval instead of inotify
	// SafetyScan is the interval of full rescans when inotify is used
	// (default one minute); polling scans every Poll anyway.
	SafetyScan time.Duration
	// Queue is how many ready names wait for the consumer (default 16).
	// Further files stay candidates in the folder: memory stays flat.
	Queue  int
	Logger *slog.Logger
}

// DefaultPoll is the polling interval used when the folder is on a network
// filesystem and no --poll was given.
const DefaultPoll = 2 * time.Second

// A Watcher sends the names (relative to Dir) of settled files on Ready.
// A name is not sent again until the consumer calls Done for it.
type Watcher struct {
	o      Options
	log    *slog.Logger
	src    Source
	ready  chan string
	mu     sync.Mutex
	taken  map[string]bool // sent and not Done yet
	queued int             // names waiting in ready
	mode   string
	every  time.Duration // between full scans
	last   time.Time     // of the last full scan
	err    error         // of the last full scan
}

type candidate struct {
	size  int64
	mtime time.Time
	since time.Time
}

// New prepares a watcher on o.Dir; Run starts it.
func New(o Options) (*Watcher, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SafetyScan <= 0 {
		o.SafetyScan = time.Minute
	}
	if o.Queue <= 0 {
		o.Queue = 16
	}
	w := &Watcher{o: o, log: o.Logger, ready: make(chan string), taken: map[string]bool{}}
	fsName, remote, err := RemoteFilesystem(o.Dir)
	if err != nil {
		return nil, err
	}
	w.every = o.SafetyScan
	switch {
	case o.Poll > 0:
		w.src, w.mode, w.every = newPollSource(o.Poll), "poll", o.Poll
		w.log.Info("watching by polling", "dir", o.Dir, "interval", o.Poll)
	case remote:
		w.src, w.mode, w.every = newPollSource(DefaultPoll), "poll", DefaultPoll
		w.log.Info("drop folder is on a network or FUSE filesystem where inotify misses changes: polling instead",
			"dir", o.Dir, "fs", fsName, "interval", DefaultPoll)
	default:
		src, err := newNotifySource(o.Dir)
		switch {
		case inotifyLimit(err):
			w.src, w.mode, w.every = newPollSource(DefaultPoll), "poll", DefaultPoll
			w.log.Warn("inotify limits reached: polling instead; raise them with sysctl fs.inotify.max_user_watches "+
				"and fs.inotify.max_user_instances (and check the open files limit)",
				"dir", o.Dir, "err", err, "interval", DefaultPoll)
		case err != nil:
			return nil, err
		default:
			w.src, w.mode = src, "inotify"
			w.log.Info("watching with inotify", "dir", o.Dir, "fs", fsName)
		}
	}
	return w, nil
}

// Mode is "inotify" or "poll".
func (w *Watcher) Mode() string { return w.mode }

// Ready delivers settled file names, one at a time.
func (w *Watcher) Ready() <-chan string { return w.ready }

// Done releases a name taken from Ready: the consumer has moved the file
// away, or given up on it for now (it is considered again at the next scan).
func (w *Watcher) Done(name string) {
	w.mu.Lock()
	delete(w.taken, name)
	w.mu.Unlock()
}

// CheckHealth reports whether the last full scan could read the drop
// folder (a metrics.Checker).
func (w *Watcher) CheckHealth() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return fmt.Errorf("scan drop folder: %w", w.err)
	}
	return nil
}

// RetryAt is the earliest time a name given up with Done now is sent again:
// the next full scan finds it, and it is sent once it has settled.
func (w *Watcher) RetryAt() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last.Add(w.every + w.o.Settle)
}

// Queued is the number of settled names waiting for the consumer.
func (w *Watcher) Queued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.queued
}

// Run watches until ctx is done. It scans the folder first, so files that
// arrived while the daemon was down are found.
func (w *Watcher) Run(ctx context.Context) error {
	defer w.src.Close()
	cands := map[string]*candidate{}
	var queue []string

	tick := time.NewTicker(min(max(w.o.Settle/5, 20*time.Millisecond), 250*time.Millisecond))
	defer tick.Stop()
	safety := time.NewTicker(w.o.SafetyScan)
	defer safety.Stop()

	scan := func() {
		entries, err := os.ReadDir(w.o.Dir)
		w.mu.Lock()
		w.last, w.err = time.Now(), err
		w.mu.Unlock()
		if err != nil {
			w.log.Error("scan drop folder", "dir", w.o.Dir, "err", err)
			return
		}
		for _, e := range entries {
			w.consider(cands, e.Name(), e.IsDir())
		}
	}
	scan()
	for {
		var out chan string
		var next string
		if len(queue) > 0 {
			out, next = w.ready, queue[0]
		}
		select {
		case <-ctx.Done():
			return nil
		case name := <-w.src.Changed():
			w.consider(cands, name, false)
		case <-w.src.Rescan():
			scan()
		case <-safety.C:
			scan()
		case out <- next:
			queue = queue[1:]
			w.setQueued(len(queue))
		case now := <-tick.C:
			for name, c := range cands {
				fi, err := os.Lstat(filepath.Join(w.o.Dir, name))
				if err != nil {
					delete(cands, name) // gone
					continue
				}
				if fi.IsDir() {
					delete(cands, name)
					continue
				}
				if fi.Size() != c.size || !fi.ModTime().Equal(c.mtime) {
					c.size, c.mtime, c.since = fi.Size(), fi.ModTime(), now
					continue
				}
				if now.Sub(c.since) >= w.o.Settle && len(queue) < w.o.Queue {
					delete(cands, name)
					w.mu.Lock()
					w.taken[name] = true
					w.mu.Unlock()
					queue = append(queue, name)
				}
			}
			w.setQueued(len(queue))
		}
	}
}

// consider adds a name to the candidates unless it is ignored, a folder,
// already a candidate, or taken.
func (w *Watcher) consider(cands map[string]*candidate, name string, isDir bool) {
	if isDir || Ignored(name) || cands[name] != nil {
		return
	}
	w.mu.Lock()
	taken := w.taken[name]
	w.mu.Unlock()
	if taken {
		return
	}
	fi, err := os.Lstat(filepath.Join(w.o.Dir, name))
	if err != nil || fi.IsDir() {
		return
	}
	cands[name] = &candidate{size: fi.Size(), mtime: fi.ModTime(), since: time.Now()}
}

func (w *Watcher) setQueued(n int) {
	w.mu.Lock()
	w.queued = n
	w.mu.Unlock()
}

// String describes the watcher for logs.
func (w *Watcher) String() string { return fmt.Sprintf("%s (%s)", w.o.Dir, w.mode) }
