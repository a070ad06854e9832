/* timerfd: create (clocks, flags, errors), settime (relative, absolute,
 * periodic, old value, disarm), gettime counting down, read (the 8-byte
 * expiration count, EAGAIN, blocking until the deadline, EINVAL for a
 * short buffer, EINTR), readiness through poll, select and epoll waking
 * at the deadline, sharing across fork, and a blocked reader in another
 * process woken by a re-arm. Only bounded facts about times are printed. */
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
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

static void on_alarm(int sig) {
  (void)sig;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  uint64_t n = 0;
  struct itimerspec s, old;

  /* Creation. */
  R("create bad clock", timerfd_create(1000, 0));
  R("create cpu clock", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0));
  R("create bad flags", timerfd_create(CLOCK_MONOTONIC, 1));
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  FACT("create monotonic", fd >= 0);
  R("cloexec", fcntl(fd, F_GETFD) & FD_CLOEXEC);
  FACT("nonblock", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
  int b = timerfd_create(CLOCK_BOOTTIME, 0);
  FACT("create boottime", b >= 0);
  close(b);

  /* Disarmed. */
  R("gettime disarmed", timerfd_gettime(fd, &s));
  FACT("disarmed is zero",
       ts_ns(&s.it_value) == 0 && ts_ns(&s.it_interval) == 0);
  R("read disarmed", read(fd, &n, 8));
  char small[4];
  R("read short buffer", read(fd, small, 4));
  R("write", write(fd, &n, 8));
  struct pollfd p = {fd, POLLIN, 0};
  R("poll disarmed", poll(&p, 1, 0));

  /* Errors of settime and gettime. */
  s = its(50 * MS, 0);
  R("settime bad flags", timerfd_settime(fd, 4, &s, NULL));
  struct itimerspec bad = s;
  bad.it_value.tv_nsec = 1000000000;
  R("settime bad nsec", timerfd_settime(fd, 0, &bad, NULL));
  bad = s;
  bad.it_interval.tv_sec = -1;
  R("settime negative interval", timerfd_settime(fd, 0, &bad, NULL));
  R("settime bad fd", timerfd_settime(999, 0, &s, NULL));
  int efd = eventfd(0, 0);
  R("settime eventfd", timerfd_settime(efd, 0, &s, NULL));
  R("gettime eventfd", timerfd_gettime(efd, &s));
  R("gettime bad fd", timerfd_gettime(999, &s));
  R("settime bad pointer", timerfd_settime(fd, 0, (void *)8, NULL));
  close(efd);

  /* A one-shot relative timer, waited for with poll. */
  long long t0 = now_ns(CLOCK_MONOTONIC);
  s = its(50 * MS, 0);
  R("settime 50ms", timerfd_settime(fd, 0, &s, &old));
  FACT("old was disarmed", ts_ns(&old.it_value) == 0);
  R("gettime", timerfd_gettime(fd, &s));
  FACT("remaining in (0, 50ms]",
       ts_ns(&s.it_value) > 0 && ts_ns(&s.it_value) <= 50 * MS);
  R("poll not yet", poll(&p, 1, 0));
  R("read not yet", read(fd, &n, 8));
  R("poll until the deadline", poll(&p, 1, 10000));
  FACT("poll revents POLLIN", p.revents == POLLIN);
  long long el = now_ns(CLOCK_MONOTONIC) - t0;
  FACT("poll woke at the deadline", el >= 50 * MS && el < 5000 * MS);
  R("read after expiry", read(fd, &n, 8));
  R("count", (long)n);
  R("read again", read(fd, &n, 8));
  R("gettime expired one-shot", timerfd_gettime(fd, &s));
  FACT("expired one-shot is zero", ts_ns(&s.it_value) == 0);

  /* Periodic: several expirations counted, remaining within a period. */
  s = its(10 * MS, 10 * MS);
  R("settime periodic", timerfd_settime(fd, 0, &s, NULL));
  struct timespec sl = {0, 65 * MS};
  nanosleep(&sl, NULL);
  R("gettime periodic", timerfd_gettime(fd, &s));
  FACT("interval kept", ts_ns(&s.it_interval) == 10 * MS);
  FACT("remaining within a period",
       ts_ns(&s.it_value) > 0 && ts_ns(&s.it_value) <= 10 * MS);
  R("read periodic", read(fd, &n, 8));
  FACT("at least 6 expirations", n >= 6 && n < 100000);
  /* Re-arm: the old value is the running periodic timer; the count goes. */
  nanosleep(&sl, NULL);
  s = its(3600000 * MS, 0);
  R("settime re-arm", timerfd_settime(fd, 0, &s, &old));
  FACT("old interval 10ms", ts_ns(&old.it_interval) == 10 * MS);
  FACT("old value within a period",
       ts_ns(&old.it_value) > 0 && ts_ns(&old.it_value) <= 10 * MS);
  R("read after re-arm", read(fd, &n, 8));
  s = its(0, 0);
  R("settime disarm", timerfd_settime(fd, 0, &s, &old));
  FACT("old value about an hour", ts_ns(&old.it_value) > 3500000 * MS &&
                                      ts_ns(&old.it_value) <= 3600000 * MS);
  R("gettime after disarm", timerfd_gettime(fd, &s));
  FACT("disarmed again", ts_ns(&s.it_value) == 0 && ts_ns(&s.it_interval) == 0);
  R("poll disarmed 30ms", poll(&p, 1, 30));

  /* Absolute on CLOCK_REALTIME, blocking read. */
  int rfd = timerfd_create(CLOCK_REALTIME, 0);
  FACT("create realtime", rfd >= 0);
  t0 = now_ns(CLOCK_MONOTONIC);
  s = its(now_ns(CLOCK_REALTIME) + 40 * MS, 0);
  R("settime abstime", timerfd_settime(rfd, TFD_TIMER_ABSTIME, &s, NULL));
  R("blocking read", read(rfd, &n, 8));
  el = now_ns(CLOCK_MONOTONIC) - t0;
  R("count", (long)n);
  FACT("read blocked until the deadline", el >= 35 * MS && el < 5000 * MS);
  /* In the past, periodic: the missed periods are counted at once. */
  s = its(now_ns(CLOCK_REALTIME) - 1000 * MS, 300 * MS);
  R("settime abstime in the past",
    timerfd_settime(rfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &s,
                    NULL));
  R("read past", read(rfd, &n, 8));
  FACT("4 or 5 expirations", n == 4 || n == 5);
  s = its(0, 0);
  timerfd_settime(rfd, 0, &s, NULL);
  /* Monotonic absolute. */
  s = its(now_ns(CLOCK_MONOTONIC) + 20 * MS, 0);
  R("settime monotonic abstime",
    timerfd_settime(fd, TFD_TIMER_ABSTIME, &s, NULL));
  R("poll monotonic abstime", poll(&p, 1, 10000));
  R("read", read(fd, &n, 8));
  R("count", (long)n);

  /* select and epoll wake at the deadline. */
  t0 = now_ns(CLOCK_MONOTONIC);
  s = its(30 * MS, 0);
  timerfd_settime(fd, 0, &s, NULL);
  fd_set rs;
  FD_ZERO(&rs);
  FD_SET(fd, &rs);
  struct timeval tv = {10, 0};
  R("select", select(fd + 1, &rs, NULL, NULL, &tv));
  FACT("select readable", FD_ISSET(fd, &rs));
  el = now_ns(CLOCK_MONOTONIC) - t0;
  FACT("select woke at the deadline", el >= 30 * MS && el < 5000 * MS);
  read(fd, &n, 8);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 42}, out[2];
  R("epoll_ctl add", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
  R("epoll_wait disarmed", epoll_wait(ep, out, 2, 0));
  t0 = now_ns(CLOCK_MONOTONIC);
  timerfd_settime(fd, 0, &s, NULL);
  R("epoll_wait", epoll_wait(ep, out, 2, 10000));
  FACT("epoll event", out[0].events == EPOLLIN && out[0].data.u64 == 42);
  el = now_ns(CLOCK_MONOTONIC) - t0;
  FACT("epoll woke at the deadline", el >= 30 * MS && el < 5000 * MS);
  R("epoll_wait level", epoll_wait(ep, out, 2, 0));
  read(fd, &n, 8);
  R("epoll_wait after read", epoll_wait(ep, out, 2, 0));
  /* Nested: an epoll set watching the first. */
  int ep2 = epoll_create1(0);
  ev.data.u64 = 7;
  epoll_ctl(ep2, EPOLL_CTL_ADD, ep, &ev);
  timerfd_settime(fd, 0, &s, NULL);
  R("nested epoll_wait", epoll_wait(ep2, out, 2, 10000));
  read(fd, &n, 8);
  close(ep2);
  close(ep);

  /* Interrupted: a blocking read gives EINTR to a handler without
   * SA_RESTART. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  s = its(3600000 * MS, 0);
  timerfd_settime(rfd, 0, &s, NULL);
  struct itimerval it = {{0, 0}, {0, 30000}};
  setitimer(ITIMER_REAL, &it, NULL);
  R("read interrupted", read(rfd, &n, 8));

  /* fork: one timer, shared. The child's blocked read ends at the
   * deadline; the count it took is gone for the parent. */
  s = its(40 * MS, 0);
  timerfd_settime(rfd, 0, &s, NULL);
  pid_t pid = fork();
  if (pid == 0) {
    uint64_t c = 0;
    ssize_t r = read(rfd, &c, 8);
    printf("child read: %ld count %lu\n", (long)r, (unsigned long)c);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  R("parent read after child", read(fd, &n, 8));
  p.fd = rfd;
  R("parent poll after child", poll(&p, 1, 0));
  /* A child blocked on a timer an hour away is woken by the parent's
   * re-arm to 20 ms. */
  s = its(3600000 * MS, 0);
  timerfd_settime(rfd, 0, &s, NULL);
  pid = fork();
  if (pid == 0) {
    uint64_t c = 0;
    long long c0 = now_ns(CLOCK_MONOTONIC);
    ssize_t r = read(rfd, &c, 8);
    long long ce = now_ns(CLOCK_MONOTONIC) - c0;
    printf("child read re-armed: %ld count %lu\n", (long)r, (unsigned long)c);
    printf("child woke in time: %d\n", ce < 5000 * MS);
    _exit(0);
  }
  sl.tv_nsec = 50 * MS;
  nanosleep(&sl, NULL);
  s = its(20 * MS, 0);
  R("parent re-arms", timerfd_settime(rfd, 0, &s, NULL));
  waitpid(pid, &st, 0);
  R("child status", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  R("close", close(rfd));
  R("close", close(fd));
  R("gettime closed", timerfd_gettime(fd, &s));
  return 0;
}
