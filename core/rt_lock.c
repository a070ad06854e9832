/* Sleeping locks and clocks of the core runtime. The lock is a futex
 * mutex (0 free, 1 held, 2 held with waiters) whose word may live in the
 * shared arena, so it works between guest processes; waits go through the
 * South contract's futex calls with shared=true. */
#include "moat/platform.h"
#include "rt.h"

void rt_lock(struct rt_lock *l) {
  uint32_t c = 0;
  if (__atomic_compare_exchange_n(&l->word, &c, 1, false, __ATOMIC_ACQUIRE,
                                  __ATOMIC_RELAXED))
    return;
  if (c != 2)
    c = __atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE);
  while (c != 0) {
    plat_futex_wait(&l->word, 2, -1, true);
    c = __atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE);
  }
}

void rt_unlock(struct rt_lock *l) {
  if (__atomic_fetch_sub(&l->word, 1, __ATOMIC_RELEASE) != 1) {
    __atomic_store_n(&l->word, 0, __ATOMIC_RELEASE);
    plat_futex_wake(&l->word, 1, true);
  }
}

/* The last monotonic reading, so a host clock that steps backwards never
 * shows through. */
static int64_t g_last_monotonic;

int64_t rt_now_ns(void) {
  int64_t now = 0;
  if (plat_clock(PLAT_CLOCK_MONOTONIC, &now) < 0 || now < 0)
    now = 0;
  int64_t last = __atomic_load_n(&g_last_monotonic, __ATOMIC_RELAXED);
  while (now > last) {
    if (__atomic_compare_exchange_n(&g_last_monotonic, &last, now, true,
                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      return now;
  }
  return last;
}

int64_t rt_realtime_ns(void) {
  int64_t now = 0;
  if (plat_clock(PLAT_CLOCK_REALTIME, &now) < 0)
    return 0;
  return now;
}
