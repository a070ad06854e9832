"""A UDP echo server inside (tests/run.py, programs/net-publish-udp; also
run natively for the comparison): bound to 0.0.0.0:PORT, it answers
three datagrams, one through select, one through a blocking recvfrom,
one peeked first, then tries to send to a host port that never sent to
it. Prints what it saw (the sender's address only as "same" or not)."""
import select
import socket
import sys

port, other = int(sys.argv[1]), int(sys.argv[2])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", port))
print("ready", flush=True)
r, _, _ = select.select([u], [], [], 60)
d, a = u.recvfrom(100)
print("select:", bool(r), d, a[0], flush=True)
u.sendto(b"echo " + d, a)
d2, a2 = u.recvfrom(100)
print("blocking:", d2, a2 == a, flush=True)
u.sendto(b"echo " + d2, a2)
p = u.recv(100, socket.MSG_PEEK)
d3, a3 = u.recvfrom(2)
print("peek:", p, "cut:", d3, a3 == a, flush=True)
u.sendto(b"echo " + p, a3)
try:
    u.sendto(b"leak", ("127.0.0.1", other))
except OSError as e:
    print("leak:", e.errno)
print("done", flush=True)
