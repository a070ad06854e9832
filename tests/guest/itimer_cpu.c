/* The CPU-time interval timers: ITIMER_VIRTUAL (SIGVTALRM) and ITIMER_PROF
 * (SIGPROF) fire while the process spins in user code (also in a second
 * thread), with si_code SI_KERNEL; getitimer shows them armed and
 * counting down; a period reloads them; a zero value disarms them and
 * keeps the period, as Linux; setitimer returns the old setting; a
 * blocked expiry stays pending; a fork child inherits neither timer and
 * an exec keeps both. Wall time bounds every spin, so a timer that never
 * fires prints 0 instead of hanging; only CPU time decides when one
 * fires, so a loaded machine makes the test slower, never different. */
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

static volatile sig_atomic_t g_fired, g_count, g_code;
static void on_timer(int sig, siginfo_t *si, void *ctx) {
  g_fired = sig;
  g_count++;
  g_code = si->si_code;
}

static void catch_signal(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = on_timer;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(sig, &sa, NULL);
}

static double secs(const struct timespec *a, const struct timespec *b) {
  return (double)(b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Spin in user code until want signals came or wall seconds passed. */
static int spin_until_count(int want, int wall) {
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do {
    for (volatile int i = 0; i < 100000; i++)
      ;
    clock_gettime(CLOCK_MONOTONIC, &t);
  } while (g_count < want && secs(&t0, &t) < wall);
  return g_count;
}

/* Spin until the process has used cpu_ms of CPU time (at most 10 s). */
static void spin_cpu(int cpu_ms) {
  struct timespec c0, c, t0, t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do {
    for (volatile int i = 0; i < 100000; i++)
      ;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
    clock_gettime(CLOCK_MONOTONIC, &t);
  } while (secs(&c0, &c) * 1000 < cpu_ms && secs(&t0, &t) < 10);
}

static long usec(const struct timeval *tv) {
  return tv->tv_sec * 1000000L + tv->tv_usec;
}

static void show(const char *what, const struct itimerval *it) {
  printf("%s: value %ld.%06ld interval %ld.%06ld\n", what,
         (long)it->it_value.tv_sec, (long)it->it_value.tv_usec,
         (long)it->it_interval.tv_sec, (long)it->it_interval.tv_usec);
}

static const struct itimerval g_zero;

static void one_shot(int which, int sig, const char *name) {
  catch_signal(sig);
  g_fired = g_count = g_code = 0;
  struct itimerval it = {{0, 0}, {0, 20000}}, cur;
  int armed = setitimer(which, &it, NULL) == 0;
  printf("setitimer: %s\n", armed ? "ok" : errname(errno));
  getitimer(which, &cur);
  printf("%s armed: %d\n", name,
         cur.it_value.tv_sec > 0 || cur.it_value.tv_usec > 0);
  int n = armed ? spin_until_count(1, 5) : 0;
  printf("%s fired: %d, si_code SI_KERNEL: %d\n", name,
         n >= 1 && g_fired == sig, g_code == SI_KERNEL);
  getitimer(which, &cur);
  show("one-shot after firing", &cur);
  struct itimerval big = {{2, 0}, {100, 0}};
  setitimer(which, &big, NULL);
  setitimer(which, &g_zero, &cur);
  printf("%s old value returned: %d, old interval: %ld.%06ld\n", name,
         cur.it_value.tv_sec > 90, (long)cur.it_interval.tv_sec,
         (long)cur.it_interval.tv_usec);
  getitimer(which, &cur);
  show("after disarming", &cur);
}

/* A period reloads the timer: several signals in one CPU-bound spin. */
static void periodic(void) {
  catch_signal(SIGPROF);
  g_fired = g_count = 0;
  struct itimerval it = {{0, 10000}, {0, 10000}}, cur;
  setitimer(ITIMER_PROF, &it, NULL);
  int n = spin_until_count(4, 10);
  getitimer(ITIMER_PROF, &cur);
  setitimer(ITIMER_PROF, &g_zero, NULL);
  printf("ITIMER_PROF periodic: fired 4 times %d, still armed %d, "
         "interval %ld.%06ld\n",
         n >= 4, usec(&cur.it_value) > 0, (long)cur.it_interval.tv_sec,
         (long)cur.it_interval.tv_usec);
}

/* The remaining time counts down with the CPU time used. */
static void countdown(void) {
  struct itimerval it = {{0, 0}, {10, 0}}, a, b;
  setitimer(ITIMER_VIRTUAL, &it, NULL);
  getitimer(ITIMER_VIRTUAL, &a);
  spin_cpu(100);
  getitimer(ITIMER_VIRTUAL, &b);
  setitimer(ITIMER_VIRTUAL, &g_zero, NULL);
  printf("ITIMER_VIRTUAL counts down: %d, by less than 5 s: %d\n",
         usec(&b.it_value) < usec(&a.it_value), usec(&b.it_value) > 5000000);
}

/* A zero value disarms, and a CPU timer keeps its period (Linux). */
static void zero_value(void) {
  struct itimerval it = {{1, 0}, {0, 0}}, cur;
  setitimer(ITIMER_VIRTUAL, &it, NULL);
  getitimer(ITIMER_VIRTUAL, &cur);
  show("ITIMER_VIRTUAL zero value with a period", &cur);
  setitimer(ITIMER_VIRTUAL, &g_zero, NULL);
}

/* A blocked expiry stays pending until unblocked. */
static void blocked(void) {
  catch_signal(SIGVTALRM);
  g_fired = g_count = 0;
  sigset_t set, pend;
  sigemptyset(&set);
  sigaddset(&set, SIGVTALRM);
  sigprocmask(SIG_BLOCK, &set, NULL);
  struct itimerval it = {{0, 0}, {0, 20000}};
  setitimer(ITIMER_VIRTUAL, &it, NULL);
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do {
    for (volatile int i = 0; i < 100000; i++)
      ;
    sigpending(&pend);
    clock_gettime(CLOCK_MONOTONIC, &t);
  } while (!sigismember(&pend, SIGVTALRM) && secs(&t0, &t) < 5);
  printf("blocked: pending %d, handled %d\n", sigismember(&pend, SIGVTALRM),
         (int)g_count);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  printf("unblocked: handled %d\n", (int)g_count);
}

/* CPU time of any thread counts: a second thread spins, the first waits. */
static void *spinner(void *arg) {
  spin_until_count(1, 5);
  return NULL;
}

static void threaded(void) {
  catch_signal(SIGPROF);
  g_fired = g_count = 0;
  struct itimerval it = {{0, 0}, {0, 20000}};
  setitimer(ITIMER_PROF, &it, NULL);
  pthread_t th;
  pthread_create(&th, NULL, spinner, NULL);
  pthread_join(th, NULL);
  printf("ITIMER_PROF with a spinning thread: fired %d\n",
         g_count >= 1 && g_fired == SIGPROF);
}

/* fork: the child starts with both timers disarmed; the parent's stay. */
static void fork_child(void) {
  struct itimerval v = {{0, 0}, {100, 0}}, p = {{1, 0}, {100, 0}}, a, b;
  setitimer(ITIMER_VIRTUAL, &v, NULL);
  setitimer(ITIMER_PROF, &p, NULL);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    getitimer(ITIMER_VIRTUAL, &a);
    getitimer(ITIMER_PROF, &b);
    show("fork child ITIMER_VIRTUAL", &a);
    show("fork child ITIMER_PROF", &b);
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  getitimer(ITIMER_VIRTUAL, &a);
  getitimer(ITIMER_PROF, &b);
  printf("fork parent: ITIMER_VIRTUAL armed %d, ITIMER_PROF armed %d\n",
         a.it_value.tv_sec > 90, b.it_value.tv_sec > 90);
  setitimer(ITIMER_VIRTUAL, &g_zero, NULL);
  setitimer(ITIMER_PROF, &g_zero, NULL);
}

/* exec: the timers carry over into the new image, and one that expires
 * there kills it (the handler is back to the default action). */
static void exec_keeps(const char *self) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    struct itimerval v = {{0, 0}, {0, 200000}}, p = {{3, 0}, {100, 0}};
    catch_signal(SIGVTALRM);
    setitimer(ITIMER_PROF, &p, NULL);
    setitimer(ITIMER_VIRTUAL, &v, NULL);
    execl(self, self, "after-exec", (char *)0);
    printf("exec: %s\n", errname(errno));
    _exit(1);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("exec'd image killed by SIGVTALRM: %d\n",
         WIFSIGNALED(st) && WTERMSIG(st) == SIGVTALRM);
}

static int after_exec(void) {
  struct itimerval v, p;
  getitimer(ITIMER_VIRTUAL, &v);
  getitimer(ITIMER_PROF, &p);
  printf("after exec: ITIMER_VIRTUAL armed %d, ITIMER_PROF armed %d, "
         "interval %ld.%06ld\n",
         usec(&v.it_value) > 0, p.it_value.tv_sec > 90,
         (long)p.it_interval.tv_sec, (long)p.it_interval.tv_usec);
  fflush(stdout);
  spin_until_count(1, 20); /* SIGVTALRM's default action ends it */
  printf("after exec: still alive\n");
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc > 1 && !strcmp(argv[1], "after-exec"))
    return after_exec();
  one_shot(ITIMER_VIRTUAL, SIGVTALRM, "ITIMER_VIRTUAL");
  one_shot(ITIMER_PROF, SIGPROF, "ITIMER_PROF");
  periodic();
  countdown();
  zero_value();
  blocked();
  threaded();
  fork_child();
  exec_keeps(argv[0]);

  struct itimerval it = {{0, 0}, {0, 1}}, cur;
  R("setitimer bad which", setitimer(7, &it, NULL));
  R("getitimer bad which", getitimer(3, &cur));
  struct itimerval bad = {{0, 0}, {0, 1000000}};
  R("setitimer ITIMER_PROF usec too big", setitimer(ITIMER_PROF, &bad, NULL));
  R("setitimer ITIMER_VIRTUAL bad pointer",
    setitimer(ITIMER_VIRTUAL, (void *)8, NULL));
  return 0;
}
