#!/usr/bin/env bash
# tests/test_python_page.sh — docs/python.md is true: runs the page's Python code blocks, in order,
# against files uaekit has just written on a small generated IDX data set (20 x 20 gray images, 4
# classes): every preset's checkpoint loads strictly into the page's PyTorch module; the
# autoencoders' reconstructions agree with `uae reconstruct`'s to 1e-5; the page's Keras losses
# give `uae eval`'s test loss (dense-ae, conv-ae, classifier: cross-entropy and accuracy); the
# attack's SSE against clean x gives stats.jsonl's loss_clean and loss_adv; the pairs of
# adversarial.safetensors are those of adversarial.npy.
# Usage: test_python_page.sh SOURCE_DIR PATH/TO/uae. Exits 77 (skip) without PyTorch and NumPy.
set -u
src=${1:?usage: test_python_page.sh SOURCE_DIR PATH/TO/uae}
UAE=$(realpath "${2:?usage: test_python_page.sh SOURCE_DIR PATH/TO/uae}")
PY=
for p in ${UAE_TEST_PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch, numpy' >/dev/null 2>&1; then
        PY=$p
        break
    fi
done
if [ -z "$PY" ]; then
    echo "skip: no Python with torch and numpy (Debian: apt-get install python3-torch python3-numpy)"
    exit 77
fi
. "$src/tests/cli_lib.sh"

# The data set: raw IDX files (no gzip), smooth random blobs so that the models learn something.
mkdir -p "$tmp/data"
"$PY" - "$tmp/data" <<'EOF'
import struct, sys
import numpy as np
rng = np.random.default_rng(7)
yy, xx = np.mgrid[0:20, 0:20]
for prefix, n in (("train", 96), ("t10k", 32)):
    labels = (np.arange(n) % 4).astype(np.uint8)
    images = np.empty((n, 20, 20), np.uint8)
    for i, c in enumerate(labels):
        cy, cx = 5 + 10 * (c // 2) + rng.integers(-2, 3), 5 + 10 * (c % 2) + rng.integers(-2, 3)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 12.0)
        images[i] = np.clip(255 * blob + rng.integers(0, 30, (20, 20)), 0, 255)
    with open(f"{sys.argv[1]}/{prefix}-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 2051, n, 20, 20) + images.tobytes())
    with open(f"{sys.argv[1]}/{prefix}-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 2049, n) + labels.tobytes())
EOF

train() { # NAME PRESET [OPTIONS]: a 2-epoch checkpoint $tmp/NAME.st
    local name=$1
    shift
    expect 0 "train $name" -- "$UAE" train --data "$tmp/data" --epochs 2 --out "$tmp/$name.st" "$@"
}
train dense-ae --model dense-ae --hidden 8
train sparse-ae --model sparse-ae --hidden 8
train conv-ae --model conv-ae
train aae --model aae --latent 2
train concrete-ae --model concrete-ae --select-k 5
train classifier --model classifier --batch 32
train simclr --model simclr-small --batch 32
for m in dense-ae sparse-ae conv-ae aae concrete-ae; do
    expect 0 "reconstruct $m" -- "$UAE" reconstruct --model "$tmp/$m.st" --n 16 \
        --out "$tmp/$m.recon.safetensors"
done
"$UAE" eval --model "$tmp/dense-ae.st" --json >"$tmp/dense-ae.eval.json" 2>/dev/null || fail "eval dense-ae"
"$UAE" eval --model "$tmp/conv-ae.st" --json >"$tmp/conv-ae.eval.json" 2>/dev/null || fail "eval conv-ae"
"$UAE" eval --model "$tmp/classifier.st" --json >"$tmp/classifier.eval.json" 2>/dev/null ||
    fail "eval classifier"
expect 0 "attack conv-ae" -- "$UAE" attack --model "$tmp/conv-ae.st" --n 3 --iterations 3 \
    --mine-steps 1 --mine-hidden 8 --mine-filters 2 --out "$tmp/att"

"$PY" - "$src/docs/python.md" "$tmp" <<'EOF' || fail "the page's code against uaekit's outputs"
import json, re, sys
page, d = sys.argv[1], sys.argv[2]
blocks = re.findall(r"^```python\n(.*?)^```$", open(page).read(), re.S | re.M)
assert len(blocks) >= 4, len(blocks)
ns = {}
for b in blocks:
    exec(b, ns)
np, torch, F = ns["np"], ns["torch"], ns["F"]

for m in ("dense-ae", "sparse-ae", "conv-ae", "aae", "concrete-ae"):
    worst = ns["check_reconstructions"](f"{d}/{m}.st", f"{d}/{m}.recon.safetensors")
    print(f"ok:   {m}: reconstructions agree with uaekit's (largest difference {worst:.2e})")

def idx(path):
    raw = open(path, "rb").read()
    if raw[2] == 8 and raw[3] == 3:
        return np.frombuffer(raw[16:], np.uint8).reshape(-1, 1, 20, 20).astype(np.float32) / 255
    return np.frombuffer(raw[8:], np.uint8).astype(np.int64)
x = torch.from_numpy(idx(f"{d}/data/t10k-images-idx3-ubyte"))
y = torch.from_numpy(idx(f"{d}/data/t10k-labels-idx1-ubyte"))

def close(a, b, what, rel=1e-4):
    # losses summed over 32 x 400 float32 terms in another order: 1e-4 relative
    assert abs(a - b) <= rel * abs(b), (what, a, b)
    print(f"ok:   {what}: {a:.6f} (uaekit {b:.6f})")

with torch.no_grad():
    for m, loss in (("dense-ae", ns["keras_mse"]), ("conv-ae", ns["keras_bce"])):
        model, _ = ns["from_checkpoint"](f"{d}/{m}.st")
        e = json.load(open(f"{d}/{m}.eval.json"))
        close(loss(model(x), x).mean().item(), e["loss"], f"{m}: the page's loss is uae eval's")
    model, cfg = ns["from_checkpoint"](f"{d}/classifier.st")
    logits = model(x)
    e = json.load(open(f"{d}/classifier.eval.json"))
    close(F.cross_entropy(logits, y).item(), e["loss"], "classifier: cross-entropy is uae eval's")
    acc = (logits.argmax(1) == y).double().mean().item()
    assert abs(acc - e["accuracy"]) < 1e-9, (acc, e["accuracy"])
    model, cfg = ns["from_checkpoint"](f"{d}/simclr.st")
    assert model(x[:4]).shape == (4, 64) and model.representation(x[:4]).shape == (4, 128)
    print("ok:   simclr-small: the checkpoint loads strictly; embedding (64) and representation (128)")

    model, _ = ns["from_checkpoint"](f"{d}/conv-ae.st")
    xc, xa, index, success, stats = ns["adversarial_pairs"](f"{d}/att")
    assert list(index) == [s["index"] for s in stats] == [0, 1, 2], index
    assert list(success) == [s["success"] for s in stats]
    train_x = idx(f"{d}/data/train-images-idx3-ubyte")
    assert np.array_equal(xc, train_x[index]), "x holds the attacked training rows"
    xc, xa = torch.from_numpy(xc.copy()), torch.from_numpy(xa.copy())
    for k, s in enumerate(stats):
        close(ns["attack_sse"](model, xc[k:k + 1], xc[k:k + 1]).item(), s["loss_clean"],
              f"attack example {k}: l(x) is the SSE against clean x")
        close(ns["attack_sse"](model, xa[k:k + 1], xc[k:k + 1]).item(), s["loss_adv"],
              f"attack example {k}: l(x') is the SSE against clean x")
EOF

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all passed"
