/* poll and select in the Linux shim, for what can be answered without
 * readiness tracking in the core: regular files, directories, block
 * devices and the always-ready character devices (null, zero, full,
 * random, urandom) are ready at once, as Linux reports them; waiting on
 * no descriptor at all is a sleep. For the others (pipes, terminals, the
 * host's streams) only two answers are certain: bytes waiting to be read
 * (FIONREAD) mean readable, and a wait without timeout on that one
 * descriptor alone may as well return at once, since the read or write
 * that follows blocks exactly as long as the wait would have. Anything
 * else fails with ENOSYS and a one-time warning, rather than guess. */
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
#define READY_IN (POLLIN | POLLRDNORM)
#define READY_OUT (POLLOUT | POLLWRNORM)
#define SELECT_MAX_FDS 1024

struct shim_pollfd {
  int32_t fd;
  int16_t events;
  int16_t revents;
};

enum readiness { FD_BAD, FD_ALWAYS, FD_UNKNOWN };

/* Can fd take a write without blocking, as far as we can tell? A pipe
 * with room left can; a terminal or host stream is taken as writable (a
 * write that has to wait for the host blocks as the wait would have). */
static bool writable(int fd) {
  struct linux_stat st;
  int32_t queued = 0;
  long size;
  if (moat_fstat(fd, &st) < 0)
    return false;
  if (LINUX_S_ISTYPE(st.st_mode, LINUX_S_IFCHR))
    return true;
  if (!LINUX_S_ISTYPE(st.st_mode, LINUX_S_IFIFO))
    return false;
  size = moat_fcntl(fd, LINUX_F_GETPIPE_SZ, 0);
  if (size <= 0 || moat_ioctl(fd, LINUX_FIONREAD, &queued) < 0)
    return false;
  return queued >= 0 && queued < size;
}

static enum readiness classify(int fd) {
  struct linux_stat st;
  uint64_t major, minor;
  if (fd < 0 || moat_fstat(fd, &st) < 0)
    return FD_BAD;
  switch (st.st_mode & LINUX_S_IFMT) {
  case LINUX_S_IFREG:
  case LINUX_S_IFDIR:
  case LINUX_S_IFBLK:
    return FD_ALWAYS;
  case LINUX_S_IFCHR:
    major = (st.st_rdev >> 8) & 0xfff;
    minor = (st.st_rdev & 0xff) | ((st.st_rdev >> 12) & ~0xffull);
    /* mem devices: null 3, zero 5, full 7, random 8, urandom 9 */
    if (major == 1 &&
        (minor == 3 || minor == 5 || minor == 7 || minor == 8 || minor == 9))
      return FD_ALWAYS;
    return FD_UNKNOWN;
  default:
    return FD_UNKNOWN;
  }
}

static bool bytes_waiting(int fd) {
  int32_t n = 0;
  return moat_ioctl(fd, LINUX_FIONREAD, &n) == 0 && n > 0;
}

static long unknown_readiness(void) {
  static bool warned;
  if (!warned) {
    warned = true;
    moat_log("moat: warning: poll/select on pipes, terminals and streams "
             "is not supported yet\n");
  }
  return -LINUX_ENOSYS;
}

/* Nothing is ready: sleep for timeout_ns (< 0: until a signal). */
static long wait_nothing(int64_t timeout_ns) {
  struct linux_timespec ts;
  int err;
  if (timeout_ns == 0)
    return 0;
  if (timeout_ns < 0) {
    for (;;) {
      ts.tv_sec = 3600;
      ts.tv_nsec = 0;
      err = moat_clock_nanosleep(LINUX_CLOCK_MONOTONIC, 0, &ts, NULL);
      if (err < 0)
        return err == -LINUX_EINTR ? -LINUX_ERESTARTNOHAND : err;
    }
  }
  ts.tv_sec = timeout_ns / 1000000000;
  ts.tv_nsec = timeout_ns % 1000000000;
  err = moat_clock_nanosleep(LINUX_CLOCK_MONOTONIC, 0, &ts, NULL);
  if (err == -LINUX_EINTR)
    return -LINUX_EINTR; /* poll and select are not restarted */
  return err < 0 ? err : 0;
}

static long do_poll(uint64_t gfds, uint64_t nfds, int64_t timeout_ns) {
  struct shim_pollfd *fds;
  struct linux_rlimit lim;
  long ready = 0, unknown = 0, err;
  uint64_t last_unknown = 0;

  if (moat_prlimit(0, LINUX_RLIMIT_NOFILE, NULL, &lim) == 0 &&
      nfds > lim.rlim_cur)
    return -LINUX_EINVAL;
  if (nfds > 65536)
    return -LINUX_EINVAL;
  if (nfds == 0)
    return wait_nothing(timeout_ns);
  fds = kmalloc((size_t)nfds * sizeof(*fds));
  if (!fds)
    return -LINUX_ENOMEM;
  err = user_read(fds, gfds, (size_t)nfds * sizeof(*fds));
  if (err < 0)
    goto out;
  for (uint64_t i = 0; i < nfds; i++) {
    fds[i].revents = 0;
    if (fds[i].fd < 0)
      continue;
    switch (classify(fds[i].fd)) {
    case FD_BAD:
      fds[i].revents = POLLNVAL;
      break;
    case FD_ALWAYS:
      fds[i].revents =
          (int16_t)(fds[i].events & (READY_IN | READY_OUT | POLLWRBAND));
      break;
    case FD_UNKNOWN:
      if ((fds[i].events & READY_IN) && bytes_waiting(fds[i].fd))
        fds[i].revents = (int16_t)(fds[i].events & READY_IN);
      if ((fds[i].events & READY_OUT) && writable(fds[i].fd))
        fds[i].revents |= (int16_t)(fds[i].events & READY_OUT);
      if (!fds[i].revents && (fds[i].events & (READY_IN | READY_OUT))) {
        unknown++;
        last_unknown = i;
      }
      break;
    }
    if (fds[i].revents)
      ready++;
  }
  if (!ready && unknown == 1 && timeout_ns < 0) {
    fds[last_unknown].revents =
        (int16_t)(fds[last_unknown].events & (READY_IN | READY_OUT));
    ready = 1;
  } else if (!ready && unknown) {
    err = unknown_readiness();
    goto out;
  }
  if (!ready) {
    err = wait_nothing(timeout_ns);
    if (err < 0)
      goto out;
  }
  err = user_write(gfds, fds, (size_t)nfds * sizeof(*fds));
  if (err == 0)
    err = ready;
out:
  kfree(fds);
  return err;
}

long sys_poll(SYSARGS) {
  int timeout = (int)a2;
  return do_poll(a0, (uint32_t)a1,
                 timeout < 0 ? -1 : (int64_t)timeout * 1000000);
}

static long read_sigmask_arg(uint64_t gmask, uint64_t size, bool *set) {
  uint64_t mask;
  *set = false;
  if (!gmask)
    return 0;
  if (size != sizeof(mask))
    return -LINUX_EINVAL;
  if (user_read(&mask, gmask, sizeof(mask)) < 0)
    return -LINUX_EFAULT;
  shim_sigmask_swap(mask);
  *set = true;
  return 0;
}

static long timespec_ns(uint64_t gts, int64_t *out) {
  struct linux_timespec ts;
  *out = -1;
  if (!gts)
    return 0;
  if (user_read(&ts, gts, sizeof(ts)) < 0)
    return -LINUX_EFAULT;
  if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
    return -LINUX_EINVAL;
  *out = ts.tv_sec >= 9000000000ll ? INT64_MAX
                                   : ts.tv_sec * 1000000000 + ts.tv_nsec;
  return 0;
}

/* ppoll and pselect6 write back the time left: none after a wait that
 * ran out (an immediate answer leaves the whole timeout, unchanged). */
static long zero_time_left(uint64_t gts, long ret) {
  struct linux_timespec zero = {0, 0};
  if (gts && ret == 0 && user_write(gts, &zero, sizeof(zero)) < 0)
    return -LINUX_EFAULT;
  return ret;
}

long sys_ppoll(SYSARGS) {
  int64_t timeout;
  bool masked;
  long err = timespec_ns(a2, &timeout);
  if (err < 0)
    return err;
  err = read_sigmask_arg(a3, a4, &masked);
  if (err < 0)
    return err;
  err = do_poll(a0, (uint32_t)a1, timeout);
  return zero_time_left(a2, err);
}

/* select's three bit sets, each nfds bits rounded up to whole longs. */
static long do_select(int nfds, uint64_t gsets[3], int64_t timeout_ns) {
  uint64_t in[3][SELECT_MAX_FDS / 64], out[3][SELECT_MAX_FDS / 64];
  size_t bytes;
  long ready = 0, unknown = 0, err;
  int last_unknown = 0;

  if (nfds < 0)
    return -LINUX_EINVAL;
  if (nfds > SELECT_MAX_FDS)
    nfds = SELECT_MAX_FDS;
  bytes = (size_t)ALIGN_UP(nfds, 64) / 8;
  memset(in, 0, sizeof(in));
  memset(out, 0, sizeof(out));
  for (int s = 0; s < 3; s++)
    if (gsets[s] && user_read(in[s], gsets[s], bytes) < 0)
      return -LINUX_EFAULT;
  for (int fd = 0; fd < nfds; fd++) {
    uint64_t bit = 1ull << (fd % 64);
    bool want_in = in[0][fd / 64] & bit, want_out = in[1][fd / 64] & bit,
         want_ex = in[2][fd / 64] & bit;
    if (!want_in && !want_out && !want_ex)
      continue;
    switch (classify(fd)) {
    case FD_BAD:
      return -LINUX_EBADF;
    case FD_UNKNOWN: {
      bool got = false;
      if (want_in && bytes_waiting(fd)) {
        out[0][fd / 64] |= bit;
        ready++;
        got = true;
      }
      if (want_out && writable(fd)) {
        out[1][fd / 64] |= bit;
        ready++;
        got = true;
      }
      if (!got && (want_in || want_out)) {
        unknown++;
        last_unknown = fd;
      }
    }
      continue;
    case FD_ALWAYS:
      break;
    }
    if (want_in) {
      out[0][fd / 64] |= bit;
      ready++;
    }
    if (want_out) {
      out[1][fd / 64] |= bit;
      ready++;
    }
  }
  if (!ready && unknown == 1 && timeout_ns < 0) {
    uint64_t bit = 1ull << (last_unknown % 64);
    for (int set = 0; set < 2; set++)
      if (in[set][last_unknown / 64] & bit) {
        out[set][last_unknown / 64] |= bit;
        ready++;
      }
  } else if (!ready && unknown) {
    return unknown_readiness();
  }
  if (!ready) {
    err = wait_nothing(timeout_ns);
    if (err < 0)
      return err;
  }
  for (int s = 0; s < 3; s++)
    if (gsets[s] && user_write(gsets[s], out[s], bytes) < 0)
      return -LINUX_EFAULT;
  return ready;
}

long sys_select(SYSARGS) {
  uint64_t sets[3] = {a1, a2, a3};
  int64_t timeout = -1;
  long ret;
  if (a4) {
    struct linux_timeval tv;
    if (user_read(&tv, a4, sizeof(tv)) < 0)
      return -LINUX_EFAULT;
    if (tv.tv_sec < 0 || tv.tv_usec < 0)
      return -LINUX_EINVAL;
    /* Linux normalises a large tv_usec instead of refusing it. */
    timeout = tv.tv_sec >= 9000000000ll || tv.tv_usec >= 9000000000000ll
                  ? INT64_MAX
                  : tv.tv_sec * 1000000000 + tv.tv_usec * 1000;
  }
  ret = do_select((int)a0, sets, timeout);
  /* Linux writes back the time left; nothing is left after a full wait
   * and the whole timeout is left after an immediate answer. */
  if (a4 && ret == 0) {
    struct linux_timeval zero = {0, 0};
    if (user_write(a4, &zero, sizeof(zero)) < 0)
      return -LINUX_EFAULT;
  }
  return ret;
}

long sys_pselect6(SYSARGS) {
  uint64_t sets[3] = {a1, a2, a3};
  int64_t timeout;
  bool masked;
  long err = timespec_ns(a4, &timeout);
  if (err < 0)
    return err;
  if (a5) {
    uint64_t sig[2]; /* { const sigset_t *ss; size_t ss_len; } */
    if (user_read(sig, a5, sizeof(sig)) < 0)
      return -LINUX_EFAULT;
    err = read_sigmask_arg(sig[0], sig[1], &masked);
    if (err < 0)
      return err;
  }
  err = do_select((int)a0, sets, timeout);
  return zero_time_left(a4, err);
}
