/* epoll: an interest list behind an anonymous file in the arena, so a
 * forked child shares the set as Linux's open file description. Items
 * name an open file description; readiness comes from the files' poll
 * hooks each time a waiter looks (there are no per-file callbacks), and
 * waiters sleep as pollers do (core/poll.h).
 *
 * As on Linux an item lives as long as its file: pipes, eventfds and
 * epoll sets call epoll_file_released when they go, which removes their
 * items from every set (a list of all sets in the arena). Other files
 * (terminals, devices) have no such hook, so their items hold a
 * reference instead.
 *
 * Edge-triggered items report again only after vfs_poll_notify has run
 * since their last report: any change in the sandbox counts, so an edge
 * may be reported once too often, never missed. A host stream or socket
 * changes without vfs_poll_notify, so an item also reports again the
 * events seen not ready since its last report: by a look at the file
 * here, or by a read or write of it that ended in EAGAIN
 * (epoll_host_drained). */
/* Locks (DESIGN.md, "Locks"): the list of every epoll set
 * (vfs_shared()->epoll_lock) before a set's own lock; a set's lock before
 * the lock of a set it watches (a nested set is polled under its
 * watcher's lock, at most EPOLL_MAX_NEST deep; epoll_ctl refuses a
 * loop); a watched file's poll runs under the set's lock and takes only
 * its own. */
#include "moat/moat.h"
#include "poll.h"
#include "task.h"
#include "vfs_impl.h"

#define EPOLLIN 0x001u
#define EPOLLERR 0x008u
#define EPOLLHUP 0x010u
#define EPOLLEXCLUSIVE (1u << 28)
#define EPOLLWAKEUP (1u << 29)
#define EPOLLONESHOT (1u << 30)
#define EPOLLET (1u << 31)
#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLL_CTL_MOD 3
#define EPOLL_MAX_NEST 5

struct epitem {
  struct epitem *next;
  int fd;
  struct file *file; /* a reference only when held (see above) */
  bool held;
  uint32_t events;
  uint64_t data;
  uint32_t reported_seq; /* poll_seq at the last edge-triggered report */
  /* Since that report: the events seen not ready, and the file's
   * host_drained counts at the report. */
  uint32_t seen_clear;
  uint32_t drained_at[2];
  bool reported;
  bool disarmed; /* EPOLLONESHOT fired */
};

struct epoll {
  struct rt_lock lock;
  struct epitem *items;
  struct epoll *next_set, **prev_set; /* vfs_shared()->epolls */
};

/* Nesting depth for a host process that runs no guest task (the
 * console's pump, the exec server): single-threaded. */
static uint8_t g_nest_no_task;

static const struct file_ops epoll_ops;

static bool is_epoll(struct file *f) {
  return f->ops == &epoll_ops;
}

static unsigned file_ready(struct file *f, unsigned events) {
  unsigned want = events | EPOLLERR | EPOLLHUP;
  if (!f->ops->poll)
    return want & (VFS_POLLIN | VFS_POLLRDNORM | VFS_POLLOUT | VFS_POLLWRNORM);
  return f->ops->poll(f, want) & want;
}

/* Collect ready items (up to max; out NULL: only count, touching
 * nothing). Lock held. */
static int collect(struct epoll *ep, struct moat_epoll_event *out, int max) {
  rt_assert_held(&ep->lock);
  uint32_t seq = __atomic_load_n(&vfs_shared()->poll_seq, __ATOMIC_SEQ_CST);
  int n = 0;
  for (struct epitem *it = ep->items; it && n < max; it = it->next) {
    struct file *f = it->file;
    unsigned ready = 0;
    if (!it->disarmed)
      ready = file_ready(f, it->events & 0xffffu);
    if ((it->events & EPOLLET) && !it->disarmed) {
      /* Not ready then, ready now: an edge, whatever poll_seq says. */
      it->seen_clear |= ((it->events & 0xffffu) | EPOLLERR | EPOLLHUP) & ~ready;
      if (__atomic_load_n(&f->host_drained[0], __ATOMIC_ACQUIRE) !=
          it->drained_at[0])
        it->seen_clear |= VFS_POLLIN | VFS_POLLRDNORM;
      if (__atomic_load_n(&f->host_drained[1], __ATOMIC_ACQUIRE) !=
          it->drained_at[1])
        it->seen_clear |= VFS_POLLOUT | VFS_POLLWRNORM;
    }
    if (ready && (it->events & EPOLLET) && it->reported &&
        it->reported_seq == seq && !(ready & it->seen_clear))
      ready = 0;
    if (ready) {
      if (out) {
        out[n].events = ready;
        out[n].data = it->data;
        it->reported = true;
        it->reported_seq = seq;
        it->seen_clear = 0;
        it->drained_at[0] =
            __atomic_load_n(&f->host_drained[0], __ATOMIC_ACQUIRE);
        it->drained_at[1] =
            __atomic_load_n(&f->host_drained[1], __ATOMIC_ACQUIRE);
        if (it->events & EPOLLONESHOT)
          it->disarmed = true;
      }
      n++;
    }
  }
  return n;
}

/* Files whose release calls epoll_file_released. */
static bool has_release_hook(struct file *f) {
  return f->ops->epoll_release_hook;
}

void epoll_file_released(struct file *f) {
  struct vfs_shared *v = vfs_shared();
  if (!__atomic_load_n(&v->epolls, __ATOMIC_ACQUIRE))
    return;
  rt_lock(&v->epoll_lock);
  for (struct epoll *ep = v->epolls; ep; ep = ep->next_set) {
    rt_lock(&ep->lock);
    struct epitem **link = &ep->items;
    while (*link) {
      struct epitem *it = *link;
      if (it->file == f && !it->held) {
        *link = it->next;
        kfree(it);
      } else {
        link = &it->next;
      }
    }
    rt_unlock(&ep->lock);
  }
  rt_unlock(&v->epoll_lock);
}

void epoll_host_drained(struct file *f, unsigned events) {
  if (events & VFS_POLLIN)
    __atomic_add_fetch(&f->host_drained[0], 1, __ATOMIC_RELEASE);
  if (events & VFS_POLLOUT)
    __atomic_add_fetch(&f->host_drained[1], 1, __ATOMIC_RELEASE);
}

static unsigned epoll_poll(struct file *f, unsigned events) {
  struct epoll *ep = f->private;
  struct task *self = task_current();
  uint8_t *nest = self ? &self->epoll_nest : &g_nest_no_task;
  if (*nest >= EPOLL_MAX_NEST)
    return 0;
  (*nest)++;
  rt_lock(&ep->lock);
  int n = collect(ep, NULL, 1);
  rt_unlock(&ep->lock);
  (*nest)--;
  return n ? (VFS_POLLIN | VFS_POLLRDNORM) & events : 0;
}

static void epoll_release(struct file *f) {
  struct epoll *ep = f->private;
  struct vfs_shared *v = vfs_shared();
  if (!ep)
    return;
  rt_lock(&v->epoll_lock);
  *ep->prev_set = ep->next_set;
  if (ep->next_set)
    ep->next_set->prev_set = ep->prev_set;
  rt_unlock(&v->epoll_lock);
  epoll_file_released(f); /* as an item of other sets */
  while (ep->items) {
    struct epitem *it = ep->items;
    ep->items = it->next;
    if (it->held)
      file_put(it->file);
    kfree(it);
  }
  kfree(ep);
  f->private = NULL;
}

static long epoll_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  (void)f, (void)buf, (void)len, (void)pos;
  return -LINUX_EINVAL;
}

static const struct file_ops epoll_ops = {
    .release = epoll_release,
    .read = epoll_read,
    .write =
        (long (*)(struct file *, const void *, size_t, uint64_t *))epoll_read,
    .poll = epoll_poll,
    .epoll_release_hook = true,
    .stream = true,
};

int moat_epoll_create1(int flags) {
  if (flags & ~(int)LINUX_O_CLOEXEC)
    return -LINUX_EINVAL;
  struct epoll *ep = kzalloc(sizeof(*ep));
  if (!ep)
    return -LINUX_ENOMEM;
  struct file *f;
  int rc = anon_file_create(&epoll_ops, ep, "[eventpoll]", LINUX_O_RDWR, &f);
  if (rc < 0) {
    kfree(ep);
    return rc;
  }
  struct vfs_shared *v = vfs_shared();
  rt_lock(&v->epoll_lock);
  ep->next_set = v->epolls;
  if (ep->next_set)
    ep->next_set->prev_set = &ep->next_set;
  ep->prev_set = (struct epoll **)&v->epolls;
  __atomic_store_n(&v->epolls, ep, __ATOMIC_RELEASE);
  rt_unlock(&v->epoll_lock);
  rc = anon_file_install(f, flags & LINUX_O_CLOEXEC);
  file_put(f);
  return rc;
}

/* Linux's ep_loop_check: adding the set `to` into `ep` is refused when
 * it closes a loop or when the longest path of sets through the new link
 * would exceed EP_MAX_NESTS (4) links. down: the longest chain of sets
 * below e (0: it watches none); up: above e. Caller holds the sets' list
 * lock (v->epoll_lock), which keeps nesting still meanwhile. */
#define EP_MAX_NESTS 4
#define NEST_TOO_DEEP 1000

static int nest_down(struct epoll *e, struct epoll *target, int depth) {
  if (e == target)
    return NEST_TOO_DEEP; /* a loop */
  if (depth > EP_MAX_NESTS + 1)
    return NEST_TOO_DEEP;
  int best = 0;
  rt_lock(&e->lock);
  for (struct epitem *it = e->items; it && best < NEST_TOO_DEEP; it = it->next)
    if (is_epoll(it->file)) {
      int d = nest_down(it->file->private, target, depth + 1);
      best = MAX(best, d >= NEST_TOO_DEEP ? d : d + 1);
    }
  rt_unlock(&e->lock);
  return best;
}

static int nest_up(struct vfs_shared *v, struct epoll *e, int depth) {
  if (depth > EP_MAX_NESTS + 1)
    return NEST_TOO_DEEP;
  int best = 0;
  for (struct epoll *s = v->epolls; s && best < NEST_TOO_DEEP;
       s = s->next_set) {
    bool holds = false;
    rt_lock(&s->lock);
    for (struct epitem *it = s->items; it && !holds; it = it->next)
      holds = is_epoll(it->file) && it->file->private == e;
    rt_unlock(&s->lock);
    if (holds) {
      int u = nest_up(v, s, depth + 1);
      best = MAX(best, u >= NEST_TOO_DEEP ? u : u + 1);
    }
  }
  return best;
}

static bool nest_refused(struct epoll *ep, struct epoll *to) {
  struct vfs_shared *v = vfs_shared();
  rt_lock(&v->epoll_lock);
  int down = nest_down(to, ep, 0);
  bool refused = down > EP_MAX_NESTS;
  if (!refused)
    refused = down + 1 + nest_up(v, ep, 0) > EP_MAX_NESTS;
  rt_unlock(&v->epoll_lock);
  return refused;
}

int moat_epoll_ctl(int epfd, int op, int fd,
                   const struct moat_epoll_event *event) {
  struct fd_table *t = proc_current_fdt();
  if (!t)
    return -LINUX_EBADF;
  struct file *ef = fdt_lookup(t, epfd);
  struct file *f = fdt_lookup(t, fd);
  int rc = 0;
  if (!ef || !f || (ef->flags & LINUX_O_PATH) || (f->flags & LINUX_O_PATH)) {
    rc = -LINUX_EBADF;
    goto out;
  }
  if (!is_epoll(ef) || ef == f) {
    rc = -LINUX_EINVAL;
    goto out;
  }
  uint32_t type = f->inode->mode & LINUX_S_IFMT;
  if (!f->ops->poll && (type == LINUX_S_IFREG || type == LINUX_S_IFDIR)) {
    rc = -LINUX_EPERM;
    goto out;
  }
  if (op != EPOLL_CTL_DEL && !event) {
    rc = -LINUX_EFAULT;
    goto out;
  }
  uint32_t events = event ? event->events : 0;
  if (op != EPOLL_CTL_DEL && (events & EPOLLEXCLUSIVE) &&
      (op == EPOLL_CTL_MOD || is_epoll(f) ||
       (events & ~(EPOLLEXCLUSIVE | EPOLLET | EPOLLWAKEUP | 0x0fffu)))) {
    rc = -LINUX_EINVAL;
    goto out;
  }
  struct epoll *ep = ef->private;
  struct file *drop = NULL;
  if (op == EPOLL_CTL_ADD && is_epoll(f) && nest_refused(ep, f->private)) {
    rc = -LINUX_ELOOP;
    goto out;
  }
  rt_lock(&ep->lock);
  struct epitem **link = &ep->items;
  while (*link && !((*link)->fd == fd && (*link)->file == f))
    link = &(*link)->next;
  struct epitem *it = *link;
  switch (op) {
  case EPOLL_CTL_ADD:
    if (it) {
      rc = -LINUX_EEXIST;
      break;
    }
    it = kzalloc(sizeof(*it));
    if (!it) {
      rc = -LINUX_ENOMEM;
      break;
    }
    it->fd = fd;
    it->file = f;
    it->held = !has_release_hook(f);
    if (it->held)
      file_get(f);
    it->events = events;
    it->data = event->data;
    it->next = ep->items;
    ep->items = it;
    break;
  case EPOLL_CTL_MOD:
    if (!it) {
      rc = -LINUX_ENOENT;
      break;
    }
    if (it->events & EPOLLEXCLUSIVE) {
      rc = -LINUX_EINVAL;
      break;
    }
    it->events = events;
    it->data = event->data;
    it->disarmed = false;
    it->reported = false;
    break;
  case EPOLL_CTL_DEL:
    if (!it) {
      rc = -LINUX_ENOENT;
      break;
    }
    *link = it->next;
    if (it->held)
      drop = it->file;
    kfree(it);
    break;
  default:
    rc = -LINUX_EINVAL;
  }
  rt_unlock(&ep->lock);
  file_put(drop);
  if (rc == 0)
    vfs_poll_notify(); /* a waiter on this set looks again */
out:
  file_put(ef);
  file_put(f);
  return rc;
}

long moat_epoll_wait(int epfd, struct moat_epoll_event *events, int maxevents,
                     int64_t timeout_ns) {
  struct fd_table *t = proc_current_fdt();
  struct file *ef = t ? fdt_lookup(t, epfd) : NULL;
  if (!ef)
    return -LINUX_EBADF;
  long rc;
  if (!is_epoll(ef) || maxevents <= 0 ||
      maxevents > (int)(0x7fffffff / sizeof(*events))) {
    rc = -LINUX_EINVAL;
    goto out;
  }
  struct epoll *ep = ef->private;
  struct poll_wait w;
  poll_wait_begin(&w, timeout_ns);
  for (;;) {
    poll_wait_arm(&w);
    poll_scan_begin(&w);
    rt_lock(&ep->lock);
    rc = collect(ep, events, maxevents);
    rt_unlock(&ep->lock);
    poll_scan_end(&w);
    if (rc)
      break;
    int s = poll_wait_sleep(&w);
    if (s == -LINUX_ETIMEDOUT)
      break;
    if (s < 0) {
      rc = s;
      break;
    }
  }
  poll_wait_end(&w);
out:
  file_put(ef);
  return rc;
}

long moat_epoll_items(int epfd) {
  struct fd_table *t = proc_current_fdt();
  struct file *ef = t ? fdt_lookup(t, epfd) : NULL;
  if (!ef)
    return -LINUX_EBADF;
  long n = -LINUX_EINVAL;
  if (is_epoll(ef)) {
    struct epoll *ep = ef->private;
    n = 0;
    rt_lock(&ep->lock);
    for (struct epitem *it = ep->items; it; it = it->next)
      n++;
    rt_unlock(&ep->lock);
  }
  file_put(ef);
  return n;
}

long epoll_target_of(struct file *ep, int tfd, uint32_t toff, uintptr_t *out) {
  if (!is_epoll(ep))
    return -LINUX_EINVAL;
  struct epoll *e = ep->private;
  *out = 0;
  rt_lock(&e->lock);
  for (struct epitem *it = e->items; it; it = it->next)
    if (it->fd == tfd && toff-- == 0) {
      *out = (uintptr_t)it->file;
      break;
    }
  rt_unlock(&e->lock);
  return 0;
}
