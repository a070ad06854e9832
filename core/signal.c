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

static bool sig_valid(int sig) {
  return sig >= 1 && sig <= LINUX_NSIG;
}

void signal_init_proc(struct proc *p) {
  memset(p->sigaction, 0, sizeof(p->sigaction));
  p->shared_pending = (struct sigqueue){0};
  p->queued = 0;
}

/* Would delivering sig to p right now do nothing at all? */
static bool sig_ignored(struct proc *p, int sig) {
  uint64_t h = p->sigaction[sig - 1].handler;
  if (h == LINUX_SIG_IGN)
    return sig != LINUX_SIGKILL && sig != LINUX_SIGSTOP;
  if (h == LINUX_SIG_DFL)
    return (SIG_DEFAULT_IGNORE | SIG_DEFAULT_STOP) & LINUX_SIGBIT(sig) &&
           sig != LINUX_SIGKILL;
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

static void wake_task(struct task *t) {
  __atomic_add_fetch(&t->wake_word, 1, __ATOMIC_SEQ_CST);
  plat_futex_wake(&t->wake_word, 1, true);
}

int signal_send(struct proc *p, struct task *t,
                const struct linux_siginfo *info) {
  int sig = info->si_signo;
  int err = 0;
  if (!sig_valid(sig))
    return -LINUX_EINVAL;
  rt_lock(&p->lock);
  struct sigqueue *q = t ? &t->pending : &p->shared_pending;
  /* A signal that would be ignored is discarded when sent unless the
   * receiver blocks it (it may change the handler before unblocking). */
  struct task *any = t ? t : p->threads;
  bool blocked = any && (any->sigblocked & LINUX_SIGBIT(sig));
  if (!blocked && sig_ignored(p, sig))
    goto out;
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
  for (struct task *w = t ? t : p->threads; w; w = t ? NULL : w->next_in_proc)
    wake_task(w);
out:
  rt_unlock(&p->lock);
  return err;
}

bool signal_pending(struct task *t) {
  struct proc *p = t->proc;
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
  if (me->euid == 0 || p == proc_current())
    return true;
  return me->euid == p->cred.suid || me->euid == p->cred.ruid ||
         me->ruid == p->cred.suid || me->ruid == p->cred.ruid;
}

int moat_kill(int pid, int sig) {
  if (sig < 0 || sig > LINUX_NSIG)
    return -LINUX_EINVAL;
  struct proc *self = proc_current();
  struct proc *target;
  if (pid == 0 || pid == self->pid)
    target = self;
  else if (pid == -1)
    /* Every process but the caller and init: none in this sandbox yet. */
    return -LINUX_ESRCH;
  else if (pid < -1)
    target = -pid == self->pgid ? self : NULL;
  else
    target = task_find_proc(pid);
  if (!target)
    return -LINUX_ESRCH;
  if (!may_signal(target))
    return -LINUX_EPERM;
  if (sig == 0)
    return 0;
  struct linux_siginfo info;
  fill_kill_info(&info, sig, LINUX_SI_USER);
  return signal_send(target, NULL, &info);
}

int moat_tgkill(int tgid, int tid, int sig) {
  if (sig < 0 || sig > LINUX_NSIG)
    return -LINUX_EINVAL;
  if (tid <= 0 || tgid == 0 || tgid < -1)
    return -LINUX_EINVAL;
  struct proc *self = proc_current();
  /* tgid -1 is tkill: any thread with that tid. */
  if (tgid != -1 && tgid != self->pid)
    return -LINUX_ESRCH;
  struct task *target = NULL;
  rt_lock(&self->lock);
  for (struct task *t = self->threads; t; t = t->next_in_proc)
    if (t->tid == tid)
      target = t;
  rt_unlock(&self->lock);
  if (!target)
    return -LINUX_ESRCH;
  if (sig == 0)
    return 0;
  struct linux_siginfo info;
  fill_kill_info(&info, sig, LINUX_SI_TKILL);
  return signal_send(self, target, &info);
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

int moat_signal_dequeue(struct linux_siginfo *info,
                        struct linux_sigaction *action) {
  struct task *t = task_current();
  struct proc *p = t->proc;
  int ret = 0;
  rt_lock(&p->lock);
  for (;;) {
    uint64_t ready = (t->pending.set | p->shared_pending.set) & ~t->sigblocked;
    if (!ready)
      break;
    /* Synchronous faults first (as Linux), then the lowest number. */
    uint64_t pick = ready & SIG_SYNC_FAULTS ? ready & SIG_SYNC_FAULTS : ready;
    int sig = __builtin_ctzll(pick) + 1;
    struct sigqueue *q =
        t->pending.set & LINUX_SIGBIT(sig) ? &t->pending : &p->shared_pending;
    queue_take(p, q, sig, info);
    if (sig_ignored(p, sig))
      continue;
    struct linux_sigaction *a = &p->sigaction[sig - 1];
    *action = *a;
    if (a->handler != LINUX_SIG_DFL && (a->flags & LINUX_SA_RESETHAND)) {
      a->handler = LINUX_SIG_DFL;
      a->flags &= ~LINUX_SA_SIGINFO;
    }
    ret = sig;
    break;
  }
  rt_unlock(&p->lock);
  return ret;
}
