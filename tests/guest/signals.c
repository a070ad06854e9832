/* Signals within one process: rt_sigaction (SA_SIGINFO and its siginfo
 * fields, SA_RESETHAND, SA_NODEFER, the handler's mask, old actions),
 * rt_sigprocmask honoured (blocked signals stay pending, delivered on
 * unblock), sigpending, raise/kill/tgkill to self, SIG_IGN, a SIGSEGV
 * handler that escapes with siglongjmp, sigaltstack with SA_ONSTACK, and
 * finally death by a default action (SIGTERM), so the exit status is
 * 128+15 natively and inside moat alike. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "guest.h"

static volatile int g_count, g_signo, g_code, g_pid_ok, g_uid_ok, g_blocked;
static volatile int g_nested, g_depth, g_on_altstack, g_raised;
static char *g_alt;
static sigjmp_buf g_jump;
static volatile uintptr_t g_fault_addr;

static const char *code_name(int code) {
  switch (code) {
  case SI_USER:
    return "SI_USER";
  case SI_TKILL:
    return "SI_TKILL";
  case SI_QUEUE:
    return "SI_QUEUE";
  case SI_KERNEL:
    return "SI_KERNEL";
  default:
    return "other";
  }
}

static void info_handler(int sig, siginfo_t *si, void *uc) {
  g_count++;
  g_signo = si->si_signo;
  g_code = si->si_code;
  g_pid_ok = si->si_pid == getpid();
  g_uid_ok = si->si_uid == getuid();
  sigset_t cur;
  sigprocmask(SIG_BLOCK, NULL, &cur);
  g_blocked = sigismember(&cur, sig) * 10 + sigismember(&cur, SIGUSR2);
}

static void plain_handler(int sig) {
  g_count++;
  g_signo = sig;
}

static void nodefer_handler(int sig) {
  g_depth++;
  if (g_depth > g_nested)
    g_nested = g_depth;
  if (!g_raised) {
    g_raised = 1;
    raise(sig); /* delivered at once under SA_NODEFER */
  }
  g_depth--;
}

static void alt_handler(int sig) {
  char local;
  g_on_altstack = &local >= g_alt && &local < g_alt + 65536;
  stack_t ss;
  sigaltstack(NULL, &ss);
  g_on_altstack += (ss.ss_flags & SS_ONSTACK) ? 10 : 0;
}

static void segv_handler(int sig, siginfo_t *si, void *uc) {
  g_code = si->si_code;
  g_fault_addr = (uintptr_t)si->si_addr;
  siglongjmp(g_jump, 1);
}

static void report(const char *label) {
  printf("%s: count %d signo %d code %s pid_ok %d uid_ok %d\n", label, g_count,
         g_signo, code_name(g_code), g_pid_ok, g_uid_ok);
  g_count = g_signo = g_code = g_pid_ok = g_uid_ok = 0;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct sigaction sa = {0}, old = {0};
  sa.sa_sigaction = info_handler;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR2);
  R("sigaction USR1", sigaction(SIGUSR1, &sa, &old));
  FACT("old was SIG_DFL", old.sa_handler == SIG_DFL);
  R("sigaction query", sigaction(SIGUSR1, NULL, &old));
  FACT("query returns handler", old.sa_sigaction == info_handler);
  FACT("query keeps SA_SIGINFO", (old.sa_flags & SA_SIGINFO) != 0);
  FACT("query keeps mask", sigismember(&old.sa_mask, SIGUSR2) == 1);

  R("raise USR1", raise(SIGUSR1));
  report("after raise");
  printf("blocked in handler: self %d usr2 %d\n", g_blocked / 10,
         g_blocked % 10);
  R("kill self USR1", kill(getpid(), SIGUSR1));
  report("after kill");
  R("tgkill self USR1",
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1));
  report("after tgkill");
  R("kill sig 0", kill(getpid(), 0));
  R("kill bad sig", kill(getpid(), 99));
  R("sigaction SIGKILL", sigaction(SIGKILL, &sa, NULL));
  R("sigaction SIGSTOP", sigaction(SIGSTOP, &sa, NULL));
  R("sigaction 0", syscall(SYS_rt_sigaction, 0, NULL, NULL, 8));
  R("sigaction 65", syscall(SYS_rt_sigaction, 65, NULL, NULL, 8));
  R("rt_sigaction bad sigsetsize",
    syscall(SYS_rt_sigaction, SIGUSR1, NULL, NULL, 4));

  /* blocking */
  sigset_t set, cur, pend;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  R("block USR1", sigprocmask(SIG_BLOCK, &set, NULL));
  R("raise blocked", raise(SIGUSR1));
  printf("delivered while blocked: %d\n", g_count);
  R("sigpending", sigpending(&pend));
  printf("pending USR1 %d USR2 %d\n", sigismember(&pend, SIGUSR1),
         sigismember(&pend, SIGUSR2));
  R("raise again (merged)", raise(SIGUSR1));
  R("unblock", sigprocmask(SIG_UNBLOCK, &set, NULL));
  report("after unblock");
  R("sigpending", sigpending(&pend));
  printf("pending USR1 %d\n", sigismember(&pend, SIGUSR1));
  sigemptyset(&set);
  sigaddset(&set, SIGKILL);
  sigaddset(&set, SIGSTOP);
  sigaddset(&set, SIGUSR2);
  R("setmask with KILL and STOP", sigprocmask(SIG_SETMASK, &set, NULL));
  R("read mask", sigprocmask(SIG_BLOCK, NULL, &cur));
  printf("mask: KILL %d STOP %d USR2 %d USR1 %d\n", sigismember(&cur, SIGKILL),
         sigismember(&cur, SIGSTOP), sigismember(&cur, SIGUSR2),
         sigismember(&cur, SIGUSR1));
  R("bad how", syscall(SYS_rt_sigprocmask, 99, &set, NULL, 8));
  sigemptyset(&set);
  R("clear mask", sigprocmask(SIG_SETMASK, &set, NULL));

  /* SIG_IGN discards */
  signal(SIGUSR2, SIG_IGN);
  R("raise ignored", raise(SIGUSR2));
  R("sigpending", sigpending(&pend));
  printf("pending USR2 %d\n", sigismember(&pend, SIGUSR2));

  /* SA_RESETHAND: the handler runs once, then SIG_DFL */
  struct sigaction rh = {0};
  rh.sa_handler = plain_handler;
  rh.sa_flags = SA_RESETHAND;
  R("sigaction RESETHAND", sigaction(SIGUSR2, &rh, NULL));
  R("raise", raise(SIGUSR2));
  report("after RESETHAND raise");
  R("query", sigaction(SIGUSR2, NULL, &old));
  FACT("reset to SIG_DFL", old.sa_handler == SIG_DFL);

  /* SA_NODEFER: the handler can be re-entered */
  struct sigaction nd = {0};
  nd.sa_handler = nodefer_handler;
  nd.sa_flags = SA_NODEFER;
  R("sigaction NODEFER", sigaction(SIGHUP, &nd, NULL));
  R("raise HUP", raise(SIGHUP));
  printf("nested depth with NODEFER: %d\n", g_nested);
  g_nested = g_depth = g_raised = 0;
  nd.sa_flags = 0;
  R("sigaction without NODEFER", sigaction(SIGHUP, &nd, NULL));
  R("raise HUP", raise(SIGHUP));
  printf("nested depth without NODEFER: %d\n", g_nested);

  /* sigaltstack */
  g_alt = malloc(65536);
  stack_t ss = {.ss_sp = g_alt, .ss_size = 65536, .ss_flags = 0}, oss;
  R("sigaltstack", sigaltstack(&ss, &oss));
  FACT("old altstack disabled", (oss.ss_flags & SS_DISABLE) != 0);
  stack_t tiny = {.ss_sp = g_alt, .ss_size = 100, .ss_flags = 0};
  R("sigaltstack too small", sigaltstack(&tiny, NULL));
  struct sigaction as = {0};
  as.sa_handler = alt_handler;
  as.sa_flags = SA_ONSTACK;
  R("sigaction ONSTACK", sigaction(SIGUSR1, &as, NULL));
  R("raise", raise(SIGUSR1));
  printf("handler on altstack: local %d flag %d\n", g_on_altstack % 10,
         g_on_altstack / 10);

  /* SIGSEGV from a real fault, escaped with siglongjmp */
  struct sigaction sv = {0};
  sv.sa_sigaction = segv_handler;
  sv.sa_flags = SA_SIGINFO;
  R("sigaction SEGV", sigaction(SIGSEGV, &sv, NULL));
  char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (sigsetjmp(g_jump, 1) == 0) {
    page[10] = 1;
    printf("write to read-only page: no fault\n");
  } else {
    printf("write to read-only page: SIGSEGV code %s addr ok %d\n",
           g_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other",
           g_fault_addr == (uintptr_t)(page + 10));
  }
  munmap(page, 4096);
  if (sigsetjmp(g_jump, 1) == 0) {
    (void)*(volatile char *)(page + 20);
    printf("read unmapped: no fault\n");
  } else {
    printf("read unmapped: SIGSEGV code %s addr ok %d\n",
           g_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other",
           g_fault_addr == (uintptr_t)(page + 20));
  }
  /* the mask was restored by siglongjmp: SEGV is not blocked now */
  sigprocmask(SIG_BLOCK, NULL, &cur);
  printf("SEGV blocked after siglongjmp: %d\n", sigismember(&cur, SIGSEGV));
  if (sigsetjmp(g_jump, 1) == 0) {
    (void)*(volatile char *)8;
    printf("null read: no fault\n");
  } else {
    printf("null read: SIGSEGV code %s\n",
           g_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other");
  }

  /* death by the default action */
  signal(SIGTERM, SIG_DFL);
  printf("raising SIGTERM\n");
  raise(SIGTERM);
  printf("survived SIGTERM\n");
  return 0;
}
