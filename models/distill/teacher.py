"""PyTorch port of the AnimeGANv2 generator, weights read from the TFLite teacher.

The teacher file (../shared/teacher/animeganv2_hayao_256_int8.tflite) is the
AnimeGANv2 "Hayao" generator quantized to int8. Its graph, walked operator by
operator (python3 tflite_graph.py FILE prints it), is:

    A  7x7 conv 32 · 3x3/2 conv 64 · 3x3 conv 64           (each: LayerNorm, LeakyReLU 0.2)
    B  3x3/2 conv 128 · 3x3 conv 128
    C  3x3 conv 128 · 4 inverted-residual blocks r1..r4 (1x1 expand to 2x, LN, LReLU,
       3x3 depthwise + bias, LN, LReLU, 1x1 project to 256, LN, skip when widths match)
       · 3x3 conv 128
    D  bilinear x2 · 3x3 conv 128 · 3x3 conv 128
    E  bilinear x2 · 3x3 conv 64 · 3x3 conv 64 · 7x7 conv 32
    out 1x1 conv 3 · tanh

Padding is reflect ("same" for stride 1, one row/column bottom-right for
stride 2); LayerNorm normalises each image over H, W and C with per-channel
gamma/beta (epsilon 1e-12); resizes are TF1's legacy bilinear (no half-pixel
offset, no corner alignment). Weights and the LN gamma/beta are dequantized
from the int8 tensors. With quant=True the int8 activation grid of the TFLite
graph is emulated (fake quantization with a straight-through gradient) at
every conv, norm and activation output; the input clamp of the teacher's input
quantization ([-1, ~0.81]) is always applied because it changes the output.

    t = Teacher.from_tflite("../shared/teacher/animeganv2_hayao_256_int8.tflite")
    y = t(x)                    # x: N,3,H,W in [-1,1] (H, W even multiples of 4)
    y, feats = t(x, feats=True)  # feats: dict name -> intermediate feature map
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    from . import tflite_graph
except ImportError:  # run as a script from models/distill
    import tflite_graph

# TFLite tensor-name suffixes of the layer-norm steps (see LayerNorm.STEPS).
_LN_STEP = {
    "moments/SquaredDifference_int8": "sqdiff", "moments/variance": "var", "batchnorm/add": "add",
    "batchnorm/Rsqrt_int8": "rsqrt", "batchnorm/mul": "mul", "batchnorm/mul_1": "mul_1",
    "batchnorm/mul_2": "mul_2", "batchnorm/sub": "sub", "batchnorm/add_1": "add_1",
}
_LN_SUFFIX = tuple(_LN_STEP)

DEFAULT_PATH = "../shared/teacher/animeganv2_hayao_256_int8.tflite"


def fake_quant(x, q):
    """Rounds x to the int8 grid (scale, zero point) q; gradient passes straight through."""
    if q is None:
        return x
    s, z = q
    y = (torch.clamp(torch.round(x / s) + z, -128, 127) - z) * s
    return x + (y - x).detach()


def fake_quant_leaky(x, q, slope=0.2):
    """LeakyReLU onto the int8 grid q as TFLite 2.9's int8 LEAKY_RELU kernel rounds it.

    Measured against the kernel (check_teacher.py): the positive branch rounds to
    nearest, the negative (alpha) branch behaves as round(v - 0.25 LSB), i.e. a
    quarter step lower; emulating that lifts the port from ~30 to ~35+ dB.
    """
    y = F.leaky_relu(x, slope)
    if q is None:
        return y
    s, z = q
    v = y / s
    v = torch.where(x < 0, v - 0.25, v)
    yq = (torch.clamp(torch.round(v) + z, -128, 127) - z) * s
    return y + (yq - y).detach()


def legacy_upsample2x(x):
    """TF1 ResizeBilinear x2 with align_corners=False, half_pixel_centers=False.

    Output pixel 2k samples input k, pixel 2k+1 samples k+0.5 (the last one is
    clamped to the edge).
    """
    def up(x, dim):
        nxt = torch.cat([x.narrow(dim, 1, x.shape[dim] - 1), x.narrow(dim, x.shape[dim] - 1, 1)], dim)
        mid = 0.5 * (x + nxt)
        y = torch.stack([x, mid], dim + 1)
        shape = list(x.shape)
        shape[dim] *= 2
        return y.reshape(shape)
    return up(up(x, 2), 3)


class LayerNorm(nn.Module):
    """Per-image normalisation over C, H, W with per-channel affine (TF layer_norm).

    Computed the way the TFLite graph does it (mean, squared difference, mean,
    add eps, rsqrt, gamma*rsqrt, x*m, mean*m, beta-(mean*m), sum) so that with
    quant=True every intermediate can be put on the teacher's int8 grid: the
    calibrated ranges clip the statistics (e.g. the mean of the first norm to
    [-0.011, 0]), which changes the teacher's output noticeably.
    """

    STEPS = ("mean", "sqdiff", "var", "add", "rsqrt", "mul", "mul_1", "mul_2", "sub", "add_1")

    def __init__(self, c, eps=1e-12):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps
        self.q = {}

    def forward(self, x, quant=False):
        q = self.q if quant else {}
        fq = lambda v, k: fake_quant(v, q.get(k))
        g = self.weight.view(1, -1, 1, 1)
        b = self.bias.view(1, -1, 1, 1)
        mean = fq(x.mean(dim=(1, 2, 3), keepdim=True), "mean")
        var = fq(fq((x - mean).pow(2), "sqdiff").mean(dim=(1, 2, 3), keepdim=True), "var")
        m = fq(fq(torch.rsqrt(fq(var + self.eps, "add")), "rsqrt") * g, "mul")
        return fq(fq(x * m, "mul_1") + fq(b - fq(mean * m, "mul_2"), "sub"), "add_1")


class ConvNormLReLU(nn.Module):
    """Reflect pad, conv, optional LayerNorm, optional LeakyReLU(0.2)."""

    def __init__(self, cin, cout, k=3, stride=1, groups=1, bias=False, norm=True, act=True):
        super().__init__()
        if stride == 2:
            self.pad = (0, 1, 0, 1)
        else:
            p = k // 2
            self.pad = (p, p, p, p)
        self.conv = nn.Conv2d(cin, cout, k, stride, 0, groups=groups, bias=bias)
        self.norm = LayerNorm(cout) if norm else None
        self.act = act
        self.q = {}  # name -> (scale, zero_point) of the TFLite tensor at that point

    def forward(self, x, quant=False):
        q = self.q if quant else {}
        if any(self.pad):
            x = F.pad(x, self.pad, mode="reflect")
        x = fake_quant(self.conv(x), q.get("conv"))
        if self.norm is not None:
            x = self.norm(x, quant)
        if self.act:
            x = fake_quant_leaky(x, q.get("act"))
        return x


class InvertedRes(nn.Module):
    def __init__(self, cin, cout, expand=2):
        super().__init__()
        mid = cin * expand
        self.expand = ConvNormLReLU(cin, mid, k=1)
        self.dw = ConvNormLReLU(mid, mid, k=3, groups=mid, bias=True)
        self.project = ConvNormLReLU(mid, cout, k=1, act=False)
        self.skip = cin == cout
        self.q_add = None

    def forward(self, x, quant=False):
        y = self.project(self.dw(self.expand(x, quant), quant), quant)
        if self.skip:
            y = fake_quant(x + y, self.q_add if quant else None)
        return y


class Teacher(nn.Module):
    """AnimeGANv2 generator (Hayao) as in the TFLite teacher."""

    def __init__(self):
        super().__init__()
        C = ConvNormLReLU
        self.A = nn.ModuleList([C(3, 32, 7), C(32, 64, 3, 2), C(64, 64)])
        self.B = nn.ModuleList([C(64, 128, 3, 2), C(128, 128)])
        self.C0 = C(128, 128)
        self.R = nn.ModuleList([InvertedRes(128, 256), InvertedRes(256, 256), InvertedRes(256, 256), InvertedRes(256, 256)])
        self.C1 = C(256, 128)
        self.D = nn.ModuleList([C(128, 128), C(128, 128)])
        self.E = nn.ModuleList([C(128, 64), C(64, 64), C(64, 32, 7)])
        self.out = C(32, 3, 1, bias=True, norm=False, act=False)
        self.q_in = None
        self.q_out = None

    def convs(self):
        """Conv blocks in the order the TFLite graph runs them."""
        seq = list(self.A) + list(self.B) + [self.C0]
        for r in self.R:
            seq += [r.expand, r.dw, r.project]
        return seq + [self.C1] + list(self.D) + list(self.E) + [self.out]

    def forward(self, x, feats=False, quant=False, upto=None):
        """upto="C" stops after the encoder and returns the feature dict only."""
        f = {}
        if self.q_in is not None:
            x = fake_quant(x, self.q_in) if quant else torch.clamp(x, *self._in_range)
        for m in self.A:
            x = m(x, quant)
        f["A"] = x  # 64 @ 1/2
        for m in self.B:
            x = m(x, quant)
        f["B"] = x  # 128 @ 1/4
        x = self.C0(x, quant)
        for i, r in enumerate(self.R):
            x = r(x, quant)
            f[f"r{i + 1}"] = x  # 256 @ 1/4
        x = self.C1(x, quant)
        f["C"] = x  # 128 @ 1/4
        if upto == "C":
            return f
        x = legacy_upsample2x(x)
        for m in self.D:
            x = m(x, quant)
        f["D"] = x  # 128 @ 1/2
        x = legacy_upsample2x(x)
        for m in self.E:
            x = m(x, quant)
        f["E"] = x  # 32 @ 1
        x = torch.tanh(self.out(x, quant))
        if quant:
            x = fake_quant(x, self.q_out)
        return (x, f) if feats else x

    @classmethod
    def from_tflite(cls, path=DEFAULT_PATH):
        """Builds the generator with weights dequantized from the TFLite teacher."""
        g = tflite_graph.load(path)
        T = g.tensors
        t = cls()
        blocks = t.convs()

        def q(i):
            tt = T[i]
            if tt.dtype == np.int8 and tt.quantized and len(tt.scale) == 1:
                return (float(tt.scale[0]), float(tt.zero_point[0]))
            return None

        convs, norms = [], []
        cur = None  # norm being assembled: dict(gamma, beta, out)
        acts, adds = [], []
        conv_of_tensor = {}
        for op in g.operators:
            name = T[op.outputs[0]].name
            if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                w = T[op.inputs[1]].value()
                w = w.transpose(0, 3, 1, 2) if op.op == "CONV_2D" else w.transpose(3, 0, 1, 2)
                b = T[op.inputs[2]].value() if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
                stride = op.options.get("stride_h", 1)
                convs.append((w, b, stride, q(op.outputs[0]), op.op))
                conv_of_tensor[op.outputs[0]] = len(convs) - 1
            elif op.op == "MEAN" and name.endswith("moments/mean"):
                cur = {"q": {"mean": q(op.outputs[0])}}
            elif cur is not None and name.endswith(_LN_SUFFIX):
                step = _LN_STEP[next(k for k in _LN_SUFFIX if name.endswith(k))]
                if op.op == "MUL" and step == "mul":
                    cur["gamma"] = T[[i for i in op.inputs if T[i].data is not None][0]].value().ravel()
                if op.op == "SUB":
                    cur["beta"] = T[[i for i in op.inputs if T[i].data is not None][0]].value().ravel()
                cur["q"][step] = q(op.outputs[0])
                if step == "add_1":
                    norms.append(cur)
                    cur = None
            elif op.op == "LEAKY_RELU":
                acts.append(q(op.outputs[0]))
            elif op.op == "ADD" and name.endswith("/add") and "batchnorm" not in name:
                adds.append(q(op.outputs[0]))
            elif op.op == "QUANTIZE" and op.inputs[0] in g.inputs:
                t.q_in = q(op.outputs[0])
            elif op.op == "TANH":
                t.q_out = q(op.outputs[0])

        if len(convs) != len(blocks):
            raise ValueError(f"{path}: {len(convs)} convolutions, the AnimeGANv2 generator has {len(blocks)}")
        with torch.no_grad():
            for blk, (w, b, stride, qc, kind) in zip(blocks, convs):
                if tuple(blk.conv.weight.shape) != w.shape or blk.conv.stride[0] != stride:
                    raise ValueError(f"{path}: conv shape {w.shape}/{stride} does not match {tuple(blk.conv.weight.shape)}")
                blk.conv.weight.copy_(torch.from_numpy(w))
                if blk.conv.bias is not None:
                    blk.conv.bias.copy_(torch.from_numpy(b))
                elif b is not None and np.any(b):
                    raise ValueError(f"{path}: unexpected non-zero bias")
                blk.q["conv"] = qc
            nblocks = [b for b in blocks if b.norm is not None]
            ablocks = [b for b in blocks if b.act]
            if len(nblocks) != len(norms) or len(ablocks) != len(acts):
                raise ValueError(f"{path}: {len(norms)} norms / {len(acts)} activations, expected {len(nblocks)} / {len(ablocks)}")
            for blk, n in zip(nblocks, norms):
                blk.norm.weight.copy_(torch.from_numpy(n["gamma"]))
                blk.norm.bias.copy_(torch.from_numpy(n["beta"]))
                blk.norm.q = n["q"]
            for blk, a in zip(ablocks, acts):
                blk.q["act"] = a
            skips = [r for r in t.R if r.skip]
            if len(skips) != len(adds):
                raise ValueError(f"{path}: {len(adds)} residual adds, expected {len(skips)}")
            for r, a in zip(skips, adds):
                r.q_add = a
        if t.q_in is not None:
            s, z = t.q_in
            t._in_range = ((-128 - z) * s, (127 - z) * s)
        t.eval()
        for p in t.parameters():
            p.requires_grad_(False)
        return t
