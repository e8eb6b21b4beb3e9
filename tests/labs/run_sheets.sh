#!/usr/bin/env bash
# tests/labs/run_sheets.sh — runs every command of every lab sheet (docs/labs/lab*.md) the way a
# student would, at the quick scale (UAE_LAB_QUICK=1, which the sheets' first block reads): the
# blocks fenced as ```sh lab, in order, one bash session per sheet (variables carry over), in a
# fresh folder, with `uae` and `uae-bench` of BUILD on PATH and UAEKIT set to the source root.
# Fails on the first command that fails (set -euo pipefail), naming the sheet and the block.
# Usage: run_sheets.sh SRC BUILD [SHEET...]    (default: every docs/labs/lab*.md)
# UAE_LAB_QUICK=0 runs the sheets at the students' scale (minutes each; see docs/labs/README.md).
set -u
SRC=$(cd "${1:?usage: run_sheets.sh SRC BUILD [SHEET...]}" && pwd)
BUILD=$(cd "${2:?usage: run_sheets.sh SRC BUILD [SHEET...]}" && pwd)
shift 2
sheets=("$@")
[ "${#sheets[@]}" -gt 0 ] || sheets=("$SRC"/docs/labs/lab*.md)
export UAEKIT=$SRC UAE_LAB_QUICK=${UAE_LAB_QUICK:-1}
export PATH=$BUILD/apps:$PATH OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
unset UAE_DEVICE
failures=0
for sheet in "${sheets[@]}"; do
    work=$(mktemp -d)
    # Each block is preceded by an echo of its number, so that a failure names its block.
    python3 - "$sheet" >"$work/lab.sh" <<'PY' || { echo "FAIL: $sheet: cannot extract"; failures=$((failures + 1)); continue; }
import re, sys
text = open(sys.argv[1]).read()
blocks = re.findall(r"^```sh lab[ \t]*\n(.*?)^```[ \t]*$", text, re.S | re.M)
print("set -euo pipefail")
for i, b in enumerate(blocks, 1):
    print(f"echo '--- block {i}'")
    print(b)
print(f"echo '--- {len(blocks)} blocks done'")
PY
    nblocks=$(grep -c "^echo '--- block" "$work/lab.sh")
    start=$(date +%s)
    (cd "$work" && bash lab.sh) >"$work/out.txt" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    name=$(basename "$sheet")
    if [ "$nblocks" -eq 0 ]; then
        echo "FAIL: $name has no \`\`\`sh lab blocks"
        failures=$((failures + 1))
    elif [ "$rc" -ne 0 ]; then
        echo "FAIL: $name: $(grep "^--- block" "$work/out.txt" | tail -1 | sed 's/--- //') failed (exit status $rc) after ${secs} s:"
        sed 's/^/    | /' "$work/out.txt" | tail -25
        failures=$((failures + 1))
    else
        echo "ok:   $name: $nblocks blocks in ${secs} s"
    fi
    rm -rf "$work"
done
[ "$failures" -eq 0 ] && echo "labs: every command of every sheet ran"
exit $((failures > 0))
