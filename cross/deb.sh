#!/bin/bash
# deb.sh: Debian packages of animed, made from the release tarballs.
#
#   cross/deb.sh [-o OUTDIR] ARCH...       ARCH: amd64 arm64
#
# Reads OUTDIR/animed_<version>_linux_<ARCH>.tar.gz (cross/dist.sh; OUTDIR
# defaults to dist/) and writes OUTDIR/animed_<version>_<ARCH>.deb with
#   /usr/bin/animed, /usr/lib/animed/libtensorflowlite_c.so,
#   /lib/systemd/system/animed.service and animed@.service,
#   /usr/lib/sysusers.d/animed.conf, /usr/lib/tmpfiles.d/animed.conf,
#   /etc/animed/animed.conf (conffile),
#   /usr/share/doc/animed/ (README, copyright, changelog, licences, drop-ins)
# and maintainer scripts (cross/debian/) that create the user and
# /var/lib/animed/{drop,out,done,failed,state}, and enable the service.
# Reproducible like the tarball: SOURCE_DATE_EPOCH, owner root:root.
set -euo pipefail
. "$(dirname "$0")/common.sh"
command -v dpkg-deb >/dev/null || { echo "deb: dpkg-deb not found (apt-get install dpkg-dev)" >&2; exit 1; }

# highest NAME_x.y version a dynamic ELF file needs, e.g. GLIBC 2.34
needs() { readelf -W --dyn-syms "$2" | grep -o "$1_[0-9.]*" | sed "s/^$1_//" | sort -uV | tail -n1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for arch in "${arches[@]}"; do
	tarball=$out/animed_${VERSION}_linux_$arch.tar.gz
	[ -f "$tarball" ] || { echo "deb: $tarball is missing: run cross/dist.sh $arch (make dist) first" >&2; exit 1; }
	rm -rf "$work"/*
	tar -xzf "$tarball" -C "$work"
	t=$work/animed_${VERSION}_linux_$arch
	r=$work/root
	doc=$r/usr/share/doc/animed

	install -D -m 0755 "$t/animed" "$r/usr/bin/animed"
	install -D -m 0644 "$t/lib/libtensorflowlite_c.so" "$r/usr/lib/animed/libtensorflowlite_c.so"
	install -D -m 0644 "$t/systemd/animed.service" "$r/lib/systemd/system/animed.service"
	install -D -m 0644 "$t/systemd/animed@.service" "$r/lib/systemd/system/animed@.service"
	install -D -m 0644 "$t/systemd/sysusers-animed.conf" "$r/usr/lib/sysusers.d/animed.conf"
	install -D -m 0644 "$t/systemd/tmpfiles-animed.conf" "$r/usr/lib/tmpfiles.d/animed.conf"
	install -D -m 0644 "$t/animed.conf" "$r/etc/animed/animed.conf"
	install -D -m 0644 "$t/README.md" "$doc/README.md"
	[ ! -f "$t/systemd/README.md" ] || install -D -m 0644 "$t/systemd/README.md" "$doc/README.systemd.md"
	install -D -m 0644 "$repo/cross/debian/copyright" "$doc/copyright"
	install -d "$r/usr/share/man/man1" "$r/usr/share/lintian/overrides"
	gzip -9n <"$repo/cross/debian/animed.1" >"$r/usr/share/man/man1/animed.1.gz"
	install -m 0644 "$repo/cross/debian/lintian-overrides" "$r/usr/share/lintian/overrides/animed"
	mkdir -p "$doc/examples"
	install -m 0644 "$t/systemd/examples/"*.conf "$doc/examples/"
	cp -r "$t/LICENSES" "$doc/LICENSES"
	rm -f "$doc/LICENSES/tensorflow-lite-Apache-2.0.txt" # in /usr/share/common-licenses
	date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
	printf 'animed (%s) unstable; urgency=medium\n\n  * Build of %s.\n\n -- animed maintainers <animed@users.noreply.github.com>  %s\n' \
		"$VERSION" "$VERSION" "$date" | gzip -9n >"$doc/changelog.gz"

	glibc=$(needs GLIBC "$r/usr/bin/animed"; needs GLIBC "$r/usr/lib/animed/libtensorflowlite_c.so")
	glibc=$(echo "$glibc" | sort -V | tail -n1)
	case $(needs GLIBCXX "$r/usr/lib/animed/libtensorflowlite_c.so") in
	3.4.2[6-7]) stdcxx="libstdc++6 (>= 9)" ;;
	3.4.28) stdcxx="libstdc++6 (>= 10)" ;;
	3.4.29) stdcxx="libstdc++6 (>= 11)" ;;
	3.4.30) stdcxx="libstdc++6 (>= 12)" ;;
	*) stdcxx="libstdc++6" ;;
	esac

	mkdir -p "$r/DEBIAN"
	install -m 0755 "$repo/cross/debian/postinst" "$repo/cross/debian/prerm" "$repo/cross/debian/postrm" "$r/DEBIAN/"
	echo /etc/animed/animed.conf >"$r/DEBIAN/conffiles"
	find "$r" -path "$r/DEBIAN" -prune -o -type d -exec chmod 0755 {} +
	find "$r" -path "$r/DEBIAN" -prune -o -type f -exec chmod go-w {} +
	size=$(du -sk --exclude=DEBIAN "$r" | cut -f1)
	cat >"$r/DEBIAN/control" <<CONTROL
Package: animed
Version: $VERSION
Architecture: $arch
Maintainer: animed maintainers <animed@users.noreply.github.com>
Installed-Size: $size
Depends: libc6 (>= ${glibc:-2.34}), $stdcxx, libgcc-s1, libturbojpeg0, libheif1, systemd | systemd-sysusers
Section: graphics
Priority: optional
Description: photo-to-anime drop-folder daemon for small ARM boards
 animed watches a drop folder and writes an anime-styled copy of each photo
 dropped there into an output folder, with a small INT8 TensorFlow Lite
 model (AnimeGAN-Tiny) that runs on the CPU. Nothing leaves the device.
 .
 The package installs a sandboxed systemd service, animed.service, that
 converts photos from /var/lib/animed/drop into /var/lib/animed/out;
 members of the group animed may drop photos. The embedded model is for
 non-commercial use only.
CONTROL
	(cd "$r" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$r/DEBIAN/md5sums"
	chmod 0644 "$r/DEBIAN/control" "$r/DEBIAN/conffiles" "$r/DEBIAN/md5sums"
	find "$r" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

	deb=$out/animed_${VERSION}_$arch.deb
	dpkg-deb --root-owner-group -Zxz --build "$r" "$deb.tmp" >/dev/null
	mv "$deb.tmp" "$deb"
	echo "deb: $deb"
done
