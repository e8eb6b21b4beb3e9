# usage: python3 bench/attack_stats.py DIR...   (needs numpy)
# DIR: a `uae attack` output folder (stats.jsonl, adversarial.safetensors) or a seed folder of
# `uae augment` (seed-S/: uae.jsonl, uae.safetensors).
# Summary of `uae attack` output folders: success rate, mean I of the successes, mean relative loss
# change, mean loss of x', iterations per sample, mean |delta|, mean and max ||delta||_inf (from
# adversarial.safetensors), the share of examples whose starting point was selected; then, for
# folders of the same examples as the first, how far their x' are from the first's (mean and max
# |x'_a - x'_b| per pixel, the cosine of the two deltas per example: median and min).
import json, os, struct, sys
import numpy as np

def load_st(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__": continue
        a, b = v["data_offsets"]
        dtype = {"F32": np.float32, "I64": np.int64, "U8": np.uint8}[v["dtype"]]  # index, success
        out[k] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype).reshape(v["shape"])
    return out

runs = []
for d in sys.argv[1:]:
    augment = os.path.exists(d + "/uae.jsonl")  # a seed folder of uae augment
    L = [json.loads(l) for l in open(d + ("/uae.jsonl" if augment else "/stats.jsonl"))]
    st = load_st(d + ("/uae.safetensors" if augment else "/adversarial.safetensors"))
    x, xa = st["x"].reshape(len(L), -1), st["x_adv"].reshape(len(L), -1)
    runs.append((d, x, xa))
    dl = np.abs(xa - x)
    succ = [l for l in L if l["success"]]
    mi = [l["I"] for l in succ if l["I"] is not None]
    rel = np.mean([(l["loss_adv"] - l["loss_clean"]) / abs(l["loss_clean"]) for l in L if l["loss_clean"] != 0])
    print("%s: n %d success %.3f meanI(succ) %s rel.loss %+.3f loss(x') %.4f it/sample %.0f mean|d| %.4f "
          "mean|d|inf %.4f max|d|inf %.4f sel0 %.3f" % (
        d, len(L), len(succ) / len(L), "%.4f" % np.mean(mi) if mi else "-", rel,
        np.mean([l["loss_adv"] for l in L]), np.mean([l["iterations"] for l in L]), dl.mean(),
        dl.max(axis=1).mean(), dl.max(), np.mean([l["selected_iter"] == 0 for l in L])))

for d, x, xa in runs[1:]:
    d0, x0, xa0 = runs[0]
    if x.shape != x0.shape or not (x == x0).all():
        continue  # other examples: nothing to compare
    da, db = xa0 - x0, xa - x
    cos = (da * db).sum(1) / (np.linalg.norm(da, axis=1) * np.linalg.norm(db, axis=1))
    print("%s vs %s: mean|x'-x'| %.4f max %.4f, cos(delta) median %.3f min %.3f" % (
        d, d0, np.abs(xa - xa0).mean(), np.abs(xa - xa0).max(), np.median(cos), cos.min()))
