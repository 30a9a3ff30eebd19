"""Exports five image-to-image generators with random weights to ONNX, with
one input and PyTorch's output for it, for converter/verify/torch_test.go.

Each model is written as NAME.onnx, NAME.in and NAME.out (float32 little
endian, NCHW) into OUTDIR, and OUTDIR/manifest.json lists them with their
shapes and opsets. No downloads: torchvision's mobilenet_v3_small is built
with weights=None.

Run with Debian's PyTorch 1.13 and torchvision 0.14 (not a pyenv python):
    /usr/bin/python3 converter/testdata/export_generators.py OUTDIR
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

SIZE = 64


class ConvIN(nn.Sequential):
    """Reflection pad, conv, InstanceNorm (affine), ReLU (fast-neural-style)."""

    def __init__(self, cin, cout, k, stride=1, relu=True):
        layers = [nn.ReflectionPad2d(k // 2), nn.Conv2d(cin, cout, k, stride),
                  nn.InstanceNorm2d(cout, affine=True)]
        if relu:
            layers.append(nn.ReLU())
        super().__init__(*layers)


class FastNeuralStyle(nn.Module):
    """Johnson et al.'s transformer net, narrowed: nearest upsampling."""

    def __init__(self):
        super().__init__()
        self.down = nn.Sequential(ConvIN(3, 8, 9), ConvIN(8, 16, 3, 2), ConvIN(16, 32, 3, 2))
        self.res = nn.ModuleList([nn.Sequential(ConvIN(32, 32, 3), ConvIN(32, 32, 3, relu=False)) for _ in range(2)])
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), ConvIN(32, 16, 3),
                                nn.Upsample(scale_factor=2, mode="nearest"), ConvIN(16, 8, 3))
        self.out = nn.Sequential(nn.ReflectionPad2d(4), nn.Conv2d(8, 3, 9))

    def forward(self, x):
        y = self.down(x)
        for r in self.res:
            y = y + r(y)
        return torch.tanh(self.out(self.up(y)))


class CartoonGAN(nn.Module):
    """CartoonGAN-style ResNet generator: BatchNorm, ConvTranspose up."""

    def __init__(self):
        super().__init__()

        def cbr(cin, cout, k, s, p):
            return [nn.Conv2d(cin, cout, k, s, p), nn.BatchNorm2d(cout), nn.ReLU()]

        self.down = nn.Sequential(*cbr(3, 8, 7, 1, 3), *cbr(8, 16, 3, 2, 1), *cbr(16, 32, 3, 2, 1))
        self.res = nn.ModuleList([nn.Sequential(*cbr(32, 32, 3, 1, 1), nn.Conv2d(32, 32, 3, 1, 1), nn.BatchNorm2d(32))
                                  for _ in range(2)])
        self.up = nn.Sequential(nn.ConvTranspose2d(32, 16, 3, 2, 1, output_padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                                nn.ConvTranspose2d(16, 8, 3, 2, 1, output_padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                nn.Conv2d(8, 3, 7, 1, 3))

    def forward(self, x):
        y = self.down(x)
        for r in self.res:
            y = y + r(y)
        return torch.tanh(self.up(y))


class LayerNormGELU(nn.Module):
    """Conv stem, then channels-last LayerNorm + exact GELU MLP blocks
    (PyTorch exports LayerNormalization at opset 17, GELU as Erf)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 4, 4)
        self.blocks = nn.ModuleList([nn.ModuleDict({"norm": nn.LayerNorm(16), "fc1": nn.Linear(16, 32),
                                                    "fc2": nn.Linear(32, 16)}) for _ in range(2)])
        self.head = nn.Conv2d(16, 3 * 16, 1)

    def forward(self, x):
        y = self.stem(x).permute(0, 2, 3, 1)
        for b in self.blocks:
            y = y + b["fc2"](F.gelu(b["fc1"](b["norm"](y))))
        y = self.head(y.permute(0, 3, 1, 2))
        return torch.tanh(F.pixel_shuffle(y, 4))


class SplitHardswish(nn.Module):
    """split/chunk, Hardsigmoid, Hardswish, pixel_unshuffle and
    pixel_shuffle (SpaceToDepth / DepthToSpace)."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Conv2d(3 * 4, 16, 3, 1, 1)
        self.a = nn.Conv2d(8, 8, 3, 1, 1)
        self.b = nn.Conv2d(8, 8, 1)
        self.out = nn.Conv2d(16, 3 * 4, 3, 1, 1)

    def forward(self, x):
        y = self.inp(F.pixel_unshuffle(x, 2))
        p, q = torch.split(y, 8, dim=1)
        p = F.hardswish(self.a(p))
        q = self.b(q) * F.hardsigmoid(q)
        u, v = torch.chunk(torch.cat([p, q], 1), 2, dim=1)
        y = torch.cat([v, u], 1)
        return torch.tanh(F.pixel_shuffle(self.out(y), 2))


class MobileUNet(nn.Module):
    """U-Net decoder on torchvision's mobilenet_v3_small().features."""

    def __init__(self):
        super().__init__()
        import torchvision
        f = torchvision.models.mobilenet_v3_small(weights=None).features
        self.enc = nn.ModuleList([f[:1], f[1:2], f[2:4], f[4:9], f[9:]])  # strides 2, 4, 8, 16, 32
        chans = [16, 16, 24, 48, 576]
        self.dec = nn.ModuleList()
        for i in range(4, 0, -1):
            self.dec.append(nn.Sequential(nn.Conv2d(chans[i] + chans[i - 1], chans[i - 1], 3, 1, 1),
                                          nn.BatchNorm2d(chans[i - 1]), nn.Hardswish()))
        self.out = nn.Conv2d(16, 3 * 4, 3, 1, 1)

    def forward(self, x):
        skips = []
        for e in self.enc:
            x = e(x)
            skips.append(x)
        y = skips[-1]
        for d, s in zip(self.dec, reversed(skips[:-1])):
            y = F.interpolate(y, scale_factor=2, mode="nearest")
            y = d(torch.cat([y, s], 1))
        return torch.tanh(F.pixel_shuffle(self.out(y), 2))


MODELS = [
    ("fast_neural_style", FastNeuralStyle, 13),
    ("cartoongan", CartoonGAN, 13),
    ("layernorm_gelu", LayerNormGELU, 17),
    ("split_hardswish", SplitHardswish, 13),
    ("mobilenet_unet", MobileUNet, 13),
]


def randomize(model, gen):
    """Random weights and BatchNorm statistics, so every op matters."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm2d,)):
                m.running_mean.uniform_(-0.5, 0.5, generator=gen)
                m.running_var.uniform_(0.5, 2.0, generator=gen)
            if isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d, nn.LayerNorm)) and m.weight is not None:
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.uniform_(-0.5, 0.5, generator=gen)


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    gen = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    manifest = []
    for name, cls, opset in MODELS:
        model = cls().eval()
        randomize(model, gen)
        x = torch.rand(1, 3, SIZE, SIZE, generator=gen) * 2 - 1
        with torch.no_grad():
            y = model(x)
        path = os.path.join(outdir, name + ".onnx")
        torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"], output_names=["output"])
        x.numpy().astype("<f4").tofile(os.path.join(outdir, name + ".in"))
        y.numpy().astype("<f4").tofile(os.path.join(outdir, name + ".out"))
        manifest.append({"name": name, "opset": opset, "input": list(x.shape), "output": list(y.shape)})
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump({"torch": torch.__version__, "models": manifest}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
