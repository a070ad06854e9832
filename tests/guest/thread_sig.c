/* Signals and threads, and what the kernel does when a thread dies:
 * pthread_kill runs the handler in the target thread; a signal sent to
 * the process goes to the one thread that leaves it unblocked; sigwait in
 * a dedicated thread; per-thread masks inherited by new threads; robust
 * mutexes whose owner thread, or owner process, died holding them give
 * EOWNERDEAD to the next locker (the robust list walked at exit), and
 * CLONE_CHILD_CLEARTID wakes pthread_join. */
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "guest.h"

static volatile long g_handler_tid;
static volatile int g_hits;

static long tid(void) {
  return syscall(SYS_gettid);
}

static void on_usr1(int sig) {
  g_handler_tid = tid();
  g_hits++;
}

struct worker {
  long tid;
  int unblock;
  volatile int stop;
};

static void *worker(void *arg) {
  struct worker *w = arg;
  if (w->unblock) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
  }
  w->tid = tid();
  while (!w->stop)
    usleep(1000);
  return NULL;
}

static void *waiter(void *arg) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  int sig = 0;
  sigwait(&s, &sig);
  return (void *)(long)sig;
}

static void *mask_reporter(void *arg) {
  sigset_t cur;
  pthread_sigmask(SIG_BLOCK, NULL, &cur);
  return (void *)(long)(sigismember(&cur, SIGUSR1) * 10 +
                        sigismember(&cur, SIGUSR2));
}

static pthread_mutex_t *g_robust;

static void *die_holding(void *arg) {
  pthread_mutex_lock(g_robust);
  return NULL; /* exits with the mutex held */
}

static void robust_init(pthread_mutex_t *m, int pshared) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  if (pshared)
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(m, &a);
  pthread_mutexattr_destroy(&a);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGUSR1, on_usr1);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigaddset(&s, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &s, NULL);

  /* new threads inherit the creator's mask */
  pthread_t t;
  void *r;
  pthread_create(&t, NULL, mask_reporter, NULL);
  pthread_join(t, &r);
  printf("mask inherited by a thread: %ld\n", (long)r);

  struct worker w[4];
  pthread_t wt[4];
  for (int i = 0; i < 4; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].unblock = i == 2;
    pthread_create(&wt[i], NULL, worker, &w[i]);
  }
  for (int i = 0; i < 4; i++)
    while (!__atomic_load_n(&w[i].tid, __ATOMIC_SEQ_CST))
      usleep(1000);

  /* process-directed: only worker 2 has SIGUSR1 unblocked */
  g_hits = 0;
  kill(getpid(), SIGUSR1);
  for (int i = 0; i < 5000 && !g_hits; i++)
    usleep(1000);
  printf("kill to the process: handled %d, by the unblocked thread %d\n",
         g_hits, g_handler_tid == w[2].tid);

  /* thread-directed: the handler runs in the target thread */
  g_hits = 0;
  pthread_kill(wt[2], SIGUSR1);
  for (int i = 0; i < 5000 && !g_hits; i++)
    usleep(1000);
  printf("pthread_kill: handled %d, in the target %d\n", g_hits,
         g_handler_tid == w[2].tid);

  /* thread-directed at a thread that blocks it: stays pending for it */
  g_hits = 0;
  pthread_kill(wt[1], SIGUSR1);
  usleep(50000);
  sigset_t pend;
  sigpending(&pend);
  printf("pthread_kill to a blocking thread: handled %d, pending in main %d\n",
         g_hits, sigismember(&pend, SIGUSR1));
  for (int i = 0; i < 4; i++) {
    w[i].stop = 1;
    pthread_join(wt[i], NULL);
  }

  /* sigwait in a thread for a signal sent to the process */
  pthread_create(&t, NULL, waiter, NULL);
  usleep(20000);
  kill(getpid(), SIGUSR2);
  pthread_join(t, &r);
  printf("sigwait in a thread: %ld\n", (long)r);

  /* a robust mutex whose owner thread exited */
  static pthread_mutex_t m;
  g_robust = &m;
  robust_init(&m, 0);
  pthread_create(&t, NULL, die_holding, NULL);
  pthread_join(t, NULL);
  int e = pthread_mutex_lock(&m);
  printf("lock after the owner thread died: %s\n", e == EOWNERDEAD
                                                       ? "EOWNERDEAD"
                                                   : e ? errname(e)
                                                       : "0");
  if (e == EOWNERDEAD)
    pthread_mutex_consistent(&m);
  pthread_mutex_unlock(&m);
  printf("lock after consistent: %d\n", pthread_mutex_lock(&m));
  pthread_mutex_unlock(&m);

  /* a process-shared robust mutex whose owner process died */
  pthread_mutex_t *pm = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (pm == MAP_FAILED)
    return 1;
  robust_init(pm, 1);
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    pthread_mutex_lock(pm);
    _exit(0);
  }
  waitpid(p, NULL, 0);
  e = pthread_mutex_lock(pm);
  printf("lock after the owner process died: %s\n", e == EOWNERDEAD
                                                        ? "EOWNERDEAD"
                                                    : e ? errname(e)
                                                        : "0");
  return 0;
}
