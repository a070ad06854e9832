#!/bin/sh
# The South contract's boundary (docs/south.md): the core and the North
# shims, linked together, may leave undefined exactly the functions that
# include/moat/platform.h declares and nothing else: no other symbol of a
# platform (plat_linux_*, a raw host syscall), no libc, no compiler
# runtime. Every declaration of platform.h at the start of a line (not a
# comment) is a contract function.
#
# usage: check_boundary.sh PLATFORM_H OUT.o OBJ...   (status 1: a list of
# the symbols outside the contract, one per line, after a message)
set -eu
header=$1
out=$2
shift 2
contract=$(grep -oE '^[^ /*#].*\bplat_[a-z_0-9]+\(' "$header" |
  grep -oE '\bplat_[a-z_0-9]+\(' | tr -d '(' | sort -u)
ld -r -o "$out" "$@"
bad=$(nm -u "$out" | awk '{print $2}' | sort -u |
  while read -r sym; do
    printf '%s\n' "$contract" | grep -qx "$sym" || printf '%s\n' "$sym"
  done)
if [ -n "$bad" ]; then
  echo "core+shim reach outside the South contract ($header):"
  printf '  %s\n' $bad
  exit 1
fi
