"""Waits that watch a host stream together with the sandbox's own files.

Run with stdin a pipe from the test that stays empty until this program
prints "want stdin" (then the test writes one line). Each step prints
what it saw; the same program natively prints the same. Run by
tests/run.py (programs/host-wait-*), which also counts moat's host waits.
"""
import os
import select
import signal
import sys
import threading
import time


def say(*a):
    print(*a, flush=True)


# 1. an idle host stream alone: the poll times out, nothing ready
p = select.poll()
p.register(0, select.POLLIN)
t0 = time.monotonic()
r = p.poll(400)
say("idle stdin:", r, "waited >= 0.35 s:", time.monotonic() - t0 >= 0.35)

# 2. the host stream and a pipe another thread writes to
rfd, wfd = os.pipe()
threading.Timer(0.1, lambda: os.write(wfd, b"t")).start()
p = select.poll()
p.register(0, select.POLLIN)
p.register(rfd, select.POLLIN)
t0 = time.monotonic()
r = p.poll(10000)
say("thread's pipe:", r == [(rfd, select.POLLIN)],
    "in time:", time.monotonic() - t0 < 5)
os.read(rfd, 1)

# 3. the same, written by another process
pid = os.fork()
if pid == 0:
    time.sleep(0.1)
    os.write(wfd, b"c")
    os._exit(0)
t0 = time.monotonic()
r = p.poll(10000)
say("child's pipe:", r == [(rfd, select.POLLIN)],
    "in time:", time.monotonic() - t0 < 5)
os.read(rfd, 1)
os.waitpid(pid, 0)

# 4. epoll over both, written by another process
ep = select.epoll()
ep.register(0, select.EPOLLIN)
ep.register(rfd, select.EPOLLIN)
pid = os.fork()
if pid == 0:
    time.sleep(0.1)
    os.write(wfd, b"e")
    os._exit(0)
t0 = time.monotonic()
r = ep.poll(10)
say("epoll, child's pipe:", r == [(rfd, select.EPOLLIN)],
    "in time:", time.monotonic() - t0 < 5)
os.read(rfd, 1)
os.waitpid(pid, 0)

# 5. a signal ends a poll on the host stream (the handler raises)
class Alarm(Exception):
    pass


def on_alarm(sig, frame):
    raise Alarm()


signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.1)
t0 = time.monotonic()
try:
    select.select([0], [], [], 10)
    say("signal: not delivered")
except Alarm:
    say("signal: delivered in time:", time.monotonic() - t0 < 5)

# 6. edge-triggered epoll over the writable host stdout (reported once)
# and a pipe another thread writes a second later: the second wait ends
# with the pipe (and may report stdout once more: moat counts any change
# in the sandbox as a possible edge), a second later
ep2 = select.epoll()
ep2.register(1, select.EPOLLOUT | select.EPOLLET)
ep2.register(rfd, select.EPOLLIN)
r = ep2.poll(5)
say("et stdout first:", r == [(1, select.EPOLLOUT)])
threading.Timer(1.0, lambda: os.write(wfd, b"z")).start()
t0 = time.monotonic()
r = ep2.poll(10)
say("et stdout then pipe:", (rfd, select.EPOLLIN) in r,
    "in time:", 0.9 <= time.monotonic() - t0 < 5)
os.read(rfd, 1)

# 7. the host stream becomes readable while select sleeps on it and a
# pipe nobody writes
say("want stdin")
t0 = time.monotonic()
r, _, _ = select.select([0, rfd], [], [], 10)
say("stdin woke:", r == [0], "in time:", time.monotonic() - t0 < 5,
    sys.stdin.readline().strip())
