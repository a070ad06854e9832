/* A guest process killed from the host (tests/run.py, hostdeath/...):
 * the test kills child A with a host SIGKILL once this program prints
 * "ready"; A is the only sandbox process with two host threads, which is
 * how the test finds its host pid.
 *
 * "hostdeath wait|read pause|spin": A holds the only write ends of pipes
 * p and r and the only read end of pipe q, and has a child C that waits
 * for EOF on r. With "wait" the parent sits in waitpid(A) while another
 * child B reads p; with "read" the parent itself reads p. A sits in
 * pause() (blocked inside moat, holding no lock) or spins in guest code.
 * Afterwards: A is reported killed by SIGKILL, the readers of p and r see
 * EOF, writing q fails with EPIPE, C was handed to pid 1; C then makes a
 * thread and pauses, the test kills it from the host too, and pid 1 must
 * collect it as killed; A's task slots are free again (the test runs
 * with a small --pids).
 *
 * "hostdeath busy": A writes 4 MiB blocks into a memfs file forever, so a
 * kill most likely lands while it holds a lock of the sandbox: then the
 * sandbox must end (status 125, one "moat: " line); otherwise it ends
 * normally as above (C exits by itself). "hostdeath contend": the same,
 * and the parent writes the same file meanwhile, so it waits for the
 * very lock A dies holding: it must still learn of A's end (and end the
 * sandbox), not wait for that lock for ever.
 *
 * Refuses to run unless it is pid 1 (inside a sandbox). */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "guest.h"

static void *sleeper(void *arg) {
  (void)arg;
  for (;;)
    pause();
  return NULL;
}

static volatile unsigned long g_spins;

static _Noreturn void be_a(const char *state, int ready_fd) {
  pthread_t th;
  if (pthread_create(&th, NULL, sleeper, NULL) != 0)
    _exit(3);
  if (write(ready_fd, "a", 1) != 1)
    _exit(3);
  close(ready_fd);
  if (!strcmp(state, "spin")) {
    for (;;)
      g_spins++;
  }
  if (!strcmp(state, "busy")) {
    static char block[4 << 20];
    memset(block, 'x', sizeof(block));
    int fd = open("/tmp/hostdeath-busy", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
      _exit(3);
    for (;;)
      if (pwrite(fd, block, sizeof(block), 0) < 0)
        _exit(3);
  }
  for (;;)
    pause();
}

/* Read fd until EOF; the number of bytes, or -1 on an error. */
static long drain(int fd) {
  long total = 0;
  char buf[256];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    if (n == 0)
      return total;
    total += n;
  }
}

static void report(const char *who, int st) {
  if (WIFSIGNALED(st))
    printf("%s: signaled sig %d\n", who, WTERMSIG(st));
  else if (WIFEXITED(st))
    printf("%s: exited %d\n", who, WEXITSTATUS(st));
  else
    printf("%s: status 0x%x\n", who, st);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (getpid() != 1 || argc < 2) {
    printf("refusing to run: not pid 1, so not inside a sandbox\n");
    return 2;
  }
  const char *mode = argv[1];
  const char *state = argc > 2 ? argv[2] : "pause";
  int contend = !strcmp(mode, "contend");
  if (contend)
    mode = "busy";
  if (!strcmp(mode, "busy"))
    state = "busy";
  signal(SIGPIPE, SIG_IGN);
  int p[2], q[2], r[2], ready[2];
  if (pipe(p) < 0 || pipe(q) < 0 || pipe(r) < 0 || pipe(ready) < 0)
    return 2;
  pid_t a = fork();
  if (a == 0) {
    close(p[0]);
    close(q[1]);
    close(ready[0]);
    pid_t c = fork();
    if (c == 0) {
      /* C: waits for EOF on r, whose only writer is A. */
      close(p[1]);
      close(q[0]);
      close(r[1]);
      close(ready[1]);
      long n = drain(r[0]);
      /* A's files close before its children move (as in Linux's exit):
       * the new parent shows up soon after the EOF. */
      for (int i = 0; i < 5000 && getppid() != 1; i++)
        usleep(1000);
      /* Then C too is killed from the host (with a thread, so the test
       * finds it): an orphan at host level as well, whose end must come
       * to pid 1's host process. */
      pthread_t th;
      if (strcmp(mode, "busy") && pthread_create(&th, NULL, sleeper, NULL))
        _exit(3);
      printf("C: %s after %ld bytes, parent now pid %d\n",
             n >= 0 ? "EOF" : "error", n, getppid());
      if (strcmp(mode, "busy"))
        for (;;)
          pause();
      _exit(0);
    }
    close(r[0]);
    if (write(p[1], "hello", 5) != 5)
      _exit(3);
    be_a(state, ready[1]);
  }
  close(p[1]);
  close(q[0]);
  close(r[0]);
  close(r[1]);
  close(ready[1]);
  char byte;
  if (read(ready[0], &byte, 1) != 1)
    return 2;
  pid_t b = -1;
  if (!strcmp(mode, "wait")) {
    b = fork();
    if (b == 0) {
      long n = drain(p[0]);
      printf("B: %s after %ld bytes\n", n >= 0 ? "EOF" : "error", n);
      _exit(0);
    }
  }
  printf("ready\n");
  int st;
  if (!strcmp(mode, "read")) {
    long n = drain(p[0]);
    printf("parent: %s after %ld bytes\n", n >= 0 ? "EOF" : "error", n);
  }
  if (contend) {
    /* Write the file A writes until A is gone. */
    static char block[4 << 20];
    int fd = open("/tmp/hostdeath-busy", O_RDWR | O_CREAT, 0600);
    if (fd < 0)
      return 2;
    pid_t got;
    while ((got = waitpid(a, &st, WNOHANG)) == 0)
      if (pwrite(fd, block, sizeof(block), 0) < 0)
        return 2;
    if (got != a) {
      printf("waitpid A: %s\n", errname(errno));
      return 1;
    }
    close(fd);
  } else if (waitpid(a, &st, 0) != a) {
    printf("waitpid A: %s\n", errname(errno));
    return 1;
  }
  report("A", st);
  ssize_t w = write(q[1], "x", 1);
  printf("write to A's pipe: %s\n", w < 0 ? errname(errno) : "written");
  if (b > 0) {
    if (waitpid(b, &st, 0) != b)
      return 1;
    report("B", st);
  }
  /* C is pid 1's child now. */
  int others = 0;
  pid_t w2;
  while ((w2 = wait(&st)) > 0) {
    others++;
    report("orphan", st);
  }
  printf("orphans collected: %d (%s)\n", others, errname(errno));
  /* A's two task slots are free again: --pids allows these. */
  int made = 0;
  pid_t kids[8];
  for (int i = 0; i < 5; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      pause();
      _exit(0);
    }
    if (kids[i] > 0)
      made++;
  }
  for (int i = 0; i < 5; i++)
    if (kids[i] > 0) {
      kill(kids[i], SIGTERM);
      waitpid(kids[i], &st, 0);
    }
  printf("forks after: %d of 5\n", made);
  return 0;
}
