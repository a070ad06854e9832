/* AF_INET and AF_INET6 between the sandbox's own processes over
 * loopback, natively and inside moat with the same output: socket(2)'s
 * errors, TCP on 127.0.0.1, ::1, the wildcards and v4-mapped v6, names,
 * ephemeral ports (whether a port is in 32768-60999, never the number),
 * EADDRINUSE, SO_REUSEADDR and SO_REUSEPORT, backlog, blocking and
 * non-blocking connect (EINPROGRESS, SO_ERROR), ECONNREFUSED,
 * half-close, the options programs set, UDP with addresses, connected
 * UDP and its ECONNREFUSED, ENETUNREACH for a destination outside, and
 * a TCP exchange across fork with handshakes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "guest.h"

static struct sockaddr_in v4(const char *ip, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

static struct sockaddr_in6 v6(const char *ip, int port) {
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
  inet_pton(AF_INET6, ip, &a.sin6_addr);
  return a;
}

static int port_of(int fd) {
  struct sockaddr_storage a;
  socklen_t l = sizeof(a);
  if (getsockname(fd, (struct sockaddr *)&a, &l) < 0)
    return -1;
  if (a.ss_family == AF_INET)
    return ntohs(((struct sockaddr_in *)&a)->sin_port);
  return ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
}

static int eph(int port) {
  return port >= 32768 && port <= 60999;
}

/* An address without its port: "127.0.0.1 len 16". */
static void show(const char *label, int fd, bool peer) {
  struct sockaddr_storage a;
  socklen_t l = sizeof(a);
  int r = peer ? getpeername(fd, (struct sockaddr *)&a, &l)
               : getsockname(fd, (struct sockaddr *)&a, &l);
  if (r < 0) {
    printf("%s: -1 %s\n", label, errname(errno));
    return;
  }
  char buf[64];
  if (a.ss_family == AF_INET)
    inet_ntop(AF_INET, &((struct sockaddr_in *)&a)->sin_addr, buf, sizeof buf);
  else
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a)->sin6_addr, buf,
              sizeof buf);
  printf("%s: %s len %d\n", label, buf, (int)l);
}

static int opt(int fd, int level, int name) {
  int v = -12345;
  socklen_t l = sizeof(v);
  if (getsockopt(fd, level, name, &v, &l) < 0)
    return -errno;
  return v;
}

static void creation(void) {
  R("tcp", socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : -1);
  R("tcp IPPROTO_TCP", socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) >= 0 ? 0 : -1);
  R("udp6 IPPROTO_UDP",
    socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP) >= 0 ? 0 : -1);
  R("tcp with IPPROTO_UDP", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
  R("udp with IPPROTO_TCP", socket(AF_INET6, SOCK_DGRAM, IPPROTO_TCP));
  R("seqpacket", socket(AF_INET, SOCK_SEQPACKET, 0));
  R("bad type", socket(AF_INET, 12, 0));
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  printf("flags: nonblock %d cloexec %d\n", !!(fcntl(fd, F_GETFL) & O_NONBLOCK),
         fcntl(fd, F_GETFD));
  printf("domain %d type %d protocol %d\n", opt(fd, SOL_SOCKET, SO_DOMAIN),
         opt(fd, SOL_SOCKET, SO_TYPE), opt(fd, SOL_SOCKET, SO_PROTOCOL));
  show("fresh name", fd, false);
  show("fresh peer", fd, true);
  char c;
  R("recv unconnected", recv(fd, &c, 1, 0));
  R("send unconnected", send(fd, "x", 1, MSG_NOSIGNAL));
  R("shutdown unconnected", shutdown(fd, SHUT_WR));
  close(fd);
  fd = socket(AF_INET, SOCK_DGRAM, 0);
  R("udp send unconnected", send(fd, "x", 1, 0));
  struct sockaddr_in far = v4("192.0.2.1", 80);
  (void)far; /* natively the host's network answers: not compared */
  struct sockaddr_in bad = v4("192.0.2.1", 0);
  R("bind foreign address", bind(fd, (struct sockaddr *)&bad, sizeof bad));
  R("bind short", bind(fd, (struct sockaddr *)&bad, 8));
  struct sockaddr_in6 six = v6("::1", 0);
  R("bind v6 on v4", bind(fd, (struct sockaddr *)&six, sizeof six));
  close(fd);
}

static void options(void) {
  int t = socket(AF_INET6, SOCK_STREAM, 0);
  int one = 1, v;
  printf("defaults: nodelay %d keepalive %d reuseaddr %d v6only %d\n",
         opt(t, IPPROTO_TCP, TCP_NODELAY), opt(t, SOL_SOCKET, SO_KEEPALIVE),
         opt(t, SOL_SOCKET, SO_REUSEADDR), opt(t, IPPROTO_IPV6, IPV6_V6ONLY));
  printf("defaults: keepidle %d intvl %d cnt %d ttl %d tos %d\n",
         opt(t, IPPROTO_TCP, TCP_KEEPIDLE), opt(t, IPPROTO_TCP, TCP_KEEPINTVL),
         opt(t, IPPROTO_TCP, TCP_KEEPCNT), opt(t, IPPROTO_IP, IP_TTL),
         opt(t, IPPROTO_IP, IP_TOS));
  setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  v = 5;
  setsockopt(t, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v);
  v = 60;
  setsockopt(t, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v);
  v = 10;
  setsockopt(t, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof v);
  v = 3;
  setsockopt(t, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof v);
  v = 0x10;
  setsockopt(t, IPPROTO_IP, IP_TOS, &v, sizeof v);
  v = 7;
  setsockopt(t, IPPROTO_IP, IP_TTL, &v, sizeof v);
  printf("set: nodelay %d keepalive %d keepidle %d intvl %d cnt %d tos %d "
         "ttl %d\n",
         opt(t, IPPROTO_TCP, TCP_NODELAY), opt(t, SOL_SOCKET, SO_KEEPALIVE),
         opt(t, IPPROTO_TCP, TCP_KEEPIDLE), opt(t, IPPROTO_TCP, TCP_KEEPINTVL),
         opt(t, IPPROTO_TCP, TCP_KEEPCNT), opt(t, IPPROTO_IP, IP_TOS),
         opt(t, IPPROTO_IP, IP_TTL));
  v = 0;
  R("keepidle 0", setsockopt(t, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v));
  v = 300;
  R("ttl 300", setsockopt(t, IPPROTO_IP, IP_TTL, &v, sizeof v));
  v = -1;
  setsockopt(t, IPPROTO_IP, IP_TTL, &v, sizeof v);
  printf("ttl -1 gives %d\n", opt(t, IPPROTO_IP, IP_TTL));
  R("short optlen", setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, 2));
  R("unknown tcp option", setsockopt(t, IPPROTO_TCP, 999, &one, sizeof one));
  struct linger lg = {1, 5}, lo;
  setsockopt(t, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  socklen_t ll = sizeof lo;
  getsockopt(t, SOL_SOCKET, SO_LINGER, &lo, &ll);
  printf("linger %d %d len %d\n", lo.l_onoff, lo.l_linger, (int)ll);
  setsockopt(t, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  printf("v6only %d\n", opt(t, IPPROTO_IPV6, IPV6_V6ONLY));
  struct sockaddr_in6 a = v6("::1", 0);
  bind(t, (struct sockaddr *)&a, sizeof a);
  R("v6only once bound",
    setsockopt(t, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
  struct tcp_info ti;
  socklen_t til = sizeof ti;
  R("tcp_info", getsockopt(t, IPPROTO_TCP, TCP_INFO, &ti, &til));
  printf("tcp_info state %d\n", ti.tcpi_state);
  close(t);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  setsockopt(u, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
  printf("udp: broadcast %d\n", opt(u, SOL_SOCKET, SO_BROADCAST));
  R("udp: tcp option",
    setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
  R("udp: v6 option on v4",
    setsockopt(u, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
  close(u);
}

/* A listener on addr; prints whether its port is ephemeral. */
static int listener(int fam, const char *ip) {
  int l = socket(fam, SOCK_STREAM, 0);
  int r;
  if (fam == AF_INET) {
    struct sockaddr_in a = v4(ip, 0);
    r = bind(l, (struct sockaddr *)&a, sizeof a);
  } else {
    struct sockaddr_in6 a = v6(ip, 0);
    r = bind(l, (struct sockaddr *)&a, sizeof a);
  }
  if (r < 0 || listen(l, 8) < 0)
    printf("listener %s: %s\n", ip, errname(errno));
  return l;
}

static int dial(int fam, const char *ip, int port) {
  int c = socket(fam, SOCK_STREAM, 0);
  int r;
  if (fam == AF_INET) {
    struct sockaddr_in a = v4(ip, port);
    r = connect(c, (struct sockaddr *)&a, sizeof a);
  } else {
    struct sockaddr_in6 a = v6(ip, port);
    r = connect(c, (struct sockaddr *)&a, sizeof a);
  }
  if (r < 0) {
    int e = errno;
    close(c);
    errno = e;
    return -1;
  }
  return c;
}

static void exchange(const char *label, int c, int s) {
  char buf[32] = {0};
  write(c, "ping", 4);
  read(s, buf, sizeof buf);
  write(s, "pong", 4);
  char b2[8] = {0};
  read(c, b2, sizeof b2);
  printf("%s: %s %s\n", label, buf, b2);
}

static void tcp(void) {
  const struct {
    int lfam;
    const char *lip;
    int cfam;
    const char *cip;
  } cases[] = {
      {AF_INET, "127.0.0.1", AF_INET, "127.0.0.1"},
      {AF_INET, "0.0.0.0", AF_INET, "127.0.0.1"},
      {AF_INET, "0.0.0.0", AF_INET, "127.0.0.5"},
      {AF_INET6, "::1", AF_INET6, "::1"},
      {AF_INET6, "::", AF_INET, "127.0.0.1"},
      {AF_INET6, "::", AF_INET6, "::ffff:127.0.0.1"},
      {AF_INET6, "::", AF_INET6, "::1"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char label[96];
    snprintf(label, sizeof label, "%s <- %s", cases[i].lip, cases[i].cip);
    int l = listener(cases[i].lfam, cases[i].lip);
    int port = port_of(l);
    printf("%s: listener port ephemeral %d\n", label, eph(port));
    int c = dial(cases[i].cfam, cases[i].cip, port);
    if (c < 0) {
      printf("%s: connect %s\n", label, errname(errno));
      close(l);
      continue;
    }
    struct sockaddr_storage pa;
    socklen_t pl = sizeof pa;
    int s = accept(l, (struct sockaddr *)&pa, &pl);
    printf("%s: accept peer len %d, client port ephemeral %d, same %d\n", label,
           (int)pl, eph(port_of(c)),
           ntohs(((struct sockaddr_in *)&pa)->sin_port) == port_of(c));
    show("  client name", c, false);
    show("  client peer", c, true);
    show("  server name", s, false);
    show("  server peer", s, true);
    exchange("  data", c, s);
    close(c);
    close(s);
    close(l);
  }
  /* Refused, unreachable, 0.0.0.0 */
  int l = listener(AF_INET, "127.0.0.1");
  int port = port_of(l);
  close(l);
  R("connect closed port", dial(AF_INET, "127.0.0.1", port));
  R("connect v6 closed port", dial(AF_INET6, "::1", port));
  /* Outside the sandbox: ENETUNREACH in moat, whatever the host's
   * network says natively; only that it fails is compared. */
  FACT("connect outside fails", dial(AF_INET, "192.0.2.1", 80) < 0);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in6 s6 = v6("::1", 80);
  R("v4 socket, v6 address", connect(c, (struct sockaddr *)&s6, sizeof s6));
  close(c);
  c = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in s4 = v4("127.0.0.1", 80);
  R("v6 socket, v4 address", connect(c, (struct sockaddr *)&s4, sizeof s4));
  close(c);
}

static void ports(void) {
  int a = socket(AF_INET, SOCK_STREAM, 0), b = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in x = v4("127.0.0.1", 0);
  bind(a, (struct sockaddr *)&x, sizeof x);
  x.sin_port = htons(port_of(a));
  R("bind same port", bind(b, (struct sockaddr *)&x, sizeof x));
  struct sockaddr_in any = v4("0.0.0.0", port_of(a));
  R("bind wildcard, same port", bind(b, (struct sockaddr *)&any, sizeof any));
  close(b);
  /* SO_REUSEADDR on both: bound twice, but only one may listen. */
  int one = 1;
  setsockopt(a, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  b = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  R("reuseaddr bind", bind(b, (struct sockaddr *)&x, sizeof x));
  R("reuseaddr first listen", listen(a, 4));
  R("reuseaddr second listen", listen(b, 4));
  close(b);
  b = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  R("reuseaddr bind to a listener", bind(b, (struct sockaddr *)&x, sizeof x));
  close(a);
  close(b);
  /* SO_REUSEPORT on both: two listeners share the port. */
  a = socket(AF_INET, SOCK_STREAM, 0);
  b = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(a, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  setsockopt(b, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  x = v4("127.0.0.1", 0);
  bind(a, (struct sockaddr *)&x, sizeof x);
  x.sin_port = htons(port_of(a));
  R("reuseport bind", bind(b, (struct sockaddr *)&x, sizeof x));
  R("reuseport listen a", listen(a, 8));
  R("reuseport listen b", listen(b, 8));
  int cs[8], got = 0;
  for (int i = 0; i < 8; i++)
    cs[i] = dial(AF_INET, "127.0.0.1", port_of(a));
  fcntl(a, F_SETFL, O_NONBLOCK);
  fcntl(b, F_SETFL, O_NONBLOCK);
  int s;
  while ((s = accept(a, NULL, NULL)) >= 0 || (s = accept(b, NULL, NULL)) >= 0) {
    got++;
    close(s);
  }
  printf("reuseport: %d connections accepted over the two\n", got);
  for (int i = 0; i < 8; i++)
    close(cs[i]);
  close(a);
  close(b);
  /* v6 wildcard (dual stack) takes the v4 port; V6ONLY does not. */
  a = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 w = v6("::", 0);
  bind(a, (struct sockaddr *)&w, sizeof w);
  b = socket(AF_INET, SOCK_STREAM, 0);
  any = v4("127.0.0.1", port_of(a));
  R("v4 bind under a dual-stack wildcard",
    bind(b, (struct sockaddr *)&any, sizeof any));
  close(a);
  close(b);
  /* The port a V6ONLY wildcard gets may be one another program of the
   * host holds on IPv4 (natively, with other tests running): a few
   * fresh ports, and the last attempt's result. */
  int rc = -1, bind_errno = 0;
  for (int attempt = 0; attempt < 8 && rc != 0; attempt++) {
    a = socket(AF_INET6, SOCK_STREAM, 0);
    setsockopt(a, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    bind(a, (struct sockaddr *)&w, sizeof w);
    b = socket(AF_INET, SOCK_STREAM, 0);
    any = v4("127.0.0.1", port_of(a));
    errno = 0;
    rc = bind(b, (struct sockaddr *)&any, sizeof any);
    bind_errno = errno;
    close(a);
    close(b);
  }
  R("v4 bind under a v6only wildcard", (errno = bind_errno, rc));
  /* listen of an unbound socket picks a port. */
  a = socket(AF_INET, SOCK_STREAM, 0);
  listen(a, 1);
  printf("listen unbound: port ephemeral %d\n", eph(port_of(a)));
  close(a);
}

static void nonblocking(void) {
  int l = listener(AF_INET, "127.0.0.1");
  int port = port_of(l);
  int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = v4("127.0.0.1", port);
  int r = connect(c, (struct sockaddr *)&a, sizeof a);
  printf("nonblocking connect: %s\n", r == 0 ? "0" : errname(errno));
  struct pollfd p = {c, POLLOUT, 0};
  R("poll writable", poll(&p, 1, 5000));
  printf("so_error %d\n", opt(c, SOL_SOCKET, SO_ERROR));
  R("connect again", connect(c, (struct sockaddr *)&a, sizeof a));
  int s = accept(l, NULL, NULL);
  exchange("nonblocking data", c, s);
  close(s);
  close(c);
  close(l);
  /* To nobody: SO_ERROR says ECONNREFUSED. */
  c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  r = connect(c, (struct sockaddr *)&a, sizeof a);
  if (r < 0 && errno == EINPROGRESS) {
    p.fd = c;
    p.events = POLLOUT;
    poll(&p, 1, 5000);
    int e = opt(c, SOL_SOCKET, SO_ERROR);
    printf("refused: so_error %s, then %d\n", e > 0 ? errname(e) : "0",
           opt(c, SOL_SOCKET, SO_ERROR));
  } else {
    printf("refused: %s\n", r == 0 ? "0" : errname(errno));
  }
  close(c);
}

static void halfclose_and_fork(void) {
  int l = listener(AF_INET6, "::");
  int port = port_of(l);
  int sync[2];
  pipe(sync);
  pid_t pid = fork();
  if (pid == 0) {
    int c = dial(AF_INET, "127.0.0.1", port);
    if (c < 0)
      _exit(1);
    const char *msg = "a message in two parts";
    write(c, msg, 10);
    write(c, msg + 10, strlen(msg) - 10);
    shutdown(c, SHUT_WR);
    char buf[64];
    long n, t = 0;
    while ((n = read(c, buf + t, sizeof buf - 1 - t)) > 0)
      t += n;
    buf[t] = 0;
    _exit(strcmp(buf, "A MESSAGE IN TWO PARTS") == 0 ? 0 : 2);
  }
  int s = accept(l, NULL, NULL);
  char buf[64];
  long n, t = 0;
  while ((n = read(s, buf + t, sizeof buf - 1 - t)) > 0)
    t += n;
  buf[t] = 0;
  printf("server read to EOF: %s\n", buf);
  for (long i = 0; i < t; i++)
    if (buf[i] >= 'a' && buf[i] <= 'z')
      buf[i] = (char)(buf[i] - 32);
  R("server writes after the peer's SHUT_WR", write(s, buf, (size_t)t));
  close(s);
  int st;
  waitpid(pid, &st, 0);
  printf("child status %d\n", WEXITSTATUS(st));
  close(l);
}

static void udp(void) {
  int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in x = v4("127.0.0.1", 0);
  bind(a, (struct sockaddr *)&x, sizeof x);
  struct sockaddr_in6 w = v6("::", 0);
  bind(b, (struct sockaddr *)&w, sizeof w);
  int pa = port_of(a), pb = port_of(b);
  printf("udp ports ephemeral %d %d\n", eph(pa), eph(pb));
  struct sockaddr_in tb = v4("127.0.0.1", pb);
  R("sendto v6 wildcard",
    sendto(a, "one", 3, 0, (struct sockaddr *)&tb, sizeof tb));
  R("sendto empty", sendto(a, "", 0, 0, (struct sockaddr *)&tb, sizeof tb));
  R("sendto", sendto(a, "three", 5, 0, (struct sockaddr *)&tb, sizeof tb));
  char buf[16];
  struct sockaddr_in6 from;
  socklen_t fl = sizeof from;
  memset(buf, 0, sizeof buf);
  R("recvfrom", recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
  char ip[64];
  inet_ntop(AF_INET6, &from.sin6_addr, ip, sizeof ip);
  printf("got %s from %s len %d, port matches %d\n", buf, ip, (int)fl,
         ntohs(from.sin6_port) == pa);
  R("recv empty", recv(b, buf, sizeof buf, 0));
  R("recv truncated", recv(b, buf, 2, MSG_TRUNC));
  /* Reply to a v4 sender from the v6 socket. */
  R("reply", sendto(b, "back", 4, 0, (struct sockaddr *)&from, fl));
  struct sockaddr_in f4;
  fl = sizeof f4;
  memset(buf, 0, sizeof buf);
  R("v4 recvfrom",
    recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&f4, &fl));
  inet_ntop(AF_INET, &f4.sin_addr, ip, sizeof ip);
  printf("got %s from %s len %d\n", buf, ip, (int)fl);
  /* Connected UDP: others' datagrams are dropped. */
  int c = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in ta = v4("127.0.0.1", pa);
  OK("connect udp", connect(c, (struct sockaddr *)&ta, sizeof ta));
  show("connected udp name", c, false);
  show("connected udp peer", c, true);
  printf("connected udp port ephemeral %d\n", eph(port_of(c)));
  R("send connected", send(c, "cc", 2, 0));
  memset(buf, 0, sizeof buf);
  R("a gets it", recv(a, buf, sizeof buf, 0));
  OK("a connects to b", connect(a, (struct sockaddr *)&w, sizeof w) < 0
                            ? connect(a, (struct sockaddr *)&tb, sizeof tb)
                            : 0);
  R("c sends again", send(c, "dd", 2, 0));
  R("a has nothing", recv(a, buf, sizeof buf, MSG_DONTWAIT));
  close(c);
  /* Connected to a port where nobody is: ECONNREFUSED on the next call. */
  int d = socket(AF_INET, SOCK_DGRAM, 0);
  bind(d, (struct sockaddr *)&x, sizeof x);
  int dead = port_of(d);
  close(d);
  d = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in td = v4("127.0.0.1", dead);
  connect(d, (struct sockaddr *)&td, sizeof td);
  R("send to nobody", send(d, "x", 1, 0));
  R("recv after it", recv(d, buf, sizeof buf, 0));
  R("recv again", recv(d, buf, sizeof buf, MSG_DONTWAIT));
  int e = socket(AF_INET, SOCK_DGRAM, 0);
  R("unconnected sendto nobody",
    sendto(e, "x", 1, 0, (struct sockaddr *)&td, sizeof td));
  R("then recv", recv(e, buf, sizeof buf, MSG_DONTWAIT));
  close(d);
  close(e);
  close(a);
  close(b);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGPIPE, SIG_IGN);
  creation();
  options();
  tcp();
  ports();
  nonblocking();
  halfclose_and_fork();
  udp();
  return 0;
}
