#!/usr/bin/env bash
# tests/labs/check_solutions.sh — proves that each lab exercise's check works both ways:
#   1. on the unmodified tree (BUILD, the build of SRC) every check FAILS (the exercise is open);
#   2. on a scratch copy of SRC with the model solutions of docs/labs/solutions/ applied, one after
#      the other in the order below, each check PASSES once its solution is in.
# A patch that no longer applies (the code it edits has moved) is reported by name: regenerate it
# (docs/labs/README.md, "Model solutions"). Exit status 0 when every direction holds.
# The scratch copy is built once (the first patch changes a header every file includes), then
# incrementally; it lives in a temporary folder, removed at the end (KEEP=1 keeps it).
# Usage: check_solutions.sh SRC BUILD
set -u
SRC=$(cd "${1:?usage: check_solutions.sh SRC BUILD}" && pwd)
BUILD=$(cd "${2:?usage: check_solutions.sh SRC BUILD}" && pwd)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

# name | solution patch | build targets | the check, run in the source root with B = its build
CHECKS=(
    "lab2_silu|lab2-silu.patch|tests/labs/check_silu tests/test_pointwise_semantics|\$B/tests/labs/check_silu && \$B/tests/test_pointwise_semantics"
    "lab3_mine_nwj|lab3-nwj.patch|tests/labs/check_mine_nwj|\$B/tests/labs/check_mine_nwj"
    "lab6_kernel|lab6-kernel.patch|tests/labs/lab6_host|tests/labs/check_lab6.sh \$B/tests/labs/lab6_host docs/labs/lab6/silu.cl"
)

failures=0
log=$(mktemp)
scratch=$(mktemp -d)
cleanup() { rm -f "$log"; [ "${KEEP:-0}" = 1 ] && echo "scratch kept: $scratch" || rm -rf "$scratch"; }
trap cleanup EXIT

# Runs check $2 in source root $1 with build $3; its output in $log; returns its exit status.
run_check() {
    (cd "$1" && B=$3 bash -c "$2") >"$log" 2>&1
}

applies() { # patch file, source root: whether it applies cleanly
    if command -v git >/dev/null; then git -C "$2" apply --check "$1" 2>>"$log"
    else patch -d "$2" -p1 --dry-run -s <"$1" >>"$log" 2>&1; fi
}
apply() {
    if command -v git >/dev/null; then git -C "$2" apply "$1"; else patch -d "$2" -p1 -s <"$1"; fi
}

echo "== 1. the unmodified tree: every check must fail"
for entry in "${CHECKS[@]}"; do
    IFS='|' read -r name patch targets cmd <<<"$entry"
    if ! ninja -C "$BUILD" $targets >"$log" 2>&1; then
        echo "FAIL: $name: cannot build $targets in $BUILD"; sed 's/^/    | /' "$log" | tail -20
        failures=$((failures + 1)); continue
    fi
    run_check "$SRC" "$cmd" "$BUILD"
    rc=$?
    if [ "$rc" -eq 77 ]; then echo "skip: $name (cannot run here: $(tail -1 "$log"))"
    elif [ "$rc" -eq 0 ]; then
        echo "FAIL: $name passes on the unmodified tree: the exercise is already solved, or the"
        echo "      check checks nothing"; sed 's/^/    | /' "$log" | tail -10
        failures=$((failures + 1))
    else echo "ok:   $name fails without its solution: $(grep -m1 FAIL "$log")"; fi
done

echo "== 2. a scratch copy with the solutions applied: every check must pass"
# The tree as it is (tracked and untracked files, not the ignored build folders).
if git -C "$SRC" rev-parse --show-toplevel >/dev/null 2>&1; then
    (cd "$SRC" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -C "$scratch" -xf - \
        || { echo "FAIL: copying the tree"; exit 1; }
    mkdir -p "$scratch/src" && (cd "$scratch" && find . -mindepth 1 -maxdepth 1 ! -name src -exec mv {} src/ \;)
else
    mkdir -p "$scratch/src" && (cd "$SRC" && tar --exclude='./build*' -cf - .) | tar -C "$scratch/src" -xf -
fi
S=$scratch/src
SB=$scratch/build
if ! meson setup "$SB" "$S" -Dcblas=disabled >"$log" 2>&1; then
    echo "FAIL: meson setup of the scratch copy"; sed 's/^/    | /' "$log" | tail -20; exit 1
fi
for entry in "${CHECKS[@]}"; do
    IFS='|' read -r name patch targets cmd <<<"$entry"
    p=$S/docs/labs/solutions/$patch
    if ! applies "$p" "$S"; then
        echo "FAIL: $name: docs/labs/solutions/$patch no longer applies to this tree: regenerate it"
        sed 's/^/    | /' "$log" | tail -10
        failures=$((failures + 1)); continue
    fi
    apply "$p" "$S"
    if ! ninja -C "$SB" $targets >"$log" 2>&1; then
        echo "FAIL: $name: the tree with $patch does not build"; sed 's/^/    | /' "$log" | grep -m5 -A3 error
        failures=$((failures + 1)); continue
    fi
    run_check "$S" "$cmd" "$SB"
    rc=$?
    if [ "$rc" -eq 77 ]; then echo "skip: $name (cannot run here)"
    elif [ "$rc" -ne 0 ]; then
        echo "FAIL: $name fails with its solution $patch applied"; sed 's/^/    | /' "$log" | tail -15
        failures=$((failures + 1))
    else echo "ok:   $name passes with $patch: $(tail -1 "$log")"; fi
done
[ "$failures" -eq 0 ] && echo "labs: every exercise check fails without its solution and passes with it"
exit $((failures > 0))
