/* posix_spawn, system, popen and vfork+exec: the vfork-style clones of
 * glibc and musl. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pid_t p;
  char *argv[] = {"sh", "-c", "echo spawned; exit 4", NULL};
  int r = posix_spawn(&p, "/bin/sh", NULL, NULL, argv, environ);
  int st;
  waitpid(p, &st, 0);
  printf("spawn r=%d status=%d\n", r, WEXITSTATUS(st));
  printf("system=%d\n", WEXITSTATUS(system("echo from system; exit 3")));
  FILE *f = popen("echo piped", "r");
  char buf[64];
  fgets(buf, sizeof buf, f);
  printf("popen: %s", buf);
  pclose(f);
  if (vfork() == 0) {
    execl("/bin/echo", "echo", "vforked", (char *)0);
    _exit(1);
  }
  wait(&st);
  printf("vfork status %d\n", WEXITSTATUS(st));
  return 0;
}
