#!/usr/bin/env bash
# Builds and runs every test: the README's second command, and what .ci/run calls.
#   1. default preset (g++ 12, warnings as errors, hardening): unit, integration, consumer
#   2. asan preset (clang 14 + ASan/UBSan, warnings as errors): the same suite
#   3. tsan preset: the cache and single-flight tests
#   4. mingw preset: the Windows build, its tests under Wine
#   5. fuzz smoke: each libFuzzer target for a bounded time on its corpus
# Stages can be picked: scripts/test.sh default asan   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=${STS_JOBS:-$(nproc)}
stages=("$@")
((${#stages[@]})) || stages=(default asan tsan mingw fuzz)
summary=()

run_preset() {  # preset [ctest args...]
  local preset=$1; shift
  echo "=== [$preset] configure + build" >&2
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "=== [$preset] test" >&2
  ctest --preset "$preset" -j "$jobs" "$@"
}

for stage in "${stages[@]}"; do
  start=$SECONDS
  case $stage in
    default) run_preset default ;;
    asan)    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 run_preset asan ;;
    tsan)    TSAN_OPTIONS=halt_on_error=1 run_preset tsan -R 'unit/(cache|resolver)' ;;
    mingw)   scripts/test-windows.sh ;;
    fuzz)    security/fuzz/smoke.sh ;;
    *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
  summary+=("$stage: ok in $((SECONDS - start)) s")
done
printf '%s\n' "${summary[@]}"
