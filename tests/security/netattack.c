/* A guest that has taken over the library OS and goes for the host
 * network (issue 8, item 4). tests/run.py passes the syscall gate as for
 * hostattack (MOAT_GATE, MOAT_GATE_BYTES) and, for the broker attack, the
 * address of the platform's variable that holds the broker channel's fd
 * (MOAT_NETFD_ADDR: moat under setarch -R, offset from nm), which a real
 * attacker finds the same way in its own address space.
 *
 *   netattack [-n] socket PORT   socket(AF_INET, SOCK_STREAM) and connect
 *                                to 127.0.0.1:PORT through the gate (-n:
 *                                the raw syscall, natively: the positive
 *                                control, the host listener sees it)
 *   netattack broker GRANTED DENIED
 *                                speak the broker's protocol through the
 *                                gate: CONNECT to 127.0.0.1:DENIED, to
 *                                ::ffff:127.0.0.1:DENIED, to DENIED+-1
 *                                around GRANTED, a bad magic, a bad family
 *                                and op, then to 127.0.0.1:GRANTED (the
 *                                positive control: the channel and the
 *                                method work); then connect() the socket
 *                                it got elsewhere, through the gate
 *
 * Each step prints one line with the broker's errno (or the raw result);
 * "survived" ends a run the filter did not kill. */
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "../../platform/linux/broker.h"
#include "gatefind.h"
#include "guest.h"

#define NET_TCP 1
#define L_AF_INET 2
#define L_AF_INET6 10

static bool g_native;
static gate_fn g_gate;

static long hc(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
  if (!g_native)
    return g_gate(nr, a1, a2, a3, a4, a5, a6);
  long r = syscall(nr, a1, a2, a3, a4, a5, a6);
  return r == -1 ? -errno : r;
}

static int attack_socket(int port) {
  long fd = hc(SYS_socket, AF_INET, SOCK_STREAM, 0, 0, 0, 0);
  printf("socket: %ld\n", fd);
  fflush(stdout);
  if (fd < 0)
    return 0;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  long r = hc(SYS_connect, fd, (long)&a, sizeof(a), 0, 0, 0);
  printf("connect: %ld\n", r);
  return 0;
}

static int g_ch;
static uint32_t g_seq = 0x40000000;

/* One request through the gate; the reply's errno, *fd its socket. */
static int request(struct broker_req *q, int *fd) {
  q->seq = ++g_seq;
  struct iovec iov = {q, sizeof(*q)};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  *fd = -1;
  long r = hc(SYS_sendmsg, g_ch, (long)&m, MSG_NOSIGNAL, 0, 0, 0);
  if (r < 0)
    return (int)r;
  for (;;) {
    struct broker_rep rep;
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int))];
    } cm;
    memset(&cm, 0, sizeof(cm));
    struct iovec riov = {&rep, sizeof(rep)};
    struct msghdr rm = {.msg_iov = &riov,
                        .msg_iovlen = 1,
                        .msg_control = cm.buf,
                        .msg_controllen = sizeof(cm.buf)};
    r = hc(SYS_recvmsg, g_ch, (long)&rm, MSG_CMSG_CLOEXEC, 0, 0, 0);
    if (r < 0)
      return (int)r;
    struct cmsghdr *c = CMSG_FIRSTHDR(&rm);
    int got = -1;
    if (c && c->cmsg_type == SCM_RIGHTS)
      memcpy(&got, CMSG_DATA(c), sizeof(int));
    if (rep.seq != q->seq) {
      if (got >= 0)
        hc(SYS_close, got, 0, 0, 0, 0, 0);
      continue;
    }
    *fd = got;
    return rep.err;
  }
}

static void connect_req(const char *what, uint16_t family, const uint8_t *addr,
                        int port, uint32_t magic, uint8_t op, int *keep) {
  struct broker_req q;
  memset(&q, 0, sizeof(q));
  q.magic = magic;
  q.op = op;
  q.proto = NET_TCP;
  q.family = family;
  q.port = (uint16_t)port;
  memcpy(q.addr, addr, family == L_AF_INET6 ? 16 : 4);
  int fd = -1;
  int err = request(&q, &fd);
  printf("%s: %s fd %s\n", what, err ? errname(-err) : "0",
         fd >= 0 ? "yes" : "no");
  fflush(stdout);
  if (keep && fd >= 0)
    *keep = fd;
  else if (fd >= 0)
    hc(SYS_close, fd, 0, 0, 0, 0, 0);
}

static int attack_broker(int granted, int denied) {
  const char *a = getenv("MOAT_NETFD_ADDR");
  if (!a) {
    printf("MOAT_NETFD_ADDR not set\n");
    return 2;
  }
  g_ch = *(volatile int *)(uintptr_t)strtoull(a, NULL, 16);
  printf("channel found: %d\n", g_ch >= 3);
  static const uint8_t lo[4] = {127, 0, 0, 1};
  static const uint8_t mapped[16] = {0, 0, 0,    0,    0,   0, 0, 0,
                                     0, 0, 0xff, 0xff, 127, 0, 0, 1};
  static const uint8_t other[4] = {127, 0, 0, 2};
  connect_req("denied port", L_AF_INET, lo, denied, BROKER_MAGIC,
              BROKER_CONNECT, NULL);
  connect_req("denied port, v4-mapped", L_AF_INET6, mapped, denied,
              BROKER_MAGIC, BROKER_CONNECT, NULL);
  connect_req("granted port, other address", L_AF_INET, other, granted,
              BROKER_MAGIC, BROKER_CONNECT, NULL);
  connect_req("granted port + 1", L_AF_INET, lo, granted + 1, BROKER_MAGIC,
              BROKER_CONNECT, NULL);
  connect_req("bad magic", L_AF_INET, lo, granted, 0x12345678, BROKER_CONNECT,
              NULL);
  connect_req("bad family", 1, lo, granted, BROKER_MAGIC, BROKER_CONNECT, NULL);
  connect_req("bad op", L_AF_INET, lo, granted, BROKER_MAGIC, 99, NULL);
  int fd = -1;
  connect_req("granted", L_AF_INET, lo, granted, BROKER_MAGIC, BROKER_CONNECT,
              &fd);
  printf("survived\n");
  fflush(stdout);
  if (fd < 0)
    return 1;
  /* the connected socket it got, pointed elsewhere: not on the list */
  struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(denied)};
  s.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  long r = hc(SYS_sendto, fd, (long)"x", 1, 0, (long)&s, sizeof(s));
  printf("sendto elsewhere: %ld\n", r);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int i = 1;
  if (i < argc && !strcmp(argv[i], "-n")) {
    g_native = true;
    i++;
  }
  if (!g_native)
    g_gate = find_gate();
  if (i + 1 < argc && !strcmp(argv[i], "socket"))
    return attack_socket(atoi(argv[i + 1]));
  if (i + 2 < argc && !strcmp(argv[i], "broker"))
    return attack_broker(atoi(argv[i + 1]), atoi(argv[i + 2]));
  fprintf(stderr, "usage: netattack [-n] socket PORT | broker GRANTED "
                  "DENIED\n");
  return 2;
}
