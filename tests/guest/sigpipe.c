/* The default action of SIGPIPE: a write to a pipe whose reader is gone
 * kills the writer (status 128+13), natively and inside moat. Before that,
 * with SIGPIPE ignored, the same write fails with EPIPE. */
#include <signal.h>

#include "guest.h"

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int p[2];
  R("pipe", pipe(p));
  R("close reader", close(p[0]));
  signal(SIGPIPE, SIG_IGN);
  R("write, SIGPIPE ignored", write(p[1], "x", 1));
  signal(SIGPIPE, SIG_DFL);
  printf("writing with the default action\n");
  R("write, SIGPIPE default", write(p[1], "x", 1));
  printf("survived SIGPIPE\n");
  return 0;
}
