"""AnimeGAN-Tiny: the student generators of animed. AnimeGANTinyV2 (--arch v2)
is the shipped default; AnimeGANTiny (v1, below) was the default before it
and is kept in models/previous for comparison.

v1 was built for the product's INT8 path: fully convolutional at any H, W that are
multiples of 4; no normalisation layers (nothing per-image at inference, so INT8
stays accurate and tiles join without seams); only ops XNNPACK 2.9 runs in INT8:
Conv (zero padding) with the activation fused, depthwise Conv, Add, bilinear
Resize (half_pixel); the final Tanh is the one op left to TFLite's kernels.

    stem   7x7 conv 3->16, act                                    (1/1)
    down1  3x3/2 depthwise 16 + 1x1 16->32, act                    (1/2)
    down2  3x3/2 depthwise 32 + 1x1 32->128, act                   (1/4)
    body   4 x residual bottleneck at 128: 1x1 128->192, act,
           3x3 depthwise 192, act, 1x1 192->128, add skip          (1/4)
    up1    bilinear x2 + 3x3 conv 128->32, act                     (1/2)
    up2    bilinear x2 + 3x3 conv 32->16, act                      (1/1)
    out    7x7 conv 16->3, tanh

act is ReLU in the shipped model (LeakyReLU 0.2 while training starts; see Act).

Most parameters sit in the body at 1/4 resolution where they cost few MACs;
the full-resolution layers are kept at 16 channels because they dominate the
MACs (and the latency on a 2-core ARM board).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

class Act(nn.Module):
    """The model's one activation: LeakyReLU(slope), or ReLU when slope is 0.

    The shipped model uses ReLU: TFLite 2.9's XNNPACK delegate has no INT8
    LeakyReLU, so each one ran on TFLite's reference kernel (~4 ns per element,
    most of the INT8 model's time), while a ReLU folds into the convolution
    before it. Training starts with slope 0.2 and anneals it to 0 ("relu" phase
    of train.py); one instance is shared by all layers so the slope is set once.
    """

    def __init__(self, slope=0.2):
        super().__init__()
        self.slope = float(slope)

    def forward(self, x):
        return F.relu(x) if self.slope == 0 else F.leaky_relu(x, self.slope)


class DownDS(nn.Module):
    """Depthwise-separable stride-2 down-sampling."""

    def __init__(self, cin, cout, act):
        super().__init__()
        self.dw = nn.Conv2d(cin, cin, 3, 2, 1, groups=cin)
        self.pw = nn.Conv2d(cin, cout, 1)
        self.act = act

    def forward(self, x):
        return self.act(self.pw(self.dw(x)))


class Bottleneck(nn.Module):
    def __init__(self, c, mid, act):
        super().__init__()
        self.act = act
        self.expand = nn.Conv2d(c, mid, 1)
        self.dw = nn.Conv2d(mid, mid, 3, 1, 1, groups=mid)
        self.project = nn.Conv2d(mid, c, 1)
        nn.init.zeros_(self.project.weight)  # start as identity
        nn.init.zeros_(self.project.bias)

    def forward(self, x):
        y = self.act(self.expand(x))
        y = self.act(self.dw(y))
        return x + self.project(y)


class Up(nn.Module):
    def __init__(self, cin, cout, act):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, 1, 1)
        self.act = act

    def forward(self, x):
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return self.act(self.conv(x))


class AnimeGANTiny(nn.Module):
    def __init__(self, ch=(16, 32, 128), blocks=4, mid=192, slope=0.2):
        super().__init__()
        c1, c2, c3 = ch
        self.act = Act(slope)
        self.stem = nn.Conv2d(3, c1, 7, 1, 3)
        self.down1 = DownDS(c1, c2, self.act)
        self.down2 = DownDS(c2, c3, self.act)
        self.body = nn.ModuleList([Bottleneck(c3, mid, self.act) for _ in range(blocks)])
        self.up1 = Up(c3, c2, self.act)
        self.up2 = Up(c2, c1, self.act)
        self.out = nn.Conv2d(c1, 3, 7, 1, 3)
        self.widths = {"down2": c3, "body": c3, "up1": c2, "up2": c1}

    def forward(self, x, feats=False):
        f = {}
        x = self.act(self.stem(x))
        x = self.down1(x)
        x = self.down2(x)
        f["down2"] = x
        for b in self.body:
            x = b(x)
        f["body"] = x
        x = self.up1(x)
        f["up1"] = x
        x = self.up2(x)
        f["up2"] = x
        y = torch.tanh(self.out(x))
        return (y, f) if feats else y


class AnimeGANTinyV2(nn.Module):
    """AnimeGAN-Tiny v2: nothing but the output's pixel shuffle at full resolution.

        stem   2x2/2 conv 3->c1, act  (== pixel-unshuffle + 1x1)        (1/2)
        down2  3x3/2 depthwise c1 + 1x1 c1->128, act                    (1/4)
        body   4 x residual bottleneck at 128 (as in v1)                (1/4)
        up     1x1 128->4*c1, pixel shuffle x2, + stem (skip), act      (1/2)
        head   1x1 c1->12, pixel shuffle x2, tanh                       (1/1)

    XNNPACK keeps an indirection buffer of output pixels x kernel taps x 8 bytes
    for every non-1x1 convolution (and one for bilinear resizes); v1's two 7x7
    convolutions at full resolution cost ~1.5 KB per pixel. Here the only
    spatial kernels are the 2x2 stem and the depthwise 3x3s at 1/4, and the
    up-sampling is DEPTH_TO_SPACE (a copy): each 1/4-resolution feature decodes
    its own 4x4 output pixels through two 1x1 convolutions, with the stem's
    features added at 1/2 for the photo's detail. Every further 1/2-resolution
    tensor costs c1/4 bytes per input pixel in XNNPACK's workspace (a 3x3
    depthwise + 1x1 there measured +22 B/px), so there is none. down2 and the
    body have v1's shapes so they start from v1's weights (init_from_v1).
    """

    def __init__(self, c1=32, blocks=4, mid=192, slope=0.2):
        super().__init__()
        self.act = Act(slope)
        self.stem = nn.Conv2d(3, c1, 2, 2, 0)
        self.down2 = DownDS(c1, 128, self.act)
        self.body = nn.ModuleList([Bottleneck(128, mid, self.act) for _ in range(blocks)])
        self.up = nn.Conv2d(128, 4 * c1, 1)
        self.head = nn.Conv2d(c1, 12, 1)
        self.shuffle = nn.PixelShuffle(2)
        self.widths = {"stem": c1, "down2": 128, "body": 128, "up": c1}

    def forward(self, x, feats=False):
        f = {}
        s = self.act(self.stem(x))
        f["stem"] = s
        x = self.down2(s)
        f["down2"] = x
        for b in self.body:
            x = b(x)
        f["body"] = x
        x = self.act(self.shuffle(self.up(x)) + s)  # the ReLU fuses into the ADD
        f["up"] = x
        y = torch.tanh(self.shuffle(self.head(x)))
        return (y, f) if feats else y


def init_from_v1(v2, v1_state):
    """Copies v1's down2 and body weights (same shapes) into a v2 model; returns
    the names copied."""
    own = v2.state_dict()
    done = []
    for k, v in v1_state.items():
        if (k.startswith("down2.") or k.startswith("body.")) and k in own and own[k].shape == v.shape:
            own[k] = torch.as_tensor(v).clone()
            done.append(k)
    v2.load_state_dict(own)
    return done


STUDENTS = {"v1": AnimeGANTiny, "v2": AnimeGANTinyV2}


def count_params(m):
    return sum(p.numel() for p in m.parameters())


def count_macs(m, h, w):
    """Multiply-accumulates of the convolutions for one h x w image."""
    macs = 0

    def hook(mod, inp, out):
        nonlocal macs
        k = mod.weight.shape[1] * mod.weight.shape[2] * mod.weight.shape[3]
        macs += out.numel() * k

    hs = [mm.register_forward_hook(hook) for mm in m.modules() if isinstance(mm, nn.Conv2d)]
    with torch.no_grad():
        m(torch.zeros(1, 3, h, w))
    for hh in hs:
        hh.remove()
    return macs


if __name__ == "__main__":
    import sys
    m = STUDENTS[sys.argv[1] if len(sys.argv) > 1 else "v2"]()
    print(f"params {count_params(m)}, MACs 256^2 {count_macs(m, 256, 256) / 1e9:.2f} G, "
          f"512^2 {count_macs(m, 512, 512) / 1e9:.2f} G")
