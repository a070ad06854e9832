/* What readlink(2) of /proc/self/fd/N (and /dev/fd/N) says for the files
 * that have no name, as proc(5) documents: "socket:[INODE]" and
 * "pipe:[INODE]" with the inode fstat reports (both ends of a pipe the
 * same), "anon_inode:[eventfd]" and the like for anonymous files, a cut
 * buffer, and EINVAL for a socket's name in the file system (not a
 * symlink). Inode numbers are never printed, only compared. Native vs
 * moat. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/mman.h>
#include <sys/un.h>

#include "guest.h"

/* "socket:[123]" -> "socket:[N]" and whether 123 is fd's st_ino. */
static void show(const char *label, int fd) {
  char path[64], buf[256];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  errno = 0;
  ssize_t n = readlink(path, buf, sizeof(buf) - 1);
  if (n < 0) {
    printf("%s: -1 %s\n", label, errname(errno));
    return;
  }
  buf[n] = 0;
  char *lb = strchr(buf, '[');
  struct stat st;
  fstat(fd, &st);
  if (lb && lb[1] >= '0' && lb[1] <= '9') {
    unsigned long long ino = strtoull(lb + 1, NULL, 10);
    lb[1] = 0;
    printf("%s: %sN] ino matches %d\n", label, buf,
           ino == (unsigned long long)st.st_ino);
  } else {
    printf("%s: %s\n", label, buf);
  }
}

static unsigned long long link_ino(const char *path) {
  char buf[256];
  ssize_t n = readlink(path, buf, sizeof(buf) - 1);
  if (n < 0)
    return 0;
  buf[n] = 0;
  char *lb = strchr(buf, '[');
  return lb ? strtoull(lb + 1, NULL, 10) : 0;
}

/* readlinkat(dirfd, path) printed with its text. */
static void n_readlink(const char *label, int dirfd, const char *path) {
  char buf[256];
  ssize_t n = readlinkat(dirfd, path, buf, sizeof(buf) - 1);
  if (n < 0) {
    printf("%s: -1 %s\n", label, errname(errno));
    return;
  }
  buf[n] = 0;
  char *slash = strrchr(buf, '/');
  printf("%s: ends %s\n", label, slash ? slash : buf);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("fdlinks");

  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  show("socketpair 0", sv[0]);
  show("socketpair 1", sv[1]);
  char p0[64], p1[64];
  snprintf(p0, sizeof(p0), "/proc/self/fd/%d", sv[0]);
  snprintf(p1, sizeof(p1), "/proc/self/fd/%d", sv[1]);
  FACT("socketpair ends differ", link_ino(p0) != link_ino(p1));

  int tcp = socket(AF_INET, SOCK_STREAM, 0);
  show("tcp", tcp);
  int udp6 = socket(AF_INET6, SOCK_DGRAM, 0);
  show("udp6", udp6);
  int nl = socket(AF_NETLINK, SOCK_RAW, 0);
  show("netlink", nl);

  /* A listener's accepted socket is a socket of its own. */
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof(a);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  bind(l, (struct sockaddr *)&a, sizeof(a));
  listen(l, 1);
  getsockname(l, (struct sockaddr *)&a, &al);
  connect(tcp, (struct sockaddr *)&a, sizeof(a));
  int acc = accept(l, NULL, NULL);
  show("accepted", acc);
  char pl[64], pa[64];
  snprintf(pl, sizeof(pl), "/proc/self/fd/%d", l);
  snprintf(pa, sizeof(pa), "/proc/self/fd/%d", acc);
  FACT("accepted differs from listener", link_ino(pl) != link_ino(pa));

  /* A bound name is a socket file, not a symlink. */
  struct sockaddr_un un = {.sun_family = AF_UNIX};
  strcpy(un.sun_path, "sock");
  int us = socket(AF_UNIX, SOCK_DGRAM, 0);
  OK("bind", bind(us, (struct sockaddr *)&un, sizeof(un)));
  char buf[64];
  R("readlink of the socket file", readlink("sock", buf, sizeof(buf)));
  show("bound unix", us);

  int pfd[2];
  R("pipe", pipe(pfd));
  show("pipe read end", pfd[0]);
  show("pipe write end", pfd[1]);
  snprintf(p0, sizeof(p0), "/proc/self/fd/%d", pfd[0]);
  snprintf(p1, sizeof(p1), "/proc/self/fd/%d", pfd[1]);
  FACT("pipe ends the same", link_ino(p0) == link_ino(p1));
  snprintf(p1, sizeof(p1), "/dev/fd/%d", pfd[0]);
  FACT("/dev/fd the same", link_ino(p0) == link_ino(p1));

  int efd = eventfd(0, 0);
  show("eventfd", efd);
  int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
  show("timerfd", tfd);
  sigset_t ss;
  sigemptyset(&ss);
  sigaddset(&ss, SIGUSR1);
  int sfd = signalfd(-1, &ss, 0);
  show("signalfd", sfd);
  int ep = epoll_create1(0);
  show("epoll", ep);
  int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  show("pidfd", pidfd);

  /* An empty path reads only a symlink's own descriptor. */
  R("readlinkat socket \"\"", readlinkat(sv[0], "", buf, sizeof(buf)));
  R("readlinkat pipe \"\"", readlinkat(pfd[0], "", buf, sizeof(buf)));
  R("readlinkat eventfd \"\"", readlinkat(efd, "", buf, sizeof(buf)));
  int reg = open("plain", O_RDWR | O_CREAT, 0600);
  R("readlinkat file \"\"", readlinkat(reg, "", buf, sizeof(buf)));
  R("readlinkat cwd \"\"", readlinkat(AT_FDCWD, "", buf, sizeof(buf)));

  /* A buffer too short is filled and cut, without a NUL. */
  char small[8];
  memset(small, '#', sizeof(small));
  snprintf(p0, sizeof(p0), "/proc/self/fd/%d", efd);
  R("readlink short", readlink(p0, small, 4));
  printf("short: %.8s\n", small);
  snprintf(p0, sizeof(p0), "/dev/fd/%d", sv[0]);
  R("readlink /dev/fd short", readlink(p0, small, 7));
  printf("short: %.8s\n", small);

  /* The entries are links of their own (lstat): mode from the access
   * (r-x, -wx, rwx, none for O_PATH), 64 bytes; stat follows them. */
  int ro = open("plain", O_RDONLY), wo = open("plain", O_WRONLY);
  int op = open("plain", O_PATH), dfd = open(".", O_RDONLY | O_DIRECTORY);
  int fds[] = {ro, wo, reg, op, dfd};
  const char *names[] = {"rdonly", "wronly", "rdwr", "path", "dir"};
  for (int i = 0; i < 5; i++) {
    struct stat st, fst;
    snprintf(p0, sizeof(p0), "/proc/self/fd/%d", fds[i]);
    if (lstat(p0, &st) < 0) {
      printf("lstat %s: %s\n", names[i], errname(errno));
      continue;
    }
    printf("lstat %s: link %d mode %o size %lld nlink %lu\n", names[i],
           S_ISLNK(st.st_mode), st.st_mode & 07777, (long long)st.st_size,
           (unsigned long)st.st_nlink);
    stat(p0, &st);
    fstat(fds[i], &fst);
    FACT("  stat follows", st.st_ino == fst.st_ino &&
                               (st.st_mode & S_IFMT) == (fst.st_mode & S_IFMT));
  }
  /* The listing holds every descriptor, directories too, as links. */
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int seen_dir = 0, non_link = 0;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    if (atoi(e->d_name) == dfd)
      seen_dir = 1;
    if (e->d_type != DT_LNK)
      non_link++;
  }
  if (d)
    closedir(d);
  FACT("listing has the directory's descriptor", seen_dir);
  printf("entries that are not DT_LNK: %d\n", non_link);
  /* Opening the link itself: O_NOFOLLOW refuses, O_PATH holds it. */
  snprintf(p0, sizeof(p0), "/proc/self/fd/%d", reg);
  R("open O_NOFOLLOW", open(p0, O_RDONLY | O_NOFOLLOW));
  int lfd = open(p0, O_PATH | O_NOFOLLOW);
  struct stat lst;
  FACT("O_PATH|O_NOFOLLOW is the link",
       lfd >= 0 && fstat(lfd, &lst) == 0 && S_ISLNK(lst.st_mode));
  n_readlink("readlinkat of it", lfd, "");
  /* memfd and O_TMPFILE files: names Linux makes up. */
  int mfd = memfd_create("moat-test", 0);
  show("memfd", mfd);
  int tmp = open(".", O_TMPFILE | O_RDWR, 0600);
  snprintf(p0, sizeof(p0), "/proc/self/fd/%d", tmp);
  ssize_t tn = readlink(p0, buf, sizeof(buf) - 1);
  buf[tn > 0 ? tn : 0] = 0;
  char *hash = strrchr(buf, '#');
  printf("O_TMPFILE: in the work directory %d, ends %s\n",
         hash && hash > buf && hash[-1] == '/' && !strncmp(buf, "/tmp/", 5),
         tn > 10 ? buf + tn - 10 : "?");
  return 0;
}
