#!/usr/bin/env bash
# How long a process takes to map one-page mappings (alternating
# protections, so none merge) until mmap fails, natively and inside moat
# (tests/guest/proc_state.c's "maps" mode; Linux stops at
# vm.max_map_count, 65530). Usage: bench/maplimit.sh [BUILD]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
make -s BUILD="$build" "$build/moat" "$build/guest/glibc/proc_state"
d=$PWD/$build/guest/glibc
echo "native: $("$d/proc_state" maps time 2>&1 | tr '\n' ' ')"
echo "moat:   $("$build/moat" run --mount "$d:/t:ro" -- /t/proc_state maps time 2>&1 | tr '\n' ' ')"
