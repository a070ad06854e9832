/* Sleeping locks and clocks of the core runtime. The lock is a futex
 * mutex (0 free, 1 held, 2 held with waiters) whose word may live in the
 * shared arena, so it works between guest processes; waits go through the
 * South contract's futex calls with shared=true. Each host process counts
 * the arena locks it holds, in the arena, so that its death while holding
 * one is noticed (core/task.c, docs/processes.md). The lock order of
 * every subsystem is in DESIGN.md ("Locks"); with MOAT_LOCK_DEBUG each
 * lock records its holder and checks it (rt.h). */
#include "moat/hot.h"
#include "moat/platform.h"
#include "rt.h"

/* Private to the host process (a forked child points them at its own
 * counter): the arena word counting the arena locks this host process
 * holds, the arena's range, and the sandbox's doom word. The count goes
 * up before the word is taken and down after it is released, so a
 * process that dies at any instant while holding a lock shows a count
 * above zero; a waiter sleeping for a lock does not count. */
static uint32_t *g_held MOAT_PROCESS_HOT;
static const uint32_t *g_doom MOAT_PROCESS_HOT;
static uintptr_t g_arena_lo MOAT_PROCESS_HOT, g_arena_hi MOAT_PROCESS_HOT;

/* A waiter for a lock whose holder died would sleep forever: it looks at
 * the doom word this often. */
#define LOCK_DOOM_CHECK_NS 500000000ll

static inline bool counted(const struct rt_lock *l) {
  return g_held && (uintptr_t)l - g_arena_lo < g_arena_hi - g_arena_lo;
}

static void (*g_on_stall)(void);

void rt_lock_on_stall(void (*fn)(void)) {
  g_on_stall = fn;
}

void rt_lock_account(uint32_t *held, const uint32_t *doom) {
  rt_arena_range(&g_arena_lo, &g_arena_hi);
  if (!g_arena_hi)
    g_arena_hi = ~(uintptr_t)0; /* no arena (hosted tests): count all */
  g_doom = doom;
  __atomic_store_n(&g_held, held, __ATOMIC_SEQ_CST);
}

uint32_t rt_lock_held(void) {
  uint32_t *h = __atomic_load_n(&g_held, __ATOMIC_RELAXED);
  return h ? __atomic_load_n(h, __ATOMIC_SEQ_CST) : 0;
}

#ifdef MOAT_LOCK_DEBUG
static void owner_take(struct rt_lock *l) {
  __atomic_store_n(&l->owner, plat_ctx_self(), __ATOMIC_RELAXED);
}

static void owner_check_not_mine(const struct rt_lock *l) {
  if (__atomic_load_n(&l->owner, __ATOMIC_RELAXED) == plat_ctx_self())
    rt_panic("lock %p taken again by the thread that holds it", (void *)l);
}

void rt_assert_held(const struct rt_lock *l) {
  if (!__atomic_load_n(&l->word, __ATOMIC_RELAXED) ||
      __atomic_load_n(&l->owner, __ATOMIC_RELAXED) != plat_ctx_self())
    rt_panic("lock %p is not held by this thread", (void *)l);
}
#else
static inline void owner_take(struct rt_lock *l) {
  (void)l;
}
static inline void owner_check_not_mine(const struct rt_lock *l) {
  (void)l;
}
#endif

bool rt_trylock(struct rt_lock *l) {
  bool count = counted(l);
  if (count)
    __atomic_add_fetch(g_held, 1, __ATOMIC_SEQ_CST);
  uint32_t c = 0;
  if (__atomic_compare_exchange_n(&l->word, &c, 1, false, __ATOMIC_ACQUIRE,
                                  __ATOMIC_RELAXED)) {
    owner_take(l);
    return true;
  }
  if (count)
    __atomic_sub_fetch(g_held, 1, __ATOMIC_SEQ_CST);
  return false;
}

void rt_lock(struct rt_lock *l) {
  if (rt_trylock(l))
    return;
  owner_check_not_mine(l); /* a self-deadlock, said instead of hung */
  /* Contended: counted only while the word may be ours. */
  bool count = counted(l);
  for (;;) {
    if (count)
      __atomic_add_fetch(g_held, 1, __ATOMIC_SEQ_CST);
    if (__atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE) == 0) {
      owner_take(l);
      return;
    }
    if (count)
      __atomic_sub_fetch(g_held, 1, __ATOMIC_SEQ_CST);
    int r = plat_wait(&l->word, 2, NULL, 0, LOCK_DOOM_CHECK_NS);
    if (r == -LINUX_ETIMEDOUT && g_on_stall)
      g_on_stall(); /* the holder may have died: look for ended children */
    if (g_doom && __atomic_load_n(g_doom, __ATOMIC_ACQUIRE))
      plat_space_exit(125);
  }
}

void rt_unlock(struct rt_lock *l) {
#ifdef MOAT_LOCK_DEBUG
  rt_assert_held(l);
  __atomic_store_n(&l->owner, 0, __ATOMIC_RELAXED);
#endif
  if (__atomic_fetch_sub(&l->word, 1, __ATOMIC_RELEASE) != 1) {
    __atomic_store_n(&l->word, 0, __ATOMIC_RELEASE);
    plat_wake(&l->word, 1);
  }
  if (counted(l))
    __atomic_sub_fetch(g_held, 1, __ATOMIC_SEQ_CST);
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
