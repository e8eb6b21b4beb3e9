#!/usr/bin/env bash
# tests/test_kernel_enums.sh — the OpenCL kernels name the enums they switch on (core/uae/op_enums.h,
# pasted into the program) and compute the shared formulas (core/pointwise_math.h) instead of
# writing them again: no `case 3:`, no `fn == 1`, no "the numbering is uae_..._fn's" comment.
# Usage: test_kernel_enums.sh DIR   (meson passes backends/opencl). Exits 1 and lists the lines.
set -u
DIR=${1:?usage: test_kernel_enums.sh DIR}
ls "$DIR"/*.cl >/dev/null || exit 1
if grep -nE '\bcase [0-9]|numbering is|\b(fn|kind|dist|comb) *[=!]= *[0-9]' "$DIR"/*.cl; then
    echo "FAIL: bare enum numbers in the kernels above; use the names of core/uae/op_enums.h" >&2
    exit 1
fi
echo "ok: no bare enum numbers in $DIR/*.cl"
