"""Latency of the PyTorch AnimeGANv2 teacher port (the "what a user would run" row of
`animed bench`).

    /usr/bin/python3 models/distill/bench_teacher.py --threads 2 --size 256 --seconds 20 [--json]

Runs the float generator (quant=False: what running AnimeGANv2 in PyTorch costs;
--quant adds the int8 emulation) on a fixed input: one warm-up run excluded, then
runs until --runs or --seconds is reached. Prints (or writes as JSON) the median and
p90 latency in milliseconds, the run count and the peak RSS of this process.
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from teacher import DEFAULT_PATH, Teacher  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", default=DEFAULT_PATH)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--quant", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    t = Teacher.from_tflite(a.teacher)
    load_s = time.perf_counter() - t0
    x = torch.rand(1, 3, a.size, a.size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    times = []
    with torch.no_grad():
        t(x, quant=a.quant)  # warm-up
        start = time.perf_counter()
        while len(times) < a.runs and (time.perf_counter() - start < a.seconds or not times):
            s = time.perf_counter()
            t(x, quant=a.quant)
            times.append((time.perf_counter() - s) * 1000)
    res = {"model": "AnimeGANv2 teacher (PyTorch port, " + ("int8-emulated" if a.quant else "float") + ")",
           "params": sum(p.numel() for p in t.parameters()), "size": a.size, "threads": a.threads,
           "runs": len(times), "median_ms": float(np.median(times)), "p90_ms": float(np.percentile(times, 90)),
           "load_s": load_s, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "torch": torch.__version__}
    if a.json:
        print(json.dumps(res))
    else:
        print(f"{res['model']}: {a.size}x{a.size}, {a.threads} threads, {len(times)} runs: "
              f"median {res['median_ms']:.0f} ms, p90 {res['p90_ms']:.0f} ms, peak RSS {res['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
