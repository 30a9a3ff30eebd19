#!/usr/bin/env bash
# `make bench`: measures size, speed, memory and quality of the shipped
# models on this machine and writes bench/REPORT.md (+ contact-sheet.png).
# Not part of CI. Budget: < 15 minutes on 2 cores (each step is capped).
#
# Environment: THREADS (default: all CPUs), ANIMED_SHARED (default ../shared),
# BENCH_RUNS (max timed runs per cell, default 20), QUALITY_PHOTOS (default 8),
# TORCH_PORT_DIR (folder of the PyTorch teacher port, default models/distill),
# TILE_VARIANTS (--tile-pixels values of extra daemon runs, default "65536 1048576").
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
THREADS=${THREADS:-$(nproc)}
SHARED=${ANIMED_SHARED:-../shared}
RUNS=${BENCH_RUNS:-20}
QUALITY_PHOTOS=${QUALITY_PHOTOS:-8}
TORCH_PORT_DIR=${TORCH_PORT_DIR:-models/distill}
PY=/usr/bin/python3
BIN=build/bin
OUT=bench
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
start=$(date +%s)
log() { echo "bench: $*" >&2; }

mkdir -p "$BIN"
log "building"
"$GO" build -o "$BIN/benchmodel" ./bench/cmd/benchmodel
# `animed bench` once the daemon wires it; benchmodel runs the same code.
BENCH=("$BIN/benchmodel")
have_animed=false
if [ -d daemon/cmd/animed ] && "$GO" build -o "$BIN/animed" ./daemon/cmd/animed 2>"$TMP/build.err"; then
	have_animed=true
	"$BIN/animed" bench --help >/dev/null 2>&1 && BENCH=("$BIN/animed" bench)
fi
log "model table through: ${BENCH[*]}"

notes=()
missing=()
variants=()
TILE_VARIANTS=${TILE_VARIANTS:-65536 1048576}
load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" -v n="$(nproc)" 'BEGIN{exit !(l > n/2)}'; then
	notes+=(--note "The machine was busy when the run started (load average $load on $(nproc) CPUs): latencies are noisy and pessimistic; re-run on an idle machine for publishable numbers.")
fi

TEACHER="$SHARED/teacher/animeganv2_hayao_256_int8.tflite"
FP32=models/animegan_tiny_fp32.tflite
models=()
labels=()
if [ -f "$TEACHER" ]; then
	models+=("$TEACHER@256") # 256² only: ~2-3 s per image
	labels+=(--teacher "$(basename "$TEACHER")")
else
	notes+=(--note "Teacher not found at $TEACHER (set ANIMED_SHARED): no teacher rows.")
fi
if [ -f "$FP32" ]; then
	models+=("$FP32")
	labels+=(--fp32 "$(basename "$FP32")")
else
	notes+=(--note "No FP32 student at $FP32 yet (the distillation task ships it): no FP32 rows.")
fi
models+=(default)
labels+=(--int8 default)
# the model the default replaced (AnimeGAN-Tiny v1), for the comparison rows
PREV=models/previous/animegan_tiny_int8.tflite
if [ -f "$PREV" ]; then
	models+=("$PREV")
	notes+=(--note "In the models table, animegan_tiny_int8.tflite is the previous default model, AnimeGAN-Tiny v1 ($PREV); the default (v2) is the row named default.")
fi
list=$(IFS=,; echo "${models[*]}")

log "models: $list at 256,512,1024 (fixed-size models at their own size only)"
if ! timeout 600 "${BENCH[@]}" --models "$list" --sizes 256,512,1024 --threads "$THREADS" --runs "$RUNS" --json >"$TMP/models.json"; then
	: >"$TMP/models.json"
	missing+=(--missing "models=the model benchmark failed or ran past 10 minutes (see make bench's output)")
fi

log "PyTorch teacher at 256²"
if [ -f "$TEACHER" ]; then
	photo=$(find "$SHARED/photos" -type f -name '*.jpg' 2>/dev/null | sort | sed -n 10p)
	if ! timeout 180 "$PY" bench/torch_teacher.py --teacher "$TEACHER" --port-dir "$TORCH_PORT_DIR" \
		--threads "$THREADS" --runs "$RUNS" --max-time 10 ${photo:+--photo "$photo"} >"$TMP/torch.json"; then
		: >"$TMP/torch.json"
		missing+=(--missing "torch=bench/torch_teacher.py failed (see make bench's output)")
	fi
else
	: >"$TMP/torch.json"
	missing+=(--missing "torch=no teacher model")
fi

log "end to end: 1024x768 JPEG in -> JPEG out"
photos=()
[ -d "$SHARED/photos" ] && photos=(--photos "$SHARED/photos")
if ! timeout 120 "$BIN/benchmodel" e2e --model default "${photos[@]}" --threads "$THREADS" --count 20 --max-time 20s --json >"$TMP/e2e.json"; then
	: >"$TMP/e2e.json"
	missing+=(--missing "e2e=the end-to-end run failed (see make bench's output)")
fi
if [ -f "$PREV" ] && timeout 120 "$BIN/benchmodel" e2e --model "$PREV" "${photos[@]}" --threads "$THREADS" --count 20 --max-time 20s --json >"$TMP/e2e-prev.json"; then
	notes+=(--note "$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("The previous default model (%s) end to end at 1024x768 in the same run: %.2f photos/s, peak RSS %.0f MB." % (sys.argv[2], d["photos_per_s"], d["peak_rss_kb"] / 1024))' "$TMP/e2e-prev.json" "$PREV")")
fi

log "end to end through the daemon: animed run on a drop folder"
if $have_animed && "$BIN/animed" run --help >/dev/null 2>&1; then
	if ! timeout 180 "$BIN/benchmodel" daemon --animed "$BIN/animed" "${photos[@]}" --count 20 --threads "$THREADS" --json >"$TMP/daemon.json"; then
		: >"$TMP/daemon.json"
		missing+=(--missing "daemon=the animed run measurement failed or ran past 3 minutes (see make bench's output)")
	fi
	# the memory/speed knob: smaller and larger model pieces than the default;
	# then the previous default model at its own default (65536)
	vargs=()
	for tile in $TILE_VARIANTS; do vargs+=("--tile-pixels=$tile"); done
	[ -f "$PREV" ] && vargs+=("--model=$PREV --tile-pixels=65536")
	i=0
	for va in "${vargs[@]}"; do
		i=$((i + 1))
		log "  again with $va"
		a=()
		for x in $va; do a+=("--arg=$x"); done
		timeout 180 "$BIN/benchmodel" daemon --animed "$BIN/animed" "${photos[@]}" --count 20 --threads "$THREADS" \
			"${a[@]}" --json >"$TMP/daemon-$i.json" || : >"$TMP/daemon-$i.json"
		variants+=(--daemon-variant-json "$TMP/daemon-$i.json")
	done
else
	: >"$TMP/daemon.json"
	missing+=(--missing "daemon=no animed binary with the run command yet (daemon/cmd/animed)")
fi

log "quality vs teacher on $QUALITY_PHOTOS held-out photos"
rm -f "$OUT/contact-sheet.png"
sheet=()
if [ -f "$TEACHER" ] && [ -d "$SHARED/photos" ]; then
	qm=default
	ql="student INT8 (default)"
	if [ -f "$FP32" ]; then
		qm="$FP32,default"
		ql="student FP32,student INT8 (default)"
	fi
	if [ -f "$PREV" ]; then
		qm="$qm,$PREV"
		ql="$ql,previous default INT8 (v1)"
	fi
	if timeout 240 "$BIN/benchmodel" quality --teacher "$TEACHER" --models "$qm" --labels "$ql" \
		--photos "$SHARED/photos" --max-photos "$QUALITY_PHOTOS" --threads "$THREADS" \
		--sheet "$OUT/contact-sheet.png" --json >"$TMP/quality.json"; then
		sheet=(--sheet contact-sheet.png)
	else
		: >"$TMP/quality.json"
		missing+=(--missing "quality=the quality run failed or ran past 4 minutes")
	fi
else
	: >"$TMP/quality.json"
	missing+=(--missing "quality=needs the teacher and the photos in $SHARED")
fi
for f in models/distill/eval.py models/distill/evaluate.py; do
	[ -f "$f" ] && notes+=(--note "The distillation task's own evaluation ($f) uses the same PSNR/SSIM definitions and held-out split; its numbers are in models/MODEL_CARD.md.")
done

log "Go benchmarks of the hot paths"
# benchstat-friendly: `go test -bench` lines as they are (compare runs with benchstat)
if ! timeout 300 "$GO" test -run '^$' -bench . -benchtime 3x -count 1 \
	./bench/ ./internal/stylize/ ./internal/imageio/ ./models/ >"$TMP/gobench.raw" 2>&1; then
	log "go test -bench failed or ran past 5 minutes:"
	tail -20 "$TMP/gobench.raw" >&2
	missing+=(--missing "gobench=go test -bench failed or ran past 5 minutes (see make bench's output)")
fi
grep -E '^(Benchmark|goos|goarch|cpu|pkg)' "$TMP/gobench.raw" >"$TMP/gobench.txt" || :

elapsed=$(($(date +%s) - start))
notes+=(--note "make bench took ${elapsed} s with THREADS=$THREADS. Reproduce: \`make bench\` (see bench/run.sh for the knobs).")
"$BIN/benchmodel" report --models-json "$TMP/models.json" --torch-json "$TMP/torch.json" \
	--e2e-json "$TMP/e2e.json" --daemon-json "$TMP/daemon.json" "${variants[@]}" --quality-json "$TMP/quality.json" --gobench "$TMP/gobench.txt" \
	"${sheet[@]}" "${labels[@]}" "${notes[@]}" "${missing[@]}" >"$OUT/REPORT.md.tmp"
log "12 MP phone JPEG"
bash bench/phone.sh "$OUT/REPORT.md.tmp" "$THREADS" "$($have_animed && echo "$BIN/animed")"
mv "$OUT/REPORT.md.tmp" "$OUT/REPORT.md"
log "wrote $OUT/REPORT.md in ${elapsed} s"
