package tflite

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"
)

// ErrClosed is returned by methods called after Close.
var ErrClosed = errors.New("tflite: use after Close")

// Version returns the version of the TFLite C library, e.g. "2.9.0".
func Version() string {
	return C.GoString(C.TfLiteVersion())
}

// Model is a loaded TFLite flatbuffer. It may be shared by several
// interpreters and goroutines; its memory is released when the Model and every
// Interpreter made from it are closed, in any order.
type Model struct {
	mu     sync.Mutex
	refs   int // the Model itself (until Close) plus one per open Interpreter
	closed bool
	data   unsafe.Pointer // model bytes in C memory
	size   int
	c      *C.TfLiteModel
	stats  graphStats // immutable
}

// NewModel loads a model from a copy of data.
func NewModel(data []byte) (*Model, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("tflite: load model: %d bytes is too short for a TFLite model", len(data))
	}
	if string(data[4:8]) != "TFL3" {
		return nil, fmt.Errorf("tflite: load model: not a TFLite model (file identifier %q, want \"TFL3\")", data[4:8])
	}
	p := C.CBytes(data)
	if p == nil {
		return nil, errors.New("tflite: load model: out of memory")
	}
	// TfLiteModelCreate verifies the flatbuffer; 2.9 offers no error reporter
	// for it, so its reason only reaches stderr.
	cm := C.TfLiteModelCreate(p, C.size_t(len(data)))
	if cm == nil {
		C.free(p)
		return nil, fmt.Errorf("tflite: load model: %d bytes fail TFLite's flatbuffer verification (corrupt or truncated model)", len(data))
	}
	stats, err := inspectModel(data)
	if err != nil {
		C.TfLiteModelDelete(cm)
		C.free(p)
		return nil, fmt.Errorf("tflite: load model: %w", err)
	}
	return &Model{refs: 1, data: p, size: len(data), c: cm, stats: stats}, nil
}

// LoadModel loads a model from a file.
func LoadModel(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tflite: %w", err)
	}
	m, err := NewModel(data)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return m, nil
}

// Size returns the size of the model in bytes.
func (m *Model) Size() int { return m.size }

// Close releases the model. Interpreters made from it stay usable; the
// memory goes when the last of them is closed too. Close is idempotent.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	m.releaseLocked()
	return nil
}

// acquire takes a reference for an interpreter.
func (m *Model) acquire() (*C.TfLiteModel, error) {
	if m == nil {
		return nil, errors.New("tflite: nil model")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	m.refs++
	return m.c, nil
}

func (m *Model) release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.releaseLocked()
}

func (m *Model) releaseLocked() {
	m.refs--
	if m.refs > 0 {
		return
	}
	C.TfLiteModelDelete(m.c)
	C.free(m.data)
	m.c, m.data = nil, nil
}
