/* AF_UNIX named sockets, natively and inside moat with the same output:
 * socket(2) and its errors, bind on paths (the S_IFSOCK file, EADDRINUSE,
 * unlink and bind again), abstract names, autobind (five hex digits),
 * listen/connect/accept4 with names and lengths, SO_PEERCRED, errors
 * (ENOENT, ECONNREFUSED, EPROTOTYPE, EACCES as another user, EAGAIN for a
 * full backlog), datagram addressing (sendto/recvfrom, connect filtering
 * senders with EPERM), a listener's poll readiness, the close of a
 * listener resetting a queued connection, and connect/accept across fork
 * with handshakes (a blocked accept woken by another process), then many
 * processes connecting at once, each exchanging data. */
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "guest.h"

static socklen_t mkaddr(struct sockaddr_un *a, const char *path) {
  memset(a, 0, sizeof(*a));
  a->sun_family = AF_UNIX;
  strcpy(a->sun_path, path);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static socklen_t mkabs(struct sockaddr_un *a, const char *name) {
  memset(a, 0, sizeof(*a));
  a->sun_family = AF_UNIX;
  memcpy(a->sun_path + 1, name, strlen(name));
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
}

static void show_name(const char *label, struct sockaddr_un *a, socklen_t len) {
  printf("%s: len %d", label, (int)len);
  if (len > offsetof(struct sockaddr_un, sun_path)) {
    if (a->sun_path[0])
      printf(" path %s", a->sun_path);
    else
      printf(" abstract %.*s", (int)(len - 3), a->sun_path + 1);
  }
  printf("\n");
}

static void names(const char *label, int fd) {
  struct sockaddr_un a;
  socklen_t len = sizeof(a);
  char l[64];
  snprintf(l, sizeof l, "%s sockname", label);
  if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
    printf("%s: -1 %s\n", l, errname(errno));
  else
    show_name(l, &a, len);
  len = sizeof(a);
  snprintf(l, sizeof l, "%s peername", label);
  if (getpeername(fd, (struct sockaddr *)&a, &len) < 0)
    printf("%s: -1 %s\n", l, errname(errno));
  else
    show_name(l, &a, len);
}

static void creation(void) {
  R("socket stream", socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 0 : -1);
  R("socket dgram cloexec nonblock",
    socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0) >= 0 ? 0
                                                                       : -1);
  R("socket seqpacket PF_UNIX",
    socket(AF_UNIX, SOCK_SEQPACKET, PF_UNIX) >= 0 ? 0 : -1);
  R("socket bad protocol", socket(AF_UNIX, SOCK_STREAM, 7));
  R("socket bad type", socket(AF_UNIX, 4, 0));
  R("socket type 0", socket(AF_UNIX, 0, 0));
  R("socket bad flags", socket(AF_UNIX, SOCK_STREAM | 0x100, 0));
  R("socket AF_APPLETALK", socket(5, SOCK_DGRAM, 0));
  R("socket family 999", socket(999, SOCK_STREAM, 0));
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  int v = -1;
  socklen_t l = sizeof(v);
  getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l);
  printf("acceptconn fresh: %d\n", v);
  names("fresh", fd);
  char c;
  R("send unconnected stream", send(fd, "x", 1, MSG_NOSIGNAL));
  R("recv unconnected stream", recv(fd, &c, 1, MSG_DONTWAIT));
  R("listen unbound", listen(fd, 1));
  R("accept unbound", accept(fd, NULL, NULL));
  struct pollfd p = {fd, POLLIN | POLLOUT, 0};
  poll(&p, 1, 0);
  printf("poll fresh stream: IN %d OUT %d HUP %d\n", !!(p.revents & POLLIN),
         !!(p.revents & POLLOUT), !!(p.revents & POLLHUP));
  close(fd);
  fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  R("send unconnected seqpacket", send(fd, "x", 1, MSG_NOSIGNAL));
  R("recv unconnected seqpacket", recv(fd, &c, 1, MSG_DONTWAIT));
  close(fd);
  fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  R("send unconnected dgram", send(fd, "x", 1, 0));
  R("listen dgram", listen(fd, 1));
  R("accept dgram", accept(fd, NULL, NULL));
  close(fd);
}

static void paths(void) {
  struct sockaddr_un a, b;
  socklen_t al = mkaddr(&a, "s1");
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  R("bind short len", bind(l, (struct sockaddr *)&a, 1));
  R("bind bad family", bind(l, (struct sockaddr *)&(struct sockaddr){0}, 16));
  R("bind NULL", bind(l, NULL, 16));
  OK("bind s1", bind(l, (struct sockaddr *)&a, al));
  R("bind again", bind(l, (struct sockaddr *)&a, al));
  struct stat st;
  OK("stat s1", stat("s1", &st));
  printf("s1 is a socket: %d, mode %o\n", S_ISSOCK(st.st_mode),
         st.st_mode & 0777);
  names("bound", l);
  int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
  R("bind s1 taken", bind(l2, (struct sockaddr *)&a, al));
  write_file("plain", "x");
  socklen_t pl = mkaddr(&b, "plain");
  R("bind over a file", bind(l2, (struct sockaddr *)&b, pl));
  R("connect not a socket", connect(l2, (struct sockaddr *)&b, pl));
  socklen_t nl = mkaddr(&b, "nothere");
  R("connect missing", connect(l2, (struct sockaddr *)&b, nl));
  R("connect not listening", connect(l2, (struct sockaddr *)&a, al));
  /* The path without its NUL in the length: the same name. */
  OK("listen 5", listen(l, 5));
  int v = -1;
  socklen_t vl = sizeof(v);
  getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl);
  printf("acceptconn listening: %d\n", v);
  OK("listen again 1", listen(l, 1));
  R("connect to listener", connect(l2, (struct sockaddr *)&a, al - 1));
  names("client", l2);
  R("connect twice", connect(l2, (struct sockaddr *)&a, al));
  int d = socket(AF_UNIX, SOCK_DGRAM, 0);
  R("dgram connect to stream", connect(d, (struct sockaddr *)&a, al));
  int sq = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  R("seqpacket connect to stream", connect(sq, (struct sockaddr *)&a, al));
  struct pollfd p = {l, POLLIN | POLLOUT, 0};
  poll(&p, 1, 0);
  printf("listener with one pending: IN %d OUT %d\n", !!(p.revents & POLLIN),
         !!(p.revents & POLLOUT));
  struct sockaddr_un pa;
  socklen_t pal = 1;
  int c = accept4(l, (struct sockaddr *)&pa, &pal, SOCK_CLOEXEC);
  printf("accept4: %s, peer len %d\n", c >= 0 ? "ok" : errname(errno),
         (int)pal);
  printf("accepted cloexec: %d\n", fcntl(c, F_GETFD) == FD_CLOEXEC);
  names("accepted", c);
  R("accept4 bad flags", syscall(SYS_accept4, l, NULL, NULL, 0x1));
  fcntl(l, F_SETFL, O_NONBLOCK);
  R("accept nonblocking none", accept(l, NULL, NULL));
  fcntl(l, F_SETFL, 0);
  p.revents = 0;
  poll(&p, 1, 0);
  printf("listener drained: IN %d\n", !!(p.revents & POLLIN));
  R("client write", write(l2, "hello", 5));
  char buf[16] = {0};
  R("accepted read", read(c, buf, sizeof buf));
  printf("got %s\n", buf);
  struct ucred cr;
  socklen_t crl = sizeof(cr);
  getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &crl);
  printf("accepted peercred: mine %d uid %u\n", cr.pid == getpid(), cr.uid);
  crl = sizeof(cr);
  getsockopt(l2, SOL_SOCKET, SO_PEERCRED, &cr, &crl);
  printf("client peercred: mine %d uid %u\n", cr.pid == getpid(), cr.uid);
  crl = sizeof(cr);
  getsockopt(d, SOL_SOCKET, SO_PEERCRED, &cr, &crl);
  printf("unconnected peercred: pid %d uid %d\n", cr.pid, (int)cr.uid);
  close(c);
  close(l2);
  /* Unlink: the name goes, the socket keeps it as its own. */
  OK("unlink s1", unlink("s1"));
  l2 = socket(AF_UNIX, SOCK_STREAM, 0);
  R("connect after unlink", connect(l2, (struct sockaddr *)&a, al));
  names("unlinked listener", l);
  int l3 = socket(AF_UNIX, SOCK_STREAM, 0);
  OK("bind s1 anew", bind(l3, (struct sockaddr *)&a, al));
  OK("listen anew", listen(l3, 1));
  OK("connect anew", connect(l2, (struct sockaddr *)&a, al));
  close(l);
  close(l2);
  close(l3);
  close(d);
  close(sq);
  /* A closed listener's file stays: ECONNREFUSED. */
  l2 = socket(AF_UNIX, SOCK_STREAM, 0);
  R("connect to a dead socket file", connect(l2, (struct sockaddr *)&a, al));
  close(l2);
  unlink("s1");
  unlink("plain");
}

static void abstract_and_autobind(void) {
  struct sockaddr_un a, g;
  socklen_t al = mkabs(&a, "moat-test-abs");
  int l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  OK("bind abstract", bind(l, (struct sockaddr *)&a, al));
  names("abstract", l);
  int x = socket(AF_UNIX, SOCK_STREAM, 0);
  R("bind abstract taken (other type)", bind(x, (struct sockaddr *)&a, al));
  OK("listen abstract", listen(l, 2));
  int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  OK("connect abstract", connect(c, (struct sockaddr *)&a, al));
  R("stream connect to seqpacket", connect(x, (struct sockaddr *)&a, al));
  int s = accept(l, NULL, NULL);
  R("seqpacket send", send(c, "abc", 3, 0));
  R("seqpacket send", send(c, "de", 2, 0));
  char buf[8];
  R("seqpacket recv", recv(s, buf, sizeof buf, 0));
  R("seqpacket recv", recv(s, buf, sizeof buf, 0));
  close(s);
  close(c);
  close(l);
  close(x);
  /* Autobind: bind with only sun_family. */
  x = socket(AF_UNIX, SOCK_DGRAM, 0);
  sa_family_t fam = AF_UNIX;
  OK("autobind", bind(x, (struct sockaddr *)&fam, sizeof(fam)));
  socklen_t gl = sizeof(g);
  getsockname(x, (struct sockaddr *)&g, &gl);
  int hex = gl == 8 && g.sun_path[0] == 0;
  for (int i = 1; i < 6 && hex; i++)
    hex = strchr("0123456789abcdef", g.sun_path[i]) != NULL;
  printf("autobind name: len %d, five hex digits %d\n", (int)gl, hex);
  /* Someone can send to it by that name. */
  int y = socket(AF_UNIX, SOCK_DGRAM, 0);
  R("sendto autobound", sendto(y, "hi", 2, 0, (struct sockaddr *)&g, gl));
  struct sockaddr_un from;
  socklen_t fl = sizeof(from);
  R("recvfrom unnamed sender",
    recvfrom(x, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
  printf("from len %d\n", (int)fl);
  /* SO_PASSCRED autobinds an unbound sender on sendto. */
  int one = 1;
  setsockopt(y, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
  R("sendto with passcred", sendto(y, "p", 1, 0, (struct sockaddr *)&g, gl));
  fl = sizeof(from);
  R("recvfrom passcred sender",
    recvfrom(x, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
  printf("passcred sender autobound: len %d\n", (int)fl);
  close(x);
  close(y);
}

static void dgram_addressing(void) {
  struct sockaddr_un a, b, c;
  socklen_t al = mkaddr(&a, "da"), bl = mkaddr(&b, "db"), cl = mkaddr(&c, "dc");
  int A = socket(AF_UNIX, SOCK_DGRAM, 0), B = socket(AF_UNIX, SOCK_DGRAM, 0),
      C = socket(AF_UNIX, SOCK_DGRAM, 0);
  bind(A, (struct sockaddr *)&a, al);
  bind(B, (struct sockaddr *)&b, bl);
  bind(C, (struct sockaddr *)&c, cl);
  R("A sendto B", sendto(A, "one", 3, 0, (struct sockaddr *)&b, bl));
  R("C sendto B", sendto(C, "three", 5, 0, (struct sockaddr *)&b, bl));
  char buf[16];
  struct sockaddr_un from;
  for (int i = 0; i < 2; i++) {
    socklen_t fl = sizeof(from);
    memset(buf, 0, sizeof buf);
    long n = recvfrom(B, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    printf("B got %ld %s from len %d %s\n", n, buf, (int)fl, from.sun_path);
  }
  /* Peek keeps the sender for the next receive. */
  sendto(A, "pk", 2, 0, (struct sockaddr *)&b, bl);
  socklen_t fl = sizeof(from);
  recvfrom(B, buf, sizeof buf, MSG_PEEK, (struct sockaddr *)&from, &fl);
  printf("peek from %s\n", from.sun_path);
  fl = 3; /* a short buffer: cut, the full length told */
  recvfrom(B, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
  printf("short name buffer: len %d\n", (int)fl);
  /* B connects to A: C may no longer send to B. */
  OK("B connect A", connect(B, (struct sockaddr *)&a, al));
  names("B", B);
  R("C sendto B now", sendto(C, "x", 1, 0, (struct sockaddr *)&b, bl));
  R("A sendto B still", sendto(A, "y", 1, 0, (struct sockaddr *)&b, bl));
  R("B send to its peer", send(B, "back", 4, 0));
  fl = sizeof(from);
  memset(buf, 0, sizeof buf);
  R("A recvfrom",
    recvfrom(A, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
  printf("A got %s from %s\n", buf, from.sun_path);
  struct sockaddr_un un = {.sun_family = AF_UNSPEC};
  OK("B disconnect", connect(B, (struct sockaddr *)&un, sizeof(un)));
  R("B getpeername after disconnect",
    getpeername(B, (struct sockaddr *)&from, &fl));
  R("C sendto B again", sendto(C, "z", 1, 0, (struct sockaddr *)&b, bl));
  R("sendto missing",
    sendto(C, "z", 1, 0,
           (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "nope"},
           mkaddr(&from, "nope")));
  int S = socket(AF_UNIX, SOCK_STREAM, 0);
  R("stream sendto unconnected",
    sendto(S, "z", 1, MSG_NOSIGNAL, (struct sockaddr *)&a, al));
  close(S);
  /* The receiver goes: ECONNREFUSED, then ENOTCONN. */
  OK("C connect A", connect(C, (struct sockaddr *)&a, al));
  close(A);
  R("C send to closed A", send(C, "q", 1, 0));
  R("C send again", send(C, "q", 1, 0));
  close(B);
  close(C);
  unlink("da");
  unlink("db");
  unlink("dc");
}

/* A full backlog: a non-blocking connect is EAGAIN. */
static void backlog(void) {
  struct sockaddr_un a;
  socklen_t al = mkaddr(&a, "bl");
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  bind(l, (struct sockaddr *)&a, al);
  listen(l, 1);
  int n = 0, err = 0;
  for (int i = 0; i < 8; i++) {
    int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (connect(c, (struct sockaddr *)&a, al) == 0) {
      n++;
    } else {
      err = errno;
      close(c);
      break;
    }
  }
  printf("backlog 1: %d connects, then %s\n", n, errname(err));
  /* A queued client sees ECONNRESET when the listener closes. */
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  listen(l, 8);
  OK("connect after a bigger backlog", connect(c, (struct sockaddr *)&a, al));
  R("send before the reset", send(c, "lost", 4, 0));
  close(l);
  char buf[8];
  R("read after listener close", read(c, buf, sizeof buf));
  R("read again", read(c, buf, sizeof buf));
  R("write after listener close", send(c, "x", 1, MSG_NOSIGNAL));
  close(c);
  unlink("bl");
}

/* EACCES: connecting needs write permission on the socket file. */
static void permission(void) {
  struct sockaddr_un a;
  socklen_t al = mkaddr(&a, "perm");
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  bind(l, (struct sockaddr *)&a, al);
  listen(l, 4);
  chmod("perm", 0755);
  chmod(".", 0755);
  pid_t pid = fork();
  if (pid == 0) {
    if (setgid(65534) < 0 || setuid(65534) < 0)
      _exit(3);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    int r = connect(c, (struct sockaddr *)&a, al);
    _exit(r < 0 && errno == EACCES ? 0 : 1);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("connect as another user to 0755: EACCES %d\n",
         WIFEXITED(st) && WEXITSTATUS(st) == 0);
  close(l);
  unlink("perm");
}

/* Across fork: the parent blocks in accept (or poll, or epoll) and the
 * child's connect wakes it; the exchange uses handshakes only. */
static void across_fork(void) {
  struct sockaddr_un a;
  socklen_t al = mkaddr(&a, "xf");
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  bind(l, (struct sockaddr *)&a, al);
  listen(l, 4);
  for (int round = 0; round < 3; round++) {
    pid_t pid = fork();
    if (pid == 0) {
      int c = socket(AF_UNIX, SOCK_STREAM, 0);
      if (connect(c, (struct sockaddr *)&a, al) < 0)
        _exit(1);
      char buf[32];
      long n = read(c, buf, sizeof buf);
      if (n <= 0)
        _exit(2);
      for (long i = 0; i < n; i++)
        buf[i] = (char)(buf[i] - 32);
      write(c, buf, (size_t)n);
      struct ucred cr;
      socklen_t crl = sizeof(cr);
      getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &crl);
      _exit(cr.pid == getppid() ? 0 : 4);
    }
    if (round == 1) {
      struct pollfd p = {l, POLLIN, 0};
      R("poll waits for the child's connect", poll(&p, 1, -1));
    } else if (round == 2) {
      int ep = epoll_create1(0);
      struct epoll_event ev = {.events = EPOLLIN}, out;
      epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
      R("epoll waits for the child's connect", epoll_wait(ep, &out, 1, -1));
      close(ep);
    }
    int s = accept(l, NULL, NULL);
    struct ucred cr;
    socklen_t crl = sizeof(cr);
    getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &crl);
    printf("round %d: peer is the child %d\n", round, cr.pid == pid);
    write(s, "ping", 4);
    char buf[8] = {0};
    R("reply", read(s, buf, 4));
    printf("reply %s\n", buf);
    int st;
    waitpid(pid, &st, 0);
    printf("child status %d\n", WEXITSTATUS(st));
    close(s);
  }
  close(l);
  unlink("xf");
}

/* Many processes connect at once, each exchanging data. */
static void stress(void) {
  enum { N = 24, ROUNDS = 20 };
  struct sockaddr_un a;
  socklen_t al = mkabs(&a, "moat-stress");
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  bind(l, (struct sockaddr *)&a, al);
  listen(l, 2);
  pid_t pids[N];
  for (int i = 0; i < N; i++) {
    pids[i] = fork();
    if (pids[i] == 0) {
      int c = socket(AF_UNIX, SOCK_STREAM, 0);
      if (connect(c, (struct sockaddr *)&a, al) < 0)
        _exit(1);
      for (int r = 0; r < ROUNDS; r++) {
        int v = i * 1000 + r, back;
        if (write(c, &v, sizeof v) != sizeof v)
          _exit(2);
        if (read(c, &back, sizeof back) != sizeof back || back != v + 1)
          _exit(3);
      }
      _exit(0);
    }
  }
  int ok = 0;
  for (int i = 0; i < N; i++) {
    int s = accept(l, NULL, NULL);
    if (s < 0)
      break;
    pid_t srv = fork();
    if (srv == 0) {
      int v;
      while (read(s, &v, sizeof v) == sizeof v) {
        v++;
        write(s, &v, sizeof v);
      }
      _exit(0);
    }
    close(s);
  }
  for (int i = 0; i < N; i++) {
    int st;
    waitpid(pids[i], &st, 0);
    ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
  }
  while (wait(NULL) > 0)
    ;
  printf("stress: %d of %d clients exchanged %d messages\n", ok, N, ROUNDS);
  close(l);
}

/* Bad pointers and lengths: the errno, never a crash. */
static void bad_input(void) {
  struct sockaddr_un a;
  socklen_t al = mkaddr(&a, "bad");
  int l = socket(AF_UNIX, SOCK_DGRAM, 0);
  void *bad = (void *)16;
  R("bind bad pointer", bind(l, bad, al));
  R("bind length 200", bind(l, (struct sockaddr *)&a, 200));
  R("bind length -1", bind(l, (struct sockaddr *)&a, (socklen_t)-1));
  R("connect bad pointer", connect(l, bad, al));
  R("sendto bad address", sendto(l, "x", 1, 0, bad, al));
  R("sendto bad buffer", sendto(l, bad, 1, 0, (struct sockaddr *)&a, al));
  OK("bind", bind(l, (struct sockaddr *)&a, al));
  R("getsockname bad address", getsockname(l, bad, &al));
  R("getsockname bad length", getsockname(l, (struct sockaddr *)&a, bad));
  socklen_t neg = (socklen_t)-1;
  R("getsockname negative length", getsockname(l, (struct sockaddr *)&a, &neg));
  sendto(l, "y", 1, 0, (struct sockaddr *)&a, al);
  char c;
  R("recvfrom bad length pointer",
    recvfrom(l, &c, 1, 0, (struct sockaddr *)&a, bad));
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un b;
  socklen_t bl = mkaddr(&b, "badl");
  bind(s, (struct sockaddr *)&b, bl);
  listen(s, 1);
  int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
  connect(c2, (struct sockaddr *)&b, bl);
  R("accept bad length pointer", accept(s, (struct sockaddr *)&a, bad));
  R("the connection was dropped", read(c2, &c, 1));
  close(c2);
  close(s);
  close(l);
  unlink("bad");
  unlink("badl");
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGPIPE, SIG_IGN);
  enter_workdir("unix_named");
  creation();
  paths();
  abstract_and_autobind();
  dgram_addressing();
  backlog();
  permission();
  across_fork();
  bad_input();
  stress();
  return 0;
}
