/* Time syscalls: clock_gettime (several clocks), clock_getres,
 * gettimeofday, time, nanosleep, clock_nanosleep (relative, absolute,
 * errors). Only relations are printed: monotonic order, sleeps at least as
 * long as asked, realtime agreeing between the interfaces. */
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "guest.h"

static long long ns(const struct timespec *t) {
  return t->tv_sec * 1000000000ll + t->tv_nsec;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct timespec a, b, r;
  R("clock_gettime REALTIME", clock_gettime(CLOCK_REALTIME, &a));
  FACT("realtime after 2020", a.tv_sec > 1577836800);
  FACT("nsec in range", a.tv_nsec >= 0 && a.tv_nsec < 1000000000);
  struct timeval tv;
  R("gettimeofday", gettimeofday(&tv, NULL));
  FACT("gettimeofday agrees",
       tv.tv_sec - a.tv_sec >= 0 && tv.tv_sec - a.tv_sec < 5);
  FACT("usec in range", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
  time_t t = time(NULL);
  FACT("time agrees", t - a.tv_sec >= 0 && t - a.tv_sec < 5);
  FACT("raw time syscall agrees", syscall(SYS_time, NULL) - a.tv_sec < 5);
  R("clock_gettime MONOTONIC", clock_gettime(CLOCK_MONOTONIC, &a));
  R("clock_gettime MONOTONIC", clock_gettime(CLOCK_MONOTONIC, &b));
  FACT("monotonic does not go back", ns(&b) >= ns(&a));
  const clockid_t clocks[] = {
      CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,    CLOCK_MONOTONIC_COARSE,
      CLOCK_BOOTTIME,      CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID};
  for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
    char label[64];
    snprintf(label, sizeof label, "clock_gettime clock %d", (int)clocks[i]);
    R(label, clock_gettime(clocks[i], &a));
  }
  R("clock_gettime bad clock", syscall(SYS_clock_gettime, 1000, &a));
  R("clock_getres MONOTONIC", clock_getres(CLOCK_MONOTONIC, &r));
  FACT("resolution sub-second",
       r.tv_sec == 0 && r.tv_nsec > 0 && r.tv_nsec <= 10000000);
  R("clock_getres REALTIME", clock_getres(CLOCK_REALTIME, &r));
  R("clock_getres bad clock", syscall(SYS_clock_getres, 1000, &r));
  R("clock_getres NULL", clock_getres(CLOCK_MONOTONIC, NULL));

  struct timespec req = {0, 30 * 1000 * 1000}, rem = {9, 9};
  clock_gettime(CLOCK_MONOTONIC, &a);
  R("nanosleep 30ms", nanosleep(&req, &rem));
  clock_gettime(CLOCK_MONOTONIC, &b);
  FACT("slept at least 30ms", ns(&b) - ns(&a) >= 30 * 1000 * 1000);
  FACT("slept less than 2s", ns(&b) - ns(&a) < 2000000000ll);
  struct timespec bad = {0, 1000000000};
  R("nanosleep bad nsec", nanosleep(&bad, NULL));
  struct timespec neg = {-1, 0};
  R("nanosleep negative", nanosleep(&neg, NULL));
  /* clock_nanosleep returns the error number, not -1/errno */
  printf("clock_nanosleep bad nsec: %s\n",
         errname(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL)));
  printf("clock_nanosleep bad clock: %d\n",
         clock_nanosleep(1000, 0, &req, NULL) != 0);
  clock_gettime(CLOCK_MONOTONIC, &a);
  struct timespec until = a;
  until.tv_nsec += 20 * 1000 * 1000;
  if (until.tv_nsec >= 1000000000) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000;
  }
  printf("clock_nanosleep abs: %d\n",
         clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL));
  clock_gettime(CLOCK_MONOTONIC, &b);
  FACT("reached the absolute time", ns(&b) >= ns(&until));
  struct timespec past = {1, 0};
  printf("clock_nanosleep abs past: %d\n",
         clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL));
  req.tv_nsec = 10 * 1000 * 1000;
  printf("clock_nanosleep realtime rel: %d\n",
         clock_nanosleep(CLOCK_REALTIME, 0, &req, NULL));
  R("usleep", usleep(1000));
  R("sleep 0", sleep(0));
  return 0;
}
