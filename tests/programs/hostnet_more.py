"""The host network's readiness and datagrams (run by tests/run.py inside
moat, with --allow-connect for a TCP port and two UDP ports): a select on
a host connection wakes when the host answers late (after the guest's
"go", never a delay the guest relies on); one unconnected UDP socket
sends to two granted host destinations and receives both answers with
each sender's address, in select and in a blocking recvfrom. Prints one
line per step."""
import select
import socket
import sys
import time

tcp, u1, u2 = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

s = socket.create_connection(("127.0.0.1", tcp), timeout=60)
s.sendall(b"go")
t = time.monotonic()
r, _, _ = select.select([s], [], [], 60)
print("tcp select woken:", bool(r), time.monotonic() - t < 30, s.recv(100))
s.close()

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(60)
u.sendto(b"one", ("127.0.0.1", u1))
u.sendto(b"two", ("127.0.0.1", u2))
got = sorted((u.recvfrom(100) for _ in range(2)),
             key=lambda x: x[0])
ports = {u1: "u1", u2: "u2"}
for data, addr in got:
    print("udp:", data, addr[0], ports.get(addr[1], addr[1]))
# The second destination answers late: a blocking receive (and a
# select) waits for it.
u.sendto(b"late", ("127.0.0.1", u2))
r, _, _ = select.select([u], [], [], 60)
data, addr = u.recvfrom(100)
print("udp late:", bool(r), data, ports.get(addr[1], addr[1]))
u.setblocking(True)
u.sendto(b"late again", ("127.0.0.1", u2))
data, addr = u.recvfrom(100)
print("udp blocking:", data, ports.get(addr[1], addr[1]))
