"""Exports a small AnimeGANv2-family generator with random weights to ONNX.

The architecture follows the public AnimeGANv2 PyTorch generator (reflect
padding, GroupNorm(1, C) "layer norm", LeakyReLU, depthwise inverted
residual blocks, bilinear upsampling back to the skip sizes, tanh), with
channel widths divided by WIDTH_DIV so the file stays small; one block
also applies a channels-last nn.LayerNorm (Transpose, LayerNorm pattern,
Transpose) to exercise transpose cancellation.

Height and width are dynamic axes, so the converter needs --input-shape
(sizes divisible by 4).

Run with Debian's PyTorch (not the pyenv python):
    /usr/bin/python3 converter/testdata/export_animegan.py converter/testdata/animegan_tiny.onnx
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

WIDTH_DIV = 8


def ch(c):
    return max(c // WIDTH_DIV, 4)


class ConvNormLReLU(nn.Sequential):
    def __init__(self, in_ch, out_ch, kernel_size=3, stride=1, padding=1, pad_mode="reflect", groups=1):
        pad = {"zero": nn.ZeroPad2d, "reflect": nn.ReflectionPad2d}[pad_mode]
        super().__init__(
            pad(padding),
            nn.Conv2d(in_ch, out_ch, kernel_size=kernel_size, stride=stride, padding=0, groups=groups, bias=False),
            nn.GroupNorm(num_groups=1, num_channels=out_ch, affine=True),
            nn.LeakyReLU(0.2, inplace=True),
        )


class InvertedResBlock(nn.Module):
    def __init__(self, in_ch, out_ch, expansion_ratio=2):
        super().__init__()
        self.use_res_connect = in_ch == out_ch
        bottleneck = int(round(in_ch * expansion_ratio))
        self.layers = nn.Sequential(
            ConvNormLReLU(in_ch, bottleneck, kernel_size=1, padding=0),
            ConvNormLReLU(bottleneck, bottleneck, groups=bottleneck, padding=1),
            nn.Conv2d(bottleneck, out_ch, kernel_size=1, padding=0, bias=False),
            nn.GroupNorm(num_groups=1, num_channels=out_ch, affine=True),
        )

    def forward(self, x):
        out = self.layers(x)
        return x + out if self.use_res_connect else out


class ChannelLayerNorm(nn.Module):
    """LayerNorm over channels, applied channels-last (ConvNeXt style)."""

    def __init__(self, c):
        super().__init__()
        self.norm = nn.LayerNorm(c)

    def forward(self, x):
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.block_a = nn.Sequential(
            ConvNormLReLU(3, ch(32), kernel_size=7, padding=3),
            ConvNormLReLU(ch(32), ch(64), stride=2, padding=(0, 1, 0, 1)),
            ConvNormLReLU(ch(64), ch(64)),
        )
        self.block_b = nn.Sequential(
            ConvNormLReLU(ch(64), ch(128), stride=2, padding=(0, 1, 0, 1)),
            ConvNormLReLU(ch(128), ch(128)),
        )
        self.block_c = nn.Sequential(
            ConvNormLReLU(ch(128), ch(128)),
            InvertedResBlock(ch(128), ch(256), 2),
            InvertedResBlock(ch(256), ch(256), 2),
            InvertedResBlock(ch(256), ch(256), 2),
            ChannelLayerNorm(ch(256)),
            ConvNormLReLU(ch(256), ch(128)),
        )
        self.block_d = nn.Sequential(ConvNormLReLU(ch(128), ch(128)), ConvNormLReLU(ch(128), ch(128)))
        self.block_e = nn.Sequential(
            ConvNormLReLU(ch(128), ch(64)),
            ConvNormLReLU(ch(64), ch(64)),
            ConvNormLReLU(ch(64), ch(32), kernel_size=7, padding=3),
        )
        self.out_layer = nn.Sequential(nn.Conv2d(ch(32), 3, kernel_size=1, stride=1, padding=0, bias=False), nn.Tanh())

    def forward(self, x):
        out = self.block_a(x)
        half_size = out.size()[-2:]
        out = self.block_b(out)
        out = self.block_c(out)
        out = F.interpolate(out, half_size, mode="bilinear", align_corners=False)
        out = self.block_d(out)
        out = F.interpolate(out, x.size()[-2:], mode="bilinear", align_corners=False)
        out = self.block_e(out)
        return self.out_layer(out)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "animegan_tiny.onnx"
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    torch.manual_seed(1234)
    g = Generator().eval()
    with torch.no_grad():
        for p in g.parameters():  # random affine parameters too, not 1/0
            p.uniform_(-0.5, 0.5) if p.dim() == 1 else None
    x = torch.rand(1, 3, size, size) * 2 - 1
    torch.onnx.export(g, x, path, opset_version=13, input_names=["input"], output_names=["output"],
                      do_constant_folding=True,
                      dynamic_axes={"input": {2: "height", 3: "width"}, "output": {2: "height", 3: "width"}})
    print(path, sum(p.numel() for p in g.parameters()), "parameters")


if __name__ == "__main__":
    main()
