/* Network syscalls of the Linux shim: each handler checks the guest's
 * pointers, copies message headers, iovecs, addresses and options in and
 * out, and calls the core's socket API (core/socket.c).
 *
 * AF_UNIX, and AF_INET/AF_INET6 over loopback (core/sock_conn.c),
 * AF_NETLINK (sys_netlink.c); other families are EAFNOSUPPORT
 * (docs/sockets.md). */
#include "shim.h"

#define SHIM_SOCK_TYPE_MASK 0xf
#define SHIM_AF_MAX 46
#define SHIM_MAX_RW LINUX_MAX_RW_COUNT
#define SHIM_UIO_MAXIOV 1024
#define SHIM_SOCKADDR_MAX 128 /* sizeof(struct sockaddr_storage) */
#define SHIM_OPT_MAX 256      /* struct tcp_info fits */

long sys_socket(SYSARGS) {
  int family = (int)a0;
  if (family < 0 || family >= SHIM_AF_MAX)
    return -LINUX_EAFNOSUPPORT;
  if (family == LINUX_AF_NETLINK) {
    if (((int)a1 & SHIM_SOCK_TYPE_MASK) == 0)
      return -LINUX_EINVAL;
    return netlink_socket((int)a1, (int)a2); /* sys_netlink.c */
  }
  return moat_socket(family, (int)a1, (int)a2);
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

/* A socket address argument copied in (Linux's move_addr_to_kernel):
 * its length must fit a sockaddr_storage, its bytes be readable. A NULL
 * address is none (*len 0). */
static long addr_in(uint64_t addr, uint64_t addrlen, uint8_t *buf,
                    uint32_t *len) {
  *len = 0;
  if (!addr)
    return 0;
  if ((int)addrlen < 0 || (int)addrlen > SHIM_SOCKADDR_MAX)
    return -LINUX_EINVAL;
  if (addrlen && user_read(buf, addr, (size_t)(int)addrlen) < 0)
    return -LINUX_EFAULT;
  *len = (uint32_t)(int)addrlen;
  return 0;
}

/* The length a caller offers for an address out: -EFAULT, -EINVAL for a
 * negative one. */
static long addr_room(uint64_t ulen, uint32_t *room) {
  int32_t len;
  if (user_read(&len, ulen, sizeof(len)) < 0)
    return -LINUX_EFAULT;
  if (len < 0)
    return -LINUX_EINVAL;
  *room = (uint32_t)MIN(len, SHIM_SOCKADDR_MAX);
  return 0;
}

/* An address out (move_addr_to_user): min(room, klen) bytes, then klen. */
static long addr_out(uint64_t uaddr, uint64_t ulen, const uint8_t *a,
                     uint32_t room, uint32_t klen) {
  uint32_t n = MIN(room, klen);
  if (n && user_write(uaddr, a, n) < 0)
    return -LINUX_EFAULT;
  int32_t l = (int32_t)klen;
  return user_write(ulen, &l, sizeof(l)) < 0 ? -LINUX_EFAULT : 0;
}

long sys_sendto(SYSARGS) {
  NETLINK_HOOK(netlink_sendto(regs, a0, a1, a2, a3, a4, a5));
  int fd = (int)a0;
  size_t len = MIN((size_t)a2, SHIM_MAX_RW);
  uint8_t addr[SHIM_SOCKADDR_MAX];
  uint32_t alen;
  long rc = sock_fd(fd);
  if (rc < 0)
    return rc;
  if (!user_buf_ok(a1, len, LINUX_PROT_READ))
    return -LINUX_EFAULT;
  rc = addr_in(a4, a5, addr, &alen);
  if (rc < 0)
    return rc;
  struct linux_iovec iov = {.iov_base = (void *)(uintptr_t)a1, .iov_len = len};
  return restartable(
      moat_sock_send(fd, &iov, 1, (int)a3, alen ? addr : NULL, alen, NULL));
}

long sys_recvfrom(SYSARGS) {
  NETLINK_HOOK(netlink_recvfrom(regs, a0, a1, a2, a3, a4, a5));
  int fd = (int)a0;
  size_t len = MIN((size_t)a2, SHIM_MAX_RW);
  int flags = (int)a3;
  long rc = sock_fd(fd);
  if (rc < 0)
    return rc;
  /* A buffer that cannot be written is found where the bytes would be
   * copied: an empty non-blocking socket still says EAGAIN. */
  if (!user_buf_ok(a1, len, LINUX_PROT_WRITE))
    flags = (int)((unsigned)flags | MOAT_MSG_BADBUF);
  struct linux_iovec iov = {.iov_base = (void *)(uintptr_t)a1, .iov_len = len};
  int mf;
  uint8_t addr[SHIM_SOCKADDR_MAX];
  uint32_t room = 0, alen = sizeof(addr);
  rc = restartable(
      moat_sock_recv(fd, &iov, 1, flags, &mf, addr, a4 ? &alen : NULL, NULL));
  if (rc >= 0 && a4) {
    long e = addr_room(a5, &room);
    if (e == 0)
      e = addr_out(a4, a5, addr, room, alen);
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

#define CMSG_HDR sizeof(struct linux_cmsghdr)
#define CMSG_ALIGN8(n) (((n) + 7) & ~(uint64_t)7)
#define SHIM_OPTMEM_MAX 131072 /* net.core.optmem_max */

/* The control messages of a sendmsg into ctl, as Linux's __scm_send
 * reads them: every header must fit what is left of the buffer, other
 * levels are skipped, SCM_RIGHTS messages add up to SCM_MAX_FD
 * descriptors, SCM_CREDENTIALS has exactly one struct ucred, anything
 * else at SOL_SOCKET is EINVAL. */
static long cmsg_import(const struct linux_msghdr *m,
                        struct moat_sock_ctl *ctl) {
  uint64_t clen = m->msg_controllen;
  ctl->nfds = 0;
  ctl->has_creds = false;
  if (clen == 0)
    return 0;
  if (clen > INT32_MAX || clen > SHIM_OPTMEM_MAX)
    return -LINUX_ENOBUFS;
  uint8_t *buf = kmalloc(clen);
  if (!buf)
    return -LINUX_ENOBUFS;
  long rc = 0;
  if (user_read(buf, m->msg_control, clen) < 0)
    rc = -LINUX_EFAULT;
  for (uint64_t off = 0; rc == 0 && off + CMSG_HDR <= clen;) {
    struct linux_cmsghdr h;
    memcpy(&h, buf + off, sizeof(h));
    if (h.cmsg_len < CMSG_HDR || h.cmsg_len > clen - off) {
      rc = -LINUX_EINVAL;
      break;
    }
    if (h.cmsg_level == LINUX_SOL_SOCKET) {
      if (h.cmsg_type == LINUX_SCM_RIGHTS) {
        uint64_t num = (h.cmsg_len - CMSG_HDR) / sizeof(int);
        if (num > LINUX_SCM_MAX_FD ||
            (uint64_t)ctl->nfds + num > LINUX_SCM_MAX_FD) {
          rc = -LINUX_EINVAL;
          break;
        }
        memcpy(ctl->fds + ctl->nfds, buf + off + CMSG_HDR, num * sizeof(int));
        ctl->nfds += (int)num;
      } else if (h.cmsg_type == LINUX_SCM_CREDENTIALS) {
        if (h.cmsg_len != CMSG_HDR + sizeof(struct linux_ucred)) {
          rc = -LINUX_EINVAL;
          break;
        }
        memcpy(&ctl->creds, buf + off + CMSG_HDR, sizeof(ctl->creds));
        ctl->has_creds = true;
      } else {
        rc = -LINUX_EINVAL;
        break;
      }
    }
    off += CMSG_ALIGN8(h.cmsg_len);
  }
  kfree(buf);
  return rc;
}

/* One control message out at *at (put_cmsg): a header and len bytes of
 * data, cut to what is left (MSG_CTRUNC), then *at moves by its aligned
 * size. */
static long cmsg_put(uint64_t *at, uint64_t *left, int type, const void *data,
                     uint64_t len, int *mflags) {
  if (*left < CMSG_HDR) {
    *mflags |= LINUX_MSG_CTRUNC;
    return 0;
  }
  uint64_t cmlen = CMSG_HDR + len;
  if (*left < cmlen) {
    *mflags |= LINUX_MSG_CTRUNC;
    cmlen = *left;
  }
  struct linux_cmsghdr h = {
      .cmsg_len = cmlen, .cmsg_level = LINUX_SOL_SOCKET, .cmsg_type = type};
  if (user_write(*at, &h, sizeof(h)) < 0 ||
      user_write(*at + CMSG_HDR, data, cmlen - CMSG_HDR) < 0)
    return -LINUX_EFAULT;
  uint64_t space = MIN(CMSG_ALIGN8(CMSG_HDR + len), *left);
  *at += space;
  *left -= space;
  return 0;
}

/* The control messages of a receive into the guest's buffer: the
 * credentials first, then the descriptors (scm_recv). *used becomes what
 * was written (the msg_controllen Linux reports). */
static long cmsg_export(const struct linux_msghdr *m,
                        const struct moat_sock_ctl *ctl, int *mflags,
                        uint64_t *used) {
  uint64_t at = m->msg_control, left = m->msg_control ? m->msg_controllen : 0;
  long rc = 0;
  *used = 0;
  if (!m->msg_control) {
    if (ctl->has_creds || ctl->ctrunc)
      *mflags |= LINUX_MSG_CTRUNC;
    return 0;
  }
  if (ctl->has_creds)
    rc = cmsg_put(&at, &left, LINUX_SCM_CREDENTIALS, &ctl->creds,
                  sizeof(ctl->creds), mflags);
  if (rc == 0 && ctl->nfds > 0)
    rc = cmsg_put(&at, &left, LINUX_SCM_RIGHTS, ctl->fds,
                  (uint64_t)ctl->nfds * sizeof(int), mflags);
  if (ctl->ctrunc)
    *mflags |= LINUX_MSG_CTRUNC;
  *used = at - m->msg_control;
  return rc;
}

/* One sendmsg of the guest's msghdr at gmsg (also each of sendmmsg's). */
static long send_one(int fd, uint64_t gmsg, int flags,
                     struct moat_sock_ctl *ctl) {
  struct linux_msghdr m;
  struct linux_iovec *iov;
  uint8_t addr[SHIM_SOCKADDR_MAX];
  uint32_t alen = 0;
  long rc = msg_import(fd, gmsg, LINUX_PROT_READ, &m, &iov);
  if (rc < 0)
    return rc;
  if (m.msg_name)
    rc = addr_in(m.msg_name, m.msg_namelen, addr, &alen);
  if (rc == 0)
    rc = cmsg_import(&m, ctl);
  if (rc == 0)
    rc = restartable(moat_sock_send(fd, iov, (int)m.msg_iovlen, flags,
                                    alen ? addr : NULL, alen, ctl));
  kfree(iov);
  return rc;
}

/* One recvmsg into the guest's msghdr at gmsg (also each of recvmmsg's). */
static long recv_one(int fd, uint64_t gmsg, int flags,
                     struct moat_sock_ctl *ctl) {
  struct linux_msghdr m;
  struct linux_iovec *iov;
  long rc = sock_fd(fd);
  if (rc < 0)
    return rc;
  if (user_read(&m, gmsg, sizeof(m)) < 0)
    return -LINUX_EFAULT;
  if (m.msg_iovlen > SHIM_UIO_MAXIOV)
    return -LINUX_EMSGSIZE;
  /* Buffers that cannot be written fail where the bytes would go (an
   * empty non-blocking socket says EAGAIN first, as Linux). */
  rc = shim_iov_import(fd, m.msg_iov, (int64_t)m.msg_iovlen, LINUX_PROT_WRITE,
                       &iov);
  if (rc == -LINUX_EFAULT && m.msg_iovlen) {
    /* The vector itself must be readable; the core copies nothing with
     * MOAT_MSG_BADBUF, it only needs the lengths. */
    size_t sz = (size_t)m.msg_iovlen * sizeof(*iov);
    iov = kmalloc(sz);
    if (!iov)
      return -LINUX_ENOMEM;
    rc = user_read(iov, m.msg_iov, sz);
    if (rc < 0) {
      kfree(iov);
      return -LINUX_EFAULT;
    }
    flags = (int)((unsigned)flags | MOAT_MSG_BADBUF);
  }
  if (rc < 0)
    return rc;
  int mf = 0;
  ctl->control_len = m.msg_control ? m.msg_controllen : 0;
  ctl->cloexec = flags & LINUX_MSG_CMSG_CLOEXEC;
  uint8_t addr[SHIM_SOCKADDR_MAX];
  uint32_t alen = sizeof(addr);
  rc = restartable(
      moat_sock_recv(fd, iov, (int)m.msg_iovlen, flags, &mf, addr, &alen, ctl));
  kfree(iov);
  if (rc < 0)
    return rc;
  /* The sender's name; msg_flags keeps MSG_CMSG_CLOEXEC from the call's
   * flags, as Linux does. */
  uint64_t used;
  long e = cmsg_export(&m, ctl, &mf, &used);
  if (e < 0)
    return e;
  m.msg_flags = mf | (flags & LINUX_MSG_CMSG_CLOEXEC);
  m.msg_controllen = used;
  if (m.msg_name) {
    if ((int32_t)m.msg_namelen < 0)
      return -LINUX_EINVAL;
    uint32_t n = MIN(MIN(m.msg_namelen, alen), SHIM_SOCKADDR_MAX);
    if (n && user_write(m.msg_name, addr, n) < 0)
      return -LINUX_EFAULT;
    m.msg_namelen = alen;
  }
  if (user_write(gmsg, &m, sizeof(m)) < 0)
    return -LINUX_EFAULT;
  return rc;
}

long sys_sendmsg(SYSARGS) {
  NETLINK_HOOK(netlink_sendmsg(regs, a0, a1, a2, a3, a4, a5));
  struct moat_sock_ctl ctl;
  return send_one((int)a0, a1, (int)a2, &ctl);
}

long sys_recvmsg(SYSARGS) {
  NETLINK_HOOK(netlink_recvmsg(regs, a0, a1, a2, a3, a4, a5));
  struct moat_sock_ctl ctl;
  if ((unsigned)a2 & MOAT_MSG_BADBUF) /* MSG_CMSG_COMPAT */
    return -LINUX_EINVAL;
  return recv_one((int)a0, a1, (int)a2, &ctl);
}

/* sendmmsg: messages one by one until one fails or is sent in part; the
 * count sent, or the first error when none was (Linux's __sys_sendmmsg).
 * vlen above UIO_MAXIOV is cut to it. */
long sys_sendmmsg(SYSARGS) {
  NETLINK_HOOK(netlink_unsupported((int)a0));
  int fd = (int)a0;
  uint32_t vlen = MIN((uint32_t)a2, LINUX_UIO_MAXIOV);
  long rc = sock_fd(fd);
  if (rc < 0)
    return rc;
  struct moat_sock_ctl *ctl = kmalloc(sizeof(*ctl));
  if (!ctl)
    return -LINUX_ENOMEM;
  uint32_t n = 0;
  rc = 0;
  while (n < vlen) {
    uint64_t ent = a1 + (uint64_t)n * sizeof(struct linux_mmsghdr);
    struct linux_msghdr m;
    if (user_read(&m, ent, sizeof(m)) < 0) {
      rc = -LINUX_EFAULT;
      break;
    }
    struct linux_iovec *iov;
    size_t want = 0;
    if (shim_iov_import(fd, m.msg_iov, (int64_t)MIN(m.msg_iovlen, 1025u), 0,
                        &iov) == 0) {
      for (uint64_t i = 0; iov && i < m.msg_iovlen; i++)
        want += iov[i].iov_len;
      kfree(iov);
    }
    rc = send_one(fd, ent, (int)a3, ctl);
    if (rc < 0)
      break;
    uint32_t sent = (uint32_t)rc;
    if (user_write(ent + offsetof(struct linux_mmsghdr, msg_len), &sent,
                   sizeof(sent)) < 0) {
      rc = -LINUX_EFAULT;
      break;
    }
    n++;
    if ((size_t)rc < want)
      break; /* sent in part */
  }
  kfree(ctl);
  return n ? (long)n : rc;
}

static int64_t mono_ns(void) {
  struct linux_timespec ts = {0, 0};
  moat_clock_gettime(1 /* CLOCK_MONOTONIC */, &ts);
  return ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* recvmmsg: up to vlen messages; MSG_WAITFORONE makes the ones after the
 * first non-blocking; the timeout is looked at only after each message
 * (the BUGS of recvmmsg(2)), and what is left of it is written back. An
 * error after some messages is not reported (Linux keeps it as the
 * socket's pending error; moat drops it). */
long sys_recvmmsg(SYSARGS) {
  NETLINK_HOOK(netlink_unsupported((int)a0));
  int fd = (int)a0;
  uint32_t vlen = MIN((uint32_t)a2, LINUX_UIO_MAXIOV);
  int flags = (int)a3;
  int64_t timeout = -1, end = 0;
  if ((unsigned)flags & MOAT_MSG_BADBUF) /* MSG_CMSG_COMPAT */
    return -LINUX_EINVAL;
  if (a4) {
    long e = shim_timeout_arg(a4, &timeout);
    if (e < 0)
      return e;
    end = mono_ns() + timeout;
  }
  long rc = sock_fd(fd);
  if (rc < 0)
    return rc;
  struct moat_sock_ctl *ctl = kmalloc(sizeof(*ctl));
  if (!ctl)
    return -LINUX_ENOMEM;
  uint32_t n = 0;
  rc = 0;
  int64_t left = timeout;
  while (n < vlen) {
    uint64_t ent = a1 + (uint64_t)n * sizeof(struct linux_mmsghdr);
    rc = recv_one(fd, ent, flags & ~LINUX_MSG_WAITFORONE, ctl);
    if (rc < 0)
      break;
    uint32_t got = (uint32_t)rc;
    if (user_write(ent + offsetof(struct linux_mmsghdr, msg_len), &got,
                   sizeof(got)) < 0) {
      rc = -LINUX_EFAULT;
      break;
    }
    rc = 0;
    n++;
    if (flags & LINUX_MSG_WAITFORONE)
      flags |= LINUX_MSG_DONTWAIT;
    if (a4) {
      left = end - mono_ns();
      if (left <= 0) {
        left = 0;
        break;
      }
    }
  }
  kfree(ctl);
  if (n == 0)
    return rc;
  if (a4) {
    struct linux_timespec ts = {left / 1000000000, left % 1000000000};
    if (user_write(a4, &ts, sizeof(ts)) < 0)
      return -LINUX_EFAULT;
  }
  return (long)n;
}

long sys_shutdown(SYSARGS) {
  NETLINK_HOOK(netlink_unsupported((int)a0));
  return moat_shutdown((int)a0, (int)a1);
}

/* getsockopt/setsockopt copy the value in and out here for every kind of
 * socket; the core answers (netlink sockets have their own options). */
long sys_getsockopt(SYSARGS) {
  bool nl = netlink_fd(a0);
  uint8_t val[SHIM_OPT_MAX];
  int32_t len;
  if (user_read(&len, a4, sizeof(len)) < 0)
    return -LINUX_EFAULT;
  uint32_t n = len < 0 ? (uint32_t)len : MIN((uint32_t)len, SHIM_OPT_MAX);
  memset(val, 0, sizeof(val));
  long rc = nl ? moat_netlink_getsockopt((int)a0, (int)a1, (int)a2, val, &n)
               : moat_getsockopt((int)a0, (int)a1, (int)a2, val, &n);
  if (rc < 0)
    return rc;
  if (n && user_write(a3, val, n) < 0)
    return -LINUX_EFAULT;
  len = (int32_t)n;
  return user_write(a4, &len, sizeof(len)) < 0 ? -LINUX_EFAULT : 0;
}

long sys_setsockopt(SYSARGS) {
  bool nl = netlink_fd(a0);
  uint8_t val[SHIM_OPT_MAX];
  int len = (int)a4;
  long rc = nl ? 0 : sock_fd((int)a0);
  if (rc < 0)
    return rc;
  if (len < 0)
    return -LINUX_EINVAL;
  size_t n = MIN((size_t)len, sizeof(val));
  if (n && user_read(val, a3, n) < 0)
    return -LINUX_EFAULT;
  if (nl)
    return moat_netlink_setsockopt((int)a0, (int)a1, (int)a2, val,
                                   (uint32_t)len);
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

long sys_bind(SYSARGS) {
  NETLINK_HOOK(netlink_bind(regs, a0, a1, a2, a3, a4, a5));
  uint8_t addr[SHIM_SOCKADDR_MAX];
  uint32_t alen;
  long rc = sock_fd((int)a0);
  if (rc < 0)
    return rc;
  rc = addr_in(a1 ? a1 : 1, a2, addr, &alen); /* NULL: EFAULT unless 0 */
  if (rc < 0)
    return rc;
  return moat_bind((int)a0, addr, alen);
}

long sys_connect(SYSARGS) {
  NETLINK_HOOK(netlink_connect(regs, a0, a1, a2, a3, a4, a5));
  uint8_t addr[SHIM_SOCKADDR_MAX];
  uint32_t alen;
  long rc = sock_fd((int)a0);
  if (rc < 0)
    return rc;
  rc = addr_in(a1 ? a1 : 1, a2, addr, &alen);
  if (rc < 0)
    return rc;
  return restartable(moat_connect((int)a0, addr, alen));
}

long sys_listen(SYSARGS) {
  NETLINK_HOOK(netlink_unsupported((int)a0));
  return moat_listen((int)a0, (int)a1);
}

static long do_accept(uint64_t fd, uint64_t uaddr, uint64_t ulen, int flags) {
  uint8_t addr[SHIM_SOCKADDR_MAX];
  uint32_t room = 0, alen = sizeof(addr);
  long rc = sock_fd((int)fd);
  if (rc < 0)
    return rc;
  rc = restartable(moat_accept4((int)fd, addr, &alen, flags));
  if (rc < 0 || !uaddr)
    return rc;
  /* As Linux's do_accept: the address goes out after the accept, and a
   * fault there drops the new connection. */
  long e = addr_room(ulen, &room);
  if (e == 0)
    e = addr_out(uaddr, ulen, addr, room, alen);
  if (e < 0) {
    moat_close((int)rc);
    return e;
  }
  return rc;
}

long sys_accept(SYSARGS) {
  NETLINK_HOOK(netlink_unsupported((int)a0));
  return do_accept(a0, a1, a2, 0);
}

long sys_accept4(SYSARGS) {
  NETLINK_HOOK(netlink_unsupported((int)a0));
  return do_accept(a0, a1, a2, (int)a3);
}
