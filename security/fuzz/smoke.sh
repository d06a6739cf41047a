#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz preset, clang 14) and runs each for a bounded time on a
# scratch copy of its corpus. Fails on any crash, leak, timeout or OOM (libFuzzer exits non-zero).
#   security/fuzz/smoke.sh            # 24 s per target (the test command; 5 targets, 2 minutes)
#   FUZZ_SECONDS=600 security/fuzz/smoke.sh   # a longer campaign
set -euo pipefail
cd "$(dirname "$0")/../.."
# The fuzz stage of the test command stays at about two minutes: 4 x 30 s before fuzz_document,
# 5 x 24 s with it.
seconds=${FUZZ_SECONDS:-24}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "${STS_JOBS:-$(nproc)}"
bin=build/fuzz/security/fuzz
status=0
for target in "$bin"/fuzz_*; do
  [[ -x $target ]] || continue
  name=$(basename "$target")
  corpus=security/fuzz/corpus/${name#fuzz_}
  work=$(mktemp -d)
  [[ -d $corpus ]] && cp -r "$corpus"/. "$work"/
  echo "=== $name for ${seconds}s (corpus $corpus)" >&2
  if ! "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$work/" "$work" >"$work.log" 2>&1; then
    echo "FAIL: $name; artifacts in $work; log $work.log" >&2
    tail -40 "$work.log" >&2
    status=1
    continue
  fi
  grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$work.log" | sed "s/^/$name /" >&2 || true
  grep -E 'cov: [0-9]+' "$work.log" | tail -1 | sed "s/^/$name /" >&2 || true
  rm -rf "$work" "$work.log"
done
exit $status
