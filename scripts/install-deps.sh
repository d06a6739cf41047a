#!/usr/bin/env bash
# Installs the Debian 12 packages stsecrets needs (DESIGN.md "Dependencies").
# Idempotent: when everything is present it only runs dpkg-query and exits.
# Usage: scripts/install-deps.sh [--windows]   (--windows adds mingw-w64 and wine)
set -euo pipefail

pkgs=(cmake ninja-build g++ clang-14 libclang-rt-14-dev pkg-config
      libssl-dev libspdlog-dev libfmt-dev
      libyaml-cpp-dev nlohmann-json3-dev catch2 python3 gdb valgrind
      dpkg-dev file unzip lintian man-db groff-base mandoc bash-completion)
if [[ "${1:-}" == "--windows" || "${STS_WITH_WINDOWS:-1}" == "1" ]]; then
  pkgs+=(g++-mingw-w64-x86-64-posix wine64)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
