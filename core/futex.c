/* Guest futexes: wait queues in the arena, so a waker in another guest
 * process (shared memory) or another thread finds the waiter.
 *
 * A waiter queues its own task (a thread waits on one futex at a time)
 * in a hash bucket and sleeps on its task's wake word, the same word a
 * signal sender bumps: one sleep notices both a futex wake and a signal,
 * with no polling. Keys: a private futex is (address space, address); a
 * shared futex in a MAP_SHARED file mapping is keyed by the file's page
 * (the address of its page in the page cache's pool, the same in every
 * process, whatever address each maps it at, as Linux keys it by inode
 * and offset); one in other MAP_SHARED memory by the address alone,
 * since a forked process sees that memory at the same address. Robust
 * lists are walked here too when a thread ends.
 *
 * Locks (DESIGN.md, "Locks"): a bucket's lock is taken with nothing of
 * the futex code held, or a second bucket's after the first in index
 * order (requeue, wake_op); under a bucket lock only a task's wake word
 * is touched (no table or process lock). */
#include "moat/moat.h"
#include "moat/platform.h"
#include "rt.h"
#include "task.h"

#define FUTEX_BUCKETS 256

struct futex_bucket {
  struct rt_lock lock;
  struct task *head;
};

static struct futex_bucket *g_futex; /* in the arena, made on first use */

/* The first process makes the table before any fork (its first futex
 * call or a thread's exit), so every process inherits the pointer. */
static struct futex_bucket *buckets(void) {
  return kzalloc_once((void **)&g_futex, sizeof(*g_futex) * FUTEX_BUCKETS,
                      "the futex table");
}

void futex_init(void) {
  buckets();
}

/* The futex's identity: its key (returned) and *uaddr made the address
 * that names it (a page cache page's pool address lies above the guest
 * window, so it never meets a guest address). */
static uint32_t key_of(uint64_t *uaddr, bool shared) {
  if (shared) {
    uint64_t page = mm_futex_file_page(*uaddr);
    if (page) {
      *uaddr = page;
      return 0;
    }
    if (mm_addr_shared(*uaddr))
      return 0;
  }
  return proc_current()->mm_id;
}

static int bucket_of(uint64_t uaddr) {
  uint64_t h = (uaddr >> 2) * 0x9e3779b97f4a7c15ull;
  return (int)(h >> 56) % FUTEX_BUCKETS;
}

/* Wake up to count waiters of (key, uaddr) whose bitset meets bitset;
 * caller holds the bucket lock. */
static int wake_locked(struct futex_bucket *b, uint32_t key, uint64_t uaddr,
                       int count, uint32_t bitset) {
  rt_assert_held(&b->lock);
  int woken = 0;
  struct task **pp = &b->head;
  while (*pp && woken < count) {
    struct task *w = *pp;
    if (w->fw_addr == uaddr && w->fw_key == key && (w->fw_bitset & bitset)) {
      *pp = w->fw_next;
      w->fw_bucket = -1;
      __atomic_store_n(&w->fw_woken, 1, __ATOMIC_SEQ_CST);
      if (w->fw_owner) { /* a futex_waitv stand-in: wake its thread */
        __atomic_store_n(&w->fw_owner->fw_woken, 1, __ATOMIC_SEQ_CST);
        task_wake(w->fw_owner);
      } else {
        task_wake(w);
      }
      woken++;
      continue;
    }
    pp = &w->fw_next;
  }
  return woken;
}

int futex_wake_addr(uint64_t uaddr, bool shared, int count, uint32_t bitset) {
  uint32_t key = key_of(&uaddr, shared);
  struct futex_bucket *b = &buckets()[bucket_of(uaddr)];
  rt_lock(&b->lock);
  int n = wake_locked(b, key, uaddr, count, bitset);
  rt_unlock(&b->lock);
  return n;
}

static void unqueue(struct task *t) {
  struct futex_bucket *all = buckets();
  for (;;) {
    int idx = __atomic_load_n(&t->fw_bucket, __ATOMIC_ACQUIRE);
    if (idx < 0)
      return;
    struct futex_bucket *b = &all[idx];
    rt_lock(&b->lock);
    if (t->fw_bucket == idx) {
      struct task **pp = &b->head;
      while (*pp && *pp != t)
        pp = &(*pp)->fw_next;
      if (*pp)
        *pp = t->fw_next;
      t->fw_bucket = -1;
      rt_unlock(&b->lock);
      return;
    }
    rt_unlock(&b->lock); /* requeued meanwhile: try its new bucket */
  }
}

void futex_forget(struct task *t) {
  unqueue(t);
  for (int i = 0; i < t->fw_nproxies; i++)
    unqueue(&t->fw_proxies[i]);
}

/* futex_waitv: wait on n futexes at once (32-bit words), until one is
 * woken (its index) or the deadline passes. The calling thread queues a
 * stand-in task per futex, each pointing back at it, and sleeps on its
 * own wake word as futex_wait does. */
long moat_futex_waitv(const struct moat_futex_waiter *ws, int n,
                      int64_t deadline_ns, int clock) {
  struct task *t = task_current();
  for (int i = 0; i < n; i++)
    if (!moat_user_ok(ws[i].uaddr, 4, LINUX_PROT_READ))
      return -LINUX_EFAULT;
  struct task *px = kzalloc(sizeof(*px) * (size_t)n);
  if (!px)
    return -LINUX_ENOMEM;
  for (int i = 0; i < n; i++) {
    px[i].fw_owner = t;
    px[i].fw_addr = ws[i].uaddr;
    px[i].fw_key = key_of(&px[i].fw_addr, !ws[i].private_key);
    px[i].fw_bitset = ~0u;
    px[i].fw_bucket = -1;
  }
  uint32_t seen = __atomic_load_n(&t->wake_word, __ATOMIC_ACQUIRE);
  t->fw_woken = 0;
  t->fw_proxies = px;
  long ret = 1; /* > 0: still waiting */
  int queued = 0;
  for (; queued < n; queued++) {
    int idx = bucket_of(px[queued].fw_addr);
    struct futex_bucket *b = &buckets()[idx];
    rt_lock(&b->lock);
    uint32_t now;
    if (rt_uload32((const uint32_t *)(uintptr_t)ws[queued].uaddr, &now) < 0)
      ret = -LINUX_EFAULT;
    else if (now != ws[queued].val)
      ret = -LINUX_EAGAIN;
    if (ret <= 0) {
      rt_unlock(&b->lock);
      break;
    }
    px[queued].fw_bucket = idx;
    px[queued].fw_next = b->head;
    b->head = &px[queued];
    t->fw_nproxies = queued + 1;
    rt_unlock(&b->lock);
  }
  while (ret > 0) {
    if (__atomic_load_n(&t->fw_woken, __ATOMIC_ACQUIRE))
      break;
    if (signal_pending(t)) {
      ret = -LINUX_EINTR;
      break;
    }
    int64_t wait_ns = -1;
    if (deadline_ns >= 0) {
      int64_t now =
          clock == LINUX_CLOCK_REALTIME ? rt_realtime_ns() : rt_now_ns();
      if (now >= deadline_ns) {
        ret = -LINUX_ETIMEDOUT;
        break;
      }
      wait_ns = deadline_ns - now;
    }
    task_sleep_wait(&t->wake_word, seen, wait_ns);
    seen = __atomic_load_n(&t->wake_word, __ATOMIC_ACQUIRE);
  }
  for (int i = 0; i < queued; i++)
    unqueue(&px[i]);
  /* A wake counts over a timeout, a signal or a later word's change. */
  for (int i = 0; i < queued; i++)
    if (__atomic_load_n(&px[i].fw_woken, __ATOMIC_ACQUIRE)) {
      ret = i;
      break;
    }
  t->fw_nproxies = 0;
  t->fw_proxies = NULL;
  kfree(px);
  return ret;
}

/* deadline_ns: absolute on clock (REALTIME or MONOTONIC), or < 0. */
static long futex_wait(uint64_t uaddr, uint32_t val, bool shared,
                       int64_t deadline_ns, int clock, uint32_t bitset) {
  struct task *t = task_current();
  if (!moat_user_ok(uaddr, 4, LINUX_PROT_READ))
    return -LINUX_EFAULT;
  uint64_t kaddr = uaddr;
  uint32_t key = key_of(&kaddr, shared);
  int idx = bucket_of(kaddr);
  struct futex_bucket *b = &buckets()[idx];
  uint32_t seen = __atomic_load_n(&t->wake_word, __ATOMIC_ACQUIRE);
  t->fw_addr = kaddr;
  t->fw_key = key;
  t->fw_bitset = bitset;
  t->fw_woken = 0;
  rt_lock(&b->lock);
  uint32_t now;
  if (rt_uload32((const uint32_t *)(uintptr_t)uaddr, &now) < 0) {
    rt_unlock(&b->lock);
    return -LINUX_EFAULT; /* unmapped since the check */
  }
  if (now != val) {
    rt_unlock(&b->lock);
    return -LINUX_EAGAIN;
  }
  t->fw_bucket = idx;
  t->fw_next = b->head;
  b->head = t;
  rt_unlock(&b->lock);
  long ret;
  for (;;) {
    if (__atomic_load_n(&t->fw_woken, __ATOMIC_ACQUIRE)) {
      ret = 0;
      break;
    }
    if (signal_pending(t)) {
      ret = -LINUX_EINTR;
      break;
    }
    int64_t wait_ns = -1;
    if (deadline_ns >= 0) {
      int64_t now =
          clock == LINUX_CLOCK_REALTIME ? rt_realtime_ns() : rt_now_ns();
      if (now >= deadline_ns) {
        ret = -LINUX_ETIMEDOUT;
        break;
      }
      wait_ns = deadline_ns - now;
    }
    task_sleep_wait(&t->wake_word, seen, wait_ns);
    seen = __atomic_load_n(&t->wake_word, __ATOMIC_ACQUIRE);
  }
  unqueue(t);
  /* Woken at the same moment as a signal or timeout: the wake counts. */
  if (ret && __atomic_load_n(&t->fw_woken, __ATOMIC_ACQUIRE))
    ret = 0;
  return ret;
}

static long requeue(uint64_t uaddr, uint64_t uaddr2, bool shared, int nwake,
                    int nmove, bool cmp, uint32_t val3) {
  if (uaddr2 & 3)
    return -LINUX_EINVAL;
  if (!moat_user_ok(uaddr, 4, LINUX_PROT_READ) ||
      !moat_user_ok(uaddr2, 4, LINUX_PROT_READ))
    return -LINUX_EFAULT;
  if (nwake < 0 || nmove < 0)
    return -LINUX_EINVAL;
  struct futex_bucket *all = buckets();
  uint64_t a1 = uaddr, a2 = uaddr2; /* the futexes' identities */
  uint32_t k1 = key_of(&a1, shared), k2 = key_of(&a2, shared);
  int i1 = bucket_of(a1), i2 = bucket_of(a2);
  struct futex_bucket *b1 = &all[i1], *b2 = &all[i2];
  /* Two bucket locks in index order. */
  rt_lock(i1 <= i2 ? &b1->lock : &b2->lock);
  if (i1 != i2)
    rt_lock(i1 <= i2 ? &b2->lock : &b1->lock);
  long ret;
  uint32_t now = val3;
  if (cmp && rt_uload32((const uint32_t *)(uintptr_t)uaddr, &now) < 0) {
    ret = -LINUX_EFAULT;
    goto out;
  }
  if (now != val3) {
    ret = -LINUX_EAGAIN;
    goto out;
  }
  ret = wake_locked(b1, k1, a1, nwake, ~0u);
  int moved = 0;
  struct task **pp = &b1->head;
  while (*pp && moved < nmove) {
    struct task *w = *pp;
    if (w->fw_addr == a1 && w->fw_key == k1) {
      *pp = w->fw_next;
      w->fw_addr = a2;
      w->fw_key = k2;
      w->fw_next = b2->head;
      b2->head = w;
      __atomic_store_n(&w->fw_bucket, i2, __ATOMIC_RELEASE);
      moved++;
      if (pp == &b2->head) /* same bucket: skip the one just pushed */
        pp = &w->fw_next;
      continue;
    }
    pp = &w->fw_next;
  }
  ret += moved;
out:
  if (i1 != i2)
    rt_unlock(i1 <= i2 ? &b2->lock : &b1->lock);
  rt_unlock(i1 <= i2 ? &b1->lock : &b2->lock);
  return ret;
}

static long wake_op(uint64_t uaddr, uint64_t uaddr2, bool shared, int n1,
                    int n2, uint32_t op) {
  if (uaddr2 & 3)
    return -LINUX_EINVAL; /* as every futex word (and no split lock) */
  if (!moat_user_ok(uaddr2, 4, LINUX_PROT_READ | LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  unsigned kind = (op >> 28) & 7, cmp = (op >> 24) & 15;
  uint32_t oparg = (op >> 12) & 0xfff, cmparg = op & 0xfff;
  if ((op >> 31) & 1)
    oparg = 1u << (oparg & 31);
  uint32_t *w = (uint32_t *)(uintptr_t)uaddr2;
  uint32_t old, nv;
  if (rt_uload32(w, &old) < 0)
    return -LINUX_EFAULT;
  int stored;
  do {
    switch (kind) {
    case 0:
      nv = oparg;
      break;
    case 1:
      nv = old + oparg;
      break;
    case 2:
      nv = old | oparg;
      break;
    case 3:
      nv = old & ~oparg;
      break;
    case 4:
      nv = old ^ oparg;
      break;
    default:
      return -LINUX_ENOSYS;
    }
    stored = rt_ucmpxchg32(w, &old, nv);
    if (stored < 0)
      return -LINUX_EFAULT;
  } while (!stored);
  int32_t o = (int32_t)old, c = (int32_t)cmparg;
  bool hit;
  switch (cmp) {
  case 0:
    hit = o == c;
    break;
  case 1:
    hit = o != c;
    break;
  case 2:
    hit = o < c;
    break;
  case 3:
    hit = o <= c;
    break;
  case 4:
    hit = o > c;
    break;
  case 5:
    hit = o >= c;
    break;
  default:
    return -LINUX_ENOSYS;
  }
  long n = futex_wake_addr(uaddr, shared, n1, ~0u);
  if (hit)
    n += futex_wake_addr(uaddr2, shared, n2, ~0u);
  return n;
}

long moat_futex_wait(uint64_t uaddr, uint32_t val, bool shared,
                     int64_t deadline_ns, int clock, uint32_t bitset) {
  if ((uaddr & 3) || !bitset)
    return -LINUX_EINVAL;
  return futex_wait(uaddr, val, shared, deadline_ns, clock, bitset);
}

long moat_futex_wake(uint64_t uaddr, bool shared, int count, uint32_t bitset) {
  if ((uaddr & 3) || !bitset)
    return -LINUX_EINVAL;
  return futex_wake_addr(uaddr, shared, count < 0 ? 0x7fffffff : count, bitset);
}

long moat_futex_requeue(uint64_t uaddr, uint64_t uaddr2, bool shared, int nwake,
                        int nmove, bool cmp, uint32_t expected) {
  if (uaddr & 3)
    return -LINUX_EINVAL;
  return requeue(uaddr, uaddr2, shared, nwake, nmove, cmp, expected);
}

long moat_futex_wake_op(uint64_t uaddr, uint64_t uaddr2, bool shared, int nwake,
                        int nwake2, uint32_t op) {
  if (uaddr & 3)
    return -LINUX_EINVAL;
  return wake_op(uaddr, uaddr2, shared, nwake, nwake2, op);
}

/* A thread ends: every robust futex it still holds gets OWNER_DIED and
 * one waiter is woken, as Linux's exit_robust_list. Guest memory is
 * checked word by word; a broken list just stops the walk. */
void futex_robust_exit(struct task *t) {
  uint64_t head = t->robust_head;
  if (!head || !moat_user_ok(head, 24, LINUX_PROT_READ))
    return;
  const uint64_t *h = (const uint64_t *)(uintptr_t)head;
  uint64_t entry, offset, pending;
  if (rt_uload64(&h[0], &entry) < 0 || rt_uload64(&h[1], &offset) < 0 ||
      rt_uload64(&h[2], &pending) < 0)
    entry = 0; /* unmapped by another thread meanwhile */
  for (int n = 0; n < 2048 && entry && entry != head; n++) {
    uint64_t next;
    if (!moat_user_ok(entry, 8, LINUX_PROT_READ) ||
        rt_uload64((const uint64_t *)(uintptr_t)(entry & ~1ull), &next) < 0)
      break;
    uint64_t word = (entry & ~1ull) + offset;
    uint32_t v;
    if (entry != pending && !(word & 3) &&
        moat_user_ok(word, 4, LINUX_PROT_READ | LINUX_PROT_WRITE) &&
        rt_uload32((const uint32_t *)(uintptr_t)word, &v) == 0) {
      uint32_t *w = (uint32_t *)(uintptr_t)word;
      while ((v & LINUX_FUTEX_TID_MASK) == (uint32_t)t->tid) {
        uint32_t nv = (v & LINUX_FUTEX_WAITERS) | LINUX_FUTEX_OWNER_DIED;
        int stored = rt_ucmpxchg32(w, &v, nv);
        if (stored < 0)
          break;
        if (stored) {
          if (v & LINUX_FUTEX_WAITERS)
            futex_wake_addr(word, true, 1, ~0u);
          break;
        }
      }
    }
    entry = next;
  }
  t->robust_head = 0;
}
