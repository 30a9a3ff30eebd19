"""Run a .tflite model through the TFLite C library (2.9) with ctypes.

The library is the one `make deps-tflite` unpacks into build/tflite. Only float32
input/output tensors are supported at the edges (int8/uint8 I/O is quantized and
dequantized here with the tensor's own parameters), which covers the teacher and
the student models the converter writes.

    with TFLiteModel("model.tflite", threads=2) as m:
        y = m.run(x)  # x: float32 NHWC numpy array
"""

import ctypes
import os

import numpy as np

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_LIB = os.path.join(_REPO, "build", "tflite", "linux_amd64", "libtensorflowlite_c.so")

_FLOAT32, _INT8, _UINT8 = 1, 9, 3  # TfLiteType values


class _QuantParams(ctypes.Structure):
    _fields_ = [("scale", ctypes.c_float), ("zero_point", ctypes.c_int32)]


class _XNNPackOptions(ctypes.Structure):
    # TFLite 2.9: {int32 num_threads; uint32 flags}; flag 1 = QS8.
    _fields_ = [("num_threads", ctypes.c_int32), ("flags", ctypes.c_uint32)]


def _load(path):
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"TFLite C library not found at {path}: run `make deps-tflite` first")
    lib = ctypes.CDLL(path)
    p = ctypes.c_void_p
    sigs = {
        "TfLiteVersion": ([], ctypes.c_char_p),
        "TfLiteModelCreateFromFile": ([ctypes.c_char_p], p),
        "TfLiteModelDelete": ([p], None),
        "TfLiteInterpreterOptionsCreate": ([], p),
        "TfLiteInterpreterOptionsDelete": ([p], None),
        "TfLiteInterpreterOptionsSetNumThreads": ([p, ctypes.c_int32], None),
        "TfLiteInterpreterOptionsAddDelegate": ([p, p], None),
        "TfLiteInterpreterCreate": ([p, p], p),
        "TfLiteInterpreterDelete": ([p], None),
        "TfLiteInterpreterGetInputTensor": ([p, ctypes.c_int32], p),
        "TfLiteInterpreterGetOutputTensor": ([p, ctypes.c_int32], p),
        "TfLiteInterpreterResizeInputTensor": ([p, ctypes.c_int32, ctypes.POINTER(ctypes.c_int), ctypes.c_int32], ctypes.c_int),
        "TfLiteInterpreterAllocateTensors": ([p], ctypes.c_int),
        "TfLiteInterpreterInvoke": ([p], ctypes.c_int),
        "TfLiteTensorType": ([p], ctypes.c_int),
        "TfLiteTensorNumDims": ([p], ctypes.c_int32),
        "TfLiteTensorDim": ([p, ctypes.c_int32], ctypes.c_int32),
        "TfLiteTensorByteSize": ([p], ctypes.c_size_t),
        "TfLiteTensorQuantizationParams": ([p], _QuantParams),
        "TfLiteTensorCopyFromBuffer": ([p, p, ctypes.c_size_t], ctypes.c_int),
        "TfLiteTensorCopyToBuffer": ([p, p, ctypes.c_size_t], ctypes.c_int),
        "TfLiteXNNPackDelegateOptionsDefault": ([], _XNNPackOptions),
        "TfLiteXNNPackDelegateCreate": ([ctypes.POINTER(_XNNPackOptions)], p),
        "TfLiteXNNPackDelegateDelete": ([p], None),
    }
    for name, (args, res) in sigs.items():
        f = getattr(lib, name)
        f.argtypes = args
        f.restype = res
    return lib


class TFLiteModel:
    """One interpreter over one .tflite file. Not thread-safe."""

    def __init__(self, path, threads=2, xnnpack=False, lib=DEFAULT_LIB):
        self._lib = _load(lib)
        self._model = self._opts = self._interp = self._delegate = None
        self._model = self._lib.TfLiteModelCreateFromFile(path.encode())
        if not self._model:
            raise RuntimeError(f"load {path}: not a valid TFLite model")
        self._opts = self._lib.TfLiteInterpreterOptionsCreate()
        self._lib.TfLiteInterpreterOptionsSetNumThreads(self._opts, threads)
        if xnnpack:
            o = self._lib.TfLiteXNNPackDelegateOptionsDefault()
            o.num_threads = threads
            o.flags |= 1  # QS8
            self._delegate = self._lib.TfLiteXNNPackDelegateCreate(ctypes.byref(o))
            self._lib.TfLiteInterpreterOptionsAddDelegate(self._opts, self._delegate)
        self._interp = self._lib.TfLiteInterpreterCreate(self._model, self._opts)
        if not self._interp:
            raise RuntimeError(f"create interpreter for {path} (xnnpack={xnnpack}) failed")
        self._check(self._lib.TfLiteInterpreterAllocateTensors(self._interp), "allocate tensors")
        self._shape = None

    @staticmethod
    def version():
        return _load(DEFAULT_LIB).TfLiteVersion().decode()

    def _check(self, status, what):
        if status != 0:
            raise RuntimeError(f"tflite: {what} failed (status {status})")

    def _dims(self, t):
        return tuple(self._lib.TfLiteTensorDim(t, i) for i in range(self._lib.TfLiteTensorNumDims(t)))

    def input_shape(self):
        return self._dims(self._lib.TfLiteInterpreterGetInputTensor(self._interp, 0))

    def run(self, x):
        """Runs the model on one float32 NHWC array and returns the float32 output."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        tin = self._lib.TfLiteInterpreterGetInputTensor(self._interp, 0)
        if self._dims(tin) != x.shape:
            dims = (ctypes.c_int * x.ndim)(*x.shape)
            self._check(self._lib.TfLiteInterpreterResizeInputTensor(self._interp, 0, dims, x.ndim), "resize input")
            self._check(self._lib.TfLiteInterpreterAllocateTensors(self._interp), "allocate tensors")
            tin = self._lib.TfLiteInterpreterGetInputTensor(self._interp, 0)
        buf = self._to_tensor_type(tin, x)
        self._check(self._lib.TfLiteTensorCopyFromBuffer(tin, buf.ctypes.data, buf.nbytes), "copy input")
        self._check(self._lib.TfLiteInterpreterInvoke(self._interp), "invoke")
        tout = self._lib.TfLiteInterpreterGetOutputTensor(self._interp, 0)
        return self._from_tensor(tout)

    def _to_tensor_type(self, t, x):
        typ = self._lib.TfLiteTensorType(t)
        if typ == _FLOAT32:
            return x
        q = self._lib.TfLiteTensorQuantizationParams(t)
        if typ == _INT8:
            return np.clip(np.round(x / q.scale) + q.zero_point, -128, 127).astype(np.int8)
        if typ == _UINT8:
            return np.clip(np.round(x / q.scale) + q.zero_point, 0, 255).astype(np.uint8)
        raise TypeError(f"unsupported input tensor type {typ}")

    def _from_tensor(self, t):
        typ = self._lib.TfLiteTensorType(t)
        dtype = {_FLOAT32: np.float32, _INT8: np.int8, _UINT8: np.uint8}.get(typ)
        if dtype is None:
            raise TypeError(f"unsupported output tensor type {typ}")
        out = np.empty(self._dims(t), dtype=dtype)
        self._check(self._lib.TfLiteTensorCopyToBuffer(t, out.ctypes.data, out.nbytes), "copy output")
        if typ == _FLOAT32:
            return out
        q = self._lib.TfLiteTensorQuantizationParams(t)
        return ((out.astype(np.float32) - q.zero_point) * q.scale).astype(np.float32)

    def close(self):
        if self._interp:
            self._lib.TfLiteInterpreterDelete(self._interp)
            self._interp = None
        if self._opts:
            self._lib.TfLiteInterpreterOptionsDelete(self._opts)
            self._opts = None
        if self._delegate:
            self._lib.TfLiteXNNPackDelegateDelete(self._delegate)
            self._delegate = None
        if self._model:
            self._lib.TfLiteModelDelete(self._model)
            self._model = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
