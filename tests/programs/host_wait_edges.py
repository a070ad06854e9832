"""The edges of a wait on a host stream: host signals during a look at
it, a non-blocking read of it, edge-triggered and nested epoll over it.

Run with stdin a pipe from the test that stays empty but for one line
after each "want stdin" this program prints (tests/run.py,
programs/host-wait-edges). Each step prints what it saw; the same
program natively prints the same.
"""
import fcntl
import os
import select
import signal
import sys
import threading
import time

# Whatever blocks for good (a read that should not), the test's driver
# reads on: end after a while instead.
watchdog = threading.Timer(40, lambda: os._exit(3))
watchdog.daemon = True
watchdog.start()


def say(*a):
    print(*a, flush=True)


def want_line():
    say("want stdin")


def drain():
    """Read stdin (non-blocking) until EAGAIN: the lines read."""
    got = b""
    while True:
        try:
            d = os.read(0, 4096)
        except BlockingIOError:
            return got
        if not d:
            return got
        got += d


class Alarm(Exception):
    pass


def on_alarm(sig, frame):
    raise Alarm()


# 1. a fast interval timer's host signals land during the looks at an
# idle stdin: none of them makes it look ready (or failed)
hits = [0]
signal.signal(signal.SIGALRM, lambda s, f: hits.__setitem__(0, hits[0] + 1))
signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
p = select.poll()
p.register(0, select.POLLIN)
seen = {}
t0 = time.monotonic()
while time.monotonic() - t0 < 1.0:
    for fd, ev in p.poll(0):
        seen[ev] = seen.get(ev, 0) + 1
signal.setitimer(signal.ITIMER_REAL, 0)
say("idle stdin under signals:", seen, "signals came:", hits[0] > 100)

# 2. a non-blocking read of an idle stdin: EAGAIN at once
fcntl.fcntl(0, fcntl.F_SETFL, fcntl.fcntl(0, fcntl.F_GETFL) | os.O_NONBLOCK)
signal.signal(signal.SIGALRM, on_alarm)
signal.alarm(3)
try:
    os.read(0, 100)
    say("non-blocking read: data?")
except BlockingIOError:
    say("non-blocking read: EAGAIN")
except Alarm:
    say("non-blocking read: blocked")
signal.alarm(0)

# 3. edge-triggered epoll on stdin: each line that comes after the last
# report and a read of everything is an edge
ep = select.epoll()
ep.register(0, select.EPOLLIN | select.EPOLLET)
for i in range(2):
    want_line()
    r = ep.poll(10)
    say("edge %d:" % i, r, drain())

# 4. the line comes between the read that found stdin empty and the
# epoll_wait: still an edge after the last report
want_line()
time.sleep(1.0)
r = ep.poll(5)
say("edge before the wait:", r, drain())

# 5. nothing new: no edge
say("no new edge:", ep.poll(0.3))

# 6. an epoll set watching the edge-triggered one, the line coming while
# the outer sleeps
outer = select.epoll()
outer.register(ep.fileno(), select.EPOLLIN)
want_line()
t0 = time.monotonic()
r = outer.poll(10)
say("nested:", r == [(ep.fileno(), select.EPOLLIN)],
    "in time:", time.monotonic() - t0 < 5, ep.poll(0), drain())
