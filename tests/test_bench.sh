#!/usr/bin/env bash
# tests/test_bench.sh — uae-bench runs and writes what it promises: JSON with its fields, CSV with a
# header, an SVG chart, the --scaling and --compare summaries, and usage errors with exit status 2.
# Tiny shapes (--quick); it asserts nothing about speed (numbers are for docs/performance.md).
# Usage: test_bench.sh PATH/TO/uae-bench. Exits non-zero on any failure.
set -u
BENCH=${1:?usage: test_bench.sh PATH/TO/uae-bench}
unset UAE_DEVICE
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out

# expect CODE DESCRIPTION -- COMMAND...: runs COMMAND with stdout in $out (stderr in $out.err).
expect() {
    local want=$1 what=$2
    shift 3
    "$@" >"$out" 2>"$out.err"
    local got=$?
    if [ "$got" -eq 86 ]; then # a sanitizer's report (tests/meson.build), whatever was expected
        echo "FAIL: $what: AddressSanitizer/UBSan report (exit status 86): $*"
        cat "$out" "$out.err" | sed 's/^/    | /' | head -40
        failures=$((failures + 1))
    elif [ "$got" -ne "$want" ]; then
        echo "FAIL: $what: exit status $got, expected $want: $*"
        cat "$out" "$out.err" | sed 's/^/    | /' | head -20
        failures=$((failures + 1))
    else
        echo "ok:   $what"
    fi
}

# contains TEXT DESCRIPTION: stdout or stderr of the last `expect` contains TEXT.
contains() {
    if ! grep -qF -- "$1" "$out" "$out.err"; then
        echo "FAIL: $2: output lacks '$1'"
        failures=$((failures + 1))
    fi
}

expect 0 "--help" -- "$BENCH" --help
contains "Usage: uae-bench" "--help names the program"
if grep -qF "start-up (uae_backend_open)" "$out"; then
    echo "FAIL: --help measures nothing"
    failures=$((failures + 1))
fi
expect 2 "an unknown option is a usage error" -- "$BENCH" --bogus
contains "uae-bench: unknown option '--bogus'" "the message names the option"
expect 2 "an unknown op is a usage error" -- "$BENCH" --op nosuchop
expect 2 "--reps 0 is a usage error" -- "$BENCH" --reps 0
expect 2 "--size with another op is a usage error" -- "$BENCH" --size 64 --op conv
expect 2 "--json with --csv is a usage error" -- "$BENCH" --json --csv
expect 2 "--compare with one device is a usage error" -- "$BENCH" --compare cpu
expect 2 "an unknown device is a usage error" -- "$BENCH" --device nosuchdevice --quick

# Every case on the CPU backend, as JSON.
expect 0 "--quick --device cpu --json" -- "$BENCH" --quick --device cpu --json
cp "$out" "$tmp/all.json"
if command -v python3 >/dev/null; then
    expect 0 "the JSON is valid and has its fields" -- python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
for k in ("uaekit_version", "clblast_version", "cblas", "date", "command", "host", "settings",
          "devices", "results"):
    assert k in r, k
d = r["devices"][0]
assert d["id"] == "cpu" and d["backend"] == "cpu", d
assert d["startup_cold_s"] >= 0 and d["startup_warm_s"] >= 0, d
assert "driver_version" in d
ops = {x["op"] for x in r["results"]}
assert {"gemm", "gemm-batched", "conv", "conv-bwd-data", "conv-bwd-weight", "mine_bound",
        "attack_step", "optim", "train-conv-ae", "uae-gen"} <= ops, ops
for x in r["results"]:
    for k in ("case", "shape", "device", "threads", "status", "gflops", "gbps", "maxrss_bytes",
              "arena_peak_bytes", "fallbacks"):
        assert k in x, (k, x)
    if x["status"] == "ok":
        t = x["time"]
        assert t["reps"] >= 1 and t["inner"] >= 1, x
        assert 0 < t["min_s"] <= t["q1_s"] <= t["median_s"] <= t["q3_s"] <= t["max_s"], x
gemm = [x for x in r["results"] if x["op"] == "gemm"]
assert gemm and all(x["status"] == "ok" and x["gflops"] > 0 for x in gemm), gemm
e2e = [x for x in r["results"] if x["op"] in ("train-conv-ae", "uae-gen")]
assert all(x["status"] == "ok" and x["items_per_s"] > 0 and x["item_unit"] in ("images", "UAE-its")
           for x in e2e), e2e
mem = [x for x in r["results"] if x["op"] == "optim"]
assert all(x["gbps"] > 0 and x["gflops"] is None for x in mem), mem
' "$tmp/all.json"

    # The command of the issue: one measurement whose JSON carries gflops.
    expect 0 "--op gemm --size 64 --json" -- "$BENCH" --device cpu --op gemm --size 64 --json --reps 3
    cp "$out" "$tmp/one.json"
    expect 0 "--size gives one GEMM result with gflops > 0" -- python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
assert len(r) == 1 and r[0]["case"] == "gemm 64" and r[0]["gflops"] > 0, r
if json.load(open(sys.argv[1]))["cblas"] is not None:
    assert r[0]["cblas_gflops"] > 0, r
' "$tmp/one.json"
fi

expect 0 "--csv" -- "$BENCH" --quick --device cpu --op gemm --csv
head -n 1 "$out" | grep -q '^case,op,shape,device,' || {
    echo "FAIL: the CSV starts with a header"
    failures=$((failures + 1))
}
[ "$(wc -l <"$out")" -ge 3 ] || { echo "FAIL: the CSV has rows"; failures=$((failures + 1)); }

expect 0 "--svg" -- "$BENCH" --quick --device cpu --op gemm-batched --svg "$tmp/chart.svg"
head -c 4 "$tmp/chart.svg" | grep -q '^<svg' || {
    echo "FAIL: the SVG file starts with <svg"
    failures=$((failures + 1))
}
if command -v python3 >/dev/null; then
    expect 0 "the SVG is well-formed XML" -- python3 -c '
import sys, xml.etree.ElementTree as ET
ET.parse(sys.argv[1])' "$tmp/chart.svg"
fi

# Every op at once: one unit per SVG panel (images/s and UAE-iterations/s apart), --quick marked,
# warnings prefixed with the program's name.
expect 0 "--quick --svg, every op" -- "$BENCH" --quick --device cpu --svg "$tmp/all.svg"
grep -q ">images per second" "$tmp/all.svg" && grep -q ">UAE-iterations per second" "$tmp/all.svg" ||
    { echo "FAIL: images/s and UAE-iterations/s have panels of their own"; failures=$((failures + 1)); }
grep -q "images or UAE" "$tmp/all.svg" &&
    { echo "FAIL: no panel mixes two units"; failures=$((failures + 1)); }
grep -q -- "--quick: tiny shapes" "$tmp/all.svg" ||
    { echo "FAIL: the SVG of a --quick run says so"; failures=$((failures + 1)); }
if grep -q "^uae: " "$out.err"; then
    echo "FAIL: uae-bench's warnings are prefixed 'uae-bench:', not 'uae:'"
    failures=$((failures + 1))
fi
expect 0 "--help on uae-gen and --quick" -- "$BENCH" --help
contains "--quick at B = 1" "--help says that --quick runs uae-gen"

expect 0 "the table" -- "$BENCH" --quick --device cpu --op attack_step
contains "uaekit " "the table names the version"
contains "attack_step" "the table lists the case"
expect 2 "--iterations 0 is a usage error" -- "$BENCH" --iterations 0
expect 0 "train-conv-ae as CSV" -- "$BENCH" --quick --device cpu --op train-conv-ae --csv
grep -q ',images,\|images' "$out" || { echo "FAIL: the training case names its unit"; failures=$((failures + 1)); }
expect 0 "--scaling" -- "$BENCH" --quick --scaling --op gemm-batched
contains "thread scaling" "--scaling prints the speed-ups"
# UAE_CPU_OPSTATS=FILE (backends/cpu/cpu_opstats.h): the cpu backend's per-op table, one per
# thread count, appended to FILE when the backend closes.
expect 0 "UAE_CPU_OPSTATS" -- env UAE_CPU_OPSTATS="$tmp/opstats.txt" "$BENCH" --quick --scaling \
    --op gemm-batched --device cpu
for want in "kernels, 1 threads:" "kernels, 2 threads:" "gemm A.B "; do
    grep -qF -- "$want" "$tmp/opstats.txt" 2>/dev/null ||
        { echo "FAIL: UAE_CPU_OPSTATS: the table lacks '$want'"; failures=$((failures + 1)); }
done
expect 0 "--compare A B" -- "$BENCH" --quick --compare cpu ref --op attack_step
contains "relative to" "--compare prints the ratios"
expect 0 "--compare A,B" -- "$BENCH" --quick --compare cpu,ref --op mine_bound --json

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks passed"
