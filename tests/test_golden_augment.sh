#!/usr/bin/env bash
# tests/test_golden_augment.sh — a small golden run: a tiny `uae augment` (reconstruction with
# dense-ae on a generated 12-feature table, two seeds, a few seconds) whose results.json numbers
# (every arm's test MSE per seed, and the attack success rate per seed) must equal the committed
# tests/golden/augment_results.json to 1e-4 relative. Any change of any arm's value fails this test
# until the golden file is regenerated on purpose, with the reason in the commit:
#     tests/test_golden_augment.sh build/apps/uae --regenerate
# 1e-4: the run is deterministic on one machine (same bits); the tolerance lets another CPU
# (other SIMD paths, other summation orders inside the BLAS-like kernels) through, while a change
# of the method moves these values by 1e-3 or more.
# Usage: test_golden_augment.sh PATH/TO/uae [--regenerate]
set -u
UAE=${1:?usage: test_golden_augment.sh PATH/TO/uae [--regenerate]}
GOLDEN="$(cd "$(dirname "$0")" && pwd)/golden/augment_results.json"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The table: 160 rows of 12 features and a 0/1 label, from a formula (no RNG, same text on every
# machine; printed with 4 decimals).
awk 'BEGIN {
    printf "f0"; for (j = 1; j < 12; j++) printf ",f%d", j; print ",label";
    for (i = 0; i < 160; i++) {
        for (j = 0; j < 12; j++)
            printf "%s%.4f", (j ? "," : ""), (j + 1) * (sin(0.37 * i + 1.3 * j) + 0.5 * cos(0.11 * i * (j + 1)));
        printf ",%d\n", i % 2;
    }
}' > "$tmp/table.csv"
"$UAE" --quiet --device cpu augment --data "$tmp/table.csv" --model dense-ae --n-train 48 --n 8 \
    --epochs 3 --retrain-epochs 2 --batch 16 --seeds 1,2 --iterations 3 --mine-steps 2 \
    --mine-hidden 8 --proj-count 6 --proj-dim 4 --attack-batch 4 --out "$tmp/run" > "$tmp/out.txt" 2>&1
rc=$?
if [ $rc -ne 0 ]; then cat "$tmp/out.txt"; echo "FAIL: uae augment exited $rc"; exit 1; fi
python3 - "$tmp/run/results.json" "$GOLDEN" "${2:-}" <<'PY'
import json, math, sys
got_path, golden_path, mode = sys.argv[1:4]
got = json.load(open(got_path))
def numbers(r):
    out = {}
    for arm, v in r["arms"].items():
        for m in r["metrics"]:
            out["%s/%s" % (arm, m["name"])] = v[m["name"]]["values"]
    out["attack_success_rate"] = r["attack_success_rate"]
    return out
if mode == "--regenerate":
    keep = {"settings": got["settings"], "numbers": numbers(got)}
    with open(golden_path, "w") as f:
        json.dump(keep, f, indent=2, sort_keys=True)
        f.write("\n")
    print("wrote", golden_path)
    sys.exit(0)
golden = json.load(open(golden_path))
assert got["settings"] == golden["settings"], ("settings differ", got["settings"], golden["settings"])
bad = 0
for key, want in golden["numbers"].items():
    have = numbers(got).get(key)
    for i, (a, b) in enumerate(zip(have or [], want)):
        if a is None or b is None or not math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-9):
            print("FAIL %s seed #%d: %r, golden %r" % (key, i, a, b))
            bad += 1
    if have is None or len(have) != len(want):
        print("FAIL %s: %r, golden %r" % (key, have, want))
        bad += 1
    else:
        print("%s: %s" % (key, " ".join("%.6g" % a for a in have)))
if bad:
    print("%d value(s) differ from %s; if the change is meant, regenerate it:" % (bad, golden_path))
    print("    tests/test_golden_augment.sh build/apps/uae --regenerate   (and say why in the commit)")
    sys.exit(1)
print("golden augment: all values equal")
PY
