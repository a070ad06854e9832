/* A guest that runs into one of `moat run`'s limits (tests/limits.py):
 *   limitprobe files        open /dev/null until it fails; print how many
 *                           and the errno; dup2 onto the limit
 *   limitprobe spin [catch] spin on the CPU (catch: print a line at every
 *                           SIGXCPU and go on spinning); at most 60 s
 *   limitprobe fill PATH    write 64 KiB blocks to PATH until a write fails;
 *                           print the bytes written and the errno
 *   limitprobe sleep        sleep 100 s in two processes
 * Each line it prints is a fact the test compares with what the option
 * promises; the same program run natively under the same ulimit gives the
 * same lines (the test checks some of them that way). */
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

static volatile sig_atomic_t g_xcpu;

static void on_xcpu(int sig) {
  (void)sig;
  g_xcpu++;
  static const char line[] = "SIGXCPU\n";
  if (write(1, line, sizeof(line) - 1) < 0)
    _exit(3);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int files(void) {
  int n = 0, fd, last = -1;
  while ((fd = open("/dev/null", O_RDONLY)) >= 0) {
    n++;
    last = fd;
  }
  printf("opened %d more, the last fd %d, then %s\n", n, last, errname(errno));
  struct rlimit r;
  getrlimit(RLIMIT_NOFILE, &r);
  R("dup2 onto the soft limit", dup2(0, (int)r.rlim_cur));
  return 0;
}

static int spin(bool catch) {
  if (catch)
    signal(SIGXCPU, on_xcpu);
  double t0 = now();
  while (now() - t0 < 60)
    for (volatile int i = 0; i < 100000; i++)
      ;
  printf("still running after 60 s\n");
  return 0;
}

static int fill(const char *path) {
  static char block[65536];
  memset(block, 'x', sizeof block);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    printf("open %s: %s\n", path, errname(errno));
    return 1;
  }
  long long total = 0;
  ssize_t n;
  while ((n = write(fd, block, sizeof block)) > 0)
    total += n;
  printf("wrote %lld bytes, then %s\n", total, n < 0 ? errname(errno) : "0");
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "files"))
    return files();
  if (!strcmp(mode, "spin"))
    return spin(argc > 2 && !strcmp(argv[2], "catch"));
  if (!strcmp(mode, "fill") && argc > 2)
    return fill(argv[2]);
  if (!strcmp(mode, "sleep")) {
    printf("sleeping\n");
    if (fork() == 0) {
      sleep(100);
      _exit(0);
    }
    sleep(100);
    wait(NULL);
    return 0;
  }
  fprintf(stderr, "usage: limitprobe files|spin [catch]|fill PATH|sleep\n");
  return 2;
}
