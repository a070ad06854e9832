/* Netlink sockets (AF_NETLINK, NETLINK_ROUTE) of the library OS: enough
 * rtnetlink for programs to list the sandbox's interfaces and addresses
 * (glibc's and musl's getifaddrs and if_nameindex, `ip addr`, `ip link`).
 * The "kernel" side is this file: a request sent on the socket is
 * answered at once, into the socket's own queue of datagrams, from the
 * interface table of core/netif.c.
 *
 * As Linux's rtnetlink: a dump (RTM_GETLINK, RTM_GETADDR with NLM_F_DUMP)
 * is one datagram of NLM_F_MULTI messages, then NLMSG_DONE in a datagram
 * of its own; a plain RTM_GETLINK by index or name answers one message;
 * errors and NLM_F_ACK answer NLMSG_ERROR with the request's header (and,
 * for an error, its payload). Replies carry the request's sequence number
 * and the socket's port id (autobound to the guest process id on the
 * first bind or send). Changes (RTM_NEW*, RTM_DEL*, RTM_SET*) are EPERM;
 * multicast groups are accepted and never deliver anything. */
#include "moat/moat.h"
#include "poll.h"
#include "task.h"
#include "vfs_impl.h"

#define NL_BUF_DEFAULT 212992u
#define NL_BUF_MAX 212992u
#define NL_QUEUE_MAX 212992u
#define SOCKFS_MAGIC 0x534f434bull

#define NLMSG_NOOP 1
#define NLMSG_ERROR 2
#define NLMSG_DONE 3
#define NLMSG_MIN_TYPE 0x10
#define NLM_F_REQUEST 0x1
#define NLM_F_MULTI 0x2
#define NLM_F_ACK 0x4
#define NLM_F_DUMP 0x300
#define NLM_F_CAPPED 0x100
#define NETLINK_CAP_ACK 10

#define RTM_BASE 16
#define RTM_NEWLINK 16
#define RTM_GETLINK 18
#define RTM_NEWADDR 20
#define RTM_GETADDR 22
#define RTM_MAX 127

#define IFLA_ADDRESS 1
#define IFLA_BROADCAST 2
#define IFLA_IFNAME 3
#define IFLA_MTU 4
#define IFLA_QDISC 6
#define IFLA_STATS 7
#define IFLA_TXQLEN 13
#define IFLA_OPERSTATE 16
#define IFLA_LINKMODE 17
#define IFLA_GROUP 27
#define IFLA_PROMISCUITY 30
#define IFLA_NUM_TX_QUEUES 31
#define IFLA_NUM_RX_QUEUES 32
#define IFLA_CARRIER 33
#define IFLA_MIN_MTU 50
#define IFLA_MAX_MTU 51
#define IFF_LOWER_UP 0x10000

#define IFA_ADDRESS 1
#define IFA_LOCAL 2
#define IFA_LABEL 3
#define IFA_CACHEINFO 6
#define IFA_FLAGS 8
#define IFA_F_PERMANENT 0x80
#define RT_SCOPE_HOST 254

#define NL_ALIGN(n) (((n) + 3u) & ~3u)
#define NL_HDRLEN ((uint32_t)sizeof(struct linux_nlmsghdr))

struct nl_dgram {
  struct nl_dgram *next;
  uint32_t len;
  uint8_t data[];
};

struct nlsock {
  struct rt_lock lock;
  int type; /* LINUX_SOCK_RAW or LINUX_SOCK_DGRAM */
  bool bound;
  uint32_t portid, groups;
  uint32_t dst_pid, dst_groups;
  uint32_t sndbuf, rcvbuf;
  uint32_t opts; /* SOL_NETLINK boolean options, bit per option number */
  struct nl_dgram *head, *tail;
  uint32_t queued; /* bytes in the queue */
};

/* ---- building replies --------------------------------------------------- */

struct nlbuf {
  uint8_t *p;
  uint32_t len, cap;
  bool overflow;
};

static void *nb_put(struct nlbuf *b, uint32_t n) {
  uint32_t at = NL_ALIGN(b->len);
  if (at + n > b->cap) {
    b->overflow = true;
    return NULL;
  }
  memset(b->p + b->len, 0, at + n - b->len);
  b->len = at + n;
  return b->p + at;
}

static struct linux_nlmsghdr *nb_msg(struct nlbuf *b, uint16_t type,
                                     uint16_t flags, uint32_t seq,
                                     uint32_t pid) {
  struct linux_nlmsghdr *h = nb_put(b, NL_HDRLEN);
  if (h) {
    h->nlmsg_type = type;
    h->nlmsg_flags = flags;
    h->nlmsg_seq = seq;
    h->nlmsg_pid = pid;
  }
  return h;
}

static void nb_end(struct nlbuf *b, struct linux_nlmsghdr *h) {
  if (h && !b->overflow)
    h->nlmsg_len = (uint32_t)(b->p + b->len - (uint8_t *)h);
  b->len = NL_ALIGN(b->len);
}

static void nb_attr(struct nlbuf *b, uint16_t type, const void *data,
                    uint32_t n) {
  uint16_t *a = nb_put(b, 4 + n);
  if (!a)
    return;
  a[0] = (uint16_t)(4 + n);
  a[1] = type;
  if (n)
    memcpy(a + 2, data, n);
}

static void nb_u32(struct nlbuf *b, uint16_t type, uint32_t v) {
  nb_attr(b, type, &v, 4);
}

static void nb_u8(struct nlbuf *b, uint16_t type, uint8_t v) {
  nb_attr(b, type, &v, 1);
}

static void link_msg(struct nlbuf *b, const struct moat_netif *nif,
                     uint16_t flags, uint32_t seq, uint32_t pid) {
  struct linux_nlmsghdr *h = nb_msg(b, RTM_NEWLINK, flags, seq, pid);
  uint8_t *ifi = nb_put(b, 16); /* struct ifinfomsg */
  if (ifi) {
    uint16_t type = (uint16_t)nif->type;
    int32_t index = nif->index;
    uint32_t fl = nif->flags | IFF_LOWER_UP;
    memcpy(ifi + 2, &type, 2);
    memcpy(ifi + 4, &index, 4);
    memcpy(ifi + 8, &fl, 4);
  }
  static const uint8_t hw[6];
  static const uint8_t stats[96]; /* struct rtnl_link_stats */
  nb_attr(b, IFLA_IFNAME, nif->name, (uint32_t)rt_strlen(nif->name) + 1);
  nb_u32(b, IFLA_TXQLEN, nif->txqlen);
  nb_u8(b, IFLA_OPERSTATE, 0); /* IF_OPER_UNKNOWN, as lo */
  nb_u8(b, IFLA_LINKMODE, 0);
  nb_u32(b, IFLA_MTU, nif->mtu);
  nb_u32(b, IFLA_MIN_MTU, 0);
  nb_u32(b, IFLA_MAX_MTU, 0);
  nb_u32(b, IFLA_GROUP, 0);
  nb_u32(b, IFLA_PROMISCUITY, 0);
  nb_u32(b, IFLA_NUM_TX_QUEUES, 1);
  nb_u32(b, IFLA_NUM_RX_QUEUES, 1);
  nb_u8(b, IFLA_CARRIER, 1);
  nb_attr(b, IFLA_QDISC, "noqueue", 8);
  nb_attr(b, IFLA_ADDRESS, hw, sizeof(hw));
  nb_attr(b, IFLA_BROADCAST, hw, sizeof(hw));
  nb_attr(b, IFLA_STATS, stats, sizeof(stats));
  nb_end(b, h);
}

static void addr_msg(struct nlbuf *b, const struct moat_netif *nif, int family,
                     uint16_t flags, uint32_t seq, uint32_t pid) {
  struct linux_nlmsghdr *h = nb_msg(b, RTM_NEWADDR, flags, seq, pid);
  uint8_t *ifa = nb_put(b, 8); /* struct ifaddrmsg */
  bool v6 = family == LINUX_AF_INET6;
  if (ifa) {
    int32_t index = nif->index;
    ifa[0] = (uint8_t)family;
    ifa[1] = (uint8_t)(v6 ? nif->inet6_prefix : nif->inet_prefix);
    ifa[2] = IFA_F_PERMANENT;
    ifa[3] = RT_SCOPE_HOST;
    memcpy(ifa + 4, &index, 4);
  }
  /* struct ifa_cacheinfo: preferred and valid forever */
  uint32_t cache[4] = {0xffffffffu, 0xffffffffu, 0, 0};
  if (v6) {
    nb_attr(b, IFA_ADDRESS, nif->inet6, 16);
    nb_attr(b, IFA_CACHEINFO, cache, sizeof(cache));
    nb_u32(b, IFA_FLAGS, IFA_F_PERMANENT);
  } else {
    nb_attr(b, IFA_ADDRESS, nif->inet, 4);
    nb_attr(b, IFA_LOCAL, nif->inet, 4);
    nb_attr(b, IFA_LABEL, nif->name, (uint32_t)rt_strlen(nif->name) + 1);
    nb_u32(b, IFA_FLAGS, IFA_F_PERMANENT);
    nb_attr(b, IFA_CACHEINFO, cache, sizeof(cache));
  }
  nb_end(b, h);
}

/* ---- the queue ---------------------------------------------------------- */

/* Queue a datagram of the built bytes (called with ns->lock held). A full
 * receive queue drops it, as Linux's netlink does (ENOBUFS is then
 * reported to the receiver; not modelled). */
static void enqueue(struct nlsock *ns, const struct nlbuf *b) {
  if (b->overflow || !b->len || ns->queued + b->len > NL_QUEUE_MAX)
    return;
  struct nl_dgram *d = kmalloc(sizeof(*d) + b->len);
  if (!d)
    return;
  d->next = NULL;
  d->len = b->len;
  memcpy(d->data, b->p, b->len);
  if (ns->tail)
    ns->tail->next = d;
  else
    ns->head = d;
  ns->tail = d;
  ns->queued += d->len;
  poll_notify_obj(ns);
}

/* NLMSG_ERROR for request h (err 0 is an acknowledgement): the request's
 * header, and for an error its payload too unless NETLINK_CAP_ACK. */
static void answer_error(struct nlsock *ns, const struct linux_nlmsghdr *h,
                         int err) {
  uint8_t mem[512];
  struct nlbuf b = {.p = mem, .cap = sizeof(mem)};
  bool capped = err == 0 || (ns->opts & (1u << NETLINK_CAP_ACK));
  uint32_t payload = capped ? NL_HDRLEN : h->nlmsg_len;
  if (payload > sizeof(mem) - 2 * NL_HDRLEN - 4) {
    payload = NL_HDRLEN;
    capped = true;
  }
  struct linux_nlmsghdr *r =
      nb_msg(&b, NLMSG_ERROR, capped && err ? NLM_F_CAPPED : 0, h->nlmsg_seq,
             ns->portid);
  int32_t e = err;
  uint8_t *body = nb_put(&b, 4 + payload);
  if (body) {
    memcpy(body, &e, 4);
    memcpy(body + 4, h, payload);
  }
  nb_end(&b, r);
  enqueue(ns, &b);
}

static void answer_done(struct nlsock *ns, uint32_t seq) {
  uint8_t mem[64];
  struct nlbuf b = {.p = mem, .cap = sizeof(mem)};
  struct linux_nlmsghdr *r =
      nb_msg(&b, NLMSG_DONE, NLM_F_MULTI, seq, ns->portid);
  int32_t zero = 0;
  uint8_t *body = nb_put(&b, 4);
  if (body)
    memcpy(body, &zero, 4);
  nb_end(&b, r);
  enqueue(ns, &b);
}

/* The family byte of a request's payload (struct rtgenmsg and the first
 * byte of ifinfomsg/ifaddrmsg alike), AF_UNSPEC when absent. */
static int req_family(const struct linux_nlmsghdr *h) {
  if (h->nlmsg_len < NL_HDRLEN + 1)
    return 0;
  return ((const uint8_t *)h)[NL_HDRLEN];
}

static int dump(struct nlsock *ns, const struct linux_nlmsghdr *h) {
  uint8_t *mem = kmalloc(8192);
  if (!mem)
    return -LINUX_ENOBUFS;
  struct nlbuf b = {.p = mem, .cap = 8192};
  int family = req_family(h);
  for (int i = 0; i < g_moat_nnetifs; i++) {
    const struct moat_netif *nif = &g_moat_netifs[i];
    if (h->nlmsg_type == RTM_GETLINK) {
      link_msg(&b, nif, NLM_F_MULTI, h->nlmsg_seq, ns->portid);
      continue;
    }
    if (h->nlmsg_type != RTM_GETADDR)
      continue;
    /* AF_INET or AF_INET6 dump one family, anything else all of them
     * (rtnetlink falls back to rtnl_dump_all). */
    if (family != LINUX_AF_INET6 && nif->inet_prefix)
      addr_msg(&b, nif, LINUX_AF_INET, NLM_F_MULTI, h->nlmsg_seq, ns->portid);
    if (family != LINUX_AF_INET && nif->inet6_prefix)
      addr_msg(&b, nif, LINUX_AF_INET6, NLM_F_MULTI, h->nlmsg_seq, ns->portid);
  }
  enqueue(ns, &b);
  kfree(mem);
  answer_done(ns, h->nlmsg_seq);
  return 0;
}

/* An attribute of a request after a fixed header of hdr bytes. */
static const uint8_t *req_attr(const struct linux_nlmsghdr *h, uint32_t hdr,
                               uint16_t type, uint32_t *out_len) {
  uint32_t at = NL_HDRLEN + NL_ALIGN(hdr);
  while (at + 4 <= h->nlmsg_len) {
    const uint8_t *a = (const uint8_t *)h + at;
    uint16_t len, t;
    memcpy(&len, a, 2);
    memcpy(&t, a + 2, 2);
    if (len < 4 || at + len > h->nlmsg_len)
      break;
    if ((t & 0x3fff) == type) {
      *out_len = len - 4u;
      return a + 4;
    }
    at += NL_ALIGN(len);
  }
  return NULL;
}

/* RTM_GETLINK of one interface: by ifi_index, else by IFLA_IFNAME. */
static int get_link(struct nlsock *ns, const struct linux_nlmsghdr *h) {
  if (h->nlmsg_len < NL_HDRLEN + 16)
    return -LINUX_EINVAL;
  int32_t index;
  memcpy(&index, (const uint8_t *)h + NL_HDRLEN + 4, 4);
  const struct moat_netif *nif = NULL;
  if (index > 0) {
    nif = moat_netif_by_index(index);
  } else {
    uint32_t n;
    const uint8_t *name = req_attr(h, 16, IFLA_IFNAME, &n);
    if (!name)
      return -LINUX_EINVAL;
    char buf[LINUX_IFNAMSIZ];
    n = MIN(n, (uint32_t)sizeof(buf) - 1);
    memcpy(buf, name, n);
    buf[n] = 0;
    nif = moat_netif_by_name(buf);
  }
  if (!nif)
    return -LINUX_ENODEV;
  uint8_t mem[1024];
  struct nlbuf b = {.p = mem, .cap = sizeof(mem)};
  link_msg(&b, nif, 0, h->nlmsg_seq, ns->portid);
  enqueue(ns, &b);
  return 0;
}

/* One request, as rtnetlink_rcv_msg: 0 answered (or nothing to say),
 * 1 a dump started (no acknowledgement), else an errno for NLMSG_ERROR. */
static int rtnl_request(struct nlsock *ns, const struct linux_nlmsghdr *h) {
  int type = h->nlmsg_type;
  if (type > RTM_MAX)
    return -LINUX_EOPNOTSUPP;
  int kind = (type - RTM_BASE) & 3;
  if (h->nlmsg_len < NL_HDRLEN + 1)
    return 0; /* no rtgenmsg: ignored */
  if (kind != 2)
    return -LINUX_EPERM; /* changes to the sandbox's interfaces */
  if (h->nlmsg_flags & NLM_F_DUMP) {
    /* Other tables (routes, neighbours, rules, ...) are empty here. */
    dump(ns, h);
    return 1;
  }
  if (type == RTM_GETLINK)
    return get_link(ns, h);
  return -LINUX_EOPNOTSUPP;
}

/* Linux's netlink_rcv_skb over the bytes of one send. */
static void handle(struct nlsock *ns, const uint8_t *p, uint32_t len) {
  while (len >= NL_HDRLEN) {
    struct linux_nlmsghdr h;
    memcpy(&h, p, NL_HDRLEN);
    if (h.nlmsg_len < NL_HDRLEN || h.nlmsg_len > len)
      return;
    /* aligned copy: the payload is read through the header pointer */
    struct linux_nlmsghdr *m = kmalloc(h.nlmsg_len);
    if (!m)
      return;
    memcpy(m, p, h.nlmsg_len);
    int err = 0;
    if (h.nlmsg_flags & NLM_F_REQUEST) {
      if (h.nlmsg_type >= NLMSG_MIN_TYPE)
        err = rtnl_request(ns, m);
      if (err < 0 || (err == 0 && (h.nlmsg_flags & NLM_F_ACK)))
        answer_error(ns, m, err);
    }
    kfree(m);
    uint32_t step = NL_ALIGN(h.nlmsg_len);
    if (step > len)
      return;
    p += step;
    len -= step;
  }
}

/* ---- the file ----------------------------------------------------------- */

static int32_t current_pid(void);
/* Whether the calling process's pid is taken as a port id (struct proc,
 * netlink_pid_port: per process, not inherited). */
static bool *pid_port_taken(void) {
  static bool none; /* no task: the runner's own calls */
  struct task *t = task_current();
  return t ? &t->proc->netlink_pid_port : &none;
}

static void nl_release(struct file *f) {
  epoll_file_released(f);
  struct nlsock *ns = f->private;
  if (!ns)
    return;
  if (ns->bound && (int32_t)ns->portid == current_pid())
    *pid_port_taken() = false;
  while (ns->head) {
    struct nl_dgram *d = ns->head;
    ns->head = d->next;
    kfree(d);
  }
  kfree(ns);
}

static unsigned nl_poll(struct file *f, unsigned events) {
  struct nlsock *ns = f->private;
  unsigned mask = VFS_POLLOUT | VFS_POLLWRNORM;
  rt_lock(&ns->lock);
  if (ns->head)
    mask |= VFS_POLLIN | VFS_POLLRDNORM;
  rt_unlock(&ns->lock);
  return mask & (events | VFS_POLLHUP | VFS_POLLERR);
}

static long nl_sendv(struct file *f, const struct linux_iovec *iov, int iovcnt,
                     const void *addr, uint32_t addrlen);
static long nl_recvv(struct file *f, const struct linux_iovec *iov, int iovcnt,
                     int flags, int *msg_flags);

static long nl_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  (void)pos;
  struct linux_iovec iov = {.iov_base = buf, .iov_len = len};
  int mf;
  return nl_recvv(f, &iov, 1, 0, &mf);
}

static long nl_write(struct file *f, const void *buf, size_t len,
                     uint64_t *pos) {
  (void)pos;
  struct linux_iovec iov = {.iov_base = (void *)buf, .iov_len = len};
  return nl_sendv(f, &iov, 1, NULL, 0);
}

static int nl_ioctl(struct file *f, unsigned request, void *arg) {
  struct nlsock *ns = f->private;
  if (request == LINUX_FIONREAD) {
    rt_lock(&ns->lock);
    int32_t n = ns->head ? (int32_t)ns->head->len : 0;
    rt_unlock(&ns->lock);
    *(int32_t *)arg = n;
    return 0;
  }
  return -LINUX_ENOTTY;
}

static const struct file_ops nl_ops = {
    .release = nl_release,
    .read = nl_read,
    .write = nl_write,
    .ioctl = nl_ioctl,
    .poll = nl_poll,
    .epoll_release_hook = true,
    .stream = true,
};

/* The guest process id is the port id Linux autobinds a process's
 * netlink socket to while no other socket holds it; others get -4096,
 * -4097, ... Port ids only label replies here (no socket is ever
 * addressed by another), so this per-process record is enough. */
static int32_t g_next_negative_port = -4096;

static int32_t current_pid(void) {
  struct task *t = task_current();
  return t ? t->proc->pid : 1;
}

static uint32_t autobind_portid(void) {
  int32_t pid = current_pid();
  bool *taken = pid_port_taken();
  if (!*taken) {
    *taken = true;
    return (uint32_t)pid;
  }
  return (uint32_t)g_next_negative_port--;
}

static void autobind(struct nlsock *ns) {
  if (!ns->bound) {
    ns->portid = autobind_portid();
    ns->bound = true;
  }
}

static long nl_sendv(struct file *f, const struct linux_iovec *iov, int iovcnt,
                     const void *addr, uint32_t addrlen) {
  struct nlsock *ns = f->private;
  if (addr) {
    struct linux_sockaddr_nl sa;
    if (addrlen < sizeof(sa))
      return -LINUX_EINVAL;
    memcpy(&sa, addr, sizeof(sa));
    if (sa.nl_family != LINUX_AF_NETLINK)
      return -LINUX_EINVAL;
    if (sa.nl_groups)
      return -LINUX_EPERM; /* NETLINK_ROUTE: no multicast sends */
    if (sa.nl_pid)
      return -LINUX_ECONNREFUSED; /* no other netlink socket to reach */
  } else if (ns->dst_pid) {
    return -LINUX_ECONNREFUSED;
  }
  size_t total = 0;
  for (int i = 0; i < iovcnt; i++)
    total += iov[i].iov_len;
  if (total > ns->sndbuf - 32)
    return -LINUX_EMSGSIZE;
  uint8_t *buf = kmalloc(total ? total : 1);
  if (!buf)
    return -LINUX_ENOBUFS;
  size_t at = 0;
  for (int i = 0; i < iovcnt; i++) {
    if (rt_ucopy(buf + at, iov[i].iov_base, iov[i].iov_len)) {
      kfree(buf);
      return -LINUX_EFAULT;
    }
    at += iov[i].iov_len;
  }
  rt_lock(&ns->lock);
  autobind(ns);
  handle(ns, buf, (uint32_t)total);
  rt_unlock(&ns->lock);
  kfree(buf);
  return (long)total;
}

static long nl_recvv(struct file *f, const struct linux_iovec *iov, int iovcnt,
                     int flags, int *msg_flags) {
  struct nlsock *ns = f->private;
  bool nonblock = (f->flags & LINUX_O_NONBLOCK) || (flags & LINUX_MSG_DONTWAIT);
  *msg_flags = 0;
  if (flags & LINUX_MSG_OOB)
    return -LINUX_EOPNOTSUPP;
  size_t len = 0;
  for (int i = 0; i < iovcnt; i++)
    len += iov[i].iov_len;
  long rc;
  rt_lock(&ns->lock);
  for (;;) {
    struct nl_dgram *d = ns->head;
    if (d) {
      size_t n = MIN((size_t)d->len, len), done = 0;
      for (int i = 0; i < iovcnt && done < n; i++) {
        size_t take = MIN(iov[i].iov_len, n - done);
        if (rt_ucopy(iov[i].iov_base, d->data + done, take)) {
          rt_unlock(&ns->lock);
          return -LINUX_EFAULT;
        }
        done += take;
      }
      if (d->len > len)
        *msg_flags |= LINUX_MSG_TRUNC;
      rc = (flags & LINUX_MSG_TRUNC) ? (long)d->len : (long)n;
      if (!(flags & LINUX_MSG_PEEK)) {
        ns->head = d->next;
        if (!ns->head)
          ns->tail = NULL;
        ns->queued -= d->len;
        kfree(d);
      }
      break;
    }
    if (nonblock) {
      rc = -LINUX_EAGAIN;
      break;
    }
    rc = poll_sleep_on(ns, &ns->lock);
    if (rc < 0)
      break;
  }
  rt_unlock(&ns->lock);
  return rc;
}

/* ---- the calls ---------------------------------------------------------- */

/* The sockfs superblock that core/socket.c also uses (made on first use,
 * under the vfs's pipe_lock). */
static struct superblock *sockfs(void) {
  struct vfs_shared *v = vfs_shared();
  rt_lock(&v->pipe_lock);
  if (!v->sockfs)
    v->sockfs = vfs_sb_alloc("sockfs", SOCKFS_MAGIC, 0);
  struct superblock *sb = v->sockfs;
  rt_unlock(&v->pipe_lock);
  return sb;
}

int moat_netlink_socket(int type, int protocol) {
  int kind = type & 0xf;
  if (type & ~(0xf | LINUX_SOCK_NONBLOCK | LINUX_SOCK_CLOEXEC))
    return -LINUX_EINVAL;
  if (kind != LINUX_SOCK_RAW && kind != LINUX_SOCK_DGRAM)
    return -LINUX_ESOCKTNOSUPPORT;
  if (protocol < 0 || protocol >= 32)
    return -LINUX_EPROTONOSUPPORT;
  if (protocol != LINUX_NETLINK_ROUTE)
    return -LINUX_EPROTONOSUPPORT; /* as a kernel built without it */
  struct superblock *sb = sockfs();
  if (!sb)
    return -LINUX_ENOMEM;
  struct nlsock *ns = kzalloc(sizeof(*ns));
  if (!ns)
    return -LINUX_ENOMEM;
  ns->type = kind;
  ns->sndbuf = ns->rcvbuf = NL_BUF_DEFAULT;
  struct inode *inode = vfs_inode_alloc(sb, LINUX_S_IFSOCK | 0777,
                                        &nameless_iops, &anon_reopen_ops);
  if (!inode) {
    kfree(ns);
    return -LINUX_ENOMEM;
  }
  vfs_cred(&inode->uid, &inode->gid);
  struct file *f;
  unsigned fl = (type & LINUX_SOCK_NONBLOCK) ? LINUX_O_NONBLOCK : 0;
  int rc = file_open_inode(inode, LINUX_O_RDWR | fl, &nl_ops, &f);
  vfs_inode_put(inode);
  if (rc < 0) {
    kfree(ns);
    return rc;
  }
  f->private = ns;
  rc = anon_file_install(f, type & LINUX_SOCK_CLOEXEC);
  file_put(f);
  return rc;
}

/* The netlink socket at fd: -EBADF, or -ENOTSOCK for another file. */
static int nl_lookup(int fd, struct file **out) {
  struct fd_table *t = proc_current_fdt();
  struct file *f = t ? fdt_lookup(t, fd) : NULL;
  if (!f)
    return -LINUX_EBADF;
  if ((f->flags & LINUX_O_PATH) || f->ops != &nl_ops) {
    file_put(f);
    return (f->flags & LINUX_O_PATH) ? -LINUX_EBADF : -LINUX_ENOTSOCK;
  }
  *out = f;
  return 0;
}

int moat_netlink_fd(int fd) {
  struct file *f;
  int rc = nl_lookup(fd, &f);
  if (rc == -LINUX_ENOTSOCK)
    return 0;
  if (rc < 0)
    return rc;
  file_put(f);
  return 1;
}

long moat_netlink_send(int fd, const struct linux_iovec *iov, int iovcnt,
                       int flags, const void *addr, uint32_t addrlen) {
  (void)flags;
  struct file *f;
  int rc = nl_lookup(fd, &f);
  if (rc < 0)
    return rc;
  long r = nl_sendv(f, iov, iovcnt, addr, addrlen);
  file_put(f);
  return r;
}

static void kernel_addr(void *addr, uint32_t *addrlen) {
  struct linux_sockaddr_nl sa = {.nl_family = LINUX_AF_NETLINK};
  if (addr && addrlen) {
    memcpy(addr, &sa, MIN(*addrlen, (uint32_t)sizeof(sa)));
    *addrlen = sizeof(sa);
  }
}

long moat_netlink_recv(int fd, const struct linux_iovec *iov, int iovcnt,
                       int flags, int *msg_flags, void *addr,
                       uint32_t *addrlen) {
  struct file *f;
  int rc = nl_lookup(fd, &f);
  if (rc < 0)
    return rc;
  long r = nl_recvv(f, iov, iovcnt, flags, msg_flags);
  file_put(f);
  if (r >= 0)
    kernel_addr(addr, addrlen);
  return r;
}

int moat_netlink_bind(int fd, const void *addr, uint32_t len) {
  struct file *f;
  int rc = nl_lookup(fd, &f);
  if (rc < 0)
    return rc;
  struct nlsock *ns = f->private;
  struct linux_sockaddr_nl sa;
  if (len < sizeof(sa)) {
    rc = -LINUX_EINVAL;
    goto out;
  }
  memcpy(&sa, addr, sizeof(sa));
  if (sa.nl_family != LINUX_AF_NETLINK) {
    rc = -LINUX_EINVAL;
    goto out;
  }
  rt_lock(&ns->lock);
  if (ns->bound && sa.nl_pid && sa.nl_pid != ns->portid) {
    rc = -LINUX_EINVAL;
  } else {
    if (!ns->bound && sa.nl_pid) {
      ns->portid = sa.nl_pid;
      ns->bound = true;
    }
    autobind(ns);
    ns->groups = sa.nl_groups;
  }
  rt_unlock(&ns->lock);
out:
  file_put(f);
  return rc;
}

int moat_netlink_connect(int fd, const void *addr, uint32_t len) {
  struct file *f;
  int rc = nl_lookup(fd, &f);
  if (rc < 0)
    return rc;
  struct nlsock *ns = f->private;
  struct linux_sockaddr_nl sa;
  uint16_t family = 0;
  if (len >= 2)
    memcpy(&family, addr, 2);
  if (len < 2) {
    rc = -LINUX_EINVAL;
  } else if (family == 0) { /* AF_UNSPEC: disconnect */
    rt_lock(&ns->lock);
    ns->dst_pid = ns->dst_groups = 0;
    rt_unlock(&ns->lock);
  } else if (len < sizeof(sa) || family != LINUX_AF_NETLINK) {
    rc = -LINUX_EINVAL;
  } else {
    memcpy(&sa, addr, sizeof(sa));
    if (sa.nl_groups) {
      rc = -LINUX_EPERM;
    } else {
      rt_lock(&ns->lock);
      autobind(ns);
      ns->dst_pid = sa.nl_pid;
      rt_unlock(&ns->lock);
    }
  }
  file_put(f);
  return rc;
}

int moat_netlink_name(int fd, bool peer, void *addr, uint32_t *len) {
  struct file *f;
  int rc = nl_lookup(fd, &f);
  if (rc < 0)
    return rc;
  struct nlsock *ns = f->private;
  struct linux_sockaddr_nl sa = {.nl_family = LINUX_AF_NETLINK};
  rt_lock(&ns->lock);
  if (peer) {
    sa.nl_pid = ns->dst_pid;
    sa.nl_groups = ns->dst_groups;
  } else {
    sa.nl_pid = ns->portid;
    sa.nl_groups = ns->groups;
  }
  rt_unlock(&ns->lock);
  file_put(f);
  if ((int32_t)*len < 0)
    return -LINUX_EINVAL;
  memcpy(addr, &sa, MIN(*len, (uint32_t)sizeof(sa)));
  *len = sizeof(sa);
  return 0;
}

static int put_int(void *val, uint32_t *len, int v) {
  uint32_t n = MIN(*len, (uint32_t)sizeof(v));
  memcpy(val, &v, n);
  *len = n;
  return 0;
}

int moat_netlink_getsockopt(int fd, int level, int name, void *val,
                            uint32_t *len) {
  struct file *f;
  int rc = nl_lookup(fd, &f);
  if (rc < 0)
    return rc;
  struct nlsock *ns = f->private;
  if ((int32_t)*len < 0) {
    rc = -LINUX_EINVAL;
  } else if (level == LINUX_SOL_NETLINK) {
    /* the boolean options; NETLINK_LIST_MEMBERSHIPS (9) lists none */
    if (name == 9)
      *len = 0;
    else if (name >= 3 && name <= 12 && *len >= sizeof(int))
      rc = put_int(val, len, (ns->opts >> name) & 1);
    else
      rc = name >= 3 && name <= 12 ? -LINUX_EINVAL : -LINUX_ENOPROTOOPT;
  } else if (level != LINUX_SOL_SOCKET) {
    rc = -LINUX_EOPNOTSUPP;
  } else {
    switch (name) {
    case LINUX_SO_TYPE:
      rc = put_int(val, len, ns->type);
      break;
    case LINUX_SO_DOMAIN:
      rc = put_int(val, len, LINUX_AF_NETLINK);
      break;
    case LINUX_SO_PROTOCOL:
      rc = put_int(val, len, LINUX_NETLINK_ROUTE);
      break;
    case LINUX_SO_ERROR:
    case LINUX_SO_ACCEPTCONN:
      rc = put_int(val, len, 0);
      break;
    case LINUX_SO_SNDBUF:
      rc = put_int(val, len, (int)ns->sndbuf);
      break;
    case LINUX_SO_RCVBUF:
      rc = put_int(val, len, (int)ns->rcvbuf);
      break;
    default:
      rc = -LINUX_ENOPROTOOPT;
      break;
    }
  }
  file_put(f);
  return rc;
}

int moat_netlink_setsockopt(int fd, int level, int name, const void *val,
                            uint32_t len) {
  struct file *f;
  int rc = nl_lookup(fd, &f);
  if (rc < 0)
    return rc;
  struct nlsock *ns = f->private;
  int v = 0;
  if (len >= sizeof(int))
    memcpy(&v, val, sizeof(v));
  if (level == LINUX_SOL_NETLINK) {
    /* NETLINK_ADD/DROP_MEMBERSHIP (1, 2) take a group; the rest are
     * booleans. Nothing is ever multicast here. */
    if (name < 1 || name > 12 || name == 9)
      rc = -LINUX_ENOPROTOOPT;
    else if (len < sizeof(int))
      rc = -LINUX_EINVAL;
    else if (name >= 3) {
      rt_lock(&ns->lock);
      if (v)
        ns->opts |= 1u << name;
      else
        ns->opts &= ~(1u << name);
      rt_unlock(&ns->lock);
    }
  } else if (level != LINUX_SOL_SOCKET) {
    rc = -LINUX_ENOPROTOOPT;
  } else if (name == LINUX_SO_SNDBUF || name == LINUX_SO_RCVBUF ||
             name == LINUX_SO_SNDBUFFORCE || name == LINUX_SO_RCVBUFFORCE) {
    if (len < sizeof(int)) {
      rc = -LINUX_EINVAL;
    } else {
      uint32_t u = (uint32_t)MIN((uint32_t)(v < 0 ? 0 : v), NL_BUF_MAX) * 2;
      rt_lock(&ns->lock);
      if (name == LINUX_SO_SNDBUF || name == LINUX_SO_SNDBUFFORCE)
        ns->sndbuf = MAX(u, 4608u);
      else
        ns->rcvbuf = MAX(u, 2304u);
      rt_unlock(&ns->lock);
    }
  } else {
    /* SO_PASSCRED, SO_ATTACH_FILTER, timestamps...: accepted, unused */
    rc = len < sizeof(int) ? -LINUX_EINVAL : 0;
  }
  file_put(f);
  return rc;
}
