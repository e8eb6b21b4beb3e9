#!/usr/bin/env bash
# tests/test_attack_init.sh — `uae attack --dump-init FILE` and `--init FILE` end to end: a run
# from its own dump gives byte-identical outputs and trace (at another batch size); a run with
# seed 1 from seed 2's dump gives seed 2's outputs (the file, not the seed, is used); the dump
# holds the documented tensors (docs/method.md), in conv and random mode; bad files (a missing tensor, a wrong shape, another
# example count, a NaN, a permutation that is not one, too few permutations, another mode) and
# PGD fail with a message that names the problem.
# Needs Fashion-MNIST (conv mode needs images): skipped (77) without it.
# Usage: test_attack_init.sh PATH/TO/uae
set -u
UAE=${1:?usage: test_attack_init.sh PATH/TO/uae}
. "$(dirname "$0")/cli_lib.sh"
DATA=${UAE_TEST_DATA:-/usr/share/datasets/fashion-mnist}
if [ ! -d "$DATA" ]; then
    echo "skip: no Fashion-MNIST in $DATA (set UAE_TEST_DATA)"
    exit 77
fi

expect 0 "train a tiny conv-ae" -- "$UAE" --quiet train --model conv-ae --data "$DATA" --epochs 1 \
    --n-train 256 --n-test 50 --out "$tmp/m.safetensors"
A=(--quiet attack --model "$tmp/m.safetensors" --data "$DATA" --first 3 --n 4 --iterations 3
    --mine-steps 2 --mine-hidden 8 --mine-filters 2)
expect 0 "attack --dump-init" -- "$UAE" "${A[@]}" --batch 2 --out "$tmp/a" --dump-init "$tmp/i1.st" \
    --trace "$tmp/a.jsonl"
expect 0 "attack --init its own dump" -- "$UAE" "${A[@]}" --batch 3 --out "$tmp/b" \
    --init "$tmp/i1.st" --trace "$tmp/b.jsonl"
cmp -s "$tmp/a/adversarial.npy" "$tmp/b/adversarial.npy" || fail "--init of the run's own dump: other x_adv"
cmp -s "$tmp/a.jsonl" "$tmp/b.jsonl" || fail "--init of the run's own dump: another trace"
cmp -s "$tmp/a/stats.jsonl" "$tmp/b/stats.jsonl" ||
    cmp -s <(sed 's/"seconds":[^,}]*//' "$tmp/a/stats.jsonl") <(sed 's/"seconds":[^,}]*//' "$tmp/b/stats.jsonl") ||
    fail "--init of the run's own dump: other statistics"
expect 0 "seed 2's dump" -- "$UAE" "${A[@]}" --seed 2 --out "$tmp/s2" --dump-init "$tmp/i2.st"
expect 0 "seed 1 from seed 2's dump" -- "$UAE" "${A[@]}" --seed 1 --out "$tmp/s1" --init "$tmp/i2.st"
cmp -s "$tmp/s2/adversarial.npy" "$tmp/s1/adversarial.npy" ||
    fail "a run from seed 2's initial state differs from seed 2's run: the file was not used"
cmp -s "$tmp/a/adversarial.npy" "$tmp/s1/adversarial.npy" && fail "seeds 1 and 2 give the same x_adv"

# The layout: names, shapes, dtype, metadata (docs/method.md, "The attack's initial state").
python3 - "$tmp/i1.st" <<'PY' || fail "the dump's layout"
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
meta = h.pop("__metadata__")
assert meta["uae.format"] == "attack-init-1" and meta["uae.first"] == "3", meta
# 4 examples; 3 iterations x (1 + 2 MINE steps) permutations of the 16 conv1 channels; MINE with
# 2 filters of 2x2 on 28x28 maps (2*27*27 = 1458 inputs to the first dense layer), hidden 8, out 10
want = {"delta0": [4, 1, 28, 28], "perm": [4, 9, 16]}
for b in "xy":
    want.update({f"mine.{b}.conv.weight": [4, 2, 1, 2, 2], f"mine.{b}.conv.bias": [4, 2],
                 f"mine.{b}.fc1.weight": [4, 8, 1458], f"mine.{b}.fc1.bias": [4, 8],
                 f"mine.{b}.fc2.weight": [4, 10, 8], f"mine.{b}.fc2.bias": [4, 10]})
want["mine.out.weight"] = [4, 1, 10]
got = {k: v["shape"] for k, v in h.items()}
assert got == want, (got, want)
assert all(v["dtype"] == "F32" for v in h.values())
PY

# Bad files, made from the good one by a pure-Python safetensors rewrite (no checksum: unverified).
mutate() { # mutate OUT EDIT: EDIT is drop:NAME, nan:NAME or dup:NAME (entry 1 := entry 0)
    python3 - "$tmp/i1.st" "$1" "$2" <<'PY' || fail "mutating the dump ($2)"
import json, struct, sys
src, dst, edit = sys.argv[1:]
raw = open(src, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n]); h.pop("__metadata__")
data = raw[8 + n:]
what, name = edit.split(":")
blobs = {k: bytearray(data[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in h.items()}
if what == "drop": del h[name]
if what == "nan": blobs[name][4:8] = struct.pack("<f", float("nan"))
if what == "dup": blobs[name][4:8] = blobs[name][0:4]
out, off = {}, 0
for k in h:
    out[k] = {"dtype": "F32", "shape": h[k]["shape"], "data_offsets": [off, off + len(blobs[k])]}
    off += len(blobs[k])
head = json.dumps(out).encode()
head += b" " * (-len(head) % 8)
open(dst, "wb").write(struct.pack("<Q", len(head)) + head + b"".join(bytes(blobs[k]) for k in h))
PY
}
mutate "$tmp/nop.st" drop:perm
expect 1 "--init without the permutations" -- "$UAE" "${A[@]}" --out "$tmp/e1" --init "$tmp/nop.st"
contains "no tensor 'perm'" "the missing tensor is named"
mutate "$tmp/nan.st" nan:mine.y.fc1.weight
expect 1 "--init with a NaN" -- "$UAE" "${A[@]}" --out "$tmp/e2" --init "$tmp/nan.st"
contains "'mine.y.fc1.weight' has a non-finite value" "the NaN's tensor is named"
mutate "$tmp/dup.st" dup:perm
expect 1 "--init with a broken permutation" -- "$UAE" "${A[@]}" --out "$tmp/e3" --init "$tmp/dup.st"
contains "is not a permutation of 0 .. 15" "the broken permutation is named"
expect 1 "--init for fewer examples" -- "$UAE" "${A[@]}" --n 5 --out "$tmp/e4" \
    --init "$tmp/i1.st"
contains "holds 4 examples, this run attacks 5" "the example counts are named"
expect 1 "--init with another MINE width" -- "$UAE" "${A[@]}" --mine-hidden 6 --out "$tmp/e5" \
    --init "$tmp/i1.st"
contains "mine.x.fc1.weight" "the tensor of the wrong shape is named"
contains "--mine-hidden" "the option that fixes it is named"
expect 1 "--init with more iterations" -- "$UAE" "${A[@]}" --iterations 4 --out "$tmp/e6" \
    --init "$tmp/i1.st"
contains "'perm'" "too few permutations: the tensor is named"
R=(--samples random --proj-count 6 --proj-dim 4)
expect 0 "random mode: attack --dump-init" -- "$UAE" "${A[@]}" "${R[@]}" --batch 2 --out "$tmp/r1" \
    --dump-init "$tmp/r.st"
expect 0 "random mode: attack --init its own dump" -- "$UAE" "${A[@]}" "${R[@]}" --batch 4 \
    --seed 5 --out "$tmp/r2" --init "$tmp/r.st"
cmp -s "$tmp/r1/adversarial.npy" "$tmp/r2/adversarial.npy" ||
    fail "random mode: --init of the run's own dump (at another seed and batch): other x_adv"
python3 - "$tmp/r.st" <<'PY' || fail "random mode: the dump's layout"
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
h = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])
# 3 projection matrices (one per iteration) of 784 x (6 * 4); the dense MINE on 4-vectors
assert h["proj"]["shape"] == [3, 784, 24], h["proj"]
assert h["perm"]["shape"] == [4, 9, 6] and h["mine.x.fc1.weight"]["shape"] == [4, 8, 4], h
assert "mine.x.conv.weight" not in h
PY
expect 1 "--init of a conv-mode dump in random mode" -- "$UAE" "${A[@]}" "${R[@]}" --out "$tmp/e7" \
    --init "$tmp/i1.st"
contains "expected (4, 9, 6)" "the permutations' shape is named"
expect 1 "--init with PGD" -- "$UAE" "${A[@]}" --attack pgd --out "$tmp/e8" --init "$tmp/i1.st"
contains "PGD" "PGD is refused, saying why"
expect 1 "--init of a missing file" -- "$UAE" "${A[@]}" --out "$tmp/e9" --init "$tmp/none.st"
contains "none.st" "the missing file is named"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all ok"
