package watch

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Filesystem magic numbers (statfs f_type) on which inotify does not see
// changes made by other machines.
var remoteFS = map[int64]string{
	0x6969:     "nfs",
	0x517B:     "smb",
	0xFF534D42: "cifs",
	0xFE534D42: "smb2",
	0x65735546: "fuse",
	0x01021997: "9p",
	0x00C36400: "ceph",
	0x5346414F: "afs",
	0x013111A8: "ibrix",
	0x0BD00BD0: "lustre",
}

// RemoteFilesystem reports whether dir is on a network or FUSE filesystem,
// where inotify misses changes, and its name.
func RemoteFilesystem(dir string) (name string, remote bool, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "", false, fmt.Errorf("statfs %s: %w", dir, err)
	}
	name, remote = filesystemName(int64(st.Type))
	return name, remote, nil
}

// filesystemName names a statfs magic number and says whether it is remote.
func filesystemName(magic int64) (string, bool) {
	if n, ok := remoteFS[magic]; ok {
		return n, true
	}
	return fmt.Sprintf("%#x", magic), false
}
