/* epoll: an interest list behind an anonymous file in the arena, so a
 * forked child shares the set as Linux's open file description. Items
 * name a descriptor and the open file description it had when added;
 * readiness comes from the files' poll hooks each time a waiter looks
 * (there are no per-file callbacks), and waiters sleep as pollers do
 * (core/poll.h). An item whose descriptor no longer names its file is
 * dropped, which is how Linux forgets a closed file.
 *
 * Edge-triggered items report again only after vfs_poll_notify has run
 * since their last report: any change in the sandbox counts, so an edge
 * may be reported once too often, never missed. */
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
  struct file *file; /* not a reference: identity only */
  uint32_t events;
  uint64_t data;
  uint32_t reported_seq; /* poll_seq at the last edge-triggered report */
  bool reported;
  bool disarmed; /* EPOLLONESHOT fired */
};

struct epoll {
  struct rt_lock lock;
  struct epitem *items;
};

static int g_nest; /* depth of nested epoll polls in this thread's call */

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
static int collect(struct epoll *ep, struct moat_epoll_event *out, int max,
                   bool *unnotified) {
  struct fd_table *t = proc_current_fdt();
  uint32_t seq = __atomic_load_n(&vfs_shared()->poll_seq, __ATOMIC_SEQ_CST);
  int n = 0;
  struct epitem **link = &ep->items;
  while (*link && n < max) {
    struct epitem *it = *link;
    struct file *f = t ? fdt_lookup(t, it->fd) : NULL;
    if (f != it->file) {
      file_put(f);
      if (out) { /* the file is gone: forget the item */
        *link = it->next;
        kfree(it);
        continue;
      }
      link = &it->next;
      continue;
    }
    unsigned ready = 0;
    if (f->ops->poll_unnotified)
      *unnotified = true;
    if (!it->disarmed)
      ready = file_ready(f, it->events & 0xffffu);
    file_put(f);
    if (ready && (it->events & EPOLLET) && it->reported &&
        it->reported_seq == seq)
      ready = 0;
    if (ready) {
      if (out) {
        out[n].events = ready;
        out[n].data = it->data;
        it->reported = true;
        it->reported_seq = seq;
        if (it->events & EPOLLONESHOT)
          it->disarmed = true;
      }
      n++;
    }
    link = &it->next;
  }
  return n;
}

static unsigned epoll_poll(struct file *f, unsigned events) {
  struct epoll *ep = f->private;
  if (g_nest >= EPOLL_MAX_NEST)
    return 0;
  g_nest++;
  bool unnotified = false;
  rt_lock(&ep->lock);
  int n = collect(ep, NULL, 1, &unnotified);
  rt_unlock(&ep->lock);
  g_nest--;
  return n ? (VFS_POLLIN | VFS_POLLRDNORM) & events : 0;
}

static void epoll_release(struct file *f) {
  struct epoll *ep = f->private;
  if (!ep)
    return;
  while (ep->items) {
    struct epitem *it = ep->items;
    ep->items = it->next;
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
    .stream = true,
};

int moat_epoll_create1(int flags) {
  if (flags & ~(int)LINUX_O_CLOEXEC)
    return -LINUX_EINVAL;
  struct epoll *ep = kzalloc(sizeof(*ep));
  if (!ep)
    return -LINUX_ENOMEM;
  struct file *f;
  int rc = anon_file_create(&epoll_ops, ep, LINUX_O_RDWR, &f);
  if (rc < 0) {
    kfree(ep);
    return rc;
  }
  rc = anon_file_install(f, flags & LINUX_O_CLOEXEC);
  file_put(f);
  return rc;
}

/* Does the epoll set ep (nested) reach target? Only items whose
 * descriptor still names their file are followed (the others' files may
 * be gone). ep's lock is held; nested sets are read without theirs,
 * which at worst misses a loop being built concurrently. */
static bool reaches(struct fd_table *t, struct epoll *ep, struct file *target,
                    int depth) {
  if (depth > EPOLL_MAX_NEST)
    return true;
  for (struct epitem *it = ep->items; it; it = it->next) {
    struct file *f = fdt_lookup(t, it->fd);
    bool hit = false;
    if (f == it->file)
      hit = f == target ||
            (is_epoll(f) && reaches(t, f->private, target, depth + 1));
    file_put(f);
    if (hit)
      return true;
  }
  return false;
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
    if (is_epoll(f) && reaches(t, f->private, ef, 0)) {
      rc = -LINUX_ELOOP;
      break;
    }
    it = kzalloc(sizeof(*it));
    if (!it) {
      rc = -LINUX_ENOMEM;
      break;
    }
    it->fd = fd;
    it->file = f;
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
    kfree(it);
    break;
  default:
    rc = -LINUX_EINVAL;
  }
  rt_unlock(&ep->lock);
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
    w.unnotified = false;
    rt_lock(&ep->lock);
    rc = collect(ep, events, maxevents, &w.unnotified);
    rt_unlock(&ep->lock);
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
