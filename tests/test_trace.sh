#!/usr/bin/env bash
# tests/test_trace.sh — `uae attack --trace FILE` end to end on a generated table (no data set
# needed): one line per example and iterate with every documented key, exactly one selected line
# per example and it is stats.jsonl's selected_iter, each line's violation and success agree with
# its own losses and I, one bound per MINE step; a run cut short and resumed writes the same trace
# bytes as one that never stopped.
# Usage: test_trace.sh PATH/TO/uae
set -u
UAE=${1:?usage: test_trace.sh PATH/TO/uae}
. "$(dirname "$0")/cli_lib.sh"

# values in [0.05, 0.95]: the attack's box (uae attack does not scale tables; uae augment does)
awk 'BEGIN {
    printf "f0"; for (j = 1; j < 10; j++) printf ",f%d", j; print ",label";
    for (i = 0; i < 80; i++) {
        for (j = 0; j < 10; j++) printf "%s%.4f", (j ? "," : ""), 0.5 + 0.45 * sin(0.37 * i + 1.3 * j);
        printf ",%d\n", i % 2;
    }
}' > "$tmp/table.csv"
expect 0 "train a tiny dense-ae on a table" -- "$UAE" --quiet train --model dense-ae \
    --data "$tmp/table.csv" --epochs 1 --out "$tmp/m.safetensors"
ATTACK=(--quiet attack --model "$tmp/m.safetensors" --data "$tmp/table.csv" --n 5 --batch 2
    --iterations 4 --mine-steps 2 --mine-hidden 4 --proj-count 6 --proj-dim 4)
expect 2 "--trace without a file" -- "$UAE" "${ATTACK[@]}" --out "$tmp/x" --trace
expect 0 "attack --trace" -- "$UAE" "${ATTACK[@]}" --out "$tmp/a" --trace "$tmp/a.jsonl"
python3 - "$tmp/a.jsonl" "$tmp/a/stats.jsonl" <<'PY' || fail "the trace's lines"
import json, math, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
stats = [json.loads(l) for l in open(sys.argv[2])]
keys = {"index", "t", "search_step", "c", "loss_clean", "loss_adv", "violation", "I", "success",
        "mine_I", "delta_linf", "delta_mean", "delta_fnv1a64", "grad_l2", "selected"}
assert [(l["index"], l["t"]) for l in lines] == [(i, t) for i in range(5) for t in range(4)], \
    [(l["index"], l["t"]) for l in lines]
for l in lines:
    assert set(l) == keys, set(l) ^ keys
    assert len(l["mine_I"]) == 2, l
    v = max(0.0, l["loss_adv"] - l["loss_clean"])
    assert math.isclose(l["violation"], v, rel_tol=1e-5, abs_tol=1e-5 * l["loss_clean"]), l
    assert l["success"] == (l["violation"] == 0 and l["I"] > 0), l
    assert 0 <= l["delta_linf"] <= 1 and len(l["delta_fnv1a64"]) == 16, l
for s in stats:
    sel = [l["t"] for l in lines if l["index"] == s["index"] and l["selected"]]
    assert sel == [s["selected_iter"]], (sel, s)
    l = [l for l in lines if l["index"] == s["index"] and l["selected"]][0]
    assert l["success"] == s["success"] and math.isclose(l["I"], s["I"], rel_tol=1e-6), (l, s)
PY
# Success means what the docs say, from the saved files alone: l(x') = sum (x - AE(x'))^2 recomputed
# here in pure Python from m.safetensors (dense-ae: sigmoid(W2 sigmoid(W1 v + b1) + b2)) and the
# x, x_adv of adversarial.safetensors equals the selected line's loss_adv, and every success has
# l(x') <= l(x) and I > 0.
python3 - "$tmp/m.safetensors" "$tmp/a/adversarial.safetensors" "$tmp/a.jsonl" "$tmp/a/stats.jsonl" <<'PY' ||
import json, math, struct, sys
def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    out = {}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        # F32 tensors, and the I64 index and U8 success flags of adversarial.safetensors
        code, size = {"F32": ("f", 4), "I64": ("q", 8), "U8": ("B", 1)}[v["dtype"]]
        vals = struct.unpack("<%d%s" % ((b - a) // size, code), raw[8 + n + a:8 + n + b])
        out[k] = (v["shape"], vals)
    return out
m, adv = load(sys.argv[1]), load(sys.argv[2])
(h, d), w1 = m["enc.weight"]
b1, w2, b2 = m["enc.bias"][1], m["dec.weight"][1], m["dec.bias"][1]
sig = lambda v: 1.0 / (1.0 + math.exp(-v))
def sse(x, xa):
    hid = [sig(b1[j] + sum(w1[j * d + i] * xa[i] for i in range(d))) for j in range(h)]
    y = [sig(b2[i] + sum(w2[i * h + j] * hid[j] for j in range(h))) for i in range(d)]
    return sum((x[i] - y[i]) ** 2 for i in range(d))
xs, xas = adv["x"][1], adv["x_adv"][1]
lines = [json.loads(l) for l in open(sys.argv[3])]
stats = [json.loads(l) for l in open(sys.argv[4])]
for k, s in enumerate(stats):
    x, xa = xs[k * d:(k + 1) * d], xas[k * d:(k + 1) * d]
    l0, l1 = sse(x, x), sse(x, xa)
    sel = [l for l in lines if l["index"] == s["index"] and l["selected"]][0]
    # 1e-4 relative: the attack's float forward against double
    assert math.isclose(sel["loss_adv"], l1, rel_tol=1e-4), (sel, l1)
    assert math.isclose(sel["loss_clean"], l0, rel_tol=1e-4), (sel, l0)
    if s["success"]:
        assert l1 <= l0 * (1 + 1e-5) and s["I"] > 0, (s, l0, l1)
print("losses recomputed from the saved files: ok")
PY
    fail "l(x') recomputed from the saved x, x' and model"
# Cut short after 2 examples (the trace still holds all 5, as a kill between writing the trace and
# the rows would leave it) and resumed: the examples 2..4 are traced again, once.
cp -r "$tmp/a" "$tmp/b"
cp "$tmp/a.jsonl" "$tmp/b.jsonl"
cut_npy "$tmp/b/adversarial.npy" 2
expect 0 "resumed attack --trace" -- "$UAE" "${ATTACK[@]}" --out "$tmp/b" --trace "$tmp/b.jsonl"
contains "resumed after 2 examples" "the attack resumed"
cmp -s "$tmp/a.jsonl" "$tmp/b.jsonl" || fail "the resumed trace differs from the uncut one"
[ "$failures" -eq 0 ] && echo "trace: all passed"
exit $((failures > 0))
