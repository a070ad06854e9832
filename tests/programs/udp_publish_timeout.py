"""A timed receive on a published UDP port while the program's children
end (tests/run.py, programs/net-publish-udp-timeout; also run natively,
bound to the host port itself): their ends are no signal the program
handles, so the receive waits its whole SO_RCVTIMEO and ends in EAGAIN,
not EINTR. Then a datagram from the host ends such a receive."""
import ctypes
import errno
import os
import socket
import struct
import sys
import time

port = int(sys.argv[1])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", port))
u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 1, 500000))
kids = []
for i in range(5):
    pid = os.fork()
    if pid == 0:
        time.sleep(0.1 + 0.2 * i)
        os._exit(0)
    kids.append(pid)
# libc's recv itself: Python's own would retry after EINTR
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(100)
t0 = time.monotonic()
r = libc.recv(u.fileno(), buf, 100, 0)
e = ctypes.get_errno()
print("timed receive:", r, errno.errorcode.get(e, e) if r < 0 else "",
      "waited it all:", time.monotonic() - t0 > 1.4, flush=True)
for pid in kids:
    os.waitpid(pid, 0)
u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 0))
print("ready", flush=True)
d, a = u.recvfrom(100)
print("then:", d, flush=True)
u.sendto(b"echo " + d, a)
