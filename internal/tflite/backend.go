package tflite

import (
	"fmt"
	"slices"
	"strings"
)

// Backend names where an interpreter runs its operators. It is the one
// spelling of the backend names: the --backend flags parse into it
// (hw/backend adds "auto", a choice among these).
type Backend string

const (
	// BackendXNNPACK is the XNNPACK delegate with INT8 (QS8) kernels, falling
	// back to BackendCPU when the delegate cannot take the graph.
	BackendXNNPACK Backend = "xnnpack"
	// BackendCPU is TFLite's builtin kernels.
	BackendCPU Backend = "cpu"
	// BackendExternal is an external delegate plugin (Options.ExternalDelegate).
	BackendExternal Backend = "external"
)

// Backends are the interpreter's backends, in the order flags list them.
var Backends = []Backend{BackendXNNPACK, BackendCPU, BackendExternal}

// ParseBackend parses a backend name; the error lists the valid ones.
func ParseBackend(s string) (Backend, error) {
	if b := Backend(s); slices.Contains(Backends, b) {
		return b, nil
	}
	return "", fmt.Errorf("unknown backend %q: want one of %s", s, Names(Backends))
}

// Names joins backend names with commas, for messages and help texts.
func Names(bs []Backend) string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = string(b)
	}
	return strings.Join(s, ", ")
}
