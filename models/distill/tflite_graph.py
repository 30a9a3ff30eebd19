"""Read a .tflite flatbuffer (schema v3) into plain Python objects.

Parses with python3-flatbuffers' Table accessor and the field slots, tensor
types and operator codes of internal/tflitefile/SCHEMA.md, named below
(the Go test TestSchemaNotePython checks them against that note); no
generated schema code is needed. Weights come back as numpy arrays,
dequantized on request.
"""

from dataclasses import dataclass, field

import numpy as np
from flatbuffers import encode, number_types as N, table


# Field slots (SCHEMA.md, "Table slots").
class Model:
    operator_codes, subgraphs, buffers = 1, 2, 4


class SubGraph:
    tensors, inputs, outputs, operators = 0, 1, 2, 3


class Tensor_:
    shape, type, buffer, name, quantization = 0, 1, 2, 3, 4


class Buffer:
    data = 0


class Operator_:
    opcode_index, inputs, outputs, builtin_options = 0, 1, 2, 4


class OperatorCode:
    deprecated_builtin_code, builtin_code = 0, 3


class QuantizationParameters:
    scale, zero_point, quantized_dimension = 2, 3, 6


SCHEMA = {"Model": Model, "SubGraph": SubGraph, "Tensor": Tensor_, "Buffer": Buffer, "Operator": Operator_,
          "OperatorCode": OperatorCode, "QuantizationParameters": QuantizationParameters}


def schema_slots():
    """The slots above as {"Table.field": slot}, for the Go test."""
    return {f"{t}.{k}": v for t, c in SCHEMA.items() for k, v in vars(c).items() if not k.startswith("_")}


# Builtin operator codes (SCHEMA.md, "Builtin operators"): those this
# reader names.
OPS = {
    0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D",
    6: "DEQUANTIZE", 9: "FULLY_CONNECTED", 14: "LOGISTIC", 17: "MAX_POOL_2D", 18: "MUL",
    19: "RELU", 21: "RELU6", 22: "RESHAPE", 23: "RESIZE_BILINEAR", 25: "SOFTMAX", 28: "TANH",
    34: "PAD", 39: "TRANSPOSE", 40: "MEAN", 41: "SUB", 42: "DIV", 54: "PRELU", 60: "PADV2",
    67: "TRANSPOSE_CONV", 74: "SUM", 75: "SQRT", 76: "RSQRT", 97: "RESIZE_NEAREST_NEIGHBOR",
    98: "LEAKY_RELU", 99: "SQUARED_DIFFERENCE", 100: "MIRROR_PAD", 114: "QUANTIZE",
    117: "HARD_SWISH", 126: "BATCH_MATMUL",
}
# TensorType values (SCHEMA.md, "TensorType") and their numpy types.
TYPE_NAMES = {0: "FLOAT32", 1: "FLOAT16", 2: "INT32", 3: "UINT8", 4: "INT64", 7: "INT16", 9: "INT8"}
DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16, 9: np.int8}


class _T:
    """A flatbuffer table addressed by schema field slot."""

    def __init__(self, buf, pos):
        self.t = table.Table(buf, pos)

    def _o(self, slot):
        return self.t.Offset(4 + 2 * slot)

    def has(self, slot):
        return self._o(slot) != 0

    def scalar(self, slot, flags, default):
        o = self._o(slot)
        return self.t.Get(flags, self.t.Pos + o) if o else default

    def sub(self, slot):
        o = self._o(slot)
        return _T(self.t.Bytes, self.t.Indirect(self.t.Pos + o)) if o else None

    def tables(self, slot):
        o = self._o(slot)
        if not o:
            return []
        start, n = self.t.Vector(o), self.t.VectorLen(o)
        return [_T(self.t.Bytes, self.t.Indirect(start + 4 * i)) for i in range(n)]

    def array(self, slot, dtype):
        o = self._o(slot)
        if not o:
            return np.zeros(0, dtype)
        start, n = self.t.Vector(o), self.t.VectorLen(o)
        return np.frombuffer(self.t.Bytes, dtype=dtype, count=n, offset=start)

    def string(self, slot):
        o = self._o(slot)
        return self.t.String(self.t.Pos + o).decode() if o else ""


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple
    dtype: type
    data: np.ndarray = None  # raw constant data (None for activations)
    scale: np.ndarray = None
    zero_point: np.ndarray = None
    qdim: int = 0

    @property
    def quantized(self):
        return self.scale is not None and len(self.scale) > 0

    def value(self):
        """Constant value as float32, dequantized (per channel where given)."""
        if self.data is None:
            raise ValueError(f"tensor {self.name} has no constant data")
        v = self.data.astype(np.float32)
        if self.quantized and self.dtype in (np.int8, np.uint8, np.int16, np.int32):
            shp = [1] * v.ndim
            if len(self.scale) > 1:
                shp[self.qdim] = -1
            v = (v - self.zero_point.reshape(shp).astype(np.float32)) * self.scale.reshape(shp)
        return v


@dataclass
class Operator:
    index: int
    op: str
    inputs: list
    outputs: list
    options: dict = field(default_factory=dict)


@dataclass
class Graph:
    tensors: list
    operators: list
    inputs: list
    outputs: list

    def producers(self):
        return {t: op for op in self.operators for t in op.outputs}

    def consumers(self):
        c = {}
        for op in self.operators:
            for t in op.inputs:
                c.setdefault(t, []).append(op)
        return c


def _options(op_name, o):
    """Option fields by slot (SCHEMA.md, "BuiltinOptions")."""
    if o is None:
        return {}
    if op_name == "CONV_2D":
        return dict(padding=o.scalar(0, N.Int8Flags, 0), stride_w=o.scalar(1, N.Int32Flags, 0),
                    stride_h=o.scalar(2, N.Int32Flags, 0), act=o.scalar(3, N.Int8Flags, 0),
                    dilation_w=o.scalar(4, N.Int32Flags, 1), dilation_h=o.scalar(5, N.Int32Flags, 1))
    if op_name == "DEPTHWISE_CONV_2D":
        return dict(padding=o.scalar(0, N.Int8Flags, 0), stride_w=o.scalar(1, N.Int32Flags, 0),
                    stride_h=o.scalar(2, N.Int32Flags, 0), depth_multiplier=o.scalar(3, N.Int32Flags, 0),
                    act=o.scalar(4, N.Int8Flags, 0), dilation_w=o.scalar(5, N.Int32Flags, 1),
                    dilation_h=o.scalar(6, N.Int32Flags, 1))
    if op_name in ("ADD", "MUL", "SUB"):
        return dict(act=o.scalar(0, N.Int8Flags, 0))
    if op_name == "RESIZE_BILINEAR":
        return dict(align_corners=bool(o.scalar(2, N.BoolFlags, False)),
                    half_pixel_centers=bool(o.scalar(3, N.BoolFlags, False)))
    if op_name == "LEAKY_RELU":
        return dict(alpha=o.scalar(0, N.Float32Flags, 0.0))
    if op_name == "MEAN":
        return dict(keep_dims=bool(o.scalar(0, N.BoolFlags, False)))
    if op_name == "MIRROR_PAD":
        return dict(mode=o.scalar(0, N.Int8Flags, 0))
    return {}


def load(path):
    """Parses the first subgraph of a .tflite file."""
    with open(path, "rb") as f:
        buf = bytearray(f.read())
    if buf[4:8] != b"TFL3":
        raise ValueError(f"{path}: not a TFLite flatbuffer (identifier {bytes(buf[4:8])!r})")
    model = _T(buf, encode.Get(N.UOffsetTFlags.packer_type, buf, 0))
    codes = []
    for oc in model.tables(Model.operator_codes):
        dep = oc.scalar(OperatorCode.deprecated_builtin_code, N.Int8Flags, 0)
        bc = oc.scalar(OperatorCode.builtin_code, N.Int32Flags, 0)
        codes.append(max(dep, bc))
    buffers = [b.array(Buffer.data, np.uint8) for b in model.tables(Model.buffers)]
    sg = model.tables(Model.subgraphs)[0]
    tensors = []
    for i, t in enumerate(sg.tables(SubGraph.tensors)):
        dtype = DTYPES.get(t.scalar(Tensor_.type, N.Int8Flags, 0))
        shape = tuple(int(d) for d in t.array(Tensor_.shape, np.int32))
        b = t.scalar(Tensor_.buffer, N.Uint32Flags, 0)
        data = None
        if b and len(buffers[b]):
            data = np.frombuffer(buffers[b].tobytes(), dtype=dtype).reshape(shape)
        q = t.sub(Tensor_.quantization)
        scale = zp = None
        qdim = 0
        if q is not None:
            scale = q.array(QuantizationParameters.scale, np.float32).copy()
            zp = q.array(QuantizationParameters.zero_point, np.int64).copy()
            qdim = q.scalar(QuantizationParameters.quantized_dimension, N.Int32Flags, 0)
        tensors.append(Tensor(i, t.string(Tensor_.name), shape, dtype, data, scale, zp, qdim))
    ops = []
    for i, o in enumerate(sg.tables(SubGraph.operators)):
        code = codes[o.scalar(Operator_.opcode_index, N.Uint32Flags, 0)]
        name = OPS.get(code, f"OP{code}")
        ops.append(Operator(i, name, [int(x) for x in o.array(Operator_.inputs, np.int32)],
                            [int(x) for x in o.array(Operator_.outputs, np.int32)],
                            _options(name, o.sub(Operator_.builtin_options))))
    return Graph(tensors, ops, [int(x) for x in sg.array(SubGraph.inputs, np.int32)],
                 [int(x) for x in sg.array(SubGraph.outputs, np.int32)])


def dump(g):
    for op in g.operators:
        ins = []
        for t in op.inputs:
            if t < 0:
                ins.append("-")
                continue
            T = g.tensors[t]
            s = f"{t}{list(T.shape)}{np.dtype(T.dtype).name}"
            if T.data is not None:
                s += "C"
            if T.quantized and len(T.scale) == 1:
                s += f"(s={T.scale[0]:.4g},z={T.zero_point[0]})"
            ins.append(s)
        outs = []
        for t in op.outputs:
            T = g.tensors[t]
            s = f"{t}{list(T.shape)}{np.dtype(T.dtype).name}"
            if T.quantized and len(T.scale) == 1:
                s += f"(s={T.scale[0]:.4g},z={T.zero_point[0]})"
            outs.append(s)
        print(op.index, op.op, op.options or "", " ".join(ins), "->", " ".join(outs), g.tensors[op.outputs[0]].name)


if __name__ == "__main__":
    import sys
    dump(load(sys.argv[1]))
