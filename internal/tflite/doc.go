// Package tflite is animed's binding to the TensorFlow Lite 2.9 C library
// (libtensorflowlite_c.so from the npm package tfjs-tflite-node, unpacked by
// `make deps-tflite` into build/tflite).
//
// It loads a model from bytes or a file, describes its input and output
// tensors (type, shape, quantization), resizes inputs of fully convolutional
// models, runs the interpreter with a chosen number of threads and reads the
// outputs, quantizing and dequantizing INT8/UINT8 tensors on the way.
//
// # Backends
//
// By default an Interpreter runs on the XNNPACK delegate with its signed INT8
// (QS8) kernels enabled; without that flag XNNPACK in TFLite 2.9 leaves every
// INT8 operator to the slower builtin kernels. When the delegate cannot take
// the graph (the AnimeGANv2 teacher model makes interpreter creation fail with
// "Restored original execution plan after delegate application failure"),
// NewInterpreter builds the interpreter again on the builtin CPU kernels, logs
// TFLite's message and reports it through Interpreter.FallbackReason.
// BackendExternal loads a TFLite external delegate plugin (the
// tflite_plugin_create_delegate / tflite_plugin_destroy_delegate ABI) with
// dlopen; the plugin's symbols are checked before use, because TFLite itself
// accepts a bad plugin path and then crashes.
//
// Every failure is returned as a Go error that carries TFLite's own message
// (an *Error when TFLite reported it), captured by a C error reporter into a
// buffer owned by the interpreter. TFLite 2.9 has no reporter for model
// loading: NewModel checks the file identifier itself, and the verifier's
// reason for rejecting a corrupt model only reaches stderr. Bad
// input (garbage or truncated model bytes, wrong tensor sizes, impossible
// shapes) gives an error, never a crash. TFLite 2.9 aborts the process when
// an allocation fails, so the binding reads tensor shapes from the verified
// flatbuffer itself and refuses models and ResizeInput shapes whose tensors
// would pass 1 GiB each or the machine's RAM in total.
//
// # Memory
//
// Model bytes are copied into C memory that lives as long as the Model or any
// Interpreter made from it, whichever is closed last. Close releases
// everything; tensor slices returned by Float32s, Int8s, Uint8s and Bytes are
// views into C memory, valid until the next ResizeInput or Close.
// An Interpreter is not safe for concurrent use; a Model may be shared.
//
// # Why not github.com/mattn/go-tflite
//
// go-tflite (v1.0.5) does not work against this TFLite build: it includes
// tensorflow/lite/c/c_api_experimental.h, which the npm package lacks; its
// xnnpack package links libraries that do not exist here and cannot set the
// QS8 flag, so INT8 models never reach XNNPACK; NewModel never frees its C
// copy of the model bytes; its error reporter garbles messages; and its cgo
// lines find the library only with CGO_* variables set by hand. This package is
// the small part of it animed needs, written for that library.
//
// # Building
//
// The cgo flags point at ${SRCDIR}/../../build/tflite relative to this
// package, so plain `go build` and `go test` work without environment
// variables once `make deps-tflite` has run. Development builds (the default)
// also get an rpath to that folder. Release builds drop it and find the library
// next to the binary (tarball: lib/) or in the .deb's /usr/lib/animed:
//
//	go build -tags release \
//	    -ldflags '-extldflags "-Wl,-rpath,$ORIGIN/lib:$ORIGIN/../lib/animed"' ./daemon/cmd/animed
//
// Cross builds for arm64 set CGO_ENABLED=1 GOARCH=arm64 CC=aarch64-linux-gnu-gcc;
// the cgo flags select build/tflite/linux_arm64 by GOARCH.
package tflite
