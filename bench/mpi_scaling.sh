#!/bin/sh
# bench/mpi_scaling.sh — UAE generation as an MPI job (docs/cluster.md), 1 and 2 ranks of one
# thread each, on a conv-ae of Fashion-MNIST: the same `uae attack` command under mpirun -n 1 and
# -n 2, REPS times each, alternating; prints each run's wall time and the medians' ratio, and
# checks that every folder holds the same adversarial.npy. A manual tool like
# bench/cpu_targets.sh: no test runs it; it writes what it measured (docs/performance.md).
#
#   bench/mpi_scaling.sh [BUILD_DIR [OUT_DIR]]   (defaults: build, mpi-scaling-<UTC time>)
#
# N (default 8) examples at --preset demo (PRESET=paper: the official attack, about 27 s an
# example on one core of the quiet 2-core Zen 4), --batch BATCH (default 4); REPS (default 3).
# Needs a build with MPI (uae --version says "MPI: compiled in") and the Debian package
# dataset-fashion-mnist.
set -eu
BUILD=${1:-build}
OUT=${2:-mpi-scaling-$(date -u +%Y%m%dT%H%M%SZ)}
N=${N:-8}
BATCH=${BATCH:-4}
REPS=${REPS:-3}
PRESET=${PRESET:-demo}
U=$(realpath "$BUILD/apps/uae")
"$U" --version | grep -q '^MPI: compiled in' || { echo "mpi_scaling: $U has no MPI" >&2; exit 2; }
MPI="mpirun -n"
if mpirun --version 2>&1 | grep -q 'Open MPI'; then
    # As root Open MPI wants the flag. BIND=core on a quiet machine (a core per rank); on a
    # shared one the default lets the scheduler move ranks off busy cores, and a rank waiting in
    # a gather yields its core instead of spinning (Open MPI polls by default).
    MPI="mpirun --allow-run-as-root --bind-to ${BIND:-none} --mca mpi_yield_when_idle 1 -n"
fi
# SESSIONS=1: each rank in a session of its own (setsid -w). Linux's autogroup scheduling shares
# a busy machine's CPU between sessions, not processes: ranks that mpirun starts in one session
# then share one session's time, and a second rank gains nothing while other sessions keep the
# cores busy. On a quiet machine (or one rank per node) it makes no difference.
WRAP=
[ "${SESSIONS:-0}" = 1 ] && WRAP="setsid -w"
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
mkdir -p "$OUT"
lscpu | grep 'Model name' > "$OUT/cpu.txt" || true
echo "mpi_scaling: $(sed 's/  */ /g' "$OUT/cpu.txt"); autogroup $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo ?), SESSIONS=${SESSIONS:-0}; before: $(uptime | sed 's/.*load/load/')" | tee "$OUT/load.txt"
"$U" train --model conv-ae --epochs 1 --n-train 2000 --out "$OUT/m.st" -q > "$OUT/train.log" 2>&1

for rep in $(seq "$REPS"); do
    for r in 1 2; do
        dir="$OUT/r$r-$rep"
        t0=$(date +%s.%N)
        $MPI "$r" $WRAP "$U" attack --model "$OUT/m.st" --preset "$PRESET" --n "$N" --batch "$BATCH" \
            --out "$dir" -q > "$dir.log" 2>&1
        t1=$(date +%s.%N)
        echo "$r $t0 $t1" >> "$OUT/times.txt"
        echo "  $r rank(s), run $rep: $(python3 -c "print(f'{$t1 - $t0:.1f} s')")"
        cmp -s "$OUT/r1-1/adversarial.npy" "$dir/adversarial.npy" ||
            { echo "mpi_scaling: $dir/adversarial.npy differs from r1-1" >&2; exit 1; }
    done
done
echo "mpi_scaling: after: $(uptime | sed 's/.*load/load/')" | tee -a "$OUT/load.txt"
python3 - "$OUT/times.txt" "$N" <<'PY'
import statistics, sys
t = {1: [], 2: []}
for line in open(sys.argv[1]):
    r, t0, t1 = line.split()
    t[int(r)].append(float(t1) - float(t0))
n = int(sys.argv[2])
m = {r: statistics.median(v) for r, v in t.items()}
for r, v in t.items():
    print(f"{r} rank(s): median {m[r]:.1f} s ({min(v):.1f}-{max(v):.1f}), {m[r] / n:.2f} s per UAE")
print(f"speed-up 1 -> 2 ranks: {m[1] / m[2]:.2f}x (medians; every run's adversarial.npy the same)")
PY
