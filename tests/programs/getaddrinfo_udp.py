"""glibc's getaddrinfo sorts its answers (RFC 3484) by connecting one UDP
socket to each candidate in turn, with connect(AF_UNSPEC) between, and
asserts that an IPv4 candidate gives an IPv4-mapped source: that needs
Linux's UDP disconnect (the source connect picked goes back to the
wildcard, an unbound port is let go) and a v4-mapped peer for an IPv4
address on an AF_INET6 socket. moat kept the old source, and glibc
aborted the program (asyncio's dual-stack servers). Native vs moat."""
import ctypes
import socket
import struct

for host in ("localhost", None, "127.0.0.1", "::1"):
    r = socket.getaddrinfo(host, 8080, socket.AF_UNSPEC, socket.SOCK_STREAM,
                           0, socket.AI_PASSIVE)
    print(host, sorted(set((x[0].name, x[4][0]) for x in r)))

libc = ctypes.CDLL(None, use_errno=True)
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.connect(("::1", 9))
print("connected", s.getsockname()[0])
unspec = struct.pack("H", 0) + b"\0" * 26
print("AF_UNSPEC", libc.connect(s.fileno(), unspec, len(unspec)))
name = s.getsockname()
print("after the disconnect", name[0], "port", name[1])
s.connect(("::ffff:127.0.0.1", 9))
print("to a mapped address", s.getsockname()[0], s.getpeername()[0])
t = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
sin = struct.pack("<H", 2) + struct.pack(">H", 9) + bytes(4) + bytes(8)
print("AF_INET 0.0.0.0 on AF_INET6", libc.connect(t.fileno(), sin, 16),
      t.getsockname()[0], t.getpeername()[0])
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b.bind(("127.0.0.1", 0))
port = b.getsockname()[1]
b.connect(("127.0.0.1", 9))
print("AF_UNSPEC on a bound one", libc.connect(b.fileno(), unspec, 16))
name = b.getsockname()
print("bound one after", name[0], "same port", name[1] == port)
