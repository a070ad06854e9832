/* signalfd and signalfd4: argument errors, flags (SFD_NONBLOCK,
 * SFD_CLOEXEC), reading several records in one read (the thread's queue
 * before the process's, the fields of kill, tgkill, sigqueue and SIGCHLD
 * records), changing the mask of an existing fd, SIGKILL/SIGSTOP ignored
 * in the mask, poll/select/epoll readiness, a blocked read, poll and
 * epoll_wait woken by a signal another process sends, a read interrupted
 * by a handled signal outside the mask, and fork (the child's signalfd
 * reads the child's signals, not the parent's). No pid, uid or time is
 * printed, only comparisons. */
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "guest.h"

static void show(const char *label, const struct signalfd_siginfo *s) {
  if (s->ssi_signo >= (uint32_t)SIGRTMIN)
    printf("%s: signo=RTMIN+%u", label, s->ssi_signo - (uint32_t)SIGRTMIN);
  else
    printf("%s: signo=%u", label, s->ssi_signo);
  printf(" code=%d pid_is_me=%d uid_ok=%d int=%d", s->ssi_code,
         s->ssi_pid == (uint32_t)getpid(), s->ssi_uid == (uint32_t)getuid(),
         s->ssi_int);
  if (s->ssi_signo == SIGCHLD)
    printf(" status=%d", s->ssi_status);
  printf("\n");
}

/* One record, or the error. */
static void read_one(const char *label, int fd) {
  struct signalfd_siginfo s;
  errno = 0;
  ssize_t n = read(fd, &s, sizeof(s));
  if (n < 0)
    printf("%s: -1 %s\n", label, errname(errno));
  else if (n != sizeof(s))
    printf("%s: short %zd\n", label, n);
  else
    show(label, &s);
}

static void on_int(int sig) {
  (void)sig;
}

static sigset_t set_of(int a, int b) {
  sigset_t s;
  sigemptyset(&s);
  if (a)
    sigaddset(&s, a);
  if (b)
    sigaddset(&s, b);
  return s;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGUSR2);
  sigaddset(&block, SIGRTMIN);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_BLOCK, &block, NULL);

  /* Errors. */
  sigset_t m = set_of(SIGUSR1, 0);
  R("bad flags", signalfd(-1, &m, 1));
  R("bad size", syscall(SYS_signalfd4, -1, &m, 4, 0));
  R("bad size 16", syscall(SYS_signalfd4, -1, &m, 16, 0));
  R("bad mask pointer", syscall(SYS_signalfd4, -1, (void *)8, 8, 0));
  R("bad fd", signalfd(999, &m, 0));
  int pfd[2];
  if (pipe(pfd) < 0)
    return 1;
  R("not a signalfd", signalfd(pfd[0], &m, 0));
  close(pfd[0]);
  close(pfd[1]);
  int plain = syscall(SYS_signalfd, -1, &m, 8);
  FACT("signalfd (no flags)", plain >= 0);
  R("plain cloexec", fcntl(plain, F_GETFD) & FD_CLOEXEC);
  R("plain nonblock", (fcntl(plain, F_GETFL) & O_NONBLOCK) != 0);
  R("plain accmode", fcntl(plain, F_GETFL) & O_ACCMODE);
  close(plain);

  m = block;
  int fd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
  FACT("signalfd4", fd >= 0);
  R("cloexec", fcntl(fd, F_GETFD) & FD_CLOEXEC);
  R("nonblock", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
  read_one("read empty", fd);
  char small[64];
  R("read short buffer", read(fd, small, sizeof(small)));
  R("write", write(fd, small, sizeof(small)));
  struct pollfd p = {fd, POLLIN, 0};
  R("poll empty", poll(&p, 1, 0));

  /* Several records in one read: the thread's own first. */
  kill(getpid(), SIGUSR2);
  union sigval v = {.sival_int = 42};
  sigqueue(getpid(), SIGRTMIN, v);
  v.sival_int = 43;
  sigqueue(getpid(), SIGRTMIN, v);
  raise(SIGUSR1);
  R("poll pending", poll(&p, 1, 0));
  R("revents", p.revents);
  struct signalfd_siginfo recs[8];
  ssize_t n = read(fd, recs, sizeof(recs));
  printf("read many: %zd records\n", n / (ssize_t)sizeof(recs[0]));
  for (ssize_t i = 0; i < n / (ssize_t)sizeof(recs[0]); i++)
    show("  record", &recs[i]);
  /* A buffer that is not a multiple: only whole records. */
  raise(SIGUSR1);
  raise(SIGUSR2);
  R("read 1.5 records", read(fd, recs, sizeof(recs[0]) * 3 / 2));
  read_one("the rest", fd);

  /* The mask of an existing fd changes; the signal stays pending. */
  m = set_of(SIGUSR2, 0);
  FACT("update mask returns fd", signalfd(fd, &m, 0) == fd);
  R("update keeps nonblock", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
  raise(SIGUSR1);
  read_one("read outside mask", fd);
  sigset_t pend;
  sigpending(&pend);
  R("still pending", sigismember(&pend, SIGUSR1));
  R("poll outside mask", poll(&p, 1, 0));
  m = block;
  signalfd(fd, &m, 0);
  R("poll after update", poll(&p, 1, 0));
  read_one("read after update", fd);

  /* SIGKILL and SIGSTOP are dropped from the mask without an error. */
  m = set_of(SIGKILL, SIGSTOP);
  int kfd = signalfd(-1, &m, SFD_NONBLOCK);
  FACT("kill/stop mask accepted", kfd >= 0);
  read_one("kill/stop fd read", kfd);
  close(kfd);

  /* select and epoll. */
  raise(SIGUSR2);
  fd_set rs;
  FD_ZERO(&rs);
  FD_SET(fd, &rs);
  struct timeval tv = {0, 0};
  R("select", select(fd + 1, &rs, NULL, NULL, &tv));
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
  R("epoll add", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
  struct epoll_event out;
  R("epoll_wait ready", epoll_wait(ep, &out, 1, 0));
  R("epoll data", out.data.u32);
  read_one("drain", fd);
  R("epoll_wait empty", epoll_wait(ep, &out, 1, 0));

  /* Blocking: a read, a poll and an epoll_wait each woken by another
   * process's kill (whenever it comes, the outcome is the same). */
  int bfd = signalfd(-1, &block, 0);
  pid_t me = getpid();
  pid_t c = fork();
  if (c == 0) {
    kill(me, SIGUSR1);
    _exit(0);
  }
  read_one("blocking read", bfd);
  waitpid(c, NULL, 0);
  read_one("sigchld record", bfd);
  c = fork();
  if (c == 0) {
    kill(me, SIGUSR2);
    _exit(3);
  }
  struct pollfd bp = {bfd, POLLIN, 0};
  R("blocking poll", poll(&bp, 1, -1));
  R("blocking poll revents", bp.revents);
  read_one("after poll", bfd);
  waitpid(c, NULL, 0);
  read_one("sigchld status 3", bfd);
  c = fork();
  if (c == 0) {
    union sigval cv = {.sival_int = 7};
    sigqueue(me, SIGRTMIN, cv);
    _exit(0);
  }
  /* Only SIGRTMIN: the child's SIGCHLD may come first. */
  m = set_of(SIGRTMIN, 0);
  int rfd = signalfd(-1, &m, 0);
  epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
  struct epoll_event bev = {.events = EPOLLIN, .data.u32 = 9};
  epoll_ctl(ep, EPOLL_CTL_ADD, rfd, &bev);
  R("blocking epoll_wait", epoll_wait(ep, &out, 1, -1));
  R("blocking epoll data", out.data.u32);
  struct signalfd_siginfo qs;
  FACT("read sigqueue from child",
       read(rfd, &qs, sizeof(qs)) == sizeof(qs) &&
           qs.ssi_signo == (uint32_t)SIGRTMIN && qs.ssi_int == 7 &&
           qs.ssi_pid == (uint32_t)c && qs.ssi_code == SI_QUEUE);
  waitpid(c, NULL, 0);
  read_one("sigchld status 0", fd);
  close(ep);
  close(rfd);

  /* A handled signal outside the mask interrupts a blocked read. */
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_int;
  sigaction(SIGINT, &sa, NULL);
  m = set_of(SIGUSR1, 0);
  int ufd = signalfd(-1, &m, 0);
  c = fork();
  if (c == 0) {
    wait_sleeping(me); /* the parent is blocked in its read */
    kill(me, SIGINT);
    _exit(0);
  }
  read_one("read interrupted", ufd);
  close(ufd);
  waitpid(c, NULL, 0);
  read_one("sigchld after EINTR", fd);

  /* fork: the child reads its own signals through the same fd. */
  kill(getpid(), SIGUSR2);
  c = fork();
  if (c == 0) {
    read_one("child read (parent's pending not inherited)", fd);
    raise(SIGUSR1);
    struct signalfd_siginfo s;
    FACT("child reads its own", read(fd, &s, sizeof(s)) == sizeof(s) &&
                                    s.ssi_signo == SIGUSR1 &&
                                    s.ssi_pid == (uint32_t)getpid());
    _exit(0);
  }
  waitpid(c, NULL, 0);
  read_one("parent read", fd);
  read_one("parent sigchld", fd);
  read_one("parent empty", fd);
  close(bfd);
  close(fd);
  printf("done\n");
  return 0;
}
