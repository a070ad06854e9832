/* Signal state: per-process handlers, per-thread masks, pending sets and
 * siginfo queues, alternate stacks, and sending (kill, tgkill, raise).
 *
 * The core only keeps state; the North shim builds the signal frames. The
 * split of work with the shim:
 *  - moat_signal_dequeue never returns a signal whose action is to ignore
 *    it (SIG_IGN, or SIG_DFL of SIGCHLD/SIGURG/SIGWINCH/SIGCONT, and the
 *    stop signals, since a sandbox has no job control). It returns SIG_DFL
 *    only for signals whose default is to end the process: the shim then
 *    calls moat_exit_signal.
 *  - SA_RESETHAND is applied here: the returned action is the handler to
 *    run, and the table entry is already back to SIG_DFL.
 *  - Blocking sa_mask (and the signal itself unless SA_NODEFER) while the
 *    handler runs, and restoring the mask at rt_sigreturn, is the shim's
 *    job through moat_sigprocmask.
 *  - moat_sigaltstack cannot see the guest's stack pointer, so it never
 *    reports SS_ONSTACK and never refuses a change with -EPERM; the shim
 *    adds SS_ONSTACK to the old value when the guest's rsp is inside. */
#include "moat/moat.h"
#include "rt.h"
#include "task.h"
#include "moat/platform.h"

#define SIG_UNBLOCKABLE                                                        \
  (LINUX_SIGBIT(LINUX_SIGKILL) | LINUX_SIGBIT(LINUX_SIGSTOP))
#define SIG_DEFAULT_IGNORE                                                     \
  (LINUX_SIGBIT(LINUX_SIGCHLD) | LINUX_SIGBIT(LINUX_SIGURG) |                  \
   LINUX_SIGBIT(LINUX_SIGWINCH) | LINUX_SIGBIT(LINUX_SIGCONT))
#define SIG_DEFAULT_STOP                                                       \
  (LINUX_SIGBIT(LINUX_SIGSTOP) | LINUX_SIGBIT(LINUX_SIGTSTP) |                 \
   LINUX_SIGBIT(LINUX_SIGTTIN) | LINUX_SIGBIT(LINUX_SIGTTOU))
#define SIG_SYNC_FAULTS                                                        \
  (LINUX_SIGBIT(LINUX_SIGSEGV) | LINUX_SIGBIT(LINUX_SIGBUS) |                  \
   LINUX_SIGBIT(LINUX_SIGILL) | LINUX_SIGBIT(LINUX_SIGFPE) |                   \
   LINUX_SIGBIT(LINUX_SIGTRAP))
#define SS_AUTODISARM (1u << 31)

int moat_tgkill_info(int tgid, int tid, const struct linux_siginfo *info);

static bool sig_valid(int sig) {
  return sig >= 1 && sig <= LINUX_NSIG;
}

void signal_init_proc(struct proc *p) {
  memset(p->sigaction, 0, sizeof(p->sigaction));
  p->shared_pending = (struct sigqueue){0};
  p->queued = 0;
}

/* Would delivering sig to p right now do nothing at all? (Stop signals
 * are not ignored: their default action stops the process.) */
static bool sig_ignored(struct proc *p, int sig) {
  uint64_t h = p->sigaction[sig - 1].handler;
  if (sig == LINUX_SIGKILL || sig == LINUX_SIGSTOP)
    return false;
  if (h == LINUX_SIG_IGN)
    return true;
  if (h == LINUX_SIG_DFL)
    return (SIG_DEFAULT_IGNORE & LINUX_SIGBIT(sig)) != 0;
  return false;
}

static void queue_drop(struct proc *p, struct sigqueue *q, int sig) {
  struct sigqueue_entry **pp = &q->head, *prev = NULL;
  while (*pp) {
    struct sigqueue_entry *e = *pp;
    if (e->info.si_signo == sig) {
      *pp = e->next;
      if (q->tail == e)
        q->tail = prev;
      if (sig >= LINUX_SIGRTMIN)
        p->queued--;
      kfree(e);
      continue;
    }
    prev = e;
    pp = &e->next;
  }
  q->set &= ~LINUX_SIGBIT(sig);
}

/* Take the first queued entry of sig; clear the bit if it was the last. */
static void queue_take(struct proc *p, struct sigqueue *q, int sig,
                       struct linux_siginfo *info) {
  struct sigqueue_entry **pp = &q->head, *prev = NULL, *found = NULL;
  bool more = false;
  while (*pp) {
    struct sigqueue_entry *e = *pp;
    if (e->info.si_signo == sig) {
      if (!found) {
        found = e;
        *pp = e->next;
        if (q->tail == e)
          q->tail = prev;
        continue;
      }
      more = true;
      break;
    }
    prev = e;
    pp = &e->next;
  }
  if (found) {
    *info = found->info;
    if (info->si_code == LINUX_SI_TIMER)
      ptimer_dequeued(p, info);
    if (sig >= LINUX_SIGRTMIN)
      p->queued--;
    kfree(found);
  } else {
    /* The entry could not be allocated when it was sent: what Linux does
     * under memory pressure, a bare SI_USER. */
    memset(info, 0, sizeof(*info));
    info->si_signo = sig;
    info->si_code = LINUX_SI_USER;
  }
  if (!more)
    q->set &= ~LINUX_SIGBIT(sig);
}

void signal_notify(struct proc *p, struct task *t, int sig) {
  struct task *self = task_current();
  if (t) {
    task_wake(t);
    if (t != self && t->host)
      plat_ctx_kick(t->host);
    return;
  }
  struct task *pick = NULL;
  for (struct task *w = p->threads; w; w = w->next_in_proc) {
    task_wake(w);
    if (!pick && !(w->sigblocked & LINUX_SIGBIT(sig)))
      pick = w;
  }
  if (sig == LINUX_SIGKILL || sig == LINUX_SIGCONT)
    pick = p->threads;
  /* The current thread looks before it returns to the guest anyway. */
  if (pick && pick != self && pick->host)
    plat_ctx_kick(pick->host);
}

/* SIGCONT resumes a stopped process whatever its handler; a stop signal
 * still pending is dropped (and SIGCONT drops pending stops). */
static void continue_locked(struct proc *p, int sig) {
  if (sig == LINUX_SIGCONT) {
    uint64_t stops = SIG_DEFAULT_STOP;
    for (int s = 1; s <= LINUX_NSIG; s++)
      if (stops & LINUX_SIGBIT(s)) {
        queue_drop(p, &p->shared_pending, s);
        for (struct task *t = p->threads; t; t = t->next_in_proc)
          queue_drop(p, &t->pending, s);
      }
    if (p->stopped) {
      p->stopped = false;
      p->stop_report = false;
      p->cont_report = true;
      __atomic_add_fetch(&p->stop_word, 1, __ATOMIC_SEQ_CST);
      plat_wake(&p->stop_word, 0x7fffffff);
    }
  } else if ((SIG_DEFAULT_STOP & LINUX_SIGBIT(sig)) || sig == LINUX_SIGKILL) {
    queue_drop(p, &p->shared_pending, LINUX_SIGCONT);
    if (sig == LINUX_SIGKILL && p->stopped) {
      p->stopped = false;
      __atomic_add_fetch(&p->stop_word, 1, __ATOMIC_SEQ_CST);
      plat_wake(&p->stop_word, 0x7fffffff);
    }
  }
}

int signal_send(struct proc *p, struct task *t,
                const struct linux_siginfo *info) {
  int sig = info->si_signo;
  int err = 0;
  if (!sig_valid(sig))
    return -LINUX_EINVAL;
  rt_lock(&p->lock);
  if (p->state != PROC_RUNNING)
    goto out;
  continue_locked(p, sig);
  struct sigqueue *q = t ? &t->pending : &p->shared_pending;
  /* A signal that would be ignored is discarded when sent unless the
   * receiver blocks it (it may change the handler before unblocking). */
  struct task *any = t ? t : p->threads;
  bool blocked =
      any && ((any->sigblocked | any->sigwait_set) & LINUX_SIGBIT(sig));
  if (!blocked && sig_ignored(p, sig)) {
    if (sig == LINUX_SIGCONT || sig == LINUX_SIGCHLD)
      for (struct task *w = t ? t : p->threads; w;
           w = t ? NULL : w->next_in_proc)
        task_wake(w); /* a resumed or a waiting parent must look */
    goto out;
  }
  if (sig < LINUX_SIGRTMIN && (q->set & LINUX_SIGBIT(sig)))
    goto out; /* standard signals coalesce */
  if (sig >= LINUX_SIGRTMIN &&
      (uint64_t)p->queued >= p->rlimit[11 /* SIGPENDING */].rlim_cur) {
    err = -LINUX_EAGAIN;
    goto out;
  }
  struct sigqueue_entry *e = kmalloc(sizeof(*e));
  if (e) {
    e->next = NULL;
    e->info = *info;
    if (q->tail)
      q->tail->next = e;
    else
      q->head = e;
    q->tail = e;
    if (sig >= LINUX_SIGRTMIN)
      p->queued++;
  } else if (sig >= LINUX_SIGRTMIN) {
    err = -LINUX_EAGAIN;
    goto out;
  }
  q->set |= LINUX_SIGBIT(sig);
  signal_notify(p, t, sig);
out:
  rt_unlock(&p->lock);
  return err;
}

bool moat_fatal_pending(void) {
  struct task *t = task_current();
  if (!t)
    return false;
  struct proc *p = t->proc;
  if (__atomic_load_n(&p->exiting, __ATOMIC_ACQUIRE) && p->exiter != t)
    return true;
  rt_lock(&p->lock);
  uint64_t pending = t->pending.set | p->shared_pending.set;
  bool fatal = (pending & LINUX_SIGBIT(LINUX_SIGKILL)) != 0;
  pending &= ~t->sigblocked;
  for (int sig = 1; !fatal && sig <= LINUX_NSIG; sig++)
    fatal = (pending & LINUX_SIGBIT(sig)) &&
            p->sigaction[sig - 1].handler == LINUX_SIG_DFL &&
            !(LINUX_SIGBIT(sig) & (SIG_DEFAULT_IGNORE | SIG_DEFAULT_STOP));
  rt_unlock(&p->lock);
  return fatal;
}

bool signal_pending(struct task *t) {
  struct proc *p = t->proc;
  task_reap_poll(); /* a child the host killed: its SIGCHLD, its pipes */
  if (__atomic_load_n(&p->exiting, __ATOMIC_ACQUIRE) && p->exiter != t)
    return true;
  /* An expired timer counts as SIGALRM pending: the sleeper returns and
   * the way back to the guest queues it (signal_timer_poll). */
  int64_t due = __atomic_load_n(&p->itimer_deadline, __ATOMIC_ACQUIRE);
  if (due && !(t->sigblocked & LINUX_SIGBIT(LINUX_SIGALRM)) &&
      rt_now_ns() >= due)
    return true;
  if (time_itimer_due(t))
    return true;
  /* A POSIX timer expired: queue its signal now (a thread that does not
   * block it is told), then look as for any signal. */
  int64_t pt = __atomic_load_n(&p->ptimer_next, __ATOMIC_ACQUIRE);
  if (pt && rt_now_ns() >= pt)
    ptimer_poll(p);
  uint64_t set = __atomic_load_n(&t->pending.set, __ATOMIC_ACQUIRE) |
                 __atomic_load_n(&p->shared_pending.set, __ATOMIC_ACQUIRE);
  return (set & ~t->sigblocked) != 0;
}

int moat_sigaction(int sig, const struct linux_sigaction *act,
                   struct linux_sigaction *old) {
  struct proc *p = proc_current();
  if (!sig_valid(sig))
    return -LINUX_EINVAL;
  if (act && (sig == LINUX_SIGKILL || sig == LINUX_SIGSTOP))
    return -LINUX_EINVAL;
  rt_lock(&p->lock);
  struct linux_sigaction *cur = &p->sigaction[sig - 1];
  if (old)
    *old = *cur;
  if (act) {
    *cur = *act;
    cur->mask &= ~SIG_UNBLOCKABLE;
    /* Setting a signal to be ignored discards what is pending of it. */
    if (sig_ignored(p, sig)) {
      queue_drop(p, &p->shared_pending, sig);
      for (struct task *t = p->threads; t; t = t->next_in_proc)
        queue_drop(p, &t->pending, sig);
    }
  }
  rt_unlock(&p->lock);
  return 0;
}

/* rt_sigtimedwait waits for set (0: done waiting): see sigwait_set. */
void moat_sigwait_set(uint64_t set) {
  struct task *t = task_current();
  if (t)
    __atomic_store_n(&t->sigwait_set, set, __ATOMIC_SEQ_CST);
}

int moat_sigprocmask(int how, const uint64_t *set, uint64_t *old) {
  struct task *t = task_current();
  struct proc *p = t->proc;
  if (set && how != LINUX_SIG_BLOCK && how != LINUX_SIG_UNBLOCK &&
      how != LINUX_SIG_SETMASK)
    return -LINUX_EINVAL;
  rt_lock(&p->lock);
  if (old)
    *old = t->sigblocked;
  if (set) {
    uint64_t m = t->sigblocked;
    if (how == LINUX_SIG_BLOCK)
      m |= *set;
    else if (how == LINUX_SIG_UNBLOCK)
      m &= ~*set;
    else
      m = *set;
    t->sigblocked = m & ~SIG_UNBLOCKABLE;
  }
  rt_unlock(&p->lock);
  return 0;
}

int moat_sigpending(uint64_t *out) {
  struct task *t = task_current();
  struct proc *p = t->proc;
  rt_lock(&p->lock);
  *out = (t->pending.set | p->shared_pending.set) & t->sigblocked;
  rt_unlock(&p->lock);
  return 0;
}

int moat_sigaltstack(const struct linux_stack *ss, struct linux_stack *old) {
  struct task *t = task_current();
  struct linux_stack prev = t->altstack;
  if (ss) {
    uint32_t mode = (uint32_t)ss->ss_flags & ~SS_AUTODISARM;
    if (mode != 0 && mode != LINUX_SS_DISABLE && mode != LINUX_SS_ONSTACK)
      return -LINUX_EINVAL;
    struct linux_stack n = *ss;
    n.pad = 0;
    if (mode == LINUX_SS_DISABLE) {
      n.ss_sp = NULL;
      n.ss_size = 0;
      n.ss_flags = LINUX_SS_DISABLE;
    } else {
      if (n.ss_size < LINUX_MINSIGSTKSZ)
        return -LINUX_ENOMEM;
      n.ss_flags = (int32_t)((uint32_t)ss->ss_flags & SS_AUTODISARM);
    }
    t->altstack = n;
  }
  if (old) {
    *old = prev;
    old->pad = 0;
    if (!prev.ss_size && !prev.ss_sp)
      old->ss_flags = LINUX_SS_DISABLE;
  }
  return 0;
}

static void fill_kill_info(struct linux_siginfo *info, int sig, int code) {
  struct proc *self = proc_current();
  memset(info, 0, sizeof(*info));
  info->si_signo = sig;
  info->si_code = code;
  info->u.kill.pid = self->pid;
  info->u.kill.uid = self->cred.ruid;
}

/* May the current process signal p? Root may signal anyone; others need
 * a matching real or effective uid (as Linux's kill_ok_by_cred). */
static bool may_signal(struct proc *p) {
  struct task_cred *me = &proc_current()->cred;
  if (p == proc_current() || moat_capable(LINUX_CAP_KILL))
    return true;
  return me->euid == p->cred.suid || me->euid == p->cred.ruid ||
         me->ruid == p->cred.suid || me->ruid == p->cred.ruid;
}

static int kill_one(struct proc *p, const struct linux_siginfo *info) {
  if (!may_signal(p))
    return -LINUX_EPERM;
  /* A zombie is found until it is reaped, as on Linux; the signal itself
   * goes nowhere. */
  if (!info->si_signo || p->state != PROC_RUNNING)
    return 0;
  return signal_send(p, NULL, info);
}

/* kill(2) over the sandbox's own task table: nothing outside the sandbox
 * has a pid here, so nothing outside can be reached. */
int moat_kill(int pid, int sig) {
  if (sig < 0 || sig > LINUX_NSIG)
    return -LINUX_EINVAL;
  struct linux_siginfo info;
  fill_kill_info(&info, sig, LINUX_SI_USER);
  return moat_sigqueue(pid, 0, &info);
}

int moat_sigqueue(int pid, int tid, const struct linux_siginfo *info) {
  struct task_table *tt = g_task_table;
  struct proc *self = proc_current();
  int sig = info->si_signo;
  if (sig < 0 || sig > LINUX_NSIG)
    return -LINUX_EINVAL;
  if (tid > 0)
    return moat_tgkill_info(pid, tid, info);
  if (pid == INT32_MIN)
    return -LINUX_ESRCH;
  int err = -LINUX_ESRCH, sent = 0;
  bool self_hit = false;
  rt_lock(&tt->lock);
  int pgid = pid == 0 ? self->pgid : -pid;
  for (uint32_t i = 0; i < tt->max_tasks; i++) {
    struct proc *p = tt->procs[i];
    if (!p)
      continue;
    bool match;
    if (pid > 0)
      match = p->pid == pid;
    else if (pid == -1)
      match = p->pid != 1 && p != self;
    else
      match = p->pgid == pgid;
    if (!match)
      continue;
    int r = kill_one(p, info);
    if (r == 0) {
      sent++;
      self_hit |= p == self;
    } else if (err == -LINUX_ESRCH) {
      err = r;
    }
  }
  rt_unlock(&tt->lock);
  (void)self_hit;
  return sent ? 0 : err;
}

int moat_tgkill(int tgid, int tid, int sig) {
  if (sig < 0 || sig > LINUX_NSIG)
    return -LINUX_EINVAL;
  if (tid <= 0 || tgid == 0 || tgid < -1)
    return -LINUX_EINVAL;
  struct linux_siginfo info;
  fill_kill_info(&info, sig, LINUX_SI_TKILL);
  return moat_tgkill_info(tgid, tid, &info);
}

/* tgid -1 is tkill: any thread with that tid. */
int moat_tgkill_info(int tgid, int tid, const struct linux_siginfo *info) {
  struct task_table *tt = g_task_table;
  if (tid <= 0 || tgid == 0 || tgid < -1)
    return -LINUX_EINVAL;
  int err = -LINUX_ESRCH;
  rt_lock(&tt->lock);
  for (uint32_t i = 0; i < tt->max_tasks; i++) {
    struct task *t = tt->tasks[i];
    if (!t || t->tid != tid || (tgid != -1 && t->proc->pid != tgid))
      continue;
    struct proc *p = t->proc;
    if (p->state != PROC_RUNNING)
      break;
    if (!may_signal(p)) {
      err = -LINUX_EPERM;
      break;
    }
    err = info->si_signo ? signal_send(p, t, info) : 0;
    break;
  }
  rt_unlock(&tt->lock);
  return err;
}

int moat_signal_raise(const struct linux_siginfo *info) {
  struct task *t = task_current();
  struct proc *p = t->proc;
  int sig = info->si_signo;
  if (!sig_valid(sig))
    return -LINUX_EINVAL;
  /* A synchronous fault cannot be blocked or ignored away: as Linux's
   * force_sig_info, unblock it and fall back to the default action. */
  if ((LINUX_SIGBIT(sig) & SIG_SYNC_FAULTS) && info->si_code > 0) {
    rt_lock(&p->lock);
    struct linux_sigaction *a = &p->sigaction[sig - 1];
    if ((t->sigblocked & LINUX_SIGBIT(sig)) || a->handler == LINUX_SIG_IGN) {
      t->sigblocked &= ~LINUX_SIGBIT(sig);
      memset(a, 0, sizeof(*a));
    }
    rt_unlock(&p->lock);
  }
  return signal_send(p, t, info);
}

/* The parent hears of a stop (SIGCHLD with CLD_STOPPED unless it asked
 * for SA_NOCLDSTOP) and its waiters wake. */
static void signal_parent_stop(struct proc *p, int sig) {
  struct task_table *tt = g_task_table;
  rt_lock(&tt->lock);
  struct proc *parent = NULL;
  for (uint32_t i = 0; i < tt->max_tasks && !parent; i++)
    if (tt->procs[i] && tt->procs[i]->pid == p->ppid &&
        tt->procs[i]->state == PROC_RUNNING)
      parent = tt->procs[i];
  if (parent) {
    struct linux_sigaction *a = &parent->sigaction[LINUX_SIGCHLD - 1];
    if (!(a->flags & 1 /* SA_NOCLDSTOP */)) {
      struct linux_siginfo ci;
      memset(&ci, 0, sizeof(ci));
      ci.si_signo = LINUX_SIGCHLD;
      ci.si_code = 5; /* CLD_STOPPED */
      ci.u.kill.pid = p->pid;
      ci.u.kill.uid = p->cred.ruid;
      ci.u.kill.status = sig;
      signal_send(parent, NULL, &ci);
    }
    task_wake_proc(parent);
  }
  rt_unlock(&tt->lock);
}

void ptimer_arm_real_locked(struct proc *p, int64_t now) {
  int64_t a = p->itimer_deadline, b = p->ptimer_next;
  int64_t due = a && b ? MIN(a, b) : a ? a : b;
  plat_timer_set(PLAT_TIMER_REAL, due ? MAX(due - now, 1) : 0, NULL);
}

void signal_timer_poll(struct proc *p) {
  time_itimer_poll(p);
  ptimer_poll(p);
  if (!__atomic_load_n(&p->itimer_deadline, __ATOMIC_ACQUIRE))
    return;
  int64_t now = rt_now_ns();
  bool fire = false;
  rt_lock(&p->lock);
  int64_t due = p->itimer_deadline;
  if (due && now >= due) {
    fire = true;
    if (p->itimer_interval > 0) {
      int64_t next = due + p->itimer_interval;
      if (next <= now) /* overruns are not queued, as Linux */
        next = now + p->itimer_interval - (now - due) % p->itimer_interval;
      p->itimer_deadline = next;
    } else {
      p->itimer_deadline = 0;
    }
  }
  /* Also when woken early (a spurious host signal): it still fires. */
  ptimer_arm_real_locked(p, now);
  rt_unlock(&p->lock);
  if (fire) {
    struct linux_siginfo info;
    memset(&info, 0, sizeof(info));
    info.si_signo = LINUX_SIGALRM;
    info.si_code = LINUX_SI_KERNEL;
    signal_send(p, NULL, &info);
  }
}

int moat_itimer_real(const int64_t *value, const int64_t *interval,
                     int64_t *old_value, int64_t *old_interval) {
  struct proc *p = proc_current();
  int64_t now = rt_now_ns();
  rt_lock(&p->lock);
  if (old_value)
    *old_value = p->itimer_deadline ? MAX(p->itimer_deadline - now, 1) : 0;
  if (old_interval)
    *old_interval = p->itimer_interval;
  if (value) {
    int64_t v = *value, i = interval ? *interval : 0;
    if (v < 0 || i < 0) {
      rt_unlock(&p->lock);
      return -LINUX_EINVAL;
    }
    p->itimer_deadline = v ? now + v : 0;
    p->itimer_interval = v ? i : 0;
    ptimer_arm_real_locked(p, now);
  }
  rt_unlock(&p->lock);
  return 0;
}

int moat_signal_dequeue(struct linux_siginfo *info,
                        struct linux_sigaction *action) {
  struct task *t = task_current();
  struct proc *p = t->proc;
  int ret = 0;
  task_reap_poll();
  signal_timer_poll(p);
  if (!t->host)
    t->host = plat_ctx_self();
  rt_lock(&p->lock);
  for (;;) {
    if (p->exiting && p->exiter != t) {
      rt_unlock(&p->lock);
      task_exit_now();
    }
    if (p->stopped) {
      /* Stopped: sleep until SIGCONT or SIGKILL (which clear it). */
      uint32_t seen = __atomic_load_n(&p->stop_word, __ATOMIC_ACQUIRE);
      rt_unlock(&p->lock);
      plat_wait(&p->stop_word, seen, NULL, 0, -1);
      rt_lock(&p->lock);
      continue;
    }
    uint64_t ready = (t->pending.set | p->shared_pending.set) & ~t->sigblocked;
    if (!ready)
      break;
    /* Synchronous faults first (as Linux), then the lowest number. */
    uint64_t pick = ready & SIG_SYNC_FAULTS ? ready & SIG_SYNC_FAULTS : ready;
    int sig = __builtin_ctzll(pick) + 1;
    struct sigqueue *q =
        t->pending.set & LINUX_SIGBIT(sig) ? &t->pending : &p->shared_pending;
    queue_take(p, q, sig, info);
    if (sig_ignored(p, sig) && !(t->sigwait_set & LINUX_SIGBIT(sig)))
      continue;
    struct linux_sigaction *a = &p->sigaction[sig - 1];
    if (a->handler == LINUX_SIG_DFL && (SIG_DEFAULT_STOP & LINUX_SIGBIT(sig))) {
      p->stopped = true;
      p->stop_sig = sig;
      p->stop_report = true;
      p->cont_report = false;
      for (struct task *o = p->threads; o; o = o->next_in_proc)
        if (o != t && o->host)
          plat_ctx_kick(o->host);
      rt_unlock(&p->lock);
      signal_parent_stop(p, sig);
      rt_lock(&p->lock);
      continue;
    }
    *action = *a;
    /* Linux resets the handler only: the flags (SA_SIGINFO too) stay. */
    if (a->handler != LINUX_SIG_DFL && (a->flags & LINUX_SA_RESETHAND))
      a->handler = LINUX_SIG_DFL;
    ret = sig;
    break;
  }
  rt_unlock(&p->lock);
  return ret;
}

int signal_take(uint64_t mask, struct linux_siginfo *info) {
  struct task *t = task_current();
  struct proc *p = t->proc;
  int sig = 0;
  signal_timer_poll(p);
  mask &= ~SIG_UNBLOCKABLE;
  rt_lock(&p->lock);
  /* As Linux's dequeue_signal: the thread's own queue first, then the
   * process's; synchronous faults before the lowest number. */
  struct sigqueue *qs[2] = {&t->pending, &p->shared_pending};
  for (int i = 0; i < 2 && !sig; i++) {
    uint64_t ready = qs[i]->set & mask;
    if (!ready)
      continue;
    uint64_t pick = ready & SIG_SYNC_FAULTS ? ready & SIG_SYNC_FAULTS : ready;
    sig = __builtin_ctzll(pick) + 1;
    queue_take(p, qs[i], sig, info);
  }
  rt_unlock(&p->lock);
  return sig;
}

uint64_t signal_pending_of(struct task *t) {
  struct proc *p = t->proc;
  signal_timer_poll(p);
  return __atomic_load_n(&t->pending.set, __ATOMIC_ACQUIRE) |
         __atomic_load_n(&p->shared_pending.set, __ATOMIC_ACQUIRE);
}
