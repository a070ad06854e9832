/* The guest's own flags do not leak into the library OS: with AC (alignment
 * check) set by popf, system calls that move data (getppid, write, read,
 * clock_gettime, a signal and its return) work as natively, and the flag
 * is still the guest's afterwards; DF set across a system call likewise
 * (the kernel's string copies must still go up). Positive control: with
 * AC set, the guest's own unaligned load is SIGBUS (BUS_ADRALN), as
 * Linux checks alignment in user mode. moat on Linux once died of its
 * own #AC ("internal fault: signal 7") at the first system call after
 * the guest set AC. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

#include "guest.h"

#define AC (1ul << 18)
#define DF (1ul << 10)

static inline uint64_t flags_get(void) {
  uint64_t f;
  __asm__ volatile("pushfq; popq %0" : "=r"(f));
  return f;
}

static inline void flags_set(uint64_t f) {
  __asm__ volatile("pushq %0; popfq" : : "r"(f) : "memory", "cc");
}

static long raw3(long nr, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "a"(nr), "D"(a), "S"(b), "d"(c)
                   : "rcx", "r11", "memory");
  return r;
}

static sigjmp_buf g_jump;
static volatile int g_code, g_usr1;

static void on_bus(int sig, siginfo_t *si, void *uc) {
  (void)sig, (void)uc;
  flags_set(flags_get() & ~AC); /* before anything of libc's */
  g_code = si->si_code;
  siglongjmp(g_jump, 1);
}

static void on_usr1(int sig) {
  (void)sig;
  g_usr1++;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int p[2];
  if (pipe(p) < 0)
    return 1;
  signal(SIGUSR1, on_usr1);
  char buf[16] __attribute__((aligned(16))) = "moat AC test";
  char back[16] __attribute__((aligned(16))) = {0};
  struct timespec ts;
  long pid = getpid();

  /* AC set: only aligned accesses of our own until it is cleared */
  uint64_t f0 = flags_get();
  flags_set(f0 | AC);
  long ppid = raw3(SYS_getppid, 0, 0, 0);
  long w = raw3(SYS_write, p[1], (long)(buf + 1), 7); /* unaligned buffer */
  long r = raw3(SYS_read, p[0], (long)(back + 3), 7);
  long c = raw3(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0);
  long k = raw3(SYS_kill, pid, SIGUSR1, 0);
  uint64_t f1 = flags_get();
  flags_set(f0);
  printf("with AC set: getppid %s, write %ld, read %ld, clock_gettime %ld, "
         "kill %ld, handler ran %d\n",
         ppid >= 0 ? "ok" : "failed", w, r, c, k, g_usr1);
  printf("bytes back: %s\n", memcmp(back + 3, buf + 1, 7) ? "wrong" : "same");
  printf("AC still set after the calls: %d\n", (f1 & AC) != 0);

  /* DF set across a system call that copies */
  memset(back, 0, sizeof(back));
  flags_set(f0 | DF);
  w = raw3(SYS_write, p[1], (long)buf, 12);
  r = raw3(SYS_read, p[0], (long)back, 12);
  f1 = flags_get();
  flags_set(f0);
  printf("with DF set: write %ld, read %ld, bytes %s, DF still set %d\n", w, r,
         memcmp(back, buf, 12) ? "wrong" : "same", (f1 & DF) != 0);

  /* the control: our own unaligned load with AC set */
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = on_bus;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGBUS, &sa, NULL);
  volatile uint32_t v = 0;
  if (!sigsetjmp(g_jump, 1)) {
    flags_set(f0 | AC);
    v = *(volatile uint32_t *)(void *)(buf + 1);
    flags_set(f0);
    printf("unaligned load with AC set: no fault\n");
  } else {
    flags_set(f0);
    printf("unaligned load with AC set: SIGBUS, BUS_ADRALN %d\n",
           g_code == BUS_ADRALN);
  }
  (void)v;
  return 0;
}
