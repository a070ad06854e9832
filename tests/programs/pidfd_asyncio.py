"""tests/run.py programs/python-pidfd: pidfds from Python: os.pidfd_open, signal.pidfd_send_signal,
select.poll on a pidfd, os.waitid(P_PIDFD), and asyncio's subprocess
support (which waits for children through a pidfd where the kernel has
them: PidfdChildWatcher)."""
import asyncio
import os
import select
import signal
import sys

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w)
    os.read(r, 1)  # until told
    os._exit(3)
os.close(r)
fd = os.pidfd_open(pid)
print("inheritable", os.get_inheritable(fd))
p = select.poll()
p.register(fd, select.POLLIN)
print("poll running", [e for _, e in p.poll(0)])
signal.pidfd_send_signal(fd, 0)
os.write(w, b"x")
print("poll exited", [e for _, e in p.poll(-1)])
res = os.waitid(os.P_PIDFD, fd, os.WEXITED)
print("waitid", res.si_code == os.CLD_EXITED, res.si_status, res.si_pid == pid)
try:
    signal.pidfd_send_signal(fd, signal.SIGTERM)
except ProcessLookupError:
    print("send after reap: ESRCH")
os.close(fd)

# SIGTERM through a pidfd
pid = os.fork()
if pid == 0:
    signal.pause()
    os._exit(0)
fd = os.pidfd_open(pid)
signal.pidfd_send_signal(fd, signal.SIGTERM)
_, status = os.waitpid(pid, 0)
print("killed by", os.WTERMSIG(status) if os.WIFSIGNALED(status) else None)
os.close(fd)


async def main():
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys; print(sys.argv[1]); sys.exit(int(sys.argv[1]))",
        str(i), stdout=asyncio.subprocess.PIPE) for i in range(3)]
    for pr in procs:
        out, _ = await pr.communicate()
        print("child", out.decode().strip(), "rc", pr.returncode)


# asyncio waits for its children through pidfds with PidfdChildWatcher
# (the default from Python 3.12 where pidfds work; asked for here).
import warnings
warnings.simplefilter("ignore", DeprecationWarning)
if hasattr(asyncio, "PidfdChildWatcher"):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    watcher = asyncio.PidfdChildWatcher()
    asyncio.set_child_watcher(watcher)
    watcher.attach_loop(loop)
    loop.run_until_complete(main())
    loop.close()
else:
    asyncio.run(main())
