/* Clocks, sleeping and randomness: clock_gettime/getres over the South
 * clocks, clock_nanosleep on a futex word that a signal wakes, getrandom
 * over the host's random source. */
#include "moat/moat.h"
#include "moat/platform.h"
#include "rt.h"
#include "task.h"

#define NSEC_PER_SEC 1000000000ll
#define COARSE_RES_NS 4000000 /* a 250 Hz tick, as a common Linux build */
#define GRND_INSECURE 4
#define MAX_RW_COUNT 0x7ffff000ul /* INT_MAX rounded down to a page */

static void ns_to_ts(int64_t ns, struct linux_timespec *ts) {
  if (ns < 0)
    ns = 0;
  ts->tv_sec = ns / NSEC_PER_SEC;
  ts->tv_nsec = ns % NSEC_PER_SEC;
}

static int read_clock(int clock, int64_t *ns) {
  switch (clock) {
  case LINUX_CLOCK_REALTIME:
  case LINUX_CLOCK_REALTIME_COARSE:
    *ns = rt_realtime_ns();
    return 0;
  case LINUX_CLOCK_MONOTONIC:
  case LINUX_CLOCK_MONOTONIC_RAW:
  case LINUX_CLOCK_MONOTONIC_COARSE:
  case LINUX_CLOCK_BOOTTIME:
    *ns = rt_now_ns();
    return 0;
  case LINUX_CLOCK_PROCESS_CPUTIME_ID:
  case LINUX_CLOCK_THREAD_CPUTIME_ID: {
    int64_t v = 0;
    int err = plat_clock(PLAT_CLOCK_CPU, &v);
    if (err)
      return err;
    *ns = v < 0 ? 0 : v; /* the host is untrusted */
    return 0;
  }
  default:
    return -LINUX_EINVAL;
  }
}

int moat_clock_gettime(int clock, struct linux_timespec *ts) {
  int64_t ns;
  int err = read_clock(clock, &ns);
  if (err)
    return err;
  ns_to_ts(ns, ts);
  return 0;
}

int moat_clock_getres(int clock, struct linux_timespec *ts) {
  int64_t res;
  switch (clock) {
  case LINUX_CLOCK_REALTIME_COARSE:
  case LINUX_CLOCK_MONOTONIC_COARSE:
    res = COARSE_RES_NS;
    break;
  case LINUX_CLOCK_REALTIME:
  case LINUX_CLOCK_MONOTONIC:
  case LINUX_CLOCK_MONOTONIC_RAW:
  case LINUX_CLOCK_BOOTTIME:
  case LINUX_CLOCK_PROCESS_CPUTIME_ID:
  case LINUX_CLOCK_THREAD_CPUTIME_ID:
    res = 1;
    break;
  default:
    return -LINUX_EINVAL;
  }
  if (ts)
    ns_to_ts(res, ts);
  return 0;
}

int moat_clock_nanosleep(int clock, int flags, const struct linux_timespec *req,
                         struct linux_timespec *rem) {
  switch (clock) {
  case LINUX_CLOCK_REALTIME:
  case LINUX_CLOCK_MONOTONIC:
  case LINUX_CLOCK_BOOTTIME:
    break;
  case LINUX_CLOCK_THREAD_CPUTIME_ID:
    return -LINUX_EINVAL;
  case LINUX_CLOCK_PROCESS_CPUTIME_ID:
    /* Sleeping until a CPU clock advances: not supported. */
    return -LINUX_EOPNOTSUPP;
  case LINUX_CLOCK_MONOTONIC_RAW:
  case LINUX_CLOCK_REALTIME_COARSE:
  case LINUX_CLOCK_MONOTONIC_COARSE:
    return -LINUX_EOPNOTSUPP;
  default:
    return -LINUX_EINVAL;
  }
  if (req->tv_sec < 0 || req->tv_nsec < 0 || req->tv_nsec >= NSEC_PER_SEC)
    return -LINUX_EINVAL;
  bool absolute = flags & LINUX_TIMER_ABSTIME;
  /* Far-future requests sleep "forever" (clamped, no overflow). */
  const int64_t max_sec = INT64_MAX / NSEC_PER_SEC - 1;
  int64_t req_ns = req->tv_sec >= max_sec
                       ? INT64_MAX / 2
                       : req->tv_sec * NSEC_PER_SEC + req->tv_nsec;
  int64_t now;
  int err = read_clock(clock, &now);
  if (err)
    return err;
  int64_t deadline;
  if (absolute)
    deadline = req_ns;
  else
    deadline = now > INT64_MAX - req_ns ? INT64_MAX : now + req_ns;

  struct task *t = task_current();
  for (;;) {
    if (now >= deadline)
      return 0;
    uint32_t seen = __atomic_load_n(&t->wake_word, __ATOMIC_ACQUIRE);
    if (signal_pending(t)) {
      if (rem && !absolute)
        ns_to_ts(deadline - now, rem);
      return -LINUX_EINTR;
    }
    plat_futex_wait(&t->wake_word, seen, deadline - now, true);
    err = read_clock(clock, &now);
    if (err)
      return err;
  }
}

long moat_getrandom(void *buf, size_t len, unsigned flags) {
  if (flags &
      ~(unsigned)(LINUX_GRND_NONBLOCK | LINUX_GRND_RANDOM | GRND_INSECURE))
    return -LINUX_EINVAL;
  if ((flags & GRND_INSECURE) && (flags & LINUX_GRND_RANDOM))
    return -LINUX_EINVAL;
  if (len > MAX_RW_COUNT)
    len = MAX_RW_COUNT;
  size_t done = 0;
  while (done < len) {
    size_t chunk = MIN(len - done, (size_t)1 << 20);
    int err = plat_random((char *)buf + done, chunk);
    if (err)
      return done ? (long)done : err;
    done += chunk;
  }
  return (long)done;
}
