/* Pseudo-terminals: /dev/ptmx makes a pair, /dev/pts/N (the devpts file
 * system mounted there) is its slave; the controlling terminal of a
 * session, its foreground process group and job control (SIGTTIN,
 * SIGTTOU), hangup when the master goes. The bytes go through the line
 * discipline of core/pty_ldisc.c. Sleepers wait as pipes' do (core/poll.h)
 * on the pty's key. Everything lives in the arena: a pair made in one
 * guest process is used by its children, as on Linux. */
#include "moat/moat.h"
#include "pty.h"

#include "poll.h"
#include "task.h"
#include "vfs_impl.h"

#include "moat/platform.h"

#define PTY_MAX 256
#define DEVPTS_MAGIC 0x1cd1ull
#define PTS_MAJOR 136

struct pty_table {
  struct rt_lock lock;
  struct pty *slot[PTY_MAX];
};

static struct pty_table *g_ptys; /* made by devpts_create, before any fork */
static struct superblock *g_devpts_sb;
static struct inode *g_devpts_ptmx;

extern const struct file_ops pty_slave_fops;

static void changed(struct pty *p) {
  poll_notify_obj(p);
}

void pty_changed(struct pty *p) {
  changed(p);
}

static void pty_get(struct pty *p) {
  __atomic_add_fetch(&p->refs, 1, __ATOMIC_SEQ_CST);
}

static void pty_put(struct pty *p) {
  if (__atomic_sub_fetch(&p->refs, 1, __ATOMIC_SEQ_CST))
    return;
  rt_lock(&g_ptys->lock);
  if (g_ptys->slot[p->index] == p)
    g_ptys->slot[p->index] = NULL;
  rt_unlock(&g_ptys->lock);
  kfree(p->out);
  kfree(p);
}

/* ---- signals and job control ---- */

static void signal_pgrp_locked(int pgid, int sig) {
  struct task_table *tt = g_task_table;
  struct linux_siginfo info;
  memset(&info, 0, sizeof(info));
  info.si_signo = sig;
  info.si_code = LINUX_SI_KERNEL;
  for (uint32_t i = 0; i < tt->max_tasks; i++) {
    struct proc *q = tt->procs[i];
    if (q && q->state == PROC_RUNNING && q->pgid == pgid)
      signal_send(q, NULL, &info);
  }
}

static void signal_pgrp(int pgid, int sig) {
  if (pgid <= 0)
    return;
  rt_lock(&g_task_table->lock);
  signal_pgrp_locked(pgid, sig);
  rt_unlock(&g_task_table->lock);
}

void pty_signal_pgrp(int pgid, int sig) {
  signal_pgrp(pgid, sig);
}

static struct proc *find_locked(int pid) {
  struct task_table *tt = g_task_table;
  for (uint32_t i = 0; i < tt->max_tasks; i++) {
    struct proc *q = tt->procs[i];
    if (q && q->pid == pid && q->state == PROC_RUNNING)
      return q;
  }
  return NULL;
}

/* An orphaned process group: no member has a parent in another group of
 * its session (pid 1's children do not count, as children of init). */
static bool pgrp_orphaned_locked(int pgid) {
  struct task_table *tt = g_task_table;
  for (uint32_t i = 0; i < tt->max_tasks; i++) {
    struct proc *q = tt->procs[i];
    if (!q || q->state != PROC_RUNNING || q->pgid != pgid || q->ppid <= 1)
      continue;
    struct proc *parent = find_locked(q->ppid);
    if (parent && parent->pgid != pgid && parent->sid == q->sid)
      return false;
  }
  return true;
}

/* Linux's tty_check_change: a process of a background group that uses
 * its controlling terminal gets sig (SIGTTIN, SIGTTOU) sent to its group
 * and the call restarts after it; -EIO when the group is orphaned, or
 * for SIGTTIN when the caller ignores or blocks it (SIGTTOU then lets
 * the call go on). */
static int job_control(struct pty *p, int sig) {
  struct task *t = task_current();
  if (!t)
    return 0;
  struct proc *me = t->proc;
  struct task_table *tt = g_task_table;
  int rc = 0;
  rt_lock(&tt->lock);
  if (me->ctty != p)
    goto out;
  rt_lock(&p->lock);
  int fg = p->pgrp;
  rt_unlock(&p->lock);
  if (!fg || fg == me->pgid)
    goto out;
  rt_lock(&me->lock);
  bool ignored = (t->sigblocked & LINUX_SIGBIT(sig)) ||
                 me->sigaction[sig - 1].handler == LINUX_SIG_IGN;
  rt_unlock(&me->lock);
  if (ignored) {
    rc = sig == LINUX_SIGTTIN ? -LINUX_EIO : 0;
  } else if (pgrp_orphaned_locked(me->pgid)) {
    rc = -LINUX_EIO;
  } else {
    signal_pgrp_locked(me->pgid, sig);
    rc = -LINUX_ERESTARTSYS;
  }
out:
  rt_unlock(&tt->lock);
  return rc;
}

/* The pty's session loses it: every process of it forgets its
 * controlling terminal. tt->lock held. */
static void forget_ctty_locked(struct pty *p) {
  struct task_table *tt = g_task_table;
  for (uint32_t i = 0; i < tt->max_tasks; i++) {
    struct proc *q = tt->procs[i];
    if (q && q->ctty == p)
      q->ctty = NULL;
  }
  rt_lock(&p->lock);
  p->sid = 0;
  p->pgrp = 0;
  rt_unlock(&p->lock);
}

/* Linux's disassociate_ctty: the session leader leaves its terminal (it
 * exits, or TIOCNOTTY): the foreground group gets SIGHUP (and SIGCONT
 * unless the leader exits). tt->lock held. */
static void disassociate_locked(struct pty *p, bool on_exit) {
  rt_lock(&p->lock);
  int fg = p->pgrp;
  rt_unlock(&p->lock);
  if (fg) {
    signal_pgrp_locked(fg, LINUX_SIGHUP);
    if (!on_exit)
      signal_pgrp_locked(fg, LINUX_SIGCONT);
  }
  forget_ctty_locked(p);
}

void pty_proc_exit(struct proc *p) {
  struct task_table *tt = g_task_table;
  rt_lock(&tt->lock);
  struct pty *c = p->ctty;
  if (c && p->sid == p->pid)
    disassociate_locked(c, true);
  p->ctty = NULL;
  rt_unlock(&tt->lock);
}

/* ---- the master ---- */

static long master_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  struct pty *p = f->private;
  long rc;
  if (len == 0)
    return 0;
  rt_lock(&p->lock);
  for (;;) {
    if (p->packet && p->pktstatus) {
      /* an event: its status byte alone */
      uint8_t st = p->pktstatus;
      if (rt_ucopy(buf, &st, 1)) {
        rc = -LINUX_EFAULT;
        break;
      }
      p->pktstatus = 0;
      rc = 1;
      break;
    }
    if (p->out_count && p->packet) {
      /* data after a TIOCPKT_DATA byte */
      uint8_t zero = LINUX_TIOCPKT_DATA;
      if (rt_ucopy(buf, &zero, 1)) {
        rc = -LINUX_EFAULT;
        break;
      }
      rc = 1;
      if (len > 1) {
        long n = rt_ring_take_user((char *)buf + 1, p->out, PTY_OUT_SIZE,
                                   &p->out_head, &p->out_count, len - 1);
        rc = n < 0 ? n : n + 1;
      }
      changed(p);
      break;
    }
    if (p->out_count) {
      rc = rt_ring_take_user(buf, p->out, PTY_OUT_SIZE, &p->out_head,
                             &p->out_count, len);
      if (rc > 0)
        changed(p);
      break;
    }
    if (p->other_closed) {
      rc = -LINUX_EIO;
      break;
    }
    if (f->flags & LINUX_O_NONBLOCK) {
      rc = -LINUX_EAGAIN;
      break;
    }
    rc = poll_sleep_on(p, &p->lock);
    if (rc < 0)
      break;
  }
  rt_unlock(&p->lock);
  return rc;
}

/* Bytes to the slave's input through the line discipline. */
static long master_write(struct file *f, const void *buf, size_t len,
                         uint64_t *pos) {
  struct pty *p = f->private;
  size_t done = 0;
  long rc = 0;
  while (done < len && rc == 0) {
    uint8_t chunk[256];
    size_t n = MIN(len - done, sizeof(chunk));
    size_t left = rt_ucopy(chunk, (const char *)buf + done, n);
    if (left == n)
      return done ? (long)done : -LINUX_EFAULT;
    n -= left;
    size_t i = 0;
    int sig = 0, pgrp = 0;
    rt_lock(&p->lock);
    while (i < n) {
      if (ldisc_input_full(p)) {
        if (f->flags & LINUX_O_NONBLOCK) {
          rc = -LINUX_EAGAIN;
          break;
        }
        changed(p);
        rc = poll_sleep_on(p, &p->lock);
        if (rc < 0)
          break;
        continue;
      }
      ldisc_receive(p, chunk[i++], &sig);
      if (sig) {
        pgrp = p->pgrp;
        break;
      }
    }
    changed(p);
    rt_unlock(&p->lock);
    done += i;
    if (sig)
      signal_pgrp(pgrp, sig);
    if (left && i == n && rc == 0)
      rc = -LINUX_EFAULT;
  }
  if (done)
    return (long)done;
  return rc;
}

static unsigned master_poll(struct file *f, unsigned events) {
  struct pty *p = f->private;
  unsigned ready = 0;
  rt_lock(&p->lock);
  if (p->out_count)
    ready |= VFS_POLLIN | VFS_POLLRDNORM;
  if (p->packet && p->pktstatus)
    ready |= VFS_POLLIN | VFS_POLLRDNORM | VFS_POLLPRI;
  if (p->other_closed)
    ready |= VFS_POLLHUP;
  if (!ldisc_input_full(p))
    ready |= VFS_POLLOUT | VFS_POLLWRNORM;
  rt_unlock(&p->lock);
  return ready & (events | VFS_POLLHUP | VFS_POLLERR);
}

/* The master goes: the slave hangs up (its reads see end of file, its
 * writes EIO), the session leader gets SIGHUP and SIGCONT, the session
 * loses its terminal and /dev/pts/N disappears. */
void pty_hangup(struct pty *p) {
  rt_lock(&p->lock);
  p->master_open = false;
  p->stopped = false;
  ldisc_flush_input(p);
  changed(p);
  rt_unlock(&p->lock);
  struct task_table *tt = g_task_table;
  rt_lock(&tt->lock);
  rt_lock(&p->lock);
  int sid = p->sid;
  rt_unlock(&p->lock);
  struct proc *leader = sid ? find_locked(sid) : NULL;
  if (leader && leader->sid == sid) {
    struct linux_siginfo info;
    memset(&info, 0, sizeof(info));
    info.si_code = LINUX_SI_KERNEL;
    info.si_signo = LINUX_SIGHUP;
    signal_send(leader, NULL, &info);
    info.si_signo = LINUX_SIGCONT;
    signal_send(leader, NULL, &info);
  }
  forget_ctty_locked(p);
  rt_unlock(&tt->lock);
}

static void master_release(struct file *f) {
  struct pty *p = f->private;
  epoll_file_released(f);
  if (!p)
    return;
  pty_hangup(p);
  rt_lock(&g_ptys->lock);
  struct inode *slave = p->slave;
  p->slave = NULL;
  rt_unlock(&g_ptys->lock);
  vfs_inode_put(slave);
  pty_put(p);
}

static const struct inode_ops pts_node_iops;

int pty_new(const struct linux_termios *tio, struct pty **out) {
  if (!g_ptys)
    return -LINUX_ENODEV;
  struct pty *p = kzalloc(sizeof(*p));
  if (!p)
    return -LINUX_ENOMEM;
  p->out = kmalloc(PTY_OUT_SIZE);
  if (!p->out) {
    kfree(p);
    return -LINUX_ENOMEM;
  }
  p->refs = 2; /* the master and the slave inode */
  p->locked = true;
  p->master_open = true;
  if (tio)
    p->tio = *tio;
  else
    ldisc_default_termios(&p->tio);
  rt_lock(&g_ptys->lock);
  int index = -1;
  for (int i = 0; i < PTY_MAX && index < 0; i++)
    if (!g_ptys->slot[i])
      index = i;
  if (index >= 0) {
    p->index = index;
    g_ptys->slot[index] = p;
  }
  rt_unlock(&g_ptys->lock);
  if (index < 0) {
    kfree(p->out);
    kfree(p);
    return -LINUX_ENOSPC;
  }
  struct inode *n = vfs_inode_alloc(g_devpts_sb, LINUX_S_IFCHR | 0620,
                                    &pts_node_iops, &pty_slave_fops);
  if (!n) {
    p->refs = 1;
    pty_put(p);
    return -LINUX_ENOMEM;
  }
  n->ino = (uint64_t)index + 3;
  n->rdev = VFS_MKDEV(PTS_MAJOR, index);
  vfs_cred(&n->uid, &n->gid);
  n->private = p;
  rt_lock(&g_ptys->lock);
  p->slave = n;
  rt_unlock(&g_ptys->lock);
  *out = p;
  return 0;
}

/* open of /dev/ptmx: a new pair, its slave locked until unlockpt. */
static int ptmx_open(struct inode *inode, struct file *f) {
  (void)inode;
  struct pty *p;
  int rc = pty_new(NULL, &p);
  if (rc == 0)
    f->private = p;
  return rc;
}

/* ---- the slave ---- */

static bool hung_up(struct pty *p) {
  return !__atomic_load_n(&p->master_open, __ATOMIC_SEQ_CST);
}

/* Attach f to p as a slave file: -EIO when the master is gone or the
 * slave is still locked. */
static int slave_attach(struct pty *p, struct file *f) {
  int rc = 0;
  rt_lock(&p->lock);
  if (!p->master_open || p->locked) {
    rc = -LINUX_EIO;
  } else {
    p->slave_opens++;
    p->other_closed = false;
    pty_get(p);
    f->private = p;
    changed(p);
  }
  rt_unlock(&p->lock);
  return rc;
}

static int slave_open(struct inode *inode, struct file *f) {
  struct pty *p = inode->private;
  if (!p)
    return -LINUX_EIO;
  return slave_attach(p, f);
}

static void slave_release(struct file *f) {
  struct pty *p = f->private;
  epoll_file_released(f);
  if (!p)
    return;
  rt_lock(&p->lock);
  if (--p->slave_opens == 0)
    p->other_closed = true;
  changed(p);
  rt_unlock(&p->lock);
  pty_put(p);
}

/* Non-canonical reads follow VMIN and VTIME (tenths of a second): MIN 0
 * TIME 0 returns what is there; MIN 0 waits up to TIME for a byte; MIN
 * > 0 waits for MIN bytes, TIME > 0 then being the gap allowed between
 * bytes once the first came. */
static long slave_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  struct pty *p = f->private;
  if (hung_up(p))
    return 0;
  int rc = job_control(p, LINUX_SIGTTIN);
  if (rc)
    return rc;
  if (len == 0)
    return 0;
  size_t done = 0;
  long err = 0;
  rt_lock(&p->lock);
  bool canon = p->tio.c_lflag & LINUX_ICANON;
  uint32_t vmin = p->tio.c_cc[LINUX_VMIN];
  int64_t vtime = (int64_t)p->tio.c_cc[LINUX_VTIME] * 100000000ll;
  int64_t deadline = 0; /* 0: none */
  size_t minimum = 1;
  if (!canon) {
    if (vmin)
      minimum = vmin;
    else if (vtime)
      deadline = rt_now_ns() + vtime;
  }
  for (;;) {
    if (!p->master_open)
      break; /* hung up meanwhile: what was read, or end of file */
    uint32_t avail = ldisc_readable(p);
    if (avail) {
      size_t take = MIN((size_t)avail, len - done), copy = take;
      bool eof = false;
      if (canon) {
        /* one line at most; an EOF byte ends it and is not returned */
        for (size_t k = 0; k < take; k++) {
          uint32_t i = p->in_tail + (uint32_t)k;
          if (pty_bit(p->eol, i)) {
            take = k + 1;
            eof = pty_bit(p->eof, i);
            copy = eof ? k : take;
            break;
          }
        }
      }
      size_t copied = 0;
      while (copied < copy) {
        uint32_t at = (p->in_tail + (uint32_t)copied) % PTY_IN_SIZE;
        size_t run = MIN(copy - copied, (size_t)(PTY_IN_SIZE - at));
        size_t left = rt_ucopy((char *)buf + done + copied, p->in + at, run);
        copied += run - left;
        if (left)
          break;
      }
      if (copied < copy) {
        take = copied; /* the rest stays for the next read */
        err = -LINUX_EFAULT;
      }
      p->in_tail += (uint32_t)take;
      done += copied;
      changed(p);
      if (canon || err)
        break;
      if (done >= minimum || done == len)
        break;
      if (vmin && vtime)
        deadline = rt_now_ns() + vtime; /* the gap to the next byte */
      continue;
    }
    if (!canon && !vmin && !vtime)
      break;
    if (!canon && deadline && rt_now_ns() >= deadline)
      break;
    if (done && canon)
      break;
    if (f->flags & LINUX_O_NONBLOCK) {
      if (!done)
        err = -LINUX_EAGAIN;
      break;
    }
    int w = poll_sleep_on_until(p, &p->lock, deadline);
    if (w < 0) {
      if (!done)
        err = w;
      break;
    }
  }
  rt_unlock(&p->lock);
  if (done)
    return (long)done;
  return err;
}

static long slave_write(struct file *f, const void *buf, size_t len,
                        uint64_t *pos) {
  struct pty *p = f->private;
  if (hung_up(p))
    return -LINUX_EIO;
  rt_lock(&p->lock);
  bool tostop = p->tio.c_lflag & LINUX_TOSTOP;
  rt_unlock(&p->lock);
  if (tostop) {
    int rc = job_control(p, LINUX_SIGTTOU);
    if (rc)
      return rc;
  }
  size_t done = 0;
  long rc = 0;
  while (done < len && rc == 0) {
    uint8_t chunk[256];
    size_t n = MIN(len - done, sizeof(chunk));
    size_t left = rt_ucopy(chunk, (const char *)buf + done, n);
    if (left == n)
      return done ? (long)done : -LINUX_EFAULT;
    n -= left;
    size_t i = 0;
    rt_lock(&p->lock);
    while (i < n) {
      if (!p->master_open) {
        rc = -LINUX_EIO;
        break;
      }
      if (!p->stopped && ldisc_output(p, chunk[i])) {
        i++;
        continue;
      }
      if (p->console && !p->stopped) {
        /* the host's terminal takes what is there, then room is free */
        rt_unlock(&p->lock);
        pty_console_flush(p);
        rt_lock(&p->lock);
        continue;
      }
      if (f->flags & LINUX_O_NONBLOCK) {
        rc = -LINUX_EAGAIN;
        break;
      }
      changed(p);
      rc = poll_sleep_on(p, &p->lock);
      if (rc < 0)
        break;
    }
    changed(p);
    rt_unlock(&p->lock);
    done += i;
    if (left && i == n && rc == 0)
      rc = -LINUX_EFAULT;
  }
  if (p->console) /* the host's terminal shows it before write returns */
    pty_console_flush(p);
  if (done)
    return (long)done;
  return rc;
}

static unsigned slave_poll(struct file *f, unsigned events) {
  struct pty *p = f->private;
  if (hung_up(p))
    return (VFS_POLLIN | VFS_POLLOUT | VFS_POLLERR | VFS_POLLHUP |
            VFS_POLLRDNORM | VFS_POLLWRNORM) &
           (events | VFS_POLLHUP | VFS_POLLERR);
  unsigned ready = 0;
  rt_lock(&p->lock);
  uint32_t avail = ldisc_readable(p);
  /* raw with TIME 0: readable once MIN bytes are there, as n_tty_poll */
  if (!(p->tio.c_lflag & LINUX_ICANON) && !p->tio.c_cc[LINUX_VTIME] &&
      p->tio.c_cc[LINUX_VMIN] > 1 && avail < p->tio.c_cc[LINUX_VMIN])
    avail = 0;
  if (avail)
    ready |= VFS_POLLIN | VFS_POLLRDNORM;
  if (!p->stopped && p->out_count + 2 <= PTY_OUT_SIZE)
    ready |= VFS_POLLOUT | VFS_POLLWRNORM;
  rt_unlock(&p->lock);
  return ready & (events | VFS_POLLHUP | VFS_POLLERR);
}

/* ---- controlling terminal ---- */

static void set_ctty_locked(struct proc *me, struct pty *p) {
  rt_lock(&p->lock);
  p->sid = me->sid;
  p->pgrp = me->pgid;
  rt_unlock(&p->lock);
  me->ctty = p;
}

void pty_open_ctty(struct file *f) {
  if (f->ops != &pty_slave_fops || !f->private || !task_current())
    return;
  struct pty *p = f->private;
  struct proc *me = proc_current();
  rt_lock(&g_task_table->lock);
  if (me->sid == me->pid && !me->ctty && !p->sid && !hung_up(p))
    set_ctty_locked(me, p);
  rt_unlock(&g_task_table->lock);
}

int pty_open_dev_tty(struct file *f) {
  if (!task_current())
    return -LINUX_ENOENT;
  struct proc *me = proc_current();
  rt_lock(&g_task_table->lock);
  struct pty *p = me->ctty;
  if (p)
    pty_get(p);
  rt_unlock(&g_task_table->lock);
  if (!p)
    return -LINUX_ENOENT;
  int rc = slave_attach(p, f);
  pty_put(p);
  if (rc == 0)
    f->ops = &pty_slave_fops;
  return rc;
}

/* TIOCSCTTY: a session leader without a terminal takes this one, unless
 * another session has it (root may steal it with arg 1). */
static int tiocsctty(struct pty *p, long arg) {
  struct proc *me = proc_current();
  struct task_table *tt = g_task_table;
  int rc = 0;
  rt_lock(&tt->lock);
  if (me->ctty == p && me->sid == me->pid)
    goto out;
  if (me->sid != me->pid || me->ctty) {
    rc = -LINUX_EPERM;
    goto out;
  }
  rt_lock(&p->lock);
  int owner = p->sid;
  rt_unlock(&p->lock);
  if (owner) {
    if (arg != 1 || !moat_capable(LINUX_CAP_SYS_ADMIN)) {
      rc = -LINUX_EPERM;
      goto out;
    }
    forget_ctty_locked(p);
  }
  set_ctty_locked(me, p);
out:
  rt_unlock(&tt->lock);
  return rc;
}

static int tiocnotty(struct pty *p) {
  struct proc *me = proc_current();
  struct task_table *tt = g_task_table;
  int rc = 0;
  rt_lock(&tt->lock);
  if (me->ctty != p)
    rc = -LINUX_ENOTTY;
  else if (me->sid == me->pid)
    disassociate_locked(p, false);
  else
    me->ctty = NULL;
  rt_unlock(&tt->lock);
  return rc;
}

static int tiocspgrp(struct pty *p, int pgrp) {
  int rc = job_control(p, LINUX_SIGTTOU);
  if (rc == -LINUX_EIO)
    return -LINUX_ENOTTY;
  if (rc)
    return rc;
  struct proc *me = proc_current();
  struct task_table *tt = g_task_table;
  rt_lock(&tt->lock);
  rt_lock(&p->lock);
  int sid = p->sid;
  rt_unlock(&p->lock);
  if (me->ctty != p || sid != me->sid) {
    rc = -LINUX_ENOTTY;
  } else if (pgrp < 0) {
    rc = -LINUX_EINVAL;
  } else {
    /* as Linux's session_of_pgrp: a group of that id, else a process */
    struct proc *q = NULL;
    for (uint32_t i = 0; i < tt->max_tasks && !q; i++) {
      struct proc *c = tt->procs[i];
      if (c && c->state == PROC_RUNNING && c->pgid == pgrp)
        q = c;
    }
    if (!q)
      q = find_locked(pgrp);
    if (!q) {
      rc = -LINUX_ESRCH;
    } else if (q->sid != me->sid) {
      rc = -LINUX_EPERM;
    } else {
      rt_lock(&p->lock);
      p->pgrp = pgrp;
      rt_unlock(&p->lock);
    }
  }
  rt_unlock(&tt->lock);
  return rc;
}

/* Is p the caller's controlling terminal? */
static bool is_my_ctty(struct pty *p) {
  rt_lock(&g_task_table->lock);
  bool mine = task_current() && proc_current()->ctty == p;
  rt_unlock(&g_task_table->lock);
  return mine;
}

/* TIOCSTI: c as if typed on the terminal (the slave's input, through
 * the line discipline) or, on a master, as if the slave had written it.
 * Only on one's controlling terminal, or with CAP_SYS_ADMIN, as Linux
 * (whose dev.tty.legacy_tiocsti is taken as on). */
static int tiocsti(struct pty *p, bool master, uint8_t c) {
  if ((master || !is_my_ctty(p)) && !moat_capable(LINUX_CAP_SYS_ADMIN))
    return -LINUX_EPERM;
  int sig = 0, pgrp = 0;
  rt_lock(&p->lock);
  if (master) {
    if (p->out_count < PTY_OUT_SIZE) {
      p->out[(p->out_head + p->out_count) % PTY_OUT_SIZE] = c;
      p->out_count++;
    }
  } else if (!ldisc_input_full(p)) {
    ldisc_receive(p, c, &sig);
    pgrp = p->pgrp;
  }
  changed(p);
  bool console = p->console;
  rt_unlock(&p->lock);
  if (sig)
    signal_pgrp(pgrp, sig);
  if (console)
    pty_console_flush(p);
  return 0;
}

/* ---- ioctl, for both sides ---- */

/* TIOCGPTPEER: the slave opened with flags (others are ignored, as
 * Linux's dentry_open ignores them). */
static int open_peer(struct pty *p, unsigned flags) {
  rt_lock(&g_ptys->lock);
  struct inode *n = vfs_inode_get(p->slave);
  rt_unlock(&g_ptys->lock);
  if (!n)
    return -LINUX_EIO;
  struct file *f = NULL;
  int rc = file_open_inode(n, flags & (LINUX_O_ACCMODE | LINUX_O_NONBLOCK),
                           &pty_slave_fops, &f);
  vfs_inode_put(n);
  if (rc < 0)
    return rc;
  if (!(flags & LINUX_O_NOCTTY))
    pty_open_ctty(f);
  struct fd_table *t = proc_current_fdt();
  rc = t ? fdt_install(t, f, 0, flags & LINUX_O_CLOEXEC) : -LINUX_EBADF;
  file_put(f);
  return rc;
}

static int set_termios(struct pty *p, bool master, unsigned request,
                       const struct linux_termios *t) {
  if (!master) {
    int rc = job_control(p, LINUX_SIGTTOU);
    if (rc)
      return rc;
  }
  rt_lock(&p->lock);
  struct linux_termios old = p->tio;
  p->tio = *t;
  /* a pty is always 8 bits, no parity, receiving (Linux's
   * pty_set_termios) */
  p->tio.c_cflag &= ~(uint32_t)(LINUX_CSIZE | LINUX_PARENB);
  p->tio.c_cflag |= LINUX_CS8 | LINUX_CREAD;
  if (request == LINUX_TCSETSF) {
    ldisc_flush_input(p);
    if (!master)
      pty_pkt(p, LINUX_TIOCPKT_FLUSHREAD, 0);
  }
  ldisc_termios_changed(p, &old);
  if (!(p->tio.c_iflag & LINUX_IXON))
    pty_flow(p, false, !master);
  /* packet mode: whether ^S/^Q stop output now (Linux's pty_set_termios) */
  const struct linux_termios *n = &p->tio;
  if (!master && ((old.c_iflag ^ n->c_iflag) & LINUX_IXON ||
                  old.c_cc[LINUX_VSTART] != n->c_cc[LINUX_VSTART] ||
                  old.c_cc[LINUX_VSTOP] != n->c_cc[LINUX_VSTOP])) {
    bool dostop = (n->c_iflag & LINUX_IXON) && n->c_cc[LINUX_VSTART] == 021 &&
                  n->c_cc[LINUX_VSTOP] == 023;
    pty_pkt(p, dostop ? LINUX_TIOCPKT_DOSTOP : LINUX_TIOCPKT_NOSTOP,
            LINUX_TIOCPKT_DOSTOP | LINUX_TIOCPKT_NOSTOP);
  }
  changed(p);
  bool console = p->console;
  rt_unlock(&p->lock);
  if (console)
    pty_console_flush(p);
  return 0;
}

static int flush(struct pty *p, bool master, long how) {
  if (how < 0 || how > 2)
    return -LINUX_EINVAL;
  /* the slave's input is what the master writes, and the other way */
  bool in = how == 0 || how == 2, out = how == 1 || how == 2;
  if (master) {
    bool t = in;
    in = out;
    out = t;
  }
  rt_lock(&p->lock);
  if (in)
    ldisc_flush_input(p);
  if (out)
    p->out_head = p->out_count = 0;
  if (!master) /* packet mode: the slave's flushes are events */
    pty_pkt(p,
            (in ? LINUX_TIOCPKT_FLUSHREAD : 0) |
                (out ? LINUX_TIOCPKT_FLUSHWRITE : 0),
            0);
  changed(p);
  rt_unlock(&p->lock);
  return 0;
}

static int pty_ioctl(struct file *f, unsigned request, void *arg, bool master) {
  struct pty *p = f->private;
  int rc = 0;
  if (!master && hung_up(p))
    return request == LINUX_TIOCSPGRP ? -LINUX_ENOTTY : -LINUX_EIO;
  switch (request) {
  case LINUX_TCGETS:
    rt_lock(&p->lock);
    *(struct linux_termios *)arg = p->tio;
    rt_unlock(&p->lock);
    return 0;
  case LINUX_TCSETS:
  case LINUX_TCSETSW:
  case LINUX_TCSETSF:
    return set_termios(p, master, request, arg);
  case LINUX_TIOCGWINSZ:
    rt_lock(&p->lock);
    *(struct linux_winsize *)arg = p->ws;
    rt_unlock(&p->lock);
    return 0;
  case LINUX_TIOCSWINSZ: {
    const struct linux_winsize *w = arg;
    rt_lock(&p->lock);
    bool same = !memcmp(&p->ws, w, sizeof(*w));
    p->ws = *w;
    int fg = p->pgrp;
    rt_unlock(&p->lock);
    if (!same)
      signal_pgrp(fg, LINUX_SIGWINCH);
    return 0;
  }
  case LINUX_TIOCGPGRP:
    if (!master && !is_my_ctty(p))
      return -LINUX_ENOTTY;
    rt_lock(&p->lock);
    *(int32_t *)arg = p->pgrp;
    rt_unlock(&p->lock);
    return 0;
  case LINUX_TIOCSPGRP:
    return tiocspgrp(p, *(const int32_t *)arg);
  case LINUX_TIOCGSID:
    if (!master && !is_my_ctty(p))
      return -LINUX_ENOTTY;
    rt_lock(&p->lock);
    *(int32_t *)arg = p->sid;
    rc = p->sid ? 0 : -LINUX_ENOTTY;
    rt_unlock(&p->lock);
    return rc;
  case LINUX_TIOCSCTTY:
    return tiocsctty(p, (long)(intptr_t)arg);
  case LINUX_TIOCNOTTY:
    return master ? -LINUX_ENOTTY : tiocnotty(p);
  case LINUX_FIONREAD: {
    rt_lock(&p->lock);
    uint32_t n = master ? p->out_count : ldisc_readable(p);
    if (!master && (p->tio.c_lflag & LINUX_ICANON))
      for (uint32_t i = p->in_tail; i != p->canon_head; i++)
        if (pty_bit(p->eof, i))
          n--;
    rt_unlock(&p->lock);
    *(int32_t *)arg = (int32_t)n;
    return 0;
  }
  case LINUX_TIOCOUTQ:
    *(int32_t *)arg = 0;
    return 0;
  case LINUX_TCFLSH:
    if (!master && (rc = job_control(p, LINUX_SIGTTOU)))
      return rc;
    return flush(p, master, (long)(intptr_t)arg);
  case LINUX_TCSBRK:
  case LINUX_TCSBRKP:
    if (!master && (rc = job_control(p, LINUX_SIGTTOU)))
      return rc;
    return 0; /* the output is always drained */
  case LINUX_TCXONC: {
    long how = (long)(intptr_t)arg;
    if (!master && (rc = job_control(p, LINUX_SIGTTOU)))
      return rc;
    if (how < 0 || how > 3)
      return -LINUX_EINVAL;
    if (how <= 1) {
      rt_lock(&p->lock);
      pty_flow(p, how == 0, !master);
      changed(p);
      bool console = p->console;
      rt_unlock(&p->lock);
      if (console && how == 1)
        pty_console_flush(p);
    }
    return 0;
  }
  case LINUX_TIOCSTI:
    return tiocsti(p, master, *(const uint8_t *)arg);
  case LINUX_TIOCPKT:
    if (!master)
      return -LINUX_ENOTTY;
    rt_lock(&p->lock);
    if (*(const int32_t *)arg) {
      if (!p->packet)
        p->pktstatus = 0;
      p->packet = true;
    } else {
      p->packet = false;
    }
    changed(p);
    rt_unlock(&p->lock);
    return 0;
  case LINUX_TIOCGPKT:
    if (!master)
      return -LINUX_ENOTTY;
    rt_lock(&p->lock);
    *(int32_t *)arg = p->packet;
    rt_unlock(&p->lock);
    return 0;
  case LINUX_TIOCGETD:
    *(int32_t *)arg = 0; /* N_TTY */
    return 0;
  case LINUX_TIOCSETD:
    return *(const int32_t *)arg == 0 ? 0 : -LINUX_EINVAL;
  case LINUX_TIOCEXCL:
  case LINUX_TIOCNXCL:
    return 0;
  case LINUX_TIOCGEXCL:
    *(int32_t *)arg = 0;
    return 0;
  case LINUX_TIOCGPTN:
    if (!master)
      return -LINUX_ENOTTY;
    *(uint32_t *)arg = (uint32_t)p->index;
    return 0;
  case LINUX_TIOCSPTLCK:
    if (!master)
      return -LINUX_ENOTTY;
    rt_lock(&p->lock);
    p->locked = *(const int32_t *)arg != 0;
    rt_unlock(&p->lock);
    return 0;
  case LINUX_TIOCGPTLCK:
    if (!master)
      return -LINUX_ENOTTY;
    rt_lock(&p->lock);
    *(int32_t *)arg = p->locked;
    rt_unlock(&p->lock);
    return 0;
  case LINUX_TIOCGPTPEER:
    if (!master)
      return -LINUX_ENOTTY;
    return open_peer(p, (unsigned)(uintptr_t)arg);
  default:
    return -LINUX_ENOTTY;
  }
}

static int master_ioctl(struct file *f, unsigned request, void *arg) {
  return pty_ioctl(f, request, arg, true);
}

static int slave_ioctl(struct file *f, unsigned request, void *arg) {
  return pty_ioctl(f, request, arg, false);
}

const struct file_ops pty_ptmx_fops = {
    .open = ptmx_open,
    .release = master_release,
    .read = master_read,
    .write = master_write,
    .ioctl = master_ioctl,
    .poll = master_poll,
    .epoll_release_hook = true,
    .stream = true,
};

const struct file_ops pty_slave_fops = {
    .open = slave_open,
    .release = slave_release,
    .read = slave_read,
    .write = slave_write,
    .ioctl = slave_ioctl,
    .poll = slave_poll,
    .epoll_release_hook = true,
    .stream = true,
};

void pty_ctty_of(struct proc *p, uint32_t *out_dev, int *out_pgrp) {
  *out_dev = 0;
  *out_pgrp = -1;
  rt_lock(&g_task_table->lock);
  struct pty *c = p->ctty;
  if (c) {
    /* new_encode_dev(MKDEV(136, N)) */
    uint32_t minor = (uint32_t)c->index;
    *out_dev = (minor & 0xff) | (PTS_MAJOR << 8) | ((minor & ~0xffu) << 12);
    rt_lock(&c->lock);
    *out_pgrp = c->pgrp ? c->pgrp : -1;
    rt_unlock(&c->lock);
  }
  rt_unlock(&g_task_table->lock);
}

long pty_fd_link(struct file *f, char *buf, size_t len) {
  char tmp[32];
  if (f->ops == &pty_ptmx_fops)
    rt_snprintf(tmp, sizeof(tmp), "/dev/ptmx");
  else if (f->ops == &pty_slave_fops && f->private)
    rt_snprintf(tmp, sizeof(tmp), "/dev/pts/%d",
                ((struct pty *)f->private)->index);
  else
    return -LINUX_EINVAL;
  size_t n = rt_strlen(tmp);
  memcpy(buf, tmp, MIN(n, len));
  return (long)n;
}

/* ---- devpts: /dev/pts ---- */

/* The slave inode goes with its last reference: so does its hold on the
 * pair. */
static void pts_node_evict(struct inode *inode) {
  if (inode->private)
    pty_put(inode->private);
}

static const struct inode_ops pts_node_iops = {
    .evict = pts_node_evict,
};

static bool parse_index(const char *name, int *out) {
  int v = 0;
  if (!name[0] || (name[0] == '0' && name[1]))
    return false;
  for (const char *s = name; *s; s++) {
    if (*s < '0' || *s > '9' || v > PTY_MAX)
      return false;
    v = v * 10 + (*s - '0');
  }
  *out = v;
  return v < PTY_MAX;
}

static int devpts_lookup(struct inode *dir, const char *name,
                         struct inode **out) {
  (void)dir;
  if (!rt_strcmp(name, "ptmx")) {
    *out = vfs_inode_get(g_devpts_ptmx);
    return 0;
  }
  int index;
  if (!parse_index(name, &index))
    return -LINUX_ENOENT;
  int rc = -LINUX_ENOENT;
  rt_lock(&g_ptys->lock);
  struct pty *p = g_ptys->slot[index];
  if (p && p->slave) {
    *out = vfs_inode_get(p->slave);
    rc = 0;
  }
  rt_unlock(&g_ptys->lock);
  return rc;
}

static int devpts_readdir(struct inode *dir, uint64_t *pos, vfs_emit_fn emit,
                          void *ctx) {
  (void)dir;
  /* cookie 2: ptmx; 3 + N: /dev/pts/N */
  if (*pos == 2) {
    int r = emit(ctx, "ptmx", 4, g_devpts_ptmx->ino, LINUX_DT_CHR, 3);
    if (r > 0)
      return 0;
    if (r < 0)
      return r;
    *pos = 3;
  }
  for (uint64_t i = *pos - 3; i < PTY_MAX; i++) {
    rt_lock(&g_ptys->lock);
    struct pty *p = g_ptys->slot[i];
    bool live = p && p->slave;
    rt_unlock(&g_ptys->lock);
    if (live) {
      char name[16];
      int n = rt_snprintf(name, sizeof(name), "%d", (int)i);
      int r = emit(ctx, name, (size_t)n, i + 3, LINUX_DT_CHR, i + 4);
      if (r > 0)
        return 0;
      if (r < 0)
        return r;
    }
    *pos = i + 4;
  }
  return 0;
}

static const struct inode_ops devpts_root_iops = {
    .lookup = devpts_lookup,
    .readdir = devpts_readdir,
};

int devpts_create(struct superblock **out) {
  g_ptys = kzalloc(sizeof(*g_ptys));
  if (!g_ptys)
    return -LINUX_ENOMEM;
  struct superblock *sb = vfs_sb_alloc("devpts", DEVPTS_MAGIC, 0);
  if (!sb)
    return -LINUX_ENOMEM;
  struct inode *root =
      vfs_inode_alloc(sb, LINUX_S_IFDIR | 0755, &devpts_root_iops, NULL);
  struct inode *ptmx = vfs_inode_alloc(sb, LINUX_S_IFCHR, NULL, &pty_ptmx_fops);
  if (!root || !ptmx) {
    vfs_inode_put(root);
    vfs_inode_put(ptmx);
    return -LINUX_ENOMEM;
  }
  root->ino = 1;
  ptmx->ino = 2;
  ptmx->rdev = VFS_MKDEV(5, 2);
  sb->root = root;
  g_devpts_sb = sb;
  g_devpts_ptmx = ptmx;
  *out = sb;
  return 0;
}
