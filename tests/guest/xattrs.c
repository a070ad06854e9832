/* Extended attributes on a tmpfs (/dev/shm: tmpfs natively, memfs inside
 * moat): setxattr/getxattr/listxattr/removexattr and their l* and f*
 * variants, the namespaces (user., trusted., security., unknown), the
 * flags, the size and name limits, buffer sizes, errors and their order,
 * ctime and inotify IN_ATTRIB, and what an unprivileged process may do
 * (trusted.* hidden, the permission and sticky-directory rules).
 * system.posix_acl_* is not compared: moat answers EOPNOTSUPP as a tmpfs
 * without ACLs (docs/usage.md), the host's tmpfs may have them. */
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

#define G_XATTR_CREATE 1
#define G_XATTR_REPLACE 2

/* Raw system calls, so that libc wrappers (musl, glibc) change nothing. */
static long sx(const char *p, const char *n, const void *v, size_t s, int f) {
  return syscall(SYS_setxattr, p, n, v, s, f);
}
static long lsx(const char *p, const char *n, const void *v, size_t s, int f) {
  return syscall(SYS_lsetxattr, p, n, v, s, f);
}
static long fsx(int fd, const char *n, const void *v, size_t s, int f) {
  return syscall(SYS_fsetxattr, fd, n, v, s, f);
}
static long gx(const char *p, const char *n, void *v, size_t s) {
  return syscall(SYS_getxattr, p, n, v, s);
}
static long lgx(const char *p, const char *n, void *v, size_t s) {
  return syscall(SYS_lgetxattr, p, n, v, s);
}
static long fgx(int fd, const char *n, void *v, size_t s) {
  return syscall(SYS_fgetxattr, fd, n, v, s);
}
static long lx(const char *p, char *v, size_t s) {
  return syscall(SYS_listxattr, p, v, s);
}
static long llx(const char *p, char *v, size_t s) {
  return syscall(SYS_llistxattr, p, v, s);
}
static long flx(int fd, char *v, size_t s) {
  return syscall(SYS_flistxattr, fd, v, s);
}
static long rx(const char *p, const char *n) {
  return syscall(SYS_removexattr, p, n);
}
static long lrx(const char *p, const char *n) {
  return syscall(SYS_lremovexattr, p, n);
}
static long frx(int fd, const char *n) {
  return syscall(SYS_fremovexattr, fd, n);
}

#define BAD ((void *)8) /* an unmapped address */

/* "label: [a,b,c]" for a listing, or the error. */
static void show_list(const char *label, long n, const char *buf) {
  if (n < 0) {
    printf("%s: -1 %s\n", label, errname(errno));
    return;
  }
  printf("%s: %ld [", label, n);
  for (long i = 0; i < n; i++)
    putchar(buf[i] ? buf[i] : (i + 1 < n ? ',' : ']'));
  printf("%s\n", n ? "" : "]");
}

static void show_value(const char *label, long n, const char *buf) {
  if (n < 0)
    printf("%s: -1 %s\n", label, errname(errno));
  else
    printf("%s: %ld \"%.*s\"\n", label, n, (int)n, buf);
}

static struct timespec ctime_of(const char *path) {
  struct stat st;
  lstat(path, &st);
  return st.st_ctim;
}

static int later(struct timespec a, struct timespec b) {
  return b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec > a.tv_nsec);
}

static void pause_a_bit(void) {
  struct timespec t = {0, 20 * 1000 * 1000};
  nanosleep(&t, NULL);
}

/* Events waiting on an inotify fd, as names of their masks. */
static void show_events(const char *label, int fd) {
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  printf("%s:", label);
  for (ssize_t off = 0; n > 0 && off < n;) {
    struct inotify_event *e = (struct inotify_event *)(buf + off);
    printf(" %s%s%s", (e->mask & IN_ATTRIB) ? "ATTRIB" : "other",
           e->len ? ":" : "", e->len ? e->name : "");
    off += sizeof(*e) + e->len;
  }
  printf("%s\n", n < 0 ? " none" : "");
}

static char g_big[65537];

static void basics(void) {
  char buf[256];
  memset(buf, 0, sizeof buf);
  R("get absent", gx("f", "user.a", buf, sizeof buf));
  show_list("list empty", lx("f", buf, sizeof buf), buf);
  R("list empty size 0", lx("f", NULL, 0));
  R("set user.a", sx("f", "user.a", "one", 3, 0));
  R("get size 0", gx("f", "user.a", NULL, 0));
  show_value("get", gx("f", "user.a", buf, sizeof buf), buf);
  R("get too small", gx("f", "user.a", buf, 2));
  show_value("get exact", gx("f", "user.a", buf, 3), buf);
  R("get huge size", gx("f", "user.a", g_big, 100000));
  R("create existing", sx("f", "user.a", "x", 1, G_XATTR_CREATE));
  R("replace absent", sx("f", "user.b", "x", 1, G_XATTR_REPLACE));
  R("bad flags", sx("f", "user.a", "x", 1, 4));
  R("both flags", sx("f", "user.a", "x", 1, 3));
  R("replace", sx("f", "user.a", "two!", 4, G_XATTR_REPLACE));
  show_value("get replaced", gx("f", "user.a", buf, sizeof buf), buf);
  R("create", sx("f", "user.b", "", 0, G_XATTR_CREATE));
  R("get empty value", gx("f", "user.b", buf, sizeof buf));
  R("set NULL value size 0", sx("f", "user.c", NULL, 0, 0));
  R("set zz", sx("f", "user.zz", "z", 1, 0));
  R("set aa", sx("f", "user.aa", "a", 1, 0));
  show_list("list", lx("f", buf, sizeof buf), buf);
  R("list size 0", lx("f", NULL, 0));
  R("list too small", lx("f", buf, 10));
  R("list huge size", lx("f", g_big, 100000));
  R("remove", rx("f", "user.c"));
  R("remove again", rx("f", "user.c"));
  R("get removed", gx("f", "user.c", buf, sizeof buf));
  show_list("list after remove", lx("f", buf, sizeof buf), buf);
}

static void names_and_sizes(void) {
  char name[300], buf[64];
  R("empty name", sx("f", "", "x", 1, 0));
  R("get empty name", gx("f", "", buf, sizeof buf));
  R("remove empty name", rx("f", ""));
  R("prefix only", sx("f", "user.", "x", 1, 0));
  R("get prefix only", gx("f", "user.", buf, sizeof buf));
  R("unknown prefix", sx("f", "foo.bar", "x", 1, 0));
  R("get unknown prefix", gx("f", "foo.bar", buf, sizeof buf));
  R("remove unknown prefix", rx("f", "foo.bar"));
  R("no prefix", sx("f", "user", "x", 1, 0));
  R("system.other", sx("f", "system.foo", "x", 1, 0));
  R("get system.other", gx("f", "system.foo", buf, sizeof buf));
  memset(name, 'n', sizeof name);
  memcpy(name, "user.", 5);
  name[255] = 0;
  R("name 255", sx("f", name, "x", 1, 0));
  R("get name 255", gx("f", name, buf, sizeof buf));
  R("remove name 255", rx("f", name));
  name[255] = 'n';
  name[256] = 0;
  R("name 256", sx("f", name, "x", 1, 0));
  R("get name 256", gx("f", name, buf, sizeof buf));
  R("remove name 256", rx("f", name));
  name[299] = 0;
  R("get name 299", gx("f", name, buf, sizeof buf));
  memset(g_big, 'v', sizeof g_big);
  R("value 65536", sx("f", "user.big", g_big, 65536, 0));
  R("get value 65536 size", gx("f", "user.big", NULL, 0));
  R("get value 65536", gx("f", "user.big", g_big, 65536));
  R("get value into 65535", gx("f", "user.big", g_big, 65535));
  R("value 65537", sx("f", "user.big2", g_big, 65537, 0));
  R("value 65537 bad pointer", sx("f", "user.big2", BAD, 65537, 0));
  R("remove big", rx("f", "user.big"));
}

static void errors(void) {
  char buf[64];
  R("set missing file", sx("nope", "user.a", "x", 1, 0));
  R("get missing file", gx("nope", "user.a", buf, sizeof buf));
  R("list missing file", lx("nope", buf, sizeof buf));
  R("remove missing file", rx("nope", "user.a"));
  R("set missing file, empty name", sx("nope", "", "x", 1, 0));
  R("get missing file, empty name", gx("nope", "", buf, sizeof buf));
  R("set missing file, big value", sx("nope", "user.a", g_big, 65537, 0));
  R("set missing file, bad flags", sx("nope", "user.a", "x", 1, 8));
  R("set not a dir", sx("f/x", "user.a", "x", 1, 0));
  R("set empty path", sx("", "user.a", "x", 1, 0));
  R("set bad path", sx(BAD, "user.a", "x", 1, 0));
  R("set bad name", sx("f", BAD, "x", 1, 0));
  R("set bad value", sx("f", "user.a", BAD, 1, 0));
  R("set bad value missing file", sx("nope", "user.a", BAD, 1, 0));
  R("set NULL value size 1", sx("f", "user.a", NULL, 1, 0));
  R("get bad path", gx(BAD, "user.a", buf, sizeof buf));
  R("get bad name", gx("f", BAD, buf, sizeof buf));
  R("set q", sx("f", "user.q", "qq", 2, 0));
  R("get bad buffer", gx("f", "user.q", BAD, 64));
  R("get bad buffer size 0", gx("f", "user.q", BAD, 0));
  R("get absent bad buffer", gx("f", "user.none", BAD, 64));
  R("list bad buffer", lx("f", BAD, 64));
  R("list bad buffer size 0", lx("f", BAD, 0));
  R("list bad path", lx(BAD, buf, sizeof buf));
  R("list empty bad buffer", lx("d", BAD, 64));
  R("remove bad name", rx("f", BAD));
  R("remove bad path", rx(BAD, "user.q"));
  R("remove q", rx("f", "user.q"));
}

static void symlinks_and_others(void) {
  char buf[128];
  R("set via symlink", sx("l", "user.vl", "v", 1, 0));
  show_value("get on target", gx("f", "user.vl", buf, sizeof buf), buf);
  R("lset user on symlink", lsx("l", "user.a", "x", 1, 0));
  R("lget user on symlink", lgx("l", "user.a", buf, sizeof buf));
  R("lremove user on symlink", lrx("l", "user.a"));
  show_list("llist symlink", llx("l", buf, sizeof buf), buf);
  R("lset on file", lsx("f", "user.lf", "w", 1, 0));
  show_value("lget on file", lgx("f", "user.lf", buf, sizeof buf), buf);
  R("lremove on file", lrx("f", "user.lf"));
  R("lremove on file again", lrx("f", "user.lf"));
  R("remove via symlink", rx("l", "user.vl"));
  R("set dangling symlink", sx("dangle", "user.a", "x", 1, 0));
  R("lset dangling symlink", lsx("dangle", "user.a", "x", 1, 0));
  R("set user on dir", sx("d", "user.dir", "dv", 2, 0));
  show_value("get user on dir", gx("d", "user.dir", buf, sizeof buf), buf);
  show_list("list dir", lx("d", buf, sizeof buf), buf);
  R("set user on fifo", sx("p", "user.a", "x", 1, 0));
  R("get user on fifo", gx("p", "user.a", buf, sizeof buf));
  R("remove user on fifo", rx("p", "user.a"));
  R("set trusted on fifo", sx("p", "trusted.t", "x", 1, 0));
  show_list("list fifo", lx("p", buf, sizeof buf), buf);
  R("remove trusted on fifo", rx("p", "trusted.t"));
  R("lset trusted on symlink", lsx("l", "trusted.t", "y", 1, 0));
  show_value("lget trusted on symlink", lgx("l", "trusted.t", buf, sizeof buf),
             buf);
  R("get trusted via symlink", gx("l", "trusted.t", buf, sizeof buf));
  R("lremove trusted on symlink", lrx("l", "trusted.t"));
  /* Links share the inode's attributes; rename keeps them. */
  R("set shared", sx("f", "user.shared", "s", 1, 0));
  R("link", link("f", "hard"));
  show_value("get via link", gx("hard", "user.shared", buf, sizeof buf), buf);
  R("rename", rename("hard", "moved"));
  show_value("get after rename", gx("moved", "user.shared", buf, sizeof buf),
             buf);
  R("unlink", unlink("moved"));
}

static void descriptors(void) {
  char buf[128];
  int fd = open("f", O_RDONLY);
  R("fset on read-only fd", fsx(fd, "user.fd", "fd", 2, 0));
  show_value("fget", fgx(fd, "user.fd", buf, sizeof buf), buf);
  show_list("flist", flx(fd, buf, sizeof buf), buf);
  R("fremove", frx(fd, "user.fd"));
  R("fremove again", frx(fd, "user.fd"));
  int pfd = open("f", O_PATH);
  R("fset O_PATH", fsx(pfd, "user.fd", "fd", 2, 0));
  R("fget O_PATH", fgx(pfd, "user.fd", buf, sizeof buf));
  R("flist O_PATH", flx(pfd, buf, sizeof buf));
  R("fremove O_PATH", frx(pfd, "user.fd"));
  R("fset bad fd", fsx(-1, "user.fd", "fd", 2, 0));
  R("fget bad fd", fgx(99, "user.fd", buf, sizeof buf));
  R("flist bad fd", flx(99, buf, sizeof buf));
  R("fremove bad fd", frx(99, "user.fd"));
  R("fset bad fd, empty name", fsx(99, "", "fd", 2, 0));
  R("fget bad fd, empty name", fgx(99, "", buf, sizeof buf));
  R("fremove bad fd, empty name", frx(99, ""));
  R("fset bad fd, bad flags", fsx(99, "user.a", "fd", 2, 9));
  int dfd = open("d", O_RDONLY | O_DIRECTORY);
  R("fset dir fd", fsx(dfd, "user.dfd", "d", 1, 0));
  show_list("flist dir fd", flx(dfd, buf, sizeof buf), buf);
  R("fremove dir fd", frx(dfd, "user.dfd"));
  /* An unlinked file keeps its attributes while open. */
  int ufd = open("gone", O_RDWR | O_CREAT, 0644);
  R("fset before unlink", fsx(ufd, "user.u", "u", 1, 0));
  R("unlink open file", unlink("gone"));
  show_value("fget unlinked", fgx(ufd, "user.u", buf, sizeof buf), buf);
  R("fset unlinked", fsx(ufd, "user.u2", "u2", 2, 0));
  show_list("flist unlinked", flx(ufd, buf, sizeof buf), buf);
  int pipefd[2];
  if (pipe(pipefd) == 0) {
    R("fset user on pipe", fsx(pipefd[0], "user.a", "x", 1, 0));
    R("fget user on pipe", fgx(pipefd[0], "user.a", buf, sizeof buf));
    close(pipefd[0]);
    close(pipefd[1]);
  }
  close(ufd);
  close(dfd);
  close(pfd);
  close(fd);
}

static void times_and_events(void) {
  struct timespec before = ctime_of("f");
  pause_a_bit();
  R("set for ctime", sx("f", "user.t", "t", 1, 0));
  struct timespec after = ctime_of("f");
  FACT("set moves ctime", later(before, after));
  pause_a_bit();
  R("failed set", sx("f", "user.t", "t", 1, G_XATTR_CREATE));
  FACT("failed set keeps ctime", !later(after, ctime_of("f")));
  pause_a_bit();
  R("remove for ctime", rx("f", "user.t"));
  FACT("remove moves ctime", later(after, ctime_of("f")));

  int in = inotify_init1(IN_NONBLOCK);
  inotify_add_watch(in, ".", IN_ATTRIB);
  inotify_add_watch(in, "f", IN_ATTRIB);
  R("set watched", sx("f", "user.w", "w", 1, 0));
  show_events("events of set", in);
  R("get watched", gx("f", "user.w", NULL, 0));
  show_events("events of get", in);
  int fd = open("f", O_RDONLY);
  R("fremove watched", frx(fd, "user.w"));
  show_events("events of fremove", in);
  R("failed remove watched", frx(fd, "user.w"));
  show_events("events of failed remove", in);
  close(fd);
  close(in);
}

static void privileged(void) {
  char buf[256];
  R("set trusted", sx("f", "trusted.t", "T", 1, 0));
  R("set security", sx("f", "security.s", "S", 1, 0));
  R("set user u", sx("f", "user.u", "U", 1, 0));
  show_list("list as root", lx("f", buf, sizeof buf), buf);
  show_value("get trusted", gx("f", "trusted.t", buf, sizeof buf), buf);
  show_value("get security", gx("f", "security.s", buf, sizeof buf), buf);
  R("set trusted. only", sx("f", "trusted.", "x", 1, 0));
  R("set security. only", sx("f", "security.", "x", 1, 0));
  R("chmod f 0644", chmod("f", 0644));
  R("mkdir sticky", mkdir("sticky", 0777));
  R("chmod sticky", chmod("sticky", 01777));
  R("mkdir open", mkdir("open", 0777));
  R("chmod open", chmod("open", 0777));
  R("set user on sticky", sx("sticky", "user.s", "s", 1, 0));
  write_file("mine", "m");
  R("chmod mine", chmod("mine", 0666));
  write_file("secret", "s");
  R("chmod secret", chmod("secret", 0));
  R("set user on secret", sx("secret", "user.s", "s", 1, 0));

  pid_t pid = fork();
  if (pid == 0) {
    if (setgid(65534) < 0 || setuid(65534) < 0) {
      printf("setuid: %s\n", errname(errno));
      _exit(1);
    }
    show_list("list unprivileged", lx("f", buf, sizeof buf), buf);
    R("list size unprivileged", lx("f", NULL, 0));
    R("get trusted unprivileged", gx("f", "trusted.t", buf, sizeof buf));
    R("get trusted absent unprivileged", gx("f", "trusted.x", buf, 8));
    R("set trusted unprivileged", sx("f", "trusted.t", "x", 1, 0));
    R("remove trusted unprivileged", rx("f", "trusted.t"));
    show_value("get security unprivileged",
               gx("f", "security.s", buf, sizeof buf), buf);
    R("set security unprivileged", sx("mine", "security.s", "x", 1, 0));
    R("remove security unprivileged", rx("f", "security.s"));
    show_value("get user unprivileged", gx("f", "user.u", buf, sizeof buf),
               buf);
    R("set user without write permission", sx("f", "user.u", "x", 1, 0));
    R("remove user without write permission", rx("f", "user.u"));
    R("get user without read permission", gx("secret", "user.s", buf, 8));
    R("list without read permission", lx("secret", buf, sizeof buf));
    R("set user on writable file", sx("mine", "user.m", "m", 1, 0));
    R("remove user on writable file", rx("mine", "user.m"));
    R("set user on sticky dir", sx("sticky", "user.x", "x", 1, 0));
    R("remove user on sticky dir", rx("sticky", "user.s"));
    R("get user on sticky dir", gx("sticky", "user.s", buf, 8));
    R("set user on open dir", sx("open", "user.x", "x", 1, 0));
    R("unknown prefix unprivileged", sx("mine", "foo.x", "x", 1, 0));
    R("unknown prefix no permission", sx("f", "foo.x", "x", 1, 0));
    R("fifo user unprivileged", sx("p", "user.x", "x", 1, 0));
    R("fifo trusted unprivileged", gx("p", "trusted.x", buf, 8));
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  printf("child status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  /* tmpfs natively (this host's /tmp may be a disk file system). */
  snprintf(g_workdir, sizeof g_workdir, "/dev/shm/moat-xattrs-XXXXXX");
  if (!mkdtemp(g_workdir) || chdir(g_workdir) < 0 ||
      chmod(g_workdir, 0755) < 0) {
    printf("cannot make a work directory: %s\n", errname(errno));
    return 2;
  }
  atexit(leave_workdir);
  write_file("f", "data");
  R("mkdir d", mkdir("d", 0755));
  R("symlink l", symlink("f", "l"));
  R("symlink dangle", symlink("nowhere", "dangle"));
  R("mkfifo p", mkfifo("p", 0644));
  basics();
  names_and_sizes();
  errors();
  symlinks_and_others();
  descriptors();
  times_and_events();
  privileged();
  return 0;
}
