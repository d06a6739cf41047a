#!/usr/bin/env bash
# The README's first command: installs what is missing, builds the stsecrets command and
# resolves the bundled example (examples/stackstate.yaml + examples/conf.d/*.yaml) through the
# built-in file backend, printing the resolved YAML.
set -euo pipefail
cd "$(dirname "$0")/.."
STS_WITH_WINDOWS=0 scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target stsecrets_cli
examples/demo.sh build/default/stsecrets

# Where the packages are, or how to make them.
shopt -s nullglob
echo
echo "Packages:"
debs=(build/package/packages/*.deb)
if ((${#debs[@]})); then
  printf '  %s\n' "${debs[@]/#/$PWD/}"
else
  echo "  Debian: none yet; scripts/test.sh package builds them into $PWD/build/package/packages/"
fi
zips=(build/mingw/packages/*.zip)
if ((${#zips[@]})); then
  printf '  %s\n' "${zips[@]/#/$PWD/}"
else
  echo "  Windows: none yet; (cd build/mingw && cpack -G ZIP) makes $PWD/build/mingw/packages/stsecrets-<version>-win64.zip"
fi
