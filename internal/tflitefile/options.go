package tflitefile

// Padding is the schema enum Padding.
type Padding int8

// Paddings.
const (
	Same  Padding = 0
	Valid Padding = 1
)

// Activation is the schema enum ActivationFunctionType.
type Activation int8

// Fused activations.
const (
	ActNone      Activation = 0
	ActRelu      Activation = 1
	ActReluN1To1 Activation = 2
	ActRelu6     Activation = 3
	ActTanh      Activation = 4
)

// MirrorPadMode is the schema enum MirrorPadMode.
type MirrorPadMode int8

// Mirror pad modes.
const (
	Reflect   MirrorPadMode = 0
	Symmetric MirrorPadMode = 1
)

// Options is a builtin options table. Each concrete type knows its union
// number and its fields' slots.
type Options interface {
	// UnionType is the table's number in the schema's BuiltinOptions union.
	UnionType() uint8
	fields() []field
}

// field binds one table slot to a pointer into an options struct. def is
// the schema default that a reader applies when the slot is absent.
type field struct {
	slot int
	ptr  any
	def  any
}

// Conv2DOptions (union 1).
type Conv2DOptions struct {
	Padding                       Padding
	StrideW, StrideH              int32
	Activation                    Activation
	DilationWFactor, DilationHFac int32
}

func (*Conv2DOptions) UnionType() uint8 { return 1 }
func (o *Conv2DOptions) fields() []field {
	return []field{{0, &o.Padding, Padding(0)}, {1, &o.StrideW, int32(0)}, {2, &o.StrideH, int32(0)},
		{3, &o.Activation, Activation(0)}, {4, &o.DilationWFactor, int32(1)}, {5, &o.DilationHFac, int32(1)}}
}

// DepthwiseConv2DOptions (union 2).
type DepthwiseConv2DOptions struct {
	Padding                       Padding
	StrideW, StrideH              int32
	DepthMultiplier               int32
	Activation                    Activation
	DilationWFactor, DilationHFac int32
}

func (*DepthwiseConv2DOptions) UnionType() uint8 { return 2 }
func (o *DepthwiseConv2DOptions) fields() []field {
	return []field{{0, &o.Padding, Padding(0)}, {1, &o.StrideW, int32(0)}, {2, &o.StrideH, int32(0)},
		{3, &o.DepthMultiplier, int32(0)}, {4, &o.Activation, Activation(0)},
		{5, &o.DilationWFactor, int32(1)}, {6, &o.DilationHFac, int32(1)}}
}

// Pool2DOptions (union 5), for AVERAGE_POOL_2D and MAX_POOL_2D.
type Pool2DOptions struct {
	Padding                   Padding
	StrideW, StrideH          int32
	FilterWidth, FilterHeight int32
	Activation                Activation
}

func (*Pool2DOptions) UnionType() uint8 { return 5 }
func (o *Pool2DOptions) fields() []field {
	return []field{{0, &o.Padding, Padding(0)}, {1, &o.StrideW, int32(0)}, {2, &o.StrideH, int32(0)},
		{3, &o.FilterWidth, int32(0)}, {4, &o.FilterHeight, int32(0)}, {5, &o.Activation, Activation(0)}}
}

// FullyConnectedOptions (union 8).
type FullyConnectedOptions struct {
	Activation  Activation
	KeepNumDims bool
}

func (*FullyConnectedOptions) UnionType() uint8 { return 8 }
func (o *FullyConnectedOptions) fields() []field {
	return []field{{0, &o.Activation, Activation(0)}, {2, &o.KeepNumDims, false}}
}

// SoftmaxOptions (union 9).
type SoftmaxOptions struct{ Beta float32 }

func (*SoftmaxOptions) UnionType() uint8  { return 9 }
func (o *SoftmaxOptions) fields() []field { return []field{{0, &o.Beta, float32(0)}} }

// ConcatenationOptions (union 10).
type ConcatenationOptions struct {
	Axis       int32
	Activation Activation
}

func (*ConcatenationOptions) UnionType() uint8 { return 10 }
func (o *ConcatenationOptions) fields() []field {
	return []field{{0, &o.Axis, int32(0)}, {1, &o.Activation, Activation(0)}}
}

// AddOptions (union 11).
type AddOptions struct{ Activation Activation }

func (*AddOptions) UnionType() uint8  { return 11 }
func (o *AddOptions) fields() []field { return []field{{0, &o.Activation, Activation(0)}} }

// ResizeBilinearOptions (union 15).
type ResizeBilinearOptions struct{ AlignCorners, HalfPixelCenters bool }

func (*ResizeBilinearOptions) UnionType() uint8 { return 15 }
func (o *ResizeBilinearOptions) fields() []field {
	return []field{{2, &o.AlignCorners, false}, {3, &o.HalfPixelCenters, false}}
}

// ReshapeOptions (union 17).
type ReshapeOptions struct{ NewShape []int32 }

func (*ReshapeOptions) UnionType() uint8  { return 17 }
func (o *ReshapeOptions) fields() []field { return []field{{0, &o.NewShape, []int32(nil)}} }

// SpaceToDepthOptions (union 19).
type SpaceToDepthOptions struct{ BlockSize int32 }

func (*SpaceToDepthOptions) UnionType() uint8  { return 19 }
func (o *SpaceToDepthOptions) fields() []field { return []field{{0, &o.BlockSize, int32(0)}} }

// MulOptions (union 21).
type MulOptions struct{ Activation Activation }

func (*MulOptions) UnionType() uint8  { return 21 }
func (o *MulOptions) fields() []field { return []field{{0, &o.Activation, Activation(0)}} }

// PadOptions (union 22).
type PadOptions struct{}

func (*PadOptions) UnionType() uint8 { return 22 }
func (*PadOptions) fields() []field  { return nil }

// TransposeOptions (union 26).
type TransposeOptions struct{}

func (*TransposeOptions) UnionType() uint8 { return 26 }
func (*TransposeOptions) fields() []field  { return nil }

// ReducerOptions (union 27), for MEAN, SUM and the other reductions.
type ReducerOptions struct{ KeepDims bool }

func (*ReducerOptions) UnionType() uint8  { return 27 }
func (o *ReducerOptions) fields() []field { return []field{{0, &o.KeepDims, false}} }

// SubOptions (union 28).
type SubOptions struct{ Activation Activation }

func (*SubOptions) UnionType() uint8  { return 28 }
func (o *SubOptions) fields() []field { return []field{{0, &o.Activation, Activation(0)}} }

// DivOptions (union 29).
type DivOptions struct{ Activation Activation }

func (*DivOptions) UnionType() uint8  { return 29 }
func (o *DivOptions) fields() []field { return []field{{0, &o.Activation, Activation(0)}} }

// SqueezeOptions (union 30).
type SqueezeOptions struct{ SqueezeDims []int32 }

func (*SqueezeOptions) UnionType() uint8  { return 30 }
func (o *SqueezeOptions) fields() []field { return []field{{0, &o.SqueezeDims, []int32(nil)}} }

// DequantizeOptions (union 38).
type DequantizeOptions struct{}

func (*DequantizeOptions) UnionType() uint8 { return 38 }
func (*DequantizeOptions) fields() []field  { return nil }

// MaximumMinimumOptions (union 39).
type MaximumMinimumOptions struct{}

func (*MaximumMinimumOptions) UnionType() uint8 { return 39 }
func (*MaximumMinimumOptions) fields() []field  { return nil }

// PadV2Options (union 43).
type PadV2Options struct{}

func (*PadV2Options) UnionType() uint8 { return 43 }
func (*PadV2Options) fields() []field  { return nil }

// SliceOptions (union 48).
type SliceOptions struct{}

func (*SliceOptions) UnionType() uint8 { return 48 }
func (*SliceOptions) fields() []field  { return nil }

// TransposeConvOptions (union 49).
type TransposeConvOptions struct {
	Padding          Padding
	StrideW, StrideH int32
}

func (*TransposeConvOptions) UnionType() uint8 { return 49 }
func (o *TransposeConvOptions) fields() []field {
	return []field{{0, &o.Padding, Padding(0)}, {1, &o.StrideW, int32(0)}, {2, &o.StrideH, int32(0)}}
}

// ResizeNearestNeighborOptions (union 74).
type ResizeNearestNeighborOptions struct{ AlignCorners, HalfPixelCenters bool }

func (*ResizeNearestNeighborOptions) UnionType() uint8 { return 74 }
func (o *ResizeNearestNeighborOptions) fields() []field {
	return []field{{0, &o.AlignCorners, false}, {1, &o.HalfPixelCenters, false}}
}

// LeakyReluOptions (union 75).
type LeakyReluOptions struct{ Alpha float32 }

func (*LeakyReluOptions) UnionType() uint8  { return 75 }
func (o *LeakyReluOptions) fields() []field { return []field{{0, &o.Alpha, float32(0)}} }

// SquaredDifferenceOptions (union 76).
type SquaredDifferenceOptions struct{}

func (*SquaredDifferenceOptions) UnionType() uint8 { return 76 }
func (*SquaredDifferenceOptions) fields() []field  { return nil }

// MirrorPadOptions (union 77).
type MirrorPadOptions struct{ Mode MirrorPadMode }

func (*MirrorPadOptions) UnionType() uint8  { return 77 }
func (o *MirrorPadOptions) fields() []field { return []field{{0, &o.Mode, MirrorPadMode(0)}} }

// QuantizeOptions (union 89).
type QuantizeOptions struct{}

func (*QuantizeOptions) UnionType() uint8 { return 89 }
func (*QuantizeOptions) fields() []field  { return nil }

// HardSwishOptions (union 91).
type HardSwishOptions struct{}

func (*HardSwishOptions) UnionType() uint8 { return 91 }
func (*HardSwishOptions) fields() []field  { return nil }

// DepthToSpaceOptions (union 94).
type DepthToSpaceOptions struct{ BlockSize int32 }

func (*DepthToSpaceOptions) UnionType() uint8  { return 94 }
func (o *DepthToSpaceOptions) fields() []field { return []field{{0, &o.BlockSize, int32(0)}} }

// BatchMatMulOptions (union 101).
type BatchMatMulOptions struct{ AdjX, AdjY bool }

func (*BatchMatMulOptions) UnionType() uint8 { return 101 }
func (o *BatchMatMulOptions) fields() []field {
	return []field{{0, &o.AdjX, false}, {1, &o.AdjY, false}}
}

// RawOptions keeps an options table this package does not model, so that
// Parse followed by Marshal does not drop it. Only fields that are scalars
// of up to 8 bytes survive; vectors inside such tables are dropped.
type RawOptions struct {
	Type   uint8
	Scalar map[int]uint64 // slot -> raw little-endian bits
	Width  map[int]int    // slot -> byte width
}

func (o *RawOptions) UnionType() uint8 { return o.Type }
func (*RawOptions) fields() []field    { return nil }

// newOptions returns a zero options table for a union number, with schema
// defaults applied, or nil for unknown numbers.
func newOptions(union uint8) Options {
	var o Options
	switch union {
	case 1:
		o = &Conv2DOptions{}
	case 2:
		o = &DepthwiseConv2DOptions{}
	case 5:
		o = &Pool2DOptions{}
	case 8:
		o = &FullyConnectedOptions{}
	case 9:
		o = &SoftmaxOptions{}
	case 10:
		o = &ConcatenationOptions{}
	case 11:
		o = &AddOptions{}
	case 15:
		o = &ResizeBilinearOptions{}
	case 17:
		o = &ReshapeOptions{}
	case 19:
		o = &SpaceToDepthOptions{}
	case 21:
		o = &MulOptions{}
	case 22:
		o = &PadOptions{}
	case 26:
		o = &TransposeOptions{}
	case 27:
		o = &ReducerOptions{}
	case 28:
		o = &SubOptions{}
	case 29:
		o = &DivOptions{}
	case 30:
		o = &SqueezeOptions{}
	case 38:
		o = &DequantizeOptions{}
	case 39:
		o = &MaximumMinimumOptions{}
	case 43:
		o = &PadV2Options{}
	case 48:
		o = &SliceOptions{}
	case 49:
		o = &TransposeConvOptions{}
	case 74:
		o = &ResizeNearestNeighborOptions{}
	case 75:
		o = &LeakyReluOptions{}
	case 76:
		o = &SquaredDifferenceOptions{}
	case 77:
		o = &MirrorPadOptions{}
	case 89:
		o = &QuantizeOptions{}
	case 91:
		o = &HardSwishOptions{}
	case 94:
		o = &DepthToSpaceOptions{}
	case 101:
		o = &BatchMatMulOptions{}
	default:
		return nil
	}
	for _, f := range o.fields() {
		switch p := f.ptr.(type) {
		case *int32:
			*p = f.def.(int32)
		}
	}
	return o
}
