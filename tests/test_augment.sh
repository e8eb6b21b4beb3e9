#!/usr/bin/env bash
# tests/test_augment.sh — `uae augment`, `uae attack` and `uae demo` end to end at a tiny scale on
# Fashion-MNIST: usage errors (exit 2, 3 for a task not there yet), a tiny augmentation run whose
# tables parse (Python's standard library) and whose picture is a PNG, and an attack killed
# mid-way and resumed that writes the same .npy bytes as one that was never interrupted.
# Usage: test_augment.sh PATH/TO/uae. Exits 77 (skip) without the data set.
set -u
UAE=${1:?usage: test_augment.sh PATH/TO/uae}
DATA=${UAE_TEST_DATA:-/usr/share/datasets/fashion-mnist}
if [ ! -d "$DATA" ]; then
    echo "skip: no Fashion-MNIST in $DATA (set UAE_TEST_DATA)"
    exit 77
fi
. "$(dirname "$0")/cli_lib.sh"

# ---- usage errors (all exit before any data is loaded) -----------------------------------------
expect 0 "augment --help" -- "$UAE" augment --help
contains "--retrain-epochs" "augment --help documents --retrain-epochs"
expect 0 "demo --help" -- "$UAE" demo --help
contains "MINE hidden width" "demo --help documents the scale-down"
expect 2 "augment --seeds abc" -- "$UAE" augment --seeds abc --out "$tmp/u"
expect 2 "augment --attack foo" -- "$UAE" augment --attack foo --out "$tmp/u"
contains "binary-search" "the message lists the attacks"
expect 2 "augment --target bogus" -- "$UAE" augment --target bogus --out "$tmp/u"
expect 2 "augment --preset nope" -- "$UAE" augment --preset nope --out "$tmp/u"
expect 2 "augment --n > --n-train" -- "$UAE" augment --n-train 10 --n 20 --out "$tmp/u"
expect 2 "augment --noise-sigma -1" -- "$UAE" augment --noise-sigma -1 --out "$tmp/u"
expect 2 "augment --targeted without --target-class" -- "$UAE" augment --targeted --out "$tmp/u"
expect 2 "augment with a positional argument" -- "$UAE" augment extra --out "$tmp/u"
expect 3 "augment --task contrastive (not yet)" -- "$UAE" augment --task contrastive --out "$tmp/u"
expect 2 "augment --task nope" -- "$UAE" augment --task nope --out "$tmp/u"
expect 2 "attack without --model" -- "$UAE" attack --out "$tmp/a"
contains "--model" "attack names the missing --model"
expect 2 "attack without --out" -- "$UAE" attack --model x.safetensors
expect 2 "attack --split val" -- "$UAE" attack --model x --out "$tmp/a" --split val
expect 2 "attack --n 0" -- "$UAE" attack --model x --out "$tmp/a" --n 0
expect 2 "attack --samples nope" -- "$UAE" attack --model x --out "$tmp/a" --samples nope
[ -e "$tmp/u" ] && fail "a usage error created the output folder"

# ---- a tiny augmentation run ------------------------------------------------------------------
# Tiny everywhere: 64 training examples, 16 UAEs, one epoch each, 2 attack iterations with one
# MINE step of a 4-wide MINE, 300 test examples. It checks the plumbing, not the numbers.
TINY=(--iterations 2 --mine-steps 1 --mine-hidden 4 --mine-filters 2)
aug=$tmp/aug
expect 0 "tiny augment (conv-ae)" -- "$UAE" augment --model conv-ae --n-train 64 --n 16 \
    --seeds 1 --epochs 1 --retrain-epochs 1 --n-test 300 --attack-batch 8 "${TINY[@]}" \
    --out "$aug"
contains "uae vs noise" "augment prints the comparison"
contains "results.md" "augment says where the table is"
python3 - "$aug" <<'EOF' || fail "results.json / results.md / PNG"
import json, math, os, sys
d = sys.argv[1]
r = json.load(open(os.path.join(d, "results.json")))
assert r["metric"] == "test_mse", r["metric"]
assert r["settings"]["n"] == 16 and r["settings"]["n_train"] == 64, r["settings"]
assert r["settings"]["n_test"] == 300, r["settings"]
for arm in ("base", "original", "duplicate", "noise", "uae"):
    a = r["arms"][arm]
    assert len(a["values"]) == 1 and all(math.isfinite(v) and 0 < v < 1 for v in a["values"]), a
md = open(os.path.join(d, "results.md")).read()
assert "| uae |" in md and "| duplicate |" in md, md
png = open(os.path.join(d, "seed-1", "examples.png"), "rb").read(8)
assert png == b"\x89PNG\r\n\x1a\n", png
stats = [json.loads(l) for l in open(os.path.join(d, "seed-1", "uae.jsonl"))]
assert [s["index"] for s in stats] == list(range(16)), stats
for key in ("success", "I", "loss_clean", "loss_adv", "selected_iter", "iterations", "seconds"):
    assert key in stats[0], key
EOF

# ---- uae attack: an interrupted run resumes to the same bytes ---------------------------------
model=$aug/seed-1/base.safetensors
N=32
ATTACK=(attack --model "$model" --n "$N" --batch 1 "${TINY[@]}")
expect 0 "attack, uninterrupted" -- "$UAE" "${ATTACK[@]}" --out "$tmp/A"
contains "success rate" "attack prints the summary"
contains "UAEs/s" "attack prints the rate"
python3 - "$tmp/A" "$N" <<'EOF' || fail "attack's safetensors file and statistics"
import json, os, struct, sys
d, n = sys.argv[1], int(sys.argv[2])
raw = open(os.path.join(d, "adversarial.safetensors"), "rb").read()
hlen = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + hlen])
assert h["x"]["shape"] == [n, 1, 28, 28] and h["x_adv"]["shape"] == [n, 1, 28, 28], h
assert h["success"]["shape"] == [n], h
lines = open(os.path.join(d, "stats.jsonl")).read().splitlines()
assert len(lines) == n, len(lines)
EOF

# Run B in the background and kill it (SIGKILL: no chance to tidy up) as soon as its .npy holds
# a few rows (a cheap size check: 128 header bytes + 28 x 28 floats per row), then rerun it to
# completion. The header's row count must be below N after the kill, else nothing was interrupted.
"$UAE" "${ATTACK[@]}" --out "$tmp/B" --quiet >"$tmp/b1.txt" 2>&1 &
pid=$!
rows() {
    python3 - "$1" <<'EOF' 2>/dev/null || echo 0
import ast, sys
raw = open(sys.argv[1], "rb").read(256)
hlen = int.from_bytes(raw[8:10], "little")
print(ast.literal_eval(raw[10:10 + hlen].decode())["shape"][0])
EOF
}
for _ in $(seq 1 3000); do
    size=$(stat -c %s "$tmp/B/adversarial.npy" 2>/dev/null || echo 0)
    if [ "$size" -ge $((128 + 3 * 3136)) ]; then break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
r=$(rows "$tmp/B/adversarial.npy")
if [ "$r" -lt "$N" ]; then
    echo "ok:   attack B killed after $r of $N rows"
else
    fail "could not interrupt attack B mid-way (it finished all $N rows first)"
fi
expect 0 "attack B resumed" -- "$UAE" "${ATTACK[@]}" --out "$tmp/B"
contains "resumed after" "the rerun says it resumed"
cmp "$tmp/A/adversarial.npy" "$tmp/B/adversarial.npy" && echo "ok:   resumed .npy == uninterrupted .npy" ||
    fail "the resumed attack's .npy differs from the uninterrupted one"
[ "$(wc -l <"$tmp/B/stats.jsonl")" -eq "$N" ] || fail "the resumed statistics have the wrong length"
expect 1 "attack into a folder of other settings" -- "$UAE" "${ATTACK[@]}" --eps 0.5 --out "$tmp/B"
contains "another run's settings" "the message says why"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all passed"
