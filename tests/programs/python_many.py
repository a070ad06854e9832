"""Several python3 processes at once in one sandbox (issue 9: the
interpreter's text and its libraries are private views of one page cache
shared by all): 8 workers start together, import modules, wait until
all 8 are up (a handshake, so they surely run at the same time), then
compute and print; and forked children write to a private file mapping
while the parent checks its own pages. Output compared with the native
run (tests/run.py, programs/python-many)."""
import mmap
import os
import subprocess
import sys
import tempfile

N = 8
WORKER = r"""
import sys, json, re, decimal, hashlib, datetime, collections
i = int(sys.argv[1])
sys.stdout.write("up\n"); sys.stdout.flush()
sys.stdin.readline()
d = decimal.Decimal(1) / decimal.Decimal(7 + i)
words = re.findall(r"\w+", "the quick brown fox %d jumps" % i)
c = collections.Counter("".join(words))
print(i, str(d)[:12], hashlib.sha256(json.dumps(words).encode()).hexdigest()[:16],
      c.most_common(1)[0], datetime.date(2024, 1, 1 + i).isoformat())
"""

procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(i)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
         for i in range(N)]
for p in procs:
    assert p.stdout.readline() == b"up\n"
print("all %d up" % N)
for p in procs:
    p.stdin.write(b"go\n")
    p.stdin.flush()
for p in procs:
    out, _ = p.communicate()
    sys.stdout.write(out.decode())
    print("status", p.returncode)

# Forked children write their own pages of one private file mapping.
PAGES = 16
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "f")
    with open(path, "wb") as f:
        for i in range(PAGES):
            f.write(bytes([65 + i]) * mmap.PAGESIZE)
    with open(path, "r+b") as f:
        m = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE)
        kids = []
        for k in range(4):
            pid = os.fork()
            if pid == 0:
                bad = 0
                for _ in range(10):
                    for i in range(PAGES):
                        at = i * mmap.PAGESIZE
                        bad += m[at + 1] != 65 + i
                        m[at] = 48 + k
                        bad += m[at] != 48 + k
                os._exit(1 if bad else 0)
            kids.append(pid)
        ok = sum(os.waitpid(pid, 0)[1] == 0 for pid in kids)
        mine = sum(m[i * mmap.PAGESIZE] == 65 + i for i in range(PAGES))
        f.seek(0)
        print("children right %d/4, parent pages %d/%d, file starts %r" %
              (ok, mine, PAGES, f.read(2)))
        m.close()
