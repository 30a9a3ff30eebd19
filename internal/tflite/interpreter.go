package tflite

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strings"
	"unsafe"
)

// Options configure an Interpreter.
type Options struct {
	// Threads is the number of threads for TFLite and XNNPACK; <= 0 means
	// one per CPU.
	Threads int
	// Backend selects the delegate; "" means BackendXNNPACK.
	Backend Backend
	// ExternalDelegate is the path of the plugin .so for BackendExternal.
	ExternalDelegate string
	// ExternalOptions are passed to the plugin as key/value pairs.
	ExternalOptions map[string]string
	// Logger receives the fallback notice; nil means slog.Default().
	Logger *slog.Logger
}

// Interpreter runs a model. It is not safe for concurrent use.
type Interpreter struct {
	model    *Model
	c        *C.TfLiteInterpreter
	eb       *C.animed_errbuf
	xnnpack  *C.TfLiteDelegate
	external *C.animed_external
	backend  Backend
	fallback string
	threads  int
}

// NewInterpreter creates an interpreter for m with its tensors allocated.
// With BackendXNNPACK it applies the XNNPACK delegate with QS8 enabled; if
// the delegate cannot take the graph, it rebuilds the interpreter on the CPU
// kernels, logs why and reports it through FallbackReason.
func NewInterpreter(m *Model, o Options) (*Interpreter, error) {
	backend := o.Backend
	if backend == "" {
		backend = BackendXNNPACK
	}
	if _, err := ParseBackend(string(backend)); err != nil {
		return nil, fmt.Errorf("tflite: %w", err)
	}
	if backend == BackendExternal && o.ExternalDelegate == "" {
		return nil, errors.New("tflite: backend external needs Options.ExternalDelegate (the plugin path)")
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	threads := o.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	cm, err := m.acquire()
	if err != nil {
		return nil, err
	}
	it := &Interpreter{model: m, backend: backend, threads: threads, eb: C.animed_errbuf_new()}
	if it.eb == nil {
		m.release()
		return nil, errors.New("tflite: new interpreter: out of memory")
	}
	if err := it.init(cm, o, log); err != nil {
		it.Close()
		return nil, err
	}
	return it, nil
}

func (it *Interpreter) init(cm *C.TfLiteModel, o Options, log *slog.Logger) error {
	switch it.backend {
	case BackendCPU:
		return it.build(cm, nil)
	case BackendExternal:
		if err := it.loadExternal(o.ExternalDelegate, o.ExternalOptions); err != nil {
			return err
		}
		if err := it.build(cm, C.animed_external_delegate(it.external)); err != nil {
			return fmt.Errorf("%w (external delegate %s)", err, o.ExternalDelegate)
		}
		return nil
	}
	it.xnnpack = C.animed_xnnpack_new(C.int(it.threads), C.ANIMED_XNNPACK_FLAG_QS8)
	var reason string
	if it.xnnpack == nil {
		reason = "XNNPACK delegate could not be created"
	} else {
		err := it.build(cm, it.xnnpack)
		if err == nil {
			return nil
		}
		reason = err.Error()
		if e, ok := errors.AsType[*Error](err); ok {
			reason = e.Message
		}
		C.animed_xnnpack_delete(it.xnnpack)
		it.xnnpack = nil
	}
	it.backend, it.fallback = BackendCPU, reason
	log.Warn("tflite: XNNPACK cannot run this model, using the builtin CPU kernels",
		"reason", reason, "threads", it.threads)
	return it.build(cm, nil)
}

// build creates the C interpreter with an optional delegate and allocates
// its tensors. On failure it leaves it.c nil.
func (it *Interpreter) build(cm *C.TfLiteModel, d *C.TfLiteDelegate) error {
	C.animed_errbuf_reset(it.eb)
	opts := C.animed_options_new(C.int(it.threads), it.eb)
	if opts == nil {
		return errors.New("tflite: new interpreter: out of memory")
	}
	if d != nil {
		C.TfLiteInterpreterOptionsAddDelegate(opts, d)
	}
	c := C.TfLiteInterpreterCreate(cm, opts)
	C.TfLiteInterpreterOptionsDelete(opts)
	if c == nil {
		return it.errorf("new interpreter", "could not create interpreter")
	}
	if C.TfLiteInterpreterAllocateTensors(c) != C.kTfLiteOk {
		err := it.errorf("allocate tensors", "failed")
		C.TfLiteInterpreterDelete(c)
		return err
	}
	it.c = c
	return nil
}

func (it *Interpreter) loadExternal(path string, options map[string]string) error {
	keys := slices.Sorted(maps.Keys(options))
	n := len(keys)
	// C arrays of C strings; freed once the plugin has copied them.
	ck := (**C.char)(C.calloc(C.size_t(n+1), C.size_t(unsafe.Sizeof(uintptr(0)))))
	cv := (**C.char)(C.calloc(C.size_t(n+1), C.size_t(unsafe.Sizeof(uintptr(0)))))
	ks, vs := unsafe.Slice(ck, n+1), unsafe.Slice(cv, n+1)
	defer func() {
		for i := range n {
			C.free(unsafe.Pointer(ks[i]))
			C.free(unsafe.Pointer(vs[i]))
		}
		C.free(unsafe.Pointer(ck))
		C.free(unsafe.Pointer(cv))
	}()
	for i, k := range keys {
		ks[i], vs[i] = C.CString(k), C.CString(options[k])
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	C.animed_errbuf_reset(it.eb)
	it.external = C.animed_external_new(cpath, ck, cv, C.size_t(n), it.eb)
	if it.external == nil {
		return it.errorf("load external delegate", "failed")
	}
	return nil
}

// Error is a failure TFLite reported, carrying its messages.
type Error struct {
	Op      string // what the binding was doing, e.g. "invoke"
	Message string // TFLite's messages, joined by "; "
}

func (e *Error) Error() string { return "tflite: " + e.Op + ": " + e.Message }

// errorf returns an *Error for op with TFLite's captured messages, or with
// fallback when TFLite reported nothing.
func (it *Interpreter) errorf(op, fallback string) error {
	msg := strings.TrimSpace(C.GoStringN(&it.eb.buf[0], C.int(it.eb.len)))
	if it.eb.truncated != 0 {
		msg += " [truncated]"
	}
	C.animed_errbuf_reset(it.eb)
	if msg == "" {
		msg = fallback
	}
	return &Error{Op: op, Message: joinMessages(msg)}
}

// joinMessages joins TFLite's newline-separated messages with "; ",
// collapsing repeats ("failed to create XNNPACK runtime" comes once per
// delegated partition) into "msg (x24)".
func joinMessages(msg string) string {
	var parts []string
	var last string
	n := 0
	flush := func() {
		switch {
		case n == 1:
			parts = append(parts, last)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%s (x%d)", last, n))
		}
	}
	for line := range strings.SplitSeq(msg, "\n") {
		line = strings.TrimSuffix(strings.Join(strings.Fields(line), " "), ".")
		if line == "" {
			continue
		}
		if line == last {
			n++
			continue
		}
		flush()
		last, n = line, 1
	}
	flush()
	return strings.Join(parts, "; ")
}

// Backend returns where the interpreter runs: BackendCPU after a fallback.
func (it *Interpreter) Backend() Backend { return it.backend }

// FallbackReason returns TFLite's message when XNNPACK was requested but the
// interpreter runs on the CPU kernels, else "".
func (it *Interpreter) FallbackReason() string { return it.fallback }

// Threads returns the number of threads the interpreter was built with.
func (it *Interpreter) Threads() int { return it.threads }

// InputCount returns the number of input tensors.
func (it *Interpreter) InputCount() int {
	if it.c == nil {
		return 0
	}
	return int(C.TfLiteInterpreterGetInputTensorCount(it.c))
}

// OutputCount returns the number of output tensors.
func (it *Interpreter) OutputCount() int {
	if it.c == nil {
		return 0
	}
	return int(C.TfLiteInterpreterGetOutputTensorCount(it.c))
}

// Input returns input tensor i, or nil when i is out of range.
func (it *Interpreter) Input(i int) *Tensor {
	if i < 0 || i >= it.InputCount() {
		return nil
	}
	return &Tensor{it: it, index: i, input: true}
}

// Output returns output tensor i, or nil when i is out of range.
func (it *Interpreter) Output(i int) *Tensor {
	if i < 0 || i >= it.OutputCount() {
		return nil
	}
	return &Tensor{it: it, index: i}
}

// maxRank bounds ResizeInput shapes.
const maxRank = 8

// ResizeInput gives input i a new shape and re-allocates all tensors. If
// TFLite cannot allocate the new shape, the previous shape is restored and
// the error carries TFLite's message. Shapes whose tensors would not fit in
// memory are refused before TFLite sees them (it would abort the process).
func (it *Interpreter) ResizeInput(i int, shape []int) error {
	if it.c == nil {
		return ErrClosed
	}
	if i < 0 || i >= it.InputCount() {
		return fmt.Errorf("tflite: resize input %d: model has %d inputs", i, it.InputCount())
	}
	if len(shape) == 0 || len(shape) > maxRank {
		return fmt.Errorf("tflite: resize input %d to %v: rank must be 1..%d", i, shape, maxRank)
	}
	n := int64(1)
	for _, d := range shape {
		if d < 1 {
			return fmt.Errorf("tflite: resize input %d to %v: dimensions must be positive", i, shape)
		}
		if n *= int64(d); n > maxTensorBytes {
			return fmt.Errorf("tflite: resize input %d to %v: more than %d elements", i, shape, int64(maxTensorBytes))
		}
	}
	if err := it.model.stats.checkResize(i, n); err != nil {
		return fmt.Errorf("tflite: resize input %d to %v: %w", i, shape, err)
	}
	old := it.Input(i).Shape()
	if err := it.resize(i, shape); err != nil {
		if rerr := it.resize(i, old); rerr != nil {
			return fmt.Errorf("%w; restoring shape %v: %v", err, old, rerr)
		}
		return fmt.Errorf("%w (input %d resized to %v; restored %v)", err, i, shape, old)
	}
	return nil
}

func (it *Interpreter) resize(i int, shape []int) error {
	dims := make([]C.int, len(shape))
	for k, d := range shape {
		dims[k] = C.int(d)
	}
	C.animed_errbuf_reset(it.eb)
	if C.TfLiteInterpreterResizeInputTensor(it.c, C.int32_t(i), &dims[0], C.int32_t(len(dims))) != C.kTfLiteOk {
		return it.errorf("resize input", "failed")
	}
	if C.TfLiteInterpreterAllocateTensors(it.c) != C.kTfLiteOk {
		return it.errorf("allocate tensors", "failed")
	}
	return nil
}

// Invoke runs the model on the current input tensors.
func (it *Interpreter) Invoke() error {
	if it.c == nil {
		return ErrClosed
	}
	C.animed_errbuf_reset(it.eb)
	if C.TfLiteInterpreterInvoke(it.c) != C.kTfLiteOk {
		return it.errorf("invoke", "failed")
	}
	return nil
}

// Close releases the interpreter, then its delegate, then its reference to
// the model. Close is idempotent.
func (it *Interpreter) Close() error {
	if it.c != nil {
		C.TfLiteInterpreterDelete(it.c)
		it.c = nil
	}
	if it.xnnpack != nil {
		C.animed_xnnpack_delete(it.xnnpack)
		it.xnnpack = nil
	}
	if it.external != nil {
		C.animed_external_delete(it.external)
		it.external = nil
	}
	if it.eb != nil {
		C.free(unsafe.Pointer(it.eb))
		it.eb = nil
	}
	if it.model != nil {
		it.model.release()
		it.model = nil
	}
	return nil
}
