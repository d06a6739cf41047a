#!/usr/bin/env bash
# The Windows part of the test command: cross-build the mingw preset (the library, stsecrets.exe
# and the tests) and run its ctest under Wine (each build dir has its own WINEPREFIX, created by
# the "windows: wine prefix" fixture), stsecrets.exe end to end included.
# Needs scripts/install-deps.sh --windows first (mingw-w64, wine, yaml-cpp for mingw-w64 in
# $STS_MINGW_DEPS, default /var/cache/stsecrets/mingw).
# Usage: scripts/test-windows.sh [build-dir]    (default build/mingw; -j2 unless JOBS is set)
set -euo pipefail
cd "$(dirname "$0")/.."

# --- mingw ---------------------------------------------------------------------------------
build_dir="${1:-build/mingw}"
jobs="${JOBS:-2}"
for tool in x86_64-w64-mingw32-g++-posix /usr/lib/wine/wine64; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test-windows: $tool is missing: run scripts/install-deps.sh --windows" >&2
    exit 2
  fi
done
start=$SECONDS
cmake --preset mingw -B "$build_dir" >/dev/null
ninja -C "$build_dir" -j"$jobs"
built=$SECONDS
(cd "$build_dir" && ctest --output-on-failure)
echo "test-windows: mingw build $((built - start)) s, Wine tests $((SECONDS - built)) s"
