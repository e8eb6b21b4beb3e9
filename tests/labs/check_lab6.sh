#!/usr/bin/env bash
# tests/labs/check_lab6.sh — the check of lab 6's exercise (docs/labs/lab6-opencl.md): the kernels
# of docs/labs/lab6/silu.cl give the right numbers on the OpenCL device AND Oclgrind finds no
# out-of-bounds access, data race or API error in them. Fails on the unmodified repository (two
# bugs are planted there); skipped (77) without an OpenCL device or without oclgrind.
# Usage: check_lab6.sh PATH/TO/lab6_host PATH/TO/silu.cl
set -u
HOST=${1:?usage: check_lab6.sh LAB6_HOST KERNELS.cl}
CL=${2:?usage: check_lab6.sh LAB6_HOST KERNELS.cl}
command -v oclgrind >/dev/null || { echo "oclgrind is not installed: skipped"; exit 77; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$HOST" "$CL"
rc=$?
[ "$rc" -eq 77 ] && exit 77
status=0
[ "$rc" -eq 0 ] || { echo "FAIL: wrong results on the OpenCL device (exit status $rc)"; status=1; }

# Oclgrind simulates a device and checks every access: --data-races for the races in local memory.
oclgrind --data-races --check-api "$HOST" "$CL" >"$out" 2>&1
rc=$?
cat "$out"
if grep -qiE 'invalid (read|write)|data race|uninitiali|error' "$out"; then
    echo "FAIL: Oclgrind reports the problems above in $CL"
    status=1
elif [ "$rc" -ne 0 ]; then
    echo "FAIL: under Oclgrind the host program exited with status $rc"
    status=1
fi
[ "$status" -eq 0 ] && echo "lab 6: the kernels are right and Oclgrind finds nothing"
exit "$status"
