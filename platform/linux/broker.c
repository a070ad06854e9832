/* The network broker: the only process of a sandbox that may open host
 * sockets, and only to what --allow-connect granted (and on the ports
 * --publish bound). The supervisor forks it before the sandbox, so it
 * lives in the host's network namespace, outside the sandbox's
 * namespaces; it drops root for the sandbox's unprivileged host ids,
 * confines itself with Landlock (no file access at all; TCP connect only
 * to granted ports where the kernel has Landlock ABI 4) and its own
 * seccomp allowlist, then serves requests (broker.h) from the sandbox's
 * host processes over one SOCK_SEQPACKET socketpair, answering each with
 * a connected host socket passed as SCM_RIGHTS, or an errno.
 *
 * It trusts nothing in a request: a subverted sandbox can send any bytes
 * on the channel, so every field is checked, a destination outside the
 * grants is -ENETUNREACH before any host call, and fds passed to the
 * broker are discarded by the kernel (no control buffer is offered).
 *
 * It keeps its own copy of every socket it handed out, by id, so a
 * sandbox process that never had it (a fork before the connect, a socket
 * passed with SCM_RIGHTS inside the sandbox) gets its own copy
 * (BROKER_DUP), as hostfs reopens a handle per process. libc is fine
 * here: this is an ordinary process, never the sandbox. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "linux_platform.h"
#include "plat_linux.h"

#define MAX_GRANTS_NET 64
#define MAX_PUBLISH 32
#define MAX_SOCKETS 1024
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static struct plat_linux_net_grant g_grants[MAX_GRANTS_NET];
static int g_ngrants;
static int g_listen_fds[MAX_PUBLISH];
static int32_t g_listen_ids[MAX_PUBLISH]; /* BROKER_LISTENER's ids */
static unsigned g_pub_proto[MAX_PUBLISH]; /* PLAT_NET_TCP, PLAT_NET_UDP */
static int g_pub_family[MAX_PUBLISH];     /* AF_INET, AF_INET6 */
static int g_npubs;

/* A published UDP port answers only who sent to it: the last senders
 * seen there, per port (a reply to anyone else is -ENETUNREACH, so the
 * port is no way around --allow-connect). */
#define SEEN_MAX 64
static struct {
  uint16_t family, port;
  uint8_t addr[16];
} g_seen[MAX_PUBLISH][SEEN_MAX];
static int g_seen_next[MAX_PUBLISH];
static int g_sandbox_end = -1, g_broker_end = -1;
static pid_t g_broker_pid;

/* The broker's table: id -> its own copy of the socket. Ids are never
 * reused (a stale id can never name another connection). */
static struct {
  int32_t id;
  int fd;
} g_socks[MAX_SOCKETS];
static int32_t g_next_id = 1;

int plat_linux_net_channel(void) {
  return g_sandbox_end;
}

/* ---- the grants ------------------------------------------------------ */

static bool prefix_match(const uint8_t *a, const uint8_t *b, int bits) {
  int bytes = bits / 8, rest = bits % 8;
  if (memcmp(a, b, (size_t)bytes))
    return false;
  if (!rest)
    return true;
  uint8_t mask = (uint8_t)(0xff << (8 - rest));
  return (a[bytes] & mask) == (b[bytes] & mask);
}

static bool granted(unsigned proto, uint16_t family, const uint8_t *addr,
                    uint16_t port) {
  for (int i = 0; i < g_ngrants; i++) {
    const struct plat_linux_net_grant *g = &g_grants[i];
    if (g->family == family && (g->protos & proto) && port >= g->port_lo &&
        port <= g->port_hi && prefix_match(addr, g->addr, g->prefix))
      return true;
  }
  return false;
}

static void to_plat(const struct sockaddr_storage *ss, uint16_t *family,
                    uint16_t *port, uint8_t *addr) {
  memset(addr, 0, 16);
  *family = 0;
  *port = 0;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *s = (const void *)ss;
    *family = LINUX_AF_INET;
    *port = ntohs(s->sin_port);
    memcpy(addr, &s->sin_addr, 4);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const void *)ss;
    *family = LINUX_AF_INET6;
    *port = ntohs(s->sin6_port);
    memcpy(addr, &s->sin6_addr, 16);
  }
}

static int table_add(int fd) {
  for (int i = 0; i < MAX_SOCKETS; i++) {
    if (g_socks[i].id == 0) {
      g_socks[i].id = g_next_id++;
      g_socks[i].fd = fd;
      return i;
    }
  }
  return -1;
}

static int table_find(int32_t id) {
  for (int i = 0; id > 0 && i < MAX_SOCKETS; i++)
    if (g_socks[i].id == id)
      return i;
  return -1;
}

/* Fill rep's addresses from the socket. */
static void names(int fd, struct broker_rep *rep) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  memset(&ss, 0, sizeof(ss));
  if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
    to_plat(&ss, &rep->lfamily, &rep->lport, rep->laddr);
  len = sizeof(ss);
  memset(&ss, 0, sizeof(ss));
  if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
    to_plat(&ss, &rep->pfamily, &rep->pport, rep->paddr);
}

static const uint8_t g_v4mapped[12] = {0, 0, 0, 0, 0,    0,
                                       0, 0, 0, 0, 0xff, 0xff};

/* BROKER_CONNECT: the grant first, then the host's connect, started
 * without waiting (the broker serves the others meanwhile): a TCP
 * connection still under way is handed in with BROKER_PENDING, and the
 * sandbox waits for it on its own copy. The socket goes back to blocking
 * mode: the sandbox asks for MSG_DONTWAIT per call. */
static int do_connect(const struct broker_req *q, struct broker_rep *rep,
                      int *out_fd) {
  uint16_t family = q->family;
  uint8_t addr[16];
  memcpy(addr, q->addr, 16);
  if (q->proto != PLAT_NET_TCP && q->proto != PLAT_NET_UDP)
    return -EINVAL;
  if (family == LINUX_AF_INET6 && !memcmp(addr, g_v4mapped, 12)) {
    family = LINUX_AF_INET; /* the IPv4 address it maps */
    memmove(addr, addr + 12, 4);
    memset(addr + 4, 0, 12);
  }
  if (family != LINUX_AF_INET && family != LINUX_AF_INET6)
    return -EINVAL;
  if (!granted(q->proto, family, addr, q->port))
    return -ENETUNREACH;
  struct sockaddr_storage ss;
  socklen_t sslen;
  memset(&ss, 0, sizeof(ss));
  if (family == LINUX_AF_INET) {
    struct sockaddr_in *s = (void *)&ss;
    s->sin_family = AF_INET;
    s->sin_port = htons(q->port);
    memcpy(&s->sin_addr, addr, 4);
    sslen = sizeof(*s);
  } else {
    struct sockaddr_in6 *s = (void *)&ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(q->port);
    memcpy(&s->sin6_addr, addr, 16);
    sslen = sizeof(*s);
  }
  int type = q->proto == PLAT_NET_TCP ? SOCK_STREAM : SOCK_DGRAM;
  int fd = socket(family == LINUX_AF_INET ? AF_INET : AF_INET6,
                  type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -errno;
  int r;
  do
    r = connect(fd, (struct sockaddr *)&ss, sslen);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno != EINPROGRESS) {
    int err = errno;
    close(fd);
    return -err;
  }
  if (r < 0)
    rep->flags |= BROKER_PENDING;
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0)
    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  int slot = table_add(fd);
  if (slot < 0) {
    close(fd);
    return -EMFILE;
  }
  rep->id = g_socks[slot].id;
  names(fd, rep);
  if (!rep->pfamily) { /* not connected yet: the destination */
    rep->pfamily = family;
    rep->pport = q->port;
    memcpy(rep->paddr, addr, 16);
  }
  *out_fd = fd;
  return 0;
}

static int do_accept(const struct broker_req *q, struct broker_rep *rep,
                     int *out_fd) {
  if (q->id < 0 || q->id >= g_npubs || g_pub_proto[q->id] != PLAT_NET_TCP)
    return -EINVAL;
  int fd =
      accept4(g_listen_fds[q->id], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0)
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  /* blocking again: the sandbox asks for DONTWAIT per call */
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0)
    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  int slot = table_add(fd);
  if (slot < 0) {
    close(fd);
    return -EMFILE;
  }
  rep->id = g_socks[slot].id;
  names(fd, rep);
  *out_fd = fd;
  return 0;
}

static bool seen(int idx, uint16_t family, const uint8_t *addr, uint16_t port) {
  for (int i = 0; i < SEEN_MAX; i++)
    if (g_seen[idx][i].family == family && g_seen[idx][i].port == port &&
        !memcmp(g_seen[idx][i].addr, addr, 16))
      return true;
  return false;
}

static bool is_dgram_pub(int32_t idx) {
  return idx >= 0 && idx < g_npubs && g_pub_proto[idx] == PLAT_NET_UDP;
}

static uint8_t g_dgram[BROKER_DGRAM_MAX + 1];

/* BROKER_DGRAM_RECV: the next datagram at published UDP port q->id into
 * g_dgram (*out_len bytes), its sender noted as one that may be
 * answered. */
static int do_dgram_recv(const struct broker_req *q, struct broker_rep *rep,
                         size_t *out_len) {
  if (!is_dgram_pub(q->id) || (q->flags & ~BROKER_DGRAM_PEEK))
    return -EINVAL;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  memset(&ss, 0, sizeof(ss));
  int fl = MSG_DONTWAIT | MSG_TRUNC |
           ((q->flags & BROKER_DGRAM_PEEK) ? MSG_PEEK : 0);
  ssize_t n = recvfrom(g_listen_fds[q->id], g_dgram, sizeof(g_dgram), fl,
                       (struct sockaddr *)&ss, &sl);
  if (n < 0)
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  to_plat(&ss, &rep->pfamily, &rep->pport, rep->paddr);
  if (rep->pfamily == LINUX_AF_INET6 && !memcmp(rep->paddr, g_v4mapped, 12)) {
    rep->pfamily = LINUX_AF_INET; /* a v4 sender on a v6 socket */
    memmove(rep->paddr, rep->paddr + 12, 4);
    memset(rep->paddr + 4, 0, 12);
  }
  if (!seen(q->id, rep->pfamily, rep->paddr, rep->pport)) {
    int i = g_seen_next[q->id]++ % SEEN_MAX;
    g_seen[q->id][i].family = rep->pfamily;
    g_seen[q->id][i].port = rep->pport;
    memcpy(g_seen[q->id][i].addr, rep->paddr, 16);
  }
  rep->id = (int32_t)n; /* the datagram's length, even when cut */
  *out_len = (size_t)n < sizeof(g_dgram) ? (size_t)n : sizeof(g_dgram);
  return 0;
}

/* BROKER_DGRAM_SEND: len bytes from published UDP port q->id to a
 * sender it received from. */
static int do_dgram_send(const struct broker_req *q, const void *data,
                         size_t len, struct broker_rep *rep) {
  if (!is_dgram_pub(q->id))
    return -EINVAL;
  uint16_t family = q->family;
  uint8_t addr[16];
  memcpy(addr, q->addr, 16);
  if (family == LINUX_AF_INET6 && !memcmp(addr, g_v4mapped, 12)) {
    family = LINUX_AF_INET;
    memmove(addr, addr + 12, 4);
    memset(addr + 4, 0, 12);
  }
  if (family != LINUX_AF_INET && family != LINUX_AF_INET6)
    return -EINVAL;
  if (family == LINUX_AF_INET)
    memset(addr + 4, 0, 12);
  if (!seen(q->id, family, addr, q->port))
    return -ENETUNREACH;
  struct sockaddr_storage ss;
  socklen_t sl;
  memset(&ss, 0, sizeof(ss));
  if (family == LINUX_AF_INET && g_pub_family[q->id] == AF_INET) {
    struct sockaddr_in *s = (void *)&ss;
    s->sin_family = AF_INET;
    s->sin_port = htons(q->port);
    memcpy(&s->sin_addr, addr, 4);
    sl = sizeof(*s);
  } else {
    struct sockaddr_in6 *s = (void *)&ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(q->port);
    if (family == LINUX_AF_INET) { /* v4 through a v6 socket: mapped */
      memcpy(&s->sin6_addr, g_v4mapped, 12);
      memcpy((uint8_t *)&s->sin6_addr + 12, addr, 4);
    } else {
      memcpy(&s->sin6_addr, addr, 16);
    }
    sl = sizeof(*s);
  }
  ssize_t n = sendto(g_listen_fds[q->id], data, len,
                     MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&ss, sl);
  if (n < 0)
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  rep->id = (int32_t)n;
  return 0;
}

static void serve(int ch) {
  static uint8_t payload[BROKER_DGRAM_MAX];
  for (;;) {
    struct broker_req q;
    struct iovec iov[2] = {{&q, sizeof(q)}, {payload, sizeof(payload)}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    memset(&q, 0, sizeof(q));
    size_t reply_len = 0; /* bytes of g_dgram after the reply */
    ssize_t n = recvmsg(ch, &m, 0);
    if (n == 0)
      _exit(0); /* every sandbox process is gone */
    if (n < 0) {
      if (errno == EINTR)
        continue;
      _exit(0);
    }
    struct broker_rep rep;
    memset(&rep, 0, sizeof(rep));
    rep.magic = BROKER_MAGIC;
    rep.seq = q.seq;
    int fd = -1;
    /* a longer record arrives cut, with MSG_TRUNC; only a datagram to
     * send has bytes after the request */
    if (n < (ssize_t)sizeof(q) || (m.msg_flags & MSG_TRUNC) ||
        q.magic != BROKER_MAGIC ||
        (n != sizeof(q) && q.op != BROKER_DGRAM_SEND)) {
      rep.err = -EINVAL;
    } else if (q.op == BROKER_DGRAM_RECV) {
      rep.err = do_dgram_recv(&q, &rep, &reply_len);
    } else if (q.op == BROKER_DGRAM_SEND) {
      rep.err = do_dgram_send(&q, payload, (size_t)n - sizeof(q), &rep);
    } else if (q.op == BROKER_CONNECT) {
      rep.err = do_connect(&q, &rep, &fd);
    } else if (q.op == BROKER_ACCEPT) {
      rep.err = do_accept(&q, &rep, &fd);
    } else if (q.op == BROKER_LISTENER) {
      rep.err = q.id < 0 || q.id >= g_npubs ? -EINVAL : 0;
      if (!rep.err) {
        int slot = table_find(g_listen_ids[q.id]);
        if (slot < 0) { /* the first time: an id of its own */
          slot = table_add(g_listen_fds[q.id]);
          if (slot >= 0)
            g_listen_ids[q.id] = g_socks[slot].id;
        }
        rep.err = slot < 0 ? -EMFILE : 0;
        if (slot >= 0) {
          fd = g_socks[slot].fd;
          rep.id = g_socks[slot].id;
        }
      }
    } else if (q.op == BROKER_DUP) {
      int slot = table_find(q.id);
      rep.err = slot < 0 ? -EBADF : 0;
      if (slot >= 0) {
        fd = g_socks[slot].fd;
        rep.id = q.id;
      }
    } else if (q.op == BROKER_CLOSE) {
      int slot = table_find(q.id);
      bool listener = false;
      for (int i = 0; i < g_npubs; i++)
        listener |= q.id == g_listen_ids[i];
      rep.err = slot < 0 || listener ? -EBADF : 0;
      if (slot >= 0 && !listener) {
        shutdown(g_socks[slot].fd, SHUT_RDWR);
        close(g_socks[slot].fd);
        g_socks[slot].id = 0;
      }
    } else {
      rep.err = -EINVAL;
    }
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int))];
    } cm;
    struct iovec riov[2] = {{&rep, sizeof(rep)}, {g_dgram, reply_len}};
    struct msghdr r = {.msg_iov = riov, .msg_iovlen = reply_len ? 2 : 1};
    if (fd >= 0) {
      memset(&cm, 0, sizeof(cm));
      r.msg_control = cm.buf;
      r.msg_controllen = sizeof(cm.buf);
      struct cmsghdr *c = CMSG_FIRSTHDR(&r);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    while (sendmsg(ch, &r, MSG_NOSIGNAL) < 0 && errno == EINTR)
      ;
  }
}

/* ---- the broker's own confinement ----------------------------------- */

#define LL_CREATE_RULESET_VERSION 1u
#define LL_RULE_NET_PORT 2
#define LL_FS_ALL_V1 ((1ull << 13) - 1)
#define LL_NET_BIND_TCP (1ull << 0)
#define LL_NET_CONNECT_TCP (1ull << 1)
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

/* No file access at all; where the kernel has Landlock's network rules
 * (ABI 4), TCP connect only to the granted ports (when they are few
 * enough to list) and no TCP bind. Best effort: the grant check and the
 * filter hold without it. */
static void broker_landlock(void) {
  long abi =
      syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
  if (abi <= 0)
    return;
  struct {
    uint64_t fs, net;
  } attr = {LL_FS_ALL_V1, 0};
  size_t size = sizeof(uint64_t);
  long ports = 0;
  for (int i = 0; i < g_ngrants; i++)
    if (g_grants[i].protos & PLAT_NET_TCP)
      ports += g_grants[i].port_hi - g_grants[i].port_lo + 1;
  if (abi >= 4 && ports <= 4096) {
    attr.net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
    size = sizeof(attr);
  }
  int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (rs < 0)
    return;
  for (int i = 0; attr.net && i < g_ngrants; i++) {
    if (!(g_grants[i].protos & PLAT_NET_TCP))
      continue;
    for (long p = g_grants[i].port_lo; p <= g_grants[i].port_hi; p++) {
      struct {
        uint64_t allowed;
        uint64_t port;
      } __attribute__((packed)) rule = {LL_NET_CONNECT_TCP, (uint64_t)p};
      syscall(SYS_landlock_add_rule, rs, LL_RULE_NET_PORT, &rule, 0);
    }
  }
  syscall(SYS_landlock_restrict_self, rs, 0);
  close(rs);
}

/* The broker's allowlist (default: kill). socket only for IPv4/IPv6,
 * sendmsg/recvmsg only on the channel, accept4 only on the listeners. */
static int broker_seccomp(int ch) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (!ctx)
    return -ENOMEM;
  int err = 0;
/* Our own comparison (libseccomp's SCMP_A0 leaves datum_b unset, which
 * clang rejects under -Wextra). */
#define EQ0(x)                                                                 \
  (struct scmp_arg_cmp){                                                       \
      .arg = 0, .op = SCMP_CMP_EQ, .datum_a = (uint64_t)(x), .datum_b = 0}
#define ADD(nr, n, ...)                                                        \
  do {                                                                         \
    if (!err)                                                                  \
      err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, n, ##__VA_ARGS__);       \
  } while (0)
  ADD(SCMP_SYS(recvmsg), 1, EQ0(ch));
  ADD(SCMP_SYS(sendmsg), 1, EQ0(ch));
  /* socket: IPv4 or IPv6, TCP or UDP only (never SOCK_RAW, even where
   * the broker kept root's uid with --host-uid 0) */
  static const int families[] = {AF_INET, AF_INET6};
  static const int types[] = {SOCK_STREAM, SOCK_DGRAM};
  for (int f = 0; f < 2; f++)
    for (int t = 0; t < 2; t++)
      ADD(SCMP_SYS(socket), 2, EQ0(families[f]),
          ((struct scmp_arg_cmp){.arg = 1,
                                 .op = SCMP_CMP_MASKED_EQ,
                                 .datum_a = 0xf,
                                 .datum_b = (uint64_t)types[t]}));
  ADD(SCMP_SYS(connect), 0);
  ADD(SCMP_SYS(getsockname), 0);
  ADD(SCMP_SYS(getpeername), 0);
  /* accept4 only on the TCP listeners; recvfrom and sendto (the relay of
   * datagrams) only on the published UDP sockets */
  for (int i = 0; i < g_npubs; i++) {
    if (g_pub_proto[i] == PLAT_NET_TCP) {
      ADD(SCMP_SYS(accept4), 1, EQ0(g_listen_fds[i]));
    } else {
      ADD(SCMP_SYS(recvfrom), 1, EQ0(g_listen_fds[i]));
      ADD(SCMP_SYS(sendto), 1, EQ0(g_listen_fds[i]));
    }
  }
  ADD(SCMP_SYS(fcntl), 0);
  ADD(SCMP_SYS(shutdown), 0);
  ADD(SCMP_SYS(close), 0);
  ADD(SCMP_SYS(exit_group), 0);
  ADD(SCMP_SYS(exit), 0);
  ADD(SCMP_SYS(rt_sigreturn), 0);
  ADD(SCMP_SYS(restart_syscall), 0);
#undef ADD
#undef EQ0
  if (!err)
    err = seccomp_load(ctx);
  seccomp_release(ctx);
  return err;
}

static _Noreturn void broker_main(uint32_t uid, uint32_t gid) {
  pid_t supervisor = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != supervisor)
    _exit(0);
  signal(SIGPIPE, SIG_IGN);
  static const int relayed[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  for (size_t i = 0; i < sizeof(relayed) / sizeof(relayed[0]); i++)
    signal(relayed[i], SIG_IGN); /* the supervisor ends us */
  /* Everything but the channel and the listeners goes. */
  int keep[MAX_PUBLISH + 1];
  int nkeep = 0;
  keep[nkeep++] = g_broker_end;
  for (int i = 0; i < g_npubs; i++)
    keep[nkeep++] = g_listen_fds[i];
  int top = g_broker_end;
  for (int i = 0; i < g_npubs; i++)
    top = g_listen_fds[i] > top ? g_listen_fds[i] : top;
  for (int fd = 3; fd <= top; fd++) {
    bool k = false;
    for (int i = 0; i < nkeep; i++)
      k |= keep[i] == fd;
    if (!k)
      close(fd);
  }
  syscall(SYS_close_range, (unsigned)top + 1, ~0u, 0);
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
    close(devnull);
  }
  if (geteuid() == 0 && uid != 0) {
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
        setresuid(uid, uid, uid) < 0)
      _exit(125);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* cleared by the id change */
    if (getppid() != supervisor)
      _exit(0);
  }
  /* No capabilities either (they remain only with --host-uid 0). */
  struct {
    uint32_t version;
    int pid;
  } header = {0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0};
  struct {
    uint32_t effective, permitted, inheritable;
  } caps[2] = {{0, 0, 0}, {0, 0, 0}};
  if (syscall(SYS_capset, &header, caps) < 0)
    _exit(125);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    _exit(125);
  broker_landlock();
  if (broker_seccomp(g_broker_end) < 0)
    _exit(125);
  serve(g_broker_end);
  _exit(0);
}

/* ---- the supervisor's side ------------------------------------------- */

static int publish_listen(const struct plat_linux_publish *p, char *why,
                          size_t len) {
  struct sockaddr_storage ss;
  socklen_t sslen;
  memset(&ss, 0, sizeof(ss));
  if (p->family == LINUX_AF_INET) {
    struct sockaddr_in *s = (void *)&ss;
    s->sin_family = AF_INET;
    s->sin_port = htons(p->host_port);
    memcpy(&s->sin_addr, p->addr, 4);
    sslen = sizeof(*s);
  } else {
    struct sockaddr_in6 *s = (void *)&ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(p->host_port);
    memcpy(&s->sin6_addr, p->addr, 16);
    sslen = sizeof(*s);
  }
  /* non-blocking: BROKER_ACCEPT and BROKER_DGRAM_* never wait */
  bool udp = p->proto == PLAT_NET_UDP;
  int fd = socket(
      ss.ss_family,
      (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  if (fd < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
      bind(fd, (struct sockaddr *)&ss, sslen) < 0 ||
      (!udp && listen(fd, 128) < 0)) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    snprintf(why, len, "--publish of host port %u: %s", p->host_port,
             strerror(e));
    return -e;
  }
  return fd;
}

int plat_linux_net_start(const struct plat_linux_net_grant *grants, int ngrants,
                         const struct plat_linux_publish *pubs, int npubs,
                         uint32_t uid, uint32_t gid, char *why, size_t len) {
  if (ngrants <= 0 && npubs <= 0)
    return 0;
  if (ngrants > MAX_GRANTS_NET || npubs > MAX_PUBLISH) {
    snprintf(why, len, "at most %d --allow-connect and %d --publish",
             MAX_GRANTS_NET, MAX_PUBLISH);
    return -E2BIG;
  }
  memcpy(g_grants, grants,
         sizeof(*grants) * (size_t)(ngrants > 0 ? ngrants : 0));
  g_ngrants = ngrants > 0 ? ngrants : 0;
  for (int i = 0; i < npubs; i++) {
    int fd = publish_listen(&pubs[i], why, len);
    if (fd < 0) {
      for (int k = 0; k < i; k++)
        close(g_listen_fds[k]);
      return fd;
    }
    g_listen_fds[i] = fd;
    g_pub_proto[i] =
        pubs[i].proto == PLAT_NET_UDP ? PLAT_NET_UDP : PLAT_NET_TCP;
    g_pub_family[i] = pubs[i].family == LINUX_AF_INET ? AF_INET : AF_INET6;
  }
  g_npubs = npubs;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    snprintf(why, len, "cannot make the broker's channel: %s", strerror(errno));
    return -errno;
  }
  g_sandbox_end = sv[0];
  g_broker_end = sv[1];
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(why, len, "cannot start the network broker: %s", strerror(errno));
    return -errno;
  }
  if (pid == 0) {
    close(g_sandbox_end);
    broker_main(uid, gid);
  }
  g_broker_pid = pid;
  close(g_broker_end);
  g_broker_end = -1;
  for (int i = 0; i < g_npubs; i++)
    close(g_listen_fds[i]); /* the broker has them */
  return 0;
}

void plat_linux_net_report(void) {
  if (g_broker_pid <= 0)
    return;
  fprintf(stderr,
          "moat: network: broker pid %d (host network namespace): %d "
          "destination grant%s, %d published port%s; seccomp, Landlock\n",
          (int)g_broker_pid, g_ngrants, g_ngrants == 1 ? "" : "s", g_npubs,
          g_npubs == 1 ? "" : "s");
}

void plat_linux_net_forked(bool in_sandbox) {
  if (g_sandbox_end < 0)
    return;
  if (!in_sandbox) {
    close(g_sandbox_end);
    g_sandbox_end = -1;
    return;
  }
  /* The channel's lock, shared by every process of the sandbox. */
  void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) {
    close(g_sandbox_end); /* no network then: every request ENETUNREACH */
    g_sandbox_end = -1;
    return;
  }
  plat_linux_net_prepare_shared(page);
}

void plat_linux_net_stop(void) {
  if (g_broker_pid > 0) {
    kill(g_broker_pid, SIGKILL);
    while (waitpid(g_broker_pid, NULL, 0) < 0 && errno == EINTR)
      ;
    g_broker_pid = 0;
  }
}
