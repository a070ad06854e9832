/* vfork and posix_spawn share the parent's memory until exec, as on
 * Linux: glibc reports a failed posix_spawn through that memory, and a
 * vfork child's write is seen by the parent. */
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pid_t p;
  int st;
  char *bad[] = {"nope", NULL};
  int r = posix_spawn(&p, "/nonexistent", NULL, NULL, bad, environ);
  printf("bad spawn r=%d\n", r);
  char *ok[] = {"echo", "spawned", NULL};
  r = posix_spawnp(&p, "echo", NULL, NULL, ok, environ);
  waitpid(p, &st, 0);
  printf("ok r=%d st=%d\n", r, st);
  volatile int x = 1;
  pid_t c = vfork();
  if (c == 0) {
    x = 2;
    _exit(3);
  }
  waitpid(c, &st, 0);
  printf("vfork shared write x=%d status=%d\n", x, WEXITSTATUS(st));
  return 0;
}
