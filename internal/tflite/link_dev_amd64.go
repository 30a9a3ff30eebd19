//go:build !release

package tflite

// Development builds find the library in the build folder; release builds
// (-tags release) use an rpath relative to the binary instead (see doc.go).

// #cgo LDFLAGS: -Wl,-rpath,${SRCDIR}/../../build/tflite/linux_amd64
import "C"
