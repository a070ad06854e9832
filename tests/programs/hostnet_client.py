"""A guest reaching the host network through --allow-connect (run by
tests/run.py inside moat): the granted host listener answers, the same
address on another port is refused (127.0.0.1 is the sandbox's own
loopback, where nothing listens there), an address nobody granted is an
unreachable network; a granted UDP port echoes a sendto and a connected
send. Prints one line per attempt."""
import errno
import socket
import sys

granted, denied, udp = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])


def attempt(what, addr):
    s = socket.socket()
    try:
        s.settimeout(30)
        s.connect(addr)
        print(what, "connected:", s.recv(100).decode().strip())
    except OSError as e:
        print(what, errno.errorcode.get(e.errno, e.errno))
    finally:
        s.close()


attempt("granted", ("127.0.0.1", granted))
attempt("denied port", ("127.0.0.1", denied))
attempt("not granted address", ("192.0.2.1", 80))


u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(30)
u.sendto(b"ping", ("127.0.0.1", udp))
data, addr = u.recvfrom(100)
print("udp sendto:", data.decode(), addr == ("127.0.0.1", udp))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(30)
c.connect(("127.0.0.1", udp))
c.send(b"pong")
print("udp connected:", c.recv(100).decode(), c.getpeername() == ("127.0.0.1", udp))
