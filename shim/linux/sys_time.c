/* Time syscalls of the Linux shim: clocks, sleeps and the old
 * gettimeofday/time interfaces, converted to the core's clock calls. */
#include "shim.h"

/* Negative ids are the CPU clocks of clock_getcpuclockid and
 * pthread_getcpuclockid, which the core decodes and checks. */
/* A clock clock_gettime reads (negative: a CPU clock, checked by the
 * core). The alarm clocks read as Linux's without a real-time clock
 * device: EINVAL. */
static bool clock_valid(int clock) {
  return clock <= LINUX_CLOCK_BOOTTIME || clock == LINUX_CLOCK_TAI;
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

/* Linux looks at TIMER_ABSTIME alone among the flags; which clocks
 * sleep is the core's answer (moat_clock_nanosleep), given before the
 * request is read, as Linux orders its checks. */
long sys_clock_nanosleep(SYSARGS) {
  int flags = (int)(a1 & LINUX_TIMER_ABSTIME);
  int err = moat_clock_sleep_check((int)a0);
  if (err < 0)
    return err;
  return sleep_common((int)a0, flags, a2, a3);
}

/* ---- timerfd (core/timerfd.c) ---- */

/* A guest itimerspec {interval, value} into ns {value, interval}. */
static long itimerspec_in(uint64_t g, int64_t v[2]) {
  struct linux_timespec ts[2];
  if (user_read(ts, g, sizeof(ts)) < 0)
    return -LINUX_EFAULT;
  for (int k = 0; k < 2; k++) {
    if (!timespec_valid(&ts[k]))
      return -LINUX_EINVAL;
    v[1 - k] = ts[k].tv_sec >= 9000000000ll
                   ? INT64_MAX / 4
                   : ts[k].tv_sec * 1000000000 + ts[k].tv_nsec;
  }
  return 0;
}

static long itimerspec_out(uint64_t g, const int64_t v[2]) {
  struct linux_timespec ts[2] = {{v[1] / 1000000000, v[1] % 1000000000},
                                 {v[0] / 1000000000, v[0] % 1000000000}};
  return user_write(g, ts, sizeof(ts)) < 0 ? -LINUX_EFAULT : 0;
}

long sys_timerfd_create(SYSARGS) {
  return moat_timerfd_create((int)a0, (int)a1);
}

long sys_timerfd_settime(SYSARGS) {
  int64_t v[2], old[2];
  long err = itimerspec_in(a2, v);
  if (err < 0)
    return err;
  if (a3 &&
      !user_buf_ok(a3, 2 * sizeof(struct linux_timespec), LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  err = moat_timerfd_settime((int)a0, (int)a1, v, a3 ? old : NULL);
  if (err < 0 || !a3)
    return err;
  return itimerspec_out(a3, old);
}

long sys_timerfd_gettime(SYSARGS) {
  int64_t cur[2];
  long err = moat_timerfd_gettime((int)a0, cur);
  if (err < 0)
    return err;
  return itimerspec_out(a1, cur);
}

/* ---- POSIX timers (core/posix_timer.c) ---- */

long sys_timer_create(SYSARGS) {
  struct {
    uint64_t value;
    int32_t signo, notify, tid;
  } gev;
  struct moat_sigevent ev;
  if (a1) {
    if (user_read(&gev, a1, sizeof(gev)) < 0)
      return -LINUX_EFAULT;
    ev.value = gev.value;
    ev.signo = gev.signo;
    ev.notify = gev.notify;
    ev.tid = gev.tid;
  }
  if (!user_buf_ok(a2, sizeof(int32_t), LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  int id = moat_timer_create((int)a0, a1 ? &ev : NULL);
  if (id < 0)
    return id;
  int32_t gid = id;
  if (user_write(a2, &gid, sizeof(gid)) < 0) {
    moat_timer_delete(id);
    return -LINUX_EFAULT;
  }
  return 0;
}

long sys_timer_settime(SYSARGS) {
  int64_t v[2], old[2];
  if (!a2)
    return -LINUX_EINVAL;
  long err = itimerspec_in(a2, v);
  if (err < 0)
    return err;
  if (a3 &&
      !user_buf_ok(a3, 2 * sizeof(struct linux_timespec), LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  err = moat_timer_settime((int)a0, (int)a1, v, a3 ? old : NULL);
  if (err < 0 || !a3)
    return err;
  return itimerspec_out(a3, old);
}

long sys_timer_gettime(SYSARGS) {
  int64_t cur[2];
  long err = moat_timer_gettime((int)a0, cur);
  if (err < 0)
    return err;
  return itimerspec_out(a1, cur);
}

long sys_timer_getoverrun(SYSARGS) {
  return moat_timer_getoverrun((int)a0);
}

long sys_timer_delete(SYSARGS) {
  return moat_timer_delete((int)a0);
}
