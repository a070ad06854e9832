/* poll, ppoll, select, pselect6, epoll and eventfd: readiness of pipes,
 * files and eventfds (POLLIN/POLLOUT/POLLHUP/POLLERR/POLLNVAL), timeouts,
 * EBADF and EINVAL rules, EINTR from a signal, level- and edge-triggered
 * and one-shot epoll items, an epoll set inside another, eventfd counter
 * and semaphore semantics, and blocking waits woken from a forked child
 * (pipe, eventfd, epoll shared across fork). */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

static void on_alarm(int sig) {
  (void)sig;
}

static void show_poll(const char *label, struct pollfd *p, int n, int rc) {
  printf("%s: %d", label, rc < 0 ? -errno : rc);
  for (int i = 0; i < n; i++)
    printf(" [%d]=%#x", i, p[i].revents);
  printf("\n");
}

static void show_epoll(const char *label, struct epoll_event *ev, int rc) {
  printf("%s: %d", label, rc < 0 ? -errno : rc);
  for (int i = 0; i < rc; i++)
    printf(" {%#x %llu}", ev[i].events, (unsigned long long)ev[i].data.u64);
  printf("\n");
}

static void test_poll(void) {
  int p[2];
  pipe(p);
  struct pollfd fds[4] = {
      {p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {99, POLLIN, 0}, {-1, POLLIN, 0}};
  show_poll("poll empty pipe", fds, 4, poll(fds, 4, 0));
  write(p[1], "x", 1);
  show_poll("poll one byte", fds, 4, poll(fds, 4, 0));
  struct timespec t0, t1;
  char c;
  read(p[0], &c, 1);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  show_poll("poll timeout 50ms", fds, 1, poll(fds, 1, 50));
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms =
      (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  FACT("waited about 50ms", ms >= 45 && ms < 1000);
  close(p[1]);
  show_poll("poll writer gone", fds, 1, poll(fds, 1, 0));
  pipe(p + 0);
  close(p[0]);
  struct pollfd w = {p[1], POLLOUT, 0};
  signal(SIGPIPE, SIG_IGN);
  show_poll("poll reader gone", &w, 1, poll(&w, 1, 0));
  close(p[1]);
  close(fds[0].fd);
  write_file("reg", "data");
  int f = open("reg", O_RDWR);
  struct pollfd r = {f, POLLIN | POLLOUT, 0};
  show_poll("poll regular file", &r, 1, poll(&r, 1, -1));
  close(f);
  errno = 0;
  struct pollfd *volatile none = NULL;
  R("poll nfds too big", poll(none, 1u << 20, 0));
  struct timespec ts = {0, 20000000};
  R("ppoll nothing 20ms", ppoll(NULL, 0, &ts, NULL));
  printf("ppoll time left: %ld %ld\n", (long)ts.tv_sec, ts.tv_nsec);
  /* EINTR: an alarm interrupts a wait on an empty pipe. */
  struct sigaction sa = {0};
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  pipe(p);
  struct pollfd e = {p[0], POLLIN, 0};
  struct itimerval it = {{0, 0}, {0, 30000}};
  setitimer(ITIMER_REAL, &it, NULL);
  R("poll interrupted", poll(&e, 1, -1));
  /* ppoll with SIGALRM blocked outside and unblocked inside. */
  sigset_t block, empty;
  sigemptyset(&block);
  sigaddset(&block, SIGALRM);
  sigemptyset(&empty);
  sigprocmask(SIG_BLOCK, &block, NULL);
  setitimer(ITIMER_REAL, &it, NULL);
  R("ppoll unblocks", ppoll(&e, 1, NULL, &empty));
  setitimer(ITIMER_REAL, &it, NULL);
  ts.tv_sec = 0;
  ts.tv_nsec = 100000000;
  R("ppoll keeps blocked", ppoll(&e, 1, &ts, &block));
  sigprocmask(SIG_UNBLOCK, &block, NULL); /* the pending alarm runs */
  close(p[0]);
  close(p[1]);
}

static void test_select(void) {
  int p[2];
  pipe(p);
  fd_set r, w;
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_SET(p[0], &r);
  FD_SET(p[1], &w);
  struct timeval tv = {0, 0};
  int rc = select(p[1] + 1, &r, &w, NULL, &tv);
  printf("select empty: %d r=%d w=%d\n", rc, FD_ISSET(p[0], &r),
         FD_ISSET(p[1], &w));
  write(p[1], "ab", 2);
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  rc = select(p[0] + 1, &r, NULL, NULL, NULL);
  printf("select data: %d r=%d\n", rc, FD_ISSET(p[0], &r));
  FD_ZERO(&r);
  FD_SET(50, &r);
  R("select bad fd", select(51, &r, NULL, NULL, &tv));
  R("select negative", select(-1, NULL, NULL, NULL, &tv));
  tv.tv_usec = 20000;
  R("select sleep", select(0, NULL, NULL, NULL, &tv));
  printf("select left: %ld %ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
  struct timespec ts = {0, 0};
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  R("pselect data", pselect(p[0] + 1, &r, NULL, NULL, &ts, NULL));
  close(p[1]);
  char buf[4];
  read(p[0], buf, 2);
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  R("select eof readable", select(p[0] + 1, &r, NULL, NULL, NULL));
  close(p[0]);
}

static void test_eventfd(void) {
  uint64_t v;
  int e = eventfd(3, EFD_NONBLOCK);
  R("eventfd read", read(e, &v, 8));
  printf("value %llu\n", (unsigned long long)v);
  R("eventfd read empty", read(e, &v, 8));
  R("eventfd short read", read(e, &v, 4));
  v = 0xfffffffffffffffeull;
  R("eventfd write max", write(e, &v, 8));
  v = 1;
  R("eventfd overflow", write(e, &v, 8));
  v = ~0ull;
  R("eventfd write -1", write(e, &v, 8));
  struct pollfd p = {e, POLLIN | POLLOUT, 0};
  show_poll("eventfd full", &p, 1, poll(&p, 1, 0));
  read(e, &v, 8);
  show_poll("eventfd empty", &p, 1, poll(&p, 1, 0));
  close(e);
  e = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
  R("cloexec", fcntl(e, F_GETFD));
  R("sem read 1", read(e, &v, 8));
  R("sem read 2", read(e, &v, 8));
  R("sem read 3", read(e, &v, 8));
  close(e);
  R("eventfd bad flags", eventfd(0, 0x100));
}

static void test_epoll(void) {
  struct epoll_event ev, out[8];
  int ep = epoll_create1(EPOLL_CLOEXEC);
  R("epoll cloexec", fcntl(ep, F_GETFD));
  R("epoll_create 0", epoll_create(0));
  R("epoll_create1 bad", epoll_create1(1));
  int p[2];
  pipe(p);
  ev.events = EPOLLIN;
  ev.data.u64 = 7;
  R("ctl add", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
  R("ctl add again", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
  R("ctl add self", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
  R("ctl mod missing", epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev));
  R("ctl del missing", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], &ev));
  R("ctl bad fd", epoll_ctl(ep, EPOLL_CTL_ADD, 77, &ev));
  R("ctl not epoll", epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &ev));
  write_file("reg2", "x");
  int f = open("reg2", O_RDONLY);
  R("ctl regular file", epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev));
  close(f);
  R("wait maxevents 0", epoll_wait(ep, out, 0, 0));
  show_epoll("wait empty", out, epoll_wait(ep, out, 8, 0));
  show_epoll("wait 30ms", out, epoll_wait(ep, out, 8, 30));
  write(p[1], "abc", 3);
  show_epoll("level 1", out, epoll_wait(ep, out, 8, 0));
  show_epoll("level 2", out, epoll_wait(ep, out, 8, 0));
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = 8;
  R("ctl mod et", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
  show_epoll("edge 1", out, epoll_wait(ep, out, 8, 0));
  show_epoll("edge 2", out, epoll_wait(ep, out, 8, 0));
  write(p[1], "d", 1);
  show_epoll("edge after write", out, epoll_wait(ep, out, 8, 0));
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.u64 = 9;
  R("ctl mod oneshot", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
  show_epoll("oneshot 1", out, epoll_wait(ep, out, 8, 0));
  show_epoll("oneshot 2", out, epoll_wait(ep, out, 8, 0));
  R("ctl mod rearm", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
  show_epoll("oneshot rearmed", out, epoll_wait(ep, out, 8, 0));
  ev.events = EPOLLOUT;
  ev.data.u64 = 10;
  R("ctl add writer", epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev));
  show_epoll("writer", out, epoll_wait(ep, out, 8, 0));
  /* nested */
  int outer = epoll_create1(0);
  ev.events = EPOLLIN;
  ev.data.u64 = 11;
  R("ctl nest", epoll_ctl(outer, EPOLL_CTL_ADD, ep, &ev));
  R("ctl loop", epoll_ctl(ep, EPOLL_CTL_ADD, outer, &ev));
  show_epoll("outer", out, epoll_wait(outer, out, 8, 0));
  struct pollfd pe = {ep, POLLIN, 0};
  show_poll("poll on epoll", &pe, 1, poll(&pe, 1, 0));
  R("ctl del", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
  char buf[8];
  read(p[0], buf, sizeof(buf));
  show_epoll("outer drained", out, epoll_wait(outer, out, 8, 0));
  close(outer);
  /* closing the file drops the item */
  close(p[1]);
  show_epoll("hup", out, epoll_wait(ep, out, 8, 0));
  close(p[0]);
  show_epoll("after close", out, epoll_wait(ep, out, 8, 0));
  /* eventfd in epoll */
  int e = eventfd(0, 0);
  ev.events = EPOLLIN;
  ev.data.u64 = 12;
  epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev);
  uint64_t one = 1;
  write(e, &one, 8);
  show_epoll("eventfd", out, epoll_wait(ep, out, 8, 0));
  /* a closed write end: HUP; a closed file leaves the set */
  pipe(p);
  ev.events = EPOLLIN;
  ev.data.u64 = 13;
  R("ctl add read end", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
  ev.events = EPOLLOUT;
  ev.data.u64 = 14;
  R("ctl add write end", epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev));
  R("ctl del eventfd", epoll_ctl(ep, EPOLL_CTL_DEL, e, NULL));
  close(p[1]);
  show_epoll("write end closed", out, epoll_wait(ep, out, 8, 0));
  close(p[0]);
  int again = eventfd(0, 0);
  ev.events = EPOLLIN;
  ev.data.u64 = 15;
  R("same fd number again", again == p[0]);
  R("ctl add new file on the fd", epoll_ctl(ep, EPOLL_CTL_ADD, again, &ev));
  show_epoll("new file idle", out, epoll_wait(ep, out, 8, 0));
  R("ctl del new file", epoll_ctl(ep, EPOLL_CTL_DEL, again, NULL));
  close(again);
  /* EINTR */
  struct itimerval it = {{0, 0}, {0, 30000}};
  setitimer(ITIMER_REAL, &it, NULL);
  R("epoll_wait interrupted", epoll_wait(ep, out, 8, -1));
  close(ep);
  close(e);
}

/* A parent blocked in each kind of wait, woken by its child. */
static void test_fork(void) {
  int p[2];
  pipe(p);
  int e = eventfd(0, 0);
  int ep = epoll_create1(0);
  struct epoll_event ev = {EPOLLIN, {.u64 = 5}}, out[4];
  epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev);
  pid_t pid = fork();
  if (pid == 0) {
    struct timespec d = {0, 30000000};
    nanosleep(&d, NULL);
    write(p[1], "hi", 2);
    nanosleep(&d, NULL);
    uint64_t v = 2;
    write(e, &v, 8);
    /* the child also waits on the shared set: the parent wakes it */
    int rc = epoll_wait(ep, out, 4, 5000);
    _exit(rc == 1 && out[0].data.u64 == 5 ? 0 : 1);
  }
  struct pollfd pf = {p[0], POLLIN, 0};
  show_poll("fork poll pipe", &pf, 1, poll(&pf, 1, 5000));
  show_epoll("fork epoll eventfd", out, epoll_wait(ep, out, 4, 5000));
  uint64_t v;
  R("fork eventfd read", read(e, &v, 8));
  printf("value %llu\n", (unsigned long long)v);
  struct timespec d = {0, 30000000};
  nanosleep(&d, NULL);
  v = 1;
  write(e, &v, 8);
  int st;
  waitpid(pid, &st, 0);
  printf("child: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  R("drain", read(e, &v, 8));
  /* a blocking eventfd read woken by a child */
  pid = fork();
  if (pid == 0) {
    struct timespec d2 = {0, 30000000};
    nanosleep(&d2, NULL);
    uint64_t w = 40;
    write(e, &w, 8);
    _exit(0);
  }
  R("blocking eventfd read", read(e, &v, 8));
  printf("value %llu\n", (unsigned long long)v);
  waitpid(pid, &st, 0);
  /* a signal from another process interrupts poll and epoll_wait */
  struct sigaction sa = {0};
  sa.sa_handler = on_alarm;
  sigaction(SIGUSR1, &sa, NULL);
  pid_t me = getpid();
  pid = fork();
  if (pid == 0) {
    struct timespec d3 = {0, 200000000};
    nanosleep(&d3, NULL);
    kill(me, SIGUSR1);
    nanosleep(&d3, NULL);
    kill(me, SIGUSR1);
    nanosleep(&d3, NULL);
    v = 1;
    write(e, &v, 8); /* wakes the blocked eventfd read below */
    _exit(0);
  }
  pf.fd = p[0];
  R("poll read pipe", read(p[0], &v, 2));
  R("poll killed by other process", poll(&pf, 1, 5000));
  R("epoll_wait killed by other process", epoll_wait(ep, out, 4, 5000));
  R("eventfd read after", read(e, &v, 8));
  printf("value %llu\n", (unsigned long long)v);
  waitpid(pid, &st, 0);
  /* the set is shared: an item the child adds for its own pipe wakes the
   * parent, and goes when the child's last descriptor of it closes */
  int sync[2];
  pipe(sync);
  pid = fork();
  if (pid == 0) {
    int q[2];
    pipe(q);
    struct epoll_event cev = {EPOLLIN, {.u64 = 77}};
    epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &cev);
    struct timespec d4 = {0, 30000000};
    nanosleep(&d4, NULL);
    write(q[1], "q", 1);
    char c;
    read(sync[0], &c, 1);
    _exit(0);
  }
  show_epoll("child's item wakes parent", out, epoll_wait(ep, out, 4, 5000));
  write(sync[1], "s", 1);
  waitpid(pid, &st, 0);
  show_epoll("child's item gone", out, epoll_wait(ep, out, 4, 0));
  close(sync[0]);
  close(sync[1]);
  close(ep);
  close(e);
  close(p[0]);
  close(p[1]);
}

static int g_thread_pipe[2];

static void *late_writer(void *arg) {
  (void)arg;
  struct timespec d = {0, 30000000};
  nanosleep(&d, NULL);
  write(g_thread_pipe[1], "t", 1);
  return NULL;
}

/* A thread blocked in poll, woken by another thread; a named pipe. */
static void test_threads_fifo(void) {
  pipe(g_thread_pipe);
  pthread_t t;
  pthread_create(&t, NULL, late_writer, NULL);
  struct pollfd p = {g_thread_pipe[0], POLLIN, 0};
  show_poll("thread wakes poll", &p, 1, poll(&p, 1, 5000));
  pthread_join(t, NULL);
  close(g_thread_pipe[0]);
  close(g_thread_pipe[1]);
  R("mkfifo", mkfifo("fifo", 0600));
  int r = open("fifo", O_RDONLY | O_NONBLOCK);
  struct pollfd f = {r, POLLIN, 0};
  show_poll("fifo no writer", &f, 1, poll(&f, 1, 0));
  int w = open("fifo", O_WRONLY);
  show_poll("fifo writer, empty", &f, 1, poll(&f, 1, 0));
  write(w, "z", 1);
  show_poll("fifo data", &f, 1, poll(&f, 1, 0));
  close(w);
  show_poll("fifo writer left", &f, 1, poll(&f, 1, 0));
  close(r);
}

/* More ready items than 1024 come back from one epoll_wait whose
 * maxevents allows them all (CPython's test_selectors
 * test_above_fd_setsize), and no more than maxevents. */
static void test_epoll_many(void) {
  enum { N = 1500 };
  struct rlimit old, rl;
  getrlimit(RLIMIT_NOFILE, &old);
  rl = old;
  if (rl.rlim_cur < N + 64)
    rl.rlim_cur = rl.rlim_max < N + 64 ? rl.rlim_max : N + 64;
  R("raise RLIMIT_NOFILE", setrlimit(RLIMIT_NOFILE, &rl));
  int ep = epoll_create1(0);
  int efd = eventfd(0, 0);
  static int fds[N];
  int n = 0, ok = 1;
  for (; n < N; n++) {
    fds[n] = dup(efd);
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)n};
    if (fds[n] < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fds[n], &ev) < 0) {
      ok = 0;
      break;
    }
  }
  FACT("registered all", ok && n == N);
  static struct epoll_event evs[N + 100];
  R("epoll_wait maxevents N+100", epoll_wait(ep, evs, N + 100, 0));
  R("epoll_wait maxevents 1200", epoll_wait(ep, evs, 1200, 0));
  R("epoll_wait maxevents 7", epoll_wait(ep, evs, 7, 0));
  for (int i = 0; i < n; i++)
    close(fds[i]);
  close(efd);
  close(ep);
  setrlimit(RLIMIT_NOFILE, &old);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("poll_epoll");
  test_poll();
  test_select();
  test_eventfd();
  test_epoll();
  test_fork();
  test_threads_fifo();
  test_epoll_many();
  leave_workdir();
  return 0;
}
