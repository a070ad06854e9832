/* Named sockets: socket(2), bind, listen, connect, accept, addressed
 * datagrams and the socket options past the data path's, for AF_UNIX
 * (path and abstract names) and for AF_INET/AF_INET6 between the
 * sandbox's own processes over loopback. The data path (queues, send,
 * receive, poll) is core/socket.c's; socket.h holds the objects.
 *
 * One name table serves every family: the chain of bound ends in
 * g_socks, each end matched by what its family keys on. An AF_UNIX path
 * name keys on the identity (device, inode) of the S_IFSOCK file bind
 * made in the sandbox's file system, an abstract name on its bytes, an
 * inet end on (type, port, address); a listener is an end whose lq holds
 * the pairs connect(2) queued for accept(2). A stream connect keeps the
 * socket's own pair and hands its second end (the "embryo") to the
 * listener, so data sent before the accept waits there as on Linux.
 *
 * Inet destinations that are not loopback (127.0.0.0/8, ::1, 0.0.0.0,
 * ::, v4-mapped loopback) go to sock_remote_connect, the one place where
 * a reach outside the sandbox is decided: -ENETUNREACH today.
 *
 * Lock order: g_socks.lock, then a listener's pair lock, then a
 * connection's pair lock (socket.h). */
#include "moat/moat.h"
#include "moat/platform.h"
#include "file.h"
#include "hostsock.h"
#include "poll.h"
#include "socket.h"
#include "task.h"
#include "vfs_impl.h"

#define EPH_LO 32768u /* Linux's ip_local_port_range */
#define EPH_HI 60999u
#define UNIX_PATH_OFF 2u /* offsetof(struct sockaddr_un, sun_path) */
#define UNIX_ADDR_MAX 110u
#define SIN_LEN 16u
#define SIN6_LEN 28u
#define TCP_INFO_LEN 232u
#define OPT_SLOTS 24

struct ulisten {
  uint32_t n, max;           /* queued connections, the backlog */
  struct upair *head, *tail; /* FIFO chained by upair.qnext */
  struct linux_ucred cred;   /* SO_PEERCRED a connector sees */
};

struct sock_opts {
  int n;
  struct {
    int level, name;
    int v[2];
  } o[OPT_SLOTS];
};

struct sock_table {
  struct rt_lock lock;
  struct uend *bound; /* every bound end, chained by bnext */
  uint32_t eph_next;  /* the next ephemeral port to try */
  uint32_t auto_next; /* the next AF_UNIX autobind name */
  uint32_t rr;        /* SO_REUSEPORT spreading */
};

static struct sock_table *g_socks; /* in the arena, made at boot */

static struct sock_table *socks(void) {
  return kzalloc_once((void **)&g_socks, sizeof(*g_socks),
                      "the socket name table");
}

void sock_init(void) {
  socks();
}

static struct uend *end_of(struct file *f) {
  return f->private;
}

static bool is_inet(const struct upair *p) {
  return p->family == LINUX_AF_INET || p->family == LINUX_AF_INET6;
}

static bool conn_type(const struct upair *p) {
  return p->type == LINUX_SOCK_STREAM || p->type == LINUX_SOCK_SEQPACKET;
}

static struct linux_ucred my_cred(void) {
  struct linux_ucred c = {0, ~0u, ~0u};
  struct task *t = task_current();
  if (t) {
    c.pid = t->proc->pid;
    c.uid = t->proc->cred.euid;
    c.gid = t->proc->cred.egid;
  }
  return c;
}

/* ---- options ------------------------------------------------------------ */

static int opt_find(const struct uend *e, int level, int name) {
  if (!e->opts)
    return -1;
  for (int i = 0; i < e->opts->n; i++)
    if (e->opts->o[i].level == level && e->opts->o[i].name == name)
      return i;
  return -1;
}

/* The stored value of an option, or def. Caller holds the pair lock or
 * accepts a racy read of one int. */
static int opt_int(const struct uend *e, int level, int name, int def) {
  int i = opt_find(e, level, name);
  return i < 0 ? def : e->opts->o[i].v[0];
}

static int opt_store(struct uend *e, int level, int name, int v0, int v1) {
  int i = opt_find(e, level, name);
  if (i < 0) {
    if (!e->opts) {
      e->opts = kzalloc(sizeof(*e->opts));
      if (!e->opts)
        return -LINUX_ENOMEM;
    }
    if (e->opts->n == OPT_SLOTS)
      return -LINUX_ENOMEM;
    i = e->opts->n++;
    e->opts->o[i].level = level;
    e->opts->o[i].name = name;
  }
  e->opts->o[i].v[0] = v0;
  e->opts->o[i].v[1] = v1;
  return 0;
}

static int put_val(void *val, uint32_t *len, const void *src, uint32_t n) {
  n = MIN(*len, n);
  memcpy(val, src, n);
  *len = n;
  return 0;
}

static int put_i(void *val, uint32_t *len, int v) {
  return put_val(val, len, &v, sizeof(v));
}

enum { K_BOOL, K_INT, K_LINGER, K_HOPS, K_TOS };

struct optdef {
  int level, name;
  uint8_t kind;
  uint8_t fam; /* 1 unix, 2 inet, 4 inet6 only, 8 tcp only */
  int def, min, max;
};

#define F_ANY 3
#define F_INET 2
#define F_V6 4
#define F_TCP 8

static const struct optdef g_optdefs[] = {
    {LINUX_SOL_SOCKET, LINUX_SO_REUSEADDR, K_BOOL, F_ANY, 0, 0, 0},
    {LINUX_SOL_SOCKET, LINUX_SO_REUSEPORT, K_BOOL, F_ANY, 0, 0, 0},
    {LINUX_SOL_SOCKET, LINUX_SO_KEEPALIVE, K_BOOL, F_ANY, 0, 0, 0},
    {LINUX_SOL_SOCKET, LINUX_SO_BROADCAST, K_BOOL, F_ANY, 0, 0, 0},
    {LINUX_SOL_SOCKET, LINUX_SO_DONTROUTE, K_BOOL, F_ANY, 0, 0, 0},
    {LINUX_SOL_SOCKET, LINUX_SO_OOBINLINE, K_BOOL, F_ANY, 0, 0, 0},
    {LINUX_SOL_SOCKET, LINUX_SO_PRIORITY, K_INT, F_ANY, 0, 0, 6},
    {LINUX_SOL_SOCKET, LINUX_SO_RCVLOWAT, K_INT, F_ANY, 1, 1, 0x7fffffff},
    {LINUX_SOL_SOCKET, LINUX_SO_LINGER, K_LINGER, F_ANY, 0, 0, 0},
    {LINUX_IPPROTO_IP, LINUX_IP_TOS, K_TOS, F_INET, 0, 0, 255},
    {LINUX_IPPROTO_IP, LINUX_IP_TTL, K_HOPS, F_INET, 64, 1, 255},
    {LINUX_IPPROTO_IPV6, LINUX_IPV6_V6ONLY, K_BOOL, F_V6, 0, 0, 0},
    {LINUX_IPPROTO_IPV6, LINUX_IPV6_UNICAST_HOPS, K_HOPS, F_V6, 64, 0, 255},
    {LINUX_IPPROTO_IPV6, LINUX_IPV6_TCLASS, K_HOPS, F_V6, 0, 0, 255},
    {LINUX_IPPROTO_TCP, LINUX_TCP_NODELAY, K_BOOL, F_TCP, 0, 0, 0},
    {LINUX_IPPROTO_TCP, LINUX_TCP_KEEPIDLE, K_INT, F_TCP, 7200, 1, 32767},
    {LINUX_IPPROTO_TCP, LINUX_TCP_KEEPINTVL, K_INT, F_TCP, 75, 1, 32767},
    {LINUX_IPPROTO_TCP, LINUX_TCP_KEEPCNT, K_INT, F_TCP, 9, 1, 127},
    {LINUX_IPPROTO_TCP, LINUX_TCP_QUICKACK, K_BOOL, F_TCP, 1, 0, 0},
    {LINUX_IPPROTO_TCP, LINUX_TCP_USER_TIMEOUT, K_INT, F_TCP, 0, 0, 0x7fffffff},
};

/* The definition of (level, name) for e, or NULL with *rc the errno
 * Linux gives for an option its protocol does not know. */
static const struct optdef *opt_def(const struct uend *e, int level, int name,
                                    int *rc) {
  const struct upair *p = e->pair;
  if (level != LINUX_SOL_SOCKET) {
    if (!is_inet(p)) {
      *rc = -LINUX_EOPNOTSUPP; /* AF_UNIX has only SOL_SOCKET */
      return NULL;
    }
    bool ok = level == LINUX_IPPROTO_IP ||
              (level == LINUX_IPPROTO_IPV6 && p->family == LINUX_AF_INET6) ||
              (level == LINUX_IPPROTO_TCP && p->type == LINUX_SOCK_STREAM) ||
              (level == LINUX_IPPROTO_UDP && p->type == LINUX_SOCK_DGRAM);
    if (!ok) {
      *rc = -LINUX_ENOPROTOOPT;
      return NULL;
    }
  }
  for (size_t i = 0; i < sizeof(g_optdefs) / sizeof(g_optdefs[0]); i++) {
    const struct optdef *d = &g_optdefs[i];
    if (d->level == level && d->name == name)
      return d;
  }
  *rc = -LINUX_ENOPROTOOPT;
  return NULL;
}

int sock_opt_get(struct uend *e, int level, int name, void *val,
                 uint32_t *len) {
  struct upair *p = e->pair;
  if (level == LINUX_SOL_SOCKET && name == LINUX_SO_SNDLOWAT)
    return put_i(val, len, 1);
  if (is_inet(p) && level == LINUX_IPPROTO_TCP &&
      p->type == LINUX_SOCK_STREAM) {
    if (name == LINUX_TCP_INFO) {
      /* Minimal: the state (TCP_ESTABLISHED 1, TCP_CLOSE 7, TCP_LISTEN
       * 10), everything else zero. */
      uint8_t info[TCP_INFO_LEN];
      memset(info, 0, sizeof(info));
      int st = e->state;
      info[0] = st == SST_CONN || st == SST_EMBRYO ? 1
                : st == SST_LISTEN                 ? 10
                                                   : 7;
      return put_val(val, len, info, sizeof(info));
    }
    if (name == LINUX_TCP_MAXSEG)
      return put_i(val, len, e->state == SST_CONN ? 65483 : 536);
  }
  int rc;
  const struct optdef *d = opt_def(e, level, name, &rc);
  if (!d)
    return rc;
  rt_lock(&p->lock);
  int i = opt_find(e, level, name);
  int v0 = i < 0 ? d->def : e->opts->o[i].v[0];
  int v1 = i < 0 ? 0 : e->opts->o[i].v[1];
  rt_unlock(&p->lock);
  if (d->kind == K_LINGER) {
    int l[2] = {v0, v1};
    return put_val(val, len, l, sizeof(l));
  }
  return put_i(val, len, v0);
}

int sock_opt_set(struct uend *e, int level, int name, const void *val,
                 uint32_t len) {
  struct upair *p = e->pair;
  if (level == LINUX_SOL_SOCKET && name == LINUX_SO_SNDLOWAT)
    return -LINUX_ENOPROTOOPT; /* Linux refuses to set it */
  int rc;
  const struct optdef *d = opt_def(e, level, name, &rc);
  if (!d)
    return rc;
  int v = 0, v1 = 0;
  if (d->kind == K_LINGER) {
    int l[2];
    if (len < sizeof(l))
      return -LINUX_EINVAL;
    memcpy(l, val, sizeof(l));
    v = l[0] ? 1 : 0;
    v1 = l[1];
  } else if (d->kind == K_TOS && len >= 1 && len < sizeof(int)) {
    v = *(const uint8_t *)val; /* IP_TOS takes a byte too */
  } else {
    if (len < sizeof(int))
      return -LINUX_EINVAL;
    memcpy(&v, val, sizeof(v));
  }
  switch (d->kind) {
  case K_BOOL:
    v = v != 0;
    break;
  case K_INT:
    if (v < d->min || v > d->max)
      return -LINUX_EINVAL;
    break;
  case K_HOPS:
    if (v == -1)
      v = d->def;
    else if (v < d->min || v > d->max)
      return -LINUX_EINVAL;
    break;
  case K_TOS:
    v &= 0xff;
    if (p->type == LINUX_SOCK_STREAM)
      v &= ~3; /* the ECN bits belong to TCP */
    break;
  default:
    break;
  }
  rt_lock(&p->lock);
  if (level == LINUX_IPPROTO_IPV6 && name == LINUX_IPV6_V6ONLY && e->bound) {
    rt_unlock(&p->lock);
    return -LINUX_EINVAL; /* fixed once bound */
  }
  rc = opt_store(e, level, name, v, v1);
  rt_unlock(&p->lock);
  return rc;
}

/* ---- datagram senders ---------------------------------------------------- */

bool sock_from_push(struct uend *dst, const struct sock_addr *a) {
  size_t sz = sizeof(struct urec_from) - SOCK_ADDR_MAX + a->len;
  struct urec_from *r = kmalloc(sz);
  if (!r)
    return false;
  r->next = NULL;
  r->a.len = a->len;
  memcpy(r->a.b, a->b, a->len);
  if (dst->from_tail)
    dst->from_tail->next = r;
  else
    dst->from_head = r;
  dst->from_tail = r;
  return true;
}

void sock_from_peek(struct uend *e, struct sock_addr *out) {
  struct urec_from *r = e->from_head;
  out->len = r ? r->a.len : 0;
  if (r)
    memcpy(out->b, r->a.b, r->a.len);
}

void sock_from_pop(struct uend *e, struct sock_addr *out) {
  struct urec_from *r = e->from_head;
  if (out)
    sock_from_peek(e, out);
  if (!r)
    return;
  e->from_head = r->next;
  if (!e->from_head)
    e->from_tail = NULL;
  kfree(r);
}

void sock_from_clear(struct uend *e) {
  while (e->from_head)
    sock_from_pop(e, NULL);
}

/* ---- inet addresses ---------------------------------------------------- */

static const uint8_t g_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool in_is_v4(const struct sock_inaddr *x) {
  return memcmp(x->a, g_mapped, 12) == 0;
}

static bool in_is_any(const struct sock_inaddr *x) {
  static const uint8_t zero[16];
  if (in_is_v4(x))
    return memcmp(x->a + 12, zero, 4) == 0;
  return memcmp(x->a, zero, 16) == 0;
}

/* Loopback or the wildcard (which Linux connects to as loopback). */
static bool in_is_local(const struct sock_inaddr *x) {
  if (in_is_any(x))
    return true;
  if (in_is_v4(x))
    return x->a[12] == 127;
  static const uint8_t lo6[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                  0, 0, 0, 0, 0, 0, 0, 1};
  return memcmp(x->a, lo6, 16) == 0;
}

static uint16_t be16(const uint8_t *b) {
  return (uint16_t)(b[0] << 8 | b[1]);
}

/* Parse a guest sockaddr for a socket of family fam. v4 addresses on an
 * AF_INET6 socket come as v4-mapped (the caller decides whether an
 * AF_INET sockaddr is acceptable there). */
static int in_parse(int fam, const uint8_t *b, uint32_t len,
                    struct sock_inaddr *out) {
  if (len < 2)
    return -LINUX_EINVAL;
  uint16_t af;
  memcpy(&af, b, 2);
  memset(out, 0, sizeof(*out));
  if (fam == LINUX_AF_INET) {
    if (len < SIN_LEN)
      return -LINUX_EINVAL;
    if (af != LINUX_AF_INET)
      return -LINUX_EAFNOSUPPORT;
    memcpy(out->a, g_mapped, 12);
    memcpy(out->a + 12, b + 4, 4);
    out->port = be16(b + 2);
    return 0;
  }
  if (af == LINUX_AF_INET && len >= SIN_LEN) {
    memcpy(out->a, g_mapped, 12);
    memcpy(out->a + 12, b + 4, 4);
    out->port = be16(b + 2);
    return 1; /* an AF_INET address given to an AF_INET6 socket */
  }
  if (len < 24) /* SIN6_LEN_RFC2133 */
    return -LINUX_EINVAL;
  if (af != LINUX_AF_INET6)
    return -LINUX_EAFNOSUPPORT;
  memcpy(out->a, b + 8, 16);
  out->port = be16(b + 2);
  return 0;
}

/* The sockaddr of x as a socket of family fam reports it. */
static void in_format(int fam, const struct sock_inaddr *x,
                      struct sock_addr *out) {
  memset(out, 0, sizeof(*out));
  uint16_t af = (uint16_t)fam;
  memcpy(out->b, &af, 2);
  out->b[2] = (uint8_t)(x->port >> 8);
  out->b[3] = (uint8_t)x->port;
  if (fam == LINUX_AF_INET) {
    memcpy(out->b + 4, x->a + 12, 4);
    out->len = SIN_LEN;
  } else {
    memcpy(out->b + 8, x->a, 16);
    out->len = SIN6_LEN;
  }
}

/* The end's bound address (the wildcard, port 0 when unbound). */
static void in_of_end(const struct uend *e, struct sock_inaddr *x) {
  memset(x, 0, sizeof(*x));
  if (e->pair->family == LINUX_AF_INET)
    memcpy(x->a, g_mapped, 12);
  if (!e->name.len)
    return;
  in_parse(e->pair->family, e->name.b, e->name.len, x);
}

/* What part of the v4 and v6 spaces a bound end covers: 0 none, 1 its
 * one address, 2 all. */
static void in_cover(const struct uend *e, const struct sock_inaddr *x, int *v4,
                     int *v6) {
  bool v6sock = e->pair->family == LINUX_AF_INET6;
  bool v6only = v6sock && opt_int(e, LINUX_IPPROTO_IPV6, LINUX_IPV6_V6ONLY, 0);
  bool any = in_is_any(x);
  if (!v6sock) {
    *v4 = any ? 2 : 1;
    *v6 = 0;
  } else if (in_is_v4(x)) {
    *v4 = v6only ? 0 : (any ? 2 : 1);
    *v6 = 0;
  } else {
    *v6 = any ? 2 : 1;
    *v4 = any && !v6only ? 2 : 0;
  }
}

static bool in_overlap(const struct uend *a, const struct sock_inaddr *xa,
                       const struct uend *b, const struct sock_inaddr *xb) {
  int a4, a6, b4, b6;
  in_cover(a, xa, &a4, &a6);
  in_cover(b, xb, &b4, &b6);
  if (a4 && b4 && (a4 == 2 || b4 == 2 || !memcmp(xa->a, xb->a, 16)))
    return true;
  if (a6 && b6 && (a6 == 2 || b6 == 2 || !memcmp(xa->a, xb->a, 16)))
    return true;
  return false;
}

/* Does bound end e take traffic for x? 0 no, 1 as a wildcard, 2 exactly. */
static int in_takes(const struct uend *e, const struct sock_inaddr *x) {
  struct sock_inaddr me;
  in_of_end(e, &me);
  if (me.port != x->port)
    return 0;
  int c4, c6;
  in_cover(e, &me, &c4, &c6);
  int c = in_is_v4(x) ? c4 : c6;
  if (c == 2)
    return 1;
  return c == 1 && !memcmp(me.a, x->a, 16) ? 2 : 0;
}

/* Would binding e at x clash with a bound end? (g_socks.lock held) */
static bool in_clash(const struct uend *e, const struct sock_inaddr *x) {
  bool ra = opt_int(e, LINUX_SOL_SOCKET, LINUX_SO_REUSEADDR, 0);
  bool rp = opt_int(e, LINUX_SOL_SOCKET, LINUX_SO_REUSEPORT, 0);
  for (struct uend *o = socks()->bound; o; o = o->bnext) {
    if (o == e || !is_inet(o->pair) || o->pair->type != e->pair->type)
      continue;
    struct sock_inaddr ox;
    in_of_end(o, &ox);
    if (ox.port != x->port || !in_overlap(e, x, o, &ox))
      continue;
    if (rp && opt_int(o, LINUX_SOL_SOCKET, LINUX_SO_REUSEPORT, 0))
      continue;
    /* Both SO_REUSEADDR: fine unless the other listens (inet_bind_conflict). */
    bool olisten = o->state == SST_LISTEN;
    if (ra && opt_int(o, LINUX_SOL_SOCKET, LINUX_SO_REUSEADDR, 0) &&
        (e->pair->type == LINUX_SOCK_DGRAM || !olisten))
      continue;
    return true;
  }
  return false;
}

static void table_add(struct uend *e) {
  e->bound = true;
  e->bnext = socks()->bound;
  socks()->bound = e;
}

static void table_del(struct uend *e) {
  for (struct uend **pp = &socks()->bound; *pp; pp = &(*pp)->bnext) {
    if (*pp == e) {
      *pp = e->bnext;
      break;
    }
  }
  e->bound = false;
  e->bnext = NULL;
}

/* Bind e at x (port 0: an ephemeral port). g_socks.lock held. */
static int in_bind_locked(struct uend *e, struct sock_inaddr *x) {
  struct sock_table *t = socks();
  if (x->port == 0) {
    uint32_t span = EPH_HI - EPH_LO + 1;
    if (!t->eph_next) {
      uint32_t r = 0;
      plat_random(&r, sizeof(r));
      t->eph_next = r % span;
    }
    bool found = false;
    for (uint32_t i = 0; i < span && !found; i++) {
      x->port = (uint16_t)(EPH_LO + (t->eph_next + i) % span);
      bool used = false;
      for (struct uend *o = t->bound; o && !used; o = o->bnext) {
        struct sock_inaddr ox;
        if (!is_inet(o->pair) || o->pair->type != e->pair->type)
          continue;
        in_of_end(o, &ox);
        used = ox.port == x->port;
      }
      if (!used) {
        found = true;
        t->eph_next = (t->eph_next + i + 1) % span;
      }
    }
    if (!found)
      return -LINUX_EADDRINUSE;
  } else if (in_clash(e, x)) {
    return -LINUX_EADDRINUSE;
  }
  in_format(e->pair->family, x, &e->name);
  table_add(e);
  return 0;
}

/* The source address a loopback destination is reached from. */
static void in_source(const struct uend *e, const struct sock_inaddr *dst,
                      struct sock_inaddr *src) {
  struct sock_inaddr me;
  bool v4 = in_is_v4(dst); /* before *src is written: they may be one */
  in_of_end(e, &me);
  *src = me;
  if (!in_is_any(&me))
    return;
  memset(src->a, 0, 16);
  if (v4) {
    memcpy(src->a, g_mapped, 12);
    src->a[12] = 127;
    src->a[15] = 1;
  } else {
    src->a[15] = 1;
  }
}

/* The hook where a destination outside the sandbox is decided: a
 * connect or sendto to anything but loopback comes here (and a loopback
 * connect nobody in the sandbox listens for). The platform reaches the
 * host network only where --allow-connect granted it (core/hostsock.c),
 * -ENETUNREACH otherwise. The end keeps the host connection (e->host)
 * and the data path hands every call on it there. connect: a connect(2)
 * (the end becomes connected to dst); false for a UDP sendto, which
 * only borrows the connection. */
static int remote_attach(struct uend *e, const struct sock_inaddr *dst,
                         bool nonblock, bool connect) {
  struct upair *p = e->pair;
  struct hostsock *h = NULL;
  int rc = hostsock_connect(p->type, LINUX_AF_INET6, dst->a, dst->port,
                            nonblock, &h);
  if (!h)
    return rc;
  struct sock_inaddr local;
  memset(&local, 0, sizeof(local));
  if (h->local.family == LINUX_AF_INET) {
    memcpy(local.a, g_mapped, 12);
    memcpy(local.a + 12, h->local.addr, 4);
  } else {
    memcpy(local.a, h->local.addr, 16);
  }
  local.port = h->local.port;
  struct sock_table *t = socks();
  rt_lock(&t->lock);
  rt_lock(&p->lock);
  if (e->host) { /* another thread of the guest got there first */
    rt_unlock(&p->lock);
    rt_unlock(&t->lock);
    hostsock_release(h);
    return connect ? -LINUX_EALREADY : 0;
  }
  e->host = h;
  if (!e->bound)
    in_format(p->family, &local, &e->name);
  if (connect) {
    in_format(p->family, dst, &e->peer);
    e->state = rc == 0 ? SST_CONN : SST_CONNECTING;
  }
  poll_notify_obj(p);
  rt_unlock(&p->lock);
  rt_unlock(&t->lock);
  return rc;
}

int sock_remote_connect(struct uend *e, const struct sock_inaddr *dst,
                        bool nonblock) {
  return remote_attach(e, dst, nonblock, true);
}

/* A connect under way on the host (SST_CONNECTING): its outcome now, as
 * a second connect(2) and SO_ERROR see it; a decided one moves the end
 * on. */
int sock_remote_state(struct uend *e) {
  int rc = hostsock_connect_state(e->host);
  if (rc == -LINUX_EINPROGRESS)
    return rc;
  rt_lock(&e->pair->lock);
  if (e->state == SST_CONNECTING)
    e->state = rc == 0 ? SST_CONN : SST_UNCONN;
  rt_unlock(&e->pair->lock);
  return rc;
}

/* A UDP datagram to a remote destination: through the end's host socket
 * for it, one connected host socket per granted destination (the first
 * is e->host, the others chained to it: hostsock_recv_any receives from
 * all). The host shows each destination its own source port (the
 * sandbox's host side never binds); getsockname shows the first's. */
static long remote_sendto(struct file *f, struct uend *e,
                          const struct sock_inaddr *dst,
                          const struct linux_iovec *iov, int iovcnt,
                          int flags) {
  bool nonblock = (f->flags & LINUX_O_NONBLOCK) || (flags & LINUX_MSG_DONTWAIT);
  if (!e->host) {
    int rc = remote_attach(e, dst, false, false);
    if (rc < 0)
      return rc;
  }
  struct hostsock *h = hostsock_find_peer(e->host, dst->a, dst->port);
  rt_lock(&e->pair->lock);
  bool connected = e->peer.len != 0;
  rt_unlock(&e->pair->lock);
  if (!h && connected)
    return -LINUX_ENETUNREACH; /* a connected socket keeps its one peer */
  if (!h) {
    if (hostsock_chain_len(e->host) >= HOSTSOCK_DGRAM_MAX)
      return -LINUX_ENOBUFS;
    struct hostsock *n = NULL;
    int rc = hostsock_connect(LINUX_SOCK_DGRAM, LINUX_AF_INET6, dst->a,
                              dst->port, false, &n);
    if (!n)
      return rc;
    rt_lock(&e->pair->lock);
    h = hostsock_find_peer(e->host, dst->a, dst->port); /* another thread? */
    if (!h)
      hostsock_chain(e->host, n);
    rt_unlock(&e->pair->lock);
    if (h)
      hostsock_release(n);
    else
      h = n;
  }
  return hostsock_send(h, iov, iovcnt, flags, nonblock);
}

/* Autobind an unbound inet end to an ephemeral port. */
static int in_autobind(struct uend *e) {
  struct sock_table *t = socks();
  int rc = 0;
  rt_lock(&t->lock);
  if (!e->bound) {
    struct sock_inaddr x;
    in_of_end(e, &x);
    x.port = 0;
    rc = in_bind_locked(e, &x);
  }
  rt_unlock(&t->lock);
  return rc;
}

/* ---- AF_UNIX names ---------------------------------------------------- */

/* Normalise an AF_UNIX sockaddr: a path up to its first NUL (len =
 * offsetof + strlen + 1), an abstract name as given. *abstract tells. */
static int unix_name(const uint8_t *b, uint32_t len, struct sock_addr *out,
                     bool *abstract) {
  uint16_t af;
  if (len < 2 || len > UNIX_ADDR_MAX)
    return -LINUX_EINVAL;
  memcpy(&af, b, 2);
  if (af != LINUX_AF_UNIX)
    return -LINUX_EINVAL;
  memset(out, 0, sizeof(*out));
  if (len == 2) {
    *abstract = false;
    out->len = 2;
    memcpy(out->b, b, 2);
    return 0;
  }
  *abstract = b[2] == 0;
  if (*abstract) {
    memcpy(out->b, b, len);
    out->len = len;
    return 0;
  }
  uint32_t n = 0;
  while (UNIX_PATH_OFF + n < len && b[UNIX_PATH_OFF + n])
    n++;
  memcpy(out->b, b, UNIX_PATH_OFF + n);
  out->b[UNIX_PATH_OFF + n] = 0;
  out->len = UNIX_PATH_OFF + n + 1;
  return 0;
}

static bool unix_is_abstract(const struct sock_addr *a) {
  return a->len > UNIX_PATH_OFF && a->b[UNIX_PATH_OFF] == 0;
}

/* The bound AF_UNIX end named by a (g_socks.lock held). */
static struct uend *unix_find_locked(const struct sock_addr *a, bool abstract,
                                     uint64_t dev, uint64_t ino, int type) {
  for (struct uend *o = socks()->bound; o; o = o->bnext) {
    if (o->pair->family != LINUX_AF_UNIX)
      continue;
    if (abstract) {
      /* Abstract names are per socket type, as Linux hashes them. */
      if (unix_is_abstract(&o->name) && o->pair->type == type &&
          o->name.len == a->len && !memcmp(o->name.b, a->b, a->len))
        return o;
    } else if (!unix_is_abstract(&o->name) && o->bdev == dev &&
               o->bino == ino) {
      return o;
    }
  }
  return NULL;
}

/* Autobind: "\0" and five hex digits, as Linux's unix_autobind. */
static int unix_autobind_locked(struct uend *e) {
  struct sock_table *t = socks();
  static const char hex[] = "0123456789abcdef";
  for (uint32_t i = 0; i < 0x100000; i++) {
    uint32_t n = (t->auto_next + i) & 0xfffff;
    struct sock_addr a;
    memset(&a, 0, sizeof(a));
    uint16_t af = LINUX_AF_UNIX;
    memcpy(a.b, &af, 2);
    for (int k = 0; k < 5; k++)
      a.b[3 + k] = (uint8_t)hex[(n >> (4 * (4 - k))) & 0xf];
    a.len = UNIX_PATH_OFF + 6;
    if (!unix_find_locked(&a, true, 0, 0, e->pair->type)) {
      t->auto_next = n + 1;
      e->name = a;
      table_add(e);
      return 0;
    }
  }
  return -LINUX_ENOSPC;
}

static int unix_autobind(struct uend *e) {
  struct sock_table *t = socks();
  rt_lock(&t->lock);
  int rc = e->bound ? 0 : unix_autobind_locked(e);
  rt_unlock(&t->lock);
  return rc;
}

static int unix_bind(struct uend *e, const uint8_t *b, uint32_t len) {
  struct sock_addr a;
  bool abstract;
  int rc = unix_name(b, len, &a, &abstract);
  if (rc < 0)
    return rc;
  struct sock_table *t = socks();
  if (a.len == 2) { /* only sun_family: autobind */
    rt_lock(&t->lock);
    rc = e->bound ? -LINUX_EINVAL : unix_autobind_locked(e);
    rt_unlock(&t->lock);
    return rc;
  }
  if (abstract) {
    rt_lock(&t->lock);
    if (e->bound)
      rc = -LINUX_EINVAL;
    else if (unix_find_locked(&a, true, 0, 0, e->pair->type))
      rc = -LINUX_EADDRINUSE;
    else {
      e->name = a;
      table_add(e);
    }
    rt_unlock(&t->lock);
    return rc;
  }
  /* Linux makes the node first: an existing name is EADDRINUSE even
   * for a socket already bound. */
  const char *path = (const char *)a.b + UNIX_PATH_OFF;
  rc = vfs_mknod_at(NULL, path, LINUX_S_IFSOCK | 0777, 0, NULL);
  if (rc == -LINUX_EEXIST)
    return -LINUX_EADDRINUSE;
  if (rc < 0)
    return rc;
  if (e->bound) {
    vfs_unlink_at(NULL, path, false);
    return -LINUX_EINVAL;
  }
  struct inode *ino = NULL;
  rc = vfs_resolve(NULL, path, 0, &ino);
  if (rc < 0)
    return rc;
  rt_lock(&t->lock);
  if (e->bound) {
    rc = -LINUX_EINVAL;
  } else {
    e->bdev = ino->sb->dev;
    e->bino = ino->ino;
    e->name = a;
    table_add(e);
  }
  rt_unlock(&t->lock);
  vfs_inode_put(ino);
  return rc;
}

/* The AF_UNIX end the address names, with a reference on its pair. */
static int unix_lookup(const uint8_t *b, uint32_t len, int type,
                       struct uend **out) {
  struct sock_addr a;
  bool abstract;
  int rc = unix_name(b, len, &a, &abstract);
  if (rc < 0)
    return rc;
  if (a.len == 2)
    return -LINUX_EINVAL;
  uint64_t dev = 0, inum = 0;
  if (!abstract) {
    struct inode *ino = NULL;
    rc = vfs_resolve(NULL, (const char *)a.b + UNIX_PATH_OFF, VFS_FOLLOW, &ino);
    if (rc < 0)
      return rc;
    rc = vfs_permission(ino, LINUX_W_OK);
    if (rc == 0 && (ino->mode & LINUX_S_IFMT) != LINUX_S_IFSOCK)
      rc = -LINUX_ECONNREFUSED;
    dev = ino->sb->dev;
    inum = ino->ino;
    vfs_inode_put(ino);
    if (rc < 0)
      return rc;
  }
  struct sock_table *t = socks();
  rt_lock(&t->lock);
  struct uend *o = unix_find_locked(&a, abstract, dev, inum, type);
  if (o)
    upair_get(o->pair);
  rt_unlock(&t->lock);
  if (!o)
    return -LINUX_ECONNREFUSED;
  *out = o;
  return 0;
}

static bool wants_passcred(const struct uend *e) {
  return e->passcred;
}

/* ---- socket(2) ---------------------------------------------------------- */

int moat_socket(int domain, int type, int protocol) {
  int kind = type & 0xf;
  if (type & ~(0xf | LINUX_SOCK_NONBLOCK | LINUX_SOCK_CLOEXEC))
    return -LINUX_EINVAL;
  if (kind >= 11)
    return -LINUX_EINVAL;
  int proto = 0;
  if (domain == LINUX_AF_UNIX) {
    if (protocol != 0 && protocol != LINUX_AF_UNIX)
      return -LINUX_EPROTONOSUPPORT;
    if (kind == LINUX_SOCK_RAW)
      kind = LINUX_SOCK_DGRAM;
    if (kind != LINUX_SOCK_STREAM && kind != LINUX_SOCK_DGRAM &&
        kind != LINUX_SOCK_SEQPACKET)
      return -LINUX_ESOCKTNOSUPPORT;
  } else if (domain == LINUX_AF_INET || domain == LINUX_AF_INET6) {
    if (kind == LINUX_SOCK_STREAM) {
      if (protocol != 0 && protocol != LINUX_IPPROTO_TCP)
        return -LINUX_EPROTONOSUPPORT;
      proto = LINUX_IPPROTO_TCP;
    } else if (kind == LINUX_SOCK_DGRAM) {
      if (protocol != 0 && protocol != LINUX_IPPROTO_UDP)
        return -LINUX_EPROTONOSUPPORT;
      proto = LINUX_IPPROTO_UDP;
    } else if (kind == LINUX_SOCK_RAW) {
      return -LINUX_EPERM; /* as for a user without CAP_NET_RAW */
    } else {
      return -LINUX_ESOCKTNOSUPPORT;
    }
  } else {
    return -LINUX_EAFNOSUPPORT;
  }
  struct upair *p = upair_new(domain, kind, proto);
  if (!p)
    return -LINUX_ENOMEM;
  p->refs = 1;           /* end 0's file */
  p->end[1].dead = true; /* until a connection hands it out */
  struct file *f = NULL;
  unsigned fl = (type & LINUX_SOCK_NONBLOCK) ? LINUX_O_NONBLOCK : 0;
  int rc = sock_file_new(p, 0, fl, &f);
  if (rc < 0) {
    upair_put(p);
    return rc;
  }
  rc = anon_file_install(f, type & LINUX_SOCK_CLOEXEC);
  file_put(f);
  return rc;
}

/* ---- bind, listen ---------------------------------------------------------
 */

int moat_bind(int fd, const void *addr, uint32_t len) {
  struct file *f;
  int rc = sock_lookup(fd, &f);
  if (rc < 0)
    return rc;
  struct uend *e = end_of(f);
  struct upair *p = e->pair;
  if (p->family == LINUX_AF_UNIX) {
    rc = unix_bind(e, addr, len);
  } else {
    struct sock_inaddr x;
    rc = in_parse(p->family, addr, len, &x);
    if (rc == 1)
      rc = -LINUX_EINVAL; /* an AF_INET address for an AF_INET6 bind */
    if (rc == 0 && !in_is_local(&x))
      rc = -LINUX_EADDRNOTAVAIL; /* the sandbox has loopback only */
    if (rc == 0) {
      rt_lock(&socks()->lock);
      bool any = in_is_any(&x), port = x.port != 0;
      if (e->bound || e->state != SST_UNCONN)
        rc = -LINUX_EINVAL;
      else
        rc = in_bind_locked(e, &x);
      if (rc == 0) {
        e->bind_addr_set = !any;
        e->bind_port_set = port;
      }
      rt_unlock(&socks()->lock);
    }
  }
  file_put(f);
  return rc;
}

int moat_listen(int fd, int backlog) {
  struct file *f;
  int rc = sock_lookup(fd, &f);
  if (rc < 0)
    return rc;
  struct uend *e = end_of(f);
  struct upair *p = e->pair;
  if ((unsigned)backlog > LINUX_SOMAXCONN)
    backlog = LINUX_SOMAXCONN;
  if (!conn_type(p) || (is_inet(p) && p->type != LINUX_SOCK_STREAM)) {
    rc = -LINUX_EOPNOTSUPP;
    goto out;
  }
  if (!e->bound) {
    if (p->family == LINUX_AF_UNIX) {
      rc = -LINUX_EINVAL; /* unix_listen wants an address */
      goto out;
    }
    rc = in_autobind(e);
    if (rc < 0)
      goto out;
  }
  struct sock_table *t = socks();
  rt_lock(&t->lock);
  rt_lock(&p->lock);
  if (e->state == SST_LISTEN) {
    e->lq->max = (uint32_t)backlog; /* re-listen: a new backlog */
  } else if (e->state != SST_UNCONN) {
    rc = -LINUX_EINVAL;
  } else {
    struct sock_inaddr x;
    if (is_inet(p)) {
      in_of_end(e, &x);
      if (in_clash(e, &x))
        rc = -LINUX_EADDRINUSE;
    }
    struct ulisten *lq = rc ? NULL : kzalloc(sizeof(*lq));
    if (!rc && !lq)
      rc = -LINUX_ENOMEM;
    if (!rc) {
      lq->max = (uint32_t)backlog;
      lq->cred = my_cred();
      e->lq = lq;
      e->state = SST_LISTEN;
    }
  }
  poll_notify_obj(p);
  rt_unlock(&p->lock);
  rt_unlock(&t->lock);
out:
  file_put(f);
  return rc;
}

/* ---- connect, accept ---------------------------------------------------- */

/* A connection-type connect of e to the listener L (a pair reference
 * held): epeer is what e's getpeername will say, fname and fpeer the
 * accepted end's local and peer names. */
static int connect_listener(struct file *f, struct uend *e, struct uend *L,
                            const struct sock_addr *epeer,
                            const struct sock_addr *fname,
                            const struct sock_addr *fpeer, bool tcp) {
  struct upair *p = e->pair, *lp = L->pair;
  bool nonblock = f->flags & LINUX_O_NONBLOCK;
  int rc = 0;
  if (L->pair->type != p->type)
    return -LINUX_EPROTOTYPE;
  rt_lock(&p->lock);
  if (e->state == SST_CONNECTING)
    rc = -LINUX_EALREADY;
  else if (e->state == SST_LISTEN)
    rc = -LINUX_EINVAL;
  else if (e->state != SST_UNCONN)
    rc = -LINUX_EISCONN;
  else
    e->state = SST_CONNECTING;
  rt_unlock(&p->lock);
  if (rc < 0)
    return rc;
  rt_lock(&lp->lock);
  for (;;) {
    if (L->state != SST_LISTEN || L->dead) {
      rc = -LINUX_ECONNREFUSED;
      break;
    }
    /* unix_recvq_full: more than the backlog waiting. A non-blocking
     * TCP connect is never refused for it here (Linux retries the SYN). */
    if (L->lq->n > L->lq->max && !(tcp && nonblock)) {
      if (nonblock) {
        rc = -LINUX_EAGAIN;
        break;
      }
      rc = poll_sleep_on(lp, &lp->lock);
      if (rc < 0)
        break;
      continue;
    }
    struct ulisten *lq = L->lq;
    p->qnext = NULL;
    if (lq->tail)
      lq->tail->qnext = p;
    else
      lq->head = p;
    lq->tail = p;
    lq->n++;
    upair_get(p); /* the backlog's */
    struct linux_ucred me = my_cred();
    rt_lock(&p->lock);
    struct uend *far = &p->end[1];
    far->dead = false;
    far->shut = 0;
    far->state = SST_EMBRYO;
    far->name = *fname;
    far->peer = *fpeer;
    far->peercred = me;
    e->peer = *epeer;
    e->peercred = lq->cred;
    e->state = SST_CONN;
    poll_notify_obj(p);
    rt_unlock(&p->lock);
    poll_notify_obj(lp);
    break;
  }
  rt_unlock(&lp->lock);
  if (rc < 0) {
    rt_lock(&p->lock);
    if (e->state == SST_CONNECTING)
      e->state = SST_UNCONN;
    rt_unlock(&p->lock);
  }
  return rc;
}

/* An inet stream connect. */
static int in_connect_stream(struct file *f, struct uend *e,
                             const struct sock_inaddr *dst) {
  struct upair *p = e->pair;
  bool nonblock = f->flags & LINUX_O_NONBLOCK;
  int st = e->state;
  if (st == SST_LISTEN)
    return -LINUX_EINVAL;
  if (st == SST_CONN && e->nb_connect) {
    e->nb_connect = false; /* the connect after EINPROGRESS says 0 once */
    return 0;
  }
  if (st == SST_CONN || st == SST_EMBRYO)
    return -LINUX_EISCONN;
  if (st == SST_CONNECTING && e->host) {
    int rc = sock_remote_state(e);
    return rc == -LINUX_EINPROGRESS ? -LINUX_EALREADY : rc;
  }
  if (st == SST_CONNECTING)
    return -LINUX_EALREADY;
  if (!in_is_local(dst))
    return sock_remote_connect(e, dst, nonblock);
  int rc = in_autobind(e);
  if (rc < 0)
    return rc;
  struct sock_inaddr src, to = *dst;
  in_source(e, dst, &src);
  if (in_is_any(&to)) /* 0.0.0.0 and :: reach loopback */
    in_source(e, dst, &to), to.port = dst->port;
  struct sock_table *t = socks();
  rt_lock(&t->lock);
  struct uend *L = NULL, *alt[16];
  int best = 0, nalt = 0;
  for (struct uend *o = t->bound; o; o = o->bnext) {
    if (!is_inet(o->pair) || o->pair->type != LINUX_SOCK_STREAM ||
        o->state != SST_LISTEN)
      continue;
    int sc = in_takes(o, &to);
    if (!sc || sc < best)
      continue;
    if (sc > best)
      nalt = 0;
    best = sc;
    if (nalt < 16)
      alt[nalt++] = o;
  }
  if (nalt)
    L = alt[t->rr++ % (uint32_t)nalt]; /* SO_REUSEPORT listeners share */
  if (L)
    upair_get(L->pair);
  /* getsockname shows the source address once connected. */
  struct sock_inaddr me;
  in_of_end(e, &me);
  src.port = me.port;
  rt_unlock(&t->lock);
  if (!L) {
    /* Nobody in the sandbox listens there: a grant may name the host's
     * own loopback port (--allow-connect 127.0.0.1:PORT). */
    rc = sock_remote_connect(e, &to, nonblock);
    if (rc != -LINUX_ENETUNREACH)
      return rc;
    if (nonblock) {
      rt_lock(&p->lock);
      e->err = LINUX_ECONNREFUSED;
      poll_notify_obj(p);
      rt_unlock(&p->lock);
      return -LINUX_EINPROGRESS;
    }
    return -LINUX_ECONNREFUSED;
  }
  struct sock_addr epeer, fname, fpeer;
  in_format(p->family, &to, &epeer);
  in_format(L->pair->family, &to, &fname);
  in_format(L->pair->family, &src, &fpeer);
  rt_lock(&t->lock);
  in_format(p->family, &src, &e->name);
  rt_unlock(&t->lock);
  rc = connect_listener(f, e, L, &epeer, &fname, &fpeer, true);
  upair_put(L->pair);
  if (rc == 0 && nonblock) {
    e->nb_connect = true;
    return -LINUX_EINPROGRESS;
  }
  if (rc == -LINUX_ECONNREFUSED && nonblock) {
    rt_lock(&p->lock);
    e->err = LINUX_ECONNREFUSED;
    poll_notify_obj(p);
    rt_unlock(&p->lock);
    return -LINUX_EINPROGRESS;
  }
  return rc;
}

/* Drop a datagram end's connected peer. */
static void dgram_disconnect(struct uend *e) {
  struct upair *p = e->pair;
  rt_lock(&p->lock);
  struct uend *old = e->dpeer;
  e->dpeer = NULL;
  e->peer.len = 0;
  e->peer_gone = false;
  rt_unlock(&p->lock);
  if (old)
    upair_put(old->pair);
  /* Linux's udp_disconnect: the source address connect picked goes back
   * to the wildcard, and a port bind did not choose is let go. */
  if (is_inet(p)) {
    struct sock_table *t = socks();
    rt_lock(&t->lock);
    if (e->bound) {
      struct sock_inaddr x;
      in_of_end(e, &x);
      if (!e->bind_addr_set) {
        memset(x.a, 0, sizeof(x.a));
        if (p->family == LINUX_AF_INET)
          memcpy(x.a, g_mapped, 12);
      }
      if (!e->bind_port_set) { /* the next send or connect binds again */
        x.port = 0;
        table_del(e);
      }
      in_format(p->family, &x, &e->name);
    }
    rt_unlock(&t->lock);
  }
}

int moat_connect(int fd, const void *addr, uint32_t len) {
  struct file *f;
  int rc = sock_lookup(fd, &f);
  if (rc < 0)
    return rc;
  struct uend *e = end_of(f);
  struct upair *p = e->pair;
  const uint8_t *b = addr;
  uint16_t af = 0;
  if (len >= 2)
    memcpy(&af, b, 2);
  if (p->type == LINUX_SOCK_DGRAM && len >= 2 && af == LINUX_AF_UNSPEC) {
    dgram_disconnect(e); /* connect(AF_UNSPEC) dissolves the association */
    goto out;
  }
  if (p->family == LINUX_AF_UNIX) {
    if (e->state == SST_PAIR || e->state == SST_CONN ||
        e->state == SST_EMBRYO) {
      /* A socketpair's datagram end stays with its pair here. */
      rc = p->type == LINUX_SOCK_DGRAM ? -LINUX_EINVAL : -LINUX_EISCONN;
      goto out;
    }
    struct uend *o;
    rc = unix_name(b, len, &(struct sock_addr){0}, &(bool){0});
    if (rc < 0)
      goto out;
    if (wants_passcred(e) && (rc = unix_autobind(e)) < 0)
      goto out;
    rc = unix_lookup(b, len, p->type, &o);
    if (rc < 0)
      goto out;
    if (o->pair->type != p->type) {
      rc = -LINUX_EPROTOTYPE;
      upair_put(o->pair);
      goto out;
    }
    if (p->type == LINUX_SOCK_DGRAM) {
      /* The peer keeps the reference. */
      struct sock_addr oname = o->name;
      rt_lock(&p->lock);
      struct uend *old = e->dpeer;
      e->dpeer = o;
      e->peer = oname;
      e->peer_gone = false;
      rt_unlock(&p->lock);
      if (old)
        upair_put(old->pair);
      rc = 0;
      goto out;
    }
    struct sock_addr none = {0};
    rc = connect_listener(f, e, o, &o->name, &o->name,
                          e->bound ? &e->name : &none, false);
    upair_put(o->pair);
    goto out;
  }
  struct sock_inaddr x;
  rc = in_parse(p->family, b, len, &x);
  if (rc == 1 && p->type == LINUX_SOCK_STREAM) /* tcp_v6_connect */
    rc = len < 24 ? -LINUX_EINVAL : -LINUX_EAFNOSUPPORT;
  if (rc < 0)
    goto out;
  if (p->type == LINUX_SOCK_STREAM) {
    rc = in_connect_stream(f, e, &x);
    goto out;
  }
  /* UDP: remember the peer; each send finds the socket behind it. */
  if (!in_is_local(&x)) {
    rc = sock_remote_connect(e, &x, false);
    goto out;
  }
  rc = in_autobind(e);
  if (rc < 0)
    goto out;
  struct sock_inaddr src;
  in_source(e, &x, &src);
  if (in_is_any(&x)) {
    uint16_t port = x.port;
    in_source(e, &x, &x);
    x.port = port;
  }
  rt_lock(&socks()->lock);
  struct sock_inaddr me;
  in_of_end(e, &me);
  src.port = me.port;
  in_format(p->family, &src, &e->name);
  rt_unlock(&socks()->lock);
  rt_lock(&p->lock);
  in_format(p->family, &x, &e->peer);
  e->err = 0;
  rt_unlock(&p->lock);
  rc = 0;
out:
  file_put(f);
  return rc;
}

/* --publish: a TCP listener on a published guest port (bound to the
 * wildcard or loopback) also takes the host's connections there. The
 * plat_net_accept index, or -1. */
static int published_index(struct uend *L) {
  struct upair *lp = L->pair;
  if (!is_inet(lp) || !moat_config() || !moat_config()->npublished)
    return -1;
  if (lp->type != LINUX_SOCK_STREAM && lp->type != LINUX_SOCK_DGRAM)
    return -1;
  struct sock_inaddr x;
  in_of_end(L, &x);
  if (!in_is_local(&x) || !L->bound)
    return -1;
  return hostsock_published_index(lp->type, x.port);
}

int sock_published_index(struct uend *e) {
  return e->pair->type == LINUX_SOCK_DGRAM ? published_index(e) : -1;
}

bool sock_published_ready(struct uend *e) {
  int idx = sock_published_index(e);
  if (idx < 0)
    return false;
  return poll_host(PLAT_IO_PUBLISHED, idx, VFS_POLLIN) & VFS_POLLIN;
}

void sock_addr_from_plat(const struct plat_net_addr *pa,
                         struct sock_addr *out) {
  struct sock_inaddr x;
  memset(&x, 0, sizeof(x));
  if (pa->family == LINUX_AF_INET) {
    memcpy(x.a, g_mapped, 12);
    memcpy(x.a + 12, pa->addr, 4);
  } else {
    memcpy(x.a, pa->addr, 16);
  }
  x.port = pa->port;
  in_format(LINUX_AF_INET6, &x, out); /* the receiver reformats it */
}

/* A host connection waiting at L's published port, as a pair whose end
 * 1 is the accepted side (as a queued connection's), or NULL. */
static struct upair *published_accept(struct uend *L) {
  int idx = published_index(L);
  struct hostsock *h;
  if (idx < 0 || hostsock_accept(idx, &h) < 0)
    return NULL;
  struct upair *c = upair_new(L->pair->family, LINUX_SOCK_STREAM, 0);
  if (!c) {
    hostsock_release(h);
    return NULL;
  }
  c->refs = 1;           /* end 1's file, as the backlog's reference */
  c->end[0].dead = true; /* the far side is on the host */
  struct uend *e = &c->end[1];
  e->host = h;
  e->state = SST_EMBRYO;
  rt_lock(&L->pair->lock);
  e->name = L->name;
  rt_unlock(&L->pair->lock);
  struct sock_inaddr peer;
  memset(&peer, 0, sizeof(peer));
  if (h->peer.family == LINUX_AF_INET) {
    memcpy(peer.a, g_mapped, 12);
    memcpy(peer.a + 12, h->peer.addr, 4);
  } else {
    memcpy(peer.a, h->peer.addr, 16);
  }
  peer.port = h->peer.port;
  in_format(c->family, &peer, &e->peer);
  return c;
}

/* Is a host connection waiting at L's published port? (A poller's sleep
 * watches the port: poll_host.) */
static bool published_ready(struct uend *L) {
  int idx = published_index(L);
  if (idx < 0)
    return false;
  return poll_host(PLAT_IO_PUBLISHED, idx, VFS_POLLIN) & VFS_POLLIN;
}

int moat_accept4(int fd, void *addr, uint32_t *len, int flags) {
  struct file *f;
  int rc = sock_lookup(fd, &f);
  if (rc < 0)
    return rc;
  struct uend *L = end_of(f);
  struct upair *lp = L->pair;
  struct upair *c = NULL;
  if (flags & ~(LINUX_SOCK_NONBLOCK | LINUX_SOCK_CLOEXEC)) {
    rc = -LINUX_EINVAL;
    goto out;
  }
  if (!conn_type(lp)) {
    rc = -LINUX_EOPNOTSUPP;
    goto out;
  }
  rt_lock(&lp->lock);
  for (;;) {
    if (L->state != SST_LISTEN) {
      rc = -LINUX_EINVAL;
      break;
    }
    if (L->lq->n) {
      c = L->lq->head;
      L->lq->head = c->qnext;
      if (!L->lq->head)
        L->lq->tail = NULL;
      c->qnext = NULL;
      L->lq->n--;
      poll_notify_obj(lp); /* room for a blocked connect */
      break;
    }
    if (published_index(L) >= 0) { /* the host's, if one waits */
      rt_unlock(&lp->lock);
      c = published_accept(L);
      rt_lock(&lp->lock);
      if (c)
        break;
    }
    if ((f->flags & LINUX_O_NONBLOCK)) {
      if (published_index(L) >= 0)
        epoll_host_drained(f, VFS_POLLIN);
      rc = -LINUX_EAGAIN;
      break;
    }
    int idx = published_index(L);
    if (idx >= 0) { /* the sandbox's connections or the host's */
      struct plat_io io = {
          .kind = PLAT_IO_PUBLISHED, .events = VFS_POLLIN, .handle = idx};
      rc = poll_sleep_on_host(lp, &lp->lock, &io);
    } else {
      rc = poll_sleep_on(lp, &lp->lock);
    }
    if (rc < 0)
      break;
  }
  rt_unlock(&lp->lock);
  if (!c)
    goto out;
  /* The backlog's reference on c passes to the new file. */
  struct file *nf = NULL;
  unsigned fl = (flags & LINUX_SOCK_NONBLOCK) ? LINUX_O_NONBLOCK : 0;
  rt_lock(&c->lock);
  struct uend *far = &c->end[1];
  if (far->state == SST_EMBRYO)
    far->state = SST_CONN;
  struct sock_addr peer = far->peer;
  rt_unlock(&c->lock);
  rc = sock_file_new(c, 1, fl, &nf);
  if (rc < 0) {
    rt_lock(&c->lock);
    far->dead = true;
    far->shut = SHUT_RCV | SHUT_SEND;
    c->end[0].shut = SHUT_RCV | SHUT_SEND;
    c->end[0].err = LINUX_ECONNRESET;
    poll_notify_obj(c);
    rt_unlock(&c->lock);
    upair_put(c);
    goto out;
  }
  rc = anon_file_install(nf, flags & LINUX_SOCK_CLOEXEC);
  file_put(nf);
  if (rc >= 0 && addr && len) {
    if (!peer.len) {
      uint16_t afam = (uint16_t)lp->family;
      memcpy(peer.b, &afam, 2);
      peer.len = 2;
    }
    memcpy(addr, peer.b, MIN(*len, peer.len));
    *len = peer.len;
  }
out:
  file_put(f);
  return rc;
}

/* ---- addressed datagrams --------------------------------------------- */

static size_t iov_sum(const struct linux_iovec *iov, int iovcnt) {
  size_t t = 0;
  for (int i = 0; i < iovcnt; i++)
    t += iov[i].iov_len;
  return t;
}

/* The UDP end that takes a datagram for dst from src (a pair reference),
 * or NULL. */
static struct uend *udp_find(const struct sock_inaddr *dst,
                             const struct sock_inaddr *src) {
  struct sock_table *t = socks();
  struct uend *best = NULL;
  int bs = 0;
  rt_lock(&t->lock);
  for (struct uend *o = t->bound; o; o = o->bnext) {
    if (!is_inet(o->pair) || o->pair->type != LINUX_SOCK_DGRAM || o->dead)
      continue;
    int sc = in_takes(o, dst);
    if (!sc)
      continue;
    if (o->peer.len) { /* connected: only its peer gets through */
      struct sock_inaddr op;
      in_parse(o->pair->family, o->peer.b, o->peer.len, &op);
      if (op.port != src->port || memcmp(op.a, src->a, 16))
        continue;
      sc += 4;
    }
    if (sc > bs) {
      bs = sc;
      best = o;
    }
  }
  if (best)
    upair_get(best->pair);
  rt_unlock(&t->lock);
  return best;
}

static long udp_send(struct file *f, struct uend *e,
                     const struct linux_iovec *iov, int iovcnt, int flags,
                     const struct moat_sock_ctl *ctl,
                     const struct sock_inaddr *dst_in, bool connected) {
  struct sock_inaddr dst = *dst_in;
  /* A UDP socket on a published port answers the host's senders from
   * there (the platform knows who sent: -ENETUNREACH for anyone else). */
  int pub = sock_published_index(e);
  if (pub >= 0) {
    long r = hostsock_dgram_send(pub, iov, iovcnt, dst.a, dst.port);
    if (r != -LINUX_ENETUNREACH)
      return r;
  }
  if (!in_is_local(&dst))
    return remote_sendto(f, e, &dst, iov, iovcnt, flags);
  int rc = in_autobind(e);
  if (rc < 0)
    return rc;
  struct sock_inaddr src;
  in_source(e, &dst, &src);
  if (in_is_any(&dst)) {
    uint16_t port = dst.port;
    in_source(e, &dst, &dst);
    dst.port = port;
  }
  if (dst.port == 0)
    return -LINUX_EINVAL;
  struct uend *o = udp_find(&dst, &src);
  if (!o) {
    /* Nobody in the sandbox there: a grant may name the host's own
     * loopback port (--allow-connect 127.0.0.1:PORT/udp). */
    long r = remote_sendto(f, e, &dst, iov, iovcnt, flags);
    if (r != -LINUX_ENETUNREACH)
      return r;
    /* Nobody at that port: the datagram is lost; loopback's ICMP error
     * reaches a connected socket as ECONNREFUSED on its next call. */
    if (connected) {
      rt_lock(&e->pair->lock);
      e->err = LINUX_ECONNREFUSED;
      poll_notify_obj(e->pair);
      rt_unlock(&e->pair->lock);
    }
    return (long)MIN(iov_sum(iov, iovcnt), (size_t)0x7fffffff);
  }
  struct sock_addr from;
  in_format(LINUX_AF_INET6, &src, &from); /* the receiver reformats it */
  long r = sock_send_to(f, iov, iovcnt, flags, ctl, o, &from);
  upair_put(o->pair);
  return r;
}

long sock_dgram_send(struct file *f, const struct linux_iovec *iov, int iovcnt,
                     int flags, const struct moat_sock_ctl *ctl,
                     const struct sock_addr *to) {
  struct uend *e = end_of(f);
  struct upair *p = e->pair;
  struct uend *o = NULL;
  int rc;
  if (is_inet(p)) {
    struct sock_inaddr x;
    bool connected = !to;
    if (!to) {
      rt_lock(&p->lock);
      struct sock_addr peer = e->peer;
      int err = e->err;
      e->err = 0;
      rt_unlock(&p->lock);
      if (err)
        return -err;
      if (!peer.len)
        return -LINUX_EDESTADDRREQ;
      in_parse(p->family, peer.b, peer.len, &x);
    } else {
      rc = in_parse(p->family, to->b, to->len, &x);
      if (rc < 0)
        return rc;
    }
    return udp_send(f, e, iov, iovcnt, flags, ctl, &x, connected);
  }
  if (!to) {
    rt_lock(&p->lock);
    o = e->dpeer;
    if (o)
      upair_get(o->pair);
    rt_unlock(&p->lock);
    if (!o)
      return -LINUX_ENOTCONN;
  } else {
    if (wants_passcred(e) && (rc = unix_autobind(e)) < 0)
      return rc;
    rc = unix_lookup(to->b, to->len, p->type, &o);
    if (rc < 0)
      return rc;
    if (o->pair->type != p->type) {
      upair_put(o->pair);
      return -LINUX_EPROTOTYPE;
    }
    /* A receiver connected elsewhere takes nothing from us
     * (unix_may_send). */
    struct uend *op = o->dpeer;
    if (op && op != e) {
      upair_put(o->pair);
      return -LINUX_EPERM;
    }
  }
  long r = sock_send_to(f, iov, iovcnt, flags, ctl, o, NULL);
  upair_put(o->pair);
  return r;
}

long moat_sock_send(int fd, const struct linux_iovec *iov, int iovcnt,
                    int flags, const void *addr, uint32_t addrlen,
                    const struct moat_sock_ctl *ctl) {
  struct file *f;
  int rc = sock_lookup(fd, &f);
  if (rc < 0)
    return rc;
  struct uend *e = end_of(f);
  struct upair *p = e->pair;
  long r;
  if (addr && addrlen && p->type == LINUX_SOCK_DGRAM && e->state != SST_PAIR) {
    struct sock_addr to;
    to.len = MIN(addrlen, (uint32_t)SOCK_ADDR_MAX);
    memcpy(to.b, addr, to.len);
    r = sock_dgram_send(f, iov, iovcnt, flags, ctl, &to);
  } else if (addr && addrlen && p->type == LINUX_SOCK_STREAM &&
             (p->family == LINUX_AF_UNIX || e->state == SST_CONN ||
              e->state == SST_EMBRYO)) {
    /* unix_stream_sendmsg: EOPNOTSUPP when unconnected, EISCONN else;
     * TCP ignores the address of a connected socket. */
    if (p->family != LINUX_AF_UNIX)
      r = sock_send_to(f, iov, iovcnt, flags, ctl, NULL, NULL);
    else
      r = e->state == SST_UNCONN ? -LINUX_EOPNOTSUPP : -LINUX_EISCONN;
  } else if (addr && addrlen && p->type == LINUX_SOCK_DGRAM) {
    r = -LINUX_EISCONN; /* a socketpair's datagram end */
  } else {
    r = sock_send_to(f, iov, iovcnt, flags, ctl, NULL, NULL);
  }
  file_put(f);
  return r;
}

/* A received sender address as the receiving socket's family shows it. */
static void from_for(const struct upair *p, struct sock_addr *a) {
  if (!is_inet(p) || !a->len)
    return;
  struct sock_inaddr x;
  if (in_parse(LINUX_AF_INET6, a->b, a->len, &x) < 0) {
    a->len = 0;
    return;
  }
  in_format(p->family == LINUX_AF_INET && in_is_v4(&x) ? LINUX_AF_INET
                                                       : LINUX_AF_INET6,
            &x, a);
}

long moat_sock_recv(int fd, const struct linux_iovec *iov, int iovcnt,
                    int flags, int *msg_flags, void *addr, uint32_t *addrlen,
                    struct moat_sock_ctl *ctl) {
  struct file *f;
  int rc = sock_lookup(fd, &f);
  if (rc < 0)
    return rc;
  struct uend *e = end_of(f);
  struct upair *p = e->pair;
  struct sock_addr from;
  from.len = 0;
  long r = sock_recv_from(f, iov, iovcnt, flags, msg_flags, ctl, &from);
  if (r >= 0 && addrlen) {
    if (p->type != LINUX_SOCK_DGRAM) {
      /* AF_UNIX streams report the peer's name; TCP none. */
      rt_lock(&p->lock);
      from = p->family == LINUX_AF_UNIX ? e->peer : (struct sock_addr){0};
      rt_unlock(&p->lock);
    } else {
      from_for(p, &from);
    }
    if (addr)
      memcpy(addr, from.b, MIN(*addrlen, from.len));
    *addrlen = from.len;
  }
  file_put(f);
  return r;
}

/* ---- names ------------------------------------------------------------ */

int moat_sock_name(int fd, bool peer, void *addr, uint32_t *len) {
  struct file *f;
  int rc = sock_lookup(fd, &f);
  if (rc < 0)
    return rc;
  struct uend *e = end_of(f);
  struct upair *p = e->pair;
  struct sock_addr a;
  rt_lock(&p->lock);
  if (!peer) {
    a = e->name;
  } else if (e->state == SST_PAIR) {
    a.len = 0; /* socketpair ends are unnamed */
    if (e->peer_gone)
      rc = -LINUX_ENOTCONN;
  } else if (p->type == LINUX_SOCK_DGRAM) {
    if (p->family == LINUX_AF_UNIX && e->dpeer)
      a = e->dpeer->name;
    else if (is_inet(p) && e->peer.len)
      a = e->peer;
    else
      rc = -LINUX_ENOTCONN;
  } else if (e->state == SST_CONN || e->state == SST_EMBRYO) {
    a = e->peer;
  } else {
    rc = -LINUX_ENOTCONN;
  }
  rt_unlock(&p->lock);
  file_put(f);
  if (rc < 0)
    return rc;
  if ((int32_t)*len < 0)
    return -LINUX_EINVAL;
  if (!a.len) {
    /* Unnamed: sun_family alone; an unbound inet socket shows the
     * wildcard at port 0. */
    memset(&a, 0, sizeof(a));
    uint16_t af = (uint16_t)p->family;
    memcpy(a.b, &af, 2);
    a.len = p->family == LINUX_AF_UNIX   ? 2
            : p->family == LINUX_AF_INET ? SIN_LEN
                                         : SIN6_LEN;
  }
  memcpy(addr, a.b, MIN(*len, a.len));
  *len = a.len;
  return 0;
}

/* ---- the data path's hooks ------------------------------------------- */

bool sock_linger_abort(struct uend *e) {
  struct upair *p = e->pair;
  rt_lock(&p->lock);
  int i = opt_find(e, LINUX_SOL_SOCKET, LINUX_SO_LINGER);
  bool abort = i >= 0 && e->opts->o[i].v[0] && e->opts->o[i].v[1] == 0;
  rt_unlock(&p->lock);
  return abort;
}

int sock_conn_check(struct uend *e, bool send) {
  struct upair *p = e->pair;
  int st = e->state;
  if (st == SST_PAIR || st == SST_CONN || st == SST_EMBRYO ||
      p->type == LINUX_SOCK_DGRAM)
    return 0;
  if (is_inet(p)) {
    rt_lock(&p->lock);
    int err = e->err;
    e->err = 0;
    rt_unlock(&p->lock);
    if (err)
      return -err;
    return send ? -LINUX_EPIPE : -LINUX_ENOTCONN;
  }
  if (p->type == LINUX_SOCK_SEQPACKET)
    return -LINUX_ENOTCONN;
  return send ? -LINUX_ENOTCONN : -LINUX_EINVAL;
}

bool sock_conn_poll(struct uend *e, unsigned *mask) {
  struct upair *p = e->pair;
  if (p->type == LINUX_SOCK_DGRAM)
    return false;
  rt_lock(&p->lock);
  int st = e->state;
  bool mine = false;
  if (st == SST_LISTEN) {
    *mask = e->lq->n ? VFS_POLLIN | VFS_POLLRDNORM : 0;
    mine = true;
    if (!*mask && published_index(e) >= 0) {
      rt_unlock(&p->lock);
      if (published_ready(e))
        *mask = VFS_POLLIN | VFS_POLLRDNORM;
      return true;
    }
  } else if (st == SST_UNCONN || st == SST_CONNECTING) {
    /* Never connected: hung up, and writable as Linux says. */
    *mask = VFS_POLLHUP | VFS_POLLOUT | VFS_POLLWRNORM;
    if (!is_inet(p))
      *mask |= LINUX_POLLWRBAND;
    if (e->err)
      *mask |= VFS_POLLERR;
    mine = true;
  }
  rt_unlock(&p->lock);
  return mine;
}

void sock_conn_release(struct uend *e) {
  struct upair *p = e->pair;
  struct sock_table *t = socks();
  if (e->bound) {
    rt_lock(&t->lock);
    if (e->bound)
      table_del(e);
    rt_unlock(&t->lock);
  }
  if (e->dpeer)
    dgram_disconnect(e);
  if (e->state != SST_LISTEN)
    return;
  /* A closing listener resets what waits in its backlog: the connecting
   * side reads ECONNRESET, then end of file. */
  rt_lock(&p->lock);
  e->state = SST_UNCONN;
  struct ulisten *lq = e->lq;
  e->lq = NULL;
  struct upair *c = lq->head, *reset = lq->head;
  lq->head = lq->tail = NULL;
  lq->n = 0;
  while (c) {
    struct upair *next = c->qnext;
    rt_lock(&c->lock);
    struct uend *far = &c->end[1];
    far->dead = true;
    far->shut = SHUT_RCV | SHUT_SEND;
    kfree(far->buf);
    far->buf = NULL;
    far->count = far->head = far->nrec = 0;
    c->end[0].shut = SHUT_RCV | SHUT_SEND;
    c->end[0].err = LINUX_ECONNRESET;
    poll_notify_obj(c);
    rt_unlock(&c->lock);
    c = next;
  }
  poll_notify_obj(p);
  rt_unlock(&p->lock);
  kfree(lq);
  /* The backlog's references go without a lock held: the last one takes
   * the collector's lock and may close files in flight. */
  while (reset) {
    struct upair *next = reset->qnext;
    reset->qnext = NULL;
    upair_put(reset);
    reset = next;
  }
}
