/* pidfd: a file that names one process of the sandbox (pidfd_open,
 * CLONE_PIDFD), for pidfd_send_signal, pidfd_getfd, waitid(P_PIDFD) and
 * poll (readable once the process has ended, as asyncio's
 * PidfdChildWatcher waits for it).
 *
 * A process's struct proc is freed when it is reaped, so the file holds
 * no pointer it would follow blindly: it keeps the pid, the proc's
 * address and its start time, and every use looks the process up in the
 * task table under its lock; a process with another identity under that
 * pid (a reused pid) is not the one named. The end of a process wakes
 * pollers (task.c calls poll_notify_obj with the proc), and so does its
 * reaping (POLLHUP then). */
#include "moat/moat.h"
#include "poll.h"
#include "procfs.h"
#include "task.h"
#include "vfs_impl.h"

#define PIDFD_NONBLOCK LINUX_O_NONBLOCK

struct pidfd {
  int pid;
  const struct proc *proc; /* identity only: never dereferenced */
  int64_t start_ns;
};

static const struct file_ops pidfd_ops;

/* The process named, or NULL once reaped. Caller holds the table lock. */
static struct proc *pidfd_proc_locked(const struct pidfd *d) {
  struct task_table *tt = g_task_table;
  rt_assert_held(&tt->lock);
  for (uint32_t i = 0; i < tt->max_tasks; i++) {
    struct proc *p = tt->procs[i];
    if (p && p == d->proc && p->pid == d->pid && p->start_ns == d->start_ns &&
        (p->state == PROC_RUNNING || p->state == PROC_ZOMBIE))
      return p;
  }
  return NULL;
}

static unsigned pidfd_poll(struct file *f, unsigned events) {
  struct pidfd *d = f->private;
  struct task_table *tt = g_task_table;
  unsigned ready = 0;
  rt_lock(&tt->lock);
  struct proc *p = pidfd_proc_locked(d);
  if (!p)
    ready = VFS_POLLIN | VFS_POLLRDNORM | VFS_POLLHUP;
  else if (p->state == PROC_ZOMBIE)
    ready = VFS_POLLIN | VFS_POLLRDNORM;
  rt_unlock(&tt->lock);
  return ready & (events | VFS_POLLERR | VFS_POLLHUP);
}

static void pidfd_release(struct file *f) {
  epoll_file_released(f);
  kfree(f->private);
  f->private = NULL;
}

static const struct file_ops pidfd_ops = {
    .release = pidfd_release,
    .poll = pidfd_poll,
    .epoll_release_hook = true,
    .stream = true,
};

int moat_pidfd_open(int pid, unsigned flags) {
  struct task_table *tt = g_task_table;
  if (flags & ~(unsigned)PIDFD_NONBLOCK)
    return -LINUX_EINVAL;
  if (pid <= 0)
    return -LINUX_EINVAL;
  struct pidfd *d = kzalloc(sizeof(*d));
  if (!d)
    return -LINUX_ENOMEM;
  int err = -LINUX_ESRCH;
  rt_lock(&tt->lock);
  for (uint32_t i = 0; i < tt->max_tasks; i++) {
    struct proc *p = tt->procs[i];
    if (p && p->pid == pid &&
        (p->state == PROC_RUNNING || p->state == PROC_ZOMBIE)) {
      d->pid = pid;
      d->proc = p;
      d->start_ns = p->start_ns;
      err = 0;
      break;
    }
  }
  if (err) /* a thread's id that is not a process's: ENOENT, as Linux */
    for (uint32_t i = 0; i < tt->max_tasks; i++)
      if (tt->tasks[i] && tt->tasks[i]->tid == pid)
        err = -LINUX_ENOENT;
  rt_unlock(&tt->lock);
  if (err) {
    kfree(d);
    return err;
  }
  struct file *f;
  int rc = anon_file_create(&pidfd_ops, d, "[pidfd]",
                            LINUX_O_RDWR | (flags & PIDFD_NONBLOCK), &f);
  if (rc < 0) {
    kfree(d);
    return rc;
  }
  rc = anon_file_install(f, true); /* always close-on-exec */
  file_put(f);
  return rc;
}

/* The pidfd at fd (a reference the caller puts), or NULL with -EBADF. */
static struct file *pidfd_lookup(int fd) {
  struct fd_table *t = proc_current_fdt();
  struct file *f = t ? fdt_lookup(t, fd) : NULL;
  if (f && f->ops != &pidfd_ops) {
    file_put(f);
    f = NULL;
  }
  return f;
}

int moat_pidfd_pid(int fd, bool *nonblock) {
  struct task_table *tt = g_task_table;
  struct file *f = pidfd_lookup(fd);
  if (!f)
    return -LINUX_EBADF;
  struct pidfd *d = f->private;
  if (nonblock)
    *nonblock = (f->flags & LINUX_O_NONBLOCK) != 0;
  rt_lock(&tt->lock);
  int pid = pidfd_proc_locked(d) ? d->pid : -LINUX_ECHILD;
  rt_unlock(&tt->lock);
  file_put(f);
  return pid;
}

#define PIDFD_SIGNAL_THREAD 1u
#define PIDFD_SIGNAL_THREAD_GROUP 2u
#define PIDFD_SIGNAL_PROCESS_GROUP 4u

int moat_pidfd_send_signal(int fd, int sig, const struct linux_siginfo *info,
                           unsigned flags) {
  struct task_table *tt = g_task_table;
  /* Linux 6.9's scopes: at most one of them. THREAD names the pidfd's
   * own thread (a process's pidfd: its first thread, whose tid is its
   * pid), PROCESS_GROUP the process group it is in. */
  if (flags & ~(PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP |
                PIDFD_SIGNAL_PROCESS_GROUP))
    return -LINUX_EINVAL;
  if (flags & (flags - 1))
    return -LINUX_EINVAL;
  struct fd_table *t = proc_current_fdt();
  struct file *f = t ? fdt_lookup(t, fd) : NULL;
  if (!f)
    return -LINUX_EBADF;
  struct pidfd dir, *d = f->private;
  if (f->ops != &pidfd_ops) {
    /* A /proc/<pid> directory names its process, as Linux's
     * tgid_pidfd_to_pid. */
    if (procfs_pid_dir(f, &dir.pid, &dir.start_ns) < 0) {
      file_put(f);
      return -LINUX_EBADF;
    }
    dir.proc = NULL;
    rt_lock(&tt->lock);
    for (uint32_t i = 0; i < tt->max_tasks && !dir.proc; i++) {
      struct proc *p = tt->procs[i];
      if (p && p->pid == dir.pid && p->start_ns == dir.start_ns)
        dir.proc = p;
    }
    rt_unlock(&tt->lock);
    d = &dir;
  }
  struct proc *self = proc_current();
  struct linux_siginfo k;
  int err = 0;
  if (info) {
    k = *info;
    if (k.si_signo != sig) {
      err = -LINUX_EINVAL;
      goto out;
    }
    /* Only to itself (not to its group) may a process send any
     * si_code. */
    if ((d->proc != self || d->pid != self->pid ||
         (flags & PIDFD_SIGNAL_PROCESS_GROUP)) &&
        (k.si_code >= 0 || k.si_code == LINUX_SI_TKILL)) {
      err = -LINUX_EPERM;
      goto out;
    }
  } else {
    memset(&k, 0, sizeof(k));
    k.si_signo = sig;
    k.si_code = (flags & PIDFD_SIGNAL_THREAD) ? LINUX_SI_TKILL : LINUX_SI_USER;
    k.u.kill.pid = self->pid;
    k.u.kill.uid = self->cred.ruid;
  }
  rt_lock(&tt->lock);
  struct proc *p = pidfd_proc_locked(d);
  int pid = p ? d->pid : 0, pgid = p ? p->pgid : 0;
  rt_unlock(&tt->lock);
  if (!p) {
    err = -LINUX_ESRCH;
    goto out;
  }
  /* The same delivery as kill, tgkill or kill(-pgid) (permissions,
   * zombies), by id: the table lock is taken again there, and a process
   * that went meanwhile is ESRCH, as on Linux. */
  if (flags & PIDFD_SIGNAL_THREAD)
    err = moat_tgkill_info(pid, pid, &k);
  else if (flags & PIDFD_SIGNAL_PROCESS_GROUP)
    err = moat_sigqueue(-pgid, 0, &k);
  else
    err = moat_sigqueue(pid, 0, &k);
out:
  file_put(f);
  return err;
}

/* Linux's ptrace_may_access(PTRACE_MODE_ATTACH_REALCREDS): all of the
 * target's user and group ids are the caller's real ones, or root. */
static bool may_take_fd(const struct task_cred *me, const struct task_cred *t) {
  if (moat_capable(LINUX_CAP_SYS_PTRACE))
    return true;
  return me->ruid == t->ruid && me->ruid == t->euid && me->ruid == t->suid &&
         me->rgid == t->rgid && me->rgid == t->egid && me->rgid == t->sgid;
}

int moat_pidfd_getfd(int fd, int targetfd, unsigned flags) {
  struct task_table *tt = g_task_table;
  if (flags)
    return -LINUX_EINVAL;
  struct file *f = pidfd_lookup(fd);
  if (!f)
    return -LINUX_EBADF;
  struct pidfd *d = f->private;
  struct proc *self = proc_current();
  struct file *got = NULL;
  int err = 0;
  rt_lock(&tt->lock);
  struct proc *p = pidfd_proc_locked(d);
  if (!p || p->state != PROC_RUNNING || p->exiting) {
    err = -LINUX_ESRCH; /* an ending process's files are gone: Linux too */
  } else if (p != self && !may_take_fd(&self->cred, &p->cred)) {
    err = -LINUX_EPERM;
  } else {
    rt_lock(&p->lock);
    struct fd_table *t = p->fdt; /* NULL once it is ending */
    got = t && targetfd >= 0 ? fdt_lookup(t, targetfd) : NULL;
    rt_unlock(&p->lock);
    if (!got)
      err = -LINUX_EBADF;
  }
  rt_unlock(&tt->lock);
  file_put(f);
  if (err)
    return err;
  err = anon_file_install(got, true); /* the same description, cloexec */
  file_put(got);
  return err;
}

/* ---- kcmp ---- */

/* The address of process p's object of kind type (descriptor idx for
 * MOAT_KCMP_FILE, whose reference goes to *hold for the caller to drop
 * without locks). The addresses are the arena's, the same in every
 * process of the sandbox, so their order is stable; the guest can read
 * the arena anyway, so Linux's obfuscation would hide nothing. -ESRCH
 * when pid went meanwhile, -EBADF for a descriptor not open. */
static int kcmp_object(struct proc *p, int pid, int type, int idx,
                       uintptr_t *out, struct file **hold) {
  int err = 0;
  rt_lock(&p->lock);
  if (p->pid != pid) {
    err = -LINUX_ESRCH;
  } else if (type == MOAT_KCMP_FILE) {
    *hold = p->fdt && idx >= 0 ? fdt_lookup(p->fdt, idx) : NULL;
    *out = (uintptr_t)*hold;
    if (!*hold)
      err = -LINUX_EBADF;
  } else if (type == MOAT_KCMP_VM) {
    *out = p->mm_id;
  } else if (type == MOAT_KCMP_FILES) {
    *out = (uintptr_t)p->fdt;
  } else if (type == MOAT_KCMP_FS) {
    *out = (uintptr_t)p->fs;
  } else if (type == MOAT_KCMP_SIGHAND) {
    *out = (uintptr_t)p; /* the actions live in the process */
  } else if (type == MOAT_KCMP_SYSVSEM) {
    *out = p->sem_undo_list ? (uintptr_t)p : 0; /* threads share it */
  } else {
    *out = 0; /* IO: no I/O contexts (Linux makes one on demand) */
  }
  rt_unlock(&p->lock);
  return err;
}

/* The process of thread id tid (a process id is its first thread's),
 * zombies included; *pid its process id. */
static struct proc *kcmp_proc(int tid, int *pid) {
  struct task_table *tt = g_task_table;
  struct proc *p = task_find_proc_any(tid);
  if (!p && tt && tid > 0) {
    rt_lock(&tt->lock);
    for (uint32_t i = 0; i < tt->max_tasks && !p; i++)
      if (tt->tasks[i] && tt->tasks[i]->tid == tid)
        p = tt->tasks[i]->proc;
    if (p)
      *pid = p->pid;
    rt_unlock(&tt->lock);
    return p;
  }
  *pid = tid;
  return p;
}

int moat_kcmp(int tid1, int tid2, int type, int idx1, int idx2,
              const struct moat_kcmp_slot *slot) {
  struct proc *self = proc_current();
  int pid1, pid2;
  struct proc *p1 = kcmp_proc(tid1, &pid1), *p2 = kcmp_proc(tid2, &pid2);
  if (!p1 || !p2)
    return -LINUX_ESRCH;
  /* PTRACE_MODE_READ_REALCREDS on both. */
  if ((p1 != self && !may_take_fd(&self->cred, &p1->cred)) ||
      (p2 != self && !may_take_fd(&self->cred, &p2->cred)))
    return -LINUX_EPERM;
  if (type < 0 || type >= MOAT_KCMP_TYPES)
    return -LINUX_EINVAL;
  uintptr_t a = 0, b = 0;
  struct file *h1 = NULL, *h2 = NULL;
  int err;
  if (type == MOAT_KCMP_EPOLL_TFD) {
    err = slot ? kcmp_object(p1, pid1, MOAT_KCMP_FILE, idx1, &a, &h1)
               : -LINUX_EFAULT;
    if (!err)
      err = kcmp_object(p2, pid2, MOAT_KCMP_FILE, (int)slot->efd, &b, &h2);
    if (!err) {
      long e = epoll_target_of(h2, (int)slot->tfd, slot->toff, &b);
      err = e < 0 ? (int)e : !b ? -LINUX_ENOENT : 0;
    }
  } else {
    err = kcmp_object(p1, pid1, type, idx1, &a, &h1);
    if (!err)
      err = kcmp_object(p2, pid2, type, idx2, &b, &h2);
  }
  file_put(h1);
  file_put(h2);
  if (err)
    return err;
  return a == b ? 0 : a < b ? 1 : 2;
}
