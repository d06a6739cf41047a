#!/usr/bin/env bash
# Valgrind memcheck of the stsecrets command on the demo and on three failure modes (timeout,
# bad JSON, rejected permissions). Fails if valgrind reports any invalid access or a definite or
# indirect leak (exit 99), or if a command's exit status is not the expected one.
# Usage: security/valgrind.sh [BUILD_DIR]   (default build/default; builds stsecrets and fake_backend)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/default}
cmake --build "$build" --target stsecrets_cli fake_backend >/dev/null
bin=$build/stsecrets
work=$(mktemp -d) && chmod 700 "$work"
trap 'rm -rf "$work"' EXIT
install -m 0700 "$build/tests/fake_backend" "$work/backend"
install -m 0755 "$build/tests/fake_backend" "$work/backend-open"
printf 'password: ENC[db]\n' > "$work/doc.yaml"
for mode in hang bad-json; do
  printf 'secret_backend_command: %s\nsecret_backend_arguments: [%s]\nsecret_backend_timeout: 1\n' "$work/backend" "$mode" > "$work/$mode.yaml"
done
printf 'secret_backend_command: %s\n' "$work/backend-open" > "$work/rejected.yaml"

vg=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect -q)
status=0
expect() {  # name expected-status command...
  local name=$1 want=$2; shift 2
  local got=0
  "${vg[@]}" "$@" >/dev/null 2>"$work/$name.err" || got=$?
  if [[ $got == "$want" ]]; then echo "valgrind $name: exit $got as expected, no memcheck errors"
  else echo "valgrind $name: exit $got, want $want"; grep -v 'unhandled amd64-linux syscall\|handler\|README_MISSING\|bug_reports\|consider this a bug' "$work/$name.err" | head -40; status=1; fi
}
STS_SECRET_BACKEND_CONFIG="{root: $PWD/examples/secrets}" \
  expect demo 0 "$bin" resolve --config examples/stackstate.yaml examples/conf.d/postgres.yaml examples/conf.d/mysql.yaml examples/conf.d/http_check.yaml
expect timeout 4 "$bin" resolve --config "$work/hang.yaml" "$work/doc.yaml"
expect bad-json 4 "$bin" resolve --config "$work/bad-json.yaml" "$work/doc.yaml"
expect rejected 3 "$bin" resolve --config "$work/rejected.yaml" "$work/doc.yaml"
exit $status
