#!/usr/bin/python3
"""moat's benchmarks side by side: every case natively, in moat and, when
installed, in gVisor (`runsc do`) and proot, in one run; one table of
medians and ratios to native, with the issue's target beside moat's ratio.

Usage: bench/bench.py [BUILD]     (make bench runs it; BUILD default build)
Environment:
  RUNS=N          runs of each case on each side (default 3; the median)
  STARTS=N        runs of each start-to-exit case (default 10)
  BENCH_ONLY=a,b  only these cases (names as in the table's first column;
                  a name ending in * is a prefix)
  BENCH_RUNTIMES=native,moat,runsc,proot   the sides (native is always run)
  BENCH_DIR=DIR   where the inputs are made (default a new directory under
                  /var/tmp, removed at the end)
After the table: `podman run --rm IMAGE /bin/true` with runc, moat and
runsc (when installed) as podman's runtime, when podman is installed
(case name "podman run true" for BENCH_ONLY).

Host side only. Every side runs the same command line with the same
environment (moat's default: PATH and HOME): the inputs live in a
directory at the same path on every side (granted to moat with
--mount DIR:DIR:rw, the static benchmark programs with --mount ro). Macro
workloads must give the same output (and files) as natively, or the cell
says `mismatch`. Peak memory: ru_maxrss from wait4 of the command, the
largest single host process in its tree (each waited-for descendant
counts): for moat every host process of the sandbox is in that tree (the
launcher, its supervisor, relay and the guest's processes, each of which
holds moat's runtime as well as the guest)."""
import hashlib
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "HOME": "/root"}
TIMEOUT = 900
PY = "/usr/bin/python3"
PYLIB = "/usr/lib/python3.%d" % sys.version_info[1]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Result:
    def __init__(self, secs, rc, out, err, maxrss_kib):
        self.secs, self.rc, self.out, self.err = secs, rc, out, err
        self.maxrss = maxrss_kib


def run(argv, cwd, outdir, launcher, timeout=TIMEOUT):
    """Runs argv under bench/launch.c; returns its wall time, status,
    stdout (bytes) and the ru_maxrss of its tree (KiB)."""
    result = os.path.join(outdir, "result")
    if os.path.exists(result):
        os.unlink(result)
    with open(os.path.join(outdir, "stdout"), "w+b") as out, \
            open(os.path.join(outdir, "stderr"), "w+b") as err:
        p = subprocess.Popen([launcher, result] + argv, cwd=cwd, env=ENV,
                             stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                             start_new_session=True)
        try:
            p.wait(timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            rc = "timeout"
        out.seek(0)
        err.seek(0)
        secs, maxrss = 0.0, 0
        if rc == 0:
            with open(result) as f:
                secs, maxrss = f.read().split()
        return Result(float(secs), rc, out.read(), err.read(), int(maxrss))


class Bench:
    def __init__(self, build):
        self.build = os.path.abspath(os.path.join(ROOT, build))
        self.bin = os.path.join(self.build, "bench")
        self.moat = os.path.join(self.build, "moat")
        self.runs = int(os.environ.get("RUNS", "3"))
        self.starts = int(os.environ.get("STARTS", "10"))
        only = os.environ.get("BENCH_ONLY", "")
        self.only = [o for o in only.split(",") if o]
        want = os.environ.get("BENCH_RUNTIMES", "native,moat,runsc,proot")
        self.runtimes = ["native"]
        self.absent = {}
        self.path = {}
        for rt in want.split(","):
            if rt in ("native", ""):
                continue
            if rt != "moat":
                self.path[rt] = shutil.which(rt)
            if rt == "moat" or self.path[rt]:
                self.runtimes.append(rt)
            else:
                self.absent[rt] = "not installed"
        self.notes = []

    # -- the sides -------------------------------------------------------
    def prefix(self, rt):
        if rt == "native":
            return []
        if rt == "moat":
            return [self.moat, "run", "--mount", "%s:%s:ro" % (self.bin, self.bin),
                    "--mount", "%s:%s:rw" % (self.dir, self.dir),
                    "--cwd", self.dir, "--"]
        if rt == "runsc":
            # The 2022 runsc: ptrace platform (no KVM here); without the
            # overlay writes reach the host's directory like moat's grant.
            return [self.path["runsc"], "--network=none", "do", "--force-overlay=false",
                    "--quiet"]
        if rt == "proot":
            return [self.path["proot"]]
        raise ValueError(rt)

    # -- inputs ------------------------------------------------------------
    def make_inputs(self):
        base = os.environ.get("BENCH_DIR")
        if base:
            os.makedirs(base, exist_ok=True)
            self.dir = os.path.abspath(base)
            self.own_dir = False
        else:
            self.dir = tempfile.mkdtemp(prefix="moat-bench.", dir="/var/tmp")
            self.own_dir = True
        self.outdir = tempfile.mkdtemp(prefix="moat-bench-out.")
        d = self.dir
        # A file to stat and open on the grant.
        with open(os.path.join(d, "file"), "w") as f:
            f.write("x" * 100)
        if self.wanted_any("sha256*"):
            path = os.path.join(d, "data.bin")
            if not os.path.exists(path) or os.path.getsize(path) != 200 << 20:
                log("making 200 MiB of data")
                rnd = random.Random(1)
                with open(path, "wb") as f:
                    for _ in range(200):
                        f.write(rnd.randbytes(1 << 20))
        if self.wanted_any("tar*") and not os.path.isdir(os.path.join(d, "src")):
            log("copying /usr/include")
            subprocess.run(["cp", "-a", "/usr/include", os.path.join(d, "src")],
                           check=True)
        if self.wanted_any("sqlite*"):
            rnd = random.Random(2)
            with open(os.path.join(d, "load.sql"), "w") as f:
                f.write("PRAGMA journal_mode=DELETE;\nBEGIN;\n"
                        "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, "
                        "grp INTEGER, v REAL);\n")
                for i in range(100000):
                    f.write("INSERT INTO t(name, grp, v) VALUES('name-%08x', %d, %.3f);\n"
                            % (rnd.getrandbits(32), rnd.randrange(100),
                               rnd.random() * 1000))
                f.write("COMMIT;\nCREATE INDEX t_grp ON t(grp);\n"
                        "SELECT count(*), sum(grp), round(sum(v), 3) FROM t;\n"
                        "SELECT grp, count(*), round(avg(v), 3) FROM t "
                        "GROUP BY grp ORDER BY grp;\n"
                        "SELECT id, name, v FROM t ORDER BY name, id;\n")

    def cleanup(self):
        shutil.rmtree(self.outdir, ignore_errors=True)
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            for name in ("db.sqlite", "db.sqlite-journal", "out.tar", "pyc"):
                p = os.path.join(self.dir, name)
                if os.path.isdir(p):
                    shutil.rmtree(p, ignore_errors=True)
                elif os.path.exists(p):
                    os.unlink(p)

    # -- the cases -----------------------------------------------------------
    def cases(self):
        b, d = self.bin, self.dir
        tmpf = "/tmp/moat-bench-rw.%d" % os.getpid()
        grant = os.path.join(d, "file")
        lib = ("≤0.5", lambda r, rs: yn(r <= 0.5))
        host = ("≤1.3", lambda r, rs: yn(r <= 1.3))
        x15 = ("≤1.5", lambda r, rs: yn(r <= 1.5))
        # Two targets: the ratio to native, and runsc/moat (met: "a / b").
        macro = ("≤1.15 / runsc ≥3x moat", lambda r, rs: "%s / %s" % (
            yn(r <= 1.15), "-" if rs is None else yn(rs >= 3)))
        m = "micro"
        # name, kind, unit, argv (with {n}), n natively and in moat, target
        return [
            ("getppid", m, "ns", [b + "/syscall", "{n}"], 100000, lib),
            # Natively libc's clock_gettime is the vDSO, no system call: the
            # issue's ≤0.5 is for the system call (next row).
            ("clock_gettime", m, "ns", [b + "/micro", "clock_gettime", "{n}"],
             1000000, ("-", None)),
            ("clock_gettime syscall", m, "ns",
             [b + "/micro", "clock_syscall", "{n}"], 100000, lib),
            ("pread+pwrite 4K /tmp", m, "ns",
             [b + "/micro", "pread_pwrite", "{n}", tmpf], 50000, lib),
            ("pipe write+read", m, "ns", [b + "/micro", "pipe_rw", "{n}"],
             50000, lib),
            ("stat grant", m, "ns", [b + "/micro", "stat", "{n}", grant],
             30000, host),
            ("open+close grant", m, "ns",
             [b + "/micro", "open_close", "{n}", grant], 20000, host),
            ("pipe ping-pong", m, "µs", [b + "/pingpong", "{n}"], 5000,
             ("≤1.0", lambda r, rs: yn(r <= 1.0))),
            ("fork+exit+wait", m, "µs", [b + "/forkwait", "{n}"], 200, x15),
            ("exec static", m, "µs", [b + "/micro", "exec", "{n}"], 100, x15),
            ("mutex 2 threads", m, "ns", [b + "/mutex", "mutex", "2", "{n}"],
             400000, x15),
            ("mutex 8 threads", m, "ns", [b + "/mutex", "mutex", "8", "{n}"],
             400000, x15),
            ("condvar queue 2 thr", m, "ns",
             [b + "/mutex", "condq", "2", "{n}"], 30000, x15),
            ("condvar queue 8 thr", m, "ns",
             [b + "/mutex", "condq", "8", "{n}"], 30000, x15),
            ("busybox true", "start", "ms", ["/usr/bin/busybox", "true"], 0,
             ("≤2", lambda r, rs: yn(r <= 2))),
            ("python3 -c pass", "start", "ms", [PY, "-c", "pass"], 0, host),
            ("sh: 1000 processes", "macro", "s",
             ["/bin/sh", "-c", "i=0; while [ $i -lt 1000 ]; do /bin/true; "
              "i=$((i+1)); done; echo $i"], 0, macro),
            ("sqlite 100k rows", "macro", "s",
             ["/usr/bin/sqlite3", d + "/db.sqlite", ".read %s/load.sql" % d],
             0, macro),
            ("python compileall", "macro", "s",
             ["/usr/bin/env", "PYTHONPYCACHEPREFIX=%s/pyc" % d, PY, "-m",
              "compileall", "-q", "-f", "-x",
              "/(test|tests|idlelib|lib2to3|site-packages|dist-packages)/",
              PYLIB], 0, macro),
            ("tar /usr/include copy", "macro", "s",
             ["/usr/bin/tar", "-cf", d + "/out.tar", "-C", d, "src"], 0, macro),
            ("sha256sum 200 MiB", "macro", "s",
             ["/usr/bin/sha256sum", d + "/data.bin"], 0, macro),
        ]

    # Peak RSS rows: from these cases' runs.
    RSS = ["busybox true", "python3 -c pass", "sqlite 100k rows"]

    def wanted(self, name):
        return wanted(self.only, name)

    def wanted_any(self, pattern):
        names = [c[0] for c in self.cases()]
        p = pattern[:-1].lower()
        return any(self.wanted(n) for n in names if n.lower().startswith(p))

    # -- running -------------------------------------------------------------
    def before(self, name):
        d = self.dir
        for p in ("db.sqlite", "db.sqlite-journal", "out.tar"):
            if os.path.exists(os.path.join(d, p)):
                os.unlink(os.path.join(d, p))
        shutil.rmtree(os.path.join(d, "pyc"), ignore_errors=True)

    def digest(self, name, res):
        """What must match natively: stdout, and the files it made."""
        h = hashlib.sha256(res.out)
        d = self.dir
        if name.startswith("tar"):
            with open(os.path.join(d, "out.tar"), "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
        elif name.startswith("python compileall"):
            top = os.path.join(d, "pyc")
            for dirpath, dirs, files in sorted(os.walk(top)):
                dirs.sort()
                for fn in sorted(files):
                    p = os.path.join(dirpath, fn)
                    h.update(os.path.relpath(p, top).encode())
                    with open(p, "rb") as f:
                        h.update(hashlib.sha256(f.read()).digest())
        return h.hexdigest()

    def one(self, case, rt):
        name, kind, unit, argv, n, _ = case
        if n and rt in ("runsc", "proot"):
            # Every system call is a ptrace stop there: fewer iterations.
            n = max(n // 20, 5)
        argv = [a.replace("{n}", str(n)) for a in argv]
        self.before(name)
        res = run(self.prefix(rt) + argv, self.dir, self.outdir,
                  os.path.join(self.bin, "launch"))
        if res.rc != 0:
            return None, "failed (%s): %s" % (
                res.rc, res.err.decode(errors="replace").strip()[-300:])
        if kind == "micro":
            try:
                return float(res.out.split()[-1]), None
            except (ValueError, IndexError):
                return None, "no number: %r" % res.out[-200:]
        return res, None

    def main(self):
        self.make_inputs()
        try:
            self.bench()
            if self.wanted("podman run true"):
                self.podman_starts()
        finally:
            self.cleanup()

    # -- container start latency (issue 11) ---------------------------------
    def podman_starts(self):
        """`podman run --rm IMAGE /bin/true` with runc, moat and (when
        installed) runsc as the runtime: start-to-exit of a container as an
        engine sees it, medians of STARTS runs, interleaved."""
        podman = shutil.which("podman")
        runtimes = [("runc", shutil.which("runc")), ("moat", self.moat),
                    ("runsc", shutil.which("runsc"))]
        runtimes = [(n, p) for n, p in runtimes if p]
        if not podman or len(runtimes) < 2:
            print("podman run true: podman or runc not installed")
            return
        store = tempfile.mkdtemp(prefix="moat-bench-podman.")
        base = [podman, "--root", store + "/storage", "--runroot",
                store + "/run", "--cgroup-manager", "cgroupfs",
                "--events-backend", "none"]
        try:
            root = os.path.join(store, "rootfs")
            os.makedirs(os.path.join(root, "bin"))
            shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
            os.symlink("busybox", os.path.join(root, "bin", "true"))
            subprocess.run(["tar", "-C", root, "-cf", store + "/img.tar", "."],
                           check=True)
            subprocess.run(base + ["import", "-q", store + "/img.tar",
                                   "localhost/moat-bench:1"], check=True,
                           stdout=subprocess.DEVNULL)
            times = {n: [] for n, _ in runtimes}
            failed = {}
            for _ in range(self.starts):
                for n, path in runtimes:
                    if n in failed:
                        continue
                    # runsc refuses a container in the host's network
                    # namespace unless told its network is none.
                    flag = (["--runtime-flag", "network=none"]
                            if n == "runsc" else [])
                    argv = base + ["--runtime", path] + flag + ["run", "--rm",
                                   "--network", "none", "--ulimit",
                                   "nofile=1024:1024", "--ulimit",
                                   "nproc=1024:1024", "localhost/moat-bench:1",
                                   "/bin/true"]
                    t0 = time.monotonic()
                    p = subprocess.run(argv, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE)
                    dt = (time.monotonic() - t0) * 1000
                    if p.returncode != 0:
                        failed[n] = p.stderr.decode(errors="replace")[-200:]
                        continue
                    times[n].append(dt)
        finally:
            subprocess.run(base + ["rmi", "-a", "-f"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            shutil.rmtree(store, ignore_errors=True)
        print()
        print("| podman run --rm IMAGE /bin/true | ms | /runc |")
        print("|---|---|---|")
        ref = statistics.median(times["runc"]) if times.get("runc") else None
        for n, _ in runtimes:
            if n in failed:
                print("| %s | failed | - |" % n)
                self.notes.append("podman --runtime %s: %s" % (n, failed[n]))
                continue
            med = statistics.median(times[n])
            print("| %s | %s | %s |" % (n, fmt(med),
                                        fmt_ratio(ratio(med, ref))))
        print()
        print("podman %s, STARTS=%d runs each, interleaved; medians. The "
              "image is busybox alone." % (
                  subprocess.run([podman, "--version"], stdout=subprocess.PIPE,
                                 text=True).stdout.split()[-1], self.starts))
        for n in self.notes:
            if n.startswith("podman"):
                print(n)

    def bench(self):
        cases = [c for c in self.cases() if self.wanted(c[0])]
        table = []  # (name, unit, {rt: value or str}, target)
        rss = {}
        t_start = time.monotonic()
        for case in cases:
            name, kind, unit, argv, n, target = case
            reps = self.starts if kind == "start" else self.runs
            vals = {rt: [] for rt in self.runtimes}
            mem = {rt: [] for rt in self.runtimes}
            bad = {}
            ref = None
            t0 = time.monotonic()
            for _ in range(reps):
                # Interleaved, so the machine's noise falls on every side.
                for rt in self.runtimes:
                    if rt in bad:
                        continue
                    v, err = self.one(case, rt)
                    if err:
                        bad[rt] = "fail"
                        self.note(rt, name, err, argv)
                        continue
                    if kind == "micro":
                        vals[rt].append(v)
                        continue
                    if kind == "macro":
                        dg = self.digest(name, v)
                        if rt == "native":
                            ref = ref or dg
                        elif ref is not None and dg != ref:
                            bad[rt] = "mismatch"
                            self.note(rt, name, "output differs from native's",
                                      argv)
                            continue
                    vals[rt].append(v.secs * (1000 if unit == "ms" else 1))
                    mem[rt].append(v.maxrss / 1024)
            row = {}
            for rt in self.runtimes:
                row[rt] = bad.get(rt) or (statistics.median(vals[rt])
                                          if vals[rt] else "-")
                if mem[rt]:
                    rss.setdefault(name, {})[rt] = statistics.median(mem[rt])
            table.append((name, unit, row, target))
            log("%-24s %s  (%.0f s)" % (name, "  ".join(
                "%s=%s" % (rt, fmt(row[rt])) for rt in self.runtimes),
                time.monotonic() - t0))
        mem_target = ("≤native+8", None)
        for name in self.RSS:
            if name in rss:
                table.append(("peak RSS: " + name, "MiB", rss[name], mem_target))
        self.print_table(table)
        log("total %.0f s" % (time.monotonic() - t_start))

    def note(self, rt, name, err, argv):
        self.notes.append("%s, %s: %s\n  (%s)" % (
            rt, name, err, " ".join(self.prefix(rt) + argv)))
        log("  %s %s: %s" % (rt, name, err))

    def print_table(self, table):
        others = [rt for rt in ("runsc", "proot") if rt in self.runtimes
                  or rt in self.absent]
        head = ["case", "unit", "native", "moat", "moat/nat", "target", "met"]
        for rt in others:
            head += [rt, rt + "/nat"]
        rows = []
        for name, unit, row, (tspec, tfn) in table:
            nat = row.get("native")
            moat = row.get("moat", "-")
            r = ratio(moat, nat)
            met = "-"
            if unit == "MiB":
                rcell = ("%+.1f" % (moat - nat)) if isnum(moat) and isnum(nat) \
                    else "-"
                if isnum(moat) and isnum(nat):
                    met = "yes" if moat - nat <= 8 else "no"
            else:
                rcell = fmt_ratio(r)
                if r is not None and tfn:
                    rs = None
                    rv = row.get("runsc")
                    if isnum(rv) and isnum(moat):
                        rs = rv / moat
                    met = tfn(r, rs)
            line = [name, unit, fmt(nat), fmt(moat), rcell, tspec, met]
            for rt in others:
                v = row.get(rt, "-") if rt in self.runtimes else "-"
                if unit == "MiB":
                    rc = ("%+.1f" % (v - nat)) if isnum(v) and isnum(nat) else "-"
                else:
                    rc = fmt_ratio(ratio(v, nat))
                line += [fmt(v), rc]
            rows.append(line)
        print()
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---" for _ in head) + "|")
        for line in rows:
            print("| " + " | ".join(line) + " |")
        print()
        print("RUNS=%d (STARTS=%d for start-to-exit), medians; micro cases: "
              "each run prints the median of 7 batches; in runsc and proot "
              "the micro cases run 1/20 of the iterations. Ratios: lower is "
              "faster. Peak RSS: the largest host process of the command's "
              "tree (ru_maxrss), moat's own processes included; the ratio "
              "column is the difference to native." % (self.runs, self.starts))
        for rt, why in self.absent.items():
            print("%s: %s" % (rt, why))
        for n in self.notes:
            print(n)


def wanted(only, name):
    """BENCH_ONLY's rule: every case without a list, else the names listed
    (case-insensitive; a name ending in * is a prefix)."""
    if not only:
        return True
    for o in only:
        if o.endswith("*") and name.lower().startswith(o[:-1].lower()):
            return True
        if name.lower() == o.lower():
            return True
    return False


def yn(ok):
    return "yes" if ok else "no"


def isnum(v):
    return isinstance(v, (int, float))


def ratio(v, nat):
    if isnum(v) and isnum(nat) and nat > 0:
        return v / nat
    return None


def fmt_ratio(r):
    if r is None:
        return "-"
    return "%.2f" % r if r < 10 else "%.0f" % r


def fmt(v):
    if not isnum(v):
        return str(v)
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


if __name__ == "__main__":
    Bench(sys.argv[1] if len(sys.argv) > 1 else "build").main()
