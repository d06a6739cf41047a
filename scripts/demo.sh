#!/usr/bin/env bash
# The README's first command: installs what is missing, builds the stsecrets command and
# resolves the bundled example (examples/stackstate.yaml + examples/conf.d/*.yaml) through the
# built-in file backend, printing the resolved YAML.
set -euo pipefail
cd "$(dirname "$0")/.."
STS_WITH_WINDOWS=0 scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target stsecrets_cli
exec examples/demo.sh build/default/stsecrets
