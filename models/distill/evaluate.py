"""Scores AnimeGAN-Tiny against the TFLite teacher on held-out photos at 256x256.

    /usr/bin/python3 models/distill/evaluate.py --ckpt models/distill/runs/full/best.pt \
        [--tflite FP32=models/animegan_tiny_fp32.tflite --tflite INT8=models/animegan_tiny_int8.tflite] \
        [--n 24] [--sheet sheet.png] [--json eval.json]

Held-out photos are those data.split() holds out (by a hash of the path; or,
with --legacy-split, the first two models' every-10th photo, on which v2 is not
trained either), centre-cropped to 256x256. The reference is the real TFLite teacher (run through tflite_runner);
its outputs are cached in --cache. For each student (the PyTorch checkpoint
and/or .tflite files) it prints mean PSNR and SSIM vs the teacher, and the same
for the untouched photo as a floor, and the line metric (data.line_scores:
recall, precision and F1 of the teacher's ink-line pixels found in the image,
1-pixel tolerance; mean over photos). --sheet writes a contact sheet: one row per
photo, columns photo / teacher / each student.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
from teacher import DEFAULT_PATH  # noqa: E402
from tflite_runner import TFLiteModel  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def held_photos(root, n, legacy=False):
    photos = data.list_photos(root)
    held = sorted(data.legacy_held_out(photos)) if legacy else data.split(photos, root)[1]
    if n and n < len(held):  # spread over the whole (sorted) list: all three photo sets
        idx = np.linspace(0, len(held) - 1, n).round().astype(int)
        held = [held[i] for i in idx]
    return held


def teacher_refs(photos, teacher, cache, size, threads):
    os.makedirs(cache, exist_ok=True)
    tfl = None
    refs = []
    for p in photos:
        f = os.path.join(cache, os.path.relpath(p, "/").replace("/", "_") + f".{size}.npy")
        if not os.path.exists(f):
            if tfl is None:
                tfl = TFLiteModel(teacher, threads=threads)
            x = data.to_tensor(data.center_square(data.load_rgb(p), size))
            np.save(f + ".tmp.npy", tfl.run(data.nhwc(x)))
            os.replace(f + ".tmp.npy", f)
            print(f"teacher: {os.path.basename(p)}", file=sys.stderr, flush=True)
        refs.append(data.nchw(np.load(f)))
    return refs


def sheet(rows, labels, path, tile=192):
    pad, head = 4, 18
    w = len(labels) * (tile + pad) + pad
    h = head + len(rows) * (tile + pad) + pad
    im = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(im)
    for j, l in enumerate(labels):
        d.text((pad + j * (tile + pad) + 4, 3), l, fill=(0, 0, 0))
    for i, row in enumerate(rows):
        for j, t in enumerate(row):
            im.paste(data.to_image(t).resize((tile, tile), Image.BICUBIC), (pad + j * (tile + pad), head + i * (tile + pad)))
    im.save(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default="../shared/photos")
    ap.add_argument("--teacher", default=DEFAULT_PATH)
    ap.add_argument("--ckpt", help="PyTorch student checkpoint (label FP32-torch)")
    ap.add_argument("--tflite", action="append", default=[], help="LABEL=model.tflite (repeatable)")
    ap.add_argument("--xnnpack", action="store_true", help="run the .tflite students with XNNPACK (QS8)")
    ap.add_argument("--legacy-split", action="store_true", help="the every-10th held-out photos of v1")
    ap.add_argument("--n", type=int, default=24, help="held-out photos (0 = all)")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", default=os.path.join(HERE, "cache", "eval"))
    ap.add_argument("--sheet", help="contact sheet PNG")
    ap.add_argument("--sheet-rows", type=int, default=6)
    ap.add_argument("--json", help="write the numbers here")
    ap.add_argument("--refs-only", action="store_true", help="only compute and cache the teacher outputs")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    photos = held_photos(a.photos, a.n, a.legacy_split)
    refs = teacher_refs(photos, a.teacher, a.cache, a.size, a.threads)
    if a.refs_only:
        return
    xs = [data.to_tensor(data.center_square(data.load_rgb(p), a.size)) for p in photos]

    students = []
    if a.ckpt:
        from export import load_student
        m = load_student(a.ckpt)
        students.append(("student FP32 (PyTorch)", lambda x, m=m: m(x)))
    for spec in a.tflite:
        label, _, path = spec.partition("=")
        if not path:
            label, path = os.path.basename(spec), spec
        tm = TFLiteModel(path, threads=a.threads, xnnpack=a.xnnpack)
        students.append((f"student {label}", lambda x, tm=tm: data.nchw(tm.run(data.nhwc(x)))))

    res = {"photos": len(photos), "size": a.size, "teacher": os.path.basename(a.teacher), "models": {}}
    def scores(ys):
        ls = np.array([data.line_scores(y, r) for y, r in zip(ys, refs)])
        return {"psnr": float(np.mean([data.psnr(y, r) for y, r in zip(ys, refs)])),
                "ssim": float(np.mean([data.ssim(y, r) for y, r in zip(ys, refs)])),
                "line_recall": float(ls[:, 0].mean()), "line_precision": float(ls[:, 1].mean()),
                "line_f1": float(ls[:, 2].mean())}

    res["models"]["photo (floor)"] = scores(xs)
    outs = {}
    for label, fn in students:
        t0 = time.time()
        ys = []
        with torch.no_grad():
            for x in xs:
                ys.append(fn(x))
        sec = (time.time() - t0) / len(xs)
        res["models"][label] = {**scores(ys), "psnr_min": float(np.min([data.psnr(y, r) for y, r in zip(ys, refs)])),
                                "seconds_per_image": sec}
        outs[label] = ys
    print(f"{len(photos)} held-out photos at {a.size}x{a.size}, reference: TFLite teacher")
    for label, r in res["models"].items():
        print(f"  {label:28s} PSNR {r['psnr']:6.2f} dB   SSIM {r['ssim']:.4f}   lines R {r['line_recall']:.3f} "
              f"P {r['line_precision']:.3f} F1 {r['line_f1']:.3f}")
    if a.sheet:
        k = min(a.sheet_rows, len(xs))
        idx = np.linspace(0, len(xs) - 1, k).round().astype(int)
        rows = [[xs[i], refs[i]] + [outs[l][i] for l, _ in students] for i in idx]
        sheet(rows, ["photo", "teacher (AnimeGANv2 INT8)"] + [l for l, _ in students], a.sheet)
        print(f"wrote {a.sheet}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
