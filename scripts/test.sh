#!/usr/bin/env bash
# Builds and runs every test: the README's second command, and what .ci/run calls.
#   1. default preset (g++ 12, warnings as errors, hardening): unit, integration, consumer
#   2. asan preset (clang 14 + ASan/UBSan, warnings as errors): the same suite
#   3. tsan preset: the cache and single-flight tests
#   4. mingw preset: the Windows build, its tests under Wine
#   5. fuzz smoke: each libFuzzer target for a bounded time on its corpus
#   6. package preset: the Debian packages (cpack), lintian, their contents, versions, man page,
#      completion, and the consumer built against them (tests/package)
# Stages can be picked: scripts/test.sh default asan   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=${STS_JOBS:-$(nproc)}
stages=("$@")
((${#stages[@]})) || stages=(default asan tsan mingw fuzz package)
summary=()

run_preset() {  # preset "build targets (empty = all)" [ctest args...]
  local preset=$1 targets=$2; shift 2
  echo "=== [$preset] configure + build" >&2
  cmake --preset "$preset" >/dev/null
  # shellcheck disable=SC2086 # targets is a word list on purpose
  cmake --build --preset "$preset" -j "$jobs" ${targets:+--target $targets}
  echo "=== [$preset] test" >&2
  ctest --preset "$preset" -j "$jobs" "$@"
}

for stage in "${stages[@]}"; do
  start=$SECONDS
  case $stage in
    default) run_preset default "" ;;
    asan)    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
               run_preset asan "" ;;
    tsan)    TSAN_OPTIONS=halt_on_error=1 run_preset tsan "unit_cache unit_resolver unit_redaction unit_refresh unit_refresh_stress" \
               -R '^unit/(cache|resolver|redaction|refresh|refresh_stress):' -E 'residue' ;;  # memory scans: default build
    mingw)   scripts/test-windows.sh ;;
    fuzz)    security/fuzz/smoke.sh ;;
    package) run_preset package "" ;;  # the .debs land in build/package/packages/
    *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
  summary+=("$stage: ok in $((SECONDS - start)) s")
done
printf '%s\n' "${summary[@]}"
