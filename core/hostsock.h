/* Host-backed sockets (core/hostsock.c): a guest socket whose other end
 * is on the host's network, reached only through the South contract's
 * plat_net_* calls, which the platform grants per destination
 * (--allow-connect) or per published port (--publish). The socket layer
 * (core/socket.c) decides that a destination is not the sandbox's own
 * and asks here; everything after the connect (send, receive, readiness,
 * shutdown, names) goes through the struct hostsock.
 *
 * A struct hostsock lives in the arena and is shared by every guest
 * process that holds the socket; its handle is valid in all of them (the
 * platform finds each process's own host descriptor). No lock is held
 * across a host call: the host socket is itself safe for concurrent use,
 * as a Linux socket is. */
#ifndef MOAT_CORE_HOSTSOCK_H
#define MOAT_CORE_HOSTSOCK_H

#include "moat/platform.h"
#include "rt.h"

struct file;

struct hostsock {
  int handle;     /* plat_net_* */
  int type;       /* LINUX_SOCK_STREAM or LINUX_SOCK_DGRAM */
  int connecting; /* atomic: 1 while the host's connect is under way */
  struct plat_net_addr local, peer;
  /* UDP: the connected host sockets of the same guest socket's other
   * destinations (an unconnected socket's sendto to several granted
   * ones), appended under the guest socket's lock, read without it;
   * released with the first. */
  struct hostsock *next;
};

/* The most host destinations one guest UDP socket sends to. */
#define HOSTSOCK_DGRAM_MAX 32

/* Connect to family/addr/port on the host network, if granted: 0 and a
 * new object in *out. With nonblock, -EINPROGRESS and the object in *out
 * while the host's connect is under way; without, the wait can end with
 * -EINTR (a signal for the thread) and the object in *out, the connect
 * going on (Linux's connect(2) after EINTR). Otherwise *out is NULL:
 * -ENETUNREACH when not granted, the host's error (-ECONNREFUSED,
 * -ETIMEDOUT, ...). type: LINUX_SOCK_STREAM (TCP) or LINUX_SOCK_DGRAM
 * (UDP). addr in network order. */
int hostsock_connect(int type, int family, const uint8_t *addr, uint16_t port,
                     bool nonblock, struct hostsock **out);
/* The outcome of a connect under way, as SO_ERROR and a second
 * connect(2) need it: 0 connected, -EINPROGRESS still under way, or the
 * connect's error (reported once; the socket is then unusable: -EPIPE,
 * -ENOTCONN from the host). */
int hostsock_connect_state(struct hostsock *h);
/* A connection waiting at published port index (plat_net_accept),
 * without blocking: -EAGAIN when none. */
int hostsock_accept(int index, struct hostsock **out);
/* The plat_net_accept index of a published guest port of type
 * (LINUX_SOCK_STREAM: TCP, LINUX_SOCK_DGRAM: UDP; the config's published
 * list), or -1: a listener bound to such a TCP port also takes the
 * host's connections (hostsock_accept), a UDP socket bound to such a port
 * the host's datagrams (hostsock_dgram_recv). */
int hostsock_published_index(int type, uint16_t guest_port);
/* A datagram that reached published UDP port index, without waiting
 * (-EAGAIN); flags LINUX_MSG_PEEK, LINUX_MSG_TRUNC (the full length),
 * *msg_flags LINUX_MSG_TRUNC when cut, *from its host sender. */
long hostsock_dgram_recv(int index, const struct linux_iovec *iov, int iovcnt,
                         int flags, int *msg_flags, struct plat_net_addr *from);
/* A datagram from published UDP port index to a host sender it received
 * from (addr16: IPv6 or v4-mapped): -ENETUNREACH for anyone else. */
long hostsock_dgram_send(int index, const struct linux_iovec *iov, int iovcnt,
                         const uint8_t *addr16, uint16_t port);
/* hostsock_connect for a Linux sockaddr_in / sockaddr_in6 (in core
 * memory): -EAFNOSUPPORT for another family, -EINVAL for a short one. */
int hostsock_connect_sockaddr(int type, const void *sa, uint32_t len,
                              bool nonblock, struct hostsock **out);
/* Guest iovecs (checked by the shim); nonblock: O_NONBLOCK or
 * MSG_DONTWAIT. A send on a stream takes everything unless nonblock;
 * -EPIPE when the connection is gone (the caller raises SIGPIPE unless
 * MSG_NOSIGNAL). A receive sets LINUX_MSG_TRUNC in *msg_flags for a cut
 * datagram; flags LINUX_MSG_PEEK, LINUX_MSG_WAITALL, LINUX_MSG_TRUNC. */
long hostsock_send(struct hostsock *h, const struct linux_iovec *iov,
                   int iovcnt, int flags, bool nonblock);
long hostsock_recv(struct hostsock *h, const struct linux_iovec *iov,
                   int iovcnt, int flags, bool nonblock, int *msg_flags);
/* A datagram from any socket of h's chain (hostsock_recv's flags); *got
 * the one it came from (its peer is the sender). Several sockets are
 * waited for in turns of a few ms (the South contract polls one handle
 * at a time); -EINTR for a signal. */
long hostsock_recv_any(struct hostsock *h, const struct linux_iovec *iov,
                       int iovcnt, int flags, bool nonblock, int *msg_flags,
                       struct hostsock **got);
/* The socket of h's chain whose peer is addr (16 bytes, v4 mapped) and
 * port, or NULL; hostsock_chain appends n (the caller serialises). */
struct hostsock *hostsock_find_peer(struct hostsock *h, const uint8_t *addr,
                                    uint16_t port);
void hostsock_chain(struct hostsock *h, struct hostsock *n);
int hostsock_chain_len(struct hostsock *h);
/* Ready events now (VFS_POLL*, LINUX_POLLRDHUP): the host's answer (for
 * a chain: any socket's POLLIN, the first one's other events). */
unsigned hostsock_poll(struct hostsock *h, unsigned events);
int hostsock_shutdown(struct hostsock *h, int how);
/* A sockaddr_in or sockaddr_in6 of the local (peer false) or peer address
 * into buf (at most *len bytes), *len its full length. */
void hostsock_name(struct hostsock *h, bool peer, void *buf, uint32_t *len);
/* The last reference: the host connection ends. */
void hostsock_release(struct hostsock *h);

/* A guest file for h (S_IFSOCK, read/write/poll as a socket; takes h),
 * for a socket layer that has no object of its own to hang it on. */
int hostsock_file_new(struct hostsock *h, unsigned flags, struct file **out);
bool hostsock_file(const struct file *f);
struct hostsock *hostsock_of(const struct file *f);

#endif
