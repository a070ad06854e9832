/* Processes and threads on the Linux platform: plat_fork (a host fork),
 * plat_thread_create/exit (host threads, each with its own signal stack
 * that also holds its struct plat_thread), the per-thread context pointer
 * of the core, and plat_kick (a pinned host signal that makes a thread
 * running guest code look at its signals). After lockdown: gate only.
 * docs/processes.md explains the model, docs/south.md the pinned host
 * calls (clone with two fixed flag sets, tgkill with one signal). */
#include <sched.h>
#include <signal.h>

#include "plat_linux.h"

static void refresh_ids(struct plat_thread *t) {
  t->host_tid = (int)hsys0(HNR_gettid);
  t->host_tgid = (int)hsys0(HNR_getpid);
}

int plat_fork(void) {
  plat_count(PF_FORK);
  struct plat_thread *self = plat_current_thread();
  /* SIGCHLD as the exit signal, but the handler is SIG_IGN: the host
   * reaps the child itself, the guest's zombie lives in the arena. */
  long r = hsys(HNR_clone, SIGCHLD, 0, 0, 0, 0, 0);
  if (r < 0)
    return r == -LINUX_ENOMEM ? -LINUX_ENOMEM : -LINUX_EAGAIN;
  if (r > 0)
    return r > 0x7fffffff ? 1 : (int)r;
  /* The child: only this thread came along. The other threads' signal
   * stacks are private copies nobody will use: give them back. */
  for (int i = 0; i < PLAT_MAX_THREADS; i++) {
    struct plat_thread *t = plat_thread_at(i);
    if (t && t != self) {
      plat_thread_forget(t);
      hsys2(HNR_munmap, t, PLAT_ALTSTACK_SIZE);
    }
  }
  if (self)
    refresh_ids(self);
  /* A forked child does not inherit interval timers (as on Linux): the
   * kernel already cleared ours. */
  return 0;
}

static _Noreturn void thread_start(void *arg) {
  struct plat_thread *t = arg;
  refresh_ids(t);
  plat_enter(&t->start);
}

int plat_thread_create(const struct moat_regs *regs, void *ctx) {
  plat_count(PF_THREAD_CREATE);
  struct plat_thread *t;
  int err = plat_thread_create_stack(&t);
  if (err)
    return err;
  t->ctx = ctx;
  t->start = *regs;
  t->start.fpstate = NULL; /* a new thread starts with a clean FPU */
  t->start.fpstate_size = 0;
  /* The new thread first runs on its own signal stack (plat_enter then
   * makes that its sigaltstack), so the thread block is found at once. */
  char *top = (char *)t->stack_lo + t->stack_size;
  long r = plat_gate_clone_thread(PLAT_THREAD_CLONE_FLAGS, top,
                                  (void (*)(void *))thread_start, t);
  if (r < 0) {
    plat_thread_forget(t);
    hsys2(HNR_munmap, t, PLAT_ALTSTACK_SIZE);
    return r == -LINUX_ENOMEM ? -LINUX_ENOMEM : -LINUX_EAGAIN;
  }
  return 0;
}

_Noreturn void plat_thread_exit(uint32_t *clear_word) {
  plat_count(PF_THREAD_EXIT);
  struct plat_thread *t = plat_current_thread();
  /* No signal may arrive once the stack is gone: the kernel would find
   * no place for the frame and kill the whole process. */
  uint64_t all = ~0ull;
  hsys4(HNR_rt_sigprocmask, SIG_SETMASK, &all, 0, 8);
  if (!t)
    plat_gate_thread_exit(NULL, 0, clear_word);
  plat_thread_forget(t);
  plat_gate_thread_exit(t, PLAT_ALTSTACK_SIZE, clear_word);
}

void *plat_thread_ctx(void) {
  struct plat_thread *t = plat_current_thread();
  return t ? t->ctx : NULL;
}

void plat_thread_set_ctx(void *ctx) {
  plat_count(PF_THREAD_CTX);
  struct plat_thread *t = plat_current_thread();
  if (t)
    t->ctx = ctx;
}

uint64_t plat_thread_handle(void) {
  plat_count(PF_THREAD_HANDLE);
  struct plat_thread *t = plat_current_thread();
  if (!t)
    return 0;
  if (!t->host_tid)
    refresh_ids(t);
  return ((uint64_t)(uint32_t)t->host_tgid << 32) | (uint32_t)t->host_tid;
}

int plat_kick(uint64_t handle) {
  plat_count(PF_KICK);
  int tgid = (int)(handle >> 32), tid = (int)(uint32_t)handle;
  if (tgid <= 0 || tid <= 0)
    return -LINUX_ESRCH;
  long r = hsys3(HNR_tgkill, tgid, tid, PLAT_SIG_KICK);
  return r < 0 ? -LINUX_ESRCH : 0;
}

int plat_timer_set(int64_t ns) {
  plat_count(PF_TIMER_SET);
  if (ns < 0)
    return -LINUX_EINVAL;
  struct {
    int64_t interval_sec, interval_usec, value_sec, value_usec;
  } it = {0, 0, 0, 0};
  if (ns > 0) {
    int64_t us = (ns + 999) / 1000; /* never round a timer down to off */
    it.value_sec = us / 1000000;
    it.value_usec = us % 1000000;
  }
  long r = hsys3(HNR_setitimer, 0 /* ITIMER_REAL */, &it, 0);
  return r < 0 ? -LINUX_EINVAL : 0;
}
