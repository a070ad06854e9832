/* plat_wait and plat_wake on a Linux host.
 *
 * A wait on a word alone is the host's futex (always the shared kind: the
 * words the core sleeps on live in the arena, shared between the
 * sandbox's host processes; a private word works with it too). A wait
 * that also watches host descriptors is a ppoll of them, and a plat_wake
 * of its word must end that ppoll: the waiter enters its word and its
 * thread's handle in a table shared by every host process of the sandbox
 * (made before the first fork), and plat_wake, after the futex wake,
 * sends PLAT_SIG_WAKE to each thread the table names for that word (once
 * per entry: see plat_wake).
 *
 * No wake is lost: the waiter blocks PLAT_SIG_WAKE, enters the table,
 * and only then compares the word; ppoll unblocks the signal atomically
 * for the sleep alone. A waker changes the word before it calls
 * plat_wake, which reads the table after its futex call: whichever of
 * the two comes second sees the other (every access is sequentially
 * consistent). A signal that comes after the wait stays pending until
 * the mask is restored, where its handler does nothing; one sent by a
 * waker that read the entry just before the waiter left may come after
 * that, and cuts short whatever host call the thread makes then (EINTR,
 * retried as after a SIGCHLD).
 *
 * The table has WAITERS slots; a waiter that finds none free sleeps in
 * steps of FULL_STEP_NS instead (its plat_wait ends with -EINTR, which
 * the contract allows), so a full table costs latency, never a wake. */
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>

#include "plat_linux.h"

#define WAITERS 256
#define FULL_STEP_NS 5000000ll

struct waiter_table {
  uint32_t used; /* >= the slots in use: plat_wake looks only when non-zero */
  struct {
    uint64_t handle; /* 0: free */
    uint32_t *word;
  } slot[WAITERS];
};

static struct waiter_table *g_waiters;

int plat_linux_wait_setup(void) {
  if (g_waiters)
    return 0;
  long r = hsys6(HNR_mmap, 0, sizeof(struct waiter_table),
                 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (r < 0 && r > -4096)
    return (int)r;
  g_waiters = (struct waiter_table *)r;
  return 0;
}

static int futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns) {
  struct linux_timespec ts, *tsp = NULL;
  if (timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    tsp = &ts;
  }
  long r = hsys6(HNR_futex, word, FUTEX_WAIT, expected, tsp, 0, 0);
  if (r == 0 || r == -LINUX_EAGAIN || r == -LINUX_ETIMEDOUT)
    return (int)r;
  return -LINUX_EINTR; /* EINTR, or anything odd: a spurious wake */
}

static int enter_table(uint32_t *word, uint64_t self) {
  struct waiter_table *w = g_waiters;
  if (!w || !self)
    return -1;
  /* Counted before the slot is taken: a process killed in between leaves
   * used too high (plat_wake looks for nothing), never too low, which
   * plat_linux_wait_forget's decrement would make it, and plat_wake would
   * then skip the other waiters' entries. */
  __atomic_add_fetch(&w->used, 1, __ATOMIC_SEQ_CST);
  for (int i = 0; i < WAITERS; i++) {
    uint64_t none = 0;
    if (__atomic_load_n(&w->slot[i].handle, __ATOMIC_RELAXED) == 0 &&
        __atomic_compare_exchange_n(&w->slot[i].handle, &none, self, false,
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
      __atomic_store_n(&w->slot[i].word, word, __ATOMIC_SEQ_CST);
      return i;
    }
  }
  __atomic_sub_fetch(&w->used, 1, __ATOMIC_SEQ_CST);
  return -1;
}

static void leave_table(int i, uint64_t self) {
  struct waiter_table *w = g_waiters;
  __atomic_store_n(&w->slot[i].word, NULL, __ATOMIC_SEQ_CST);
  if (__atomic_compare_exchange_n(&w->slot[i].handle, &self, 0, false,
                                  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
    __atomic_sub_fetch(&w->used, 1, __ATOMIC_SEQ_CST);
}

void plat_linux_wait_forget(int tgid) {
  struct waiter_table *w = g_waiters;
  if (!w || tgid <= 0 || !__atomic_load_n(&w->used, __ATOMIC_SEQ_CST))
    return;
  for (int i = 0; i < WAITERS; i++) {
    uint64_t h = __atomic_load_n(&w->slot[i].handle, __ATOMIC_SEQ_CST);
    if (!h || (int)(h >> 32) != tgid)
      continue;
    /* Its owner is dead: nobody else takes the slot until the handle
     * is 0, so the word goes first. */
    __atomic_store_n(&w->slot[i].word, NULL, __ATOMIC_SEQ_CST);
    if (__atomic_compare_exchange_n(&w->slot[i].handle, &h, 0, false,
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
      __atomic_sub_fetch(&w->used, 1, __ATOMIC_SEQ_CST);
  }
}

struct host_pollfd {
  int32_t fd;
  int16_t events, revents;
};

int plat_wait(uint32_t *word, uint32_t expected, struct plat_io *io, int nio,
              int64_t timeout_ns) {
  plat_count(PF_WAIT);
  if (nio < 0 || nio > PLAT_WAIT_IO_MAX || (nio && !io))
    return -LINUX_EINVAL;
  if (nio == 0) {
    if (word)
      return futex_wait(word, expected, timeout_ns);
    if (timeout_ns == 0)
      return -LINUX_ETIMEDOUT;
  }
  struct host_pollfd pfd[PLAT_WAIT_IO_MAX];
  int ready = 0;
  for (int i = 0; i < nio; i++) {
    io[i].revents = 0;
    if (io[i].kind < PLAT_IO_STREAM || io[i].kind > PLAT_IO_PUBLISHED)
      return -LINUX_EINVAL;
    int fd = plat_linux_io_fd(io[i].kind, io[i].handle);
    /* A negative fd is skipped by ppoll; the entry reports POLLNVAL. */
    pfd[i] = (struct host_pollfd){fd < 0 ? -1 : fd,
                                  (int16_t)(io[i].events & 0x3fff), 0};
    if (fd < 0) {
      io[i].revents = POLLNVAL;
      ready++;
    }
  }
  if (ready)
    timeout_ns = 0;

  uint64_t wake = 1ull << (PLAT_SIG_WAKE - 1), old = 0;
  int slot = -1;
  bool stepped = false;
  uint64_t self = word ? plat_ctx_self() : 0;
  if (word) {
    hsys4(HNR_rt_sigprocmask, SIG_BLOCK, &wake, &old, 8);
    slot = enter_table(word, self);
    if (slot < 0 && (timeout_ns < 0 || timeout_ns > FULL_STEP_NS)) {
      timeout_ns = FULL_STEP_NS;
      stepped = true;
    }
    if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != expected) {
      if (slot >= 0)
        leave_table(slot, self);
      hsys4(HNR_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
      return -LINUX_EAGAIN;
    }
  }
  struct linux_timespec ts, *tsp = NULL;
  if (timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    tsp = &ts;
  }
  uint64_t during = old & ~wake;
  long r = hsys5(HNR_ppoll, pfd, nio, tsp, word ? &during : NULL, 8);
  if (word) {
    if (slot >= 0)
      leave_table(slot, self);
    hsys4(HNR_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
  }
  if (r < 0) {
    if (ready)
      return ready;
    if (word && __atomic_load_n(word, __ATOMIC_SEQ_CST) != expected)
      return 0;
    return -LINUX_EINTR;
  }
  for (int i = 0; i < nio; i++) {
    if (pfd[i].fd < 0)
      continue;
    io[i].revents = (uint16_t)pfd[i].revents;
    if (io[i].revents)
      ready++;
  }
  if (ready)
    return ready;
  if (word && __atomic_load_n(word, __ATOMIC_SEQ_CST) != expected)
    return 0;
  return stepped ? -LINUX_EINTR : -LINUX_ETIMEDOUT;
}

int plat_wake(uint32_t *word, int count) {
  plat_count(PF_WAKE);
  if (count < 0)
    return -LINUX_EINVAL;
  long r = hsys6(HNR_futex, word, FUTEX_WAKE, count, 0, 0, 0);
  struct waiter_table *w = g_waiters;
  /* One signal per entry ends its ppoll, so only the waker that marks
   * the entry (its word's low bit, free in an aligned word) sends one.
   * PLAT_SIG_WAKE is a real-time signal, which queues: sent at every
   * wake, hundreds piled up while a busy host had not yet run the waiter
   * (once nested frames that overflowed its signal stack,
   * tests/unit/wait_signals.c; its handler now defers it, context.c, but
   * each would still be one more host signal delivery). A marked entry no
   * longer matches word; leaving the table clears the mark with it. */
  uint32_t *marked = (uint32_t *)((uintptr_t)word | 1);
  if (w && __atomic_load_n(&w->used, __ATOMIC_SEQ_CST)) {
    for (int i = 0; i < WAITERS; i++) {
      uint32_t *seen = __atomic_load_n(&w->slot[i].word, __ATOMIC_SEQ_CST);
      if (seen != word ||
          !__atomic_compare_exchange_n(&w->slot[i].word, &seen, marked, false,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        continue;
      uint64_t h = __atomic_load_n(&w->slot[i].handle, __ATOMIC_SEQ_CST);
      int tgid = (int)(h >> 32), tid = (int)(uint32_t)h;
      if (tgid > 0 && tid > 0)
        hsys3(HNR_tgkill, tgid, tid, PLAT_SIG_WAKE);
    }
  }
  if (r < 0)
    return (int)r;
  return r > count ? count : (int)r;
}
