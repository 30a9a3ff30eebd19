package pipeline

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"

	"github.com/animed/animed/internal/durable"
)

// dirs are the pipeline's folders, each opened once. Every file in them
// is reached relative to these descriptors, never by a joined path.
type dirs struct {
	watch, out, done, failed *durable.Dir
}

func (f *dirs) list() []struct {
	kind string
	d    **durable.Dir
} {
	return []struct {
		kind string
		d    **durable.Dir
	}{{"drop", &f.watch}, {"out", &f.out}, {"done", &f.done}, {"failed", &f.failed}}
}

func (f *dirs) open(o Options) error {
	paths := map[string]string{"drop": o.Watch, "out": o.Out, "done": o.Done, "failed": o.Failed}
	for _, e := range f.list() {
		d, err := durable.OpenDir(paths[e.kind])
		if err != nil {
			f.close()
			return fmt.Errorf("open the %s folder: %w", e.kind, err)
		}
		*e.d = d
	}
	return nil
}

func (f *dirs) close() error {
	for _, e := range f.list() {
		if *e.d != nil {
			(*e.d).Close()
			*e.d = nil
		}
	}
	return nil
}

// ErrDropFolderGone is returned by Run when the drop folder was removed
// or replaced: nothing more can arrive, so the daemon stops (non-zero) for
// its service manager to restart it.
var ErrDropFolderGone = errors.New("the drop folder was removed or replaced")

// heal checks that each folder's path still leads to the folder opened. A
// removed out, done or failed folder is made again; one replaced by
// another real folder is used from now on (it is where the operator's path
// leads); one replaced by a symbolic link is refused with a PauseError, so
// that nothing is written where the link points. A drop folder that is
// gone returns ErrDropFolderGone.
func (f *dirs) heal(log *slog.Logger) error {
	for _, e := range f.list() {
		d := *e.d
		err := d.Check()
		if err == nil {
			continue
		}
		if e.kind == "drop" {
			return fmt.Errorf("%w: %v", ErrDropFolderGone, err)
		}
		fi, lerr := os.Lstat(d.Path())
		switch {
		case errors.Is(lerr, os.ErrNotExist):
			if err := os.Mkdir(d.Path(), 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return &PauseError{Folder: e.kind, Err: err}
			}
			log.Warn("a folder was removed while running; made it again", "folder", e.kind, "path", d.Path())
		case lerr != nil:
			return &PauseError{Folder: e.kind, Err: lerr}
		case fi.Mode()&os.ModeSymlink != 0:
			log.Error("a folder was replaced by a symbolic link; refusing to write through it", "folder", e.kind, "path", d.Path())
			return &PauseError{Folder: e.kind, Err: err}
		}
		nd, oerr := durable.OpenDir(d.Path())
		if oerr != nil {
			return &PauseError{Folder: e.kind, Err: oerr}
		}
		if fi != nil {
			log.Warn("a folder was replaced by another folder; using the new one", "folder", e.kind, "path", d.Path())
		}
		d.Close()
		*e.d = nd
	}
	return nil
}

// A PauseError is a failure of one of our own folders that is not the
// photo's fault and that time or the operator may mend: a full disk, a
// read-only filesystem, a permission problem, a folder removed or
// replaced. The photo is retried, never failed.
type PauseError struct {
	Folder string // drop, out, done, failed or state
	Err    error
}

func (e *PauseError) Error() string { return fmt.Sprintf("%s folder: %v", e.Folder, e.Err) }
func (e *PauseError) Unwrap() error { return e.Err }

// ours turns an error writing into one of our folders into a PauseError
// when it is one that pauses the queue.
func ours(folder string, err error) error {
	if err == nil {
		return nil
	}
	for _, e := range []error{syscall.ENOSPC, syscall.EDQUOT, syscall.EROFS, syscall.EACCES, syscall.EPERM,
		syscall.ENOENT, syscall.ENOTDIR, syscall.EIO, durable.ErrReplaced} {
		if errors.Is(err, e) {
			return &PauseError{Folder: folder, Err: err}
		}
	}
	return err
}
