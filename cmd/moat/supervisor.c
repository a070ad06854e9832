/* An OCI container's supervisor as an event loop (docs/oci.md, "exec
 * and signals"): the process the engine knows as the container's, the
 * parent of the sandbox, outside it. It listens on ROOT/ID/ctl.sock for
 * `moat exec` and `moat kill`, holds one end of the control channel whose
 * other end is the sandbox's exec server (cmd/moat/execd.c), and passes
 * records between them (cmd/moat/control.h). Every signal it catches
 * goes to the guest's first process as from outside a PID namespace
 * (runc sends it to the container's init, which receives only the
 * signals it handles, and KILL and STOP); `moat kill ... KILL` ends the
 * sandbox's host process, which takes every guest process with it.
 *
 * Nothing from the sandbox is trusted: a record names an exec this
 * supervisor started or is dropped, and descriptors it might carry are
 * never accepted. Runs with libc (never locked down). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor.h"

#define MAX_CLIENTS 64

struct client {
  int fd;
  uint32_t id; /* its exec's, once asked (0: none) */
  bool ended;
};

static struct client g_clients[MAX_CLIENTS];
static int g_sigpipe[2] = {-1, -1};
static uint32_t g_next_id = 1;
static char g_rec[CTL_MAX_RECORD];

static void on_signal(int sig) {
  int saved = errno;
  unsigned char b = (unsigned char)sig;
  if (g_sigpipe[1] >= 0 && write(g_sigpipe[1], &b, 1) < 0) {
    /* full: the loop is behind; the signal is dropped as a pending
     * duplicate would be */
  }
  errno = saved;
}

/* The signals the supervisor catches: every one but KILL, STOP, PIPE
 * and the C library's own (32, 33) (SIGALRM too: --timeout's handler
 * replaces this one when a timeout is armed, after); SIGWINCH is
 * the terminal's (with process.terminal the sandbox's host processes
 * receive it themselves and resize the guest's console). */
static bool caught(int sig, uint64_t ignored) {
  return sig != SIGKILL && sig != SIGSTOP && sig != SIGPIPE && sig != 32 &&
         sig != 33 && sig != SIGWINCH && !(ignored & (1ull << (sig - 1)));
}

int control_listen(const char *sock_path, char *why, size_t len) {
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(sock_path) >= sizeof(sa.sun_path)) {
    snprintf(why, len, "%s: the path is too long for a socket", sock_path);
    if (fd >= 0)
      close(fd);
    return -1;
  }
  strcpy(sa.sun_path, sock_path);
  unlink(sock_path);
  mode_t old = umask(0077);
  bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
            chmod(sock_path, 0600) == 0 && listen(fd, 16) == 0;
  umask(old);
  if (!ok) {
    snprintf(why, len, "%s: %s", sock_path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

int control_catch(uint64_t ignored) {
  if (pipe2(g_sigpipe, O_CLOEXEC | O_NONBLOCK) < 0)
    return -1;
  /* Caught from now on (a signal before the loop waits in the pipe). */
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  for (int sig = 1; sig <= 64; sig++)
    if (caught(sig, ignored))
      sigaction(sig, &sa, NULL);
  return 0;
}

void control_child_reset(uint64_t ignored) {
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig <= 64; sig++)
    if (caught(sig, ignored))
      sigaction(sig, &dfl, NULL);
  for (int i = 0; i < 2; i++)
    if (g_sigpipe[i] >= 0)
      close(g_sigpipe[i]);
  g_sigpipe[0] = g_sigpipe[1] = -1;
}

ssize_t send_with_fds(int sock, const void *buf, size_t len, const int *fds,
                      int nfds, int flags) {
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(3 * sizeof(int))];
  } cm;
  struct iovec iov = {(void *)buf, len};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  if (nfds > 3) {
    errno = EINVAL;
    return -1;
  }
  if (nfds > 0) {
    memset(&cm, 0, sizeof(cm));
    m.msg_control = cm.buf;
    m.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
  }
  return sendmsg(sock, &m, flags | MSG_NOSIGNAL);
}

/* A record to the sandbox, with fds when nfds > 0; never blocks (a
 * sandbox that does not read gets nothing more). */
static int to_sandbox(int ctl, const void *buf, size_t len, const int *fds,
                      int nfds) {
  return ctl >= 0 && send_with_fds(ctl, buf, len, fds, nfds, MSG_DONTWAIT) ==
                         (ssize_t)len
             ? 0
             : -1;
}

static void to_client(struct client *c, uint32_t type, int32_t a,
                      const char *msg) {
  struct {
    struct ctl_head h;
    char msg[256];
  } r = {{type, c->id, a, 0}, {0}};
  size_t n = msg ? strlen(msg) : 0;
  if (n > sizeof(r.msg))
    n = sizeof(r.msg);
  memcpy(r.msg, msg ? msg : "", n);
  if (send(c->fd, &r, sizeof(r.h) + n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
      errno == EAGAIN) {
    /* a client that does not read loses its records */
  }
}

static void drop_client(struct client *c, int ctl) {
  /* Gone before its process ended (killed, or its caller gave up): the
   * process goes too, as runc's exec'd process would lose its parent's
   * pipes and the engine its record of it. */
  if (c->id && !c->ended) {
    struct ctl_head h = {CTL_SIGNAL, c->id, SIGKILL, 0};
    to_sandbox(ctl, &h, sizeof(h), NULL, 0);
  }
  close(c->fd);
  memset(c, 0, sizeof(*c));
  c->fd = -1;
}

static void accept_client(int lsock) {
  int fd = accept4(lsock, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0)
    return;
  struct ucred cred;
  socklen_t cl = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
      (cred.uid != 0 && cred.uid != geteuid())) {
    close(fd);
    return;
  }
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (g_clients[i].fd < 0) {
      g_clients[i].fd = fd;
      return;
    }
  close(fd); /* too many at once: the client sees the end */
}

/* One record of client c (its connection ended: dropped). */
static void from_client(struct client *c, int ctl, pid_t child) {
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(3 * sizeof(int))];
  } cm;
  memset(&cm, 0, sizeof(cm));
  struct iovec iov = {g_rec, sizeof(g_rec)};
  struct msghdr m = {.msg_iov = &iov,
                     .msg_iovlen = 1,
                     .msg_control = cm.buf,
                     .msg_controllen = sizeof(cm.buf)};
  ssize_t n = recvmsg(c->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  int fds[3], nfds = 0, got = 0; /* kept, and received */
  for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
    if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
      continue;
    int *p = (int *)(void *)CMSG_DATA(h);
    size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k; i++) {
      got++;
      if (nfds < 3)
        fds[nfds++] = p[i];
      else
        close(p[i]);
    }
  }
  if (n <= 0) {
    for (int i = 0; i < nfds; i++)
      close(fds[i]);
    drop_client(c, ctl);
    return;
  }
  struct ctl_head *h = (struct ctl_head *)(void *)g_rec;
  bool cut = m.msg_flags & (MSG_TRUNC | MSG_CTRUNC);
  if (cut || (size_t)n < sizeof(*h)) {
    /* nothing to say to a malformed record but the end */
  } else if (h->type == CTL_EXEC && !c->id) {
    c->id = g_next_id++;
    h->id = c->id;
    if (ctl < 0)
      to_client(c, CTL_ERROR, ENOSYS,
                "the sandbox's exec server is not running");
    else if ((size_t)n < sizeof(struct ctl_exec) || got != 3)
      to_client(c, CTL_ERROR, EINVAL, "a malformed exec request");
    else if (to_sandbox(ctl, g_rec, (size_t)n, fds, nfds) < 0)
      to_client(c, CTL_ERROR, errno, "the sandbox does not answer");
    else
      nfds = -nfds; /* passed on: closed below as always */
    if (nfds >= 0)
      c->ended = true;
  } else if (h->type == CTL_SIGNAL && c->id && !c->ended) {
    struct ctl_head s = {CTL_SIGNAL, c->id, h->a, 0};
    to_sandbox(ctl, &s, sizeof(s), NULL, 0);
  } else if (h->type == CTL_KILL && h->a >= 1 && h->a <= 64) {
    if (h->a == SIGKILL) {
      kill(child, SIGKILL);
    } else {
      struct ctl_head s = {CTL_SIGNAL, 0, h->a, 0};
      to_sandbox(ctl, &s, sizeof(s), NULL, 0);
    }
    to_client(c, CTL_EXIT, 0, NULL); /* done */
  }
  for (int i = 0; i < (nfds < 0 ? -nfds : nfds); i++)
    close(fds[i]);
}

/* One record of the sandbox: 0, or -1 when the channel ended. */
static int from_sandbox(int ctl) {
  struct {
    struct ctl_head h;
    char msg[256];
  } r;
  struct iovec iov = {&r, sizeof(r)};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  ssize_t n = recvmsg(ctl, &m, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return 0;
  if (n <= 0)
    return -1;
  if ((size_t)n < sizeof(r.h) || !r.h.id ||
      (r.h.type != CTL_START && r.h.type != CTL_ERROR && r.h.type != CTL_EXIT))
    return 0;
  for (int i = 0; i < MAX_CLIENTS; i++) {
    struct client *c = &g_clients[i];
    if (c->fd < 0 || c->id != r.h.id || c->ended)
      continue;
    /* The message of an error, as text of at most its length. */
    char msg[257];
    size_t len = (size_t)n - sizeof(r.h);
    memcpy(msg, r.msg, len);
    msg[len] = 0;
    for (size_t k = 0; k < len; k++)
      if ((unsigned char)msg[k] < 0x20 || msg[k] == 0x7f)
        msg[k] = '?';
    to_client(c, r.h.type, r.h.a, r.h.type == CTL_ERROR ? msg : NULL);
    if (r.h.type != CTL_START)
      c->ended = true;
  }
  return 0;
}

void control_supervise(pid_t child, int lsock, int ctl) {
  for (int i = 0; i < MAX_CLIENTS; i++)
    g_clients[i].fd = -1;
  for (;;) {
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)child, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
        si.si_pid == child)
      break;
    struct pollfd p[3 + MAX_CLIENTS];
    int map[3 + MAX_CLIENTS];
    int np = 0;
    p[np] = (struct pollfd){.fd = g_sigpipe[0], .events = POLLIN};
    map[np++] = -1;
    p[np] = (struct pollfd){.fd = lsock, .events = POLLIN};
    map[np++] = -2;
    if (ctl >= 0) {
      p[np] = (struct pollfd){.fd = ctl, .events = POLLIN};
      map[np++] = -3;
    }
    for (int i = 0; i < MAX_CLIENTS; i++)
      if (g_clients[i].fd >= 0) {
        p[np] = (struct pollfd){.fd = g_clients[i].fd, .events = POLLIN};
        map[np++] = i;
      }
    if (poll(p, (nfds_t)np, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    for (int k = 0; k < np; k++) {
      if (!p[k].revents)
        continue;
      if (map[k] == -1) {
        unsigned char sigs[64];
        ssize_t n = read(g_sigpipe[0], sigs, sizeof(sigs));
        for (ssize_t i = 0; i < n; i++) {
          if (sigs[i] == SIGCHLD)
            continue; /* looked at above */
          struct ctl_head s = {CTL_SIGNAL, 0, sigs[i], 0};
          to_sandbox(ctl, &s, sizeof(s), NULL, 0);
        }
      } else if (map[k] == -2) {
        accept_client(lsock);
      } else if (map[k] == -3) {
        if (from_sandbox(ctl) < 0) {
          /* The exec server is gone: no exec can finish any more. */
          close(ctl);
          ctl = -1;
          for (int i = 0; i < MAX_CLIENTS; i++)
            if (g_clients[i].fd >= 0 && g_clients[i].id && !g_clients[i].ended)
              drop_client(&g_clients[i], -1);
        }
      } else if (g_clients[map[k]].fd == p[k].fd) {
        from_client(&g_clients[map[k]], ctl, child);
      }
    }
  }
  /* The sandbox ended: every exec'd process ended with it; a client that
   * still waits sees the connection end (moat exec: 137, as killed). */
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (g_clients[i].fd >= 0)
      close(g_clients[i].fd);
  close(lsock);
  if (ctl >= 0)
    close(ctl);
}
