"""A terminal program driven through a pseudo-terminal made inside, as
expect-like tools and terminal emulators do: pty.fork, a prompt, typed
lines with their echo, line editing, ^C caught by the child, ^D for end
of file, the child's exit status. Every read waits for known text, so
the output does not depend on timing."""
import os
import pty
import signal
import sys


def child():
    caught = []
    signal.signal(signal.SIGINT, lambda s, f: caught.append(s))
    print("tty", os.isatty(0), os.ttyname(0).rstrip("0123456789"))
    print("session leader", os.getsid(0) == os.getpid(),
          "foreground", os.tcgetpgrp(0) == os.getpgrp())
    while True:
        try:
            line = input("> ")
        except EOFError:
            print("eof, caught", caught, flush=True)
            os._exit(7)
        print("got %r" % line)
        if line == "interrupt me":
            os.kill(os.getppid(), signal.SIGUSR1)  # "ready for ^C"


def read_until(fd, want):
    data = b""
    while not data.endswith(want):
        chunk = os.read(fd, 1024)
        if not chunk:
            break
        data += chunk
    return data


def main():
    signal.signal(signal.SIGUSR1, lambda s, f: None)
    pid, fd = pty.fork()
    if pid == 0:
        child()
    out = read_until(fd, b"> ")
    for line in (b"hello\r", b"typo\x7f\x7fpo fixed\r", b"gone\x15kept\r"):
        os.write(fd, line)
        out += read_until(fd, b"> ")
    # the child says when it is ready, so ^C finds its handler in place
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    os.write(fd, b"interrupt me\r")
    signal.sigwait([signal.SIGUSR1])
    out += read_until(fd, b"> ")
    os.write(fd, b"\x03")
    out += read_until(fd, b"^C")
    os.write(fd, b"\x04")
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # EIO: the child's side is closed
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode().replace("\r", "\\r").replace("\b", "\\b"))
    print("status", os.waitstatus_to_exitcode(status))


main()
