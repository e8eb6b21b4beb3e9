#!/usr/bin/env bash
# tests/test_mine_cli.sh — `uae mine` on correlated Gaussians: at a small scale (rho 0.8, dim 2:
# I = -log(0.36) = 1.02 nats; 300 steps of 128 pairs) the DV estimate is within 0.2 nats of the
# truth, the printed truth is the formula's, the trace has one line per step and an end record
# that agrees with --json, the same seed gives the same numbers, and bad input is a usage error.
# Usage: test_mine_cli.sh PATH/TO/uae
set -u
UAE=${1:?usage: test_mine_cli.sh PATH/TO/uae}
. "$(dirname "$0")/cli_lib.sh"

RUN=(--quiet mine --rho 0.8 --dim 2 --steps 300 --batch 128 --hidden 32)
expect 0 "mine with a trace" -- "$UAE" "${RUN[@]}" --json --eval-every 50 --trace "$tmp/t.jsonl"
cp "$out" "$tmp/a.json"
expect 0 "mine again, the same seed" -- "$UAE" "${RUN[@]}" --json
cmp -s "$out" "$tmp/a.json" || fail "the same seed gave different results"
expect 0 "mine, text output" -- "$UAE" "${RUN[@]}"
contains "true MI:     1.0217 nats" "the printed truth"
python3 - "$tmp/a.json" "$tmp/t.jsonl" <<'PY' || fail "the estimate and the trace"
import json, math, sys
r = json.load(open(sys.argv[1]))
truth = -0.5 * 2 * math.log(1 - 0.8 ** 2)
assert abs(r["true_mi"] - truth) < 1e-9, r
# 0.2 nats: the estimate measured 0.99 (seed 1) and the DV bound of a trained critic on fresh
# batches of 128 has a standard deviation of ~0.07; an untrained critic gives ~0, an off-by-one
# in the data (y independent of x) gives ~0 too.
assert abs(r["estimate"] - truth) < 0.2, r
lines = [json.loads(l) for l in open(sys.argv[2])]
steps = [l for l in lines if "step" in l]
assert [l["step"] for l in steps] == list(range(300)), len(steps)
assert all(set(l) >= {"step", "bound", "true_mi"} for l in steps), steps[0]
assert [l["step"] for l in steps if "estimate" in l] == list(range(49, 300, 50))
end = lines[-1]
assert end["end"] is True and abs(end["estimate"] - r["estimate"]) < 1e-6, (end, r)
# the training bound rises: the network learns (mean of the last 30 against the first 30 steps)
first = sum(l["bound"] for l in steps[:30]) / 30
last = sum(l["bound"] for l in steps[-30:]) / 30
assert last > first + 0.5, (first, last)
PY

expect 2 "--rho 1" -- "$UAE" mine --rho 1
expect 2 "--rho abc" -- "$UAE" mine --rho abc
expect 2 "--dim 0" -- "$UAE" mine --dim 0
expect 2 "--batch 1" -- "$UAE" mine --batch 1
expect 2 "--steps 0" -- "$UAE" mine --steps 0
expect 2 "an unknown estimator" -- "$UAE" mine --estimator nope
contains "expected dv" "the estimator's message"
expect 2 "--ema with infonce" -- "$UAE" mine --estimator infonce --ema
expect 2 "a positional argument" -- "$UAE" mine extra
expect 1 "a trace in a missing folder" -- "$UAE" --quiet mine --steps 2 --batch 8 --trace "$tmp/no/t.jsonl"
expect 0 "mine --help" -- "$UAE" mine --help
contains "--estimator E" "the help lists the options"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all ok"
