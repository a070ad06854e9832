/* The memory resource limits as Linux enforces them, run natively and
 * under moat with the same output: RLIMIT_AS (every mapping of the
 * process, PROT_NONE included: mmap, mremap, brk, malloc fail with
 * ENOMEM), RLIMIT_DATA (private writable mappings and brk; read-only and
 * shared mappings do not count, mprotect to writable does), RLIMIT_STACK
 * (kept across exec, sizes the main stack and glibc's default thread
 * stack), inheritance by fork and exec, and prlimit64 on another process.
 * Each limit is tried in a child of its own so the next starts clean. */
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "guest.h"

#define MIB (1ul << 20)

/* mmap's result as a number: 0 for success, -1 with errno. */
static long map(size_t len, int prot, int flags, void **out) {
  void *p = mmap(NULL, len, prot, flags, -1, 0);
  if (p == MAP_FAILED)
    return -1;
  if (out)
    *out = p;
  return 0;
}

static void set_soft(int res, rlim_t cur) {
  struct rlimit rl;
  getrlimit(res, &rl);
  rl.rlim_cur = cur;
  R("setrlimit", setrlimit(res, &rl));
}

static int wait_child(pid_t pid) {
  int st = 0;
  if (waitpid(pid, &st, 0) != pid)
    return -1;
  return st;
}

static void report(const char *what, int st) {
  if (WIFEXITED(st))
    printf("%s: exit %d\n", what, WEXITSTATUS(st));
  else if (WIFSIGNALED(st))
    printf("%s: signal %d\n", what, WTERMSIG(st));
}

static void as_limit(void) {
  void *a, *b;
  set_soft(RLIMIT_AS, 64 * MIB);
  R("mmap 24M rw",
    map(24 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, &a));
  R("mmap 48M none (AS counts PROT_NONE)",
    map(48 * MIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, NULL));
  R("mmap 48M shared",
    map(48 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, NULL));
  R("munmap 24M", munmap(a, 24 * MIB));
  R("mmap 48M none", map(48 * MIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, &b));
  errno = 0;
  void *m = mremap(b, 48 * MIB, 80 * MIB, MREMAP_MAYMOVE);
  printf("mremap grow past AS: %s\n",
         m == MAP_FAILED ? errname(errno) : "moved");
  m = mremap(b, 48 * MIB, 16 * MIB, 0);
  printf("mremap shrink: %s\n", m == b ? "ok" : errname(errno));
  errno = 0;
  void *s = sbrk(100 * MIB);
  printf("sbrk 100M: %s\n", s == (void *)-1 ? errname(errno) : "ok");
  void *big = malloc(100 * MIB);
  printf("malloc 100M: %s\n", big ? "ok" : "NULL");
  free(big);
  void *small = malloc(1 * MIB);
  printf("malloc 1M: %s\n", small ? "ok" : "NULL");
  free(small);
}

static void data_limit(void) {
  void *ro;
  set_soft(RLIMIT_DATA, 32 * MIB);
  R("mmap 48M private rw",
    map(48 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL));
  R("mmap 48M private ro",
    map(48 * MIB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, &ro));
  R("mprotect it rw", mprotect(ro, 48 * MIB, PROT_READ | PROT_WRITE));
  R("mprotect 8M of it rw", mprotect(ro, 8 * MIB, PROT_READ | PROT_WRITE));
  R("mmap 48M shared rw",
    map(48 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, NULL));
  R("mmap 48M none",
    map(48 * MIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, NULL));
  R("mmap 16M private rw",
    map(16 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NULL));
  errno = 0;
  void *s = sbrk(40 * MIB);
  printf("sbrk 40M: %s\n", s == (void *)-1 ? errname(errno) : "ok");
  /* Inherited by fork. */
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit rl;
    getrlimit(RLIMIT_DATA, &rl);
    printf("child's RLIMIT_DATA: %luM\n", (unsigned long)(rl.rlim_cur / MIB));
    _exit(map(48 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
              NULL) < 0
              ? 3
              : 0);
  }
  report("child's 48M mapping", wait_child(pid));
}

/* Recurse through depth KiB of stack. */
static int recurse(int kib) {
  volatile char pad[1024];
  pad[0] = (char)kib;
  if (kib <= 1)
    return pad[0];
  return recurse(kib - 1) + pad[0];
}

/* After exec with RLIMIT_STACK 1 MiB (and RLIMIT_AS set before it). */
static int after_exec(void) {
  struct rlimit rl;
  getrlimit(RLIMIT_STACK, &rl);
  printf("after exec: RLIMIT_STACK %luK\n", (unsigned long)(rl.rlim_cur >> 10));
  getrlimit(RLIMIT_AS, &rl);
  printf("after exec: RLIMIT_AS %luM\n", (unsigned long)(rl.rlim_cur / MIB));
#ifdef __GLIBC__
  pthread_attr_t attr;
  size_t size = 0;
  pthread_getattr_default_np(&attr);
  pthread_attr_getstacksize(&attr, &size);
  printf("default thread stack: %luK\n", (unsigned long)(size >> 10));
#endif
  for (int kib = 512; kib <= 4096; kib *= 8) {
    pid_t pid = fork();
    if (pid == 0) {
      recurse(kib);
      _exit(0);
    }
    char what[64];
    snprintf(what, sizeof what, "%d KiB of stack", kib);
    report(what, wait_child(pid));
  }
  return 0;
}

static void stack_limit(const char *self) {
  set_soft(RLIMIT_STACK, 1 * MIB);
  set_soft(RLIMIT_AS, 1024 * MIB);
  fflush(stdout);
  execl(self, self, "after-exec", (char *)NULL);
  printf("exec: %s\n", errname(errno));
}

static void prlimit_other(void) {
  int go[2], back[2];
  if (pipe(go) || pipe(back))
    return;
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    struct rlimit rl;
    read(go[0], &c, 1);
    getrlimit(RLIMIT_DATA, &rl);
    printf("child sees RLIMIT_DATA %luM/%luM\n",
           (unsigned long)(rl.rlim_cur / MIB),
           (unsigned long)(rl.rlim_max / MIB));
    fflush(stdout);
    write(back[1], "k", 1);
    read(go[0], &c, 1);
    _exit(0);
  }
  struct rlimit nl = {100 * MIB, 200 * MIB}, ol;
  R("prlimit child set", prlimit(pid, RLIMIT_DATA, &nl, NULL));
  R("prlimit child get", prlimit(pid, RLIMIT_DATA, NULL, &ol));
  printf("read back %luM/%luM\n", (unsigned long)(ol.rlim_cur / MIB),
         (unsigned long)(ol.rlim_max / MIB));
  struct rlimit bad = {300 * MIB, 200 * MIB};
  R("prlimit child soft > hard", prlimit(pid, RLIMIT_DATA, &bad, NULL));
  char c;
  write(go[1], "g", 1);
  read(back[0], &c, 1);
  write(go[1], "g", 1);
  wait_child(pid);
  R("prlimit reaped child", prlimit(pid, RLIMIT_DATA, NULL, &ol));
  R("prlimit pid -1", prlimit(-1, RLIMIT_DATA, NULL, &ol));
  R("prlimit bad resource", prlimit(0, 99, NULL, &ol));
}

static void in_child(const char *what, void (*fn)(void)) {
  printf("-- %s\n", what);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    fn();
    fflush(stdout);
    _exit(0);
  }
  report(what, wait_child(pid));
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && !strcmp(argv[1], "after-exec"))
    return after_exec();
  in_child("RLIMIT_AS", as_limit);
  in_child("RLIMIT_DATA", data_limit);
  in_child("prlimit on another process", prlimit_other);
  printf("-- RLIMIT_STACK\n");
  pid_t pid = fork();
  if (pid == 0) {
    stack_limit(argv[0]);
    _exit(1);
  }
  report("RLIMIT_STACK", wait_child(pid));
  return 0;
}
