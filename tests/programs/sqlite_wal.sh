# SQLite in WAL mode used by two processes at once (issue 9, item 1): the
# WAL index (the -shm file) is a MAP_SHARED mapping both keep while the
# other writes. A stays open on a fifo while B runs 40 times; each adds a
# row in turn; then A counts what it sees (B's rows through the shared
# index) and a third process checks the rows and the database's
# integrity. The output does not depend on scheduling: A reads each
# statement only after the shell wrote it, B's runs are sequential.
set -e
d=$(mktemp -d /tmp/moat-sqlite-XXXXXX)
db=$d/t.db
sqlite3 "$db" 'PRAGMA journal_mode=WAL; CREATE TABLE t(who TEXT, n INT);' >/dev/null
mkfifo "$d/f"
sqlite3 "$db" <"$d/f" >"$d/a.out" 2>&1 &
exec 3>"$d/f"
echo ".timeout 20000" >&3
i=1
while [ $i -le 40 ]; do
  echo "INSERT INTO t VALUES('a', $i);" >&3
  sqlite3 -cmd ".timeout 20000" "$db" "INSERT INTO t VALUES('b', $i);"
  i=$((i + 1))
done
echo "SELECT 'a sees', count(*), sum(n) FROM t;" >&3
exec 3>&-
wait
cat "$d/a.out"
sqlite3 "$db" "SELECT who, count(*), sum(n) FROM t GROUP BY who ORDER BY who; PRAGMA journal_mode; PRAGMA integrity_check;"
rm -rf "$d"
