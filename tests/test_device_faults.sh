#!/usr/bin/env bash
# tests/test_device_faults.sh — device faults on the OpenCL backend (docs/reliability.md), made by
# UAE_OPENCL_FAULT as a driver would report them: a kernel launch that fails with
# CL_OUT_OF_RESOURCES in the middle of training and of an attack, a buffer allocation that fails
# with CL_MEM_OBJECT_ALLOCATION_FAILURE, a program build that fails. Each must stop the command
# with a message naming the call, the op or kernel and the device; the last checkpoint must be
# intact, and the same command without the fault must end with the bytes of a run that never
# failed. Exits 77 (skipped) without an OpenCL device. Usage: test_device_faults.sh PATH/TO/uae
set -u
UAE=${1:?usage: test_device_faults.sh PATH/TO/uae}
. "$(dirname "$0")/cli_lib.sh"
export OMP_NUM_THREADS=1
device=$("$UAE" devices --json 2>/dev/null | python3 -c '
import json, sys
d = [d for d in json.load(sys.stdin)["devices"] if d["backend"] == "opencl"]
print(d[0]["name"] if d else "")')
if [ -z "$device" ]; then
    echo "skip: no OpenCL device"
    exit 77
fi
echo "note: OpenCL device: $device"
make_table "$tmp/t.csv"
train=(-q --device opencl train --model dense-ae --hidden 8 --data "$tmp/t.csv" --batch 20 --seed 3
       --checkpoint-every 4)
expect 0 "train on OpenCL, no fault" -- "$UAE" "${train[@]}" --epochs 3 --out "$tmp/a.safetensors"

# A launch of the optimizer's kernel fails from step 30 on (24 steps an epoch, checkpoints every 4).
expect 1 "train with a failing launch" -- env UAE_OPENCL_FAULT=launch:optim:30 "$UAE" "${train[@]}" \
    --epochs 3 --out "$tmp/b.safetensors"
contains "CL_OUT_OF_RESOURCES" "the launch failure names the driver's error"
contains "optim on OpenCL" "the launch failure names the op"
contains "uae_optim" "the launch failure names the kernel"
contains "$device" "the launch failure names the device"
expect 0 "the last checkpoint is intact" -- "$UAE" eval --model "$tmp/b.safetensors" \
    --data "$tmp/t.csv"
expect 0 "resume without the fault" -- "$UAE" "${train[@]}" --epochs 3 --out "$tmp/b.safetensors" \
    --resume
cmp -s "$tmp/a.safetensors" "$tmp/b.safetensors" && echo "ok:   resumed == never failed" ||
    fail "the run resumed after a launch failure differs from the run without one"

# An allocation fails when a resumed run sets up (every later one too): the checkpoint is untouched.
expect 0 "train one epoch" -- "$UAE" "${train[@]}" --epochs 1 --out "$tmp/c.safetensors"
cp "$tmp/c.safetensors" "$tmp/c0.safetensors"
expect 1 "resume with a failing allocation" -- env UAE_OPENCL_FAULT=alloc:5 "$UAE" "${train[@]}" \
    --epochs 3 --out "$tmp/c.safetensors" --resume
contains "CL_MEM_OBJECT_ALLOCATION_FAILURE" "the allocation failure names the driver's error"
contains "clCreateBuffer" "the allocation failure names the call"
contains "$device" "the allocation failure names the device"
cmp -s "$tmp/c0.safetensors" "$tmp/c.safetensors" && echo "ok:   the checkpoint is untouched" ||
    fail "a failed resume changed the checkpoint"
expect 0 "resume without the fault" -- "$UAE" "${train[@]}" --epochs 3 --out "$tmp/c.safetensors" \
    --resume
cmp -s "$tmp/a.safetensors" "$tmp/c.safetensors" && echo "ok:   resumed == never failed" ||
    fail "the run resumed after an allocation failure differs from the run without one"

# The program does not build.
expect 1 "train with a failing build" -- env UAE_OPENCL_FAULT=build "$UAE" "${train[@]}" \
    --epochs 3 --out "$tmp/d.safetensors"
contains "CL_BUILD_PROGRAM_FAILURE" "the build failure names the driver's error"
contains "build log" "the build failure shows the build log"
contains "$device" "the build failure names the device"
[ ! -e "$tmp/d.safetensors" ] || fail "a checkpoint was written without a device"
expect 2 "a malformed UAE_OPENCL_FAULT is refused" -- env UAE_OPENCL_FAULT=launch:nope:1 "$UAE" \
    "${train[@]}" --epochs 1 --out "$tmp/e.safetensors"
contains "UAE_OPENCL_FAULT" "the refusal names the variable"

# An attack whose step kernel fails part-way: run again without the fault, the same bytes.
attack=(-q --device opencl attack --model "$tmp/a.safetensors" --data "$tmp/t.csv" --n 16
        --batch 2 --iterations 10 --mine-steps 2 --mine-hidden 16 --proj-count 8 --proj-dim 4)
expect 0 "attack on OpenCL, no fault" -- "$UAE" "${attack[@]}" --out "$tmp/atk-a"
expect 1 "attack with a failing launch" -- env UAE_OPENCL_FAULT=launch:attack_step:50 "$UAE" \
    "${attack[@]}" --out "$tmp/atk-b"
contains "CL_OUT_OF_RESOURCES" "the attack's failure names the driver's error"
contains "uae_attack_step" "the attack's failure names the kernel"
rows=$(python3 -c '
import ast, sys
h = open(sys.argv[1], "rb").read(256)
print(ast.literal_eval(h[10:10 + int.from_bytes(h[8:10], "little")].decode())["shape"][0])' \
    "$tmp/atk-b/adversarial.npy" 2>/dev/null || echo 0)
[ "$rows" -gt 0 ] && [ "$rows" -lt 16 ] && echo "ok:   the attack failed part-way ($rows of 16 rows)" ||
    fail "the attack's launch failure came at $rows of 16 rows, expected part-way"
expect 0 "the attack run again without the fault" -- "$UAE" "${attack[@]}" --out "$tmp/atk-b"
for f in adversarial.npy adversarial.safetensors; do
    cmp -s "$tmp/atk-a/$f" "$tmp/atk-b/$f" && echo "ok:   attack $f == never failed" ||
        fail "attack $f after a launch failure differs from the run without one"
done

if [ "$failures" -gt 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all device-fault checks passed"
