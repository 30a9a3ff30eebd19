// Package durable writes and moves files so that a crash or power cut at
// any moment leaves either the old state or the new one, never a partial
// file: write to a temporary name in the same folder, fsync, rename, fsync
// the folder. Moves across filesystems (EXDEV) copy, fsync, then remove.
//
// Folders are used through a Dir: a descriptor opened once, relative to
// which every file is created, opened, renamed and removed (openat,
// renameat, unlinkat). A name given to a Dir must be a plain base name
// (see CheckName) and is never followed if it is a symbolic link, so a name
// read back from a file someone else could have written cannot reach
// outside the folder, and a folder swapped for a symbolic link while the
// descriptor is open is noticed by Check instead of being written through.
package durable

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// TempPrefix starts the name of every temporary file this package creates,
// so a start-up sweep can remove leftovers (see Dir.RemoveTemps).
const TempPrefix = ".animed-tmp-"

// MaxName is the longest file name the package creates, in bytes (NAME_MAX
// of Linux filesystems).
const MaxName = 255

// ErrBadName is returned for a name that is not a plain base name.
var ErrBadName = errors.New("not a plain file name")

// ErrReplaced is returned by Dir.Check when the folder's path no longer
// names the folder that was opened: it was renamed, removed, or swapped
// for another folder or a symbolic link.
var ErrReplaced = errors.New("folder was replaced or removed")

// CheckName returns nil if name is a plain base name: not empty, not "."
// or "..", at most MaxName bytes, without '/' or NUL.
func CheckName(name string) error {
	switch {
	case name == "" || name == "." || name == "..",
		len(name) > MaxName,
		strings.ContainsAny(name, "/\x00"),
		filepath.Base(name) != name:
		return fmt.Errorf("%q: %w", name, ErrBadName)
	}
	return nil
}

// TempName is the temporary name used while writing name. It is fixed for
// a name, so a redo after a crash overwrites its own leftover. A name too
// long for the prefix is replaced by its hash, as Syncthing's
// lib/fs/tempname.go does.
func TempName(name string) string {
	if len(TempPrefix)+len(name) <= MaxName {
		return TempPrefix + name
	}
	h := sha256.Sum256([]byte(name))
	return TempPrefix + hex.EncodeToString(h[:]) + ".tmp"
}

// Dir is an open folder. The zero value is not usable; see OpenDir.
type Dir struct {
	f    *os.File
	path string
	dev  uint64
	ino  uint64
}

// OpenDir opens the folder at path. The last element of path must be a
// folder, not a symbolic link to one.
func OpenDir(path string) (*Dir, error) { return openDir(path, unix.O_NOFOLLOW) }

func openDir(path string, flags int) (*Dir, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|flags, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&os.ModeSymlink != 0 {
				return nil, fmt.Errorf("open folder %s: it is a symbolic link: %w", path, ErrReplaced)
			}
		}
		return nil, &os.PathError{Op: "open folder", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	return &Dir{f: os.NewFile(uintptr(fd), path), path: path, dev: st.Dev, ino: st.Ino}, nil
}

// Path is the path the folder was opened by (for messages).
func (d *Dir) Path() string { return d.path }

// Join is Path()/name, for messages.
func (d *Dir) Join(name string) string { return filepath.Join(d.path, name) }

func (d *Dir) fd() int { return int(d.f.Fd()) }

// Fd is the folder's descriptor, for *at system calls this package does
// not wrap. It stays valid until Close.
func (d *Dir) Fd() uintptr { return d.f.Fd() }

// Close closes the descriptor.
func (d *Dir) Close() error { return d.f.Close() }

// Stat describes the folder itself.
func (d *Dir) Stat() (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstat(d.fd(), &st)
	return st, err
}

// Chmod sets the folder's permissions.
func (d *Dir) Chmod(mode os.FileMode) error { return d.f.Chmod(mode) }

// Check returns ErrReplaced (wrapped, with what is there now) when the
// folder's path no longer leads to the opened folder.
func (d *Dir) Check() error {
	var st unix.Stat_t
	if err := unix.Lstat(d.path, &st); err != nil {
		return fmt.Errorf("%s: %v: %w", d.path, err, ErrReplaced)
	}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return fmt.Errorf("%s is now a symbolic link: %w", d.path, ErrReplaced)
	case st.Dev != d.dev || st.Ino != d.ino:
		return fmt.Errorf("%s is now another folder: %w", d.path, ErrReplaced)
	}
	return nil
}

// Lstat describes name without following a symbolic link.
func (d *Dir) Lstat(name string) (unix.Stat_t, error) {
	var st unix.Stat_t
	if err := CheckName(name); err != nil {
		return st, err
	}
	if err := unix.Fstatat(d.fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return st, &os.PathError{Op: "lstat", Path: d.Join(name), Err: err}
	}
	return st, nil
}

// Exists reports whether name exists (a dangling symbolic link does).
func (d *Dir) Exists(name string) bool {
	_, err := d.Lstat(name)
	return err == nil
}

// Open opens name for reading. A symbolic link is refused (ELOOP) and the
// open never blocks on a FIFO or device; the caller checks the type with
// f.Stat.
func (d *Dir) Open(name string) (*os.File, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	fd, err := unix.Openat(d.fd(), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: d.Join(name), Err: err}
	}
	return os.NewFile(uintptr(fd), d.Join(name)), nil
}

// ReadFile reads the regular file name, at most max bytes.
func (d *Dir) ReadFile(name string, max int64) ([]byte, error) {
	f, err := d.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%v)", d.Join(name), fi.Mode().Type())
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", d.Join(name), fi.Size(), max)
	}
	return io.ReadAll(io.LimitReader(f, max))
}

// Names lists the folder's entries.
func (d *Dir) Names() ([]string, error) {
	fd, err := unix.Openat(d.fd(), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open folder", Path: d.path, Err: err}
	}
	f := os.NewFile(uintptr(fd), d.path)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d.path, err)
	}
	return names, nil
}

// Remove removes the file name (not a folder). A missing file is no error.
func (d *Dir) Remove(name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if err := unix.Unlinkat(d.fd(), name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "remove", Path: d.Join(name), Err: err}
	}
	return nil
}

// Sync fsyncs the folder, making renames and removals in it durable.
func (d *Dir) Sync() error {
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", d.path, err)
	}
	return nil
}

// WriteFile durably creates or replaces name with what write produces.
// Neither the temporary file nor the target is ever followed if it is a
// symbolic link: the temporary file is created with O_EXCL|O_NOFOLLOW and
// renamed over the target, which replaces a link rather than its target.
func (d *Dir) WriteFile(name string, perm os.FileMode, write func(io.Writer) error) error {
	if err := CheckName(name); err != nil {
		return err
	}
	tmp := TempName(name)
	if err := d.Remove(tmp); err != nil {
		return fmt.Errorf("remove leftover: %w", err)
	}
	fd, err := unix.Openat(d.fd(), tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
	if err != nil {
		return &os.PathError{Op: "create", Path: d.Join(tmp), Err: err}
	}
	f := os.NewFile(uintptr(fd), d.Join(tmp))
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		d.Remove(tmp)
		return fmt.Errorf("write %s: %w", d.Join(tmp), err)
	}
	if err := unix.Renameat(d.fd(), tmp, d.fd(), name); err != nil {
		d.Remove(tmp)
		return &os.PathError{Op: "rename into place", Path: d.Join(name), Err: err}
	}
	return d.Sync()
}

// WriteFile durably creates or replaces dir/name (see Dir.WriteFile).
// dir is the caller's and may be reached through symbolic links; name is
// never followed.
func WriteFile(dir, name string, perm os.FileMode, write func(io.Writer) error) error {
	d, err := openDir(dir, 0)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.WriteFile(name, perm, write)
}

// Move durably moves from/name to to/toName, replacing toName. Within one
// filesystem it is a rename; across filesystems the file is copied to a
// temporary name in to, fsynced, renamed, and only then removed. Symbolic
// links and FIFOs are moved as what they are, never followed or opened.
func Move(from *Dir, name string, to *Dir, toName string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if err := CheckName(toName); err != nil {
		return err
	}
	err := unix.Renameat(from.fd(), name, to.fd(), toName)
	if err == nil {
		if err := to.Sync(); err != nil {
			return err
		}
		return from.Sync()
	}
	if !errors.Is(err, unix.EXDEV) {
		return &os.LinkError{Op: "move", Old: from.Join(name), New: to.Join(toName), Err: err}
	}
	st, err := from.Lstat(name)
	if err != nil {
		return fmt.Errorf("move: %w", err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		err = copyRegular(from, name, to, toName, os.FileMode(st.Mode&0o777))
	case unix.S_IFLNK:
		err = to.recreate(toName, func(tmp string) error {
			buf := make([]byte, unix.PathMax)
			n, err := unix.Readlinkat(from.fd(), name, buf)
			if err != nil {
				return err
			}
			return unix.Symlinkat(string(buf[:n]), to.fd(), tmp)
		})
	case unix.S_IFIFO:
		err = to.recreate(toName, func(tmp string) error { return unix.Mkfifoat(to.fd(), tmp, st.Mode&0o777) })
	default:
		err = nil // a device or socket cannot be recreated: it is only removed
	}
	if err != nil {
		return fmt.Errorf("move %s across filesystems: %w", from.Join(name), err)
	}
	if err := from.Remove(name); err != nil {
		return fmt.Errorf("move: remove original: %w", err)
	}
	return from.Sync()
}

func copyRegular(from *Dir, name string, to *Dir, toName string, perm os.FileMode) error {
	in, err := from.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := unix.SetNonblock(int(in.Fd()), false); err != nil {
		return err
	}
	return to.WriteFile(toName, perm, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

func (d *Dir) recreate(name string, make func(tmp string) error) error {
	tmp := TempName(name)
	d.Remove(tmp)
	if err := make(tmp); err != nil {
		return err
	}
	if err := unix.Renameat(d.fd(), tmp, d.fd(), name); err != nil {
		d.Remove(tmp)
		return err
	}
	return d.Sync()
}

// RemoveTemps removes leftover temporary files of this package in the
// folder. Call it at start-up, before anything else writes there.
func (d *Dir) RemoveTemps() (removed []string, err error) {
	names, err := d.Names()
	if err != nil {
		return nil, fmt.Errorf("sweep temporary files: %w", err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, TempPrefix) {
			if err := d.Remove(n); err != nil {
				return removed, fmt.Errorf("sweep temporary files: %w", err)
			}
			removed = append(removed, n)
		}
	}
	return removed, nil
}

// FreeName returns the first of base+ext, base-1+ext, base-2+ext, ... that
// does not exist in the folder (a dangling symbolic link counts as
// existing) and that taken does not report as reserved. base is shortened
// (at a UTF-8 boundary) so that the name plus reserve more bytes fits in
// MaxName: pass len(".error.txt") for a name that gets that suffix later.
func (d *Dir) FreeName(base, ext string, reserve int, taken func(name string) bool) (string, error) {
	for i := 0; i < 1_000_000; i++ {
		suffix := ext
		if i > 0 {
			suffix = "-" + strconv.Itoa(i) + ext
		}
		name := Shorten(base, MaxName-reserve-len(suffix)) + suffix
		if taken != nil && taken(name) {
			continue
		}
		_, err := d.Lstat(name)
		if errors.Is(err, os.ErrNotExist) {
			return name, nil
		}
		if err != nil {
			return "", fmt.Errorf("choose a name in %s: %w", d.path, err)
		}
	}
	return "", fmt.Errorf("choose a name in %s: no free name for %s%s", d.path, base, ext)
}

// Kind names a file type from a stat mode, for messages: "symbolic
// link", "FIFO", ...
func Kind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "regular file"
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFLNK:
		return "symbolic link"
	case unix.S_IFIFO:
		return "FIFO"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	}
	return fmt.Sprintf("file type %#o", mode&unix.S_IFMT)
}

// Shorten cuts s to at most n bytes without splitting a UTF-8 sequence.
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	s = s[:n]
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if r != utf8.RuneError || size != 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}
