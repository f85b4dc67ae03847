"""PyTorch peer of `tracoco bench step` (GUIDE §5, §9): one full TraCoCo co-training step, both
models, the same forwards and losses as tracoco's step, on random volumes. Run with the Debian
/usr/bin/python3 (python3-torch); prints one JSON line:
  {"ms": [per timed step], "median_ms": m, "threads": t, "torch": version}

  torch_step.py [--patch 64x64x48] [--filters 8] [--batch 4] [--pairing intra|cross]
                [--kl reference|class] [--normalization batchnorm|instancenorm]
                [--runs 3] [--threads 2]

Per model m with peer m': pl = softmax(m'(f)) without gradient (train mode, as the reference);
out_f = m(f+n), out_s = m(s+n) (intra) or the peer's s view without gradient (cross),
out_u = m(cutmix(f)+n) for model 2, m(f+n) for model 1; loss = sup(out_f, y) + w (CRC(out_u, pl)
+ translation(out_f, s view)); one backward; SGD(lr, momentum 0.9, weight decay 1e-4).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "support"))
from torch_vnet import VNet  # noqa: E402  (the reference VNet of the interop tests)

SHIFT = 8  # f and s are offset by SHIFT voxels on every axis: the overlap is patch - SHIFT


def supervised(logits, labels):
    ce = F.cross_entropy(logits, labels)
    p = torch.softmax(logits, 1)[:, 1]
    t = (labels == 1).float()
    dice = 1 - (2 * (p * t).sum() + 1e-5) / ((p * p).sum() + (t * t).sum() + 1e-5)
    return 0.5 * (ce + dice)


def crc(logits, pl, gamma=0.65, beta=0.1):
    log_p = torch.log_softmax(logits, 1)
    conf, pos = pl.max(1)
    low, neg = pl.min(1)
    pos_mask = conf >= gamma
    neg_mask = low < beta
    loss = logits.new_zeros(())
    if pos_mask.any():
        loss = loss + (F.nll_loss(log_p, pos, reduction="none") * conf)[pos_mask].mean()
    if neg_mask.any():
        q = torch.log(torch.clamp(1 - torch.softmax(logits, 1), 1e-6, 1))
        loss = loss + (F.nll_loss(q, neg, reduction="none") * low)[neg_mask].mean()
    return loss


def translation(a, b, kl):
    if kl == "class":
        pa, pb = torch.softmax(a, 1), torch.softmax(b, 1)
        klv = (pb * (torch.log(pb + 1e-12) - torch.log(pa + 1e-12))).sum(1).mean()
    else:  # the published computation: clamp, softmax over the first spatial axis
        pa = torch.softmax(torch.clamp(a, 1e-6, 1), 2)
        pb = torch.softmax(torch.clamp(b, 1e-6, 1), 2)
        klv = F.kl_div(torch.log(pa), pb, reduction="mean")
    ent = 0.5 * ((pa * torch.log(pa + 1e-12)).sum(1).mean() + (pb * torch.log(pb + 1e-12)).sum(1).mean())
    return 0.3 * klv + 0.1 * ent


def cutmix(x, rng):
    lam = float(rng.beta(4, 4))
    n, _, X, Y, _ = x.shape
    cx, cy = int(X * (1 - lam) ** 0.5), int(Y * (1 - lam) ** 0.5)
    perm = torch.randperm(n)
    out = x.clone()
    x0 = int(rng.integers(X // 8, X)) - cx // 2
    y0 = int(rng.integers(Y // 8, Y)) - cy // 2
    xs, ys = slice(max(x0, 0), min(x0 + cx, X)), slice(max(y0, 0), min(y0 + cy, Y))
    out[:, :, xs, ys] = x[perm][:, :, xs, ys]
    return out, (perm, xs, ys)


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--patch", default="64x64x48")
    ap.add_argument("--filters", type=int, default=8)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--pairing", choices=["intra", "cross"], default="intra")
    ap.add_argument("--kl", choices=["reference", "class"], default="reference")
    ap.add_argument("--normalization", choices=["batchnorm", "instancenorm"], default="batchnorm")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args(argv)
    import numpy as np

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    X, Y, Z = (int(v) for v in a.patch.split("x"))
    B, half = a.batch, a.batch // 2
    models = [VNet(1, 2, a.filters, a.normalization, has_dropout=True) for _ in range(2)]
    for m in models:
        m.train()
    opts = [torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4) for m in models]
    ov = (slice(SHIFT, X), slice(SHIFT, Y), slice(SHIFT, Z))
    os_ = (slice(0, X - SHIFT), slice(0, Y - SHIFT), slice(0, Z - SHIFT))

    def noise(t):
        return t + torch.empty_like(t).uniform_(-0.2, 0.2)

    def step():
        f = torch.rand(B, 1, X, Y, Z)
        s = torch.rand(B, 1, X, Y, Z)
        y = (torch.rand(half, X, Y, Z) > 0.7).long()
        with torch.no_grad():
            pls = [torch.softmax(m(f), 1) for m in models]
            peer_s = [m(noise(s)) for m in models] if a.pairing == "cross" else None
        for i, (m, opt) in enumerate(zip(models, opts)):
            pl = pls[1 - i]
            u = f
            if i == 1:
                u, (perm, xs, ys) = cutmix(f, rng)
                pl = pl.clone()
                pl[:, :, xs, ys] = pls[1 - i][perm][:, :, xs, ys]
            out_f = m(noise(f))
            b = m(noise(s)) if a.pairing == "intra" else peer_s[1 - i]
            out_u = m(noise(u))
            tra = translation(out_f[:, :, ov[0], ov[1], ov[2]], b[:, :, os_[0], os_[1], os_[2]], a.kl)
            loss = supervised(out_f[:half], y) + 0.3 * (crc(out_u[half:], pl[half:]) + tra)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    step()  # warm-up
    times = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"ms": [round(t, 1) for t in times], "median_ms": round(statistics.median(times), 1), "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main(sys.argv[1:])
