/* epoll_* and eventfd/eventfd2 in the Linux shim: argument and guest
 * memory checks; the sets, counters and sleeping are in the core
 * (core/epoll.c, core/eventfd.c). */
#include "shim.h"

#define EPOLL_MAX_EVENTS ((int)(0x7fffffff / sizeof(struct linux_epoll_event)))

long sys_epoll_create(SYSARGS) {
  if ((int)a0 <= 0)
    return -LINUX_EINVAL;
  return moat_epoll_create1(0);
}

long sys_epoll_create1(SYSARGS) {
  return moat_epoll_create1((int)a0);
}

long sys_epoll_ctl(SYSARGS) {
  struct linux_epoll_event lev = {0, 0};
  if ((int)a1 != 2 /* EPOLL_CTL_DEL */ && user_read(&lev, a3, sizeof(lev)) < 0)
    return -LINUX_EFAULT;
  struct moat_epoll_event ev = {lev.events, lev.data};
  return moat_epoll_ctl((int)a0, (int)a1, (int)a2, &ev);
}

static long epoll_wait_common(uint64_t epfd, uint64_t gev, int maxevents,
                              int64_t timeout_ns) {
  struct moat_epoll_event *ev;
  long ret;
  if (maxevents <= 0 || maxevents > EPOLL_MAX_EVENTS)
    return -LINUX_EINVAL;
  if (!moat_user_ok(gev, (size_t)maxevents * sizeof(struct linux_epoll_event),
                    LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  /* Bounded by what the set can report (one event per item; at least
   * 1024, for items added while this call sleeps): a large maxevents
   * gets every ready item at once, as on Linux, without a buffer sized
   * by the guest's number alone. */
  if (maxevents > 1024) {
    long n = moat_epoll_items((int)epfd);
    if (n < 0)
      return n;
    if (maxevents > MAX(n, 1024))
      maxevents = (int)MAX(n, 1024);
  }
  ev = kmalloc((size_t)maxevents * sizeof(*ev));
  if (!ev)
    return -LINUX_ENOMEM;
  ret = moat_epoll_wait((int)epfd, ev, maxevents, timeout_ns);
  /* -EINTR stays: epoll_wait is never restarted, as on Linux. Linux's
   * layout is packed and smaller: converted in place, front to back
   * (entry i lands below every entry not yet read). */
  struct linux_epoll_event *out = (struct linux_epoll_event *)(void *)ev;
  for (long i = 0; i < ret; i++) {
    struct moat_epoll_event e = ev[i];
    struct linux_epoll_event l = {e.events, e.data};
    memcpy(&out[i], &l, sizeof(l));
  }
  if (ret > 0 && user_write(gev, out, (size_t)ret * sizeof(*out)) < 0)
    ret = -LINUX_EFAULT;
  kfree(ev);
  return ret;
}

long sys_epoll_wait(SYSARGS) {
  int timeout = (int)a3;
  return epoll_wait_common(a0, a1, (int)a2,
                           timeout < 0 ? -1 : (int64_t)timeout * 1000000);
}

long sys_epoll_pwait(SYSARGS) {
  int timeout = (int)a3;
  long err = shim_sigmask_arg(a4, a5);
  if (err < 0)
    return err;
  return epoll_wait_common(a0, a1, (int)a2,
                           timeout < 0 ? -1 : (int64_t)timeout * 1000000);
}

long sys_epoll_pwait2(SYSARGS) {
  int64_t timeout;
  long err = shim_timeout_arg(a3, &timeout);
  if (err < 0)
    return err;
  err = shim_sigmask_arg(a4, a5);
  if (err < 0)
    return err;
  return epoll_wait_common(a0, a1, (int)a2, timeout);
}

long sys_inotify_init(SYSARGS) {
  return moat_inotify_init1(0);
}

long sys_inotify_init1(SYSARGS) {
  return moat_inotify_init1((int)a0);
}

long sys_inotify_add_watch(SYSARGS) {
  char path[LINUX_PATH_MAX];
  int err = user_path(path, a1);
  if (err < 0)
    return err;
  return moat_inotify_add_watch((int)a0, path, (uint32_t)a2);
}

long sys_inotify_rm_watch(SYSARGS) {
  return moat_inotify_rm_watch((int)a0, (int)a1);
}

long sys_eventfd(SYSARGS) {
  return moat_eventfd2((unsigned)a0, 0);
}

long sys_eventfd2(SYSARGS) {
  return moat_eventfd2((unsigned)a0, (int)a1);
}
