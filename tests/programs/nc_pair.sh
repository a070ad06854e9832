# busybox nc at both ends over 127.0.0.1 (issue 8): a listener in the
# background, a client sending one line; the listener prints it.
p=$((20000 + $$ % 20000))
busybox nc -l -p $p > /tmp/nc-out.$$ &
i=0
while [ $i -lt 50 ]; do
  echo "hello through nc" | busybox nc -w 2 127.0.0.1 $p 2>/dev/null && break
  i=$((i+1)); sleep 0.2
done
wait
cat /tmp/nc-out.$$; rm -f /tmp/nc-out.$$
