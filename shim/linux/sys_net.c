/* Network syscalls of the Linux shim: each handler checks the guest's
 * pointers, copies message headers, iovecs, addresses and options in and
 * out, and calls the core's socket API (core/socket.c).
 *
 * What exists so far is AF_UNIX socketpair (docs/sockets.md). socket()
 * still answers as a kernel built without any address family would, so
 * programs that probe for a service (nscd, syslog) fall back quietly;
 * bind, connect, listen and accept on a socket are EOPNOTSUPP until named
 * sockets come. */
#include "shim.h"

#define SHIM_SOCK_TYPE_MASK 0xf
#define SHIM_AF_MAX 46
#define SHIM_MAX_RW 0x7ffff000ul
#define SHIM_UIO_MAXIOV 1024
#define SHIM_SOCKADDR_MAX 128 /* sizeof(struct sockaddr_storage) */
#define SHIM_OPT_MAX 64

long sys_socket(SYSARGS) {
  int family = (int)a0;
  if (family < 0 || family >= SHIM_AF_MAX)
    return -LINUX_EAFNOSUPPORT;
  if (((int)a1 & SHIM_SOCK_TYPE_MASK) == 0)
    return -LINUX_EINVAL;
  if (family == LINUX_AF_NETLINK)
    return netlink_socket((int)a1, (int)a2); /* sys_netlink.c */
  return -LINUX_EAFNOSUPPORT;
}

long sys_socketpair(SYSARGS) {
  int sv[2];
  if (!user_buf_ok(a3, sizeof(sv), LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  long rc = moat_socketpair((int)a0, (int)a1, (int)a2, sv);
  if (rc < 0)
    return rc;
  if (user_write(a3, sv, sizeof(sv)) < 0) {
    moat_close(sv[0]);
    moat_close(sv[1]);
    return -LINUX_EFAULT;
  }
  return 0;
}

/* 0 for a socket, else -EBADF or -ENOTSOCK. */
static long sock_fd(int fd) {
  int v;
  uint32_t len = sizeof(v);
  return moat_getsockopt(fd, LINUX_SOL_SOCKET, LINUX_SO_TYPE, &v, &len);
}

/* A socket address argument: its length must fit a sockaddr_storage and
 * it must be readable. true when there is one (a NULL or empty address is
 * none). */
static long addr_arg(uint64_t addr, uint64_t addrlen, bool *has) {
  *has = false;
  if (!addr)
    return 0;
  if ((int)addrlen < 0 || (int)addrlen > SHIM_SOCKADDR_MAX)
    return -LINUX_EINVAL;
  if (!user_buf_ok(addr, (size_t)(int)addrlen, LINUX_PROT_READ))
    return -LINUX_EFAULT;
  *has = (int)addrlen > 0;
  return 0;
}

/* The peer address of a receive: unnamed sockets have none, so the
 * length becomes 0 (Linux's move_addr_to_user with klen 0). */
static long put_no_addr(uint64_t ulen) {
  int32_t len;
  if (user_read(&len, ulen, sizeof(len)) < 0)
    return -LINUX_EFAULT;
  if (len < 0)
    return -LINUX_EINVAL;
  len = 0;
  return user_write(ulen, &len, sizeof(len)) < 0 ? -LINUX_EFAULT : 0;
}

long sys_sendto(SYSARGS) {
  NETLINK_HOOK(netlink_sendto(regs, a0, a1, a2, a3, a4, a5));
  int fd = (int)a0;
  size_t len = MIN((size_t)a2, SHIM_MAX_RW);
  bool has;
  long rc = sock_fd(fd);
  if (rc < 0)
    return rc;
  if (!user_buf_ok(a1, len, LINUX_PROT_READ))
    return -LINUX_EFAULT;
  rc = addr_arg(a4, a5, &has);
  if (rc < 0)
    return rc;
  struct linux_iovec iov = {.iov_base = (void *)(uintptr_t)a1, .iov_len = len};
  return restartable(moat_sock_send(fd, &iov, 1, (int)a3, has));
}

long sys_recvfrom(SYSARGS) {
  NETLINK_HOOK(netlink_recvfrom(regs, a0, a1, a2, a3, a4, a5));
  int fd = (int)a0;
  size_t len = MIN((size_t)a2, SHIM_MAX_RW);
  long rc = sock_fd(fd);
  if (rc < 0)
    return rc;
  if (!user_buf_ok(a1, len, LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  struct linux_iovec iov = {.iov_base = (void *)(uintptr_t)a1, .iov_len = len};
  int mf;
  rc = restartable(moat_sock_recv(fd, &iov, 1, (int)a3, &mf));
  if (rc >= 0 && a4 && a5) {
    long e = put_no_addr(a5);
    if (e < 0)
      return e;
  }
  return rc;
}

/* Read a guest msghdr and its iovecs (buffers checked for prot). */
static long msg_import(int fd, uint64_t gmsg, int prot, struct linux_msghdr *m,
                       struct linux_iovec **iov) {
  *iov = NULL;
  long rc = sock_fd(fd);
  if (rc < 0)
    return rc;
  if (user_read(m, gmsg, sizeof(*m)) < 0)
    return -LINUX_EFAULT;
  if (m->msg_iovlen > SHIM_UIO_MAXIOV)
    return -LINUX_EMSGSIZE;
  return shim_iov_import(fd, m->msg_iov, (int64_t)m->msg_iovlen, prot, iov);
}

long sys_sendmsg(SYSARGS) {
  NETLINK_HOOK(netlink_sendmsg(regs, a0, a1, a2, a3, a4, a5));
  int fd = (int)a0;
  struct linux_msghdr m;
  struct linux_iovec *iov;
  bool has = false;
  long rc = msg_import(fd, a1, LINUX_PROT_READ, &m, &iov);
  if (rc < 0)
    return rc;
  if (m.msg_name)
    rc = addr_arg(m.msg_name, m.msg_namelen, &has);
  /* Control messages (SCM_RIGHTS, SCM_CREDENTIALS) are not carried yet:
   * refusing them beats dropping a passed fd silently. A buffer shorter
   * than one cmsghdr holds none, as on Linux. */
  if (rc == 0 && m.msg_control && m.msg_controllen >= 16)
    rc = -LINUX_EOPNOTSUPP;
  if (rc == 0)
    rc = restartable(moat_sock_send(fd, iov, (int)m.msg_iovlen, (int)a2, has));
  kfree(iov);
  return rc;
}

long sys_recvmsg(SYSARGS) {
  NETLINK_HOOK(netlink_recvmsg(regs, a0, a1, a2, a3, a4, a5));
  int fd = (int)a0;
  struct linux_msghdr m;
  struct linux_iovec *iov;
  long rc = msg_import(fd, a1, LINUX_PROT_WRITE, &m, &iov);
  if (rc < 0)
    return rc;
  int mf = 0;
  rc = restartable(moat_sock_recv(fd, iov, (int)m.msg_iovlen, (int)a2, &mf));
  kfree(iov);
  if (rc < 0)
    return rc;
  /* No peer name (unnamed sockets), no control data; msg_flags keeps
   * MSG_CMSG_CLOEXEC from the call's flags, as Linux does. */
  m.msg_flags = mf | ((int)a2 & LINUX_MSG_CMSG_CLOEXEC);
  m.msg_controllen = 0;
  if (m.msg_name) {
    if ((int32_t)m.msg_namelen < 0)
      return -LINUX_EINVAL;
    m.msg_namelen = 0;
  }
  if (user_write(a1, &m, sizeof(m)) < 0)
    return -LINUX_EFAULT;
  return rc;
}

long sys_shutdown(SYSARGS) {
  NETLINK_HOOK(netlink_unsupported((int)a0));
  return moat_shutdown((int)a0, (int)a1);
}

long sys_getsockopt(SYSARGS) {
  NETLINK_HOOK(netlink_getsockopt(regs, a0, a1, a2, a3, a4, a5));
  uint8_t val[SHIM_OPT_MAX];
  int32_t len;
  if (user_read(&len, a4, sizeof(len)) < 0)
    return -LINUX_EFAULT;
  uint32_t n = len < 0 ? (uint32_t)len : MIN((uint32_t)len, SHIM_OPT_MAX);
  memset(val, 0, sizeof(val));
  long rc = moat_getsockopt((int)a0, (int)a1, (int)a2, val, &n);
  if (rc < 0)
    return rc;
  if (n && user_write(a3, val, n) < 0)
    return -LINUX_EFAULT;
  len = (int32_t)n;
  return user_write(a4, &len, sizeof(len)) < 0 ? -LINUX_EFAULT : 0;
}

long sys_setsockopt(SYSARGS) {
  NETLINK_HOOK(netlink_setsockopt(regs, a0, a1, a2, a3, a4, a5));
  uint8_t val[SHIM_OPT_MAX];
  int len = (int)a4;
  long rc = sock_fd((int)a0);
  if (rc < 0)
    return rc;
  if (len < 0)
    return -LINUX_EINVAL;
  size_t n = MIN((size_t)len, sizeof(val));
  if (n && user_read(val, a3, n) < 0)
    return -LINUX_EFAULT;
  return moat_setsockopt((int)a0, (int)a1, (int)a2, val, (uint32_t)len);
}

static long sock_name(SYSARGS, bool peer) {
  (void)regs, (void)a3, (void)a4, (void)a5;
  uint8_t addr[SHIM_SOCKADDR_MAX];
  int32_t len;
  long rc = sock_fd((int)a0);
  if (rc < 0)
    return rc;
  if (user_read(&len, a2, sizeof(len)) < 0)
    return -LINUX_EFAULT;
  uint32_t n = len < 0 ? (uint32_t)len : MIN((uint32_t)len, sizeof(addr));
  uint32_t want = n;
  rc = moat_sock_name((int)a0, peer, addr, &n);
  if (rc < 0)
    return rc;
  if (MIN(want, n) && user_write(a1, addr, MIN(want, n)) < 0)
    return -LINUX_EFAULT;
  len = (int32_t)n;
  return user_write(a2, &len, sizeof(len)) < 0 ? -LINUX_EFAULT : 0;
}

long sys_getsockname(SYSARGS) {
  NETLINK_HOOK(netlink_name(regs, a0, a1, a2, a3, a4, a5, false));
  return sock_name(regs, a0, a1, a2, a3, a4, a5, false);
}

long sys_getpeername(SYSARGS) {
  NETLINK_HOOK(netlink_name(regs, a0, a1, a2, a3, a4, a5, true));
  return sock_name(regs, a0, a1, a2, a3, a4, a5, true);
}

/* Named sockets are the next step: on a socket these fail clearly. */
static long not_yet(int fd) {
  long rc = sock_fd(fd);
  return rc < 0 ? rc : -LINUX_EOPNOTSUPP;
}

long sys_bind(SYSARGS) {
  NETLINK_HOOK(netlink_bind(regs, a0, a1, a2, a3, a4, a5));
  return not_yet((int)a0);
}

long sys_connect(SYSARGS) {
  NETLINK_HOOK(netlink_connect(regs, a0, a1, a2, a3, a4, a5));
  return not_yet((int)a0);
}

long sys_listen(SYSARGS) {
  NETLINK_HOOK(netlink_unsupported((int)a0));
  return not_yet((int)a0);
}

long sys_accept(SYSARGS) {
  NETLINK_HOOK(netlink_unsupported((int)a0));
  return not_yet((int)a0);
}

long sys_accept4(SYSARGS) {
  NETLINK_HOOK(netlink_unsupported((int)a0));
  return not_yet((int)a0);
}
