/* Pseudo-terminals made inside: openpty, posix_openpt/grantpt/unlockpt/
 * ptsname, TIOCGPTPEER, ttyname through /proc/self/fd, the default
 * termios, canonical editing (ERASE, KILL, WERASE, EOF) with its echo
 * (ECHOE, ECHOK/ECHOKE, ECHOCTL, ECHONL), ICRNL, ONLCR/OCRNL/OPOST, raw
 * reads with VMIN/VTIME, flushing, window size, poll on both sides and
 * hangup (slave closed: master EIO; master closed: slave end of file).
 *
 * What the slave writes reaches the master later on Linux (a work
 * queue): every echo check ends with the slave writing "@@" and the
 * master reading up to it, so the output never depends on timing. */
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>

#include "guest.h"

static int m = -1, s = -1;

static void show(const char *label, const char *b, ssize_t n) {
  printf("%s: ", label);
  if (n < 0) {
    printf("-1 %s\n", errname(errno));
    return;
  }
  printf("[");
  for (ssize_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)b[i];
    if (c == '\n')
      printf("\\n");
    else if (c == '\r')
      printf("\\r");
    else if (c == '\t')
      printf("\\t");
    else if (c == '\b')
      printf("\\b");
    else if (c < 0x20 || c >= 0x7f)
      printf("\\x%02x", c);
    else
      putchar(c);
  }
  printf("] %zd\n", n);
}

/* What the master has to read, up to the slave's marker. */
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
  show(label, buf, n - 2);
}

static void type(const char *label, const char *in) {
  if (write(m, in, strlen(in)) != (ssize_t)strlen(in))
    printf("%s: master write failed %s\n", label, errname(errno));
}

static void slave_reads(const char *label, size_t len) {
  char buf[256];
  ssize_t n = read(s, buf, len);
  show(label, buf, n);
}

static void wait_readable(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  poll(&p, 1, -1);
}

static void set_lflag(tcflag_t on, tcflag_t off) {
  struct termios t;
  tcgetattr(s, &t);
  t.c_lflag = (t.c_lflag | on) & ~off;
  tcsetattr(s, TCSANOW, &t);
}

static void revents(const char *label, int fd, short events) {
  struct pollfd p = {fd, events, 0};
  int r = poll(&p, 1, 0);
  printf("%s: %d in %d out %d hup %d err %d\n", label, r,
         !!(p.revents & POLLIN), !!(p.revents & POLLOUT),
         !!(p.revents & POLLHUP), !!(p.revents & POLLERR));
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  char name[64];
  R("openpty", openpty(&m, &s, name, NULL, NULL));
  FACT("name is /dev/pts/N", !strncmp(name, "/dev/pts/", 9));
  FACT("ptsname agrees", ptsname(m) && !strcmp(ptsname(m), name));
  FACT("ttyname agrees", ttyname(s) && !strcmp(ttyname(s), name));
  R("isatty master", isatty(m));
  R("isatty slave", isatty(s));
  unsigned ptn = 12345;
  R("TIOCGPTN", ioctl(m, TIOCGPTN, &ptn));
  FACT("TIOCGPTN agrees", ptn == (unsigned)atoi(name + 9));
  R("TIOCGPTN on the slave", ioctl(s, TIOCGPTN, &ptn));
  char link[64] = "", path[64];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", s);
  ssize_t ln = readlink(path, link, sizeof(link) - 1);
  link[ln > 0 ? ln : 0] = 0;
  FACT("readlink /proc/self/fd/slave is the name", !strcmp(link, name));
  struct stat a, b;
  R("fstat slave", fstat(s, &a));
  R("stat name", stat(name, &b));
  FACT("same inode", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
  printf("slave chr %d major %u\n", S_ISCHR(a.st_mode), major(a.st_rdev));
  R("fstat master", fstat(m, &b));
  printf("master chr %d dev %u:%u\n", S_ISCHR(b.st_mode), major(b.st_rdev),
         minor(b.st_rdev));

  struct termios t, tm;
  R("tcgetattr", tcgetattr(s, &t));
  printf("iflag %o oflag %o cflag %o lflag %o\n", t.c_iflag, t.c_oflag,
         t.c_cflag, t.c_lflag);
  printf("cc");
  for (int i = 0; i < 17; i++)
    printf(" %d", t.c_cc[i]);
  printf("\nspeed %d\n", (int)cfgetospeed(&t));
  R("tcgetattr master", tcgetattr(m, &tm));
  FACT("the master shows the slave's termios", !memcmp(&t, &tm, sizeof(t)));

  /* canonical mode: editing and its echo */
  type("erase", "abc\x7f"
                "d\n");
  slave_reads("erase read", sizeof(path));
  echoed("erase echo");
  type("kill", "xyz\x15ok\n");
  slave_reads("kill read", 64);
  echoed("kill echo");
  type("werase", "one two\x17three\n");
  slave_reads("werase read", 64);
  echoed("werase echo");
  type("eof", "abc\x04");
  slave_reads("eof read", 64);
  type("eof alone", "\x04");
  slave_reads("eof alone read", 64);
  echoed("eof echo");
  type("ctl", "\x01\t\r");
  slave_reads("ctl read (ICRNL)", 64);
  echoed("ctl echo (ECHOCTL)");
  type("short", "longer line\n");
  slave_reads("short read 1", 4);
  slave_reads("short read 2", 64);
  echoed("short echo");
  type("two lines", "ab\ncd\n");
  wait_readable(s);
  int inq = -1;
  R("FIONREAD", ioctl(s, FIONREAD, &inq));
  printf("inq %d\n", inq);
  slave_reads("line 1", 64);
  slave_reads("line 2", 64);
  echoed("two lines echo");
  set_lflag(0, ECHOE);
  type("no ECHOE", "ab\x7f\n");
  slave_reads("no ECHOE read", 64);
  echoed("no ECHOE echo");
  set_lflag(ECHOE, ECHO);
  type("no ECHO", "secret\n");
  slave_reads("no ECHO read", 64);
  echoed("no ECHO echo");
  set_lflag(ECHONL, 0);
  type("ECHONL", "quiet\n");
  slave_reads("ECHONL read", 64);
  echoed("ECHONL echo");
  set_lflag(ECHO, ECHONL);

  /* output processing */
  if (write(s, "x\ny\tz\r", 6) != 6)
    printf("slave write failed\n");
  echoed("ONLCR");
  tcgetattr(s, &t);
  t.c_oflag |= OCRNL;
  t.c_oflag &= ~ONLCR;
  tcsetattr(s, TCSANOW, &t);
  if (write(s, "x\ny\r", 4) != 4)
    printf("slave write failed\n");
  echoed("OCRNL, no ONLCR");
  t.c_oflag &= ~OPOST;
  t.c_oflag |= ONLCR;
  tcsetattr(s, TCSANOW, &t);
  if (write(s, "x\ny\r", 4) != 4)
    printf("slave write failed\n");
  echoed("no OPOST");

  /* raw mode */
  struct termios raw;
  tcgetattr(s, &raw);
  cfmakeraw(&raw);
  raw.c_cc[VMIN] = 0;
  raw.c_cc[VTIME] = 0;
  R("tcsetattr raw", tcsetattr(s, TCSANOW, &raw));
  slave_reads("raw nothing (MIN 0 TIME 0)", 64);
  type("raw", "a\r\x03\x7f");
  wait_readable(s);
  slave_reads("raw read", 64);
  raw.c_cc[VTIME] = 2;
  tcsetattr(s, TCSANOW, &raw);
  slave_reads("raw MIN 0 TIME 2, nothing", 64);
  raw.c_cc[VMIN] = 3;
  raw.c_cc[VTIME] = 0;
  tcsetattr(s, TCSANOW, &raw);
  type("raw", "xyz");
  slave_reads("raw MIN 3", 64);
  raw.c_cc[VMIN] = 10;
  raw.c_cc[VTIME] = 1;
  tcsetattr(s, TCSANOW, &raw);
  type("raw", "12345");
  slave_reads("raw MIN 10 TIME 1 (gap)", 64);
  type("raw", "junk");
  wait_readable(s);
  raw.c_cc[VMIN] = 0;
  raw.c_cc[VTIME] = 0;
  R("tcsetattr TCSAFLUSH", tcsetattr(s, TCSAFLUSH, &raw));
  slave_reads("after flush", 64);
  type("raw", "more");
  wait_readable(s);
  R("tcflush TCIFLUSH", tcflush(s, TCIFLUSH));
  slave_reads("after tcflush", 64);
  R("tcflush bad", tcflush(s, 7));
  echoed("raw echo (none)");
  /* back to canonical: a line typed raw stays */
  tcgetattr(s, &t);
  t.c_lflag |= ICANON | ECHO;
  t.c_iflag |= ICRNL;
  t.c_oflag |= OPOST;
  tcsetattr(s, TCSANOW, &t);

  /* window size */
  struct winsize ws = {24, 80, 0, 0}, got = {0};
  R("TIOCSWINSZ on master", ioctl(m, TIOCSWINSZ, &ws));
  R("TIOCGWINSZ on slave", ioctl(s, TIOCGWINSZ, &got));
  printf("rows %d cols %d\n", got.ws_row, got.ws_col);
  R("TIOCGPGRP without a ctty", ioctl(s, TIOCGPGRP, &inq));
  R("TIOCGSID without a ctty", ioctl(s, TIOCGSID, &inq));
  R("TIOCGSID on master, no session", ioctl(m, TIOCGSID, &inq));
  R("TIOCNOTTY not ours", ioctl(s, TIOCNOTTY));
  R("unknown ioctl", ioctl(s, 0x54ff, &inq));

  /* readiness */
  revents("master idle", m, POLLIN | POLLOUT);
  revents("slave idle", s, POLLIN | POLLOUT);
  type("line", "x\n");
  wait_readable(s);
  revents("slave with a line", s, POLLIN | POLLOUT);
  slave_reads("drain", 64);
  echoed("line echo");

  /* hangup: the slave closes, then the master */
  close(s);
  revents("master, slave closed", m, POLLIN | POLLOUT);
  char c;
  R("master read, slave closed", read(m, &c, 1));
  s = open(name, O_RDWR | O_NOCTTY);
  R("slave reopened", s >= 0 ? 0 : -1);
  revents("master, slave back", m, POLLIN | POLLOUT);
  close(m);
  revents("slave, master closed", s, POLLIN | POLLOUT);
  R("slave read, hung up", read(s, &c, 1));
  R("slave write, hung up", write(s, "x", 1));
  R("tcgetattr, hung up", tcgetattr(s, &t));
  R("open the name again", open(name, O_RDWR | O_NOCTTY));
  close(s);

  /* posix_openpt and friends */
  m = posix_openpt(O_RDWR | O_NOCTTY);
  R("posix_openpt", m >= 0 ? 0 : -1);
  R("grantpt", grantpt(m));
  char *pn = ptsname(m);
  FACT("ptsname is /dev/pts/N", pn && !strncmp(pn, "/dev/pts/", 9));
  snprintf(name, sizeof(name), "%s", pn ? pn : "?");
  R("open before unlockpt", open(name, O_RDWR | O_NOCTTY));
  R("TIOCGPTPEER locked", ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY));
  int lck = -1;
  R("TIOCGPTLCK", ioctl(m, TIOCGPTLCK, &lck));
  printf("locked %d\n", lck);
  R("unlockpt", unlockpt(m));
  int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  R("TIOCGPTPEER", peer >= 0 ? 0 : -1);
  FACT("peer ttyname agrees", ttyname(peer) && !strcmp(ttyname(peer), name));
  s = open(name, O_RDWR | O_NOCTTY);
  R("open by name", s >= 0 ? 0 : -1);
  type("peer", "via peer\n");
  char buf[64];
  show("peer read", buf, read(peer, buf, sizeof(buf)));
  DIR *d = opendir("/dev/pts");
  int listed = 0, ptmx = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    listed |= !strcmp(e->d_name, name + 9);
    ptmx |= !strcmp(e->d_name, "ptmx");
  }
  if (d)
    closedir(d);
  printf("listed %d ptmx %d\n", listed, ptmx);
  R("stat /dev/ptmx", stat("/dev/ptmx", &a));
  printf("ptmx %u:%u\n", major(a.st_rdev), minor(a.st_rdev));
  R("TIOCGPTN on /dev/null",
    ioctl(open("/dev/null", O_RDONLY), TIOCGPTN, &ptn));
  return 0;
}
