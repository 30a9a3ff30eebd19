#!/bin/bash
# dist.sh: release tarballs of animed for Linux.
#
#   cross/dist.sh [-o OUTDIR] ARCH...      ARCH: amd64 arm64
#
# For each ARCH it writes OUTDIR/animed_<version>_linux_<ARCH>.tar.gz (OUTDIR
# defaults to dist/) holding one folder animed_<version>_linux_<ARCH>/ with:
#   animed                          release build, rpath $ORIGIN/lib
#   lib/libtensorflowlite_c.so      from build/tflite (make deps-tflite)
#   animed.conf                     example /etc/animed/animed.conf
#   systemd/                        units, sysusers.d file, drop-in examples
#   README.md, LICENSES/            project, TFLite (Apache-2.0), model, Go modules
#
# The tarball is reproducible: fixed mtimes (SOURCE_DATE_EPOCH, default the
# commit time), sorted names, owner 0:0, normalized modes, gzip -n; the
# binary is built with -trimpath and without build ids that depend on paths.
#
# Environment: VERSION, SOURCE_DATE_EPOCH (see version.sh), GO (default go),
# ANIMED_SRC and ANIMED_PKG: the module folder and the package of the daemon
# (default: this repository, ./daemon/cmd/animed).
set -euo pipefail
. "$(dirname "$0")/common.sh"

GO=${GO:-go}
src=${ANIMED_SRC:-$repo}
pkg=${ANIMED_PKG:-./daemon/cmd/animed}
if [ -z "${ANIMED_SRC:-}" ] && [ ! -d "$repo/daemon/cmd/animed" ]; then
	echo "dist: daemon/cmd/animed does not exist on this branch yet: nothing to package" >&2
	exit 1
fi

# cc ARCH: the C compiler that targets ARCH from this machine.
cc() {
	local host
	host=$($GO env GOHOSTARCH)
	if [ "$1" = "$host" ]; then echo "${CC:-gcc}"; return; fi
	case $1 in
	arm64) echo aarch64-linux-gnu-gcc ;;
	amd64) echo x86_64-linux-gnu-gcc ;;
	*) echo "dist: unsupported architecture $1 (amd64, arm64)" >&2; return 1 ;;
	esac
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

for arch in "${arches[@]}"; do
	name=animed_${VERSION}_linux_$arch
	stage=$work/$name
	lib=$repo/build/tflite/linux_$arch/libtensorflowlite_c.so
	[ -f "$lib" ] || { echo "dist: $lib is missing: run make deps-tflite" >&2; exit 1; }
	compiler=$(cc "$arch")
	command -v "$compiler" >/dev/null || { echo "dist: $compiler not found (apt-get install gcc-aarch64-linux-gnu)" >&2; exit 1; }
	mkdir -p "$stage/lib" "$stage/systemd/examples" "$stage/LICENSES"

	echo "dist: building animed $VERSION for linux/$arch"
	# $ORIGIN reaches the linker literally (no shell in between): the
	# tarball finds lib/ next to the binary, the .deb /usr/lib/animed.
	(cd "$src" && CGO_ENABLED=1 GOOS=linux GOARCH=$arch CC=$compiler GOFLAGS=-buildvcs=false \
		$GO build -trimpath -buildmode=pie -tags release -o "$stage/animed" \
		-ldflags "-s -w -buildid= -X main.version=$VERSION -extldflags '-Wl,-rpath,\$ORIGIN/lib:\$ORIGIN/../lib/animed'" \
		"$pkg")
	cp "$lib" "$stage/lib/"

	cp "$repo/systemd/animed.conf" "$stage/"
	cp "$repo/systemd/animed.service" "$repo/systemd/animed@.service" "$stage/systemd/"
	cp "$repo/systemd/animed.sysusers" "$stage/systemd/sysusers-animed.conf"
	cp "$repo/systemd/animed.tmpfiles" "$stage/systemd/tmpfiles-animed.conf"
	cp "$repo/systemd/examples/"*.conf "$stage/systemd/examples/"
	cp "$repo/README.md" "$stage/"
	[ ! -f "$repo/systemd/README.md" ] || cp "$repo/systemd/README.md" "$stage/systemd/"

	# Licences: animed's own (if the project has one), TFLite's, the
	# model's, and every Go module linked into the binary.
	for f in LICENSE LICENSE.md COPYING; do
		[ ! -f "$repo/$f" ] || cp "$repo/$f" "$stage/LICENSES/animed-$f"
	done
	cp "$repo/cross/THIRD_PARTY.md" "$stage/LICENSES/"
	cp "$repo/cross/licenses/Apache-2.0.txt" "$stage/LICENSES/tensorflow-lite-Apache-2.0.txt"
	cp "$repo/cross/licenses/MODEL-LICENSE.txt" "$stage/LICENSES/"
	for f in "$repo"/models/LICENSE* "$repo"/models/MODEL_CARD.md "$repo"/models/model-card.md; do
		[ ! -f "$f" ] || cp "$f" "$stage/LICENSES/model-$(basename "$f")"
	done
	mkdir -p "$stage/LICENSES/go/golang.org/go"
	cp "$($GO env GOROOT)/LICENSE" "$stage/LICENSES/go/golang.org/go/LICENSE" # runtime, std
	(cd "$src" && CGO_ENABLED=1 GOOS=linux GOARCH=$arch $GO list -deps \
		-f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Dir}}{{end}}{{end}}' "$pkg") |
		sort -u | while read -r mod dir; do
			for f in "$dir"/LICENSE* "$dir"/COPYING* "$dir"/NOTICE*; do
				[ -f "$f" ] || continue
				mkdir -p "$stage/LICENSES/go/$mod"
				cp "$f" "$stage/LICENSES/go/$mod/"
			done
		done

	# Normalize what the umask and the module cache (read-only files) left.
	find "$stage" -type d -exec chmod 0755 {} +
	find "$stage" -type f -exec chmod 0644 {} +
	chmod 0755 "$stage/animed"

	tar --sort=name --format=gnu --mtime="@$SOURCE_DATE_EPOCH" \
		--owner=0 --group=0 --numeric-owner -C "$work" -cf - "$name" |
		gzip -9n >"$out/$name.tar.gz.tmp"
	mv "$out/$name.tar.gz.tmp" "$out/$name.tar.gz"
	echo "dist: $out/$name.tar.gz"
done
