"""busybox sh scripts run natively and inside moat (tests/run.py, group
shell/...): processes, pipes, signals and the file system seen through a
real shell. Each script runs with its working directory a fresh private
directory (natively a temp dir, inside moat the same kind of dir mounted
rw at /w) and only ever writes relative paths below it: never an
absolute host path, because the native side runs on the host. stdout, the
exit status and the directory's final state must be identical.

Nothing printed may depend on pids or timing: background jobs write files
that are read after `wait`, or their output is sorted."""

SCRIPTS = {
    "pipeline-6-stages": r"""
printf '%s\n' 5 3 9 1 7 3 2 8 9 4 | sort -n | uniq | tr '0-9' 'a-j' \
  | sed 's/^/x/' | grep -v xb | tac
printf '%s\n' one two three four five six | cat | cat | rev | sort | head -4 | nl
printf 'a b\nc d\n' | tr ' ' '\n' | sort -r | uniq -c | awk '{print $2 $1}' | tr -d '\n' | wc -c
false | true; echo "status of false|true: $?"
true | false; echo "status of true|false: $?"
! false; echo "negated: $?"
""",
    "subshells": r"""
x=1
(x=2; echo "inside x=$x"; exit 3)
echo "subshell status $? x=$x"
( (echo nested; exit 4); echo "inner status $?" )
{ echo group; y=5; }
echo "group sets y=$y"
mkdir sub
(cd sub && echo in-sub > here)
cat sub/here
echo "cwd unchanged: $(basename "$(pwd)" | grep -c sub)"
(umask 077; : > private)
ls -l private | cut -c1-10
(exit 200); echo "exit 200 -> $?"
sh -c 'kill -TERM $$; echo not reached'; echo "sh killed by TERM: $?"
(sh -c 'kill -KILL $$'); echo "sh killed by KILL: $?"
echo end
""",
    "command-substitution": r"""
a=$(echo hi)
b=`echo there`
c=$(echo $(echo nested $(echo deep)))
echo "$a $b $c"
n=$(printf 'a\nb\nc\n' | wc -l)
echo "lines=$n"
s=$(printf 'trailing\n\n\n')
echo "[$s]"
echo "status in subst: $(false; echo $?) $(sh -c 'exit 9'; echo $?)"
v=$(for i in 1 2 3; do echo -n "$i,"; done)
echo "$v"
big=$(seq 1 5000 | tr '\n' ' ')
echo "${#big}"
""",
    "here-documents": r"""
name=world
cat <<EOF
hello $name
  indented $(echo subst)
EOF
cat <<'EOF'
literal $name $(echo no)
EOF
	cat <<-EOF
	tabs stripped $name
	EOF
while read a b; do echo "read: $b $a"; done <<EOF
1 one
2 two
3 three
EOF
sh <<'EOF'
echo "a script on stdin"
exit 6
EOF
echo "sh status $?"
cat <<EOF | tr a-z A-Z
piped heredoc
EOF
""",
    "trap-exit-int": r"""
trap 'echo exit trap ran' EXIT
trap 'echo got INT' INT
kill -INT $$
echo after INT
sh -c 'trap "echo child exit trap" EXIT; exit 3'
echo "child status $?"
sh -c 'trap "echo child INT; exit 5" INT; kill -INT $$; echo not reached'
echo "child INT status $?"
sh -c 'trap "" INT; kill -INT $$; echo ignored INT survives'
sh -c 'kill -INT $$; echo not reached'
echo "default INT status $?"
(trap 'echo subshell exit trap' EXIT; echo in subshell)
trap - INT
exit 4
""",
    "background-jobs": r"""
for i in 1 2 3 4 5 6 7 8; do (sleep 0.0$i; echo "job $i" > out.$i) & done
wait
cat out.*
(exit 7) &
wait $!
echo "bg status $?"
sleep 10 &
p=$!
kill $p
wait $p
echo "killed bg status $?"
sleep 10 &
kill -9 $!
wait $!
echo "kill -9 bg status $?"
{ echo a; echo b; } > grp.out &
wait
cat grp.out
echo "wait with nothing: $(wait; echo $?)"
""",
    "xargs": r"""
seq 1 20 | xargs -n 3 echo
printf 'a\nb\nc\n' | xargs -I{} sh -c 'echo item {}'
seq 1 12 | xargs -P 4 -n 1 sh -c 'echo $1 > x.$1' sh
cat x.* | sort -n | tr '\n' ' '; echo
printf 'f1\nf2\nf3\n' | xargs touch
ls f*
printf 'one\0two words\0' | xargs -0 -n1 echo
echo 1 2 3 | xargs sh -c 'exit 255'; echo "xargs status $?"
""",
    "find-exec": r"""
mkdir -p d/e/f d/g
for f in d/a d/e/b d/e/f/c d/g/h; do echo "content of $f" > $f; done
find d -type f -exec cat {} \; | sort
find d -type f -name '[bc]' -exec sh -c 'echo "$1: $(wc -c < "$1")"' sh {} \; | sort
find d -type f -exec echo {} + | tr ' ' '\n' | sort
find d -type d | sort
find d -name h -exec rm {} \;
find d -type f | sort | xargs -n1 basename
find d -type f -exec false {} \; ; echo "find status $?"
""",
    "spawn-500": r"""
i=0
while [ $i -lt 500 ]; do
  /bin/busybox true || echo "failed at $i"
  i=$((i + 1))
done
echo "spawned $i"
n=0
for j in $(seq 1 100); do n=$(( n + $(echo 1) )); done
echo "substitutions $n"
for j in $(seq 1 50); do (echo $j) ; done | tail -1
""",
    "pipes-and-signals": r"""
yes | head -100000 | wc -l
yes abc | head -c 1000000 | md5sum
seq 1 20000 | gzip -c | gunzip -c | sort -rn | head -3
seq 1 3000 | while read n; do echo $((n * 2)); done | tail -2
set -o pipefail
false | true; echo "pipefail: $?"
set +o pipefail
timeout 1 sleep 5; echo "timeout: $?"
sleep 5 & p=$!
kill -STOP $p
kill -CONT $p
kill -TERM $p
wait $p; echo "stopped, continued, terminated: $?"
sh -c 'exec cat' < /dev/null; echo "exec cat: $?"
yes | (read a; echo "read $a"); echo "yes killed by SIGPIPE, pipe: $?"
""",
    "concurrent-pipelines": r"""
for i in $(seq 1 40); do
  (echo $i | cat | tr 0-9 a-j | cat > p.$i) &
done
wait
cat p.* | sort | uniq | wc -l
for i in $(seq 1 20); do
  seq 1 $((i * 100)) | sort -rn | head -1 > q.$i &
done
wait
cat q.* | sort -n | tr '\n' ' '; echo
cat <<EOF | sh | sort
echo one & echo two & echo three & wait
EOF
""",
    "child-writes-parent-reads": r"""
(echo from subshell > f1)
cat f1
sh -c 'echo from sh -c > f2'
cat f2
echo line | (read x; echo "got $x" > f3)
cat f3
(sleep 0.1; echo from background > f4) &
wait
cat f4
sh -c 'echo appended >> f1'
cat f1
exec 3> f5
sh -c 'echo via inherited fd >&3'
echo parent too >&3
exec 3>&-
cat f5
printf '#!/bin/busybox sh\necho "script $1"\nexit 3\n' > scr
chmod +x scr
./scr arg
echo "script status $?"
""",
}
