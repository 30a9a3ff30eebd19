package imageio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/animed/animed/internal/durable"
)

// ErrNotRegular is returned by ReadFile for anything that is not a plain
// file: symbolic links, directories, devices, FIFOs and sockets.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is returned by ReadFile for a file over the byte limit.
var ErrTooLarge = errors.New("file too large")

// ErrEmpty is returned by ReadFile for a zero-byte file.
var ErrEmpty = errors.New("empty file")

// ReadFile reads the plain file at path, at most maxBytes bytes (no limit
// when maxBytes <= 0). It never follows a symbolic link in the last path
// element and never blocks on a FIFO or device: the file is opened with
// O_NOFOLLOW|O_NONBLOCK and checked with fstat before any byte is read.
func ReadFile(path string, maxBytes int64) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("open %s: symbolic link: %w", path, ErrNotRegular)
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("open %s: %s: %w", path, durable.Kind(st.Mode), ErrNotRegular)
	}
	if st.Size == 0 {
		return nil, fmt.Errorf("read %s: %w", path, ErrEmpty)
	}
	if maxBytes > 0 && st.Size > maxBytes {
		return nil, fmt.Errorf("read %s: %d bytes, limit %d: %w", path, st.Size, maxBytes, ErrTooLarge)
	}
	// The file is regular, so clear O_NONBLOCK to read it normally.
	if err := unix.SetNonblock(fd, false); err != nil {
		return nil, &os.PathError{Op: "fcntl", Path: path, Err: err}
	}
	limit := maxBytes
	if limit <= 0 {
		limit = 1<<63 - 1
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read %s: grew past the limit of %d bytes: %w", path, maxBytes, ErrTooLarge)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("read %s: %w", path, ErrEmpty)
	}
	return data, nil
}
