package tflite

// #cgo CFLAGS: -I${SRCDIR}/../../build/tflite/include -O2 -Wall
// #cgo linux,amd64 LDFLAGS: -L${SRCDIR}/../../build/tflite/linux_amd64
// #cgo linux,arm64 LDFLAGS: -L${SRCDIR}/../../build/tflite/linux_arm64
// #cgo LDFLAGS: -ltensorflowlite_c -ldl
import "C"
