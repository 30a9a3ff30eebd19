"""Distils AnimeGAN-Tiny from the AnimeGANv2 teacher, within a step or wall-clock budget.

    /usr/bin/python3 models/distill/train.py --arch v2 --init-v1 V1W --steps 600 --run RUN
    /usr/bin/python3 models/distill/train.py --arch v1 --minutes 80 --run models/distill/runs/full
    /usr/bin/python3 models/distill/train.py --smoke --arch v2 --init-v1 V1W   # CI: seconds

(V1W: `go run ./models/distill/onnxweights models/previous/animegan_tiny.onnx V1W`;
`make distill` runs the v2 recipe.) Teacher targets: outputs + intermediate
features for 256x256 crops of the training photos, cached in --cache (reused by
later runs; --target-crops N: exactly the first N). Phases, sharing --steps (or
--minutes):
v1:
  recon    L1 photo -> photo (reconstruction pre-training)                  7%
  mimic    teacher features B, C (1/4 res) through 1x1 adapters + L1
           to the teacher output                                            20%
  style    L1 to the teacher output + perceptual (L1) and Gram (style)
           losses in the teacher's own encoder feature space (blocks A, B;
           no VGG weights exist here) + SSIM                                20%
  relu     the style loss while the LeakyReLU slope anneals to 0            25%
  finetune the style loss at 256x256                                       15%
v2 (ReLU throughout; the line loss joins the style loss):
  align    v2's features after down2 and the body to v1's (v1's weights
           start them) + L1, SSIM and line loss to the teacher output       15%
  style, finetune as above                                            60%, 25%
on 128x128 random crops (flipped) except the fine-tune. Photos data.split holds
out (by a hash of the path), and v1's held-out photos, are never trained on; a
few held-out photos are scored (PSNR vs teacher) at each checkpoint and the best
checkpoint is kept as best.pt. The run resumes from --run/last.pt when it exists
(phase, progress, step and the git commit are stored).
"""

import argparse
import hashlib
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
from student import STUDENTS, AnimeGANTiny, count_macs, count_params, init_from_v1  # noqa: E402
from teacher import DEFAULT_PATH, Teacher  # noqa: E402
from tflite_runner import TFLiteModel  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PHASES = [("recon", 0.07), ("mimic", 0.20), ("style", 0.20), ("relu", 0.25), ("finetune", 0.15)]
# v2 starts from v1's (ReLU) down2 and body: align its new stem and decoder to
# them, then the style and line losses; ReLU from the start.
PHASES_V2 = [("align", 0.15), ("style", 0.60), ("finetune", 0.25)]
ANNEAL = 0.5  # share of the relu phase over which the LeakyReLU slope goes 0.2 -> 0
MIMIC = {"down2": "B", "body": "C"}  # student feature -> teacher feature (both 128 @ 1/4)


def log(run, msg):
    line = time.strftime("%H:%M:%S ") + msg
    print(line, flush=True)
    if run:
        with open(os.path.join(run, "train.log"), "a") as f:
            f.write(line + "\n")


# ---------------------------------------------------------------- teacher targets

def crop_for(path, size, rng):
    im = data.load_rgb(path)
    w, h = im.size
    short = rng.randint(size, max(size, int(size * 1.5)))
    s = short / min(w, h)
    im = im.resize((max(size, round(w * s)), max(size, round(h * s))), data.Image.BICUBIC)
    w, h = im.size
    l, t = rng.randint(0, w - size), rng.randint(0, h - size)
    return im.crop((l, t, l + size, t + size))


def make_targets(teacher, tfl, photos, root, cache, size, deadline, run, seed, tag, min_n=4, rounds=1, limit=0):
    """Caches teacher output + features for random crops of the photos until the
    deadline (but at least min_n), or, with limit, exactly the first limit
    crops: one crop per photo per round, round 0 first. Returns the crops'
    file names (all that exist, in job order).
    The output comes from the TFLite teacher itself when tfl is given, else from
    the int8-emulating port (35 dB from TFLite, 2.4x faster here); the features
    always from the port's encoder."""
    os.makedirs(cache, exist_ok=True)
    done = 0
    names = []
    jobs = [(r, p) for r in range(rounds) for p in photos]
    if limit:
        jobs, deadline, min_n = jobs[:limit], float("inf"), limit
    for r, p in jobs:
        # named by the photo's path, not its index: adding photos keeps every cached crop
        key = hashlib.sha256(os.path.relpath(p, root).encode()).hexdigest()[:12]
        name = f"{tag}-{key}-r{r}.npz"
        f = os.path.join(cache, name)
        if os.path.exists(f):
            done += 1
            names.append(name)
            continue
        if time.time() > deadline and done >= min_n:
            continue
        rng = random.Random(f"{seed}:{r}:{key}")
        x = data.to_tensor(crop_for(p, size, rng))
        with torch.no_grad():
            if tfl is not None:
                y = data.nchw(tfl.run(data.nhwc(x)))
                feats = teacher(x, upto="C")
            else:  # the port, int8-emulated (the TFLite graph is fixed at 256x256)
                y, feats = teacher(x, feats=True, quant=True)
        np.savez(f + ".tmp.npz", photo=np.asarray(data.to_image(x)), out=y[0].half().numpy(),
                 **{k: feats[k][0].half().numpy() for k in MIMIC.values()})
        os.replace(f + ".tmp.npz", f)
        names.append(name)
        done += 1
        if done % 10 == 0:
            log(run, f"targets {tag}: {done} cached")
    return names


class Cached:
    def __init__(self, cache, tag, names=None):
        if names is None:
            names = sorted(n for n in os.listdir(cache) if n.startswith(tag) and n.endswith(".npz") and ".tmp" not in n)
        self.items = []
        for n in names:
            z = np.load(os.path.join(cache, n))
            # half precision in memory (a thousand crops ~ 2.5 GB); float32 per batch
            photo = torch.from_numpy(z["photo"].astype(np.float32) / 127.5 - 1).permute(2, 0, 1)
            item = {"photo": photo.half(), "out": torch.from_numpy(z["out"])}
            for k in MIMIC.values():
                item[k] = torch.from_numpy(z[k])
            self.items.append(item)
        if not self.items:
            raise RuntimeError(f"no cached teacher targets '{tag}*' in {cache}")

    def batch(self, n, crop, rng):
        out = {k: [] for k in self.items[0]}
        for _ in range(n):
            it = self.items[rng.randrange(len(self.items))]
            size = it["photo"].shape[-1]
            l = rng.randrange(0, (size - crop) // 4 + 1) * 4
            t = rng.randrange(0, (size - crop) // 4 + 1) * 4
            flip = rng.random() < 0.5
            for k, v in it.items():
                r = size // v.shape[-1]
                c = v[:, t // r:(t + crop) // r, l // r:(l + crop) // r]
                out[k].append(torch.flip(c, [2]) if flip else c)
        return {k: torch.stack(v).float() for k, v in out.items()}


# ---------------------------------------------------------------- losses

def gram(f):
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


def encoder(teacher, x):
    """Teacher blocks A and B (float, differentiable) as the perceptual feature space."""
    feats = []
    for m in teacher.A:
        x = m(x)
    feats.append(x)
    for m in teacher.B:
        x = m(x)
    feats.append(x)
    return feats


def ssim_loss(y, t):
    """1 - SSIM on luma (differentiable; the evaluation's metric, data.ssim)."""
    return 1 - data.ssim_tensor(y, t)


def line_loss(y, t):
    """Rewards the teacher's ink lines (L1-dominated losses blur them): the L1
    difference of the luma black-hats (data.black_hat, what the line metric
    thresholds) and of the luma gradients, both weighted 5x on and next to the
    teacher's line pixels, plus the colour L1 on those pixels alone. In 0..1 units."""
    ly, lt = data.luma255(y) / 255, data.luma255(t) / 255
    bt = data.black_hat(lt * 255) / 255
    near = F.max_pool2d((bt >= data.LINE_LEVEL / 255).float(), 3, 1, 1)
    wgt = 1 + 4 * near
    bh = ((data.black_hat(ly * 255) / 255 - bt).abs() * wgt).mean()
    gx = lambda a: a[..., :, 1:] - a[..., :, :-1]
    gy = lambda a: a[..., 1:, :] - a[..., :-1, :]
    grad = ((gx(ly) - gx(lt)).abs() * wgt[..., :, 1:]).mean() + ((gy(ly) - gy(lt)).abs() * wgt[..., 1:, :]).mean()
    on = ((y - t).abs() * near).sum() / (3 * near.sum() + 1)
    return bh + grad + 0.5 * on


def style_loss(teacher, y, t, w):
    l1 = F.l1_loss(y, t)
    if w["perc"] or w["gram"]:
        fy, ft = encoder(teacher, y), encoder(teacher, t)
        perc = sum(F.l1_loss(a, b.detach()) for a, b in zip(fy, ft))
        sty = sum(F.mse_loss(gram(a), gram(b).detach()) for a, b in zip(fy, ft))
    else:  # the teacher's encoder is most of a step's time on a CPU
        perc = sty = torch.zeros((), device=y.device)
    ss = ssim_loss(y, t)
    total = w["l1"] * l1 + w["perc"] * perc + w["gram"] * sty + w["ssim"] * ss
    parts = {"l1": l1.item(), "perc": perc.item(), "gram": sty.item(), "ssim": ss.item()}
    if w.get("lines"):
        ln = line_loss(y, t)
        total = total + w["lines"] * ln
        parts["lines"] = ln.item()
    return total, parts


def git_commit():
    """HEAD of the repository holding this script, "+dirty" when it has
    uncommitted changes (recorded in every checkpoint)."""
    import subprocess
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=HERE,
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load_v1_dir(d):
    """v1 weights from a directory of onnxweights output (raw float32 per tensor)."""
    ref = AnimeGANTiny(slope=0)
    st = ref.state_dict()
    for k, v in st.items():
        a = np.fromfile(os.path.join(d, k + ".f32"), dtype="<f4")
        st[k] = torch.from_numpy(a.reshape(v.shape).copy())
    ref.load_state_dict(st)
    return ref.eval().requires_grad_(False)


# ---------------------------------------------------------------- evaluation

def evaluate(model, held, device):
    model.eval()
    ps = []
    with torch.no_grad():
        for it in held.items:
            y = model(it["photo"].float().unsqueeze(0).to(device)).cpu()
            ps.append(data.psnr(y, it["out"].float().unsqueeze(0)))
    model.train()
    return float(np.mean(ps))


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description="Distil AnimeGAN-Tiny from the AnimeGANv2 teacher.")
    ap.add_argument("--photos", default="../shared/photos")
    ap.add_argument("--teacher", default=DEFAULT_PATH)
    ap.add_argument("--cache", default=os.path.join(HERE, "cache"))
    ap.add_argument("--run", default=os.path.join(HERE, "runs", "full"))
    ap.add_argument("--minutes", type=float, default=80, help="wall-clock budget (ignored with --steps)")
    ap.add_argument("--steps", type=int, default=0, help="step budget shared by the phases (reproducible; 0: --minutes)")
    ap.add_argument("--stop-after", type=int, default=0,
                    help="stop (resumably) after this many steps of the --steps schedule, as a run cut short")
    ap.add_argument("--ck-steps", type=int, default=150, help="with --steps: checkpoint and score every this many steps")
    ap.add_argument("--arch", choices=sorted(STUDENTS), default="v2", help="student architecture (student.py)")
    ap.add_argument("--init-v1", help="v2: directory of v1 weights (onnxweights) for down2 and body, and the align phase's reference")
    ap.add_argument("--w-lines", type=float, default=0.5, help="weight of the line loss (style, fine-tune, align; v2)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--size", type=int, default=256, help="teacher target crop size (fine-tune size)")
    ap.add_argument("--held", type=int, default=8, help="held-out photos scored at each checkpoint")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--smoke", action="store_true", help="a few steps on a few small crops (CI)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--min-steps", type=int, default=0, help="steps per phase even past the budget")
    ap.add_argument("--targets", choices=("port", "tflite"), default="port",
                    help="teacher outputs from the int8-emulating PyTorch port (faster) or the TFLite teacher")
    ap.add_argument("--target-rounds", type=int, default=3, help="crops per training photo at most")
    ap.add_argument("--target-share", type=float, default=0.2, help="share of the budget for targets")
    ap.add_argument("--target-crops", type=int, default=0,
                    help="train on exactly the first N crops (photo order shuffled by --seed), making the missing ones (0: --target-share)")
    ap.add_argument("--targets-only", action="store_true", help="cache the teacher targets and stop")
    ap.add_argument("--init", help="start from this checkpoint's weights (a new run only)")
    ap.add_argument("--phases", help="phases to run, in order (default: all of --arch's)")
    ap.add_argument("--w-ssim", type=float, default=0.2, help="weight of 1-SSIM in style/fine-tune")
    ap.add_argument("--w-perc", type=float, default=0.05, help="weight of the perceptual L1 in the teacher encoder's features")
    ap.add_argument("--w-gram", type=float, default=0.5, help="weight of the Gram-matrix MSE in the teacher encoder's features")
    ap.add_argument("--ema-reset", action="store_true", help="on resume, restart the weight average from the current weights")
    ap.add_argument("--ema", type=float, default=0.998, help="weight EMA decay (0: off); EMA weights are scored and exported")
    a = ap.parse_args()
    table = PHASES if a.arch == "v1" else PHASES_V2
    if a.phases is None:
        a.phases = ",".join(n for n, _ in table)
    phases = [(n, w) for n, w in table if n in a.phases.split(",")]
    if not phases:
        ap.error(f"--phases: none of {a.phases!r} is one of {[n for n, _ in table]}")
    if "align" in a.phases and not a.init_v1:
        ap.error("the align phase needs --init-v1")

    if a.smoke:
        a.size, a.crop, a.batch, a.held = 64, 32, 2, 2
        a.minutes = a.minutes if a.minutes != 80 else 0.4
        a.min_steps = max(a.min_steps, 2)
        a.steps = a.steps or 0
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    device = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if a.device == "auto" else a.device))
    os.makedirs(a.run, exist_ok=True)
    t_start = time.time()
    budget = a.minutes * 60

    ckpt_path = os.path.join(a.run, "last.pt")
    state = torch.load(ckpt_path, map_location="cpu") if os.path.exists(ckpt_path) else None
    used_before = state["used"] if state else 0.0
    remaining = lambda: budget - used_before - (time.time() - t_start)

    teacher = Teacher.from_tflite(a.teacher)
    photos = data.list_photos(a.photos)
    train_p, held_p = data.split(photos, a.photos)
    legacy = data.legacy_held_out(photos)
    train_p = [p for p in train_p if p not in legacy]
    if a.smoke:
        train_p, held_p = train_p[:4], held_p[:a.held]
    rng_p = random.Random(a.seed)
    rng_p.shuffle(train_p)
    cache = os.path.join(a.cache, f"tfl{a.size}")
    log(a.run, f"start: device {device}, threads {a.threads}, budget {a.minutes:.1f} min "
               f"({remaining() / 60:.1f} left), {len(train_p)} train / {len(held_p)} held-out photos")

    # targets: held-out ones first (cheap, few), then training crops
    # held-out targets always from the TFLite teacher itself (what evaluation scores against)
    tfl = TFLiteModel(a.teacher, threads=a.threads)
    if tfl.input_shape()[1:3] != (a.size, a.size):  # its resizes have fixed output sizes
        tfl.close()
        tfl = None
    held_names = make_targets(teacher, tfl, held_p[:a.held], a.photos, cache, a.size, float("inf"), a.run, a.seed, "held")
    if tfl is not None and a.targets == "port":
        tfl.close()
        tfl = None
    tdead = time.time() + max(0.0, a.target_share * budget - used_before - (time.time() - t_start))
    names = make_targets(teacher, tfl, train_p, a.photos, cache, a.size, tdead, a.run, a.seed, "train",
                         rounds=a.target_rounds, limit=a.target_crops)
    if tfl is not None:
        tfl.close()
    if a.targets_only:
        log(a.run, f"targets only: {len(names)} training crops cached")
        return
    # --target-crops: exactly those crops; else every training crop in the cache
    train = Cached(cache, "train", names if a.target_crops else None)
    held = Cached(cache, "held", held_names)
    log(a.run, f"targets: {len(train.items)} training crops, {len(held.items)} held-out")

    Student = STUDENTS[a.arch]
    model = Student(slope=0.2 if a.arch == "v1" else 0.0).to(device)
    adapters = nn.ModuleDict({k: nn.Conv2d(model.widths[k], 128, 1) for k in MIMIC}).to(device)
    v1ref = None
    if a.init_v1:
        v1ref = load_v1_dir(a.init_v1).to(device)
        if not state:
            got = init_from_v1(model, v1ref.state_dict())
            log(a.run, f"initialised {len(got)} tensors (down2, body) from v1 weights in {a.init_v1}")
    if a.init and not state:
        ini = torch.load(a.init, map_location="cpu")
        model.load_state_dict(ini["model"])
        adapters.load_state_dict(ini["adapters"])
        model.act.slope = ini.get("slope", 0.2)
        log(a.run, f"initialised from {a.init} (step {ini.get('step', '?')}, slope {model.act.slope})")
    ema = Student().to(device)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    ema.act.slope = model.act.slope
    params = list(model.parameters()) + list(adapters.parameters())
    opt = torch.optim.Adam(params, lr=a.lr, betas=(0.5, 0.999))
    phase_i, phase_used, step, best, best_slope = 0, 0.0, 0, -1.0, None
    ema_synced = False
    history = []
    if state:
        model.load_state_dict(state["model"])
        adapters.load_state_dict(state["adapters"])
        opt.load_state_dict(state["opt"])
        ema.load_state_dict(state.get("ema", state["model"]))
        model.act.slope = ema.act.slope = state.get("slope", 0.2)
        phase_i, phase_used, step, best = state["phase"], state["phase_used"], state["step"], state["best"]
        best_slope = state.get("best_slope", 0.2)
        ema_synced = state.get("ema_synced", False)
        history = state.get("history", [])
        if a.ema_reset:
            ema.load_state_dict(model.state_dict())
        log(a.run, f"resumed at phase {phase_i} ({phases[min(phase_i, len(phases) - 1)][0]}), step {step}")
    log(a.run, f"student: {count_params(model)} params, {count_macs(model, 256, 256) / 1e9:.2f} GMACs at 256^2")

    weights = {"l1": 1.0, "perc": a.w_perc, "gram": a.w_gram, "ssim": a.w_ssim, "lines": a.w_lines if a.arch == "v2" else 0.0}
    commit = git_commit()
    log(a.run, f"git commit {commit}, arch {a.arch}, " + (f"{a.steps} steps" if a.steps else f"{a.minutes} min"))
    teacher.to(device)
    # The teacher's LayerNorm epsilon (1e-12) makes the encoder's gradients explode on
    # flat images; as a loss network it uses 1e-3 (the targets are computed already).
    for m in teacher.modules():
        if hasattr(m, "eps"):
            m.eps = 1e-3

    def save(tag="last"):
        # best.pt holds the EMA weights as "model" (what export.py and evaluate.py load)
        st = {"model": (ema if tag == "best" else model).state_dict(), "ema": ema.state_dict(),
              "slope": model.act.slope, "adapters": adapters.state_dict(), "opt": opt.state_dict(),
              "phase": phase_i, "phase_used": phase_used, "step": step, "best": best, "best_slope": best_slope, "ema_synced": ema_synced, "history": history,
              "used": budget - remaining(), "args": vars(a), "arch": a.arch, "commit": commit}
        torch.save(st, os.path.join(a.run, tag + ".pt.tmp"))
        os.replace(os.path.join(a.run, tag + ".pt.tmp"), os.path.join(a.run, tag + ".pt"))

    # the training phases share what is left of the budget in proportion to their weights
    left_total = remaining()
    shares = [w for _, w in phases]
    relu_run = any(n == "relu" for n, _ in phases)

    def better(score):
        """Whether the current EMA weights should become best.pt (what gets
        exported): in a run with a relu phase only ReLU weights count, and the
        first ReLU score replaces any LeakyReLU best."""
        if phases[min(phase_i, len(phases) - 1)][0] == "recon":
            return False
        if relu_run:
            if model.act.slope != 0:
                return False
            if best_slope != 0:
                return True
        return score > best
    while phase_i < len(phases):
        name, _ = phases[phase_i]
        rest = sum(shares[phase_i:])
        if a.steps:  # a step budget: phase lengths (and phase_used) in steps
            phase_len = round(a.steps * shares[phase_i] / sum(shares))
        else:
            phase_len = left_total * shares[phase_i] / rest + phase_used if left_total > 0 else 0
        p0 = time.time() - phase_used
        used0 = phase_used
        last_ck = time.time()
        base_lr = a.lr * {"style": 0.25, "relu": 0.25, "finetune": 0.1, "align": 0.5}.get(name, 1.0)
        agg = {}
        log(a.run, f"phase {name}: " + (f"{phase_len} steps ({used0:.0f} done)" if a.steps else f"{phase_len / 60:.1f} min"))
        phase_steps = 0
        progress = (lambda: used0 + phase_steps) if a.steps else (lambda: time.time() - p0)
        going = (lambda: progress() < phase_len) if a.steps else (lambda: time.time() - p0 < phase_len and remaining() > 0)
        while going() or phase_steps < a.min_steps:
            if a.stop_after and step >= a.stop_after:
                save()
                log(a.run, f"stopped after step {step} (--stop-after; resumable)")
                return
            frac = progress() / max(phase_len, 1e-6)
            phase_steps += 1
            for g in opt.param_groups:
                g["lr"] = base_lr * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * min(frac, 1.0))))
            if name == "relu":
                model.act.slope = ema.act.slope = 0.2 * max(0.0, 1 - frac / ANNEAL)
                if model.act.slope == 0 and not ema_synced:
                    # the average of weights trained for other slopes is no
                    # ReLU model (it scored 9 dB below the raw weights): restart it
                    ema.load_state_dict(model.state_dict())
                    ema_synced = True
            if name == "finetune":
                b = train.batch(max(1, a.batch // 4), a.size, rng)
            else:
                b = train.batch(a.batch, a.crop, rng)
            b = {k: v.to(device) for k, v in b.items()}
            if name == "recon":
                y = model(b["photo"])
                loss = F.l1_loss(y, b["photo"])
                parts = {"l1_photo": loss.item()}
            elif name == "align":
                # v2's new stem must feed v1's down2 and body what they were
                # trained on; its decoder learns the teacher's output
                y, fs = model(b["photo"], feats=True)
                with torch.no_grad():
                    _, fr = v1ref(b["photo"], feats=True)
                fm = sum(F.mse_loss(fs[k], fr[k]) for k in ("down2", "body"))
                l1 = F.l1_loss(y, b["out"])
                ln = line_loss(y, b["out"])
                loss = l1 + weights["lines"] * ln + 0.5 * fm + weights["ssim"] * ssim_loss(y, b["out"])
                parts = {"l1": l1.item(), "lines": ln.item(), "feat_v1": fm.item()}
            elif name == "mimic":
                y, fs = model(b["photo"], feats=True)
                fm = sum(F.mse_loss(adapters[k](fs[k]), b[v]) for k, v in MIMIC.items())
                l1 = F.l1_loss(y, b["out"])
                loss = l1 + 0.5 * fm
                parts = {"l1": l1.item(), "feat": fm.item()}
            else:
                y = model(b["photo"])
                loss, parts = style_loss(teacher, y, b["out"], weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            with torch.no_grad():
                d = a.ema if (a.ema > 0 and name != "recon") else 0.0
                for pe, pm in zip(ema.parameters(), model.parameters()):
                    pe.mul_(d).add_(pm.detach(), alpha=1 - d)
            step += 1
            for k, v in parts.items():
                agg.setdefault(k, []).append(v)
            if (step % a.ck_steps == 0) if a.steps else (time.time() - last_ck > (20 if a.smoke else 180)):
                phase_used = progress()
                score = evaluate(ema, held, device)
                summ = {k: float(np.mean(v)) for k, v in agg.items()}
                history.append({"step": step, "phase": name, "held_psnr": score, **summ})
                log(a.run, f"{name} step {step}: " + " ".join(f"{k} {v:.4f}" for k, v in summ.items()) +
                    f" | held-out PSNR vs teacher {score:.2f} dB | {remaining() / 60:.1f} min left")
                agg = {}
                if best > 0 and score < best - 3 and name in ("style", "finetune"):
                    # diverged: back to the best weights with half the learning rate
                    bst = torch.load(os.path.join(a.run, "best.pt"), map_location="cpu")
                    model.load_state_dict(bst["model"])
                    ema.load_state_dict(bst["model"])
                    adapters.load_state_dict(bst["adapters"])
                    opt.state.clear()
                    base_lr *= 0.5
                    log(a.run, f"held-out PSNR fell to {score:.2f} dB: restored best.pt, lr x0.5")
                # best.pt is what gets exported: once the slope anneals, only ReLU models count
                if better(score):
                    best, best_slope = score, model.act.slope
                    save("best")
                save()
                last_ck = time.time()
        score = evaluate(ema, held, device)
        summ = {k: float(np.mean(v)) for k, v in agg.items()}
        history.append({"step": step, "phase": name, "held_psnr": score, **summ})
        log(a.run, f"phase {name} done at step {step}: " + " ".join(f"{k} {v:.4f}" for k, v in summ.items()) +
            f" | held-out PSNR vs teacher {score:.2f} dB")
        if name == "relu":
            model.act.slope = ema.act.slope = 0.0
            score = evaluate(ema, held, device)
        if better(score):
            best, best_slope = score, model.act.slope
            save("best")
        phase_i += 1
        phase_used = 0.0
        left_total = remaining()
        save()
    if not os.path.exists(os.path.join(a.run, "best.pt")):
        save("best")
    with open(os.path.join(a.run, "summary.json"), "w") as f:
        json.dump({"steps": step, "best_held_psnr": best, "minutes": (budget - remaining()) / 60,
                   "params": count_params(model), "history": history}, f, indent=1)
    log(a.run, f"done: {step} steps, best held-out PSNR {best:.2f} dB, {(budget - remaining()) / 60:.1f} min used")


if __name__ == "__main__":
    main()
