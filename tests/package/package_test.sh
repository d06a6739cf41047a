#!/usr/bin/env bash
# The package tests: build the Debian packages with cpack, then check them the way Debian and an
# operator would. One step per ctest (tests/package/CMakeLists.txt); `build` is the fixture the
# others need.
#
# Usage: tests/package/package_test.sh STEP BUILD_DIR WORK_DIR VERSION
#   build       cpack -G DEB into BUILD_DIR/packages (where a plain `cpack` puts them too); both
#               .debs exist with the right names and control fields; dpkg -x both into
#               WORK_DIR/root (a scratch root: nothing touches the system)
#   lintian     lintian reports no error, and no warning that packaging/README.md does not accept
#   contents    every file in its place, modes, gzip -9n, DEP-5 copyright, hardened binary,
#               Depends that apt can meet here (apt-get --simulate: nothing is installed)
#   versions    --version, the Version field, the man page header, the Debian changelog,
#               stsecretsConfigVersion.cmake, CHANGELOG.md and CMake's VERSION all agree
#   man         the installed page renders at 80 columns without a groff/mandoc warning
#   completion  the installed completion loads in bash and completes commands and options
#   consumer    tests/consumer/project builds against the extracted headers and CMake files
#               and resolves a secret through the extracted library
#   zip         (a mingw build tree) cpack -G ZIP holds stsecrets.exe when it was built, the
#               README, CHANGELOG, copyright, docs/ and examples/, and no name Windows refuses
# Each failure prints one line saying what is wrong: "package test: <step>: ...".
set -euo pipefail

step=${1:?usage: package_test.sh STEP BUILD_DIR WORK_DIR VERSION}
build=$(cd "${2:?BUILD_DIR}" && pwd)
work=${3:?WORK_DIR}
version=${4:?VERSION}
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
root=$work/root
arch=$(dpkg --print-architecture)
out_dir=$build/packages
runtime_deb=$out_dir/stsecrets_${version}_${arch}.deb
dev_deb=$out_dir/libstsecrets-dev_${version}_${arch}.deb

fail() { echo "package test: $step: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || fail "$1 is missing: run scripts/install-deps.sh"; }
have_debs() { [[ -f $runtime_deb && -f $dev_deb && -d $root ]] || fail "no packages in $work: run the build step first"; }
# The extracted copy of an installed file under /usr/lib (multiarch or not), or "".
lib_file() { find "$root/usr/lib" -path "*/$1" -print -quit 2>/dev/null; }

# ---- build -------------------------------------------------------------------------------
step_build() {
  need cpack; need dpkg-deb; need dpkg-shlibdeps
  rm -rf "$work" "$runtime_deb" "$dev_deb"
  mkdir -p "$out_dir" "$root"
  # cpack builds the ALL target first, then installs each component under /usr.
  cpack -G DEB --config "$build/CPackConfig.cmake" -B "$out_dir" >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log" >&2; fail "cpack -G DEB failed (log above)"; }
  for deb in "$runtime_deb" "$dev_deb"; do
    [[ -f $deb ]] || fail "cpack did not produce $(basename "$deb"); it made: $(cd "$out_dir" && echo *.deb)"
    dpkg-deb -x "$deb" "$root"
  done
  check_control "$runtime_deb" stsecrets admin
  check_control "$dev_deb" libstsecrets-dev libdevel
  # dpkg-shlibdeps ran: the command's one shared library, libc, is named with its version. Its
  # C++ dependencies are linked into it (cmake/StsOptions.cmake: start-up cost, bench/README.md),
  # so their runtime packages must not be required.
  local depends
  depends=$(dpkg-deb -f "$runtime_deb" Depends)
  [[ ", $depends" == *", libc6 (>= "* ]] || fail "stsecrets Depends lacks a versioned libc6 (dpkg-shlibdeps): $depends"
  for lib in libstdc++6 libgcc-s1 libyaml-cpp0.7 libssl3 libspdlog1 libfmt9; do
    [[ ", $depends" != *", $lib"* ]] || fail "stsecrets Depends names $lib*, which the command links in: $depends"
  done
  depends=$(dpkg-deb -f "$dev_deb" Depends)
  for pkg in libyaml-cpp-dev libssl-dev libspdlog-dev nlohmann-json3-dev; do
    [[ $depends == *"$pkg"* ]] || fail "libstsecrets-dev Depends lacks $pkg: $depends"
  done
  echo "built $(basename "$runtime_deb") ($(stat -c %s "$runtime_deb") bytes) and $(basename "$dev_deb") ($(stat -c %s "$dev_deb") bytes)"
  dpkg-deb -I "$runtime_deb" control
}

check_control() {  # deb package section
  local deb=$1 field value
  [[ $(dpkg-deb -f "$deb" Package) == "$2" ]] || fail "$deb: Package is not $2"
  [[ $(dpkg-deb -f "$deb" Version) == "$version" ]] || fail "$deb: Version is $(dpkg-deb -f "$deb" Version), want $version"
  [[ $(dpkg-deb -f "$deb" Section) == "$3" ]] || fail "$deb: Section is not $3"
  [[ $(dpkg-deb -f "$deb" Priority) == optional ]] || fail "$deb: Priority is not optional"
  for field in Maintainer Description Architecture; do
    value=$(dpkg-deb -f "$deb" "$field")
    [[ -n $value ]] || fail "$deb: no $field field"
  done
  # A synopsis line and a long description (Debian policy 3.4).
  (($(dpkg-deb -f "$deb" Description | wc -l) >= 4)) || fail "$deb: the Description has no long description"
}

# ---- lintian -----------------------------------------------------------------------------
step_lintian() {
  need lintian; have_debs
  local out allowed tag bad=()
  # Every instance of every tag, info tags too, for the record in the log. lintian's own exit
  # status mixes levels, so the output is judged here.
  out=$(lintian --tag-display-limit 0 -I "$runtime_deb" "$dev_deb" 2>&1 | grep -v '^running with root privileges') || true
  echo "$out"
  if grep -q '^E: ' <<<"$out"; then fail "lintian reports errors (above)"; fi
  # shellcheck disable=SC2016 # backquotes are Markdown here
  allowed=$(sed -n 's/^- `\([a-z0-9-]*\)`.*accepted.*/\1/p' "$source_dir/packaging/README.md")
  while read -r tag; do
    [[ -z $tag ]] && continue
    grep -qx "$tag" <<<"$allowed" || bad+=("$tag")
  done < <(sed -n 's/^W: [^:]*: \([a-z0-9-]*\).*/\1/p' <<<"$out" | sort -u)
  ((${#bad[@]} == 0)) || fail "lintian warnings not accepted in packaging/README.md: ${bad[*]}"
  echo "lintian: no errors; warnings all accepted in packaging/README.md"
}

# ---- contents ----------------------------------------------------------------------------
step_contents() {
  have_debs
  local f doc=$root/usr/share/doc/stsecrets
  for f in usr/bin/stsecrets usr/share/man/man1/stsecrets.1.gz usr/share/bash-completion/completions/stsecrets \
           usr/share/doc/stsecrets/copyright usr/share/doc/stsecrets/changelog.gz \
           usr/share/doc/stsecrets/README.md.gz usr/share/doc/stsecrets/CHANGELOG.md.gz \
           usr/share/doc/stsecrets/cli.md.gz usr/share/doc/stsecrets/configuration.md.gz \
           usr/share/doc/stsecrets/executable-rules.md.gz \
           usr/share/doc/stsecrets/examples/stackstate.yaml usr/share/doc/stsecrets/examples/conf.d/postgres.yaml \
           usr/share/doc/libstsecrets-dev/copyright usr/share/doc/libstsecrets-dev/changelog.gz \
           usr/include/stsecrets/stsecrets.h; do
    [[ -f $root/$f ]] || fail "/$f is missing from the packages"
  done
  for f in libstsecrets.a cmake/stsecrets/stsecretsConfig.cmake cmake/stsecrets/stsecretsConfigVersion.cmake \
           cmake/stsecrets/stsecretsTargets.cmake; do
    [[ -n $(lib_file "$f") ]] || fail "/usr/lib/.../$f is missing from libstsecrets-dev"
  done
  # Each file in exactly one package (dpkg refuses to install two packages sharing a file).
  local dup
  dup=$(cat <(dpkg-deb -c "$runtime_deb") <(dpkg-deb -c "$dev_deb") | awk '$1 !~ /^d/ {print $NF}' | sort | uniq -d)
  [[ -z $dup ]] || fail "files in both packages: $dup"
  # Owners root:root; nothing writable by group or others.
  local deb bad
  for deb in "$runtime_deb" "$dev_deb"; do
    bad=$(dpkg-deb -c "$deb" | awk '$2 != "root/root"' | head -1)
    [[ -z $bad ]] || fail "$(basename "$deb"): not owned by root/root: $bad"
    bad=$(dpkg-deb -c "$deb" | awk '$1 ~ /^.....w/ || $1 ~ /^........w/' | head -1)
    [[ -z $bad ]] || fail "$(basename "$deb"): writable by group or others: $bad"
  done
  [[ -x $root/usr/bin/stsecrets ]] || fail "/usr/bin/stsecrets is not executable"
  # Every .gz is gzip -9n: no stored name, no timestamp (policy 12.3; reproducible).
  while IFS= read -r -d '' f; do
    [[ $(od -An -tu1 -j3 -N5 "$f" | tr -s ' ') == " 0 0 0 0 0" ]] ||
      fail "${f#"$root"} stores a file name or a timestamp: compress with gzip -9n"
    [[ $(file -b "$f") == *"max compression"* ]] || fail "${f#"$root"} is not gzip -9"
  done < <(find "$root/usr/share/man" "$root/usr/share/doc" -name '*.gz' -print0)
  # DEP-5 copyright.
  head -1 "$doc/copyright" | grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
    fail "copyright is not DEP-5 (first line must be the Format: URL)"
  grep -q '^Files: \*$' "$doc/copyright" || fail "copyright has no 'Files: *' paragraph"
  cmp -s "$doc/copyright" "$root/usr/share/doc/libstsecrets-dev/copyright" || fail "the two copyright files differ"
  # The packaged binary is stripped and still hardened (security/check-hardening.sh).
  [[ $(file -b "$root/usr/bin/stsecrets") == *", stripped"* ]] || fail "/usr/bin/stsecrets is not stripped"
  "$source_dir/security/check-hardening.sh" "$root/usr/bin/stsecrets" || fail "/usr/bin/stsecrets lost its hardening"
  if objdump -h "$(lib_file libstsecrets.a)" | grep -q '\.debug_info'; then
    fail "libstsecrets.a still has debug sections: the dev install should strip --strip-debug"
  fi
  # The Depends fields can be met on this system: apt plans the install (nothing is installed).
  if command -v apt-get >/dev/null; then
    local plan
    plan=$(apt-get install --simulate --no-install-recommends "$runtime_deb" "$dev_deb" 2>&1) ||
      fail "apt-get cannot install the packages: $(tail -3 <<<"$plan")"
    if ! grep -q '^Inst stsecrets ' <<<"$plan" || ! grep -q '^Inst libstsecrets-dev ' <<<"$plan"; then
      fail "apt-get does not plan to install both packages: $(tail -3 <<<"$plan")"
    fi
    grep -q ' 0 to remove' <<<"$plan" || fail "installing the packages would remove others: $(grep 'to remove' <<<"$plan")"
  fi
  echo "contents: every file in place, modes and owners right, gzip -9n, DEP-5, hardened and stripped, installable"
}

# ---- versions ----------------------------------------------------------------------------
step_versions() {
  have_debs
  local out cmd deb_runtime deb_dev th chlog cfg md
  out=$("$root/usr/bin/stsecrets" --version) || fail "the installed stsecrets --version failed"
  [[ $out =~ ^stsecrets\ ([^[:space:]]+)$ ]] || fail "--version printed '$out', want 'stsecrets VERSION'"
  cmd=${BASH_REMATCH[1]}
  deb_runtime=$(dpkg-deb -f "$runtime_deb" Version)
  deb_dev=$(dpkg-deb -f "$dev_deb" Version)
  th=$(zcat "$root/usr/share/man/man1/stsecrets.1.gz" | sed -n 's/^\.TH STSECRETS 1 "[^"]*" "stsecrets \([^"]*\)".*/\1/p')
  chlog=$(zcat "$root/usr/share/doc/stsecrets/changelog.gz" | sed -n '1s/^stsecrets (\([^)]*\)).*/\1/p')
  cfg=$(sed -n 's/^set(PACKAGE_VERSION "\([^"]*\)").*/\1/p' "$(lib_file cmake/stsecrets/stsecretsConfigVersion.cmake)")
  md=$(sed -n 's/^## \[\([0-9][^]]*\)\].*/\1/p' "$source_dir/CHANGELOG.md" | head -1)
  printf '%-34s %s\n' "CMake project(VERSION)" "$version" "stsecrets --version" "$cmd" \
    "stsecrets Version field" "$deb_runtime" "libstsecrets-dev Version field" "$deb_dev" \
    "man page .TH" "$th" "Debian changelog.gz" "$chlog" "stsecretsConfigVersion.cmake" "$cfg" \
    "CHANGELOG.md newest entry" "$md"
  for v in "$cmd" "$deb_runtime" "$deb_dev" "$th" "$chlog" "$cfg" "$md"; do
    [[ $v == "$version" ]] || fail "versions disagree (table above): '$v' is not '$version'"
  done
  echo "versions: all $version"
}

# ---- man -----------------------------------------------------------------------------------
step_man() {
  have_debs; need man; need groff
  local page=$root/usr/share/man/man1/stsecrets.1.gz err text section
  err=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >"$work/man.txt") || fail "man -l failed: $err"
  [[ -z $err ]] || fail "man -l warns: $err"
  err=$(zcat "$page" | groff -man -ww -z 2>&1) || fail "groff failed: $err"
  [[ -z $err ]] || fail "groff -ww warns: $err"
  if command -v mandoc >/dev/null; then
    err=$(zcat "$page" | mandoc -T lint -W warning 2>&1) || fail "mandoc -T lint: $err"
  else
    echo "man: mandoc not installed; groff and man checks only"
  fi
  text=$(<"$work/man.txt")
  for section in NAME SYNOPSIS DESCRIPTION COMMANDS "EXIT STATUS" ENVIRONMENT FILES SECURITY EXAMPLES "SEE ALSO"; do
    grep -qx "$section" <<<"$text" || fail "the man page has no $section section"
  done
  for cmd in "check \[--config FILE\] \[--fetch\] \[--json\]" "handles \[--config FILE\]" "resolve \[--config FILE\]" \
             "exec \[--config FILE\]" "helper read-file DIR" "backend \[--config FILE\]" "help \[COMMAND\]"; do
    grep -q "^   $cmd" <<<"$text" || fail "the man page has no subsection for '$cmd'"
  done
  if awk 'length > 80' "$work/man.txt" | grep -q .; then
    fail "a line of the rendered page is wider than 80 columns: $(awk 'length > 80' "$work/man.txt" | head -1)"
  fi
  echo "man: renders at 80 columns without warnings; every section and command present"
}

# ---- completion ----------------------------------------------------------------------------
step_completion() {
  have_debs
  local file=$root/usr/share/bash-completion/completions/stsecrets out
  # shellcheck disable=SC2016 # expanded by the inner bash
  local probe='
    t() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
          COMPREPLY=(); $(complete -p stsecrets | sed "s/.*-F \([^ ]*\) .*/\1/") stsecrets "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
          echo "$*|${COMPREPLY[*]}"; }
    t stsecrets re
    t stsecrets ""
    t stsecrets check --f
    t stsecrets resolve --output-
    t stsecrets --log-level w
    t stsecrets help ha
    t stsecrets helper r'
  local want="stsecrets re|resolve
stsecrets |check handles resolve exec helper backend help
stsecrets check --f|--fetch
stsecrets resolve --output-|--output-dir
stsecrets --log-level w|warn
stsecrets help ha|handles
stsecrets helper r|read-file"
  # 1. Sourced into a plain bash, without bash-completion's helpers.
  out=$(bash --norc --noprofile -c "source '$file' || exit 1; $probe" 2>&1) || fail "the completion file does not load: $out"
  [[ $out == "$want" ]] || fail "completions differ (plain bash): got
$out
want
$want"
  # 2. Found by bash-completion's on-demand loader where the package puts it (the loader looks
  #    in $XDG_DATA_DIRS/bash-completion/completions; /usr/share on an installed system).
  if [[ -f /usr/share/bash-completion/bash_completion ]]; then
    out=$(XDG_DATA_DIRS="$root/usr/share" bash --norc --noprofile -c \
      "source /usr/share/bash-completion/bash_completion || exit 1
       __load_completion stsecrets || { echo 'no stsecrets completion found'; exit 1; }
       $probe" 2>&1) ||
      fail "bash-completion does not load /usr/share/bash-completion/completions/stsecrets: $out"
    [[ $out == "$want" ]] || fail "completions differ (bash-completion): got
$out
want
$want"
  else
    echo "completion: bash-completion not installed; loader check skipped"
  fi
  echo "completion: loads; 'stsecrets re' completes to resolve"
}

# ---- consumer ------------------------------------------------------------------------------
step_consumer() {
  have_debs; need cmake
  local dir=$work/consumer
  rm -rf "$dir"
  mkdir -p "$dir"
  mkdir -m 0700 "$dir/secrets"
  # Only the scratch root: CMAKE_FIND_ROOT_PATH-free, but with the system's own -dev packages
  # for the dependencies, as on a machine where libstsecrets-dev was installed.
  cmake -S "$source_dir/tests/consumer/project" -B "$dir/build" -G Ninja \
    -DCMAKE_PREFIX_PATH="$root/usr" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$dir/configure.log" 2>&1 ||
    { cat "$dir/configure.log" >&2; fail "the consumer does not configure against the package"; }
  grep -q "$root" "$dir/build/CMakeCache.txt" || fail "find_package(stsecrets) did not find the extracted package"
  grep -qx "stsecrets_DIR:PATH=$root/usr/lib.*/cmake/stsecrets" "$dir/build/CMakeCache.txt" ||
    fail "stsecrets_DIR is not in the scratch root: $(grep stsecrets_DIR "$dir/build/CMakeCache.txt")"
  cmake --build "$dir/build" >"$dir/build.log" 2>&1 ||
    { cat "$dir/build.log" >&2; fail "the consumer does not build against the package"; }
  local out
  out=$("$dir/build/app" "$dir/secrets") || fail "the consumer app failed: $out"
  [[ $out == consumer-secret ]] || fail "the consumer app printed the wrong value"
  echo "consumer: find_package(stsecrets) from $(grep stsecrets_DIR: "$dir/build/CMakeCache.txt" | cut -d= -f2), built and resolved"
}

# ---- zip (Windows) -------------------------------------------------------------------------
step_zip() {
  need cpack; need unzip
  local zip=$out_dir/stsecrets-${version}-win64.zip top=stsecrets-${version}-win64 list f
  rm -rf "$work" "$zip"
  mkdir -p "$work" "$out_dir"
  cpack -G ZIP --config "$build/CPackConfig.cmake" -B "$out_dir" >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log" >&2; fail "cpack -G ZIP failed (log above)"; }
  [[ -f $zip ]] || fail "cpack did not produce $(basename "$zip")"
  list=$(unzip -Z1 "$zip")
  for f in README.md CHANGELOG.md COPYRIGHT.txt docs/cli.md docs/configuration.md docs/windows-setup.md \
           examples/stackstate.yaml; do
    grep -qx "$top/$f" <<<"$list" || fail "$(basename "$zip") lacks $top/$f"
  done
  if [[ -f $build/stsecrets.exe ]]; then
    grep -qx "$top/stsecrets.exe" <<<"$list" || fail "stsecrets.exe was built but is not in $(basename "$zip")"
  else
    echo "zip: no stsecrets.exe in this build tree (the Windows command is not built); docs only"
  fi
  if grep -E '[":<>|?*]' <<<"$list"; then fail "names above cannot be created on Windows"; fi
  echo "zip: $(basename "$zip") with $(grep -vc '/$' <<<"$list") files"
}

case $step in
  build | lintian | contents | versions | man | completion | consumer | zip) "step_$step" ;;
  *) echo "package test: unknown step '$step'" >&2; exit 2 ;;
esac
