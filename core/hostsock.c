/* Host-backed sockets: the core's side of the host network (see
 * core/hostsock.h). Data crosses a bounce buffer in the arena: the host
 * call never sees a guest pointer, and a fault on the guest's buffer is
 * the guest's EFAULT (rt_ucopy), never the host's. */
#include "hostsock.h"
#include "moat/moat.h"
#include "file.h"
#include "poll.h"
#include "task.h"
#include "vfs_impl.h"

#define BOUNCE 65536u
#define DGRAM_MAX 65507u /* the largest UDP payload over IPv4 */
#define SOCKFS_MAGIC 0x534f434bull

static struct hostsock *hostsock_new(int type, int handle,
                                     const struct plat_net_addr *local,
                                     const struct plat_net_addr *peer) {
  struct hostsock *h = kzalloc(sizeof(*h));
  if (!h) {
    plat_net_close(handle);
    return NULL;
  }
  h->handle = handle;
  h->type = type;
  if (local)
    h->local = *local;
  if (peer)
    h->peer = *peer;
  return h;
}

int hostsock_connect(int type, int family, const uint8_t *addr, uint16_t port,
                     bool nonblock, struct hostsock **out) {
  *out = NULL;
  if (type != LINUX_SOCK_STREAM && type != LINUX_SOCK_DGRAM)
    return -LINUX_EPROTONOSUPPORT;
  if (family != LINUX_AF_INET && family != LINUX_AF_INET6)
    return -LINUX_EAFNOSUPPORT;
  struct plat_net_addr dst = {.family = (uint16_t)family, .port = port};
  memcpy(dst.addr, addr, family == LINUX_AF_INET ? 4 : 16);
  struct plat_net_addr local, peer;
  int handle = 0;
  int rc = plat_net_connect(
      type == LINUX_SOCK_STREAM ? PLAT_NET_TCP : PLAT_NET_UDP, &dst,
      nonblock ? PLAT_NET_DONTWAIT : 0, &handle, &local, &peer);
  bool pending = rc == -LINUX_EINPROGRESS || rc == -LINUX_EINTR;
  if (rc < 0 && !pending)
    return rc;
  if (handle <= 0)
    return -LINUX_EIO;
  *out = hostsock_new(type, handle, &local, &peer);
  if (!*out)
    return -LINUX_ENOMEM;
  (*out)->connecting = pending;
  return rc;
}

int hostsock_connect_state(struct hostsock *h) {
  if (!__atomic_load_n(&h->connecting, __ATOMIC_ACQUIRE))
    return 0;
  long r = plat_io_write(PLAT_IO_NET, h->handle, NULL, 0, PLAT_NET_DONTWAIT);
  if (r == -LINUX_EAGAIN)
    return -LINUX_EINPROGRESS;
  int one = 1;
  if (!__atomic_compare_exchange_n(&h->connecting, &one, 0, false,
                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return 0; /* another thread took the outcome */
  return r > 0 ? 0 : (int)r;
}

int hostsock_accept(int index, struct hostsock **out) {
  struct plat_net_addr peer;
  int handle;
  int rc = plat_net_accept(index, &handle, &peer);
  if (rc < 0)
    return rc;
  if (handle <= 0)
    return -LINUX_EIO;
  *out = hostsock_new(LINUX_SOCK_STREAM, handle, NULL, &peer);
  return *out ? 0 : -LINUX_ENOMEM;
}

int hostsock_published_index(int type, uint16_t guest_port) {
  const struct moat_config *cfg = moat_config();
  bool udp = type == LINUX_SOCK_DGRAM;
  for (int i = 0; cfg && i < cfg->npublished && i < MOAT_MAX_PUBLISHED; i++)
    if (cfg->published[i] == guest_port && cfg->published_udp[i] == udp)
      return i;
  return -1;
}

int hostsock_connect_sockaddr(int type, const void *sa, uint32_t len,
                              bool nonblock, struct hostsock **out) {
  const uint8_t *b = sa;
  uint16_t family;
  if (len < 2)
    return -LINUX_EINVAL;
  memcpy(&family, b, 2);
  if (family == LINUX_AF_INET) {
    if (len < 16)
      return -LINUX_EINVAL;
    return hostsock_connect(type, family, b + 4, (uint16_t)(b[2] << 8 | b[3]),
                            nonblock, out);
  }
  if (family == LINUX_AF_INET6) {
    if (len < 24)
      return -LINUX_EINVAL;
    return hostsock_connect(type, family, b + 8, (uint16_t)(b[2] << 8 | b[3]),
                            nonblock, out);
  }
  return -LINUX_EAFNOSUPPORT;
}

static size_t iov_total(const struct linux_iovec *iov, int iovcnt) {
  size_t n = 0;
  for (int i = 0; i < iovcnt; i++)
    n += iov[i].iov_len;
  return n;
}

/* Copy n bytes starting skip bytes into the guest's iovecs out of (to
 * false) or into (to true) buf. Returns bytes not copied (a fault). */
static size_t iov_copy(const struct linux_iovec *iov, int iovcnt, size_t skip,
                       uint8_t *buf, size_t n, bool to_guest) {
  size_t done = 0;
  for (int i = 0; i < iovcnt && done < n; i++) {
    size_t l = iov[i].iov_len;
    if (skip >= l) {
      skip -= l;
      continue;
    }
    size_t take = MIN(l - skip, n - done);
    uint8_t *g = (uint8_t *)iov[i].iov_base + skip;
    size_t left = to_guest ? rt_ucopy(g, buf + done, take)
                           : rt_ucopy(buf + done, g, take);
    skip = 0;
    done += take - left;
    if (left)
      break;
  }
  return n - done;
}

long hostsock_send(struct hostsock *h, const struct linux_iovec *iov,
                   int iovcnt, int flags, bool nonblock) {
  (void)flags;
  size_t total = iov_total(iov, iovcnt);
  if (h->type == LINUX_SOCK_DGRAM && total > DGRAM_MAX)
    return -LINUX_EMSGSIZE;
  uint8_t *buf = kmalloc(BOUNCE);
  if (!buf)
    return -LINUX_ENOBUFS;
  size_t sent = 0;
  long rc = 0;
  unsigned pf = nonblock ? PLAT_NET_DONTWAIT : 0;
  do {
    size_t n = MIN(total - sent, (size_t)BOUNCE);
    if (iov_copy(iov, iovcnt, sent, buf, n, false)) {
      rc = -LINUX_EFAULT;
      break;
    }
    rc = plat_io_write(PLAT_IO_NET, h->handle, buf, n, pf);
    if (rc < 0)
      break;
    if ((size_t)rc > n) {
      rc = -LINUX_EIO;
      break;
    }
    sent += (size_t)rc;
    /* a stream in blocking mode takes everything, as Linux's send */
  } while (h->type == LINUX_SOCK_STREAM && !nonblock && rc > 0 && sent < total);
  kfree(buf);
  if (sent && h->type == LINUX_SOCK_STREAM)
    return (long)sent;
  return rc < 0 ? rc : (long)sent;
}

long hostsock_recv(struct hostsock *h, const struct linux_iovec *iov,
                   int iovcnt, int flags, bool nonblock, int *msg_flags) {
  size_t total = iov_total(iov, iovcnt);
  bool dgram = h->type == LINUX_SOCK_DGRAM;
  bool peek = flags & LINUX_MSG_PEEK;
  bool waitall = (flags & LINUX_MSG_WAITALL) && !dgram && !peek;
  *msg_flags = 0;
  if (flags & LINUX_MSG_OOB)
    return -LINUX_EINVAL;
  uint8_t *buf = kmalloc(BOUNCE);
  if (!buf)
    return -LINUX_ENOBUFS;
  size_t got = 0;
  long rc = 0;
  unsigned pf = (nonblock ? PLAT_NET_DONTWAIT : 0) | (peek ? PLAT_NET_PEEK : 0);
  do {
    /* A datagram is taken whole (the bounce holds the largest), then cut
     * to what the guest gave room for. */
    size_t n = dgram ? BOUNCE : MIN(total - got, (size_t)BOUNCE);
    rc = plat_io_read(PLAT_IO_NET, h->handle, buf, n, pf);
    if (rc <= 0)
      break;
    if ((size_t)rc > n) {
      rc = -LINUX_EIO;
      break;
    }
    size_t take = MIN((size_t)rc, total - got);
    if (iov_copy(iov, iovcnt, got, buf, take, true)) {
      rc = -LINUX_EFAULT;
      break;
    }
    if (dgram) {
      if ((size_t)rc > total)
        *msg_flags |= LINUX_MSG_TRUNC;
      got = (flags & LINUX_MSG_TRUNC) ? (size_t)rc : take;
      break;
    }
    got += take;
  } while (waitall && got < total);
  kfree(buf);
  if (got)
    return (long)got;
  return rc;
}

static const uint8_t g_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

struct hostsock *hostsock_find_peer(struct hostsock *h, const uint8_t *addr,
                                    uint16_t port) {
  for (; h; h = __atomic_load_n(&h->next, __ATOMIC_ACQUIRE)) {
    const struct plat_net_addr *pa = &h->peer;
    if (pa->port != port)
      continue;
    if (pa->family == LINUX_AF_INET
            ? !memcmp(addr, g_mapped, 12) && !memcmp(pa->addr, addr + 12, 4)
            : !memcmp(pa->addr, addr, 16))
      return h;
  }
  return NULL;
}

void hostsock_chain(struct hostsock *h, struct hostsock *n) {
  while (h->next)
    h = h->next;
  __atomic_store_n(&h->next, n, __ATOMIC_RELEASE);
}

int hostsock_chain_len(struct hostsock *h) {
  int n = 0;
  for (; h; h = __atomic_load_n(&h->next, __ATOMIC_ACQUIRE))
    n++;
  return n;
}

#define ANY_STEP_NS 2000000 /* hostsock_recv_any's sleep with many */

long hostsock_recv_any(struct hostsock *h, const struct linux_iovec *iov,
                       int iovcnt, int flags, bool nonblock, int *msg_flags,
                       struct hostsock **got) {
  *got = h;
  if (!__atomic_load_n(&h->next, __ATOMIC_ACQUIRE))
    return hostsock_recv(h, iov, iovcnt, flags, nonblock, msg_flags);
  for (;;) {
    for (struct hostsock *m = h; m;
         m = __atomic_load_n(&m->next, __ATOMIC_ACQUIRE)) {
      long rc = hostsock_recv(m, iov, iovcnt, flags, true, msg_flags);
      if (rc != -LINUX_EAGAIN) {
        *got = m;
        return rc;
      }
    }
    if (nonblock)
      return -LINUX_EAGAIN;
    /* All of them at once (the first PLAT_WAIT_IO_MAX; with more, the
     * sleep is a short step and every one is tried again). */
    struct plat_io io[PLAT_WAIT_IO_MAX];
    int n = 0;
    bool more = false;
    for (struct hostsock *m = h; m;
         m = __atomic_load_n(&m->next, __ATOMIC_ACQUIRE)) {
      if (n == PLAT_WAIT_IO_MAX) {
        more = true;
        break;
      }
      io[n++] = (struct plat_io){
          .kind = PLAT_IO_NET, .events = VFS_POLLIN, .handle = m->handle};
    }
    int r = poll_host_sleep(io, n, more ? ANY_STEP_NS : -1);
    if (r == -LINUX_EINTR)
      return r;
  }
}

unsigned hostsock_poll(struct hostsock *h, unsigned events) {
  unsigned r = poll_host(PLAT_IO_NET, h->handle, events | LINUX_POLLRDHUP);
  if (r & VFS_POLLNVAL)
    return VFS_POLLERR;
  for (struct hostsock *m = __atomic_load_n(&h->next, __ATOMIC_ACQUIRE);
       m && (events & VFS_POLLIN) && !(r & VFS_POLLIN);
       m = __atomic_load_n(&m->next, __ATOMIC_ACQUIRE))
    r |= poll_host(PLAT_IO_NET, m->handle, VFS_POLLIN) & VFS_POLLIN;
  return r & (events | VFS_POLLHUP | VFS_POLLERR);
}

int hostsock_shutdown(struct hostsock *h, int how) {
  return plat_net_shutdown(h->handle, how);
}

void hostsock_name(struct hostsock *h, bool peer, void *out, uint32_t *len) {
  const struct plat_net_addr *a = peer ? &h->peer : &h->local;
  uint8_t sa[28];
  uint32_t n;
  memset(sa, 0, sizeof(sa));
  uint16_t family = a->family ? a->family : LINUX_AF_INET;
  memcpy(sa, &family, 2);
  sa[2] = (uint8_t)(a->port >> 8); /* network order */
  sa[3] = (uint8_t)a->port;
  if (family == LINUX_AF_INET6) {
    memcpy(sa + 8, a->addr, 16);
    n = 28;
  } else {
    memcpy(sa + 4, a->addr, 4);
    n = 16;
  }
  memcpy(out, sa, MIN(*len, n));
  *len = n;
}

void hostsock_release(struct hostsock *h) {
  while (h) {
    struct hostsock *n = h->next;
    plat_net_close(h->handle);
    kfree(h);
    h = n;
  }
}

long hostsock_dgram_recv(int index, const struct linux_iovec *iov, int iovcnt,
                         int flags, int *msg_flags,
                         struct plat_net_addr *from) {
  size_t total = iov_total(iov, iovcnt);
  uint8_t *buf = kmalloc(BOUNCE);
  if (!buf)
    return -LINUX_ENOBUFS;
  unsigned pf =
      PLAT_NET_DONTWAIT | ((flags & LINUX_MSG_PEEK) ? PLAT_NET_PEEK : 0);
  long rc = plat_net_dgram_recv(index, buf, BOUNCE, pf, from);
  if (rc >= 0) {
    size_t have = MIN((size_t)rc, (size_t)BOUNCE);
    size_t take = MIN(have, total);
    if (iov_copy(iov, iovcnt, 0, buf, take, true)) {
      rc = -LINUX_EFAULT;
    } else {
      if ((size_t)rc > total)
        *msg_flags |= LINUX_MSG_TRUNC;
      if (!(flags & LINUX_MSG_TRUNC))
        rc = (long)take;
    }
  }
  kfree(buf);
  return rc;
}

long hostsock_dgram_send(int index, const struct linux_iovec *iov, int iovcnt,
                         const uint8_t *addr16, uint16_t port) {
  size_t total = iov_total(iov, iovcnt);
  if (total > DGRAM_MAX)
    return -LINUX_EMSGSIZE;
  uint8_t *buf = kmalloc(BOUNCE);
  if (!buf)
    return -LINUX_ENOBUFS;
  long rc;
  if (iov_copy(iov, iovcnt, 0, buf, total, false)) {
    rc = -LINUX_EFAULT;
  } else {
    struct plat_net_addr to = {.family = LINUX_AF_INET6, .port = port};
    memcpy(to.addr, addr16, 16);
    rc = plat_net_dgram_send(index, buf, total, &to);
  }
  kfree(buf);
  return rc;
}

/* ---- a guest file of its own ------------------------------------------ */

static long hs_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  (void)pos;
  struct linux_iovec iov = {.iov_base = buf, .iov_len = len};
  int mf;
  long rc =
      hostsock_recv(f->private, &iov, 1, 0, f->flags & LINUX_O_NONBLOCK, &mf);
  if (rc == -LINUX_EAGAIN)
    epoll_host_drained(f, VFS_POLLIN);
  return rc;
}

static long hs_write(struct file *f, const void *buf, size_t len,
                     uint64_t *pos) {
  (void)pos;
  struct linux_iovec iov = {.iov_base = (void *)buf, .iov_len = len};
  long rc = hostsock_send(f->private, &iov, 1, 0, f->flags & LINUX_O_NONBLOCK);
  if (rc == -LINUX_EPIPE)
    pipe_raise_sigpipe();
  if (rc == -LINUX_EAGAIN)
    epoll_host_drained(f, VFS_POLLOUT);
  return rc;
}

static unsigned hs_poll(struct file *f, unsigned events) {
  return hostsock_poll(f->private, events);
}

static void hs_release(struct file *f) {
  epoll_file_released(f);
  hostsock_release(f->private);
}

static const struct file_ops hs_ops = {
    .release = hs_release,
    .read = hs_read,
    .write = hs_write,
    .poll = hs_poll,
    .epoll_release_hook = true,
    .stream = true,
};

bool hostsock_file(const struct file *f) {
  return f && f->ops == &hs_ops;
}

struct hostsock *hostsock_of(const struct file *f) {
  return hostsock_file(f) ? f->private : NULL;
}

int hostsock_file_new(struct hostsock *h, unsigned flags, struct file **out) {
  struct vfs_shared *v = vfs_shared();
  rt_lock(&v->pipe_lock);
  if (!v->sockfs)
    v->sockfs = vfs_sb_alloc("sockfs", SOCKFS_MAGIC, 0);
  struct superblock *sb = v->sockfs;
  rt_unlock(&v->pipe_lock);
  struct inode *inode = sb ? vfs_inode_alloc(sb, LINUX_S_IFSOCK | 0777,
                                             &nameless_iops, &anon_reopen_ops)
                           : NULL;
  if (!inode)
    return -LINUX_ENOMEM;
  vfs_cred(&inode->uid, &inode->gid);
  int rc = file_open_inode(inode, LINUX_O_RDWR | flags, &hs_ops, out);
  vfs_inode_put(inode);
  if (rc == 0)
    (*out)->private = h;
  return rc;
}
