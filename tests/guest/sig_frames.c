/* Signal frames: a handler that edits the interrupted context (rip and
 * rax of a faulting instruction, the saved signal mask) and the edits take
 * effect at sigreturn; general-purpose and SSE registers of a loop running
 * in user code survive handlers that clobber them, delivered by an
 * interval timer while the loop runs; floating-point results stay exact
 * under a storm of signals; and which blocking calls SA_RESTART restarts
 * (read, wait4) and which always fail with EINTR (nanosleep, pause,
 * sigsuspend), as signal(7) documents. */
#include <signal.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>

#include "guest.h"

static volatile uintptr_t g_resume;
static volatile int g_count;

static void skip_fault(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  uc->uc_mcontext.gregs[REG_RIP] = (greg_t)g_resume;
  uc->uc_mcontext.gregs[REG_RAX] = 1234;
  sigaddset(&uc->uc_sigmask, SIGUSR2); /* blocked after sigreturn */
  g_count++;
}

static void clobber(int sig) {
  g_count++;
  __asm__ volatile("mov $-1, %%rax\n\tmov $-1, %%rcx\n\tmov $-1, %%rdx\n\t"
                   "mov $-1, %%rsi\n\tmov $-1, %%rdi\n\tmov $-1, %%r8\n\t"
                   "mov $-1, %%r9\n\tmov $-1, %%r10\n\tmov $-1, %%r11\n\t"
                   "pcmpeqd %%xmm0, %%xmm0\n\tpcmpeqd %%xmm1, %%xmm1\n\t"
                   "pcmpeqd %%xmm7, %%xmm7\n\tpcmpeqd %%xmm8, %%xmm8\n\t"
                   "pcmpeqd %%xmm15, %%xmm15\n\t" ::
                       : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10",
                         "r11", "xmm0", "xmm1", "xmm7", "xmm8", "xmm15",
                         "memory");
  volatile double d = 1e300;
  d = d * d; /* overflow flags in the handler's own MXCSR/x87 state */
}

static void edit_context(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = skip_fault;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  long rax, tmp;
  g_count = 0;
  __asm__ volatile("lea 1f(%%rip), %1\n\t"
                   "mov %1, %2\n\t"
                   "xor %%eax, %%eax\n\t"
                   "movl $1, 0x10\n\t"
                   "1:\n\t"
                   : "=a"(rax), "=&r"(tmp), "=m"(g_resume)
                   :
                   : "memory");
  sigset_t cur;
  sigprocmask(SIG_BLOCK, NULL, &cur);
  printf("edited context: handler ran %d, rax %ld, SIGUSR2 now blocked %d, "
         "SIGSEGV blocked %d\n",
         g_count, rax, sigismember(&cur, SIGUSR2), sigismember(&cur, SIGSEGV));
  sigprocmask(SIG_UNBLOCK, &cur, NULL);
  signal(SIGSEGV, SIG_DFL);
}

static void registers_survive(void) {
  signal(SIGALRM, clobber);
  g_count = 0;
  struct itimerval it = {{0, 2000}, {0, 2000}};
  setitimer(ITIMER_REAL, &it, NULL);
  register long r8 __asm__("r8") = 0x0808080808080808L;
  register long r9 __asm__("r9") = 0x0909090909090909L;
  register long r10 __asm__("r10") = 0x1010101010101010L;
  register long r11 __asm__("r11") = 0x1111111111111111L;
  long rsi = 0x5151515151515151L, rdi = 0x7171717171717171L;
  double x0 = 1.5, x8 = 2.25, x15 = -3.125;
  long spins = 0;
  /* spin in user code, registers held, until 20 signals have been handled
   * (a bound on the spins keeps a broken timer from hanging the test) */
  __asm__ volatile("movq %[x0], %%xmm0\n\t"
                   "movq %[x8], %%xmm8\n\t"
                   "movq %[x15], %%xmm15\n\t"
                   "2:\n\t"
                   "inc %[spins]\n\t"
                   "cmpl $20, %[count]\n\t"
                   "jge 3f\n\t"
                   "cmp %[max], %[spins]\n\t"
                   "jl 2b\n\t"
                   "3:\n\t"
                   "movq %%xmm0, %[x0]\n\t"
                   "movq %%xmm8, %[x8]\n\t"
                   "movq %%xmm15, %[x15]\n\t"
                   : [spins] "+r"(spins), "+r"(r8), "+r"(r9), "+r"(r10),
                     "+r"(r11), "+S"(rsi),
                     "+D"(rdi), [x0] "+m"(x0), [x8] "+m"(x8), [x15] "+m"(x15)
                   : [count] "m"(g_count), [max] "r"(20000000000L)
                   : "xmm0", "xmm8", "xmm15", "cc", "memory");
  /* register variables are only pinned inside the asm: copy them out */
  volatile long k8 = r8, k9 = r9, k10 = r10, k11 = r11;
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  signal(SIGALRM, SIG_DFL);
  printf("signals handled while spinning: %d\n", g_count >= 20);
  printf("r8-r11 kept: %d %d %d %d\n", k8 == 0x0808080808080808L,
         k9 == 0x0909090909090909L, k10 == 0x1010101010101010L,
         k11 == 0x1111111111111111L);
  printf("rsi rdi kept: %d %d\n", rsi == 0x5151515151515151L,
         rdi == 0x7171717171717171L);
  printf("xmm0 xmm8 xmm15 kept: %d %d %d\n", x0 == 1.5, x8 == 2.25,
         x15 == -3.125);
}

static void fp_under_signals(void) {
  signal(SIGALRM, clobber);
  g_count = 0;
  struct itimerval it = {{0, 1000}, {0, 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
  int wrong = 0;
  long rounds = 0;
  while (g_count < 30 && rounds < 200000000L) {
    volatile double a = 1.0;
    for (int i = 0; i < 1000; i++)
      a = a * 1.000001 + 0.5;
    volatile long double b = 3.0L;
    b = b / 7.0L;
    if (a < 499.0 || a > 1000.0 || b * 7.0L != 3.0L)
      wrong++;
    rounds++;
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  signal(SIGALRM, SIG_DFL);
  printf("fp under signals: signals %d, wrong results %d\n", g_count >= 30,
         wrong);
}

static void on_usr1(int sig) {
  g_count++;
}

static void restarts(void) {
  const char *names[] = {"read", "wait4", "nanosleep", "pause", "sigsuspend"};
  for (int restart = 0; restart < 2; restart++) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGUSR1, &sa, NULL);
    for (int which = 0; which < 5; which++) {
      int fd[2];
      if (pipe(fd) < 0)
        return;
      pid_t parent = getpid();
      fflush(stdout);
      pid_t c = fork();
      if (c == 0) {
        close(fd[0]);
        usleep(50000);
        kill(parent, SIGUSR1);
        usleep(150000);
        if (write(fd[1], "x", 1) != 1)
          _exit(1);
        kill(parent, SIGUSR1); /* ends pause and sigsuspend */
        _exit(3);
      }
      close(fd[1]);
      g_count = 0;
      long r = 0;
      errno = 0;
      char ch;
      struct timespec ts = {2, 0};
      sigset_t none;
      sigemptyset(&none);
      switch (which) {
      case 0:
        r = read(fd[0], &ch, 1);
        break;
      case 1:
        r = wait4(c, NULL, 0, NULL);
        r = r == c ? 1 : r;
        break;
      case 2:
        r = nanosleep(&ts, NULL);
        break;
      case 3:
        r = pause();
        break;
      case 4:
        r = sigsuspend(&none);
        break;
      }
      int e = errno;
      int st;
      waitpid(c, &st, 0);
      printf("%s %s: %ld %s\n", restart ? "SA_RESTART" : "no SA_RESTART",
             names[which], r, r < 0 ? errname(e) : "");
      close(fd[0]);
    }
  }
  signal(SIGUSR1, SIG_DFL);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  edit_context();
  registers_survive();
  fp_under_signals();
  restarts();
  return 0;
}
