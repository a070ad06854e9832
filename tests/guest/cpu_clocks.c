/* CPU time split into user and system time, and the CPU clocks of
 * clock_getcpuclockid and pthread_getcpuclockid, run natively and under
 * moat with the same output. Only properties that hold on a shared
 * machine are printed: lower bounds after burning CPU in user code or in
 * the kernel's page faults, sums that agree, and a new thread's clock
 * that starts near zero although its process has run for a while. */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

static double ts_s(struct timespec ts) {
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double clock_s(clockid_t c) {
  struct timespec ts;
  if (clock_gettime(c, &ts) != 0)
    return -1;
  return ts_s(ts);
}

static double tv(struct timeval t) {
  return (double)t.tv_sec + t.tv_usec / 1e6;
}

/* Spin in user code until the clock has advanced by seconds. */
static void burn(clockid_t c, double seconds) {
  volatile unsigned long x = 0;
  double end = clock_s(c) + seconds;
  time_t give_up = time(NULL) + 20;
  while (clock_s(c) < end && time(NULL) < give_up)
    for (int i = 0; i < 100000; i++)
      x++;
}

/* Time in the kernel: page faults of fresh memory, given back each round
 * (a page fault is system time natively and in moat's host process). */
static void fault_pages(double seconds) {
  size_t len = 64ul << 20;
  struct rusage ru;
  time_t give_up = time(NULL) + 20;
  do {
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      return;
    for (size_t i = 0; i < len; i += 4096)
      p[i] = 1;
    munmap(p, len);
    getrusage(RUSAGE_SELF, &ru);
  } while (tv(ru.ru_stime) < seconds && time(NULL) < give_up);
}

static void *thread_main(void *arg) {
  clockid_t mine;
  (void)arg;
  FACT("new thread's own clock starts below 0.1 s",
       clock_s(CLOCK_THREAD_CPUTIME_ID) < 0.1);
  FACT("pthread_getcpuclockid(self) works",
       pthread_getcpuclockid(pthread_self(), &mine) == 0);
  FACT("it starts below 0.1 s too", clock_s(mine) < 0.1);
  burn(CLOCK_THREAD_CPUTIME_ID, 0.1);
  double t = clock_s(mine);
  FACT("after burning 0.1 s it reads >= 0.1 s", t >= 0.1);
  FACT("and no more than its process",
       t <= clock_s(CLOCK_PROCESS_CPUTIME_ID) + 0.001);
  struct rusage ru;
  FACT("getrusage(RUSAGE_THREAD) works", getrusage(RUSAGE_THREAD, &ru) == 0);
  FACT("RUSAGE_THREAD below the process's time",
       tv(ru.ru_utime) + tv(ru.ru_stime) < 0.4);
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct rusage ru, before;
  /* What the burning adds (the start's own system time varies, with
   * moat's start more on a loaded machine). */
  getrusage(RUSAGE_SELF, &before);
  burn(CLOCK_PROCESS_CPUTIME_ID, 0.3);
  R("getrusage self", getrusage(RUSAGE_SELF, &ru));
  FACT("user time grows >= 0.2 s while burning 0.3 s in user code",
       tv(ru.ru_utime) - tv(before.ru_utime) >= 0.2);
  double total = tv(ru.ru_utime) + tv(ru.ru_stime);
  double clock = clock_s(CLOCK_PROCESS_CPUTIME_ID);
  FACT("user + system within 20 ms of the CPU clock",
       total <= clock + 0.001 && clock - total < 0.02);

  fault_pages(0.05);
  R("getrusage self", getrusage(RUSAGE_SELF, &ru));
  FACT("system time >= 0.05 s after page faults", tv(ru.ru_stime) >= 0.05);

  struct tms t;
  clock_t now = times(&t);
  FACT("times returns a clock", now != (clock_t)-1);
  long hz = sysconf(_SC_CLK_TCK);
  double tu = (double)t.tms_utime / hz, tsys = (double)t.tms_stime / hz;
  FACT("times utime >= 0.2 s", tu >= 0.2);
  FACT("times stime >= 0.04 s", tsys >= 0.04);

  /* /proc/self/stat fields 14 and 15 (utime, stime) in ticks. */
  FILE *f = fopen("/proc/self/stat", "r");
  unsigned long ut = 0, st = 0;
  if (f) {
    char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    char *s = strrchr(buf, ')');
    if (s)
      sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
             &st);
  }
  FACT("/proc/self/stat utime >= 0.2 s", (double)ut / hz >= 0.2);
  FACT("/proc/self/stat stime >= 0.04 s", (double)st / hz >= 0.04);

  /* The process's CPU clock by id, and errors for what does not exist. */
  clockid_t cid;
  R("clock_getcpuclockid(0)", clock_getcpuclockid(0, &cid));
  FACT("it reads >= 0.3 s", clock_s(cid) >= 0.3);
  R("clock_getcpuclockid(getpid())", clock_getcpuclockid(getpid(), &cid));
  FACT("it reads >= 0.3 s", clock_s(cid) >= 0.3);
  struct timespec res;
  R("clock_getres of it", clock_getres(cid, &res));
  /* the CPUCLOCK_VIRT (user time) flavour of the same clock */
  clockid_t virt = (clockid_t)((~(unsigned)getpid() << 3) | 1);
  double v = clock_s(virt);
  FACT("its user-time clock reads >= 0.2 s", v >= 0.2);
  FACT("and no more than the whole", v <= clock_s(cid) + 0.001);
  printf("clock_getcpuclockid(no such pid): %s\n",
         errname(clock_getcpuclockid(999999, &cid)));
  struct timespec ts;
  errno = 0;
  R("clock_gettime(CPUCLOCK_WHICH 3)",
    clock_gettime((clockid_t)((~0u << 3) | 3), &ts));

  /* A child's clock, from the parent, while the child waits. */
  int pfd[2];
  if (pipe(pfd) != 0)
    return 1;
  pid_t c = fork();
  if (c == 0) {
    char b;
    close(pfd[1]);
    /* 0.1 s of user time (its CPU clock also counts the system time
     * of the fork's first writes, more of it on a loaded machine) */
    struct rusage mine;
    time_t give_up = time(NULL) + 20;
    do
      burn(CLOCK_PROCESS_CPUTIME_ID, 0.01);
    while (getrusage(RUSAGE_SELF, &mine) == 0 && tv(mine.ru_utime) < 0.1 &&
           time(NULL) < give_up);
    read(pfd[0], &b, 1);
    _exit(0);
  }
  close(pfd[0]);
  R("clock_getcpuclockid(child)", clock_getcpuclockid(c, &cid));
  double ct = clock_s(cid);
  FACT("child's clock readable", ct >= 0);
  close(pfd[1]);
  R("wait4", wait4(c, NULL, 0, &ru) == c);
  FACT("wait4 utime >= 0.08 s", tv(ru.ru_utime) >= 0.08);

  pthread_t th;
  if (pthread_create(&th, NULL, thread_main, NULL) != 0)
    return 1;
  pthread_join(th, NULL);
  return 0;
}
