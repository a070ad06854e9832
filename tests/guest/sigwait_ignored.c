/* A signal whose disposition is SIG_IGN is still queued while it is
 * blocked, and sigwaitinfo takes it (Linux checks the mask a waiter had
 * before its wait: real_blocked). glibc's SIGEV_THREAD timers rely on it
 * when the launcher ignored signal 32. Sent by another thread while the
 * waiter sleeps, and by a POSIX timer. */
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "guest.h"

static pthread_t g_main;

static void *sender(void *arg) {
  usleep(20000);
  pthread_kill(g_main, SIGRTMIN + 1);
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN + 1);
  sigaddset(&set, SIGUSR1);
  signal(SIGRTMIN + 1, SIG_IGN);
  signal(SIGUSR1, SIG_IGN);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  g_main = pthread_self();

  /* Sent before the wait: blocked, so queued although ignored. */
  raise(SIGUSR1);
  sigset_t pend;
  sigpending(&pend);
  printf("ignored and blocked SIGUSR1 pending: %d\n",
         sigismember(&pend, SIGUSR1));
  siginfo_t si;
  int got = sigwaitinfo(&set, &si);
  printf("sigwaitinfo: %s\n", got == SIGUSR1 ? "SIGUSR1" : "other");

  /* Sent while the waiter sleeps in sigwaitinfo. */
  pthread_t th;
  pthread_create(&th, NULL, sender, NULL);
  struct timespec ts = {5, 0};
  got = sigtimedwait(&set, &si, &ts);
  printf("sigtimedwait during the wait: %s\n", got == SIGRTMIN + 1
                                                   ? "SIGRTMIN+1"
                                               : got < 0 ? errname(errno)
                                                         : "other");
  pthread_join(th, NULL);

  /* A timer's signal. */
  struct sigevent ev;
  memset(&ev, 0, sizeof(ev));
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGRTMIN + 1;
  timer_t tm;
  timer_create(CLOCK_MONOTONIC, &ev, &tm);
  struct itimerspec it = {{0, 0}, {0, 20000000}};
  timer_settime(tm, 0, &it, NULL);
  got = sigtimedwait(&set, &si, &ts);
  printf("timer's signal: %s, si_code SI_TIMER %d\n",
         got == SIGRTMIN + 1 ? "SIGRTMIN+1"
         : got < 0           ? errname(errno)
                             : "other",
         si.si_code == SI_TIMER);

  /* Unblocked and ignored: discarded. */
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  raise(SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  sigpending(&pend);
  printf("ignored unblocked SIGUSR1 pending: %d\n",
         sigismember(&pend, SIGUSR1));
  return 0;
}
