#!/usr/bin/env bash
# moat's benchmarks, each run natively and inside moat in the same go.
# Every program prints the median of 7 batches; this script runs each
# program RUNS times on each side and reports the median of those, and the
# ratio moat/native. Usage: bench/run.sh [BUILD]   (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${RUNS:-5}
out=$build/bench
mkdir -p "$out"
make -s BUILD="$build" "$build/moat"
for b in syscall forkwait pingpong scmpass sockbench; do
  gcc -O2 -static -o "$out/$b" "bench/$b.c"
done

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-14s %-6s %12s %12s %8s\n' bench unit native moat ratio
# name:unit[:label:args] (args with commas for spaces)
for b in syscall:ns forkwait:us pingpong:us scmpass:us \
  sockbench:us:unix-rtt:unix,rtt sockbench:us:tcp-rtt:tcp,rtt \
  sockbench:MB/s:unix-1GiB:unix,tput sockbench:MB/s:tcp-1GiB:tcp,tput; do
  IFS=: read -r name unit label args <<<"$b"
  label=${label:-$name}
  args=${args//,/ }
  # shellcheck disable=SC2086
  nat=$(for _ in $(seq "$runs"); do "$out/$name" $args; done | median)
  # shellcheck disable=SC2086
  in=$(for _ in $(seq "$runs"); do
    "$build/moat" run --mount "$PWD/$out:/b:ro" "/b/$name" $args; done | median)
  ratio=$(awk -v a="$in" -v b="$nat" 'BEGIN {printf "%.1f", a / b}')
  printf '%-14s %-6s %12s %12s %8s\n' "$label" "$unit" "$nat" "$in" "$ratio"
done

# Memory: 8 concurrent python3 in one sandbox vs natively (sum of Pss of
# every host process of the run; bench/pymem.py says why Pss).
echo
/usr/bin/python3 bench/pymem.py "$build" 8
