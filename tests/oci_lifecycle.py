"""The OCI runtime lifecycle of moat (tests/oci.py, oci/lifecycle), run as
its own process because it makes itself a child subreaper, as an
engine's shim (containerd-shim, conmon) does: the container's process,
orphaned when `moat create` returns, is reaped here, with its status.

usage: oci_lifecycle.py MOAT DIR   (DIR holds rootfs/; prints each step,
exits 1 at the first wrong one)
"""

import ctypes
import fcntl
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import time

PR_SET_CHILD_SUBREAPER = 36
MOAT, DIR = sys.argv[1], sys.argv[2]
STATE = os.path.join(DIR, "state")
OUT = os.path.join(DIR, "out")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def moat(*args, ok=True):
    """moat's runtime command; its output through files: the container
    process that create leaves behind keeps its standard streams, so a
    pipe would see no end while it lives (engines do not wait for one)."""
    with open(os.path.join(DIR, "cmd.out"), "w+b") as out, \
            open(os.path.join(DIR, "cmd.err"), "w+b") as err:
        p = subprocess.run([MOAT, "--root", STATE] + list(args),
                           stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                           timeout=60)
        out.seek(0)
        err.seek(0)
        p.stdout, p.stderr = out.read(), err.read()
    if ok and p.returncode != 0:
        fail("moat %s: status %d: %s" % (" ".join(args), p.returncode,
                                         p.stderr.decode()))
    return p


def state(cid):
    return json.loads(moat("state", cid).stdout)


def write_config(args):
    cfg = {
        "ociVersion": "1.0.2",
        "process": {"args": args, "env": ["PATH=" + PATH], "cwd": "/",
                    "user": {"uid": 0, "gid": 0}},
        "root": {"path": "rootfs"},
        "mounts": [{"destination": "/out", "type": "bind", "source": OUT,
                    "options": ["rbind", "rw"]}],
    }
    with open(os.path.join(DIR, "config.json"), "w") as f:
        json.dump(cfg, f)


def reap(pid, timeout=30):
    """The status the reaper sees, as a shell shows it."""
    end = time.time() + timeout
    while time.time() < end:
        got, status = os.waitpid(pid, os.WNOHANG)
        if got == pid:
            return os.waitstatus_to_exitcode(status) if \
                os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
        time.sleep(0.05)
    fail("pid %d never ended" % pid)


def wait_for(path, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path):
            return
        time.sleep(0.05)
    fail("%s never appeared" % path)


def main():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        fail("prctl(PR_SET_CHILD_SUBREAPER)")
    os.makedirs(OUT, exist_ok=True)
    pidfile = os.path.join(DIR, "pid")

    # 1. create: the program does not run before start
    # (pid 1 handles TERM: as a PID namespace's init, it gets only the
    # signals it handles from outside)
    write_config(["sh", "-c", "trap 'echo term > /out/term; exit 3' TERM; "
                  "echo ran > /out/ran; sleep 60 & wait; exit 9"])
    moat("create", "--bundle", DIR, "--pid-file", pidfile, "one")
    s = state("one")
    with open(pidfile) as f:
        pid = int(f.read())
    if s["status"] != "created" or s["pid"] != pid or s["id"] != "one" or \
            s["bundle"] != os.path.realpath(DIR) or s["ociVersion"][:2] != "1.":
        fail("after create: %s (pid file %d)" % (s, pid))
    time.sleep(0.5)
    if os.path.exists(os.path.join(OUT, "ran")):
        fail("the program ran before start")
    print("create: created, pid %d, program not run" % pid)
    if moat("start", "--bundle", "x", "one", ok=False).returncode == 0:
        fail("start accepted an unknown option")

    # 2. start: running, the program runs
    moat("start", "one")
    wait_for(os.path.join(OUT, "ran"))
    s = state("one")
    if s["status"] != "running" or s["pid"] != pid:
        fail("after start: %s" % s)
    if moat("start", "one", ok=False).returncode == 0:
        fail("a second start succeeded")
    lst = json.loads(moat("list", "--format", "json").stdout)
    if [c["id"] for c in lst] != ["one"] or lst[0]["status"] != "running":
        fail("list: %s" % lst)
    pids = json.loads(moat("ps", "--format", "json", "one").stdout)
    if pid not in pids or len(pids) < 2:
        fail("ps --format json: %s (the container's process is %d)" % (pids,
                                                                       pid))
    table = moat("ps", "one").stdout.decode().splitlines()
    if "PID" not in table[0].split() or len(table) != len(pids) + 1:
        fail("ps: %s" % table)
    print("start: running, the program ran, ps lists %d host processes"
          % len(pids))

    # 3. delete of a running container is refused
    r = moat("delete", "one", ok=False)
    if r.returncode == 0 or state("one")["status"] != "running":
        fail("delete of a running container: %d" % r.returncode)

    # 4. kill TERM: the guest's handler runs (status 3); stopped, pid 0
    moat("kill", "one", "TERM")
    st = reap(pid)
    if st != 3 or not os.path.exists(os.path.join(OUT, "term")):
        fail("status after kill TERM: %d (handler ran: %s)"
             % (st, os.path.exists(os.path.join(OUT, "term"))))
    s = state("one")
    if s["status"] != "stopped" or s["pid"] != 0:
        fail("after kill: %s" % s)
    if moat("kill", "one", "KILL", ok=False).returncode == 0:
        fail("kill of a stopped container succeeded")
    if json.loads(moat("ps", "--format", "json", "one").stdout) != []:
        fail("ps of a stopped container is not empty")
    print("kill: status %d, stopped" % st)

    # 5. delete: gone
    moat("delete", "one")
    if moat("state", "one", ok=False).returncode == 0 or os.listdir(STATE):
        fail("state after delete: %s" % os.listdir(STATE))
    print("delete: gone")

    # 6. a program that ends by itself: its status
    write_config(["sh", "-c", "exit 7"])
    moat("create", "--bundle", DIR, "--pid-file", pidfile, "two")
    with open(pidfile) as f:
        pid = int(f.read())
    moat("start", "two")
    st = reap(pid)
    if st != 7 or state("two")["status"] != "stopped":
        fail("exit 7: status %d, %s" % (st, state("two")))
    moat("delete", "two")
    print("exit by itself: status 7")

    # 7. a created container deleted: its process ends, never runs
    write_config(["sh", "-c", "echo ran > /out/three"])
    moat("create", "--bundle", DIR, "--pid-file", pidfile, "three")
    with open(pidfile) as f:
        pid = int(f.read())
    moat("delete", "three")
    reap(pid)
    if os.path.exists(os.path.join(OUT, "three")) or os.listdir(STATE):
        fail("created then deleted: ran or state left")
    print("created, deleted: never ran")

    # 8. delete --force of a running one
    write_config(["sh", "-c", "sleep 60"])
    moat("create", "--bundle", DIR, "--pid-file", pidfile, "four")
    with open(pidfile) as f:
        pid = int(f.read())
    moat("start", "four")
    time.sleep(0.3)
    moat("delete", "--force", "four")
    st = reap(pid)
    if st != 128 + signal.SIGKILL or os.listdir(STATE):
        fail("delete --force: status %d, state %s" % (st, os.listdir(STATE)))
    print("delete --force: status %d" % st)

    # 9. run --detach: started at once
    write_config(["sh", "-c", "echo ran > /out/five; exit 5"])
    moat("run", "--detach", "--bundle", DIR, "--pid-file", pidfile, "five")
    with open(pidfile) as f:
        pid = int(f.read())
    st = reap(pid)
    if st != 5 or not os.path.exists(os.path.join(OUT, "five")):
        fail("run --detach: status %d" % st)
    moat("delete", "five")
    print("run --detach: status 5")

    exec_steps(pidfile)
    terminal_steps(pidfile)


def recv_master(server):
    """The engine's side of --console-socket: the pty master and the
    slave's name that the runtime sends."""
    conn, _ = server.accept()
    with conn:
        msg, anc, _, _ = conn.recvmsg(256, socket.CMSG_SPACE(4))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            return msg.decode(), struct.unpack("i", data[:4])[0]
    fail("no fd on the console socket (message %r)" % msg)


def read_until(fd, want, timeout=30):
    got = b""
    end = time.time() + timeout
    while want not in got and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                got += os.read(fd, 4096)
            except OSError:
                break
    if want not in got:
        fail("terminal: %r never came (got %r)" % (want, got))
    return got


def terminal_steps(pidfile):
    # 14. process.terminal with --console-socket: the master reaches the
    # engine's socket; the guest's streams are the terminal (a console
    # with echo and line editing, sized as the master says)
    cfg_path = os.path.join(DIR, "config.json")
    write_config(["sh"])
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg["process"]["terminal"] = True
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    if moat("create", "--bundle", DIR, "seven", ok=False).returncode != 1:
        fail("terminal without --console-socket was not refused")
    sock_path = os.path.join(DIR, "console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(1)
    import threading
    got = {}
    t = threading.Thread(target=lambda: got.update(m=recv_master(server)))
    t.start()
    moat("create", "--bundle", DIR, "--pid-file", pidfile,
         "--console-socket", sock_path, "seven")
    t.join(30)
    server.close()
    name, master = got["m"]
    if not name.startswith("/dev/pts/"):
        fail("console socket: name %r" % name)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
    with open(pidfile) as f:
        pid = int(f.read())
    moat("start", "seven")
    read_until(master, b"# ")
    os.write(master, b"tty; stty size; echo $((6*7))\n")
    out = read_until(master, b"42\r\n")
    if b"/dev/pts/" not in out or b"33 111\r\n" not in out or \
            b"echo $((6*7))" not in out:
        fail("terminal: %r" % out)
    os.write(master, b"exit 4\n")
    st = reap(pid)
    os.close(master)
    if st != 4:
        fail("terminal: status %d" % st)
    moat("delete", "seven")
    print("terminal: console socket, echo, size, status 4")


def exec_run(*args, stdin=subprocess.DEVNULL):
    """moat exec with its streams in files (the new process has them)."""
    with open(os.path.join(DIR, "x.out"), "w+b") as out, \
            open(os.path.join(DIR, "x.err"), "w+b") as err:
        p = subprocess.run([MOAT, "--root", STATE, "exec"] + list(args),
                           stdin=stdin, stdout=out, stderr=err, timeout=60)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read().decode(), err.read().decode()


def exec_steps(pidfile):
    # 10. exec: a new process in the running container, with the
    # container's environment, or the options', as runc exec
    write_config(["sh", "-c", "echo up > /out/six; sleep 60 & wait"])
    moat("create", "--bundle", DIR, "--pid-file", pidfile, "six")
    with open(pidfile) as f:
        pid = int(f.read())
    if exec_run("six", "true")[0] != 1:
        fail("exec into a created container was not refused")
    moat("start", "six")
    wait_for(os.path.join(OUT, "six"))
    st, out, err = exec_run("six", "sh", "-c",
                            "echo out; echo err >&2; id -u; pwd; "
                            "echo $PATH; exit 4")
    if (st, out, err) != (4, "out\n0\n/\n%s\n" % PATH, "err\n"):
        fail("exec: %d %r %r" % (st, out, err))
    st, out, err = exec_run("--cwd", "/out", "-e", "V=x", "-u", "1000:1001",
                            "--additional-gids", "7", "six", "sh", "-c",
                            "id -u; id -g; id -G; pwd; echo $V $HOME")
    if (st, out) != (0, "1000\n1001\n1001 7\n/out\nx /\n"):
        fail("exec with options: %d %r %r" % (st, out, err))
    # stdin is the caller's
    with open(os.path.join(DIR, "in"), "w") as f:
        f.write("from stdin\n")
    with open(os.path.join(DIR, "in")) as f:
        st, out, err = exec_run("six", "cat", stdin=f)
    if (st, out) != (0, "from stdin\n"):
        fail("exec cat: %d %r %r" % (st, out, err))
    # --process, as containerd and conmon pass it
    proc = os.path.join(DIR, "process.json")
    with open(proc, "w") as f:
        json.dump({"args": ["sh", "-c", "echo $W; pwd; id -u"],
                   "env": ["PATH=" + PATH, "W=w"], "cwd": "/bin",
                   "user": {"uid": 5, "gid": 5}, "terminal": False}, f)
    st, out, err = exec_run("--process", proc, "six")
    if (st, out) != (0, "w\n/bin\n5\n"):
        fail("exec --process: %d %r %r" % (st, out, err))
    # the first process's stdout is not this process's: never written to
    # the wrong stream (EIO; runc would reach the container's log)
    st, out, err = exec_run("six", "sh", "-c",
                            "echo misrouted > /proc/1/fd/1; echo rc=$?")
    if (st, out) != (0, "rc=1\n") or "Input/output error" not in err:
        fail("exec writing to /proc/1/fd/1: %d %r %r" % (st, out, err))
    st, out, err = exec_run("six", "/no/such")
    if st != 127 or "/no/such" not in err:
        fail("exec of a missing program: %d %r" % (st, err))
    st, out, err = exec_run("--cwd", "/nowhere", "six", "true")
    if st == 0 or "working directory" not in err:
        fail("exec in a missing directory: %d %r" % (st, err))
    # a directory the user may not search: refused for uid 1000 (as
    # runc), not for root
    secret = os.path.join(DIR, "rootfs", "secret")
    os.makedirs(secret, exist_ok=True)
    os.chmod(secret, 0o700)
    st, out, err = exec_run("-u", "1000", "--cwd", "/secret", "six", "pwd")
    st0, out0, _ = exec_run("--cwd", "/secret", "six", "pwd")
    if st != 126 or "Permission denied" not in err or (st0, out0) != (
            0, "/secret\n"):
        fail("exec in a 0700 directory: uid 1000 %d %r, root %d %r"
             % (st, err, st0, out0))
    print("exec: output, status, environment, user, cwd, stdin, --process")

    # 11. a signal to moat exec reaches its process; its status is ours
    x = subprocess.Popen([MOAT, "--root", STATE, "exec", "six", "sh", "-c",
                          "trap 'exit 5' USR1; echo > /out/ready; "
                          "sleep 60 & wait"], stdin=subprocess.DEVNULL)
    wait_for(os.path.join(OUT, "ready"))
    x.send_signal(signal.SIGUSR1)
    if x.wait(timeout=30) != 5:
        fail("exec, USR1 handled: status %d" % x.returncode)
    x = subprocess.Popen([MOAT, "--root", STATE, "exec", "six", "sleep",
                          "60"], stdin=subprocess.DEVNULL)
    time.sleep(0.5)
    x.send_signal(signal.SIGTERM)
    if x.wait(timeout=30) != -signal.SIGTERM:
        fail("exec, TERM not handled: status %d" % x.returncode)
    print("exec: signals reach the process; killed by TERM as it was")

    # 12. exec -d: the pid file names the process standing for it (our
    # child: this test is its subreaper), whose status is the program's
    xpid = os.path.join(DIR, "xpid")
    st, out, err = exec_run("-d", "--pid-file", xpid, "six", "sh", "-c",
                            "sleep 0.5; exit 6")
    if st != 0:
        fail("exec -d: %d %r" % (st, err))
    with open(xpid) as f:
        relay = int(f.read())
    if reap(relay) != 6:
        fail("exec -d: the relay's status")
    print("exec -d: pid file, status 6")

    # 13. a TERM the first process does not handle is not delivered (as
    # to a PID namespace's init under runc); KILL ends the container
    moat("kill", "six", "TERM")
    time.sleep(1)
    if state("six")["status"] != "running":
        fail("kill TERM of an init without a handler ended it")
    moat("kill", "six", "KILL")
    st = reap(pid)
    if st != 128 + signal.SIGKILL:
        fail("kill KILL: status %d" % st)
    if exec_run("six", "true")[0] != 1:
        fail("exec into a stopped container was not refused")
    moat("delete", "six")
    print("kill TERM ignored by init without a handler, KILL: %d" % st)


main()
