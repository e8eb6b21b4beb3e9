#!/usr/bin/env bash
# tests/test_mpi.sh — `uae attack`, `uae augment` and `uae train` as MPI jobs (docs/cluster.md):
# the output folder of R = 2 and 3 ranks is the bytes of the single-process run (adversarial.npy,
# adversarial.safetensors, and stats.jsonl but for each line's "seconds", a wall time; augment's
# files, results.md/.json but for their wall times); a run killed after some rows, resumed with
# another R, gives the same bytes; `uae train --micro-batch` writes the same checkpoint bytes for
# R = 1, 2, 3, also when stopped and resumed with another R; uae/dist.h itself on 2 and 3 ranks
# (tests/test_dist.c). Bad input: ranks started with other arguments, a rank that cannot open its
# device, a command that does not share its work, a model whose loss couples the batch's rows and
# a rank that does not see rank 0's checkpoint at --resume fail the job on rank 0, naming the rank
# (or the reason), with a non-zero exit and no output; a rank whose device fails part-way (OpenCL
# fault injection) fails the job, naming the rank, and the rerun completes the bytes. Exit 77
# (skipped) without mpirun or without MPI in the build.
# Usage: test_mpi.sh PATH/TO/uae [PATH/TO/test_dist]
set -u
UAE=$(realpath "${1:?usage: test_mpi.sh PATH/TO/uae [PATH/TO/test_dist]}")
TEST_DIST=${2:+$(realpath "$2")}
. "$(dirname "$0")/cli_lib.sh"

if ! command -v mpirun >/dev/null 2>&1; then
    echo "SKIP: no mpirun on PATH"
    exit 77
fi
if ! "$UAE" --version | grep -q '^MPI: compiled in'; then
    echo "SKIP: this build of uae has no MPI (meson -Dmpi=enabled)"
    exit 77
fi
# Open MPI refuses root without --allow-run-as-root, and more ranks than cores without
# --oversubscribe; one thread per rank keeps three ranks on two cores quick.
mpi=(mpirun -n)
if mpirun --version 2>&1 | grep -q 'Open MPI'; then
    mpi=(mpirun --allow-run-as-root --oversubscribe --bind-to none -n)
fi
export OMP_NUM_THREADS=1

# ---- the layer itself (tests/test_dist.c) on 2 and 3 ranks --------------------------------------
if [ -n "$TEST_DIST" ]; then
    for r in 2 3; do
        expect 0 "test_dist on $r ranks" -- "${mpi[@]}" "$r" "$TEST_DIST"
        contains "ok: $r ranks" "test_dist ran as $r ranks"
    done
fi

make_table "$tmp/t.csv"
"$UAE" train --model dense-ae --hidden 3 --epochs 1 --data "$tmp/t.csv" --out "$tmp/m.st" -q \
    >"$out" 2>&1 || { cat "$out"; fail "training the table model"; }
# 11 examples in batches of 2: rounds of 4 (R = 2) and 6 (R = 3) with a short last one, so that
# parts of every size, an empty one included, are gathered.
loud=(attack --model "$tmp/m.st" --n 11 --batch 2 --iterations 3 --mine-steps 2 --proj-count 4
      --proj-dim 2)
run=("${loud[@]}" -q)

# The statistics without their wall times.
same_stats() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
a, b = ([{k: v for k, v in json.loads(l).items() if k != "seconds"} for l in open(p)]
        for p in sys.argv[1:])
sys.exit(0 if a == b and len(a) > 0 else 1)
EOF
}

same_folder() { # REFERENCE FOLDER WHAT
    cmp -s "$1/adversarial.npy" "$2/adversarial.npy" || fail "$3: adversarial.npy differs"
    cmp -s "$1/adversarial.safetensors" "$2/adversarial.safetensors" ||
        fail "$3: adversarial.safetensors differs"
    cmp -s "$1/settings.json" "$2/settings.json" || fail "$3: settings.json differs"
    same_stats "$1/stats.jsonl" "$2/stats.jsonl" || fail "$3: stats.jsonl differs"
}

# ---- the same bytes for R = 1, 2, 3 -------------------------------------------------------------
expect 0 "one process" -- "$UAE" "${run[@]}" --out "$tmp/r1"
expect 0 "mpirun -n 1" -- "${mpi[@]}" 1 "$UAE" "${run[@]}" --out "$tmp/m1"
same_folder "$tmp/r1" "$tmp/m1" "mpirun -n 1"
for r in 2 3; do
    expect 0 "mpirun -n $r" -- "${mpi[@]}" "$r" "$UAE" "${run[@]}" --out "$tmp/m$r"
    same_folder "$tmp/r1" "$tmp/m$r" "mpirun -n $r"
    [ "$(grep -c '^wrote ' "$out")" -eq 1 ] || fail "mpirun -n $r: one summary (rank 0's)"
done

# ---- killed after 5 rows (the statistics of 7 on disk), resumed with R = 3, then 2 ----------------
cp -r "$tmp/r1" "$tmp/k"
cut_npy "$tmp/k/adversarial.npy" 5
head -n 7 "$tmp/r1/stats.jsonl" >"$tmp/k/stats.jsonl"
rm "$tmp/k/adversarial.safetensors"
expect 0 "resumed with mpirun -n 3" -- "${mpi[@]}" 3 "$UAE" "${loud[@]}" --out "$tmp/k"
contains "resumed after 5 examples" "rank 0 continues after the rows on disk"
same_folder "$tmp/r1" "$tmp/k" "killed, resumed with 3 ranks"
cut_npy "$tmp/k/adversarial.npy" 2
expect 0 "resumed again with mpirun -n 2" -- "${mpi[@]}" 2 "$UAE" "${run[@]}" --out "$tmp/k"
same_folder "$tmp/r1" "$tmp/k" "killed again, resumed with 2 ranks"

# ---- uae augment: the same folder for R = 1, 2, 3 (the golden run's settings, tests/
# test_golden_augment.sh), and a run killed inside seed 1's generation resumed with R = 2 --------
aug=(--quiet --device cpu augment --data "$tmp/t.csv" --model dense-ae --n-train 24 --n 6
     --epochs 2 --retrain-epochs 1 --batch 8 --seeds 1,2 --iterations 2 --mine-steps 1
     --mine-hidden 8 --proj-count 4 --proj-dim 2 --attack-batch 2)
same_augment() { # REFERENCE FOLDER WHAT
    local f
    for f in seed-1/uae.npy seed-2/uae.npy seed-1/uae.safetensors seed-2/arms.jsonl \
        seed-1/base.safetensors seed-2/examples.csv features.json seed-1/arm-original.json \
        seed-2/arm-duplicate.json seed-2/arm-uae.json; do
        cmp -s "$1/$f" "$2/$f" || fail "$3: $f differs"
    done
    # Wall times aside (results.md's last line, results.json's "seconds").
    cmp -s <(grep -v 'Wall time' "$1/results.md") <(grep -v 'Wall time' "$2/results.md") ||
        fail "$3: results.md differs"
    python3 - "$1/results.json" "$2/results.json" <<'EOF' || fail "$3: results.json differs"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
a.pop("seconds"), b.pop("seconds")
sys.exit(0 if a == b else 1)
EOF
}
expect 0 "augment, one process" -- "$UAE" "${aug[@]}" --out "$tmp/g1"
for r in 2 3; do
    expect 0 "augment, mpirun -n $r" -- "${mpi[@]}" "$r" "$UAE" "${aug[@]}" --out "$tmp/g$r"
    same_augment "$tmp/g1" "$tmp/g$r" "augment, mpirun -n $r"
done
# (seed 1's arms are taken from their files; seed 2's retrain on both ranks, and rank 0 writes the
# files of rank 1's arms from their gathered metrics.)
cp -r "$tmp/g1" "$tmp/gk"
rm -r "$tmp/gk/seed-2" "$tmp/gk/results.md" "$tmp/gk/results.json"
cut_npy "$tmp/gk/seed-1/uae.npy" 3
expect 0 "augment killed in seed 1, resumed with mpirun -n 2" -- "${mpi[@]}" 2 "$UAE" \
    "${aug[@]:1}" --out "$tmp/gk" # without --quiet: its stages
same_augment "$tmp/g1" "$tmp/gk" "augment resumed with 2 ranks"
# Rank 0 tells which rank retrains which arm up front (it cannot see the others' start), and then
# the start of its own arms only: not "retraining 'duplicate'" when rank 1 is half way through it.
contains "seed 2: retraining 'original' and 'noise' on rank 0, 'duplicate' and 'uae' on rank 1 (1 epoch each)" \
    "augment with 2 ranks says which rank retrains which arm"
contains "seed 2: retraining 'noise' (1 epoch)" "rank 0 tells the start of its own arms"
grep -q "seed 2: retraining 'duplicate' (1 epoch)" "$out" &&
    fail "rank 0 told the start of rank 1's arm 'duplicate', which it cannot see"

# ---- uae train: the same checkpoint for R = 1, 2, 3 -------------------------------------------
# 66 examples in batches of 12 cut into micro-batches of 2: 6 parts per step (2 per rank with R = 3,
# 3 with R = 2) and a last step of 6 examples (3 parts: 1 and 2 with R = 2). concrete-ae draws a
# dropout mask per row, which the parts must draw as the whole batch does (R = 3 only: the suite's
# time).
tr=(-q train --data "$tmp/t.csv" --n-train 66 --batch 12 --micro-batch 2)
for model in "dense-ae --hidden 3" "concrete-ae --select-k 4"; do
    name=${model%% *}
    ranks="2 3"
    [ "$name" = concrete-ae ] && ranks=3
    # shellcheck disable=SC2086 # the model and its option, split on purpose
    expect 0 "train $name, one process" -- "$UAE" "${tr[@]}" --epochs 3 --model $model \
        --out "$tmp/tr-$name-1.st"
    for r in $ranks; do
        # shellcheck disable=SC2086
        expect 0 "train $name, mpirun -n $r" -- "${mpi[@]}" "$r" "$UAE" "${tr[@]}" --epochs 3 \
            --model $model --out "$tmp/tr-$name-$r.st"
        cmp -s "$tmp/tr-$name-1.st" "$tmp/tr-$name-$r.st" ||
            fail "train $name: mpirun -n $r wrote another checkpoint than one process"
    done
done
# Stopped after epoch 1 of 3 by a smaller --epochs (3 ranks), resumed with 2 ranks: the same bytes.
expect 0 "train, 1 epoch on 3 ranks" -- "${mpi[@]}" 3 "$UAE" "${tr[@]}" --epochs 1 \
    --model dense-ae --hidden 3 --out "$tmp/tr-k.st"
expect 0 "train resumed on 2 ranks" -- "${mpi[@]}" 2 "$UAE" "${tr[@]}" --epochs 3 \
    --model dense-ae --hidden 3 --out "$tmp/tr-k.st" --resume
cmp -s "$tmp/tr-dense-ae-1.st" "$tmp/tr-k.st" ||
    fail "train stopped after epoch 1 on 3 ranks, resumed on 2: another checkpoint"
# A loss that couples the batch's rows (sparse-ae's KL term) cannot be cut: a usage error, no file.
expect 2 "sparse-ae under mpirun -n 2" -- "${mpi[@]}" 2 "$UAE" -q train --model sparse-ae \
    --data "$tmp/t.csv" --n-train 24 --epochs 1 --out "$tmp/bad.st"
contains "model 'sparse-ae' cannot train in micro-batches or on several ranks: its KL" "says why"
contains "train it as one process without --micro-batch" "and what works instead"
[ ! -e "$tmp/bad.st" ] || fail "sparse-ae under mpirun -n 2 wrote a checkpoint"
# --resume where rank 1 does not see rank 0's checkpoint (another working folder, as a node without
# the shared file system): rank 0 names the rank and the two resume points, the file stays as it was.
mkdir -p "$tmp/wa" "$tmp/wb"
cp "$tmp/tr-dense-ae-1.st" "$tmp/wa/k.st"
kr=("$UAE" "${tr[@]}" --epochs 4 --model dense-ae --hidden 3 --out k.st --resume)
expect 1 "--resume where rank 1 sees no checkpoint" -- "${mpi[@]}" 1 -wdir "$tmp/wa" "${kr[@]}" \
    : -n 1 -wdir "$tmp/wb" "${kr[@]}"
contains "rank 1: training: this rank resumes after epoch -1, step -1, rank 0 after epoch 3" \
    "names the rank and the resume points"
cmp -s "$tmp/tr-dense-ae-1.st" "$tmp/wa/k.st" || fail "a refused resume changed the checkpoint"
[ ! -e "$tmp/wb/k.st" ] || fail "a refused resume wrote a checkpoint on rank 1"

# ---- bad input: a clear error on rank 0 that names the rank, no output --------------------------
expect 2 "ranks with other arguments" -- "${mpi[@]}" 1 "$UAE" "${run[@]}" --out "$tmp/bad" \
    : -n 1 "$UAE" "${run[@]}" --out "$tmp/bad" --eps 0.5
contains "rank 1: was started with other arguments than rank 0" "the error names the rank"
[ ! -e "$tmp/bad" ] || fail "ranks with other arguments: an output folder was written"
expect 2 "a rank that cannot open its device" -- "${mpi[@]}" 1 "$UAE" "${run[@]}" --out "$tmp/bad" \
    : -n 1 env UAE_DEVICE=no-such-device "$UAE" "${run[@]}" --out "$tmp/bad"
contains "rank 1 of 2 failed (exit status 2)" "rank 0 names the failed rank"
[ ! -e "$tmp/bad" ] || fail "a failed rank: an output folder was written"
expect 3 "a command that does not share its work" -- "${mpi[@]}" 2 "$UAE" eval --model "$tmp/m.st" -q
contains "does not share its work over the 2 ranks" "says why"
expect 2 "--trace with two ranks" -- "${mpi[@]}" 2 "$UAE" "${run[@]}" --out "$tmp/bad" \
    --trace "$tmp/bad.jsonl"

# ---- a rank whose device fails part-way (UAE_OPENCL_FAULT on rank 1 only, as in
# tests/test_device_faults.sh): rank 0 names the rank and the error, the job exits 1, the folder
# holds a resumable prefix and no adversarial.safetensors; rerun with R = 3: the bytes of R = 1 ----
if "$UAE" devices --json 2>/dev/null | grep -q '"backend": "opencl"'; then
    ocl=(-q --device opencl attack --model "$tmp/m.st" --n 12 --batch 2 --iterations 2
         --mine-steps 1 --proj-count 4 --proj-dim 2)
    expect 0 "OpenCL, one process" -- "$UAE" "${ocl[@]}" --out "$tmp/o1"
    expect 1 "a rank's device fails" -- "${mpi[@]}" 1 "$UAE" "${ocl[@]}" --out "$tmp/of" \
        : -n 1 env UAE_OPENCL_FAULT=launch:attack_step:3 "$UAE" "${ocl[@]}" --out "$tmp/of"
    contains "uae attack: rank 1: attack_step on OpenCL" "rank 0 names the failed rank and the op"
    contains "CL_OUT_OF_RESOURCES" "and the driver's error"
    [ ! -e "$tmp/of/adversarial.safetensors" ] || fail "a failed job wrote adversarial.safetensors"
    expect 0 "the failed job rerun with mpirun -n 3" -- "${mpi[@]}" 3 "$UAE" "${ocl[@]}" --out "$tmp/of"
    same_folder "$tmp/o1" "$tmp/of" "failed on rank 1, rerun with 3 ranks"
else
    echo "note: no OpenCL device: the device-fault case is not run"
fi

# ---- uae devices: the device of each rank --------------------------------------------------------
expect 0 "devices under mpirun -n 2" -- "${mpi[@]}" 2 "$UAE" devices
contains "rank 1 (rank 1 on its node): cpu" "each rank's device"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all MPI checks passed"
