package tflite

// #include "shim.h"
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

// TensorType is the element type of a tensor (TfLiteType).
type TensorType int

// Tensor types, numbered as TfLiteType in TFLite 2.9.
const (
	NoType     TensorType = 0
	Float32    TensorType = 1
	Int32      TensorType = 2
	Uint8      TensorType = 3
	Int64      TensorType = 4
	String     TensorType = 5
	Bool       TensorType = 6
	Int16      TensorType = 7
	Complex64  TensorType = 8
	Int8       TensorType = 9
	Float16    TensorType = 10
	Float64    TensorType = 11
	Complex128 TensorType = 12
	Uint64     TensorType = 13
	Resource   TensorType = 14
	Variant    TensorType = 15
	Uint32     TensorType = 16
)

var typeNames = [...]string{
	"notype", "float32", "int32", "uint8", "int64", "string", "bool", "int16",
	"complex64", "int8", "float16", "float64", "complex128", "uint64",
	"resource", "variant", "uint32",
}

func (t TensorType) String() string {
	if t >= 0 && int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("TensorType(%d)", int(t))
}

// Tensor is an input or output tensor of an Interpreter. It stays valid
// across ResizeInput; its data views do not.
type Tensor struct {
	it    *Interpreter
	index int
	input bool
}

func (t *Tensor) ptr() *C.TfLiteTensor {
	if t == nil || t.it == nil || t.it.c == nil {
		return nil
	}
	if t.input {
		return C.TfLiteInterpreterGetInputTensor(t.it.c, C.int32_t(t.index))
	}
	return (*C.TfLiteTensor)(unsafe.Pointer(C.TfLiteInterpreterGetOutputTensor(t.it.c, C.int32_t(t.index))))
}

// Name returns the tensor's name in the model.
func (t *Tensor) Name() string {
	p := t.ptr()
	if p == nil {
		return ""
	}
	return C.GoString(C.TfLiteTensorName(p))
}

// Type returns the element type.
func (t *Tensor) Type() TensorType {
	p := t.ptr()
	if p == nil {
		return NoType
	}
	return TensorType(C.TfLiteTensorType(p))
}

// Shape returns the tensor's dimensions.
func (t *Tensor) Shape() []int {
	p := t.ptr()
	if p == nil {
		return nil
	}
	n := int(C.TfLiteTensorNumDims(p))
	shape := make([]int, n)
	for i := range shape {
		shape[i] = int(C.TfLiteTensorDim(p, C.int32_t(i)))
	}
	return shape
}

// Len returns the number of elements (the product of the shape).
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape() {
		n *= d
	}
	return n
}

// Quant returns the per-tensor quantization: real = scale * (q - zeroPoint).
// Scale is 0 for tensors that are not quantized.
func (t *Tensor) Quant() (scale float32, zeroPoint int32) {
	p := t.ptr()
	if p == nil {
		return 0, 0
	}
	q := C.TfLiteTensorQuantizationParams(p)
	return float32(q.scale), int32(q.zero_point)
}

// Info returns the tensor's description.
func (t *Tensor) Info() TensorInfo {
	scale, zp := t.Quant()
	return TensorInfo{Name: t.Name(), Type: t.Type(), Shape: t.Shape(), Scale: scale, ZeroPoint: zp}
}

// Bytes returns the tensor's data as a view into C memory, or nil when it
// has none (closed interpreter, unallocated tensor).
func (t *Tensor) Bytes() []byte {
	p := t.ptr()
	if p == nil {
		return nil
	}
	data := C.TfLiteTensorData(p)
	n := int(C.TfLiteTensorByteSize(p))
	if data == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(data), n)
}

func view[E any](t *Tensor, want TensorType) []E {
	if t.Type() != want {
		return nil
	}
	b := t.Bytes()
	var e E
	if len(b) < int(unsafe.Sizeof(e)) {
		return nil
	}
	return unsafe.Slice((*E)(unsafe.Pointer(&b[0])), len(b)/int(unsafe.Sizeof(e)))
}

// Float32s returns the data of a float32 tensor as a view, else nil.
func (t *Tensor) Float32s() []float32 { return view[float32](t, Float32) }

// Int8s returns the data of an int8 tensor as a view, else nil.
func (t *Tensor) Int8s() []int8 { return view[int8](t, Int8) }

// Uint8s returns the data of a uint8 tensor as a view, else nil.
func (t *Tensor) Uint8s() []uint8 { return view[uint8](t, Uint8) }

// Int32s returns the data of an int32 tensor as a view, else nil.
func (t *Tensor) Int32s() []int32 { return view[int32](t, Int32) }

// SetFloat32 copies src into the tensor, quantizing it when the tensor is
// int8 or uint8 (round half away from zero, clamped to the type's range).
func (t *Tensor) SetFloat32(src []float32) error {
	if err := t.check("set", len(src)); err != nil {
		return err
	}
	switch t.Type() {
	case Float32:
		copy(t.Float32s(), src)
	case Int8:
		scale, zp, err := t.quant("set")
		if err != nil {
			return err
		}
		dst := t.Int8s()
		for i, v := range src {
			dst[i] = int8(quantize(v, scale, zp, math.MinInt8, math.MaxInt8))
		}
	case Uint8:
		scale, zp, err := t.quant("set")
		if err != nil {
			return err
		}
		dst := t.Uint8s()
		for i, v := range src {
			dst[i] = uint8(quantize(v, scale, zp, 0, math.MaxUint8))
		}
	default:
		return fmt.Errorf("tflite: set %s: cannot set a %s tensor from float32", t.Name(), t.Type())
	}
	return nil
}

// ReadFloat32 copies the tensor into dst, dequantizing it when the tensor is
// int8 or uint8.
func (t *Tensor) ReadFloat32(dst []float32) error {
	if err := t.check("read", len(dst)); err != nil {
		return err
	}
	switch t.Type() {
	case Float32:
		copy(dst, t.Float32s())
	case Int8:
		scale, zp, err := t.quant("read")
		if err != nil {
			return err
		}
		for i, q := range t.Int8s() {
			dst[i] = scale * float32(int32(q)-zp)
		}
	case Uint8:
		scale, zp, err := t.quant("read")
		if err != nil {
			return err
		}
		for i, q := range t.Uint8s() {
			dst[i] = scale * float32(int32(q)-zp)
		}
	default:
		return fmt.Errorf("tflite: read %s: cannot read a %s tensor as float32", t.Name(), t.Type())
	}
	return nil
}

func (t *Tensor) check(op string, n int) error {
	if t.ptr() == nil {
		return ErrClosed
	}
	want := t.Len()
	if n != want {
		return fmt.Errorf("tflite: %s %s: %d values for shape %v (%d elements)", op, t.Name(), n, t.Shape(), want)
	}
	if want > 0 && t.Bytes() == nil {
		return fmt.Errorf("tflite: %s %s: tensor has no data (not allocated)", op, t.Name())
	}
	return nil
}

// Quantization returns the scale and zero point of a quantized tensor, or
// an error when its scale is not a positive finite number (what SetFloat32
// and ReadFloat32 need).
func (t *Tensor) Quantization() (scale float32, zeroPoint int32, err error) {
	return t.quant("quantize")
}

func (t *Tensor) quant(op string) (float32, int32, error) {
	scale, zp := t.Quant()
	if !(scale > 0) || math.IsInf(float64(scale), 0) {
		return 0, 0, fmt.Errorf("tflite: %s %s: %s tensor has no usable quantization scale (%g)", op, t.Name(), t.Type(), scale)
	}
	return scale, zp, nil
}

// quantize maps v to round(v/scale) + zp, rounding half away from zero and
// clamping to [lo, hi]. NaN maps to the zero point.
func quantize(v, scale float32, zp, lo, hi int32) int32 {
	x := float64(v) / float64(scale)
	if math.IsNaN(x) {
		x = 0
	}
	x = math.Round(x) + float64(zp)
	return int32(max(float64(lo), min(float64(hi), x)))
}
