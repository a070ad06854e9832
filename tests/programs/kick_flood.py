"""A flood of kicks at a stopped process (tests/run.py,
programs/kick-flood): the child C has two threads (so that the test
finds its host process) and handles SIGRTMIN; once C is stopped from the
host, the parent sends it 3000 SIGRTMINs (real-time: each one queued
and signalled), each of which makes moat kick
one of C's host threads (a real-time host signal, which queues); then C
goes on. It must survive the pile of kicks (they once came all at once as
nested frames on its signal stack, which overflowed: SIGSEGV) and end
when told to."""
import os
import signal
import sys
import threading
import time


def on_usr2(sig, frame):
    print("C alive after the flood", flush=True)
    os._exit(0)


r, w = os.pipe()
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGRTMIN, lambda s, f: None)
    signal.signal(signal.SIGUSR2, on_usr2)
    ev = threading.Event()
    threading.Thread(target=ev.wait, daemon=True).start()
    os.write(w, b"r")
    while True:
        time.sleep(1)
os.read(r, 1)
print("ready", flush=True)
sys.stdin.readline()  # the test stopped C
queued = 0
for i in range(3000):
    try:
        os.kill(pid, signal.SIGRTMIN)
        queued += 1
    except OSError:  # EAGAIN: the queue's limit (RLIMIT_SIGPENDING)
        pass
print("sent", flush=True)
print("queued at least 500:", queued >= 500, file=sys.stderr, flush=True)
sys.stdin.readline()  # the test let C go on
time.sleep(0.5)
os.kill(pid, signal.SIGUSR2)
_, st = os.waitpid(pid, 0)
print("C:", "exited %d" % os.WEXITSTATUS(st) if os.WIFEXITED(st)
      else "killed by signal %d" % os.WTERMSIG(st), flush=True)
