package hw

import "syscall"

func statfsMagic(p string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(p, &st); err != nil {
		return 0, err
	}
	return int64(uint32(st.Type)), nil
}
