/* Micro benchmarks of single system calls, for bench/bench.py. Usage:
 *   micro CASE [N] [PATH]
 * Each case runs ROUNDS batches of N operations and prints the median time
 * of one operation (ns, or µs for exec). Static, so the same binary runs
 * natively and inside every sandbox.
 *   clock_gettime  clock_gettime(CLOCK_MONOTONIC) through libc (the vDSO
 *                  natively)
 *   clock_syscall  the same as a real system call (syscall(2))
 *   pread_pwrite   pwrite then pread of 4 KiB at offset 0 of the file PATH
 *                  (created, default /tmp/moat-bench-rw): one pair
 *   pipe_rw        write then read of one byte on a pipe whose ends a child
 *                  process also holds while it waits (blocked in read on
 *                  another pipe): one pair
 *   stat           stat(PATH)
 *   open_close     open(PATH, O_RDONLY) + close
 *   exec           execve of this static binary by itself (a chain of N
 *                  execs per batch, no fork), in µs */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define ROUNDS 7

static void die(const char *what) {
  perror(what);
  exit(1);
}

static double median(double *per) {
  qsort(per, ROUNDS, sizeof(per[0]), cmp);
  return per[ROUNDS / 2];
}

/* The exec chain: micro exec-step LEFT N ROUND T0 PER0 ... PER(ROUND-1).
 * Each step execs itself with LEFT-1; at 0 it records the batch's time and
 * starts the next batch, and after ROUNDS batches prints the median. */
static int exec_step(char *self, int argc, char **argv) {
  long left = atol(argv[2]), n = atol(argv[3]);
  int round = atoi(argv[4]);
  double t0 = atof(argv[5]);
  double per[ROUNDS];
  for (int i = 0; i < round; i++)
    per[i] = atof(argv[6 + i]);
  char bufs[4 + ROUNDS][32];
  char *nargv[8 + ROUNDS];
  if (left == 0) {
    per[round++] = (now_ns() - t0) / n / 1e3;
    if (round == ROUNDS) {
      printf("%.1f\n", median(per));
      return 0;
    }
    left = n;
    t0 = now_ns();
  }
  int k = 0;
  nargv[k++] = self;
  nargv[k++] = "exec-step";
  snprintf(bufs[0], 32, "%ld", left - 1);
  snprintf(bufs[1], 32, "%ld", n);
  snprintf(bufs[2], 32, "%d", round);
  snprintf(bufs[3], 32, "%.0f", t0);
  for (int i = 0; i < 4; i++)
    nargv[k++] = bufs[i];
  for (int i = 0; i < round; i++) {
    snprintf(bufs[4 + i], 32, "%.3f", per[i]);
    nargv[k++] = bufs[4 + i];
  }
  nargv[k] = NULL;
  (void)argc;
  execv(self, nargv);
  die("execv");
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: micro CASE [N] [PATH]\n");
    return 2;
  }
  const char *c = argv[1];
  if (!strcmp(c, "exec-step"))
    return exec_step(argv[0], argc, argv);
  long n = argc > 2 ? atol(argv[2]) : 100000;
  const char *path = argc > 3 ? argv[3] : "/tmp/moat-bench-rw";
  double per[ROUNDS];
  if (!strcmp(c, "exec")) {
    char nb[32], t0[32];
    snprintf(nb, sizeof(nb), "%ld", n);
    snprintf(t0, sizeof(t0), "%.0f", now_ns());
    char *nargv[] = {argv[0], "exec-step", nb, nb, "0", t0, NULL};
    execv(argv[0], nargv);
    die("execv");
  }
  struct timespec ts;
  struct stat st;
  char buf[4096];
  int fd = -1, there[2], back[2];
  pid_t child = -1;
  memset(buf, 'x', sizeof(buf));
  if (!strcmp(c, "pread_pwrite")) {
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
      die(path);
  } else if (!strcmp(c, "pipe_rw")) {
    if (pipe(there) || pipe(back))
      die("pipe");
    child = fork();
    if (child < 0)
      die("fork");
    if (child == 0) {
      /* Holds both ends of `there`, waits for its parent on `back`. */
      close(back[1]);
      while (read(back[0], buf, 1) > 0)
        ;
      _exit(0);
    }
    close(back[0]);
  } else if (strcmp(c, "clock_gettime") && strcmp(c, "clock_syscall") &&
             strcmp(c, "stat") && strcmp(c, "open_close")) {
    fprintf(stderr, "micro: unknown case %s\n", c);
    return 2;
  }
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = now_ns();
    if (!strcmp(c, "clock_gettime")) {
      for (long i = 0; i < n; i++)
        clock_gettime(CLOCK_MONOTONIC, &ts);
    } else if (!strcmp(c, "clock_syscall")) {
      for (long i = 0; i < n; i++)
        syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
    } else if (!strcmp(c, "pread_pwrite")) {
      for (long i = 0; i < n; i++)
        if (pwrite(fd, buf, sizeof(buf), 0) != sizeof(buf) ||
            pread(fd, buf, sizeof(buf), 0) != sizeof(buf))
          die("pread/pwrite");
    } else if (!strcmp(c, "pipe_rw")) {
      for (long i = 0; i < n; i++)
        if (write(there[1], buf, 1) != 1 || read(there[0], buf, 1) != 1)
          die("pipe read/write");
    } else if (!strcmp(c, "stat")) {
      for (long i = 0; i < n; i++)
        if (stat(path, &st))
          die(path);
    } else {
      for (long i = 0; i < n; i++) {
        int f = open(path, O_RDONLY);
        if (f < 0)
          die(path);
        close(f);
      }
    }
    per[r] = (now_ns() - t0) / n;
  }
  if (fd >= 0) {
    close(fd);
    unlink(path);
  }
  if (child > 0) {
    close(back[1]);
    waitpid(child, NULL, 0);
  }
  printf("%.0f\n", median(per));
  return 0;
}
