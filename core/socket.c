/* AF_UNIX sockets made by socketpair(2), entirely in the core: both ends
 * of a pair live in one object in the arena, so every guest process that
 * holds either end (through fork or exec) sees the same queues.
 *
 * Each end has its own receive queue, a ring of RING_SIZE bytes allocated
 * on the first send to it. SOCK_STREAM queues bytes; SOCK_DGRAM and
 * SOCK_SEQPACKET queue records (a 4-byte length, then the data), so a
 * receive takes exactly one record and drops what does not fit
 * (MSG_TRUNC). Each end carries Linux's sk_shutdown bits (RCV 1, SEND 2):
 * shutdown(2) sets them, and for stream and seqpacket sockets also the
 * peer's opposite bits; the last close of an end marks it dead and, for
 * those two types, shuts the peer down both ways. Send, receive and poll
 * then follow net/unix/af_unix.c: EPIPE (and SIGPIPE on a stream unless
 * MSG_NOSIGNAL) when sending into a shut or dead peer, end of file on a
 * shut receive side, ECONNREFUSED then ENOTCONN on a datagram socket
 * whose peer is gone, POLLOUT while what the end has queued at its peer
 * is at most a quarter of its send buffer.
 *
 * Sleepers wait as pipe sleepers do (core/poll.h): poll_sleep_on the
 * pair, which every state change wakes through poll_notify_obj, in
 * whichever guest process it happens.
 *
 * Not yet: bind/connect/listen/accept (socket(2) itself still answers
 * EAFNOSUPPORT), control messages, SO_RCVTIMEO/SO_SNDTIMEO, MSG_OOB. */
#include "moat/moat.h"
#include "poll.h"
#include "task.h"
#include "vfs_impl.h"

#define RING_SIZE 212992u /* Linux's default wmem_default */
#define SOCK_BUF_DEFAULT 212992u
#define SOCK_BUF_MAX 212992u  /* Linux's default wmem_max/rmem_max */
#define SOCK_MIN_SNDBUF 4608u /* 2 * (2048 + sizeof(struct sk_buff)) */
#define SOCK_MIN_RCVBUF 2304u
#define REC_HDR 4u
#define SOCKFS_MAGIC 0x534f434bull

#define SHUT_RCV 1u
#define SHUT_SEND 2u

struct uend {
  uint8_t *buf; /* ring of RING_SIZE: what this end receives */
  uint32_t head, count;
  uint32_t nrec;  /* records queued (datagram types) */
  uint32_t shut;  /* SHUT_RCV | SHUT_SEND */
  bool dead;      /* its last file is closed */
  bool peer_gone; /* SOCK_DGRAM: a send saw the dead peer (ENOTCONN now) */
  uint32_t sndbuf, rcvbuf;
  struct upair *pair;
  int idx; /* 0 or 1: its place in the pair */
};

struct upair {
  struct rt_lock lock;
  int type;     /* LINUX_SOCK_STREAM, _DGRAM, _SEQPACKET */
  int protocol; /* 0 or PF_UNIX, as given */
  int32_t pid;  /* SO_PEERCRED of both ends: the creator's */
  uint32_t uid, gid;
  struct uend end[2];
};

/* f->private points to the file's end of the pair. */
static struct upair *pair_of(struct file *f, int *me) {
  struct uend *e = f->private;
  *me = e->idx;
  return e->pair;
}

static void changed(struct upair *p) {
  poll_notify_obj(p);
}

/* ---- the ring ---------------------------------------------------------- */

static void ring_put_k(struct uend *e, const void *src, uint32_t n) {
  uint32_t tail = (e->head + e->count) % RING_SIZE;
  uint32_t first = MIN(n, RING_SIZE - tail);
  memcpy(e->buf + tail, src, first);
  memcpy(e->buf, (const uint8_t *)src + first, n - first);
  e->count += n;
}

static void ring_get_k(struct uend *e, uint32_t off, void *dst, uint32_t n) {
  uint32_t at = (e->head + off) % RING_SIZE;
  uint32_t first = MIN(n, RING_SIZE - at);
  memcpy(dst, e->buf + at, first);
  memcpy((uint8_t *)dst + first, e->buf, n - first);
}

static void ring_drop(struct uend *e, uint32_t n) {
  e->head = (e->head + n) % RING_SIZE;
  e->count -= n;
  if (!e->count)
    e->head = 0;
}

/* Copy n bytes of guest iovecs, starting skip bytes in, into the ring at
 * its tail (not yet counted). Returns the bytes copied (short on a
 * fault). */
static size_t ring_put_user(struct uend *e, uint32_t at_off,
                            const struct linux_iovec *iov, int iovcnt,
                            size_t skip, size_t n) {
  size_t done = 0;
  for (int i = 0; i < iovcnt && done < n; i++) {
    size_t l = iov[i].iov_len;
    if (skip >= l) {
      skip -= l;
      continue;
    }
    const uint8_t *src = (const uint8_t *)iov[i].iov_base + skip;
    size_t take = MIN(l - skip, n - done);
    skip = 0;
    while (take) {
      uint32_t at = (e->head + e->count + at_off + (uint32_t)done) % RING_SIZE;
      size_t chunk = MIN(take, (size_t)(RING_SIZE - at));
      size_t left = rt_ucopy(e->buf + at, src, chunk);
      done += chunk - left;
      if (left)
        return done;
      src += chunk;
      take -= chunk;
    }
  }
  return done;
}

/* Copy n bytes of the ring from offset off out to guest iovecs, starting
 * skip bytes into them. Returns the bytes copied (short on a fault). */
static size_t ring_get_user(struct uend *e, uint32_t off,
                            const struct linux_iovec *iov, int iovcnt,
                            size_t skip, size_t n) {
  size_t done = 0;
  for (int i = 0; i < iovcnt && done < n; i++) {
    size_t l = iov[i].iov_len;
    if (skip >= l) {
      skip -= l;
      continue;
    }
    uint8_t *dst = (uint8_t *)iov[i].iov_base + skip;
    size_t take = MIN(l - skip, n - done);
    skip = 0;
    while (take) {
      uint32_t at = (e->head + off + (uint32_t)done) % RING_SIZE;
      size_t chunk = MIN(take, (size_t)(RING_SIZE - at));
      size_t left = rt_ucopy(dst, e->buf + at, chunk);
      done += chunk - left;
      if (left)
        return done;
      dst += chunk;
      take -= chunk;
    }
  }
  return done;
}

static size_t iov_total(const struct linux_iovec *iov, int iovcnt) {
  size_t t = 0;
  for (int i = 0; i < iovcnt; i++)
    t += iov[i].iov_len;
  return t;
}

/* ---- send and receive ------------------------------------------------- */

static bool is_stream(const struct upair *p) {
  return p->type == LINUX_SOCK_STREAM;
}

/* Bytes end `to` may still take from the sender `from`: its ring, bounded
 * by the sender's send buffer as Linux bounds sk_wmem_alloc. */
static uint32_t room_for(const struct upair *p, int from, int to) {
  uint32_t cap = MIN(p->end[from].sndbuf, RING_SIZE);
  uint32_t used = p->end[to].count;
  return used >= cap ? 0 : cap - used;
}

static long sock_send(struct file *f, const struct linux_iovec *iov, int iovcnt,
                      int flags) {
  int me;
  struct upair *p = pair_of(f, &me);
  int peer = 1 - me;
  struct uend *dst = &p->end[peer];
  bool nonblock = (f->flags & LINUX_O_NONBLOCK) || (flags & LINUX_MSG_DONTWAIT);
  size_t len = iov_total(iov, iovcnt);
  size_t sent = 0;
  long rc = 0;
  bool sigpipe = false;
  if (flags & LINUX_MSG_OOB)
    return -LINUX_EOPNOTSUPP;
  if (!is_stream(p) && len > p->end[me].sndbuf - 32)
    return -LINUX_EMSGSIZE;
  rt_lock(&p->lock);
  for (;;) {
    if (p->end[me].shut & SHUT_SEND) {
      rc = -LINUX_EPIPE;
      sigpipe = is_stream(p);
      break;
    }
    if (is_stream(p) && sent == len)
      break; /* a stream's empty send reaches no peer */
    if (dst->dead) {
      if (p->type == LINUX_SOCK_DGRAM) {
        rc = p->end[me].peer_gone ? -LINUX_ENOTCONN : -LINUX_ECONNREFUSED;
        p->end[me].peer_gone = true;
      } else {
        rc = -LINUX_EPIPE;
        sigpipe = is_stream(p);
      }
      break;
    }
    if (dst->shut & SHUT_RCV) {
      rc = -LINUX_EPIPE;
      sigpipe = is_stream(p);
      break;
    }
    uint32_t room = room_for(p, me, peer);
    size_t need = is_stream(p) ? 1 : len + REC_HDR;
    if (room < need) {
      if (nonblock) {
        rc = -LINUX_EAGAIN;
        break;
      }
      rc = poll_sleep_on(p, &p->lock);
      if (rc < 0)
        break;
      continue;
    }
    if (!dst->buf) {
      dst->buf = kmalloc(RING_SIZE);
      if (!dst->buf) {
        rc = -LINUX_ENOBUFS;
        break;
      }
    }
    if (is_stream(p)) {
      size_t n = MIN(len - sent, (size_t)room);
      size_t got = ring_put_user(dst, 0, iov, iovcnt, sent, n);
      dst->count += (uint32_t)got;
      sent += got;
      if (got)
        changed(p);
      if (got < n) {
        rc = -LINUX_EFAULT;
        break;
      }
      continue;
    }
    uint32_t hdr = (uint32_t)len;
    size_t got = ring_put_user(dst, REC_HDR, iov, iovcnt, 0, len);
    if (got < len) {
      rc = -LINUX_EFAULT;
      break;
    }
    ring_put_k(dst, &hdr, REC_HDR);
    dst->count += (uint32_t)len;
    dst->nrec++;
    sent = len;
    changed(p);
    break;
  }
  rt_unlock(&p->lock);
  if (sent)
    return (long)sent;
  if (sigpipe && !(flags & LINUX_MSG_NOSIGNAL))
    pipe_raise_sigpipe();
  if (!is_stream(p) && rc == 0)
    return 0;
  return rc;
}

/* Receive into iov. *msg_flags gets LINUX_MSG_TRUNC when a record did not
 * fit. */
static long sock_recv(struct file *f, const struct linux_iovec *iov, int iovcnt,
                      int flags, int *msg_flags) {
  int me;
  struct upair *p = pair_of(f, &me);
  struct uend *e = &p->end[me];
  bool nonblock = (f->flags & LINUX_O_NONBLOCK) || (flags & LINUX_MSG_DONTWAIT);
  bool peek = flags & LINUX_MSG_PEEK;
  size_t len = iov_total(iov, iovcnt);
  size_t got = 0;
  long rc = 0;
  *msg_flags = 0;
  if (flags & LINUX_MSG_OOB)
    return -LINUX_EINVAL; /* no out-of-band byte is ever queued */
  rt_lock(&p->lock);
  for (;;) {
    if (!is_stream(p) && e->nrec) {
      uint32_t rlen;
      ring_get_k(e, 0, &rlen, REC_HDR);
      size_t n = MIN((size_t)rlen, len);
      size_t c = ring_get_user(e, REC_HDR, iov, iovcnt, 0, n);
      if (c < n) {
        rc = -LINUX_EFAULT;
        break;
      }
      if (rlen > len)
        *msg_flags |= LINUX_MSG_TRUNC;
      if (!peek) {
        ring_drop(e, REC_HDR + rlen);
        e->nrec--;
        changed(p);
      }
      rc = (flags & LINUX_MSG_TRUNC) ? (long)rlen : (long)n;
      break;
    }
    if (is_stream(p)) {
      if (len == 0)
        break;
      /* Stream: take what is there past what was taken (a peek takes
       * nothing, so it starts where it stands). */
      if (e->count > (peek ? got : 0)) {
        size_t avail = e->count - (peek ? got : 0);
        size_t n = MIN(len - got, avail);
        size_t c =
            ring_get_user(e, peek ? (uint32_t)got : 0, iov, iovcnt, got, n);
        if (!peek && c) {
          ring_drop(e, (uint32_t)c);
          changed(p);
        }
        got += c;
        if (c < n) {
          rc = -LINUX_EFAULT;
          break;
        }
        if (got == len || !(flags & LINUX_MSG_WAITALL) || peek)
          break;
        continue;
      }
      if (got && !(flags & LINUX_MSG_WAITALL))
        break;
    }
    /* A shut receive side is end of file, but a non-blocking datagram
     * receive still says EAGAIN (Linux's unix_dgram_recvmsg). */
    if ((e->shut & SHUT_RCV) && !(nonblock && p->type == LINUX_SOCK_DGRAM))
      break;
    if (nonblock) {
      rc = -LINUX_EAGAIN;
      break;
    }
    rc = poll_sleep_on(p, &p->lock);
    if (rc < 0)
      break;
  }
  rt_unlock(&p->lock);
  if (is_stream(p) && got)
    return (long)got;
  return rc;
}

static long sock_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  (void)pos;
  struct linux_iovec iov = {.iov_base = buf, .iov_len = len};
  int mf;
  return sock_recv(f, &iov, 1, 0, &mf);
}

static long sock_write(struct file *f, const void *buf, size_t len,
                       uint64_t *pos) {
  (void)pos;
  struct linux_iovec iov = {.iov_base = (void *)buf, .iov_len = len};
  return sock_send(f, &iov, 1, 0);
}

static void sock_release(struct file *f) {
  epoll_file_released(f);
  int me;
  struct upair *p = pair_of(f, &me);
  if (!p)
    return;
  int peer = 1 - me;
  rt_lock(&p->lock);
  struct uend *e = &p->end[me];
  e->dead = true;
  e->shut = SHUT_RCV | SHUT_SEND;
  kfree(e->buf);
  e->buf = NULL;
  e->count = e->head = e->nrec = 0;
  if (p->type != LINUX_SOCK_DGRAM)
    p->end[peer].shut = SHUT_RCV | SHUT_SEND;
  bool last = p->end[peer].dead;
  changed(p);
  rt_unlock(&p->lock);
  if (last) {
    kfree(p->end[peer].buf);
    kfree(p);
  }
}

static unsigned sock_poll(struct file *f, unsigned events) {
  int me;
  struct upair *p = pair_of(f, &me);
  struct uend *e = &p->end[me];
  unsigned mask = 0;
  rt_lock(&p->lock);
  if (e->shut == (SHUT_RCV | SHUT_SEND))
    mask |= VFS_POLLHUP;
  if (e->shut & SHUT_RCV)
    mask |= LINUX_POLLRDHUP | VFS_POLLIN | VFS_POLLRDNORM;
  if (e->count)
    mask |= VFS_POLLIN | VFS_POLLRDNORM;
  /* What this end has queued at its peer, at most a quarter of its send
   * buffer (Linux's unix_writable). */
  if ((uint64_t)p->end[1 - me].count * 4 <= e->sndbuf)
    mask |= VFS_POLLOUT | VFS_POLLWRNORM | LINUX_POLLWRBAND;
  rt_unlock(&p->lock);
  return mask & (events | VFS_POLLHUP | VFS_POLLERR);
}

static int sock_ioctl(struct file *f, unsigned request, void *arg) {
  int me;
  struct upair *p = pair_of(f, &me);
  struct uend *e = &p->end[me];
  if (request == LINUX_FIONREAD) { /* SIOCINQ */
    rt_lock(&p->lock);
    uint32_t n = 0;
    if (p->type == LINUX_SOCK_DGRAM) {
      if (e->nrec)
        ring_get_k(e, 0, &n, REC_HDR);
    } else {
      n = e->count - e->nrec * REC_HDR;
    }
    rt_unlock(&p->lock);
    *(int32_t *)arg = (int32_t)n;
    return 0;
  }
  if (request == LINUX_TIOCOUTQ) { /* SIOCOUTQ */
    rt_lock(&p->lock);
    struct uend *o = &p->end[1 - me];
    uint32_t n = o->count - o->nrec * REC_HDR;
    rt_unlock(&p->lock);
    *(int32_t *)arg = (int32_t)n;
    return 0;
  }
  return -LINUX_ENOTTY;
}

/* Opening a socket again by path (/proc/self/fd/N) fails as on Linux. */
static int sock_reopen(struct inode *inode, struct file *f) {
  (void)inode, (void)f;
  return -LINUX_ENXIO;
}

static const struct file_ops sock_reopen_ops = {.open = sock_reopen};

static const struct file_ops sock_ops = {
    .release = sock_release,
    .read = sock_read,
    .write = sock_write,
    .ioctl = sock_ioctl,
    .poll = sock_poll,
    .epoll_release_hook = true,
    .stream = true,
};

bool sock_file(const struct file *f) {
  return f && f->ops == &sock_ops;
}

/* ---- the calls ---------------------------------------------------------- */

static struct superblock *sockfs(void) {
  struct vfs_shared *v = vfs_shared();
  rt_lock(&v->pipe_lock);
  if (!v->sockfs)
    v->sockfs = vfs_sb_alloc("sockfs", SOCKFS_MAGIC, 0);
  struct superblock *sb = v->sockfs;
  rt_unlock(&v->pipe_lock);
  return sb;
}

static int sock_file_new(struct upair *p, int which, unsigned flags,
                         struct file **out) {
  struct superblock *sb = sockfs();
  if (!sb)
    return -LINUX_ENOMEM;
  struct inode *inode =
      vfs_inode_alloc(sb, LINUX_S_IFSOCK | 0777, NULL, &sock_reopen_ops);
  if (!inode)
    return -LINUX_ENOMEM;
  vfs_cred(&inode->uid, &inode->gid);
  int rc = file_open_inode(inode, LINUX_O_RDWR | flags, &sock_ops, out);
  vfs_inode_put(inode);
  if (rc == 0) {
    (*out)->private = &p->end[which];
  }
  return rc;
}

int moat_socketpair(int domain, int type, int protocol, int sv[2]) {
  /* The checks in Linux's order (__sys_socketpair, __sock_create,
   * unix_create); SOCK_RAW is a datagram socket there too. */
  int kind = type & 0xf;
  if (type & ~(0xf | LINUX_SOCK_NONBLOCK | LINUX_SOCK_CLOEXEC))
    return -LINUX_EINVAL;
  if (domain != LINUX_AF_UNIX)
    return -LINUX_EAFNOSUPPORT;
  if (kind >= 11)
    return -LINUX_EINVAL;
  if (protocol != 0 && protocol != LINUX_AF_UNIX)
    return -LINUX_EPROTONOSUPPORT;
  if (kind == 3)
    kind = LINUX_SOCK_DGRAM;
  if (kind != LINUX_SOCK_STREAM && kind != LINUX_SOCK_DGRAM &&
      kind != LINUX_SOCK_SEQPACKET)
    return -LINUX_ESOCKTNOSUPPORT;
  struct upair *p = kzalloc(sizeof(*p));
  if (!p)
    return -LINUX_ENOMEM;
  p->type = kind;
  p->protocol = 0; /* PF_UNIX is accepted and reported as 0 */
  struct task *t = task_current();
  if (t) {
    p->pid = t->proc->pid;
    p->uid = t->proc->cred.euid;
    p->gid = t->proc->cred.egid;
  }
  for (int i = 0; i < 2; i++) {
    p->end[i].sndbuf = SOCK_BUF_DEFAULT;
    p->end[i].rcvbuf = SOCK_BUF_DEFAULT;
    p->end[i].pair = p;
    p->end[i].idx = i;
  }
  unsigned fl = (type & LINUX_SOCK_NONBLOCK) ? LINUX_O_NONBLOCK : 0;
  bool cloexec = type & LINUX_SOCK_CLOEXEC;
  struct file *a = NULL, *b = NULL;
  int rc = sock_file_new(p, 0, fl, &a);
  if (rc == 0)
    rc = sock_file_new(p, 1, fl, &b);
  if (rc < 0) {
    if (a) {
      p->end[1].dead = true; /* so the release of a frees p */
      file_put(a);
    } else {
      kfree(p);
    }
    return rc;
  }
  int fa = anon_file_install(a, cloexec);
  int fb = fa < 0 ? fa : anon_file_install(b, cloexec);
  if (fb < 0) {
    if (fa >= 0)
      moat_close(fa);
    file_put(a);
    file_put(b);
    return fb;
  }
  file_put(a);
  file_put(b);
  sv[0] = fa;
  sv[1] = fb;
  return 0;
}

/* The socket at fd: -EBADF, or -ENOTSOCK for another file. */
static int sock_lookup(int fd, struct file **out) {
  struct fd_table *t = proc_current_fdt();
  struct file *f = t ? fdt_lookup(t, fd) : NULL;
  if (!f)
    return -LINUX_EBADF;
  if (f->flags & LINUX_O_PATH) {
    file_put(f);
    return -LINUX_EBADF;
  }
  if (!sock_file(f)) {
    file_put(f);
    return -LINUX_ENOTSOCK;
  }
  *out = f;
  return 0;
}

long moat_sock_send(int fd, const struct linux_iovec *iov, int iovcnt,
                    int flags, bool has_addr) {
  struct file *f;
  int rc = sock_lookup(fd, &f);
  if (rc < 0)
    return rc;
  int me;
  struct upair *p = pair_of(f, &me);
  long r;
  if (has_addr && p->type == LINUX_SOCK_STREAM)
    r = -LINUX_EISCONN;
  else if (has_addr && p->type == LINUX_SOCK_DGRAM)
    r = -LINUX_EOPNOTSUPP; /* addressed datagrams come with bind/connect */
  else
    r = sock_send(f, iov, iovcnt, flags);
  file_put(f);
  return r;
}

long moat_sock_recv(int fd, const struct linux_iovec *iov, int iovcnt,
                    int flags, int *msg_flags) {
  struct file *f;
  int rc = sock_lookup(fd, &f);
  if (rc < 0)
    return rc;
  long r = sock_recv(f, iov, iovcnt, flags, msg_flags);
  file_put(f);
  return r;
}

/* readv/writev on a socket: one message, as Linux's sock_read_iter. */
long sock_readv(struct file *f, const struct linux_iovec *iov, int iovcnt) {
  int mf;
  return sock_recv(f, iov, iovcnt, 0, &mf);
}

long sock_writev(struct file *f, const struct linux_iovec *iov, int iovcnt) {
  return sock_send(f, iov, iovcnt, 0);
}

int moat_shutdown(int fd, int how) {
  struct file *f;
  int rc = sock_lookup(fd, &f);
  if (rc < 0)
    return rc;
  if (how < 0 || how > 2) {
    file_put(f);
    return -LINUX_EINVAL;
  }
  int me;
  struct upair *p = pair_of(f, &me);
  unsigned mode = (unsigned)how + 1; /* SHUT_RD 0 -> RCV 1, WR -> 2, both */
  rt_lock(&p->lock);
  p->end[me].shut |= mode;
  struct uend *o = &p->end[1 - me];
  if (p->type != LINUX_SOCK_DGRAM && !o->dead) {
    unsigned peer_mode = 0;
    if (mode & SHUT_RCV)
      peer_mode |= SHUT_SEND;
    if (mode & SHUT_SEND)
      peer_mode |= SHUT_RCV;
    o->shut |= peer_mode;
  }
  changed(p);
  rt_unlock(&p->lock);
  file_put(f);
  return 0;
}

/* An int option out: Linux copies min(len, 4) bytes. */
static int put_int(void *val, uint32_t *len, int v) {
  uint32_t n = MIN(*len, (uint32_t)sizeof(v));
  memcpy(val, &v, n);
  *len = n;
  return 0;
}

int moat_getsockopt(int fd, int level, int name, void *val, uint32_t *len) {
  struct file *f;
  int rc = sock_lookup(fd, &f);
  if (rc < 0)
    return rc;
  int me;
  struct upair *p = pair_of(f, &me);
  if ((int32_t)*len < 0) {
    rc = -LINUX_EINVAL;
  } else if (level != LINUX_SOL_SOCKET) {
    rc = -LINUX_EOPNOTSUPP;
  } else {
    switch (name) {
    case LINUX_SO_TYPE:
      rc = put_int(val, len, p->type);
      break;
    case LINUX_SO_DOMAIN:
      rc = put_int(val, len, LINUX_AF_UNIX);
      break;
    case LINUX_SO_PROTOCOL:
      rc = put_int(val, len, p->protocol);
      break;
    case LINUX_SO_ERROR:
    case LINUX_SO_ACCEPTCONN:
      rc = put_int(val, len, 0);
      break;
    case LINUX_SO_SNDBUF:
    case LINUX_SO_RCVBUF:
      rt_lock(&p->lock);
      rc = put_int(val, len,
                   (int)(name == LINUX_SO_SNDBUF ? p->end[me].sndbuf
                                                 : p->end[me].rcvbuf));
      rt_unlock(&p->lock);
      break;
    case LINUX_SO_PEERCRED: {
      struct linux_ucred c = {.pid = p->pid, .uid = p->uid, .gid = p->gid};
      uint32_t n = MIN(*len, (uint32_t)sizeof(c));
      memcpy(val, &c, n);
      *len = n;
      rc = 0;
      break;
    }
    default:
      rc = -LINUX_ENOPROTOOPT;
      break;
    }
  }
  file_put(f);
  return rc;
}

int moat_setsockopt(int fd, int level, int name, const void *val,
                    uint32_t len) {
  struct file *f;
  int rc = sock_lookup(fd, &f);
  if (rc < 0)
    return rc;
  int me;
  struct upair *p = pair_of(f, &me);
  if (level != LINUX_SOL_SOCKET) {
    rc = -LINUX_EOPNOTSUPP;
  } else if (name == LINUX_SO_SNDBUF || name == LINUX_SO_RCVBUF) {
    if (len < sizeof(int)) {
      rc = -LINUX_EINVAL;
    } else {
      int v;
      memcpy(&v, val, sizeof(v));
      uint32_t u = (uint32_t)MIN((uint32_t)(v < 0 ? 0 : v), SOCK_BUF_MAX) * 2;
      rt_lock(&p->lock);
      if (name == LINUX_SO_SNDBUF)
        p->end[me].sndbuf = MAX(u, SOCK_MIN_SNDBUF);
      else
        p->end[me].rcvbuf = MAX(u, SOCK_MIN_RCVBUF);
      changed(p);
      rt_unlock(&p->lock);
      rc = 0;
    }
  } else {
    rc = -LINUX_ENOPROTOOPT;
  }
  file_put(f);
  return rc;
}

/* getsockname/getpeername of an unnamed AF_UNIX socket: sun_family only. */
int moat_sock_name(int fd, bool peer, void *addr, uint32_t *len) {
  struct file *f;
  int rc = sock_lookup(fd, &f);
  if (rc < 0)
    return rc;
  int me;
  struct upair *p = pair_of(f, &me);
  rt_lock(&p->lock);
  bool gone = p->end[me].peer_gone; /* a datagram socket's peer was dropped */
  rt_unlock(&p->lock);
  file_put(f);
  if (peer && gone)
    return -LINUX_ENOTCONN;
  if ((int32_t)*len < 0)
    return -LINUX_EINVAL;
  uint16_t fam = LINUX_AF_UNIX;
  memcpy(addr, &fam, MIN(*len, (uint32_t)sizeof(fam)));
  *len = sizeof(fam);
  return 0;
}
