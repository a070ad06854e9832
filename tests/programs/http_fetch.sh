# python3 -m http.server on 127.0.0.1 in a background process, fetched by
# urllib in another process of the same sandbox (issue 8). The port is
# picked from the pid so native runs of parallel tests rarely collide.
d=$(dirname "$0")
p=$((20000 + $$ % 20000))
python3 -m http.server $p --bind 127.0.0.1 --directory "$d" >/dev/null 2>&1 &
i=0
while [ $i -lt 100 ]; do
  python3 -c 'import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/mp_manager.py" % sys.argv[1]).read().decode().splitlines()[2])' $p 2>/dev/null && break
  i=$((i+1)); sleep 0.2
done
kill $!
wait
echo done
