/* Netlink sockets and the interface ioctls, for the Linux shim: the
 * guest-memory side of core/netlink.c and core/netif.c. sys_net.c hands
 * a call on an AF_NETLINK socket here (NETLINK_HOOK), and sys_ioctl the
 * SIOCGIF* requests of any socket. */
#include "shim.h"

#define NL_MAX_RW LINUX_MAX_RW_COUNT
#define NL_UIO_MAXIOV 1024

long netlink_socket(int type, int protocol) {
  return moat_netlink_socket(type, protocol);
}

bool netlink_fd(uint64_t fd) {
  return moat_netlink_fd((int)fd) == 1;
}

/* A guest sockaddr_nl (or NULL) into addr; *len its length. */
static long addr_in(uint64_t gaddr, uint64_t glen,
                    struct linux_sockaddr_nl *addr, uint32_t *len) {
  *len = 0;
  if (!gaddr)
    return 0;
  if ((int)glen < 0 || (int)glen > 128)
    return -LINUX_EINVAL;
  memset(addr, 0, sizeof(*addr));
  size_t n = MIN((size_t)glen, sizeof(*addr));
  if (!user_buf_ok(gaddr, (size_t)glen, LINUX_PROT_READ) ||
      user_read(addr, gaddr, n) < 0)
    return -LINUX_EFAULT;
  *len = (uint32_t)glen;
  return 0;
}

/* The sender's address out to a guest (addr, *ulen), as
 * move_addr_to_user: at most the guest's length, the full length back. */
static long addr_out(uint64_t gaddr, uint64_t gulen,
                     const struct linux_sockaddr_nl *addr, uint32_t len) {
  int32_t ulen;
  if (user_read(&ulen, gulen, sizeof(ulen)) < 0)
    return -LINUX_EFAULT;
  if (ulen < 0)
    return -LINUX_EINVAL;
  uint32_t n = MIN((uint32_t)ulen, len);
  if (n && user_write(gaddr, addr, n) < 0)
    return -LINUX_EFAULT;
  ulen = (int32_t)len;
  return user_write(gulen, &ulen, sizeof(ulen)) < 0 ? -LINUX_EFAULT : 0;
}

long netlink_sendto(SYSARGS) {
  (void)regs;
  size_t len = MIN((size_t)a2, NL_MAX_RW);
  if (!user_buf_ok(a1, len, LINUX_PROT_READ))
    return -LINUX_EFAULT;
  struct linux_sockaddr_nl sa;
  uint32_t salen;
  long rc = addr_in(a4, a5, &sa, &salen);
  if (rc < 0)
    return rc;
  struct linux_iovec iov = {.iov_base = (void *)(uintptr_t)a1, .iov_len = len};
  return moat_netlink_send((int)a0, &iov, 1, (int)a3, a4 ? &sa : NULL, salen);
}

long netlink_recvfrom(SYSARGS) {
  (void)regs;
  size_t len = MIN((size_t)a2, NL_MAX_RW);
  if (!user_buf_ok(a1, len, LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  struct linux_iovec iov = {.iov_base = (void *)(uintptr_t)a1, .iov_len = len};
  struct linux_sockaddr_nl sa;
  uint32_t salen = sizeof(sa);
  int mf;
  long rc = restartable(
      moat_netlink_recv((int)a0, &iov, 1, (int)a3, &mf, &sa, &salen));
  if (rc >= 0 && a4 && a5) {
    long e = addr_out(a4, a5, &sa, salen);
    if (e < 0)
      return e;
  }
  return rc;
}

static long msg_in(int fd, uint64_t gmsg, int prot, struct linux_msghdr *m,
                   struct linux_iovec **iov) {
  *iov = NULL;
  if (user_read(m, gmsg, sizeof(*m)) < 0)
    return -LINUX_EFAULT;
  if (m->msg_iovlen > NL_UIO_MAXIOV)
    return -LINUX_EMSGSIZE;
  return shim_iov_import(fd, m->msg_iov, (int64_t)m->msg_iovlen, prot, iov);
}

long netlink_sendmsg(SYSARGS) {
  (void)regs, (void)a3, (void)a4, (void)a5;
  struct linux_msghdr m;
  struct linux_iovec *iov;
  long rc = msg_in((int)a0, a1, LINUX_PROT_READ, &m, &iov);
  if (rc < 0)
    return rc;
  struct linux_sockaddr_nl sa;
  uint32_t salen;
  rc = addr_in(m.msg_name, m.msg_namelen, &sa, &salen);
  if (rc == 0)
    rc = moat_netlink_send((int)a0, iov, (int)m.msg_iovlen, (int)a2,
                           m.msg_name ? &sa : NULL, salen);
  kfree(iov);
  return rc;
}

long netlink_recvmsg(SYSARGS) {
  (void)regs, (void)a3, (void)a4, (void)a5;
  struct linux_msghdr m;
  struct linux_iovec *iov;
  long rc = msg_in((int)a0, a1, LINUX_PROT_WRITE, &m, &iov);
  if (rc < 0)
    return rc;
  struct linux_sockaddr_nl sa;
  uint32_t salen = sizeof(sa);
  int mf = 0;
  rc = restartable(moat_netlink_recv((int)a0, iov, (int)m.msg_iovlen, (int)a2,
                                     &mf, &sa, &salen));
  kfree(iov);
  if (rc < 0)
    return rc;
  m.msg_flags = mf | ((int)a2 & LINUX_MSG_CMSG_CLOEXEC);
  m.msg_controllen = 0;
  if (m.msg_name) {
    if ((int32_t)m.msg_namelen < 0)
      return -LINUX_EINVAL;
    uint32_t n = MIN(m.msg_namelen, salen);
    if (n && user_write(m.msg_name, &sa, n) < 0)
      return -LINUX_EFAULT;
    m.msg_namelen = salen;
  }
  if (user_write(a1, &m, sizeof(m)) < 0)
    return -LINUX_EFAULT;
  return rc;
}

long netlink_bind(SYSARGS) {
  (void)regs, (void)a3, (void)a4, (void)a5;
  struct linux_sockaddr_nl sa;
  uint32_t salen;
  long rc = addr_in(a1, a2, &sa, &salen);
  if (rc < 0)
    return rc;
  return moat_netlink_bind((int)a0, &sa, a1 ? salen : 0);
}

long netlink_connect(SYSARGS) {
  (void)regs, (void)a3, (void)a4, (void)a5;
  struct linux_sockaddr_nl sa;
  uint32_t salen;
  long rc = addr_in(a1, a2, &sa, &salen);
  if (rc < 0)
    return rc;
  return moat_netlink_connect((int)a0, &sa, a1 ? salen : 0);
}

long netlink_name(SYSARGS, bool peer) {
  (void)regs, (void)a3, (void)a4, (void)a5;
  struct linux_sockaddr_nl sa;
  int32_t ulen;
  if (user_read(&ulen, a2, sizeof(ulen)) < 0)
    return -LINUX_EFAULT;
  uint32_t n = ulen < 0 ? (uint32_t)ulen : sizeof(sa);
  long rc = moat_netlink_name((int)a0, peer, &sa, &n);
  if (rc < 0)
    return rc;
  return addr_out(a1, a2, &sa, n);
}

/* What Linux answers for calls a netlink socket does not support. */
long netlink_unsupported(int fd) {
  (void)fd;
  return -LINUX_EOPNOTSUPP;
}

/* The family of the socket at fd, or -ENOTSOCK / -EBADF. */
static long sock_domain(int fd) {
  int v;
  uint32_t len = sizeof(v);
  if (moat_netlink_fd(fd) == 1)
    return LINUX_AF_NETLINK;
  long rc = moat_getsockopt(fd, LINUX_SOL_SOCKET, LINUX_SO_DOMAIN, &v, &len);
  return rc < 0 ? rc : v;
}

/* SIOCGIFCONF: one struct ifreq per IPv4 address, only whole ones; with
 * a NULL buffer, the length all of them need (Linux's dev_ifconf). */
static long ifconf(uint64_t arg) {
  struct linux_ifconf ifc;
  if (user_read(&ifc, arg, sizeof(ifc)) < 0)
    return -LINUX_EFAULT;
  int32_t done = 0;
  for (int i = 0; i < g_moat_nnetifs; i++) {
    const struct moat_netif *nif = &g_moat_netifs[i];
    if (!nif->inet_prefix)
      continue;
    if (ifc.ifc_buf) {
      if (ifc.ifc_len - done < (int32_t)sizeof(struct linux_ifreq))
        break;
      struct linux_ifreq r;
      memset(&r, 0, sizeof(r));
      rt_strlcpy(r.ifr_name, nif->name, sizeof(r.ifr_name));
      r.u.addr.family = LINUX_AF_INET;
      memcpy(r.u.addr.data + 2, nif->inet, 4);
      if (user_write(ifc.ifc_buf + (uint64_t)done, &r, sizeof(r)) < 0)
        return -LINUX_EFAULT;
    }
    done += (int32_t)sizeof(struct linux_ifreq);
  }
  ifc.ifc_len = done;
  return user_write(arg, &ifc.ifc_len, sizeof(ifc.ifc_len)) < 0 ? -LINUX_EFAULT
                                                                : 0;
}

/* A SIOCGIF* request on fd: -ENOTTY when fd is no socket (as Linux for
 * any other file), else the interface's answer. */
long netif_ioctl(int fd, unsigned request, uint64_t arg) {
  long domain = sock_domain(fd);
  if (domain == -LINUX_ENOTSOCK)
    return -LINUX_ENOTTY;
  if (domain < 0)
    return domain;
  if (request == LINUX_SIOCGIFCONF)
    return ifconf(arg);
  struct linux_ifreq ifr;
  if (user_read(&ifr, arg, sizeof(ifr)) < 0)
    return -LINUX_EFAULT;
  long rc = moat_netif_ioctl((int)domain, request, &ifr);
  if (rc < 0)
    return rc;
  return user_write(arg, &ifr, sizeof(ifr)) < 0 ? -LINUX_EFAULT : 0;
}
