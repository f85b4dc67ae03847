"""PyTorch peer of `tracoco bench eval` (GUIDE §5, §9): the reference sliding-window evaluation
(`test_single_case`) of one volume with an eval-mode VNet: min-max normalise, centred zero
padding to the patch, windows at stride (xy, z), softmax summed and divided by the coverage,
argmax. Reads the volume as raw float32 (x, y, z row-major); prints one JSON line:
  {"ms": [per run], "median_ms": m, "threads": t, "torch": version}

  torch_eval.py --input V.f32 --shape 175x132x88 [--filters 16] [--patch 112x112x80]
                [--stride-xy 18] [--stride-z 4] [--runs 1] [--threads N]
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "support"))
from torch_vnet import VNet  # noqa: E402  (the reference VNet of the interop tests)


def test_single_case(net, image, patch, sxy, sz, classes=2):
    image = (image - image.min()) / max(image.max() - image.min(), 1e-12)
    w, h, d = image.shape
    pads = [max(p - s, 0) for s, p in zip(image.shape, patch)]
    lo = [p // 2 for p in pads]
    image = np.pad(image, [(l, p - l) for l, p in zip(lo, pads)], mode="constant")
    ww, hh, dd = image.shape
    sx = math.ceil((ww - patch[0]) / sxy) + 1
    sy = math.ceil((hh - patch[1]) / sxy) + 1
    szn = math.ceil((dd - patch[2]) / sz) + 1
    score = np.zeros((classes,) + image.shape, dtype=np.float32)
    cnt = np.zeros(image.shape, dtype=np.float32)
    for x in range(sx):
        xs = min(sxy * x, ww - patch[0])
        for y in range(sy):
            ys = min(sxy * y, hh - patch[1])
            for z in range(szn):
                zs = min(sz * z, dd - patch[2])
                window = image[xs:xs + patch[0], ys:ys + patch[1], zs:zs + patch[2]]
                t = torch.from_numpy(np.ascontiguousarray(window[None, None])).float()
                with torch.no_grad():
                    y1 = F.softmax(net(t), dim=1)[0].numpy()
                score[:, xs:xs + patch[0], ys:ys + patch[1], zs:zs + patch[2]] += y1
                cnt[xs:xs + patch[0], ys:ys + patch[1], zs:zs + patch[2]] += 1
    score = score / cnt[None]
    labels = np.argmax(score, axis=0)
    return labels[lo[0]:lo[0] + w, lo[1]:lo[1] + h, lo[2]:lo[2] + d]


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--shape", required=True)
    ap.add_argument("--filters", type=int, default=16)
    ap.add_argument("--patch", default="112x112x80")
    ap.add_argument("--stride-xy", type=int, default=18)
    ap.add_argument("--stride-z", type=int, default=4)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    shape = tuple(int(v) for v in a.shape.split("x"))
    patch = tuple(int(v) for v in a.patch.split("x"))
    image = np.fromfile(a.input, dtype=np.float32).reshape(shape)
    net = VNet(1, 2, a.filters, "batchnorm", has_dropout=True)
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, 1, *patch))  # warm-up, as ours: one window
    times = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        test_single_case(net, image, patch, a.stride_xy, a.stride_z)
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"ms": [round(t, 1) for t in times], "median_ms": round(statistics.median(times), 1), "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main(sys.argv[1:])
