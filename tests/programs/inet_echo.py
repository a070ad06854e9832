"""asyncio TCP echo server and client in one process, over 127.0.0.1 and
::1 (issue 8, loopback step). Prints no port numbers."""
import asyncio, socket
async def handle(r, w):
    while True:
        d = await r.readline()
        if not d: break
        w.write(d.upper()); await w.drain()
    w.close()
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    print("port in range:", 32768 <= port <= 60999)
    r, w = await asyncio.open_connection("127.0.0.1", port)
    for m in (b"hello\n", b"world\n"):
        w.write(m); await w.drain()
        print((await r.readline()).decode().strip())
    w.close(); await w.wait_closed()
    srv.close(); await srv.wait_closed()
    # v6
    srv = await asyncio.start_server(handle, "::1", 0)
    port = srv.sockets[0].getsockname()[1]
    r, w = await asyncio.open_connection("::1", port)
    w.write(b"six\n"); await w.drain(); print((await r.readline()).decode().strip())
    w.close(); await w.wait_closed(); srv.close(); await srv.wait_closed()
asyncio.run(main())
