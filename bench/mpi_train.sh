#!/bin/sh
# bench/mpi_train.sh — data-parallel `uae train` (docs/cluster.md): the communication time per
# training step. Trains MODEL on Fashion-MNIST in micro-batches under mpirun -n R for R in RANKS,
# REPS times each, with a JSON-lines log whose epoch lines carry "comm_seconds" (the steps'
# exchanges: gathering the parts' gradients on rank 0, adding them, sending the sum back) and
# "wait_seconds" (waiting for the slowest rank's parts); prints them per step with the whole
# step's time, and checks that
# every run wrote the same checkpoint bytes. A manual tool like bench/mpi_scaling.sh: no test runs
# it; it writes what it measured (docs/performance.md).
#
#   bench/mpi_train.sh [BUILD_DIR [OUT_DIR]]   (defaults: build, mpi-train-<UTC time>)
#
# MODEL (default conv-ae; classifier has 35 times the parameters), N_TRAIN (default 1200), BATCH
# (100), MICRO (25), RANKS ("1 2 3"), REPS (3). One thread per rank. Needs a build with MPI and
# the Debian package dataset-fashion-mnist.
set -eu
BUILD=${1:-build}
OUT=${2:-mpi-train-$(date -u +%Y%m%dT%H%M%SZ)}
MODEL=${MODEL:-conv-ae}
N_TRAIN=${N_TRAIN:-1200}
BATCH=${BATCH:-100}
MICRO=${MICRO:-25}
RANKS=${RANKS:-1 2 3}
REPS=${REPS:-3}
U=$(realpath "$BUILD/apps/uae")
"$U" --version | grep -q '^MPI: compiled in' || { echo "mpi_train: $U has no MPI" >&2; exit 2; }
MPI="mpirun -n"
if mpirun --version 2>&1 | grep -q 'Open MPI'; then
    # As root Open MPI wants the flag; --oversubscribe for more ranks than cores; a rank waiting
    # in a collective yields its core (bench/mpi_scaling.sh).
    MPI="mpirun --allow-run-as-root --oversubscribe --bind-to none --mca mpi_yield_when_idle 1 -n"
fi
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
mkdir -p "$OUT"
echo "mpi_train: $(lscpu | grep 'Model name' | sed 's/  */ /g'); $MODEL, $N_TRAIN examples in batches of $BATCH, micro-batches of $MICRO; before: $(uptime | sed 's/.*load/load/')" | tee "$OUT/load.txt"
for rep in $(seq "$REPS"); do
    for r in $RANKS; do
        run="$OUT/r$r-$rep"
        $MPI "$r" "$U" -q train --model "$MODEL" --epochs 1 --n-train "$N_TRAIN" --batch "$BATCH" \
            --micro-batch "$MICRO" --n-test 100 --out "$run.st" --log "$run.jsonl" > "$run.txt" 2>&1 ||
            { cat "$run.txt"; exit 1; }
        cmp -s "$OUT/r1-1.st" "$run.st" 2>/dev/null || [ "$r$rep" = 11 ] ||
            { echo "mpi_train: $run.st differs from r1-1.st" >&2; exit 1; }
        echo "$r $run.jsonl" >> "$OUT/runs.txt"
    done
done
echo "mpi_train: after: $(uptime | sed 's/.*load/load/')" | tee -a "$OUT/load.txt"
python3 - "$OUT/runs.txt" <<'PY'
import json, statistics, sys
per = {}
for line in open(sys.argv[1]):
    r, path = line.split()
    ep = [j for j in map(json.loads, open(path)) if j.get("event") == "epoch"]
    e = ep[-1]
    steps = e["step"]
    per.setdefault(int(r), []).append([e.get(k, 0.0) / steps
                                       for k in ("seconds", "comm_seconds", "wait_seconds")])
def ms(xs):
    return (f"{1e3 * statistics.median(xs):.2f} ms ({1e3 * min(xs):.2f}-{1e3 * max(xs):.2f})")
for r, v in sorted(per.items()):
    print(f"  {r} rank(s), per step: step {ms([x[0] for x in v])}, exchange "
          f"{ms([x[1] for x in v])}, waiting {ms([x[2] for x in v])}; {len(v)} runs")
PY
