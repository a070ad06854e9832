/* Threads: 16+ pthreads contending on a mutex, a condition variable
 * producer/consumer queue, a barrier reused across rounds, pthread_join
 * return values, detached threads, thread ids distinct from the process
 * id, thread-local storage, an exit_group from a non-main thread ending
 * the whole process (checked in a forked child). Everything printed is a
 * total or a truth, so scheduling order never shows. */
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "guest.h"

#define NTHREADS 24
#define ROUNDS 2000

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_nonempty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t g_nonfull = PTHREAD_COND_INITIALIZER;
static long g_counter;
static pthread_barrier_t g_barrier;
static int g_round_sum[8];
static __thread int t_local = 7;
static long g_tids[NTHREADS];

#define QCAP 8
static int g_queue[QCAP], g_head, g_tail, g_len;

static void *adder(void *arg) {
  long id = (long)arg;
  g_tids[id] = syscall(SYS_gettid);
  t_local += (int)id;
  for (int i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&g_lock);
    long v = g_counter;
    if ((i & 63) == 0)
      sched_yield();
    g_counter = v + 1;
    pthread_mutex_unlock(&g_lock);
  }
  return (void *)(long)(t_local - 7);
}

static void *producer(void *arg) {
  long id = (long)arg;
  for (int i = 1; i <= 100; i++) {
    pthread_mutex_lock(&g_lock);
    while (g_len == QCAP)
      pthread_cond_wait(&g_nonfull, &g_lock);
    g_queue[g_tail] = (int)(id * 1000 + i);
    g_tail = (g_tail + 1) % QCAP;
    g_len++;
    pthread_cond_signal(&g_nonempty);
    pthread_mutex_unlock(&g_lock);
  }
  return NULL;
}

static long g_consumed_sum, g_consumed_n;

static void *consumer(void *arg) {
  for (;;) {
    pthread_mutex_lock(&g_lock);
    while (g_len == 0)
      pthread_cond_wait(&g_nonempty, &g_lock);
    int v = g_queue[g_head];
    g_head = (g_head + 1) % QCAP;
    g_len--;
    pthread_cond_signal(&g_nonfull);
    if (v < 0) {
      pthread_mutex_unlock(&g_lock);
      return NULL;
    }
    g_consumed_sum += v;
    g_consumed_n++;
    pthread_mutex_unlock(&g_lock);
  }
}

static void *barrier_worker(void *arg) {
  long id = (long)arg;
  int serial = 0;
  for (int r = 0; r < 8; r++) {
    __atomic_add_fetch(&g_round_sum[r], (int)id + 1, __ATOMIC_SEQ_CST);
    int b = pthread_barrier_wait(&g_barrier);
    if (b == PTHREAD_BARRIER_SERIAL_THREAD)
      serial++;
    /* after the barrier every thread must see the round complete */
    if (__atomic_load_n(&g_round_sum[r], __ATOMIC_SEQ_CST) !=
        NTHREADS * (NTHREADS + 1) / 2)
      return (void *)-1L;
    pthread_barrier_wait(&g_barrier);
  }
  return (void *)(long)serial;
}

static volatile int g_detached_done;

static void *detached(void *arg) {
  __atomic_add_fetch(&g_detached_done, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static void *exiter(void *arg) {
  fflush(stdout);
  exit(33); /* exit_group: takes the main thread with it */
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_t t[NTHREADS];
  long ret_sum = 0;
  for (long i = 0; i < NTHREADS; i++)
    if (pthread_create(&t[i], NULL, adder, (void *)i)) {
      printf("pthread_create failed\n");
      return 1;
    }
  for (int i = 0; i < NTHREADS; i++) {
    void *r;
    pthread_join(t[i], &r);
    ret_sum += (long)r;
  }
  printf("mutex counter: %ld (expected %d)\n", g_counter, NTHREADS * ROUNDS);
  printf("join values sum: %ld, main tls untouched: %d\n", ret_sum,
         t_local == 7);
  long me = syscall(SYS_gettid);
  int distinct = 1, main_is_pid = me == getpid();
  for (int i = 0; i < NTHREADS; i++) {
    if (g_tids[i] == me || g_tids[i] <= 0)
      distinct = 0;
    for (int j = 0; j < i; j++)
      if (g_tids[i] == g_tids[j])
        distinct = 0;
  }
  printf("thread ids distinct: %d, main tid is pid: %d\n", distinct,
         main_is_pid);

  /* producer/consumer: 8 producers, 8 consumers, a queue of 8 */
  pthread_t p[8], c[8];
  for (long i = 0; i < 8; i++) {
    pthread_create(&c[i], NULL, consumer, NULL);
    pthread_create(&p[i], NULL, producer, (void *)i);
  }
  for (int i = 0; i < 8; i++)
    pthread_join(p[i], NULL);
  for (int i = 0; i < 8; i++) {
    pthread_mutex_lock(&g_lock);
    while (g_len == QCAP)
      pthread_cond_wait(&g_nonfull, &g_lock);
    g_queue[g_tail] = -1;
    g_tail = (g_tail + 1) % QCAP;
    g_len++;
    pthread_cond_signal(&g_nonempty);
    pthread_mutex_unlock(&g_lock);
  }
  for (int i = 0; i < 8; i++)
    pthread_join(c[i], NULL);
  printf("condvar queue: %ld items, sum %ld\n", g_consumed_n, g_consumed_sum);

  /* a barrier, 8 rounds */
  pthread_barrier_init(&g_barrier, NULL, NTHREADS);
  long serials = 0, bad = 0;
  for (long i = 0; i < NTHREADS; i++)
    pthread_create(&t[i], NULL, barrier_worker, (void *)i);
  for (int i = 0; i < NTHREADS; i++) {
    void *r;
    pthread_join(t[i], &r);
    if ((long)r < 0)
      bad++;
    else
      serials += (long)r;
  }
  pthread_barrier_destroy(&g_barrier);
  printf("barrier: serial threads %ld (expected 8), early leavers %ld\n",
         serials, bad);

  /* detached threads */
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (int i = 0; i < 16; i++) {
    pthread_t d;
    pthread_create(&d, &attr, detached, NULL);
  }
  for (int i = 0; i < 5000 && g_detached_done < 16; i++)
    usleep(1000);
  printf("detached threads ran: %d\n", g_detached_done);

  /* exit() from a thread ends the process with that status */
  fflush(stdout);
  pid_t k = fork();
  if (k == 0) {
    pthread_t e;
    pthread_create(&e, NULL, exiter, NULL);
    for (;;)
      pause();
  }
  int st;
  waitpid(k, &st, 0);
  printf("exit from a thread: exited %d status %d\n", WIFEXITED(st),
         WEXITSTATUS(st));

  /* a thread in a forked child: fork copies only the calling thread */
  k = fork();
  if (k == 0) {
    pthread_t a;
    g_counter = 0;
    pthread_create(&a, NULL, adder, (void *)0);
    pthread_join(a, NULL);
    _exit(g_counter == ROUNDS ? 0 : 1);
  }
  waitpid(k, &st, 0);
  printf("threads in a forked child: status %d\n", WEXITSTATUS(st));
  return 0;
}
