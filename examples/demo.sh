#!/bin/sh
# A walk through the stsecrets command with the example configuration. Builds nothing:
#
#   examples/demo.sh build/default/stsecrets
#
# It runs every command against examples/, with the file backend pointed at examples/secrets
# (the config's root must be absolute, so it is overridden through STS_SECRET_BACKEND_CONFIG),
# then once more with examples/backends/sample_backend.sh as an executable backend. Output
# files go to a temporary folder that is removed at the end.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH/TO/stsecrets" >&2
  exit 2
fi
STSECRETS=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
EXAMPLES=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Git does not keep file modes: make the secrets owner-only again.
chmod 700 "$EXAMPLES/secrets" "$EXAMPLES/secrets/http_check"
find "$EXAMPLES/secrets" -type f -exec chmod 600 {} +

export STS_CONFIG="$EXAMPLES/stackstate.yaml"
export STS_SECRET_BACKEND_CONFIG="{root: $EXAMPLES/secrets}"
cd "$EXAMPLES"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step stsecrets check --fetch
"$STSECRETS" check --fetch

step stsecrets resolve --config stackstate.yaml conf.d/*.yaml
"$STSECRETS" resolve --config stackstate.yaml conf.d/*.yaml

step stsecrets handles conf.d/postgres.yaml conf.d/mysql.yaml conf.d/http_check.yaml
"$STSECRETS" handles conf.d/postgres.yaml conf.d/mysql.yaml conf.d/http_check.yaml

step stsecrets resolve conf.d/mysql.yaml
"$STSECRETS" resolve conf.d/mysql.yaml

step stsecrets resolve conf.d/http_check.yaml --json
"$STSECRETS" resolve conf.d/http_check.yaml --json

step stsecrets resolve conf.d/postgres.yaml conf.d/mysql.yaml conf.d/http_check.yaml --output-dir "$WORK/conf.d"
"$STSECRETS" resolve conf.d/postgres.yaml conf.d/mysql.yaml conf.d/http_check.yaml --output-dir "$WORK/conf.d"
ls -l "$WORK/conf.d"

step "DB_PASSWORD='ENC[postgres_password]' stsecrets exec -- sh -c 'echo password has \${#DB_PASSWORD} characters'"
DB_PASSWORD='ENC[postgres_password]' "$STSECRETS" exec -- sh -c 'echo "password has ${#DB_PASSWORD} characters"'

step "a handle that does not exist: nothing is written, exit status 5"
printf 'password: ENC[no_such_secret]\n' > "$WORK/broken.yaml"
"$STSECRETS" resolve "$WORK/broken.yaml" -o "$WORK/broken.out.yaml" || echo "exit status $?"
[ -e "$WORK/broken.out.yaml" ] || echo "no output file was written"

step "the same with an executable backend: backends/sample_backend.sh (copied 0700 into a private folder)"
mkdir -p "$WORK/backends" && chmod 700 "$WORK/backends"
cp backends/sample_backend.sh "$WORK/backends/" && chmod 700 "$WORK/backends/sample_backend.sh"
cat > "$WORK/stackstate.yaml" <<YAML
api_key: ENC[api_key]
secret_backend_command: $WORK/backends/sample_backend.sh
secret_backend_arguments: [$STSECRETS, $EXAMPLES/secrets]
secret_backend_remove_trailing_line_break: true
YAML
unset STS_SECRET_BACKEND_CONFIG
"$STSECRETS" check --config "$WORK/stackstate.yaml" --fetch

# ---- several backends: examples/multi --------------------------------------------------------
# examples/multi/stackstate.yaml names its stores under /etc/stackstate-agent/multi. The demo
# copies the folder to a temporary one, points those paths at the copy, makes everything
# owner-only (a secrets document must be; git keeps no modes) and installs a copy of stsecrets
# 0700 as the executable backend `vault`.
MULTI="$WORK/multi"
mkdir -p "$MULTI" && chmod 700 "$MULTI"
cp -R multi/. "$MULTI/"
find "$MULTI" -type f -name '*.yaml' -exec sed -i "s|/etc/stackstate-agent/multi|$MULTI|g" {} +
find "$MULTI" -type d -exec chmod 700 {} +
find "$MULTI" -type f -exec chmod 600 {} +
mkdir -p "$MULTI/backends" && chmod 700 "$MULTI/backends"
cp "$STSECRETS" "$MULTI/backends/stsecrets" && chmod 700 "$MULTI/backends/stsecrets"
export RABBITMQ_PASSWORD='mq-multi-Passw0rd'

step "stsecrets handles --config multi/stackstate.yaml multi/conf.d/*.yaml   (each handle's backend)"
"$STSECRETS" handles --config "$MULTI/stackstate.yaml" "$MULTI"/conf.d/*.yaml

step "stsecrets check --config multi/stackstate.yaml --fetch   (every backend's rules)"
"$STSECRETS" check --config "$MULTI/stackstate.yaml" --fetch

step "stsecrets resolve --config multi/stackstate.yaml multi/conf.d/*.yaml --output-dir ...   (one batch per backend, in parallel)"
"$STSECRETS" resolve --config "$MULTI/stackstate.yaml" "$MULTI"/conf.d/*.yaml --output-dir "$WORK/multi-out"
ls -l "$WORK/multi-out"
cat "$WORK/multi-out/services.yaml"

step "stsecrets backend: what an unmodified agent sees when stsecrets is its secret_backend_command"
printf '%s' '{"secrets":["json;postgres/password","yaml;redis/password","nosuch;x"],"version":"1.0"}' |
  "$STSECRETS" backend --config "$MULTI/stackstate.yaml"

step "a secrets document that others can read is refused (exit 3), and only its handles fail"
chmod 644 "$MULTI/secrets.json"
"$STSECRETS" resolve --config "$MULTI/stackstate.yaml" "$MULTI"/conf.d/*.yaml --output-dir "$WORK/multi-refused" ||
  echo "exit status $?"
[ -e "$WORK/multi-refused" ] || echo "nothing was written"
chmod 600 "$MULTI/secrets.json"
