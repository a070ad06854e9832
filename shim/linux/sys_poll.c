/* poll, ppoll, select and pselect6 in the Linux shim: guest memory and
 * the argument rules here, readiness and sleeping in the core (moat_poll,
 * which wakes on any change in the sandbox and on signals, across guest
 * processes). select's bit sets become a pollfd array with Linux's
 * mapping of poll bits to the three sets. */
#include "shim.h"

#define POLLIN 0x001
#define POLLPRI 0x002
#define POLLOUT 0x004
#define POLLERR 0x008
#define POLLHUP 0x010
#define POLLNVAL 0x020
#define POLLRDNORM 0x040
#define POLLRDBAND 0x080
#define POLLWRNORM 0x100
#define POLLWRBAND 0x200
#define SELECT_IN (POLLIN | POLLRDNORM | POLLHUP | POLLERR)
#define SELECT_OUT (POLLOUT | POLLWRNORM | POLLERR)
#define SELECT_EX POLLPRI
#define POLL_MAX_FDS 65536u

static uint32_t nofile_limit(void) {
  struct linux_rlimit lim;
  if (moat_prlimit(0, LINUX_RLIMIT_NOFILE, NULL, &lim) < 0)
    return 1024;
  return lim.rlim_cur > POLL_MAX_FDS ? POLL_MAX_FDS : (uint32_t)lim.rlim_cur;
}

/* timeout_ns < 0: forever. *left: time not used (for ppoll/pselect6). */
static long do_poll(uint64_t gfds, uint64_t nfds, int64_t timeout_ns,
                    int64_t *left) {
  struct moat_pollfd *fds = NULL;
  long ret;
  int64_t start = 0;
  if (nfds > nofile_limit())
    return -LINUX_EINVAL;
  if (nfds) {
    fds = kmalloc((size_t)nfds * sizeof(*fds));
    if (!fds)
      return -LINUX_ENOMEM;
    if (user_read(fds, gfds, (size_t)nfds * sizeof(*fds)) < 0) {
      ret = -LINUX_EFAULT;
      goto out;
    }
  }
  if (left)
    start = rt_now_ns();
  ret = moat_poll(fds, (size_t)nfds, timeout_ns);
  if (left && timeout_ns > 0) {
    int64_t used = rt_now_ns() - start;
    *left = used >= timeout_ns ? 0 : timeout_ns - used;
  }
  if (ret == -LINUX_EINTR)
    ret = -LINUX_ERESTARTNOHAND;
  if (ret >= 0 && nfds &&
      user_write(gfds, fds, (size_t)nfds * sizeof(*fds)) < 0)
    ret = -LINUX_EFAULT;
out:
  kfree(fds);
  return ret;
}

long sys_poll(SYSARGS) {
  int timeout = (int)a2;
  return do_poll(a0, (uint32_t)a1,
                 timeout < 0 ? -1 : (int64_t)timeout * 1000000, NULL);
}

long shim_sigmask_arg(uint64_t gmask, uint64_t size) {
  uint64_t mask;
  if (!gmask)
    return 0;
  if (size != sizeof(mask))
    return -LINUX_EINVAL;
  if (user_read(&mask, gmask, sizeof(mask)) < 0)
    return -LINUX_EFAULT;
  shim_sigmask_swap(mask);
  return 0;
}

long shim_timeout_arg(uint64_t gts, int64_t *out) {
  struct linux_timespec ts;
  *out = -1;
  if (!gts)
    return 0;
  if (user_read(&ts, gts, sizeof(ts)) < 0)
    return -LINUX_EFAULT;
  if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
    return -LINUX_EINVAL;
  *out = ts.tv_sec >= 9000000000ll ? INT64_MAX / 4
                                   : ts.tv_sec * 1000000000 + ts.tv_nsec;
  return 0;
}

/* ppoll and pselect6 write back the time left (also when interrupted). */
static long put_time_left(uint64_t gts, int64_t left, long ret) {
  if (!gts || ret == -LINUX_EFAULT)
    return ret;
  struct linux_timespec ts = {left / 1000000000, left % 1000000000};
  if (user_write(gts, &ts, sizeof(ts)) < 0)
    return -LINUX_EFAULT;
  return ret;
}

long sys_ppoll(SYSARGS) {
  int64_t timeout, left = 0;
  long err = shim_timeout_arg(a2, &timeout);
  if (err < 0)
    return err;
  err = shim_sigmask_arg(a3, a4);
  if (err < 0)
    return err;
  err = do_poll(a0, (uint32_t)a1, timeout, &left);
  return put_time_left(a2, left, err);
}

/* select's three bit sets, each nfds bits rounded up to whole longs. */
static long do_select(int nfds, uint64_t gsets[3], int64_t timeout_ns,
                      int64_t *left) {
  uint64_t *sets[3] = {NULL, NULL, NULL};
  struct moat_pollfd *fds = NULL;
  size_t bytes, words, n = 0;
  long ret;
  int64_t start;

  if (nfds < 0)
    return -LINUX_EINVAL;
  if ((uint32_t)nfds > nofile_limit())
    nfds = (int)nofile_limit(); /* Linux clips to its table's size */
  words = (size_t)ALIGN_UP(nfds, 64) / 64;
  bytes = words * 8;
  for (int s = 0; s < 3; s++) {
    sets[s] = kzalloc(bytes ? bytes : 8);
    if (!sets[s]) {
      ret = -LINUX_ENOMEM;
      goto out;
    }
    if (gsets[s] && bytes && user_read(sets[s], gsets[s], bytes) < 0) {
      ret = -LINUX_EFAULT;
      goto out;
    }
  }
  fds = kmalloc((nfds ? (size_t)nfds : 1) * sizeof(*fds));
  if (!fds) {
    ret = -LINUX_ENOMEM;
    goto out;
  }
  for (int fd = 0; fd < nfds; fd++) {
    uint64_t bit = 1ull << (fd % 64);
    int16_t ev = 0;
    if (sets[0][fd / 64] & bit)
      ev |= SELECT_IN;
    if (sets[1][fd / 64] & bit)
      ev |= SELECT_OUT;
    if (sets[2][fd / 64] & bit)
      ev |= SELECT_EX;
    if (!ev)
      continue;
    fds[n].fd = fd;
    fds[n].events = ev;
    fds[n].revents = 0;
    n++;
  }
  start = rt_now_ns();
  /* An invalid descriptor is seen at once (POLLNVAL): look first. */
  ret = moat_poll(fds, n, 0);
  for (size_t i = 0; ret > 0 && i < n; i++)
    if (fds[i].revents & POLLNVAL) {
      ret = -LINUX_EBADF;
      goto out;
    }
  if (ret == 0 && timeout_ns != 0)
    ret = moat_poll(fds, n, timeout_ns);
  if (left && timeout_ns > 0) {
    int64_t used = rt_now_ns() - start;
    *left = used >= timeout_ns ? 0 : timeout_ns - used;
  }
  if (ret == -LINUX_EINTR)
    ret = -LINUX_ERESTARTNOHAND;
  if (ret < 0)
    goto out;
  for (int s = 0; s < 3; s++)
    memset(sets[s], 0, bytes);
  ret = 0;
  for (size_t i = 0; i < n; i++) {
    int fd = fds[i].fd;
    uint64_t bit = 1ull << (fd % 64);
    int16_t got = fds[i].revents;
    if (got & POLLNVAL) {
      ret = -LINUX_EBADF;
      goto out;
    }
    if ((fds[i].events & POLLIN) && (got & SELECT_IN)) {
      sets[0][fd / 64] |= bit;
      ret++;
    }
    if ((fds[i].events & POLLOUT) && (got & SELECT_OUT)) {
      sets[1][fd / 64] |= bit;
      ret++;
    }
    if ((fds[i].events & POLLPRI) && (got & SELECT_EX)) {
      sets[2][fd / 64] |= bit;
      ret++;
    }
  }
  for (int s = 0; s < 3; s++)
    if (gsets[s] && bytes && user_write(gsets[s], sets[s], bytes) < 0) {
      ret = -LINUX_EFAULT;
      goto out;
    }
out:
  for (int s = 0; s < 3; s++)
    kfree(sets[s]);
  kfree(fds);
  return ret;
}

long sys_select(SYSARGS) {
  uint64_t sets[3] = {a1, a2, a3};
  int64_t timeout = -1, left = 0;
  long ret;
  if (a4) {
    struct linux_timeval tv;
    if (user_read(&tv, a4, sizeof(tv)) < 0)
      return -LINUX_EFAULT;
    if (tv.tv_sec < 0 || tv.tv_usec < 0)
      return -LINUX_EINVAL;
    /* Linux normalises a large tv_usec instead of refusing it. */
    timeout = tv.tv_sec >= 9000000000ll || tv.tv_usec >= 9000000000000ll
                  ? INT64_MAX / 4
                  : tv.tv_sec * 1000000000 + tv.tv_usec * 1000;
  }
  ret = do_select((int)a0, sets, timeout, &left);
  /* Linux writes back the time left, also after an interruption. */
  if (a4 && ret != -LINUX_EFAULT) {
    struct linux_timeval tv = {left / 1000000000, (left % 1000000000) / 1000};
    if (user_write(a4, &tv, sizeof(tv)) < 0)
      return -LINUX_EFAULT;
  }
  return ret;
}

long sys_pselect6(SYSARGS) {
  uint64_t sets[3] = {a1, a2, a3};
  int64_t timeout, left = 0;
  long err = shim_timeout_arg(a4, &timeout);
  if (err < 0)
    return err;
  if (a5) {
    uint64_t sig[2]; /* { const sigset_t *ss; size_t ss_len; } */
    if (user_read(sig, a5, sizeof(sig)) < 0)
      return -LINUX_EFAULT;
    err = shim_sigmask_arg(sig[0], sig[1]);
    if (err < 0)
      return err;
  }
  err = do_select((int)a0, sets, timeout, &left);
  return put_time_left(a4, left, err);
}
