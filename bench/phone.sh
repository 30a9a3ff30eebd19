#!/usr/bin/env bash
# bench/phone.sh REPORT THREADS [ANIMED]: appends the "12 MP phone JPEG"
# section (internal/imageio/phototest/cmd/phonebench: decode ms, in-process
# and daemon photos/s with peak RSS) to REPORT. Called by bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
report=$1 threads=$2 animed=${3:-}
GO=${GO:-go}
"$GO" build -o build/bin/phonebench ./internal/imageio/phototest/cmd/phonebench
args=(--threads "$threads")
[ -z "$animed" ] || args+=(--animed "$animed")
if timeout 300 build/bin/phonebench "${args[@]}" >"$report.phone"; then
	cat "$report.phone" >>"$report"
else
	printf '## 12 MP phone JPEG\n\nNot measured: phonebench failed or ran past 5 minutes (see make bench'"'"'s output).\n\n' >>"$report"
fi
rm -f "$report.phone"
