#!/usr/bin/env bash
# tests/test_augment.sh — `uae augment`, `uae attack` and `uae demo` end to end at a tiny scale:
# usage errors (exit 2, also for a model that does not suit the task); on a small generated CSV
# table the representation task (with labels, and without: accuracies "n/a"); on Fashion-MNIST
# tiny runs of the three tasks whose tables hold every arm and metric (finite, accuracies in
# [0, 1]; checked with Python's standard library) and whose picture is a PNG, an augmentation run
# whose UAE file is cut short and resumed to the same bytes, and an attack killed mid-way and
# resumed that writes the same .npy bytes as one that was never interrupted.
# Usage: test_augment.sh PATH/TO/uae. Without Fashion-MNIST it runs what needs no data set and
# then exits 77 (skip).
set -u
UAE=${1:?usage: test_augment.sh PATH/TO/uae}
DATA=${UAE_TEST_DATA:-/usr/share/datasets/fashion-mnist}
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
expect 2 "augment --task nope" -- "$UAE" augment --task nope --out "$tmp/u"
expect 2 "augment --task contrastive --model conv-ae" -- "$UAE" augment --task contrastive \
    --model conv-ae --out "$tmp/u"
contains "simclr-small" "the message names the preset that suits"
expect 2 "augment --task representation --model conv-ae" -- "$UAE" augment \
    --task representation --model conv-ae --out "$tmp/u"
contains "concrete-ae" "the message names the preset that suits"
expect 2 "augment --model simclr-small (reconstruction)" -- "$UAE" augment --model simclr-small \
    --out "$tmp/u"
expect 2 "augment --model nope" -- "$UAE" augment --model nope --out "$tmp/u"
expect 2 "augment --task contrastive --target self" -- "$UAE" augment --task contrastive \
    --target self --out "$tmp/u"
contains "two augmented views" "the message says why --target does not apply"
expect 2 "augment --select-k without representation" -- "$UAE" augment --select-k 5 --out "$tmp/u"
expect 2 "attack without --model" -- "$UAE" attack --out "$tmp/a"
contains "--model" "attack names the missing --model"
expect 2 "attack without --out" -- "$UAE" attack --model x.safetensors
expect 2 "attack --split val" -- "$UAE" attack --model x --out "$tmp/a" --split val
expect 2 "attack --n 0" -- "$UAE" attack --model x --out "$tmp/a" --n 0
expect 2 "attack --samples nope" -- "$UAE" attack --model x --out "$tmp/a" --samples nope
[ -e "$tmp/u" ] && fail "a usage error created the output folder"

# check_run DIR TASK N_TRAIN N LABELS METRIC...: results.json and results.md of a finished run hold
# every arm and every metric, per seed finite values (accuracies in [0, 1], MSEs in (0, 1)), or
# "n/a" for accuracies without labels (LABELS 0); examples.png is a PNG (a table's examples.csv is
# checked apart); uae.jsonl has N lines.
check_run() {
    python3 - "$@" <<'EOF'
import json, math, os, sys
d, task, n_train, n, labels, metrics = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4]), sys.argv[5] == "1", sys.argv[6:]
r = json.load(open(os.path.join(d, "results.json")))
s = r["settings"]
assert s["task"] == task and s["n"] == n and s["n_train"] == n_train, s
assert [m["name"] for m in r["metrics"]] == metrics, r["metrics"]
assert r["labels"] == labels, r["labels"]
arms = ("base", "original", "duplicate", "noise", "uae")
assert sorted(r["arms"]) == sorted(arms), r["arms"].keys()
md = open(os.path.join(d, "results.md")).read()
for m in r["metrics"]:
    assert m["text"] in md, (m["text"], md)
    acc = m["name"].endswith("accuracy")
    assert m["better"] == ("higher" if acc else "lower"), m
    for arm in arms:
        v = r["arms"][arm][m["name"]]
        assert len(v["values"]) == len(s["seeds"]), v
        if acc and not labels:
            assert m["available"] is False and all(x is None for x in v["values"]), v
            continue
        assert all(x is not None and math.isfinite(x) for x in v["values"] + [v["mean"]]), v
        if acc:
            assert all(0 <= x <= 1 for x in v["values"]), v
        elif m["name"] == "test_mse":
            assert all(0 < x < 1 for x in v["values"]), v
for arm in arms:
    assert "| %s |" % arm in md, md
assert ("n/a (no labels)" in md) == (not labels), md
# The paired differences: uae minus each control per seed, recomputed from the values.
import statistics
for m in r["metrics"]:
    higher = m["better"] == "higher"
    for other in ("original", "duplicate", "noise"):
        p = r["paired"][m["name"]][other]
        u, o = r["arms"]["uae"][m["name"]]["values"], r["arms"][other][m["name"]]["values"]
        if None in u:
            assert p["seeds"] == 0 and p["mean"] is None, p
            continue
        dd = [a - b for a, b in zip(u, o)]
        assert all(abs(x - y) <= 1e-12 for x, y in zip(p["uae_minus_arm"], dd)), (p, dd)
        assert p["seeds"] == len(dd) and abs(p["mean"] - statistics.mean(dd)) <= 1e-12, p
        sd = statistics.stdev(dd) if len(dd) > 1 else 0.0
        assert abs(p["std"] - sd) <= 1e-12, (p, sd)
        assert p["uae_better_seeds"] == sum(x > 0 if higher else x < 0 for x in dd), p
        assert "uae − %s" % other in md and "%+.5f ± %.5f (%d of %d)" % (
            p["mean"], p["std"], p["uae_better_seeds"], p["seeds"]) in md, md
for seed in s["seeds"]:
    if task == "representation" and os.path.exists(os.path.join(d, "seed-%d" % seed, "examples.csv")):
        pass  # a table's examples: checked by the CSV run's own check
    else:
        png = open(os.path.join(d, "seed-%d" % seed, "examples.png"), "rb").read(8)
        assert png == b"\x89PNG\r\n\x1a\n", png
    stats = [json.loads(l) for l in open(os.path.join(d, "seed-%d" % seed, "uae.jsonl"))]
    assert [x["index"] for x in stats] == list(range(n)), stats
    for key in ("success", "I", "loss_clean", "loss_adv", "selected_iter", "iterations",
                "seconds"):
        assert key in stats[0], key
EOF
}

# Tiny everywhere: a few dozen training examples, 16 UAEs, one or two epochs, 2 attack iterations
# with one MINE step of a 4-wide MINE (random mode: 20 projections to 4 or 8 dimensions, since a
# projection matrix of the input's size is drawn every step). It checks the plumbing, not the
# numbers.
TINY=(--iterations 2 --mine-steps 1 --mine-hidden 4 --mine-filters 2)

# ---- the representation task on a CSV table (no data set needed) -------------------------------
# 240 rows of 12 features on scales from 10 to 120 and a label column (3 classes): the table is
# min-max scaled into [0, 1] before the attack; k = 12 / 2 = 6 features are selected.
python3 - "$tmp/table.csv" <<'EOF'
import random, sys
random.seed(1)
with open(sys.argv[1], "w") as f:
    f.write(",".join("f%d" % j for j in range(12)) + ",label\n")
    for i in range(240):
        y = i % 3
        row = [random.gauss(0, 1) * (j + 1) * 10 + (50 if j == y else 0) for j in range(12)]
        f.write(",".join("%.4f" % v for v in row) + ",%d\n" % y)
EOF
CSV_RUN=(augment --task representation --data "$tmp/table.csv" --n 16 --epochs 2
    --retrain-epochs 1 --attack-batch 8 "${TINY[@]}" --proj-count 20 --proj-dim 4)
expect 0 "representation on a CSV table" -- "$UAE" "${CSV_RUN[@]}" --seeds 1,2 --out "$tmp/csv"
contains "scaled to [0, 1]" "augment says it scaled the table"
contains "linear accuracy on the selected features" "augment prints the accuracy"
check_run "$tmp/csv" representation 192 16 1 test_mse linear_accuracy ||
    fail "representation on a CSV table: results"
# Self-describing outputs: uae.safetensors pairs uae.npy with the clean rows and their indices in
# the training split; features.json maps the scaled rows back to the table's units.
python3 - "$tmp/csv" "$tmp/table.csv" <<'EOF' || fail "augment's outputs describe themselves"
import array, ast, json, struct, sys
d = sys.argv[1]
b = open(f"{d}/seed-1/uae.safetensors", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
def tensor(name, code):
    s, e = h[name]["data_offsets"]
    return array.array(code, b[8 + n + s:8 + n + e])
assert h["index"]["dtype"] == "I64" and h["x"]["shape"] == [16, 1, 1, 12], h
idx = list(tensor("index", "q"))
assert idx == sorted(idx) and len(set(idx)) == 16 and 0 <= idx[0] and idx[-1] < 192, idx
raw = open(f"{d}/seed-1/uae.npy", "rb").read()
hl = int.from_bytes(raw[8:10], "little")
assert ast.literal_eval(raw[10:10 + hl].decode())["shape"] == (16, 1, 1, 12)
assert array.array("f", raw[10 + hl:]) == tensor("x_adv", "f"), "x_adv is uae.npy"
f = json.load(open(f"{d}/features.json"))
assert f["features"] == ["f%d" % j for j in range(12)] and f["scale"] == "minmax", f
x = tensor("x", "f")
assert all(0 <= v <= 1 for v in x)
lo, hi = f["min"], f["max"]
assert all(lo[j] < hi[j] for j in range(12)), f
# A table's examples are a CSV table, labelled, not a picture of 1-pixel rows.
import csv, os
rows = list(csv.reader(open(f"{d}/seed-1/examples.csv")))
assert rows[0] == ["example", "row"] + f["features"], rows[0]
assert [r[1] for r in rows[1:4]] == ["x", "x_adv", "abs_delta"] and len(rows) == 1 + 3 * 10, rows[:4]
xadv = tensor("x_adv", "f")
assert all(abs(float(rows[2][2 + j]) - xadv[j]) < 1e-6 for j in range(12)), rows[2]
assert not os.path.exists(f"{d}/seed-1/examples.png")
EOF
# concrete-ae's batch is 234, so 192 rows are one step per epoch: 2 epochs anneal over 2 steps.
python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['settings']; \
assert s['select_k'] == 6 and s['total_steps'] == 2, s" "$tmp/csv/results.json" ||
    fail "select_k = d / 2 and the temperature annealed over the base run's steps"
# A run whose UAE file was cut short (to its first 5 rows, the header rewritten, as a kill after
# the fifth row leaves it) resumes: it reuses the base model and writes the same bytes, although
# its attack batches now start at row 5 instead of 0 and 8.
cp -r "$tmp/csv" "$tmp/csv-cut"
cut_npy "$tmp/csv-cut/seed-2/uae.npy" 5
rm -f "$tmp/csv-cut"/seed-*/arm-*.json # the arms retrain on the resumed examples (below: not)
expect 0 "representation on a CSV table, resumed" -- "$UAE" "${CSV_RUN[@]}" --seeds 1,2 \
    --out "$tmp/csv-cut"
contains "seed 2: base model loaded" "the resumed run reuses the base model"
cmp "$tmp/csv/seed-2/uae.npy" "$tmp/csv-cut/seed-2/uae.npy" &&
    echo "ok:   resumed uae.npy == uninterrupted uae.npy" ||
    fail "the resumed augmentation's uae.npy differs from the uninterrupted one"
python3 - "$tmp/csv/results.json" "$tmp/csv-cut/results.json" <<'EOF' ||
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["arms"] == b["arms"], (a["arms"], b["arms"])
EOF
    fail "the resumed run's metrics differ from the uninterrupted one's"
# One process per seed folder: while another holds seed-2's lock (flock(1) here, as a second
# `uae augment` on the same --out would), the run stops at seed 2 with the message, writes
# nothing there and leaves the old table; once the holder is gone the same command finishes.
cp -r "$tmp/csv" "$tmp/csv-busy"
rm "$tmp/csv-busy/seed-2/arm-uae.json"
exec 9>"$tmp/csv-busy/seed-2/.lock"
flock -n 9 || fail "flock(1) could not take the lock"
expect 1 "augment on a seed folder another process holds" -- "$UAE" "${CSV_RUN[@]}" \
    --seeds 1,2 --out "$tmp/csv-busy"
contains "seed-2: locked: another process is working in this folder" "augment names the busy folder"
contains "another --out" "the message says what to do"
[ -e "$tmp/csv-busy/seed-2/arm-uae.json" ] && fail "the refused run retrained an arm"
cmp -s "$tmp/csv/results.json" "$tmp/csv-busy/results.json" ||
    fail "the refused run rewrote results.json"
exec 9>&-
expect 0 "augment once the holder has ended" -- "$UAE" "${CSV_RUN[@]}" --seeds 1,2 \
    --out "$tmp/csv-busy"
[ -s "$tmp/csv-busy/seed-2/arm-uae.json" ] || fail "the run after the holder did not finish"
# Each arm's metrics are saved as it finishes (seed-S/arm-NAME.json, with a key of what made
# them): a rerun takes an arm whose key matches and retrains one whose file is missing, of other
# retraining epochs, or unreadable, and ends with the same table.
cp -r "$tmp/csv" "$tmp/csv-arms"
for a in original duplicate noise uae; do
    [ -s "$tmp/csv-arms/seed-1/arm-$a.json" ] || fail "seed-1/arm-$a.json was not written"
done
rm "$tmp/csv-arms/seed-2/arm-uae.json"
sed -i 's/"retrain_epochs": *[0-9]*/"retrain_epochs": 7/' "$tmp/csv-arms/seed-1/arm-noise.json"
echo '{"arm": "dupl' >"$tmp/csv-arms/seed-1/arm-duplicate.json"
expect 0 "representation on a CSV table, arms resumed" -- "$UAE" "${CSV_RUN[@]}" --seeds 1,2 \
    --out "$tmp/csv-arms"
contains "seed 1: 'original' was retrained by an earlier run" "a finished arm is taken"
contains "seed 2: 'noise' was retrained by an earlier run" "a finished arm of seed 2 is taken"
contains "seed 2: retraining 'uae'" "an arm without its file retrains"
contains "arm-noise.json is from other settings: retraining 'noise' again" \
    "an arm saved with other retraining epochs retrains"
contains "arm-duplicate.json is unreadable" "an unreadable arm file is named"
contains "seed 1: retraining 'duplicate'" "an arm with an unreadable file retrains"
grep -qF "seed 1: retraining 'original'" "$out" && fail "a finished arm was retrained"
python3 - "$tmp/csv/results.json" "$tmp/csv-arms/results.json" <<'EOF' ||
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["arms"] == b["arms"], (a["arms"], b["arms"])
EOF
    fail "the run with arms taken from files differs from the one that retrained them all"
grep -q '"retrain_epochs": 1' "$tmp/csv-arms/seed-1/arm-noise.json" ||
    fail "the retrained arm's file was not rewritten with this run's key"
expect 0 "representation on a CSV table without labels" -- "$UAE" "${CSV_RUN[@]}" --seeds 1 \
    --label-column "" --out "$tmp/csv-nolabels"
contains "n/a (no labels)" "the accuracy is n/a without labels"
check_run "$tmp/csv-nolabels" representation 192 16 0 test_mse linear_accuracy ||
    fail "representation without labels: results"

if [ ! -d "$DATA" ]; then
    echo "skip: no Fashion-MNIST in $DATA (set UAE_TEST_DATA); $failures failure(s) so far"
    [ "$failures" -ne 0 ] && exit 1
    exit 77
fi

# ---- tiny augmentation runs on Fashion-MNIST -----------------------------------------------------
aug=$tmp/aug
expect 0 "tiny augment (conv-ae)" -- "$UAE" augment --model conv-ae --n-train 64 --n 16 \
    --seeds 1 --epochs 1 --retrain-epochs 1 --n-test 300 --attack-batch 8 "${TINY[@]}" \
    --out "$aug"
contains "uae vs noise" "augment prints the comparison"
contains "results.md" "augment says where the table is"
contains "on a seeded subset of the test set (300 examples)" "--n-test is not called the whole test set"
contains "training the base model (conv-ae, 64 examples, 1 epoch)" "one epoch is not '1 epochs'"
grep -q " 1 epochs" "$out" && fail "augment writes '1 epochs'"
check_run "$aug" reconstruction 64 16 1 test_mse || fail "reconstruction: results"
# examples.png: four rows (x, x', |delta| and its colour scale) of 10 images of 28 x 28 pixels
# drawn 3 x 3, gaps of 2, and a column of labels on the left (the grid alone is 858 wide).
python3 - "$aug/seed-1/examples.png" <<'EOF' || fail "examples.png has labelled rows and a colour scale"
import struct, sys, zlib
raw = open(sys.argv[1], "rb").read()
w, h = struct.unpack(">II", raw[16:24])
assert h == 4 * 84 + 3 * 2 and w > 10 * 84 + 9 * 2, (w, h)
EOF
python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['settings']; \
assert s['n_test'] == 300, s" "$aug/results.json" || fail "reconstruction: n_test"

expect 0 "tiny augment --task representation" -- "$UAE" augment --task representation \
    --n-train 64 --n 16 --seeds 1 --epochs 1 --retrain-epochs 1 --n-test 300 --attack-batch 8 \
    "${TINY[@]}" --proj-count 20 --proj-dim 8 --probe-epochs 5 --out "$tmp/rep"
check_run "$tmp/rep" representation 64 16 1 test_mse linear_accuracy ||
    fail "representation on Fashion-MNIST: results"

CON_RUN=(augment --task contrastive --n-train 64 --n 16 --seeds 1 --epochs 1 --retrain-epochs 1
    --n-test 300 --attack-batch 8 "${TINY[@]}" --probe-epochs 5)
expect 0 "tiny augment --task contrastive" -- "$UAE" "${CON_RUN[@]}" --out "$tmp/con"
contains "linear-probe accuracy" "augment prints the probe's accuracy"
check_run "$tmp/con" contrastive 64 16 1 probe_accuracy test_nt_xent ||
    fail "contrastive: results"
# The contrastive loss does not depend on the batch (fixed views, a seeded set of negatives), so
# a resumed contrastive run also writes the same bytes, its batches starting at row 5.
cp -r "$tmp/con" "$tmp/con-cut"
cut_npy "$tmp/con-cut/seed-1/uae.npy" 5
expect 0 "contrastive, resumed" -- "$UAE" "${CON_RUN[@]}" --out "$tmp/con-cut"
cmp "$tmp/con/seed-1/uae.npy" "$tmp/con-cut/seed-1/uae.npy" &&
    echo "ok:   resumed contrastive uae.npy == uninterrupted uae.npy" ||
    fail "the resumed contrastive run's uae.npy differs from the uninterrupted one"

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
grep -qF "this run computes with" "$out" && fail "a resume on the same kernel path warned"
# Every statistics line names what computed its row (uae_backend_numerics); a resume on another
# path (here the scalar reference, or the CPU backend if the first run was the reference) warns
# that its rows differ in rounding, and its lines name the new path.
first_path=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["numerics"])' \
    "$tmp/A/stats.jsonl") || fail "stats.jsonl lines have no \"numerics\""
case "$first_path" in ref*) other=cpu ;; *) other=ref ;; esac
cp -r "$tmp/A" "$tmp/C"
cut_npy "$tmp/C/adversarial.npy" $((N - 3))
expect 0 "attack resumed on the other path ($other)" -- "$UAE" --device "$other" "${ATTACK[@]}" \
    --out "$tmp/C"
contains "rows so far were made with $first_path, this run computes with $other" \
    "a resume on another kernel path warns"
python3 - "$tmp/C/stats.jsonl" "$first_path" "$other" "$N" <<'EOF' ||
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
n = int(sys.argv[4])
assert [l["numerics"] for l in lines[:n - 3]] == [sys.argv[2]] * (n - 3), lines[0]
assert all(l["numerics"].startswith(sys.argv[3]) for l in lines[n - 3:]), lines[-1]
EOF
    fail "the resumed lines name their kernel path"
expect 1 "attack into a folder of other settings" -- "$UAE" "${ATTACK[@]}" --eps 0.5 --out "$tmp/B"
contains "was made with eps = 1.0, this run has eps = 0.5" "the message names the first differing setting"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all passed"
