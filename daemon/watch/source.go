package watch

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"
)

// A Source tells the settle loop where to look. It sends names that may
// have changed on Changed and asks for a full scan on Rescan.
type Source interface {
	Changed() <-chan string
	Rescan() <-chan struct{}
	Close() error
}

// notifySource uses inotify (through fsnotify) on one folder.
type notifySource struct {
	w       *fsnotify.Watcher
	changed chan string
	rescan  chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

func newNotifySource(dir string) (*notifySource, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if err := w.Add(dir); err != nil {
		w.Close()
		return nil, fmt.Errorf("inotify watch %s: %w", dir, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &notifySource{w: w, changed: make(chan string, 256), rescan: make(chan struct{}, 1),
		cancel: cancel, done: make(chan struct{})}
	go s.loop(ctx)
	return s, nil
}

func (s *notifySource) loop(ctx context.Context) {
	defer close(s.done)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-s.w.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Remove) && !ev.Has(fsnotify.Create) {
				continue // the settle loop notices the file is gone
			}
			select {
			case s.changed <- filepath.Base(ev.Name):
			default:
				// The settle loop is behind: fall back to a full scan.
				s.requestRescan()
			}
		case err, ok := <-s.w.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				s.requestRescan()
			}
		}
	}
}

func (s *notifySource) requestRescan() {
	select {
	case s.rescan <- struct{}{}:
	default:
	}
}

func (s *notifySource) Changed() <-chan string  { return s.changed }
func (s *notifySource) Rescan() <-chan struct{} { return s.rescan }
func (s *notifySource) Close() error {
	s.cancel()
	err := s.w.Close()
	<-s.done
	return err
}

// inotifyLimit reports whether err is the kernel refusing inotify for a
// limit, not for the folder: ENOSPC from inotify_add_watch is
// fs.inotify.max_user_watches; EMFILE from inotify_init1 is
// fs.inotify.max_user_instances or the process's open files limit (as
// Syncthing's lib/fs/basicfs_watch_errors_linux.go tells them apart).
func inotifyLimit(err error) bool {
	return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EMFILE)
}

// pollSource asks for a full scan at a fixed interval.
type pollSource struct {
	t      *time.Ticker
	rescan chan struct{}
	stop   chan struct{}
	done   chan struct{}
}

func newPollSource(every time.Duration) *pollSource {
	s := &pollSource{t: time.NewTicker(every), rescan: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			select {
			case <-s.stop:
				return
			case <-s.t.C:
				select {
				case s.rescan <- struct{}{}:
				default:
				}
			}
		}
	}()
	return s
}

func (s *pollSource) Changed() <-chan string  { return nil }
func (s *pollSource) Rescan() <-chan struct{} { return s.rescan }
func (s *pollSource) Close() error {
	s.t.Stop()
	close(s.stop)
	<-s.done
	return nil
}
