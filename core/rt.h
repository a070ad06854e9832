/* The core's own small runtime: memory and string functions, the kernel
 * allocator (backed by the sandbox arena), formatted output, locks that
 * work across guest processes, and panic. The core and the North shims
 * use this instead of a libc; nothing here may touch the host except
 * through the South contract. */
#ifndef MOAT_CORE_RT_H
#define MOAT_CORE_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moat/linux_abi.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define container_of(p, type, member)                                          \
  ((type *)((char *)(p)-offsetof(type, member)))

/* The symbols the compiler may call on its own (core/rt_mem.c). */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

size_t rt_strlen(const char *s);
size_t rt_strnlen(const char *s, size_t max);
int rt_strcmp(const char *a, const char *b);
int rt_strncmp(const char *a, const char *b, size_t n);
char *rt_strchr(const char *s, int c);
char *rt_strrchr(const char *s, int c);
/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t rt_strlcpy(char *dst, const char *src, size_t size);
char *rt_strdup(const char *s); /* kmalloc'd */
char *rt_strndup(const char *s, size_t n);

/* The kernel heap. Memory comes from the sandbox arena, so an object
 * allocated here is visible to every guest process of the sandbox (the
 * arena is shared; see DESIGN.md section 3). kmalloc returns 16-byte
 * aligned memory or NULL; kzalloc zeroes it. */
void *kmalloc(size_t size);
void *kzalloc(size_t size);
void *krealloc(void *p, size_t size);
void kfree(void *p);
/* *slot, or a zeroed arena object of size put there first (by whichever
 * caller wins). For tables shared by every guest process: made by the
 * first process before any fork, so all inherit the pointer. Out of
 * memory this early is a panic naming what. */
void *kzalloc_once(void **slot, size_t size, const char *what);
/* Set up the arena (moat_boot calls this first). */
int rt_arena_init(size_t size);
/* Bytes in use and the arena's size, for sysinfo and --stats. */
void rt_arena_usage(size_t *used, size_t *size);
/* The arena's address range [lo, hi); 0, 0 when there is none. */
void rt_arena_range(uintptr_t *lo, uintptr_t *hi);

/* Formatted output: %d %i %u %x %X %o %s %c %p %% with l, ll, z, h
 * length modifiers, width, precision for %s, and the 0 - flags.
 * Returns the length the full output would have. */
int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int rt_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A sleeping mutex on a futex word; works across processes when it lives
 * in the arena. With MOAT_LOCK_DEBUG (the unit tests' and the fuzzer's
 * builds) each lock records its holder (plat_ctx_self): an unlock
 * by another thread, a lock taken twice by one thread, and a failed
 * rt_assert_held end the process with a message. */
struct rt_lock {
  uint32_t word;
#ifdef MOAT_LOCK_DEBUG
  uint64_t owner; /* the holder's plat_ctx_self, 0 when free */
#endif
};
void rt_lock(struct rt_lock *l);
void rt_unlock(struct rt_lock *l);
/* The calling thread holds l (checked with MOAT_LOCK_DEBUG only). */
#ifdef MOAT_LOCK_DEBUG
void rt_assert_held(const struct rt_lock *l);
#else
static inline void rt_assert_held(const struct rt_lock *l) {
  (void)l;
}
#endif
/* l as a fork's child finds a lock its parent held: free (only the
 * forking thread is there, and it is running the fork). */
static inline void rt_lock_reset(struct rt_lock *l) {
  l->word = 0;
#ifdef MOAT_LOCK_DEBUG
  l->owner = 0;
#endif
}
/* Take the lock only if it is free now. */
bool rt_trylock(struct rt_lock *l);
/* From now on, count in *held the arena locks the calling host process
 * holds (core/task.c gives each host process a counter in the arena, so
 * the death of a process holding one is noticed), and end the process
 * with status 125 when a wait for a lock finds *doom set (the sandbox is
 * being ended: the lock may never come free). */
void rt_lock_account(uint32_t *held, const uint32_t *doom);
/* Arena locks the calling host process holds now (0 before
 * rt_lock_account). */
uint32_t rt_lock_held(void);
/* fn is called by a thread that has waited a long while (half a second)
 * for a lock: the holder may be a process that died with it, which only
 * its reaper can find out, and the reaper may be this very waiter
 * (core/task.c: task_reap_poll, which does nothing while this process
 * holds a lock). */
void rt_lock_on_stall(void (*fn)(void));

/* Guest memory after a check (core/rt_user.S). A guest thread can unmap
 * or protect a range the library OS already checked, so every later touch
 * of guest memory goes through these: a fault in them is not a bug of moat
 * but an EFAULT for the call (see moat_fault_fixup). */
size_t rt_ucopy(void *dst, const void *src, size_t n); /* bytes not copied */
size_t rt_ufill(void *dst, int byte, size_t n);        /* bytes not set */
long rt_urandom(void *dst, size_t len); /* len, -EFAULT or the host's error */
/* The string's length (NUL copied too), n if no NUL in n bytes, -1 on a
 * fault reading src (dst must be the library's own memory). */
long rt_ustrncpy(char *dst, const char *src, size_t n);
int rt_uload32(const uint32_t *p, uint32_t *out); /* 0 or -1 */
int rt_uload64(const uint64_t *p, uint64_t *out); /* 0 or -1 */
int rt_ustore32(uint32_t *p, uint32_t v);         /* 0 or -1 */
/* 1 stored, 0 differed (*expected updated), -1 fault. */
int rt_ucmpxchg32(uint32_t *p, uint32_t *expected, uint32_t desired);

/* A copy into or out of a caller's buffer: len on success, else the bytes
 * that made it, or -EFAULT when none did (read(2)'s rule). */
static inline long rt_ucopy_result(size_t len, size_t left) {
  return left == len && len ? -LINUX_EFAULT : (long)(len - left);
}

/* Take up to len bytes from a ring of size bytes (*head, *count) into
 * guest memory at dst. What does not reach the guest stays in the ring.
 * Returns the bytes taken, or -EFAULT when none could be copied. */
static inline long rt_ring_take_user(void *dst, const void *ring, uint32_t size,
                                     uint32_t *head, uint32_t *count,
                                     size_t len) {
  size_t n = len < *count ? len : *count;
  size_t first = n < size - *head ? n : size - *head;
  size_t left = rt_ucopy(dst, (const char *)ring + *head, first);
  if (!left)
    left = rt_ucopy((char *)dst + first, ring, n - first);
  else
    left += n - first;
  if (left == n)
    return -LINUX_EFAULT;
  n -= left;
  *head = (uint32_t)((*head + n) % size);
  *count -= (uint32_t)n;
  if (!*count)
    *head = 0;
  return (long)n;
}

/* A bug in moat itself: print and end the sandbox with status 125. */
_Noreturn void rt_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
#define RT_ASSERT(c)                                                           \
  do {                                                                         \
    if (unlikely(!(c)))                                                        \
      rt_panic("assertion failed: %s at %s:%d", #c, __FILE__, __LINE__);       \
  } while (0)

/* Nanoseconds on the monotonic clock, never going backwards. */
int64_t rt_now_ns(void);
/* Nanoseconds since the epoch. */
int64_t rt_realtime_ns(void);

#endif
