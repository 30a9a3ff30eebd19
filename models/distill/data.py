"""Photos, the deterministic train/held-out split, image I/O and quality metrics."""

import hashlib
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def list_photos(root):
    """All photos under root, sorted by relative path (stable across machines)."""
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            if f.lower().endswith(EXTS):
                out.append(os.path.join(d, f))
    if not out:
        raise FileNotFoundError(f"no photos under {root}")
    return sorted(out, key=lambda p: os.path.relpath(p, root))


def held_out(rel, every=10):
    """Whether the photo at relative path rel is held out: the first 8 bytes of
    SHA-256(rel) as an integer, modulo every, is 0. It depends on the photo's own
    path only, so adding or removing photos never moves another one across."""
    h = int.from_bytes(hashlib.sha256(rel.replace(os.sep, "/").encode()).digest()[:8], "big")
    return h % every == 0


def legacy_held_out(photos, every=10):
    """The split of the first two models (every 10th photo by sorted path); train.py
    keeps these out of training too, so the previous model can be compared on
    photos neither model was trained on."""
    return {p for i, p in enumerate(photos) if i % every == every - 1}


def split(photos, root, every=10):
    """Deterministic split of list_photos(root): (train, held-out), held_out() by path."""
    train = [p for p in photos if not held_out(os.path.relpath(p, root), every)]
    held = [p for p in photos if held_out(os.path.relpath(p, root), every)]
    return train, held


def load_rgb(path):
    with Image.open(path) as im:
        return im.convert("RGB")


def center_square(im, size):
    """Resize the short side to `size` and crop the centre square (size x size)."""
    w, h = im.size
    s = size / min(w, h)
    im = im.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BICUBIC)
    w, h = im.size
    l, t = (w - size) // 2, (h - size) // 2
    return im.crop((l, t, l + size, t + size))


def to_tensor(im):
    """PIL RGB -> float32 tensor 1,3,H,W in [-1, 1]."""
    a = np.asarray(im, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(a).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_image(x):
    """Tensor 1,3,H,W (or 3,H,W) in [-1, 1] -> PIL RGB."""
    if x.dim() == 4:
        x = x[0]
    a = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(a)


def nhwc(x):
    """Tensor N,3,H,W -> numpy N,H,W,3 float32 (TFLite layout)."""
    return x.permute(0, 2, 3, 1).contiguous().cpu().numpy().astype(np.float32)


def nchw(a):
    return torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).contiguous()


def psnr(a, b):
    """PSNR in dB of two tensors in [-1, 1] (peak = the [0, 1] pixel range)."""
    mse = ((a.clamp(-1, 1) - b.clamp(-1, 1)) / 2).pow(2).mean().item()
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def ssim_tensor(a, b):
    """Mean SSIM (Gaussian window 11, sigma 1.5) on luma of tensors in [-1, 1],
    as a differentiable tensor on their device (train.py's SSIM loss)."""
    def luma(x):
        x = (x.clamp(-1, 1) + 1) / 2
        return (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    x, y = luma(a.float()), luma(b.float())
    g = torch.exp(-((torch.arange(11, dtype=torch.float32, device=x.device) - 5) ** 2) / (2 * 1.5 ** 2))
    g = (g / g.sum())
    w = (g[:, None] * g[None, :]).view(1, 1, 11, 11)
    f = lambda t: F.conv2d(t, w)
    mx, my = f(x), f(y)
    sxx, syy, sxy = f(x * x) - mx * mx, f(y * y) - my * my, f(x * y) - mx * my
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return m.mean()


def ssim(a, b):
    """Mean SSIM (Gaussian window 11, sigma 1.5) on luma of tensors in [-1, 1]."""
    return ssim_tensor(a, b).item()


# ---------------------------------------------------------------- ink lines

LINE_LEVEL = 18.0  # black-hat threshold of a line pixel, in luma levels (0..255)


def luma255(x):
    """Luma (BT.601) in 0..255 of a tensor N,3,H,W in [-1, 1] -> N,1,H,W."""
    x = (x.clamp(-1, 1) + 1) * 127.5
    return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


def black_hat(l, k=5):
    """Morphological black-hat of luma: closing (k x k square, the window
    clipped at the border) minus luma; high on thin dark strokes."""
    p = k // 2
    closed = -F.max_pool2d(-F.max_pool2d(l, k, 1, p), k, 1, p)
    return closed - l


def line_mask(x):
    """Ink-line pixels of an image tensor in [-1, 1]: black-hat of luma >= LINE_LEVEL."""
    return black_hat(luma255(x)) >= LINE_LEVEL


def line_scores(student, teacher):
    """Recall, precision and F1 of the teacher's line pixels found in the
    student's, with a 1-pixel tolerance (a line pixel counts as found when the
    other image has one within its 3x3 neighbourhood). Images in [-1, 1]. An
    image pair without line pixels on one side scores 1 for that side's ratio
    (nothing to find / nothing wrong)."""
    t, s = line_mask(teacher).float(), line_mask(student).float()
    near = lambda m: F.max_pool2d(m, 3, 1, 1)
    nt, ns = t.sum().item(), s.sum().item()
    recall = (t * near(s)).sum().item() / nt if nt else 1.0
    precision = (s * near(t)).sum().item() / ns if ns else 1.0
    f1 = 2 * recall * precision / (recall + precision) if recall + precision else 0.0
    return recall, precision, f1
