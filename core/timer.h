/* Shared by the core's timers: clock readings (core/time.c) and the
 * expiry arithmetic of timerfds (core/timerfd.c) and POSIX timers
 * (core/posix_timer.c). */
#ifndef MOAT_CORE_TIMER_H
#define MOAT_CORE_TIMER_H

#include "rt.h"

/* Read a Linux clock in ns: 0 or -EINVAL. */
int time_read_clock(int clock, int64_t *ns);

/* A timer's expiry state on one clock: deadline 0 = disarmed. */
struct timer_state {
  int64_t deadline; /* on the timer's clock */
  int64_t interval; /* 0: one-shot */
};

/* Move t past now: the number of expirations that happened (0 if none),
 * the deadline advanced by whole periods (or disarmed when one-shot). */
static inline uint64_t timer_state_advance(struct timer_state *t, int64_t now) {
  if (!t->deadline || now < t->deadline)
    return 0;
  if (!t->interval) {
    t->deadline = 0;
    return 1;
  }
  uint64_t n = 1 + (uint64_t)((now - t->deadline) / t->interval);
  t->deadline += (int64_t)n * t->interval;
  return n;
}
#endif
