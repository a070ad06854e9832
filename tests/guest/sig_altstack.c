/* Stack overflow caught on an alternate signal stack: unbounded recursion
 * until the guard page faults, the SIGSEGV handler runs on the sigaltstack
 * (checked by address and by SS_ONSTACK from sigaltstack), and escapes by
 * siglongjmp; done twice to show the handler and the alternate stack are
 * reusable. Then SIGSEGV on a bad pointer and SIGFPE on a division by zero
 * recovered the same way, SIGILL from ud2, and a nested signal raised
 * inside a handler; finally an overflow without an alternate stack kills
 * the process by SIGSEGV (checked in a child). */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "guest.h"

static sigjmp_buf g_jump;
static char *g_alt;
static size_t g_alt_size;
static volatile int g_on_alt, g_ss_onstack, g_signo, g_code_ok;
static volatile long g_depth;

static void on_fault(int sig, siginfo_t *si, void *uc) {
  char here;
  g_signo = sig;
  g_on_alt = &here >= g_alt && &here < g_alt + g_alt_size;
  stack_t ss;
  sigaltstack(NULL, &ss);
  g_ss_onstack = (ss.ss_flags & SS_ONSTACK) != 0;
  if (sig == SIGSEGV)
    g_code_ok = si->si_code == SEGV_MAPERR || si->si_code == SEGV_ACCERR;
  else if (sig == SIGFPE)
    g_code_ok = si->si_code == FPE_INTDIV;
  else if (sig == SIGILL)
    g_code_ok = si->si_code == ILL_ILLOPN;
  siglongjmp(g_jump, 1);
}

static volatile int g_forever = 1;

static long __attribute__((noinline)) recurse(long n) {
  volatile char pad[256];
  pad[0] = (char)n;
  g_depth = n;
  if (!g_forever)
    return 0;
  return recurse(n + 1) + pad[0];
}

static volatile int g_zero, g_seven = 7;

static void install(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(sig, &sa, NULL);
}

static volatile int g_inner, g_outer_after;
static void inner(int sig) {
  g_inner++;
}
static void outer(int sig) {
  raise(SIGUSR2);
  g_outer_after = g_inner;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct rlimit rl = {8 << 20, 8 << 20};
  setrlimit(RLIMIT_STACK, &rl);
  g_alt_size = 64 * 1024;
  g_alt = malloc(g_alt_size);
  stack_t ss = {.ss_sp = g_alt, .ss_size = g_alt_size, .ss_flags = 0};
  OK("sigaltstack", sigaltstack(&ss, NULL));
  stack_t tiny = {.ss_sp = g_alt, .ss_size = 100, .ss_flags = 0};
  R("sigaltstack too small", sigaltstack(&tiny, NULL));
  stack_t cur;
  sigaltstack(NULL, &cur);
  printf("outside a handler: SS_ONSTACK %d SS_DISABLE %d\n",
         (cur.ss_flags & SS_ONSTACK) != 0, (cur.ss_flags & SS_DISABLE) != 0);
  install(SIGSEGV);
  install(SIGFPE);
  install(SIGILL);
  for (int round = 0; round < 2; round++) {
    g_on_alt = g_ss_onstack = g_signo = 0;
    g_depth = 0;
    if (!sigsetjmp(g_jump, 1))
      recurse(0);
    printf("overflow %d: signal %d on the alternate stack %d, SS_ONSTACK %d, "
           "deep %d\n",
           round, g_signo, g_on_alt, g_ss_onstack, g_depth > 1000);
  }
  g_signo = 0;
  if (!sigsetjmp(g_jump, 1))
    *(volatile int *)16 = 1;
  printf("bad pointer: signal %d code ok %d\n", g_signo, g_code_ok);
  g_signo = 0;
  if (!sigsetjmp(g_jump, 1))
    printf("%d\n", g_seven / g_zero);
  printf("divide by zero: signal %d code ok %d\n", g_signo, g_code_ok);
  g_signo = 0;
  if (!sigsetjmp(g_jump, 1))
    __asm__ volatile("ud2");
  printf("ud2: signal %d code ok %d\n", g_signo, g_code_ok);
  /* the mask is restored by siglongjmp: SIGSEGV is not left blocked */
  sigset_t m;
  sigprocmask(SIG_BLOCK, NULL, &m);
  printf("SIGSEGV blocked after siglongjmp: %d\n", sigismember(&m, SIGSEGV));

  signal(SIGUSR2, inner);
  signal(SIGUSR1, outer);
  raise(SIGUSR1);
  printf("nested: inner ran %d, seen inside outer %d\n", g_inner,
         g_outer_after);

  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    recurse(0); /* handler has SA_ONSTACK but no stack: the kernel kills */
    _exit(0);
  }
  int st;
  waitpid(p, &st, 0);
  printf("overflow without an alternate stack: signaled %d sig %d\n",
         WIFSIGNALED(st), WTERMSIG(st));
  return 0;
}
