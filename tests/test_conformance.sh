#!/usr/bin/env bash
# tests/test_conformance.sh — uaekit's MinMax attack against an independent transcription of the
# official algorithm (tests/python/official_port.py, PyTorch float64, written from IBM/UAE's
# unsupervised_attack.py), iterate by iterate from the same initial state: uae attack
# --dump-init gives the port delta_0, every permutation and MINE's initial weights; --trace
# --trace-delta gives uaekit's iterates. On 16 Fashion-MNIST images of a tiny conv-ae, MINE hidden
# 32 (4 filters and 2 MINE steps per iteration, to keep the test near a minute; the official lr):
# delta_t within 1e-4 and I_t within 1e-3 relative (+ 1e-6, float32 rounding, for I near 0) for
# the first 10 iterations, and the same selected iterate for every image over 40 iterations. Then
# random mode (8 images, 20 iterations) and the supervised attack (the C&W margin, a tiny
# classifier) the same way.
# Needs a python with torch (UAE_TEST_PYTHON, python3, /usr/bin/python3) and Fashion-MNIST:
# skipped (77) without them.
# Usage: test_conformance.sh PATH/TO/uae
set -u
UAE=${1:?usage: test_conformance.sh PATH/TO/uae}
. "$(dirname "$0")/cli_lib.sh"
DATA=${UAE_TEST_DATA:-/usr/share/datasets/fashion-mnist}
PY=
for p in ${UAE_TEST_PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c "import torch, numpy" 2>/dev/null; then
        PY=$p
        break
    fi
done
if [ -z "$PY" ]; then
    echo "skip: no python with torch and numpy (set UAE_TEST_PYTHON)"
    exit 77
fi
if [ ! -d "$DATA" ]; then
    echo "skip: no Fashion-MNIST in $DATA (set UAE_TEST_DATA)"
    exit 77
fi

IT=40
STEPS=2
expect 0 "train a tiny conv-ae" -- "$UAE" --quiet train --model conv-ae --data "$DATA" --epochs 1 \
    --n-train 512 --n-test 50 --out "$tmp/m.safetensors"
expect 0 "attack with --dump-init and --trace --trace-delta" -- "$UAE" --quiet attack \
    --model "$tmp/m.safetensors" --data "$DATA" --n 16 --batch 16 --iterations $IT \
    --mine-steps $STEPS --mine-hidden 32 --mine-filters 4 --out "$tmp/a" \
    --dump-init "$tmp/init.st" --trace "$tmp/trace.jsonl" --trace-delta
"$PY" "$(dirname "$0")/python/official_port.py" "$tmp/m.safetensors" "$tmp/a/adversarial.safetensors" \
    "$tmp/init.st" "$tmp/trace.jsonl" --iterations $IT --mine-steps $STEPS --mine-lr 1.5e-5 \
    --check-iters 10 --min-images 16 || fail "uaekit and the official algorithm's port differ"

# Random mode (--samples random): the dense MiNetwork on standardized projections, the matrices
# from the dump (one per iteration, as uaekit draws them), 8 images, 20 iterations.
expect 0 "random-mode attack with --dump-init and --trace --trace-delta" -- "$UAE" --quiet attack \
    --model "$tmp/m.safetensors" --data "$DATA" --n 8 --batch 8 --iterations 20 --mine-steps 2 \
    --mine-hidden 32 --samples random --proj-count 50 --proj-dim 16 --out "$tmp/r" \
    --dump-init "$tmp/rinit.st" --trace "$tmp/r.jsonl" --trace-delta
"$PY" "$(dirname "$0")/python/official_port.py" "$tmp/m.safetensors" "$tmp/r/adversarial.safetensors" \
    "$tmp/rinit.st" "$tmp/r.jsonl" --iterations 20 --mine-steps 2 --mine-lr 1.5e-5 \
    --check-iters 10 --min-images 8 || fail "uaekit's random mode and the official algorithm's port differ"

# The supervised attack (C&W margin, MINE_supervised): a tiny classifier, 8 images, 20 iterations
# of 1 MINE step (the official supervised setting but the iteration count), untargeted.
# (Adam, 32 steps: ~55% accuracy, so that some of the 8 images start with a positive margin.)
expect 0 "train a tiny classifier" -- "$UAE" --quiet train --model classifier --data "$DATA" \
    --epochs 1 --n-train 1024 --batch 32 --optimizer adam --lr 0.001 --n-test 50 \
    --out "$tmp/c.safetensors"
expect 0 "supervised attack with --dump-init and --trace --trace-delta" -- "$UAE" --quiet attack \
    --model "$tmp/c.safetensors" --data "$DATA" --n 8 --batch 8 --iterations 20 --mine-hidden 32 \
    --mine-filters 4 --out "$tmp/s" --dump-init "$tmp/sinit.st" --trace "$tmp/s.jsonl" --trace-delta
"$PY" "$(dirname "$0")/python/official_port.py" "$tmp/c.safetensors" "$tmp/s/adversarial.safetensors" \
    "$tmp/sinit.st" "$tmp/s.jsonl" --iterations 20 --mine-steps 1 --mine-lr 1.5e-5 \
    --labels "$DATA/train-labels-idx1-ubyte.gz" --check-iters 10 --min-images 8 ||
    fail "uaekit's supervised attack and the official algorithm's port differ"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all ok"
