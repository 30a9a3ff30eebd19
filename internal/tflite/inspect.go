package tflite

import (
	"fmt"
	"math"
	"syscall"

	"github.com/animed/animed/internal/tflitefile"
)

// TFLite 2.9 aborts the process (or overflows int sizes) when a model or a
// resized input asks for more memory than it can allocate, crashes on a
// graph with a cycle and loops on an empty input: the C API checks none of
// it. The binding therefore reads the model with package tflitefile (the
// project's one TFLite file reader), after TFLite's verifier has accepted
// it, checks the graph (tflitefile.Model.CheckGraph), and refuses models
// and resizes that would need too much memory.

// maxTensorBytes bounds any single tensor: TFLite computes many sizes in
// int, and no image model animed runs needs more.
const maxTensorBytes = 1 << 30

// graphStats is what the binding knows about a model's memory needs.
type graphStats struct {
	activationBytes int64   // sum of the non-constant tensors of all subgraphs
	largestTensor   int64   // bytes of the largest non-constant tensor
	inputElements   []int64 // elements of each main-subgraph input
}

// inspectModel reads and checks the graph of a model TFLite has verified
// and checks its tensors against the memory limits.
func inspectModel(data []byte) (st graphStats, err error) {
	m, err := tflitefile.View(data)
	if err != nil {
		return st, fmt.Errorf("malformed model: %w", err)
	}
	if err := m.CheckGraph(); err != nil {
		return st, fmt.Errorf("invalid graph: %w", err)
	}
	limit := memoryLimit()
	for gi, g := range m.Subgraphs {
		elements := make([]int64, len(g.Tensors))
		for ti, t := range g.Tensors {
			n := tensorElements(t.Shape)
			elements[ti] = n
			size := int64(t.Type.Size())
			if size == 0 {
				size = 8 // strings, resources: a guess that errs high
			}
			bytes := n * size
			if n > maxTensorBytes || bytes > maxTensorBytes {
				return st, fmt.Errorf("subgraph %d tensor %q needs %d bytes, more than the %d-byte limit", gi, t.Name, bytes, maxTensorBytes)
			}
			if t.Buffer == 0 || len(m.Buffers[t.Buffer].Data) == 0 {
				st.activationBytes += bytes
				st.largestTensor = max(st.largestTensor, bytes)
			}
		}
		if st.activationBytes > limit {
			return st, fmt.Errorf("tensors need %d bytes, more than this machine's %d", st.activationBytes, limit)
		}
		if gi == 0 {
			for _, i := range g.Inputs {
				st.inputElements = append(st.inputElements, elements[i])
			}
		}
	}
	return st, nil
}

// tensorElements returns the product of a shape (CheckGraph has refused
// negative dimensions), stopping once it passes maxTensorBytes.
func tensorElements(shape []int32) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= int64(d)
		if n > maxTensorBytes {
			return n
		}
	}
	return n
}

// memoryLimit returns how many bytes of tensors the binding lets TFLite
// allocate: the machine's RAM, or 4 GiB when it cannot tell.
func memoryLimit() int64 {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil || si.Totalram == 0 {
		return 4 << 30
	}
	total := uint64(si.Totalram) * uint64(si.Unit)
	return int64(min(total, math.MaxInt64))
}

// checkResize refuses a resize of input i to n elements when the model's
// tensors, scaled like the input, would pass the limits.
func (s graphStats) checkResize(i int, n int64) error {
	if i >= len(s.inputElements) || s.inputElements[i] == 0 {
		return nil
	}
	ratio := float64(n) / float64(s.inputElements[i])
	if ratio <= 1 {
		return nil
	}
	if big := float64(s.largestTensor) * ratio; big > maxTensorBytes {
		return fmt.Errorf("its largest tensor would need about %.0f bytes, more than the %d-byte limit", big, maxTensorBytes)
	}
	if all, limit := float64(s.activationBytes)*ratio, memoryLimit(); all > float64(limit) {
		return fmt.Errorf("its tensors would need about %.0f bytes, more than this machine's %d", all, limit)
	}
	return nil
}
