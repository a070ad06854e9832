# busybox nc at both ends over 127.0.0.1 (issue 8): a listener in the
# background, a client sending one line; the listener prints it.
# Natively the port may already be taken by another program of the
# host: a listener that exits at once (bind failed) is retried on the
# next port, so the client never talks to a stranger; and a round whose
# listener got nothing (its bind failed later than the check, and the
# client reached another program's listener) is tried again on the next
# port, up to 5 times.
p=$((20000 + $$ % 20000))
for round in 1 2 3 4 5; do
  t=0
  while :; do
    busybox nc -l -p $p > /tmp/nc-out.$$ &
    l=$!
    sleep 0.2
    kill -0 $l 2>/dev/null && break
    t=$((t+1))
    [ $t -lt 20 ] || { echo "no free port"; exit 1; }
    p=$((p + 1))
  done
  i=0
  while [ $i -lt 50 ]; do
    echo "hello through nc" | busybox nc -w 2 127.0.0.1 $p 2>/dev/null && break
    i=$((i+1)); sleep 0.2
  done
  # the listener ends at the client's end of file; give it 2 s
  k=0
  while [ $k -lt 20 ] && kill -0 $l 2>/dev/null; do k=$((k+1)); sleep 0.1; done
  kill $l 2>/dev/null
  wait
  [ -s /tmp/nc-out.$$ ] && break
  p=$((p + 1))
done
cat /tmp/nc-out.$$; rm -f /tmp/nc-out.$$
