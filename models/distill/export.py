"""Exports a trained AnimeGAN-Tiny checkpoint to ONNX with reference vectors.

    /usr/bin/python3 models/distill/export.py --ckpt models/distill/runs/full/best.pt \
        --out models/animegan_tiny.onnx

Writes OUT (opset 13; input "input" float32 NCHW [1,3,H,W] in [-1,1] RGB, output
"output" the same shape in [-1,1]; example 256x256, H and W dynamic: any multiple
of 4) and next to it OUT-stem + "_ref_input.npy" / "_ref_output.npy": a synthetic
64x64 test pattern (no photo is copied) and the PyTorch output for it, both
float32 NCHW, for checking converters and runtimes.
"""

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from student import STUDENTS  # noqa: E402


def load_student(ckpt):
    """The checkpoint's student: its architecture ("arch": v1 or v2; v1 when
    absent) and activation slope (0: ReLU) are stored beside the weights
    (checkpoints without a slope used LeakyReLU 0.2)."""
    st = torch.load(ckpt, map_location="cpu")
    if "model" not in st:
        st = {"model": st}
    m = STUDENTS[st.get("arch", "v1")](slope=st.get("slope", 0.2))
    m.load_state_dict(st["model"])
    return m.eval()


def test_pattern(h=64, w=64):
    """Deterministic smooth colour pattern with edges, in [-1, 1], NCHW."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sin(x / 7.0) * 0.6 + (x / w - 0.5) * 0.6
    g = np.cos(y / 5.0 + x / 11.0) * 0.7
    b = np.where((x - w / 2) ** 2 + (y - h / 2) ** 2 < (h / 4) ** 2, 0.8, -0.6).astype(np.float32)
    return np.clip(np.stack([r, g, b])[None], -1, 1).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, default=256, help="example input size (H = W)")
    ap.add_argument("--opset", type=int, default=13)
    a = ap.parse_args()
    torch.set_num_threads(2)
    m = load_student(a.ckpt)
    x = torch.zeros(1, 3, a.size, a.size)
    torch.onnx.export(m, x, a.out, opset_version=a.opset, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {2: "height", 3: "width"}, "output": {2: "height", 3: "width"}},
                      do_constant_folding=True)
    stem = os.path.splitext(a.out)[0]
    ref_in = test_pattern()
    with torch.no_grad():
        ref_out = m(torch.from_numpy(ref_in)).numpy().astype(np.float32)
    np.save(stem + "_ref_input.npy", ref_in)
    np.save(stem + "_ref_output.npy", ref_out)
    print(f"wrote {a.out} ({os.path.getsize(a.out)} bytes) and {stem}_ref_{{input,output}}.npy")


if __name__ == "__main__":
    main()
