// Package durable writes and moves files so that a crash or power cut at
// any moment leaves either the old state or the new one, never a partial
// file: write to a temporary name in the same folder, fsync, rename, fsync
// the folder. Moves across filesystems (EXDEV) copy, fsync, then remove.
package durable

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// TempPrefix starts the name of every temporary file this package creates,
// so a start-up sweep can remove leftovers (see RemoveTemps).
const TempPrefix = ".animed-tmp-"

// TempName is the temporary name used while writing name. It is fixed for
// a name, so a redo after a crash overwrites its own leftover.
func TempName(name string) string { return TempPrefix + name }

// WriteFile durably creates or replaces dir/name with what write produces.
// Neither the temporary file nor the target is ever followed if it is a
// symbolic link.
func WriteFile(dir, name string, perm os.FileMode, write func(io.Writer) error) error {
	tmp := filepath.Join(dir, TempName(name))
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove leftover %s: %w", tmp, err)
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, perm)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rename into place: %w", err)
	}
	return SyncDir(dir)
}

// SyncDir fsyncs a folder, making renames and removals in it durable.
func SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

// Move durably moves src to dst, replacing dst. Within one filesystem it
// is a rename; across filesystems src is copied to a temporary name next to
// dst, fsynced, renamed, and only then removed. Symbolic links and FIFOs
// are moved as what they are, never followed or opened.
func Move(src, dst string) error {
	err := os.Rename(src, dst)
	if err == nil {
		if err := SyncDir(filepath.Dir(dst)); err != nil {
			return err
		}
		return SyncDir(filepath.Dir(src))
	}
	if !errors.Is(err, syscall.EXDEV) {
		return fmt.Errorf("move: %w", err)
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("move: %w", err)
	}
	dir, name := filepath.Split(dst)
	switch {
	case fi.Mode().IsRegular():
		err = copyRegular(src, dir, name, fi.Mode().Perm())
	case fi.Mode()&os.ModeSymlink != 0:
		err = recreate(dir, name, func(tmp string) error {
			target, err := os.Readlink(src)
			if err != nil {
				return err
			}
			return os.Symlink(target, tmp)
		})
	case fi.Mode()&os.ModeNamedPipe != 0:
		err = recreate(dir, name, func(tmp string) error { return unix.Mkfifo(tmp, uint32(fi.Mode().Perm())) })
	default:
		err = nil // a device or socket cannot be recreated: it is only removed
	}
	if err != nil {
		return fmt.Errorf("move across filesystems: %w", err)
	}
	if err := os.Remove(src); err != nil {
		return fmt.Errorf("move: remove original: %w", err)
	}
	return SyncDir(filepath.Dir(src))
}

func copyRegular(src, dir, name string, perm os.FileMode) error {
	in, err := os.OpenFile(src, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	return WriteFile(dir, name, perm, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

func recreate(dir, name string, make func(tmp string) error) error {
	tmp := filepath.Join(dir, TempName(name))
	os.Remove(tmp)
	if err := make(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(dir)
}

// RemoveTemps removes leftover temporary files of this package in dir.
// Call it at start-up, before anything else writes there.
func RemoveTemps(dir string) (removed []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("sweep temporary files: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return removed, fmt.Errorf("sweep temporary files: %w", err)
			}
			removed = append(removed, e.Name())
		}
	}
	return removed, nil
}

// FreeName returns the first of base+ext, base-1+ext, base-2+ext, ... that
// does not exist in dir (a dangling symbolic link counts as existing) and
// that taken does not report as reserved.
func FreeName(dir, base, ext string, taken func(name string) bool) (string, error) {
	for i := 0; i < 1_000_000; i++ {
		name := base + ext
		if i > 0 {
			name = base + "-" + strconv.Itoa(i) + ext
		}
		if taken != nil && taken(name) {
			continue
		}
		_, err := os.Lstat(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return name, nil
		}
		if err != nil {
			return "", fmt.Errorf("choose a name in %s: %w", dir, err)
		}
	}
	return "", fmt.Errorf("choose a name in %s: no free name for %s%s", dir, base, ext)
}
