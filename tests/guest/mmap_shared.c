/* Shared file mappings are the file's pages, not copies (issue 9, item
 * 1): a counter in a MAP_SHARED file incremented in turn by a parent and
 * its forked child (handshakes over pipes, so the output does not depend
 * on scheduling); write(2) seen through an existing mapping at once and
 * kept by a later munmap of an untouched mapping; a mapping's writes seen
 * by read(2) at once, before any msync; a process that exec'd on its own
 * (this binary with "peer") maps the file and the two see each other's
 * writes through their mappings; a sparse 4 GiB file mapped and touched
 * at both ends quickly (natively instant; copies took half a minute);
 * SIGBUS past the end of the file, also after a truncation; a read-only
 * shared mapping sees writes; MAP_PRIVATE stays a copy. */
#include "guest.h"

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#define PAGE 4096

static sigjmp_buf g_jump;

static void on_bus(int sig) {
  siglongjmp(g_jump, sig);
}

/* The signal a read of *p raises (0: none). */
static int probe(volatile char *p) {
  int sig = sigsetjmp(g_jump, 1);
  if (sig)
    return sig;
  (void)*p;
  return 0;
}

static const char *signame(int sig) {
  return sig == 0         ? "none"
         : sig == SIGBUS  ? "SIGBUS"
         : sig == SIGSEGV ? "SIGSEGV"
                          : "other";
}

static void xwrite(int fd, const void *buf, size_t n) {
  if (write(fd, buf, n) != (ssize_t)n) {
    printf("write: %s\n", errname(errno));
    exit(1);
  }
}

static void xread(int fd, void *buf, size_t n) {
  if (read(fd, buf, n) != (ssize_t)n) {
    printf("read: %s\n", errname(errno));
    exit(1);
  }
}

/* Parent and child add 1 in turn, 100 times each, passing a token. */
static void fork_counter(void) {
  int fd = open("counter", O_RDWR | O_CREAT | O_TRUNC, 0644);
  R("ftruncate counter", ftruncate(fd, PAGE));
  volatile int *c = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (c == MAP_FAILED) {
    printf("mmap counter: %s\n", errname(errno));
    return;
  }
  int to_child[2], to_parent[2];
  if (pipe(to_child) || pipe(to_parent))
    return;
  pid_t pid = fork();
  if (pid == 0) {
    char t;
    for (int i = 0; i < 100; i++) {
      xread(to_child[0], &t, 1);
      (*c)++;
      xwrite(to_parent[1], &t, 1);
    }
    _exit(0);
  }
  char t = 'x';
  for (int i = 0; i < 100; i++) {
    (*c)++;
    xwrite(to_child[1], &t, 1);
    xread(to_parent[0], &t, 1);
  }
  int st;
  waitpid(pid, &st, 0);
  int in_file = 0;
  pread(fd, &in_file, sizeof in_file, 0);
  printf("counter after fork: mapping %d, read(2) %d\n", *c, in_file);
  munmap((void *)c, PAGE);
  in_file = 0;
  pread(fd, &in_file, sizeof in_file, 0);
  printf("counter after munmap: %d\n", in_file);
  close(fd);
}

static void write_vs_mapping(void) {
  int fd = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
  char buf[2 * PAGE];
  memset(buf, 'a', sizeof buf);
  xwrite(fd, buf, sizeof buf);
  /* An untouched mapping, a write(2), munmap: the write stays. */
  char *m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  R("pwrite while mapped", pwrite(fd, "WRITE", 5, 10));
  R("munmap untouched", munmap(m, 2 * PAGE));
  char got[6] = {0};
  pread(fd, got, 5, 10);
  printf("after munmap of an untouched mapping: %s\n", got);
  /* A touched mapping sees a write(2) at once, and read(2) sees the
   * mapping's writes at once. */
  m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  printf("mapping reads: %.5s\n", m + 10);
  pwrite(fd, "again", 5, 10);
  printf("mapping after pwrite: %.5s\n", m + 10);
  memcpy(m + PAGE + 1, "viamap", 6);
  memset(got, 0, sizeof got);
  pread(fd, got, 6, PAGE + 1);
  printf("read(2) of the mapping's write, before msync: %.6s\n", got);
  /* A second mapping of the same file in the same process. */
  char *m2 = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, PAGE);
  printf("second mapping sees it: %.6s\n", m2 + 1);
  R("msync", msync(m, 2 * PAGE, MS_SYNC));
  /* A read-only open, shared mapping: sees writes of others. */
  int ro = open("data", O_RDONLY);
  char *r = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0);
  m[0] = 'Z';
  printf("read-only shared mapping sees Z: %c\n", r[0]);
  R("mprotect read-only shared to write", mprotect(r, PAGE, PROT_WRITE));
  printf("errno: %s\n", errname(errno));
  /* MAP_PRIVATE: a copy once written. */
  char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  p[0] = 'P';
  char c;
  pread(fd, &c, 1, 0);
  printf("private write in the file: %c, shared sees: %c\n", c, m[0]);
  munmap(p, PAGE);
  munmap(r, PAGE);
  close(ro);
  munmap(m2, PAGE);
  /* mprotect keeps the content, and a write after it reaches the file. */
  R("mprotect read-only", mprotect(m, 2 * PAGE, PROT_READ));
  printf("after mprotect: %c\n", m[0]);
  R("mprotect read-write", mprotect(m, 2 * PAGE, PROT_READ | PROT_WRITE));
  m[1] = 'Y';
  pread(fd, &c, 1, 1);
  printf("write after mprotect in the file: %c\n", c);
  /* mremap moves the pages with their content. */
  char *mv = mremap(m, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE);
  printf("after mremap: %c%c\n", mv[0], mv[1]);
  /* Past the end of the file: SIGBUS (the pages mremap added). */
  printf("touch past the end: %s\n", signame(probe(mv + 2 * PAGE)));
  /* Truncation takes the second page back, though mapped here. */
  printf("second page before truncation: %c\n", mv[PAGE + 1]);
  R("ftruncate to one page", ftruncate(fd, PAGE));
  printf("touch the truncated page: %s\n", signame(probe(mv + PAGE)));
  printf("first page still: %c\n", mv[0]);
  R("ftruncate back to two", ftruncate(fd, 2 * PAGE));
  printf("the page again, zero: %d\n", mv[PAGE + 1]);
  munmap(mv, 4 * PAGE);
  close(fd);
}

/* The peer: exec'd on its own, maps the file, waits for the parent's
 * value, answers through the mapping. */
static int peer(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int fd = open("exec_shared", O_RDWR);
  volatile char *m =
      mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED)
    return 1;
  char t;
  xread(0, &t, 1); /* the parent wrote "ping" into the mapping */
  printf("peer sees: %.4s\n", (char *)m);
  memcpy((char *)m + 8, "pong", 4);
  xwrite(1, "k", 1);
  return 0;
}

static void exec_peer(const char *self) {
  int fd = open("exec_shared", O_RDWR | O_CREAT | O_TRUNC, 0644);
  ftruncate(fd, PAGE);
  char *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int in[2], out[2];
  if (pipe(in) || pipe(out))
    return;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[1]);
    close(out[0]);
    execl(self, self, "peer", (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  memcpy(m, "ping", 4);
  xwrite(in[1], "g", 1);
  char line[64] = {0};
  size_t got = 0;
  char t;
  while (got < sizeof line - 1 && read(out[0], &t, 1) == 1 && t != 'k')
    line[got++] = t;
  printf("%s", line);
  printf("parent sees through its mapping: %.4s\n", m + 8);
  int st;
  waitpid(pid, &st, 0);
  munmap(m, PAGE);
  close(fd);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sparse_4g(void) {
  const off_t size = 4ll << 30;
  int fd = open("sparse", O_RDWR | O_CREAT | O_TRUNC, 0644);
  R("ftruncate 4 GiB", ftruncate(fd, size));
  double t0 = now();
  char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    printf("mmap 4 GiB: %s\n", errname(errno));
    close(fd);
    return;
  }
  m[0] = 'b';
  m[size - 1] = 'e';
  R("munmap 4 GiB", munmap(m, size));
  double took = now() - t0;
  char b = 0, e = 0;
  pread(fd, &b, 1, 0);
  pread(fd, &e, 1, size - 1);
  printf("sparse ends in the file: %c %c, within 5 s: %s\n", b, e,
         took < 5 ? "yes" : "no");
  close(fd);
  unlink("sparse");
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "peer"))
    return peer();
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGBUS, on_bus);
  signal(SIGSEGV, on_bus);
  enter_workdir("mmap_shared");
  /* The peer finds the file by a relative name: use the work dir. */
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = 0;
  fork_counter();
  write_vs_mapping();
  exec_peer(self);
  sparse_4g();
  return 0;
}
