/* The Linux platform's host network, end to end without a sandbox: this
 * program links platform/linux/net.c (plat_net_*) and broker.c (the
 * network broker, which still drops privileges and installs its own
 * Landlock and seccomp filter) and plays both the supervisor and a
 * sandbox process. It checks, against host listeners of its own: a
 * granted connect carries data both ways (readiness, peek, shutdown, the
 * end of the stream); a destination not granted is ENETUNREACH and its
 * listener sees nothing; a granted port nobody listens on is
 * ECONNREFUSED; a non-blocking connect reports EINPROGRESS or success and
 * then its outcome; a forked child uses the parent's handle (inherited,
 * and for a socket connected after the fork its own copy from the
 * broker); plat_net_close ends the connection even for the child's copy; a
 * published port hands its connection in (plat_net_accept), EAGAIN when none
 * waits; a UDP grant. Prints "ok" and exits 0, or the first failure and
 * exits 1. tests/run.py: unit/net-broker.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../platform/linux/linux_platform.h"
#include "../../platform/linux/plat_linux.h"

/* What net.c needs of the rest of the platform. */
uint64_t g_plat_fn_count[PF_COUNT];
uint64_t g_host_syscall_count[HNR_MAX];
bool g_plat_stats;
struct plat_thread *plat_current_thread(void) {
  return NULL;
}
uint64_t plat_ctx_self(void) {
  return ((uint64_t)(uint32_t)getpid() << 32) | (uint32_t)gettid();
}

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      printf("FAIL line %d: ", __LINE__);                                      \
      printf(__VA_ARGS__);                                                     \
      printf("\n");                                                            \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

/* plat_wait on one host object: its ready bits, 0 when none came. */
static int io_ready(int kind, int handle, unsigned events, int64_t ns) {
  struct plat_io io = {
      .kind = (uint16_t)kind, .events = (uint16_t)events, .handle = handle};
  int r = plat_wait(NULL, 0, &io, 1, ns);
  return r > 0 ? io.revents : r == -ETIMEDOUT ? 0 : r;
}

static int listener(int type, uint16_t *port) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
      (type == SOCK_STREAM && listen(fd, 8) < 0) ||
      getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
    perror("listener");
    exit(1);
  }
  *port = ntohs(a.sin_port);
  return fd;
}

static bool pending(int fd, int ms) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, ms) == 1;
}

static const struct plat_net_addr *lo(uint16_t port) {
  static struct plat_net_addr a;
  memset(&a, 0, sizeof(a));
  a.family = LINUX_AF_INET;
  a.port = port;
  a.addr[0] = 127;
  a.addr[3] = 1;
  return &a;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  uint16_t tcp, other, udp, free_port, pub, pubu;
  int l = listener(SOCK_STREAM, &tcp);
  int l2 = listener(SOCK_STREAM, &other);
  int u = listener(SOCK_DGRAM, &udp);
  int f = listener(SOCK_STREAM, &free_port);
  close(f); /* granted, nobody listening */
  f = listener(SOCK_STREAM, &pub);
  close(f); /* a free port to publish */
  f = listener(SOCK_DGRAM, &pubu);
  close(f); /* and one for UDP */
  struct plat_linux_net_grant g[3] = {
      {.family = LINUX_AF_INET,
       .prefix = 32,
       .port_lo = tcp,
       .port_hi = tcp,
       .protos = PLAT_NET_TCP},
      {.family = LINUX_AF_INET,
       .prefix = 8,
       .port_lo = free_port,
       .port_hi = free_port,
       .protos = PLAT_NET_TCP},
      {.family = LINUX_AF_INET,
       .prefix = 32,
       .port_lo = udp,
       .port_hi = udp,
       .protos = PLAT_NET_UDP},
  };
  for (int i = 0; i < 3; i++)
    memcpy(g[i].addr, (uint8_t[]){127, 0, 0, 1}, 4);
  struct plat_linux_publish p[2] = {{.family = LINUX_AF_INET,
                                     .host_port = pub,
                                     .guest_port = 80,
                                     .proto = PLAT_NET_TCP},
                                    {.family = LINUX_AF_INET,
                                     .host_port = pubu,
                                     .guest_port = 53,
                                     .proto = PLAT_NET_UDP}};
  memcpy(p[0].addr, (uint8_t[]){127, 0, 0, 1}, 4);
  memcpy(p[1].addr, (uint8_t[]){127, 0, 0, 1}, 4);
  char why[256];
  CHECK(plat_linux_net_start(g, 3, p, 2, 65534, 65534, why, sizeof(why)) == 0,
        "start: %s", why);
  plat_linux_net_forked(true);
  CHECK(plat_linux_net_channel() >= 3, "no channel");

  /* not granted: nothing reaches the other listener */
  int h = 0;
  struct plat_net_addr local, peer;
  int rc = plat_net_connect(PLAT_NET_TCP, lo(other), 0, &h, &local, &peer);
  CHECK(rc == -ENETUNREACH, "denied connect: %d", rc);
  CHECK(!pending(l2, 100), "the denied listener saw a connection");
  rc = plat_net_connect(PLAT_NET_UDP, lo(tcp), 0, &h, &local, &peer);
  CHECK(rc == -ENETUNREACH, "udp to a tcp grant: %d", rc);

  /* granted: data both ways */
  rc = plat_net_connect(PLAT_NET_TCP, lo(tcp), 0, &h, &local, &peer);
  CHECK(rc == 0 && h > 0, "granted connect: %d", rc);
  CHECK(peer.port == tcp && local.family == LINUX_AF_INET, "names");
  int s = accept(l, NULL, NULL);
  CHECK(s >= 0, "accept");
  CHECK(plat_linux_net_send(h, "ping", 4, 0) == 4, "send");
  char buf[64] = {0};
  CHECK(recv(s, buf, sizeof(buf), 0) == 4 && !memcmp(buf, "ping", 4), "got");
  CHECK(plat_linux_net_recv(h, buf, sizeof(buf), PLAT_NET_DONTWAIT) == -EAGAIN,
        "nothing yet");
  CHECK(io_ready(PLAT_IO_NET, h, POLLIN, 0) == 0, "not readable yet");
  CHECK(send(s, "pong", 4, 0) == 4, "host send");
  CHECK(io_ready(PLAT_IO_NET, h, POLLIN, 2000000000) & POLLIN, "readable");
  CHECK(plat_linux_net_recv(h, buf, 2, PLAT_NET_PEEK) == 2, "peek");
  memset(buf, 0, sizeof(buf));
  CHECK(plat_linux_net_recv(h, buf, sizeof(buf), 0) == 4 &&
            !strcmp(buf, "pong"),
        "recv");

  /* a forked child uses the same handle through its own copy */
  pid_t child = fork();
  if (child == 0) {
    /* the inherited copy (fork copies host fds and the table) */
    int r = plat_linux_net_send(h, "kid", 3, 0);
    _exit(r == 3 ? 0 : 1);
  }
  int st;
  waitpid(child, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child send");
  CHECK(recv(s, buf, sizeof(buf), 0) == 3, "child's data");
  CHECK(plat_net_shutdown(h, 1) == 0, "shutdown");
  CHECK(recv(s, buf, sizeof(buf), 0) == 0, "host sees end of stream");
  close(s);
  CHECK(plat_linux_net_recv(h, buf, sizeof(buf), 0) == 0, "end of stream");
  CHECK(plat_net_close(h) == 0, "close");
  CHECK(plat_linux_net_send(h, "x", 1, 0) < 0, "closed handle still sends");

  /* close ends the connection for every copy; the child was forked
   * before the connect, so its copy must come from the broker */
  int hp[2];
  CHECK(pipe(hp) == 0, "pipe");
  child = fork();
  if (child == 0) {
    int hh;
    char c;
    if (read(hp[0], &hh, sizeof(hh)) != sizeof(hh))
      _exit(2);
    if (plat_linux_net_send(hh, "dup", 3, 0) != 3)
      _exit(3);
    long r = plat_linux_net_recv(hh, &c, 1, 0); /* until the parent's close */
    _exit(r == 0 ? 0 : 1);
  }
  rc = plat_net_connect(PLAT_NET_TCP, lo(tcp), 0, &h, &local, &peer);
  CHECK(rc == 0, "connect 2: %d", rc);
  s = accept(l, NULL, NULL);
  CHECK(write(hp[1], &h, sizeof(h)) == sizeof(h), "pipe write");
  CHECK(recv(s, buf, sizeof(buf), 0) == 3, "the child's own copy did not send");
  CHECK(plat_net_close(h) == 0, "close 2");
  waitpid(child, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "the child's copy did not end (status %d)", st);
  CHECK(recv(s, buf, sizeof(buf), 0) == 0, "host did not see the end");
  close(s);

  /* refused, and non-blocking */
  rc = plat_net_connect(PLAT_NET_TCP, lo(free_port), 0, &h, &local, &peer);
  CHECK(rc == -ECONNREFUSED, "refused: %d", rc);
  rc = plat_net_connect(PLAT_NET_TCP, lo(free_port), PLAT_NET_DONTWAIT, &h,
                        &local, &peer);
  if (rc == -EINPROGRESS) {
    CHECK(h > 0, "a handle with EINPROGRESS");
    io_ready(PLAT_IO_NET, h, POLLOUT, 2000000000);
    rc = (int)plat_linux_net_send(h, NULL, 0, PLAT_NET_DONTWAIT);
    plat_net_close(h);
  }
  CHECK(rc == -ECONNREFUSED, "non-blocking refused: %d", rc);
  rc = plat_net_connect(PLAT_NET_TCP, lo(tcp), PLAT_NET_DONTWAIT, &h, &local,
                        &peer);
  CHECK(rc == 0 || rc == -EINPROGRESS, "non-blocking: %d", rc);
  io_ready(PLAT_IO_NET, h, POLLOUT, 2000000000);
  CHECK(plat_linux_net_send(h, NULL, 0, PLAT_NET_DONTWAIT) == 0, "connected");
  plat_net_close(h);
  s = accept(l, NULL, NULL);
  close(s);

  /* UDP */
  rc = plat_net_connect(PLAT_NET_UDP, lo(udp), 0, &h, &local, &peer);
  CHECK(rc == 0, "udp: %d", rc);
  CHECK(plat_linux_net_send(h, "dgram", 5, 0) == 5, "udp send");
  struct sockaddr_in from;
  socklen_t fl = sizeof(from);
  CHECK(recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) == 5,
        "udp got");
  plat_net_close(h);

  /* a published port: a wait on it (PLAT_IO_PUBLISHED) ends when a
   * connection waits; an index the policy does not have is POLLNVAL */
  CHECK(io_ready(PLAT_IO_PUBLISHED, 0, POLLIN, 0) == 0,
        "listener readable too early");
  CHECK(io_ready(PLAT_IO_PUBLISHED, 2, POLLIN, 0) == POLLNVAL,
        "no such listener");
  CHECK(plat_net_accept(0, &h, &peer) == -EAGAIN, "nothing waiting");
  CHECK(plat_net_accept(2, &h, &peer) == -EINVAL, "no such index");
  CHECK(plat_net_accept(1, &h, &peer) == -EINVAL, "accept on a UDP port");
  int c = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in pa = {.sin_family = AF_INET,
                           .sin_port = htons(pub),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK(connect(c, (struct sockaddr *)&pa, sizeof(pa)) == 0, "publish connect");
  CHECK(io_ready(PLAT_IO_PUBLISHED, 0, POLLIN, 2000000000) & POLLIN,
        "listener readable");
  for (int i = 0; i < 100 && (rc = plat_net_accept(0, &h, &peer)) == -EAGAIN;
       i++)
    usleep(10000);
  CHECK(rc == 0 && h > 0, "accept: %d", rc);
  CHECK(send(c, "in", 2, 0) == 2, "client send");
  memset(buf, 0, sizeof(buf));
  CHECK(plat_linux_net_recv(h, buf, sizeof(buf), 0) == 2 && !strcmp(buf, "in"),
        "accepted data");
  CHECK(plat_linux_net_send(h, "out", 3, 0) == 3, "accepted send");
  CHECK(recv(c, buf, sizeof(buf), 0) == 3, "client got");
  plat_net_close(h);
  close(c);
  /* The listener's handle (plat_wait's, inside the platform) is no
   * handle the sandbox can close: every handle there is now closes with
   * -EBADF, and the port still listens. */
  for (int i = 1; i < 64; i++)
    CHECK(plat_net_close(i) == -EBADF, "handle %d closed", i);
  CHECK(plat_net_accept(0, &h, &peer) == -EAGAIN, "the listener went away");
  CHECK(io_ready(PLAT_IO_PUBLISHED, 0, POLLIN, 0) == 0, "listener gone");

  /* a published UDP port: datagrams relayed with their sender; an answer
   * only to a sender it received from */
  CHECK(plat_net_dgram_recv(1, buf, sizeof(buf), 0, &peer) == -EAGAIN,
        "udp nothing waiting");
  CHECK(plat_net_dgram_recv(0, buf, sizeof(buf), 0, &peer) == -EINVAL,
        "dgram_recv on a TCP port");
  struct sockaddr_in ua = {.sin_family = AF_INET,
                           .sin_port = htons(udp),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  rc = (int)plat_net_dgram_send(1, "sneak", 5, lo(udp));
  CHECK(rc == -ENETUNREACH, "answer to a stranger: %d", rc);
  CHECK(!pending(u, 100), "the stranger got a datagram");
  int uc = socket(AF_INET, SOCK_DGRAM, 0);
  pa.sin_port = htons(pubu);
  CHECK(sendto(uc, "query", 5, 0, (struct sockaddr *)&pa, sizeof(pa)) == 5,
        "client sendto");
  CHECK(io_ready(PLAT_IO_PUBLISHED, 1, POLLIN, 2000000000) & POLLIN,
        "udp readable");
  memset(buf, 0, sizeof(buf));
  CHECK(plat_net_dgram_recv(1, buf, 2, PLAT_NET_PEEK, &peer) == 5 &&
            !memcmp(buf, "qu", 2),
        "peek, cut");
  memset(buf, 0, sizeof(buf));
  CHECK(plat_net_dgram_recv(1, buf, sizeof(buf), 0, &peer) == 5 &&
            !strcmp(buf, "query") && peer.family == LINUX_AF_INET &&
            peer.addr[0] == 127,
        "udp relayed");
  CHECK(plat_net_dgram_send(1, "answer", 6, &peer) == 6, "answer");
  fl = sizeof(from);
  CHECK(recvfrom(uc, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) == 6 &&
            from.sin_port == htons(pubu),
        "client got the answer from the published port");
  (void)ua;
  close(uc);

  plat_linux_net_forked(false);
  plat_linux_net_stop();
  printf("ok\n");
  return 0;
}
