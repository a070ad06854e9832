/* pidfds: pidfd_open (flags, errors, close-on-exec, a thread's id, a gone
 * process), pidfd_send_signal (kill's siginfo, a chosen one, the EPERM
 * and EINVAL rules, a zombie, a reaped process), pidfd_getfd (the same
 * open file description, close-on-exec, errors), poll/select/epoll on a
 * pidfd (POLLIN at the exit, POLLHUP once reaped; a blocked poll woken by
 * the exit of another process), waitid(P_PIDFD) with and without
 * PIDFD_NONBLOCK, and CLONE_PIDFD through clone and clone3 (the child has
 * no copy). Pids and fd numbers are never printed, only comparisons. */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "guest.h"

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif

static int pidfd_open(pid_t pid, unsigned flags) {
  return (int)syscall(SYS_pidfd_open, pid, flags);
}
static int pidfd_send_signal(int fd, int sig, siginfo_t *info, unsigned f) {
  return (int)syscall(SYS_pidfd_send_signal, fd, sig, info, f);
}
static int pidfd_getfd(int fd, int target, unsigned flags) {
  return (int)syscall(SYS_pidfd_getfd, fd, target, flags);
}

static void show_waitid(const char *label, int fd, int options, pid_t pid) {
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  errno = 0;
  int r = waitid(P_PIDFD, fd, &si, options);
  if (r < 0)
    printf("%s: -1 %s\n", label, errname(errno));
  else
    printf("%s: %d signo=%d code=%d status=%d pid_ok=%d\n", label, r,
           si.si_signo, si.si_code, si.si_status, si.si_pid == pid);
}

static void *thread_park(void *arg) {
  int *fds = arg;
  pid_t tid = (pid_t)syscall(SYS_gettid);
  if (write(fds[1], &tid, sizeof(tid)) < 0)
    return NULL;
  char c;
  if (read(fds[0], &c, 1) < 0)
    return NULL;
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);

  /* pidfd_open. */
  R("open bad flags", pidfd_open(getpid(), 1));
  R("open pid 0", pidfd_open(0, 0));
  R("open pid -1", pidfd_open(-1, 0));
  int self = pidfd_open(getpid(), 0);
  FACT("open self", self >= 0);
  R("self cloexec", fcntl(self, F_GETFD) & FD_CLOEXEC);
  R("self nonblock", (fcntl(self, F_GETFL) & O_NONBLOCK) != 0);
  R("self accmode", fcntl(self, F_GETFL) & O_ACCMODE);
  int nb = pidfd_open(getpid(), PIDFD_NONBLOCK);
  R("nonblock flag", (fcntl(nb, F_GETFL) & O_NONBLOCK) != 0);
  close(nb);
  char buf[16];
  R("read a pidfd", read(self, buf, sizeof(buf)));
  struct pollfd sp = {self, POLLIN, 0};
  R("poll self", poll(&sp, 1, 0));
  R("signal 0 to self", pidfd_send_signal(self, 0, NULL, 0));
  R("bad send flags", pidfd_send_signal(self, 0, NULL, 0x80));
  R("send on a non-pidfd", pidfd_send_signal(1, 0, NULL, 0));
  R("send bad fd", pidfd_send_signal(999, 0, NULL, 0));
  R("send bad siginfo pointer", pidfd_send_signal(self, SIGUSR1, (void *)8, 0));
  R("waitid self", waitid(P_PIDFD, self, NULL, WEXITED | WNOHANG));
  R("waitid not a pidfd", waitid(P_PIDFD, 1, NULL, WEXITED | WNOHANG));
  R("getfd bad flags", pidfd_getfd(self, 1, 1));
  R("getfd not a pidfd", pidfd_getfd(1, 1, 0));
  R("getfd no such fd", pidfd_getfd(self, 999, 0));
  int own = pidfd_getfd(self, 1, 0);
  FACT("getfd own stdout", own >= 0);
  R("getfd cloexec", fcntl(own, F_GETFD) & FD_CLOEXEC);
  close(own);

  /* Signals to self with a chosen siginfo: any si_code is allowed. */
  sigset_t usr;
  sigemptyset(&usr);
  sigaddset(&usr, SIGUSR1);
  sigaddset(&usr, SIGUSR2);
  sigprocmask(SIG_BLOCK, &usr, NULL);
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  si.si_signo = SIGUSR1;
  si.si_code = SI_USER;
  si.si_value.sival_int = 5;
  R("send SI_USER info to self", pidfd_send_signal(self, SIGUSR1, &si, 0));
  R("send mismatched signo", pidfd_send_signal(self, SIGUSR2, &si, 0));
  siginfo_t got;
  R("sigwaitinfo", sigwaitinfo(&usr, &got));
  printf("got: code=%d pid_ok=%d\n", got.si_code, got.si_pid == 0);

  /* A /proc/<pid> directory stands for a pidfd in pidfd_send_signal
   * (not a task/<tid> one, nor in pidfd_getfd). */
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d", (int)getpid());
  int procdir = open(path, O_RDONLY | O_DIRECTORY);
  FACT("open /proc/<pid>", procdir >= 0);
  R("send via /proc/<pid>", pidfd_send_signal(procdir, SIGUSR1, NULL, 0));
  R("sigwaitinfo", sigwaitinfo(&usr, &got));
  printf("got: code=%d pid_ok=%d\n", got.si_code, got.si_pid == getpid());
  R("getfd via /proc/<pid>", pidfd_getfd(procdir, 1, 0));
  close(procdir);
  snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)getpid(),
           (int)getpid());
  procdir = open(path, O_RDONLY | O_DIRECTORY);
  R("send via task/<tid>", pidfd_send_signal(procdir, 0, NULL, 0));
  close(procdir);
  procdir = open("/proc", O_RDONLY | O_DIRECTORY);
  R("send via /proc", pidfd_send_signal(procdir, 0, NULL, 0));
  close(procdir);

  /* Linux 6.9's scopes. */
  R("two scopes", pidfd_send_signal(self, 0, NULL, 3));
  R("unknown scope bit", pidfd_send_signal(self, 0, NULL, 8));
  R("PIDFD_SIGNAL_THREAD to self", pidfd_send_signal(self, SIGUSR2, NULL, 1));
  R("sigwaitinfo", sigwaitinfo(&usr, &got));
  printf("got: code=%d\n", got.si_code);
  R("PIDFD_SIGNAL_THREAD_GROUP to self",
    pidfd_send_signal(self, SIGUSR2, NULL, 2));
  R("sigwaitinfo", sigwaitinfo(&usr, &got));
  printf("got: code=%d\n", got.si_code);
  memset(&si, 0, sizeof(si));
  si.si_signo = SIGUSR1;
  si.si_code = SI_USER;
  R("forged SI_USER to own group", pidfd_send_signal(self, SIGUSR1, &si, 4));
  {
    /* A child leading its own group, with a grandchild in it: both get
     * the group's signal. */
    int gl[2], lm[2]; /* grandchild to leader, leader to us */
    if (pipe(gl) < 0 || pipe(lm) < 0)
      return 1;
    pid_t leader = fork();
    if (leader == 0) {
      setpgid(0, 0);
      pid_t g = fork();
      if (g == 0) {
        if (write(gl[1], "g", 1) != 1)
          _exit(1);
        int s;
        sigwait(&usr, &s);
        _exit(s == SIGUSR2 ? 20 : 21);
      }
      char ch;
      if (read(gl[0], &ch, 1) != 1) /* the grandchild is in the group */
        _exit(1);
      if (write(lm[1], "l", 1) != 1)
        _exit(1);
      int s, st = 0;
      sigwait(&usr, &s);
      waitpid(g, &st, 0);
      _exit((s == SIGUSR2 ? 10 : 11) + WEXITSTATUS(st));
    }
    char ch;
    if (read(lm[0], &ch, 1) != 1) /* both are ready */
      return 1;
    int lfd = pidfd_open(leader, 0);
    R("PIDFD_SIGNAL_PROCESS_GROUP", pidfd_send_signal(lfd, SIGUSR2, NULL, 4));
    show_waitid("group leader", lfd, WEXITED, leader);
    close(lfd);
    close(gl[0]);
    close(gl[1]);
    close(lm[0]);
    close(lm[1]);
  }

  /* A thread's id is not a process's. */
  pthread_t th;
  pid_t tid = 0;
  int tp[2], tq[2];
  if (pipe(tp) < 0 || pipe(tq) < 0)
    return 1;
  int park[2] = {tq[0], tp[1]};
  pthread_create(&th, NULL, thread_park, park);
  if (read(tp[0], &tid, sizeof(tid)) != sizeof(tid))
    return 1;
  R("open a thread's id", pidfd_open(tid, 0));
  if (write(tq[1], "x", 1) < 0)
    return 1;
  pthread_join(th, NULL);

  /* A child that waits for signals and commands. */
  int to_child[2], from_child[2];
  if (pipe(to_child) < 0 || pipe(from_child) < 0)
    return 1;
  pid_t me = getpid();
  pid_t c = fork();
  if (c == 0) {
    close(to_child[1]);
    close(from_child[0]);
    int q[2];
    if (pipe(q) < 0)
      _exit(1);
    if (write(q[1], "hello", 5) < 0)
      _exit(1);
    int f = memfd_create("offset", 0);
    if (write(f, "abc", 3) < 0)
      _exit(1);
    int fds[2] = {q[0], f};
    if (write(from_child[1], fds, sizeof(fds)) < 0)
      _exit(1);
    for (int i = 0; i < 2; i++) {
      siginfo_t in;
      sigwaitinfo(&usr, &in);
      int rep[4] = {in.si_signo, in.si_code, in.si_value.sival_int,
                    in.si_pid == me};
      if (write(from_child[1], rep, sizeof(rep)) < 0)
        _exit(1);
    }
    char cmd;
    if (read(to_child[0], &cmd, 1) != 1)
      _exit(1);
    wait_sleeping(me); /* the parent is blocked in its poll */
    _exit(7);
  }
  close(to_child[0]);
  close(from_child[1]);
  int fds[2];
  if (read(from_child[0], fds, sizeof(fds)) != sizeof(fds))
    return 1;
  int pfd = pidfd_open(c, 0);
  FACT("open child", pfd >= 0);
  struct pollfd pp = {pfd, POLLIN, 0};
  R("poll running child", poll(&pp, 1, 0));

  /* kill's siginfo, then a chosen one; the rules for another process. */
  R("send SIGUSR1", pidfd_send_signal(pfd, SIGUSR1, NULL, 0));
  int rep[4];
  if (read(from_child[0], rep, sizeof(rep)) == sizeof(rep))
    printf("child got: sig=%d code=%d value=%d from_parent=%d\n", rep[0],
           rep[1], rep[2], rep[3]);
  memset(&si, 0, sizeof(si));
  si.si_signo = SIGUSR2;
  si.si_code = SI_USER;
  R("SI_USER info to another", pidfd_send_signal(pfd, SIGUSR2, &si, 0));
  si.si_code = SI_TKILL;
  R("SI_TKILL info to another", pidfd_send_signal(pfd, SIGUSR2, &si, 0));
  si.si_code = SI_QUEUE;
  si.si_pid = getpid();
  si.si_uid = getuid();
  si.si_value.sival_int = 99;
  R("SI_QUEUE info to another", pidfd_send_signal(pfd, SIGUSR2, &si, 0));
  if (read(from_child[0], rep, sizeof(rep)) == sizeof(rep))
    printf("child got: sig=%d code=%d value=%d from_parent=%d\n", rep[0],
           rep[1], rep[2], rep[3]);

  /* pidfd_getfd: the same open file description. */
  int g = pidfd_getfd(pfd, fds[0], 0);
  FACT("getfd child's pipe", g >= 0);
  R("getfd cloexec", fcntl(g, F_GETFD) & FD_CLOEXEC);
  char hello[8] = {0};
  R("read through it", read(g, hello, 5));
  printf("read: %s\n", hello);
  int z = pidfd_getfd(pfd, fds[1], 0);
  R("offset of the child's memfd", lseek(z, 0, SEEK_CUR));
  close(z);
  close(g);

  /* PIDFD_NONBLOCK and waitid. */
  int nbc = pidfd_open(c, PIDFD_NONBLOCK);
  show_waitid("waitid nonblock running", nbc, WEXITED, c);
  show_waitid("waitid nonblock WNOHANG", nbc, WEXITED | WNOHANG, c);
  show_waitid("waitid WNOHANG running", pfd, WEXITED | WNOHANG, c);

  /* The exit wakes a blocked poll (the child waits until we sleep). */
  if (write(to_child[1], "x", 1) < 0)
    return 1;
  R("blocking poll", poll(&pp, 1, -1));
  R("revents at exit", pp.revents);
  struct pollfd all = {pfd, POLLIN | POLLOUT | POLLPRI, 0};
  R("poll all events", poll(&all, 1, 0));
  R("revents all", all.revents);
  fd_set rs;
  FD_ZERO(&rs);
  FD_SET(pfd, &rs);
  struct timeval tv = {0, 0};
  R("select", select(pfd + 1, &rs, NULL, NULL, &tv));
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 3}, out;
  epoll_ctl(ep, EPOLL_CTL_ADD, pfd, &ev);
  R("epoll_wait", epoll_wait(ep, &out, 1, 0));
  R("epoll events", out.events);
  R("signal 0 to a zombie", pidfd_send_signal(pfd, 0, NULL, 0));
  R("SIGUSR1 to a zombie", pidfd_send_signal(pfd, SIGUSR1, NULL, 0));
  R("getfd of a zombie", pidfd_getfd(pfd, 0, 0));
  show_waitid("waitid WNOWAIT", pfd, WEXITED | WNOWAIT, c);
  show_waitid("waitid", pfd, WEXITED, c);
  all.revents = 0;
  R("poll reaped", poll(&all, 1, 0));
  R("revents reaped", all.revents);
  show_waitid("waitid again", pfd, WEXITED, c);
  show_waitid("waitid nonblock reaped", nbc, WEXITED, c);
  R("signal reaped", pidfd_send_signal(pfd, 0, NULL, 0));
  R("getfd reaped", pidfd_getfd(pfd, 0, 0));
  R("open reaped", pidfd_open(c, 0));
  close(ep);
  close(nbc);
  close(pfd);

  /* SIGKILL through a pidfd. */
  c = fork();
  if (c == 0) {
    for (;;)
      pause();
  }
  pfd = pidfd_open(c, 0);
  R("send SIGKILL", pidfd_send_signal(pfd, SIGKILL, NULL, 0));
  show_waitid("waitid killed", pfd, WEXITED, c);
  close(pfd);

  /* CLONE_PIDFD: clone and clone3; the child has no copy of it. */
  int cfd = -1;
  R("clone PIDFD|PARENT_SETTID",
    syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &cfd,
            NULL, 0));
  R("clone PIDFD bad pointer",
    syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, (void *)8, NULL, 0));
  cfd = -1;
  long r = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &cfd, NULL, 0);
  if (r == 0)
    syscall(SYS_exit_group, fcntl(cfd, F_GETFD) < 0 ? 5 : 6);
  FACT("clone pidfd", r > 0 && cfd >= 0);
  R("clone pidfd cloexec", fcntl(cfd, F_GETFD) & FD_CLOEXEC);
  show_waitid("waitid clone child", cfd, WEXITED, (pid_t)r);
  close(cfd);
  struct {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
        stack_size, tls;
  } ca;
  memset(&ca, 0, sizeof(ca));
  cfd = -1;
  ca.flags = CLONE_PIDFD;
  ca.pidfd = (uintptr_t)&cfd;
  ca.exit_signal = SIGCHLD;
  r = syscall(SYS_clone3, &ca, sizeof(ca));
  if (r == 0)
    syscall(SYS_exit_group, fcntl(cfd, F_GETFD) < 0 ? 8 : 9);
  FACT("clone3 pidfd", r > 0 && cfd >= 0);
  struct pollfd cp = {cfd, POLLIN, 0};
  R("clone3 child poll", poll(&cp, 1, -1));
  show_waitid("waitid clone3 child", cfd, WEXITED, (pid_t)r);
  close(cfd);
  close(self);
  printf("done\n");
  return 0;
}
