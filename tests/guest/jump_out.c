/* A guest that jumps where no code is (a NULL function pointer, an address
 * below the first page a program may map, one past moat's guest window)
 * gets SIGSEGV for the instruction fetch, natively and inside moat: a
 * handler sees si_addr equal to the target; without one the process dies
 * of SIGSEGV. moat once took such a fault, its rip outside the window, for
 * a fault of its own ("moat: internal fault") and killed the process. */
#include <setjmp.h>
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
