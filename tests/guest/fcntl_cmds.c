/* fcntl(2) command by command, as the Linux shim decodes them into the
 * core's descriptor operations: F_GETLK reporting another process's lock
 * (its type, range from the start of the file and pid) and leaving
 * l_whence/l_start/l_len alone when nothing conflicts; F_SETLK ranges
 * given from SEEK_CUR and SEEK_END (negative lengths, the end of the
 * file and beyond) and their EINVAL/EOVERFLOW; struct flock's bad types
 * (F_GETLK checks them first, F_SETLK after the range) and pointers; OFD
 * requests with a non-zero l_pid (the range and the access mode are checked
 * first); F_DUPFD/F_DUPFD_CLOEXEC's minimum and limit; F_SETFL keeping the
 * access mode and the open-time flags; O_PATH descriptors (five commands
 * allowed, EBADF for the rest); integer arguments read as ints (the upper half
 * ignored); F_GETPIPE_SZ on a non-pipe; unknown commands (EINVAL, after EBADF).
 * The child never prints: it reports through a pipe. */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "guest.h"

static int g_up[2];   /* child -> parent */
static int g_down[2]; /* parent -> child */
static pid_t g_child;

static void put(int fd, long v) {
  if (write(fd, &v, sizeof v) != sizeof v)
    _exit(3);
}

static long get(int fd) {
  long v;
  if (read(fd, &v, sizeof v) != sizeof v)
    return -9999;
  return v;
}

static const char *type_name(int t) {
  return t == F_RDLCK   ? "read"
         : t == F_WRLCK ? "write"
         : t == F_UNLCK ? "unlocked"
                        : "odd";
}

static const char *whose(pid_t pid) {
  if (pid == -1)
    return "-1";
  if (pid == 0)
    return "0";
  if (g_child > 0 && pid == g_child)
    return "the child's pid";
  if (pid == getpid())
    return "my pid";
  return "another pid";
}

/* F_SETLK(W) from whence; 0 or -1 with errno. */
static int lock(int fd, int cmd, short type, short whence, off_t start,
                off_t len) {
  struct flock fl = {
      .l_type = type, .l_whence = whence, .l_start = start, .l_len = len};
  return fcntl(fd, cmd, &fl);
}

/* F_GETLK and print everything struct flock holds afterwards. */
static void getlk(const char *label, int fd, int cmd, short type, short whence,
                  off_t start, off_t len) {
  struct flock fl = {
      .l_type = type, .l_whence = whence, .l_start = start, .l_len = len};
  if (fcntl(fd, cmd, &fl) < 0) {
    printf("%s: -1 %s\n", label, errname(errno));
    return;
  }
  printf("%s: %s, whence %d start %lld len %lld, l_pid %s\n", label,
         type_name(fl.l_type), fl.l_whence, (long long)fl.l_start,
         (long long)fl.l_len, whose(fl.l_pid));
}

static int open_or_die(const char *path, int flags) {
  int fd = open(path, flags, 0644);
  if (fd < 0) {
    printf("open %s: %s\n", path, errname(errno));
    exit(2);
  }
  return fd;
}

/* ---- another process's locks, set from SEEK_CUR and SEEK_END ------------ */

static void holder(void) {
  int fd = open_or_die("locked", O_RDWR);
  lseek(fd, 10, SEEK_SET);
  /* [10, 20) from the position, [70, 80) from the end (size 100),
   * [30, 35) from the position backwards, [150, EOF) past the end */
  put(g_up[1], lock(fd, F_SETLK, F_WRLCK, SEEK_CUR, 0, 10) ? errno : 0);
  put(g_up[1], lock(fd, F_SETLK, F_RDLCK, SEEK_END, -30, 10) ? errno : 0);
  lseek(fd, 35, SEEK_SET);
  put(g_up[1], lock(fd, F_SETLK, F_WRLCK, SEEK_CUR, 0, -5) ? errno : 0);
  put(g_up[1], lock(fd, F_SETLK, F_RDLCK, SEEK_END, 50, 0) ? errno : 0);
  /* what it sees of the parent's lock */
  get(g_down[0]);
  struct flock fl = {
      .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
  put(g_up[1], fcntl(fd, F_GETLK, &fl) ? -errno : fl.l_type);
  put(g_up[1], fl.l_start);
  put(g_up[1], fl.l_len);
  put(g_up[1], fl.l_pid == getppid());
  get(g_down[0]); /* hold the locks until the parent is done */
}

static void show_put(const char *label, long e) {
  if (e == -9999)
    printf("%s: no report\n", label);
  else if (e)
    printf("%s: -1 %s\n", label, errname((int)e));
  else
    printf("%s: ok\n", label);
}

static void test_other_process(void) {
  printf("-- F_GETLK of another process's locks\n");
  int fd = open_or_die("locked", O_RDWR | O_CREAT | O_TRUNC);
  char buf[100];
  memset(buf, 'x', sizeof buf);
  if (write(fd, buf, sizeof buf) != sizeof buf)
    exit(2);
  if (pipe(g_up) < 0 || pipe(g_down) < 0)
    exit(2);
  g_child = fork();
  if (g_child == 0) {
    close(g_up[0]);
    close(g_down[1]);
    holder();
    _exit(0);
  }
  close(g_up[1]);
  close(g_down[0]);
  show_put("child F_SETLK write SEEK_CUR+0 len 10", get(g_up[0]));
  show_put("child F_SETLK read SEEK_END-30 len 10", get(g_up[0]));
  show_put("child F_SETLK write SEEK_CUR+0 len -5", get(g_up[0]));
  show_put("child F_SETLK read SEEK_END+50 len 0", get(g_up[0]));
  getlk("GETLK write [0,EOF)", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 0);
  getlk("GETLK write [12,13)", fd, F_GETLK, F_WRLCK, SEEK_SET, 12, 1);
  getlk("GETLK read [12,13)", fd, F_GETLK, F_RDLCK, SEEK_SET, 12, 1);
  getlk("GETLK read [20,30) (free)", fd, F_GETLK, F_RDLCK, SEEK_SET, 20, 10);
  getlk("GETLK write [32,33)", fd, F_GETLK, F_WRLCK, SEEK_SET, 32, 1);
  getlk("GETLK write [75,76)", fd, F_GETLK, F_WRLCK, SEEK_SET, 75, 1);
  getlk("GETLK read [75,76)", fd, F_GETLK, F_RDLCK, SEEK_SET, 75, 1);
  getlk("GETLK write [1000,1001)", fd, F_GETLK, F_WRLCK, SEEK_SET, 1000, 1);
  lseek(fd, 60, SEEK_SET);
  getlk("GETLK write SEEK_CUR+10 len 5", fd, F_GETLK, F_WRLCK, SEEK_CUR, 10, 5);
  getlk("GETLK write SEEK_END-1 len 1 (free)", fd, F_GETLK, F_WRLCK, SEEK_END,
        -1, 1);
  getlk("GETLK write SEEK_END+100 len -3", fd, F_GETLK, F_WRLCK, SEEK_END, 100,
        -3);
  getlk("OFD GETLK write [15,16)", fd, F_OFD_GETLK, F_WRLCK, SEEK_SET, 15, 1);
  R("F_SETLK write [15,16): conflict",
    lock(fd, F_SETLK, F_WRLCK, SEEK_SET, 15, 1));
  R("F_SETLK read [75,76): shared",
    lock(fd, F_SETLK, F_RDLCK, SEEK_SET, 75, 1));
  R("F_SETLK write SEEK_END-5 len 5 (free)",
    lock(fd, F_SETLK, F_WRLCK, SEEK_END, -5, 5));
  put(g_down[1], 1);
  long type = get(g_up[0]);
  long start = get(g_up[0]), len = get(g_up[0]), ppid = get(g_up[0]);
  printf("child GETLK: %s start %ld len %ld, l_pid the parent's: %ld\n",
         type < 0 ? errname((int)-type) : type_name((int)type), start, len,
         ppid);
  put(g_down[1], 1);
  int st = 0;
  waitpid(g_child, &st, 0);
  printf("child exit: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  g_child = 0;
  close(g_up[0]);
  close(g_down[1]);
  getlk("GETLK write [0,EOF) after the child's exit", fd, F_GETLK, F_WRLCK,
        SEEK_SET, 0, 0);
  close(fd);
}

/* ---- ranges, types and pointers ----------------------------------------- */

/* A struct flock the process may read but not write. */
static struct flock *mmap_ro_flock(void) {
  void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    printf("mmap: %s\n", errname(errno));
    exit(2);
  }
  return p;
}

static void test_ranges(void) {
  printf("-- ranges from SEEK_CUR and SEEK_END\n");
  int fd = open_or_die("ranges", O_RDWR | O_CREAT | O_TRUNC);
  if (write(fd, "0123456789", 10) != 10)
    exit(2);
  lseek(fd, 4, SEEK_SET);
  R("SEEK_CUR-4 len 1", lock(fd, F_SETLK, F_WRLCK, SEEK_CUR, -4, 1));
  R("SEEK_CUR-5 len 1", lock(fd, F_SETLK, F_WRLCK, SEEK_CUR, -5, 1));
  R("SEEK_CUR+0 len -4", lock(fd, F_SETLK, F_WRLCK, SEEK_CUR, 0, -4));
  R("SEEK_CUR+0 len -5", lock(fd, F_SETLK, F_WRLCK, SEEK_CUR, 0, -5));
  R("SEEK_END-10 len 1", lock(fd, F_SETLK, F_WRLCK, SEEK_END, -10, 1));
  R("SEEK_END-11 len 1", lock(fd, F_SETLK, F_WRLCK, SEEK_END, -11, 1));
  R("SEEK_END+INT64_MAX", lock(fd, F_SETLK, F_WRLCK, SEEK_END, INT64_MAX, 1));
  R("SEEK_CUR+INT64_MAX-4 len 1",
    lock(fd, F_SETLK, F_WRLCK, SEEK_CUR, INT64_MAX - 4, 1));
  R("SEEK_CUR+INT64_MAX-4 len 2",
    lock(fd, F_SETLK, F_WRLCK, SEEK_CUR, INT64_MAX - 4, 2));
  R("SEEK_END unlock everything", lock(fd, F_SETLK, F_UNLCK, SEEK_END, -10, 0));
  R("whence SEEK_DATA", lock(fd, F_SETLK, F_WRLCK, SEEK_DATA, 0, 1));
  R("whence -1", lock(fd, F_SETLK, F_WRLCK, -1, 0, 1));
  R("type 7", lock(fd, F_SETLK, 7, SEEK_SET, 0, 1));
  R("type -1", lock(fd, F_SETLK, -1, SEEK_SET, 0, 1));
  R("type 7 and whence 9", lock(fd, F_SETLK, 7, 9, 0, 1));
  R("type 7 and SEEK_END+INT64_MAX",
    lock(fd, F_SETLK, 7, SEEK_END, INT64_MAX, 1));
  R("OFD type 7 and SEEK_CUR-5", lock(fd, F_OFD_SETLK, 7, SEEK_CUR, -5, 1));
  R("F_SETLKW unlock", lock(fd, F_SETLKW, F_UNLCK, SEEK_SET, 0, 0));
  getlk("GETLK F_UNLCK", fd, F_GETLK, F_UNLCK, SEEK_SET, 0, 1);
  getlk("GETLK type 3", fd, F_GETLK, 3, SEEK_SET, 0, 1);
  getlk("GETLK type 3 and SEEK_END+INT64_MAX", fd, F_GETLK, 3, SEEK_END,
        INT64_MAX, 1);
  /* nothing conflicts: only l_type changes */
  getlk("GETLK of my own locks keeps the request", fd, F_GETLK, F_WRLCK,
        SEEK_CUR, 3, -2);
  getlk("OFD GETLK keeps the request", fd, F_OFD_GETLK, F_RDLCK, SEEK_END, -4,
        7);

  printf("-- struct flock pointers\n");
  R("F_GETLK NULL", fcntl(fd, F_GETLK, NULL));
  R("F_SETLK NULL", fcntl(fd, F_SETLK, NULL));
  R("F_OFD_SETLKW NULL", fcntl(fd, F_OFD_SETLKW, NULL));
  R("F_GETLK NULL on a bad fd", fcntl(99, F_GETLK, NULL));
  R("F_SETLK on a bad fd", lock(99, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
  struct flock *ro = mmap_ro_flock();
  R("F_GETLK into read-only memory", fcntl(fd, F_GETLK, ro));
  R("F_SETLK from read-only memory", fcntl(fd, F_SETLK, ro));

  printf("-- OFD requests with l_pid\n");
  int rd = open_or_die("ranges", O_RDONLY);
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_pid = 1};
  R("OFD SETLK l_pid 1", fcntl(fd, F_OFD_SETLK, &fl));
  fl.l_start = -1;
  R("OFD SETLK l_pid 1, start -1", fcntl(fd, F_OFD_SETLK, &fl));
  fl.l_whence = SEEK_END;
  fl.l_start = INT64_MAX;
  R("OFD SETLK l_pid 1, past INT64_MAX", fcntl(fd, F_OFD_SETLK, &fl));
  R("OFD GETLK l_pid 1, past INT64_MAX", fcntl(fd, F_OFD_GETLK, &fl));
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  R("OFD SETLK l_pid 1, write on O_RDONLY", fcntl(rd, F_OFD_SETLK, &fl));
  R("OFD GETLK l_pid 1, write on O_RDONLY", fcntl(rd, F_OFD_GETLK, &fl));
  fl.l_type = F_UNLCK;
  R("OFD SETLK l_pid 1, unlock on O_RDONLY", fcntl(rd, F_OFD_SETLK, &fl));
  fl.l_type = 9;
  R("OFD SETLK l_pid 1, type 9", fcntl(rd, F_OFD_SETLK, &fl));
  fl.l_type = F_RDLCK;
  fl.l_pid = 0;
  R("OFD SETLK read on O_RDONLY", fcntl(rd, F_OFD_SETLK, &fl));
  getlk("OFD lock seen from the other open", fd, F_GETLK, F_WRLCK, SEEK_SET, 0,
        0);
  close(rd);
  close(fd);
}

/* ---- descriptors and flags ---------------------------------------------- */

static void test_fds(void) {
  printf("-- F_DUPFD, F_DUPFD_CLOEXEC\n");
  int fd = open_or_die("ranges", O_RDONLY);
  R("F_DUPFD_CLOEXEC 40", fcntl(fd, F_DUPFD_CLOEXEC, 40));
  R("its FD_CLOEXEC", fcntl(40, F_GETFD));
  R("the original's FD_CLOEXEC", fcntl(fd, F_GETFD));
  R("F_DUPFD_CLOEXEC 40 again", fcntl(fd, F_DUPFD_CLOEXEC, 40));
  R("F_DUPFD 40", fcntl(fd, F_DUPFD, 40));
  R("its FD_CLOEXEC", fcntl(42, F_GETFD));
  int d = fcntl(40, F_DUPFD, 0);
  R("F_DUPFD of the cloexec one: its FD_CLOEXEC", fcntl(d, F_GETFD));
  close(d);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  R("F_DUPFD_CLOEXEC at RLIMIT_NOFILE",
    fcntl(fd, F_DUPFD_CLOEXEC, (long)rl.rlim_cur));
  FACT("F_DUPFD_CLOEXEC just below RLIMIT_NOFILE gets that fd",
       fcntl(fd, F_DUPFD_CLOEXEC, (long)rl.rlim_cur - 1) ==
           (long)rl.rlim_cur - 1);
  close((int)rl.rlim_cur - 1);
  R("F_DUPFD -1", fcntl(fd, F_DUPFD, -1));
  R("F_DUPFD_CLOEXEC on a bad fd", fcntl(99, F_DUPFD_CLOEXEC, 0));
  R("F_SETFD all bits", fcntl(fd, F_SETFD, -1));
  R("F_GETFD", fcntl(fd, F_GETFD));
  R("F_SETFD 2", fcntl(fd, F_SETFD, 2));
  R("F_GETFD", fcntl(fd, F_GETFD));
  close(fd);

  printf("-- F_SETFL\n");
  const int shown = O_ACCMODE | O_APPEND | O_NONBLOCK | O_CREAT | O_EXCL |
                    O_TRUNC | O_NOCTTY | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW;
  fd = open_or_die("ranges", O_RDONLY);
  printf("F_GETFL: %#o\n", fcntl(fd, F_GETFL) & shown);
  R("F_SETFL O_WRONLY|O_APPEND", fcntl(fd, F_SETFL, O_WRONLY | O_APPEND));
  printf("F_GETFL: %#o\n", fcntl(fd, F_GETFL) & shown);
  R("F_SETFL O_RDWR|O_CREAT|O_EXCL|O_TRUNC|O_NONBLOCK",
    fcntl(fd, F_SETFL, O_RDWR | O_CREAT | O_EXCL | O_TRUNC | O_NONBLOCK));
  printf("F_GETFL: %#o\n", fcntl(fd, F_GETFL) & shown);
  R("still readable", lseek(fd, 0, SEEK_SET) == 0 && read(fd, (char[1]){0}, 1));
  R("F_SETFL O_CLOEXEC|O_NOCTTY", fcntl(fd, F_SETFL, O_CLOEXEC | O_NOCTTY));
  printf("F_GETFL: %#o\n", fcntl(fd, F_GETFL) & shown);
  R("F_GETFD after that", fcntl(fd, F_GETFD));
  R("F_SETFL O_ACCMODE", fcntl(fd, F_SETFL, O_ACCMODE));
  printf("F_GETFL: %#o\n", fcntl(fd, F_GETFL) & shown);
  int wr = open_or_die("ranges", O_WRONLY | O_TRUNC | O_APPEND);
  printf("F_GETFL of an O_WRONLY|O_TRUNC|O_APPEND open: %#o\n",
         fcntl(wr, F_GETFL) & shown);
  R("F_SETFL 0 clears O_APPEND", fcntl(wr, F_SETFL, 0));
  printf("F_GETFL: %#o\n", fcntl(wr, F_GETFL) & shown);
  close(wr);
  int path = open("ranges", O_PATH);
  printf("F_GETFL of O_PATH: %#o\n", fcntl(path, F_GETFL) & (shown | O_PATH));
  R("F_SETFL on O_PATH", fcntl(path, F_SETFL, O_NONBLOCK));
  R("F_GETLK on O_PATH", lock(path, F_GETLK, F_WRLCK, SEEK_SET, 0, 1));
  R("F_DUPFD on O_PATH", fcntl(path, F_DUPFD, 0) >= 0);
  R("F_DUPFD_CLOEXEC on O_PATH", fcntl(path, F_DUPFD_CLOEXEC, 0) >= 0);
  R("F_SETFD on O_PATH", fcntl(path, F_SETFD, FD_CLOEXEC));
  R("F_GETFD on O_PATH", fcntl(path, F_GETFD));
  /* every other command is EBADF on O_PATH, before its argument */
  static const struct {
    const char *name;
    int cmd;
  } others[] = {
      {"F_GETOWN", F_GETOWN},         {"F_SETOWN", F_SETOWN},
      {"F_GETOWN_EX", F_GETOWN_EX},   {"F_SETOWN_EX", F_SETOWN_EX},
      {"F_GETSIG", F_GETSIG},         {"F_SETSIG", F_SETSIG},
      {"F_GETLEASE", F_GETLEASE},     {"F_NOTIFY", F_NOTIFY},
      {"F_GETPIPE_SZ", F_GETPIPE_SZ}, {"F_SETPIPE_SZ", F_SETPIPE_SZ},
      {"F_ADD_SEALS", F_ADD_SEALS},   {"F_GET_SEALS", F_GET_SEALS},
      {"F_OFD_SETLK", F_OFD_SETLK},   {"cmd 12345", 12345},
  };
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
    char label[64];
    snprintf(label, sizeof label, "%s on O_PATH", others[i].name);
    R(label, syscall(SYS_fcntl, path, others[i].cmd, 0L));
  }

  printf("-- other commands\n");
  R("F_GETPIPE_SZ on a file", fcntl(fd, F_GETPIPE_SZ));
  R("F_SETPIPE_SZ on a file", fcntl(fd, F_SETPIPE_SZ, 4096));
  R("cmd 12345", fcntl(fd, 12345));
  R("cmd -1", syscall(SYS_fcntl, fd, -1, 0));
  R("cmd 1029 (F_CANCELLK)", fcntl(fd, 1029));
  R("cmd 12345 on a bad fd", fcntl(99, 12345));
  R("cmd 12345 on fd -1", fcntl(-1, 12345));
  R("F_GETFD on fd -1", fcntl(-1, F_GETFD));
  R("F_SETOWN_EX NULL on a bad fd", fcntl(99, F_SETOWN_EX, NULL));
  R("F_GETOWN_EX NULL on a bad fd", fcntl(99, F_GETOWN_EX, NULL));
  R("F_GETLEASE on a file", fcntl(fd, F_GETLEASE));

  printf("-- integer arguments are ints\n");
  R("F_DUPFD 2^32+50", syscall(SYS_fcntl, fd, F_DUPFD, (1L << 32) | 50));
  R("F_DUPFD_CLOEXEC 2^32+60",
    syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, (1L << 32) | 60));
  R("its FD_CLOEXEC", fcntl(60, F_GETFD));
  R("F_SETFD 2^32", syscall(SYS_fcntl, 60, F_SETFD, 1L << 32));
  R("F_GETFD", fcntl(60, F_GETFD));
  R("F_SETSIG 2^32+10", syscall(SYS_fcntl, fd, F_SETSIG, (1L << 32) | 10));
  R("F_GETSIG", fcntl(fd, F_GETSIG));
  R("F_SETSIG -1", syscall(SYS_fcntl, fd, F_SETSIG, -1L));
  R("F_SETSIG 2^32-1", syscall(SYS_fcntl, fd, F_SETSIG, 0xffffffffL));
  R("F_GETSIG", fcntl(fd, F_GETSIG));
  R("F_SETOWN 2^32", syscall(SYS_fcntl, fd, F_SETOWN, 1L << 32));
  R("F_GETOWN", fcntl(fd, F_GETOWN));
  R("F_SETFL 2^32|O_NONBLOCK",
    syscall(SYS_fcntl, fd, F_SETFL, (1L << 32) | O_NONBLOCK));
  printf("F_GETFL: %#o\n", fcntl(fd, F_GETFL) & shown);
  int p[2];
  if (pipe(p) < 0)
    exit(2);
  R("F_SETPIPE_SZ 2^32+8192",
    syscall(SYS_fcntl, p[0], F_SETPIPE_SZ, (1L << 32) | 8192));
  R("F_GETPIPE_SZ", fcntl(p[1], F_GETPIPE_SZ));
  close(p[0]);
  close(p[1]);
  close(path);
  close(fd);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("fcntl_cmds");
  test_other_process();
  test_ranges();
  test_fds();
  return 0;
}
