/* POSIX timers: timer_create (clocks, notifications, errors),
 * timer_settime (relative, absolute, periodic, old value, disarm),
 * timer_gettime counting down, the signal (SI_TIMER, si_value,
 * si_timerid, si_overrun) by sigwaitinfo and by a handler (interrupting
 * pause and reaching a thread that spins in guest code), overruns and
 * timer_getoverrun, SIGEV_NONE, SIGEV_THREAD_ID to one thread, the C
 * library's SIGEV_THREAD, timer_delete, no timers in a fork child, none
 * after exec. Only bounded facts about times are printed. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

#define MS 1000000ll

static long long now_ns(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return t.tv_sec * 1000000000ll + t.tv_nsec;
}

static long long ts_ns(const struct timespec *t) {
  return t->tv_sec * 1000000000ll + t->tv_nsec;
}

static struct itimerspec its(long long value, long long interval) {
  struct itimerspec s;
  s.it_value.tv_sec = value / 1000000000ll;
  s.it_value.tv_nsec = value % 1000000000ll;
  s.it_interval.tv_sec = interval / 1000000000ll;
  s.it_interval.tv_nsec = interval % 1000000000ll;
  return s;
}

/* The raw system call: the kernel's timer id, whatever the C library's
 * timer_t is. */
static int kcreate(clockid_t c, struct sigevent *ev, int *id) {
  return syscall(SYS_timer_create, c, ev, id);
}

/* sigev_notify_thread_id: the kernel's field after value, signo and
 * notify (the C libraries name it differently). */
static void set_tid(struct sigevent *ev, int tid) {
  memcpy((char *)ev + 16, &tid, sizeof tid);
}

static volatile sig_atomic_t g_hits, g_code, g_val;

static void on_timer(int sig, siginfo_t *si, void *uc) {
  (void)sig, (void)uc;
  g_hits++;
  g_code = si->si_code;
  g_val = si->si_value.sival_int;
}

static int g_tid_target;
static int g_thread_sig;

static void *waiter(void *arg) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN + 2);
  g_tid_target = syscall(SYS_gettid);
  siginfo_t si;
  int s = sigwaitinfo(&set, &si);
  g_thread_sig = s == SIGRTMIN + 2 && si.si_code == SI_TIMER &&
                 si.si_value.sival_int == 77;
  return arg;
}

static pthread_mutex_t g_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_c = PTHREAD_COND_INITIALIZER;
static int g_thread_calls;
static int g_thread_val;

static void on_thread_timer(union sigval v) {
  pthread_mutex_lock(&g_m);
  g_thread_calls++;
  g_thread_val = v.sival_int;
  pthread_cond_signal(&g_c);
  pthread_mutex_unlock(&g_m);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc == 3 && !strcmp(argv[1], "exec-child")) {
    struct itimerspec s;
    R("after exec: gettime", syscall(SYS_timer_gettime, atoi(argv[2]), &s));
    return 0;
  }
  struct sigevent ev;
  struct itimerspec s, old;
  int id = -1, id2 = -1;
  siginfo_t si;
  sigset_t set;

  /* Errors of timer_create. */
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGRTMIN;
  R("create bad clock", kcreate(1000, &ev, &id));
  R("create monotonic raw", kcreate(CLOCK_MONOTONIC_RAW, &ev, &id));
  ev.sigev_notify = 99;
  R("create bad notify", kcreate(CLOCK_MONOTONIC, &ev, &id));
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = 0;
  R("create signal 0", kcreate(CLOCK_MONOTONIC, &ev, &id));
  ev.sigev_signo = 65;
  R("create signal 65", kcreate(CLOCK_MONOTONIC, &ev, &id));
  ev.sigev_signo = SIGRTMIN;
  ev.sigev_notify = SIGEV_THREAD_ID;
  set_tid(&ev, 999999);
  R("create bad thread", kcreate(CLOCK_MONOTONIC, &ev, &id));
  ev.sigev_notify = SIGEV_SIGNAL;
  R("create bad id pointer", kcreate(CLOCK_MONOTONIC, &ev, (int *)8));
  R("settime bad id", syscall(SYS_timer_settime, 4242, 0, &s, NULL));
  R("gettime bad id", syscall(SYS_timer_gettime, 4242, &s));
  R("getoverrun bad id", syscall(SYS_timer_getoverrun, 4242));
  R("delete bad id", syscall(SYS_timer_delete, 4242));

  /* SIGEV_SIGNAL, taken by sigwaitinfo. */
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN);
  sigaddset(&set, SIGRTMIN + 1);
  sigaddset(&set, SIGRTMIN + 2);
  sigaddset(&set, SIGALRM);
  sigprocmask(SIG_BLOCK, &set, NULL);
  ev.sigev_signo = SIGRTMIN;
  ev.sigev_value.sival_int = 1234;
  R("create monotonic", kcreate(CLOCK_MONOTONIC, &ev, &id));
  R("gettime new", syscall(SYS_timer_gettime, id, &s));
  FACT("new is disarmed",
       ts_ns(&s.it_value) == 0 && ts_ns(&s.it_interval) == 0);
  s = its(40 * MS, 0);
  long long t0 = now_ns(CLOCK_MONOTONIC);
  R("settime 40ms", syscall(SYS_timer_settime, id, 0, &s, &old));
  FACT("old disarmed", ts_ns(&old.it_value) == 0);
  R("gettime", syscall(SYS_timer_gettime, id, &s));
  FACT("remaining in (0, 40ms]",
       ts_ns(&s.it_value) > 0 && ts_ns(&s.it_value) <= 40 * MS);
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN);
  int sig = sigwaitinfo(&set, &si);
  long long el = now_ns(CLOCK_MONOTONIC) - t0;
  FACT("sigwaitinfo SIGRTMIN", sig == SIGRTMIN);
  FACT("si_code SI_TIMER", si.si_code == SI_TIMER);
  R("si_value", si.si_value.sival_int);
  FACT("si_timerid is the id", si.si_timerid == id);
  R("si_overrun", si.si_overrun);
  FACT("signalled at the deadline", el >= 40 * MS && el < 5000 * MS);
  R("gettime expired", syscall(SYS_timer_gettime, id, &s));
  FACT("expired one-shot is zero", ts_ns(&s.it_value) == 0);
  R("getoverrun", syscall(SYS_timer_getoverrun, id));

  /* Periodic, the signal blocked: one signal, the rest is overrun. */
  s = its(10 * MS, 10 * MS);
  R("settime periodic", syscall(SYS_timer_settime, id, 0, &s, NULL));
  struct timespec sl = {0, 105 * MS};
  nanosleep(&sl, NULL);
  R("gettime periodic", syscall(SYS_timer_gettime, id, &s));
  FACT("interval kept", ts_ns(&s.it_interval) == 10 * MS);
  FACT("remaining within a period",
       ts_ns(&s.it_value) > 0 && ts_ns(&s.it_value) <= 10 * MS);
  sigpending(&set);
  FACT("pending", sigismember(&set, SIGRTMIN));
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN);
  struct timespec zero = {0, 0};
  sig = sigtimedwait(&set, &si, &zero);
  FACT("one signal", sig == SIGRTMIN);
  int ovr = si.si_overrun;
  FACT("overrun about 9", ovr >= 8 && ovr < 10000);
  FACT("getoverrun agrees", syscall(SYS_timer_getoverrun, id) == ovr);
  s = its(0, 0);
  R("settime disarm", syscall(SYS_timer_settime, id, 0, &s, &old));
  FACT("old interval 10ms", ts_ns(&old.it_interval) == 10 * MS);
  R("gettime disarmed", syscall(SYS_timer_gettime, id, &s));
  FACT("disarmed", ts_ns(&s.it_value) == 0 && ts_ns(&s.it_interval) == 0);
  /* Anything queued meanwhile goes; nothing comes after. */
  while (sigtimedwait(&set, &si, &zero) > 0)
    ;
  sl.tv_nsec = 30 * MS;
  nanosleep(&sl, NULL);
  R("nothing after disarm", sigtimedwait(&set, &si, &zero));

  /* Absolute on CLOCK_REALTIME. */
  ev.sigev_signo = SIGRTMIN + 1;
  ev.sigev_value.sival_int = 5;
  R("create realtime", kcreate(CLOCK_REALTIME, &ev, &id2));
  t0 = now_ns(CLOCK_MONOTONIC);
  s = its(now_ns(CLOCK_REALTIME) + 40 * MS, 0);
  R("settime abstime",
    syscall(SYS_timer_settime, id2, TIMER_ABSTIME, &s, NULL));
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN + 1);
  sig = sigwaitinfo(&set, &si);
  el = now_ns(CLOCK_MONOTONIC) - t0;
  FACT("abstime signal", sig == SIGRTMIN + 1 && si.si_value.sival_int == 5);
  FACT("abstime at the deadline", el >= 35 * MS && el < 5000 * MS);
  s = its(now_ns(CLOCK_REALTIME) - 1000 * MS, 0);
  R("settime abstime past",
    syscall(SYS_timer_settime, id2, TIMER_ABSTIME, &s, NULL));
  struct timespec sec = {5, 0};
  R("past fires at once", sigtimedwait(&set, &si, &sec) == SIGRTMIN + 1);
  R("delete", syscall(SYS_timer_delete, id2));
  R("delete again", syscall(SYS_timer_delete, id2));
  R("gettime deleted", syscall(SYS_timer_gettime, id2, &s));

  /* SIGEV_NONE: counts down, signals nothing. */
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_NONE;
  R("create none", kcreate(CLOCK_MONOTONIC, &ev, &id2));
  s = its(20 * MS, 0);
  R("settime none", syscall(SYS_timer_settime, id2, 0, &s, NULL));
  R("gettime none", syscall(SYS_timer_gettime, id2, &s));
  FACT("none counts down",
       ts_ns(&s.it_value) > 0 && ts_ns(&s.it_value) <= 20 * MS);
  sl.tv_nsec = 40 * MS;
  nanosleep(&sl, NULL);
  R("gettime none expired", syscall(SYS_timer_gettime, id2, &s));
  FACT("none expired is zero", ts_ns(&s.it_value) == 0);
  sigpending(&set);
  FACT("nothing pending",
       !sigismember(&set, SIGRTMIN) && !sigismember(&set, SIGALRM));
  syscall(SYS_timer_delete, id2);

  /* The default notification: SIGALRM with the id as value, to a
   * handler, interrupting pause. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_timer;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGALRM, &sa, NULL);
  R("create default", kcreate(CLOCK_MONOTONIC, NULL, &id2));
  s = its(30 * MS, 0);
  syscall(SYS_timer_settime, id2, 0, &s, NULL);
  sigemptyset(&set);
  sigaddset(&set, SIGALRM);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  R("pause", pause());
  FACT("handler ran once", g_hits == 1);
  FACT("handler si_code SI_TIMER", g_code == SI_TIMER);
  FACT("default value is the id", g_val == id2);
  /* A thread spinning in guest code gets it. */
  g_hits = 0;
  s = its(30 * MS, 0);
  syscall(SYS_timer_settime, id2, 0, &s, NULL);
  t0 = now_ns(CLOCK_MONOTONIC);
  while (!g_hits && now_ns(CLOCK_MONOTONIC) - t0 < 10000 * MS)
    ;
  FACT("spinning thread interrupted", g_hits == 1);
  syscall(SYS_timer_delete, id2);

  /* SIGEV_THREAD_ID: one thread takes it. */
  pthread_t th;
  pthread_create(&th, NULL, waiter, NULL);
  while (!__atomic_load_n(&g_tid_target, __ATOMIC_SEQ_CST))
    sched_yield();
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = SIGRTMIN + 2;
  ev.sigev_value.sival_int = 77;
  set_tid(&ev, g_tid_target);
  R("create thread id", kcreate(CLOCK_MONOTONIC, &ev, &id2));
  s = its(20 * MS, 0);
  syscall(SYS_timer_settime, id2, 0, &s, NULL);
  pthread_join(th, NULL);
  FACT("the thread took it", g_thread_sig);
  syscall(SYS_timer_delete, id2);

  /* The C library's SIGEV_THREAD (over SIGEV_THREAD_ID). */
  timer_t lt;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_THREAD;
  ev.sigev_notify_function = on_thread_timer;
  ev.sigev_value.sival_int = 9;
  R("timer_create SIGEV_THREAD", timer_create(CLOCK_MONOTONIC, &ev, &lt));
  s = its(20 * MS, 0);
  R("timer_settime", timer_settime(lt, 0, &s, NULL));
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  pthread_mutex_lock(&g_m);
  while (!g_thread_calls)
    if (pthread_cond_timedwait(&g_c, &g_m, &until))
      break;
  pthread_mutex_unlock(&g_m);
  FACT("callback ran", g_thread_calls == 1 && g_thread_val == 9);
  R("timer_delete", timer_delete(lt));

  /* fork: the child has none; the parent's keep going. */
  s = its(3600000 * MS, 0);
  syscall(SYS_timer_settime, id, 0, &s, NULL);
  pid_t pid = fork();
  if (pid == 0) {
    R("child: gettime", syscall(SYS_timer_gettime, id, &s));
    R("child: delete", syscall(SYS_timer_delete, id));
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  R("parent: gettime", syscall(SYS_timer_gettime, id, &s));
  FACT("parent's still armed", ts_ns(&s.it_value) > 3500000 * MS);

  /* exec: gone. */
  pid = fork();
  if (pid == 0) {
    char ids[16];
    snprintf(ids, sizeof ids, "%d", id);
    execl("/proc/self/exe", argv[0], "exec-child", ids, (char *)NULL);
    _exit(127);
  }
  waitpid(pid, &st, 0);
  R("exec child status", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  R("delete", syscall(SYS_timer_delete, id));
  return 0;
}
