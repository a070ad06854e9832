"""asyncio's event loop inside moat (issue 8): its self-pipe is an
AF_UNIX socketpair, woken by call_soon_threadsafe from another thread;
an asyncio subprocess (pipes, a child watcher) and a socket.socketpair
stream between two coroutines. The output must equal the native run's."""
import asyncio
import socket
import sys
import threading


async def main():
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    threading.Thread(
        target=lambda: loop.call_soon_threadsafe(fut.set_result, 42)).start()
    print("call_soon_threadsafe:", await fut)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys; print(sys.stdin.read().upper())",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate(b"hello from the parent")
    print("subprocess:", out.decode().strip(), "status", proc.returncode)
    a, b = socket.socketpair()
    r1, w1 = await asyncio.open_connection(sock=a)
    r2, w2 = await asyncio.open_connection(sock=b)
    w1.write(b"ping\n")
    await w1.drain()
    line = await r2.readline()
    w2.write(line.upper())
    await w2.drain()
    print("socketpair streams:", (await r1.readline()).decode().strip())
    w2.close()
    print("eof:", await r1.read())
    w1.close()


asyncio.run(main())
