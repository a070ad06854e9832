"""Many waits on a host stream at once (tests/run.py,
programs/host-wait-stress; the same lines natively).

WAITERS threads in PROCS processes (more than plat_wait's table of 256
host waiters) each wait on stdin, idle, and a pipe or eventfd of their
own, with poll, select, epoll (level- or edge-triggered) or an epoll set
inside another; the main process writes each one's file ROUNDS times
and each waiter must see every write (each write wakes every waiter to
look again: under load, a pile of the platform's wake signals once
crashed a waiter's process, tests/unit/wait_signals.c). Meanwhile VICTIMS more processes
wait the same way and a sibling kills them (SIGKILL) in their waits:
the waits of the others go on. Last, every waiter waits on stdin alone
and the test's one line after "want stdin" must wake them all.
"""
import os
import select
import signal
import sys
import threading
import time

PROCS, PER = 10, 30  # 300 waiters
VICTIMS, VICTIM_THREADS = 3, 20
ROUNDS = 3
MODES = ("poll", "select", "epoll", "epoll-et", "nested")


def say(*a):
    print(*a, flush=True)


def wait_on(mode, fds, timeout):
    """Wait for any of fds to be readable: the ready ones."""
    if mode == "poll":
        p = select.poll()
        for fd in fds:
            p.register(fd, select.POLLIN)
        return [fd for fd, _ in p.poll(timeout * 1000)]
    if mode == "select":
        return select.select(fds, [], [], timeout)[0]
    ep = select.epoll()
    try:
        for fd in fds:
            ep.register(fd, select.EPOLLIN |
                        (select.EPOLLET if mode == "epoll-et" else 0))
        if mode != "nested":
            return [fd for fd, _ in ep.poll(timeout)]
        outer = select.epoll()
        try:
            outer.register(ep.fileno(), select.EPOLLIN)
            if not outer.poll(timeout):
                return []
            return [fd for fd, _ in ep.poll(0)]
        finally:
            outer.close()
    finally:
        ep.close()


def take(fd, is_eventfd):
    if is_eventfd:
        return os.eventfd_read(fd)
    return len(os.read(fd, 100))


def waiter(k, rfd, is_eventfd, report, go_stdin):
    mode = MODES[k % len(MODES)]
    got = 0
    while got < ROUNDS:
        ready = wait_on(mode, [0, rfd], 30)
        if 0 in ready:
            os.write(report, b"%d stdin-early\n" % k)
            return
        if rfd not in ready:
            os.write(report, b"%d timeout\n" % k)
            return
        got += take(rfd, is_eventfd)
    os.write(report, b"%d rounds\n" % k)
    go_stdin.wait()
    ready = wait_on(mode, [0, rfd], 30)
    os.write(report, b"%d %s\n" % (k, b"stdin" if ready == [0] else b"none"))


def child(first, n, files, report, go_r):
    go_stdin = threading.Event()
    ts = [threading.Thread(target=waiter, args=(
        first + i, files[first + i][0], files[first + i][2], report,
        go_stdin)) for i in range(n)]
    for t in ts:
        t.start()
    os.read(go_r, 1)  # the main process says: on to stdin
    go_stdin.set()
    for t in ts:
        t.join()
    os._exit(0)


def victim(rfd):
    def sit():
        wait_on("poll", [0, rfd], 60)
    for _ in range(VICTIM_THREADS):
        threading.Thread(target=sit, daemon=True).start()
    time.sleep(60)
    os._exit(1)


def main():
    n = PROCS * PER
    files = []  # (read end, write end, eventfd?)
    for k in range(n):
        if k % 2:
            e = os.eventfd(0)
            files.append((e, e, True))
        else:
            r, w = os.pipe()
            files.append((r, w, False))
    report_r, report_w = os.pipe()
    go_r, go_w = os.pipe()
    kids = []
    for c in range(PROCS):
        pid = os.fork()
        if pid == 0:
            child(c * PER, PER, files, report_w, go_r)
        kids.append(pid)
    idle_r, idle_w = os.pipe()
    victims = []
    for v in range(VICTIMS):
        pid = os.fork()
        if pid == 0:
            victim(idle_r)
        victims.append(pid)
    # A sibling kills the victims while everybody waits.
    killer = os.fork()
    if killer == 0:
        time.sleep(0.5)
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        os._exit(0)
    t0 = time.monotonic()
    for r in range(ROUNDS):
        time.sleep(0.2)
        for k in range(n):
            if files[k][2]:
                os.eventfd_write(files[k][1], 1)
            else:
                os.write(files[k][1], b"x")
    _, st = os.waitpid(killer, 0)
    ends = [os.waitpid(pid, 0)[1] for pid in victims]
    say("victims killed:", all(os.WIFSIGNALED(s) and
                               os.WTERMSIG(s) == signal.SIGKILL
                               for s in ends))
    seen = {}
    buf = b""
    while len(seen) < n and time.monotonic() - t0 < 40:
        r, _, _ = select.select([report_r], [], [], 1)
        if r:
            buf += os.read(report_r, 65536)
            *lines, buf = buf.split(b"\n")
            for line in lines:
                k, what = line.split()
                seen[int(k)] = what.decode()
    outcome = {}
    for what in seen.values():
        outcome[what] = outcome.get(what, 0) + 1
    say("every write seen:", outcome == {"rounds": n}, outcome if
        outcome != {"rounds": n} else "", "in time:",
        time.monotonic() - t0 < 10)
    os.write(go_w, b"g" * PROCS)
    time.sleep(0.5)  # (they are all waiting on stdin by now, most of them)
    say("want stdin")
    t0 = time.monotonic()
    seen = {}
    while len(seen) < n and time.monotonic() - t0 < 40:
        r, _, _ = select.select([report_r], [], [], 1)
        if r:
            buf += os.read(report_r, 65536)
            *lines, buf = buf.split(b"\n")
            for line in lines:
                k, what = line.split()
                seen[int(k)] = what.decode()
    outcome = {}
    for what in seen.values():
        outcome[what] = outcome.get(what, 0) + 1
    say("stdin woke all:", outcome == {"stdin": n}, outcome if
        outcome != {"stdin": n} else "", "in time:",
        time.monotonic() - t0 < 10)
    ok = all(os.waitpid(pid, 0)[1] == 0 for pid in kids)
    say("waiters ended:", ok, sys.stdin.readline().strip())


main()
