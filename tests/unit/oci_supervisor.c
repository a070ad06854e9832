/* The OCI supervisor's loop (cmd/moat/supervisor.c) attacked from both of
 * its sides, on the host, under ASan and UBSan.
 *
 * Each scenario starts a supervisor: a forked process that runs
 * control_supervise(child, lsock, ctl) over a listening socket made with
 * control_listen and one end of a SOCK_SEQPACKET socketpair; its child is
 * a process of its own that only waits (it stands for the sandbox's host
 * process, which control_supervise serves until it ends). This program
 * holds the other end of the pair, so it plays the sandbox's exec server
 * (cmd/moat/execd.c) as a guest that took over the library OS would, and
 * connects to the socket as `moat exec` and `moat kill` do.
 *
 * What it checks (docs/oci.md, "exec and signals"; cmd/moat/control.h):
 * the ordinary exchange; records from the sandbox of every malformed kind
 * reach no client; descriptors from the sandbox are never installed in
 * the supervisor; a client gone before its process ended has it killed;
 * kill requests; a sandbox that never reads, or that floods, blocks
 * nothing; the channel's end ends the clients still waiting. Each check
 * prints one line; the status is 0 only when every check passed. Where a
 * check looks for nothing, a positive control shows it would see
 * something. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "supervisor.h"

#define SHORT_MS 200 /* long enough for a record that would come */
#define LONG_MS 2000 /* for one that must come */
#define MAX_FDS 16

static int g_fails;
static char g_why[1024];

static void why(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_why, sizeof(g_why), fmt, ap);
  va_end(ap);
}

static void check(bool ok, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%s ", ok ? "ok  " : "FAIL");
  vprintf(fmt, ap);
  va_end(ap);
  if (!ok) {
    printf(": %s", g_why[0] ? g_why : "(no detail)");
    g_fails++;
  }
  printf("\n");
  fflush(stdout);
  g_why[0] = 0;
}

static long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) < 0 && errno == EINTR)
    ;
}

/* ---- records ---------------------------------------------------------- */

struct rec {
  ssize_t n; /* > 0: its bytes; 0: the connection's end; -1: nothing in
              * the time; -2: an error */
  int flags;
  int nfds;
  int fds[MAX_FDS];
  union {
    struct ctl_head h;
    char bytes[CTL_MAX_RECORD + 8192];
  } u;
};

static struct rec g_r;

static void drop_fds(struct rec *r) {
  for (int i = 0; i < r->nfds; i++)
    close(r->fds[i]);
  r->nfds = 0;
}

/* The next record on fd within ms. */
static ssize_t get(int fd, int ms, struct rec *r) {
  r->nfds = 0;
  r->flags = 0;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int k = poll(&p, 1, ms);
  if (k <= 0)
    return r->n = k == 0 ? -1 : -2;
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
  } cm;
  memset(&cm, 0, sizeof(cm));
  struct iovec iov = {r->u.bytes, sizeof(r->u.bytes)};
  struct msghdr m = {.msg_iov = &iov,
                     .msg_iovlen = 1,
                     .msg_control = cm.buf,
                     .msg_controllen = sizeof(cm.buf)};
  ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0)
    return r->n = errno == ECONNRESET || errno == EPIPE ? 0
                  : errno == EAGAIN                     ? -1
                                                        : -2;
  r->flags = m.msg_flags;
  for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
    if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
      size_t k2 = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < k2 && r->nfds < MAX_FDS; i++)
        memcpy(&r->fds[r->nfds++], CMSG_DATA(h) + i * sizeof(int), sizeof(int));
    }
  return r->n = n;
}

static const char *desc(const struct rec *r) {
  static char s[128];
  if (r->n == 0)
    return "the connection's end";
  if (r->n == -1)
    return "nothing";
  if (r->n == -2)
    return "an error";
  if ((size_t)r->n < sizeof(r->u.h)) {
    snprintf(s, sizeof(s), "a record of %zd bytes", r->n);
    return s;
  }
  snprintf(s, sizeof(s), "{type %u, id %u, a %d} (%zd bytes, %d fds)",
           r->u.h.type, r->u.h.id, r->u.h.a, r->n, r->nfds);
  return s;
}

/* Nothing on fd for ms (who: for the reason). */
static bool nothing(int fd, int ms, const char *who) {
  if (get(fd, ms, &g_r) == -1)
    return true;
  why("%s received %s", who, desc(&g_r));
  drop_fds(&g_r);
  return false;
}

/* The next record on fd is {type, id, a} with no descriptors. */
static bool expect(int fd, uint32_t type, uint32_t id, int32_t a,
                   const char *who) {
  get(fd, LONG_MS, &g_r);
  bool ok = g_r.n >= (ssize_t)sizeof(g_r.u.h) && g_r.u.h.type == type &&
            g_r.u.h.id == id && g_r.u.h.a == a && g_r.nfds == 0;
  if (!ok)
    why("%s: want {type %u, id %u, a %d}, received %s", who, type, id, a,
        desc(&g_r));
  drop_fds(&g_r);
  return ok;
}

/* fd sees its end within ms. */
static bool ends(int fd, int ms, const char *who) {
  long t = now_ms() + ms;
  for (;;) {
    int left = (int)(t - now_ms());
    get(fd, left > 0 ? left : 0, &g_r);
    if (g_r.n == 0)
      return true;
    if (g_r.n < 0) {
      why("%s: no end within %d ms (%s)", who, ms, desc(&g_r));
      return false;
    }
    drop_fds(&g_r); /* a record first: go on */
  }
}

static ssize_t send_rec(int fd, const void *buf, size_t len, const int *fds,
                        int nfds, int flags) {
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
  } cm;
  memset(&cm, 0, sizeof(cm));
  struct iovec iov = {(void *)buf, len};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  if (nfds > 0) {
    m.msg_control = cm.buf;
    m.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
  }
  return sendmsg(fd, &m, MSG_NOSIGNAL | flags);
}

static bool head(int fd, uint32_t type, uint32_t id, int32_t a) {
  struct ctl_head h = {type, id, a, 0};
  return send_rec(fd, &h, sizeof(h), NULL, 0, 0) == (ssize_t)sizeof(h);
}

/* ---- a supervisor ------------------------------------------------------ */

struct sup {
  const char *name;
  pid_t pid;   /* the supervisor's process */
  pid_t child; /* its child, whose end ends it */
  int sb;      /* the sandbox's end of the channel (-1: closed) */
  int bc;      /* a client kept for barriers */
  char dir[64];
  char path[128];
};

static int g_stdio[3]; /* the exec's standard streams, as a client's */

static void close_from(int low, const int *keep, int nkeep) {
  for (int fd = low; fd < 1024; fd++) {
    bool k = false;
    for (int i = 0; i < nkeep; i++)
      k = k || keep[i] == fd;
    if (!k)
      close(fd);
  }
}

static int cli(struct sup *s);

static bool sup_start(struct sup *s, const char *name) {
  memset(s, 0, sizeof(*s));
  s->name = name;
  s->sb = s->bc = -1;
  strcpy(s->dir, "/tmp/moat-oci-sup-XXXXXX");
  if (!mkdtemp(s->dir)) {
    why("mkdtemp: %s", strerror(errno));
    return false;
  }
  snprintf(s->path, sizeof(s->path), "%s/ctl.sock", s->dir);
  char err[256];
  int lsock = control_listen(s->path, err, sizeof(err));
  if (lsock < 0) {
    why("control_listen: %s", err);
    return false;
  }
  int ch[2], pp[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ch) < 0 ||
      pipe2(pp, O_CLOEXEC) < 0) {
    why("socketpair/pipe: %s", strerror(errno));
    return false;
  }
  fflush(NULL);
  s->pid = fork();
  if (s->pid == 0) {
    /* The supervisor: only its own descriptors (an end of another
     * scenario's channel kept here would hide its close). */
    int keep[] = {lsock, ch[0], pp[1]};
    close_from(3, keep, 3);
    if (control_catch(0) < 0)
      _exit(4);
    pid_t child = fork();
    if (child == 0) {
      control_child_reset(0);
      close_from(3, NULL, 0);
      for (;;)
        pause();
    }
    if (write(pp[1], &child, sizeof(child)) != sizeof(child) || child < 0)
      _exit(5);
    close(pp[1]);
    control_supervise(child, lsock, ch[0]);
    int st;
    if (waitpid(child, &st, 0) != child)
      _exit(6);
    /* 0: the child was killed with SIGKILL, as every scenario ends it */
    exit(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? 0 : 7);
  }
  close(lsock);
  close(ch[0]);
  close(pp[1]);
  s->sb = ch[1];
  if (s->pid < 0 ||
      read(pp[0], &s->child, sizeof(s->child)) != sizeof(s->child) ||
      s->child <= 0) {
    why("the supervisor did not start");
    close(pp[0]);
    return false;
  }
  close(pp[0]);
  s->bc = cli(s);
  return s->bc >= 0;
}

static bool alive(struct sup *s) {
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  if (waitid(P_PID, (id_t)s->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
      si.si_pid == s->pid) {
    why("the supervisor is gone");
    return false;
  }
  return true;
}

/* The supervisor's end within ms: its exit status, or -1. */
static int sup_wait(struct sup *s, int ms) {
  long t = now_ms() + ms;
  do {
    int st;
    pid_t r = waitpid(s->pid, &st, WNOHANG);
    if (r == s->pid) {
      s->pid = 0;
      return st;
    }
    if (r < 0)
      return -1;
    sleep_ms(5);
  } while (now_ms() < t);
  return -1;
}

static void sup_cleanup(struct sup *s) {
  if (s->pid > 0) {
    kill(s->child, SIGKILL);
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
  }
  if (s->sb >= 0)
    close(s->sb);
  if (s->bc >= 0)
    close(s->bc);
  s->sb = s->bc = -1;
  unlink(s->path);
  rmdir(s->dir);
}

/* The end of a scenario: its child killed (by this program unless
 * already), the supervisor returns from control_supervise and exits 0
 * (no sanitizer report, no crash). */
static void sup_stop(struct sup *s, bool kill_child) {
  if (kill_child)
    kill(s->child, SIGKILL);
  int st = sup_wait(s, 5000);
  if (st < 0)
    why("still running 5 s after its child was killed");
  else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    why("status %#x (a crash or a sanitizer report: see above)", st);
  check(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "%s: the supervisor returns when its child ends, and exits cleanly",
        s->name);
  sup_cleanup(s);
}

static int fd_count(pid_t pid) {
  char p[64];
  snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
  DIR *d = opendir(p);
  if (!d)
    return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* The supervisor's fd count once it is want (within ms), or the last. */
static int fd_settle(struct sup *s, int want, int ms) {
  long t = now_ms() + ms;
  int n;
  while ((n = fd_count(s->pid)) != want && now_ms() < t)
    sleep_ms(5);
  return n;
}

/* Clock ticks the supervisor used. */
static long cpu_ticks(pid_t pid) {
  char p[64], buf[1024];
  snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
  FILE *f = fopen(p, "r");
  if (!f)
    return -1;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = 0;
  char *c = strrchr(buf, ')');
  unsigned long ut, st;
  if (!c || sscanf(c + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                   &ut, &st) != 2)
    return -1;
  return (long)(ut + st);
}

/* The supervisor idles (a loop that spins would use the CPU). */
static bool idles(struct sup *s) {
  long a = cpu_ticks(s->pid);
  sleep_ms(500);
  long b = cpu_ticks(s->pid);
  if (a < 0 || b < 0 || b - a > 10) {
    why("it used %ld clock ticks in 0.5 s", b - a);
    return false;
  }
  return true;
}

/* ---- clients ----------------------------------------------------------- */

static int cli(struct sup *s) {
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, s->path);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    why("connect: %s", strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

static char g_req[CTL_MAX_RECORD + 8192];

/* An exec request as `moat exec` makes it (id: what the client puts
 * there, which the supervisor replaces). */
static size_t exec_req(uint32_t id) {
  static const char words[] = "/\0true\0PATH=/bin";
  struct ctl_exec *e = (struct ctl_exec *)(void *)g_req;
  memset(e, 0, sizeof(*e));
  e->h.type = CTL_EXEC;
  e->h.id = id;
  e->uid = e->gid = 1000;
  e->argc = e->envc = 1;
  memcpy(g_req + sizeof(*e), words, sizeof(words));
  return sizeof(*e) + sizeof(words);
}

static bool send_exec(int fd, int nfds) {
  int fds[MAX_FDS];
  for (int i = 0; i < nfds; i++)
    fds[i] = g_stdio[i % 3];
  size_t len = exec_req(0);
  return send_rec(fd, g_req, len, fds, nfds, 0) == (ssize_t)len;
}

/* The exec request the sandbox receives: its id (0: not one). */
static uint32_t sb_exec(struct sup *s) {
  get(s->sb, LONG_MS, &g_r);
  uint32_t id =
      g_r.n > 0 && g_r.u.h.type == CTL_EXEC && g_r.nfds == 3 ? g_r.u.h.id : 0;
  if (!id)
    why("the sandbox received %s, not an exec request", desc(&g_r));
  drop_fds(&g_r);
  return id;
}

/* A client whose exec the sandbox received (and started, with start):
 * its fd, its id in *id; -1 with why. */
static int exec_client(struct sup *s, bool start, uint32_t *id) {
  int fd = cli(s);
  if (fd < 0)
    return -1;
  if (!send_exec(fd, 3) || !(*id = sb_exec(s)) ||
      (start && (!head(s->sb, CTL_START, *id, 1000 + (int32_t)*id) ||
                 !expect(fd, CTL_START, *id, 1000 + (int32_t)*id, "client")))) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Everything the supervisor had from the sandbox before now is done: the
 * barrier client's kill request goes through the loop, and its record to
 * the sandbox comes after any it sent before. */
static bool barrier(struct sup *s) {
  return head(s->bc, CTL_KILL, 0, SIGWINCH) &&
         expect(s->bc, CTL_EXIT, 0, 0, "barrier client") &&
         expect(s->sb, CTL_SIGNAL, 0, SIGWINCH, "sandbox (barrier)");
}

/* ---- scenarios ---------------------------------------------------------- */

/* (1) the ordinary exchange; the messages of errors. */
static void round_trip(struct sup *s, int *base) {
  barrier(s); /* the barrier client is in */
  *base = fd_count(s->pid);
  int a = cli(s);
  size_t len = exec_req(0xdeadbeef);
  bool sent = a >= 0 && send_rec(a, g_req, len, g_stdio, 3, 0) == (ssize_t)len;
  get(s->sb, LONG_MS, &g_r);
  bool ok = sent && g_r.n == (ssize_t)len && g_r.u.h.type == CTL_EXEC &&
            g_r.u.h.id != 0 && g_r.u.h.id != 0xdeadbeef && g_r.nfds == 3 &&
            !memcmp(g_r.u.bytes + 8, g_req + 8, len - 8);
  for (int i = 0; ok && i < 3; i++) {
    struct stat x, y;
    ok = !fstat(g_r.fds[i], &x) && !fstat(g_stdio[i], &y) &&
         x.st_dev == y.st_dev && x.st_ino == y.st_ino;
  }
  uint32_t id = g_r.n > 0 ? g_r.u.h.id : 0;
  if (!ok)
    why("the sandbox received %s", desc(&g_r));
  drop_fds(&g_r);
  check(ok,
        "exec: the sandbox receives the request whole, with the "
        "supervisor's id (%u, not the client's) and the client's 3 fds",
        id);

  check(head(s->sb, CTL_START, id, 4242) &&
            expect(a, CTL_START, id, 4242, "client"),
        "exec: CTL_START {id, 4242} from the sandbox reaches its client");
  check(head(s->sb, CTL_EXIT, id, 0x100) &&
            expect(a, CTL_EXIT, id, 0x100, "client"),
        "exec: CTL_EXIT {id, 0x100} from the sandbox reaches its client");
  check(head(s->sb, CTL_EXIT, id, 5) && head(s->sb, CTL_START, id, 6) &&
            nothing(a, SHORT_MS, "the ended client"),
        "exec: after its end, records with its id reach that client no more");
  check(barrier(s) && fd_settle(s, *base + 1, LONG_MS) == *base + 1,
        "fd count: the client's connection shows (+1, a positive control), "
        "the 3 fds passed on are not kept (%d -> %d)",
        *base, fd_count(s->pid));

  /* error messages: text, control characters as '?', at most 256 bytes */
  uint32_t idb;
  int b = exec_client(s, false, &idb);
  static const char bin[] = "no\001such\tfile\177\377\0zz";
  char want[] = "no?such?file?\377?zz";
  struct {
    struct ctl_head h;
    char msg[sizeof(bin)];
  } e = {{CTL_ERROR, idb, ENOENT, 0}, {0}};
  memcpy(e.msg, bin, sizeof(bin) - 1); /* no NUL of its own at the end */
  size_t elen = sizeof(e.h) + sizeof(bin) - 1;
  ok = b >= 0 && send_rec(s->sb, &e, elen, NULL, 0, 0) == (ssize_t)elen &&
       get(b, LONG_MS, &g_r) > 0 && g_r.u.h.type == CTL_ERROR &&
       g_r.u.h.id == idb && g_r.u.h.a == ENOENT &&
       g_r.n == (ssize_t)(sizeof(g_r.u.h) + strlen(want)) &&
       !memcmp(g_r.u.bytes + sizeof(g_r.u.h), want, strlen(want));
  if (!ok && b >= 0)
    why("the client received %s", desc(&g_r));
  check(ok, "CTL_ERROR with a binary message: the client's text has its "
            "control characters and NUL as '?'");

  uint32_t idc;
  int c = exec_client(s, false, &idc);
  check(c >= 0 && head(s->sb, CTL_ERROR, idc, EACCES) &&
            expect(c, CTL_ERROR, idc, EACCES, "client") &&
            g_r.n == sizeof(struct ctl_head),
        "CTL_ERROR with no message: the client receives the head alone");

  uint32_t idd;
  int d = exec_client(s, false, &idd);
  static char big[70000];
  struct ctl_head *bh = (struct ctl_head *)(void *)big;
  for (size_t i = 0; i < sizeof(big); i++)
    big[i] = (char)(i * 7);
  *bh = (struct ctl_head){CTL_ERROR, idd, EIO, 0};
  ok = d >= 0 &&
       send_rec(s->sb, big, sizeof(big), NULL, 0, 0) == (ssize_t)sizeof(big);
  ok = ok && get(d, LONG_MS, &g_r) > 0 && g_r.u.h.type == CTL_ERROR &&
       g_r.u.h.id == idd && g_r.u.h.a == EIO &&
       g_r.n > (ssize_t)sizeof(g_r.u.h) &&
       g_r.n <= (ssize_t)(sizeof(g_r.u.h) + 256);
  for (ssize_t i = sizeof(g_r.u.h); ok && i < g_r.n; i++)
    ok = (unsigned char)g_r.u.bytes[i] >= 0x20 && g_r.u.bytes[i] != 0x7f;
  if (!ok && d >= 0)
    why("the client received %s", desc(&g_r));
  check(ok, "CTL_ERROR of 70000 bytes: the client's message is at most 256 "
            "bytes of text");
  /* ended clients that leave: the sandbox is told nothing */
  for (int *fd = (int[]){a, b, c, d, -2}; *fd != -2; fd++)
    if (*fd >= 0)
      close(*fd);
  check(nothing(s->sb, SHORT_MS, "the sandbox"),
        "ended clients that leave: nothing to the sandbox");
}

/* (2), (3) records from the sandbox of every malformed kind. */
static void forged(struct sup *s, int base) {
  uint32_t ide;
  int e = exec_client(s, true, &ide);
  /* positive control of the check that a client received nothing */
  check(e >= 0 && head(s->sb, CTL_START, ide, 7) &&
            !nothing(e, SHORT_MS, "client"),
        "positive control: the check for nothing sees a valid record");
  g_why[0] = 0;

  /* ended client, still connected */
  uint32_t ida;
  int a = exec_client(s, true, &ida);
  check(a >= 0 && head(s->sb, CTL_EXIT, ida, 0) &&
            expect(a, CTL_EXIT, ida, 0, "client"),
        "an ended client, still connected");
  /* requests the supervisor refuses: its CTL_ERROR names the id */
  int r[4];
  uint32_t idr[4] = {0};
  int nfds[4] = {0, 1, 2, 4};
  bool ok = true;
  for (int i = 0; i < 4; i++) {
    r[i] = cli(s);
    ok = ok && r[i] >= 0 && send_exec(r[i], nfds[i]) &&
         get(r[i], LONG_MS, &g_r) > 0 && g_r.u.h.type == CTL_ERROR &&
         g_r.u.h.a == EINVAL && g_r.nfds == 0;
    if (!ok && !g_why[0])
      why("with %d fds the client received %s", nfds[i], desc(&g_r));
    idr[i] = ok ? g_r.u.h.id : 0;
    drop_fds(&g_r);
  }
  check(ok && nothing(s->sb, SHORT_MS, "the sandbox"),
        "exec requests with 0, 1, 2 and 4 fds: CTL_ERROR EINVAL to the "
        "client, nothing to the sandbox");
  /* more than the supervisor takes (cut: dropped), and too long */
  int r5 = cli(s);
  exec_req(0);
  ok = r5 >= 0 && send_exec(r5, 5) && nothing(r5, SHORT_MS, "the client") &&
       nothing(s->sb, 10, "the sandbox");
  int fds3[3] = {g_stdio[0], g_stdio[1], g_stdio[2]};
  ok = ok && send_rec(r5, g_req, 70000, fds3, 3, 0) == 70000 &&
       send_rec(r5, g_req, 3, fds3, 3, 0) == 3 &&
       nothing(r5, SHORT_MS, "the client") && nothing(s->sb, 10, "the sandbox");
  check(ok, "exec requests with 5 fds, of 70000 bytes, of 3 bytes: "
            "nothing to the sandbox");
  check(barrier(s) && fd_settle(s, base + 7, LONG_MS) == base + 7,
        "fd count: the refused requests' fds are not kept (%d, want %d: 7 "
        "more clients)",
        fd_count(s->pid), base + 7);

  int before = fd_count(s->pid);
  uint32_t last = ide;
  for (int i = 0; i < 4; i++)
    last = idr[i] > last ? idr[i] : last;
  last = ida > last ? ida : last;

  /* the forged records */
  struct ctl_head fh[] = {
      {0, ide, 1, 0},
      {7, ide, 1, 0},
      {99, ide, 1, 0},
      {0xffffffff, ide, 1, 0},
      {CTL_EXEC, ide, 1, 0},
      {CTL_SIGNAL, ide, 9, 0},
      {CTL_KILL, ide, 9, 0},
      {CTL_START, 0, 1, 0},
      {CTL_ERROR, 0, 1, 0},
      {CTL_EXIT, 0, 1, 0},
      {CTL_START, ide + 1000, 1, 0},
      {CTL_EXIT, 0xffffffff, 1, 0},
      {CTL_EXIT, ida, 1, 0},
      {CTL_START, idr[0], 1, 0},
      {CTL_ERROR, idr[1], 1, 0},
      {CTL_EXIT, idr[3], 1, 0},
      {CTL_START, last + 1, 1, 0}, /* ids not given yet */
      {CTL_EXIT, last + 1, 1, 0},
      {CTL_ERROR, last + 2, 1, 0},
  };
  int nf = (int)(sizeof(fh) / sizeof(fh[0]));
  ok = true;
  for (int i = 0; i < nf; i++)
    ok = ok && send_rec(s->sb, &fh[i], sizeof(fh[i]), NULL, 0, 0) ==
                   (ssize_t)sizeof(fh[i]);
  struct ctl_head sh = {CTL_EXIT, ide, 1, 0};
  for (size_t k = 1; k < sizeof(sh); k++) /* short */
    ok = ok && send_rec(s->sb, &sh, k, NULL, 0, 0) == (ssize_t)k;
  static char big[70000];
  memset(big, 0xff, sizeof(big));
  *(struct ctl_head *)(void *)big = (struct ctl_head){99, ide, 1, 0};
  ok = ok &&
       send_rec(s->sb, big, sizeof(big), NULL, 0, 0) == (ssize_t)sizeof(big);
  *(struct ctl_head *)(void *)big = (struct ctl_head){CTL_EXIT, 0, 1, 0};
  ok = ok &&
       send_rec(s->sb, big, sizeof(big), NULL, 0, 0) == (ssize_t)sizeof(big);
  /* with descriptors */
  int fdsx[MAX_FDS];
  for (int i = 0; i < MAX_FDS; i++)
    fdsx[i] = g_stdio[i % 3];
  ok = ok && send_rec(s->sb, &fh[2], sizeof(fh[2]), fdsx, 1, 0) > 0 &&
       send_rec(s->sb, &fh[7], sizeof(fh[7]), fdsx, 3, 0) > 0 &&
       send_rec(s->sb, &fh[10], sizeof(fh[10]), fdsx, MAX_FDS, 0) > 0 &&
       send_rec(s->sb, big, 1, fdsx, 2, 0) > 0;
  check(ok,
        "the sandbox sent %d forged heads, %d short records, two of "
        "70000 bytes, four with fds",
        nf, (int)sizeof(sh) - 1);

  /* a flood of them, as fast as the channel takes them */
  long t = now_ms() + 3000;
  int sent = 0, i = 0;
  while (sent < 20000 && now_ms() < t) {
    struct ctl_head *h = &fh[i++ % nf];
    if (send_rec(s->sb, h, sizeof(*h), (i % 97) ? NULL : fdsx, (i % 97) ? 0 : 2,
                 MSG_DONTWAIT) > 0) {
      sent++;
    } else {
      struct pollfd p = {.fd = s->sb, .events = POLLOUT};
      poll(&p, 1, 10);
    }
  }
  check(sent == 20000, "a flood of %d forged records (one in 97 with fds)",
        sent);

  /* valid records last (the first with an fd): what comes before them on
   * the channel is done */
  struct ctl_head v = {CTL_START, ide, 8, 0};
  ok = send_rec(s->sb, &v, sizeof(v), fdsx, 1, 0) == sizeof(v) &&
       head(s->sb, CTL_EXIT, ide, 9);
  ok = ok && expect(e, CTL_START, ide, 8, "the started client") &&
       expect(e, CTL_EXIT, ide, 9, "the started client");
  check(ok, "the started client receives only the valid records sent after "
            "the forged ones (and no fds)");
  ok = nothing(a, SHORT_MS, "the ended client");
  for (int k = 0; ok && k < 4; k++)
    ok = nothing(r[k], 10, "a refused client");
  ok = ok && nothing(r5, 10, "a client") && nothing(s->bc, 10, "a client");
  check(ok && alive(s), "no other client received anything; the supervisor "
                        "is alive");
  check(barrier(s) && fd_settle(s, before, LONG_MS) == before,
        "fd count: no descriptor from the sandbox is kept (%d, before %d)",
        fd_count(s->pid), before);

  /* an id the sandbox named before it was given: nothing stale */
  uint32_t idf;
  int f = exec_client(s, false, &idf);
  if (f >= 0 && idf != last + 1)
    why("its id is %u, not %u", idf, last + 1);
  check(f >= 0 && idf == last + 1 && nothing(f, SHORT_MS, "the new client"),
        "a new exec gets the id the sandbox named before (%u): nothing of "
        "that comes to it",
        idf);
  check(f >= 0 && head(s->sb, CTL_START, idf, 3) &&
            expect(f, CTL_START, idf, 3, "the new client"),
        "positive control: its own CTL_START comes");

  /* positive control of the fd count: one more connection shows */
  int g = cli(s);
  check(g >= 0 && fd_settle(s, before + 2, LONG_MS) == before + 2,
        "positive control: the fd count sees an fd the supervisor takes "
        "(%d, want %d)",
        fd_count(s->pid), before + 2);
  for (int *fd = (int[]){e, a, r[0], r[1], r[2], r[3], r5, f, g, -2}; *fd != -2;
       fd++)
    if (*fd >= 0)
      close(*fd);
  /* f was started and leaves: its process is killed */
  check(expect(s->sb, CTL_SIGNAL, idf, SIGKILL, "the sandbox") &&
            nothing(s->sb, SHORT_MS, "the sandbox"),
        "of the clients that left, only the started one's exec is killed");
  check(fd_settle(s, base, LONG_MS) == base,
        "fd count back to the start (%d, want %d)", fd_count(s->pid), base);
}

/* (4) garbage from clients; a client gone before its process ended. */
static void client_side(struct sup *s, int base) {
  uint32_t idi, ide;
  int i = exec_client(s, true, &idi);
  int other = exec_client(s, true, &ide);
  struct ctl_head h = {CTL_SIGNAL, ide, SIGINT, 0};
  check(i >= 0 && other >= 0 &&
            send_rec(i, &h, sizeof(h), NULL, 0, 0) == sizeof(h) &&
            expect(s->sb, CTL_SIGNAL, idi, SIGINT, "the sandbox"),
        "a client's CTL_SIGNAL naming another's exec goes to its own (id "
        "%u, not %u)",
        idi, ide);
  /* signal numbers out of range: the exec server drops them; whatever the
   * supervisor passes on names the client's own exec */
  int32_t bad[] = {0, 65, -1, 1000, INT32_MIN};
  int passed = 0;
  bool ok = true;
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
    ok = ok && head(i, CTL_SIGNAL, 0, bad[k]);
  while (ok && get(s->sb, SHORT_MS, &g_r) > 0) {
    passed++;
    if (g_r.u.h.type != CTL_SIGNAL || g_r.u.h.id != idi || g_r.nfds) {
      why("the sandbox received %s", desc(&g_r));
      ok = false;
    }
    drop_fds(&g_r);
  }
  check(ok,
        "CTL_SIGNAL with signal numbers out of range: only for its own "
        "exec (%d of 5 passed on, for the exec server to drop)",
        passed);

  /* a second exec request, records of no sense from a client */
  ok = send_exec(i, 3) && send_exec(other, 4);
  struct ctl_head junk[] = {{99, idi, 1, 0},        {0, 0, 0, 0},
                            {CTL_START, idi, 1, 0}, {CTL_EXIT, idi, 1, 0},
                            {CTL_ERROR, idi, 1, 0}, {0xffffffff, 0, 0, 0},
                            {CTL_KILL, 0, 0, 0},    {CTL_KILL, 0, 65, 0},
                            {CTL_KILL, 0, -9, 0},   {CTL_KILL, 0, 1000, 0}};
  for (size_t k = 0; ok && k < sizeof(junk) / sizeof(junk[0]); k++)
    ok = send_rec(i, &junk[k], sizeof(junk[k]), NULL, 0, 0) > 0;
  for (size_t k = 1; ok && k < sizeof(struct ctl_head); k++)
    ok = send_rec(i, &junk[0], k, g_stdio, k % 4, 0) > 0;
  ok = ok && nothing(s->sb, SHORT_MS, "the sandbox") &&
       nothing(i, 10, "the client") && nothing(other, 10, "the other client");
  check(ok, "a second exec request (3 and 4 fds), unknown and server-side "
            "types, kill requests out of range, short records with fds: "
            "nothing to the sandbox or the client");
  check(barrier(s) && fd_settle(s, base + 2, LONG_MS) == base + 2,
        "fd count: none of their fds kept (%d, want %d)", fd_count(s->pid),
        base + 2);
  check(head(s->sb, CTL_EXIT, idi, 0) && expect(i, CTL_EXIT, idi, 0, "client"),
        "positive control: the client is still served");
  check(head(i, CTL_SIGNAL, 0, SIGINT) &&
            nothing(s->sb, SHORT_MS, "the sandbox"),
        "CTL_SIGNAL after the exec's end: nothing to the sandbox");
  int j = cli(s);
  check(j >= 0 && head(j, CTL_SIGNAL, idi, SIGINT) &&
            nothing(s->sb, SHORT_MS, "the sandbox"),
        "CTL_SIGNAL from a client with no exec: nothing to the sandbox");
  close(i);
  close(j);
  check(nothing(s->sb, SHORT_MS, "the sandbox"),
        "an ended client leaves: nothing to the sandbox");
  close(other);
  check(expect(s->sb, CTL_SIGNAL, ide, SIGKILL, "the sandbox"),
        "a client leaves after CTL_START, before CTL_EXIT: the sandbox "
        "receives CTL_SIGNAL {id, SIGKILL}");
  uint32_t idl;
  int l = exec_client(s, false, &idl);
  if (l >= 0)
    close(l);
  check(l >= 0 && expect(s->sb, CTL_SIGNAL, idl, SIGKILL, "the sandbox"),
        "a client leaves before CTL_START (its request passed on): "
        "CTL_SIGNAL {id, SIGKILL}");
  l = cli(s);
  if (l >= 0) {
    send_exec(l, 2);
    get(l, LONG_MS, &g_r);
    close(l);
  }
  check(l >= 0 && g_r.n > 0 && g_r.u.h.type == CTL_ERROR &&
            nothing(s->sb, SHORT_MS, "the sandbox"),
        "a client whose request was refused leaves: nothing to the sandbox");
  check(fd_settle(s, base, LONG_MS) == base,
        "fd count back to the start (%d, want %d)", fd_count(s->pid), base);
}

/* (5) kill requests and signals to the supervisor; last, KILL. */
static void kills(struct sup *s) {
  int k = cli(s);
  check(k >= 0 && head(k, CTL_KILL, 0, SIGTERM) &&
            expect(k, CTL_EXIT, 0, 0, "the client") &&
            expect(s->sb, CTL_SIGNAL, 0, SIGTERM, "the sandbox"),
        "CTL_KILL {15}: the sandbox receives CTL_SIGNAL {0, 15}, the client "
        "CTL_EXIT");
  bool ok = true;
  for (int32_t sig = -1; sig <= 70; sig += 71)
    ok = ok && head(k, CTL_KILL, 0, sig);
  ok = ok && head(k, CTL_KILL, 0, 0) && head(k, CTL_KILL, 0, 65) &&
       head(k, CTL_KILL, 0, INT32_MIN);
  check(ok && nothing(s->sb, SHORT_MS, "the sandbox") &&
            nothing(k, 10, "the client"),
        "CTL_KILL {0, 65, -1, 70, INT32_MIN}: nothing to the sandbox, no "
        "answer");
  check(kill(s->pid, SIGUSR1) == 0 &&
            expect(s->sb, CTL_SIGNAL, 0, SIGUSR1, "the sandbox") &&
            kill(s->pid, SIGTERM) == 0 &&
            expect(s->sb, CTL_SIGNAL, 0, SIGTERM, "the sandbox") && alive(s),
        "signals to the supervisor go to the first process (CTL_SIGNAL "
        "{0, sig}), the supervisor lives");
  check(kill(s->child, 0) == 0, "positive control: the child is alive");
  check(head(k, CTL_KILL, 0, SIGKILL) && ends(k, LONG_MS, "the client"),
        "CTL_KILL {9}: the client's connection ends");
  pid_t child = s->child;
  sup_stop(s, false); /* checks the child died of SIGKILL */
  errno = 0;
  check(kill(child, 0) < 0 && errno == ESRCH,
        "CTL_KILL {9}: the supervisor killed its child, which is gone");
  close(k);
}

/* (6) a sandbox that never reads; clients that flood, or never read. */
static void never_reads(void) {
  struct sup s;
  if (!sup_start(&s, "never-reads")) {
    check(false, "never-reads: a supervisor");
    sup_cleanup(&s);
    return;
  }
  uint32_t idx;
  int x = exec_client(&s, true, &idx);
  int w = cli(&s);
  /* from here the sandbox reads nothing */
  long t = now_ms() + 2000;
  int sent = 0, acks = 0, tries = 0;
  struct ctl_head sig = {CTL_SIGNAL, 0, SIGUSR2, 0};
  struct ctl_head kil = {CTL_KILL, 0, SIGWINCH, 0};
  while (x >= 0 && w >= 0 && sent < 100000 && now_ms() < t) {
    if (send_rec(x, &sig, sizeof(sig), NULL, 0, MSG_DONTWAIT) > 0)
      sent++;
    else {
      struct pollfd p = {.fd = x, .events = POLLOUT};
      poll(&p, 1, 5);
    }
    if (send_rec(w, &kil, sizeof(kil), NULL, 0, MSG_DONTWAIT) > 0)
      acks++; /* never read: its answers pile up, then are dropped */
    if (++tries % 500 == 0)
      kill(s.pid, SIGUSR1);
  }
  check(x >= 0 && w >= 0 && sent > 1000,
        "never-reads: a client flooded %d CTL_SIGNAL, another %d CTL_KILL "
        "it never reads the answers of, the supervisor got %d SIGUSR1",
        sent, acks, tries / 500);
  int y = cli(&s);
  long t0 = now_ms();
  bool ok = y >= 0 && head(y, CTL_KILL, 0, SIGTERM) &&
            expect(y, CTL_EXIT, 0, 0, "a second client");
  long dt = now_ms() - t0;
  check(ok && dt < 1000,
        "never-reads: a second client's CTL_KILL is answered (in %ld ms)", dt);
  int before = fd_count(s.pid);
  int z = cli(&s);
  ok = z >= 0 && send_exec(z, 3) && get(z, LONG_MS, &g_r) > 0 &&
       g_r.u.h.type == CTL_ERROR && g_r.nfds == 0;
  if (!ok)
    why("the client received %s", desc(&g_r));
  check(ok,
        "never-reads: an exec request is refused at once (CTL_ERROR %d: the "
        "channel is full, the supervisor does not wait)",
        g_r.n > 0 ? g_r.u.h.a : 0);
  check(fd_settle(&s, before + 1, LONG_MS) == before + 1,
        "never-reads: fd count: the refused request's fds are not kept (%d, "
        "want %d)",
        fd_count(s.pid), before + 1);
  sleep_ms(100);
  check(alive(&s) && idles(&s), "never-reads: the supervisor lives and idles");
  /* the sandbox reads now: what waited is only what it may have */
  int n = 0;
  ok = true;
  while (get(s.sb, 50, &g_r) > 0) {
    n++;
    if (g_r.u.h.type != CTL_SIGNAL || (g_r.u.h.id != idx && g_r.u.h.id != 0) ||
        g_r.nfds) {
      if (ok)
        why("the sandbox received %s", desc(&g_r));
      ok = false;
    }
    drop_fds(&g_r);
  }
  check(ok,
        "never-reads: the %d records that waited for the sandbox are "
        "all CTL_SIGNAL for the exec or the first process",
        n);
  check(x >= 0 && head(s.sb, CTL_EXIT, idx, 0) &&
            expect(x, CTL_EXIT, idx, 0, "the flooding client"),
        "never-reads: positive control: the flooding client's exec still "
        "ends");
  check(y >= 0 && head(y, CTL_KILL, 0, SIGKILL) &&
            ends(y, LONG_MS, "the second client"),
        "never-reads: CTL_KILL {9} still works");
  sup_stop(&s, false);
  for (int *fd = (int[]){x, w, y, z, -2}; *fd != -2; fd++)
    if (*fd >= 0)
      close(*fd);
}

/* (7) the channel ends: clients still waiting see their end. how: 0 close,
 * 1 shutdown(SHUT_WR), 2 a record of 0 bytes. */
static void channel_ends(const char *name, int how) {
  struct sup s;
  if (!sup_start(&s, name)) {
    check(false, "%s: a supervisor", name);
    sup_cleanup(&s);
    return;
  }
  uint32_t idj, idk, idl;
  int j = exec_client(&s, true, &idj);
  int k = exec_client(&s, true, &idk);
  bool ok = k >= 0 && head(s.sb, CTL_EXIT, idk, 0) &&
            expect(k, CTL_EXIT, idk, 0, "client");
  int l = exec_client(&s, false, &idl);
  int m = cli(&s);
  check(j >= 0 && ok && l >= 0 && m >= 0 && barrier(&s),
        "%s: a started exec, an ended one, one not started, a client "
        "with none",
        name);
  int before = fd_count(s.pid);
  if (how == 0) {
    close(s.sb);
    s.sb = -1;
  } else if (how == 1) {
    shutdown(s.sb, SHUT_WR);
  } else {
    send_rec(s.sb, "", 0, NULL, 0, 0);
  }
  bool closed = true;
  if (how < 2) {
    check(ends(j, LONG_MS, "the started client") &&
              ends(l, LONG_MS, "the client not started"),
          "%s: the clients whose exec had not ended see their end", name);
  } else {
    /* A record of 0 bytes reads as the channel's end (recvmsg returns 0
     * for both on SOCK_SEQPACKET); the sandbox could close it as well. */
    closed = ends(j, LONG_MS, "the started client");
    printf("note %s: a record of 0 bytes %s\n", name,
           closed ? "is taken as the channel's end"
                  : "is dropped, the channel goes on");
    if (closed)
      check(ends(l, LONG_MS, "the client not started"),
            "%s: the clients whose exec had not ended see their end", name);
    g_why[0] = 0;
  }
  check(nothing(k, SHORT_MS, "the ended client") &&
            nothing(m, 10, "the client with no exec"),
        "%s: the others are left alone", name);
  int z = cli(&s);
  if (closed) {
    ok = z >= 0 && send_exec(z, 3) && get(z, LONG_MS, &g_r) > 0 &&
         g_r.u.h.type == CTL_ERROR && g_r.u.h.a == ENOSYS && g_r.nfds == 0;
    if (!ok)
      why("the client received %s", desc(&g_r));
    drop_fds(&g_r);
    check(ok, "%s: a new exec request: CTL_ERROR ENOSYS", name);
  } else {
    check(z >= 0 && send_exec(z, 3) && sb_exec(&s),
          "%s: a new exec request reaches the sandbox", name);
  }
  int y = cli(&s);
  check(y >= 0 && head(y, CTL_KILL, 0, SIGTERM) &&
            expect(y, CTL_EXIT, 0, 0, "a client"),
        "%s: CTL_KILL still answered", name);
  if (closed) {
    /* j, l dropped (-2), z and y connected (+2), ctl closed (-1) */
    check(fd_settle(&s, before - 1, LONG_MS) == before - 1,
          "%s: fd count: the channel's end closed, no fd kept (%d, want %d)",
          name, fd_count(s.pid), before - 1);
  }
  check(alive(&s) && idles(&s), "%s: the supervisor lives and idles", name);
  if (how == 1) {
    /* the sandbox's end can still be written: records are not read */
    struct ctl_head h = {CTL_EXIT, idj, 0, 0};
    send_rec(s.sb, &h, sizeof(h), NULL, 0, MSG_DONTWAIT);
    check(alive(&s), "%s: still alive after a record past the end", name);
  }
  sup_stop(&s, true);
  for (int *fd = (int[]){j, k, l, m, z, y, -2}; *fd != -2; fd++)
    if (*fd >= 0)
      close(*fd);
}

/* More clients than the supervisor serves at once. */
static void many_clients(void) {
  struct sup s;
  if (!sup_start(&s, "many-clients")) {
    check(false, "many-clients: a supervisor");
    sup_cleanup(&s);
    return;
  }
  enum { N = 100 };
  int c[N], ended = 0;
  int before = barrier(&s) ? fd_count(s.pid) : -1;
  for (int i = 0; i < N; i++)
    c[i] = cli(&s);
  sleep_ms(300);
  for (int i = 0; i < N; i++)
    if (c[i] >= 0 && get(c[i], 0, &g_r) == 0)
      ended++;
  check(ended == N + 1 - 64 && alive(&s),
        "many-clients: %d connections, %d ended (the supervisor serves 64)",
        N + 1, ended);
  for (int i = 0; i < N; i++)
    if (c[i] >= 0)
      close(c[i]);
  /* (one that comes while all are taken is closed at once) */
  check(fd_settle(&s, before, LONG_MS) == before,
        "many-clients: fd count: all of them closed (%d, want %d)",
        fd_count(s.pid), before);
  int y = cli(&s);
  check(y >= 0 && head(y, CTL_KILL, 0, SIGTERM) &&
            expect(y, CTL_EXIT, 0, 0, "a client"),
        "many-clients: once they left, a client is served");
  if (y >= 0)
    close(y);
  sup_stop(&s, true);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  alarm(300);
  int p[2];
  if (pipe(p) < 0 || (g_stdio[2] = open("/dev/null", O_RDWR)) < 0) {
    perror("setup");
    return 1;
  }
  g_stdio[0] = p[0];
  g_stdio[1] = p[1];

  struct sup s;
  int base = 0;
  if (sup_start(&s, "main")) {
    round_trip(&s, &base);
    forged(&s, base);
    client_side(&s, base);
    kills(&s);
  } else {
    check(false, "main: a supervisor");
  }
  sup_cleanup(&s);
  never_reads();
  channel_ends("channel-closed", 0);
  channel_ends("channel-shut-down", 1);
  channel_ends("empty-record", 2);
  many_clients();
  printf(g_fails ? "%d checks failed\n" : "all checks passed\n", g_fails);
  return g_fails ? 1 : 0;
}
