// Package hw probes the machine animed runs on: board, CPU and its SIMD
// features, memory, cgroup limits, temperatures and throttling, the
// filesystem of the watch folder, and accelerators with their TFLite
// delegate libraries.
//
// Probes are best effort. Each reads files below a root directory (so tests
// run against fixture /proc and /sys trees), runs with its own timeout, and
// reports what it could not find as a [Problem] instead of failing. Nothing
// here loads a library or talks to a device: probes return data, and the
// choice of a backend is made elsewhere (package hw/backend), with anything
// that can crash run in a child process (package hw/selftest).
//
// Package hw is pure Go and needs no cgo, so `animed probe` works on any
// Linux, including under qemu-user.
package hw
