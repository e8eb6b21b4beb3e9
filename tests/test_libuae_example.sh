#!/usr/bin/env bash
# tests/test_libuae_example.sh — the "Using libuae" section of docs/user-guide.md is true: installs
# the build into a temporary folder (meson install --destdir), compiles the section's C program
# with the installed headers and `pkg-config --cflags --libs uae`, runs it against the installed
# shared library, and checks that the documentation and the LICENSE were installed too.
# Usage: test_libuae_example.sh SOURCE_DIR BUILD_DIR [SANITIZE]. SANITIZE is the build's
# b_sanitize ("none", or e.g. "address,undefined"): a program that links a sanitized libuae is
# compiled with the same -fsanitize (the sanitizer's runtime must come first in the program).
# Exits 77 without meson, pkg-config or cc.
set -u
src=${1:?usage: test_libuae_example.sh SOURCE_DIR BUILD_DIR [SANITIZE]}
build=${2:?usage: test_libuae_example.sh SOURCE_DIR BUILD_DIR [SANITIZE]}
sanitize=${3:-none}
san_flags=()
[ "$sanitize" = none ] || san_flags=("-fsanitize=$sanitize")
for tool in meson pkg-config cc; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "skip: no $tool"
        exit 77
    fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
    echo "FAIL: $1"
    failures=$((failures + 1))
}

# The first ```c block after the heading "## Using libuae".
awk '/^## Using libuae/ {s = 1} s && /^```c$/ {c = 1; next} c && /^```$/ {exit} c {print}' \
    "$src/docs/user-guide.md" >"$tmp/example.c"
[ -s "$tmp/example.c" ] || { echo "FAIL: no C program in the 'Using libuae' section"; exit 1; }

meson install -C "$build" --destdir "$tmp/inst" --no-rebuild --quiet >"$tmp/install.txt" 2>&1 ||
    { cat "$tmp/install.txt"; echo "FAIL: meson install"; exit 1; }
prefix=$(meson introspect "$build" --buildoptions |
    python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
pc=$(find "$tmp/inst" -name uae.pc | head -1)
[ -n "$pc" ] || { echo "FAIL: uae.pc is not installed"; exit 1; }
# The .pc names the real prefix; point it at the temporary one.
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --define-variable=prefix="$tmp/inst$prefix" \
    --cflags --libs uae) || fail "pkg-config --cflags --libs uae"
echo "cc ${san_flags[*]} example.c $flags"
# shellcheck disable=SC2086 # the flags are words
cc -std=c11 -Wall -Wextra -Werror "${san_flags[@]}" "$tmp/example.c" $flags -o "$tmp/example" ||
    fail "the example compiles with the installed headers and library"
libdir=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --define-variable=prefix="$tmp/inst$prefix" \
    --variable=libdir uae)
if [ -x "$tmp/example" ]; then
    OMP_WAIT_POLICY=passive LD_LIBRARY_PATH=$libdir "$tmp/example" >"$tmp/out.txt" 2>&1 ||
        fail "the example runs: $(cat "$tmp/out.txt")"
    cat "$tmp/out.txt"
    grep -q "^trained: loss" "$tmp/out.txt" || fail "the example trains"
    grep -q "^attacked: " "$tmp/out.txt" || fail "the example attacks"
fi

doc=$tmp/inst$prefix/share/doc/uaekit
for f in LICENSE README.md docs/user-guide.md docs/models.md; do
    [ -f "$doc/$f" ] || fail "meson install puts $f in share/doc/uaekit"
done
grep -q "Apache License" "$doc/LICENSE" 2>/dev/null || fail "the LICENSE is the Apache License"
grep -q "Version 2.0" "$src/LICENSE" && grep -q "license : 'Apache-2.0'" "$src/meson.build" ||
    fail "LICENSE and meson's license field agree (Apache-2.0)"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all passed"
