#!/usr/bin/env python3
"""bench/cpu_targets.py OUT_DIR — the target table of docs/performance.md from what
bench/cpu_targets.sh wrote into OUT_DIR (uae-bench JSON, torch_compare.py output). Markdown on
stdout: per figure the measured value, the target and met / not met. Standard library only."""
import glob
import json
import os
import re
import statistics
import sys

OUT = sys.argv[1]
# conv-ae: FLOP of one image's forward pass (2*P*Q*K*C*R*S over its five 5x5 "same" layers); a
# training step is about 3x (forward, input gradient, weight gradient).
CONV_AE_FWD_FLOP = 2 * (784 * 16 * 25 + 196 * 8 * 400 + 49 * 8 * 200 + 196 * 16 * 200 + 784 * 400)


def load(name):
    path = os.path.join(OUT, name)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except ValueError:
        return None


def results(doc, threads=None):
    if not doc:
        return []
    return [r for r in doc["results"] if r["status"] == "ok" and (threads is None or r["threads"] == threads)]


def thread_counts(doc):
    return sorted({r["threads"] for r in results(doc)})


def verdict(ok):
    return "met" if ok else "not met"


rows = []  # (figure, value, target, verdict, source)


def row(fig, value, target, ok, src):
    rows.append((fig, value, target, "-" if ok is None else verdict(ok), src))


def floor_of(isa, gen, threads):
    """The floor of a uae-gen result: least bytes / best bandwidth + FLOP / best square GEMM, the
    best of every run of this path and thread count in OUT (uae-bench prints the same with the
    cases of its own run only)."""
    bw, gf = [], []
    for path in glob.glob(os.path.join(OUT, f"*-{isa}.json")):
        for r in results(load(os.path.basename(path)), threads):
            if r["op"] == "bandwidth":
                bw.append(r["bytes"] / r["time"]["min_s"])
            if r["op"] == "gemm" and r["case"].split()[-1].isdigit():
                gf.append(r["flop"] / r["time"]["min_s"])
    if not bw or not gf or "floor_bytes" not in gen:
        return None, None, None
    return gen["floor_bytes"] / max(bw) + gen["floor_flop"] / max(gf), max(bw) / 1e9, max(gf) / 1e9


isas = [i for i in ("avx512", "avx2", "generic") if os.path.exists(os.path.join(OUT, f"gemm-{i}.json"))]
print(f"# CPU targets, {OUT}\n")
try:
    model = [l.split(":", 1)[1].strip() for l in open(os.path.join(OUT, "lscpu.txt")) if l.startswith("Model name")]
    print(f"CPU: {model[0] if model else '?'}; load: " + " / ".join(
        l.strip().split("load average:")[-1].strip() for l in open(os.path.join(OUT, "load.txt"))) + "\n")
except OSError:
    pass

gen_speed = {}
for isa in isas:
    g = load(f"gemm-{isa}.json")
    tmax = max(thread_counts(g)) if g else 0
    # SGEMM against OpenBLAS, all threads, and 1 -> n threads.
    for t in thread_counts(g):
        for r in results(g, t):
            if r.get("cblas"):
                ratio = r["cblas"]["median_s"] / r["median_s"]
                row(f"[{isa}] SGEMM {r['shape']} vs OpenBLAS, {t} thr",
                    f"{r['gflops']:.0f} vs {r['cblas_gflops']:.0f} GFLOP/s = {ratio:.2f}x", ">= 0.9x",
                    ratio >= 0.9, f"gemm-{isa}.json")
    for r in results(g, 1):
        r2 = [x for x in results(g, tmax) if x["case"] == r["case"]]
        if r2 and tmax > 1:
            s = r["median_s"] / r2[0]["median_s"]
            row(f"[{isa}] SGEMM {r['shape']} 1 -> {tmax} threads", f"{s:.2f}x", ">= 1.8x", s >= 1.8, f"gemm-{isa}.json")
    m = load(f"mine-gemm-{isa}.json")
    tm = max(thread_counts(m)) if m else 0
    for t in thread_counts(m):
        for r in results(m, t):
            if "mine" in r["case"] and r.get("cblas"):
                ratio = r["cblas"]["median_s"] / r["median_s"]
                row(f"[{isa}] MINE {r['case'].split()[-1]} {r['shape']} vs OpenBLAS one by one, {t} thr",
                    f"{r['gflops']:.0f} vs {r['cblas_gflops']:.0f} GFLOP/s = {ratio:.2f}x", ">= 0.9x",
                    ratio >= 0.9, f"mine-gemm-{isa}.json")
    c = load(f"conv-{isa}.json")
    tc = max(thread_counts(c)) if c else 0
    sp = []
    for r in results(c, 1):
        r2 = [x for x in results(c, tc) if x["case"] == r["case"]]
        if r2 and tc > 1:
            sp.append(r["median_s"] / r2[0]["median_s"])
    if sp:
        row(f"[{isa}] conv forward 1 -> {tc} threads (min / median over {len(sp)} layers)",
            f"{min(sp):.2f}x / {statistics.median(sp):.2f}x", ">= 1.8x", min(sp) >= 1.8, f"conv-{isa}.json")
    # The attack against its floor, and 1 -> n threads.
    for name, b in ((f"gen1-{isa}.json", 1), (f"gen16-{isa}.json", 16)):
        d = load(name)
        for t in thread_counts(d):
            gens = [r for r in results(d, t) if r["op"] == "uae-gen"]
            if not gens:
                continue
            gen = gens[0]
            fl, bw, gf = floor_of(isa, gen, t)
            its = gen["items"]
            per_uae = gen["median_s"] / its * 40
            gen_speed[(isa, b, t)] = its / gen["median_s"]
            if fl:
                ratio = gen["median_s"] / fl
                row(f"[{isa}] attack B={b}, {t} thr: measured / floor",
                    f"{gen['median_s']:.2f} s / {fl:.2f} s = {ratio:.2f}x ({per_uae:.1f} s per UAE; "
                    f"{bw:.1f} GB/s, {gf:.0f} GFLOP/s)", "<= 1.5x", ratio <= 1.5, name)
        ts = thread_counts(d)
        if len(ts) > 1:
            a = [r for r in results(d, ts[0]) if r["op"] == "uae-gen"]
            z = [r for r in results(d, ts[-1]) if r["op"] == "uae-gen"]
            if a and z:
                s = a[0]["median_s"] / z[0]["median_s"]
                row(f"[{isa}] attack B={b} 1 -> {ts[-1]} threads", f"{s:.2f}x", ">= 1.8x", s >= 1.8, name)
    tr = load(f"train-{isa}.json")
    for r in results(tr):
        if r["op"] == "train-conv-ae":
            ips = r["items_per_s"]
            peak = max([x["gflops"] or 0 for x in results(g, r["threads"])] or [0])
            gfl = ips * 3 * CONV_AE_FWD_FLOP / 1e9
            gen_speed[(isa, "train", r["threads"])] = ips
            row(f"[{isa}] conv-ae training, {r['threads']} thr", f"{ips:.0f} images/s (~{gfl:.1f} GFLOP/s, "
                f"{100 * gfl / peak:.0f} % of the best SGEMM)" if peak else f"{ips:.0f} images/s", "-", None,
                f"train-{isa}.json")


def torch_rate(name):
    """UAE-iterations/s or images/s from torch_compare.py's median time (its printed rate has two
    decimals only)."""
    path = os.path.join(OUT, name)
    if not os.path.exists(path):
        return None
    text = open(path).read()
    m = re.findall(r"uae-gen\s+B (\d+)\s+iterations (\d+)\s+median run ([0-9.]+) s", text)
    if m:
        b, it, t = m[-1]
        return int(b) * int(it) / float(t)
    m = re.findall(r"(\d+) images\s+median epoch ([0-9.]+) ms", text)
    if m:
        n, t = m[-1]
        return int(n) / (float(t) / 1e3)
    return None


for isa in isas:
    for t, sfx in ((2, ""), (1, "-t1")):
        for b in (1, 16):
            fname = f"torch-gen{b}{sfx}.txt"
            tv, us = torch_rate(fname), gen_speed.get((isa, b, t))
            if us and tv:
                row(f"[{isa}] attack B={b} vs PyTorch ({t} thr)",
                    f"{us:.3f} vs {tv:.3f} UAE-its/s = {us / tv:.2f}x", ">= 4x", us / tv >= 4, fname)
            elif us and b == 1:
                row(f"[{isa}] attack B={b} vs PyTorch ({t} thr)", "PyTorch not run", ">= 4x", None, fname)
        fname = f"torch-train{sfx}.txt"
        tv, us = torch_rate(fname), gen_speed.get((isa, "train", t))
        if us and tv:
            row(f"[{isa}] conv-ae training vs PyTorch ({t} thr)",
                f"{us:.0f} vs {tv:.0f} images/s = {us / tv:.2f}x", ">= 2x", us / tv >= 2, fname)

print("| figure | measured | target | verdict | file |")
print("|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
