/* memfork N MIB: fork N children that each allocate and touch MIB MiB
 * (malloc, so mmap) and hold it until every child has tried, then report
 * "ok=X enomem=Y": under --memory the sandbox's children together cannot
 * hold more than the limit, and those that do not fit get ENOMEM (NULL
 * from malloc), not a kill. */
#include <sys/wait.h>

#include "guest.h"

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc != 3) {
    printf("usage: memfork N MIB\n");
    return 2;
  }
  int n = atoi(argv[1]);
  size_t size = (size_t)atol(argv[2]) << 20;
  int hold[2], done[2];
  if (pipe(hold) < 0 || pipe(done) < 0)
    return 2;
  int forked = 0, fork_failed = 0;
  for (int i = 0; i < n; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      close(hold[1]);
      close(done[0]);
      char *p = malloc(size);
      if (p)
        memset(p, 1, size);
      /* Tried: tell the parent, then hold the memory until the parent
       * lets go (EOF), so that all children hold theirs at once. */
      char c;
      write(done[1], p ? "+" : "-", 1);
      read(hold[0], &c, 1);
      _exit(p ? 0 : 3);
    }
    if (pid < 0)
      fork_failed++;
    else
      forked++;
  }
  close(hold[0]);
  close(done[1]);
  char c;
  for (int i = 0; i < forked && read(done[0], &c, 1) == 1; i++)
    ;
  close(hold[1]);
  int ok = 0, enomem = 0, other = 0;
  for (int i = 0; i < forked; i++) {
    int st;
    if (wait(&st) < 0)
      break;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
      ok++;
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
      enomem++;
    else
      other++;
  }
  printf("ok=%d enomem=%d other=%d fork_failed=%d\n", ok, enomem, other,
         fork_failed);
  return 0;
}
