/* A zombie still exists until it is reaped: kill(zombie, 0) and
 * kill(zombie, SIGTERM) succeed (and do nothing), getpgid(zombie) works,
 * and only after wait do they fail with ESRCH (kill(2), POSIX). */
#include <signal.h>
#include <sys/wait.h>

#include "guest.h"

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  fflush(stdout);
  pid_t p = fork();
  if (p == 0)
    _exit(4);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  /* wait until it is a zombie without reaping it */
  waitid(P_PID, p, &si, WEXITED | WNOWAIT);
  R("kill zombie 0", kill(p, 0));
  R("kill zombie SIGTERM", kill(p, SIGTERM));
  OK("getpgid zombie", getpgid(p));
  int st;
  waitpid(p, &st, 0);
  printf("status: exited %d\n", WEXITSTATUS(st));
  R("kill reaped", kill(p, 0));
  R("getpgid reaped", getpgid(p));
  return 0;
}
