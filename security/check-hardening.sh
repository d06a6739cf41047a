#!/usr/bin/env bash
# Verifies the hardening of a built ELF binary (checksec-style, with readelf only):
#   PIE, full RELRO (GNU_RELRO + BIND_NOW), non-executable stack, stack protector, FORTIFY.
# Usage: security/check-hardening.sh build/default/stsecrets
# Prints one line per property and exits 1 if any is missing.
set -uo pipefail
bin=${1:?usage: check-hardening.sh BINARY}
fail=0
report() { printf '%-16s %s\n' "$1" "$2"; [[ $2 == OK* ]] || fail=1; }

hdr=$(readelf -hW "$bin")
phdr=$(readelf -lW "$bin")
dyn=$(readelf -dW "$bin")
syms=$(readelf --dyn-syms -W "$bin")

grep -q 'Type:.*DYN' <<<"$hdr" && grep -q 'INTERP' <<<"$phdr" && report PIE "OK (ET_DYN with interpreter)" || report PIE "MISSING: link with -pie"
grep -q 'GNU_RELRO' <<<"$phdr" && report RELRO "OK (GNU_RELRO)" || report RELRO "MISSING: link with -Wl,-z,relro"
grep -Eq 'BIND_NOW|FLAGS.*NOW' <<<"$dyn" && report BIND_NOW "OK (full RELRO)" || report BIND_NOW "MISSING: link with -Wl,-z,now"
if stack=$(grep 'GNU_STACK' <<<"$phdr"); then
  grep -q 'RWE' <<<"$stack" && report NX-stack "MISSING: executable stack; link with -Wl,-z,noexecstack" || report NX-stack "OK (GNU_STACK RW)"
else
  report NX-stack "MISSING: no GNU_STACK header"
fi
grep -q '__stack_chk_fail' <<<"$syms" && report stack-protector "OK (__stack_chk_fail imported)" || report stack-protector "MISSING: compile with -fstack-protector-strong"
if grep -Eq '__[a-z_]+_chk@' <<<"$syms"; then
  report FORTIFY "OK ($(grep -Eo '__[a-z_]+_chk' <<<"$syms" | sort -u | wc -l) fortified calls)"
else
  report FORTIFY "MISSING: compile with -O2 -D_FORTIFY_SOURCE=2"
fi
exit $fail
