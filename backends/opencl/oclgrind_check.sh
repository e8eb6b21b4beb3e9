#!/bin/sh
# backends/opencl/oclgrind_check.sh — runs a test under Oclgrind (the simulated OpenCL device with
# API and data-race checks) and fails it if Oclgrind reported anything.
# --uninitialized is left out: on Oclgrind 21.10 it aborts on LLVM's `freeze` instruction, which
# clang emits for any kernel with an integer `/` and `%` pair (see docs/opencl.md).
# Used as the exe_wrapper of the 'oclgrind' meson test setup (tests/meson.build).
# Usage: oclgrind_check.sh OCLGRIND PROGRAM [ARGS...]
oclgrind="$1"
shift
log=$(mktemp "${TMPDIR:-/tmp}/uae_oclgrind.XXXXXX") || exit 1
"$oclgrind" --check-api --data-races --log "$log" "$@"
status=$?
if [ -s "$log" ]; then
    echo "oclgrind reported problems:" >&2
    cat "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
exit $status
