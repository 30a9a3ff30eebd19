//go:build !linux

package hw

import "errors"

func statfsMagic(p string) (int64, error) {
	return 0, errors.New("statfs: only on Linux")
}
