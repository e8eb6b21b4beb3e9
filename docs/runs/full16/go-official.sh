#!/bin/bash
# Issue 16, item 1's last part: seed 1 again at the official MINE rate (no --mine-lr, no
# --mine-warmup), from seed 1's base model (copied: the same seed, subset and training, so the
# run takes it instead of training it again). Same binary and AVX-512 rule as go.sh.
cd /work/exp/full16 || exit 1
grep -qw avx512f /proc/cpuinfo || { echo "go-official.sh: no AVX-512 here (see go.sh)" >&2; exit 1; }
T=${THREADS:-1}
N=${RUN:-off1}
OMP_NUM_THREADS=$T setsid nohup nice -n 19 ./uae-f3e25e9 augment --model conv-ae --n-train 60000 --n 60000 --seeds 1 --epochs 20 --batch 100 --iterations 20 --mine-steps 4 --mine-hidden 32 --mine-filters 4 --out /work/exp/full16/official-rate > $N.out 2> $N.err < /dev/null &
echo $! > $N.pid
sleep 1
setsid nohup ./memwatch.sh $(cat $N.pid) $N.err mem-$N.log > /dev/null 2>&1 < /dev/null &
echo "started $N (pid $(cat $N.pid), $T threads)"
