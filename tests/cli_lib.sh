# tests/cli_lib.sh — helpers shared by the shell tests of the `uae` commands (sourced, not run).
# Sets up $tmp (removed on exit), $out (the last command's output) and $failures, and defines:
#   expect CODE DESCRIPTION -- COMMAND...   run COMMAND, output in $out, check its exit status
#                                           (86, a sanitizer's report, always fails)
#   contains TEXT DESCRIPTION               the output of the last `expect` contains TEXT
#   fail DESCRIPTION                        count a failure
#   make_table FILE                         write a small seeded CSV table
#   cut_npy FILE ROWS                       cut a .npy to its first ROWS rows (a killed run)
unset UAE_DEVICE
# Idle OpenMP threads sleep instead of spinning: on a machine with more busy threads than cores,
# spinning threads make every step of a small model up to 100 times slower (not a correctness
# matter: the results are the same bits for any thread count).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
failures=0
tmp=$(mktemp -d)
out=$tmp/out.txt
trap 'rm -rf "$tmp"' EXIT

expect() {
    local want=$1 what=$2
    shift 3
    "$@" >"$out" 2>&1
    local got=$?
    if [ "$got" -eq 86 ]; then
        # The sanitizer build's exit code (tests/meson.build): a memory error or undefined
        # behaviour was reported, whatever status the test expected.
        echo "FAIL: $what: AddressSanitizer/UBSan report (exit status 86): $*"
        sed 's/^/    | /' "$out" | grep -A30 -m1 'Sanitizer\|runtime error' | head -40
        failures=$((failures + 1))
    elif [ "$got" -ne "$want" ]; then
        echo "FAIL: $what: exit status $got, expected $want: $*"
        sed 's/^/    | /' "$out" | tail -20
        failures=$((failures + 1))
    else
        echo "ok:   $what"
    fi
}

contains() {
    if ! grep -qF -- "$1" "$out"; then
        echo "FAIL: $2: output lacks '$1'"
        sed 's/^/    | /' "$out" | tail -20
        failures=$((failures + 1))
    fi
}

fail() {
    echo "FAIL: $1"
    failures=$((failures + 1))
}

# make_table FILE: a table of 600 rows, 16 features in [0, 1) and a label 0..2 (seeded), for tests
# that need data but not a data set.
make_table() {
    python3 - "$1" <<'PY'
import random, sys
r = random.Random(1)
with open(sys.argv[1], "w") as f:
    f.write(",".join("f%d" % i for i in range(16)) + ",label\n")
    for i in range(600):
        f.write(",".join("%.4f" % r.random() for _ in range(16)) + ",%d\n" % (i % 3))
PY
}

# Cuts the .npy $1 to its first $2 rows, the header rewritten, as a kill after row $2 leaves it.
cut_npy() {
    python3 - "$1" "$2" <<'EOF' || fail "cutting $1"
import sys
path, keep = sys.argv[1], int(sys.argv[2])
raw = open(path, "rb").read()
hlen = int.from_bytes(raw[8:10], "little")
header = raw[10:10 + hlen].decode("latin1")
start = header.index("(") + 1
rows = int(header[start:header.index(",", start)])
new = header.replace("(%d," % rows, "(%d," % keep, 1)
new = new[:-1].ljust(hlen - 1) + "\n"  # the same length: spaces before the newline
row_bytes = (len(raw) - 10 - hlen) // rows
open(path, "wb").write(raw[:8] + hlen.to_bytes(2, "little") + new.encode("latin1") +
                       raw[10 + hlen:10 + hlen + keep * row_bytes])
EOF
}
