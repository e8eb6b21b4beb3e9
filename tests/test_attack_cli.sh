#!/usr/bin/env bash
# tests/test_attack_cli.sh — `uae attack` for people, on a small table (no system data set needed):
# progress lines when stderr is not a terminal and the expected time, --preset demo, a larger --n
# extends a folder (same bytes as a fresh run), a settings mismatch names the first differing
# setting, and the outputs describe themselves (index and uint8 success in
# adversarial.safetensors, feature names and scaling in features.json, enough to map the rows
# back to the table's units with NumPy-free Python).
# Usage: test_attack_cli.sh PATH/TO/uae
set -u
UAE=$(realpath "${1:?usage: test_attack_cli.sh PATH/TO/uae}")
. "$(dirname "$0")/cli_lib.sh"

# A table as a folder with train.csv and test.csv: the train split is train.csv in its order.
mkdir -p "$tmp/t"
python3 - "$tmp/t" <<'EOF'
import random, sys
random.seed(5)
for name, n in (("train", 40), ("test", 10)):
    with open(f"{sys.argv[1]}/{name}.csv", "w") as f:
        f.write("height,weight,age,label\n")
        for r in range(n):
            f.write(f"{random.uniform(150, 200):.3f},{random.uniform(40, 120):.3f},"
                    f"{random.randint(18, 90)},{r % 2}\n")
EOF
"$UAE" train --model dense-ae --hidden 2 --epochs 1 --data "$tmp/t" --out "$tmp/m.st" \
    >"$out" 2>&1 || { cat "$out"; fail "training the table model"; }
quick=(--iterations 2 --mine-steps 1 --proj-count 4 --proj-dim 2 --batch 1)

# ---- progress for a log file, and the expected time -----------------------------------------------
expect 0 "attack with stderr in a file" -- "$UAE" attack --model "$tmp/m.st" --n 5 "${quick[@]}" \
    --out "$tmp/a5"
contains "expected" "the attack says its expected time"
lines=$(grep -c '^attack: [0-9]*% ([0-9.]* of 5 examples) after ' "$out")
[ "$lines" -ge 4 ] || fail "steady progress lines when stderr is not a terminal: $lines, expected >= 4"
expect 0 "attack --quiet" -- "$UAE" attack --model "$tmp/m.st" --n 5 "${quick[@]}" --out "$tmp/q5" -q
[ "$(grep -c 'attack: [0-9]*%\|expected' "$out")" -eq 0 ] || fail "--quiet writes no progress lines"

# ---- --n grows in an existing folder --------------------------------------------------------------
expect 0 "attack --n 3" -- "$UAE" attack --model "$tmp/m.st" --n 3 "${quick[@]}" --out "$tmp/grow"
expect 0 "the same folder with --n 5" -- "$UAE" attack --model "$tmp/m.st" --n 5 "${quick[@]}" \
    --out "$tmp/grow"
contains "resumed after 3 examples" "the larger --n continues the folder"
cmp -s "$tmp/grow/adversarial.npy" "$tmp/a5/adversarial.npy" ||
    fail "3 then 5 examples give the bytes of 5 at once"
cmp -s "$tmp/grow/stats.jsonl" "$tmp/a5/stats.jsonl" 2>/dev/null ||
    python3 - "$tmp/grow/stats.jsonl" "$tmp/a5/stats.jsonl" <<'EOF' || fail "the statistics agree"
import json, sys
a, b = ([{k: v for k, v in json.loads(l).items() if k != "seconds"} for l in open(p)] for p in sys.argv[1:])
assert a == b, (a, b)
EOF
grep -q '"n":5' "$tmp/grow/settings.json" || fail "settings.json records the new --n"

# ---- a mismatch names the first differing setting -----------------------------------------------
expect 1 "another --iterations in the folder" -- "$UAE" attack --model "$tmp/m.st" --n 5 \
    --iterations 3 --mine-steps 1 --proj-count 4 --proj-dim 2 --batch 1 --out "$tmp/grow"
contains "was made with iterations = 2, this run has iterations = 3" "the message names the setting"

# ---- --preset demo ----------------------------------------------------------------------------
expect 2 "--preset nope" -- "$UAE" attack --model "$tmp/m.st" --preset nope --out "$tmp/p"
expect 0 "--preset demo with an override" -- "$UAE" attack --model "$tmp/m.st" --n 1 \
    --preset demo --iterations 2 --proj-count 4 --proj-dim 2 --out "$tmp/demo"
python3 - "$tmp/demo/settings.json" <<'EOF' || fail "--preset demo sets the demo's attack; options override it"
import json, sys
s = json.load(open(sys.argv[1]))
assert (s["iterations"], s["mine_steps"], s["mine_hidden"], s["mine_filters"]) == (2, 4, 32, 4), s
EOF

# ---- self-describing outputs ----------------------------------------------------------------------
expect 0 "attack --first 2" -- "$UAE" attack --model "$tmp/m.st" --n 4 --first 2 "${quick[@]}" \
    --out "$tmp/desc"
python3 - "$tmp/desc" "$tmp/t/train.csv" <<'EOF' || fail "the outputs map back to the table"
import array, csv, json, struct, sys
d, table = sys.argv[1], sys.argv[2]
b = open(f"{d}/adversarial.safetensors", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
def tensor(name, code):
    s, e = h[name]["data_offsets"]
    return array.array(code, b[8 + n + s:8 + n + e])
assert h["index"]["dtype"] == "I64" and h["success"]["dtype"] == "U8", h
assert list(tensor("index", "q")) == [2, 3, 4, 5], list(tensor("index", "q"))
assert set(tensor("success", "B")) <= {0, 1}
meta = h["__metadata__"]
f = json.load(open(f"{d}/features.json"))
assert json.loads(meta["uae.table"]) == f and meta["uae.split"] == "train", meta
assert f["features"] == ["height", "weight", "age"] and f["scale"] == "minmax", f
rows = [r for r in csv.reader(open(table))][1:]
x = tensor("x", "f")
for k, i in enumerate(tensor("index", "q")):
    for j in range(3):
        v = x[k * 3 + j] * (f["max"][j] - f["min"][j]) + f["min"][j]
        want = float(rows[i][j])
        # float32 scaling of values up to 200: a few ulp of 200 (2e-5 relative)
        assert abs(v - want) <= 1e-4 * abs(want), (i, j, v, want)
EOF

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all passed"
