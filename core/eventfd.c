/* eventfd: a 64-bit counter in the arena behind an anonymous file, so a
 * forked child shares it. Reads take the whole count (or one, with
 * EFD_SEMAPHORE) and block at zero; writes add and block while the sum
 * would pass 0xfffffffffffffffe. Every change goes through
 * vfs_poll_notify, which also wakes blocked readers and writers, since
 * they sleep as pollers do (core/poll.h). */
#include "moat/moat.h"
#include "poll.h"
#include "task.h"
#include "vfs_impl.h"

#define EFD_SEMAPHORE 1u
#define EFD_MAX 0xfffffffffffffffeull

struct eventfd {
  struct rt_lock lock;
  uint64_t count;
  bool semaphore;
};

static long efd_wait(struct file *f, bool reading, uint64_t add,
                     uint64_t *out) {
  struct eventfd *e = f->private;
  struct poll_wait w;
  long rc;
  poll_wait_begin_key(&w, (f->flags & LINUX_O_NONBLOCK) ? 0 : -1, e);
  for (;;) {
    poll_wait_arm(&w);
    rt_lock(&e->lock);
    if (reading && e->count) {
      *out = e->semaphore ? 1 : e->count;
      e->count -= *out;
      rt_unlock(&e->lock);
      rc = 0;
      break;
    }
    if (!reading && e->count + add <= EFD_MAX && e->count + add >= add) {
      e->count += add;
      rt_unlock(&e->lock);
      rc = 0;
      break;
    }
    rt_unlock(&e->lock);
    rc = poll_wait_sleep(&w);
    if (rc == -LINUX_ETIMEDOUT) {
      rc = -LINUX_EAGAIN;
      break;
    }
    if (rc < 0)
      break;
  }
  poll_wait_end(&w);
  if (rc == 0)
    poll_notify_obj(e);
  return rc;
}

static long efd_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  (void)pos;
  uint64_t v;
  if (len < sizeof(v))
    return -LINUX_EINVAL;
  long rc = efd_wait(f, true, 0, &v);
  if (rc < 0)
    return rc;
  if (rt_ucopy(buf, &v, sizeof(v)))
    return -LINUX_EFAULT; /* consumed all the same, as on Linux */
  return sizeof(v);
}

static long efd_write(struct file *f, const void *buf, size_t len,
                      uint64_t *pos) {
  (void)pos;
  uint64_t v;
  if (len < sizeof(v))
    return -LINUX_EINVAL;
  if (rt_ucopy(&v, buf, sizeof(v)))
    return -LINUX_EFAULT;
  if (v == UINT64_MAX)
    return -LINUX_EINVAL;
  if (v == 0)
    return sizeof(v);
  long rc = efd_wait(f, false, v, NULL);
  return rc < 0 ? rc : (long)sizeof(v);
}

static unsigned efd_poll(struct file *f, unsigned events) {
  struct eventfd *e = f->private;
  unsigned ready = 0;
  rt_lock(&e->lock);
  if (e->count)
    ready |= VFS_POLLIN | VFS_POLLRDNORM;
  if (e->count < EFD_MAX)
    ready |= VFS_POLLOUT | VFS_POLLWRNORM;
  if (e->count == UINT64_MAX) /* cannot happen here: Linux's overflow */
    ready |= VFS_POLLERR;
  rt_unlock(&e->lock);
  return ready & (events | VFS_POLLERR | VFS_POLLHUP);
}

static void efd_release(struct file *f) {
  epoll_file_released(f);
  kfree(f->private);
  f->private = NULL;
}

static const struct file_ops eventfd_ops = {
    .release = efd_release,
    .read = efd_read,
    .write = efd_write,
    .poll = efd_poll,
    .epoll_release_hook = true,
    .stream = true,
};

int moat_eventfd2(unsigned initval, int flags) {
  if (flags & ~(int)(EFD_SEMAPHORE | LINUX_O_NONBLOCK | LINUX_O_CLOEXEC))
    return -LINUX_EINVAL;
  struct eventfd *e = kzalloc(sizeof(*e));
  if (!e)
    return -LINUX_ENOMEM;
  e->count = initval;
  e->semaphore = flags & EFD_SEMAPHORE;
  struct file *f;
  int rc = anon_file_create(&eventfd_ops, e, "[eventfd]",
                            LINUX_O_RDWR | (flags & LINUX_O_NONBLOCK), &f);
  if (rc < 0) {
    kfree(e);
    return rc;
  }
  rc = anon_file_install(f, flags & LINUX_O_CLOEXEC);
  file_put(f);
  return rc;
}
