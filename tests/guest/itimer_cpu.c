/* The CPU-time interval timers: ITIMER_VIRTUAL (SIGVTALRM) and ITIMER_PROF
 * (SIGPROF) fire while the process spins in user code, getitimer shows
 * them armed, and a zero value disarms them. Wall time bounds every spin,
 * so a timer that never fires prints 0 instead of hanging. */
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include "guest.h"

static volatile int g_fired;
static void on_timer(int sig) {
  g_fired = sig;
}

static int spin_until_fired(void) {
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do {
    for (volatile int i = 0; i < 100000; i++)
      ;
    clock_gettime(CLOCK_MONOTONIC, &t);
  } while (!g_fired && t.tv_sec - t0.tv_sec < 5);
  return g_fired;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const struct {
    int which, sig;
    const char *name;
  } timers[] = {{ITIMER_VIRTUAL, SIGVTALRM, "ITIMER_VIRTUAL"},
                {ITIMER_PROF, SIGPROF, "ITIMER_PROF"}};
  for (int i = 0; i < 2; i++) {
    signal(timers[i].sig, on_timer);
    g_fired = 0;
    struct itimerval it = {{0, 0}, {0, 20000}}, cur;
    int armed = setitimer(timers[i].which, &it, NULL) == 0;
    printf("setitimer: %s\n", armed ? "ok" : errname(errno));
    getitimer(timers[i].which, &cur);
    printf("%s armed: %d\n", timers[i].name,
           cur.it_value.tv_sec > 0 || cur.it_value.tv_usec > 0);
    int sig = armed ? spin_until_fired() : 0;
    printf("%s fired: %d\n", timers[i].name, sig == timers[i].sig);
    getitimer(timers[i].which, &cur);
    printf("%s one-shot disarmed: %d\n", timers[i].name,
           cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);
    struct itimerval big = {{0, 0}, {100, 0}}, zero = {{0, 0}, {0, 0}};
    setitimer(timers[i].which, &big, NULL);
    setitimer(timers[i].which, &zero, &cur);
    printf("%s old value returned: %d\n", timers[i].name,
           cur.it_value.tv_sec > 90);
    signal(timers[i].sig, SIG_DFL);
  }
  struct itimerval it = {{0, 0}, {0, 1}};
  R("setitimer bad which", setitimer(7, &it, NULL));
  return 0;
}
