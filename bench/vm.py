#!/usr/bin/python3
"""The VM platform's benchmark (issue 13): start to exit of `busybox true`
and a system call round trip (with fork and exec) natively, in moat on the
Linux platform, and in moat's own kernel under QEMU (`moat run --platform
vm`) with TCG and, when the CPU's own KVM is there, KVM; one table of
medians and ratios to native.

Usage: bench/vm.py [BUILD]     (make bench-vm runs it; BUILD default build)
Environment:
  RUNS=N          runs of each micro case on each side (default 3; the median)
  STARTS=N        runs of `busybox true` on each side (default 10)
  BENCH_ONLY=a,b  only these cases (names as in the table's first column;
                  a name ending in * is a prefix), as for bench/bench.py

Host side only; every command is started by bench/launch.c (bench.py's
launcher: wall time from before its fork to after its wait, and ru_maxrss
of its tree from wait4). The sides:
  native   the command itself
  moat     moat run [--mount BIN:BIN:ro] -- COMMAND       (Linux platform)
  vm tcg   moat run --platform vm --vm-accel tcg [--mount DIR:/b:ro] -- ...
  vm kvm   the same with --vm-accel kvm, only when /sys/module/kvm_intel or
           kvm_amd exists (the runner's auto rule: a /dev/kvm of another
           module, such as kvm_pvm, does not run the kernel); else its
           cells say why not.
`busybox true` is /bin/busybox (static; the VM's default root has it at
the same path). The micro programs (build/bench/syscall, forkwait, micro:
static) print their own median of 7 batches; in the VM each one is granted
alone, from a directory of its own holding only it (the runner packs every
ro mount into the initrd), at /b. Peak RSS: ru_maxrss of the command's
tree, its largest single process: for the VM that is QEMU (the runner
waits for it)."""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import (ROOT, fmt, fmt_ratio, isnum, log, ratio, run,  # noqa: E402
                   wanted)

BUSYBOX = "/bin/busybox"
QEMU = "qemu-system-x86_64"
SIDES = ["native", "moat", "vm tcg", "vm kvm"]
# Exec under TCG costs about 0.1 s (this machine): fewer iterations there.
VM_EXEC_N = 10


def die(msg):
    print("bench/vm.py: " + msg, file=sys.stderr)
    sys.exit(2)


def positive(name, default):
    v = os.environ.get(name, str(default))
    try:
        n = int(v)
    except ValueError:
        n = 0
    if n < 1:
        die("%s=%r: not a positive integer" % (name, v))
    return n


def is_static(path):
    """True when the ELF file at path has no PT_INTERP (no dynamic loader)."""
    with open(path, "rb") as f:
        h = f.read(64)
        if len(h) < 64 or h[:4] != b"\x7fELF" or h[4] != 2:
            return False
        phoff = int.from_bytes(h[32:40], "little")
        phentsize = int.from_bytes(h[54:56], "little")
        phnum = int.from_bytes(h[56:58], "little")
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    return all(int.from_bytes(ph[i * phentsize:i * phentsize + 4], "little") != 3
               for i in range(phnum))


def kvm_absent():
    """Why --vm-accel kvm is not run here (None: it is)."""
    if not os.path.exists("/dev/kvm"):
        return "no /dev/kvm"
    if not (os.path.isdir("/sys/module/kvm_intel")
            or os.path.isdir("/sys/module/kvm_amd")):
        mods = sorted(m for m in os.listdir("/sys/module")
                      if m.startswith("kvm_"))
        return "no hardware KVM (%s)" % (
            "/dev/kvm is " + "/".join(mods) if mods else "no kvm_intel/kvm_amd")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm not read-write"
    return None


class VmBench:
    def __init__(self, build):
        self.build = os.path.abspath(os.path.join(ROOT, build))
        self.bin = os.path.join(self.build, "bench")
        self.moat = os.path.join(self.build, "moat")
        self.kernel = os.path.join(self.build, "vm", "moat-vm.elf")
        self.runs = positive("RUNS", 3)
        self.starts = positive("STARTS", 10)
        self.only = [o for o in os.environ.get("BENCH_ONLY", "").split(",") if o]
        for path, what in ((self.moat, "make"), (self.kernel, "make tests"),
                           (os.path.join(self.bin, "launch"), "make bench-vm")):
            if not os.access(path, os.X_OK):
                die("%s missing (build it: %s)" % (path, what))
        for prog in ("syscall", "forkwait", "micro"):
            p = os.path.join(self.bin, prog)
            if not os.access(p, os.X_OK):
                die("%s missing (build it: make bench-vm)" % p)
            if not is_static(p):
                die("%s is not a static executable" % p)
        if not os.access(BUSYBOX, os.X_OK) or not is_static(BUSYBOX):
            die("%s missing or not static (Debian: busybox-static)" % BUSYBOX)
        if not shutil.which(QEMU):
            die("%s not on PATH (Debian: qemu-system-x86; tools/deps.sh)" % QEMU)
        self.absent = {}
        why = kvm_absent()
        if why:
            self.absent["vm kvm"] = why
        self.sides = [s for s in SIDES if s not in self.absent]
        self.notes = []

    def cases(self):
        # name, kind, unit, program (in build/bench, or absolute), args, n,
        # n in the VM
        return [
            ("busybox true", "start", "ms", BUSYBOX, ["true"], 0, 0),
            ("getppid", "micro", "ns", "syscall", ["{n}"], 100000, 100000),
            ("fork+exit+wait", "micro", "µs", "forkwait", ["{n}"], 200, 200),
            ("exec static", "micro", "µs", "micro", ["exec", "{n}"], 100,
             VM_EXEC_N),
        ]

    def wanted(self, name):
        return wanted(self.only, name)

    def argv(self, case, side):
        name, kind, unit, prog, args, n, vm_n = case
        vm = side.startswith("vm ")
        n = vm_n if vm else n
        args = [a.replace("{n}", str(n)) for a in args]
        pre = [] if side == "native" else [self.moat, "run"]
        if vm:
            pre += ["--platform", "vm", "--vm-accel", side[3:]]
        if prog.startswith("/"):
            path = prog
        elif side == "native":
            path = os.path.join(self.bin, prog)
        elif side == "moat":
            path = os.path.join(self.bin, prog)
            pre += ["--mount", "%s:%s:ro" % (self.bin, self.bin)]
        else:
            pre += ["--mount", "%s:/b:ro" % self.alone[prog]]
            path = "/b/" + prog
        if side != "native":
            pre.append("--")
        return pre + [path] + args

    def one(self, case, side):
        name, kind = case[0], case[1]
        argv = self.argv(case, side)
        res = run(argv, self.outdir, self.outdir,
                  os.path.join(self.bin, "launch"), timeout=600)
        if res.rc != 0:
            err = res.err.decode(errors="replace").strip()[-300:]
            self.notes.append("%s, %s: failed (%s): %s\n  (%s)" % (
                side, name, res.rc, err, " ".join(argv)))
            log("  %s %s: failed (%s): %s" % (side, name, res.rc, err))
            return None
        if kind == "micro":
            try:
                return float(res.out.split()[-1]), None
            except (ValueError, IndexError):
                self.notes.append("%s, %s: no number: %r" % (
                    side, name, res.out[-200:]))
                return None
        return res.secs * 1000, res.maxrss / 1024

    def main(self):
        cases = [c for c in self.cases() if self.wanted(c[0])]
        if not cases:
            log("bench/vm.py: no case selected by BENCH_ONLY=%s" %
                os.environ.get("BENCH_ONLY", ""))
            return
        self.outdir = tempfile.mkdtemp(prefix="moat-bench-vm.")
        # Each micro program alone in a directory, for the VM's --mount.
        self.alone = {}
        for c in cases:
            if not c[3].startswith("/"):
                d = os.path.join(self.outdir, "b-" + c[3])
                os.mkdir(d)
                shutil.copy2(os.path.join(self.bin, c[3]), d)
                self.alone[c[3]] = d
        try:
            self.bench(cases)
        finally:
            shutil.rmtree(self.outdir, ignore_errors=True)

    def bench(self, cases):
        table = []
        t_start = time.monotonic()
        for case in cases:
            name, kind, unit = case[:3]
            reps = self.starts if kind == "start" else self.runs
            vals = {s: [] for s in self.sides}
            mem = {s: [] for s in self.sides}
            bad = set()
            t0 = time.monotonic()
            for _ in range(reps):
                # Interleaved, so the machine's noise falls on every side.
                for side in self.sides:
                    if side in bad:
                        continue
                    r = self.one(case, side)
                    if r is None:
                        bad.add(side)
                        continue
                    vals[side].append(r[0])
                    if r[1] is not None:
                        mem[side].append(r[1])
            row, rss = {}, {}
            for side in SIDES:
                if side in self.absent:
                    row[side] = rss[side] = self.absent[side]
                elif side in bad:
                    row[side] = rss[side] = "fail"
                else:
                    row[side] = statistics.median(vals[side])
                    if mem[side]:
                        rss[side] = statistics.median(mem[side])
            table.append((name, unit, row))
            if kind == "start":
                table.append(("peak RSS: " + name, "MiB", rss))
            log("%-16s %s  (%.0f s)" % (name, "  ".join(
                "%s=%s" % (s, fmt(row[s])) for s in SIDES),
                time.monotonic() - t0))
        self.print_table(table)
        log("total %.0f s" % (time.monotonic() - t_start))

    def print_table(self, table):
        head = ["case", "unit", "native", "moat", "moat/nat", "vm tcg",
                "tcg/nat", "vm kvm", "kvm/nat"]
        print()
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---" for _ in head) + "|")
        for name, unit, row in table:
            nat = row.get("native")
            line = [name, unit, fmt(nat)]
            for side in SIDES[1:]:
                v = row.get(side, "-")
                if unit == "MiB":
                    rc = ("%+.1f" % (v - nat)) if isnum(v) and isnum(nat) else "-"
                else:
                    rc = fmt_ratio(ratio(v, nat))
                line += [fmt(v), rc]
            print("| " + " | ".join(line) + " |")
        print()
        print("RUNS=%d (STARTS=%d for busybox true), medians; micro cases: "
              "each run prints the median of 7 batches (exec static: %d "
              "execs per batch in the VM, 100 elsewhere). Ratios: lower is "
              "faster. Peak RSS: the largest host process of the command's "
              "tree (ru_maxrss; QEMU for the VM); the ratio column is the "
              "difference to native." % (self.runs, self.starts, VM_EXEC_N))
        for side, why in self.absent.items():
            print("%s: not run: %s" % (side, why))
        for n in self.notes:
            print(n)


if __name__ == "__main__":
    if len(sys.argv) > 2:
        die("usage: bench/vm.py [BUILD]")
    VmBench(sys.argv[1] if len(sys.argv) > 1 else "build").main()
