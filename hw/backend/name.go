package backend

import (
	"fmt"
	"slices"

	"github.com/animed/animed/internal/tflite"
)

// The backends --backend accepts: Auto chooses among the interpreter's by
// self-test; the others (tflite's) are used as they are.
const (
	Auto     tflite.Backend = "auto"
	CPU                     = tflite.BackendCPU
	XNNPACK                 = tflite.BackendXNNPACK
	External                = tflite.BackendExternal
)

// Choices are the values of --backend, in the order help texts list them.
var Choices = append([]tflite.Backend{Auto}, tflite.Backends...)

// Parse parses a --backend value; the error lists the valid ones.
func Parse(s string) (tflite.Backend, error) {
	if b := tflite.Backend(s); slices.Contains(Choices, b) {
		return b, nil
	}
	return "", fmt.Errorf("unknown backend %q: want one of %s", s, tflite.Names(Choices))
}

// Flag makes b a pflag.Value for --backend: a bad name is refused as the
// flag (or its environment variable or config line) is parsed.
func Flag(b *tflite.Backend) interface {
	Set(string) error
	String() string
	Type() string
} {
	return (*flagValue)(b)
}

type flagValue tflite.Backend

func (f *flagValue) Set(s string) error {
	b, err := Parse(s)
	if err != nil {
		return err
	}
	*f = flagValue(b)
	return nil
}

func (f *flagValue) String() string { return string(*f) }
func (f *flagValue) Type() string   { return "backend" }
