#!/bin/bash
# Prints the package version and the build timestamp (SOURCE_DATE_EPOCH) used
# by dist.sh and deb.sh, as shell assignments:
#   VERSION=1.2.3            from a tag v1.2.3 on HEAD
#   VERSION=1.2.3+git5.gabc1234   5 commits after tag v1.2.3
#   VERSION=0.0.0~git20261126.c545d97   no tag yet
# A dirty tree appends +dirty. Both values may be overridden from the
# environment (VERSION, SOURCE_DATE_EPOCH). The result is a valid Debian
# version: it starts with a digit.
set -euo pipefail
cd "$(dirname "$0")/.."

sde=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
if [ -z "${VERSION:-}" ]; then
	if desc=$(git describe --tags --long --match 'v[0-9]*' 2>/dev/null); then
		# v1.2.3-5-gabc1234 -> 1.2.3 or 1.2.3+git5.gabc1234
		base=${desc%-*-g*}; rest=${desc#"$base"-}; n=${rest%%-*}; hash=${rest#*-}
		VERSION=${base#v}
		[ "$n" = 0 ] || VERSION="$VERSION+git$n.$hash"
	elif hash=$(git rev-parse --short=7 HEAD 2>/dev/null); then
		VERSION="0.0.0~git$(date -u -d "@$sde" +%Y%m%d).$hash"
	else
		VERSION=0.0.0~dev
	fi
	if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		VERSION="$VERSION+dirty"
	fi
fi
case $VERSION in
[0-9]*) ;;
*) echo "version.sh: VERSION=$VERSION must start with a digit (Debian version rules)" >&2; exit 1 ;;
esac
echo "VERSION=$VERSION"
echo "SOURCE_DATE_EPOCH=$sde"
