/* Launcher for bench/bench.py: launch RESULT PROGRAM [ARG...] forks, execs
 * PROGRAM (an absolute path) in the child, waits for it and writes to the
 * file RESULT the wall time from before the fork to after the wait (s) and
 * ru_maxrss of the child (KiB: its largest process, waited-for descendants
 * included), then exits with the child's status. A small static process,
 * so the RSS the child had before its exec (which Linux counts in
 * ru_maxrss) is this launcher's, not the Python driver's. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: launch RESULT PROGRAM [ARG...]\n");
    return 125;
  }
  double t0 = now();
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 125;
  }
  if (pid == 0) {
    execv(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) != pid) {
    perror("wait4");
    return 125;
  }
  double t1 = now();
  FILE *f = fopen(argv[1], "w");
  if (!f) {
    perror(argv[1]);
    return 125;
  }
  fprintf(f, "%.6f %ld\n", t1 - t0, ru.ru_maxrss);
  fclose(f);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
