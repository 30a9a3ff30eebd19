package tflite

import (
	"fmt"
	"math"
	"syscall"

	flatbuffers "github.com/google/flatbuffers/go"
)

// TFLite 2.9 aborts the process (or overflows int sizes) when a model or a
// resized input asks for more memory than it can allocate: the C API gives
// no error for a failed allocation. The binding therefore reads tensor
// shapes from the flatbuffer itself, after TFLite's verifier has accepted
// it, and refuses models and resizes that would need too much.

// maxTensorBytes bounds any single tensor: TFLite computes many sizes in
// int, and no image model animed runs needs more.
const maxTensorBytes = 1 << 30

// graphStats is what the binding knows about a model's memory needs.
type graphStats struct {
	activationBytes int64   // sum of the non-constant tensors of all subgraphs
	largestTensor   int64   // bytes of the largest non-constant tensor
	inputElements   []int64 // elements of each main-subgraph input
}

// Field slots of the TFLite schema (see ../shared/notes/tflite-facts.md).
const (
	slotModelSubgraphs = 2
	slotModelBuffers   = 4
	slotSubgraphTensor = 0
	slotSubgraphInputs = 1
	slotTensorShape    = 0
	slotTensorType     = 1
	slotTensorBuffer   = 2
	slotTensorName     = 3
	slotBufferData     = 0
	slotBufferSize     = 2
)

var typeSizes = map[TensorType]int64{
	Float32: 4, Int32: 4, Uint8: 1, Int64: 8, Bool: 1, Int16: 2, Complex64: 8,
	Int8: 1, Float16: 2, Float64: 8, Complex128: 16, Uint64: 8, Uint32: 4,
}

// field returns the position of a table's field, or 0 when absent.
func field(t *flatbuffers.Table, slot int) flatbuffers.UOffsetT {
	o := t.Offset(flatbuffers.VOffsetT(4 + 2*slot))
	if o == 0 {
		return 0
	}
	return flatbuffers.UOffsetT(o) + t.Pos
}

// vecLen returns the length of the vector referenced at position f.
func vecLen(t *flatbuffers.Table, f flatbuffers.UOffsetT) int {
	return int(flatbuffers.GetUOffsetT(t.Bytes[t.Indirect(f):]))
}

// vecStart returns the position of the first element of the vector
// referenced at position f.
func vecStart(t *flatbuffers.Table, f flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	return t.Indirect(f) + flatbuffers.SizeUOffsetT
}

// vectorTable returns element i of a vector of tables at field position f.
func vectorTable(t *flatbuffers.Table, f flatbuffers.UOffsetT, i int) *flatbuffers.Table {
	x := vecStart(t, f) + flatbuffers.UOffsetT(i)*4
	return &flatbuffers.Table{Bytes: t.Bytes, Pos: t.Indirect(x)}
}

// inspectModel reads the tensor shapes of a model TFLite has verified and
// checks them against the memory limits.
func inspectModel(data []byte) (st graphStats, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed model: %v", r)
		}
	}()
	root := &flatbuffers.Table{Bytes: data, Pos: flatbuffers.GetUOffsetT(data)}
	// Which buffers hold data (constant tensors).
	var constant []bool
	if f := field(root, slotModelBuffers); f != 0 {
		for i := range vecLen(root, f) {
			b := vectorTable(root, f, i)
			has := false
			if d := field(b, slotBufferData); d != 0 && vecLen(b, d) > 0 {
				has = true
			}
			if s := field(b, slotBufferSize); s != 0 && b.GetUint64(s) > 0 {
				has = true
			}
			constant = append(constant, has)
		}
	}
	limit := memoryLimit()
	f := field(root, slotModelSubgraphs)
	if f == 0 || vecLen(root, f) == 0 {
		return st, fmt.Errorf("model has no subgraph")
	}
	for gi := range vecLen(root, f) {
		g := vectorTable(root, f, gi)
		tf := field(g, slotSubgraphTensor)
		var elements []int64
		if tf != 0 {
			for ti := range vecLen(g, tf) {
				t := vectorTable(g, tf, ti)
				n, err := tensorElements(t)
				if err != nil {
					return st, fmt.Errorf("subgraph %d tensor %d %q: %w", gi, ti, tensorName(t), err)
				}
				elements = append(elements, n)
				typ := TensorType(0)
				if p := field(t, slotTensorType); p != 0 {
					typ = TensorType(t.GetInt8(p))
				}
				size, ok := typeSizes[typ]
				if !ok {
					size = 8 // strings, resources: a guess that errs high
				}
				bytes := n * size
				if n > maxTensorBytes || bytes > maxTensorBytes {
					return st, fmt.Errorf("subgraph %d tensor %q needs %d bytes, more than the %d-byte limit", gi, tensorName(t), bytes, maxTensorBytes)
				}
				buf := 0
				if p := field(t, slotTensorBuffer); p != 0 {
					buf = int(t.GetUint32(p))
				}
				if buf >= len(constant) && buf != 0 {
					return st, fmt.Errorf("subgraph %d tensor %q uses buffer %d of %d", gi, tensorName(t), buf, len(constant))
				}
				if buf == 0 || !constant[buf] {
					st.activationBytes += bytes
					st.largestTensor = max(st.largestTensor, bytes)
				}
			}
		}
		if st.activationBytes > limit {
			return st, fmt.Errorf("tensors need %d bytes, more than this machine's %d", st.activationBytes, limit)
		}
		if gi == 0 {
			if inf := field(g, slotSubgraphInputs); inf != 0 {
				for i := range vecLen(g, inf) {
					idx := int(g.GetInt32(vecStart(g, inf) + flatbuffers.UOffsetT(i)*4))
					if idx < 0 || idx >= len(elements) {
						return st, fmt.Errorf("input %d is tensor %d of %d", i, idx, len(elements))
					}
					st.inputElements = append(st.inputElements, elements[idx])
				}
			}
		}
	}
	return st, nil
}

// tensorElements returns the product of a tensor's shape, refusing negative
// dimensions and stopping once it passes maxTensorBytes.
func tensorElements(t *flatbuffers.Table) (int64, error) {
	n := int64(1)
	p := field(t, slotTensorShape)
	if p == 0 {
		return 1, nil // a scalar
	}
	for i := range vecLen(t, p) {
		d := int64(t.GetInt32(vecStart(t, p) + flatbuffers.UOffsetT(i)*4))
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d", d)
		}
		n *= d
		if n > maxTensorBytes {
			return n, nil
		}
	}
	return n, nil
}

func tensorName(t *flatbuffers.Table) string {
	if p := field(t, slotTensorName); p != 0 {
		return t.String(p)
	}
	return ""
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
