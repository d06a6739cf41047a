#!/bin/sh
# Re-runs every benchmark of bench/README.md with one command:
#   bench/run.sh              configure + build the bench preset, run every section, update README.md
#   bench/run.sh --only 17    run some sections; --quick for a smoke run (README left alone)
# BUILD_DIR overrides the build directory (default: the preset's build/bench).
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build/bench}
cmake --preset bench -B "$BUILD_DIR" >/dev/null
cmake --build "$BUILD_DIR" --target sts_bench -j "$(nproc)"
out=$(mktemp)
trap 'rm -f "$out" "$out.readme"' EXIT
"$BUILD_DIR/bench/sts_bench" "$@" | tee "$out"
if [ "$#" -eq 0 ]; then
  # Replace what is between the markers with exactly what the harness printed.
  awk -v table="$out" '
    /<!-- bench:begin -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
    /<!-- bench:end -->/ { skip = 0 }
    !skip { print }
  ' bench/README.md > "$out.readme"
  cat "$out.readme" > bench/README.md
  echo "bench/README.md updated" >&2
fi
