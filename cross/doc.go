// Package cross holds animed's cross-build and packaging checks; it has no
// code of its own, only tests and scripts.
//
// qemu_test.go cross-compiles the TFLite runtime's tests (internal/tflite)
// for linux/arm64 in the release layout (binary plus
// lib/libtensorflowlite_c.so, found through an $ORIGIN rpath), runs them
// under qemu-user (`qemu-aarch64 -L /usr/aarch64-linux-gnu`) and compares
// the arm64 outputs on a real photo with the amd64 outputs, within 2 LSB
// (without XNNPACK, INT8 kernels may round differently on the two
// architectures); it also runs `animed convert` on the photo with both
// binaries and compares the pictures (at most 4 levels apart, under 0.5 on
// average). build.sh (`make cross`) builds dist/linux_arm64
// and runs these tests. packaging_test.go checks `make dist` and `make deb`.
//
// The tests skip with a message when the cross compiler
// (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross), qemu-user or the arm64
// TFLite library (`make deps-tflite`) is missing, and in -short mode.
package cross
