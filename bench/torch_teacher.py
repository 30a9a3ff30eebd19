"""Times the PyTorch port of the teacher (models/distill/teacher.py) at 256x256.

    /usr/bin/python3 bench/torch_teacher.py --teacher ../shared/teacher/animeganv2_hayao_256_int8.tflite \
        [--port-dir models/distill] [--threads 2] [--runs 20] [--max-time 10] [--photo PATH]

This is what a user would run instead of animed: the same teacher, in
PyTorch (Debian python3-torch), float, on the CPU, at the same thread count
as the TFLite rows of the same `make bench` run. One warm-up forward pass
is excluded; then passes are timed until --runs or --max-time seconds.

Prints one JSON object. When the port is not there (models/distill/teacher.py
is written by the distillation task) it prints {"available": false, "reason": ...}
and exits 0, so the report says so instead of failing.
"""

import argparse
import json
import os
import resource
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", required=True)
    ap.add_argument("--port-dir", default="models/distill", help="folder holding teacher.py")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--max-time", type=float, default=10.0)
    ap.add_argument("--photo", help="input photo (centre square); default: a fixed random image")
    a = ap.parse_args()

    out = {"available": False, "threads": a.threads, "size": a.size}
    if not os.path.isfile(os.path.join(a.port_dir, "teacher.py")):
        out["reason"] = f"PyTorch teacher port not found ({os.path.join(a.port_dir, 'teacher.py')}): it comes from the distillation task"
        print(json.dumps(out))
        return
    try:
        import torch
    except ImportError as e:
        out["reason"] = f"python3-torch missing: {e}"
        print(json.dumps(out))
        return
    sys.path.insert(0, os.path.abspath(a.port_dir))
    from teacher import Teacher  # noqa: E402

    torch.set_num_threads(a.threads)
    out["torch"] = torch.__version__
    t0 = time.perf_counter()
    model = Teacher.from_tflite(a.teacher)
    model.eval()
    out["load_ms"] = (time.perf_counter() - t0) * 1000

    if a.photo:
        import data  # models/distill/data.py, next to teacher.py
        x = data.to_tensor(data.center_square(data.load_rgb(a.photo), a.size))
    else:
        g = torch.Generator().manual_seed(0)
        x = torch.rand(1, 3, a.size, a.size, generator=g) * 2 - 1

    samples = []
    with torch.no_grad():
        t = time.perf_counter()
        model(x)
        out["first_ms"] = (time.perf_counter() - t) * 1000
        begin = time.perf_counter()
        while len(samples) < a.runs and (not samples or time.perf_counter() - begin < a.max_time):
            t = time.perf_counter()
            model(x)
            samples.append((time.perf_counter() - t) * 1000)
    s = sorted(samples)
    n = len(s)
    med = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    p90 = s[max(0, -(-9 * n // 10) - 1)]
    out.update(available=True, latency={"runs": n, "median_ms": med, "p90_ms": p90, "min_ms": s[0],
                                        "mean_ms": sum(s) / n},
               peak_rss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               params=sum(p.numel() for p in model.parameters()))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
