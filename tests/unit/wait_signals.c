/* The Linux platform's plat_wait and plat_wake on the host (this program
 * links platform/linux/wait.c, and net.c and broker.c, which it needs for
 * the host fds of its entries): how many PLAT_SIG_WAKE signals a waiter
 * that watches a host fd gets from many wakes.
 *
 * A child waits on a word in shared memory and a pipe nobody writes
 * (plat_wait with the pipe as its standard input); the parent stops it
 * in its sleep, calls plat_wake on the word WAKES times, and lets it go
 * on. The wait must end (the word changed), and with one signal: the
 * signal is a real-time one, which queues, and a signal per wake came
 * all at once as nested frames on the waiter's signal stack (its
 * handler then took it without deferring it, SA_NODEFER, as this test's
 * handler still does, so the count and the nesting show), which
 * overflowed under a load of wakes and the host killed the process with
 * SIGSEGV. Prints "ok" and exits 0, or the failure and exits 1.
 * tests/run.py: unit/wait-signals. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../platform/linux/linux_platform.h"
#include "../../platform/linux/plat_linux.h"

#define WAKES 1000

/* What wait.c and net.c need of the rest of the platform. */
uint64_t g_plat_fn_count[PF_COUNT];
uint64_t g_host_syscall_count[HNR_MAX];
bool g_plat_stats;
struct plat_thread *plat_current_thread(void) {
  return NULL;
}
uint64_t plat_ctx_self(void) {
  return ((uint64_t)(uint32_t)getpid() << 32) | (uint32_t)gettid();
}

struct shared {
  uint32_t word;
  volatile int asleep; /* the child is about to sleep */
};

static volatile sig_atomic_t g_depth, g_deepest, g_count;

/* As the platform's: counts, and how deep the frames nest. */
static void on_wake(int sig, siginfo_t *info, void *ctx) {
  (void)sig, (void)info, (void)ctx;
  g_count++;
  if (++g_depth > g_deepest)
    g_deepest = g_depth;
  g_depth--;
}

static _Noreturn void waiter(struct shared *s) {
  int p[2];
  if (pipe(p) < 0 || dup2(p[0], 0) < 0)
    _exit(10);
  /* The platform's stack for handlers is 1 MiB; a small one here makes
   * a pile of frames fail at once instead of later. */
  static char stack[64 * 1024];
  stack_t ss = {.ss_sp = stack, .ss_size = sizeof(stack)};
  struct sigaction sa = {.sa_sigaction = on_wake,
                         .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER};
  if (sigaltstack(&ss, NULL) < 0 || sigaction(PLAT_SIG_WAKE, &sa, NULL) < 0)
    _exit(11);
  struct plat_io io = {.kind = PLAT_IO_STREAM, .events = 1, .handle = 0};
  s->asleep = 1;
  int64_t until = 20000000000ll;
  int r;
  do
    r = plat_wait(&s->word, 0, &io, 1, until);
  while (r == -LINUX_EINTR && !__atomic_load_n(&s->word, __ATOMIC_SEQ_CST));
  printf("wait: %d, signals %d, nested %d deep\n", r, (int)g_count,
         (int)g_deepest);
  fflush(stdout);
  _exit(r == 0 && g_count <= 2 && g_deepest == 1 ? 0 : 1);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (plat_linux_wait_setup() < 0) {
    printf("FAIL: plat_linux_wait_setup\n");
    return 1;
  }
  struct shared *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED)
    return 1;
  pid_t pid = fork();
  if (pid == 0)
    waiter(s);
  while (!s->asleep)
    usleep(1000);
  usleep(200000); /* in its ppoll by now */
  kill(pid, SIGSTOP);
  int st;
  waitpid(pid, &st, WUNTRACED);
  /* The first wake finds the word unchanged: it must still be woken
   * (plat_wake's contract needs no change), every later one as well. */
  for (int i = 0; i < WAKES; i++) {
    if (i == WAKES / 2)
      __atomic_store_n(&s->word, 1, __ATOMIC_SEQ_CST);
    plat_wake(&s->word, 1);
  }
  kill(pid, SIGCONT);
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
    printf("FAIL: the waiter %s %d\n",
           WIFSIGNALED(st) ? "was killed by signal" : "ended with status",
           WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    return 1;
  }
  printf("ok\n");
  return 0;
}
