/* Time syscalls of the Linux shim: clocks, sleeps and the old
 * gettimeofday/time interfaces, converted to the core's clock calls. */
#include "shim.h"

static bool clock_valid(int clock) {
  return clock >= LINUX_CLOCK_REALTIME && clock <= LINUX_CLOCK_BOOTTIME;
}

static bool timespec_valid(const struct linux_timespec *ts) {
  return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000;
}

long sys_clock_gettime(SYSARGS) {
  struct linux_timespec ts;
  int err;
  if (!clock_valid((int)a0))
    return -LINUX_EINVAL;
  if (!user_buf_ok(a1, sizeof(ts), LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  err = moat_clock_gettime((int)a0, &ts);
  if (err < 0)
    return err;
  return user_write(a1, &ts, sizeof(ts)) < 0 ? -LINUX_EFAULT : 0;
}

long sys_clock_getres(SYSARGS) {
  struct linux_timespec ts;
  int err;
  if (!clock_valid((int)a0))
    return -LINUX_EINVAL;
  err = moat_clock_getres((int)a0, &ts);
  if (err < 0 || !a1)
    return err;
  return user_write(a1, &ts, sizeof(ts)) < 0 ? -LINUX_EFAULT : 0;
}

long sys_gettimeofday(SYSARGS) {
  struct linux_timespec ts;
  if (a0) {
    struct linux_timeval tv;
    int err = moat_clock_gettime(LINUX_CLOCK_REALTIME, &ts);
    if (err < 0)
      return err;
    tv.tv_sec = ts.tv_sec;
    tv.tv_usec = ts.tv_nsec / 1000;
    if (user_write(a0, &tv, sizeof(tv)) < 0)
      return -LINUX_EFAULT;
  }
  if (a1) {
    int32_t tz[2] = {0, 0}; /* UTC, no DST */
    if (user_write(a1, tz, sizeof(tz)) < 0)
      return -LINUX_EFAULT;
  }
  return 0;
}

long sys_time(SYSARGS) {
  struct linux_timespec ts;
  int err = moat_clock_gettime(LINUX_CLOCK_REALTIME, &ts);
  if (err < 0)
    return err;
  if (a0 && user_write(a0, &ts.tv_sec, sizeof(ts.tv_sec)) < 0)
    return -LINUX_EFAULT;
  return ts.tv_sec;
}

static long sleep_common(int clock, int flags, uint64_t greq, uint64_t grem) {
  struct linux_timespec req, rem = {0, 0};
  int err;
  if (user_read(&req, greq, sizeof(req)) < 0)
    return -LINUX_EFAULT;
  if (!timespec_valid(&req))
    return -LINUX_EINVAL;
  err = moat_clock_nanosleep(clock, flags, &req, &rem);
  /* Only a relative sleep reports what was left. */
  if (err == -LINUX_EINTR && grem && !(flags & LINUX_TIMER_ABSTIME) &&
      user_write(grem, &rem, sizeof(rem)) < 0)
    return -LINUX_EFAULT;
  return err;
}

long sys_nanosleep(SYSARGS) {
  return sleep_common(LINUX_CLOCK_MONOTONIC, 0, a0, a1);
}

long sys_clock_nanosleep(SYSARGS) {
  int clock = (int)a0;
  if (clock == LINUX_CLOCK_THREAD_CPUTIME_ID)
    return -LINUX_EINVAL;
  if (!clock_valid(clock) || clock == LINUX_CLOCK_MONOTONIC_RAW ||
      clock == LINUX_CLOCK_REALTIME_COARSE ||
      clock == LINUX_CLOCK_MONOTONIC_COARSE)
    return -LINUX_EOPNOTSUPP;
  if (a1 & ~(uint64_t)LINUX_TIMER_ABSTIME)
    return -LINUX_EINVAL;
  return sleep_common(clock, (int)a1, a2, a3);
}
