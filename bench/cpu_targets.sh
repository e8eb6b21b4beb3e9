#!/bin/sh
# bench/cpu_targets.sh — measures the CPU targets of docs/performance.md ("Targets") on this
# machine, every instruction-set path it runs (UAE_CPU_ISA=avx512, avx2, generic), in one go, and
# prints the target table (bench/cpu_targets.py). A manual tool, like bench/torch_compare.py: no
# test runs it, and it asserts nothing; it writes what it measured.
#
#   bench/cpu_targets.sh [BUILD_DIR [OUT_DIR]]      (defaults: build, cpu-targets-<UTC time>)
#
# Needs a release build with OpenBLAS (meson's `cblas` option: the CBLAS column) and, for the
# PyTorch rows, Debian's python3-torch (`apt-get install python3-torch`); without torch those rows
# say "not run". FULL=1 adds PyTorch's attack at B = 16 (about 2 x 1-2 minutes more).
# Took 6 to 12 minutes on the busy 2-core Zen 4 of docs/performance.md (less alone); on a busy
# machine the numbers say more about the other load than about uaekit: run it alone (the load
# average is recorded).
set -eu
BUILD=${1:-build}
OUT=${2:-cpu-targets-$(date -u +%Y%m%dT%H%M%SZ)}
B="$BUILD/apps/uae-bench"
HERE=$(dirname "$0")
mkdir -p "$OUT"
[ -x "$B" ] || { echo "cpu_targets: no $B (build first: meson setup $BUILD && ninja -C $BUILD)" >&2; exit 2; }

lscpu > "$OUT/lscpu.txt" 2>/dev/null || true
uptime > "$OUT/load.txt"
echo "cpu_targets: writing $OUT/ ($(uptime | sed 's/.*load/load/'))"

run() { # name, then the command; stderr (progress, floor) into name.log
    name=$1
    shift
    echo "  $name: $*"
    "$@" > "$OUT/$name" 2> "$OUT/$name.log" || echo "  ($name: exit status $?)"
}

for isa in avx512 avx2 generic; do
    if ! UAE_CPU_ISA=$isa "$B" --device cpu --size 16 --reps 1 --warmup 0 --quiet > /dev/null 2>&1; then
        echo "  $isa: not run (this processor does not run it)"
        continue
    fi
    export UAE_CPU_ISA=$isa
    sizes=512,1024,2048
    [ $isa = generic ] && sizes=512,1024 # the plain C kernel: 2048 alone would take a minute
    run gemm-$isa.json "$B" --device cpu --size $sizes --scaling --reps 5 --max-seconds 3 --json
    run bandwidth-$isa.json "$B" --device cpu --op bandwidth --scaling --reps 10 --json
    run mine-gemm-$isa.json "$B" --device cpu --op gemm-batched --scaling --reps 5 --max-seconds 3 --json
    run conv-$isa.json "$B" --device cpu --op conv --scaling --reps 3 --max-seconds 2 --json
    run gen1-$isa.json "$B" --device cpu --op uae-gen --batch 1 --scaling --reps 3 --warmup 1 --json
    if [ $isa != generic ]; then
        # One warm-up, as for B = 1: it takes the first touch of the 3 GB of MINE state (0.5-8 s
        # of kernel time compacting memory for huge pages), which a run pays once per process
        # (the CPU backend keeps the buffers for the next batch: cpu_bufcache.h).
        run gen16-$isa.json "$B" --device cpu --op uae-gen --batch 16 --reps 1 --warmup 1 --json
    fi
    run train-$isa.json "$B" --device cpu --op train-conv-ae --scaling --reps 5 --warmup 1 --json
    unset UAE_CPU_ISA
done

TORCH_PY=
for py in ${PYTHON:-} python3 /usr/bin/python3; do # Debian's torch is for the system python
    if "$py" -c 'import torch' 2> /dev/null; then TORCH_PY=$py; break; fi
done
if [ -n "$TORCH_PY" ]; then
    # 2 threads, and 1 (on a busy machine the 1-thread pair says more: neither side's threads
    # then wait for each other at barriers while other processes hold the cores).
    T="$TORCH_PY $HERE/torch_compare.py"
    run torch-gen1.txt $T --threads 2 --case gen --batch 1 --reps 3
    run torch-train.txt $T --threads 2 --case train --reps 5
    run torch-gen1-t1.txt $T --threads 1 --case gen --batch 1 --reps 3
    run torch-train-t1.txt $T --threads 1 --case train --reps 5
    if [ "${FULL:-0}" = 1 ]; then run torch-gen16.txt $T --threads 2 --case gen --batch 16 --reps 1; fi
else
    echo "  PyTorch: not run (no python3-torch)"
fi
uptime >> "$OUT/load.txt"
python3 "$HERE/cpu_targets.py" "$OUT" | tee "$OUT/targets.md"
