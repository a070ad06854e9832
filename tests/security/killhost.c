/* Signals from inside reach only the sandbox (tests/run.py,
 * security/kill-reaches-only-sandbox): given the host pid of a host
 * process (also its process group), kill and sigqueue to that pid and
 * group fail with ESRCH, and kill(-1, SIGKILL) kills the sandbox's other
 * processes but nothing of the host. Refuses to run unless it is pid 1,
 * i.e. inside a sandbox: natively kill(-1) would hit every process of the
 * user. */
#include <signal.h>
#include <sys/wait.h>

#include "guest.h"

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (getpid() != 1 || argc < 2) {
    printf("refusing to run: not pid 1, so not inside a sandbox\n");
    return 2;
  }
  pid_t host = (pid_t)atol(argv[1]);
  R("kill host pid", kill(host, SIGKILL));
  R("kill host group", kill(-host, SIGKILL));
  union sigval v = {.sival_int = 1};
  R("sigqueue host pid", sigqueue(host, SIGKILL, v));
  int fd[2];
  if (pipe(fd) < 0)
    return 2;
  pid_t kids[3];
  for (int i = 0; i < 3; i++) {
    fflush(stdout);
    kids[i] = fork();
    if (kids[i] == 0) {
      if (i == 2)
        setsid(); /* another session: kill(-1) reaches it too */
      close(fd[0]);
      if (write(fd[1], "r", 1) != 1)
        _exit(3);
      for (;;)
        pause();
    }
  }
  close(fd[1]);
  char c;
  for (int i = 0; i < 3; i++)
    if (read(fd[0], &c, 1) != 1)
      return 2;
  R("kill -1", kill(-1, SIGKILL));
  for (int i = 0; i < 3; i++) {
    int st;
    waitpid(kids[i], &st, 0);
    printf("sandbox child %d: signaled %d sig %d\n", i, WIFSIGNALED(st),
           WTERMSIG(st));
  }
  printf("the caller survived kill -1\n");
  return 0;
}
