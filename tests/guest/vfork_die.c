/* A vfork parent that dies the moment its child has exited: Linux ends
 * only the parent. In moat the vfork child runs as a thread of its
 * parent's host process and was still finishing its exit in the library
 * OS (holding the task table's lock) when the released parent's death
 * ended that host process, which took the lock down with it and ended the
 * whole sandbox (status 125, found by tests/security/sysfuzz); a process
 * now waits for its vfork children's threads to leave the library OS
 * before its host process ends. Racy by nature: 1000 rounds made it show
 * at least one time in three. */
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "guest.h"

/* vfork whose child exits at once without touching the stack it shares
 * with the parent */
static long vfork_and_exit(void) {
  long ret;
  __asm__ volatile("syscall\n\t"
                   "test %%rax, %%rax\n\t"
                   "jnz 1f\n\t"
                   "mov $60, %%eax\n\t"
                   "xor %%edi, %%edi\n\t"
                   "syscall\n"
                   "1:"
                   : "=a"(ret)
                   : "a"(58L)
                   : "rcx", "r11", "rdi", "memory");
  return ret;
}

int main(void) {
  int rounds = 1000, not_segv = 0, failed = 0;
  struct rlimit none = {0, 0}; /* no core files from the native run */
  setrlimit(RLIMIT_CORE, &none);
  for (int i = 0; i < rounds; i++) {
    pid_t p = fork();
    if (p == 0) {
      if (vfork_and_exit() < 0)
        _exit(3);
      if (i % 2)
        kill(getpid(), SIGSEGV);
      else
        *(volatile int *)0 = 1;
      _exit(0);
    }
    if (p < 0) {
      failed++;
      continue;
    }
    int st = 0;
    waitpid(p, &st, 0);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSEGV)
      not_segv++;
    while (waitpid(-1, &st, WNOHANG) > 0) /* the vfork children */
      ;
  }
  printf("%d rounds: %d forks failed, %d ended other than by SIGSEGV\n", rounds,
         failed, not_segv);
  return 0;
}
