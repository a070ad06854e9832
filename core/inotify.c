/* inotify: an instance is an anonymous file whose state (its watches and
 * its queue of events) lives in the arena, as every watch does, so that
 * any guest process's change to a watched inode queues events and wakes
 * a reader sleeping in another process (poll_notify_obj on the instance,
 * which is also what poll, select and epoll wait for).
 *
 * A watch holds a reference to its inode and is found from the inode
 * (inode->inotify), so watches are per object, whatever path reached it,
 * as on Linux. One lock (g_in.lock, in the arena) guards every watch list
 * and queue: it is a leaf, taken under the vfs lock or an inode's lock,
 * never the other way round. Events are queued as Linux's
 * fsnotify_add_event does: one identical to the last queued event is
 * dropped; at max_queued_events one IN_Q_OVERFLOW (wd -1) ends the queue
 * until a reader makes room.
 *
 * What is not seen: changes made by host processes to a granted host
 * directory (only the sandbox's own calls report), events for a file
 * opened before the sandbox's first inotify_init by its parent
 * directory's watches (a file remembers its directory only when opened
 * after), IN_UNMOUNT (nothing is unmounted); IN_DELETE_SELF comes when
 * the last link goes even if the file is still open (Linux waits for the
 * last close). docs/processes.md "inotify". */
#include "inotify.h"
#include "moat/moat.h"
#include "poll.h"
#include "task.h"
#include "vfs_impl.h"

struct in_event {
  struct in_event *next;
  int32_t wd;
  uint32_t mask, cookie, len; /* len: the padded name length */
  char name[];
};

struct in_watch {
  struct in_watch *next_inode, *next_dev;
  struct inode *inode; /* a reference */
  struct in_dev *dev;
  int32_t wd;
  uint32_t mask; /* events | IN_ONESHOT | IN_EXCL_UNLINK */
};

struct in_dev {
  struct in_watch *watches;
  int32_t last_wd;
  struct in_event *head, *tail;
  uint32_t nevents; /* not counting the overflow event */
  uint32_t bytes;   /* FIONREAD */
  bool overflowed;  /* the last queued event is the overflow event */
};

struct in_shared {
  struct rt_lock lock;
  uint32_t watches;   /* every watch of the sandbox (atomic reads) */
  uint32_t instances; /* open instances */
  uint32_t used;      /* 1 once an instance was made */
  uint32_t cookie;
};

/* The arena copy, made at the first inotify_init (any later process
 * finds it: a pointer in the vfs's shared state). */
static struct in_shared *shared(void) {
  struct vfs_shared *v = vfs_shared();
  struct in_shared *s = __atomic_load_n(&v->inotify, __ATOMIC_ACQUIRE);
  if (s)
    return s;
  rt_lock(&v->pipe_lock);
  s = v->inotify;
  if (!s) {
    s = kzalloc(sizeof(*s));
    if (s)
      __atomic_store_n(&v->inotify, s, __ATOMIC_RELEASE);
  }
  rt_unlock(&v->pipe_lock);
  return s;
}

static struct in_shared *shared_if_any(void) {
  return __atomic_load_n(&vfs_shared()->inotify, __ATOMIC_ACQUIRE);
}

bool inotify_active(void) {
  struct in_shared *s = shared_if_any();
  return s && __atomic_load_n(&s->watches, __ATOMIC_RELAXED);
}

bool inotify_used(void) {
  struct in_shared *s = shared_if_any();
  return s && s->used;
}

static bool is_dir(const struct inode *inode) {
  return LINUX_S_ISTYPE(inode->mode, LINUX_S_IFDIR);
}

/* Queue one event (lock held). */
static void queue_locked(struct in_dev *d, int32_t wd, uint32_t mask,
                         uint32_t cookie, const char *name) {
  size_t nlen = name ? rt_strlen(name) : 0;
  uint32_t len = nlen ? (uint32_t)((nlen + 1 + 15) & ~(size_t)15) : 0;
  if (d->overflowed)
    return;
  if (d->nevents >= INOTIFY_MAX_QUEUED) {
    wd = -1;
    mask = IN_Q_OVERFLOW;
    cookie = 0;
    len = 0;
    nlen = 0;
  } else if (d->tail && d->tail->wd == wd && d->tail->mask == mask &&
             d->tail->cookie == cookie && d->tail->len == len &&
             (!len || !rt_strcmp(d->tail->name, name))) {
    return; /* the same as the last one: merged */
  }
  struct in_event *e = kzalloc(sizeof(*e) + len);
  if (!e)
    return;
  e->wd = wd;
  e->mask = mask;
  e->cookie = cookie;
  e->len = len;
  if (nlen)
    memcpy(e->name, name, nlen);
  if (d->tail)
    d->tail->next = e;
  else
    d->head = e;
  d->tail = e;
  d->bytes += 16 + len;
  if (mask == IN_Q_OVERFLOW && wd == -1)
    d->overflowed = true;
  else
    d->nevents++;
  poll_notify_obj(d);
}

/* Unhook w from its inode's and its instance's lists (lock held); the
 * caller queues IN_IGNORED if wanted and drops the inode reference. */
static void unhook_locked(struct in_shared *s, struct in_watch *w) {
  struct in_watch **pp = (struct in_watch **)&w->inode->inotify;
  while (*pp && *pp != w)
    pp = &(*pp)->next_inode;
  if (*pp)
    *pp = w->next_inode;
  pp = &w->dev->watches;
  while (*pp && *pp != w)
    pp = &(*pp)->next_dev;
  if (*pp)
    *pp = w->next_dev;
  __atomic_sub_fetch(&s->watches, 1, __ATOMIC_RELAXED);
}

/* Deliver mask (with name, cookie) to the watches on inode; child is the
 * object the event is about when inode is its directory. Inodes whose
 * watch went (IN_ONESHOT) are put into *drop for the caller to release
 * after the lock. */
static void deliver_locked(struct in_shared *s, struct inode *inode,
                           uint32_t mask, uint32_t cookie, const char *name,
                           struct inode *child, struct inode **drop,
                           int *ndrop) {
  struct in_watch *w = inode->inotify, *next;
  for (; w; w = next) {
    next = w->next_inode;
    uint32_t want = mask & IN_ALL_EVENTS & w->mask;
    if (!want)
      continue;
    /* IN_EXCL_UNLINK: nothing about a child whose last name is gone */
    if (name && child && (w->mask & IN_EXCL_UNLINK) && !child->nlink &&
        (mask & (IN_ACCESS | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE |
                 IN_CLOSE_NOWRITE | IN_OPEN)))
      continue;
    queue_locked(w->dev, w->wd, want | (mask & IN_ISDIR), cookie, name);
    if (w->mask & IN_ONESHOT) {
      queue_locked(w->dev, w->wd, IN_IGNORED, 0, NULL);
      unhook_locked(s, w);
      if (*ndrop < 16)
        drop[(*ndrop)++] = w->inode;
      kfree(w);
    }
  }
}

static void event(struct inode *dir, struct inode *child, uint32_t mask,
                  uint32_t cookie, const char *name) {
  struct in_shared *s = shared_if_any();
  if (!s || !__atomic_load_n(&s->watches, __ATOMIC_RELAXED))
    return;
  struct inode *drop[16];
  int ndrop = 0;
  if (child && is_dir(child) && !(mask & (IN_DELETE_SELF | IN_MOVE_SELF)))
    mask |= IN_ISDIR; /* (not on Linux's DELETE_SELF and MOVE_SELF) */
  rt_lock(&s->lock);
  if (dir && dir->inotify)
    deliver_locked(s, dir, mask, cookie, name, child, drop, &ndrop);
  /* The object's own watches hear about it without a name, and not the
   * directory-only events (create, delete, moves of children). */
  uint32_t self =
      mask & (IN_ACCESS | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE |
              IN_CLOSE_NOWRITE | IN_OPEN | IN_DELETE_SELF | IN_MOVE_SELF);
  if (child && child->inotify && self && (!dir || child != dir))
    deliver_locked(s, child, self | (mask & IN_ISDIR), 0, NULL, NULL, drop,
                   &ndrop);
  rt_unlock(&s->lock);
  for (int i = 0; i < ndrop; i++)
    vfs_inode_put(drop[i]);
}

void inotify_inode_event(struct inode *inode, uint32_t mask) {
  if (!inode)
    return;
  /* A directory's parent hears too (the vfs knows directories' names). */
  struct inode *parent = is_dir(inode) ? inode->parent : NULL;
  if (parent && parent != inode && inode->name)
    event(parent, inode, mask, 0, inode->name);
  else
    event(NULL, inode, mask, 0, NULL);
}

void inotify_child_event(struct inode *dir, struct inode *child, uint32_t mask,
                         const char *name) {
  event(dir, child, mask, 0, name);
}

void inotify_move(struct inode *olddir, const char *oldname,
                  struct inode *newdir, const char *newname,
                  struct inode *child) {
  struct in_shared *s = shared_if_any();
  if (!s || !__atomic_load_n(&s->watches, __ATOMIC_RELAXED))
    return;
  uint32_t cookie = __atomic_add_fetch(&s->cookie, 1, __ATOMIC_RELAXED);
  uint32_t dir = child && is_dir(child) ? IN_ISDIR : 0;
  event(olddir, NULL, IN_MOVED_FROM | dir, cookie, oldname);
  event(newdir, NULL, IN_MOVED_TO | dir, cookie, newname);
  if (child)
    event(NULL, child, IN_MOVE_SELF, 0, NULL);
}

void inotify_inode_deleted(struct inode *inode) {
  struct in_shared *s = shared_if_any();
  if (!s || !inode || !__atomic_load_n(&s->watches, __ATOMIC_RELAXED))
    return;
  event(NULL, inode, IN_DELETE_SELF, 0, NULL);
  rt_lock(&s->lock);
  struct in_watch *w = inode->inotify;
  inode->inotify = NULL;
  int n = 0;
  while (w) {
    struct in_watch *next = w->next_inode;
    queue_locked(w->dev, w->wd, IN_IGNORED, 0, NULL);
    w->next_inode = NULL;
    struct in_watch **pp = &w->dev->watches;
    while (*pp && *pp != w)
      pp = &(*pp)->next_dev;
    if (*pp)
      *pp = w->next_dev;
    __atomic_sub_fetch(&s->watches, 1, __ATOMIC_RELAXED);
    kfree(w);
    n++;
    w = next;
  }
  rt_unlock(&s->lock);
  while (n--)
    vfs_inode_put(inode); /* the watches' references */
}

void inotify_file_event(struct file *f, uint32_t mask) {
  if (!inotify_active() || (f->flags & LINUX_O_PATH))
    return;
  if (f->notify_dir && f->notify_name)
    event(f->notify_dir, f->inode, mask, 0, f->notify_name);
  else
    inotify_inode_event(f->inode, mask);
}

/* ---- the instance file -------------------------------------------------- */

static struct in_dev *dev_of(struct file *f) {
  return f->private;
}

static long in_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  (void)pos;
  struct in_shared *s = shared_if_any();
  struct in_dev *d = dev_of(f);
  long rc = 0;
  size_t done = 0;
  rt_lock(&s->lock);
  for (;;) {
    if (d->head) {
      while (d->head) {
        struct in_event *e = d->head;
        size_t size = 16 + e->len;
        if (size > len - done) {
          if (!done)
            rc = -LINUX_EINVAL;
          break;
        }
        struct {
          int32_t wd;
          uint32_t mask, cookie, len;
        } h = {e->wd, e->mask, e->cookie, e->len};
        if (rt_ucopy((char *)buf + done, &h, 16) ||
            (e->len && rt_ucopy((char *)buf + done + 16, e->name, e->len))) {
          if (!done)
            rc = -LINUX_EFAULT;
          break;
        }
        done += size;
        d->head = e->next;
        if (!d->head)
          d->tail = NULL;
        d->bytes -= (uint32_t)size;
        if (e->wd == -1 && e->mask == IN_Q_OVERFLOW)
          d->overflowed = false;
        else
          d->nevents--;
        kfree(e);
      }
      if (done)
        rc = (long)done;
      break;
    }
    if (f->flags & LINUX_O_NONBLOCK) {
      rc = -LINUX_EAGAIN;
      break;
    }
    rc = poll_sleep_on(d, &s->lock);
    if (rc < 0)
      break;
  }
  rt_unlock(&s->lock);
  return rc;
}

static unsigned in_poll(struct file *f, unsigned events) {
  struct in_shared *s = shared_if_any();
  rt_lock(&s->lock);
  unsigned ready = dev_of(f)->head ? VFS_POLLIN | VFS_POLLRDNORM : 0;
  rt_unlock(&s->lock);
  return ready & events;
}

static int in_ioctl(struct file *f, unsigned request, void *arg) {
  if (request != LINUX_FIONREAD)
    return -LINUX_ENOTTY;
  struct in_shared *s = shared_if_any();
  rt_lock(&s->lock);
  *(int32_t *)arg = (int32_t)dev_of(f)->bytes;
  rt_unlock(&s->lock);
  return 0;
}

static void in_release(struct file *f) {
  struct in_shared *s = shared_if_any();
  struct in_dev *d = dev_of(f);
  epoll_file_released(f);
  if (!d)
    return;
  rt_lock(&s->lock);
  struct in_watch *w = d->watches;
  d->watches = NULL;
  struct in_watch *gone = NULL;
  while (w) {
    struct in_watch *next = w->next_dev;
    struct in_watch **pp = (struct in_watch **)&w->inode->inotify;
    while (*pp && *pp != w)
      pp = &(*pp)->next_inode;
    if (*pp)
      *pp = w->next_inode;
    __atomic_sub_fetch(&s->watches, 1, __ATOMIC_RELAXED);
    w->next_dev = gone;
    gone = w;
    w = next;
  }
  for (struct in_event *e = d->head, *n; e; e = n) {
    n = e->next;
    kfree(e);
  }
  s->instances--;
  rt_unlock(&s->lock);
  while (gone) {
    struct in_watch *next = gone->next_dev;
    vfs_inode_put(gone->inode);
    kfree(gone);
    gone = next;
  }
  kfree(d);
  f->private = NULL;
}

static const struct file_ops inotify_ops = {
    .release = in_release,
    .read = in_read,
    .ioctl = in_ioctl,
    .poll = in_poll,
    .epoll_release_hook = true,
    .stream = true,
};

int moat_inotify_init1(int flags) {
  if (flags & ~(int)(LINUX_O_NONBLOCK | LINUX_O_CLOEXEC))
    return -LINUX_EINVAL;
  struct in_shared *s = shared();
  if (!s)
    return -LINUX_ENOMEM;
  rt_lock(&s->lock);
  bool full = s->instances >= INOTIFY_MAX_INSTANCES;
  if (!full) {
    s->instances++;
    s->used = 1;
  }
  rt_unlock(&s->lock);
  if (full)
    return -LINUX_EMFILE;
  struct in_dev *d = kzalloc(sizeof(*d));
  struct file *f = NULL;
  int rc = d ? anon_file_create(&inotify_ops, d, "inotify",
                                LINUX_O_RDONLY | (flags & LINUX_O_NONBLOCK), &f)
             : -LINUX_ENOMEM;
  if (rc < 0) {
    kfree(d);
    rt_lock(&s->lock);
    s->instances--;
    rt_unlock(&s->lock);
    return rc;
  }
  rc = anon_file_install(f, flags & LINUX_O_CLOEXEC);
  file_put(f);
  return rc;
}

static struct file *inotify_file(int fd, int *err) {
  struct file *f = fdt_lookup(proc_current_fdt(), fd);
  if (!f || (f->flags & LINUX_O_PATH)) {
    file_put(f);
    *err = -LINUX_EBADF;
    return NULL;
  }
  if (f->ops != &inotify_ops) {
    file_put(f);
    *err = -LINUX_EINVAL;
    return NULL;
  }
  return f;
}

int moat_inotify_add_watch(int fd, const char *path, uint32_t mask) {
  const uint32_t all = IN_ALL_EVENTS | IN_UNMOUNT | IN_Q_OVERFLOW | IN_IGNORED |
                       IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK |
                       IN_MASK_CREATE | IN_MASK_ADD | IN_ISDIR | IN_ONESHOT;
  if (!(mask & all))
    return -LINUX_EINVAL;
  if ((mask & IN_MASK_ADD) && (mask & IN_MASK_CREATE))
    return -LINUX_EINVAL;
  int rc;
  struct file *f = inotify_file(fd, &rc);
  if (!f)
    return rc;
  struct in_dev *d = dev_of(f);
  struct in_shared *s = shared_if_any();
  struct inode *inode = NULL;
  unsigned rflags = (mask & IN_DONT_FOLLOW) ? 0 : VFS_FOLLOW;
  if (mask & IN_ONLYDIR)
    rflags |= VFS_DIRECTORY;
  rc = vfs_resolve(NULL, path, rflags, &inode);
  if (rc == 0)
    rc = vfs_permission(inode, LINUX_R_OK);
  if (rc < 0)
    goto out;
  uint32_t keep = mask & (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK);
  rt_lock(&s->lock);
  struct in_watch *w = inode->inotify;
  while (w && w->dev != d)
    w = w->next_inode;
  if (w) {
    if (mask & IN_MASK_CREATE)
      rc = -LINUX_EEXIST;
    else {
      w->mask = (mask & IN_MASK_ADD) ? w->mask | keep : keep;
      rc = w->wd;
    }
  } else if (s->watches >= INOTIFY_MAX_WATCHES) {
    rc = -LINUX_ENOSPC;
  } else if (!(w = kzalloc(sizeof(*w)))) {
    rc = -LINUX_ENOMEM;
  } else {
    w->inode = inode;
    inode = NULL; /* the watch's reference now */
    w->dev = d;
    w->mask = keep;
    if (d->last_wd == INT32_MAX)
      d->last_wd = 0;
    w->wd = ++d->last_wd;
    w->next_inode = w->inode->inotify;
    w->inode->inotify = w;
    w->next_dev = d->watches;
    d->watches = w;
    __atomic_add_fetch(&s->watches, 1, __ATOMIC_RELAXED);
    rc = w->wd;
  }
  rt_unlock(&s->lock);
out:
  vfs_inode_put(inode);
  file_put(f);
  return rc;
}

int moat_inotify_rm_watch(int fd, int wd) {
  int rc;
  struct file *f = inotify_file(fd, &rc);
  if (!f)
    return rc;
  struct in_dev *d = dev_of(f);
  struct in_shared *s = shared_if_any();
  struct inode *inode = NULL;
  rt_lock(&s->lock);
  struct in_watch *w = d->watches;
  while (w && w->wd != wd)
    w = w->next_dev;
  rc = -LINUX_EINVAL;
  if (w) {
    queue_locked(d, w->wd, IN_IGNORED, 0, NULL);
    unhook_locked(s, w);
    inode = w->inode;
    kfree(w);
    rc = 0;
  }
  rt_unlock(&s->lock);
  vfs_inode_put(inode);
  file_put(f);
  return rc;
}
