/* futex(2) used directly: WAIT with a wrong value (EAGAIN), WAIT with a
 * timeout (ETIMEDOUT), WAKE counts, REQUEUE and CMP_REQUEUE (and its
 * EAGAIN on a changed value), WAKE_OP (the operation applied and the
 * conditional second wake), WAIT_BITSET/WAKE_BITSET with disjoint masks,
 * an absolute CLOCK_MONOTONIC bitset timeout, private and shared futexes
 * (a MAP_SHARED word between two processes). Waiters are counted through
 * their wake results, never by timing alone. */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

/* <linux/futex.h> is not on musl-gcc's include path: the ABI values */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_REQUEUE_PRIVATE (FUTEX_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_CMP_REQUEUE_PRIVATE (FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_OP_PRIVATE (FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAIT_BITSET_PRIVATE (FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_BITSET_PRIVATE (FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_BITSET_MATCH_ANY 0xffffffff
#define FUTEX_OP_SET 0
#define FUTEX_OP_ADD 1
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP_CMP_GT 4
#define FUTEX_OP(op, oparg, cmp, cmparg)                                       \
  ((((op)&0xf) << 28) | (((cmp)&0xf) << 24) | (((oparg)&0xfff) << 12) |        \
   ((cmparg)&0xfff))

static long fx(uint32_t *uaddr, int op, uint32_t val, const void *ts,
               uint32_t *uaddr2, uint32_t val3) {
  return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

#define RES(label, expr)                                                       \
  do {                                                                         \
    errno = 0;                                                                 \
    long r_ = (expr);                                                          \
    printf("%s: %ld %s\n", label, r_, r_ < 0 ? errname(errno) : "");           \
  } while (0)

static uint32_t g_word, g_word2;
static int g_woken, g_started;

struct waiter {
  uint32_t *addr;
  uint32_t val;
  int op;
  uint32_t mask;
};

static void *wait_thread(void *arg) {
  struct waiter *w = arg;
  __atomic_add_fetch(&g_started, 1, __ATOMIC_SEQ_CST);
  long r;
  do {
    r = fx(w->addr, w->op, w->val, NULL, NULL, w->mask);
  } while (r < 0 && errno == EINTR);
  if (r == 0)
    __atomic_add_fetch(&g_woken, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static void settle(void) {
  /* waiters announce themselves before the call; give them time to sleep */
  struct timespec ts = {0, 200 * 1000000L};
  nanosleep(&ts, NULL);
}

static int woken(void) {
  return __atomic_load_n(&g_woken, __ATOMIC_SEQ_CST);
}

/* Wake until n waiters have returned, counting what the wakes reported. */
static long drain(uint32_t *addr, int n, int op) {
  long total = 0;
  for (int i = 0; i < 2000 && woken() < n; i++) {
    long r = fx(addr, op, INT32_MAX, NULL, NULL, FUTEX_BITSET_MATCH_ANY);
    if (r > 0)
      total += r;
    usleep(1000);
  }
  return total;
}

static void start(pthread_t *t, struct waiter *w, int n) {
  g_started = 0;
  g_woken = 0;
  for (int i = 0; i < n; i++)
    pthread_create(&t[i], NULL, wait_thread, w);
  while (__atomic_load_n(&g_started, __ATOMIC_SEQ_CST) < n)
    usleep(1000);
  settle();
}

static void join(pthread_t *t, int n) {
  for (int i = 0; i < n; i++)
    pthread_join(t[i], NULL);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_t t[8];
  struct timespec ts = {0, 20 * 1000000L};

  g_word = 5;
  RES("wait wrong value", fx(&g_word, FUTEX_WAIT_PRIVATE, 4, NULL, NULL, 0));
  RES("wait timeout", fx(&g_word, FUTEX_WAIT_PRIVATE, 5, &ts, NULL, 0));
  RES("wait shared timeout", fx(&g_word, FUTEX_WAIT, 5, &ts, NULL, 0));
  RES("wake nobody", fx(&g_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
  struct timespec bad = {0, 2000000000L};
  RES("wait bad timeout", fx(&g_word, FUTEX_WAIT_PRIVATE, 5, &bad, NULL, 0));
  RES("bad op", fx(&g_word, 99, 0, NULL, NULL, 0));
  RES("unaligned",
      fx((uint32_t *)((char *)&g_word + 1), FUTEX_WAKE, 1, NULL, NULL, 0));

  /* WAKE: 1 of 4, then the rest */
  struct waiter w = {&g_word, 5, FUTEX_WAIT_PRIVATE, 0};
  start(t, &w, 4);
  RES("wake 1 of 4", fx(&g_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
  RES("wake 10 of 3", fx(&g_word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
  join(t, 4);
  printf("waiters returned: %d\n", woken());

  /* REQUEUE: wake 1, move 2 to word2, leave 1 */
  start(t, &w, 4);
  RES("requeue wake1 move2",
      fx(&g_word, FUTEX_REQUEUE_PRIVATE, 1, (void *)2L, &g_word2, 0));
  RES("wake word2", fx(&g_word2, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
  RES("wake word", fx(&g_word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
  join(t, 4);
  printf("waiters returned: %d\n", woken());

  /* CMP_REQUEUE: refused when the word changed, else like REQUEUE */
  start(t, &w, 3);
  RES("cmp_requeue wrong val",
      fx(&g_word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1L, &g_word2, 6));
  RES("cmp_requeue wake0 move3",
      fx(&g_word, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)3L, &g_word2, 5));
  RES("wake word (moved away)",
      fx(&g_word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
  RES("wake word2", fx(&g_word2, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
  join(t, 3);
  printf("waiters returned: %d\n", woken());

  /* WAKE_OP: word2 += 1 (old 0, cmp old == 0 true): wake on both */
  pthread_t t2[2];
  struct waiter w2 = {&g_word2, 0, FUTEX_WAIT_PRIVATE, 0};
  g_word2 = 0;
  start(t, &w, 2);
  g_started = 0;
  for (int i = 0; i < 2; i++)
    pthread_create(&t2[i], NULL, wait_thread, &w2);
  while (__atomic_load_n(&g_started, __ATOMIC_SEQ_CST) < 2)
    usleep(1000);
  settle();
  int op = FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0);
  RES("wake_op add, cmp true",
      fx(&g_word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &g_word2, op));
  printf("word2 after op: %u\n", g_word2);
  op = FUTEX_OP(FUTEX_OP_SET, 9, FUTEX_OP_CMP_GT, 5);
  RES("wake_op set, cmp false",
      fx(&g_word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &g_word2, op));
  printf("word2 after op: %u\n", g_word2);
  fx(&g_word2, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0);
  join(t, 2);
  join(t2, 2);
  printf("waiters returned: %d\n", woken());

  /* bitsets: a wake with mask 2 skips waiters with mask 1 */
  struct waiter b1 = {&g_word, 5, FUTEX_WAIT_BITSET_PRIVATE, 1};
  start(t, &b1, 2);
  RES("wake_bitset mask 2",
      fx(&g_word, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 2));
  RES("wake_bitset mask 3",
      fx(&g_word, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 3));
  join(t, 2);
  RES("wait_bitset mask 0",
      fx(&g_word, FUTEX_WAIT_BITSET_PRIVATE, 5, NULL, NULL, 0));
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  now.tv_nsec += 20 * 1000000L;
  if (now.tv_nsec >= 1000000000L)
    now.tv_sec++, now.tv_nsec -= 1000000000L;
  RES("wait_bitset absolute timeout", fx(&g_word, FUTEX_WAIT_BITSET_PRIVATE, 5,
                                         &now, NULL, FUTEX_BITSET_MATCH_ANY));

  /* shared futex between two processes over MAP_SHARED memory */
  uint32_t *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sh == MAP_FAILED)
    return 1;
  sh[0] = 0;
  sh[1] = 0;
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    __atomic_store_n(&sh[1], 1, __ATOMIC_SEQ_CST);
    long r;
    do {
      r = fx(&sh[0], FUTEX_WAIT, 0, NULL, NULL, 0);
    } while (r < 0 && errno == EINTR && sh[0] == 0);
    _exit(sh[0] == 42 ? 0 : 1);
  }
  while (!__atomic_load_n(&sh[1], __ATOMIC_SEQ_CST))
    usleep(1000);
  settle();
  __atomic_store_n(&sh[0], 42, __ATOMIC_SEQ_CST);
  long n = 0;
  int st = 0;
  for (int i = 0; i < 2000; i++) {
    long r = fx(&sh[0], FUTEX_WAKE, 1, NULL, NULL, 0);
    if (r > 0)
      n += r;
    if (waitpid(p, &st, WNOHANG) == p)
      break;
    usleep(1000);
  }
  printf("shared futex across fork: woke %ld, child status %d\n", n,
         WEXITSTATUS(st));
  (void)drain;
  return 0;
}
