#!/usr/bin/env bash
# Installs what stsecrets needs on Debian 12 (DESIGN.md "Dependencies").
#
# Usage: scripts/install-deps.sh [--windows]
#   Linux packages always; with --windows, or unless STS_WITH_WINDOWS=0, also the Windows
#   cross-build: mingw-w64, wine, and yaml-cpp built for mingw-w64 from Debian's source package.
#
# Idempotent and fast when everything is present: one dpkg-query and one stamp-file read.
# Needs only the Debian package mirror (no other network). Runs as root, or with sudo for apt.
#
# Environment:
#   STS_WITH_WINDOWS=0|1  default 1 (--windows forces 1)
#   STS_MINGW_DEPS=DIR    cache of mingw-w64 builds, outside the source tree; default
#                         /var/cache/stsecrets/mingw (cmake/mingw-w64-x86_64.cmake reads the same
#                         variable and default). yaml-cpp lands in $STS_MINGW_DEPS/yaml-cpp-0.7.0.
set -euo pipefail
shopt -s inherit_errexit
repo=$(cd "$(dirname "$0")/.." && pwd)

with_windows=${STS_WITH_WINDOWS:-1}
if [[ "${1:-}" == "--windows" ]]; then with_windows=1; fi

pkgs=(cmake ninja-build g++ clang-14 libclang-rt-14-dev pkg-config
      libssl-dev libspdlog-dev libfmt-dev
      libyaml-cpp-dev nlohmann-json3-dev catch2 python3 gdb valgrind
      dpkg-dev file unzip lintian man-db groff-base mandoc bash-completion)
if [[ "$with_windows" == "1" ]]; then
  # (dpkg-dev, above, also gives dpkg-source for `apt-get source`.)
  pkgs+=(g++-mingw-w64-x86-64-posix wine64)
fi

# The yaml-cpp the Windows build uses: the same upstream release as bookworm's libyaml-cpp-dev.
# The CMake side (cmake/mingw-w64-x86_64.cmake) names the same directory.
yaml_upstream=0.7.0
# Bump when the build recipe below changes: a cache built by an older recipe is rebuilt.
yaml_recipe=1
mingw_deps=${STS_MINGW_DEPS:-/var/cache/stsecrets/mingw}
yaml_prefix=$mingw_deps/yaml-cpp-$yaml_upstream
yaml_stamp=$yaml_prefix/stsecrets.stamp

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive

log() { echo "install-deps: $*" >&2; }

# ---- step: which packages are missing (one dpkg-query for all) ----------------------------
missing_packages() {
  local installed
  installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${pkgs[@]}" 2>/dev/null |
              awk '$NF == "installed" {print $1}' || true)
  local p
  for p in "${pkgs[@]}"; do
    grep -qxF "$p" <<<"$installed" || echo "$p"
  done
}

yaml_cached() {
  [[ -f "$yaml_stamp" ]] && grep -qx "recipe=$yaml_recipe" "$yaml_stamp"
}

# ---- step: a deb-src entry for bookworm main (only if none is configured) ------------------
# Written to a file of its own so the machine's own sources stay untouched; same mirror as the
# configured bookworm main `deb` entry, so a machine that reaches only its mirror still works.
srcs_file=/etc/apt/sources.list.d/stsecrets-deb-src.sources

# shellcheck disable=SC2016 # $(REPO_URI) is apt's format field, not a shell expansion
has_bookworm_deb_src() {
  [[ -n $(apt-get indextargets --no-release-info --format '$(REPO_URI)' \
            'Identifier: Sources' 'Release: bookworm' 'Component: main') ]]
}

add_bookworm_deb_src() {
  has_bookworm_deb_src && return 0
  local uri
  # shellcheck disable=SC2016 # as above
  uri=$(apt-get indextargets --no-release-info --format '$(REPO_URI)' \
          'Identifier: Packages' 'Release: bookworm' 'Component: main' | head -n1)
  uri=${uri:-http://deb.debian.org/debian/}
  log "adding deb-src for bookworm main ($uri) in $srcs_file"
  wrote_srcs=1
  $SUDO tee "$srcs_file" >/dev/null <<EOF
# Added by stsecrets scripts/install-deps.sh: Debian's yaml-cpp source, built for mingw-w64.
Types: deb-src
URIs: $uri
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

source_index_present() {
  apt-cache showsrc --only-source yaml-cpp 2>/dev/null | grep -q '^Package: yaml-cpp$'
}

# Fetches the Sources index. When the entry is ours, only our file is updated (seconds instead
# of a full update), keeping every other list as it is.
update_source_index() {
  if ((wrote_srcs)); then
    log "apt-get update for $srcs_file"
    $SUDO apt-get update -qq -o Dir::Etc::sourcelist="$srcs_file" -o Dir::Etc::sourceparts=- \
      -o APT::Get::List-Cleanup=0
  else
    log "apt-get update (no Sources index for the configured deb-src entry)"
    $SUDO apt-get update -qq
  fi
}

# ---- step: yaml-cpp for mingw-w64 from Debian's source package ------------------------------
fetch_yaml_source() {  # dir -> unpacked source tree path on stdout
  local dir=$1
  # apt downloads as the unprivileged _apt user when it can write the directory.
  if [[ $(id -u) -eq 0 ]] && id _apt >/dev/null 2>&1; then chown _apt "$dir"; fi
  (cd "$dir" && apt-get source -qq yaml-cpp >/dev/null)
  local tree
  tree=$(find "$dir" -mindepth 1 -maxdepth 1 -type d -name 'yaml-cpp-*' | head -n1)
  if [[ -z "$tree" ]]; then
    log "apt-get source yaml-cpp unpacked nothing in $dir"; return 1
  fi
  echo "$tree"
}

# Small fixes Debian's yaml-cpp 0.7 needs for this build, applied to the unpacked copy. Each
# one is idempotent and checked: if upstream code moves, the build stops instead of guessing.
patch_yaml_source() {
  local tree=$1
  # src/emitterutils.cpp uses uint16_t/uint32_t without <cstdint>. g++ 12 (bookworm's mingw-w64)
  # gets it through other headers; g++ >= 13 does not and stops with "uint16_t was not declared"
  # (fixed upstream after 0.7.0). Adding the include is harmless on 12 and keeps a newer
  # mingw-w64 (e.g. a trixie builder) working.
  local f=$tree/src/emitterutils.cpp
  grep -q '^#include <cstdint>' "$f" || sed -i '0,/^#include /s//#include <cstdint>\n&/' "$f"
  grep -q '^#include <cstdint>' "$f"
}

build_yaml_cpp() {
  local work=$1 tree version
  tree=$(fetch_yaml_source "$work")
  version=$(cd "$tree" && dpkg-parsechangelog -S Version)
  if [[ "${version%%+*}" != "$yaml_upstream" && "${version%%-*}" != "$yaml_upstream" ]]; then
    log "Debian's yaml-cpp source is $version, expected $yaml_upstream: update yaml_upstream" \
        "here and in cmake/mingw-w64-x86_64.cmake"
    return 1
  fi
  log "building yaml-cpp $version for mingw-w64 into $yaml_prefix"
  patch_yaml_source "$tree"
  # Static, Release, no tests/tools/contrib; the same toolchain file as the project so the
  # compiler (posix threads flavour) and its libstdc++ ABI match.
  cmake -S "$tree" -B "$work/build" -G Ninja -Wno-dev \
    -DCMAKE_TOOLCHAIN_FILE="$repo/cmake/mingw-w64-x86_64.cmake" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS="-fstack-protector-strong" \
    -DCMAKE_INSTALL_PREFIX="$yaml_prefix" \
    -DBUILD_SHARED_LIBS=OFF -DYAML_BUILD_SHARED_LIBS=OFF \
    -DYAML_CPP_BUILD_TESTS=OFF -DYAML_CPP_BUILD_TOOLS=OFF -DYAML_CPP_BUILD_CONTRIB=OFF \
    -DYAML_CPP_INSTALL=ON >"$work/configure.log" 2>&1 ||
    { cat "$work/configure.log" >&2; log "configuring yaml-cpp failed"; return 1; }
  cmake --build "$work/build" -j "$(nproc)" >"$work/build.log" 2>&1 ||
    { tail -n 60 "$work/build.log" >&2; log "building yaml-cpp failed"; return 1; }
  ensure_cache_dir
  rm -rf "$yaml_prefix"
  cmake --install "$work/build" >/dev/null
  printf 'recipe=%s\ndebian-source=%s\n' "$yaml_recipe" "$version" >"$yaml_stamp"
}

ensure_cache_dir() {
  mkdir -p "$mingw_deps" 2>/dev/null ||
    { $SUDO mkdir -p "$mingw_deps" && $SUDO chown "$(id -u):$(id -g)" "$mingw_deps"; }
  [[ -w "$mingw_deps" ]] ||
    { log "$mingw_deps is not writable: set STS_MINGW_DEPS to a directory you own"; return 1; }
}

# ---- main ----------------------------------------------------------------------------------
mapfile -t missing < <(missing_packages)
need_yaml=0
if [[ "$with_windows" == "1" ]] && ! yaml_cached; then need_yaml=1; fi
if ((${#missing[@]} == 0 && need_yaml == 0)); then
  exit 0
fi

updated=0
wrote_srcs=0
if ((need_yaml)); then add_bookworm_deb_src; fi
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  $SUDO apt-get update -qq
  updated=1
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ((need_yaml)); then
  if ((updated == 0)) && ! source_index_present; then update_source_index; fi
  yaml_work=$(mktemp -d "${TMPDIR:-/tmp}/stsecrets-yaml-cpp.XXXXXX")
  trap 'rm -rf "$yaml_work"' EXIT
  chmod 0755 "$yaml_work"
  build_yaml_cpp "$yaml_work"
fi
