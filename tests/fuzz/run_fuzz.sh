#!/bin/sh
# tests/fuzz/run_fuzz.sh FUZZER SEEDS SECONDS ARTIFACTS — runs one libFuzzer target for SECONDS
# seconds, starting from the committed seed corpus SEEDS (read only: new inputs go to a temporary
# folder). A crash, a sanitizer report, a leak or a 10-second input fails the test; the input that
# did it is kept in ARTIFACTS (copy it into SEEDS as a regression once fixed) and printed in hex.
# libFuzzer's own failure status is 77 by default, which meson counts as a skip: 86 here.
set -u
exe=$1 seeds=$2 secs=$3 artifacts=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
# allocator_may_return_null: a size the parser accepts but malloc refuses must come back as
# UAE_ERR_NOMEM, which is what the library does; everything else halts at the first report.
export ASAN_OPTIONS="allocator_may_return_null=1:halt_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
"$exe" -max_total_time="$secs" -timeout=10 -error_exitcode=86 -timeout_exitcode=86 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$artifacts/$(basename "$exe")-" -print_final_stats=1 "$work" "$seeds" 2>"$work.log"
rc=$?
# The summary lines: runs, coverage, corpus size (the log is long; meson keeps the tail).
grep -E '^(INFO: Seed|#[0-9]+[[:space:]]+DONE|stat::|Done [0-9]+ runs)' "$work.log" | tail -12
if [ "$rc" -ne 0 ]; then
    tail -60 "$work.log"
    for f in "$artifacts/$(basename "$exe")"-*; do
        [ -f "$f" ] || continue
        echo "input $f:"
        od -A d -t x1 "$f" | head -20
    done
fi
rm -f "$work.log"
exit "$rc"
