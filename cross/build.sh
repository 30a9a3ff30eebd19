#!/usr/bin/env bash
# cross/build.sh ARCH — cross-builds animed's commands for linux/ARCH into
# dist/linux_ARCH/ (binaries + lib/libtensorflowlite_c.so, found through the
# release rpath $ORIGIN/lib:$ORIGIN/../lib/animed), then runs the runtime's
# tests for ARCH under qemu and compares their outputs with amd64 (the Go
# test in cross/). Called by `make cross` after `make deps`.
set -euo pipefail

arch=${1:-arm64}
case "$arch" in
arm64) cc=aarch64-linux-gnu-gcc sysroot=/usr/aarch64-linux-gnu qemu=qemu-aarch64 ;;
*) echo "cross/build.sh: unsupported architecture $arch (TFLite ships for arm64 only)" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
for tool in "$cc" "$qemu" go; do
	command -v "$tool" >/dev/null || { echo "cross/build.sh: $tool missing: run make deps" >&2; exit 1; }
done
lib=build/tflite/linux_$arch/libtensorflowlite_c.so
[ -f "$lib" ] || { echo "cross/build.sh: $lib missing: run make deps-tflite" >&2; exit 1; }

out=dist/linux_$arch
rm -rf "$out"
mkdir -p "$out/lib"
cp "$lib" "$out/lib/"

built=()
for pkg in ./daemon/cmd/animed ./converter/cmd/onnx2tflite; do
	if [ ! -d "$pkg" ]; then
		echo "cross/build.sh: $pkg not in the tree yet, skipped"
		continue
	fi
	# -tags release drops the development rpath to build/tflite (see
	# internal/tflite/doc.go); single quotes keep $ORIGIN literal.
	CGO_ENABLED=1 GOOS=linux GOARCH=$arch CC=$cc \
		go build -tags release -trimpath \
		-ldflags '-s -w -extldflags "-Wl,-rpath,$ORIGIN/lib:$ORIGIN/../lib/animed"' \
		-o "$out/" "$pkg"
	built+=("$out/$(basename "$pkg")")
done

# Each binary must start under qemu with the library from $out/lib: a loader
# failure exits 127 before main runs.
for bin in "${built[@]}"; do
	set +e
	msg=$("$qemu" -L "$sysroot" "$bin" --help 2>&1)
	rc=$?
	set -e
	if [ $rc -eq 127 ] || grep -q 'error while loading shared libraries' <<<"$msg"; then
		echo "cross/build.sh: $bin does not start under qemu:" >&2
		echo "$msg" >&2
		exit 1
	fi
	echo "cross/build.sh: $bin starts under $qemu"
done

ls -l "$out" "$out/lib"
# The runtime's tests and animed convert for arm64 under qemu, compared with amd64.
go test -count=1 -v -run 'TestArm64' ./cross/
