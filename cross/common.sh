#!/bin/bash
# common.sh: sourced by dist.sh and deb.sh. Parses [-o OUTDIR] ARCH...
# into $out and $arches and sets $repo, $VERSION and $SOURCE_DATE_EPOCH.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$repo/dist
usage() { echo "usage: $0 [-o OUTDIR] ARCH...   (ARCH: amd64 arm64)" >&2; exit 2; }
while getopts o: opt; do
	case $opt in
	o) out=$(mkdir -p "$OPTARG" && cd "$OPTARG" && pwd) ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || usage
arches=("$@")
eval "$("$repo/cross/version.sh")"
export SOURCE_DATE_EPOCH
