#!/usr/bin/env bash
# Process, thread and signal tests (docs/processes.md): each program is
# built with gcc -static and musl-gcc -static, run natively and inside
# moat, and the outputs and exit statuses must match. Usage:
#   tests/proc/run.sh [BUILD]        (default build)
# For the tests engineer to fold into tests/run.py.
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
moat=$build/moat
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0
check() { # name, native command, moat command
  local name=$1 nat mo
  nat=$(TMPDIR=$out/tmp bash -c "$2" 2>&1; echo "rc=$?")
  mo=$(bash -c "$3" 2>&1; echo "rc=$?")
  if [ "$nat" == "$mo" ]; then echo "PASS $name"; else
    echo "FAIL $name"; diff <(echo "$nat") <(echo "$mo") | head -20; fail=1; fi
}
mkdir -p "$out/tmp"
for cc in gcc musl-gcc; do
  command -v $cc >/dev/null || continue
  for p in threads threads_signals procsig alarm robust spawn vfork exec_threads condvar_ring futex_ops; do
    $cc -static -O2 -pthread -o "$out/$p.$cc" tests/proc/$p.c 2>/dev/null ||
      $cc -static -O2 -o "$out/$p.$cc" tests/proc/$p.c 2>/dev/null
  done
  run="$moat run --mount $out:/t:ro"
  check "$cc/threads" "$out/threads.$cc" "$run /t/threads.$cc"
  check "$cc/threads_signals" "$out/threads_signals.$cc x" "$run /t/threads_signals.$cc x"
    # not as pid 1: the sandbox's init would reap the test's orphan itself
  check "$cc/procsig" "$out/procsig.$cc" "$run busybox sh -c '/t/procsig.$cc; exit \$?'"
  check "$cc/alarm" "$out/alarm.$cc" "$run /t/alarm.$cc"
  check "$cc/robust" "$out/robust.$cc" "$run /t/robust.$cc"
  check "$cc/spawn" "$out/spawn.$cc" "$run /t/spawn.$cc"
  check "$cc/vfork" "$out/vfork.$cc" "$run /t/vfork.$cc"
  check "$cc/condvar_ring" "$out/condvar_ring.$cc" "$run /t/condvar_ring.$cc"
  # needs <linux/futex.h>, which musl-gcc may not find
  if [ -x "$out/futex_ops.$cc" ]; then
    check "$cc/futex_ops" "$out/futex_ops.$cc" "$run /t/futex_ops.$cc"
  else echo "SKIP $cc/futex_ops"; fi
  check "$cc/exec_threads" "$out/exec_threads.$cc" "$run /t/exec_threads.$cc"
  check "$cc/exec_thread2" "$out/exec_threads.$cc thread" "$run /t/exec_threads.$cc thread"
done
cp tests/proc/script.sh "$out/script.sh"
check "busybox/script" "busybox sh $out/script.sh" "$moat run --mount $out:/t:ro busybox sh /t/script.sh"
# Containment: a fork bomb and a thread bomb stop at --pids.
gcc -static -O2 -pthread -o "$out/bomb" tests/proc/bomb.c
r=$($moat run --pids 50 --mount "$out:/t:ro" /t/bomb 2>&1)
case "$r" in *"forks 49 stop: Resource temporarily unavailable"*) echo "PASS bomb/fork";;
  *) echo "FAIL bomb/fork: $r"; fail=1;; esac
r=$($moat run --pids 50 --mount "$out:/t:ro" /t/bomb threads 2>&1)
case "$r" in *"threads 49 stop"*) echo "PASS bomb/threads";;
  *) echo "FAIL bomb/threads: $r"; fail=1;; esac
# kill -9 of moat leaves no guest process behind.
$moat run busybox sh -c 'sleep 100 & sleep 100 & (sleep 100; :) & while :; do :; done' &
pid=$!
sleep 1
kill -9 $pid
wait $pid 2>/dev/null
sleep 0.5
if ps -eo args | grep -q "^$moat run busybox sh -c sleep 100"; then
  echo "FAIL kill9: guest processes left"; fail=1
else echo "PASS kill9"; fi
exit $fail
