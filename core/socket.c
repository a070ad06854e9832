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
 * socket(2) sockets, names, listeners and connections are
 * core/sock_conn.c's (socket.h holds the objects). Not yet: MSG_OOB. */
#include "moat/moat.h"
#include "hostsock.h"
#include "poll.h"
#include "socket.h"
#include "task.h"
#include "vfs_impl.h"

#define RING_SIZE 212992u /* Linux's default wmem_default */
#define SOCK_BUF_DEFAULT 212992u
#define SOCK_BUF_MAX 212992u  /* Linux's default wmem_max/rmem_max */
#define SOCK_MIN_SNDBUF 4608u /* 2 * (2048 + sizeof(struct sk_buff)) */
#define SOCK_MIN_RCVBUF 2304u
#define REC_HDR 4u
#define REC_SCM 0x80000000u /* a record header's flag: control data queued */
#define REC_LEN(h) ((h) & ~REC_SCM)
/* Timeouts are kept in jiffies of a kernel with HZ=250 (this host's), so
 * getsockopt reports them rounded as Linux does. */
#define SOCK_HZ 250
#define NS_PER_JIFFY (1000000000ll / SOCK_HZ)
#define OVERFLOW_ID 65534u /* an id that does not map: overflowuid */
#define SOCKFS_MAGIC 0x534f434bull
#define HOST_POLL_STEP_NS 5000000 /* poll.c's step for the host's streams */

/* Control data queued with a message: passed files (each holds a
 * reference while in flight) and credentials. On a datagram or seqpacket
 * socket it belongs to the record whose header has REC_SCM set (the
 * end's list is in record order). On a stream it covers the bytes
 * [pos, pos + len) of what the end ever received: a receive stops after
 * the bytes that carry files, and with SO_PASSCRED does not glue bytes of
 * different credentials (Linux's unix_stream_read_generic). */
struct uscm {
  struct uscm *next;
  uint64_t pos;
  uint32_t len;
  bool has_creds;
  bool had_files; /* a stream run that carried files never merges */
  struct linux_ucred creds;
  int nfiles;
  uint32_t charge; /* what it counts against the send buffer, queued */
  struct file *files[];
};

static void sock_gc(void);

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

/* ---- control data ------------------------------------------------------ */

/* Control data takes (d 1) or drops (d -1) a reference to f: counted
 * for a socket, so the garbage collector can tell sockets that only
 * control data holds. Called before the file_get is dropped and after
 * it is taken. */
static void inflight_adj(struct file *f, int d) {
  __atomic_add_fetch(&vfs_shared()->files_inflight, (uint32_t)d,
                     __ATOMIC_SEQ_CST);
  if (!sock_file(f))
    return;
  struct uend *e = f->private;
  __atomic_add_fetch(&e->inflight, (uint32_t)d, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&vfs_shared()->sock_inflight, (uint32_t)d,
                     __ATOMIC_SEQ_CST);
}

static struct uscm *scm_alloc(int nfiles) {
  return kzalloc(sizeof(struct uscm) + (size_t)nfiles * sizeof(struct file *));
}

/* Free a list of control data, closing the files in flight. No socket
 * lock held: the last reference to a passed socket releases it. */
static void scm_free(struct uscm *s) {
  while (s) {
    struct uscm *n = s->next;
    for (int i = 0; i < s->nfiles; i++) {
      inflight_adj(s->files[i], -1);
      file_put(s->files[i]);
    }
    kfree(s);
    s = n;
  }
}

/* Control data queued at an end counts against the sender's buffer
 * beside the bytes (as Linux counts each message's truesize), so queued
 * files cannot grow the arena without bound. */
static uint32_t scm_charge(const struct uscm *s) {
  return (uint32_t)(sizeof(*s) + (size_t)s->nfiles * sizeof(struct file *));
}

static void scm_append(struct uend *e, struct uscm *s) {
  s->charge = scm_charge(s);
  e->scm_bytes += s->charge;
  s->next = NULL;
  if (e->scm_tail)
    e->scm_tail->next = s;
  else
    e->scm_head = s;
  e->scm_tail = s;
}

static struct uscm *scm_pop(struct uend *e) {
  struct uscm *s = e->scm_head;
  if (s) {
    e->scm_head = s->next;
    if (!e->scm_head)
      e->scm_tail = NULL;
    s->next = NULL;
    e->scm_bytes -= s->charge;
  }
  return s;
}

/* A new reference to each file of s (MSG_PEEK hands out descriptors too,
 * as Linux's unix_peek_fds). */
static struct uscm *scm_dup_files(const struct uscm *s) {
  struct uscm *d = scm_alloc(s->nfiles);
  if (!d)
    return NULL;
  for (int i = 0; i < s->nfiles; i++) {
    d->files[i] = file_get(s->files[i]);
    inflight_adj(d->files[i], 1);
  }
  d->nfiles = s->nfiles;
  return d;
}

/* Move the files of s out (a stream receive that touched its bytes). */
static struct uscm *scm_take_files(struct uscm *s) {
  struct uscm *d = scm_alloc(s->nfiles);
  if (!d)
    return NULL;
  memcpy(d->files, s->files, (size_t)s->nfiles * sizeof(struct file *));
  d->nfiles = s->nfiles;
  s->nfiles = 0;
  return d;
}

static bool same_creds(const struct linux_ucred *a,
                       const struct linux_ucred *b) {
  return a->pid == b->pid && a->uid == b->uid && a->gid == b->gid;
}

/* The caller's credentials as Linux attaches them when nobody sent any
 * (maybe_add_creds): its pid and real ids. */
static struct linux_ucred own_creds(void) {
  struct linux_ucred c = {0, OVERFLOW_ID, OVERFLOW_ID};
  struct task *t = task_current();
  if (t) {
    c.pid = t->proc->pid;
    c.uid = t->proc->cred.ruid;
    c.gid = t->proc->cred.rgid;
  }
  return c;
}

/* What a receiver with SO_PASSCRED sees for bytes sent without
 * credentials: no pid, ids that do not map. */
static const struct linux_ucred no_creds = {0, OVERFLOW_ID, OVERFLOW_ID};

/* The control data of a send from ctl: a reference to each file behind
 * its descriptors (-EBADF for one that is not open; O_PATH ones travel
 * too, as Linux's fget_raw) and credentials checked as Linux's
 * scm_check_creds: one's own pid and ids, any for euid 0 (the sandbox's
 * root stands for CAP_SYS_ADMIN, CAP_SETUID and CAP_SETGID). */
static int scm_from_ctl(const struct moat_sock_ctl *ctl, struct uscm **out) {
  *out = NULL;
  if (!ctl || (ctl->nfds <= 0 && !ctl->has_creds))
    return 0;
  if (ctl->nfds > LINUX_SCM_MAX_FD)
    return -LINUX_EINVAL;
  int n = ctl->nfds > 0 ? ctl->nfds : 0;
  /* Linux's too_many_unix_fds: more files in flight than the sender's
   * RLIMIT_NOFILE, unless privileged. Counted for the whole sandbox (one
   * user, usually) rather than per user. */
  struct fd_table *fdt = proc_current_fdt();
  if (n && fdt &&
      __atomic_load_n(&vfs_shared()->files_inflight, __ATOMIC_SEQ_CST) >
          fdt_get_max(fdt) &&
      !moat_capable(LINUX_CAP_SYS_RESOURCE) &&
      !moat_capable(LINUX_CAP_SYS_ADMIN))
    return -LINUX_ETOOMANYREFS;
  struct uscm *s = scm_alloc(n);
  if (!s)
    return -LINUX_ENOMEM;
  for (int i = 0; i < n; i++) {
    struct file *f = fdt ? fdt_lookup(fdt, ctl->fds[i]) : NULL;
    if (!f) {
      scm_free(s);
      return -LINUX_EBADF;
    }
    s->files[s->nfiles++] = f;
    inflight_adj(f, 1);
  }
  s->had_files = s->nfiles > 0;
  if (ctl->has_creds) {
    const struct linux_ucred *u = &ctl->creds;
    struct task *t = task_current();
    const struct task_cred *c = &t->proc->cred;
    /* Linux's scm_check_creds: another pid takes CAP_SYS_ADMIN, another
     * uid CAP_SETUID, another gid CAP_SETGID. */
    int rc = 0;
    if (u->uid == UINT32_MAX || u->gid == UINT32_MAX)
      rc = -LINUX_EINVAL;
    else if ((u->pid != t->proc->pid && !moat_capable(LINUX_CAP_SYS_ADMIN)) ||
             (u->uid != c->ruid && u->uid != c->euid && u->uid != c->suid &&
              !moat_capable(LINUX_CAP_SETUID)) ||
             (u->gid != c->rgid && u->gid != c->egid && u->gid != c->sgid &&
              !moat_capable(LINUX_CAP_SETGID)))
      rc = -LINUX_EPERM;
    else if (!task_find_proc_any(u->pid))
      rc = -LINUX_ESRCH;
    if (rc) {
      scm_free(s);
      return rc;
    }
    s->has_creds = true;
    s->creds = *u;
  }
  *out = s;
  return 0;
}

/* Note the control data of a stream send's next n bytes (not yet counted
 * in e->count) at e: *s (the files and creds given, used for the first
 * chunk only, then NULL) or just the credentials cr (NULL: none). Plain
 * credentials extend the run before when it has the same ones. false
 * when out of memory. */
static bool stream_mark(struct uend *e, struct uscm **s,
                        const struct linux_ucred *cr, uint32_t n) {
  if (!*s && !cr)
    return true;
  uint64_t at = e->rx_pos + e->count;
  struct uscm *t = e->scm_tail;
  if ((!*s || !(*s)->nfiles) && cr && t && !t->had_files && t->has_creds &&
      t->pos + t->len == at && same_creds(&t->creds, cr)) {
    t->len += n;
    kfree(*s);
    *s = NULL;
    return true;
  }
  struct uscm *m = *s ? *s : scm_alloc(0);
  if (!m)
    return false;
  *s = NULL;
  m->pos = at;
  m->len = n;
  if (cr) {
    m->has_creds = true;
    m->creds = *cr;
  }
  scm_append(e, m);
  return true;
}

/* Drop the stream runs wholly received (their files went with the first
 * receive that touched them). */
static void stream_trim(struct uend *e) {
  while (e->scm_head && e->scm_head->pos + e->scm_head->len <= e->rx_pos &&
         !e->scm_head->nfiles)
    kfree(scm_pop(e));
}

/* The run holding stream byte at, or NULL for bytes without control data;
 * *end is where that run of bytes ends. */
static struct uscm *stream_run(struct uend *e, uint64_t at, uint64_t *end) {
  for (struct uscm *r = e->scm_head; r; r = r->next) {
    if (r->pos + r->len <= at)
      continue;
    if (r->pos <= at) {
      *end = r->pos + r->len;
      return r;
    }
    *end = r->pos;
    return NULL;
  }
  *end = UINT64_MAX;
  return NULL;
}

/* ---- send and receive ------------------------------------------------- */

static bool is_stream(const struct upair *p) {
  return p->type == LINUX_SOCK_STREAM;
}

/* Bytes end `to` may still take from the sender `from`: its ring, bounded
 * by the sender's send buffer as Linux bounds sk_wmem_alloc. */
static uint32_t room_for(const struct uend *from, const struct uend *to) {
  uint32_t cap = MIN(from->sndbuf, RING_SIZE);
  uint32_t used = to->count + to->scm_bytes;
  return used >= cap ? 0 : cap - used;
}

/* The deadline of a blocking call from a timeout in jiffies: 0 none. */
static int64_t deadline_of(int64_t timeo_j) {
  if (timeo_j <= 0)
    return 0;
  return rt_now_ns() + timeo_j * NS_PER_JIFFY;
}

/* Sleep on the pair until something changes or the deadline passes
 * (-EAGAIN, what Linux answers for SO_RCVTIMEO/SO_SNDTIMEO). A signal:
 * -EINTR for an untimed wait (restarted under SA_RESTART), one never
 * restarted for a timed one (sock_intr_errno). */
static int sock_wait(struct upair *p, int64_t deadline) {
  if (deadline && rt_now_ns() >= deadline)
    return -LINUX_EAGAIN;
  int rc = poll_sleep_on_until(p, &p->lock, deadline);
  if (rc < 0)
    return deadline ? -MOAT_EINTR_TIMED : -LINUX_EINTR;
  return 0;
}

/* Send to the connected peer, or to target (a datagram socket's
 * addressee or connected peer, whose pair the caller holds a reference
 * on): then it is target's pair lock that is held. from: a datagram's
 * sender address (NULL: the sender's name). */
/* ---- the host network (core/hostsock.c) ---------------------------------
 * An end with a host connection (e->host, made by sock_remote_connect)
 * sends, receives, polls and shuts down there; no control data crosses
 * to the host. */

static long host_send(struct file *f, struct uend *e,
                      const struct linux_iovec *iov, int iovcnt, int flags,
                      const struct moat_sock_ctl *ctl) {
  if (ctl && (ctl->nfds > 0 || ctl->has_creds))
    return -LINUX_EOPNOTSUPP;
  if (flags & LINUX_MSG_OOB)
    return -LINUX_EOPNOTSUPP;
  if (e->state == SST_CONNECTING) {
    int rc = sock_remote_state(e);
    if (rc < 0 && rc != -LINUX_EINPROGRESS)
      return rc;
  }
  bool nonblock = (f->flags & LINUX_O_NONBLOCK) || (flags & LINUX_MSG_DONTWAIT);
  long rc = hostsock_send(e->host, iov, iovcnt, flags, nonblock);
  if (rc == -LINUX_EPIPE && !(flags & LINUX_MSG_NOSIGNAL))
    pipe_raise_sigpipe();
  if (rc == -LINUX_EAGAIN)
    epoll_host_drained(f, VFS_POLLOUT);
  return rc;
}

static long host_recv(struct file *f, struct uend *e,
                      const struct linux_iovec *iov, int iovcnt, int flags,
                      int *msg_flags, struct sock_addr *from) {
  bool nonblock = (f->flags & LINUX_O_NONBLOCK) || (flags & LINUX_MSG_DONTWAIT);
  struct hostsock *got = e->host;
  long rc =
      e->pair->type == LINUX_SOCK_DGRAM
          ? hostsock_recv_any(e->host, iov, iovcnt, flags, nonblock, msg_flags,
                              &got)
          : hostsock_recv(e->host, iov, iovcnt, flags, nonblock, msg_flags);
  if (rc == -LINUX_EAGAIN)
    epoll_host_drained(f, VFS_POLLIN);
  if (rc >= 0 && from && e->pair->type == LINUX_SOCK_DGRAM) {
    rt_lock(&e->pair->lock);
    *from = e->peer;
    rt_unlock(&e->pair->lock);
    if (!from->len) { /* a sendto's connection: its host peer */
      uint8_t sa[28];
      uint32_t n = sizeof(sa);
      hostsock_name(got, true, sa, &n);
      memset(from, 0, sizeof(*from));
      if (e->pair->family == LINUX_AF_INET6 && n == 16) { /* v4-mapped */
        uint16_t fam = LINUX_AF_INET6;
        memcpy(from->b, &fam, 2);
        memcpy(from->b + 2, sa + 2, 2);
        from->b[18] = from->b[19] = 0xff;
        memcpy(from->b + 20, sa + 4, 4);
        from->len = 28;
      } else {
        memcpy(from->b, sa, n);
        from->len = n;
      }
    }
  }
  return rc;
}

static long recv_queued(struct file *f, const struct linux_iovec *iov,
                        int iovcnt, int flags, int *msg_flags,
                        struct moat_sock_ctl *ctl, struct sock_addr *from);

/* A UDP socket on published port idx: the sandbox's own datagrams
 * first, then the host's (hostsock_dgram_recv), waiting for either. The
 * host's wake the wait at once (it sleeps in the host, on the published
 * socket); the sandbox's are looked for again every 10 ms. */
#define PUBLISHED_STEP_NS 10000000ll
static long published_recv(struct file *f, struct uend *e, int idx,
                           const struct linux_iovec *iov, int iovcnt, int flags,
                           int *msg_flags, struct moat_sock_ctl *ctl,
                           struct sock_addr *from) {
  bool nonblock = (f->flags & LINUX_O_NONBLOCK) || (flags & LINUX_MSG_DONTWAIT);
  rt_lock(&e->pair->lock);
  int64_t timeo = e->rcvtimeo_j;
  rt_unlock(&e->pair->lock);
  int64_t deadline = deadline_of(timeo);
  if (timeo == 0)
    nonblock = true;
  for (;;) {
    long rc = recv_queued(f, iov, iovcnt, flags | LINUX_MSG_DONTWAIT, msg_flags,
                          ctl, from);
    if (rc != -LINUX_EAGAIN)
      return rc;
    struct plat_net_addr pa;
    *msg_flags = 0;
    rc = hostsock_dgram_recv(idx, iov, iovcnt, flags, msg_flags, &pa);
    if (rc != -LINUX_EAGAIN) {
      if (rc >= 0 && from)
        sock_addr_from_plat(&pa, from);
      return rc;
    }
    if (nonblock) {
      epoll_host_drained(f, VFS_POLLIN);
      return -LINUX_EAGAIN;
    }
    int64_t step = PUBLISHED_STEP_NS;
    if (deadline) {
      int64_t left = deadline - rt_now_ns();
      if (left <= 0)
        return -LINUX_EAGAIN;
      step = MIN(step, left);
    }
    struct plat_io io = {
        .kind = PLAT_IO_PUBLISHED, .events = VFS_POLLIN, .handle = idx};
    if (poll_host_sleep(&io, 1, step) == -LINUX_EINTR)
      return deadline ? -MOAT_EINTR_TIMED : -LINUX_EINTR;
  }
}

long sock_send_to(struct file *f, const struct linux_iovec *iov, int iovcnt,
                  int flags, const struct moat_sock_ctl *ctl,
                  struct uend *target, const struct sock_addr *from) {
  int me;
  struct upair *p = pair_of(f, &me);
  struct uend *src = &p->end[me];
  /* TCP and UDP ignore SCM_RIGHTS and SCM_CREDENTIALS ("semantically in
   * SOL_UNIX", __sock_cmsg_send): nothing travels. */
  if (p->family != LINUX_AF_UNIX)
    ctl = NULL;
  if (src->host && !target) /* a connection on the host network */
    return host_send(f, src, iov, iovcnt, flags, ctl);
  if (!target && p->type == LINUX_SOCK_DGRAM && src->state != SST_PAIR)
    return sock_dgram_send(f, iov, iovcnt, flags, ctl, NULL); /* its dpeer */
  struct uend *dst = target ? target : &p->end[1 - me];
  struct upair *dp = dst->pair;
  bool nonblock = (f->flags & LINUX_O_NONBLOCK) || (flags & LINUX_MSG_DONTWAIT);
  size_t len = iov_total(iov, iovcnt);
  size_t sent = 0;
  long rc = 0;
  bool sigpipe = false;
  if (flags & LINUX_MSG_OOB)
    return -LINUX_EOPNOTSUPP;
  struct uscm *scm;
  rc = scm_from_ctl(ctl, &scm);
  if (rc < 0)
    return rc;
  if (!is_stream(p) && len > src->sndbuf - 32) {
    scm_free(scm);
    return -LINUX_EMSGSIZE;
  }
  rc = sock_conn_check(src, true);
  if (rc < 0) {
    scm_free(scm);
    if (rc == -LINUX_EPIPE && is_stream(p) && !(flags & LINUX_MSG_NOSIGNAL))
      pipe_raise_sigpipe();
    return rc;
  }
  struct linux_ucred own = own_creds();
  rt_lock(&dp->lock);
  int64_t timeo = src->sndtimeo_j;
  int64_t deadline = deadline_of(timeo);
  if (timeo == 0)
    nonblock = true;
  for (;;) {
    if (src->shut & SHUT_SEND) {
      rc = -LINUX_EPIPE;
      /* A reset's error comes first, once (sk_stream_error). */
      if (src->err && !sent && p->family != LINUX_AF_UNIX) {
        rc = -src->err;
        src->err = 0;
      }
      sigpipe = is_stream(p) && rc == -LINUX_EPIPE;
      break;
    }
    if (is_stream(p) && sent == len)
      break; /* a stream's empty send reaches no peer */
    if (dst->dead && is_stream(p) && p->family != LINUX_AF_UNIX) {
      /* TCP to a peer that closed: the bytes go out and are answered
       * with a reset, which arrives in CLOSE_WAIT as EPIPE (tcp_reset). */
      src->shut = SHUT_RCV | SHUT_SEND;
      src->err = LINUX_EPIPE;
      sent = len;
      changed(dp);
      break;
    }
    if (dst->dead) {
      if (p->type == LINUX_SOCK_DGRAM) {
        rc = src->peer_gone ? -LINUX_ENOTCONN : -LINUX_ECONNREFUSED;
        src->peer_gone = true;
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
    uint32_t room = room_for(src, dst);
    size_t need =
        (is_stream(p) ? 1 : len + REC_HDR) + (scm ? scm_charge(scm) : 0);
    /* An empty queue takes any message that passed the EMSGSIZE check. */
    if (room < need && (dst->count || dst->scm_bytes)) {
      if (p->family != LINUX_AF_UNIX && !is_stream(p)) {
        sent = len; /* UDP drops what does not fit */
        break;
      }
      if (nonblock) {
        rc = -LINUX_EAGAIN;
        break;
      }
      rc = sock_wait(dp, deadline);
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
    /* Credentials go with the bytes when given, or when either end asks
     * for them (Linux's maybe_add_creds). */
    const struct linux_ucred *cr = scm && scm->has_creds ? &scm->creds
                                   : (src->passcred || dst->passcred) ? &own
                                                                      : NULL;
    if (is_stream(p)) {
      size_t n = MIN(len - sent, (size_t)room);
      size_t got = ring_put_user(dst, 0, iov, iovcnt, sent, n);
      if (got && !stream_mark(dst, &scm, cr, (uint32_t)got)) {
        rc = -LINUX_ENOBUFS;
        break;
      }
      dst->count += (uint32_t)got;
      sent += got;
      if (got)
        changed(dp);
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
    struct uscm *m = NULL;
    if (scm || cr) {
      m = scm ? scm : scm_alloc(0);
      if (!m) {
        rc = -LINUX_ENOBUFS;
        break;
      }
    }
    if (p->type == LINUX_SOCK_DGRAM &&
        !sock_from_push(dst, from ? from : &src->name)) {
      if (m != scm)
        kfree(m);
      rc = -LINUX_ENOBUFS;
      break;
    }
    if (m) {
      scm = NULL;
      if (cr && !m->has_creds) {
        m->has_creds = true;
        m->creds = *cr;
      }
      scm_append(dst, m);
      hdr |= REC_SCM;
    }
    ring_put_k(dst, &hdr, REC_HDR);
    dst->count += (uint32_t)len;
    dst->nrec++;
    sent = len;
    changed(dp);
    break;
  }
  rt_unlock(&dp->lock);
  scm_free(scm); /* not queued: an error, or an empty stream send */
  if (ctl && ctl->nfds > 0)
    sock_gc(); /* it returns at once while no socket is in flight */
  if (sent)
    return (long)sent;
  if (sigpipe && !(flags & LINUX_MSG_NOSIGNAL))
    pipe_raise_sigpipe();
  if (!is_stream(p) && rc == 0)
    return 0;
  return rc;
}

/* What a receive took beside the bytes. */
struct rx_ctl {
  struct uscm *files; /* passed files, ours to install or close */
  bool creds_set;
  struct linux_ucred creds;
};

/* Hand a receive's control data to ctl (NULL: read(2), recv(2): the
 * files are closed): the credentials when the receiver asked for them,
 * descriptors for as many files as the control buffer and the fd table
 * take (MSG_CTRUNC for the rest, which are closed, as Linux's
 * scm_detach_fds). */
static void rx_deliver(struct rx_ctl *rx, bool want_creds,
                       struct moat_sock_ctl *ctl) {
  if (ctl) {
    ctl->nfds = 0;
    ctl->ctrunc = false;
    ctl->has_creds = want_creds;
    if (want_creds)
      ctl->creds = rx->creds_set ? rx->creds : no_creds;
  }
  struct uscm *s = rx->files;
  if (!s)
    return;
  if (ctl) {
    /* Room after the credentials' message (CMSG_SPACE(12) = 32 bytes,
     * or what is left of the buffer), as scm_max_fds sees it. */
    uint64_t left = ctl->control_len;
    if (want_creds && left >= 16)
      left -= MIN(left, 32u);
    int max = left <= 16 ? 0 : (int)MIN((left - 16) / 4, 1024u);
    struct fd_table *fdt = proc_current_fdt();
    int room = MIN(max, s->nfiles);
    for (int i = 0; fdt && i < room; i++) {
      int fd = fdt_install(fdt, s->files[i], 0, ctl->cloexec);
      if (fd < 0)
        break; /* EMFILE: the rest are dropped */
      ctl->fds[ctl->nfds++] = fd;
    }
    if (ctl->nfds < s->nfiles)
      ctl->ctrunc = true;
  }
  scm_free(s); /* the table holds its own references */
}

/* Receive into iov. *msg_flags gets LINUX_MSG_TRUNC when a record did not
 * fit; *from (when not NULL) a datagram's sender. A UDP socket on a
 * published port (--publish .../udp) also takes the host's datagrams. */
long sock_recv_from(struct file *f, const struct linux_iovec *iov, int iovcnt,
                    int flags, int *msg_flags, struct moat_sock_ctl *ctl,
                    struct sock_addr *from) {
  int me;
  struct upair *p = pair_of(f, &me);
  struct uend *e = &p->end[me];
  if (p->type == LINUX_SOCK_DGRAM && p->family != LINUX_AF_UNIX && !e->host &&
      !(flags & LINUX_MSG_OOB)) {
    int idx = sock_published_index(e);
    if (idx >= 0)
      return published_recv(f, e, idx, iov, iovcnt, flags, msg_flags, ctl,
                            from);
  }
  return recv_queued(f, iov, iovcnt, flags, msg_flags, ctl, from);
}

/* The sandbox's own queue (and a host connection). */
static long recv_queued(struct file *f, const struct linux_iovec *iov,
                        int iovcnt, int flags, int *msg_flags,
                        struct moat_sock_ctl *ctl, struct sock_addr *from) {
  int me;
  struct upair *p = pair_of(f, &me);
  struct uend *e = &p->end[me];
  bool nonblock = (f->flags & LINUX_O_NONBLOCK) || (flags & LINUX_MSG_DONTWAIT);
  bool peek = flags & LINUX_MSG_PEEK;
  bool badbuf = (unsigned)flags & MOAT_MSG_BADBUF;
  size_t len = iov_total(iov, iovcnt);
  size_t got = 0;
  long rc = 0;
  struct rx_ctl rx = {0};
  *msg_flags = 0;
  if (flags & LINUX_MSG_OOB)
    return is_stream(p) ? -LINUX_EINVAL /* no out-of-band byte is queued */
                        : -LINUX_EOPNOTSUPP;
  if (from)
    from->len = 0;
  if (e->host)
    return host_recv(f, e, iov, iovcnt, flags, msg_flags, from);
  rc = sock_conn_check(e, false);
  if (rc < 0)
    return rc;
  rt_lock(&p->lock);
  bool want_creds = e->passcred;
  int64_t timeo = e->rcvtimeo_j;
  int64_t deadline = deadline_of(timeo);
  if (timeo == 0)
    nonblock = true;
  for (;;) {
    if (!is_stream(p) && e->nrec) {
      uint32_t hdr;
      ring_get_k(e, 0, &hdr, REC_HDR);
      uint32_t rlen = REC_LEN(hdr);
      size_t n = MIN((size_t)rlen, len);
      size_t c = badbuf ? 0 : ring_get_user(e, REC_HDR, iov, iovcnt, 0, n);
      if (badbuf || c < n)
        rc = -LINUX_EFAULT;
      else
        rc = (flags & LINUX_MSG_TRUNC) ? (long)rlen : (long)n;
      if (rlen > len)
        *msg_flags |= LINUX_MSG_TRUNC;
      if (p->type == LINUX_SOCK_DGRAM && from)
        sock_from_peek(e, from);
      struct uscm *m = (hdr & REC_SCM) ? e->scm_head : NULL;
      if (m && m->has_creds) {
        rx.creds = m->creds;
        rx.creds_set = true;
      }
      if (peek) {
        if (m && m->nfiles && rc >= 0)
          rx.files = scm_dup_files(m);
      } else {
        /* Taken, even when the copy faulted (Linux dequeues first). */
        if (m)
          rx.files = scm_pop(e);
        ring_drop(e, REC_HDR + rlen);
        e->nrec--;
        if (p->type == LINUX_SOCK_DGRAM)
          sock_from_pop(e, NULL);
        changed(p);
      }
      break;
    }
    if (is_stream(p)) {
      if (len == 0)
        break;
      /* Take what is there past what was taken (a peek takes nothing, so
       * it starts where it stands), one run of control data at a time. */
      uint32_t off = peek ? (uint32_t)got : 0;
      if (e->count > off) {
        if (badbuf) {
          rc = -LINUX_EFAULT;
          break;
        }
        uint64_t at = e->rx_pos + off, end;
        struct uscm *r = stream_run(e, at, &end);
        const struct linux_ucred *cr =
            r && r->has_creds ? &r->creds : &no_creds;
        if (want_creds) {
          /* Never glue bytes of different writers (unix_skb_scm_eq). */
          if (!rx.creds_set) {
            rx.creds = *cr;
            rx.creds_set = true;
          } else if (!same_creds(&rx.creds, cr)) {
            break;
          }
        }
        size_t avail = (size_t)MIN((uint64_t)(e->count - off), end - at);
        size_t n = MIN(len - got, avail);
        size_t c = ring_get_user(e, off, iov, iovcnt, got, n);
        bool files = r && r->nfiles && c;
        if (files)
          rx.files = peek ? scm_dup_files(r) : scm_take_files(r);
        if (!peek && c) {
          ring_drop(e, (uint32_t)c);
          e->rx_pos += c;
          stream_trim(e);
          changed(p);
        }
        got += c;
        if (c < n) {
          rc = -LINUX_EFAULT;
          break;
        }
        /* The bytes that carried files end the receive. */
        if (files || got == len)
          break;
        continue;
      }
      if (got && (!(flags & LINUX_MSG_WAITALL) || peek))
        break;
    }
    if (e->err) { /* a reset or refused connection, reported once */
      if (!got) { /* after bytes it waits for the next call */
        rc = -e->err;
        e->err = 0;
      }
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
    rc = sock_wait(p, deadline);
    if (rc < 0)
      break;
  }
  rt_unlock(&p->lock);
  rx_deliver(&rx, want_creds, ctl);
  if (is_stream(p) && got)
    return (long)got;
  return rc;
}

static long sock_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  (void)pos;
  if (len == 0)
    return 0; /* sock_read_iter: "match SYS5 behaviour", never waits */
  struct linux_iovec iov = {.iov_base = buf, .iov_len = len};
  int mf;
  return sock_recv_from(f, &iov, 1, 0, &mf, NULL, NULL);
}

static long sock_write(struct file *f, const void *buf, size_t len,
                       uint64_t *pos) {
  (void)pos;
  struct linux_iovec iov = {.iov_base = (void *)buf, .iov_len = len};
  return sock_send_to(f, &iov, 1, 0, NULL, NULL, NULL);
}

/* ---- garbage collection of sockets in flight --------------------------
 * A socket whose every reference is held by control data queued at
 * sockets that are themselves unreachable (each end of a pair in the
 * other's queue, both closed) can never be received: Linux's unix_gc
 * frees such cycles, and so does this, at the same moments (a socket
 * released, a socket sent). Candidates are the live ends whose file's
 * references all come from control data; every file queued at a
 * reachable end is reachable, to a fixpoint; the queues of the
 * candidates left are emptied, which releases them. Sound because
 * nobody can reach a candidate's queue (no descriptor, no call in
 * progress: those hold a reference of their own). Lock order: the
 * collector's lock, then a pair's. */

static void pair_list(struct upair *p) {
  struct vfs_shared *v = vfs_shared();
  rt_lock(&v->sock_gc_lock);
  p->gc_prev = NULL;
  p->gc_next = v->sock_pairs;
  if (p->gc_next)
    p->gc_next->gc_prev = p;
  v->sock_pairs = p;
  p->gc_listed = true;
  rt_unlock(&v->sock_gc_lock);
}

static void pair_unlist(struct upair *p) {
  if (!p->gc_listed)
    return;
  struct vfs_shared *v = vfs_shared();
  rt_lock(&v->sock_gc_lock);
  if (p->gc_prev)
    p->gc_prev->gc_next = p->gc_next;
  else
    v->sock_pairs = p->gc_next;
  if (p->gc_next)
    p->gc_next->gc_prev = p->gc_prev;
  p->gc_listed = false;
  rt_unlock(&v->sock_gc_lock);
}

/* Is end e (of p, locked) a candidate: alive, and held only by control
 * data? */
static bool gc_candidate(const struct uend *e) {
  uint32_t in = __atomic_load_n(&e->inflight, __ATOMIC_SEQ_CST);
  return !e->dead && e->file && in &&
         __atomic_load_n(&e->file->refcount, __ATOMIC_SEQ_CST) == in;
}

static void sock_gc(void) {
  struct vfs_shared *v = vfs_shared();
  if (!__atomic_load_n(&v->sock_inflight, __ATOMIC_SEQ_CST))
    return;
  rt_lock(&v->sock_gc_lock);
  if (v->sock_gc_running) {
    rt_unlock(&v->sock_gc_lock);
    return;
  }
  v->sock_gc_running = true;
  /* Pass 1: candidates (flags in the pair, under the collector's lock). */
  for (struct upair *p = v->sock_pairs; p; p = p->gc_next) {
    rt_lock(&p->lock);
    for (int i = 0; i < 2; i++) {
      p->end[i].gc_cand = gc_candidate(&p->end[i]);
      p->end[i].gc_found = 0;
    }
    rt_unlock(&p->lock);
  }
  /* A candidate must be found in queues as often as it is counted: a
   * reference in transit (a receive about to install it, a send about
   * to queue it) is held by a call that can still use it. */
  for (struct upair *p = v->sock_pairs; p; p = p->gc_next) {
    rt_lock(&p->lock);
    for (int i = 0; i < 2; i++)
      for (struct uscm *q = p->end[i].scm_head; q; q = q->next)
        for (int k = 0; k < q->nfiles; k++)
          if (sock_file(q->files[k]))
            ((struct uend *)q->files[k]->private)->gc_found++;
    rt_unlock(&p->lock);
  }
  for (struct upair *p = v->sock_pairs; p; p = p->gc_next)
    for (int i = 0; i < 2; i++) {
      struct uend *e = &p->end[i];
      if (e->gc_cand &&
          e->gc_found != __atomic_load_n(&e->inflight, __ATOMIC_SEQ_CST))
        e->gc_cand = false;
    }
  /* Pass 2: what reachable ends hold is reachable, to a fixpoint. */
  bool changed_any = true;
  while (changed_any) {
    changed_any = false;
    for (struct upair *p = v->sock_pairs; p; p = p->gc_next) {
      rt_lock(&p->lock);
      for (int i = 0; i < 2; i++) {
        struct uend *e = &p->end[i];
        if (e->dead || e->gc_cand || e->gc_scanned)
          continue;
        e->gc_scanned = true;
        for (struct uscm *s = e->scm_head; s; s = s->next)
          for (int k = 0; k < s->nfiles; k++) {
            if (!sock_file(s->files[k]))
              continue;
            struct uend *x = s->files[k]->private;
            /* x's pair may be p itself (locked) or another: the flag
             * is only touched under the collector's lock. */
            if (x->gc_cand) {
              x->gc_cand = false;
              changed_any = true;
            }
          }
      }
      rt_unlock(&p->lock);
    }
  }
  /* Pass 3: empty the queues of the unreachable. */
  struct uscm *kill = NULL;
  for (struct upair *p = v->sock_pairs; p; p = p->gc_next) {
    rt_lock(&p->lock);
    for (int i = 0; i < 2; i++) {
      struct uend *e = &p->end[i];
      e->gc_scanned = false;
      if (!e->gc_cand)
        continue;
      e->gc_cand = false;
      if (e->scm_tail) {
        e->scm_tail->next = kill;
        kill = e->scm_head;
        e->scm_head = e->scm_tail = NULL;
        e->scm_bytes = 0;
      }
    }
    rt_unlock(&p->lock);
  }
  rt_unlock(&v->sock_gc_lock);
  scm_free(kill); /* releases the garbage; their sock_gc calls return */
  rt_lock(&v->sock_gc_lock);
  v->sock_gc_running = false;
  rt_unlock(&v->sock_gc_lock);
}

void upair_get(struct upair *p) {
  __atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
}

/* The last reference frees the pair, closing what is still in flight to
 * an end that never had a file (a connection nobody accepted). */
void upair_put(struct upair *p) {
  if (!p || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL))
    return;
  pair_unlist(p);
  struct uscm *inflight[2];
  for (int i = 0; i < 2; i++) {
    kfree(p->end[i].buf);
    sock_from_clear(&p->end[i]);
    kfree(p->end[i].opts);
    inflight[i] = p->end[i].scm_head;
  }
  kfree(p);
  scm_free(inflight[0]);
  scm_free(inflight[1]);
}

static void sock_release(struct file *f) {
  epoll_file_released(f);
  int me;
  struct upair *p = pair_of(f, &me);
  if (!p)
    return;
  int peer = 1 - me;
  if (p->end[me].host) { /* the host connection ends with the last file */
    hostsock_release(p->end[me].host);
    p->end[me].host = NULL;
  }
  bool tcp = p->family != LINUX_AF_UNIX && is_stream(p);
  bool abort = tcp && sock_linger_abort(&p->end[me]);
  sock_conn_release(&p->end[me]);
  rt_lock(&p->lock);
  struct uend *e = &p->end[me];
  /* TCP's close (tcp_close): unread data or SO_LINGER {1, 0} resets the
   * connection (the peer's next call is ECONNRESET, it polls POLLERR and
   * POLLHUP); otherwise a FIN: the peer reads end of file and may still
   * write, once (then sock_send_to plays the reset it earns). */
  abort = abort || (tcp && e->count);
  e->dead = true;
  e->shut = SHUT_RCV | SHUT_SEND;
  kfree(e->buf);
  e->buf = NULL;
  e->count = e->head = e->nrec = 0;
  sock_from_clear(e);
  /* Files in flight to this end are closed with it. One of them may be
   * the other end of this pair (a socket sent over itself): its release
   * then drops the pair's last reference, so p is not touched after. */
  struct uscm *inflight = e->scm_head;
  e->scm_head = e->scm_tail = NULL;
  e->scm_bytes = 0;
  struct uend *o = &p->end[peer];
  if (tcp && !abort) {
    o->shut |= SHUT_RCV;
  } else if (p->type != LINUX_SOCK_DGRAM) {
    if (tcp && !o->dead)
      o->err = LINUX_ECONNRESET;
    o->shut = SHUT_RCV | SHUT_SEND;
  }
  changed(p);
  rt_unlock(&p->lock);
  upair_put(p);
  scm_free(inflight);
  sock_gc();
}

static unsigned sock_poll(struct file *f, unsigned events) {
  int me;
  struct upair *p = pair_of(f, &me);
  struct uend *e = &p->end[me];
  unsigned mask = 0;
  if (e->host) {
    /* Nothing wakes a sleeping poller for the host's events (as for the
     * host's streams): it looks again in a few ms while none is ready. */
    mask = hostsock_poll(e->host, events);
    if (!mask)
      poll_due_at(rt_now_ns() + HOST_POLL_STEP_NS);
    return mask;
  }
  if (sock_conn_poll(e, &mask))
    return mask & (events | VFS_POLLHUP | VFS_POLLERR);
  rt_lock(&p->lock);
  if (e->err)
    mask |= VFS_POLLERR;
  if (e->shut == (SHUT_RCV | SHUT_SEND))
    mask |= VFS_POLLHUP;
  if (e->shut & SHUT_RCV)
    mask |= LINUX_POLLRDHUP | VFS_POLLIN | VFS_POLLRDNORM;
  if (e->count)
    mask |= VFS_POLLIN | VFS_POLLRDNORM;
  /* What this end has queued at its peer, at most a quarter of its send
   * buffer (Linux's unix_writable). */
  if ((uint64_t)(p->end[1 - me].count + p->end[1 - me].scm_bytes) * 4 <=
      e->sndbuf)
    mask |= VFS_POLLOUT | VFS_POLLWRNORM | LINUX_POLLWRBAND;
  rt_unlock(&p->lock);
  /* A UDP socket on a published port: the host's datagrams too (looked
   * at again every few ms while none waits, as the host's sockets). */
  if (!(mask & VFS_POLLIN) && (events & (VFS_POLLIN | VFS_POLLRDNORM)) &&
      p->type == LINUX_SOCK_DGRAM && p->family != LINUX_AF_UNIX &&
      sock_published_ready(e))
    mask |= VFS_POLLIN | VFS_POLLRDNORM;
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
      if (e->nrec) /* the next datagram's size, as unix_ioctl */
        ring_get_k(e, 0, &n, REC_HDR);
      n = REC_LEN(n);
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

int sock_file_new(struct upair *p, int which, unsigned flags,
                  struct file **out) {
  struct superblock *sb = sockfs();
  if (!sb)
    return -LINUX_ENOMEM;
  struct inode *inode = vfs_inode_alloc(sb, LINUX_S_IFSOCK | 0777,
                                        &nameless_iops, &anon_reopen_ops);
  if (!inode)
    return -LINUX_ENOMEM;
  vfs_cred(&inode->uid, &inode->gid);
  int rc = file_open_inode(inode, LINUX_O_RDWR | flags, &sock_ops, out);
  vfs_inode_put(inode);
  if (rc == 0) {
    (*out)->private = &p->end[which];
    p->end[which].file = *out;
  }
  return rc;
}

/* A pair with no reference yet; PF_UNIX is reported as protocol 0. */
struct upair *upair_new(int family, int type, int protocol) {
  struct upair *p = kzalloc(sizeof(*p));
  if (!p)
    return NULL;
  p->family = family;
  p->type = type;
  p->protocol = protocol;
  struct task *t = task_current();
  if (t) {
    p->pid = t->proc->pid;
    p->uid = t->proc->cred.euid;
    p->gid = t->proc->cred.egid;
  }
  for (int i = 0; i < 2; i++) {
    p->end[i].rcvtimeo_j = p->end[i].sndtimeo_j = -1;
    p->end[i].sndbuf = SOCK_BUF_DEFAULT;
    p->end[i].rcvbuf = SOCK_BUF_DEFAULT;
    p->end[i].pair = p;
    p->end[i].idx = i;
    p->end[i].state = SST_UNCONN;
    p->end[i].peercred = (struct linux_ucred){0, ~0u, ~0u};
  }
  pair_list(p); /* the collector sees every pair */
  return p;
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
  struct upair *p = upair_new(LINUX_AF_UNIX, kind, 0);
  if (!p)
    return -LINUX_ENOMEM;
  p->refs = 2; /* one per end */
  for (int i = 0; i < 2; i++)
    p->end[i].state = SST_PAIR;
  unsigned fl = (type & LINUX_SOCK_NONBLOCK) ? LINUX_O_NONBLOCK : 0;
  bool cloexec = type & LINUX_SOCK_CLOEXEC;
  struct file *a = NULL, *b = NULL;
  int rc = sock_file_new(p, 0, fl, &a);
  if (rc == 0)
    rc = sock_file_new(p, 1, fl, &b);
  if (rc < 0) {
    if (a)
      file_put(a);
    else
      upair_put(p);
    upair_put(p);
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
int sock_lookup(int fd, struct file **out) {
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

/* readv/writev on a socket: one message, as Linux's sock_read_iter. */
long sock_readv(struct file *f, const struct linux_iovec *iov, int iovcnt) {
  int mf;
  if (iov_total(iov, iovcnt) == 0)
    return 0;
  return sock_recv_from(f, iov, iovcnt, 0, &mf, NULL, NULL);
}

long sock_writev(struct file *f, const struct linux_iovec *iov, int iovcnt) {
  return sock_send_to(f, iov, iovcnt, 0, NULL, NULL, NULL);
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
  if (p->end[me].host && p->end[me].state == SST_CONN) {
    rc = hostsock_shutdown(p->end[me].host, how);
    file_put(f);
    return rc;
  }
  rt_lock(&p->lock);
  int st = p->end[me].state;
  if (p->family != LINUX_AF_UNIX &&
      (st == SST_UNCONN || st == SST_CONNECTING) &&
      !(p->type == LINUX_SOCK_DGRAM && p->end[me].peer.len)) {
    rt_unlock(&p->lock);
    file_put(f);
    return -LINUX_ENOTCONN; /* inet_shutdown on a closed socket */
  }
  p->end[me].shut |= mode;
  struct uend *o = &p->end[1 - me];
  bool linked = st == SST_PAIR || st == SST_CONN || st == SST_EMBRYO;
  if (p->type != LINUX_SOCK_DGRAM && !o->dead && linked) {
    unsigned peer_mode = 0;
    /* TCP sends nothing for SHUT_RD; AF_UNIX shuts the peer's send. */
    if ((mode & SHUT_RCV) && p->family == LINUX_AF_UNIX)
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
    rc = sock_opt_get(&p->end[me], level, name, val, len);
  } else {
    switch (name) {
    case LINUX_SO_TYPE:
      rc = put_int(val, len, p->type);
      break;
    case LINUX_SO_DOMAIN:
      rc = put_int(val, len, p->family);
      break;
    case LINUX_SO_PROTOCOL:
      rc = put_int(val, len, p->protocol);
      break;
    case LINUX_SO_ERROR:
      if (p->end[me].host && p->end[me].state == SST_CONNECTING) {
        int st = sock_remote_state(&p->end[me]);
        rc = put_int(val, len, st == -LINUX_EINPROGRESS ? 0 : -st);
        break;
      }
      rt_lock(&p->lock);
      rc = put_int(val, len, p->end[me].err);
      p->end[me].err = 0;
      rt_unlock(&p->lock);
      break;
    case LINUX_SO_ACCEPTCONN:
      rc = put_int(val, len, p->end[me].state == SST_LISTEN);
      break;
    case LINUX_SO_SNDBUF:
    case LINUX_SO_RCVBUF:
      rt_lock(&p->lock);
      rc = put_int(val, len,
                   (int)(name == LINUX_SO_SNDBUF ? p->end[me].sndbuf
                                                 : p->end[me].rcvbuf));
      rt_unlock(&p->lock);
      break;
    case LINUX_SO_PASSCRED:
      if (p->family != LINUX_AF_UNIX) { /* Linux 6.16+: UNIX and NETLINK */
        rc = -LINUX_EOPNOTSUPP;
        break;
      }
      rt_lock(&p->lock);
      rc = put_int(val, len, p->end[me].passcred);
      rt_unlock(&p->lock);
      break;
    case LINUX_SO_RCVTIMEO_OLD:
    case LINUX_SO_SNDTIMEO_OLD:
    case LINUX_SO_RCVTIMEO_NEW:
    case LINUX_SO_SNDTIMEO_NEW: {
      bool rcv = name == LINUX_SO_RCVTIMEO_OLD || name == LINUX_SO_RCVTIMEO_NEW;
      rt_lock(&p->lock);
      int64_t j = rcv ? p->end[me].rcvtimeo_j : p->end[me].sndtimeo_j;
      rt_unlock(&p->lock);
      /* Back from jiffies as sock_get_timeout: forever is {0, 0}. */
      int64_t tv[2] = {0, 0};
      if (j > 0) {
        tv[0] = j / SOCK_HZ;
        tv[1] = (j % SOCK_HZ) * 1000000 / SOCK_HZ;
      }
      uint32_t n = MIN(*len, (uint32_t)sizeof(tv));
      memcpy(val, tv, n);
      *len = n;
      rc = 0;
      break;
    }
    case LINUX_SO_PEERCRED: {
      struct linux_ucred c = {.pid = p->pid, .uid = p->uid, .gid = p->gid};
      if (p->end[me].state != SST_PAIR) {
        rt_lock(&p->lock);
        c = p->end[me].peercred; /* set at connect and accept */
        rt_unlock(&p->lock);
      }
      uint32_t n = MIN(*len, (uint32_t)sizeof(c));
      memcpy(val, &c, n);
      *len = n;
      rc = 0;
      break;
    }
    default:
      rc = sock_opt_get(&p->end[me], level, name, val, len);
      break;
    }
  }
  file_put(f);
  return rc;
}

/* A struct timeval of SO_RCVTIMEO/SO_SNDTIMEO into jiffies, as Linux's
 * sock_set_timeout: {0, 0} is forever (-1), a negative time is 0 (the
 * call does not wait at all), microseconds round up to a jiffy. */
static int timeo_from_user(const void *val, uint32_t len, int64_t *out) {
  int64_t tv[2];
  if (len < sizeof(tv))
    return -LINUX_EINVAL;
  memcpy(tv, val, sizeof(tv));
  if (tv[1] < 0 || tv[1] >= 1000000)
    return -LINUX_EDOM;
  if (tv[0] < 0) {
    *out = 0;
    return 0;
  }
  if (tv[0] == 0 && tv[1] == 0) {
    *out = -1;
    return 0;
  }
  if (tv[0] >= INT64_MAX / SOCK_HZ / 2) {
    *out = -1;
    return 0;
  }
  *out =
      tv[0] * SOCK_HZ + (tv[1] + 1000000 / SOCK_HZ - 1) / (1000000 / SOCK_HZ);
  return 0;
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
    rc = sock_opt_set(&p->end[me], level, name, val, len);
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
  } else if (name == LINUX_SO_PASSCRED) {
    if (p->family != LINUX_AF_UNIX) {
      rc = -LINUX_EOPNOTSUPP;
    } else if (len < sizeof(int)) {
      rc = -LINUX_EINVAL;
    } else {
      int v;
      memcpy(&v, val, sizeof(v));
      rt_lock(&p->lock);
      p->end[me].passcred = v != 0;
      rt_unlock(&p->lock);
      rc = 0;
    }
  } else if (name == LINUX_SO_RCVTIMEO_OLD || name == LINUX_SO_SNDTIMEO_OLD ||
             name == LINUX_SO_RCVTIMEO_NEW || name == LINUX_SO_SNDTIMEO_NEW) {
    int64_t j;
    rc = timeo_from_user(val, len, &j);
    if (rc == 0) {
      rt_lock(&p->lock);
      if (name == LINUX_SO_RCVTIMEO_OLD || name == LINUX_SO_RCVTIMEO_NEW)
        p->end[me].rcvtimeo_j = j;
      else
        p->end[me].sndtimeo_j = j;
      rt_unlock(&p->lock);
    }
  } else {
    rc = sock_opt_set(&p->end[me], level, name, val, len);
  }
  file_put(f);
  return rc;
}
