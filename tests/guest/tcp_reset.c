/* TCP's end of a connection as tcp(7) and the kernel describe it,
 * natively and inside moat with the same output: a write to a peer that
 * closed succeeds once (the peer answers with a reset), the next is
 * EPIPE and SIGPIPE (not with MSG_NOSIGNAL); a close with unread data,
 * or with SO_LINGER {1, 0}, resets the connection: the peer reads what
 * was sent before, then ECONNRESET, then end of file, and polls
 * POLLERR|POLLHUP; a reset peer's write is ECONNRESET once, then EPIPE.
 * Each step waits for the reset to arrive with poll (POLLERR and POLLHUP
 * are reported without being asked for), never for a time. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "guest.h"

static volatile sig_atomic_t g_sigpipes;

static void on_sigpipe(int sig) {
  (void)sig;
  g_sigpipes++;
}

/* A connected pair over 127.0.0.1 (or ::1): *c the connector, *a the
 * accepted side. */
static void tcp_pair(int family, int *c, int *a) {
  int l = socket(family, SOCK_STREAM, 0);
  struct sockaddr_storage sa;
  memset(&sa, 0, sizeof(sa));
  socklen_t len;
  if (family == AF_INET) {
    struct sockaddr_in *s = (struct sockaddr_in *)&sa;
    s->sin_family = AF_INET;
    s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(*s);
  } else {
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&sa;
    s->sin6_family = AF_INET6;
    s->sin6_addr = in6addr_loopback;
    len = sizeof(*s);
  }
  if (l < 0 || bind(l, (struct sockaddr *)&sa, len) < 0 || listen(l, 4) < 0 ||
      getsockname(l, (struct sockaddr *)&sa, &len) < 0) {
    printf("listener: %s\n", errname(errno));
    exit(2);
  }
  *c = socket(family, SOCK_STREAM, 0);
  if (*c < 0 || connect(*c, (struct sockaddr *)&sa, len) < 0) {
    printf("connect: %s\n", errname(errno));
    exit(2);
  }
  *a = accept(l, NULL, NULL);
  if (*a < 0) {
    printf("accept: %s\n", errname(errno));
    exit(2);
  }
  close(l);
}

static const char *events(short r) {
  static char buf[128];
  buf[0] = 0;
  if (r & POLLIN)
    strcat(buf, "IN ");
  if (r & POLLOUT)
    strcat(buf, "OUT ");
  if (r & POLLRDHUP)
    strcat(buf, "RDHUP ");
  if (r & POLLHUP)
    strcat(buf, "HUP ");
  if (r & POLLERR)
    strcat(buf, "ERR ");
  if (!buf[0])
    strcat(buf, "none");
  return buf;
}

static void show_poll(const char *label, int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
  int n = poll(&p, 1, 0);
  printf("%s: %d %s\n", label, n, events(p.revents));
}

/* Until fd has POLLHUP or POLLERR (a reset arrived). */
static void wait_hup(const char *label, int fd) {
  struct pollfd p = {fd, 0, 0};
  int n = poll(&p, 1, 10000);
  printf("%s: %d %s\n", label, n, events(p.revents));
}

static int so_error(int fd) {
  int v = -1;
  socklen_t l = sizeof(v);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l) < 0)
    return -errno;
  return v;
}

static void rd(const char *label, int fd) {
  char buf[64];
  errno = 0;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  if (n < 0) {
    printf("%s: -1 %s\n", label, errname(errno));
    return;
  }
  buf[n] = 0;
  printf("%s: %zd \"%s\"\n", label, n, buf);
}

static void wr(const char *label, int fd, int flags) {
  int before = g_sigpipes;
  errno = 0;
  ssize_t n = send(fd, "ping", 4, flags);
  printf("%s: %zd %s sigpipe %d\n", label, n, n < 0 ? errname(errno) : "ok",
         g_sigpipes - before);
}

/* The peer closed normally (end of file): one write succeeds, the reset
 * it earns makes the next EPIPE. */
static void write_after_close(int family, int flags) {
  printf("-- write after the peer closed (%s, flags %s)\n",
         family == AF_INET ? "v4" : "v6", flags ? "MSG_NOSIGNAL" : "none");
  int c, a;
  tcp_pair(family, &c, &a);
  close(a);
  rd("read eof", c);
  show_poll("poll after fin", c);
  wr("first write", c, flags);
  wait_hup("reset arrived", c);
  show_poll("poll after reset", c);
  wr("second write", c, flags);
  show_poll("poll after second write", c);
  printf("so_error: %d\n", so_error(c));
  rd("read", c);
  wr("third write", c, flags);
  close(c);
}

/* Unread data (or SO_LINGER {1, 0}) at close: a reset. */
enum { READS, WRITES, SO_ERROR_FIRST };

static void close_resets(int family, int linger, int unread, int then) {
  printf("-- close with %s%s (%s), peer then %s\n",
         unread ? "unread data" : "nothing unread",
         linger ? " and SO_LINGER {1, 0}" : "", family == AF_INET ? "v4" : "v6",
         then == WRITES  ? "writes"
         : then == READS ? "reads"
                         : "SO_ERROR");
  int c, a;
  tcp_pair(family, &c, &a);
  R("a sends", write(a, "hello", 5));
  if (unread)
    R("c sends", write(c, "unread", 6));
  if (linger) {
    struct linger lg = {1, 0};
    OK("SO_LINGER", setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
  }
  /* The bytes must have reached a's queue before it closes. */
  struct pollfd p = {a, POLLIN, 0};
  if (unread)
    poll(&p, 1, 10000);
  close(a);
  wait_hup("peer sees", c);
  if (then == WRITES) {
    wr("write", c, 0);
    wr("write again", c, 0);
    rd("read", c);
    rd("read again", c);
  } else {
    if (then == SO_ERROR_FIRST)
      printf("so_error first: %d\n", so_error(c));
    rd("read", c);
    rd("read again", c);
    rd("read third", c);
    printf("so_error: %d\n", so_error(c));
    show_poll("poll", c);
    wr("write", c, MSG_NOSIGNAL);
  }
  close(c);
}

/* A blocked reader in another process is woken by the reset. */
static void reset_wakes_reader(void) {
  printf("-- a reset wakes a reader in another process\n");
  int c, a;
  tcp_pair(AF_INET, &c, &a);
  R("c sends", write(c, "x", 1));
  struct pollfd p = {a, POLLIN, 0};
  poll(&p, 1, 10000);
  pid_t pid = fork();
  if (pid == 0) {
    close(a);
    char b;
    errno = 0;
    ssize_t n = read(c, &b, 1);
    printf("child read: %zd %s\n", n, n < 0 ? errname(errno) : "");
    fflush(stdout);
    _exit(0);
  }
  close(c);
  wait_sleeping(pid);
  close(a);
  int st;
  waitpid(pid, &st, 0);
  printf("child exit: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* A half-close: shutdown(SHUT_WR) then close with nothing unread is a
 * normal close; the peer's data written before sits until read. */
static void shutdown_then_close(void) {
  printf("-- shutdown(SHUT_WR), peer writes, close reading it all\n");
  int c, a;
  tcp_pair(AF_INET, &c, &a);
  OK("shutdown", shutdown(a, SHUT_WR));
  rd("c reads eof", c);
  R("c writes", write(c, "late", 4));
  rd("a reads", a);
  close(a);
  rd("c read", c);
  show_poll("c poll", c);
  close(c);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGPIPE, on_sigpipe);
  write_after_close(AF_INET, 0);
  write_after_close(AF_INET6, MSG_NOSIGNAL);
  close_resets(AF_INET, 0, 1, READS);
  close_resets(AF_INET6, 0, 1, WRITES);
  close_resets(AF_INET6, 0, 1, SO_ERROR_FIRST);
  close_resets(AF_INET, 1, 0, READS);
  close_resets(AF_INET, 1, 0, WRITES);
  reset_wakes_reader();
  shutdown_then_close();
  return 0;
}
