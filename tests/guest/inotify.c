/* inotify for changes made inside the sandbox: the events of create,
 * open, write, close, chmod, rename (cookies), mkdir, rmdir, unlink and
 * delete-self in a directory of /tmp (memfs) and of a file under /etc
 * (moat's overlay root; only read here), a file's own watch beside its
 * directory's, merging of identical events, read's EINVAL for a short
 * buffer, FIONREAD, O_NONBLOCK, poll and epoll readiness, a reader
 * blocked in another process woken by a writer, IN_ONESHOT, IN_MASK_ADD,
 * IN_MASK_CREATE, IN_EXCL_UNLINK, IN_ONLYDIR, IN_DONT_FOLLOW, the
 * overflow at max_queued_events, and the errors. Output is identical
 * natively and in moat. */
#include "guest.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

static int g_fd;

static void print_mask(uint32_t m) {
  static const struct {
    uint32_t bit;
    const char *name;
  } names[] = {
      {IN_ACCESS, "ACCESS"},
      {IN_MODIFY, "MODIFY"},
      {IN_ATTRIB, "ATTRIB"},
      {IN_CLOSE_WRITE, "CLOSE_WRITE"},
      {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"},
      {IN_OPEN, "OPEN"},
      {IN_MOVED_FROM, "MOVED_FROM"},
      {IN_MOVED_TO, "MOVED_TO"},
      {IN_CREATE, "CREATE"},
      {IN_DELETE, "DELETE"},
      {IN_DELETE_SELF, "DELETE_SELF"},
      {IN_MOVE_SELF, "MOVE_SELF"},
      {IN_UNMOUNT, "UNMOUNT"},
      {IN_Q_OVERFLOW, "Q_OVERFLOW"},
      {IN_IGNORED, "IGNORED"},
      {IN_ISDIR, "ISDIR"},
  };
  const char *sep = "";
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (m & names[i].bit) {
      printf("%s%s", sep, names[i].name);
      sep = "|";
      m &= ~names[i].bit;
    }
  if (m)
    printf("%s0x%x", sep, m);
}

/* Print every queued event of fd (nonblocking), cookies as "same as the
 * previous one" facts. */
static int drain_events(int fd, const char *title) {
  char buf[65536] __attribute__((aligned(8)));
  int count = 0;
  uint32_t last_cookie = 0;
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  printf("[%s]\n", title);
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    for (char *p = buf; p < buf + n;) {
      struct inotify_event *e = (struct inotify_event *)p;
      printf("  wd %d ", e->wd);
      print_mask(e->mask);
      if (e->len)
        printf(" %s", e->name);
      if (e->cookie)
        printf(" cookie%s", e->cookie == last_cookie ? "=prev" : "");
      printf("\n");
      last_cookie = e->cookie;
      p += sizeof(*e) + e->len;
      count++;
    }
  }
  fcntl(fd, F_SETFL, fl);
  return count;
}

static void errors(void) {
  R("init1 bad flags", inotify_init1(1));
  R("add_watch mask 0", inotify_add_watch(g_fd, ".", 0));
  R("add_watch bad fd", inotify_add_watch(99, ".", IN_MODIFY));
  R("add_watch not inotify", inotify_add_watch(1, ".", IN_MODIFY));
  R("add_watch missing", inotify_add_watch(g_fd, "nope", IN_MODIFY));
  write_file("file", "x");
  R("add_watch ONLYDIR on a file",
    inotify_add_watch(g_fd, "file", IN_MODIFY | IN_ONLYDIR));
  R("MASK_ADD|MASK_CREATE",
    inotify_add_watch(g_fd, "file", IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE));
  R("rm_watch bad wd", inotify_rm_watch(g_fd, 1234));
  R("rm_watch not inotify", inotify_rm_watch(1, 1));
  symlink("file", "link");
  int wd = inotify_add_watch(g_fd, "link", IN_ATTRIB | IN_DONT_FOLLOW);
  R("DONT_FOLLOW watch", wd);
  chmod("file", 0600); /* the target's change: not the link's */
  R("rm_watch", inotify_rm_watch(g_fd, wd));
  R("rm_watch again", inotify_rm_watch(g_fd, wd));
  unlink("link");
  unlink("file");
  drain_events(g_fd, "errors");
}

static void directory(void) {
  int dw = inotify_add_watch(g_fd, ".", IN_ALL_EVENTS);
  R("watch the directory", dw);
  int fd = open("a", O_CREAT | O_WRONLY, 0644);
  int fw = inotify_add_watch(g_fd, "a", IN_ALL_EVENTS);
  R("watch the file", fw);
  write(fd, "hello", 5);
  write(fd, "hello", 5); /* merged with the one before */
  int n = -1;
  ioctl(g_fd, FIONREAD, &n);
  R("FIONREAD", n);
  char small[16];
  R("read into 16 bytes", read(g_fd, small, sizeof small));
  R("read into 10 bytes", read(g_fd, small, 10));
  close(fd);
  chmod("a", 0600);
  fd = open("a", O_RDONLY);
  char buf[16];
  read(fd, buf, sizeof buf);
  close(fd);
  truncate("a", 2);
  rename("a", "b");
  mkdir("d", 0755);
  rename("d", "e");
  rmdir("e");
  link("b", "c");
  unlink("c");
  unlink("b");
  drain_events(g_fd, "directory");
  inotify_rm_watch(g_fd, dw);
  drain_events(g_fd, "rm_watch");
}

static void readiness(void) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  FACT("IN_CLOEXEC", fcntl(fd, F_GETFD) & FD_CLOEXEC);
  FACT("IN_NONBLOCK", fcntl(fd, F_GETFL) & O_NONBLOCK);
  char buf[256];
  R("read empty", read(fd, buf, sizeof buf));
  inotify_add_watch(fd, ".", IN_CREATE);
  struct pollfd p = {fd, POLLIN, 0};
  R("poll before", poll(&p, 1, 0));
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  R("epoll before", epoll_wait(ep, &ev, 1, 0));
  write_file("r", "");
  R("poll after", poll(&p, 1, 0));
  printf("revents: %x\n", p.revents);
  R("epoll after", epoll_wait(ep, &ev, 1, 0));
  printf("epoll data: %u\n", ev.data.u32);
  drain_events(fd, "readiness");
  R("epoll drained", epoll_wait(ep, &ev, 1, 0));
  /* a select that waits: a child makes the change */
  pid_t pid = fork();
  if (pid == 0) {
    wait_sleeping(getppid());
    write_file("r2", "");
    _exit(0);
  }
  R("epoll wait", epoll_wait(ep, &ev, 1, 10000));
  waitpid(pid, NULL, 0);
  drain_events(fd, "from a child");
  close(ep);
  close(fd);
  unlink("r");
  unlink("r2");
}

static void blocked_reader(void) {
  write_file("shared", "");
  int fd = inotify_init();
  inotify_add_watch(fd, "shared", IN_CLOSE_WRITE);
  pid_t pid = fork();
  if (pid == 0) {
    wait_sleeping(getppid());
    write_file("shared", "data");
    _exit(0);
  }
  char buf[256] __attribute__((aligned(8)));
  ssize_t n = read(fd, buf, sizeof buf);
  R("blocked read", n);
  if (n > 0) {
    struct inotify_event *e = (struct inotify_event *)buf;
    printf("event: wd %d ", e->wd);
    print_mask(e->mask);
    printf("\n");
  }
  waitpid(pid, NULL, 0);
  close(fd);
  unlink("shared");
}

static void flags(void) {
  write_file("f", "");
  int fd = inotify_init();
  int w1 = inotify_add_watch(fd, "f", IN_MODIFY | IN_ONESHOT);
  R("oneshot watch", w1);
  write_file("f", "1");
  write_file("f", "2");
  drain_events(fd, "oneshot");
  R("rm_watch after oneshot", inotify_rm_watch(fd, w1));
  int w2 = inotify_add_watch(fd, "f", IN_ATTRIB);
  R("MASK_ADD", inotify_add_watch(fd, "f", IN_MODIFY | IN_MASK_ADD) == w2);
  R("MASK_CREATE on a watched file",
    inotify_add_watch(fd, "f", IN_MODIFY | IN_MASK_CREATE));
  chmod("f", 0600);
  write_file("f", "3");
  drain_events(fd, "mask add");
  R("replace", inotify_add_watch(fd, "f", IN_ATTRIB) == w2);
  write_file("f", "4");
  chmod("f", 0644);
  drain_events(fd, "replaced");
  /* IN_EXCL_UNLINK: nothing about a child after its unlink */
  int ex = inotify_init();
  inotify_add_watch(ex, ".", IN_MODIFY | IN_EXCL_UNLINK);
  int plain = inotify_add_watch(fd, ".", IN_MODIFY);
  int g = open("g", O_CREAT | O_WRONLY, 0644);
  write(g, "a", 1);
  drain_events(ex, "excl_unlink, linked");
  drain_events(fd, "without excl_unlink, linked");
  unlink("g");
  write(g, "b", 1);
  close(g);
  drain_events(ex, "excl_unlink, unlinked");
  drain_events(fd, "without excl_unlink, unlinked");
  inotify_rm_watch(fd, plain);
  close(ex);
  /* delete self */
  int dw = inotify_add_watch(fd, ".", IN_DELETE);
  inotify_add_watch(fd, "f", IN_DELETE_SELF | IN_ATTRIB);
  unlink("f");
  drain_events(fd, "delete self");
  mkdir("sub", 0755);
  inotify_add_watch(fd, "sub", IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB);
  rename("sub", "sub2");
  chmod("sub2", 0700);
  rmdir("sub2");
  drain_events(fd, "rmdir self");
  inotify_rm_watch(fd, dw);
  close(fd);
}

static void listing(void) {
  mkdir("ls", 0755);
  write_file("ls/x", "");
  int fd = inotify_init();
  inotify_add_watch(fd, ".", IN_OPEN | IN_ACCESS | IN_CLOSE_NOWRITE);
  inotify_add_watch(fd, "ls", IN_OPEN | IN_ACCESS | IN_CLOSE_NOWRITE);
  DIR *d = opendir("ls");
  int n = 0;
  while (readdir(d))
    n++;
  closedir(d);
  R("entries", n);
  drain_events(fd, "listing");
  close(fd);
  unlink("ls/x");
  rmdir("ls");
}

static void overflow(void) {
  write_file("o", "");
  int fd = inotify_init1(IN_NONBLOCK);
  inotify_add_watch(fd, "o", IN_OPEN | IN_CLOSE_NOWRITE);
  for (int i = 0; i < 8300; i++)
    close(open("o", O_RDONLY));
  static char buf[1 << 16] __attribute__((aligned(8)));
  long events = 0, overflows = 0, last_wd = 0;
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    for (char *p = buf; p < buf + n;) {
      struct inotify_event *e = (struct inotify_event *)p;
      events++;
      if (e->mask & IN_Q_OVERFLOW)
        overflows++;
      last_wd = e->wd;
      p += sizeof(*e) + e->len;
    }
  R("events read", events);
  R("overflow events", overflows);
  printf("last wd: %ld\n", last_wd);
  close(fd);
  unlink("o");
}

static void etc_file(void) {
  /* a file of the root (moat's overlay), only read */
  const char *path = "/etc/debian_version";
  if (access(path, R_OK) < 0) {
    printf("no %s\n", path);
    return;
  }
  int fd = inotify_init();
  int w = inotify_add_watch(fd, path, IN_OPEN | IN_ACCESS | IN_CLOSE_NOWRITE);
  R("watch an /etc file", w);
  int f = open(path, O_RDONLY);
  char buf[64];
  read(f, buf, sizeof buf);
  close(f);
  drain_events(fd, "/etc file");
  close(fd);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("inotify");
  g_fd = inotify_init();
  R("inotify_init", g_fd >= 0);
  errors();
  directory();
  readiness();
  blocked_reader();
  flags();
  listing();
  overflow();
  etc_file();
  return 0;
}
