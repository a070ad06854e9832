/* The socket objects of the core, shared by core/socket.c (pairs and the
 * data path) and core/sock_conn.c (names, listeners, connections, the
 * address families).
 *
 * Every socket is one end (struct uend) of a pair (struct upair) in the
 * arena. socketpair(2) makes both ends at once; socket(2) makes a pair
 * whose second end is the connection's far side in waiting: a stream or
 * seqpacket connect(2) hands that end to the listener's backlog, and
 * accept(2) opens it. Datagram sockets send to any end they name
 * (struct uend *target), under that end's pair lock.
 *
 * Locks, in order: g_socks.lock (the name table, core/sock_conn.c), then
 * a listener's pair lock, then a connection's pair lock. A pair lock
 * guards both of its ends; a datagram sender holds only the receiver's
 * pair lock while it queues. */
#ifndef MOAT_CORE_SOCKET_H
#define MOAT_CORE_SOCKET_H

#include "moat/moat.h"
#include "moat/platform.h"
#include "rt.h"

#define SOCK_ADDR_MAX 112
#define SHUT_RCV 1u  /* Linux's sk_shutdown bits */
#define SHUT_SEND 2u /* sizeof(struct sockaddr_un) + 2 */

/* An address as getsockname(2) reports it (the guest's sockaddr bytes,
 * normalised); len 0 is none. */
struct sock_addr {
  uint32_t len;
  uint8_t b[SOCK_ADDR_MAX];
};

/* The sender's address of each queued datagram (SOCK_DGRAM sockets made
 * by socket(2)), in queue order. */
struct urec_from {
  struct urec_from *next;
  struct sock_addr a;
};

/* Connection states (struct uend.state). */
#define SST_PAIR 0       /* a socketpair end: connected from birth */
#define SST_UNCONN 1     /* socket(2), nothing yet */
#define SST_LISTEN 2     /* listening: lq holds the backlog */
#define SST_CONN 3       /* connected (stream, seqpacket) */
#define SST_EMBRYO 4     /* the far side of a connection, not accepted */
#define SST_CONNECTING 5 /* a connect in progress */

struct ulisten;

struct uscm; /* control data in flight (core/socket.c) */

struct uend {
  uint8_t *buf; /* ring of RING_SIZE: what this end receives */
  uint32_t head, count;
  uint64_t rx_pos; /* stream: bytes ever taken from the ring */
  struct uscm *scm_head, *scm_tail;
  uint32_t scm_bytes; /* the charges of what is queued there */
  bool passcred;      /* SO_PASSCRED */
  int64_t rcvtimeo_j; /* SO_RCVTIMEO in jiffies, -1 forever */
  int64_t sndtimeo_j; /* SO_SNDTIMEO */
  uint32_t nrec;      /* records queued (datagram types) */
  uint32_t shut;      /* SHUT_RCV | SHUT_SEND */
  bool dead;          /* its last file is closed */
  bool peer_gone;     /* SOCK_DGRAM: a send saw the dead peer (ENOTCONN now) */
  uint32_t sndbuf, rcvbuf;
  struct upair *pair;
  int idx;           /* 0 or 1: its place in the pair */
  struct file *file; /* its one open file description (not a reference) */
  uint32_t inflight; /* atomic: references to it held by control data */
  /* The collector's marks (under vfs_shared's sock_gc_lock). */
  bool gc_cand, gc_scanned;
  uint32_t gc_found;
  /* ---- names and connections (core/sock_conn.c) ---- */
  int state;             /* SST_* */
  int err;               /* pending error (SO_ERROR, next call) */
  bool nb_connect;       /* a non-blocking connect said EINPROGRESS */
  struct sock_addr name; /* bound name (len 0: none) */
  struct sock_addr peer; /* the peer's name as getpeername shows it */
  struct uend *dpeer;    /* datagram connect: the end (a pair ref) */
  struct ulisten *lq;    /* SST_LISTEN */
  struct uend *bnext;    /* the name table's chain (g_socks.lock) */
  bool bound;            /* in the name table */
  /* bind(2) chose the address / the port (Linux's SOCK_BINDADDR_LOCK,
   * SOCK_BINDPORT_LOCK): a UDP disconnect keeps what bind chose and
   * forgets what connect or an autobind picked. */
  bool bind_addr_set, bind_port_set;
  uint64_t bdev, bino; /* AF_UNIX path: the socket file's identity */
  struct urec_from *from_head, *from_tail; /* SOCK_DGRAM senders */
  struct linux_ucred peercred;             /* SO_PEERCRED */
  struct sock_opts *opts;                  /* options past the defaults */
  /* A connection on the host network (--allow-connect, --publish;
   * core/hostsock.h): set once under the pair lock, then every data
   * call of the end goes there. */
  struct hostsock *host;
};

struct upair {
  struct rt_lock lock;
  int type;     /* LINUX_SOCK_STREAM, _DGRAM, _SEQPACKET */
  int protocol; /* 0 or PF_UNIX, as given */
  int family;   /* LINUX_AF_UNIX, _INET, _INET6 */
  int32_t pid;  /* SO_PEERCRED of socketpair ends: the creator's */
  uint32_t uid, gid;
  uint32_t refs;       /* atomic: open ends, backlog entries, senders */
  struct upair *qnext; /* a listener's backlog (its pair lock) */
  struct upair *gc_next, *gc_prev; /* vfs_shared's sock_pairs */
  bool gc_listed;
  struct uend end[2];
};

/* core/socket.c */
void upair_get(struct upair *p);
void upair_put(struct upair *p);
struct upair *upair_new(int family, int type, int protocol);
/* A new file on end `which` of p (takes no reference on p). */
int sock_file_new(struct upair *p, int which, unsigned flags,
                  struct file **out);
/* The socket at fd, a file reference in *out: -EBADF or -ENOTSOCK. */
int sock_lookup(int fd, struct file **out);
/* The data path (ctl: control data, NULL for none). A send goes to the
 * pair's other end, or to target (a reference on its pair held by the
 * caller); from: a datagram's sender address (NULL: the sender's name).
 * A receive reports a datagram's sender in *from when not NULL. */
long sock_send_to(struct file *f, const struct linux_iovec *iov, int iovcnt,
                  int flags, const struct moat_sock_ctl *ctl,
                  struct uend *target, const struct sock_addr *from);
long sock_recv_from(struct file *f, const struct linux_iovec *iov, int iovcnt,
                    int flags, int *msg_flags, struct moat_sock_ctl *ctl,
                    struct sock_addr *from);

/* An inet address as the name table compares them: v4 as ::ffff:a.b.c.d. */
struct sock_inaddr {
  uint8_t a[16];
  uint16_t port; /* host order */
};

/* core/sock_conn.c */
/* The one place a connect or sendto to an inet destination outside the
 * sandbox (not loopback) is decided: -ENETUNREACH, as no host network is
 * granted yet (the host-network broker plugs in here). */
int sock_remote_connect(struct uend *e, const struct sock_inaddr *dst,
                        bool nonblock);
/* The outcome of a host connect under way (SST_CONNECTING with host):
 * 0, -EINPROGRESS or its error (once). */
int sock_remote_state(struct uend *e);
/* The end's release: unbind, reset the backlog, drop a datagram peer
 * (called before the data path's own release, no lock held). */
void sock_conn_release(struct uend *e);
/* --publish .../udp: the published index of a UDP end bound to a
 * published port (on the wildcard or loopback), or -1; is a host
 * datagram waiting there (a poller is told to look again soon when not);
 * a host sender as a datagram's sender address. */
int sock_published_index(struct uend *e);
bool sock_published_ready(struct uend *e);
void sock_addr_from_plat(const struct plat_net_addr *pa, struct sock_addr *out);
/* Does closing e reset a TCP connection (SO_LINGER on with time 0)? */
bool sock_linger_abort(struct uend *e);
/* Is a send or receive allowed in e's state: 0, or the errno. */
int sock_conn_check(struct uend *e, bool send);
/* The poll mask of a listener or an unconnected socket; false when the
 * data path's own mask applies. */
bool sock_conn_poll(struct uend *e, unsigned *mask);
/* A datagram send from a socket(2) socket: to its connected peer (to
 * NULL) or to the socket that address to names. */
long sock_dgram_send(struct file *f, const struct linux_iovec *iov, int iovcnt,
                     int flags, const struct moat_sock_ctl *ctl,
                     const struct sock_addr *to);
/* Options beyond the data path's own (SOL_SOCKET others, IP, IPv6, TCP,
 * UDP). */
int sock_opt_get(struct uend *e, int level, int name, void *val, uint32_t *len);
int sock_opt_set(struct uend *e, int level, int name, const void *val,
                 uint32_t len);
/* A queued datagram's sender. */
bool sock_from_push(struct uend *dst, const struct sock_addr *a);
void sock_from_pop(struct uend *e, struct sock_addr *out);
void sock_from_peek(struct uend *e, struct sock_addr *out);
void sock_from_clear(struct uend *e);
#endif
