#!/usr/bin/env bash
# Long concurrent-load runs of moat (issue 7, item 7), beyond the suite's
# 20 s stress/fs-concurrent. Each workload runs N times (or SECONDS long)
# and a run fails on a non-zero status, wrong output or any "moat:" line.
#   fs_stress  tests/guest/fs_stress.c: 5 processes x 6 threads over an rw
#              grant, /tmp and /usr/include, every result checked
#   catloop    two cat processes reading every /usr/include header at once
#   pool       python3 ThreadPoolExecutor(8) opening and stat-ing headers
#   make       make -j2 of 24 C files that include system headers (gcc on
#              the default root), the program run and its output checked
# Usage: [N=10] [STRESS_SECONDS=300] tests/stress.sh [BUILD]   (default build)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
n=${N:-10}
seconds=${STRESS_SECONDS:-300}
moat=$PWD/$build/moat
make -s BUILD="$build" "$build/moat" "$build/guest/glibc/fs_stress" || exit 1
work=$(mktemp -d /tmp/moat-stress-XXXXXX)
trap 'rm -rf "$work"' EXIT
total_fail=0

# check NAME WANT CMD...: run CMD n times, count failures
check() {
  local name=$1 want=$2 fail=0 out rc
  shift 2
  for i in $(seq "$n"); do
    out=$("$@" 2>&1)
    rc=$?
    if [ $rc -ne 0 ] || [ "$out" != "$want" ]; then
      fail=$((fail + 1))
      echo "  $name run $i: status $rc: $(echo "$out" | tail -2)"
    fi
  done
  echo "$name: $fail failures of $n"
  total_fail=$((total_fail + fail))
}

mkdir -p "$work/rw"
echo "fs_stress: $seconds s"
out=$("$moat" run --mount "$PWD/$build/guest/glibc:/t:ro" \
  --mount "$work/rw:/rw:rw" -- /t/fs_stress -v -t "$seconds" -p 4 -n 6 \
  -d /rw -d /tmp 2>"$work/fs.err")
rc=$?
ops=$(sed 's/process [0-9]*://' "$work/fs.err" | grep -o '[0-9]\+' | awk '{s += $1} END {print s}')
if [ $rc -ne 0 ] || [ "$out" != "fs_stress: ok" ] || grep -q '^moat:' "$work/fs.err"; then
  echo "fs_stress: FAILED (status $rc): $out"; tail -3 "$work/fs.err"
  total_fail=$((total_fail + 1))
else
  echo "fs_stress: ok, $ops checked operations"
fi

check catloop "" "$moat" run sh -c 'for r in 1 2 3 4 5 6; do
  cat /usr/include/*.h /usr/include/*/*.h >/dev/null &
  cat /usr/include/*.h /usr/include/*/*.h >/dev/null; wait; done'

cat >"$work/pool.py" <<'EOF'
import concurrent.futures, glob, os
files = sorted(glob.glob('/usr/include/*.h') + glob.glob('/usr/include/*/*.h'))
def work(p):
    with open(p, 'rb') as f:
        d = f.read()
    os.stat(p)
    return len(d)
tot = 0
for rnd in range(3):
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        tot += sum(ex.map(work, files))
print(len(files), tot)
EOF
check pool "$(python3 "$work/pool.py")" \
  "$moat" run --mount "$work:/s:ro" python3 /s/pool.py

mkdir -p "$work/mk"
sum=0
for i in $(seq 1 24); do
  cat >"$work/mk/f$i.c" <<EOF
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <math.h>
#include <pthread.h>
int f$i(int x) { char b[32]; snprintf(b, sizeof b, "%d", x); return (int)strlen(b) + $i; }
EOF
  sum=$((sum + ${#i} + i))
done
{
  for i in $(seq 1 24); do echo "int f$i(int);"; done
  echo '#include <stdio.h>'
  echo 'int main(void) { int s = 0;'
  for i in $(seq 1 24); do echo "s += f$i($i);"; done
  echo 'printf("%d\n", s); return 0; }'
} >"$work/mk/main.c"
printf 'OBJS=$(patsubst %%.c,%%.o,$(wildcard *.c))\nprog: $(OBJS)\n\tgcc -o $@ $(OBJS)\n%%.o: %%.c\n\tgcc -O1 -c $< -o $@\nclean:\n\trm -f *.o prog\n' >"$work/mk/Makefile"
check make "$sum" "$moat" run --mount "$work/mk:/mk:rw" --cwd /mk \
  sh -c 'make -s clean && make -s -j2 && ./prog && make -s clean'

[ $total_fail -eq 0 ] && echo "all ok" || echo "$total_fail failures"
exit $((total_fail > 0))
