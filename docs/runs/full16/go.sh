#!/bin/bash
# Issue 16's full-scale run: (re)start it (it resumes), with THREADS OpenMP threads (default 1:
# the machine is shared; 2 when it is quiet). Binary: fc00aa8's kernels + the arm results of
# a783d15 (branch full16-arms, f3e25e9: + the paired differences of aede1c4). Seed 1 was made on the AVX-512 path: refuse elsewhere,
# so that no seed mixes two kernel paths.
cd /work/exp/full16 || exit 1
grep -qw avx512f /proc/cpuinfo || { echo "go.sh: this CPU has no AVX-512: the run's seeds were made on the AVX-512 path; run it on such a machine (or start a new --out with UAE_CPU_ISA fixed)" >&2; exit 1; }
T=${THREADS:-1}
N=${RUN:-run3}
# SEEDS=2 or SEEDS=3: one seed per process (two processes on two cores); never two processes on one seed.
# RANKS=2: Open MPI ranks of T threads each (docs/cluster.md: the same bytes as one process; the
# generation and the arms are shared between the ranks).
MPI=""
[ "${RANKS:-1}" -gt 1 ] && MPI="mpirun --allow-run-as-root -n $RANKS -x OMP_NUM_THREADS=$T"
OMP_NUM_THREADS=$T setsid nohup nice -n 19 $MPI ./uae-f3e25e9 augment --model conv-ae --n-train 60000 --n 60000 --seeds ${SEEDS:-1,2,3} --epochs 20 --batch 100 --iterations 20 --mine-steps 4 --mine-hidden 32 --mine-filters 4 --mine-lr 1e-3 --mine-warmup 40 --out /work/exp/full16/trained > $N.out 2> $N.err < /dev/null &
echo $! > $N.pid
sleep 3
# Memory per process: the ranks (mpirun's children), or the one process.
pids=$(cat $N.pid); [ -n "$MPI" ] && pids=$(pgrep -P $(cat $N.pid))
for p in $pids; do
  setsid nohup ./memwatch.sh $p $N.err mem-$N-$p.log > /dev/null 2>&1 < /dev/null &
done
echo "started $N (pid $(cat $N.pid), $T threads)"
