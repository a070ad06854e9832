#!/usr/bin/env python3
"""Memory of N concurrent python3 processes, natively and in one moat
sandbox (issue 9: moat <= 1.2x native).

Each worker imports a few modules, says "ready" on its stdout and blocks
reading its stdin; once all N are ready, this script sums the memory of
every host process of the run (the launching shell, the N pythons, and
for moat also its supervisor, relay and init: all host processes of the
sandbox), then closes stdin so all end. It reports the sum of Pss (each
page shared by k processes counts 1/k in each, so pages shared by all --
libraries, the page cache's pool, moat's arena -- count once in total:
the honest figure of what the run costs the host) and, for reference, the
sum of Rss (which counts a shared page once per process).

Usage: bench/pymem.py [BUILD] [N] [MOAT-RUN-OPTION...]   (run by bench/run.sh; BUILD default
build, N default 8)."""
import os
import subprocess
import sys
import time

WORKER = ("import json, re, decimal, datetime, collections, email.message, "
          "urllib.parse, sys; print('ready', flush=True); sys.stdin.read()")


def children():
    """ppid -> [pid] for every process on the host."""
    tree = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        tree.setdefault(ppid, []).append(int(d))
    return tree


def tree_of(pid):
    tree = children()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(tree.get(p, []))
    return out


def mem_of(pid):
    """(Pss, Rss) in KiB of one host process."""
    pss = rss = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


def measure(argv, n):
    # A background job of sh reads /dev/null unless told otherwise.
    loop = ("exec 3<&0; i=0; while [ $i -lt %d ]; do /usr/bin/python3 -c \"%s\" <&3 & "
            "i=$((i+1)); done; wait") % (
        n, WORKER)
    p = subprocess.Popen(argv + ["/bin/sh", "-c", loop], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    start = time.monotonic()
    ready = 0
    while ready < n:
        line = p.stdout.readline()
        if not line:
            raise SystemExit("the run ended before %d workers were ready" % n)
        ready += line.count(b"ready")  # two writers may share a line
    up = time.monotonic() - start
    time.sleep(0.5)  # let the last one settle in its read
    procs = tree_of(p.pid)
    pss = rss = 0
    for pid in procs:
        a, b = mem_of(pid)
        pss += a
        rss += b
    p.stdin.close()
    p.wait()
    return pss, rss, len(procs), up


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    moat = os.path.join(build, "moat")
    extra = sys.argv[3:]  # moat run options (e.g. --no-fast-path)
    nat = measure([], n)
    box = measure([moat, "run"] + extra + ["--"], n)
    print("%d /usr/bin/python3 at once (imports json re decimal datetime collections "
          "email.message urllib.parse)" % n)
    print("%-8s %12s %12s %10s %10s" % ("", "sum Pss MiB", "sum Rss MiB",
                                         "host procs", "startup s"))
    for name, (pss, rss, procs, up) in (("native", nat), ("moat", box)):
        print("%-8s %12.1f %12.1f %10d %10.2f" % (name, pss / 1024, rss / 1024,
                                                   procs, up))
    print("moat/native (Pss): %.2f" % (box[0] / nat[0]))


if __name__ == "__main__":
    main()
