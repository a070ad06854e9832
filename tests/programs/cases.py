"""Real-program cases for tests/run.py: Debian busybox-static applets.

Each case is a sequence of single busybox invocations (there is no fork yet,
so no shell pipelines). tests/run.py runs the sequence twice on two identical
copies of the fixture tree below: natively with the copy as the working
directory, and inside moat with the other copy mounted read-write at /w and
--cwd /w. Every step must give the same stdout and exit status (and stderr
where a case asks for it), and afterwards both trees must be identical, which
also proves that writes through a read-write mount reach the host.

A step is (argv, options); options may hold:
  stdin   bytes fed to the program
  sort    compare the lines sorted (the order of directory entries is the
          file system's, not the program's)
  tar     compare a tar stream member by member, in any order (same reason)
  write   (--root image steps) the step writes: the native side gets a
          fresh copy of the fixture
  stderr  compare stderr too
"""

# Fixed times for everything in the fixture, so ls -l, stat, tar and gzip
# headers are the same natively and inside moat.
FIXTURE_MTIME = 1672628645  # 2023-01-02 03:04:05 UTC

FIXTURE = {
    "a.txt": b"apple\nbanana\ncherry\napple\n",
    "b.txt": b"one two three\nfour five\n",
    "nums.txt": b"10\n2\n33\n2\n5\n",
    "data.csv": b"name:age:city\nann:31:oslo\nbob:25:rome\ncid:47:lima\n",
    "sub/c.txt": b"deep file\nwith apple\n",
    "sub/d.md": b"# title\n",
    "sub/inner/e.txt": b"e\n",
    "bin.dat": bytes(range(256)),
    "sub/with space.txt": b"spaced name\n",
    "sub/\u00fcn\u00efcode.txt": "caf\u00e9 \u2603\n".encode(),
}


def _small_tar():
    """A tar stream for `tar xf -` (built here so nothing on disk is
    needed)."""
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in (("x/one.txt", b"one\n"), ("x/two.txt", b"two\n")):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(data), FIXTURE_MTIME, 0o644
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


SMALL_TAR = _small_tar()


def _many_tar():
    """200 files of assorted sizes (up to 100 KB) under parts/."""
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        ti = tarfile.TarInfo("parts")
        ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, FIXTURE_MTIME
        tf.addfile(ti)
        for i in range(200):
            data = bytes((i * 7 + j) % 251 for j in range((i * 4099) % 100000))
            ti = tarfile.TarInfo("parts/p%03d" % i)
            ti.size, ti.mtime, ti.mode = len(data), FIXTURE_MTIME, 0o644
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


MANY_TAR = _many_tar()


def step(*argv, **options):
    return (list(argv), options)


S = True  # shorthand for sort=S

CASES = {
    "echo": [
        step("echo", "hello", "world"),
        step("echo", "-n", "no newline"),
        step("echo", "-e", "a\\tb\\nc"),
    ],
    "cat": [
        step("cat", "a.txt", "b.txt"),
        step("cat", "-n", "a.txt"),
        step("cat", stdin=b"from stdin\nline 2\n"),
        step("cat", stdin=bytes(range(256)) * 8192),  # 2 MiB through
        step("cat", "a.txt", "-", "b.txt", stdin=b"middle\n"),
        step("cat", "missing", stderr=True),
        step("cat", "sub", stderr=True),
    ],
    "ls": [
        step("ls", "-la", "sub"),
        step("ls", "-ln", "sub"),
        step("ls", "-l", "a.txt", "bin.dat", "sub/c.txt"),
        step("ls", "-1", "sub"),
        step("ls", "-lR", "sub"),
        step("ls", "-a"),
        step("ls", "missing", stderr=True),
    ],
    "wc": [
        step("wc", "a.txt", "b.txt"),
        step("wc", "-l", "a.txt"),
        step("wc", "-w", "-c", stdin=b"three little words\n"),
    ],
    "sort": [
        step("sort", "a.txt"),
        step("sort", "-r", "a.txt"),
        step("sort", "-n", "nums.txt"),
        step("sort", "-u", "a.txt"),
        step("sort", "-t:", "-k2", "-n", "data.csv"),
        step("sort", stdin=b"b\na\nc\n"),
    ],
    "uniq": [
        step("uniq", stdin=b"a\na\nb\nc\nc\nc\n"),
        step("uniq", "-c", stdin=b"a\na\nb\nc\nc\nc\n"),
        step("uniq", "-d", stdin=b"a\na\nb\nc\nc\nc\n"),
        step("uniq", "a.txt"),
    ],
    "head": [
        step("head", "-n", "2", "a.txt"),
        step("head", "-c", "5", "b.txt"),
        step("head", "a.txt", "b.txt"),
    ],
    "tail": [
        step("tail", "-n", "2", "a.txt"),
        step("tail", "-c", "6", "b.txt"),
        step("tail", "-n", "+3", "a.txt"),
    ],
    "cut": [
        step("cut", "-d:", "-f1,3", "data.csv"),
        step("cut", "-c", "1-3", "a.txt"),
    ],
    "tr": [
        step("tr", "a-z", "A-Z", stdin=b"Hello, World\n"),
        step("tr", "-d", "aeiou", stdin=b"education\n"),
        step("tr", "-s", " ", stdin=b"a    b  c\n"),
    ],
    "sha256sum": [
        step("sha256sum", "a.txt", "bin.dat", "sub/c.txt"),
        step("sha256sum", stdin=b"abc"),
    ],
    "md5sum": [
        step("md5sum", "a.txt", "bin.dat"),
        step("md5sum", stdin=b""),
    ],
    "base64": [
        step("base64", "bin.dat"),
        step("base64", "-d", stdin=b"aGVsbG8gd29ybGQK\n"),
    ],
    "find": [
        step("find", ".", sort=S),
        step("find", ".", "-name", "*.txt", sort=S),
        step("find", "sub", "-type", "d", sort=S),
        step("find", ".", "-type", "f", "-size", "-1k", sort=S),
        step("find", "missing", stderr=True),
    ],
    "grep": [
        step("grep", "-r", "apple", ".", sort=S),
        step("grep", "-ri", "APPLE", "sub", sort=S),
        step("grep", "-rl", "e", ".", sort=S),
        step("grep", "-n", "an", "a.txt"),
        step("grep", "-c", "apple", "a.txt"),
        step("grep", "-v", "apple", "a.txt"),
        step("grep", "-E", "^(one|four)", "b.txt"),
        step("grep", "nomatch", "a.txt"),
    ],
    "sed": [
        step("sed", "s/apple/APPLE/g", "a.txt"),
        step("sed", "-n", "2p", "a.txt"),
        step("sed", "-e", "1d", "-e", "s/a/4/g", "a.txt"),
        step("sed", "-i", "s/one/ONE/", "b.txt"),
        step("cat", "b.txt"),
    ],
    "awk": [
        step("awk", "-F:", "{print $2}", "data.csv"),
        step("awk", "{s += $1} END {print s, NR}", "nums.txt"),
        step("awk", 'BEGIN {printf "%d %s %.3f\\n", 42, "x", 1/3}'),
        step("awk", "length($0) > 5", "a.txt"),
    ],
    "tar": [
        step("tar", "cf", "out.tar", "sub", "a.txt"),
        step("tar", "tvf", "out.tar"),
        step("sha256sum", "out.tar"),
        step("mkdir", "x"),
        step("tar", "xf", "out.tar", "-C", "x"),
        step("find", "x", sort=S),
        step("cat", "x/sub/c.txt", "x/a.txt"),
        step("ls", "-l", "x/sub"),
        step("tar", "cf", "-", "sub"),
        step("tar", "xf", "missing.tar", stderr=True),
    ],
    "gzip": [
        step("gzip", "-k", "a.txt"),
        step("sha256sum", "a.txt.gz"),
        step("gunzip", "-c", "a.txt.gz"),
        step("gzip", "b.txt"),
        step("ls", "-1"),
        step("gunzip", "b.txt.gz"),
        step("cat", "b.txt"),
        step("gzip", "-c", stdin=b"stream data\n" * 10),
        step("gunzip", "-t", "a.txt.gz"),
    ],
    "cp": [
        step("cp", "a.txt", "copy.txt"),
        step("cat", "copy.txt"),
        step("cp", "-r", "sub", "sub2"),
        step("find", "sub2", sort=S),
        step("cp", "-p", "a.txt", "p.txt"),
        step("ls", "-l", "p.txt"),
        step("cp", "missing", "x", stderr=True),
        step("cp", "a.txt", "sub"),
        step("cat", "sub/a.txt"),
    ],
    "mv": [
        step("mv", "a.txt", "moved.txt"),
        step("mv", "sub", "sub-moved"),
        step("mv", "b.txt", "sub-moved/inner"),
        step("ls", "-1"),
        step("ls", "-1", "sub-moved/inner"),
        step("mv", "missing", "x", stderr=True),
    ],
    "rm": [
        step("rm", "a.txt"),
        step("rm", "-r", "sub"),
        step("rm", "missing", stderr=True),
        step("rm", "-f", "missing"),
        step("rm", "nums.txt", "data.csv"),
        step("ls", "-1"),
    ],
    "mkdir": [
        step("mkdir", "-p", "p/q/r"),
        step("mkdir", "p", stderr=True),
        step("mkdir", "-p", "p/q"),
        step("mkdir", "-m", "700", "m"),
        step("stat", "-c", "%a %F", "m", "p/q/r"),
        step("find", "p", sort=S),
        step("mkdir", "a.txt/x", stderr=True),
    ],
    "ln": [
        step("ln", "-s", "a.txt", "link"),
        step("readlink", "link"),
        step("cat", "link"),
        step("ln", "a.txt", "hard"),
        step("stat", "-c", "%h %s", "a.txt", "hard"),
        step("ln", "-s", "a.txt", "link", stderr=True),
        step("ln", "-sf", "b.txt", "link"),
        step("cat", "link"),
        step("ln", "-s", "../a.txt", "sub/up"),
        step("cat", "sub/up"),
    ],
    "stat": [
        step("stat", "-c", "%n %s %a %F %h %Y", "a.txt", "bin.dat", "sub/c.txt"),
        step("stat", "-c", "%n %a %F %Y", "sub"),
        step("stat", "-c", "%u %g %U %G", "a.txt"),
        step("touch", "-d", "2020-02-03 04:05:06", "a.txt"),
        step("stat", "-c", "%Y", "a.txt"),
        step("stat", "missing", stderr=True),
    ],
    "od": [
        step("od", "-c", "b.txt"),
        step("od", "-An", "-tx1", "-N", "16", "bin.dat"),
        step("od", "-tx2", "bin.dat"),
    ],
    "seq": [
        step("seq", "5"),
        step("seq", "2", "3", "11"),
        step("seq", "-s", ",", "1", "5"),
        step("seq", "5", "-1", "1"),
        step("seq", "1", "200000"),  # a large output
    ],
    "printf": [
        step("printf", "%s-%d|%5.2f\\n", "x", "42", "3.14159"),
        step("printf", "%x %o %c\\n", "255", "8", "A"),
        step("printf", "%s\\n", "a", "b", "c"),
    ],
    "expr": [
        step("expr", "1", "+", "2"),
        step("expr", "3", "*", "4"),
        step("expr", "length", "hello"),
        step("expr", "1", "=", "2"),
        step("expr", "abc", ":", "a\\(.\\)"),
    ],
    # the shell's builtins only: no command here makes ash fork
    "sh": [
        step("sh", "-c", "echo a; x=5; echo $((x * 2)); test -f a.txt && "
             "echo yes; for i in 1 2 3; do printf '%s,' $i; done; echo; "
             "set -- p q r; echo $# $2; cd sub && echo *; exit 3"),
        step("sh", "-c", "echo hi > f.txt; echo more >> f.txt; echo err >&2; "
             "cat_unused=1; [ -s f.txt ] && echo nonempty", stderr=True),
        step("cat", "f.txt"),
        step("sh", "-c", "echo 'echo from script; exit 4' > s.sh; . ./s.sh"),
        step("sh", "-c", "exit 300"),
        step("sh", "-c", "kill -TERM $$; echo survived"),
    ],
    # `read` waits for input with poll(2)
    "sh-read": [
        step("sh", "-c", "read a b < b.txt; echo \"[$a] [$b]\""),
        step("sh", "-c", "while read line; do echo \"<$line>\"; done < a.txt"),
        step("sh", "-c", "read x; echo got $x", stdin=b"typed\n"),
    ],
    # large files and many files through the rw mount
    "bigfiles": [
        step("dd", "if=/dev/zero", "of=big", "bs=65536", "count=130"),
        step("sha256sum", "big"),
        step("cp", "big", "big2"),
        step("cmp", "big", "big2"),
        step("tar", "xf", "-", stdin=MANY_TAR),
        step("ls", "parts"),
        step("md5sum", "parts/p000", "parts/p001", "parts/p123", "parts/p199"),
        step("wc", "-c", "parts/p024", "parts/p150"),
        step("tar", "cf", "parts.tar", "parts"),
        step("tar", "tf", "parts.tar", sort=S),
        step("rm", "-r", "parts"),
        step("tar", "xf", "parts.tar"),
        step("find", "parts", "-type", "f", "-size", "+50k", sort=S),
        step("md5sum", "parts/p001", "parts/p199"),
        # its directory header holds a time of this run: not compared
        step("rm", "parts.tar"),
        step("truncate", "-s", "5000000", "big2"),
        step("sha256sum", "big2"),
        step("wc", "-c", "big2"),
    ],
    "misc": [
        step("true"),
        step("false"),
        step("basename", "/a/b/c.txt", ".txt"),
        step("dirname", "/a/b/c.txt"),
        step("uname", "-s", "-m"),
        step("env"),
        step("hostname"),
        step("touch", "new-empty"),
        step("stat", "-c", "%s %F", "new-empty"),
        step("truncate", "-s", "100", "new-empty"),
        step("stat", "-c", "%s", "new-empty"),
        step("chmod", "600", "a.txt"),
        step("stat", "-c", "%a", "a.txt"),
        step("rmdir", "sub", stderr=True),
        step("cmp", "a.txt", "b.txt"),
        step("diff", "a.txt", "b.txt"),
        step("xxd", "-l", "32", "bin.dat"),
        step("yes", "--help"),
    ],
}

# Read-only steps for --root IMAGE.tar: the image holds busybox, /etc/passwd
# and /etc/group, and the fixture under /data (the working directory).
TAR_ROOT_STEPS = [
    step("cat", "a.txt", "b.txt"),
    step("ls", "-l", "a.txt", "bin.dat", "sub/c.txt", "sub/d.md"),
    step("ls", "-1a", "sub"),
    step("wc", "a.txt", "b.txt"),
    step("sort", "-n", "nums.txt"),
    step("uniq", "-c", stdin=b"x\nx\ny\n"),
    step("head", "-n", "2", "a.txt"),
    step("tail", "-n", "2", "a.txt"),
    step("cut", "-d:", "-f2", "data.csv"),
    step("tr", "a-z", "A-Z", stdin=b"tar root\n"),
    step("sha256sum", "a.txt", "bin.dat"),
    step("md5sum", "sub/c.txt"),
    step("base64", "b.txt"),
    step("find", ".", sort=S),
    step("grep", "-r", "apple", ".", sort=S),
    step("sed", "s/a/A/g", "a.txt"),
    step("awk", "-F:", "{print $1}", "data.csv"),
    step("tar", "cf", "-", "sub", tar=True),
    step("gzip", "-c", "a.txt"),
    step("stat", "-c", "%n %s %a %F %Y", "a.txt", "sub/c.txt"),
    step("od", "-An", "-tx1", "-N", "8", "bin.dat"),
    step("seq", "3"),
    step("printf", "%s=%d\\n", "k", "7"),
    step("expr", "6", "/", "2"),
    step("echo", "hello"),
    # writes land in the in-memory layer: they succeed
    step("cp", "a.txt", "copy.txt", write=True),
    step("mkdir", "-p", "new/dir", write=True),
    step("rm", "b.txt", write=True),
    step("mv", "nums.txt", "n.txt", write=True),
    step("ln", "-s", "a.txt", "l", write=True),
    step("tar", "xvf", "-", stdin=SMALL_TAR, write=True),
]

# Writes into a read-only --mount: each must fail with status 1 and say
# "Read-only file system" on stderr. Paths are relative to the mount.
RO_WRITE_STEPS = [
    step("touch", "new"),
    step("rm", "a.txt"),
    step("mkdir", "x"),
    step("cp", "a.txt", "copy"),
    step("mv", "a.txt", "z.txt"),
    step("sed", "-i", "s/a/b/", "a.txt"),
    step("ln", "-s", "a.txt", "l"),
    step("chmod", "600", "a.txt"),
    step("rmdir", "sub/inner"),
]

# Programs that make a pseudo-terminal inside and run something on it
# (issue 9, item 5): name -> argv, run natively and inside moat with
# stdin from /dev/null. "{p}" is this directory (mounted at /p inside).
# The outputs are compared once every /dev/pts/N reads /dev/pts/N: the
# host's numbers are not the sandbox's.
PTY_SPAWN = ("import pty, sys; sys.exit(pty.spawn(['/bin/sh', '-c', "
             "'tty; stty size; stty -a | head -1; printf \"a\\\\tb\\\\n\"; "
             "stty -echo; stty | tail -1; exit 3']) >> 8)")
PTY_PROGRAMS = {
    "script-tty-stty": ["script", "-qc", "tty; stty -a", "/dev/null"],
    "script-exit-status": ["script", "-qec", "tty -s && echo on a tty; "
                           "exit 5", "/dev/null"],
    "python-pty-spawn": ["/usr/bin/python3", "-c", PTY_SPAWN],
    "python-pty-drive": ["/usr/bin/python3", "{p}/pty_drive.py"],
}
