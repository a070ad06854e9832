"""oci/...: moat as an OCI runtime (cmd/moat/oci.c, docs/oci.md).

  oci/lifecycle        create -> created (program not run yet, pid file =
                       state's pid) -> start -> running (it ran) -> kill
                       TERM -> the guest's handler ends it (status 3) ->
                       stopped, pid 0 -> delete -> gone; a container that
                       exits by itself (status 7); delete of a running
                       one refused, then --force; a created one deleted
                       (its process ends); exec (output, status, env,
                       user, cwd, stdin, --process, -d with its pid file,
                       signals, refused unless running); TERM to an init
                       without a handler ignored, KILL ends it. Run by
                       tests/oci_lifecycle.py as a child subreaper, as
                       containerd-shim or conmon are.
  oci/podman-*         podman run, exec, stop with moat against the same
                       with runc; containerd's ctr likewise.
  oci/config-*         config.json settings against what the same
                       program shows natively or what the spec says:
                       process.env exactly, user, cwd, rlimits, hostname,
                       root.readonly, tmpfs and bind mounts (ro, rw).
  oci/bad-*            bad bundles and fields: a clear error naming the
                       field, status 1, no state left behind.
  oci/run-vs-native    `moat run --bundle` of busybox commands, output and
                       status identical to running them natively.
  oci/log-json         --log FILE --log-format json gets the error as a
                       JSON line.

Registered by tests/run.py with its helpers as `h`.
"""

import json
import os
import shutil
import subprocess
import threading
import time

APPLETS = ("sh", "echo", "cat", "ls", "id", "hostname", "sleep", "env",
           "pwd", "touch", "mkdir", "test", "true", "false", "wc", "sort")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def make_rootfs(ctx, d):
    """A minimal root: static busybox and its applets, /tmp, /etc."""
    root = os.path.join(d, "rootfs")
    for sub in ("bin", "tmp", "etc", "scratch", "data"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    shutil.copy(ctx.busybox, os.path.join(root, "bin", "busybox"))
    for a in APPLETS:
        os.symlink("busybox", os.path.join(root, "bin", a))
    with open(os.path.join(root, "etc", "motd"), "w") as f:
        f.write("from the image\n")
    return root


def config(args, **kw):
    c = {
        "ociVersion": "1.0.2",
        "process": {"terminal": False, "user": {"uid": 0, "gid": 0},
                    "args": args, "env": ["PATH=" + PATH], "cwd": "/",
                    "noNewPrivileges": True},
        "root": {"path": "rootfs", "readonly": False},
        "hostname": "ocibox",
        "mounts": [{"destination": "/proc", "type": "proc",
                    "source": "proc"},
                   {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                    "options": ["nosuid", "strictatime", "mode=755"]},
                   {"destination": "/dev/pts", "type": "devpts",
                    "source": "devpts"},
                   {"destination": "/sys", "type": "sysfs", "source": "sysfs",
                    "options": ["nosuid", "noexec", "nodev", "ro"]}],
        "linux": {"namespaces": [{"type": t} for t in
                                 ("pid", "network", "ipc", "uts", "mount")]},
    }
    for k, v in kw.items():
        if k == "process":
            c["process"].update(v)
        else:
            c[k] = v
    return c


def bundle(ctx, h, name, cfg):
    d = ctx.tmpdir("oci-" + name)
    make_rootfs(ctx, d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    return d


def moat_oci(ctx, h, state, *args, timeout=60):
    """A runtime command, its output through files: a container process
    that create leaves behind keeps the standard streams open, so pipes
    would not end while it lives (engines do not wait for them)."""
    d = os.path.dirname(state.rstrip("/"))
    with open(os.path.join(d, "cmd.out"), "w+b") as out, \
            open(os.path.join(d, "cmd.err"), "w+b") as err:
        p = subprocess.run([ctx.moat, "--root", state] + list(args),
                           stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                           timeout=timeout)
        out.seek(0)
        err.seek(0)
        status = p.returncode if p.returncode >= 0 else 128 - p.returncode
        return h.Proc(p.args, out.read(), err.read(), status)


def lifecycle(h):
    def body(ctx):
        ctx.need_moat()
        ctx.need_busybox()
        d = ctx.tmpdir("oci-lifecycle")
        make_rootfs(ctx, d)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "oci_lifecycle.py")
        r = h.run(["/usr/bin/python3", script, ctx.moat, d], timeout=180)
        if r.status != 0:
            h.fail("status %d\n%s%s" % (r.status, h.show(r.stdout),
                                        h.show(r.stderr)))
    return body


def run_bundle(ctx, h, name, cfg, extra=()):
    d = bundle(ctx, h, name, cfg)
    state = os.path.join(d, "state")
    r = moat_oci(ctx, h, state, "run", "--bundle", d, *extra, "c-" + name)
    left = os.listdir(state) if os.path.isdir(state) else []
    if left:
        h.fail("state left after run: %s" % left)
    return r, d


def expect(h, r, out, status=0):
    if r.status != status or r.stdout.decode() != out:
        h.fail("status %d (want %d)\nstdout: %r\nwant:   %r\nstderr: %s" % (
            r.status, status, r.stdout.decode(), out, h.show(r.stderr)))


def config_env(h):
    """process.env is the whole environment: nothing added but HOME, which
    runc adds when it is missing (the uid's home in the image's
    /etc/passwd, else /)."""
    def body(ctx):
        ctx.need_moat()
        ctx.need_busybox()
        env = ["PATH=" + PATH, "A=1", "EMPTY=", "B=two words"]
        r, _ = run_bundle(ctx, h, "env", config(["env"],
                                                process={"env": env}))
        expect(h, r, "".join(e + "\n" for e in env + ["HOME=/"]))
        env.append("HOME=/somewhere")
        r, _ = run_bundle(ctx, h, "env-home", config(["env"],
                                                     process={"env": env}))
        expect(h, r, "".join(e + "\n" for e in env))
    return body


def config_user_cwd(h):
    def body(ctx):
        ctx.need_moat()
        ctx.need_busybox()
        r, _ = run_bundle(ctx, h, "user", config(
            ["sh", "-c", "id -u; id -g; pwd; hostname"],
            process={"user": {"uid": 1000, "gid": 1001}, "cwd": "/tmp"}))
        expect(h, r, "1000\n1001\n/tmp\nocibox\n")
    return body


def config_rlimits(h):
    """process.rlimits as setrlimit natively gives them to a shell."""
    def body(ctx):
        ctx.need_moat()
        ctx.need_busybox()
        script = "ulimit -n; ulimit -Hn; ulimit -s"
        rl = [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200},
              {"type": "RLIMIT_STACK", "soft": 4 << 20, "hard": 8 << 20}]
        r, _ = run_bundle(ctx, h, "rlimits", config(
            ["sh", "-c", script], process={"rlimits": rl}))
        import resource

        def limits():
            resource.setrlimit(resource.RLIMIT_NOFILE, (100, 200))
            resource.setrlimit(resource.RLIMIT_STACK, (4 << 20, 8 << 20))
        n = subprocess.run([ctx.busybox, "sh", "-c", script],
                           stdout=subprocess.PIPE, preexec_fn=limits,
                           timeout=30)
        expect(h, r, n.stdout.decode())
    return body


def config_annotations(h):
    """Annotations moat.*: moat run's own options for one container
    (moat.timeout ends it as --timeout does: status 124, moat.files is
    RLIMIT_NOFILE as ulimit -n shows); other annotations are the
    engine's and change nothing."""
    def body(ctx):
        ctx.need_moat()
        ctx.need_busybox()
        r, _ = run_bundle(ctx, h, "ann-timeout", config(
            ["sh", "-c", "ulimit -n; sleep 10"],
            annotations={"moat.timeout": "1", "moat.files": "77",
                         "io.podman.annotations.x": "y"}))
        if r.status != 124 or r.stdout != b"77\n" or \
                b"--timeout" not in r.stderr:
            h.fail("moat.timeout 1, moat.files 77: status %d, %s %s" % (
                r.status, h.show(r.stdout), h.show(r.stderr)))
    return body


def config_mounts(h):
    """root.readonly: EROFS; a tmpfs mount writable; bind mounts ro and
    rw of host directories (the rw one's write reaches the host); a bind
    mount of a file (a copy taken at start) in the read-only root."""
    def body(ctx):
        ctx.need_moat()
        ctx.need_busybox()
        ro = ctx.tmpdir("oci-ro-src")
        rw = ctx.tmpdir("oci-rw-src")
        with open(os.path.join(ro, "f"), "w") as f:
            f.write("granted\n")
        hosts = os.path.join(ro, "hosts")
        with open(hosts, "w") as f:
            f.write("127.0.0.1 box\n")
        script = ("cat /etc/hosts /etc/motd; "
                  "touch /etc/x 2>/dev/null || echo etc ro; "
                  "echo t > /scratch/t && cat /scratch/t; cat /ro/f; "
                  "touch /ro/x 2>/dev/null || echo bind ro; "
                  "echo w > /rw/w && echo bind rw")
        mounts = config([])["mounts"] + [
            {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/ro", "type": "bind", "source": ro,
             "options": ["rbind", "ro"]},
            {"destination": "/rw", "type": "none", "source": rw,
             "options": ["bind", "rw"]},
            {"destination": "/etc/hosts", "type": "bind", "source": hosts,
             "options": ["bind", "rprivate"]}]
        r, _ = run_bundle(ctx, h, "mounts", config(
            ["sh", "-c", script], root={"path": "rootfs", "readonly": True},
            mounts=mounts))
        expect(h, r, "127.0.0.1 box\nfrom the image\netc ro\nt\ngranted\n"
                     "bind ro\nbind rw\n")
        with open(os.path.join(rw, "w")) as f:
            if f.read() != "w\n":
                h.fail("the rw bind mount's write did not reach the host")
    return body


def run_vs_native(h):
    """Output and exit status of `moat run --bundle` equal the native run
    of the same busybox command line."""
    def body(ctx):
        ctx.need_moat()
        ctx.need_busybox()
        script = "echo one; echo two | wc -c; printf 'b\\na\\n' | sort; exit 3"
        r, _ = run_bundle(ctx, h, "vsnative", config(["sh", "-c", script]))
        n = subprocess.run([ctx.busybox, "sh", "-c", script],
                           stdout=subprocess.PIPE, timeout=30)
        expect(h, r, n.stdout.decode(), n.returncode)
    return body


BAD = [
    # name, how to spoil the config (or None: no config.json), words the
    # error must contain
    ("no-config", None, "config.json"),
    ("not-json", "{not json", "config.json"),
    ("no-args", {"process": {"args": []}}, "process.args"),
    ("args-type", {"process": {"args": "sh"}}, "process.args"),
    ("no-root", {"root": {"path": "missing"}}, "root.path"),
    # a terminal without --console-socket
    ("terminal", {"process": {"terminal": True}}, "process.terminal"),
    ("relative-cwd", {"process": {"cwd": "tmp"}}, "process.cwd"),
    ("env-item", {"process": {"env": ["NOEQUALS"]}}, "process.env[0]"),
    ("rlimit-type", {"process": {"rlimits": [
        {"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]}}, "process.rlimits[0]"),
    ("rlimit-order", {"process": {"rlimits": [
        {"type": "RLIMIT_NOFILE", "soft": 9, "hard": 1}]}}, "soft above hard"),
    ("mount-type", {"mounts": [{"destination": "/x", "type": "nfs",
                                "source": "h:/x"}]}, "mounts[0]"),
    ("mount-relative", {"mounts": [{"destination": "x", "type": "tmpfs"}]},
     "mounts[0].destination"),
    ("bind-device", {"mounts": [{"destination": "/null", "type": "bind",
                                 "source": "/dev/null"}]}, "mounts[0]"),
    # a file's copy inside a directory bind mount would overwrite the
    # host's file (found by review): refused
    ("file-in-dir-bind", {"mounts": [
        {"destination": "/d/conf", "type": "bind", "source": "/etc/hostname"},
        {"destination": "/d", "type": "bind", "source": "/tmp"}]},
     "mounts[0]"),
    # a wrong type before a null env entry (once a crash, found by review)
    ("cwd-type-env-null", {"process": {"cwd": 1, "env": [None]}},
     "process.cwd"),
    ("netns-path", {"linux": {"namespaces": [
        {"type": "network", "path": "/proc/1/ns/net"}]}},
     "linux.namespaces[0].path"),
    ("hooks", {"hooks": {"prestart": [{"path": "/bin/true"}]}}, "hooks"),
    ("version", {"ociVersion": "2.0.0"}, "ociVersion"),
    ("user-type", {"process": {"user": {"uid": "root"}}}, "process.user.uid"),
    ("annotation-unknown", {"annotations": {"moat.root": "/"}},
     "annotations.moat.root"),
    ("annotation-flag", {"annotations": {"moat.verbose": "yes"}},
     "annotations.moat.verbose"),
    ("annotation-type", {"annotations": {"moat.timeout": 5}},
     "annotations.moat.timeout"),
]


def bad_config(h, name, spoil, words):
    def body(ctx):
        ctx.need_moat()
        ctx.need_busybox()
        d = ctx.tmpdir("oci-bad-" + name)
        make_rootfs(ctx, d)
        if spoil is not None:
            path = os.path.join(d, "config.json")
            with open(path, "w") as f:
                if isinstance(spoil, str):
                    f.write(spoil)
                else:
                    cfg = config(["true"])
                    for k, v in spoil.items():
                        if k == "process":
                            cfg["process"].update(v)
                        else:
                            cfg[k] = v
                    json.dump(cfg, f)
        state = os.path.join(d, "state")
        for cmd in (["create", "--bundle", d, "x"],
                    ["run", "--bundle", d, "x"]):
            r = moat_oci(ctx, h, state, *cmd)
            err = r.stderr.decode()
            if r.status != 1 or words not in err or not err.startswith(
                    "moat: "):
                h.fail("%s: status %d, stderr %r (want 1 and %r)" % (
                    cmd[0], r.status, err, words))
            left = os.listdir(state) if os.path.isdir(state) else []
            if left:
                h.fail("%s: state left behind: %s" % (cmd[0], left))
    return body


def duplicate_and_unknown(h):
    """A second create with the same ID is refused and leaves the first
    alone; commands on an unknown ID fail; a bad ID is refused."""
    def body(ctx):
        ctx.need_moat()
        ctx.need_busybox()
        d = bundle(ctx, h, "dup", config(["true"]))
        state = os.path.join(d, "state")
        r = moat_oci(ctx, h, state, "create", "--bundle", d, "dup")
        if r.status != 0:
            h.fail("create: %d %s" % (r.status, h.show(r.stderr)))
        try:
            r = moat_oci(ctx, h, state, "create", "--bundle", d, "dup")
            if r.status != 1 or b"already exists" not in r.stderr:
                h.fail("second create: %d %s" % (r.status, h.show(r.stderr)))
            s = json.loads(moat_oci(ctx, h, state, "state", "dup").stdout)
            if s["status"] != "created":
                h.fail("the first container after the second create: %s" % s)
        finally:
            moat_oci(ctx, h, state, "delete", "--force", "dup")
        for cmd in (["state", "nope"], ["start", "nope"], ["kill", "nope"],
                    ["kill", "nope", "USR1"], ["kill", "nope", "NOSUCH"],
                    ["exec", "nope", "true"], ["exec", "nope"],
                    ["exec", "--tty", "nope", "sh"],
                    ["delete", "nope"], ["create", "--bundle", d, "../x"],
                    ["create", "--bundle", d, "a/b"]):
            r = moat_oci(ctx, h, state, *cmd)
            if r.status != 1 or not r.stderr.startswith(b"moat: "):
                h.fail("%s: status %d, %s" % (cmd, r.status,
                                              h.show(r.stderr)))
        if os.listdir(state):
            h.fail("state left: %s" % os.listdir(state))
    return body


def mount_point_symlink(h):
    """A mount point is made inside the root as runc makes it, never
    through a symlink of the image: /up -> a host directory outside the
    bundle, destination /up/x is refused and nothing appears on the host;
    the control, /made/x, is made and usable."""
    def body(ctx):
        ctx.need_moat()
        ctx.need_busybox()
        outside = ctx.tmpdir("oci-outside")
        cfg = config(["sh", "-c", "echo m > /made/x/f && cat /made/x/f"])
        cfg["mounts"].append({"destination": "/made/x", "type": "tmpfs",
                              "source": "tmpfs"})
        r, d = run_bundle(ctx, h, "mp-control", cfg)
        expect(h, r, "m\n")
        if not os.path.isdir(os.path.join(d, "rootfs", "made", "x")):
            h.fail("the control's mount point was not made")
        cfg = config(["true"])
        cfg["mounts"].append({"destination": "/up/x", "type": "tmpfs",
                              "source": "tmpfs"})
        d = bundle(ctx, h, "mp-symlink", cfg)
        os.symlink(outside, os.path.join(d, "rootfs", "up"))
        r = moat_oci(ctx, h, os.path.join(d, "state"), "run", "--bundle", d,
                     "mp")
        if r.status != 1 or b"mounts[4].destination" not in r.stderr:
            h.fail("through a symlink: status %d, %s" % (r.status,
                                                         h.show(r.stderr)))
        if os.listdir(outside):
            h.fail("made on the host: %s" % os.listdir(outside))
    return body


def log_json(h):
    def body(ctx):
        ctx.need_moat()
        d = ctx.tmpdir("oci-log")
        log = os.path.join(d, "log.json")
        r = h.run([ctx.moat, "--root", os.path.join(d, "state"), "--log", log,
                   "--log-format", "json", "state", "missing"])
        if r.status != 1:
            h.fail("status %d" % r.status)
        with open(log) as f:
            lines = f.read().splitlines()
        if len(lines) != 1:
            h.fail("log: %r" % lines)
        rec = json.loads(lines[0])
        if rec.get("level") != "error" or "missing" not in rec.get("msg", ""):
            h.fail("log record: %r" % rec)
    return body


def features(h):
    def body(ctx):
        ctx.need_moat()
        r = h.run([ctx.moat, "features"])
        f = json.loads(r.stdout)
        if r.status != 0 or f.get("ociVersionMax", "")[:2] != "1." or \
                "pid" not in f.get("linux", {}).get("namespaces", []):
            h.fail("features: %d %s" % (r.status, h.show(r.stdout)))
    return body


# ---- podman ---------------------------------------------------------------
# podman 4.3 from Debian with runc and with moat as the runtime, on a local
# image imported offline, in a storage root of the test run's own.

PODMAN_FLAGS = ["--cgroup-manager", "cgroupfs", "--events-backend", "none"]
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
_IMAGE = {}
_IMAGE_LOCK = threading.Lock()


def podman(ctx, h, *args, runtime=None, timeout=120):
    store = os.path.join(ctx.scratch, "podman")
    rt = ["--runtime", runtime] if runtime else []
    return h.run(["podman", "--root", os.path.join(store, "storage"),
                  "--runroot", os.path.join(store, "run")] + PODMAN_FLAGS +
                 rt + list(args), timeout=timeout)


def python_rootfs(root):
    """busybox plus /usr/bin/python3.11 with its libraries and standard
    library (no tests): what the python one-liner needs."""
    libs = subprocess.run(["ldd", "/usr/bin/python3.11"],
                          stdout=subprocess.PIPE, text=True).stdout
    for line in libs.splitlines():
        parts = line.split()
        path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0]
        if path.startswith("/"):
            dst = os.path.join(root, path.lstrip("/"))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy(path, dst)
    os.makedirs(os.path.join(root, "usr", "bin"), exist_ok=True)
    shutil.copy("/usr/bin/python3.11", os.path.join(root, "usr", "bin"))
    os.symlink("python3.11", os.path.join(root, "usr", "bin", "python3"))
    shutil.copytree("/usr/lib/python3.11",
                    os.path.join(root, "usr", "lib", "python3.11"),
                    symlinks=True, ignore=shutil.ignore_patterns(
                        "test", "tests", "idlelib", "tkinter", "lib2to3",
                        "ensurepip", "__pycache__", "site-packages",
                        "dist-packages"))
    # Debian keeps the shared objects of the standard library there
    dyn = "/usr/lib/python3.11/lib-dynload"
    if os.path.isdir(dyn) and not os.path.isdir(
            os.path.join(root, dyn.lstrip("/"))):
        shutil.copytree(dyn, os.path.join(root, dyn.lstrip("/")))


def podman_image(ctx, h):
    """localhost/moat-test:1, made once per run from a tar (podman import)."""
    with _IMAGE_LOCK:
        return _podman_image(ctx, h)


def _podman_image(ctx, h):
    if "name" in _IMAGE:
        return _IMAGE["name"]
    if not shutil.which("podman") or not shutil.which("runc"):
        h.skip("podman or runc not installed (tools/deps.sh installs them)")
    ctx.need_busybox()
    d = ctx.tmpdir("podman-image")
    root = make_rootfs(ctx, d)
    for sub in ("proc", "dev", "sys"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n"
                "user:x:1000:1000:user:/home/user:/bin/sh\n")
    python_rootfs(root)
    tar = os.path.join(d, "image.tar")
    subprocess.run(["tar", "-C", root, "-cf", tar, "."], check=True)
    r = podman(ctx, h, "import", "-q", tar, "localhost/moat-test:1")
    if r.status != 0:
        h.fail("podman import: %s" % h.show(r.stderr))
    _IMAGE["name"] = "localhost/moat-test:1"
    return _IMAGE["name"]


def podman_vs_runc(h, name, opts, argv):
    """`podman run` of argv with opts: the same stdout and status with
    moat as the runtime as with runc."""
    def body(ctx):
        ctx.need_moat()
        image = podman_image(ctx, h)
        base = ["run", "--rm", "--network", "none"] + ULIMITS + list(opts)
        got = {}
        for rt in ("runc", ctx.moat):
            got[rt] = podman(ctx, h, *(base + [image] + argv), runtime=rt)
        a, b = got["runc"], got[ctx.moat]
        if a.status != 0 and a.status == b.status == 126:
            h.fail("runc and moat both failed: %s" % h.show(a.stderr))
        if (a.stdout, a.status) != (b.stdout, b.status):
            h.fail("runc: status %d\n%s\nmoat: status %d\n%s\nmoat's "
                   "stderr: %s\n%s" % (a.status, h.show(a.stdout), b.status,
                                       h.show(b.stdout), h.show(b.stderr),
                                       h.diff_text(a.stdout, b.stdout,
                                                   "runc", "moat")))
    return body


PODMAN_SCRIPT = ("echo hi; id; env | grep -v '^HOSTNAME=' | sort; pwd; "
                 "cat /etc/hostname | wc -c; wc -l < /etc/hosts; ulimit -n; "
                 "ls /run/.containerenv; exit 4")
PODMAN_OPTS_SCRIPT = (
    "cat /data/f; touch /data/x 2>&1 | sed 's/.*: //'; echo $FOO; pwd; id; "
    "touch /etc/y 2>&1 | sed 's/.*: //'; echo t > /scratch/t && "
    "cat /scratch/t; ls -ld /scratch | cut -c1-10")
PYTHON_ONE_LINER = ("import sys, os, json; print(sys.version_info[:2], "
                    "os.getcwd(), json.dumps({'a': [1, 2]}), "
                    "sum(range(10**5)))")


def podman_options(h):
    def body(ctx):
        vol = ctx.tmpdir("podman-vol")
        with open(os.path.join(vol, "f"), "w") as f:
            f.write("volfile\n")
        return podman_vs_runc(h, "options", [
            "-v", vol + ":/data:ro", "-e", "FOO=bar", "-w", "/tmp",
            "-u", "1000:1000", "--group-add", "27", "--read-only",
            "--tmpfs", "/scratch", "--memory", "256m", "--pids-limit", "100"],
            ["sh", "-c", PODMAN_OPTS_SCRIPT])(ctx)
    return body


def podman_limits(h):
    """--memory and --pids-limit take effect in moat: 100 MiB into a tmpfs
    under --memory 64m fails with ENOSPC (moat counts in-memory files);
    under --pids-limit 10, starting 20 background sleeps fails (and
    under 100 it does not)."""
    def body(ctx):
        ctx.need_moat()
        image = podman_image(ctx, h)
        r = podman(ctx, h, "run", "--rm", "--network", "none", *ULIMITS,
                   "--memory", "64m", "--tmpfs", "/t", image, "sh", "-c",
                   "dd if=/dev/zero of=/t/f bs=1M count=100 2>&1 | "
                   "grep -c 'No space left'", runtime=ctx.moat)
        if r.stdout.strip() != b"1":
            h.fail("--memory 64m: %s %s" % (h.show(r.stdout),
                                            h.show(r.stderr)))
        script = ("for i in %s; do sleep 1 & done; echo all started"
                  % " ".join(str(i) for i in range(20)))
        for limit, ok in (("100", True), ("10", False)):
            r = podman(ctx, h, "run", "--rm", "--network", "none", *ULIMITS,
                       "--pids-limit", limit, image, "sh", "-c", script,
                       runtime=ctx.moat)
            started = r.status == 0 and r.stdout == b"all started\n"
            if started != ok or (not ok and b"can't fork" not in r.stderr):
                h.fail("--pids-limit %s: status %d, %s %s" % (
                    limit, r.status, h.show(r.stdout), h.show(r.stderr)))
    return body


def podman_stop_and_exec(h):
    """podman run -d, ps shows it, podman exec runs commands in it, stop
    ends it, rm removes it: with moat as with runc, the same output and
    statuses. Stop: a first process that handles SIGTERM exits by its
    handler (status 0); one that does not is a PID namespace's init that
    ignores it, so stop ends it with SIGKILL after -t (status 137)."""
    execs = [
        ([], ["sh", "-c", "echo hi; echo err >&2; id; pwd; echo $HOME; "
              "exit 3"]),
        (["-u", "1000", "-w", "/tmp", "-e", "X=y"],
         ["sh", "-c", "id; pwd; echo $X $HOME"]),
        ([], ["nosuch"]),
        ([], ["sh", "-c", "kill -TERM $$"]),
        # a terminal: conmon's pty (modes, size, CRLF output)
        (["-t"], ["sh", "-c", "stty size; stty -a | head -1 | wc -w; "
                  "echo hi; exit 5"]),
    ]

    def one(ctx, image, runtime, first):
        out = []
        r = podman(ctx, h, "run", "-d", "--network", "none", *ULIMITS, image,
                   "sh", "-c", first, runtime=runtime)
        cid = r.stdout.decode().strip()
        if r.status != 0 or not cid:
            h.fail("%s: run -d: %d %s" % (runtime, r.status,
                                          h.show(r.stderr)))
        try:
            r = podman(ctx, h, "ps", "--format", "{{.ID}} {{.Status}}",
                       runtime=runtime)
            if cid[:12] not in r.stdout.decode() or b"Up" not in r.stdout:
                h.fail("%s: ps: %s" % (runtime, h.show(r.stdout)))
            for opts, argv in execs:
                r = podman(ctx, h, "exec", *opts, cid, *argv, runtime=runtime)
                # the error text of a missing program is the runtime's own
                err = r.stderr if argv != ["nosuch"] else b""
                out.append((argv[0], r.status, r.stdout, err))
            r = podman(ctx, h, "stop", "-t", "2", cid, runtime=runtime)
            if r.status != 0:
                h.fail("%s: stop: %s" % (runtime, h.show(r.stderr)))
            r = podman(ctx, h, "inspect", cid, "--format",
                       "{{.State.Status}} {{.State.ExitCode}}",
                       runtime=runtime)
            out.append(("stop", r.stdout.decode().split()))
        finally:
            podman(ctx, h, "rm", "-f", cid, runtime=runtime)
        return out

    def body(ctx):
        ctx.need_moat()
        image = podman_image(ctx, h)
        for first in ("sleep 60", "trap 'exit 0' TERM; sleep 60 & wait"):
            want = one(ctx, image, "runc", first)
            got = one(ctx, image, ctx.moat, first)
            if got != want:
                h.fail("%r: moat %r, runc %r" % (first, got, want))
    return body


def containerd_vs_runc(h):
    """containerd 1.6 from Debian, a daemon of the test's own: the podman
    image saved as an OCI archive and imported with ctr; `ctr run --rm
    --runc-binary` with runc and with moat gives the same output and
    status (containerd-shim-runc-v2 drives moat with runc's command line:
    create with --pid-file, start, state, kill, delete); so does `ctr
    task exec` into a running task, which KILL then ends."""
    def body(ctx):
        ctx.need_moat()
        if not shutil.which("containerd") or not shutil.which("ctr"):
            h.skip("containerd not installed (tools/deps.sh installs it)")
        image = podman_image(ctx, h)
        d = ctx.tmpdir("containerd")
        sock = os.path.join(d, "sock")
        with open(os.path.join(d, "config.toml"), "w") as f:
            # No CRI plugin: it would listen on a TCP port of the host's
            # (its streaming server), which other tests' native runs may
            # meet; ctr needs only the containerd API on the socket.
            f.write('version = 2\nroot = "%s/root"\nstate = "%s/state"\n'
                    'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
                    '[grpc]\n  address = "%s"\n' % (d, d, sock))
        log = open(os.path.join(d, "log"), "wb")
        daemon = subprocess.Popen(["containerd", "--config",
                                   os.path.join(d, "config.toml")],
                                  stdout=log, stderr=log,
                                  stdin=subprocess.DEVNULL,
                                  start_new_session=True)
        try:
            for _ in range(100):
                if os.path.exists(sock):
                    break
                time.sleep(0.1)
            archive = os.path.join(d, "image.tar")
            r = podman(ctx, h, "save", "--format", "oci-archive", "-o",
                       archive, image)
            if r.status != 0:
                h.fail("podman save: %s" % h.show(r.stderr))
            ctr = ["ctr", "-a", sock]
            r = h.run(ctr + ["image", "import", "--base-name",
                             "localhost/moat-test", archive], timeout=120)
            if r.status != 0:
                h.fail("ctr image import: %s" % h.show(r.stderr))
            got = {}
            for i, rt in enumerate(("runc", ctx.moat)):
                got[rt] = h.run(ctr + ["run", "--rm", "--runc-binary", rt,
                                       image, "moat-test-%d" % i, "sh", "-c",
                                       PODMAN_SCRIPT.replace(
                                           "ls /run/.containerenv; ", "")],
                                timeout=120)
            a, b = got["runc"], got[ctx.moat]
            if (a.stdout, a.status) != (b.stdout, b.status) or a.status != 4:
                h.fail("runc: status %d\n%s\nmoat: status %d\n%s\n%s" % (
                    a.status, h.show(a.stdout), b.status, h.show(b.stdout),
                    h.show(b.stderr)))
            # ctr task exec into a running task (containerd-shim calls
            # exec --process FILE --detach --pid-file), then kill
            for i, rt in enumerate(("runc", ctx.moat)):
                name = "moat-exec-%d" % i
                r = h.run(ctr + ["run", "-d", "--runc-binary", rt, image,
                                 name, "sleep", "60"], timeout=120)
                if r.status != 0:
                    h.fail("%s: ctr run -d: %s" % (rt, h.show(r.stderr)))
                try:
                    x = h.run(ctr + ["task", "exec", "--exec-id", "e1", name,
                                     "sh", "-c", "echo hi; id -u; pwd; "
                                     "echo $PATH; exit 3"], timeout=60)
                    got[rt] = (x.stdout, x.status)
                    h.run(ctr + ["task", "kill", "-s", "KILL", name])
                    for _ in range(100):
                        ls = h.run(ctr + ["task", "ls"]).stdout.decode()
                        if "STOPPED" in "".join(
                                ln for ln in ls.splitlines() if name in ln):
                            break
                        time.sleep(0.1)
                    else:
                        h.fail("%s: kill KILL: the task still runs" % rt)
                finally:
                    h.run(ctr + ["task", "delete", "-f", name])
                    h.run(ctr + ["container", "delete", name])
            if got["runc"] != got[ctx.moat] or got["runc"][1] != 3:
                h.fail("ctr task exec: runc %r, moat %r" % (got["runc"],
                                                            got[ctx.moat]))
        finally:
            os.killpg(daemon.pid, 9)
            daemon.wait()
            log.close()
    return body


def config_fuzz(h):
    """120 random mutations (fixed seed) of a valid config.json, each
    through `moat run --bundle`: a wrong type, a missing or odd value at
    any path. The runtime never dies of a signal, a refusal is status 1
    with a `moat:` line, and no state is left behind."""
    def body(ctx):
        ctx.need_moat()
        ctx.need_busybox()
        import copy
        import random
        rnd = random.Random(11)
        base = config(["sh", "-c", "exit 0"])
        vals = [None, 0, -1, 2 ** 63, "x", "", "/", [], {}, [1], {"a": 1},
                True, 1.5, "../../etc", "/proc/1/ns/net", "rootfs"]

        def paths(o, p=()):
            yield p
            if isinstance(o, dict):
                for k, v in o.items():
                    yield from paths(v, p + (k,))
            elif isinstance(o, list):
                for i, v in enumerate(o):
                    yield from paths(v, p + (i,))
        every = [p for p in paths(base) if p]
        d = bundle(ctx, h, "fuzz", base)
        state = os.path.join(d, "state")
        for it in range(120):
            c = copy.deepcopy(base)
            for _ in range(rnd.randint(1, 3)):
                p = rnd.choice(every)
                o = c
                try:
                    for k in p[:-1]:
                        o = o[k]
                    o[p[-1]] = rnd.choice(vals)
                except (KeyError, IndexError, TypeError):
                    pass
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(c, f)
            r = moat_oci(ctx, h, state, "run", "--bundle", d, "f%d" % it,
                         timeout=60)
            if r.status > 128 and r.status not in (137,) or \
                    (r.status == 1 and not r.stderr.startswith(b"moat: ")):
                h.fail("mutation %d: status %d, %s\n%s" % (
                    it, r.status, h.show(r.stderr), json.dumps(c)))
            if os.path.isdir(state) and os.listdir(state):
                h.fail("mutation %d left state: %s" % (it,
                                                       os.listdir(state)))
    return body


def register_all(ctx, register, h):
    register("fuzz/oci-config", config_fuzz(h))
    register("oci/containerd-ctr-run", containerd_vs_runc(h))
    register("oci/podman-busybox",
             podman_vs_runc(h, "busybox", [], ["sh", "-c", PODMAN_SCRIPT]))
    # -t: process.terminal, the pty's master on conmon's console socket
    register("oci/podman-tty",
             podman_vs_runc(h, "tty", ["-t"],
                            ["sh", "-c", "tty; stty -a | head -1 | wc -w; "
                             "ls -l /proc/self/fd/ | grep -c pts; exit 5"]))
    register("oci/podman-python",
             podman_vs_runc(h, "python", ["-w", "/tmp"],
                            ["python3", "-c", PYTHON_ONE_LINER]))
    register("oci/podman-options", podman_options(h))
    register("oci/podman-limits", podman_limits(h))
    register("oci/podman-exec-and-stop", podman_stop_and_exec(h))
    register("oci/lifecycle", lifecycle(h))
    register("oci/config-env", config_env(h))
    register("oci/config-user-cwd", config_user_cwd(h))
    register("oci/config-rlimits", config_rlimits(h))
    register("oci/config-annotations", config_annotations(h))
    register("oci/config-mounts", config_mounts(h))
    register("oci/run-vs-native", run_vs_native(h))
    register("oci/duplicate-and-unknown", duplicate_and_unknown(h))
    register("oci/log-json", log_json(h))
    register("oci/mount-point-not-through-symlink", mount_point_symlink(h))
    register("oci/features", features(h))
    for name, spoil, words in BAD:
        register("oci/bad-" + name, bad_config(h, name, spoil, words))
