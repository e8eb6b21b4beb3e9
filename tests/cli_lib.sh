# tests/cli_lib.sh — helpers shared by the shell tests of the `uae` commands (sourced, not run).
# Sets up $tmp (removed on exit), $out (the last command's output) and $failures, and defines:
#   expect CODE DESCRIPTION -- COMMAND...   run COMMAND, output in $out, check its exit status
#   contains TEXT DESCRIPTION               the output of the last `expect` contains TEXT
#   fail DESCRIPTION                        count a failure
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
    if [ "$got" -ne "$want" ]; then
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
