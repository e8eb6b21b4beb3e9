#!/usr/bin/env bash
# tests/test_cli.sh — the `uae` tool's contract with its users: help and version, the device list,
# exit codes (0 ok, 1 failure, 2 usage, 3 not available), and error messages that name the problem.
# Usage: test_cli.sh PATH/TO/uae   (meson passes the built binary). Exits non-zero on any failure.
set -u
UAE=${1:?usage: test_cli.sh PATH/TO/uae}
. "$(dirname "$0")/cli_lib.sh"

expect 0 "uae --help" -- "$UAE" --help
contains "Commands:" "--help lists the commands"
contains "Exit status:" "--help documents the exit codes"
expect 0 "uae -h" -- "$UAE" -h
expect 2 "uae without a command is a usage error" -- "$UAE"

expect 0 "uae --version" -- "$UAE" --version
contains "uae (uaekit) " "--version names the program"
contains "OpenCL backend:" "--version says whether OpenCL is compiled in"
contains "OpenMP threads:" "--version says whether OpenMP is compiled in"

expect 0 "uae devices" -- "$UAE" devices
contains " cpu " "devices lists cpu"
contains " ref " "devices lists ref"
expect 0 "uae devices --json" -- "$UAE" devices --json
contains '"backend": "cpu"' "devices --json lists cpu"
contains '"backend": "ref"' "devices --json lists ref"
if command -v python3 >/dev/null; then
    expect 0 "devices --json is valid JSON with cpu and ref" -- python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["devices"]
assert [x["backend"] for x in d[:2]] == ["cpu", "ref"], d
assert sum(x["selected"] for x in d) == 1
assert all(x["compute_units"] >= 1 for x in d)
' <("$UAE" devices --json)
fi
expect 0 "global options before the command" -- "$UAE" --device ref --seed 7 devices
contains "* 1  ref" "--device ref marks ref as selected"
expect 0 "\$UAE_DEVICE selects the device" -- env UAE_DEVICE=ref "$UAE" devices
contains "* 1  ref" "UAE_DEVICE=ref marks ref as selected"

# Usage errors: exit 2 with a message that names the problem.
expect 2 "unknown global option" -- "$UAE" --bogus
contains "unknown option '--bogus'" "the message names the option"
expect 2 "unknown command" -- "$UAE" frobnicate
contains "unknown command 'frobnicate'" "the message names the command"
expect 2 "unknown command option" -- "$UAE" devices --bogus
expect 2 "a value for an option that takes none" -- "$UAE" devices --json=1
contains "option '--json' takes no value" "the message says so"
expect 2 "--seed abc" -- "$UAE" selftest --seed abc
contains "'abc'" "the message quotes the bad value"
expect 2 "--seed -1" -- "$UAE" selftest --seed -1
expect 2 "--seed too large" -- "$UAE" selftest --seed 18446744073709551616
expect 2 "--device without a value" -- "$UAE" selftest --device
expect 2 "--quiet with --verbose" -- "$UAE" devices --quiet --verbose
expect 2 "unexpected positional argument" -- "$UAE" devices extra

# An unknown device: non-zero, and the message lists the devices.
expect 2 "devices --device nosuchdevice" -- "$UAE" devices --device nosuchdevice
contains "nosuchdevice" "the message names the spec"
contains "0  cpu" "the message lists the devices"
expect 2 "selftest --device 99" -- "$UAE" selftest --device 99
contains "1  ref" "the message lists the devices"
expect 2 "UAE_DEVICE=nosuchdevice" -- env UAE_DEVICE=nosuchdevice "$UAE" selftest
contains "UAE_DEVICE=nosuchdevice" "the message says the environment chose the device"

# The demo's help says its numbers (not macro names), and what p is.
expect 0 "demo --help" -- "$UAE" demo --help
grep -q "DEMO_" "$out" && fail "demo --help shows macro names instead of numbers"
contains "MinMax with 20 iterations (paper 40)" "demo --help says the demo's iterations"
contains "(t+1)^-p" "demo --help says what p is"

# A name matches the OpenCL version too (Debian's PoCL says "PoCL" only there), and device strings
# are not cut short (PoCL's version string is longer than 63 characters).
pocl=$("$UAE" devices --json 2>/dev/null | python3 -c '
import json, sys
d = [x for x in json.load(sys.stdin)["devices"] if "pocl" in x["opencl_version"].lower()]
print(d[0]["index"], len(d[0]["opencl_version"]) if len(d) == 1 else "")' 2>/dev/null)
if [ -n "$pocl" ]; then
    expect 0 "--device pocl matches the PoCL device" -- "$UAE" devices --device pocl -v
    contains "* ${pocl%% *} " "--device pocl selects the device whose OpenCL version names PoCL"
    version=$(clinfo 2>/dev/null | sed -n 's/^ *Device Version *//p' | grep -i pocl | head -1)
    if [ -n "$version" ]; then
        "$UAE" devices --json | grep -qF "\"opencl_version\": \"$version\"" ||
            fail "devices --json gives the whole OpenCL version ($version)"
    fi
else
    echo "skip: no single PoCL device: --device pocl not checked"
fi

# selftest on the reference itself: never a wrong result; 3 only while ops are missing.
"$UAE" selftest --device ref >"$out" 2>&1
rc=$?
if [ $rc -eq 0 ] || { [ $rc -eq 3 ] && grep -q "not available" "$out"; }; then
    echo "ok:   selftest --device ref (status $rc)"
else
    echo "FAIL: selftest --device ref: exit status $rc"
    sed 's/^/    | /' "$out"
    failures=$((failures + 1))
fi

# Every command `uae --help` lists has help, by --help and by `uae help`, and the two print the
# same: `CMD --help` prints its help and stops (a command that went on to run after its help once
# printed its results too).
"$UAE" --help > "$out.list" 2>&1
cmds=$(sed -n '/^Commands:/,/^$/p' "$out.list" | awk 'NF && !/^Commands:/ {print $1}')
[ "$(echo $cmds | wc -w)" -ge 10 ] || fail "uae --help lists fewer than 10 commands: $cmds"
for cmd in $cmds; do
    expect 0 "uae $cmd --help" -- "$UAE" "$cmd" --help
    contains "Usage: uae $cmd" "$cmd --help shows its usage"
    contains "--device SPEC" "$cmd --help shows the global options"
    cp "$out" "$out.help"
    expect 0 "uae help $cmd" -- "$UAE" help "$cmd"
    cmp -s "$out" "$out.help" || fail "uae $cmd --help prints more than \`uae help $cmd\`: $(diff "$out.help" "$out" | head -3)"
done
# attack, augment and demo run for minutes (tests/test_augment.sh runs them at a tiny scale); here
# only their usage errors, which stop before any work.
expect 2 "uae attack without --model" -- "$UAE" attack
contains "--model" "uae attack names the missing option"
expect 2 "uae augment --task contrastive --model conv-ae" -- "$UAE" augment --task contrastive \
    --model conv-ae
contains "does not suit the contrastive task" "uae augment says which model suits"
for cmd in attack augment demo; do
    expect 2 "uae $cmd --seed abc" -- "$UAE" "$cmd" --seed abc
done

if [ "$failures" -ne 0 ]; then
    echo "test_cli: $failures failure(s)"
    exit 1
fi
echo "test_cli: all passed"
