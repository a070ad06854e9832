/* System call sites first run by several threads at once (moat's fast
 * path rewrites a site at its second trap, here while other threads may
 * be executing its very bytes: platform/linux/fastpath.c, code_write),
 * compared with the native run. Code made at run time, as a JIT makes
 * it: 512 stubs `mov $NR, %eax; syscall; ret` for getpid, getppid and
 * gettid in turn, which 4 threads call in the same order from a common
 * start, so that they meet on the same stub; every result is checked
 * against the call made through libc (a stub whose rewrite went wrong
 * would run another call or crash). Then the page is replaced by stubs
 * of other calls at the same addresses (sites forgotten, a JIT reusing
 * its memory), and a guest's own int3 on a former site is its own
 * SIGTRAP. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "guest.h"

#define STUBS 512
#define STUB_SIZE 16
#define CODE_SIZE ((STUBS + 1) * STUB_SIZE)
#define THREADS 4
#define PASSES 8

static unsigned char *g_code;
static int g_nrs[3];
static pthread_barrier_t g_start;
static int g_skip = -1; /* a stub the threads leave out */

/* Stub i at g_code + 16 * (i + 1): b8 NR 0f 05 c3, nops around. */
static void make_stubs(const int nrs[3]) {
  memset(g_code, 0x90, CODE_SIZE);
  for (int i = 0; i < STUBS; i++) {
    unsigned char *s = g_code + STUB_SIZE * (i + 1);
    int nr = nrs[i % 3];
    s[0] = 0xb8;
    memcpy(s + 1, &nr, 4);
    s[5] = 0x0f;
    s[6] = 0x05;
    s[7] = 0xc3;
  }
}

static long call_stub(int i) {
  long r;
  void *fn = g_code + STUB_SIZE * (i + 1);
  __asm__ volatile("call *%1"
                   : "=a"(r)
                   : "r"(fn)
                   : "rcx", "r11", "rdx", "rsi", "rdi", "r8", "r9", "r10",
                     "memory");
  return r;
}

/* What stub i must return in the calling thread. */
static long expected(int i) {
  switch (g_nrs[i % 3]) {
  case SYS_getpid:
    return getpid();
  case SYS_getppid:
    return getppid();
  case SYS_gettid:
    return syscall(SYS_gettid);
  case SYS_getuid:
    return getuid();
  case SYS_getgid:
    return getgid();
  default:
    return getpgrp();
  }
}

static void *runner(void *arg) {
  long *wrong = arg;
  long want[3] = {expected(0), expected(1), expected(2)};
  pthread_barrier_wait(&g_start);
  for (int pass = 0; pass < PASSES; pass++)
    for (int i = 0; i < STUBS; i++)
      if (i != g_skip && call_stub(i) != want[i % 3])
        (*wrong)++;
  return NULL;
}

static long run_threads(void) {
  pthread_t th[THREADS];
  long wrong[THREADS] = {0}, total = 0;
  pthread_barrier_init(&g_start, NULL, THREADS);
  for (int t = 0; t < THREADS; t++)
    pthread_create(&th[t], NULL, runner, &wrong[t]);
  for (int t = 0; t < THREADS; t++) {
    pthread_join(th[t], NULL);
    total += wrong[t];
  }
  pthread_barrier_destroy(&g_start);
  return total;
}

static sigjmp_buf g_trap_jmp;
static volatile sig_atomic_t g_traps;
static void on_trap(int sig) {
  (void)sig;
  g_traps++;
  siglongjmp(g_trap_jmp, 1);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  g_code = mmap(NULL, CODE_SIZE, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g_code == MAP_FAILED) {
    printf("mmap: %s\n", errname(errno));
    return 1;
  }
  g_nrs[0] = SYS_getpid, g_nrs[1] = SYS_getppid, g_nrs[2] = SYS_gettid;
  make_stubs(g_nrs);
  mprotect(g_code, CODE_SIZE, PROT_READ | PROT_EXEC);
  printf("first stubs, %d threads: %ld wrong of %d\n", THREADS, run_threads(),
         THREADS * PASSES * STUBS);

  /* The same addresses, other code (a JIT reusing its memory). */
  munmap(g_code, CODE_SIZE);
  unsigned char *again = mmap(g_code, CODE_SIZE, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (again != g_code) {
    printf("mmap again: %s\n", errname(errno));
    return 1;
  }
  g_nrs[0] = SYS_getuid, g_nrs[1] = SYS_getgid, g_nrs[2] = SYS_getpgrp;
  make_stubs(g_nrs);
  mprotect(g_code, CODE_SIZE, PROT_READ | PROT_EXEC);
  printf("replaced stubs, %d threads: %ld wrong of %d\n", THREADS,
         run_threads(), THREADS * PASSES * STUBS);

  /* The guest's own int3 where a site was: its own SIGTRAP. */
  mprotect(g_code, CODE_SIZE, PROT_READ | PROT_WRITE);
  g_code[STUB_SIZE * 6] = 0xcc;
  mprotect(g_code, CODE_SIZE, PROT_READ | PROT_EXEC);
  signal(SIGTRAP, on_trap);
  if (!sigsetjmp(g_trap_jmp, 1))
    call_stub(5);
  printf("own int3 on a former site: %d SIGTRAP\n", (int)g_traps);
  g_skip = 5;
  printf("the other stubs after it: %ld wrong\n", run_threads());
  return 0;
}
