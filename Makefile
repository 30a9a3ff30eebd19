# animed — build, test and package. Every target that needs dependencies
# bootstraps them itself (make deps is idempotent).

SHELL      := /bin/bash
# Go 1.21+ on PATH fetches the go.mod toolchain itself (GOTOOLCHAIN=auto).
# Without it (Debian 12 ships 1.19), deps-base installs Debian's Go and uses
# it once to fetch the toolchain module golang.org/toolchain through the Go
# module proxy into build/go.
GO_VERSION := 1.26.8
GOBOOT     := build/go
GO         ?= $(shell command -v go >/dev/null 2>&1 && go version | grep -qE 'go1\.(2[1-9]|[3-9][0-9])' && echo go || echo $(CURDIR)/$(GOBOOT)/bin/go)
ifneq ($(GO),go)
# Tests that run `go` themselves find the fetched toolchain first.
export PATH := $(CURDIR)/$(GOBOOT)/bin:$(PATH)
endif
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.0.0-dev)
BUILD      := build
TFLITE     := $(BUILD)/tflite
TFLITE_PKG := tfjs-tflite-node@0.0.2
TFLITE_SHA := 3be1632328a76a2475e5b6833253763c802c859433becb4d879ee1860e3b5284
BIN        := $(BUILD)/bin
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages: the build needs BASE_PKGS (cgo; libjpeg-turbo for JPEG,
# libheif's header for HEIC/AVIF, whose library is loaded at run time); the
# tests, the recipe and the packaging need the rest (Debian 12 "bookworm"):
# heif-enc (libheif-examples) makes the HEIC test files. ARM64_PKGS are the
# same libraries for the arm64 cross-build and its tests under qemu, from
# Debian's arm64 multiarch (they co-install with the amd64 ones).
BASE_PKGS := gcc libturbojpeg0-dev libheif-dev
APT_PKGS := $(BASE_PKGS) python3-torch python3-torchvision python3-flatbuffers python3-numpy \
	python3-pil protobuf-compiler libonnx-dev libonnx-testdata \
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
	bubblewrap systemd dpkg-dev fakeroot lintian strace libheif-examples
ARM64_PKGS := libturbojpeg0-dev:arm64 libheif-dev:arm64

.PHONY: all deps deps-build deps-base deps-apt deps-arm64 deps-tflite deps-go build test cross run bench clean bench-int8 dist deb \
	distill distill-smoke distill-check-teacher model

all: build

deps: deps-base deps-apt deps-arm64 deps-tflite deps-go converter-deps

# What building and running animed needs: a C compiler, npm, Go, TFLite.
deps-build: deps-base deps-tflite deps-go

# Installs only what is missing, so a second run costs one dpkg query.
deps-base: PKGS = $(BASE_PKGS)
deps-apt: PKGS = $(APT_PKGS)
deps-base deps-apt:
	@missing=$$(for p in $(PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq -o DPkg::Lock::Timeout=600 $$missing; \
	fi
	@command -v npm >/dev/null || { echo "deps: installing nodejs and npm"; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq -o DPkg::Lock::Timeout=600 nodejs npm; }
	@if [ "$(GO)" != go ] && [ ! -x "$(GO)" ]; then \
		command -v go >/dev/null || DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq -o DPkg::Lock::Timeout=600 golang-go; \
		echo "deps: fetching the Go $(GO_VERSION) toolchain module"; \
		dir=$$(cd "$$(mktemp -d)" && GOPATH=$(CURDIR)/$(BUILD)/gopath GOFLAGS=-modcacherw GO111MODULE=on GOTOOLCHAIN=local \
			go mod download -json golang.org/toolchain@v0.0.1-go$(GO_VERSION).linux-$$(go env GOARCH) | \
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
		[ -f "$$dir/bin/go" ] || { echo "deps: could not fetch the Go toolchain"; exit 1; }; \
		chmod +x "$$dir"/bin/* "$$dir"/pkg/tool/*/*; \
		ln -sfn "$$dir" $(GOBOOT); \
	fi

# Adds Debian's arm64 architecture (once) for ARM64_PKGS. Their libc6:arm64
# (/lib/aarch64-linux-gnu) is a newer build than libc6-arm64-cross's
# loader, which qemu-aarch64 -L /usr/aarch64-linux-gnu runs: a program
# given the loader of one and the libc of the other hangs. Links inside the
# sysroot make qemu find the cross libc first at the multiarch paths.
GLIBC_ARM64 := libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libresolv.so.2 \
	libutil.so.1 libanl.so.1 libmvec.so.1 libnss_files.so.2 libnss_dns.so.2 libthread_db.so.1
deps-arm64: deps-apt
	@missing=$$(for p in $(ARM64_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing arm64 packages:" $$missing; \
		dpkg --print-foreign-architectures | grep -qx arm64 || $(SUDO) dpkg --add-architecture arm64; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq -o DPkg::Lock::Timeout=600 $$missing; \
	fi
	@cd /usr/aarch64-linux-gnu/lib && for f in $(GLIBC_ARM64); do \
		[ ! -e $$f ] || [ -L aarch64-linux-gnu/$$f ] || { $(SUDO) mkdir -p aarch64-linux-gnu && $(SUDO) ln -sfn ../$$f aarch64-linux-gnu/$$f; }; done

# The TFLite C library (2.9.0) comes from the npm package tfjs-tflite-node,
# checked against a pinned sha256, unpacked into $(TFLITE). Never committed.
deps-tflite: $(TFLITE)/.stamp
$(TFLITE)/.stamp:
	@mkdir -p $(BUILD)/npm $(TFLITE)
	cd $(BUILD)/npm && rm -f *.tgz && npm pack --silent $(TFLITE_PKG) >/dev/null
	echo "$(TFLITE_SHA)  $(BUILD)/npm/tfjs-tflite-node-0.0.2.tgz" | sha256sum -c --quiet
	rm -rf $(TFLITE).tmp && mkdir -p $(TFLITE).tmp
	tar -xzf $(BUILD)/npm/tfjs-tflite-node-0.0.2.tgz -C $(TFLITE).tmp --strip-components=2 \
		package/cc_deps/include package/cc_deps/linux_amd64 package/cc_deps/linux_arm64
	rm -rf $(TFLITE) && mv $(TFLITE).tmp $(TFLITE) && touch $@

# The converter's reference runtime: onnxruntime-node from npm, with its
# bundled CPU library (ONNXRUNTIME_NODE_INSTALL=skip: no CUDA download).
ORT_PKG := onnxruntime-node@1.22.0
.PHONY: converter-deps converter-proto
converter-deps: $(BUILD)/ort/.stamp
$(BUILD)/ort/.stamp:
	rm -rf $(BUILD)/ort.tmp && mkdir -p $(BUILD)/ort.tmp
	cd $(BUILD)/ort.tmp && echo '{"private":true}' > package.json && \
		ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --silent $(ORT_PKG)
	cd $(BUILD)/ort.tmp && node -e "require('onnxruntime-node')" # the bundled native library loads here
	rm -rf $(BUILD)/ort && mv $(BUILD)/ort.tmp $(BUILD)/ort && touch $@

# Regenerates converter/onnx/onnx.pb.go from Debian libonnx-dev's onnx.proto.
converter-proto:
	GOBIN=$(CURDIR)/$(BUILD)/tools $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	$(GO) generate ./converter/onnx

deps-go: deps-base
	$(GO) mod download

build: deps-build
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./daemon/cmd/animed ./converter/cmd/onnx2tflite

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race ./daemon/...
	$(MAKE) distill-smoke

cross: deps
	bash cross/build.sh arm64

# Release tarballs and Debian packages for both architectures:
# dist/animed_<version>_linux_{amd64,arm64}.tar.gz (cross/dist.sh) and
# dist/animed_<version>_{amd64,arm64}.deb (cross/deb.sh). The version comes
# from git (cross/version.sh); override with make dist VERSION=1.2.3.
DIST_ARCHES := amd64 arm64

dist: deps
	bash cross/dist.sh $(DIST_ARCHES)

deb: dist
	bash cross/deb.sh $(DIST_ARCHES)

# Builds the daemon and runs it on ./drop -> ./out (done/ and failed/ inside
# drop/); extra flags with ARGS, e.g. make run ARGS="--format png".
run: deps-build
	@mkdir -p $(BIN) drop out
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN)/animed ./daemon/cmd/animed
	$(BIN)/animed run --watch drop --out out $(ARGS)

# Builds what it measures itself (benchmodel, and animed once it has bench).
bench: deps
	bash bench/run.sh

# --- Distillation (models/distill, Debian python3-torch; see models/MODEL_CARD.md) ---
PY          := /usr/bin/python3
SHARED      ?= ../shared
TEACHER     := $(SHARED)/teacher/animeganv2_hayao_256_int8.tflite
PHOTOS      := $(SHARED)/photos
DISTILL_RUN ?= models/distill/runs/v2
DISTILL_STEPS ?= 600
DISTILL_CROPS ?= 203
PREVIOUS    := models/previous

# AnimeGAN-Tiny v2, the default model, in one command (`make distill model`).
# Four runs, each started from the best checkpoint of the one before, as the
# shipped weights were made (models/MODEL_CARD.md, "The shipped weights"):
#   1. align, style, fine-tune: v1's weights (models/previous) start down2 and
#      the body; DISTILL_CROPS teacher crops (resumes from its last.pt);
#   2. style and fine-tune at a lower learning rate, cut short as it was;
#   3. a long style and fine-tune on 500 teacher crops, scored on 16;
#   4. a second fine-tune at 256x256 on 800 crops.
# Then the ONNX export of the best checkpoint with reference vectors, and the
# evaluation against v1 on the held-out photos.
DISTILL_LONG  ?= 12000
distill: deps-apt deps-tflite
	$(GO) run ./models/distill/onnxweights $(PREVIOUS)/animegan_tiny.onnx $(DISTILL_RUN)/v1w
	$(PY) models/distill/train.py --arch v2 --init-v1 $(DISTILL_RUN)/v1w --steps $(DISTILL_STEPS) \
		--target-crops $(DISTILL_CROPS) --lr 3e-3 --ema 0.98 --w-perc 0 --w-gram 0 --ck-steps 50 \
		--photos $(PHOTOS) --teacher $(TEACHER) --run $(DISTILL_RUN)
	$(PY) models/distill/train.py --arch v2 --init $(DISTILL_RUN)/best.pt --phases style,finetune \
		--steps 1000 --stop-after 400 --target-crops $(DISTILL_CROPS) --ema 0.98 --w-perc 0 --w-gram 0 \
		--ck-steps 100 --photos $(PHOTOS) --teacher $(TEACHER) --run $(DISTILL_RUN)/b
	$(PY) models/distill/train.py --arch v2 --init $(DISTILL_RUN)/b/best.pt --phases style,finetune \
		--steps $(DISTILL_LONG) --target-crops 500 --held 16 --ema 0.995 --w-perc 0 --w-gram 0 \
		--ck-steps 300 --photos $(PHOTOS) --teacher $(TEACHER) --run $(DISTILL_RUN)/c
	$(PY) models/distill/train.py --arch v2 --init $(DISTILL_RUN)/c/best.pt --phases finetune \
		--steps 6000 --target-crops 800 --held 16 --ema 0.995 --w-perc 0 --w-gram 0 \
		--ck-steps 300 --photos $(PHOTOS) --teacher $(TEACHER) --run $(DISTILL_RUN)/d
	$(PY) models/distill/export.py --ckpt $(DISTILL_RUN)/d/best.pt --out models/animegan_tiny.onnx
	$(PY) models/distill/evaluate.py --ckpt $(DISTILL_RUN)/d/best.pt --photos $(PHOTOS) --teacher $(TEACHER) --n 0 \
		--tflite "v1 INT8=$(PREVIOUS)/animegan_tiny_int8.tflite" --xnnpack \
		--sheet models/distill/runs/contact_sheet.png --json models/distill/runs/eval.json

# ONNX -> TFLite: FP32 (for comparison) and the embedded default, fully INT8
# with int8 input and output (internal/stylize quantizes and dequantizes;
# float32 I/O tensors alone would cost ~30 bytes per pixel), calibrated on
# the photos.
model: deps
	$(GO) run ./converter/cmd/onnx2tflite --input-shape 256x256 --verify --summary \
		models/animegan_tiny.onnx models/animegan_tiny_fp32.tflite
	$(GO) run ./converter/cmd/onnx2tflite --input-shape 256x256 --int8 --calib $(PHOTOS) --calib-count 64 \
		--io int8 --min-psnr 35 --summary --report $(BUILD)/animegan_tiny_int8.report.json \
		models/animegan_tiny.onnx models/animegan_tiny_int8.tflite

# A few steps of every phase on a few small crops, then export and INT8
# conversion, so the recipe cannot rot (CI; make test runs it after deps).
SMOKE_DIR ?= $(BUILD)/distill-smoke
distill-smoke:
	@if [ ! -e $(TEACHER) ] || [ ! -d $(PHOTOS) ]; then \
		echo "distill-smoke: SKIP: $(SHARED) (teacher, photos) is absent"; exit 0; fi; \
	$(PY) -c 'import torch, flatbuffers, numpy, PIL' || { echo "distill-smoke: run make deps (python3-torch, python3-flatbuffers)"; exit 1; }; \
	rm -rf $(SMOKE_DIR) && \
	$(GO) run ./models/distill/onnxweights $(PREVIOUS)/animegan_tiny.onnx $(SMOKE_DIR)/v1w && \
	$(PY) models/distill/train.py --smoke --arch v2 --init-v1 $(SMOKE_DIR)/v1w --photos $(PHOTOS) --teacher $(TEACHER) \
		--run $(SMOKE_DIR)/run --cache $(SMOKE_DIR)/cache && \
	$(PY) models/distill/export.py --ckpt $(SMOKE_DIR)/run/best.pt --out $(SMOKE_DIR)/tiny.onnx --size 64 && \
	$(GO) run ./converter/cmd/onnx2tflite --input-shape 64x64 --int8 --calib $(PHOTOS) --calib-count 4 \
		--gate-count 2 --min-psnr 0 $(SMOKE_DIR)/tiny.onnx $(SMOKE_DIR)/tiny_int8.tflite && \
	echo "distill-smoke: ok"

# The PyTorch teacher port against the TFLite teacher (PSNR >= 35 dB at 256x256).
distill-check-teacher: deps-apt deps-tflite
	$(PY) models/distill/check_teacher.py --photos $(PHOTOS) --teacher $(TEACHER)

clean:
	rm -rf $(BUILD) dist

# INT8 vs FP32 latency of the quantizer's generator model (256x256) through
# internal/tflite: XNNPACK (QS8) and the builtin CPU kernels, one thread
# (ANIMED_BENCH_THREADS=N for more; ANIMED_BENCH_FP32/_INT8 for model files).
bench-int8: deps
	$(GO) test ./converter/quantize -run '^$$' -bench . -benchtime 20x -count 3
