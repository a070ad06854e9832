/* plat_net_*: the host network as the sandbox's side sees it. The
 * sandbox's host processes can make no host socket (no socket, connect
 * or bind on the allowlist; Landlock denies TCP connect and bind; an
 * empty network namespace): they ask the broker (broker.c) over the
 * channel, one request at a time under a lock shared by every process of
 * the sandbox, and get a connected host socket as SCM_RIGHTS. After
 * that, data moves with sendto/recvfrom (no address: the socket is
 * connected, so the destination is the broker's), ppoll and shutdown on
 * the host fd, which the filter allows only for fds 3 and above.
 *
 * A handle is the broker's id for the socket, the same in every process.
 * Host fds are per process: each process keeps its own fd per handle in
 * g_local (copied by fork with the fds themselves) and asks the broker
 * for a copy (BROKER_DUP) of a handle it does not hold yet. Runs after
 * lockdown: no libc, only hsys. */
#include <sys/socket.h>

#include "broker.h"
#include "linux_platform.h"
#include "plat_linux.h"

#define LOCAL_SLOTS 1024
#define NET_MAX_LEN LINUX_MAX_RW_COUNT

/* In memory shared by every process of the sandbox (mapped before
 * lockdown): the channel's lock and the request counter. The lock word
 * is the holder's host tid (0: free), holder_tgid its process (0 while
 * not yet known), so that a waiter can tell a holder the host killed in
 * the middle of a request (tgkill finds no such thread) and take the
 * lock over instead of waiting forever. */
struct net_shared {
  uint32_t lock;
  uint32_t holder_tgid;
  uint32_t seq;
};
static struct net_shared *g_net_shared;

/* This process's own host fd per handle, open addressing from
 * id % LOCAL_SLOTS, under a per-process lock (threads share it). An
 * entry stays until plat_net_close in this process; entries of sockets
 * other processes closed go only when the table is full (the other
 * socket's fd is fetched again from the broker if it is ever used). */
static struct {
  int32_t id;
  int fd;
} g_local[LOCAL_SLOTS];
static uint32_t g_local_lock;

static void local_lock(void) {
  while (__atomic_exchange_n(&g_local_lock, 1, __ATOMIC_ACQUIRE))
    hsys6(HNR_futex, &g_local_lock, 0 /* FUTEX_WAIT */, 1, 0, 0, 0);
}

static void local_unlock(void) {
  __atomic_store_n(&g_local_lock, 0, __ATOMIC_RELEASE);
  hsys6(HNR_futex, &g_local_lock, 1 /* FUTEX_WAKE */, 1, 0, 0, 0);
}

/* The slot of id, or -1 (lock held). */
static int local_find(int32_t id) {
  for (int i = 0; i < LOCAL_SLOTS; i++) {
    int slot = (int)(((uint32_t)id + (uint32_t)i) % LOCAL_SLOTS);
    if (g_local[slot].id == id)
      return slot;
    if (g_local[slot].id == 0)
      return -1;
  }
  return -1;
}

int plat_linux_net_prepare_shared(void *page) {
  g_net_shared = page;
  return 0;
}

#define LOCK_CHECK_NS 1000000000 /* look at the holder after a second */

static void chan_lock(void) {
  struct net_shared *n = g_net_shared;
  uint64_t me = plat_ctx_self();
  uint32_t tid = (uint32_t)me ? (uint32_t)me : 1, tgid = (uint32_t)(me >> 32);
  for (;;) {
    uint32_t c = 0;
    if (__atomic_compare_exchange_n(&n->lock, &c, tid, false, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED)) {
      __atomic_store_n(&n->holder_tgid, tgid, __ATOMIC_RELEASE);
      return;
    }
    struct linux_timespec ts = {LOCK_CHECK_NS / 1000000000,
                                LOCK_CHECK_NS % 1000000000};
    long r =
        hsys6(HNR_futex, &n->lock, 0 /* FUTEX_WAIT, shared */, c, &ts, 0, 0);
    if (r != -LINUX_ETIMEDOUT)
      continue;
    /* The holder's tgid is cleared before a release and set after an
     * acquisition, so one read between two equal reads of the lock word
     * is that holder's. A live holder only gets a harmless kick. */
    uint32_t t1 = __atomic_load_n(&n->lock, __ATOMIC_ACQUIRE);
    uint32_t g = __atomic_load_n(&n->holder_tgid, __ATOMIC_ACQUIRE);
    if (!t1 || !g || __atomic_load_n(&n->lock, __ATOMIC_ACQUIRE) != t1)
      continue;
    if (hsys3(HNR_tgkill, g, t1, PLAT_SIG_KICK) == -LINUX_ESRCH &&
        __atomic_compare_exchange_n(&n->lock, &t1, tid, false, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED)) {
      __atomic_store_n(&n->holder_tgid, tgid, __ATOMIC_RELEASE);
      return;
    }
  }
}

static void chan_unlock(void) {
  struct net_shared *n = g_net_shared;
  __atomic_store_n(&n->holder_tgid, 0, __ATOMIC_RELEASE);
  __atomic_store_n(&n->lock, 0, __ATOMIC_RELEASE);
  hsys6(HNR_futex, &n->lock, 1 /* FUTEX_WAKE, shared */, 1, 0, 0, 0);
}

/* One request and its reply; *out_fd the socket passed with it (-1:
 * none). Replies to an earlier request whose process gave up (it died)
 * are skipped, their fd closed. The exchange is finished even when the
 * thread is kicked: the broker answers at once (it never waits for a
 * host connect). */
/* Bytes that go after a request (out) or come after its reply (in: *got
 * of them, cut to len). */
struct broker_extra {
  const void *out;
  size_t out_len;
  void *in;
  size_t in_len, got;
};

static int broker_call_x(struct broker_req *q, struct broker_rep *rep,
                         int *out_fd, struct broker_extra *x) {
  int ch = plat_linux_net_channel();
  *out_fd = -1;
  if (ch < 0 || !g_net_shared)
    return -LINUX_ENETUNREACH;
  chan_lock();
  q->magic = BROKER_MAGIC;
  q->seq = __atomic_add_fetch(&g_net_shared->seq, 1, __ATOMIC_RELAXED);
  struct iovec iov[2] = {{q, sizeof(*q)},
                         {(void *)(x ? x->out : 0), x ? x->out_len : 0}};
  struct msghdr m = {.msg_iov = iov, .msg_iovlen = x && x->out_len ? 2 : 1};
  long r;
  do
    r = hsys3(HNR_sendmsg, ch, &m, MSG_NOSIGNAL);
  while (r == -LINUX_EINTR);
  int err = r < 0 ? (int)r : 0;
  while (!err) {
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int))];
    } cm;
    struct iovec riov[2] = {{rep, sizeof(*rep)},
                            {x ? x->in : 0, x ? x->in_len : 0}};
    struct msghdr rm = {.msg_iov = riov,
                        .msg_iovlen = x && x->in_len ? 2 : 1,
                        .msg_control = cm.buf,
                        .msg_controllen = sizeof(cm.buf)};
    for (size_t i = 0; i < sizeof(cm.buf); i++)
      cm.buf[i] = 0;
    r = hsys3(HNR_recvmsg, ch, &rm, MSG_CMSG_CLOEXEC);
    if (r == -LINUX_EINTR)
      continue;
    if (r <= 0) {
      err = r == 0 ? -LINUX_ENETUNREACH : (int)r; /* the broker is gone */
      break;
    }
    int fd = -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&rm);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(sizeof(int))) {
      int *p = (int *)(void *)CMSG_DATA(c);
      fd = *p;
    }
    if (r < (long)sizeof(*rep) || (r > (long)sizeof(*rep) && !x) ||
        rep->magic != BROKER_MAGIC || rep->seq != q->seq) {
      if (fd >= 3)
        hsys1(HNR_close, fd);
      continue; /* a stale reply */
    }
    /* The broker is outside the sandbox but still checked: a fd only
     * with success, and a plausible one. */
    if (rep->err > 0 || rep->err < -4095)
      rep->err = -LINUX_EIO;
    bool dgram = q->op == BROKER_DGRAM_RECV || q->op == BROKER_DGRAM_SEND;
    if (rep->err == 0 && fd < 3 && q->op != BROKER_CLOSE && !dgram)
      rep->err = -LINUX_EIO;
    if (dgram && fd >= 3) { /* no socket comes with a datagram */
      hsys1(HNR_close, fd);
      fd = -1;
    }
    if (x)
      x->got = (size_t)r - sizeof(*rep);
    if (rep->err != 0 && fd >= 3) {
      hsys1(HNR_close, fd);
      fd = -1;
    }
    *out_fd = fd;
    err = rep->err;
    break;
  }
  chan_unlock();
  return err;
}

static int broker_call(struct broker_req *q, struct broker_rep *rep,
                       int *out_fd) {
  return broker_call_x(q, rep, out_fd, NULL);
}

/* Record this process's fd for id (lock held); another thread may have
 * done it meanwhile: then ours is closed and theirs used. */
static int local_put(int32_t id, int fd) {
  int slot = local_find(id);
  if (slot >= 0) {
    if (g_local[slot].fd != fd)
      hsys1(HNR_close, fd);
    return g_local[slot].fd;
  }
  int start = (int)((uint32_t)id % LOCAL_SLOTS), victim = start;
  for (int i = 0; i < LOCAL_SLOTS; i++) {
    slot = (start + i) % LOCAL_SLOTS;
    if (g_local[slot].id <= 0)
      break;
    slot = -1;
  }
  if (slot < 0) { /* full: drop the first entry's copy */
    slot = victim;
    hsys1(HNR_close, g_local[slot].fd);
  }
  g_local[slot].id = id;
  g_local[slot].fd = fd;
  return fd;
}

/* This process's host fd for a handle, fetched from the broker the first
 * time (without the lock held). */
static int local_fd(int handle) {
  if (handle <= 0)
    return -LINUX_EBADF;
  local_lock();
  int slot = local_find(handle);
  int fd = slot >= 0 ? g_local[slot].fd : -1;
  local_unlock();
  if (fd >= 0)
    return fd;
  struct broker_req q = {.op = BROKER_DUP, .id = handle};
  struct broker_rep rep;
  int err = broker_call(&q, &rep, &fd);
  if (err)
    return err == -LINUX_ENETUNREACH ? -LINUX_EBADF : err;
  local_lock();
  fd = local_put(handle, fd);
  local_unlock();
  return fd;
}

static void from_rep(uint16_t family, uint16_t port, const uint8_t *addr,
                     struct plat_net_addr *out) {
  if (!out)
    return;
  out->family =
      family == LINUX_AF_INET || family == LINUX_AF_INET6 ? family : 0;
  out->port = port;
  for (int i = 0; i < 16; i++)
    out->addr[i] = addr[i];
}

static int new_socket(struct broker_req *q, int *out_handle,
                      struct plat_net_addr *out_local,
                      struct plat_net_addr *out_peer, bool *out_pending) {
  struct broker_rep rep;
  int fd;
  int err = broker_call(q, &rep, &fd);
  if (err)
    return err;
  if (rep.id <= 0) {
    hsys1(HNR_close, fd);
    return -LINUX_EIO;
  }
  local_lock();
  local_put(rep.id, fd);
  local_unlock();
  *out_handle = rep.id;
  if (out_pending)
    *out_pending = rep.flags & BROKER_PENDING;
  from_rep(rep.lfamily, rep.lport, rep.laddr, out_local);
  from_rep(rep.pfamily, rep.pport, rep.paddr, out_peer);
  return 0;
}

static bool kicked(void);

/* Wait for a connection under way on fd: 0 connected, -EINTR kicked, or
 * the connect's error. */
static int wait_connected(int fd) {
  for (;;) {
    struct {
      int32_t fd;
      int16_t events, revents;
    } pfd = {fd, 0x004 /* POLLOUT */, 0};
    long r = hsys4(HNR_ppoll, &pfd, 1, 0, 0);
    if (r == -LINUX_EINTR && kicked())
      return -LINUX_EINTR;
    if (r <= 0)
      continue;
    r = hsys6(HNR_sendto, fd, 0, 0, MSG_NOSIGNAL | MSG_DONTWAIT, 0, 0);
    if (r != -LINUX_EAGAIN)
      return r > 0 ? 0 : (int)r;
  }
}

int plat_net_connect(int proto, const struct plat_net_addr *dst, unsigned flags,
                     int *out_handle, struct plat_net_addr *out_local,
                     struct plat_net_addr *out_peer) {
  plat_count(PF_NET_CONNECT);
  if (proto != PLAT_NET_TCP && proto != PLAT_NET_UDP)
    return -LINUX_EINVAL;
  if (dst->family != LINUX_AF_INET && dst->family != LINUX_AF_INET6)
    return -LINUX_EINVAL;
  struct broker_req q = {.op = BROKER_CONNECT,
                         .proto = (uint8_t)proto,
                         .family = dst->family,
                         .port = dst->port};
  for (int i = 0; i < 16; i++)
    q.addr[i] = dst->addr[i];
  bool pending;
  int err = new_socket(&q, out_handle, out_local, out_peer, &pending);
  if (err || !pending)
    return err;
  if (flags & PLAT_NET_DONTWAIT)
    return -LINUX_EINPROGRESS;
  /* Waited for outside the channel's lock: the others go on meanwhile. */
  int fd = local_fd(*out_handle);
  err = fd < 0 ? fd : wait_connected(fd);
  if (err && err != -LINUX_EINTR) {
    plat_net_close(*out_handle);
    *out_handle = 0;
  }
  return err;
}

int plat_net_accept(int index, int *out_handle,
                    struct plat_net_addr *out_peer) {
  plat_count(PF_NET_ACCEPT);
  if (index < 0)
    return -LINUX_EINVAL;
  struct broker_req q = {.op = BROKER_ACCEPT, .id = index};
  return new_socket(&q, out_handle, NULL, out_peer, NULL);
}

/* The handle of published port index's listening socket (for waits
 * only: the sandbox may poll it, never accept on it), asked of the
 * broker once per process. */
#define LISTENERS_CACHED 64
static int g_listener[LISTENERS_CACHED];

static int listener_handle(int index) {
  if (index < 0)
    return -LINUX_EINVAL;
  if (index < LISTENERS_CACHED && g_listener[index] > 0)
    return g_listener[index];
  struct broker_req q = {.op = BROKER_LISTENER, .id = index};
  int handle;
  int err = new_socket(&q, &handle, NULL, NULL, NULL);
  if (err)
    return err;
  if (index < LISTENERS_CACHED)
    g_listener[index] = handle;
  return handle;
}

int plat_linux_io_fd(int kind, int handle) {
  if (kind == PLAT_IO_STREAM)
    return handle >= 0 && handle <= 2 ? handle : -LINUX_EBADF;
  if (kind == PLAT_IO_PUBLISHED) {
    handle = listener_handle(handle);
    if (handle < 0)
      return -LINUX_EBADF;
  } else if (kind != PLAT_IO_NET) {
    return -LINUX_EINVAL;
  }
  return local_fd(handle);
}

static bool kicked(void) {
  struct plat_thread *t = plat_current_thread();
  return t && __atomic_load_n(&t->kicked, __ATOMIC_SEQ_CST);
}

long plat_linux_net_send(int handle, const void *buf, size_t len,
                         unsigned flags) {
  plat_count(PF_NET_SEND);
  int fd = local_fd(handle);
  if (fd < 0)
    return fd;
  if (len > NET_MAX_LEN)
    len = NET_MAX_LEN;
  int hflags = MSG_NOSIGNAL | ((flags & PLAT_NET_DONTWAIT) ? MSG_DONTWAIT : 0);
  long r;
  do
    r = hsys6(HNR_sendto, fd, buf, len, hflags, 0, 0);
  while (r == -LINUX_EINTR && !kicked());
  if (r > (long)len)
    return -LINUX_EIO;
  return r;
}

long plat_linux_net_recv(int handle, void *buf, size_t len, unsigned flags) {
  plat_count(PF_NET_RECV);
  int fd = local_fd(handle);
  if (fd < 0)
    return fd;
  if (len > NET_MAX_LEN)
    len = NET_MAX_LEN;
  int hflags = ((flags & PLAT_NET_DONTWAIT) ? MSG_DONTWAIT : 0) |
               ((flags & PLAT_NET_PEEK) ? MSG_PEEK : 0);
  long r;
  do
    r = hsys6(HNR_recvfrom, fd, buf, len, hflags, 0, 0);
  while (r == -LINUX_EINTR && !kicked());
  if (r > (long)len)
    return -LINUX_EIO;
  return r;
}

int plat_net_shutdown(int handle, int how) {
  plat_count(PF_NET_SHUTDOWN);
  if (how < 0 || how > 2)
    return -LINUX_EINVAL;
  int fd = local_fd(handle);
  if (fd < 0)
    return fd;
  return (int)hsys2(HNR_shutdown, fd, how);
}

int plat_net_close(int handle) {
  plat_count(PF_NET_CLOSE);
  if (handle <= 0)
    return -LINUX_EBADF;
  local_lock();
  int slot = local_find(handle);
  if (slot >= 0) {
    hsys1(HNR_close, g_local[slot].fd);
    /* a tombstone (-1) keeps the probe chains of the others intact */
    g_local[slot].id = -1;
    g_local[slot].fd = -1;
  }
  local_unlock();
  /* The broker shuts its copy down both ways: the connection ends for
   * every process that still holds a copy. */
  struct broker_req q = {.op = BROKER_CLOSE, .id = handle};
  struct broker_rep rep;
  int fd;
  int err = broker_call(&q, &rep, &fd);
  if (fd >= 3)
    hsys1(HNR_close, fd);
  return err == -LINUX_ENETUNREACH ? -LINUX_EBADF : err;
}

long plat_net_dgram_recv(int index, void *buf, size_t len, unsigned flags,
                         struct plat_net_addr *out_from) {
  plat_count(PF_NET_DGRAM);
  if (index < 0 || (flags & ~(unsigned)(PLAT_NET_DONTWAIT | PLAT_NET_PEEK)))
    return -LINUX_EINVAL;
  struct broker_req q = {.op = BROKER_DGRAM_RECV, .id = index};
  if (flags & PLAT_NET_PEEK)
    q.flags = BROKER_DGRAM_PEEK;
  struct broker_rep rep;
  struct broker_extra x = {.in = buf, .in_len = len};
  int fd;
  int err = broker_call_x(&q, &rep, &fd, &x);
  if (err)
    return err == -LINUX_ENETUNREACH ? -LINUX_EINVAL : err;
  if (rep.id < 0 || rep.id > (int32_t)BROKER_DGRAM_MAX ||
      x.got != (len < (size_t)rep.id ? len : (size_t)rep.id))
    return -LINUX_EIO;
  from_rep(rep.pfamily, rep.pport, rep.paddr, out_from);
  return rep.id;
}

long plat_net_dgram_send(int index, const void *buf, size_t len,
                         const struct plat_net_addr *to) {
  plat_count(PF_NET_DGRAM);
  if (index < 0 || !to ||
      (to->family != LINUX_AF_INET && to->family != LINUX_AF_INET6))
    return -LINUX_EINVAL;
  if (len > BROKER_DGRAM_MAX)
    return -LINUX_EMSGSIZE;
  struct broker_req q = {.op = BROKER_DGRAM_SEND,
                         .id = index,
                         .family = to->family,
                         .port = to->port};
  for (int i = 0; i < 16; i++)
    q.addr[i] = to->addr[i];
  struct broker_rep rep;
  struct broker_extra x = {.out = buf, .out_len = len};
  int fd;
  int err = broker_call_x(&q, &rep, &fd, &x);
  if (err)
    return err;
  if (rep.id < 0 || (size_t)rep.id > len)
    return -LINUX_EIO;
  return rep.id;
}
