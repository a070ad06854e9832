"""The seccomp program moat installs, read back from a running sandbox
(PTRACE_SECCOMP_GET_FILTER, root only) and run in a small classic-BPF
interpreter here against the policy of docs/south.md, registered by
tests/run.py (register(register_fn, run_module)).

The attack tests (security/attack-fd-*, attack-setid-gate) try a few
payloads through the gate; this one checks every rule of the installed
program at its edges: each host-fd argument of every hostfs call (two on
renameat2 and linkat, the second argument of symlinkat) is allowed exactly
for 3..INT_MAX as a 64-bit value, the standard-stream calls exactly for
0..2, set-id mode bits and the other pinned flags kill, a call from outside
the gate traps, a 32-bit call gets ENOSYS, an x32 number or an unlisted call
kills. The positive control: the same checks on copies of the program with
one hand-written jump broken (the low bound of an fd check, the test of its
upper half) must report the breakage, so a quiet checker means a correct
program, not a blind one.
"""
import ctypes
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time

h = None  # the tests/run.py module: fail, skip, show, ...

ALLOW, TRAP, KILL = 0x7fff0000, 0x00030000, 0x80000000
ERRNO_ENOSYS = 0x00050000 | 38
AUDIT_ARCH_X86_64, AUDIT_ARCH_I386 = 0xc000003e, 0x40000003
M64 = (1 << 64) - 1


def bpf_run(prog, nr, args, ip, arch=AUDIT_ARCH_X86_64):
    """The action of a seccomp program for one call (classic BPF, the
    instructions seccomp accepts)."""
    data = struct.pack("<IIQ6Q", nr & 0xffffffff, arch, ip & M64,
                       *[a & M64 for a in args])
    a = x = 0
    mem = [0] * 16
    pc = 0
    for _ in range(100000):
        code, jt, jf, k = prog[pc]
        cls = code & 7
        if code == 0x20:  # ld [k]
            a = struct.unpack_from("<I", data, k)[0]
        elif code == 0x00:
            a = k
        elif code == 0x60:
            a = mem[k]
        elif code == 0x01:
            x = k
        elif code == 0x61:
            x = mem[k]
        elif cls == 2:
            mem[k] = a
        elif cls == 3:
            mem[k] = x
        elif cls == 4:
            op, src = code & 0xf0, (x if code & 8 else k)
            a = {0x00: a + src, 0x10: a - src, 0x20: a * src,
                 0x40: a | src, 0x50: a & src, 0x60: a << (src & 31),
                 0x70: a >> (src & 31), 0x80: -a, 0xa0: a ^ src}[op]
            a &= 0xffffffff
        elif cls == 5:
            op, src = code & 0xf0, (x if code & 8 else k)
            if op == 0x00:
                pc += k
            else:
                hit = {0x10: a == src, 0x20: a > src, 0x30: a >= src,
                       0x40: (a & src) != 0}[op]
                pc += jt if hit else jf
        elif cls == 6:
            return k if code == 0x06 else a
        elif cls == 7:
            if code == 0x07:
                x = a
            else:
                a = x
        else:
            raise ValueError("instruction %#x at %d" % (code, pc))
        pc += 1
        if pc >= len(prog):
            raise ValueError("ran off the end of the program")
    raise ValueError("no return")


def action_name(r):
    return {ALLOW: "ALLOW", TRAP: "TRAP", KILL: "KILL",
            ERRNO_ENOSYS: "ENOSYS"}.get(r, "%#x" % r)


# hostfs calls: number -> (valid arguments, indexes of host-fd arguments)
O_NOFOLLOW, AT_SYMLINK_NOFOLLOW = 0o400000, 0x100
HOSTFS = {
    "openat": (257, [5, 0, O_NOFOLLOW, 0o644, 0, 0], [0]),
    "close": (3, [5, 0, 0, 0, 0, 0], [0]),
    "pread64": (17, [5, 0, 1, 0, 0, 0], [0]),
    "pwrite64": (18, [5, 0, 1, 0, 0, 0], [0]),
    "lseek": (8, [5, 0, 0, 0, 0, 0], [0]),
    "getdents64": (217, [5, 0, 10, 0, 0, 0], [0]),
    "newfstatat": (262, [5, 0, 0, AT_SYMLINK_NOFOLLOW, 0, 0], [0]),
    "readlinkat": (267, [5, 0, 0, 10, 0, 0], [0]),
    "mkdirat": (258, [5, 0, 0o755, 0, 0, 0], [0]),
    "mknodat": (259, [5, 0, 0o10644, 0, 0, 0], [0]),
    "symlinkat": (266, [0, 5, 0, 0, 0, 0], [1]),
    "unlinkat": (263, [5, 0, 0, 0, 0, 0], [0]),
    "renameat2": (316, [5, 0, 5, 0, 0, 0], [0, 2]),
    "linkat": (265, [5, 0, 5, 0, 0, 0], [0, 2]),
    "fchmod": (91, [5, 0o755, 0, 0, 0, 0], [0]),
    "fchmodat": (268, [5, 0, 0o755, 0, 0, 0], [0]),
    "fchmodat2": (452, [5, 0, 0o755, AT_SYMLINK_NOFOLLOW, 0, 0], [0]),
    "utimensat": (280, [5, 0, 0, 0, 0, 0], [0]),
    "ftruncate": (77, [5, 0, 0, 0, 0, 0], [0]),
    "fsync": (74, [5, 0, 0, 0, 0, 0], [0]),
    "fchownat": (260, [5, 0, 0, 0, 0x1100, 0], [0]),
}
STDIO = {"read": (0, [0, 0, 1, 0, 0, 0]), "write": (1, [0, 0, 1, 0, 0, 0]),
         "ioctl": (16, [0, 0x5401, 0, 0, 0, 0])}
FD_VALUES = (0, 1, 2, 3, 4, 0x7fffffff, 0x80000000, 0xffffffff,
             0x100000000, 0x100000002, 0x100000003, -100 & M64, M64,
             0x8000000000000003)
# (call, argument index, mode): what must kill; the valid modes must not
MODES = {"openat": 3, "mkdirat": 2, "fchmod": 1, "fchmodat": 2,
         "fchmodat2": 2}
SETID_MODES = (0o4755, 0o2755, 0o6777, (1 << 32) | 0o4755)
PLAIN_MODES = (0o777, 0o1777, 0o644)


MSG_NOSIGNAL, MSG_CMSG_CLOEXEC, MSG_DONTWAIT, MSG_PEEK = 0x4000, \
    0x40000000, 0x40, 0x2
# the network calls of a sandbox with a grant (docs/south.md, allowlist 49-53)
NET_FD_CALLS = {"sendto": (44, [5, 0, 1, MSG_NOSIGNAL, 0, 0]),
                "recvfrom": (45, [5, 0, 1, MSG_DONTWAIT, 0, 0]),
                "shutdown": (48, [5, 2, 0, 0, 0, 0])}


SPLICE, PIPE2, DUP3, O_CLOEXEC, O_DIRECT = 275, 293, 292, 0o2000000, 0o40000


def check_fill(want, fill):
    """The calls that fill the page cache's pool from host files
    (docs/south.md, allowlist 46-48): fill = (pipe read end, write end,
    pool memfd) of the sandbox process, or None: every such call kills."""
    if fill is None:
        want("pipe2(O_CLOEXEC) without a pool", PIPE2,
             [0x1000, O_CLOEXEC, 0, 0, 0, 0], KILL)
        for c in range(3, 64):
            want("splice(5 -> %d) without a pool" % c, SPLICE,
                 [5, 0x1000, c, 0, 4096, 0], KILL)
            want("dup3(5, %d) without a pool" % c, DUP3,
                 [5, c, O_CLOEXEC, 0, 0, 0], KILL)
        return
    rd, wr, pool = fill
    # a host file into the pipe: the file any host fd, at an offset; the
    # pipe's end exactly, no offset on its side, no flags
    for v in FD_VALUES:
        want("splice(file fd %#x -> pipe)" % v, SPLICE,
             [v, 0x1000, wr, 0, 65536, 0],
             ALLOW if 3 <= v <= 0x7fffffff else KILL)
    for i, v in ((2, wr + 1), (2, wr | (1 << 32)), (2, pool), (2, 1),
                 (3, 0x1000), (5, 1), (5, 4), (5, 1 << 32)):
        a = [5, 0x1000, wr, 0, 65536, 0]
        a[i] = v
        want("splice(file -> pipe, arg %d = %#x)" % (i, v), SPLICE, a, KILL)
    # the pipe into the pool: both exactly, no offset on the pipe's side
    want("splice(pipe -> pool)", SPLICE, [rd, 0, pool, 0x1000, 65536, 0],
         ALLOW)
    for i, v in ((0, rd | (1 << 32)), (0, 5), (1, 0x1000), (2, pool + 100),
                 (2, pool | (1 << 32)), (2, 5), (5, 1), (5, 1 << 32)):
        a = [rd, 0, pool, 0x1000, 65536, 0]
        a[i] = v
        # (arg 0 = 5 is the first form when arg 2 were the pipe; it is not)
        want("splice(pipe -> pool, arg %d = %#x)" % (i, v), SPLICE, a, KILL)
    want("pipe2(O_CLOEXEC)", PIPE2, [0x1000, O_CLOEXEC, 0, 0, 0, 0], ALLOW)
    for f in (0, O_CLOEXEC | O_DIRECT, O_CLOEXEC | (1 << 32), 0o4000):
        want("pipe2(flags %#o)" % f, PIPE2, [0x1000, f, 0, 0, 0, 0], KILL)
    for new in (rd, wr):
        for v in FD_VALUES:
            want("dup3(%#x, %d)" % (v, new), DUP3, [v, new, O_CLOEXEC, 0, 0,
                                                    0],
                 ALLOW if 3 <= v <= 0x7fffffff else KILL)
        for a in ([5, new, 0], [5, new | (1 << 32), O_CLOEXEC],
                  [5, new, O_CLOEXEC | (1 << 32)]):
            want("dup3(%#x, %#x, %#o)" % tuple(a), DUP3, a + [0, 0, 0], KILL)
    for new in (0, 1, 2, pool, max(rd, wr) + 1, 100):
        if new not in (rd, wr):
            want("dup3(5, %d)" % new, DUP3, [5, new, O_CLOEXEC, 0, 0, 0],
                 KILL)


def check_control(want, control, net):
    """An OCI container's control channel (docs/south.md): sendmsg and
    recvmsg on that fd with their one flag each, and dup3 of a host fd
    onto 0, 1 or 2 with no flags; without one (control None) no dup3 onto
    0..2 and no message call unless the network grant has its own."""
    for new in (0, 1, 2):
        for v in FD_VALUES:
            want("dup3(%#x, %d, 0)" % (v, new), DUP3, [v, new, 0, 0, 0, 0],
                 ALLOW if control is not None and 3 <= v <= 0x7fffffff
                 else KILL)
        for a in ([5, new, O_CLOEXEC], [5, new | (1 << 32), 0],
                  [5, new, 1 << 32]):
            want("dup3(%#x, %#x, %#o)" % tuple(a), DUP3, a + [0, 0, 0], KILL)
    if control is None:
        return
    for new in (3, control, 100):
        want("dup3(5, %d, 0)" % new, DUP3, [5, new, 0, 0, 0, 0], KILL)
    for nr, flags, name in ((46, MSG_NOSIGNAL, "sendmsg"),
                            (47, MSG_CMSG_CLOEXEC, "recvmsg")):
        want(name + " on the control channel", nr,
             [control, 0, flags, 0, 0, 0], ALLOW)
        if net:
            continue  # the broker channel's rules are checked apart
        for fd in (control + 1, control - 1, control | (1 << 32), 0, 1, 2):
            want("%s(fd %#x)" % (name, fd), nr, [fd, 0, flags, 0, 0, 0],
                 KILL)
        for f in (0, flags | 1, flags | (1 << 32), MSG_DONTWAIT):
            want("%s(flags %#x)" % (name, f), nr, [control, 0, f, 0, 0, 0],
                 KILL)


def check(prog, lo, hi, channel=None, fill=None, control=None):
    """Mismatches between prog and the policy, for a gate whose syscall
    instructions' return addresses satisfy lo <= ip < hi; channel: the
    broker channel's fd when the sandbox has a network grant (None: the
    network calls must all kill); fill: the page cache pool's pipe and
    memfd (check_fill); control: an OCI container's control channel
    (check_control)."""
    bad = []
    ip = lo

    def want(what, nr, args, expect, at=ip, arch=AUDIT_ARCH_X86_64):
        got = bpf_run(prog, nr, args, at, arch)
        if got != expect:
            bad.append("%s: %s, expected %s" % (what, action_name(got),
                                                 action_name(expect)))

    check_fill(want, fill)
    check_control(want, control, channel is not None)

    for name, (nr, args, fds) in HOSTFS.items():
        want(name + " with valid arguments", nr, args, ALLOW)
        for i in fds:
            for v in FD_VALUES:
                a = list(args)
                a[i] = v
                want("%s(arg %d = %#x)" % (name, i, v), nr, a,
                     ALLOW if 3 <= v <= 0x7fffffff else KILL)
    for name, (nr, args) in STDIO.items():
        for v in FD_VALUES:
            a = list(args)
            a[0] = v
            want("%s(fd %#x)" % (name, v), nr, a, ALLOW if v <= 2 else KILL)
    for name, i in MODES.items():
        nr, args, _ = HOSTFS[name]
        for m in SETID_MODES + PLAIN_MODES:
            a = list(args)
            a[i] = m
            want("%s(mode %#o)" % (name, m), nr, a,
                 KILL if m & 0o6000 else ALLOW)
    # high bits, TIOCSTI, TIOCLINUX, TIOCGPGRP (the host's process group:
    # the core answers it itself)
    for cmd in (0x100005401, 0x5412, 0x541c, 0x540f):
        want("ioctl(0, %#x)" % cmd, 16, [0, cmd, 0, 0, 0, 0], KILL)
    # plat_wait: ppoll of at most 16 fds, with or without a mask;
    # plat_wake: tgkill with the kick or the wake signal only; the wait's
    # mask changes: SIG_SETMASK or SIG_BLOCK only; futex: WAIT and WAKE
    # of the shared kind only
    for n, ok in ((1, True), (16, True), (17, False), (1 << 32 | 1, False)):
        want("ppoll(nfds %#x)" % n, 271, [0, n, 0, 0, 8, 0],
             ALLOW if ok else KILL)
    for sig, ok in ((63, True), (62, True), (61, False), (9, False)):
        want("tgkill(sig %d)" % sig, 234, [1, 1, sig, 0, 0, 0],
             ALLOW if ok else KILL)
    for how, ok in ((2, True), (0, True), (1, False)):
        want("rt_sigprocmask(how %d)" % how, 14, [how, 0, 0, 8, 0, 0],
             ALLOW if ok else KILL)
    for op, ok in ((0, True), (1, True), (128, False), (129, False),
                   (9, False), (6, False)):
        want("futex(op %d)" % op, 202, [0, op, 0, 0, 0, 0],
             ALLOW if ok else KILL)
    # mknodat: a FIFO or socket node only, never a device or a file,
    # never set-id bits, device number 0
    for m, ok in ((0o10644, True), (0o140777, True), (0o11777, True),
                  (0o20644, False), (0o60644, False), (0o100644, False),
                  (0o14755, False), (0o142755, False), (0o644, False),
                  ((1 << 32) | 0o20644, False)):
        want("mknodat(mode %#o)" % m, 259, [5, 0, m, 0, 0, 0],
             ALLOW if ok else KILL)
    want("mknodat(FIFO, dev 0x103)", 259, [5, 0, 0o10644, 0x103, 0, 0], KILL)
    want("mknodat(FIFO, dev 1<<32)", 259, [5, 0, 0o10644, 1 << 32, 0, 0],
         KILL)
    # fchownat: owner and group each the sandbox's own id (0, moat run by
    # root) or -1 as a 32-bit value, flags exactly AT_SYMLINK_NOFOLLOW |
    # AT_EMPTY_PATH (the link itself, never followed)
    keep = 0xffffffff
    for uid, gid, ok in ((0, 0, True), (keep, 0, True), (0, keep, True),
                         (keep, keep, True), (1000, 0, False),
                         (0, 1000, False), (65536, keep, False),
                         (keep, 65534, False), (1 << 32, 0, False),
                         (0, 1 << 32, False), (M64, 0, False),
                         (0, M64, False), (keep | (1 << 32), 0, False)):
        want("fchownat(uid %#x, gid %#x)" % (uid, gid), 260,
             [5, 0, uid, gid, 0x1100, 0], ALLOW if ok else KILL)
    for flags in (0, 0x100, 0x1000, 0x1100 | (1 << 32), 0x1500):
        want("fchownat(flags %#x)" % flags, 260, [5, 0, 0, 0, flags, 0],
             KILL)
    want("renameat2 RENAME_WHITEOUT", 316, [5, 0, 5, 0, 4, 0], KILL)
    want("linkat AT_EMPTY_PATH", 265, [5, 0, 5, 0, 0x1000, 0], KILL)
    want("openat without O_NOFOLLOW", 257, [5, 0, 0, 0, 0, 0], KILL)
    want("clone CLONE_NEWUSER", 56, [0x10000000 | 17, 0, 0, 0, 0, 0], KILL)
    want("tgkill SIGKILL", 234, [1, 1, 9, 0, 0, 0], KILL)
    want("mmap of a file", 9, [0, 4096, 1, 1, 5, 0], KILL)
    # plat_host_map: only MAP_PRIVATE|MAP_FIXED of a descriptor that is a
    # 31-bit value (a copy-on-write mapping never writes the file)
    for flags, fd, ok in ((0x12, 5, True), (0x12, 0x7fffffff, True),
                          (0x12, 0x80000000, False), (0x12, (1 << 32) | 5,
                                                      False),
                          (0x02, 5, False), (0x11, 5, False),
                          (0x12 | 0x8000, 5, False), (0x12 | 0x100, 5, False),
                          (0x12 | (1 << 32), 5, False)):
        want("mmap(flags %#x, fd %#x)" % (flags, fd), 9,
             [0x10000, 4096, 7, flags, fd, 0], ALLOW if ok else KILL)
    # madvise: MADV_REMOVE (plat_mem_discard), MADV_POPULATE_READ (a
    # forked child's code); never DONTNEED, DONTFORK, POPULATE_WRITE, ...
    for adv, ok in ((9, True), (22, True), (4, False), (10, False),
                    (23, False), (18, False), (22 | (1 << 32), False)):
        want("madvise(advice %#x)" % adv, 28, [0x10000, 4096, adv, 0, 0, 0],
             ALLOW if ok else KILL)
    # membarrier: PRIVATE_EXPEDITED_SYNC_CORE and its registration (the
    # fast path's cross-modified code), no flags, no CPU; never GLOBAL,
    # another process's barrier, RSEQ or a query
    for cmd, flags, cpu, ok in ((32, 0, 0, True), (64, 0, 0, True),
                                (0, 0, 0, False), (1, 0, 0, False),
                                (8, 0, 0, False), (16, 0, 0, False),
                                (128, 0, 0, False), (32, 1, 0, False),
                                (32, 0, 1, False), (32 | (1 << 32), 0, 0,
                                                    False),
                                (64, 1 << 32, 0, False)):
        want("membarrier(cmd %#x, flags %#x, cpu %#x)" % (cmd, flags, cpu),
             324, [cmd, flags, cpu, 0, 0, 0], ALLOW if ok else KILL)
    for nr in (41, 59, 101, 102, 105, 165, 272, 304, 321, 425, 435):
        want("unlisted call %d" % nr, nr, [3, 0, 0, 0, 0, 0], KILL)
    # no socket of its own, with or without a grant
    for nr in (41, 42, 43, 49, 50, 53, 54, 288):
        want("socket call %d" % nr, nr, [2, 1, 0, 0, 0, 0], KILL)
    if channel is None:
        for name, (nr, args) in NET_FD_CALLS.items():
            want(name + " without a grant", nr, args, KILL)
        for nr in (46, 47):
            want("msg call %d without a grant" % nr, nr,
                 [(control or 3) + 1, 0, 0, 0, 0, 0], KILL)
    else:
        for name, (nr, args) in NET_FD_CALLS.items():
            want(name + " with valid arguments", nr, args, ALLOW)
            for v in FD_VALUES:
                a = list(args)
                a[0] = v
                want("%s(fd %#x)" % (name, v), nr, a,
                     ALLOW if 3 <= v <= 0x7fffffff else KILL)
        for nr, name in ((44, "sendto"), (45, "recvfrom")):
            base = NET_FD_CALLS[name][1]
            for i, v in ((4, 0x1000), (5, 16), (3, 1), (3, 0x100),
                         (3, 1 << 32)):
                a = list(base)
                a[i] = v
                want("%s(arg %d = %#x)" % (name, i, v), nr, a, KILL)
        want("shutdown(how 3)", 48, [5, 3, 0, 0, 0, 0], KILL)
        for nr, flags, name in ((46, MSG_NOSIGNAL, "sendmsg"),
                                (47, MSG_CMSG_CLOEXEC, "recvmsg")):
            want(name + " on the channel", nr, [channel, 0, flags, 0, 0, 0],
                 ALLOW)
            for fd in (channel + 1, channel - 1, channel | (1 << 32), 0, 1,
                       2):
                want("%s(fd %#x)" % (name, fd), nr, [fd, 0, flags, 0, 0, 0],
                     KILL)
            for f in (0, flags | 1, flags | (1 << 32)):
                want("%s(flags %#x)" % (name, f), nr, [channel, 0, f, 0, 0,
                                                       0], KILL)
    want("x32 openat", 0x40000000 | 257, HOSTFS["openat"][1], KILL)
    want("nr -1", 0xffffffff, [0] * 6, KILL)
    want("32-bit call", 20, [1, 0, 0, 0, 0, 0], ERRNO_ENOSYS,
         arch=AUDIT_ARCH_I386)
    for out in (lo - 1, hi, hi + (1 << 32), lo - (1 << 32), 0x401000):
        want("write from %#x" % out, 1, [1, 0, 1, 0, 0, 0], TRAP, at=out)
    want("write from the gate's last byte", 1, [1, 0, 1, 0, 0, 0], ALLOW,
         at=hi - 1)
    return bad


def _broken(prog, what):
    """A copy of prog with the first fd check's lower bound (JGE 3) or
    upper-half test (JEQ 0 on the high word) made to pass everything."""
    p = list(prog)
    for i, (code, jt, jf, k) in enumerate(p):
        if what == "low bound" and code == 0x35 and k == 3:
            p[i] = (code, jt, jf, 0)
            return p
        if what == "upper half" and code == 0x15 and k == 0 and \
                p[i - 1] == (0x20, 0, 0, 0x14):
            p[i] = (0x05, 0, 0, 0)  # ja +0: skip nothing, never kill
            return p
    h.fail("positive control: no %s check found in the program" % what)


def _read_filter(pid):
    """The first seccomp program of pid, as (code, jt, jf, k) tuples."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.restype = ctypes.c_long
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                            ctypes.c_void_p]
    PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
    PTRACE_SECCOMP_GET_FILTER = 0x420c
    if libc.ptrace(PTRACE_SEIZE, pid, None, None) < 0:
        h.fail("PTRACE_SEIZE %d: %s" % (pid, os.strerror(ctypes.get_errno())))
    try:
        libc.ptrace(PTRACE_INTERRUPT, pid, None, None)
        os.waitpid(pid, 0x40000000)  # __WALL
        n = libc.ptrace(PTRACE_SECCOMP_GET_FILTER, pid, None, None)
        if n <= 0:
            h.fail("PTRACE_SECCOMP_GET_FILTER: %s" %
                   os.strerror(ctypes.get_errno()))
        buf = ctypes.create_string_buffer(8 * n)
        libc.ptrace(PTRACE_SECCOMP_GET_FILTER, pid, None, buf)
    finally:
        libc.ptrace(PTRACE_DETACH, pid, None, None)
    return [struct.unpack_from("<HBBI", buf.raw, 8 * i) for i in range(n)]


def _session_seccomp_pid(sid, socket=False):
    """A locked-down sandbox process of session sid (socket: one holding
    a socket, the exec server of an OCI container)."""
    for pid in h.session_pids(sid):
        if socket and _channel_fd(pid) is None:
            continue
        try:
            with open("/proc/%d/status" % pid) as f:
                status = f.read()
        except OSError:
            continue
        # the sandbox's processes are in its PID namespace (NSpid has two
        # ids); the network broker, filtered too, is not
        nspid = re.search(r"^NSpid:(.*)$", status, re.M)
        if re.search(r"^Seccomp:\s*2$", status, re.M) and \
                nspid and len(nspid.group(1).split()) > 1:
            return pid
    return None


def _fill_fds(pid):
    """(pipe read end, write end, pool memfd) of a sandbox process, or
    None when it has no pool."""
    pool, pipe = None, []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("/memfd:moat-pcache"):
            pool = int(fd)
        elif link.startswith("pipe:"):
            pipe.append(int(fd))
    if pool is None:
        return None
    if len(pipe) != 2:
        h.fail("the sandbox process has a pool but %d pipe fds" % len(pipe))
    with open("/proc/%d/fdinfo/%d" % (pid, min(pipe))) as f:
        flags = int(re.search(r"^flags:\s*(\d+)", f.read(), re.M).group(1), 8)
    rd, wr = (min(pipe), max(pipe)) if flags & 3 == 0 else (max(pipe),
                                                            min(pipe))
    return rd, wr, pool


def _channel_fd(pid):
    """The one socket fd of a fresh sandbox process: the broker channel."""
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:"):
                return int(fd)
        except OSError:
            pass
    return None


def _oci_bundle(ctx):
    """A bundle whose container runs sleep 30 under moat's --verbose
    (annotation), for the control channel's rules."""
    d = tempfile.mkdtemp(prefix="moat-seccomp-oci-", dir=ctx.scratch)
    root = os.path.join(d, "rootfs")
    os.makedirs(os.path.join(root, "bin"))
    ctx.need_busybox()
    shutil.copy(ctx.busybox, os.path.join(root, "bin", "busybox"))
    os.symlink("busybox", os.path.join(root, "bin", "sleep"))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"ociVersion": "1.0.2",
                   "process": {"args": ["sleep", "30"], "cwd": "/",
                               "env": ["PATH=/bin"]},
                   "root": {"path": "rootfs"},
                   "annotations": {"moat.verbose": "true"}}, f)
    return d


def seccomp_program(ctx, net=False, oci=False):
    """The installed seccomp program, every rule at its edges (module
    docstring); the positive control breaks one jump of a copy and the
    checker must notice. net: the sandbox has a network grant, and the
    five network calls are checked at their edges too. oci: an OCI
    container's sandbox, with the control channel of its exec server."""
    ctx.need_moat()
    if os.geteuid() != 0:
        h.skip("needs root (PTRACE_SECCOMP_GET_FILTER)")
    opts = ["--allow-connect", "127.0.0.1:9"] if net else []
    if oci:
        d = _oci_bundle(ctx)
        argv = [ctx.moat, "--root", os.path.join(d, "state"), "run",
                "--bundle", d, "seccomp-oci"]
    else:
        argv = ctx.moat_run("--verbose", *opts, "--", "sleep", "30")
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err,
                             start_new_session=True)
        try:
            pid, text = None, ""
            for _ in range(100):
                time.sleep(0.1)
                err.seek(0)
                text = err.read().decode("utf-8", "replace")
                pid = _session_seccomp_pid(p.pid, socket=oci)
                if pid and "gate 0x" in text:
                    break
            m = re.search(r"gate (0x[0-9a-f]+)-(0x[0-9a-f]+)", text)
            if not pid or not m:
                h.fail("no locked-down sandbox process or no gate range in "
                       "--verbose\n" + text)
            prog = _read_filter(pid)
            channel = _channel_fd(pid) if net else None
            control = _channel_fd(pid) if oci else None
            if oci and control is None:
                h.fail("no control channel in the exec server")
            fill = _fill_fds(pid)
            if fill is None:
                h.fail("no page cache pool in the sandbox process")
            if net and channel is None:
                h.fail("no broker channel in the sandbox process")
        finally:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    start, end = int(m.group(1), 16), int(m.group(2), 16)
    lo, hi = start + 1, end
    for what in ("low bound", "upper half"):
        if not check(_broken(prog, what), lo, hi, channel, fill, control):
            h.fail("positive control: a program with the %s of an fd check "
                   "broken passed the checker" % what)
    bad = check(prog, lo, hi, channel, fill, control)
    if fill and not check(prog, lo, hi, channel, None, control):
        h.fail("positive control: the pool's fill calls were allowed, yet "
               "the checker that expects them killed said nothing")
    if oci and not check(prog, lo, hi, channel, fill, None):
        h.fail("positive control: the control channel's calls were allowed, "
               "yet the checker that expects them killed said nothing")
    if bad:
        h.fail("%d mismatches:\n%s" % (len(bad), "\n".join(bad[:40])))
    return "%d instructions; %d hostfs calls, every fd argument at %d " \
        "values" % (len(prog), len(HOSTFS), len(FD_VALUES))


def register(register_fn, run_module):
    global h
    h = run_module
    register_fn("security/seccomp-program-checked", seccomp_program)
    register_fn("security/seccomp-program-net-checked",
                lambda ctx: seccomp_program(ctx, True))
    register_fn("security/seccomp-program-oci-checked",
                lambda ctx: seccomp_program(ctx, oci=True))
