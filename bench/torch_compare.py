#!/usr/bin/env python3
"""bench/torch_compare.py — the two end-to-end cases of `uae-bench` (apps/bench_e2e.c) written in
PyTorch, so that uaekit's CPU backend can be compared with PyTorch on the same machine and threads.

A MANUAL tool: it needs PyTorch (Debian's python3-torch: `/usr/bin/python3 bench/torch_compare.py`);
the build and CI never run it and never need torch. It checks no numbers against uaekit, it only
times the same computation (same shapes, same optimisers, same number of steps):

  train  one epoch of 1000 synthetic 28x28 images through conv-ae (Conv(16,5,same,ReLU) -> MaxPool2
         -> Conv(8,5,same,ReLU) -> MaxPool2 -> Conv(8,5,same,ReLU) -> Upsample2 -> Conv(16,5,same,
         ReLU) -> Upsample2 -> Conv(1,5,same,sigmoid)), batch 100, Adadelta(1.0, 0.95, 1e-7), BCE.
         Prints images/s (median epoch after a warm-up epoch), as `uae-bench --op train-conv-ae`.
  gen    one MinMax UAE attack run of B images against conv-ae with `--iterations` iterations, as
         `uae-bench --op uae-gen` (models/attack_run.c, models/mine.c): per image a MINE network on
         the 16 first-layer channel maps of the image (n = 16 samples of 1x28x28), two branches
         Conv(16,2x2,valid) -> flatten (11664) -> Dense(512) -> Dense(10), summed, ReLU,
         Dense(1, no bias); the B networks are batched (grouped conv, bmm). A run: clean loss and
         samples, fresh MINE weights (Glorot uniform) and delta, then per iteration one objective
         pass (c * relu(SSE - SSE_clean) + DV bound, gradient to delta), one delta step, and 20
         MINE Adam steps (lr 1.5e-5, eps 1e-8) on the DV bound with a fresh permutation marginal.
         Prints UAE-iterations/s = B * iterations / (time of a run), as uae-bench does.

Usage: /usr/bin/python3 bench/torch_compare.py [--threads 2] [--case train|gen|all]
                                               [--batch 1,16] [--iterations 1] [--reps 3]
"""
import argparse
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F



def conv_ae():
    """conv-ae as in uaekit's models/model_ae.c (Keras 'same' padding, nearest upsampling)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 5, padding=2), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(8, 16, 5, padding=2), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(16, 1, 5, padding=2), nn.Sigmoid())


def bench_train(reps, images=1000, batch=100):
    torch.manual_seed(0)
    model = conv_ae()
    opt = torch.optim.Adadelta(model.parameters(), lr=1.0, rho=0.95, eps=1e-7)
    x = torch.rand(images, 1, 28, 28)

    def epoch():
        for first in range(0, images - batch + 1, batch):
            xb = x[first:first + batch]
            opt.zero_grad(set_to_none=True)
            loss = F.binary_cross_entropy(model(xb), xb)
            loss.backward()
            opt.step()

    epoch()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    n = images // batch * batch
    print(f"train-conv-ae  batch {batch}  {n} images  median epoch {med * 1e3:.0f} ms "
          f"(min {min(times) * 1e3:.0f}, max {max(times) * 1e3:.0f})  {n / med:.0f} images/s")


def glorot(shape, fan_in, fan_out):
    lim = math.sqrt(6.0 / (fan_in + fan_out))
    return (torch.rand(shape) * 2 - 1) * lim


class Mine:
    """S per-sample MINE networks with batched weights (models/mine.c, conv net, SUM head, DV)."""

    def __init__(self, S, n=16, H=28, W=28, filters=16, k=2, hidden=512, out=10):
        self.S, self.n, self.F, self.k = S, n, filters, k
        self.oh, self.ow = H - k + 1, W - k + 1
        self.flat = filters * self.oh * self.ow  # 16 * 27 * 27 = 11664
        self.hidden, self.out = hidden, out

    def reset(self):
        S, Fi, k, h, o = self.S, self.F, self.k, self.hidden, self.out
        p = {}
        for b in ("x", "y"):
            p[b + "cw"] = glorot((S * Fi, 1, k, k), k * k, Fi * k * k)
            p[b + "cb"] = torch.zeros(S * Fi)
            p[b + "1w"] = glorot((S, self.flat, h), self.flat, h)  # (in, out): no transposes
            p[b + "1b"] = torch.zeros(S, h)
            p[b + "2w"] = glorot((S, h, o), h, o)
            p[b + "2b"] = torch.zeros(S, o)
        p["ow"] = glorot((S, o, 1), o, 1)
        self.p = {name: v.requires_grad_() for name, v in p.items()}
        self.opt = torch.optim.Adam(self.p.values(), lr=1.5e-5, eps=1e-8)

    def branch(self, b, s):
        """s: samples (S*n, 1, 28, 28) -> (S, n, out). Estimator j's conv sees its n samples."""
        p, S, n = self.p, self.S, self.n
        x = s.reshape(S, n, 28, 28).transpose(0, 1)                     # (n, S, 28, 28)
        h = F.conv2d(x, p[b + "cw"], p[b + "cb"], groups=S)            # (n, S*F, 27, 27)
        h = h.reshape(n, S, self.flat).transpose(0, 1)                  # (S, n, 11664)
        h = torch.baddbmm(p[b + "1b"].unsqueeze(1), h, p[b + "1w"])
        return torch.baddbmm(p[b + "2b"].unsqueeze(1), h, p[b + "2w"])

    def head(self, fx, fy):
        return torch.bmm(F.relu(fx + fy), self.p["ow"]).squeeze(2)  # (S, n)

    def bound(self, xs, ys):
        """DV bound per estimator (S): mean T(joint) - log mean exp T(marginal)."""
        fx, fy = self.branch("x", xs), self.branch("y", ys)
        perm = torch.argsort(torch.rand(self.S, self.n), dim=1)
        fym = torch.gather(fy, 1, perm.unsqueeze(2).expand(-1, -1, self.out))
        tj, tm = self.head(fx, fy), self.head(fx, fym)
        return tj.mean(1) - (torch.logsumexp(tm, 1) - math.log(self.n))

    def train_step(self, xs, ys):
        self.opt.zero_grad(set_to_none=True)
        (-self.bound(xs, ys).sum()).backward()
        self.opt.step()


def bench_gen(B, iterations, reps, mine_steps=20, lr=0.01, eps=1.0):
    torch.manual_seed(0)
    model = conv_ae().eval()
    for q in model.parameters():
        q.requires_grad_(False)
    first_layer = model[:2]  # conv1 + ReLU: the 16 channel maps are the MINE samples
    x = torch.rand(B, 1, 28, 28)
    mine = Mine(B)

    def samples(img):
        return first_layer(img).reshape(B * 16, 1, 28, 28)

    def sse(img):
        return ((model(img) - x) ** 2).reshape(B, -1).sum(1)

    def run():
        with torch.no_grad():
            lclean = sse(x)
            xs = samples(x)
            l0 = math.sqrt(6.0 / (28 * 28 + 1 * 28))  # uae_attack_delta0_limit: 0.0860
            delta = (torch.rand(B, 1, 28, 28) * 2 - 1) * l0
            delta = (x + delta.clamp(-eps, eps)).clamp(0, 1) - x
        c = torch.full((B,), 1e-3)
        mine.reset()
        with torch.no_grad():
            ys = samples(x + delta)
        for it in range(iterations):
            # objective pass: gradient to delta only (the MINE weights are constants here)
            d = delta.clone().requires_grad_()
            img = x + d
            viol = F.relu(sse(img) - lclean)
            I = mine.bound(xs, samples(img))
            (g,) = torch.autograd.grad((c * viol + I).sum(), [d])
            with torch.no_grad():
                delta = (delta - lr * g).clamp(-eps, eps)
                delta = (x + delta).clamp(0, 1) - x
                c = c + 0.1 * viol.detach() / (it + 1) ** 0.25
                ys = samples(x + delta)
            for _ in range(mine_steps):
                mine.train_step(xs, ys)

    run()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"uae-gen  B {B}  iterations {iterations}  median run {med:.2f} s "
          f"(min {min(times):.2f}, max {max(times):.2f})  {B * iterations / med:.2f} "
          f"UAE-iterations/s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--case", choices=["train", "gen", "all"], default="all")
    ap.add_argument("--batch", default="1,16", help="UAE batches B, comma-separated")
    ap.add_argument("--iterations", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if a.case in ("train", "all"):
        bench_train(a.reps)
    if a.case in ("gen", "all"):
        for B in (int(s) for s in a.batch.split(",")):
            bench_gen(B, a.iterations, a.reps)


if __name__ == "__main__":
    main()
