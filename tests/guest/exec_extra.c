/* exec beyond plain execve: execveat(fd, "", AT_EMPTY_PATH) on the
 * program's own file (a new environment reaches the new image), and execve
 * from a process whose other threads are running (Linux kills them and
 * the exec succeeds). Run with "helper" it is the exec'd program. */
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "guest.h"

static const char *self;
static volatile int g_flag;

static void *spin_thread(void *arg) {
  while (!g_flag)
    __asm__ volatile("" ::: "memory");
  return NULL;
}

static int status_of(pid_t p) {
  int st = -1;
  waitpid(p, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv) {
  self = argv[0];
  if (argc >= 2 && !strcmp(argv[1], "helper")) {
    const char *t = getenv("MOAT_T");
    printf("helper: env %s\n", t ? t : "unset");
    return 8;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  int fd = open(self, O_RDONLY | O_CLOEXEC);
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    char *av[] = {"x", "helper", NULL};
    char *envp[] = {"MOAT_T=1", NULL};
    syscall(SYS_execveat, fd, "", av, envp, AT_EMPTY_PATH);
    printf("execveat: %s\n", errname(errno));
    fflush(stdout);
    _exit(1);
  }
  printf("execveat AT_EMPTY_PATH: status %d\n", status_of(c));
  close(fd);

  fflush(stdout);
  c = fork();
  if (c == 0) {
    pthread_t t;
    for (int i = 0; i < 4; i++)
      pthread_create(&t, NULL, spin_thread, NULL);
    execl(self, "x", "helper", (char *)0);
    _exit(126);
  }
  printf("exec with threads running: status %d\n", status_of(c));
  return 0;
}
