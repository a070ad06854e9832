"""localhost and the loopback interface as a Python program sees them:
getaddrinfo through the sandbox's /etc/hosts (plain, and with
AI_ADDRCONFIG, which asks netlink for the configured address families),
gethostbyname, and socket.if_nameindex (netlink) restricted to lo. Run
natively and inside moat by tests/run.py; the output must be the same."""
import socket


def show(flags):
    got = socket.getaddrinfo("localhost", 80, 0, socket.SOCK_STREAM, 0, flags)
    return sorted(set((f.name, a[0], a[1]) for f, _, _, _, a in got))


print("getaddrinfo", show(0))
print("getaddrinfo AI_ADDRCONFIG", show(socket.AI_ADDRCONFIG))
print("gethostbyname", socket.gethostbyname("localhost"))
print("if_nameindex lo", [i for i in socket.if_nameindex() if i[1] == "lo"])
