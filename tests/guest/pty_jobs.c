/* Job control on a pseudo-terminal made inside: a session leader (setsid,
 * then open of the slave without O_NOCTTY) gets it as controlling
 * terminal; ^C, ^Z and ^\ typed on the master signal the foreground group
 * only; a background group that changes the termios, writes under TOSTOP
 * or reads gets SIGTTOU/SIGTTIN (and stops), unless it ignores them; an
 * orphaned group gets EIO; tcsetpgrp's errors; SIGWINCH; TIOCNOTTY and
 * TIOCSCTTY; the master's close hangs up the session leader.
 *
 * One process (the session leader) prints; its children report by exit
 * status or through a pipe, and every step waits for the one before. */
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>

#include "guest.h"

static int m = -1, s = -1;
static volatile sig_atomic_t g_winch;

static void on_winch(int sig) {
  g_winch++;
}

static void status(const char *label, pid_t pid, int options) {
  int st = 0;
  pid_t r = waitpid(pid, &st, options);
  if (r < 0)
    printf("%s: waitpid -1 %s\n", label, errname(errno));
  else if (WIFEXITED(st))
    printf("%s: exited %d\n", label, WEXITSTATUS(st));
  else if (WIFSIGNALED(st))
    printf("%s: killed by %s\n", label, strsignal(WTERMSIG(st)));
  else if (WIFSTOPPED(st))
    printf("%s: stopped by %s\n", label, strsignal(WSTOPSIG(st)));
  else if (WIFCONTINUED(st))
    printf("%s: continued\n", label);
}

/* What the master has to read, up to a marker the slave writes. */
static void echoed(const char *label) {
  char buf[512];
  ssize_t n = 0;
  if (write(s, "@@", 2) != 2) {
    printf("%s: marker write failed %s\n", label, errname(errno));
    return;
  }
  while (n < (ssize_t)sizeof(buf)) {
    ssize_t r = read(m, buf + n, sizeof(buf) - (size_t)n);
    if (r <= 0) {
      printf("%s: master read %zd %s\n", label, r, errname(errno));
      return;
    }
    n += r;
    if (n >= 2 && buf[n - 2] == '@' && buf[n - 1] == '@')
      break;
  }
  printf("%s: [", label);
  for (ssize_t i = 0; i < n - 2; i++) {
    unsigned char c = (unsigned char)buf[i];
    if (c == '\n')
      printf("\\n");
    else if (c == '\r')
      printf("\\r");
    else if (c < 0x20 || c >= 0x7f)
      printf("\\x%02x", c);
    else
      putchar(c);
  }
  printf("]\n");
}

static void type(const char *in) {
  if (write(m, in, strlen(in)) != (ssize_t)strlen(in))
    printf("master write failed %s\n", errname(errno));
}

/* A child in a process group of its own (set on both sides, so the
 * parent may rely on it at once). */
static pid_t child_group(void) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    signal(SIGTTOU, SIG_DFL);
    signal(SIGTTIN, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    return 0;
  }
  setpgid(pid, pid);
  return pid;
}

static int err_code(int r) {
  return r < 0 ? (errno == EIO ? 5 : errno == EINTR ? 4 : 9) : 0;
}

static void session_leader(const char *name) {
  R("TIOCGPGRP before setsid", ioctl(s, TIOCGPGRP, &(int){0}));
  R("setsid", setsid() > 0 ? 0 : -1);
  R("open /dev/tty without a terminal", open("/dev/tty", O_RDWR));
  int fd = open(name, O_RDWR); /* without O_NOCTTY: our terminal now */
  R("open the slave", fd >= 0 ? 0 : -1);
  close(s);
  s = fd;
  FACT("tcgetpgrp is our group", tcgetpgrp(s) == getpgrp());
  FACT("tcgetsid is our session", tcgetsid(s) == getsid(0));
  int sid = -1;
  R("TIOCGSID on the master", ioctl(m, TIOCGSID, &sid));
  FACT("the master's TIOCGSID is our session", sid == getsid(0));
  R("TIOCSCTTY again", ioctl(s, TIOCSCTTY, 0));
  int tty = open("/dev/tty", O_RDWR);
  R("open /dev/tty", tty >= 0 ? 0 : -1);
  R("isatty /dev/tty", isatty(tty));
  if (write(tty, "via /dev/tty\n", 13) != 13)
    printf("write /dev/tty failed\n");
  echoed("/dev/tty output");
  int m2, s2;
  openpty(&m2, &s2, NULL, NULL, NULL);
  R("TIOCSCTTY of a second terminal", ioctl(s2, TIOCSCTTY, 0));

  /* we give the terminal away and take it back from the background */
  signal(SIGTTOU, SIG_IGN);
  signal(SIGHUP, SIG_IGN);

  pid_t f = child_group();
  if (f == 0) {
    for (;;)
      pause();
  }
  R("tcsetpgrp to a child's group", tcsetpgrp(s, f));
  FACT("tcgetpgrp is the child's", tcgetpgrp(s) == f);
  type("\x03");
  status("^C", f, 0);
  echoed("^C echo");
  R("tcsetpgrp back (SIGTTOU ignored)", tcsetpgrp(s, getpgrp()));

  f = child_group();
  if (f == 0) {
    setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
    for (;;)
      pause();
  }
  tcsetpgrp(s, f);
  type("\x1a");
  status("^Z", f, WUNTRACED);
  kill(f, SIGCONT);
  status("SIGCONT", f, WCONTINUED);
  type("\x1c");
  status("^\\", f, 0);
  echoed("^Z ^\\ echo");
  tcsetpgrp(s, getpgrp());
  type("typed\n");
  char line[64];
  ssize_t n = read(s, line, sizeof(line));
  printf("foreground read: %zd\n", n);
  echoed("typed echo");

  /* background groups */
  struct termios t;
  tcgetattr(s, &t);
  f = child_group();
  if (f == 0)
    _exit(err_code(tcsetattr(s, TCSANOW, &t)));
  status("background tcsetattr", f, WUNTRACED);
  tcsetpgrp(s, f);
  kill(f, SIGCONT);
  status("then in the foreground", f, 0);
  tcsetpgrp(s, getpgrp());

  f = child_group();
  if (f == 0) {
    signal(SIGTTOU, SIG_IGN);
    _exit(err_code(tcsetattr(s, TCSANOW, &t)));
  }
  status("background tcsetattr, SIGTTOU ignored", f, 0);
  f = child_group();
  if (f == 0) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTTOU);
    sigprocmask(SIG_BLOCK, &set, NULL);
    _exit(err_code(tcsetpgrp(s, getpgrp())));
  }
  status("background tcsetpgrp, SIGTTOU blocked", f, 0);
  tcsetpgrp(s, getpgrp());

  f = child_group();
  if (f == 0)
    _exit(err_code((int)write(s, "bg write\n", 9)));
  status("background write", f, 0);
  echoed("background write echo");
  t.c_lflag |= TOSTOP;
  tcsetattr(s, TCSANOW, &t);
  f = child_group();
  if (f == 0)
    _exit(err_code((int)write(s, "bg write\n", 9)));
  status("background write, TOSTOP", f, WUNTRACED);
  kill(f, SIGKILL);
  status("killed", f, 0);
  t.c_lflag &= ~TOSTOP;
  tcsetattr(s, TCSANOW, &t);

  f = child_group();
  if (f == 0)
    _exit(err_code((int)read(s, line, sizeof(line))));
  status("background read", f, WUNTRACED);
  kill(f, SIGKILL);
  status("killed", f, 0);
  f = child_group();
  if (f == 0) {
    signal(SIGTTIN, SIG_IGN);
    _exit(err_code((int)read(s, line, sizeof(line))));
  }
  status("background read, SIGTTIN ignored", f, 0);

  /* an orphaned background group: its reads and changes are EIO */
  int pfd[2];
  if (pipe(pfd) < 0)
    return;
  f = child_group();
  if (f == 0) {
    pid_t parent = getpid();
    if (fork() == 0) {
      while (getppid() == parent)
        usleep(1000);
      char r[3];
      r[0] = (char)('0' + err_code((int)read(s, line, sizeof(line))));
      r[1] = (char)('0' + err_code(tcsetattr(s, TCSANOW, &t)));
      r[2] = (char)('0' + err_code(tcsetpgrp(s, getpgrp())));
      if (write(pfd[1], r, 3) != 3)
        _exit(1);
      _exit(0);
    }
    _exit(0);
  }
  status("orphan's parent", f, 0);
  close(pfd[1]);
  char r[4] = "";
  if (read(pfd[0], r, 3) != 3)
    printf("no report from the orphan\n");
  printf("orphaned read %c tcsetattr %c tcsetpgrp %c (5: EIO)\n", r[0], r[1],
         r[2]);
  close(pfd[0]);

  R("tcsetpgrp no such group", tcsetpgrp(s, 999999));
  R("tcsetpgrp negative", tcsetpgrp(s, -1));
  R("tcsetpgrp another session's group", tcsetpgrp(s, getpgid(getppid())));
  R("TIOCGPGRP elsewhere", ioctl(s2, TIOCGPGRP, &(int){0}));

  signal(SIGWINCH, on_winch);
  struct winsize ws = {30, 90, 0, 0};
  R("TIOCSWINSZ", ioctl(m, TIOCSWINSZ, &ws));
  printf("SIGWINCH %d\n", (int)g_winch);
  R("TIOCSWINSZ same size", ioctl(m, TIOCSWINSZ, &ws));
  printf("SIGWINCH %d\n", (int)g_winch);

  /* TIOCNOTTY of the session leader hangs up the foreground group */
  if (pipe(pfd) < 0)
    return;
  f = fork();
  if (f == 0) {
    signal(SIGHUP, SIG_DFL);
    if (write(pfd[1], "r", 1) != 1)
      _exit(1);
    for (;;)
      pause();
  }
  close(pfd[1]);
  if (read(pfd[0], r, 1) != 1)
    printf("no word from the child\n");
  close(pfd[0]);
  R("TIOCNOTTY", ioctl(s, TIOCNOTTY));
  status("foreground child", f, 0);
  R("tcgetpgrp after TIOCNOTTY", tcgetpgrp(s));
  R("open /dev/tty after TIOCNOTTY", open("/dev/tty", O_RDWR));
  R("TIOCSCTTY after TIOCNOTTY", ioctl(s, TIOCSCTTY, 0));
  FACT("ours again", tcgetsid(s) == getsid(0));

  /* the master's close: SIGHUP for the session leader */
  if (pipe(pfd) < 0)
    return;
  pid_t l = fork();
  if (l == 0) {
    close(m2);
    close(pfd[0]);
    setsid();
    signal(SIGHUP, SIG_DFL);
    R("child TIOCSCTTY", ioctl(s2, TIOCSCTTY, 0));
    if (write(pfd[1], "r", 1) != 1)
      _exit(1);
    for (;;)
      pause();
  }
  close(pfd[1]);
  char c;
  if (read(pfd[0], &c, 1) != 1)
    printf("no word from the leader\n");
  close(s2);
  close(m2);
  status("leader after the master's close", l, 0);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  char name[64];
  R("openpty", openpty(&m, &s, name, NULL, NULL));
  pid_t leader = fork();
  if (leader == 0) {
    session_leader(name);
    _exit(0);
  }
  status("session leader", leader, 0);
  return 0;
}
