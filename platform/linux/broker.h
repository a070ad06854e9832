/* The wire protocol between the sandbox's host processes and the network
 * broker (platform/linux/broker.c): fixed-size records over one
 * SOCK_SEQPACKET socketpair (a datagram's bytes after the record for
 * BROKER_DGRAM_*), a reply's host socket as SCM_RIGHTS. The
 * broker trusts nothing in a request: it checks the magic, the operation,
 * the family, the protocol and the destination against the grants, and
 * answers -ENETUNREACH for anything not granted. Shared with the security
 * tests, which speak it from a subverted guest. */
#ifndef MOAT_PLATFORM_LINUX_BROKER_H
#define MOAT_PLATFORM_LINUX_BROKER_H

#include <stdint.h>

#define BROKER_MAGIC 0x6d6e6574u /* "mnet" */

enum broker_op {
  BROKER_CONNECT = 1,  /* proto, family, port, addr: a new host connection */
  BROKER_ACCEPT = 2,   /* index: a connection waiting at a published port */
  BROKER_DUP = 3,      /* id: this process's own copy of a handed-out socket */
  BROKER_CLOSE = 4,    /* id: the sandbox is done with it */
  BROKER_LISTENER = 5, /* index: the published port's listening socket,
                        * for the sandbox to poll (it cannot accept) */
  /* A published UDP port (the broker relays: the sandbox's filter has no
   * recvfrom/sendto with an address). */
  BROKER_DGRAM_RECV = 6, /* index, flags: the next datagram there, without
                          * waiting; its sender in the reply's peer fields,
                          * its length in id, the bytes after the reply */
  BROKER_DGRAM_SEND = 7, /* index, family, port, addr: the bytes after the
                          * request, from the published port to a sender
                          * it received from (-ENETUNREACH otherwise) */
};

#define BROKER_DGRAM_PEEK 1u /* broker_req.flags of BROKER_DGRAM_RECV */
#define BROKER_DGRAM_MAX 65535u

struct broker_req {
  uint32_t magic;
  uint32_t seq;
  uint8_t op;
  uint8_t proto; /* PLAT_NET_TCP, PLAT_NET_UDP */
  uint16_t family;
  uint16_t port;
  uint16_t flags; /* BROKER_DGRAM_PEEK */
  uint8_t addr[16];
  int32_t id; /* BROKER_DUP, BROKER_CLOSE; the index for BROKER_ACCEPT */
};

struct broker_rep {
  uint32_t magic;
  uint32_t seq;
  int32_t err; /* 0 or a negative errno */
  int32_t id;  /* the socket's id (CONNECT, ACCEPT) */
  uint16_t lfamily, lport;
  uint8_t laddr[16];
  uint16_t pfamily, pport;
  uint8_t paddr[16];
  uint32_t flags; /* BROKER_PENDING: the host's connect is under way */
};

#define BROKER_PENDING 1u

#endif
