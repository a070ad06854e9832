/* Control messages and the calls around them on AF_UNIX socketpairs,
 * natively and inside moat with the same output: SCM_RIGHTS between
 * processes (a file the sender opened after fork, the test's own binary,
 * a pipe end, stdout), the shared open file description, MSG_CMSG_CLOEXEC,
 * MSG_CTRUNC with the dropped files closed, EMFILE, SCM_MAX_FD, EBADF,
 * malformed control buffers, where a message's files cut a stream, files
 * in flight closed with the receiving socket (also a socket sent over
 * itself), SCM_CREDENTIALS and SO_PASSCRED (checks, filled-in
 * credentials, streams not glued across writers), sendmmsg/recvmmsg,
 * SO_RCVTIMEO/SO_SNDTIMEO (rounding, EAGAIN, EINTR never restarted while
 * an untimed call is), SO_SNDBUF with a blocked writer woken by the
 * reader, FIONREAD on datagrams, MSG_OOB, sendfile and splice with
 * sockets, and a receive into a bad buffer on an empty socket. Every
 * wait is a handshake: nothing depends on timing but the lower bound of
 * a timeout. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

/* Send data with the given fds (n of them) and optional credentials. */
static ssize_t send_fds(int s, const char *data, const int *fds, int n,
                        const struct ucred *cr) {
  union {
    char buf[CMSG_SPACE(sizeof(int) * 256) + CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct iovec iov = {.iov_base = (void *)data, .iov_len = strlen(data)};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  size_t len = 0;
  struct cmsghdr *c = (struct cmsghdr *)u.buf;
  if (n > 0) {
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    len += CMSG_SPACE(sizeof(int) * n);
    c = (struct cmsghdr *)(u.buf + len);
  }
  if (cr) {
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof *cr);
    memcpy(CMSG_DATA(c), cr, sizeof *cr);
    len += CMSG_SPACE(sizeof *cr);
  }
  if (len) {
    m.msg_control = u.buf;
    m.msg_controllen = len;
  }
  /* The system call itself: musl refuses control buffers above 1 KiB. */
  return syscall(SYS_sendmsg, s, &m, 0);
}

struct rx {
  ssize_t n;
  char data[256];
  int nfds;
  int fds[256];
  int flags;
  int has_creds;
  struct ucred cr;
  size_t controllen;
};

/* Receive with a control buffer of ctl bytes (-1: no msg_control). */
static struct rx recv_fds(int s, int ctl, int flags) {
  static union {
    char buf[8192];
    struct cmsghdr align;
  } u;
  struct rx r;
  memset(&r, 0, sizeof r);
  struct iovec iov = {.iov_base = r.data, .iov_len = sizeof r.data - 1};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  memset(u.buf, 0, sizeof u.buf);
  if (ctl >= 0) {
    m.msg_control = u.buf;
    m.msg_controllen = (size_t)ctl;
  }
  r.n = recvmsg(s, &m, flags);
  if (r.n < 0) {
    r.n = -errno;
    return r;
  }
  r.flags = m.msg_flags;
  r.controllen = m.msg_controllen;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      memcpy(r.fds + r.nfds, CMSG_DATA(c), sizeof(int) * k);
      r.nfds += k;
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
               c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
      r.has_creds = 1;
      memcpy(&r.cr, CMSG_DATA(c), sizeof r.cr);
    }
  }
  return r;
}

static void show_rx(const char *label, const struct rx *r) {
  if (r->n < 0) {
    printf("%s: -1 %s\n", label, errname((int)-r->n));
    return;
  }
  printf("%s: %zd \"%.*s\" fds %d%s%s creds %d controllen %zu\n", label, r->n,
         (int)r->n, r->data, r->nfds, (r->flags & MSG_CTRUNC) ? " CTRUNC" : "",
         (r->flags & MSG_TRUNC) ? " TRUNC" : "", r->has_creds, r->controllen);
}

static void close_rx(struct rx *r) {
  for (int i = 0; i < r->nfds; i++)
    close(r->fds[i]);
}

static void wait_child(const char *label, pid_t pid) {
  int st;
  if (waitpid(pid, &st, 0) < 0)
    printf("%s: waitpid %s\n", label, errname(errno));
  else
    printf("%s: child status %d\n", label,
           WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/* What read() of fd gives now (non-blocking: "EAGAIN" when nothing). */
static void show_read(const char *label, int fd, size_t max) {
  char buf[256];
  ssize_t n = read(fd, buf, max < sizeof buf ? max : sizeof buf);
  if (n < 0)
    printf("%s: -1 %s\n", label, errname(errno));
  else
    printf("%s: %zd \"%.*s\"\n", label, n, (int)n, buf);
}

static void set_nonblock(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* ---- SCM_RIGHTS across processes ------------------------------------ */

static void across_fork(const char *self) {
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  write_file("data.txt", "0123456789abcdef");
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    /* Opened after fork: the parent never had these. */
    int f = open("data.txt", O_RDONLY);
    int exe = open(self, O_RDONLY);
    int p[2];
    if (pipe(p) < 0)
      _exit(3);
    int fds[3] = {f, exe, p[0]};
    if (send_fds(sv[1], "three", fds, 3, NULL) != 5)
      _exit(4);
    close(p[0]);
    close(exe);
    /* Wait until the parent read from the shared description. */
    char c;
    if (read(sv[1], &c, 1) != 1)
      _exit(5);
    char buf[8];
    ssize_t n = read(f, buf, 4);
    if (n != 4 || write(sv[1], buf, 4) != 4)
      _exit(6);
    if (write(p[1], "through the pipe", 16) != 16)
      _exit(7);
    close(p[1]);
    /* Our stdout, sent back: the parent writes to it. */
    int one = 1;
    if (send_fds(sv[1], "out", &one, 1, NULL) != 3)
      _exit(8);
    if (read(sv[1], &c, 1) != 1)
      _exit(9);
    _exit(0);
  }
  close(sv[1]);
  struct rx r = recv_fds(sv[0], 4096, 0);
  show_rx("fork: recvmsg", &r);
  if (r.nfds == 3) {
    struct stat a, b;
    fstat(r.fds[0], &a);
    stat("data.txt", &b);
    FACT("fork: same file", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    char buf[8] = {0};
    R("fork: read 3 from the passed file", read(r.fds[0], buf, 3));
    printf("fork: got \"%s\"\n", buf);
    R("fork: handshake", write(sv[0], "g", 1));
    memset(buf, 0, sizeof buf);
    R("fork: child's next 4 (shared offset)", read(sv[0], buf, 4));
    printf("fork: child read \"%s\"\n", buf);
    R("fork: lseek of the passed file", lseek(r.fds[0], 0, SEEK_CUR));
    unsigned char elf[4] = {0};
    R("fork: read the child's open of our binary", read(r.fds[1], elf, 4));
    printf("fork: binary starts %02x %c%c%c\n", elf[0], elf[1], elf[2], elf[3]);
    char pbuf[32] = {0};
    R("fork: read the passed pipe end", read(r.fds[2], pbuf, 16));
    printf("fork: pipe said \"%s\"\n", pbuf);
    R("fork: pipe end at EOF", read(r.fds[2], pbuf, 16));
  }
  close_rx(&r);
  struct rx o = recv_fds(sv[0], 64, 0);
  show_rx("fork: the child's stdout", &o);
  if (o.nfds == 1) {
    fflush(stdout);
    const char *msg = "fork: written through the child's stdout\n";
    R("fork: write", write(o.fds[0], msg, strlen(msg)));
  }
  close_rx(&o);
  R("fork: release the child", write(sv[0], "x", 1));
  wait_child("fork", pid);
  close(sv[0]);
}

/* ---- flags, truncation, limits --------------------------------------- */

static void cloexec_and_ctrunc(void) {
  int sv[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  int f = open("data.txt", O_RDONLY);
  send_fds(sv[0], "a", &f, 1, NULL);
  struct rx r = recv_fds(sv[1], 64, MSG_CMSG_CLOEXEC);
  show_rx("cloexec: recvmsg MSG_CMSG_CLOEXEC", &r);
  if (r.nfds)
    R("cloexec: F_GETFD", fcntl(r.fds[0], F_GETFD));
  close_rx(&r);
  send_fds(sv[0], "b", &f, 1, NULL);
  r = recv_fds(sv[1], 64, 0);
  show_rx("cloexec: recvmsg", &r);
  if (r.nfds)
    R("cloexec: F_GETFD", fcntl(r.fds[0], F_GETFD));
  close_rx(&r);

  /* Two pipe write ends, room for one: the other is closed, its reader
   * sees end of file. */
  int p1[2], p2[2];
  pipe(p1);
  pipe(p2);
  set_nonblock(p1[0]);
  set_nonblock(p2[0]);
  int w[2] = {p1[1], p2[1]};
  R("ctrunc: send two", send_fds(sv[0], "two", w, 2, NULL));
  close(p1[1]);
  close(p2[1]);
  r = recv_fds(sv[1], (int)CMSG_LEN(sizeof(int)), 0);
  show_rx("ctrunc: room for one", &r);
  show_read("ctrunc: first pipe (its writer received)", p1[0], 8);
  show_read("ctrunc: second pipe (its writer dropped)", p2[0], 8);
  close_rx(&r);
  show_read("ctrunc: first pipe after close", p1[0], 8);
  close(p1[0]);
  close(p2[0]);

  /* No control buffer at all, and one smaller than a header. */
  R("ctrunc: send one", send_fds(sv[0], "c", &f, 1, NULL));
  r = recv_fds(sv[1], -1, 0);
  show_rx("ctrunc: no msg_control", &r);
  R("ctrunc: send one", send_fds(sv[0], "d", &f, 1, NULL));
  r = recv_fds(sv[1], 8, 0);
  show_rx("ctrunc: 8-byte msg_control", &r);
  R("ctrunc: send one", send_fds(sv[0], "e", &f, 1, NULL));
  r = recv_fds(sv[1], (int)CMSG_LEN(2), 0);
  show_rx("ctrunc: room for half an fd", &r);
  close_rx(&r);

  /* EMFILE: only the lowest free descriptor is below the limit. */
  struct rlimit old, lim;
  getrlimit(RLIMIT_NOFILE, &old);
  int lowest = dup(0);
  close(lowest);
  lim = old;
  lim.rlim_cur = (rlim_t)lowest + 1;
  int two[2] = {f, f};
  R("emfile: send two", send_fds(sv[0], "f", two, 2, NULL));
  setrlimit(RLIMIT_NOFILE, &lim);
  r = recv_fds(sv[1], 256, 0);
  setrlimit(RLIMIT_NOFILE, &old);
  show_rx("emfile: recvmsg", &r);
  if (r.nfds == 1)
    FACT("emfile: got the lowest fd", r.fds[0] == lowest);
  close_rx(&r);

  /* SCM_MAX_FD */
  int many[254];
  for (int i = 0; i < 254; i++)
    many[i] = f;
  R("max: send 254", send_fds(sv[0], "g", many, 254, NULL));
  R("max: send 253", send_fds(sv[0], "h", many, 253, NULL));
  r = recv_fds(sv[1], 8192, 0);
  show_rx("max: recvmsg", &r);
  int distinct = 1;
  for (int i = 1; i < r.nfds; i++)
    if (r.fds[i] == r.fds[i - 1])
      distinct = 0;
  FACT("max: distinct fds", distinct);
  close_rx(&r);

  int bad = 9999;
  R("ebadf: send fd 9999", send_fds(sv[0], "i", &bad, 1, NULL));
  r = recv_fds(sv[1], 64, MSG_DONTWAIT);
  show_rx("ebadf: nothing queued", &r);

  /* Malformed control buffers. */
  union {
    char buf[64];
    struct cmsghdr align;
  } u;
  struct iovec iov = {.iov_base = "j", .iov_len = 1};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf};
  struct cmsghdr *c = (struct cmsghdr *)u.buf;
  memset(&u, 0, sizeof u);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = 100;
  m.msg_controllen = CMSG_SPACE(sizeof(int));
  R("cmsg: length past the buffer", syscall(SYS_sendmsg, sv[0], &m, 0));
  c->cmsg_len = 8;
  R("cmsg: length below a header", syscall(SYS_sendmsg, sv[0], &m, 0));
  c->cmsg_len = CMSG_LEN(sizeof(int));
  c->cmsg_type = 77;
  R("cmsg: unknown SOL_SOCKET type", syscall(SYS_sendmsg, sv[0], &m, 0));
  c->cmsg_level = 6; /* another level is skipped */
  R("cmsg: another level", syscall(SYS_sendmsg, sv[0], &m, 0));
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_CREDENTIALS;
  R("cmsg: short credentials", syscall(SYS_sendmsg, sv[0], &m, 0));
  m.msg_controllen = 8;
  R("cmsg: buffer below a header", syscall(SYS_sendmsg, sv[0], &m, 0));
  m.msg_control = (void *)8;
  m.msg_controllen = 32;
  R("cmsg: bad buffer", syscall(SYS_sendmsg, sv[0], &m, 0));
  for (int i = 0; i < 3; i++) {
    r = recv_fds(sv[1], 64, MSG_DONTWAIT);
    show_rx("cmsg: queued", &r);
  }
  close(f);
  close(sv[0]);
  close(sv[1]);
}

/* Files in flight beyond RLIMIT_NOFILE: ETOOMANYREFS for an unprivileged
 * sender (Linux counts per user, moat per sandbox: nothing else of this
 * test is in flight then). Never waits. */
static void too_many_refs(void) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    /* Linux counts per user: a uid of our own, so that a copy of this
     * test running at the same time (glibc and musl) is not counted. */
    uid_t uid = 40000 + (uid_t)(getpid() % 20000);
    if (getuid() == 0 && (setgid(uid) < 0 || setuid(uid) < 0))
      _exit(3);
    struct rlimit r = {20, 20};
    setrlimit(RLIMIT_NOFILE, &r);
    int sv[2], other[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, other);
    int n = 0;
    ssize_t rc;
    while (n < 100 && (rc = send_fds(sv[0], "r", &other[0], 1, NULL)) > 0)
      n++;
    printf("refs: sent %d, then %s\n", n, rc < 0 ? errname(errno) : "ok");
    struct rx got = recv_fds(sv[1], 64, MSG_DONTWAIT);
    show_rx("refs: one received", &got);
    close_rx(&got);
    R("refs: room for one more", send_fds(sv[0], "r", &other[0], 1, NULL));
    R("refs: and then", send_fds(sv[0], "r", &other[0], 1, NULL));
    fflush(stdout);
    _exit(0);
  }
  wait_child("refs", pid);
}

/* ---- streams: where files cut the bytes ------------------------------ */

static void stream_cuts(void) {
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  int f = open("data.txt", O_RDONLY);
  send(sv[0], "aaa", 3, 0);
  send_fds(sv[0], "bbb", &f, 1, NULL);
  send(sv[0], "ccc", 3, 0);
  send_fds(sv[0], "ddd", &f, 1, NULL);
  send_fds(sv[0], "eee", &f, 1, NULL);
  struct rx r = recv_fds(sv[1], 64, MSG_PEEK);
  show_rx("stream: peek", &r);
  close_rx(&r);
  r = recv_fds(sv[1], 64, 0);
  show_rx("stream: recvmsg", &r);
  close_rx(&r);
  char buf[2];
  R("stream: recv 2 of the next", recv(sv[1], buf, 2, 0));
  r = recv_fds(sv[1], 64, 0);
  show_rx("stream: recvmsg", &r);
  close_rx(&r);
  r = recv_fds(sv[1], 64, MSG_DONTWAIT);
  show_rx("stream: recvmsg", &r);
  close_rx(&r);
  /* A read() takes the bytes and closes the files. */
  int p[2];
  pipe(p);
  set_nonblock(p[0]);
  send_fds(sv[0], "fff", &p[1], 1, NULL);
  close(p[1]);
  R("stream: read() a message with a file", read(sv[1], buf, 2));
  show_read("stream: its pipe (writer now closed)", p[0], 8);
  r = recv_fds(sv[1], 64, 0);
  show_rx("stream: the rest", &r);
  close(p[0]);
  close(f);
  close(sv[0]);
  close(sv[1]);
}

/* ---- files in flight when the receiver closes ----------------------- */

static void inflight(void) {
  for (int type = 0; type < 2; type++) {
    const char *tn = type ? "dgram" : "stream";
    int sv[2];
    socketpair(AF_UNIX, type ? SOCK_DGRAM : SOCK_STREAM, 0, sv);
    int p[2];
    pipe(p);
    set_nonblock(p[0]);
    send_fds(sv[0], "x", &p[1], 1, NULL);
    close(p[1]);
    show_read(tn, p[0], 8);
    close(sv[1]);
    printf("%s: receiver closed\n", tn);
    show_read(tn, p[0], 8);
    close(sv[0]);
    close(p[0]);

    /* A socket sent over itself, with a pipe writer beside it. */
    socketpair(AF_UNIX, type ? SOCK_DGRAM : SOCK_STREAM, 0, sv);
    pipe(p);
    set_nonblock(p[0]);
    int fds[2] = {sv[0], p[1]};
    R("self: send own end", send_fds(sv[0], "y", fds, 2, NULL));
    close(p[1]);
    close(sv[0]);
    show_read("self: pipe before", p[0], 8);
    close(sv[1]);
    show_read("self: pipe after both ends closed", p[0], 8);
    close(p[0]);

    /* Each end in the other's queue with a pipe writer, then all
     * closed: only the garbage collector can free the cycle, at the next
     * release of a socket (asynchronously on Linux: wait up to 10 s). */
    socketpair(AF_UNIX, type ? SOCK_DGRAM : SOCK_STREAM, 0, sv);
    pipe(p);
    int a[2] = {sv[0], p[1]};
    R("gc: send", send_fds(sv[0], "z", a, 2, NULL));
    R("gc: send", send_fds(sv[1], "z", &sv[1], 1, NULL));
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
    int t[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, t);
    close(t[0]);
    close(t[1]);
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    R("gc: the cycle's pipe writer closed", poll(&pf, 1, 10000));
    show_read("gc: pipe", p[0], 8);
    close(p[0]);
  }
}

/* ---- credentials ----------------------------------------------------- */

static void creds(void) {
  int sv[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  int on = 1, v = -1;
  socklen_t l = sizeof v;
  getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &v, &l);
  printf("creds: SO_PASSCRED default %d\n", v);
  struct ucred me = {getpid(), getuid(), getgid()};
  R("creds: send own, receiver without SO_PASSCRED",
    send_fds(sv[0], "a", NULL, 0, &me));
  struct rx r = recv_fds(sv[1], 256, 0);
  show_rx("creds: recvmsg", &r);
  R("creds: plain send before SO_PASSCRED", send(sv[0], "b", 1, 0));
  OK("creds: SO_PASSCRED on",
     setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
  getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &v, &l);
  printf("creds: SO_PASSCRED now %d\n", v);
  r = recv_fds(sv[1], 256, 0);
  show_rx("creds: the earlier message", &r);
  printf("creds: pid %d uid %u gid %u\n", r.cr.pid, r.cr.uid, r.cr.gid);
  R("creds: plain send", send(sv[0], "c", 1, 0));
  r = recv_fds(sv[1], 256, 0);
  show_rx("creds: filled in", &r);
  FACT("creds: our pid and ids",
       r.cr.pid == getpid() && r.cr.uid == getuid() && r.cr.gid == getgid());
  R("creds: send own explicitly", send_fds(sv[0], "d", NULL, 0, &me));
  r = recv_fds(sv[1], 256, 0);
  show_rx("creds: explicit", &r);
  FACT("creds: ours", r.cr.pid == me.pid && r.cr.uid == me.uid);
  /* Room for the fds only: the credentials come first and take it. */
  int f = open("data.txt", O_RDONLY);
  send_fds(sv[0], "e", &f, 1, NULL);
  r = recv_fds(sv[1], (int)CMSG_SPACE(sizeof(int)), 0);
  show_rx("creds: with an fd, room for one message", &r);
  close_rx(&r);
  send_fds(sv[0], "e", &f, 1, NULL);
  r = recv_fds(sv[1], 20, 0);
  show_rx("creds: 20-byte buffer", &r);
  send(sv[0], "e", 1, 0);
  r = recv_fds(sv[1], -1, 0);
  show_rx("creds: no buffer", &r);

  /* A privileged sender may claim another pid; no such pid is ESRCH. */
  struct ucred other = {1, 0, 0};
  if (getuid() == 0) {
    R("creds: root claims pid 1", send_fds(sv[0], "f", NULL, 0, &other));
    r = recv_fds(sv[1], 256, 0);
    printf("creds: pid %d uid %u\n", r.cr.pid, r.cr.uid);
    struct ucred none = {999999, 0, 0};
    R("creds: root claims no such pid", send_fds(sv[0], "g", NULL, 0, &none));
    struct ucred baduid = {getpid(), (uid_t)-1, 0};
    R("creds: uid -1", send_fds(sv[0], "g", NULL, 0, &baduid));
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    /* Unprivileged: only our own pid and ids. */
    if (getuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
      _exit(3);
    struct ucred mine = {getpid(), getuid(), getgid()};
    R("creds child: own", send_fds(sv[0], "h", NULL, 0, &mine));
    R("creds child: pid 1", send_fds(sv[0], "i", NULL, 0, &other));
    struct ucred u0 = {getpid(), 0, getgid()};
    R("creds child: uid 0", send_fds(sv[0], "j", NULL, 0, &u0));
    struct ucred g0 = {getpid(), getuid(), 0};
    R("creds child: gid 0", send_fds(sv[0], "k", NULL, 0, &g0));
    fflush(stdout);
    _exit(0);
  }
  wait_child("creds", pid);
  r = recv_fds(sv[1], 256, 0);
  show_rx("creds: from the child", &r);
  FACT("creds: the child's pid", r.cr.pid == pid);
  printf("creds: uid %u gid %u\n", r.cr.uid, r.cr.gid);
  close(f);
  close(sv[0]);
  close(sv[1]);

  /* A stream with SO_PASSCRED does not glue bytes of two writers. */
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  send(sv[0], "before", 6, 0);
  setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
  send(sv[0], "mine", 4, 0);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    send(sv[0], "child", 5, 0);
    _exit(0);
  }
  wait_child("stream creds", pid);
  send(sv[0], "again", 5, 0);
  send(sv[0], "more", 4, 0);
  for (int i = 0; i < 4; i++) {
    r = recv_fds(sv[1], 256, MSG_DONTWAIT);
    show_rx("stream creds: recvmsg", &r);
    FACT("stream creds: the parent's", r.cr.pid == getpid());
    FACT("stream creds: the child's", r.cr.pid == pid);
  }
  close(sv[0]);
  close(sv[1]);
}

/* ---- named sockets, and TCP/UDP that ignore control messages -------- */

static void named_and_inet(void) {
  int f = open("data.txt", O_RDONLY);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  /* An abstract name of our own (the glibc and musl runs overlap). */
  int nl = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "moat-scm-%d",
                    (int)getpid());
  socklen_t al = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + nl);
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  OK("named: bind", bind(l, (struct sockaddr *)&a, al));
  listen(l, 4);
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  OK("named: connect", connect(c, (struct sockaddr *)&a, al));
  R("named: send before accept", send_fds(c, "pre", &f, 1, NULL));
  int s = accept(l, NULL, NULL);
  struct rx r = recv_fds(s, 64, 0);
  show_rx("named: accepted side", &r);
  close_rx(&r);
  int on = 1;
  setsockopt(s, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
  R("named: send", send_fds(c, "post", &f, 1, NULL));
  r = recv_fds(s, 64, 0);
  show_rx("named: with SO_PASSCRED", &r);
  close_rx(&r);
  close(c);
  close(s);
  close(l);
  a.sun_path[1] = 'D';
  int d1 = socket(AF_UNIX, SOCK_DGRAM, 0);
  OK("named: bind datagram", bind(d1, (struct sockaddr *)&a, al));
  int d2 = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct iovec iov = {.iov_base = "to", .iov_len = 2};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr m = {.msg_name = &a,
                     .msg_namelen = al,
                     .msg_iov = &iov,
                     .msg_iovlen = 1,
                     .msg_control = u.buf,
                     .msg_controllen = sizeof u.buf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &f, sizeof f);
  R("named: sendto with a file", syscall(SYS_sendmsg, d2, &m, 0));
  r = recv_fds(d1, 64, 0);
  show_rx("named: datagram", &r);
  close_rx(&r);
  close(d1);
  close(d2);

  /* TCP and UDP ignore SCM_RIGHTS; SO_PASSCRED is not theirs. */
  struct sockaddr_in in = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t il = sizeof in;
  l = socket(AF_INET, SOCK_STREAM, 0);
  bind(l, (struct sockaddr *)&in, il);
  listen(l, 1);
  getsockname(l, (struct sockaddr *)&in, &il);
  c = socket(AF_INET, SOCK_STREAM, 0);
  OK("tcp: connect", connect(c, (struct sockaddr *)&in, il));
  s = accept(l, NULL, NULL);
  R("tcp: send with a file", send_fds(c, "tcp", &f, 1, NULL));
  r = recv_fds(s, 64, 0);
  show_rx("tcp: received", &r);
  close_rx(&r);
  R("tcp: SO_PASSCRED", setsockopt(s, SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
  close(c);
  close(s);
  close(l);
  int ud = socket(AF_INET, SOCK_DGRAM, 0);
  bind(ud, (struct sockaddr *)&in, 0); /* no-op: autobind on send */
  in.sin_port = 0;
  il = sizeof in;
  bind(ud, (struct sockaddr *)&in, il);
  getsockname(ud, (struct sockaddr *)&in, &il);
  OK("udp: connect to itself", connect(ud, (struct sockaddr *)&in, il));
  R("udp: send with a file", send_fds(ud, "udp", &f, 1, NULL));
  r = recv_fds(ud, 64, 0);
  show_rx("udp: received", &r);
  close_rx(&r);
  close(ud);
  close(f);
}

/* ---- sendmmsg / recvmmsg --------------------------------------------- */

/* The system calls themselves: musl's wrappers copy the vector first. */
static int raw_sendmmsg(int s, struct mmsghdr *v, unsigned n, int flags) {
  return (int)syscall(SYS_sendmmsg, s, v, n, flags);
}

static int raw_recvmmsg(int s, struct mmsghdr *v, unsigned n, int flags,
                        struct timespec *ts) {
  return (int)syscall(SYS_recvmmsg, s, v, n, flags, ts);
}

static void mmsg(void) {
  int sv[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  struct mmsghdr v[4];
  struct iovec iov[4];
  char bufs[4][32];
  const char *words[] = {"one", "two!", "three", "four"};
  memset(v, 0, sizeof v);
  for (int i = 0; i < 4; i++) {
    iov[i].iov_base = (void *)words[i];
    iov[i].iov_len = strlen(words[i]);
    v[i].msg_hdr.msg_iov = &iov[i];
    v[i].msg_hdr.msg_iovlen = 1;
  }
  R("mmsg: sendmmsg 3", raw_sendmmsg(sv[0], v, 3, 0));
  for (int i = 0; i < 3; i++)
    printf("mmsg: msg_len %u\n", v[i].msg_len);
  R("mmsg: sendmmsg 0", raw_sendmmsg(sv[0], v, 0, 0));
  R("mmsg: sendmmsg bad vector", raw_sendmmsg(sv[0], (void *)8, 2, 0));
  /* The second message names a bad fd: one sent. */
  int bad = 9999;
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct cmsghdr *c = (struct cmsghdr *)cbuf;
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &bad, sizeof bad);
  v[1].msg_hdr.msg_control = cbuf;
  v[1].msg_hdr.msg_controllen = sizeof cbuf;
  R("mmsg: sendmmsg, second fails",
    raw_sendmmsg(sv[0], v + 3, 1, 0) + raw_sendmmsg(sv[0], v, 2, 0));
  v[1].msg_hdr.msg_control = NULL;
  v[1].msg_hdr.msg_controllen = 0;

  struct mmsghdr rv[8];
  struct iovec riov[8];
  memset(rv, 0, sizeof rv);
  for (int i = 0; i < 8; i++) {
    riov[i].iov_base = bufs[i % 4];
    riov[i].iov_len = i == 1 ? 3 : sizeof bufs[0];
    rv[i].msg_hdr.msg_iov = &riov[i];
    rv[i].msg_hdr.msg_iovlen = 1;
  }
  riov[1].iov_base = bufs[1];
  R("mmsg: recvmmsg DONTWAIT", raw_recvmmsg(sv[1], rv, 8, MSG_DONTWAIT, NULL));
  for (int i = 0; i < 5; i++)
    printf("mmsg: [%d] msg_len %u flags %#x\n", i, rv[i].msg_len,
           rv[i].msg_hdr.msg_flags);
  R("mmsg: recvmmsg empty", raw_recvmmsg(sv[1], rv, 8, MSG_DONTWAIT, NULL));
  raw_sendmmsg(sv[0], v, 2, 0);
  R("mmsg: recvmmsg WAITFORONE",
    raw_recvmmsg(sv[1], rv, 8, MSG_WAITFORONE, NULL));
  raw_sendmmsg(sv[0], v, 3, 0);
  struct timespec ts = {30, 0};
  R("mmsg: recvmmsg 3 with a timeout", raw_recvmmsg(sv[1], rv, 3, 0, &ts));
  FACT("mmsg: time left written back", ts.tv_sec < 30 && ts.tv_sec >= 20);
  struct timespec badts = {0, 1000000000};
  R("mmsg: bad timeout", raw_recvmmsg(sv[1], rv, 3, 0, &badts));
  /* Blocked for the first message, which a child sends. */
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    char ch;
    if (read(sv[0], &ch, 0) < 0)
      _exit(3);
    raw_sendmmsg(sv[0], v, 4, 0);
    _exit(0);
  }
  R("mmsg: recvmmsg blocked, WAITFORONE",
    raw_recvmmsg(sv[1], rv, 4, MSG_WAITFORONE, NULL) > 0);
  wait_child("mmsg", pid);
  while (recv(sv[1], bufs[0], 32, MSG_DONTWAIT) >= 0)
    ;
  /* Credentials and files through recvmmsg. */
  int f = open("data.txt", O_RDONLY);
  int on = 1;
  setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
  send_fds(sv[0], "fd", &f, 1, NULL);
  char rc[2][256];
  rv[0].msg_hdr.msg_control = rc[0];
  rv[0].msg_hdr.msg_controllen = sizeof rc[0];
  R("mmsg: recvmmsg with control", raw_recvmmsg(sv[1], rv, 1, 0, NULL));
  printf("mmsg: msg_controllen %zu\n", (size_t)rv[0].msg_hdr.msg_controllen);
  close(f);
  close(sv[0]);
  close(sv[1]);
}

/* ---- timeouts, signals ----------------------------------------------- */

static volatile int g_alarms;
static int g_alarm_pipe = -1;

static void on_alarm(int sig) {
  (void)sig;
  g_alarms++;
  if (g_alarm_pipe >= 0 && write(g_alarm_pipe, "a", 1) < 0)
    g_alarms += 1000;
}

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void timeouts(void) {
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  struct timeval t;
  socklen_t l = sizeof t;
  getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &t, &l);
  printf("timeo: default %ld.%06ld len %u\n", (long)t.tv_sec, (long)t.tv_usec,
         l);
  long us[] = {1, 3999, 4000, 4001, 10000, 999999, 250000};
  for (size_t i = 0; i < sizeof us / sizeof us[0]; i++) {
    struct timeval s = {2, us[i]};
    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &s, sizeof s);
    l = sizeof t;
    getsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &t, &l);
    printf("timeo: 2.%06ld -> %ld.%06ld\n", us[i], (long)t.tv_sec,
           (long)t.tv_usec);
  }
  struct timeval edom = {1, 1000000}, neg = {-1, 0}, zero = {0, 0};
  R("timeo: usec 1000000",
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &edom, sizeof edom));
  R("timeo: short optlen",
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &zero, 8));
  R("timeo: negative",
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &neg, sizeof neg));
  l = sizeof t;
  getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &t, &l);
  printf("timeo: negative reads back %ld.%06ld\n", (long)t.tv_sec,
         (long)t.tv_usec);
  char c;
  R("timeo: recv with a negative timeout", recv(sv[0], &c, 1, 0));
  l = 4;
  getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &t, &l);
  printf("timeo: getsockopt len 4 -> %u\n", l);

  struct timeval ms150 = {0, 150000};
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &ms150, sizeof ms150);
  int64_t t0 = now_ms();
  R("timeo: recv times out", recv(sv[0], &c, 1, 0));
  FACT("timeo: waited at least 140 ms", now_ms() - t0 >= 140);
  t0 = now_ms();
  R("timeo: read times out", read(sv[0], &c, 1));
  FACT("timeo: waited at least 140 ms", now_ms() - t0 >= 140);
  /* A full send buffer. */
  int small = 4096;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &ms150, sizeof ms150);
  static char big[65536];
  ssize_t total = 0, n;
  t0 = now_ms();
  while ((n = send(sv[0], big, sizeof big, 0)) > 0)
    total += n;
  printf("timeo: send filled, then -1 %s\n", errname(errno));
  FACT("timeo: waited at least 140 ms", now_ms() - t0 >= 140);
  FACT("timeo: some sent", total > 0);
  close(sv[0]);
  close(sv[1]);

  /* Signals: a timed wait is never restarted (EINTR), an untimed one is
   * under SA_RESTART. A periodic timer keeps interrupting until the call
   * returns, so the order of events does not matter. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  struct timeval tenmin = {600, 0};
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tenmin, sizeof tenmin);
  struct itimerval it = {{0, 20000}, {0, 20000}};
  setitimer(ITIMER_REAL, &it, NULL);
  R("eintr: timed recv, SA_RESTART", recv(sv[0], &c, 1, 0));
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &zero, sizeof zero);

  int ap[2];
  pipe(ap);
  g_alarm_pipe = ap[1];
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    /* Send once the parent has taken three signals. */
    char b[3];
    size_t got = 0;
    while (got < 3) {
      ssize_t k = read(ap[0], b, 3 - got);
      if (k <= 0)
        _exit(3);
      got += (size_t)k;
    }
    send(sv[1], "R", 1, 0);
    _exit(0);
  }
  g_alarms = 0;
  setitimer(ITIMER_REAL, &it, NULL);
  c = 0;
  R("eintr: untimed recv, SA_RESTART", recv(sv[0], &c, 1, 0));
  setitimer(ITIMER_REAL, &off, NULL);
  printf("eintr: got %c\n", c);
  FACT("eintr: signals taken", g_alarms >= 3);
  g_alarm_pipe = -1;
  wait_child("eintr", pid);
  close(ap[0]);
  close(ap[1]);
  signal(SIGALRM, SIG_IGN);
  close(sv[0]);
  close(sv[1]);
}

/* ---- buffers, ioctls, odds ------------------------------------------- */

static void buffers(void) {
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  int small = 4096;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  set_nonblock(sv[0]);
  static char buf[1024];
  ssize_t total = 0, n;
  while ((n = send(sv[0], buf, sizeof buf, 0)) > 0)
    total += n;
  printf("sndbuf: filled, then -1 %s\n", errname(errno));
  FACT("sndbuf: between 1 KiB and 16 KiB queued",
       total >= 1024 && total <= 16384);
  int q = -1;
  ioctl(sv[1], FIONREAD, &q);
  FACT("sndbuf: FIONREAD is what was queued", q == total);
  ioctl(sv[0], TIOCOUTQ, &q);
  FACT("sndbuf: SIOCOUTQ above 0", q > 0);
  /* A blocked writer wakes when the reader drains. */
  int fl = fcntl(sv[0], F_GETFL);
  fcntl(sv[0], F_SETFL, fl & ~O_NONBLOCK);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    static char big[100000];
    memset(big, 'w', sizeof big);
    _exit(send(sv[0], big, sizeof big, 0) == (ssize_t)sizeof big ? 0 : 4);
  }
  static char sink[8192];
  ssize_t want = total + 100000, got = 0;
  while (got < want && (n = recv(sv[1], sink, sizeof sink, 0)) > 0)
    got += n;
  FACT("sndbuf: everything arrived", got == want);
  wait_child("sndbuf", pid);
  close(sv[0]);
  close(sv[1]);

  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  q = -1;
  R("dgram: FIONREAD empty", ioctl(sv[1], FIONREAD, &q));
  printf("dgram: FIONREAD %d\n", q);
  send(sv[0], "0123456789", 10, 0);
  send(sv[0], "01234567890123456789", 20, 0);
  ioctl(sv[1], FIONREAD, &q);
  printf("dgram: FIONREAD %d (the next datagram)\n", q);
  int f = open("data.txt", O_RDONLY);
  recv(sv[1], buf, sizeof buf, 0);
  send_fds(sv[0], "with-fd", &f, 1, NULL);
  recv(sv[1], buf, sizeof buf, 0);
  ioctl(sv[1], FIONREAD, &q);
  printf("dgram: FIONREAD %d (a datagram with a file)\n", q);
  struct rx r = recv_fds(sv[1], 64, 0);
  show_rx("dgram: its recvmsg", &r);
  close_rx(&r);
  R("dgram: MSG_OOB send", send(sv[0], "x", 1, MSG_OOB));
  R("dgram: MSG_OOB recv", recv(sv[1], buf, 1, MSG_OOB | MSG_DONTWAIT));
  close(sv[0]);
  close(sv[1]);
  socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
  R("seqpacket: MSG_OOB send", send(sv[0], "x", 1, MSG_OOB));
  R("seqpacket: MSG_OOB recv", recv(sv[1], buf, 1, MSG_OOB | MSG_DONTWAIT));
  /* A bad buffer on an empty socket: EAGAIN first. */
  R("badbuf: recv empty", recv(sv[1], (void *)8, 10, MSG_DONTWAIT));
  send(sv[0], "y", 1, 0);
  R("badbuf: recv with data", recv(sv[1], (void *)8, 10, MSG_DONTWAIT));
  close(sv[0]);
  close(sv[1]);
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  R("badbuf: stream recv empty", recv(sv[1], (void *)8, 10, MSG_DONTWAIT));
  struct iovec iov = {.iov_base = (void *)8, .iov_len = 10};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  R("badbuf: recvmsg empty", recvmsg(sv[1], &m, MSG_DONTWAIT));
  send(sv[0], "zz", 2, 0);
  R("badbuf: stream recv with data", recv(sv[1], (void *)8, 10, MSG_DONTWAIT));
  R("badbuf: the bytes stay", recv(sv[1], buf, 10, MSG_DONTWAIT));
  close(f);
  close(sv[0]);
  close(sv[1]);
}

/* ---- sendfile and splice --------------------------------------------- */

static void zero_copy(void) {
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  int f = open("data.txt", O_RDONLY);
  off_t off = 4;
  R("sendfile: file to socket", sendfile(sv[0], f, &off, 6));
  printf("sendfile: offset now %ld\n", (long)off);
  char buf[64] = {0};
  R("sendfile: received", recv(sv[1], buf, sizeof buf, 0));
  printf("sendfile: \"%s\"\n", buf);
  R("sendfile: whole file from position", sendfile(sv[0], f, NULL, 100));
  memset(buf, 0, sizeof buf);
  recv(sv[1], buf, sizeof buf, 0);
  printf("sendfile: \"%s\"\n", buf);

  int p[2];
  pipe(p);
  write(p[1], "pipe->sock", 10);
  R("splice: pipe to socket", splice(p[0], NULL, sv[0], NULL, 10, 0));
  memset(buf, 0, sizeof buf);
  recv(sv[1], buf, sizeof buf, 0);
  printf("splice: \"%s\"\n", buf);
  send(sv[1], "sock->pipe", 10, 0);
  R("splice: socket to pipe", splice(sv[0], NULL, p[1], NULL, 64, 0));
  memset(buf, 0, sizeof buf);
  read(p[0], buf, sizeof buf);
  printf("splice: \"%s\"\n", buf);
  R("splice: socket to socket", splice(sv[0], NULL, sv[1], NULL, 10, 0));
  off_t o = 0;
  R("splice: offset on a socket", splice(p[0], NULL, sv[0], &o, 10, 0));
  set_nonblock(sv[0]);
  R("splice: empty socket, SPLICE_F_NONBLOCK",
    splice(sv[0], NULL, p[1], NULL, 10, SPLICE_F_NONBLOCK));
  close(p[0]);
  close(p[1]);
  close(f);
  close(sv[0]);
  close(sv[1]);
}

int main(int argc, char **argv) {
  (void)argc;
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  /* The binary by its absolute path, before leaving the cwd. */
  char self[4096];
  if (!realpath(argv[0], self))
    snprintf(self, sizeof self, "%s", argv[0]);
  enter_workdir("unix_scm");
  across_fork(self);
  cloexec_and_ctrunc();
  too_many_refs();
  stream_cuts();
  inflight();
  creds();
  named_and_inet();
  mmsg();
  timeouts();
  buffers();
  zero_copy();
  return 0;
}
