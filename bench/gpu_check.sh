#!/usr/bin/env bash
# bench/gpu_check.sh — the whole GPU check in one command, for a machine with an OpenCL GPU that is
# lent for a few minutes (docs/devices.md, "The GPU check"): the devices, `uae selftest`, the
# OpenCL tests, and uae-bench's GEMM, convolution and uae-gen cases (B = 1, 16, 64, with the device
# counters and the attack's floor) on that device, gathered into one JSON file. It asserts nothing
# itself: it records what ran, what passed and what was measured.
#
#   bench/gpu_check.sh [BUILD_DIR [OUT_DIR]]     (defaults: build, gpu-check-<UTC time>)
#
# Environment: UAE_GPU=SPEC the device (default "gpu": the first OpenCL GPU; any `--device` spec
# works, e.g. "opencl" for PoCL); QUICK=1 tiny shapes (`uae-bench --quick`, seconds: to try the
# script on a CPU); STEP_SECONDS=N the limit of each step (default 150). Builds BUILD_DIR first
# if it has no `uae` yet (meson and the Debian packages of ./run must be there). Writes
# OUT_DIR/gpu-check.json and the logs of every step beside it; the last line says where.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BUILD=${1:-build}
OUT=${2:-gpu-check-$(date -u +%Y%m%dT%H%M%SZ)}
DEV=${UAE_GPU:-gpu}
QUICK=${QUICK:-0}
STEP=${STEP_SECONDS:-150}
mkdir -p "$OUT"
start=$(date +%s)

if [ ! -x "$BUILD/apps/uae" ]; then
    echo "gpu_check: building $BUILD"
    { [ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$ROOT"; } >"$OUT/build.log" 2>&1 &&
        ninja -C "$BUILD" >>"$OUT/build.log" 2>&1 ||
        { echo "gpu_check: the build failed (see $OUT/build.log)" >&2; exit 1; }
fi
UAE="$BUILD/apps/uae"
BENCH="$BUILD/apps/uae-bench"

# step NAME COMMAND...: runs COMMAND with the step's time limit; stdout to OUT/NAME.out, stderr to
# OUT/NAME.err, the exit status and seconds to OUT/NAME.status.
step() {
    local name=$1 t0 rc
    shift
    echo "gpu_check: $name: $*"
    t0=$(date +%s.%N)
    timeout "$STEP" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
    rc=$?
    echo "$rc $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')" >"$OUT/$name.status"
    [ "$rc" -eq 0 ] || echo "gpu_check: $name: exit status $rc"
}

step devices "$UAE" devices --json
step selftest "$UAE" selftest --device "$DEV"
# The OpenCL tests take the first OpenCL device there is; on a GPU machine without PoCL that is
# the GPU (the JSON records which devices were listed).
step tests meson test -C "$BUILD" --no-rebuild ops opencl attack_opencl contrastive_opencl device_faults
cp "$BUILD/meson-logs/testlog.json" "$OUT/tests.testlog.json" 2>/dev/null
quick=()
[ "$QUICK" = 1 ] && quick=(--quick)
step gemm "$BENCH" --device "$DEV" --op gemm --size 512,1024,2048,4096 --reps 5 --json "${quick[@]}"
step conv "$BENCH" --device "$DEV" --op conv --reps 5 --json "${quick[@]}"
step gemm_batched "$BENCH" --device "$DEV" --op gemm-batched --reps 5 --json "${quick[@]}"
# uae-gen at B = 1, 16, 64 (the bench's default batches), with the bandwidth case and gemm 1024
# that its floor needs, and the device counters per iteration.
step uae_gen "$BENCH" --device "$DEV" --op uae-gen --reps 3 --warmup 1 --json "${quick[@]}"

python3 - "$OUT" "$DEV" "$QUICK" "$(($(date +%s) - start))" <<'EOF'
import json, os, sys
out, dev, quick, seconds = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])

def read(name):
    try:
        return open(os.path.join(out, name)).read()
    except OSError:
        return None

def status(name):
    s = read(name + ".status")
    rc, secs = (s or "-1 0").split()
    return {"exit_status": int(rc), "seconds": round(float(secs), 2)}

def as_json(name):
    text = read(name + ".out")
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None

report = {"device_spec": dev, "quick": quick, "total_seconds": seconds,
          "devices": as_json("devices"), "steps": {}}
for name in ("devices", "selftest", "tests", "gemm", "conv", "gemm_batched", "uae_gen"):
    report["steps"][name] = status(name)
report["selftest"] = read("selftest.out")
tests = []
for line in (read("tests.testlog.json") or "").splitlines():
    if line.strip():
        t = json.loads(line)
        tests.append({"name": t.get("name"), "result": t.get("result"),
                      "seconds": t.get("duration")})
report["tests"] = tests
for name in ("gemm", "conv", "gemm_batched", "uae_gen"):
    report[name] = as_json(name)
path = os.path.join(out, "gpu-check.json")
with open(path, "w") as f:
    json.dump(report, f, indent=1)
bad = [n for n, s in report["steps"].items() if s["exit_status"] != 0]
print("gpu_check: %d s; steps with a non-zero exit: %s; wrote %s"
      % (seconds, ", ".join(bad) if bad else "none", path))
EOF
