/* TIOCSTI on a pseudo-terminal made inside, and the controlling terminal
 * in /proc/self/stat (tty_nr, field 7, as new_encode_dev of the slave's
 * device number; tpgid, field 8, the foreground group or -1).
 *
 * A child makes a session of its own (no terminal: tty_nr 0, tpgid -1),
 * takes the slave as its controlling terminal (tty_nr names it, tpgid is
 * its group), injects bytes with TIOCSTI on the slave (they are read
 * from the slave as if typed, and echoed to the master; ^C injected
 * signals the foreground group) and on the master (read from the
 * master as if the slave had written them). As a process that is not
 * the terminal's and lacks CAP_SYS_ADMIN (uid 0 keeps it, so the child
 * drops it first), TIOCSTI is EPERM. */
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

#include "guest.h"

static volatile sig_atomic_t g_int;

static void on_int(int sig) {
  g_int++;
}

/* Fields 7 (tty_nr) and 8 (tpgid) of /proc/self/stat. */
static void stat_tty(unsigned *tty_nr, int *tpgid) {
  char buf[1024];
  *tty_nr = 0;
  *tpgid = -2;
  FILE *f = fopen("/proc/self/stat", "r");
  if (!f)
    return;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p)
    return;
  char state;
  int ppid, pgrp, sid;
  sscanf(p + 2, "%c %d %d %d %u %d", &state, &ppid, &pgrp, &sid, tty_nr, tpgid);
}

static unsigned encode(dev_t d) {
  unsigned ma = major(d), mi = minor(d);
  return (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
}

/* Read what is there on fd without waiting (the bytes were put there
 * before the call), as printable text. */
static void drain(const char *label, int fd) {
  char buf[256], out[600];
  ssize_t n = -1;
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  n = read(fd, buf, sizeof(buf));
  fcntl(fd, F_SETFL, fl);
  if (n < 0) {
    printf("%s: -1 %s\n", label, errname(errno));
    return;
  }
  size_t o = 0;
  for (ssize_t i = 0; i < n && o + 5 < sizeof(out); i++) {
    unsigned char c = (unsigned char)buf[i];
    if (c >= 32 && c < 127)
      out[o++] = (char)c;
    else
      o += (size_t)snprintf(out + o, sizeof(out) - o, "\\%03o", c);
  }
  out[o] = 0;
  printf("%s: %zd \"%s\"\n", label, n, out);
}

/* What the master has to read up to a marker the slave writes after it:
 * echoes reach the master through Linux's work queue, the marker behind
 * them, so that nothing depends on timing. */
static void echoed(const char *label, int m, int s) {
  char buf[256], out[600];
  size_t n = 0;
  if (write(s, "@@", 2) != 2) {
    printf("%s: marker write %s\n", label, errname(errno));
    return;
  }
  while (n < sizeof(buf)) {
    ssize_t r = read(m, buf + n, sizeof(buf) - n);
    if (r <= 0) {
      printf("%s: master read %zd %s\n", label, r, errname(errno));
      return;
    }
    n += (size_t)r;
    if (n >= 2 && buf[n - 2] == '@' && buf[n - 1] == '@')
      break;
  }
  n -= 2;
  size_t o = 0;
  for (size_t i = 0; i < n && o + 5 < sizeof(out); i++) {
    unsigned char c = (unsigned char)buf[i];
    if (c >= 32 && c < 127)
      out[o++] = (char)c;
    else
      o += (size_t)snprintf(out + o, sizeof(out) - o, "\\%03o", c);
  }
  out[o] = 0;
  printf("%s: %zu \"%s\"\n", label, n, out);
}

static int child(void) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) {
    printf("openpt: %s\n", errname(errno));
    return 1;
  }
  R("setsid", setsid() > 0 ? 0 : -1);
  unsigned tty_nr;
  int tpgid;
  stat_tty(&tty_nr, &tpgid);
  printf("no terminal: tty_nr %u tpgid %d\n", tty_nr, tpgid);
  char c = 'q';
  R("TIOCSTI on a terminal not mine (root)", ioctl(m, TIOCSTI, &c));
  drain("master after TIOCSTI on it", m);

  int s = open(ptsname(m), O_RDWR); /* becomes the controlling terminal */
  if (s < 0) {
    printf("open slave: %s\n", errname(errno));
    return 1;
  }
  struct stat st;
  fstat(s, &st);
  stat_tty(&tty_nr, &tpgid);
  FACT("tty_nr is the slave's device", tty_nr == encode(st.st_rdev));
  FACT("tpgid is my group", tpgid == getpgrp());

  /* typed by TIOCSTI: read from the slave, echoed to the master */
  const char *typed = "hi\n";
  for (const char *p = typed; *p; p++)
    R("TIOCSTI on the slave", ioctl(s, TIOCSTI, p));
  drain("slave reads", s);
  echoed("master sees the echo", m, s);
  R("TIOCSTI bad pointer", ioctl(s, TIOCSTI, (char *)8));

  /* ^C typed: SIGINT for the foreground group (us) */
  signal(SIGINT, on_int);
  c = 3;
  R("TIOCSTI ^C", ioctl(s, TIOCSTI, &c));
  printf("SIGINT received: %d\n", (int)g_int);
  echoed("master sees ^C echoed", m, s);

  /* a child in a background group: the terminal is its controlling
   * terminal too, TIOCSTI works; without CAP_SYS_ADMIN on the master,
   * which is nobody's controlling terminal, EPERM */
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    unsigned nr;
    int tp;
    stat_tty(&nr, &tp);
    FACT("child: tty_nr inherited", nr == tty_nr);
    FACT("child: tpgid is the parent's group", tp == getppid());
    char x = 'z';
    R("child: TIOCSTI on its terminal", ioctl(s, TIOCSTI, &x));
    /* drop CAP_SYS_ADMIN from the effective set (uid 0 keeps others) */
    struct {
      unsigned version;
      int pid;
    } hdr = {0x20080522, 0};
    struct {
      unsigned effective, permitted, inheritable;
    } data[2];
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capget, &hdr, data) == 0) {
      data[0].effective &= ~(1u << 21);
      syscall(SYS_capset, &hdr, data);
    }
    R("child: TIOCSTI on the master without CAP_SYS_ADMIN",
      ioctl(m, TIOCSTI, &x));
    fflush(stdout);
    _exit(0);
  }
  int wst;
  waitpid(pid, &wst, 0);
  drain("slave: a partial line is not readable yet", s);
  c = '\n';
  ioctl(s, TIOCSTI, &c);
  drain("slave reads the child's line", s);
  echoed("master sees the echoes", m, s);

  /* TIOCSTI on the master as root: the byte is read from the master */
  c = 'M';
  R("TIOCSTI on the master (CAP_SYS_ADMIN)", ioctl(m, TIOCSTI, &c));
  drain("master reads it", m);
  R("TIOCSTI on /dev/null", ioctl(open("/dev/null", O_RDWR), TIOCSTI, &c));
  return 0;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (geteuid() != 0) {
    printf("not root: skipped\n");
    return 0;
  }
  pid_t pid = fork();
  if (pid == 0)
    _exit(child());
  int st;
  waitpid(pid, &st, 0);
  printf("child: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  return 0;
}
