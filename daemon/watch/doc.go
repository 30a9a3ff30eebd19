// Package watch finds photos in the drop folder and hands each one over
// once it has settled.
//
// Change hints come from a Source: inotify through fsnotify (notify.go) or
// a timer for polling (poll.go), chosen automatically for network and FUSE
// filesystems (fstype.go) and when the kernel's inotify limits are reached
// (a warning names the sysctls to raise). A full scan runs at start, when the kernel queue
// overflows and periodically as a safety net. Every hint and every scan
// ends up in one place, the settle loop (watch.go): a file is taken only
// when its size and mtime stayed unchanged for the settle time. Hidden and
// temporary names (Ignored) and folders are never taken.
package watch
