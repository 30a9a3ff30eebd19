package watch

import (
	"fmt"

	"github.com/animed/animed/internal/fsmagic"
	"golang.org/x/sys/unix"
)

// RemoteFilesystem reports whether dir is on a network or FUSE filesystem,
// where inotify misses changes, and its name.
func RemoteFilesystem(dir string) (name string, remote bool, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "", false, fmt.Errorf("statfs %s: %w", dir, err)
	}
	name, remote = filesystemName(int64(uint32(st.Type)))
	return name, remote, nil
}

// filesystemName names a statfs magic number (in hex when unknown) and
// says whether it is remote.
func filesystemName(magic int64) (string, bool) {
	if n := fsmagic.Name(magic); n != "" {
		return n, fsmagic.Remote(n)
	}
	return fmt.Sprintf("%#x", magic), false
}
