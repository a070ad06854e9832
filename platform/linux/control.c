/* The control channel (docs/oci.md, "exec and signals"): a SOCK_SEQPACKET
 * socketpair between an OCI container's supervisor, outside, and the
 * sandbox's exec server, inside. The supervisor sends fixed-layout
 * records (a signal for the container's first process or for a process
 * started from outside, or an exec request with three host descriptors,
 * the caller's standard streams); the server answers with records. The
 * sandbox's end is kept open by lockdown; the filter pins sendmsg and
 * recvmsg to it, and lets a process put a host descriptor it already
 * holds at 0, 1 or 2 (dup3): the exec'd process's standard streams.
 * Nothing of this exists outside an OCI container (cmd/moat/oci.c sets
 * it up at create). */
#include <fcntl.h>
#include <sys/socket.h>

#include "linux_platform.h"
#include "plat_linux.h"

static int g_control = -1;

void plat_linux_set_control(int fd) {
  g_control = fd;
}

int plat_linux_control_fd(void) {
  return g_control;
}

long plat_linux_control_recv(void *buf, size_t len, int fds[3], int *nfds) {
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(3 * sizeof(int))];
  } cm;
  *nfds = 0;
  if (g_control < 0)
    return -LINUX_EBADF;
  for (size_t i = 0; i < sizeof(cm.buf); i++)
    cm.buf[i] = 0;
  struct iovec iov = {buf, len};
  struct msghdr m = {.msg_iov = &iov,
                     .msg_iovlen = 1,
                     .msg_control = cm.buf,
                     .msg_controllen = sizeof(cm.buf)};
  long r;
  do
    r = hsys3(HNR_recvmsg, g_control, &m, MSG_CMSG_CLOEXEC);
  while (r == -LINUX_EINTR);
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
        c->cmsg_len < CMSG_LEN(0))
      continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int *p = (int *)(void *)CMSG_DATA(c);
    for (size_t i = 0; i < n; i++) {
      if (*nfds < 3 && p[i] >= 3)
        fds[(*nfds)++] = p[i];
      else if (p[i] >= 3)
        hsys1(HNR_close, p[i]);
    }
  }
  /* A cut record (MSG_TRUNC) is no record. */
  if (r >= 0 && (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
    for (int i = 0; i < *nfds; i++)
      hsys1(HNR_close, fds[i]);
    *nfds = 0;
    return -LINUX_EMSGSIZE;
  }
  return r;
}

long plat_linux_control_send(const void *buf, size_t len) {
  if (g_control < 0)
    return -LINUX_EBADF;
  struct iovec iov = {(void *)buf, len};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  long r;
  do
    r = hsys3(HNR_sendmsg, g_control, &m, MSG_NOSIGNAL);
  while (r == -LINUX_EINTR);
  return r;
}

int plat_linux_control_wait(int64_t timeout_ns) {
  struct {
    int fd;
    short events, revents;
  } pfd = {g_control, 0x1 /* POLLIN */, 0};
  struct timespec ts = {timeout_ns / 1000000000, timeout_ns % 1000000000};
  long r = hsys4(HNR_ppoll, &pfd, 1, &ts, 0);
  return r < 0 ? (int)r : r > 0;
}

void plat_linux_host_close(int fd) {
  if (fd >= 3)
    hsys1(HNR_close, fd);
}

int plat_linux_stdio_take(const int fds[3]) {
  for (int i = 0; i < 3; i++) {
    long r = hsys3(HNR_dup3, fds[i], i, 0);
    if (r < 0)
      return (int)r;
  }
  for (int i = 0; i < 3; i++)
    hsys1(HNR_close, fds[i]);
  return 0;
}
