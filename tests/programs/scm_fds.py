"""tests/run.py programs/python-scm-rights: passing file descriptors
between processes from Python, natively and inside moat with the same
output: socket.send_fds/recv_fds over a socketpair with os.fork (a file
the child opened after the fork, a pipe end it made, both read by the
parent; the shared offset), multiprocessing's reduction.send_handle and
recv_handle across a Pipe to a forked Process, and SO_PASSCRED
credentials read with recvmsg. Every step waits for the other side's
message: nothing depends on timing."""
import multiprocessing
import os
import socket
import struct
import sys
import tempfile

work = tempfile.mkdtemp(prefix="moat-scm-")
path = os.path.join(work, "data.txt")
with open(path, "w") as f:
    f.write("hello from a file opened after fork\n")

a, b = socket.socketpair()
pid = os.fork()
if pid == 0:
    a.close()
    fd = os.open(path, os.O_RDONLY)
    r, w = os.pipe()
    me = os.open(__file__, os.O_RDONLY)  # a host file (moat: a hostfs mount)
    socket.send_fds(b, [b"three fds"], [fd, r, me])
    os.close(me)
    os.close(r)
    b.recv(1)  # the parent has read 5 bytes of the file
    rest = os.read(fd, 4)
    b.sendall(rest)
    os.write(w, b"through a pipe made by the child")
    os.close(w)
    os._exit(0)
b.close()
msg, fds, flags, addr = socket.recv_fds(a, 64, 4)
print("received:", msg, "fds:", len(fds), "flags:", flags)
print("file:", os.read(fds[0], 5))
a.send(b"g")
print("the child's next read (shared offset):", a.recv(4))
print("offset now:", os.lseek(fds[0], 0, os.SEEK_CUR))
print("pipe:", os.read(fds[1], 64))
print("pipe at EOF:", os.read(fds[1], 64))
print("this script, opened by the child:", os.read(fds[2], 12))
for fd in fds:
    os.close(fd)
_, status = os.waitpid(pid, 0)
print("child exit:", os.waitstatus_to_exitcode(status))
a.close()


def child(conn):
    from multiprocessing import reduction
    fd = reduction.recv_handle(conn)
    with os.fdopen(fd, "r") as f:
        conn.send(f.read().strip())


ctx = multiprocessing.get_context("fork")
parent_end, child_end = ctx.Pipe()
p = ctx.Process(target=child, args=(child_end,))
p.start()
from multiprocessing import reduction
with open(path) as f:
    reduction.send_handle(parent_end, f.fileno(), p.pid)
print("multiprocessing child read:", parent_end.recv())
p.join()
print("multiprocessing exit:", p.exitcode)

# SO_PASSCRED: the kernel fills in the sender's pid, uid and gid.
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
b.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
pid = os.fork()
if pid == 0:
    a.send(b"creds")
    os._exit(0)
os.waitpid(pid, 0)
msg, anc, flags, _ = b.recvmsg(64, socket.CMSG_SPACE(12))
for level, kind, data in anc:
    if kind == socket.SCM_CREDENTIALS:
        cpid, uid, gid = struct.unpack("iII", data)
        print("credentials: pid is the child's:", cpid == pid,
              "uid ok:", uid == os.getuid(), "gid ok:", gid == os.getgid())
print("message:", msg, "flags:", flags)
os.unlink(path)
os.rmdir(work)
sys.stdout.flush()
