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
#   oci_exec   an OCI container (busybox root) under 20 concurrent `moat
#              exec`s (foreground, -d, with stdin; two relays killed
#              early), then KILL: every client ends, no state or moat
#              process is left (N rounds)
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

# oci_exec
bb=$(command -v busybox)
oci_fail=0
if [ -n "$bb" ]; then
  b="$work/oci"
  mkdir -p "$b/rootfs/bin"
  cp "$bb" "$b/rootfs/bin/busybox"
  for a in sh sleep cat echo; do ln -s busybox "$b/rootfs/bin/$a"; done
  printf '{"ociVersion":"1.0.2","process":{"args":["sh","-c","sleep 120 & wait"],"env":["PATH=/bin"],"cwd":"/"},"root":{"path":"rootfs"}}' >"$b/config.json"
  st="$b/state"
  for r in $(seq "$n"); do
    "$moat" --root "$st" create --bundle "$b" "s$r" </dev/null >/dev/null 2>&1 &&
      "$moat" --root "$st" start "s$r" || { oci_fail=$((oci_fail + 1)); continue; }
    pids=()
    for i in $(seq 1 20); do
      case $((i % 4)) in
      0) "$moat" --root "$st" exec "s$r" sh -c 'exit 3' >/dev/null 2>&1 & ;;
      1) "$moat" --root "$st" exec "s$r" sleep 5 >/dev/null 2>&1 & ;;
      2) "$moat" --root "$st" exec -d "s$r" sleep 3 >/dev/null 2>&1 & ;;
      3) echo data | "$moat" --root "$st" exec "s$r" cat >/dev/null 2>&1 & ;;
      esac
      pids+=($!)
    done
    sleep "0.$((RANDOM % 9 + 1))"
    kill -TERM "${pids[1]}" "${pids[5]}" 2>/dev/null
    "$moat" --root "$st" kill "s$r" KILL
    for p in "${pids[@]}"; do
      for t in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
      if kill -0 "$p" 2>/dev/null; then
        echo "  oci_exec round $r: a client still runs"
        oci_fail=$((oci_fail + 1))
        kill -9 "$p"
      fi
    done
    wait 2>/dev/null
    for t in $(seq 1 50); do "$moat" --root "$st" delete "s$r" 2>/dev/null && break; sleep 0.1; done
  done
  sleep 1
  if [ -n "$(ls "$st" 2>/dev/null)" ] || pgrep -f "moat --root $st" >/dev/null; then
    echo "  oci_exec: state or moat processes left"
    oci_fail=$((oci_fail + 1))
  fi
  echo "oci_exec: $oci_fail failures of $n rounds"
  total_fail=$((total_fail + oci_fail))
else
  echo "oci_exec: skipped (no busybox)"
fi

[ $total_fail -eq 0 ] && echo "all ok" || echo "$total_fail failures"
exit $((total_fail > 0))
