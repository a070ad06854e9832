/* Packet mode of a pseudo-terminal's master (TIOCPKT, TIOCGPKT): each
 * master read starts with a status byte, TIOCPKT_DATA (0) before data, or
 * is one byte of events alone: the slave's flushes (FLUSHREAD,
 * FLUSHWRITE, also the flush of a signal character), output stopped and
 * started (TCOOFF/TCOON on the slave, ^S/^Q typed with IXON) and whether
 * ^S/^Q stop output (NOSTOP/DOSTOP after a termios change); poll shows
 * an event as POLLPRI. The slave is nobody's controlling terminal, so
 * ^C signals nobody. Every read blocks until its answer is there. */
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "guest.h"

static int m, s;

static void master_read(const char *label) {
  unsigned char buf[64];
  char out[300];
  ssize_t n = read(m, buf, sizeof(buf));
  if (n < 0) {
    printf("%s: -1 %s\n", label, errname(errno));
    return;
  }
  size_t o = 0;
  for (ssize_t i = 0; i < n && o + 5 < sizeof(out); i++)
    o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%d", i ? " " : "",
                          buf[i]);
  printf("%s: %zd [%s]\n", label, n, out);
}

/* ^C with ISIG: Linux reports FLUSHWRITE (its pty driver's flush) and,
 * unless the line discipline's flush of the input raced ahead of this
 * read on its work queue, FLUSHREAD too: natively either 2 or 3 under
 * load. What must hold: one status byte, FLUSHWRITE in it, nothing but
 * flush bits. */
static void master_read_isig(const char *label) {
  unsigned char buf[64];
  ssize_t n = read(m, buf, sizeof(buf));
  if (n < 0) {
    printf("%s: -1 %s\n", label, errname(errno));
    return;
  }
  printf("%s: %zd, FLUSHWRITE %d, only flushes %d\n", label, n,
         n == 1 && (buf[0] & TIOCPKT_FLUSHWRITE) != 0,
         n == 1 && (buf[0] & ~(TIOCPKT_FLUSHREAD | TIOCPKT_FLUSHWRITE)) == 0);
}

static void master_poll(const char *label) {
  struct pollfd p = {m, POLLIN | POLLPRI, 0};
  int r = poll(&p, 1, 5000);
  printf("%s: %d%s%s\n", label, r, p.revents & POLLIN ? " POLLIN" : "",
         p.revents & POLLPRI ? " POLLPRI" : "");
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (openpty(&m, &s, NULL, NULL, NULL) < 0) {
    printf("openpty: %s\n", errname(errno));
    return 1;
  }
  int on = 1, off = 0, v = -1;
  R("TIOCGPKT", ioctl(m, TIOCGPKT, &v));
  printf("packet mode: %d\n", v);
  R("TIOCPKT on the slave", ioctl(s, TIOCPKT, &on));
  R("TIOCGPKT on the slave", ioctl(s, TIOCGPKT, &v));
  R("TIOCPKT 1", ioctl(m, TIOCPKT, &on));
  R("TIOCGPKT", ioctl(m, TIOCGPKT, &v));
  printf("packet mode: %d\n", v);
  R("TIOCPKT bad pointer", ioctl(m, TIOCPKT, (int *)8));

  R("slave writes", write(s, "ab", 2));
  master_read("data");

  tcflush(s, TCIFLUSH);
  master_poll("poll after the slave's input flush");
  master_read("FLUSHREAD");
  tcflush(s, TCOFLUSH);
  master_read("FLUSHWRITE");
  tcflush(s, TCIOFLUSH);
  master_read("both flushes");
  tcflush(m, TCIOFLUSH); /* the master's own: no event */
  tcflow(s, TCOOFF);
  master_read("TCOOFF");
  tcflow(s, TCOON);
  master_read("TCOON");

  struct termios t;
  tcgetattr(s, &t);
  t.c_iflag &= ~(tcflag_t)IXON;
  tcsetattr(s, TCSANOW, &t);
  master_read("IXON off");
  t.c_iflag |= IXON;
  tcsetattr(s, TCSANOW, &t);
  master_read("IXON on");
  t.c_cc[VSTOP] = 'X';
  tcsetattr(s, TCSANOW, &t);
  master_read("STOP is X");
  t.c_cc[VSTOP] = 023;
  t.c_lflag &= ~(tcflag_t)ECHO;
  tcsetattr(s, TCSANOW, &t);
  master_read("STOP is ^S again");

  R("master types ^S", write(m, "\023", 1));
  master_read("^S");
  R("master types ^Q", write(m, "\021", 1));
  master_read("^Q");
  R("master types ^C", write(m, "\003", 1));
  master_read_isig("^C flushes");

  R("TIOCPKT 0", ioctl(m, TIOCPKT, &off));
  R("slave writes", write(s, "cd", 2));
  master_read("plain data");
  R("TIOCPKT 1 again", ioctl(m, TIOCPKT, &on));
  tcflush(s, TCOFLUSH);
  R("slave writes", write(s, "e", 1));
  master_read("event before data");
  master_read("then the data");
  return 0;
}
