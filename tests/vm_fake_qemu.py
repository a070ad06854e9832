#!/usr/bin/python3
"""A stand-in for qemu-system-x86_64 and the VM kernel, for the tests of
`moat run --platform vm`'s runner alone (tests/run.py, vm-run/...): it
takes QEMU's command line as the runner gives it, reads the initrd the way
the kernel must (docs/vm.md, "The runner's protocol with the kernel") and
speaks the protocol on its standard input and output, as the kernel on
the serial line.

With MOAT_FAKE_QEMU_DUMP=1 it writes a line on stderr (JSON: its argv and the
header's fields) and PATH.tar (the root image). The guest "programs" it
knows (argv[0] of the header):
  cat              standard input back on standard output, status 0
  exit N           status N
  streams          out1, err1 (stderr), a literal 0xfe, out2; status 3
  nostatus         ends as QEMU would without the status byte (exit 1)
  hang             never ends
  anything else    status 0
It ends as QEMU's isa-debug-exit does: exit status S * 2 + 1."""

import base64
import hashlib
import json
import os
import struct
import sys
import time

ESC = 0xfe


def out(data):
    while data:
        n = os.write(1, data)
        data = data[n:]


def esc(data):
    return data.replace(b"\xfe", b"\xfe\xfe")


def finish(status):
    out(b"\xfe\x10" + bytes([status]))
    sys.exit(status * 2 + 1)


def refuse(why):
    out(b"\xfe\x02moat vm: bad initrd: " + why.encode() + b"\n")
    finish(125)


def main():
    argv = sys.argv[1:]
    opts = {}
    for i, a in enumerate(argv):
        if a.startswith("-") and i + 1 < len(argv):
            opts.setdefault(a, argv[i + 1])
    with open(opts["-initrd"], "rb") as f:
        data = f.read()
    out(b"\xfe\x11")  # as the kernel: ready for standard input
    if len(data) < 64 or data[:8] != b"MOATVM02":
        refuse("magic")
    hsize, argc, envc, uid, gid, flags = struct.unpack_from("<6I", data, 8)
    tar_size, memory = struct.unpack_from("<2Q", data, 32)
    if hsize % 4096 or hsize < 64 or argc < 1 or hsize + tar_size > len(
            data):
        refuse("sizes")
    sig_ignored, sig_blocked = struct.unpack_from("<2Q", data, 48)
    strings = data[64:hsize].split(b"\0")
    if len(strings) < argc + envc + 2:
        refuse("strings")
    prog = [s.decode("utf-8", "replace") for s in strings[:argc]]
    env = [s.decode("utf-8", "replace") for s in strings[argc:argc + envc]]
    cwd, hostname = (s.decode("utf-8", "replace")
                     for s in strings[argc + envc:argc + envc + 2])
    end = 64 + sum(len(s) + 1 for s in strings[:argc + envc + 2])
    with open(opts["-kernel"], "rb") as f:
        kernel_sha = hashlib.sha256(f.read()).hexdigest()
    if os.environ.get("MOAT_FAKE_QEMU_DUMP"):
        # on standard error, which the runner passes through: the real
        # QEMU's Landlock rules let it write no file (docs/vm.md)
        line = json.dumps({
            "qemu_argv": argv, "kernel_sha256": kernel_sha,
            "sig_ignored": sig_ignored, "sig_blocked": sig_blocked,
            "header_size": hsize, "argv": prog, "env": env, "cwd": cwd,
            "hostname": hostname, "uid": uid, "gid": gid, "flags": flags,
            "tar_size": tar_size, "memory": memory,
            "initrd_size": len(data),
            "padding_zero": not any(data[end:hsize]), "pid": os.getpid(),
            "tar_b64": base64.b64encode(
                data[hsize:hsize + tar_size]).decode()})
        os.write(2, b"moat-fake-qemu-dump: " + line.encode() + b"\n")
    name = os.path.basename(prog[0])
    if name == "cat":
        pending = b""
        while True:
            chunk = os.read(0, 65536)
            if not chunk:
                break
            pending += chunk
            body, i, ended = bytearray(), 0, False
            while i < len(pending):
                c = pending[i]
                if c != ESC:
                    body.append(c)
                    i += 1
                    continue
                if i + 1 >= len(pending):
                    break  # the escape's second byte has not come yet
                if pending[i + 1] == ESC:
                    body.append(ESC)
                elif pending[i + 1] == 0x01:
                    ended = True
                    i += 2
                    break
                i += 2
            pending = pending[i:]
            out(esc(bytes(body)))
            if ended:
                break
        finish(0)
    if name == "exit":
        finish(int(prog[1]))
    if name == "streams":
        out(b"out1\n\xfe\x02err1\n\xfe\x01" + esc(b"\xfe\n") + b"out2\n")
        finish(3)
    if name == "nostatus":
        out(b"partial output\n")
        sys.exit(1)
    if name == "hang":
        while True:
            time.sleep(60)
    finish(0)


if __name__ == "__main__":
    main()
