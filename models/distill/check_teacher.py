"""Checks the PyTorch teacher port against the TFLite teacher (PSNR at 256x256).

    /usr/bin/python3 models/distill/check_teacher.py [--photos ../shared/photos] [--n 6] [--min-psnr 35]

Exits non-zero when the mean PSNR is below --min-psnr.
"""

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
from teacher import DEFAULT_PATH, Teacher  # noqa: E402
from tflite_runner import TFLiteModel  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", default=DEFAULT_PATH)
    ap.add_argument("--photos", default="../shared/photos")
    ap.add_argument("--n", type=int, default=6, help="held-out photos to compare")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-psnr", type=float, default=35.0)
    ap.add_argument("--skip-float", action="store_true", help="only the int8-emulating port")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t = Teacher.from_tflite(a.teacher)
    _, held = data.split(data.list_photos(a.photos), a.photos)
    ref = TFLiteModel(a.teacher, threads=a.threads)
    res = {False: [], True: []}
    for p in held[: a.n]:
        x = data.to_tensor(data.center_square(data.load_rgb(p), 256))
        t0 = time.time()
        y_ref = data.nchw(ref.run(data.nhwc(x)))
        t1 = time.time()
        with torch.no_grad():
            for quant in ((True,) if a.skip_float else (False, True)):
                y = t(x, quant=quant)
                res[quant].append(data.psnr(y, y_ref))
        t2 = time.time()
        fl = f"{res[False][-1]:.2f}" if res[False] else "-"
        print(f"{os.path.basename(p)}: float {fl} dB, int8-emulated {res[True][-1]:.2f} dB "
              f"(tflite {t1 - t0:.2f}s, torch x2 {t2 - t1:.2f}s)", flush=True)
    for quant in (False, True):
        v = res[quant]
        if not v:
            continue
        print(f"{'int8-emulated' if quant else 'float'} port vs TFLite: mean PSNR {sum(v) / len(v):.2f} dB, min {min(v):.2f} dB")
    best = sum(res[True]) / len(res[True])
    if best < a.min_psnr:
        print(f"FAIL: below {a.min_psnr} dB", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
