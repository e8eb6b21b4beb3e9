#!/usr/bin/env bash
# tests/test_attack_contrastive.sh — `uae attack` on a simclr-small checkpoint at a tiny scale on
# Fashion-MNIST: --negatives is checked and recorded, the negatives come from the training split,
# and batch 2 gives the same results as batch 1 (the contrastive loss no longer depends on the
# batch). It checks the plumbing, not the numbers. Usage: test_attack_contrastive.sh PATH/TO/uae.
# Exits 77 (skip) without the data set.
set -u
UAE=${1:?usage: test_attack_contrastive.sh PATH/TO/uae}
DATA=${UAE_TEST_DATA:-/usr/share/datasets/fashion-mnist}
if [ ! -d "$DATA" ]; then
    echo "skip: no Fashion-MNIST in $DATA (set UAE_TEST_DATA)"
    exit 77
fi
. "$(dirname "$0")/cli_lib.sh"

expect 2 "attack --negatives 0" -- "$UAE" attack --model x --out "$tmp/a" --negatives 0
contains "--negatives" "the message names the option"

# One epoch of 64 examples in batches of 32: two steps, a checkpoint in seconds.
model=$tmp/simclr.safetensors
expect 0 "train a tiny simclr-small" -- "$UAE" train --model simclr-small --data "$DATA" \
    --n-train 64 --n-test 64 --epochs 1 --batch 32 --out "$model" --quiet
TINY=(--iterations 2 --mine-steps 1 --mine-hidden 4 --mine-filters 2 --negatives 16 --n 2)
expect 0 "contrastive attack, batch 2" -- "$UAE" attack --model "$model" --data "$DATA" \
    --split test "${TINY[@]}" --batch 2 --out "$tmp/B2"
contains "success rate" "attack prints the summary"
expect 0 "contrastive attack, batch 1" -- "$UAE" attack --model "$model" --data "$DATA" \
    --split test "${TINY[@]}" --batch 1 --out "$tmp/B1"
expect 1 "more negatives than training examples" -- "$UAE" attack --model "$model" \
    --data "$DATA" --negatives 1000000 --n 1 --out "$tmp/C"
contains "negatives" "the message says what is wrong"
python3 - "$tmp/B2" "$tmp/B1" <<'EOF' || fail "batch 2 == batch 1, settings record the negatives"
import json, os, sys
a, b = sys.argv[1], sys.argv[2]
s = json.loads(open(os.path.join(a, "settings.json")).read())
assert s["negatives"] == 16, s
A = [json.loads(l) for l in open(os.path.join(a, "stats.jsonl"))]
B = [json.loads(l) for l in open(os.path.join(b, "stats.jsonl"))]
assert len(A) == len(B) == 2, (A, B)
for p, q in zip(A, B):
    # 1e-5: GEMMs of batch 2 and batch 1 may round differently (float32, losses of ~5)
    assert p["success"] == q["success"] and p["selected_iter"] == q["selected_iter"], (p, q)
    assert abs(p["loss_clean"] - q["loss_clean"]) <= 1e-5, (p, q)
    assert abs(p["loss_adv"] - q["loss_adv"]) <= 1e-5, (p, q)
EOF

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all passed"
