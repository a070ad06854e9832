/* POSIX per-process timers (timer_create and friends) on CLOCK_REALTIME,
 * CLOCK_MONOTONIC and CLOCK_BOOTTIME, signalling with SIGEV_SIGNAL,
 * SIGEV_THREAD_ID or not at all (SIGEV_NONE). The table is the process's
 * own (a fork child starts with none; exec and exit delete them). Each
 * deadline is kept on the monotonic clock; the host's real-time timer of
 * the process (shared with ITIMER_REAL, ptimer_arm_real_locked) is armed
 * for the earliest, and its host signal is a kick: the kicked thread's
 * way back to the guest, or a sleeping thread's signal check, runs
 * ptimer_poll, which queues the signals (SI_TIMER, the timer's id and
 * sigev_value) and moves periodic timers on. As on Linux, a timer whose
 * signal is still queued is not queued again: the expirations meanwhile
 * are its overrun, handed to the signal when it is dequeued
 * (ptimer_dequeued) and kept for timer_getoverrun. */
#include "moat/moat.h"
#include "task.h"
#include "timer.h"

#define PTIMER_MAX 256 /* timers per process */
#define SIGEV_SIGNAL 0
#define SIGEV_NONE 1
#define SIGEV_THREAD 2
#define SIGEV_THREAD_ID 4
#define CLOCK_REALTIME_ALARM 8
#define CLOCK_BOOTTIME_ALARM 9
#define CLOCK_TAI 11
#define PTIMER_MAX_NS (INT64_MAX / 4)
#define DELAYTIMER_MAX 0x7fffffff

struct ptimer {
  bool used;
  bool queued; /* its signal waits in a queue */
  int clock;
  int notify;
  int signo;
  int tid;
  uint64_t value;
  struct timer_state t; /* on the monotonic clock */
  uint64_t overrun;     /* expirations while queued */
  int overrun_last;     /* of the signal last dequeued */
};

struct ptimer_table {
  struct ptimer t[PTIMER_MAX];
};

/* Caller holds p->lock: the earliest deadline of the signalling timers. */
static void ptimer_update_next(struct proc *p) {
  int64_t next = 0;
  if (p->ptimers)
    for (int i = 0; i < PTIMER_MAX; i++) {
      struct ptimer *pt = &p->ptimers->t[i];
      if (pt->used && pt->notify != SIGEV_NONE && pt->t.deadline &&
          (!next || pt->t.deadline < next))
        next = pt->t.deadline;
    }
  __atomic_store_n(&p->ptimer_next, next, __ATOMIC_RELEASE);
}

void ptimer_poll(struct proc *p) {
  if (!__atomic_load_n(&p->ptimer_next, __ATOMIC_ACQUIRE))
    return;
  for (;;) {
    struct linux_siginfo info;
    int tid = 0;
    bool fire = false;
    int64_t now = rt_now_ns();
    rt_lock(&p->lock);
    for (int i = 0; p->ptimers && i < PTIMER_MAX && !fire; i++) {
      struct ptimer *pt = &p->ptimers->t[i];
      if (!pt->used || pt->notify == SIGEV_NONE || !pt->t.deadline ||
          now < pt->t.deadline)
        continue;
      uint64_t n = timer_state_advance(&pt->t, now);
      if (pt->queued) {
        pt->overrun += n;
        continue;
      }
      pt->queued = true;
      pt->overrun = n - 1;
      memset(&info, 0, sizeof(info));
      info.si_signo = pt->signo;
      info.si_code = LINUX_SI_TIMER;
      info.u.timer.tid = i;
      info.u.timer.value = pt->value;
      tid = pt->notify & SIGEV_THREAD_ID ? pt->tid : 0;
      fire = true;
    }
    ptimer_update_next(p);
    ptimer_arm_real_locked(p, now);
    rt_unlock(&p->lock);
    if (!fire)
      return;
    /* To its thread; when that is gone, to the process. */
    if (!tid || moat_tgkill_info(p->pid, tid, &info) < 0)
      signal_send(p, NULL, &info);
    /* Not queued after all (ignored, or the real-time queue is full):
     * the next expiry queues it again. */
    rt_lock(&p->lock);
    struct ptimer *pt = p->ptimers ? &p->ptimers->t[info.u.timer.tid] : NULL;
    if (pt && pt->used && pt->queued) {
      bool found = false;
      struct task *t = p->threads;
      for (struct sigqueue *q = &p->shared_pending; q && !found;
           q = t ? &t->pending : NULL, t = t ? t->next_in_proc : NULL)
        for (struct sigqueue_entry *e = q->head; e && !found; e = e->next)
          found = e->info.si_code == LINUX_SI_TIMER &&
                  e->info.u.timer.tid == info.u.timer.tid &&
                  e->info.si_signo == info.si_signo;
      if (!found)
        pt->queued = false;
    }
    rt_unlock(&p->lock);
  }
}

void ptimer_dequeued(struct proc *p, struct linux_siginfo *info) {
  int id = info->u.timer.tid;
  if (!p->ptimers || id < 0 || id >= PTIMER_MAX)
    return;
  struct ptimer *pt = &p->ptimers->t[id];
  if (!pt->used || !pt->queued || pt->signo != info->si_signo)
    return;
  pt->queued = false;
  pt->overrun_last =
      pt->overrun > DELAYTIMER_MAX ? DELAYTIMER_MAX : (int)pt->overrun;
  pt->overrun = 0;
  info->u.timer.overrun = pt->overrun_last;
}

void ptimer_free_locked(struct proc *p) {
  kfree(p->ptimers);
  p->ptimers = NULL;
  __atomic_store_n(&p->ptimer_next, 0, __ATOMIC_RELEASE);
}

/* Caller holds p->lock: the timer id names, or NULL. */
static struct ptimer *ptimer_get(struct proc *p, int id) {
  if (!p->ptimers || id < 0 || id >= PTIMER_MAX || !p->ptimers->t[id].used)
    return NULL;
  return &p->ptimers->t[id];
}

int moat_timer_create(int clock, const struct moat_sigevent *sev) {
  struct task *self = task_current();
  struct proc *p = self->proc;
  switch (clock) {
  case LINUX_CLOCK_REALTIME:
  case LINUX_CLOCK_MONOTONIC:
  case LINUX_CLOCK_BOOTTIME:
    break;
  case CLOCK_REALTIME_ALARM:
  case CLOCK_BOOTTIME_ALARM:
    return -LINUX_EPERM; /* needs CAP_WAKE_ALARM of the host */
  case LINUX_CLOCK_PROCESS_CPUTIME_ID:
  case LINUX_CLOCK_THREAD_CPUTIME_ID:
  case CLOCK_TAI:
    return -LINUX_EOPNOTSUPP; /* not supported here (docs/processes.md) */
  default:
    /* Linux: EOPNOTSUPP for a clock without timers, EINVAL for none. */
    return clock >= 0 && clock <= CLOCK_TAI ? -LINUX_EOPNOTSUPP : -LINUX_EINVAL;
  }
  struct moat_sigevent ev = {0, LINUX_SIGALRM, SIGEV_SIGNAL, 0};
  bool dflt = !sev;
  if (sev)
    ev = *sev;
  struct task *target = NULL;
  switch (ev.notify) {
  case SIGEV_SIGNAL | SIGEV_THREAD_ID:
  case SIGEV_SIGNAL:
  case SIGEV_THREAD:
    if (ev.signo <= 0 || ev.signo > LINUX_NSIG)
      return -LINUX_EINVAL;
    break;
  case SIGEV_NONE:
    break;
  default:
    return -LINUX_EINVAL;
  }
  if (ev.notify == SIGEV_THREAD)
    ev.notify = SIGEV_SIGNAL; /* the C library's business, as on Linux */
  rt_lock(&p->lock);
  if (ev.notify & SIGEV_THREAD_ID) {
    for (target = p->threads; target && target->tid != ev.tid;
         target = target->next_in_proc)
      ;
    if (!target) {
      rt_unlock(&p->lock);
      return -LINUX_EINVAL;
    }
  }
  if (!p->ptimers) {
    p->ptimers = kzalloc(sizeof(*p->ptimers));
    if (!p->ptimers) {
      rt_unlock(&p->lock);
      return -LINUX_ENOMEM;
    }
  }
  int id = -LINUX_EAGAIN;
  for (int i = 0; i < PTIMER_MAX; i++)
    if (!p->ptimers->t[i].used) {
      id = i;
      break;
    }
  if (id >= 0) {
    struct ptimer *pt = &p->ptimers->t[id];
    memset(pt, 0, sizeof(*pt));
    pt->used = true;
    pt->clock = clock;
    pt->notify = ev.notify;
    pt->signo = ev.signo;
    pt->tid = ev.tid;
    pt->value = dflt ? (uint64_t)id : ev.value;
  }
  rt_unlock(&p->lock);
  return id;
}

/* Caller holds p->lock: move a SIGEV_NONE timer on, then its setting. */
static void ptimer_current(struct ptimer *pt, int64_t now, int64_t cur[2]) {
  if (pt->notify == SIGEV_NONE)
    timer_state_advance(&pt->t, now);
  cur[0] = pt->t.deadline ? MAX(pt->t.deadline - now, 1) : 0;
  if (pt->t.deadline && now >= pt->t.deadline)
    cur[0] = 1; /* expired, its signal not yet queued */
  cur[1] = pt->t.interval;
}

int moat_timer_settime(int id, int flags, const int64_t val[2],
                       int64_t old[2]) {
  struct proc *p = proc_current();
  if (val[0] < 0 || val[1] < 0)
    return -LINUX_EINVAL;
  rt_lock(&p->lock);
  struct ptimer *pt = ptimer_get(p, id);
  if (!pt) {
    rt_unlock(&p->lock);
    return -LINUX_EINVAL;
  }
  int64_t now = rt_now_ns();
  if (old)
    ptimer_current(pt, now, old);
  int64_t v = MIN(val[0], PTIMER_MAX_NS), i = MIN(val[1], PTIMER_MAX_NS);
  pt->t.interval = v ? i : 0;
  pt->t.deadline = 0;
  pt->overrun = 0;
  if (v && (flags & LINUX_TIMER_ABSTIME)) {
    /* An absolute time on the timer's clock, as the monotonic time left
     * (the sandbox cannot set the clock). */
    int64_t cnow = now;
    if (pt->clock != LINUX_CLOCK_MONOTONIC)
      time_read_clock(pt->clock, &cnow);
    int64_t left = v - cnow;
    pt->t.deadline = left > 0 ? now + left : now;
  } else if (v) {
    pt->t.deadline = now + v;
  }
  if (pt->t.deadline <= 0 && v)
    pt->t.deadline = 1;
  ptimer_update_next(p);
  ptimer_arm_real_locked(p, now);
  rt_unlock(&p->lock);
  /* Already due (an absolute time passed): queue it now. */
  if (v && pt->notify != SIGEV_NONE)
    ptimer_poll(p);
  return 0;
}

int moat_timer_gettime(int id, int64_t cur[2]) {
  struct proc *p = proc_current();
  rt_lock(&p->lock);
  struct ptimer *pt = ptimer_get(p, id);
  if (pt)
    ptimer_current(pt, rt_now_ns(), cur);
  rt_unlock(&p->lock);
  return pt ? 0 : -LINUX_EINVAL;
}

int moat_timer_getoverrun(int id) {
  struct proc *p = proc_current();
  rt_lock(&p->lock);
  struct ptimer *pt = ptimer_get(p, id);
  int rc = pt ? pt->overrun_last : -LINUX_EINVAL;
  rt_unlock(&p->lock);
  return rc;
}

int moat_timer_delete(int id) {
  struct proc *p = proc_current();
  rt_lock(&p->lock);
  struct ptimer *pt = ptimer_get(p, id);
  if (pt) {
    memset(pt, 0, sizeof(*pt));
    ptimer_update_next(p);
    ptimer_arm_real_locked(p, rt_now_ns());
  }
  rt_unlock(&p->lock);
  return pt ? 0 : -LINUX_EINVAL;
}
