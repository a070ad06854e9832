/* A guest that jumps where no code is (a NULL function pointer, an address
 * below the first page a program may map, one past moat's guest window)
 * gets SIGSEGV for the instruction fetch, natively and inside moat: a
 * handler sees si_addr equal to the target; without one the process dies
 * of SIGSEGV. So does a return from a signal handler to a non-canonical
 * rip. moat once took such faults, their rip outside the window, for faults
 * of its own ("moat: internal fault") and killed the process. */
#include <setjmp.h>
#include <ucontext.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>

#include "guest.h"

static sigjmp_buf back;
static volatile uintptr_t seen_addr;
static volatile int seen_code;

static void on_segv(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  seen_addr = (uintptr_t)si->si_addr;
  seen_code = si->si_code;
  siglongjmp(back, 1);
}

static void (*volatile target)(void);

/* Return from this handler to a non-canonical rip: the return itself
 * faults, as a garbage rt_sigreturn frame does. */
static void to_nowhere(int sig, siginfo_t *si, void *ucv) {
  (void)sig;
  (void)si;
  ucontext_t *uc = ucv;
  uc->uc_mcontext.gregs[REG_RIP] = (greg_t)0xbf05362795a3e535ull;
}

int main(void) {
  static const uintptr_t where[] = {0, 0x1000, 0x8000, 0x500000000000};
  for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
      target = (void (*)(void))where[i];
      target();
      _exit(0);
    }
    int st = 0;
    waitpid(p, &st, 0);
    printf("jump to %#lx, no handler: %s %d\n", (unsigned long)where[i],
           WIFSIGNALED(st) ? "signal" : "exit",
           WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
  }
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    struct sigaction nw;
    memset(&nw, 0, sizeof nw);
    nw.sa_sigaction = to_nowhere;
    nw.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &nw, NULL);
    raise(SIGUSR1);
    _exit(0);
  }
  int st = 0;
  waitpid(p, &st, 0);
  printf("return to a non-canonical rip: %s %d\n",
         WIFSIGNALED(st) ? "signal" : "exit",
         WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
    if (sigsetjmp(back, 1) == 0) {
      target = (void (*)(void))where[i];
      target();
      printf("jump to %#lx returned\n", (unsigned long)where[i]);
    } else {
      printf("jump to %#lx, handler: si_addr %s, si_code %d\n",
             (unsigned long)where[i],
             seen_addr == where[i] ? "is the target" : "differs", seen_code);
    }
  }
  return 0;
}
