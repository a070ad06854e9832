/* timerfd: a timer on CLOCK_REALTIME, CLOCK_MONOTONIC or CLOCK_BOOTTIME
 * behind an anonymous file, in the arena so that a forked child shares
 * it. Nothing runs at the deadline: the expiration count is worked out
 * from the clock whenever the timer is looked at (read, poll, gettime).
 * A sleeper needs no wake-up either: a blocked reader sleeps until the
 * deadline, and a poll op that sees the timer armed but not yet expired
 * tells the poll sleep when it will be (poll_due_at), so poll, select and
 * epoll_wait wake at the deadline without a polling loop. settime wakes
 * every sleeper (poll_notify_obj) so that they look again. */
#include "moat/moat.h"
#include "poll.h"
#include "task.h"
#include "timer.h"
#include "vfs_impl.h"

#define TFD_TIMER_ABSTIME 1
#define TFD_TIMER_CANCEL_ON_SET 2
#define CLOCK_REALTIME_ALARM 8
#define CLOCK_BOOTTIME_ALARM 9
/* Far enough that no sum of deadline and periods overflows. */
#define TFD_MAX_NS (INT64_MAX / 4)

struct timerfd {
  struct rt_lock lock;
  int clock;
  struct timer_state t;
  uint64_t ticks; /* expirations not yet read */
};

static const struct file_ops timerfd_ops;

/* Caller holds the lock: count the expirations up to the clock's now. */
static int64_t tfd_update(struct timerfd *tf) {
  int64_t now = 0;
  time_read_clock(tf->clock, &now);
  tf->ticks += timer_state_advance(&tf->t, now);
  return now;
}

/* Caller holds the lock; armed, not expired: the poll sleep ends at the
 * deadline (as the monotonic clock counts it). */
static void tfd_due(struct timerfd *tf, int64_t now) {
  if (!tf->t.deadline)
    return;
  int64_t left = tf->t.deadline - now;
  poll_due_at(rt_now_ns() + (left > 0 ? left : 0) + 1);
}

static long tfd_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  (void)pos;
  struct timerfd *tf = f->private;
  uint64_t v = 0;
  if (len < sizeof(v))
    return -LINUX_EINVAL;
  struct poll_wait w;
  long rc;
  poll_wait_begin_key(&w, (f->flags & LINUX_O_NONBLOCK) ? 0 : -1, tf);
  for (;;) {
    poll_wait_arm(&w);
    rt_lock(&tf->lock);
    int64_t now = tfd_update(tf);
    if (tf->ticks) {
      v = tf->ticks;
      tf->ticks = 0;
      rt_unlock(&tf->lock);
      rc = 0;
      break;
    }
    tfd_due(tf, now);
    rt_unlock(&tf->lock);
    rc = poll_wait_sleep(&w);
    if (rc == -LINUX_ETIMEDOUT) {
      rc = -LINUX_EAGAIN;
      break;
    }
    if (rc < 0)
      break;
  }
  poll_wait_end(&w);
  if (rc < 0)
    return rc;
  if (rt_ucopy(buf, &v, sizeof(v)))
    return -LINUX_EFAULT; /* consumed all the same, as on Linux */
  return sizeof(v);
}

static unsigned tfd_poll(struct file *f, unsigned events) {
  struct timerfd *tf = f->private;
  unsigned ready = 0;
  rt_lock(&tf->lock);
  int64_t now = tfd_update(tf);
  if (tf->ticks)
    ready = VFS_POLLIN | VFS_POLLRDNORM;
  else
    tfd_due(tf, now);
  rt_unlock(&tf->lock);
  return ready & (events | VFS_POLLERR | VFS_POLLHUP);
}

static void tfd_release(struct file *f) {
  epoll_file_released(f);
  kfree(f->private);
  f->private = NULL;
}

static const struct file_ops timerfd_ops = {
    .release = tfd_release,
    .read = tfd_read,
    .poll = tfd_poll,
    .epoll_release_hook = true,
    .stream = true,
};

int moat_timerfd_create(int clock, int flags) {
  if (flags & ~(int)(LINUX_O_NONBLOCK | LINUX_O_CLOEXEC))
    return -LINUX_EINVAL;
  switch (clock) {
  case LINUX_CLOCK_REALTIME:
  case LINUX_CLOCK_MONOTONIC:
  case LINUX_CLOCK_BOOTTIME:
    break;
  case CLOCK_REALTIME_ALARM:
  case CLOCK_BOOTTIME_ALARM:
    return -LINUX_EPERM; /* needs CAP_WAKE_ALARM of the host */
  default:
    return -LINUX_EINVAL;
  }
  struct timerfd *tf = kzalloc(sizeof(*tf));
  if (!tf)
    return -LINUX_ENOMEM;
  tf->clock = clock;
  struct file *f;
  int rc = anon_file_create(&timerfd_ops, tf, "[timerfd]",
                            LINUX_O_RDWR | (flags & LINUX_O_NONBLOCK), &f);
  if (rc < 0) {
    kfree(tf);
    return rc;
  }
  rc = anon_file_install(f, flags & LINUX_O_CLOEXEC);
  file_put(f);
  return rc;
}

/* The timerfd at fd (a reference the caller puts), or NULL with *err. */
static struct file *tfd_lookup(int fd, int *err) {
  struct fd_table *t = proc_current_fdt();
  struct file *f = t ? fdt_lookup(t, fd) : NULL;
  *err = -LINUX_EBADF;
  if (!f)
    return NULL;
  if (f->ops != &timerfd_ops || (f->flags & LINUX_O_PATH)) {
    *err = (f->flags & LINUX_O_PATH) ? -LINUX_EBADF : -LINUX_EINVAL;
    file_put(f);
    return NULL;
  }
  return f;
}

/* Caller holds the lock and updated: the time left and the period. */
static void tfd_current(struct timerfd *tf, int64_t now, int64_t cur[2]) {
  cur[0] = tf->t.deadline ? MAX(tf->t.deadline - now, 1) : 0;
  cur[1] = tf->t.interval;
}

int moat_timerfd_settime(int fd, int flags, const int64_t val[2],
                         int64_t old[2]) {
  if (flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET))
    return -LINUX_EINVAL;
  if (val[0] < 0 || val[1] < 0)
    return -LINUX_EINVAL;
  int err;
  struct file *f = tfd_lookup(fd, &err);
  if (!f)
    return err;
  struct timerfd *tf = f->private;
  rt_lock(&tf->lock);
  int64_t now = tfd_update(tf);
  if (old)
    tfd_current(tf, now, old);
  /* The clock of the sandbox is never set, so CANCEL_ON_SET never
   * cancels: accepted as Linux accepts it. */
  tf->ticks = 0;
  int64_t v = MIN(val[0], TFD_MAX_NS), i = MIN(val[1], TFD_MAX_NS);
  if (!v) {
    tf->t.deadline = 0;
  } else {
    tf->t.deadline = (flags & TFD_TIMER_ABSTIME) ? v : now + v;
    if (tf->t.deadline <= 0)
      tf->t.deadline = 1; /* an absolute time in the past: expired */
  }
  tf->t.interval = i;
  rt_unlock(&tf->lock);
  poll_notify_obj(tf);
  file_put(f);
  return 0;
}

int moat_timerfd_gettime(int fd, int64_t cur[2]) {
  int err;
  struct file *f = tfd_lookup(fd, &err);
  if (!f)
    return err;
  struct timerfd *tf = f->private;
  rt_lock(&tf->lock);
  int64_t now = tfd_update(tf);
  tfd_current(tf, now, cur);
  rt_unlock(&tf->lock);
  file_put(f);
  return 0;
}
