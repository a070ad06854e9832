"""Tests of `moat run` on the host's terminal (docs/ptys.md, "The host's
terminal"), registered by tests/run.py. Each drives moat from the host
side of a real pseudo-terminal (os.openpty; moat is started as the
session leader with the slave as its controlling terminal, 33 rows and
101 columns), types into the master and waits for what an interactive
bash prints, each wait with a deadline and no fixed sleeps. Where it makes
sense the same keystrokes go to a native bash first, the reference: a
check that the native run fails is a broken test, not a pass.

* ^C at a foreground job interrupts the job only: bash prints its prompt
  again, `echo $?` says 130, and the sandbox goes on;
* ^Z stops the job, `jobs` shows it Stopped, `fg` resumes it (its
  SIGCONT trap prints), ^C ends it, `jobs` is empty; ^\\ gives 131;
* the guest sees a terminal: `stty -a` inside prints what it prints
  natively on the same host terminal, `tty` names /dev/pts/N, the
  window size passes through and a resize of the host terminal reaches
  the foreground job as SIGWINCH with the new size;
* the host terminal is raw while moat runs and its termios afterwards
  equals the one before (tcgetattr), also when moat ends by SIGTERM or
  SIGHUP, and with --no-tty it is never touched;
* stdin on the terminal and stdout redirected to a file: the file gets
  the guest's bytes as they are (no \\r), as natively.
"""
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time

h = None  # the tests/run.py module: fail, skip, GUEST_PATH, ...

PROMPT = "PROMPT$ "
PROMPT_RE = rb"PROMPT\$ "
BASH = "/bin/bash"
DEADLINE = 8.0  # seconds for any one expected output


class Term:
    """argv on a new host pseudo-terminal: stdin, and stdout/stderr unless
    given, are its slave, which is argv's controlling terminal."""

    def __init__(self, argv, env, stdout=None, rows=33, cols=101,
                 modes=None):
        self.master, self.slave = os.openpty()
        self.set_size(rows, cols)
        if modes:
            attrs = termios.tcgetattr(self.slave)
            modes(attrs)
            termios.tcsetattr(self.slave, termios.TCSANOW, attrs)
        self.before = termios.tcgetattr(self.slave)
        out = self.slave if stdout is None else stdout

        def child_setup():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(argv, stdin=self.slave, stdout=out,
                                     stderr=self.slave, env=env,
                                     preexec_fn=child_setup)
        self.buf = b""
        self.seen = b""

    def set_size(self, rows, cols):
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ,
                    struct.pack("HHHH", rows, cols, 0, 0))

    def send(self, data):
        os.write(self.master, data)

    def _read(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            return False
        self.buf += chunk
        self.seen += chunk
        return True

    def expect(self, pattern, what):
        """Wait (at most DEADLINE) for pattern; return what came before
        it and the match; fail with what was seen otherwise."""
        end = time.time() + DEADLINE
        while True:
            m = re.search(pattern, self.buf)
            if m:
                before = self.buf[:m.start()]
                self.buf = self.buf[m.end():]
                return before, m
            left = end - time.time()
            if left <= 0 or not self._read(left):
                self.kill()
                h.fail("%s: no %r within %.0f s; the terminal showed:\n%s" %
                       (what, pattern, DEADLINE, h.show(self.seen[-1500:],
                                                        1500)))

    def signal_char(self, char, pattern, what):
        """Type a signal character until pattern shows: even natively
        bash (5.2) now and then loses a ^Z typed right after its job
        printed, so the character is typed again after each second
        without the effect, within the deadline."""
        end = time.time() + DEADLINE
        while True:
            self.send(char)
            step = time.time() + 1.0
            while time.time() < min(step, end):
                m = re.search(pattern, self.buf)
                if m:
                    self.buf = self.buf[m.end():]
                    return m
                self._read(0.05)
            if time.time() >= end:
                return self.expect(pattern, what)[1]

    def command(self, line, what):
        """Type line and Enter; return the output up to the next prompt
        (the echoed line removed)."""
        self.send(line.encode() + b"\r")
        before, _ = self.expect(PROMPT_RE, what)
        text = before.decode(errors="replace").replace("\r\n", "\n")
        echo = text.find(line + "\n")
        if echo < 0:
            h.fail("%s: the terminal did not echo %r: %r" % (what, line, text))
        return text[echo + len(line) + 1:]

    def wait(self, timeout=DEADLINE):
        end = time.time() + timeout
        while self.proc.poll() is None and time.time() < end:
            self._read(0.05)
        if self.proc.poll() is None:
            self.kill()
            h.fail("did not end within %.0f s" % timeout)
        return self.proc.returncode

    def termios_now(self):
        return termios.tcgetattr(self.slave)

    def kill(self):
        """End the process and everything of its session (a native
        bash's jobs outlive it)."""
        sid = self.proc.pid
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[3]) == sid:
                    os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError, IndexError):
                pass

    def close(self):
        self.kill()
        os.close(self.master)
        os.close(self.slave)


def _env(ctx):
    return {"PATH": h.GUEST_PATH, "HOME": ctx.home, "TZ": "UTC",
            "TERM": "dumb", "PS1": PROMPT, "HISTFILE": "/dev/null"}


def _bash_argv(ctx, native, opts=()):
    argv = [BASH, "--norc", "--noprofile", "-i"]
    if native:
        return argv
    env = []
    for k, v in _env(ctx).items():
        if k not in ("PATH", "HOME", "TZ"):
            env += ["--env", "%s=%s" % (k, v)]
    return ctx.moat_run(*env, *opts, "--", *argv)


def _need(ctx):
    ctx.need_moat()
    if not os.access(BASH, os.X_OK):
        h.skip("no %s on the host" % BASH)


def _both(ctx, body):
    """body(term, label) natively, then inside moat; each bash ends with
    `exit 7`, which must be moat's status too."""
    _need(ctx)
    for native in (True, False):
        label = "native bash" if native else "moat run bash"
        t = Term(_bash_argv(ctx, native), _env(ctx))
        try:
            t.expect(PROMPT_RE, label + ": the first prompt")
            body(t, label)
            t.send(b"exit 7\r")
            status = t.wait()
            if status != 7:
                h.fail("%s: exit 7 gave status %d" % (label, status))
        finally:
            t.close()


# A foreground job that says when it runs (bash gave it the terminal
# before it could print: bash's child takes the terminal itself before
# exec), so a signal character typed after that reaches it; the marker
# is computed, so the echoed command line does not match it.
JOB = "sh -c 'echo S$((6*7)); exec sleep 30'"


def ctrl_c(ctx):
    def body(t, label):
        t.send(JOB.encode() + b"\r")
        t.expect(rb"S42", label + ": the job started")
        t.signal_char(b"\x03", PROMPT_RE, label + ": the prompt after ^C")
        out = t.command("echo $?", label + ": echo $?")
        if out.strip() != "130":
            h.fail("%s: $? after ^C is %r, not 130" % (label, out))
        out = t.command("echo alive $((40+2))", label + ": still alive")
        if out.strip() != "alive 42":
            h.fail("%s: the shell after ^C printed %r" % (label, out))
    _both(ctx, body)


def ctrl_backslash(ctx):
    def body(t, label):
        t.send(JOB.encode() + b"\r")
        t.expect(rb"S42", label + ": the job started")
        t.signal_char(b"\x1c", rb"Quit", label + ": bash reports Quit")
        t.expect(PROMPT_RE, label + ": the prompt after ^\\")
        out = t.command("echo $?", label + ": echo $?")
        if out.strip() != "131":
            h.fail("%s: $? after ^\\ is %r, not 131" % (label, out))
    _both(ctx, body)


def ctrl_z_jobs_fg(ctx):
    # One process that says when it runs and when it is continued (a
    # shell loop that forks now and then loses a ^Z, natively too).
    job = ("python3 -c 'import os, signal, time; signal.signal("
           "signal.SIGCONT, lambda *a: os.write(1, b\"C\" + b\"42\\n\")); "
           "os.write(1, b\"T\" + b\"42\\n\"); time.sleep(60)'")
    if not os.access("/usr/bin/python3", os.X_OK):
        h.skip("no /usr/bin/python3 on the host")

    def body(t, label):
        t.send(job.encode() + b"\r")
        t.expect(rb"T42", label + ": the job started")
        t.signal_char(b"\x1a", rb"Stopped",
                      label + ": bash reports the job Stopped")
        t.expect(PROMPT_RE, label + ": the prompt after ^Z")
        out = t.command("jobs", label + ": jobs")
        if not re.match(r"\[1\]\+ +Stopped +python3 -c", out):
            h.fail("%s: jobs printed %r" % (label, out))
        # bg: the stopped job goes on in the background (its CONT trap
        # prints; that line and bash's prompt come in either order)
        t.send(b"bg\r")
        t.expect(rb"(?s)C42.*" + PROMPT_RE + rb"|" + PROMPT_RE + rb".*C42",
                 label + ": bg continued the job, and the prompt")
        out = t.command("jobs", label + ": jobs after bg")
        if not re.match(r"\[1\]\+ +Running +python3 -c", out):
            h.fail("%s: jobs after bg printed %r" % (label, out))
        # fg: in front again (bash names it), ^C ends it
        t.send(b"fg\r")
        t.expect(rb"fg\r\n[^\n]*python3 -c[^\n]*\n",
                 label + ": fg names the job")
        t.signal_char(b"\x03", PROMPT_RE,
                      label + ": the prompt after fg and ^C")
        out = t.command("echo $?; jobs", label + ": echo $?; jobs")
        if out.strip() != "130":
            h.fail("%s: after fg and ^C: %r (want 130 and no job)" %
                   (label, out))
    _both(ctx, body)


def stty_tty_winsize(ctx):
    """`stty -a` inside equals the native one on the same terminal (the
    console takes the host terminal's modes and size), `tty` names a
    pseudo-terminal, and a resize reaches the foreground job."""
    results = {}

    def body(t, label):
        results[label] = t.command("stty -a", label + ": stty -a")
        tty = t.command("tty", label + ": tty").strip()
        if not re.fullmatch(r"/dev/pts/\d+", tty):
            h.fail("%s: tty printed %r" % (label, tty))
        size = t.command("stty size", label + ": stty size").strip()
        if size != "33 101":
            h.fail("%s: stty size printed %r, not '33 101'" % (label, size))
        t.send(b"sh -c 'trap \"stty size\" WINCH; echo W$((6*7)); "
               b"while :; do sleep 0.1; done'\r")
        t.expect(rb"W42", label + ": the resize job started")
        t.set_size(40, 120)
        t.expect(rb"40 120", label + ": the new size after SIGWINCH")
        t.signal_char(b"\x03", PROMPT_RE, label + ": the prompt after ^C")
    _both(ctx, body)
    native, moat = results["native bash"], results["moat run bash"]
    if native != moat:
        h.fail("stty -a differs:\n native: %r\n moat:   %r" % (native, moat))
    if "icanon" not in moat or "-icanon" in moat:
        h.fail("stty -a inside does not show a cooked terminal: %r" % moat)


def _raw(attrs):
    lflag = attrs[3]
    return not lflag & (termios.ECHO | termios.ICANON | termios.ISIG)


def termios_restored(ctx):
    """Raw while moat runs; exactly as before after a normal end, a
    SIGTERM and a SIGHUP of moat; untouched with --no-tty."""
    _need(ctx)
    for how in ("exit", signal.SIGTERM, signal.SIGHUP, "no-tty"):
        opts = ("--no-tty",) if how == "no-tty" else ()
        # a cooked terminal whose modes differ from the defaults, so that
        # a restore to defaults would not pass for a restore
        def modes(attrs):
            attrs[6][termios.VERASE] = b"\x08"
            attrs[3] |= termios.ECHOCTL | termios.ECHOKE
            attrs[3] &= ~termios.ECHOE

        t = Term(_bash_argv(ctx, False, opts), _env(ctx), modes=modes)
        try:
            t.expect(PROMPT_RE, "%s: the first prompt" % how)
            during = t.termios_now()
            if how == "no-tty":
                # bash's readline changes it while it reads a line: look
                # while a command runs instead
                t.send(b"sleep 1 && echo D$((6*7))\r")
                t.expect(rb"D42", "--no-tty: a command ran")
                t.expect(PROMPT_RE, "--no-tty: the prompt")
            elif not _raw(during):
                h.fail("%s: the host terminal is not raw while moat runs: "
                       "lflag %#x" % (how, during[3]))
            if how in ("exit", "no-tty"):
                t.send(b"exit 5\r")
                status, want = t.wait(), 5
            else:
                t.proc.send_signal(how)
                status, want = t.wait(), 128 + how
            if status != want:
                h.fail("%s: moat's status %d, not %d" % (how, status, want))
            after = t.termios_now()
            if after != t.before:
                h.fail("%s: the host terminal's termios after moat differs:"
                       "\n before %r\n after  %r" % (how, t.before, after))
        finally:
            t.close()


def stdout_redirected(ctx):
    """stdin on the terminal, stdout a file: the guest's stdout is the
    file, untouched by the terminal's output processing (no \\r), its
    stdin and stderr the terminal; as natively."""
    _need(ctx)
    d = ctx.tmpdir("terminal-redirect")
    script = "tty; echo out; test -t 1 || echo not-a-tty; echo err >&2"
    outs = {}
    for native in (True, False):
        path = os.path.join(d, "native" if native else "moat")
        argv = ["/bin/sh", "-c", script]
        if not native:
            argv = ctx.moat_run("--", *argv)
        with open(path, "wb") as f:
            t = Term(argv, _env(ctx), stdout=f)
            try:
                t.expect(rb"err\r\n", path + ": stderr on the terminal")
                status = t.wait()
            finally:
                t.close()
        if status != 0:
            h.fail("%s: status %d" % (path, status))
        with open(path, "rb") as f:
            outs[native] = f.read()
    pat = rb"/dev/pts/\d+\nout\nnot-a-tty\n"
    for native, data in outs.items():
        if not re.fullmatch(pat, data):
            h.fail("%s: stdout file holds %r" %
                   ("native" if native else "moat", data))


def register(register_fn, run_module):
    global h
    h = run_module
    register_fn("terminal/ctrl-c-interrupts-job-only", ctrl_c)
    register_fn("terminal/ctrl-backslash-quits-job", ctrl_backslash)
    register_fn("terminal/ctrl-z-jobs-fg-bg", ctrl_z_jobs_fg)
    register_fn("terminal/stty-tty-winsize", stty_tty_winsize)
    register_fn("terminal/termios-restored", termios_restored)
    register_fn("terminal/stdout-redirected", stdout_redirected)
