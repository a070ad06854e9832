/* AF_UNIX socketpair: stream, datagram and seqpacket pairs, natively and
 * inside moat with the same output. Covers creation errors and flags, the
 * socket options and names, fstat, record boundaries and truncation,
 * MSG_PEEK / DONTWAIT / WAITALL / TRUNC / NOSIGNAL, readv/writev and
 * sendmsg/recvmsg with iovecs, FIONREAD, shutdown in each direction, the
 * close of a peer (EOF, EPIPE and SIGPIPE, ECONNREFUSED then ENOTCONN),
 * poll and epoll readiness, a full buffer, and all of it across fork:
 * blocked readers, pollers and epoll waiters in one process woken by a
 * write, shutdown or last close in another. */
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

static volatile int g_sigpipes;

static void on_sigpipe(int sig) {
  (void)sig;
  g_sigpipes++;
}

static const char *tname(int type) {
  return type == SOCK_STREAM  ? "stream"
         : type == SOCK_DGRAM ? "dgram"
                              : "seqpacket";
}

static void show_events(const char *label, unsigned ev) {
  static const struct {
    unsigned bit;
    const char *name;
  } names[] = {{POLLIN, "IN"},         {POLLPRI, "PRI"},
               {POLLOUT, "OUT"},       {POLLERR, "ERR"},
               {POLLHUP, "HUP"},       {POLLNVAL, "NVAL"},
               {POLLRDNORM, "RDNORM"}, {POLLWRNORM, "WRNORM"},
               {POLLWRBAND, "WRBAND"}, {POLLRDHUP, "RDHUP"}};
  printf("%s:", label);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (ev & names[i].bit)
      printf(" %s", names[i].name);
  printf("%s\n", ev ? "" : " none");
}

static void poll_show(const char *label, int fd) {
  struct pollfd p = {.fd = fd,
                     .events = POLLIN | POLLOUT | POLLRDHUP | POLLWRBAND |
                               POLLRDNORM | POLLWRNORM};
  int n = poll(&p, 1, 0);
  if (n < 0) {
    printf("%s: poll -1 %s\n", label, errname(errno));
    return;
  }
  show_events(label, p.revents);
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int getint(int fd, int name) {
  int v = -1;
  socklen_t len = sizeof(v);
  if (getsockopt(fd, SOL_SOCKET, name, &v, &len) < 0)
    return -errno * 1000;
  return len == sizeof(v) ? v : -1;
}

static void recv_show(const char *label, int fd, size_t len, int flags) {
  char buf[512];
  errno = 0;
  ssize_t n = recv(fd, buf, len, flags);
  if (n < 0) {
    printf("%s: -1 %s\n", label, errname(errno));
    return;
  }
  printf("%s: %zd \"%.*s\"\n", label, n,
         (int)(n < (ssize_t)len ? n : (ssize_t)len), buf);
}

/* recvmsg over two iovecs: the count, the bytes and msg_flags. */
static void recvmsg_show(const char *label, int fd, size_t l1, size_t l2,
                         int flags) {
  char a[256], b[256];
  struct sockaddr_un peer;
  struct iovec iov[2] = {{a, l1}, {b, l2}};
  char ctl[64];
  struct msghdr m = {.msg_name = &peer,
                     .msg_namelen = sizeof(peer),
                     .msg_iov = iov,
                     .msg_iovlen = 2,
                     .msg_control = ctl,
                     .msg_controllen = sizeof(ctl)};
  errno = 0;
  ssize_t n = recvmsg(fd, &m, flags);
  if (n < 0) {
    printf("%s: -1 %s\n", label, errname(errno));
    return;
  }
  size_t in_a = (size_t)n < l1 ? (size_t)n : l1;
  size_t in_b = (size_t)n > l1 ? (size_t)n - l1 : 0;
  if (in_b > l2)
    in_b = l2;
  printf("%s: %zd \"%.*s|%.*s\" namelen %u controllen %zu flags%s%s\n", label,
         n, (int)in_a, a, (int)in_b, b, (unsigned)m.msg_namelen,
         (size_t)m.msg_controllen, m.msg_flags & MSG_TRUNC ? " TRUNC" : "",
         m.msg_flags & MSG_CMSG_CLOEXEC ? " CMSG_CLOEXEC" : "");
}

static void creation(void) {
  int sv[2];
  printf("-- creation\n");
  R("socketpair bad flag", socketpair(AF_UNIX, SOCK_STREAM | 0x100, 0, sv));
  R("socketpair family 200", socketpair(200, SOCK_STREAM, 0, sv));
  R("socketpair protocol 2", socketpair(AF_UNIX, SOCK_STREAM, 2, sv));
  R("socketpair SOCK_RDM", socketpair(AF_UNIX, SOCK_RDM, 0, sv));
  R("socketpair type 11", socketpair(AF_UNIX, 11, 0, sv));
  R("socketpair bad sv",
    syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, (long)8));
  OK("socketpair SOCK_RAW", socketpair(AF_UNIX, SOCK_RAW, 0, sv));
  printf("raw type %d\n", getint(sv[0], SO_TYPE));
  close(sv[0]);
  close(sv[1]);
  OK("socketpair protocol PF_UNIX",
     socketpair(AF_UNIX, SOCK_STREAM, PF_UNIX, sv));
  printf("protocol %d\n", getint(sv[0], SO_PROTOCOL));
  close(sv[0]);
  close(sv[1]);
  OK("socketpair NONBLOCK|CLOEXEC",
     socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
  printf("fl nonblock %d, fd cloexec %d\n",
         !!(fcntl(sv[0], F_GETFL) & O_NONBLOCK),
         !!(fcntl(sv[1], F_GETFD) & FD_CLOEXEC));
  printf("fl rdwr %d\n", (fcntl(sv[0], F_GETFL) & O_ACCMODE) == O_RDWR);
  close(sv[0]);
  close(sv[1]);
  int p[2];
  if (pipe(p) == 0) {
    R("shutdown on a pipe", shutdown(p[0], SHUT_RD));
    R("recv on a pipe", recv(p[0], sv, 1, MSG_DONTWAIT));
    R("getsockopt on a pipe", getint(p[0], SO_TYPE) / 1000);
    close(p[0]);
    close(p[1]);
  }
  R("shutdown bad fd", shutdown(99, SHUT_RD));
}

static void options(int type) {
  int sv[2];
  printf("-- options %s\n", tname(type));
  if (socketpair(AF_UNIX, type, 0, sv) < 0) {
    printf("socketpair: %s\n", errname(errno));
    return;
  }
  struct stat st;
  OK("fstat", fstat(sv[0], &st));
  printf("S_ISSOCK %d mode %o size %lld\n", S_ISSOCK(st.st_mode),
         st.st_mode & 07777, (long long)st.st_size);
  struct stat st2;
  fstat(sv[1], &st2);
  FACT("the ends have distinct inodes", st.st_ino != st2.st_ino);
  printf(
      "SO_TYPE %d SO_DOMAIN %d SO_PROTOCOL %d SO_ERROR %d SO_ACCEPTCONN %d\n",
      getint(sv[0], SO_TYPE), getint(sv[0], SO_DOMAIN),
      getint(sv[0], SO_PROTOCOL), getint(sv[0], SO_ERROR),
      getint(sv[0], SO_ACCEPTCONN));
  printf("SO_SNDBUF %d SO_RCVBUF %d\n", getint(sv[0], SO_SNDBUF),
         getint(sv[0], SO_RCVBUF));
  int v = 4096;
  OK("set SO_SNDBUF 4096",
     setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
  v = 10000;
  OK("set SO_RCVBUF 10000",
     setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
  printf("SO_SNDBUF %d SO_RCVBUF %d (peer %d %d)\n", getint(sv[0], SO_SNDBUF),
         getint(sv[0], SO_RCVBUF), getint(sv[1], SO_SNDBUF),
         getint(sv[1], SO_RCVBUF));
  R("set SO_SNDBUF short", setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, 2));
  R("getsockopt unknown", getint(sv[0], 9999) / 1000);
  socklen_t len = 2;
  short sh = 0;
  OK("getsockopt SO_TYPE len 2",
     getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &sh, &len));
  printf("value %d len %u\n", sh, (unsigned)len);
  len = (socklen_t)-1;
  R("getsockopt len -1", getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &len));
  struct ucred cr;
  len = sizeof(cr);
  OK("SO_PEERCRED", getsockopt(sv[1], SOL_SOCKET, SO_PEERCRED, &cr, &len));
  printf("peercred len %u pid-is-me %d uid-is-me %d gid-is-me %d\n",
         (unsigned)len, cr.pid == getpid(), cr.uid == geteuid(),
         cr.gid == getegid());
  struct sockaddr_un sa;
  memset(&sa, 0x55, sizeof sa);
  len = sizeof(sa);
  OK("getsockname", getsockname(sv[0], (struct sockaddr *)&sa, &len));
  printf("len %u family %d path0 %d\n", (unsigned)len, sa.sun_family,
         (unsigned char)sa.sun_path[0]);
  memset(&sa, 0x55, sizeof sa);
  len = sizeof(sa);
  OK("getpeername", getpeername(sv[0], (struct sockaddr *)&sa, &len));
  printf("len %u family %d\n", (unsigned)len, sa.sun_family);
  len = 1;
  memset(&sa, 0x55, sizeof sa);
  OK("getsockname len 1", getsockname(sv[0], (struct sockaddr *)&sa, &len));
  printf("len %u byte0 %d byte1 %d\n", (unsigned)len, ((unsigned char *)&sa)[0],
         ((unsigned char *)&sa)[1]);
  int n = -1;
  OK("FIONREAD empty", ioctl(sv[0], FIONREAD, &n));
  printf("FIONREAD %d\n", n);
  R("lseek", lseek(sv[0], 0, SEEK_SET));
  R("pread", pread(sv[0], &v, 1, 0));
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", sv[0]);
  R("open /proc/self/fd/N", open(path, O_RDWR));
  poll_show("poll fresh", sv[0]);
  close(sv[0]);
  close(sv[1]);
}

static void stream_data(void) {
  int sv[2];
  printf("-- stream data\n");
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  R("write hello", write(sv[0], "hello", 5));
  R("send world", send(sv[0], "world", 5, 0));
  R("write 0", write(sv[0], "", 0));
  int n = -1;
  ioctl(sv[1], FIONREAD, &n);
  printf("FIONREAD %d\n", n);
  poll_show("poll with data", sv[1]);
  recv_show("recv PEEK 3", sv[1], 3, MSG_PEEK);
  recv_show("recv PEEK 100", sv[1], 100, MSG_PEEK);
  recv_show("recv 4", sv[1], 4, 0);
  recvmsg_show("recvmsg 2+3", sv[1], 2, 3, 0);
  recv_show("recv rest", sv[1], 100, 0);
  recv_show("recv DONTWAIT empty", sv[1], 100, MSG_DONTWAIT);
  struct iovec iov[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
  R("writev", writev(sv[1], iov, 3));
  char x[3], y[10];
  struct iovec in[2] = {{x, 3}, {y, 10}};
  R("readv", readv(sv[0], in, 2));
  printf("readv got \"%.3s|%.3s\"\n", x, y);
  struct msghdr m = {.msg_iov = iov, .msg_iovlen = 3};
  R("sendmsg", sendmsg(sv[0], &m, 0));
  recvmsg_show("recvmsg CMSG_CLOEXEC", sv[1], 3, 10, MSG_CMSG_CLOEXEC);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  R("sendto with address",
    sendto(sv[0], "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa)));
  R("sendto NULL address", sendto(sv[0], "xy", 2, 0, NULL, 0));
  socklen_t alen = sizeof(sa);
  char buf[8];
  R("recvfrom",
    recvfrom(sv[1], buf, sizeof buf, 0, (struct sockaddr *)&sa, &alen));
  printf("addrlen %u\n", (unsigned)alen);
  R("send bad buffer", send(sv[0], (void *)8, 4, 0));
  R("recv OOB", recv(sv[1], buf, 1, MSG_OOB | MSG_DONTWAIT));
  close(sv[0]);
  close(sv[1]);
}

static void records(int type) {
  int sv[2];
  printf("-- records %s\n", tname(type));
  socketpair(AF_UNIX, type, 0, sv);
  R("send 5", send(sv[0], "first", 5, 0));
  R("send 0", send(sv[0], "", 0, 0));
  R("send 12", send(sv[0], "third record", 12, 0));
  R("send 6", send(sv[0], "fourth", 6, 0));
  int n = -1;
  ioctl(sv[1], FIONREAD, &n);
  printf("FIONREAD %d\n", n);
  recv_show("recv PEEK 3", sv[1], 3, MSG_PEEK);
  recv_show("recv PEEK|TRUNC 3", sv[1], 3, MSG_PEEK | MSG_TRUNC);
  recvmsg_show("recvmsg 2+1 (truncated)", sv[1], 2, 1, 0);
  recv_show("recv empty record", sv[1], 100, 0);
  recv_show("recv TRUNC 4", sv[1], 4, MSG_TRUNC);
  char a[3], b[10];
  struct iovec in[2] = {{a, 3}, {b, 10}};
  R("readv one record", readv(sv[1], in, 2));
  printf("readv got \"%.3s|%.3s\"\n", a, b);
  recv_show("recv DONTWAIT empty", sv[1], 100, MSG_DONTWAIT);
  struct iovec out[3] = {{"one", 3}, {"-", 1}, {"two", 3}};
  R("writev", writev(sv[0], out, 3));
  R("write", write(sv[0], "three", 5));
  recv_show("recv WAITALL 100 (one record)", sv[1], 100, MSG_WAITALL);
  recv_show("read", sv[1], 100, 0);
  static char big[300000];
  R("send 300000 (EMSGSIZE)", send(sv[0], big, sizeof big, 0));
  int v = 4096;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  R("send 8161 with SO_SNDBUF 8192", send(sv[0], big, 8161, 0));
  R("send 8160 with SO_SNDBUF 8192", send(sv[0], big, 8160, 0));
  recv_show("recv it (first bytes)", sv[1], 0, MSG_TRUNC);
  close(sv[0]);
  close(sv[1]);
}

static void shutdowns(int type) {
  int sv[2];
  printf("-- shutdown %s\n", tname(type));
  socketpair(AF_UNIX, type, 0, sv);
  R("shutdown bad how", shutdown(sv[0], 3));
  R("send before", send(sv[0], "data", 4, 0));
  OK("shutdown a SHUT_WR", shutdown(sv[0], SHUT_WR));
  poll_show("poll a", sv[0]);
  poll_show("poll b", sv[1]);
  g_sigpipes = 0;
  R("send on a", send(sv[0], "x", 1, 0));
  printf("sigpipes %d\n", g_sigpipes);
  R("send on a NOSIGNAL", send(sv[0], "x", 1, MSG_NOSIGNAL));
  printf("sigpipes %d\n", g_sigpipes);
  recv_show("recv b", sv[1], 100, MSG_DONTWAIT);
  recv_show("recv b again", sv[1], 100, MSG_DONTWAIT);
  R("send b to a", send(sv[1], "back", 4, MSG_DONTWAIT));
  recv_show("recv a", sv[0], 100, MSG_DONTWAIT);
  OK("shutdown b SHUT_RD", shutdown(sv[1], SHUT_RD));
  poll_show("poll a", sv[0]);
  poll_show("poll b", sv[1]);
  OK("shutdown a SHUT_RDWR", shutdown(sv[0], SHUT_RDWR));
  poll_show("poll a", sv[0]);
  poll_show("poll b", sv[1]);
  R("send b to a", send(sv[1], "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL));
  recv_show("recv a", sv[0], 100, MSG_DONTWAIT);
  close(sv[0]);
  close(sv[1]);
}

static void peer_close(int type) {
  int sv[2];
  printf("-- peer close %s\n", tname(type));
  socketpair(AF_UNIX, type, 0, sv);
  send(sv[0], "last", 4, 0);
  close(sv[0]);
  poll_show("poll b", sv[1]);
  recv_show("recv b", sv[1], 100, MSG_DONTWAIT);
  recv_show("recv b again", sv[1], 100, MSG_DONTWAIT);
  g_sigpipes = 0;
  R("send b", send(sv[1], "x", 1, 0));
  printf("sigpipes %d\n", g_sigpipes);
  R("send b again", send(sv[1], "x", 1, MSG_NOSIGNAL));
  printf("sigpipes %d\n", g_sigpipes);
  struct sockaddr_un sa;
  socklen_t len = sizeof sa;
  R("getpeername", getpeername(sv[1], (struct sockaddr *)&sa, &len));
  poll_show("poll b", sv[1]);
  close(sv[1]);
}

static void full_buffer(int type) {
  int sv[2];
  printf("-- full buffer %s\n", tname(type));
  socketpair(AF_UNIX, type | SOCK_NONBLOCK, 0, sv);
  static char chunk[4096];
  long total = 0;
  ssize_t n;
  int i;
  for (i = 0; i < 100000; i++) {
    n = send(sv[0], chunk, sizeof chunk, 0);
    if (n < 0)
      break;
    total += n;
  }
  printf("stopped with %s\n", n < 0 ? errname(errno) : "no error");
  FACT("some went in", total >= 4096);
  FACT("not unbounded", total <= 8 * 1024 * 1024);
  struct pollfd p = {.fd = sv[0], .events = POLLOUT};
  poll(&p, 1, 0);
  FACT("full: not POLLOUT", !(p.revents & POLLOUT));
  long got = 0;
  char buf[8192];
  while ((n = recv(sv[1], buf, sizeof buf, 0)) > 0)
    got += n;
  printf("drained: %s, all back %d\n", errname(errno), got == total);
  poll_show("poll a", sv[0]);
  close(sv[0]);
  close(sv[1]);
}

/* Across fork: the child sleeps, then acts; the parent is already blocked
 * (read, poll, epoll_wait) and must wake. */
static void across_fork(int type) {
  int sv[2];
  printf("-- across fork %s\n", tname(type));
  socketpair(AF_UNIX, type, 0, sv);
  pid_t c = fork();
  if (c == 0) {
    close(sv[1]);
    sleep_ms(50);
    send(sv[0], "from", 4, 0);
    sleep_ms(50);
    send(sv[0], "child", 5, 0);
    char buf[16];
    ssize_t n = recv(sv[0], buf, sizeof buf, 0); /* blocks for the parent */
    sleep_ms(50);
    send(sv[0], buf, n > 0 ? (size_t)n : 0, 0);
    /* Wait for the parent to have read the echo, so that the next message
     * is never merged with it in a stream, however the two are scheduled. */
    recv(sv[0], buf, 1, 0);
    struct ucred cr;
    socklen_t len = sizeof cr;
    getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cr, &len);
    send(sv[0], cr.pid == getppid() ? "cred=parent" : "cred=other", 11, 0);
    recv(sv[0], buf, 1, 0); /* the parent has read it: now exit */
    _exit(0);               /* the last reference of sv[0] goes */
  }
  close(sv[0]);
  char buf[64];
  ssize_t n = recv(sv[1], buf, type == SOCK_STREAM ? 9 : sizeof buf,
                   type == SOCK_STREAM ? MSG_WAITALL : 0);
  if (type == SOCK_STREAM)
    printf("WAITALL blocking recv: %zd (parts \"%.*s\")\n", n,
           (int)(n > 0 ? n : 0), buf);
  else
    printf("blocking recv: %zd \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
  if (type != SOCK_STREAM) {
    n = recv(sv[1], buf, sizeof buf, 0);
    printf("blocking recv: %zd \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
  }
  send(sv[1], "echo", 4, 0);
  struct pollfd p = {.fd = sv[1], .events = POLLIN};
  n = poll(&p, 1, 5000);
  printf("poll woken: %zd", n);
  show_events(" revents", p.revents);
  n = recv(sv[1], buf, sizeof buf, 0);
  printf("echoed: %zd \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
  send(sv[1], "k", 1, 0); /* the child may send the next one */
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = 7};
  epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev);
  struct epoll_event out[2];
  n = epoll_wait(ep, out, 2, 5000);
  printf("epoll woken: %zd data %u", n, n > 0 ? out[0].data.u32 : 0);
  show_events(" events", n > 0 ? out[0].events : 0);
  n = recv(sv[1], buf, sizeof buf, 0);
  printf("cred message: %zd \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
  send(sv[1], "k", 1, 0); /* the child may exit */
  /* Now the child's exit: a stream/seqpacket reader sees EOF (and epoll
   * RDHUP|HUP); a datagram socket sees nothing, so wait for the child and
   * look without blocking. */
  if (type == SOCK_DGRAM) {
    waitpid(c, NULL, 0);
    R("recv after child exit", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    R("send after child exit", send(sv[1], "x", 1, 0));
  } else {
    n = epoll_wait(ep, out, 2, 5000);
    printf("epoll at child exit: %zd", n);
    show_events(" events", n > 0 ? out[0].events : 0);
    R("recv after child exit", recv(sv[1], buf, sizeof buf, 0));
    waitpid(c, NULL, 0);
  }
  close(ep);
  close(sv[1]);
}

/* A blocked reader in the child, woken by the parent's last close. */
static void close_wakes(void) {
  int sv[2];
  printf("-- last close wakes a blocked reader\n");
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  pid_t c = fork();
  if (c == 0) {
    close(sv[0]);
    char buf[8];
    ssize_t n = read(sv[1], buf, sizeof buf);
    printf("child read: %zd\n", n);
    fflush(stdout);
    _exit(0);
  }
  pid_t c2 = fork(); /* a second holder of sv[0]: its close is not the last */
  if (c2 == 0) {
    sleep_ms(100);
    close(sv[0]);
    _exit(0);
  }
  close(sv[1]);
  waitpid(c2, NULL, 0);
  sleep_ms(50);
  int st;
  FACT("child still blocked after another holder closed",
       waitpid(c, &st, WNOHANG) == 0);
  close(sv[0]);
  waitpid(c, &st, 0);
  printf("child status %d\n", WEXITSTATUS(st));
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGPIPE, on_sigpipe);
  creation();
  int types[3] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
  for (int i = 0; i < 3; i++)
    options(types[i]);
  stream_data();
  records(SOCK_DGRAM);
  records(SOCK_SEQPACKET);
  for (int i = 0; i < 3; i++)
    shutdowns(types[i]);
  for (int i = 0; i < 3; i++)
    peer_close(types[i]);
  for (int i = 0; i < 3; i++)
    full_buffer(types[i]);
  for (int i = 0; i < 3; i++)
    across_fork(types[i]);
  close_wakes();
  return 0;
}
