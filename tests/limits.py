"""limits/...: `moat run`'s resource-limit options, each reached by a guest
(tests/security/limitprobe.c) with the documented status and message, the
host responsive meanwhile and no host process left behind; the same probe
run natively under the same rlimit where Linux defines the outcome; and
bad values refused with status 125 and one `moat:` line.

  --cpu-time  SIGXCPU (status 152) at the soft limit, SIGKILL (137) at the
              hard one; the host's RLIMIT_CPU set on every host process of
              the sandbox (the host kernel's layer, for a subverted guest)
  --timeout   the whole sandbox killed, status 124, one line
  --tmp-size  ENOSPC past the budget; df shows it
  --files     EMFILE past it; ulimit -n shows it, raising it fails

Registered by tests/run.py (register_all) with its own helpers passed in
as `h`.
"""

import os
import resource
import signal
import subprocess
import time


def _probe(h, ctx):
    exe = h.security_bin(ctx, "limitprobe")
    return exe, ["--mount", os.path.dirname(exe) + ":/s:ro"]


def _native(h, ctx, argv, limits):
    """argv run natively with the given rlimits {RLIMIT_X: (soft, hard)}."""
    def setup():
        os.setsid()
        for res, val in limits.items():
            resource.setrlimit(res, val)
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, preexec_fn=setup, timeout=120,
                       env=ctx.guest_env())
    status = p.returncode if p.returncode >= 0 else 128 - p.returncode
    return status, p.stdout.decode(), p.stderr.decode()


def _watch(h, ctx, argv, timeout=90, until=None):
    """Run moat argv to its end while watching the host: every moat host
    process seen, the slowest start of a host `true`. until(out_so_far,
    procs) may return True to stop waiting: the sandbox is then killed by
    SIGTERM to moat. Returns (status, out, err, info) where info has
    'seen', 'slowest', 'left' (host processes that outlived moat), 'wall'
    and 'procs' (the last snapshot)."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    os.set_blocking(p.stdout.fileno(), False)
    seen, slowest, out = {}, 0.0, b""
    t0 = time.time()
    procs = {}
    try:
        while p.poll() is None and time.time() - t0 < timeout:
            procs = h.sandbox_procs(ctx, p.pid)
            seen.update(procs)
            try:
                out += p.stdout.read() or b""
            except (BlockingIOError, TypeError):
                pass
            if until and until(out, procs, p.pid):
                p.send_signal(signal.SIGTERM)
                until = None
            s = time.time()
            subprocess.run(["true"], timeout=30)
            slowest = max(slowest, time.time() - s)
            time.sleep(0.05)
        timed_out = p.poll() is None
        if timed_out:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        wall = time.time() - t0
        rest = p.stdout.read()
        out += rest or b""
        err = p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    if timed_out:
        h.fail("moat still ran after %d s" % timeout)
    left = h.kill_stragglers(lambda: h.still_alive(seen), 5)
    status = p.returncode if p.returncode >= 0 else 128 - p.returncode
    return status, out.decode("utf-8", "replace"), err.decode(
        "utf-8", "replace"), {"seen": seen, "slowest": slowest,
                              "left": left, "wall": wall, "procs": procs}


def _common_problems(info, slowest_ok=5.0):
    problems = []
    if info["left"]:
        problems.append("%d host processes outlived moat" % len(info["left"]))
    if info["slowest"] > slowest_ok:
        problems.append("the host took %.1f s to run `true`" %
                        info["slowest"])
    return problems


def cpu_time_sigxcpu(h):
    """--cpu-time 1: a spinning guest dies of SIGXCPU (152), as natively
    under ulimit -t 1 with a hard limit of 2."""
    def body(ctx):
        ctx.need_moat()
        exe, mount = _probe(h, ctx)
        nstatus, nout, _ = _native(h, ctx, [exe, "spin"],
                                   {resource.RLIMIT_CPU: (1, 2)})
        status, out, err, info = _watch(h, ctx, ctx.moat_run(
            "--cpu-time", "1", *mount, "--", "/s/limitprobe", "spin"))
        problems = _common_problems(info)
        if nstatus != 152:
            problems.append("native status %d, expected 152" % nstatus)
        if status != nstatus or out != nout:
            problems.append("status %d output %r; native %d %r" % (
                status, out, nstatus, nout))
        if err:
            problems.append("stderr %r" % err)
        if problems:
            h.fail("; ".join(problems))
        return "status %d after %.1f s" % (status, info["wall"])
    return body


def cpu_time_sigkill(h):
    """--cpu-time 1:2 and a guest that catches SIGXCPU: one SIGXCPU, then
    SIGKILL at the hard limit (137), as natively."""
    def body(ctx):
        ctx.need_moat()
        exe, mount = _probe(h, ctx)
        nstatus, nout, _ = _native(h, ctx, [exe, "spin", "catch"],
                                   {resource.RLIMIT_CPU: (1, 2)})
        status, out, err, info = _watch(h, ctx, ctx.moat_run(
            "--cpu-time", "1:2", *mount, "--", "/s/limitprobe", "spin",
            "catch"))
        problems = _common_problems(info)
        if nstatus != 137 or nout != "SIGXCPU\n":
            problems.append("native: status %d output %r" % (nstatus, nout))
        if status != 137 or out != "SIGXCPU\n":
            problems.append("moat: status %d output %r (expected 137 and "
                            "one SIGXCPU line)" % (status, out))
        if problems:
            h.fail("; ".join(problems) + "\nstderr: " + err[-600:])
        return "status %d after %.1f s" % (status, info["wall"])
    return body


def _cpu_limit_of(pid):
    try:
        with open("/proc/%d/limits" % pid) as f:
            for line in f:
                if line.startswith("Max cpu time"):
                    return line.split()[3:5]
    except OSError:
        return None
    return None


def cpu_time_host_rlimit(h):
    """--cpu-time 3:4: every host process that runs guest code has the
    host's RLIMIT_CPU at 5:5 (the host kernel's SIGKILL one second past
    the guest's hard limit, whatever the guest does to moat's count); the
    supervisor outside is not limited."""
    def body(ctx):
        ctx.need_moat()
        _, mount = _probe(h, ctx)
        found, parents = {}, {}

        def ready(out, procs, root):
            if b"sleeping" not in out or len(procs) < 3:
                return False
            time.sleep(0.3)  # the probe's child forks after the line
            tree = h.host_procs()
            for pid in h.sandbox_procs(ctx, root):
                found[pid] = _cpu_limit_of(pid)
                parents[pid] = tree.get(pid, (0,))[0]
            found["root"] = root
            return True

        argv = ctx.moat_run("--cpu-time", "3:4", *mount, "--",
                            "/s/limitprobe", "sleep")
        status, out, err, info = _watch(h, ctx, argv, until=ready)
        problems = _common_problems(info)
        if not found:
            h.fail("the guest never got going: status %d %r %r" % (
                status, out, err[-600:]))
        supervisor = found.pop("root")
        # the supervisor's child is the relay outside the PID namespace
        # (waits only) or, without one, the first guest process
        kids = [pid for pid in found if parents[pid] == supervisor]
        limited = [pid for pid, lim in found.items() if lim == ["5", "5"]]
        others = [pid for pid in found
                  if pid not in limited and pid != supervisor and
                  pid not in kids]
        if found[supervisor] == ["5", "5"]:
            problems.append("the supervisor itself is limited")
        if others:
            problems.append("host processes without the limit: %s" % {
                pid: found[pid] for pid in others})
        if len(limited) < 2:
            problems.append("only %d host processes limited: %s" % (
                len(limited), found))
        if problems:
            h.fail("; ".join(problems))
        return "%d host processes at RLIMIT_CPU 5:5" % len(limited)
    return body


def timeout_ends_sandbox(h):
    """--timeout 1 over a guest of two sleeping processes: killed after
    about a second, status 124, one `moat:` line, nothing left."""
    def body(ctx):
        ctx.need_moat()
        _, mount = _probe(h, ctx)
        status, out, err, info = _watch(h, ctx, ctx.moat_run(
            "--timeout", "1", *mount, "--", "/s/limitprobe", "sleep"))
        problems = _common_problems(info)
        lines = [l for l in err.splitlines() if l.strip()]
        if status != 124:
            problems.append("status %d, expected 124" % status)
        if len(lines) != 1 or not lines[0].startswith("moat: ") or \
                "timeout" not in lines[0]:
            problems.append("stderr %r, expected one moat: line" % err)
        if not 0.9 <= info["wall"] < 15:
            problems.append("it took %.1f s" % info["wall"])
        if len(info["seen"]) < 3:
            problems.append("only %d host processes seen" %
                            len(info["seen"]))
        if problems:
            h.fail("; ".join(problems))
        return "ended after %.1f s, %d host processes gone" % (
            info["wall"], len(info["seen"]))
    return body


def timeout_not_reached(h):
    """A guest that ends in time keeps its own status and stderr."""
    def body(ctx):
        ctx.need_moat()
        ctx.need_busybox()
        p = h.run(ctx.moat_run("--timeout", "30", "--", "busybox", "sh",
                               "-c", "echo hi; exit 3"))
        if p.status != 3 or p.stdout != b"hi\n" or p.stderr:
            h.fail("status %d out %r err %r" % (p.status, p.stdout,
                                                p.stderr))
    return body


def tmp_size(h):
    """--tmp-size 1M: a write into /tmp stops at 1 MiB with ENOSPC; df
    shows a 1024 KiB file system; removing the file gives the room back;
    the writable layer over /usr counts against the same budget."""
    def body(ctx):
        ctx.need_moat()
        ctx.need_busybox()
        _, mount = _probe(h, ctx)
        script = ("/s/limitprobe fill /tmp/a; busybox df -k /tmp | "
                  "busybox tail -1 | busybox awk '{print $2, $3, $4}'; "
                  "busybox rm /tmp/a; /s/limitprobe fill /usr/a; "
                  "busybox rm /usr/a; busybox fallocate -l 2M /tmp/b; "
                  "echo fallocate $?; busybox fallocate -l 512K /tmp/b; "
                  "echo fallocate $?")
        status, out, err, info = _watch(h, ctx, ctx.moat_run(
            "--tmp-size", "1M", *mount, "--", "busybox", "sh", "-c",
            script))
        want = ("wrote 1048576 bytes, then ENOSPC\n1024 1024 0\n"
                "wrote 1048576 bytes, then ENOSPC\nfallocate 1\n"
                "fallocate 0\n")
        problems = _common_problems(info)
        if status != 0 or out != want:
            problems.append("status %d output %r, expected %r" % (
                status, out, want))
        if problems:
            h.fail("; ".join(problems) + "\nstderr: " + err[-600:])
    return body


def files_limit(h):
    """--files 16: a guest opens up to fd 15, then EMFILE, and dup2 onto 16
    is EBADF, as natively under ulimit -n 16; the shell's ulimit shows
    16:16 and cannot raise it, not even as uid 0 (the sandbox's
    ceiling)."""
    def body(ctx):
        ctx.need_moat()
        ctx.need_busybox()
        exe, mount = _probe(h, ctx)
        nstatus, nout, _ = _native(h, ctx, [exe, "files"],
                                   {resource.RLIMIT_NOFILE: (16, 16)})
        p = h.run(ctx.moat_run("--files", "16", *mount, "--",
                               "/s/limitprobe", "files"))
        problems = []
        if (p.status, p.stdout.decode()) != (nstatus, nout) or \
                "then EMFILE" not in nout:
            problems.append("moat: %d %r; native: %d %r" % (
                p.status, p.stdout, nstatus, nout))
        q = h.run([ctx.moat, "run", "--files", "16", "--", "busybox", "sh",
                   "-c", "ulimit -n; ulimit -Hn; ulimit -n 17 2>/dev/null; "
                   "echo raise $?; ulimit -n 8; ulimit -n"])
        want = b"16\n16\nraise 1\n8\n"
        if q.stdout != want:
            problems.append("ulimit in the shell: %r, expected %r" % (
                q.stdout, want))
        d = h.run([ctx.moat, "run", "--", "busybox", "sh", "-c",
                   "ulimit -n; ulimit -Hn"])
        if d.stdout != b"1024\n4096\n":
            problems.append("default ulimit -n / -Hn: %r" % d.stdout)
        if problems:
            h.fail("; ".join(problems))
    return body


def shell_ulimit(h):
    """busybox sh's ulimit -f, -t and -n, natively and inside moat, same
    output: a dd past ulimit -f dies of SIGXFSZ (153) leaving the file at
    the limit, a loop past ulimit -t dies of SIGXCPU (152), ulimit -n
    lowers and shows the limit."""
    def body(ctx):
        ctx.need_moat()
        ctx.need_busybox()
        script = (
            'cd "$D"; (ulimit -f 2; busybox dd if=/dev/zero of=f bs=512 '
            'count=10 2>/dev/null); echo dd $?; busybox wc -c < f; '
            '(ulimit -t 1; while :; do :; done); echo loop $?; '
            '(ulimit -S -t 1; while :; do :; done); echo soft loop $?; '
            'ulimit -n 64; ulimit -n; ulimit -S -n; '
            'ulimit -f 100; ulimit -f; busybox rm f')
        d = ctx.tmpdir("ulimit")
        env = dict(ctx.guest_env(), D=d)
        native = h.run([ctx.busybox, "sh", "-c", script], env=env)
        moat = h.run(ctx.moat_run("--env", "D=/tmp", "--", "busybox", "sh",
                                  "-c", script))
        h.compare("ulimit in busybox sh", native, moat)
        if not native.stdout.startswith(
                b"dd 153\n1024\nloop 137\nsoft loop 152\n"):
            h.fail("the native run itself differs: %r" % native.stdout)
    return body


BAD_VALUES = [
    ("cpu-time-zero", ["--cpu-time", "0"]),
    ("cpu-time-hard-below", ["--cpu-time", "5:4"]),
    ("cpu-time-fraction", ["--cpu-time", "1.5"]),
    ("cpu-time-word", ["--cpu-time", "ten"]),
    ("timeout-zero", ["--timeout", "0"]),
    ("timeout-negative", ["--timeout", "-1"]),
    ("timeout-word", ["--timeout", "soon"]),
    ("timeout-nan", ["--timeout", "nan"]),
    ("tmp-size-tiny", ["--tmp-size", "100"]),
    ("tmp-size-suffix", ["--tmp-size", "1X"]),
    ("files-zero", ["--files", "0"]),
    ("files-huge", ["--files", "70000"]),
    ("files-word", ["--files", "many"]),
]


def register_all(ctx, register, h):
    register("limits/cpu-time-sigxcpu", cpu_time_sigxcpu(h))
    register("limits/cpu-time-sigkill-after-caught", cpu_time_sigkill(h))
    register("limits/cpu-time-host-rlimit", cpu_time_host_rlimit(h))
    register("limits/timeout-ends-sandbox", timeout_ends_sandbox(h))
    register("limits/timeout-not-reached", timeout_not_reached(h))
    register("limits/tmp-size-enospc", tmp_size(h))
    register("limits/files-emfile", files_limit(h))
    register("limits/shell-ulimit", shell_ulimit(h))
    for name, args in BAD_VALUES:
        register("badinput/" + name, h.bad_input_case(
            name, lambda c, d, a=args: ["run"] + a + ["true"], 125))
