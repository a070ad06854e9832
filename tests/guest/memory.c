/* Memory syscalls: mmap (anonymous, fixed, noreplace, errors), munmap
 * (whole, partial, errors), mprotect (checked by the fault it causes, via a
 * SIGSEGV handler and siglongjmp), brk, mremap (grow, move, shrink,
 * ENOMEM without MAYMOVE), madvise (DONTNEED zeroes private anonymous
 * memory). Addresses are never printed, only facts about them. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "guest.h"

#define PAGE 4096ul
static sigjmp_buf g_jump;
static volatile int g_code;

static void on_segv(int sig, siginfo_t *si, void *ctx) {
  g_code = si->si_code;
  siglongjmp(g_jump, 1);
}

/* Try to read or write one byte; print what happened. */
static void probe(const char *label, volatile char *p, int write) {
  if (sigsetjmp(g_jump, 1) == 0) {
    if (write)
      *p = 'w';
    else
      (void)*p;
    printf("%s: ok\n", label);
  } else {
    printf("%s: SIGSEGV %s\n", label,
           g_code == SEGV_MAPERR   ? "SEGV_MAPERR"
           : g_code == SEGV_ACCERR ? "SEGV_ACCERR"
                                   : "other");
  }
}

#define MAPF(label, expr)                                                      \
  do {                                                                         \
    void *m_ = (expr);                                                         \
    if (m_ == MAP_FAILED)                                                      \
      printf("%s: MAP_FAILED %s\n", label, errname(errno));                    \
    else                                                                       \
      printf("%s: mapped, page aligned %d\n", label,                           \
             ((uintptr_t)m_ % PAGE) == 0);                                     \
  } while (0)

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct sigaction sa = {0};
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);

  char *a = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  FACT("mmap anon", a != MAP_FAILED && (uintptr_t)a % PAGE == 0);
  FACT("zero filled", a[0] == 0 && a[3 * PAGE - 1] == 0);
  memset(a, 'a', 3 * PAGE);
  probe("write mapped", a + PAGE, 1);
  R("munmap middle", munmap(a + PAGE, PAGE));
  probe("read unmapped middle", a + PAGE, 0);
  probe("read first", a, 0);
  probe("read last", a + 2 * PAGE, 0);
  FACT("contents kept", a[0] == 'a' && a[2 * PAGE] == 'a');
  R("mprotect read-only", mprotect(a, PAGE, PROT_READ));
  probe("write read-only", a, 1);
  probe("read read-only", a, 0);
  R("mprotect none", mprotect(a, PAGE, PROT_NONE));
  probe("read PROT_NONE", a, 0);
  R("mprotect rw again", mprotect(a, PAGE, PROT_READ | PROT_WRITE));
  probe("write again", a, 1);
  R("mprotect unaligned", mprotect(a + 1, PAGE, PROT_READ));
  R("mprotect unmapped", mprotect(a + PAGE, PAGE, PROT_READ));
  R("mprotect bad prot", mprotect(a, PAGE, 0x100));
  R("munmap unaligned", munmap(a + 1, PAGE));
  R("munmap zero length", munmap(a, 0));
  R("munmap rest", munmap(a, 3 * PAGE));
  R("munmap again (nothing there)", munmap(a, 3 * PAGE));
  probe("read after munmap", a, 0);

  MAPF("mmap zero length",
       mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  MAPF("mmap no type", mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0));
  MAPF("mmap fixed unaligned",
       mmap((void *)(0x200000000 + 1), PAGE, PROT_READ,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
  MAPF("mmap bad fd", mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 77, 0));
  char *f = mmap((void *)0x300000000, 2 * PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  FACT("mmap fixed at address", f == (void *)0x300000000);
  f[0] = 'f';
  char *g = mmap(f, PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  FACT("fixed over fixed replaces (zeroed)", g == f && f[0] == 0);
  MAPF("noreplace over mapping",
       mmap(f, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | 0x100000, -1, 0));
  char *h = mmap(f, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  FACT("hint over mapping goes elsewhere", h != MAP_FAILED && h != f);
  char *big = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  FACT("64 MiB mapping", big != MAP_FAILED);
  big[(64 << 20) - 1] = 1;
  R("munmap big", munmap(big, 64 << 20));

  /* mremap */
  char *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(m, 'm', PAGE);
  char *n = mremap(m, PAGE, 8 * PAGE, MREMAP_MAYMOVE);
  FACT("mremap grow", n != MAP_FAILED);
  FACT("content moved", n[0] == 'm' && n[PAGE - 1] == 'm' && n[PAGE] == 0);
  n[8 * PAGE - 1] = 'e';
  char *s = mremap(n, 8 * PAGE, PAGE, 0);
  FACT("mremap shrink in place", s == n);
  probe("read past shrunk end", n + PAGE, 0);
  char *two = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  errno = 0;
  void *r = mremap(two, PAGE, 2 * PAGE, 0);
  printf("mremap grow into neighbour: %s\n",
         r == MAP_FAILED ? errname(errno) : "succeeded");
  errno = 0;
  r = mremap(two + 1, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
  printf("mremap unaligned: %s\n", r == MAP_FAILED ? errname(errno) : "ok");
  errno = 0;
  r = mremap(two, PAGE, 0, MREMAP_MAYMOVE);
  printf("mremap to zero: %s\n", r == MAP_FAILED ? errname(errno) : "ok");
  char *dst = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  two[0] = 'x';
  r = mremap(two, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
  FACT("mremap fixed", r == dst && dst[0] == 'x');
  probe("old place after mremap fixed", two, 0);

  /* madvise */
  char *d = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(d, 'd', 2 * PAGE);
  R("madvise DONTNEED", madvise(d, PAGE, MADV_DONTNEED));
  FACT("DONTNEED zeroed", d[0] == 0 && d[PAGE] == 'd');
  R("madvise NORMAL", madvise(d, PAGE, MADV_NORMAL));
  R("madvise WILLNEED", madvise(d, PAGE, MADV_WILLNEED));
  R("madvise unaligned", madvise(d + 1, PAGE, MADV_NORMAL));
  R("madvise bad advice", madvise(d, PAGE, 12345));

  /* brk */
  uintptr_t cur = (uintptr_t)syscall(SYS_brk, 0);
  FACT("brk(0) nonzero", cur != 0);
  uintptr_t up = (uintptr_t)syscall(SYS_brk, cur + 100000);
  FACT("brk grows exactly", up == cur + 100000);
  memset((void *)cur, 'b', 100000);
  probe("write in brk area", (char *)cur + 99999, 1);
  uintptr_t down = (uintptr_t)syscall(SYS_brk, cur + 10);
  FACT("brk shrinks", down == cur + 10);
  probe("read beyond shrunk brk", (char *)cur + 3 * PAGE, 0);
  uintptr_t low = (uintptr_t)syscall(SYS_brk, 4096);
  FACT("brk too low refused", low == cur + 10);
  uintptr_t again = (uintptr_t)syscall(SYS_brk, cur + 3 * PAGE);
  FACT("brk regrow zeroed",
       again == cur + 3 * PAGE && ((char *)cur)[PAGE] == 0);
  void *sb = sbrk(0);
  FACT("sbrk(0) works", sb != (void *)-1);
  /* malloc of many sizes */
  size_t total = 0;
  for (int i = 0; i < 2000; i++) {
    char *x = malloc(i * 37 + 1);
    x[i * 37] = 1;
    total += i * 37 + 1;
    if (i % 3)
      free(x);
  }
  char *huge = malloc(32 << 20);
  FACT("malloc 32 MiB", huge != NULL);
  huge[(32 << 20) - 1] = 1;
  free(huge);
  printf("malloc total %zu\n", total);
  return 0;
}
