/* exit_group while another thread is busy in one long call (a sendfile of
 * a gigabyte out of a sparse file): the process ends with status 0 and
 * nothing else happens. moat's exit used to stop waiting for the other
 * thread after two seconds and end the host process under it: its task
 * was freed while it ran (an internal fault) or an arena lock it held went
 * down with it (status 125 for the whole sandbox); found by
 * tests/security/sysfuzz. */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

static int src, dst;

static void *copier(void *arg) {
  (void)arg;
  if (sendfile(dst, src, NULL, 1L << 30) < 0)
    perror("sendfile");
  return NULL;
}

int main(void) {
  src = memfd_create("src", 0);
  dst = memfd_create("dst", 0);
  R("ftruncate a sparse terabyte", ftruncate(src, 1L << 40));
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    pthread_t t;
    if (pthread_create(&t, NULL, copier, NULL) != 0)
      _exit(2);
    struct timespec nap = {0, 100000000};
    nanosleep(&nap, NULL);
    syscall(SYS_exit_group, 0);
  }
  int st = 0;
  waitpid(p, &st, 0);
  printf("child: %s %d\n", WIFEXITED(st) ? "exit" : "signal",
         WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
  return 0;
}
