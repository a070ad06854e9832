/* Processes and threads on the Linux platform: plat_space_clone (a host fork),
 * plat_ctx_create/exit (host threads, each with its own signal stack
 * that also holds its struct plat_thread), the per-thread context pointer
 * of the core, and plat_ctx_kick (a pinned host signal that makes a thread
 * running guest code look at its signals). After lockdown: gate only.
 * The process's timers (plat_timer_set) are the host's interval timers.
 * docs/processes.md explains the model, docs/south.md the pinned host
 * calls (clone with two fixed flag sets, tgkill with one signal,
 * setitimer with the three timers and no old value). */
#include <sched.h>
#include <signal.h>
#include <time.h>

#include "linux_platform.h"
#include "plat_linux.h"

/* The link's bounds of moat's code. */
extern char __executable_start[], etext[];

static void refresh_ids(struct plat_thread *t) {
  t->host_tid = (int)hsys0(HNR_gettid);
  t->host_tgid = (int)hsys0(HNR_getpid);
}

int plat_space_clone(void) {
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
  for (int i = 0, high = plat_thread_slots(); i < high; i++) {
    struct plat_thread *t = plat_thread_at(i);
    if (t && t != self) {
      plat_thread_forget(t);
      hsys2(HNR_munmap, t, PLAT_ALTSTACK_SIZE);
    }
  }
  if (self)
    refresh_ids(self);
  /* fork copies no page table entries of moat's code (a private file
   * mapping nobody wrote): one call maps what the host has of it, where
   * each first touch would fault on its own. */
  uintptr_t lo = (uintptr_t)__executable_start & ~4095ul;
  hsys3(HNR_madvise, lo, (((uintptr_t)etext + 4095) & ~4095ul) - lo,
        MADV_POPULATE_READ);
  /* A forked child does not inherit interval timers (as on Linux): the
   * kernel already cleared ours. */
  return 0;
}

static _Noreturn void thread_start(void *arg) {
  struct plat_thread *t = arg;
  refresh_ids(t);
  plat_enter(&t->start);
}

int plat_ctx_create(const struct moat_regs *regs, void *ctx) {
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

_Noreturn void plat_ctx_exit(uint32_t *clear_word) {
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

void *plat_ctx_get(void) {
  struct plat_thread *t = plat_current_thread();
  return t ? t->ctx : NULL;
}

void plat_ctx_set(void *ctx) {
  plat_count(PF_THREAD_CTX);
  struct plat_thread *t = plat_current_thread();
  if (t)
    t->ctx = ctx;
}

uint64_t plat_ctx_self(void) {
  plat_count(PF_THREAD_HANDLE);
  struct plat_thread *t = plat_current_thread();
  if (!t)
    return 0;
  if (!t->host_tid)
    refresh_ids(t);
  return ((uint64_t)(uint32_t)t->host_tgid << 32) | (uint32_t)t->host_tid;
}

int plat_ctx_kick(uint64_t handle) {
  plat_count(PF_KICK);
  int tgid = (int)(handle >> 32), tid = (int)(uint32_t)handle;
  if (tgid <= 0 || tid <= 0)
    return -LINUX_ESRCH;
  long r = hsys3(HNR_tgkill, tgid, tid, PLAT_SIG_KICK);
  return r < 0 ? -LINUX_ESRCH : 0;
}

/* Each guest timer is the host's interval timer of the same kind
 * (setitimer's which, pinned to 0..2), used one-shot: the core keeps
 * the deadlines and periods. The host adds nothing of its own but its
 * tick: a CPU timer expires at the first tick after its clock passed the
 * deadline (Linux also adds one tick when arming it), which is never
 * early. */
static const int g_timer_clock[] = {
    [PLAT_TIMER_REAL] = CLOCK_MONOTONIC,
    [PLAT_TIMER_VIRTUAL] = PLAT_HOST_CLOCK_VIRT,
    [PLAT_TIMER_PROF] = PLAT_HOST_CLOCK_PROF,
};

int plat_timer_set(int which, int64_t ns, int64_t *out_now) {
  plat_count(PF_TIMER_SET);
  if (which < PLAT_TIMER_REAL || which > PLAT_TIMER_PROF ||
      (ns < 0 && ns != PLAT_TIMER_KEEP))
    return -LINUX_EINVAL;
  if (out_now) {
    /* Read before arming: the expiry is then never before now + ns. */
    struct timespec ts;
    long r = hsys2(HNR_clock_gettime, g_timer_clock[which], &ts);
    if (r < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000 || ts.tv_sec < 0 ||
        ts.tv_sec > INT64_MAX / 1000000000 - 1)
      return -LINUX_EIO;
    *out_now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
  }
  if (ns == PLAT_TIMER_KEEP)
    return 0;
  struct {
    int64_t interval_sec, interval_usec, value_sec, value_usec;
  } it = {0, 0, 0, 0};
  if (ns > 0) {
    int64_t us = ns / 1000 + (ns % 1000 != 0); /* never round down to off */
    it.value_sec = us / 1000000;
    it.value_usec = us % 1000000;
  }
  long r = hsys3(HNR_setitimer, which, &it, 0);
  return r < 0 ? -LINUX_EINVAL : 0;
}
