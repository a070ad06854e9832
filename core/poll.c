/* The poll waiter table (see core/poll.h) and vfs_poll_notify. A waiter
 * sleeps on its task's wake word, so one futex word serves both kinds of
 * wake-up a poller needs (a file changed, a signal came) and nothing
 * sleeps in short steps unless the table is full. */
#include "poll.h"
#include "task.h"
#include "vfs_impl.h"

#include "moat/platform.h"

/* Sleep step when the waiter table is full: then only poll_seq wakes. */
#define POLL_FALLBACK_NS 20000000ll
/* Sleep step while a watched host object could not be handed to the
 * sleep (struct poll_wait, unnotified). */
#define POLL_HOST_STEP_NS 5000000ll

void vfs_poll_notify(void) {
  poll_notify_obj(NULL);
}

void poll_due_at(int64_t mono_ns) {
  struct task *t = task_current();
  if (t && mono_ns > 0 && (!t->poll_due || mono_ns < t->poll_due))
    t->poll_due = mono_ns;
}

void poll_notify_obj(void *obj) {
  struct vfs_shared *v = vfs_shared();
  __atomic_add_fetch(&v->poll_seq, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&v->poll_fallback, __ATOMIC_SEQ_CST))
    plat_wake(&v->poll_seq, 0x7fffffff);
  if (!__atomic_load_n(&v->poll_nwaiters, __ATOMIC_SEQ_CST))
    return;
  for (int i = 0; i < VFS_POLL_WAITERS; i++) {
    void *slot = __atomic_load_n(&v->poll_waiters[i], __ATOMIC_SEQ_CST);
    struct task *t = slot;
    if (!t)
      continue;
    int32_t tid = __atomic_load_n(&v->poll_waiter_tids[i], __ATOMIC_SEQ_CST);
    if (!tid)
      continue; /* registering: it looks at the files after this */
    void *key = __atomic_load_n(&v->poll_waiter_keys[i], __ATOMIC_SEQ_CST);
    if (obj && key && key != obj)
      continue;
    /* A waiter whose host thread died in its sleep (its process was torn
     * down from outside) left its slot behind: the task is gone or
     * reused, its tid no longer matches. Free the slot, do not touch. */
    if (__atomic_load_n(&t->tid, __ATOMIC_SEQ_CST) != tid) {
      if (__atomic_compare_exchange_n(&v->poll_waiters[i], &slot, NULL, false,
                                      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        __atomic_sub_fetch(&v->poll_nwaiters, 1, __ATOMIC_SEQ_CST);
      continue;
    }
    task_wake(t);
  }
}

void poll_wait_begin(struct poll_wait *w, int64_t timeout_ns) {
  poll_wait_begin_key(w, timeout_ns, NULL);
}

void poll_wait_begin_key(struct poll_wait *w, int64_t timeout_ns, void *key) {
  struct vfs_shared *v = vfs_shared();
  w->self = task_current();
  w->slot = -1;
  w->nio = 0;
  w->unnotified = false;
  w->deadline = -1; /* forever */
  if (timeout_ns == 0)
    w->deadline = 0;
  else if (timeout_ns > 0)
    w->deadline =
        timeout_ns > INT64_MAX / 2 ? INT64_MAX / 2 : rt_now_ns() + timeout_ns;
  if (!w->self || timeout_ns == 0)
    return;
  __atomic_add_fetch(&v->poll_nwaiters, 1, __ATOMIC_SEQ_CST);
  for (int i = 0; i < VFS_POLL_WAITERS; i++) {
    void *none = NULL;
    if (__atomic_compare_exchange_n(&v->poll_waiters[i], &none, w->self, false,
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
      w->slot = i;
      __atomic_store_n(&v->poll_waiter_keys[i], key, __ATOMIC_SEQ_CST);
      __atomic_store_n(&v->poll_waiter_tids[i], w->self->tid, __ATOMIC_SEQ_CST);
      return;
    }
  }
  __atomic_sub_fetch(&v->poll_nwaiters, 1, __ATOMIC_SEQ_CST);
}

void poll_wait_arm(struct poll_wait *w) {
  if (w->self)
    w->self->poll_due = 0;
  if (w->slot >= 0)
    w->seen = __atomic_load_n(&w->self->wake_word, __ATOMIC_SEQ_CST);
  else
    w->seen = __atomic_load_n(&vfs_shared()->poll_seq, __ATOMIC_SEQ_CST);
}

void poll_scan_begin(struct poll_wait *w) {
  w->nio = 0;
  w->unnotified = false;
  if (w->self)
    w->self->poll_scan = w;
}

void poll_scan_end(struct poll_wait *w) {
  if (w->self && w->self->poll_scan == w)
    w->self->poll_scan = NULL;
}

unsigned poll_host(int kind, int handle, unsigned events) {
  struct plat_io io = {
      .kind = (uint16_t)kind, .events = (uint16_t)events, .handle = handle};
  /* A host signal (SIGCHLD, a kick, a timer) that comes during the look
   * cuts it short (-EINTR): that says nothing about the object, so ask
   * again (a few times; then it counts as not ready, and the sleep that
   * follows watches it). Only an error of the call itself is POLLERR. */
  int r, tries = 0;
  do
    r = plat_wait(NULL, 0, &io, 1, 0);
  while (r == -LINUX_EINTR && ++tries < 4);
  unsigned ready = 0;
  if (r > 0)
    ready = io.revents;
  else if (r != -LINUX_ETIMEDOUT && r != -LINUX_EINTR)
    ready = VFS_POLLERR;
  struct task *t = task_current();
  struct poll_wait *w = t ? t->poll_scan : NULL;
  if (!w)
    return ready;
  if (ready) {
    /* Ready now: a poll reports it and does not sleep, unless the caller
     * does not report it (an edge-triggered epoll item already
     * reported). Then the sleep watches the events that are not ready
     * (none after a hang-up or an error: nothing changes after those).
     * Ready input may still grow, a new edge on Linux the host cannot
     * show: the sleep steps. Ready writability changes only after a
     * write found the object full (epoll_host_drained), so a writable
     * socket or stream costs no steps. */
    if (ready & (VFS_POLLHUP | VFS_POLLERR | VFS_POLLNVAL))
      return ready;
    if (ready & (VFS_POLLIN | VFS_POLLRDNORM | VFS_POLLPRI))
      w->unnotified = true;
    events &= ~ready;
    if (!(events & (VFS_POLLIN | VFS_POLLRDNORM | VFS_POLLPRI | VFS_POLLOUT |
                    VFS_POLLWRNORM | LINUX_POLLRDHUP)))
      return ready;
    io.events = (uint16_t)events;
  }
  for (int i = 0; i < w->nio; i++)
    if (w->io[i].kind == kind && w->io[i].handle == handle) {
      w->io[i].events |= (uint16_t)events;
      return ready;
    }
  if (w->nio < POLL_HOST_IO)
    w->io[w->nio++] = io;
  else
    w->unnotified = true;
  return ready;
}

unsigned poll_host_wait(int kind, int handle, unsigned events,
                        int64_t timeout_ns) {
  struct plat_io io = {
      .kind = (uint16_t)kind, .events = (uint16_t)events, .handle = handle};
  int r = plat_wait(NULL, 0, &io, 1, timeout_ns);
  return r > 0 ? io.revents : 0;
}

int poll_host_sleep(struct plat_io *io, int nio, int64_t timeout_ns) {
  struct task *t = task_current();
  if (!t)
    return plat_wait(NULL, 0, io, nio, timeout_ns);
  uint32_t seen = __atomic_load_n(&t->wake_word, __ATOMIC_SEQ_CST);
  if (signal_pending(t))
    return -LINUX_EINTR;
  int r = task_sleep_wait_io(&t->wake_word, seen, io, nio, timeout_ns);
  if (signal_pending(t))
    return -LINUX_EINTR;
  /* plat_wait's own -EINTR is a spurious wake (a host SIGCHLD, a full
   * waiter table): no signal of the guest's, so the caller looks again
   * rather than end a receive with EINTR. */
  return r == -LINUX_EAGAIN || r == -LINUX_EINTR ? 0 : r;
}

/* poll_sleep_on's body: until poll_notify_obj(key), a signal, the
 * monotonic instant deadline (0: none) or, when io is not NULL, that
 * host object's readiness. */
static int sleep_on(void *key, struct rt_lock *lock, int64_t deadline,
                    const struct plat_io *io) {
  int64_t left = -1;
  if (deadline) {
    left = deadline - rt_now_ns();
    if (left <= 0)
      return 0;
  }
  struct poll_wait w;
  poll_wait_begin_key(&w, left, key);
  poll_wait_arm(&w);
  if (io) {
    w.io[0] = *io;
    w.nio = 1;
  }
  rt_unlock(lock);
  int rc = poll_wait_sleep(&w);
  poll_wait_end(&w);
  rt_lock(lock);
  return rc == -LINUX_EINTR ? rc : 0;
}

int poll_sleep_on(void *key, struct rt_lock *lock) {
  return sleep_on(key, lock, 0, NULL);
}

int poll_sleep_on_until(void *key, struct rt_lock *lock, int64_t deadline) {
  return sleep_on(key, lock, deadline, NULL);
}

int poll_sleep_on_host(void *key, struct rt_lock *lock,
                       const struct plat_io *io) {
  return sleep_on(key, lock, 0, io);
}

int poll_wait_sleep(struct poll_wait *w) {
  if (w->deadline == 0)
    return -LINUX_ETIMEDOUT;
  if (w->self && signal_pending(w->self))
    return -LINUX_EINTR;
  int64_t wait = -1;
  if (w->deadline > 0) {
    wait = w->deadline - rt_now_ns();
    if (wait <= 0)
      return -LINUX_ETIMEDOUT;
  }
  int64_t due = w->self ? w->self->poll_due : 0;
  if (due) { /* a watched timerfd expires then */
    int64_t left = due - rt_now_ns();
    if (left <= 0)
      return 0;
    if (wait < 0 || wait > left)
      wait = left;
  }
  if (w->unnotified && (wait < 0 || wait > POLL_HOST_STEP_NS))
    wait = POLL_HOST_STEP_NS;
  if (w->slot >= 0) {
    task_sleep_wait_io(&w->self->wake_word, w->seen, w->io, w->nio, wait);
  } else {
    if (wait < 0 || wait > POLL_FALLBACK_NS)
      wait = POLL_FALLBACK_NS;
    struct vfs_shared *v = vfs_shared();
    __atomic_add_fetch(&v->poll_fallback, 1, __ATOMIC_SEQ_CST);
    task_sleep_wait_io(&v->poll_seq, w->seen, w->io, w->nio, wait);
    __atomic_sub_fetch(&v->poll_fallback, 1, __ATOMIC_SEQ_CST);
  }
  if (w->self && signal_pending(w->self))
    return -LINUX_EINTR;
  return 0;
}

void poll_wait_end(struct poll_wait *w) {
  struct vfs_shared *v = vfs_shared();
  poll_scan_end(w);
  if (w->slot < 0)
    return;
  __atomic_store_n(&v->poll_waiter_tids[w->slot], 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&v->poll_waiters[w->slot], NULL, __ATOMIC_SEQ_CST);
  __atomic_sub_fetch(&v->poll_nwaiters, 1, __ATOMIC_SEQ_CST);
  w->slot = -1;
}

#define ANONFS_MAGIC 0x09041934ull

static struct superblock *g_anon_sb;

/* An anonymous file's state (an epoll set, an eventfd counter) lives in
 * its open file description: opening its inode again by path
 * (/proc/self/fd/N, /dev/fd/N) would make a description without it, so
 * that open fails with ENXIO, as on Linux. The inode's own ops say so; the
 * description made here gets the real ones. */
static int anon_reopen(struct inode *inode, struct file *file) {
  (void)inode, (void)file;
  return -LINUX_ENXIO;
}

const struct file_ops anon_reopen_ops = {.open = anon_reopen};

#define SOCKFS_MAGIC 0x534f434bull
#define PIPEFS_MAGIC 0x50495045ull

/* What Linux's d_dname of sockfs, pipefs and anon_inodefs print. An
 * anonymous inode's private is its name (a constant of the core). */
static long nameless_readlink(struct inode *inode, char *buf, size_t len) {
  char tmp[64];
  int n;
  uint64_t magic = inode->sb ? inode->sb->magic : 0;
  if (magic == SOCKFS_MAGIC || magic == PIPEFS_MAGIC)
    n = rt_snprintf(tmp, sizeof(tmp), "%s:[%llu]",
                    magic == SOCKFS_MAGIC ? "socket" : "pipe",
                    (unsigned long long)inode->ino);
  else if (magic == ANONFS_MAGIC && inode->private)
    n = rt_snprintf(tmp, sizeof(tmp), "anon_inode:%s",
                    (const char *)inode->private);
  else
    return -LINUX_EINVAL;
  if (n < 0 || (size_t)n >= sizeof(tmp))
    return -LINUX_EINVAL;
  memcpy(buf, tmp, MIN((size_t)n, len));
  return n;
}

const struct inode_ops nameless_iops = {.readlink = nameless_readlink,
                                        .nameless = true};

int anon_file_create(const struct file_ops *ops, void *private,
                     const char *name, unsigned flags, struct file **out) {
  struct vfs_shared *v = vfs_shared();
  rt_lock(&v->pipe_lock);
  if (!g_anon_sb)
    g_anon_sb = vfs_sb_alloc("anon_inodefs", ANONFS_MAGIC, 0);
  struct superblock *sb = g_anon_sb;
  rt_unlock(&v->pipe_lock);
  if (!sb)
    return -LINUX_ENOMEM;
  struct inode *inode =
      vfs_inode_alloc(sb, 0600, &nameless_iops, &anon_reopen_ops);
  if (!inode)
    return -LINUX_ENOMEM;
  inode->private = (void *)name;
  vfs_cred(&inode->uid, &inode->gid);
  int rc = file_open_inode(inode, flags, ops, out);
  vfs_inode_put(inode);
  if (rc == 0)
    (*out)->private = private;
  return rc;
}

int anon_file_install(struct file *f, bool cloexec) {
  struct fd_table *t = proc_current_fdt();
  if (!t)
    return -LINUX_EBADF;
  return fdt_install(t, f, 0, cloexec);
}
