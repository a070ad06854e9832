/* Terminal ioctls on standard streams that are a terminal: the runner
 * starts it with stdin and stdout on a pseudo-terminal of 33 rows and 101
 * columns, natively and inside moat (where the requests go to the host
 * through plat_stdio_term); non-blocking reads of it with no input. */
#include <sys/ioctl.h>
#include <termios.h>

#include "guest.h"

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("isatty 0 %d 1 %d\n", isatty(0), isatty(1));
  struct winsize ws = {0};
  R("TIOCGWINSZ", ioctl(1, TIOCGWINSZ, &ws));
  printf("rows %d cols %d\n", ws.ws_row, ws.ws_col);
  struct termios t, t2;
  R("tcgetattr", tcgetattr(0, &t));
  FACT("ECHO on", (t.c_lflag & ECHO) != 0);
  FACT("ICANON on", (t.c_lflag & ICANON) != 0);
  t2 = t;
  t2.c_lflag &= ~ECHO;
  R("tcsetattr no echo", tcsetattr(0, TCSANOW, &t2));
  R("tcgetattr", tcgetattr(0, &t2));
  FACT("ECHO now off", (t2.c_lflag & ECHO) == 0);
  R("tcsetattr restore", tcsetattr(0, TCSADRAIN, &t));
  R("tcgetattr", tcgetattr(0, &t2));
  FACT("ECHO back on", (t2.c_lflag & ECHO) != 0);
  struct winsize big = {40, 120, 0, 0};
  R("TIOCSWINSZ", ioctl(1, TIOCSWINSZ, &big));
  R("TIOCGWINSZ", ioctl(1, TIOCGWINSZ, &ws));
  printf("rows %d cols %d\n", ws.ws_row, ws.ws_col);
  pid_t pg = 0;
  R("TIOCGPGRP", ioctl(0, TIOCGPGRP, &pg));
  R("TIOCSTI refused or works", 0);
  R("ioctl unknown on tty", ioctl(1, 0x5499, &ws));
  R("isatty on /dev/null", isatty(open("/dev/null", O_RDONLY)));
  /* Non-blocking reads with no input waiting: EAGAIN, but 0 where a read
   * returns at once (no ICANON, VMIN and VTIME 0). Inside moat the
   * host's terminal stays blocking: a non-blocking read blocked there. */
  static const struct {
    int canon, vmin, vtime;
  } modes[] = {{1, 1, 0}, {0, 1, 0}, {0, 0, 1}, {0, 0, 0}};
  int fl = fcntl(0, F_GETFL);
  R("O_NONBLOCK on", fcntl(0, F_SETFL, fl | O_NONBLOCK));
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
    char c, label[80];
    t2 = t;
    if (!modes[i].canon)
      t2.c_lflag &= ~ICANON;
    t2.c_cc[VMIN] = (cc_t)modes[i].vmin;
    t2.c_cc[VTIME] = (cc_t)modes[i].vtime;
    tcsetattr(0, TCSANOW, &t2);
    snprintf(label, sizeof(label),
             "non-blocking read, icanon %d vmin %d vtime %d", modes[i].canon,
             modes[i].vmin, modes[i].vtime);
    R(label, read(0, &c, 1));
  }
  R("tcsetattr restore", tcsetattr(0, TCSANOW, &t));
  R("O_NONBLOCK off", fcntl(0, F_SETFL, fl));
  return 0;
}
