/* SIGBUS raised by the guest's own access to a page of a file mapping
 * (MAP_SHARED and MAP_PRIVATE alike) that lies wholly past the end of the
 * file (mmap(2): "Attempted access to a page of the buffer that lies
 * beyond the end of the mapped file"), by default and caught with its
 * si_code and si_addr; the partial last page reads zeros past the end;
 * the page becomes readable with the file's content once the file grows
 * over it; mprotect, mremap, mlock, msync, fork, system calls and
 * /proc/self/maps on such a mapping. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "guest.h"

#define PG 4096

static sigjmp_buf g_jump;
static volatile int g_sig, g_code;
static volatile void *g_addr;

static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  g_sig = sig;
  g_code = si->si_code;
  g_addr = si->si_addr;
  siglongjmp(g_jump, 1);
}

/* What a one-byte access at p does: the byte read, or the signal with
 * whether its code and address are the ones Linux gives. */
static void probe(const char *label, volatile char *p, int write) {
  g_sig = 0;
  if (!sigsetjmp(g_jump, 1)) {
    if (write) {
      *p = 'w';
      printf("%s: wrote\n", label);
    } else {
      printf("%s: read %d\n", label, *p);
    }
    return;
  }
  printf("%s: %s, %s, si_addr right %d\n", label,
         g_sig == SIGBUS    ? "SIGBUS"
         : g_sig == SIGSEGV ? "SIGSEGV"
                            : "other",
         g_sig == SIGBUS && g_code == BUS_ADRERR     ? "BUS_ADRERR"
         : g_sig == SIGSEGV && g_code == SEGV_ACCERR ? "SEGV_ACCERR"
         : g_sig == SIGSEGV && g_code == SEGV_MAPERR ? "SEGV_MAPERR"
                                                     : "another code",
         g_addr == (void *)p);
}

/* Jump to p (a ret instruction there would return at once). */
static void probe_exec(const char *label, char *p) {
  g_sig = 0;
  if (!sigsetjmp(g_jump, 1)) {
    ((void (*)(void))p)();
    printf("%s: ran\n", label);
    return;
  }
  printf("%s: %s, si_addr right %d\n", label,
         g_sig == SIGBUS    ? "SIGBUS"
         : g_sig == SIGSEGV ? "SIGSEGV"
                            : "other",
         g_addr == (void *)p);
}

/* The permissions /proc/self/maps shows for the mapping at p, and whether
 * one line covers [p, p+len). */
static void maps_line(const char *label, void *p, size_t len) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    unsigned long s, e;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) != 3)
      continue;
    if (s <= (uintptr_t)p && (uintptr_t)p < e) {
      printf("%s: %s, one line %d\n", label, perms,
             s == (uintptr_t)p && e == (uintptr_t)p + len);
      fclose(f);
      return;
    }
  }
  printf("%s: not found\n", label);
  if (f)
    fclose(f);
}

/* A child that reads p: its exit status says what happened. */
static void child_read(const char *label, volatile char *p) {
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(SIGBUS, SIG_DFL);
    _exit(*p);
  }
  int st;
  waitpid(pid, &st, 0);
  if (WIFSIGNALED(st))
    printf("%s: killed by %s\n", label,
           WTERMSIG(st) == SIGBUS ? "SIGBUS" : "another signal");
  else
    printf("%s: exit %d\n", label, WEXITSTATUS(st));
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  enter_workdir("sigbus");
  int fd = open("short", O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, "x", 1) != 1)
    return 2;
  volatile char *m = mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED)
    return 3;
  printf("first page: %c\n", m[0]);
  printf("partial page past the end: %d %d\n", m[1], m[PG - 1]);
  fflush(stdout);

  /* By default SIGBUS kills. */
  child_read("default", m + PG);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGBUS, &sa, NULL);
  sigaction(SIGSEGV, &sa, NULL);
  probe("shared read past the end", m + PG + 10, 0);
  maps_line("maps shared", (void *)m, 2 * PG);

  /* The protection still rules: PROT_NONE gives SIGSEGV, back to
   * PROT_READ gives SIGBUS again. */
  OK("mprotect none", mprotect((void *)m, 2 * PG, PROT_NONE));
  probe("read under PROT_NONE", m + PG, 0);
  maps_line("maps after mprotect none", (void *)m, 2 * PG);
  OK("mprotect read", mprotect((void *)m, 2 * PG, PROT_READ));
  probe("first page again", m, 0);
  probe("write to the read-only first page", m + 2, 1);
  probe("read past the end again", m + PG + 5, 0);
  /* A write past the end of a read-only mapping is a protection fault
   * first: SIGSEGV, not SIGBUS. */
  probe("write past the end, read-only", m + PG + 7, 1);

  /* MAP_PRIVATE, read-write: reads and writes past the end alike. */
  int ro = open("short", O_RDONLY);
  volatile char *p =
      mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
  if (p == MAP_FAILED)
    return 4;
  probe("private read first page", p, 0);
  probe("private write first page", p + 1, 1);
  probe("private read past the end", p + 2 * PG + 100, 0);
  probe("private write past the end", p + PG, 1);
  maps_line("maps private", (void *)p, 3 * PG);

  /* The kernel's own accesses get EFAULT, no signal. */
  int pp[2];
  if (pipe(pp) < 0)
    return 5;
  R("write from past the end", write(pp[1], (void *)(p + PG), 10));
  R("read into past the end", read(ro, (void *)(p + PG), 1));
  R("write from the partial page", write(pp[1], (void *)(p + 1), 3));
  char back[6] = {0};
  R("pipe read", read(pp[0], back, 3));
  printf("pipe holds: %d %d %d\n", back[0], back[1], back[2]);

  /* A jump past the end is SIGBUS too, even into a mapping without
   * PROT_EXEC (x86 Linux checks PROT_EXEC only on a present page). */
  char *x = mmap(NULL, 2 * PG, PROT_READ | PROT_EXEC, MAP_PRIVATE, ro, 0);
  if (x == MAP_FAILED)
    return 6;
  probe_exec("jump past the end", x + PG);
  probe_exec("jump past the end, no PROT_EXEC", (char *)m + PG);

  /* A mapping that grows by mremap grows by pages of the file. */
  volatile char *g = mremap((void *)m, 2 * PG, 3 * PG, MREMAP_MAYMOVE);
  if (g == MAP_FAILED)
    return 7;
  probe("grown: first page", g, 0);
  probe("grown: old page past the end", g + PG, 0);
  probe("grown: new page", g + 2 * PG + 1, 0);
  maps_line("maps grown", (void *)g, 3 * PG);

  /* The file grows over the pages: they read what the file holds, in
   * this process and in a child. */
  OK("ftruncate larger", ftruncate(fd, 2 * PG + 10));
  R("pwrite", pwrite(fd, "hello", 5, PG + 100));
  R("pwrite 2", pwrite(fd, "world", 5, 2 * PG + 5));
  child_read("child after growth", g + PG + 100);
  probe("after growth: page 1", g + PG + 100, 0);
  probe("after growth: page 1 zero", g + PG + 200, 0);
  probe("after growth: page 2", g + 2 * PG + 5, 0);
  probe("after growth: page 2 past the new end", g + 2 * PG + 100, 0);
  probe("private after growth", p + PG + 101, 0);
  probe("private after growth, page 2", p + 2 * PG + 6, 0);
  probe("private after growth, write", p + PG, 1);
  probe("private write reads back", p + PG, 0);
  R("pwrite ret", pwrite(fd, "\xc3", 1, PG + 200));
  R("write from the grown page", write(pp[1], (void *)(x + PG + 100), 5));
  R("pipe read", read(pp[0], back, 5));
  printf("pipe holds: %.5s\n", back);
  probe_exec("jump after growth (to a ret)", x + PG + 200);
  probe_exec("jump after growth, no PROT_EXEC", (char *)g + PG);
  maps_line("maps after growth", (void *)g, 3 * PG);

  /* Part of the mapping unmapped: SIGSEGV, not SIGBUS. */
  volatile char *u = mmap(NULL, 4 * PG, PROT_READ, MAP_SHARED, ro, 0);
  if (u == MAP_FAILED)
    return 8;
  OK("munmap page 3", munmap((void *)(u + 3 * PG), PG));
  probe("unmapped page", u + 3 * PG, 0);
  probe("partial page", u + 3 * PG - 1, 0);
  maps_line("maps after munmap", (void *)u, 3 * PG);

  /* A mapping that starts past the end; mlock faults pages in and fails
   * there; moving a mapping keeps its pages past the end. */
  volatile char *o = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, ro, 4 * PG);
  if (o == MAP_FAILED)
    return 9;
  probe("offset past the end", o + 1, 0);
  R("mlock past the end", mlock((void *)o, 2 * PG));
  R("mlock within the file", mlock((void *)u, 3 * PG));
  munlock((void *)u, 3 * PG);
  char *dst = mmap(NULL, 8 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  volatile char *mv = mremap((void *)u, 3 * PG, 3 * PG,
                             MREMAP_MAYMOVE | MREMAP_FIXED, dst + 2 * PG);
  FACT("moved to the fixed address", mv == dst + 2 * PG);
  probe("moved: first page", mv + 1, 0);
  probe("moved: partial page", mv + 2 * PG + 9, 0);
  volatile char *mo =
      mremap((void *)o, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
  FACT("moved past the end to the fixed address", mo == dst);
  probe("moved: past the end", mo + PG + 1, 0);

  /* A shared writable page the file grew over: a write reaches the file
   * at msync. */
  OK("ftruncate smaller", ftruncate(fd, 10));
  volatile char *w =
      mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (w == MAP_FAILED)
    return 10;
  probe("shared write past the end", w + PG + 3, 1);
  OK("ftruncate larger again", ftruncate(fd, 2 * PG));
  probe("shared write after growth", w + PG + 3, 1);
  OK("msync", msync((void *)w, 2 * PG, MS_SYNC));
  char c = 0;
  R("pread", pread(fd, &c, 1, PG + 3));
  printf("file holds: %c\n", c);
  return 0;
}
