"""Tests of --memory and of the host-enforced --pids (issue 7, items 5, 9
and 11's memory limits), registered by tests/run.py (register_all calls
register(register_fn, run_module)). Each limit is reached by a guest and
checked for the documented status and message, with a positive control
that shows the check would notice; afterwards the host holds nothing of
the sandbox (no cgroup directory, no process).

* the library OS's own count: a guest allocating past --memory gets
  ENOMEM (Python: MemoryError), the in-memory /tmp ENOSPC, and 16 forked
  children that each allocate cannot together hold more than the limit;
* the host's count: a guest that maps and touches memory through the
  platform's syscall gate (out of the library OS's sight) is killed by the
  memory cgroup (SIGKILL, status 137, one "moat: out of memory" line), and
  forks through the gate stop at the pids cgroup's limit (--pids + 8).
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import time

h = None  # the tests/run.py module: run, fail, skip, sandbox_procs, ...


def _python():
    exe = "/usr/bin/python3"  # the default root shows the host's /usr
    if not os.access(exe, os.X_OK):
        h.skip("no /usr/bin/python3 on the host")
    return exe


def _cgroup_dirs(pid):
    """Cgroup directories a supervisor of host pid pid made (any depth up
    to 6 below /sys/fs/cgroup, v1 or v2)."""
    found = []
    for depth in range(0, 7):
        pattern = "/sys/fs/cgroup/" + "*/" * depth + "moat-%d" % pid
        found += glob.glob(pattern)
    return found


def _popen(argv):
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _finish(p, timeout=120):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        h.fail("moat did not end within %d s" % timeout)
    return out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _nothing_left(ctx, pid, seen):
    """No cgroup directory of supervisor pid and none of the host processes
    seen (pid -> start time) alive."""
    left = h.kill_stragglers(lambda: h.still_alive(seen), 5)
    dirs = _cgroup_dirs(pid)
    problems = []
    if left:
        problems.append("%d host processes of the sandbox outlived it" %
                        len(left))
    if dirs:
        problems.append("cgroup directories left behind: %s" % dirs)
    return problems


def _run_watched(ctx, argv, timeout=120):
    """Run moat (argv) and watch it: its host processes (all seen), the
    cgroup directories it made while it ran. Returns (status, out, err,
    seen, dirs_while_running, peak host processes)."""
    p = _popen(argv)
    seen, dirs, peak = {}, [], 0
    deadline = time.time() + timeout
    while p.poll() is None and time.time() < deadline:
        now = h.sandbox_procs(ctx, p.pid)
        seen.update(now)
        peak = max(peak, len(now))
        if not dirs:
            dirs = _cgroup_dirs(p.pid)
        time.sleep(0.05)
    out, err = _finish(p, max(1, deadline - time.time()))
    status = p.returncode if p.returncode >= 0 else 128 - p.returncode
    problems = _nothing_left(ctx, p.pid, seen)
    if problems:
        h.fail("; ".join(problems) + "\n" + out + err)
    return status, out, err, seen, dirs, peak


def memory_enomem(ctx):
    """A guest allocating past --memory gets MemoryError (ENOMEM from
    mmap), not a kill; below the limit it allocates (positive control)."""
    ctx.need_moat()
    py = _python()
    code = ("import sys\n"
            "try:\n"
            "    b = bytearray(int(sys.argv[1]) << 20); print('allocated')\n"
            "except MemoryError:\n"
            "    print('MemoryError')\n")
    res = {}
    for mib in (400, 16):
        p = h.run(ctx.moat_run("--memory", "64M", "--", py, "-c", code,
                               str(mib)))
        out = p.stdout.decode("utf-8", "replace").strip()
        if p.status != 0:
            h.fail("%d MiB under --memory 64M: status %d\n%s%s" % (
                mib, p.status, out, h.show(p.stderr)))
        res[mib] = out
    if res[400] != "MemoryError" or res[16] != "allocated":
        h.fail("400 MiB: %r (want MemoryError), 16 MiB: %r (want "
               "allocated)" % (res[400], res[16]))
    # without --memory the same 400 MiB works: the limit is what said no
    p = h.run(ctx.moat_run("--", py, "-c", code, "400"))
    if p.stdout.decode().strip() != "allocated":
        h.fail("400 MiB without --memory: %r %s" % (p.stdout, h.show(
            p.stderr)))


def memory_ulimit_v(ctx):
    """issue 7: bash -c 'ulimit -v 200000; python3 -c
    "bytearray(400<<20)"' raises MemoryError, natively and under moat."""
    ctx.need_moat()
    py = _python()
    bash = shutil.which("bash")
    if not bash:
        h.skip("no bash")
    script = ("ulimit -v 200000; %s -c 'bytearray(400<<20)' 2>&1 | "
              "tail -1; %s -c 'bytearray(100<<20); print(\"100M ok\")'; "
              "ulimit -v" % (py, py))
    native = h.run([bash, "-c", script], env=ctx.guest_env())
    moat = h.run(ctx.moat_run("--", bash, "-c", script))
    want = "MemoryError"
    for who, p in (("native", native), ("moat", moat)):
        if want not in p.stdout.decode("utf-8", "replace").splitlines()[0:1]:
            h.fail("%s: %r, want MemoryError first\n%s" % (
                who, p.stdout, h.show(p.stderr)))
    h.compare("ulimit -v", native, moat)


def memory_tmpfs(ctx):
    """The in-memory file systems count against --memory: writing past it
    into /tmp is ENOSPC; after removing the file the space is back."""
    ctx.need_moat()
    ctx.need_busybox()
    script = ("head -c 80000000 /dev/zero > /tmp/big 2>/dev/null; "
              "echo big $?; rm /tmp/big; "
              "head -c 8000000 /dev/zero > /tmp/small; echo small $?")
    p = h.run(ctx.moat_run("--memory", "48M", "--", "busybox", "sh", "-c",
                           script))
    out = p.stdout.decode("utf-8", "replace").split()
    if p.status != 0 or out != ["big", "1", "small", "0"]:
        h.fail("status %d, %r (want big 1 small 0)\n%s" % (
            p.status, out, h.show(p.stderr)))
    p = h.run(ctx.moat_run("--", "busybox", "sh", "-c", script))
    if p.stdout.decode().split() != ["big", "0", "small", "0"]:
        h.fail("without --memory: %r" % p.stdout)


def memory_fork16(ctx):
    """16 forked children that each allocate 8 MiB under --memory 64M: the
    ones that fit allocate, the rest get ENOMEM (none is killed), so the
    children together never hold more than the limit; with --memory 512M
    all 16 do (positive control)."""
    ctx.need_moat()
    exe = h.security_bin(ctx, "memfork")
    res = {}
    for limit in ("64M", "512M"):
        status, out, err, _, dirs, _ = _run_watched(ctx, ctx.moat_run(
            "--memory", limit, "--mount", os.path.dirname(exe) + ":/s:ro",
            "--", "/s/memfork", "16", "8"))
        m = re.search(r"ok=(\d+) enomem=(\d+) other=(\d+) fork_failed=(\d+)",
                      out)
        if status != 0 or not m:
            h.fail("--memory %s: status %d\n%s%s" % (limit, status, out, err))
        res[limit] = tuple(int(x) for x in m.groups())
    ok, enomem, other, fork_failed = res["64M"]
    if other or ok * 8 > 64 or ok + enomem + fork_failed != 16 or \
            enomem + fork_failed == 0:
        h.fail("--memory 64M: ok=%d enomem=%d other=%d fork_failed=%d" %
               res["64M"])
    if res["512M"] != (16, 0, 0, 0):
        h.fail("--memory 512M: ok=%d enomem=%d other=%d fork_failed=%d" %
               res["512M"])
    return "64M: %d of 16 hold 8 MiB, %d ENOMEM" % (ok, enomem)


def _gate_env(ctx):
    if not shutil.which("setarch"):
        h.skip("setarch not installed (util-linux)")
    off, code = h.elf_symbol(ctx.moat, "plat_gate_syscall6")
    if off is None or code is None:
        h.fail("no plat_gate_syscall6 symbol in %s (nm)" % ctx.moat)
    return ["--env", "MOAT_GATE=%x" % (0x555555554000 + off),
            "--env", "MOAT_GATE_BYTES=" + code.hex()]


def _host_responsive():
    t0 = time.time()
    subprocess.run(["true"], timeout=30)
    return time.time() - t0


def memory_gate_oom(ctx):
    """A subverted guest maps and touches 400 MiB through the syscall gate,
    where the library OS cannot count it: under --memory 16M the host's
    memory cgroup kills it (SIGKILL: status 137) and moat says so in one
    line; without --memory the same guest survives (positive control).
    Nothing is left behind (cgroup directories, processes)."""
    ctx.need_moat()
    exe = h.security_bin(ctx, "gatelimits")
    env = _gate_env(ctx)
    mount = ["--mount", os.path.dirname(exe) + ":/s:ro", "--"]
    status, out, err, _, dirs, _ = _run_watched(ctx, ["setarch", "-R"] +
                                                ctx.moat_run(
        "--memory", "16M", *env, *mount, "/s/gatelimits", "mem", "400"))
    if "gate found" not in out:
        h.fail("the guest did not find the gate (status %d):\n%s%s" % (
            status, out, err))
    lines = [l for l in err.splitlines() if l.strip()]
    oom = [l for l in lines if l.startswith("moat: out of memory")]
    if status != 137 or "survived" in out or len(oom) != 1:
        h.fail("status %d (want 137), want one 'moat: out of memory' "
               "line:\n%s%s" % (status, out, err))
    if not dirs:
        h.fail("no cgroup directory was seen while the sandbox ran")
    touched = re.findall(r"touched (\d+) MiB", out)
    slow = _host_responsive()
    if slow > 5:
        h.fail("the host took %.1f s to run `true` afterwards" % slow)
    # the same as a child of a shell: the shell sees it killed by SIGKILL
    # (the core's collector reports the host-level death) and goes on
    ctx.need_busybox()
    status, out, err, _, _, _ = _run_watched(ctx, ["setarch", "-R"] +
                                             ctx.moat_run(
        "--memory", "16M", *env, "--mount", os.path.dirname(exe) + ":/s:ro",
        "--", "busybox", "sh", "-c",
        "/s/gatelimits mem 400; echo child $?; echo after"))
    oom = [l for l in err.splitlines() if l.startswith("moat: out of memory")]
    if status != 0 or "child 137" not in out or "after" not in out or \
            len(oom) != 1:
        h.fail("a child of sh under --memory 16M: status %d (want 0), "
               "want 'child 137' and one 'moat: out of memory' line:\n%s%s"
               % (status, out, err))
    status, out, err, _, _, _ = _run_watched(ctx, ["setarch", "-R"] +
                                             ctx.moat_run(
        *env, *mount, "/s/gatelimits", "mem", "256"))
    if status != 0 or "survived: touched 256 MiB" not in out or \
            "out of memory" in err:
        h.fail("without --memory (positive control): status %d\n%s%s" % (
            status, out, err))
    return "killed after %s MiB; cgroups %s" % (
        touched[-1] if touched else "<64", " ".join(dirs))


def memory_rlimit_fallback(ctx):
    """Where no cgroup can be made (moat run by an unprivileged user
    without delegation: here root's moat under setpriv as nobody), --verbose
    says so and each host process gets RLIMIT_AS/RLIMIT_DATA: a 6 GiB host
    mapping through the gate fails under --memory 64M --pids 16, and works
    without --memory (positive control)."""
    ctx.need_moat()
    if os.getuid() != 0 or not shutil.which("setpriv"):
        h.skip("needs root and setpriv to run moat as nobody")
    exe = h.security_bin(ctx, "gatelimits")
    env = _gate_env(ctx)
    nobody = ["setpriv", "--reuid", "65534", "--regid", "65534",
              "--clear-groups", "setarch", "-R"]
    base = [ctx.moat, "run", "--pids", "16", "--verbose"]
    tail = env + ["--mount", os.path.dirname(exe) + ":/s:ro", "--",
                  "/s/gatelimits", "map", "6144"]
    p = h.run(nobody + base + ["--memory", "64M"] + tail)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if "gate found" not in out:
        h.skip("moat as nobody did not reach the guest here (status %d): %s"
               % (p.status, err.strip()[-300:]))
    if not re.search(r"^moat: limits: memory: RLIMIT_AS \d+ MiB, "
                     r"RLIMIT_DATA \d+ MiB per host process \(no memory "
                     r"cgroup: ", err, re.M) or \
            not re.search(r"^moat: limits: pids: no pids cgroup", err, re.M):
        h.fail("--verbose does not report the fallback:\n" + err)
    if p.status != 1 or "host mmap failed: -12" not in out:
        h.fail("the 6 GiB host mapping was not refused (status %d):\n%s%s" %
               (p.status, out, err))
    with open("/proc/meminfo") as f:
        total_kb = int(f.readline().split()[1])
    if total_kb < (8 << 20):
        return "refused (no positive control: less than 8 GiB of RAM)"
    p = h.run(nobody + base + tail)
    if p.status != 0 or b"host mmap of 6144 MiB worked" not in p.stdout:
        h.fail("without --memory (positive control): status %d %s%s" % (
            p.status, h.show(p.stdout), h.show(p.stderr)))
    return "refused by RLIMIT_AS"


def pids_gate_forks(ctx):
    """Forks through the syscall gate (the library OS never sees them)
    under --pids 16 stop at the host's pids cgroup (16 + 8 host tasks):
    the forks that fail get EAGAIN and the sandbox's host processes stay
    bounded; with --pids 1000 all 200 forks work (positive control)."""
    ctx.need_moat()
    exe = h.security_bin(ctx, "gatelimits")
    env = _gate_env(ctx)
    mount = ["--mount", os.path.dirname(exe) + ":/s:ro", "--"]
    res = {}
    for pids in (16, 1000):
        status, out, err, seen, dirs, peak = _run_watched(
            ctx, ["setarch", "-R"] + ctx.moat_run(
                "--pids", str(pids), *env, *mount, "/s/gatelimits", "fork",
                "200"))
        m = re.search(r"forked ok=(\d+) failed=(\d+) first error (-?\d+)",
                      out)
        if status != 0 or not m:
            h.fail("--pids %d: status %d\n%s%s" % (pids, status, out, err))
        res[pids] = (int(m.group(1)), int(m.group(2)), int(m.group(3)),
                     peak)
    ok, failed, first, peak = res[16]
    # the supervisor (outside the cgroup) and at most 16 + 8 host tasks
    if ok > 16 + 8 or failed == 0 or first != -11 or peak > 16 + 8 + 1:
        h.fail("--pids 16: %d forks worked, %d failed (first %d), %d host "
               "processes at the peak" % res[16])
    ok, failed, first, peak = res[1000]
    if ok != 200 or peak < 200:
        h.fail("--pids 1000 (positive control): %d forks worked, %d failed "
               "(first %d), %d host processes at the peak" % res[1000])
    return "--pids 16: %d gate forks, peak %d host processes; --pids " \
        "1000: %d, peak %d" % (res[16][0], res[16][3], res[1000][0],
                               res[1000][3])


def memory_bad_input(ctx):
    """--memory refuses what is not a size (status 125, one moat: line)."""
    ctx.need_moat()
    for bad in ("", "abc", "10", "3M", "5MB", "-1G", "1.5G", "300T"):
        p = h.run([ctx.moat, "run", "--memory", bad, "true"])
        err = p.stderr.decode("utf-8", "replace").strip()
        if p.status != 125 or not err.startswith("moat: --memory") or \
                "\n" in err:
            h.fail("--memory %r: status %d, %r" % (bad, p.status, err))
    for good in ("4M", "512m", "2G", "1t", "67108864"):
        p = h.run([ctx.moat, "run", "--memory", good, "/bin/true"])
        if p.status != 0:
            h.fail("--memory %s: status %d %s" % (good, p.status,
                                                  h.show(p.stderr)))


def register(register_fn, run_module):
    global h
    h = run_module
    register_fn("limits/memory-bad-input", memory_bad_input)
    register_fn("limits/memory-enomem", memory_enomem)
    register_fn("limits/memory-ulimit-v", memory_ulimit_v)
    register_fn("limits/memory-tmpfs-enospc", memory_tmpfs)
    register_fn("limits/memory-fork16", memory_fork16)
    register_fn("limits/memory-gate-oom-killed", memory_gate_oom)
    register_fn("limits/pids-gate-forks", pids_gate_forks)
    register_fn("limits/memory-rlimit-fallback", memory_rlimit_fallback)
