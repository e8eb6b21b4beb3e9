#!/usr/bin/env bash
# tests/test_cli_table.sh — a real-world table through the CLI: an ID column, categorical columns,
# a class column of names and empty cells. The table options of every data-reading command and
# their messages, the record in the checkpoint, the one data-set rule (eval, reconstruct, attack
# and train --resume read the checkpoint's data set with its options and scaling, from another
# folder too), and the min-max scaling of tables by `uae train`. Needs no data set of the system.
# Usage: test_cli_table.sh PATH/TO/uae
set -u
UAE=$(realpath "${1:?usage: test_cli_table.sh PATH/TO/uae}")
. "$(dirname "$0")/cli_lib.sh"

# A table shaped like the mice protein one: 'MouseID', 8 numeric features in -16 .. 16 with 5%
# empty cells, two categorical columns and the class as a name (the last column).
python3 - "$tmp/mice.csv" <<'EOF'
import random, sys
random.seed(3)
with open(sys.argv[1], "w") as f:
    f.write(",".join(["MouseID"] + [f"f{i}" for i in range(8)] + ["Genotype", "Treatment", "class"]) + "\n")
    for r in range(120):
        vals = [f"{random.gauss(0, 2) * (i + 1):.4f}" if random.random() > 0.05 else "" for i in range(8)]
        f.write(",".join([f"{r // 3}_{r % 3}"] + vals + [random.choice(["Control", "Ts65Dn"]),
                         random.choice(["Memantine", "Saline"]),
                         random.choice(["c-CS-m", "t-SC-s", "c-SC-m"])]) + "\n")
EOF
mkdir -p "$tmp/data" "$tmp/run" "$tmp/elsewhere"
mv "$tmp/mice.csv" "$tmp/data/mice.csv"
T=$tmp/data/mice.csv
train=(train --model dense-ae --hidden 8 --epochs 2)

# ---- every error names the option that fixes it -------------------------------------------------
expect 1 "train stops at the ID column" -- "$UAE" "${train[@]}" --data "$T" --out "$tmp/x.st"
contains "--drop-columns 'MouseID'" "the ID column's error names --drop-columns"
contains "--categorical onehot|ordinal" "the ID column's error names --categorical"
expect 1 "train stops at a categorical column" -- "$UAE" "${train[@]}" --data "$T" \
    --drop-columns MouseID --out "$tmp/x.st"
contains "'Genotype'" "the message names the categorical column"
expect 1 "train stops at an empty cell" -- "$UAE" "${train[@]}" --data "$T" \
    --drop-columns MouseID --categorical onehot --out "$tmp/x.st"
contains "--missing drop" "the missing value's error names --missing drop"
contains "--missing mean" "the missing value's error names --missing mean"
expect 2 "--categorical nope" -- "$UAE" "${train[@]}" --data "$T" --categorical nope --out "$tmp/x.st"
expect 2 "--missing nope" -- "$UAE" "${train[@]}" --data "$T" --missing nope --out "$tmp/x.st"
expect 2 "--scale nope" -- "$UAE" "${train[@]}" --data "$T" --scale nope --out "$tmp/x.st"
for c in train eval attack augment reconstruct; do
    expect 0 "$c --help" -- "$UAE" "$c" --help
    contains "--drop-columns" "$c --help lists the table options"
    contains "--missing MODE" "$c --help lists --missing"
done
expect 2 "--latent on dense-ae" -- "$UAE" "${train[@]}" --data "$T" --drop-columns MouseID \
    --categorical onehot --missing mean --latent 4 --out "$tmp/x.st"
contains "--latent does not apply to dense-ae (only to aae)" "an option of another preset is rejected"
expect 1 "--n-train larger than the data" -- "$UAE" "${train[@]}" --data "$T" \
    --drop-columns MouseID --categorical onehot --missing mean --n-train 500 --out "$tmp/x.st"
contains "--n-train 500: the training split has only 96 examples" "--n-train says how many there are"

# ---- train with the options: recorded in the checkpoint, the table scaled -----------------------
opts=(--drop-columns MouseID --categorical onehot --missing mean)
(cd "$tmp/run" && "$UAE" "${train[@]}" --data ../data/mice.csv "${opts[@]}" --out m.st \
    --log m.jsonl) >"$out" 2>&1 || fail "train with the table options"
python3 - "$tmp/run/m.st" "$T" <<'EOF' || fail "the checkpoint records the data set and options"
import json, os, struct, sys
b = open(sys.argv[1], "rb").read()
run = json.loads(json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])["__metadata__"]["uae.run"])
assert run["data"] == os.path.realpath(sys.argv[2]), run          # absolute
assert run["data_from_checkpoint"] == "../data/mice.csv", run     # relative to the checkpoint
t = run["table"]
assert (t["drop_columns"], t["categorical"], t["missing"], t["scale"]) == \
    ("MouseID", "onehot", "mean", "minmax"), t
EOF
# The same table trained unscaled has a far larger loss: sigmoid outputs cannot reach values in
# -16 .. 16, so the default scaling is what made the first run's loss small.
mse_of() { python3 -c "import json,sys; print(json.loads(sys.stdin.read())['mse'])"; }
"$UAE" "${train[@]}" --data "$T" "${opts[@]}" --scale none --out "$tmp/raw.st" >/dev/null 2>&1 ||
    fail "train --scale none"
raw=$("$UAE" eval --model "$tmp/raw.st" --json 2>/dev/null | mse_of)
scaled=$("$UAE" eval --model "$tmp/run/m.st" --json 2>/dev/null | mse_of)
python3 -c "import sys; a, b = map(float, sys.argv[1:]); sys.exit(0 if b < 1 and a > 5 * b else 1)" \
    "$raw" "$scaled" || fail "tables are min-max scaled by default (mse scaled $scaled, raw $raw)"

# On a terminal the bar fits 80 columns with its loss, and the evaluation after an epoch has one
# too; in a log, the evaluation adds no lines.
if command -v script >/dev/null 2>&1; then
    COLUMNS=80 script -qec "'$UAE' ${train[*]} --data '$T' ${opts[*]} --out '$tmp/tty.st'" /dev/null \
        >"$out" 2>&1 || fail "train on a terminal (script)"
    contains "epoch 1 test [" "the evaluation after an epoch shows a bar on a terminal"
    python3 - "$out" <<'EOF' || fail "the training bar fits 80 columns with its loss"
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
bars = [re.sub(r"\x1b\[K", "", l) for l in re.split(r"[\r\n]+", text) if "epoch 1 [" in l]
assert bars and all(len(b) <= 79 and "loss=" in b for b in bars), bars
EOF
else
    echo "skip: no script(1): the terminal bars are not checked"
fi
"$UAE" "${train[@]}" --data "$T" "${opts[@]}" --out "$tmp/log.st" >"$out" 2>&1
grep -q "epoch 1 test" "$out" && fail "in a log the evaluation adds no lines"

# Results on stdout, progress and notes on stderr, in every command.
"$UAE" "${train[@]}" --data "$T" "${opts[@]}" --out "$tmp/split.st" >"$tmp/o.txt" 2>"$tmp/e.txt"
grep -q "^saved " "$tmp/o.txt" && ! grep -q "epoch 1/" "$tmp/o.txt" && grep -q "epoch 1/" "$tmp/e.txt" ||
    fail "train: the result on stdout, the epochs on stderr"
"$UAE" reconstruct --model "$tmp/split.st" --out "$tmp/split.npy" >"$tmp/o.txt" 2>"$tmp/e.txt"
grep -q "^wrote " "$tmp/o.txt" || fail "reconstruct: what it wrote on stdout"
"$UAE" attack --model "$tmp/split.st" --n 2 --iterations 2 --mine-steps 1 --proj-count 4 \
    --proj-dim 2 --out "$tmp/split-att" >"$tmp/o.txt" 2>"$tmp/e.txt"
grep -q "success rate" "$tmp/o.txt" && ! grep -q "expected\|%" "$tmp/o.txt" && grep -q "expected" "$tmp/e.txt" ||
    fail "attack: the summary on stdout, progress on stderr"

# ---- the one data-set rule --------------------------------------------------------------------
# eval with no --data nor options, from another folder: the training's test loss, exactly.
last_test=$(python3 -c "
import json, sys
print('%.4f' % [json.loads(l) for l in open(sys.argv[1])][-1]['test']['mse'])" "$tmp/run/m.jsonl" 2>/dev/null)
expect 0 "eval from another folder, no --data" -- bash -c "cd '$tmp/elsewhere' && '$UAE' eval --model ../run/m.st"
contains "mse:        $last_test" "eval reads the data as the training did (test mse $last_test)"
# checkpoint and data moved together: found relative to the checkpoint
mkdir -p "$tmp/moved"
mv "$tmp/run" "$tmp/data" "$tmp/moved/"
expect 0 "eval after moving the checkpoint and its data" -- "$UAE" eval --model "$tmp/moved/run/m.st"
contains "mse:        $last_test" "the moved data set is found relative to the checkpoint"
mv "$tmp/moved/data/mice.csv" "$tmp/moved/data/gone.csv"
expect 1 "eval without its data set" -- "$UAE" eval --model "$tmp/moved/run/m.st"
contains "$T" "the message names the recorded path"
contains "--data PATH" "the message says that --data overrides it"
expect 0 "eval --data overrides the record" -- "$UAE" eval --model "$tmp/moved/run/m.st" \
    --data "$tmp/moved/data/gone.csv"
contains "mse:        $last_test" "--data with the recorded options gives the same numbers"
mv "$tmp/moved/data/gone.csv" "$tmp/moved/data/mice.csv"
M=$tmp/moved/run/m.st
T=$tmp/moved/data/mice.csv

# attack defaults to the checkpoint's data set (not Fashion-MNIST, the global default)
attack=(attack --model "$M" --n 3 --iterations 2 --mine-steps 1 --proj-count 4 --proj-dim 4)
expect 0 "attack on a table model without --data" -- "$UAE" "${attack[@]}" --out "$tmp/att"
python3 - "$tmp/att/adversarial.safetensors" <<'EOF' || fail "the attacked rows are the scaled table's"
import json, struct, sys, array
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
s, e = h["x"]["data_offsets"]
x = array.array("f", b[8 + n + s:8 + n + e])
assert h["x"]["shape"][-1] == 12, h["x"]            # 8 numeric + 2 + 2 one-hot; no ID, no class
assert min(x) >= 0 and max(x) <= 1 and max(x) > 0.5, (min(x), max(x))
EOF

# train --resume reads the checkpoint's data set and options; --n-test does not change training
cp "$M" "$tmp/moved/run/r.st"
expect 0 "train --resume without --data, --epochs grows, another --n-test" -- \
    "$UAE" train --model dense-ae --hidden 8 --epochs 3 --resume --out "$tmp/moved/run/r.st" --n-test 10
contains "resuming" "the run resumes"
cp "$M" "$tmp/moved/run/r2.st"
expect 2 "--resume with another learning rate names it as typed" -- \
    "$UAE" train --model dense-ae --hidden 8 --epochs 3 --resume --out "$tmp/moved/run/r2.st" --lr 0.001
contains "this command asks for 0.001" "the number is printed as typed"

# A checkpoint of an earlier version (uae.run without the table record): eval reads its data as
# it was trained (unscaled), and --resume continues it.
python3 - "$tmp/num.csv" <<'EOF'
import random, sys
random.seed(2)
with open(sys.argv[1], "w") as f:
    f.write("a,b,c,label\n")
    for i in range(60):
        f.write("%.3f,%.3f,%.3f,%d\n" % (random.random(), random.random(), random.random(), i % 2))
EOF
"$UAE" train --model dense-ae --hidden 2 --epochs 1 --data "$tmp/num.csv" --scale none \
    --out "$tmp/old.st" --log "$tmp/old.jsonl" >/dev/null 2>&1 || fail "train the 'old' checkpoint"
python3 - "$tmp/old.st" "$tmp/num.csv" <<'EOF' || fail "rewriting uae.run as an earlier version did"
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
run = json.loads(h["__metadata__"]["uae.run"])
h["__metadata__"]["uae.run"] = json.dumps({"data": sys.argv[2], "n_train": 0, "n_val": 0,
                                          "n_test": 0, "train_examples": run["train_examples"]})
text = json.dumps(h).encode()
text += b" " * (-len(text) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
EOF
old_test=$(python3 -c "
import json, sys
print('%.4f' % [json.loads(l) for l in open(sys.argv[1])][-1]['test']['mse'])" "$tmp/old.jsonl" 2>/dev/null)
expect 0 "eval of an earlier version's checkpoint" -- "$UAE" eval --model "$tmp/old.st"
contains "mse:        $old_test" "an earlier checkpoint's table is read unscaled, as it was trained"
cp "$tmp/old.st" "$tmp/one.st"
expect 0 "--resume of a finished one-epoch run" -- "$UAE" train --model dense-ae --hidden 2 \
    --epochs 1 --resume --out "$tmp/one.st"
contains "has all 1 epoch already" "one epoch is not '1 epochs'"
expect 0 "--resume of an earlier version's checkpoint" -- "$UAE" train --model dense-ae --hidden 2 \
    --epochs 2 --resume --out "$tmp/old.st"
contains "resuming" "an earlier checkpoint resumes"
expect 2 "--resume with fewer epochs than done" -- "$UAE" train --model dense-ae --hidden 2 \
    --epochs 1 --resume --out "$tmp/old.st"
contains "has 2 epochs already, more than --epochs 1" "the message counts the epochs"

# standard scaling is recorded and used by eval
"$UAE" "${train[@]}" --data "$T" "${opts[@]}" --scale standard --out "$tmp/std.st" \
    --log "$tmp/std.jsonl" >/dev/null 2>&1 || fail "train --scale standard"
std_test=$(python3 -c "
import json, sys
print('%.4f' % [json.loads(l) for l in open(sys.argv[1])][-1]['test']['mse'])" "$tmp/std.jsonl" 2>/dev/null)
expect 0 "eval of the standardised model" -- "$UAE" eval --model "$tmp/std.st"
contains "mse:        $std_test" "eval standardises as the training did"

# a file that is not a checkpoint says so
expect 1 "eval of a CSV file as the model" -- "$UAE" eval --model "$T"
contains "not a safetensors file" "eval says the file is not a safetensors file"

# reconstruct writes what --out's name says, or refuses it
expect 2 "reconstruct --out recon.jpg" -- "$UAE" reconstruct --model "$M" --out "$tmp/recon.jpg"
contains "FILE.npy" "the message lists the formats"
[ -e "$tmp/recon.jpg" ] && fail "nothing is written under a name that says another format"
expect 0 "reconstruct --out recon.npy" -- "$UAE" reconstruct --model "$M" --n 5 --out "$tmp/recon.npy"
python3 - "$tmp/recon.npy" <<'EOF' || fail "recon.npy holds the reconstructions (5, 1, 1, 12)"
import ast, sys
raw = open(sys.argv[1], "rb").read()
assert raw[:6] == b"\x93NUMPY", raw[:6]
hl = int.from_bytes(raw[8:10], "little")
assert ast.literal_eval(raw[10:10 + hl].decode())["shape"] == (5, 1, 1, 12)
EOF

expect 1 "augment --n-train larger than the data" -- "$UAE" augment --data "$T" "${opts[@]}" \
    --task representation --n-train 1000 --out "$tmp/aug"
contains "--n-train 1000: the training split has only 96 examples" "augment says how many there are"

# augment takes the table options; only min-max scaling fits its box
expect 2 "augment --scale standard" -- "$UAE" augment --data "$T" --scale standard --out "$tmp/aug"
contains "--scale minmax" "augment says which scaling it needs"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all passed"
