#!/usr/bin/env bash
# tests/test_layering.sh — the include rules of docs/architecture.md, checked on the sources:
# core/ and models/ include no header of backends/ and call no backend function by name (they
# reach backends only through the table in core/backend_impl.h); apps/ include only the public
# headers ("uae/..."), their own headers and the generated configuration headers; only the
# registry tests which backends the build has (UAE_HAVE_*).
# Usage: test_layering.sh SOURCE_ROOT   Exits 1 and lists the offending lines.
set -u
ROOT=${1:?usage: test_layering.sh SOURCE_ROOT}
cd "$ROOT" || exit 1
ls core/*.c apps/*.c >/dev/null || exit 1
fail=0
if grep -nE '#include *"backends/' core/*.[ch] core/uae/*.h models/*.[ch] models/uae/*.h; then
    echo "FAIL: core/ or models/ includes a header of backends/ (above)" >&2
    fail=1
fi
if grep -nE '\buae_(cpu|ocl|opencl|ref)_[a-z0-9_]*\(|\buae_[a-z0-9_]+_(ref|omp|ocl)\(' \
        core/*.[ch] models/*.[ch]; then
    echo "FAIL: core/ or models/ calls a backend's function by name (above)" >&2
    fail=1
fi
# In apps/: "uae/..." (public), a header of apps/ itself, or a generated configuration header.
while IFS= read -r line; do
    h=$(sed -E 's/.*#include *"([^"]+)".*/\1/' <<<"${line#*:*:}")
    case "$h" in
    uae/*|uae_config.h|bench_config.h) ;;
    *) if [[ "$h" == */* || ! -f "apps/$h" ]]; then
           echo "$line"
           echo "FAIL: apps/ includes \"$h\", which is not a public header (uae/...) nor one of apps/" >&2
           fail=1
       fi ;;
    esac
done < <(grep -nE '#include *"' apps/*.[ch])
# Which backends the build has: only backends/registry.c tests UAE_HAVE_* (STYLE: backend #ifs in
# the registry and meson); everyone else asks uae_backend_compiled().
if grep -nE '\bUAE_HAVE_[A-Z]+' core/*.[ch] core/uae/*.h models/*.[ch] models/uae/*.h apps/*.[ch] \
        backends/cpu/*.[ch] backends/opencl/*.[ch]; then
    echo "FAIL: UAE_HAVE_* outside backends/registry.c (above): use uae_backend_compiled()" >&2
    fail=1
fi
[ "$fail" = 0 ] && echo "ok: core/ and models/ reach backends only through the table; apps/ use public headers"
exit "$fail"
