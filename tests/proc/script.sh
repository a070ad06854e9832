# busybox sh features over many processes: a 6-stage pipeline, command
# substitution, subshells, a here-document, trap EXIT, background jobs and
# wait, xargs, find -exec, 500 spawned processes, a file written in a
# child and read in the parent, exit statuses and a self-kill.

D=${TMPDIR:-/tmp}/ft; rm -rf $D
echo start
seq 1 100 | grep 1 | sort -r | head -20 | tr 1 x | wc -l
x=$(echo hello | sed s/h/j/); echo $x
(cd / && echo sub $(pwd))
cat <<END
here $x
doc
END
trap 'echo trapped exit' EXIT
for i in 1 2 3; do (sleep 0.$i; echo bg $i) & done; wait
echo a b c d | xargs -n1 echo item
mkdir -p $D/a/b; touch $D/a/f1 $D/a/b/f2
find $D -type f -exec echo found {} \; | sed "s|$D||" | sort
i=0; while [ $i -lt 500 ]; do /bin/true; i=$((i+1)); done; echo spawned $i
(echo child-wrote > $D/file); cat $D/file
sh -c 'echo inner $$ >/dev/null; exit 3' || echo status $?
sh -c "kill -TERM \$\$" ; echo killed $?
echo $(( $(echo 5) * 2 ))
read line <<EOS
from heredoc
EOS
echo $line
