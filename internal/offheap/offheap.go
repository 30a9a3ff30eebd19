// Package offheap provides large, short-lived byte buffers outside the Go
// heap, in anonymous memory maps that go back to the kernel the moment
// they are freed.
//
// A buffer made and dropped for every photo (a decoder's full-scale
// pixels, say) stays in the Go heap until the collector runs, and the
// heap keeps its pages after that: the process's peak RSS then follows
// the garbage not yet collected rather than what it holds. A buffer from
// here costs RSS only from Alloc to Free.
//
// The caller owns the memory: nothing may use it after Free, and a buffer
// never freed is never reclaimed. Keep the two in one function (defer
// Free), and never let the bytes escape into values that outlive it.
package offheap

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Buffer is memory outside the Go heap. It is not safe for concurrent
// use.
type Buffer struct {
	b []byte
}

// Alloc maps n bytes of zeroed memory, n > 0.
func Alloc(n int) (*Buffer, error) {
	if n <= 0 {
		return nil, fmt.Errorf("offheap: allocate %d bytes", n)
	}
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("offheap: allocate %d bytes: %w", n, err)
	}
	return &Buffer{b: b}, nil
}

// Bytes returns the memory, valid until Free; nil after it.
func (b *Buffer) Bytes() []byte { return b.b }

// Free unmaps the memory. Later calls do nothing.
func (b *Buffer) Free() error {
	if b.b == nil {
		return nil
	}
	err := unix.Munmap(b.b)
	b.b = nil
	if err != nil {
		return fmt.Errorf("offheap: free: %w", err)
	}
	return nil
}
