/* Advisory file locks between processes: flock(2) (exclusion, shared and
 * exclusive, conversion, a description shared through fork, a blocked
 * lock woken by the holder's close, a signal cutting a wait short), POSIX
 * record locks (F_GETLK reports, ranges from SEEK_CUR/SEEK_END and
 * negative lengths, splitting and merging, release on closing any fd of
 * the file and at exit, no inheritance through fork, access modes,
 * EDEADLK), OFD locks, and SQLite's locking protocol. Children never
 * print: they report numbers through a pipe and the parent prints, so
 * the output is the same in every run (pids are shown by whose they
 * are). */
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

static int g_up[2];   /* child -> parent */
static int g_down[2]; /* parent -> child */
static pid_t g_child;

static void put(int fd, int v) {
  if (write(fd, &v, sizeof v) != sizeof v)
    _exit(3);
}

static int get(int fd) {
  int v;
  if (read(fd, &v, sizeof v) != sizeof v)
    return -9999;
  return v;
}

/* 0 for success, else errno. */
static int code(long r) {
  return r < 0 ? errno : 0;
}

static void show(const char *label, int c) {
  if (c == -9999)
    printf("%s: no report\n", label);
  else if (c)
    printf("%s: -1 %s\n", label, errname(c));
  else
    printf("%s: ok\n", label);
}

static void pause_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* Fork a child running fn (it never returns to main: atexit would remove
 * the work directory). */
static void start_child(void (*fn)(void)) {
  if (pipe(g_up) < 0 || pipe(g_down) < 0) {
    printf("pipe: %s\n", errname(errno));
    exit(2);
  }
  g_child = fork();
  if (g_child < 0) {
    printf("fork: %s\n", errname(errno));
    exit(2);
  }
  if (g_child == 0) {
    close(g_up[0]);
    close(g_down[1]);
    fn();
    _exit(0);
  }
  close(g_up[1]);
  close(g_down[0]);
}

static int reap_child(void) {
  int st = 0;
  if (waitpid(g_child, &st, 0) < 0)
    return -1;
  close(g_up[0]);
  close(g_down[1]);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Does the child report within ms? (It should not while it is blocked.) */
static int child_reports_within(int ms) {
  struct pollfd p = {.fd = g_up[0], .events = POLLIN};
  return poll(&p, 1, ms) > 0;
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
  if (pid == getppid())
    return "the parent's pid";
  return "another pid";
}

static int setlk(int fd, int cmd, short type, off_t start, off_t len) {
  struct flock fl = {
      .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  return code(fcntl(fd, cmd, &fl));
}

static void getlk(const char *label, int fd, int cmd, short type, short whence,
                  off_t start, off_t len) {
  struct flock fl = {
      .l_type = type, .l_whence = whence, .l_start = start, .l_len = len};
  if (fcntl(fd, cmd, &fl) < 0) {
    printf("%s: -1 %s\n", label, errname(errno));
    return;
  }
  if (fl.l_type == F_UNLCK) {
    printf("%s: unlocked\n", label);
    return;
  }
  printf("%s: %s lock, whence %d start %lld len %lld, l_pid %s\n", label,
         fl.l_type == F_RDLCK   ? "read"
         : fl.l_type == F_WRLCK ? "write"
                                : "odd",
         fl.l_whence, (long long)fl.l_start, (long long)fl.l_len,
         whose(fl.l_pid));
}

static int open_rw(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT, 0644);
  if (fd < 0) {
    printf("open %s: %s\n", path, errname(errno));
    exit(2);
  }
  return fd;
}

/* ---- flock: exclusion between processes ------------------------------- */

static void flock_exclusion_child(void) {
  int fd = open_rw("f1");
  put(g_up[1], code(flock(fd, LOCK_EX | LOCK_NB)));
  get(g_down[0]); /* the parent unlocked */
  put(g_up[1], code(flock(fd, LOCK_EX | LOCK_NB)));
  get(g_down[0]);
}

static void test_flock_exclusion(void) {
  printf("-- flock exclusion\n");
  int fd = open_rw("f1");
  show("parent LOCK_EX", code(flock(fd, LOCK_EX)));
  show("parent LOCK_EX again (held)", code(flock(fd, LOCK_EX | LOCK_NB)));
  start_child(flock_exclusion_child);
  show("child LOCK_EX|LOCK_NB while parent holds it", get(g_up[0]));
  show("parent LOCK_UN", code(flock(fd, LOCK_UN)));
  put(g_down[1], 1);
  show("child LOCK_EX|LOCK_NB after the unlock", get(g_up[0]));
  show("parent LOCK_SH|LOCK_NB while the child holds it",
       code(flock(fd, LOCK_SH | LOCK_NB)));
  put(g_down[1], 1);
  printf("child exit: %d\n", reap_child());
  show("parent LOCK_EX|LOCK_NB after the child's exit",
       code(flock(fd, LOCK_EX | LOCK_NB)));
  show("flock bad op", code(flock(fd, LOCK_SH | LOCK_EX)));
  show("flock bad fd", code(flock(-1, LOCK_SH)));
  int dir = open(".", O_RDONLY | O_DIRECTORY);
  show("flock on a directory", code(flock(dir, LOCK_EX | LOCK_NB)));
  close(dir);
  close(fd);
}

/* ---- flock: shared and exclusive, conversion ------------------------- */

static void flock_shared_child(void) {
  int fd = open_rw("f2");
  put(g_up[1], code(flock(fd, LOCK_SH | LOCK_NB)));
  /* A failed conversion drops the shared lock first (Linux and BSD). */
  put(g_up[1], code(flock(fd, LOCK_EX | LOCK_NB)));
  get(g_down[0]);
  put(g_up[1], code(flock(fd, LOCK_SH | LOCK_NB)));
  get(g_down[0]);
}

static void test_flock_shared(void) {
  printf("-- flock shared and exclusive\n");
  int fd = open_rw("f2");
  show("parent LOCK_SH", code(flock(fd, LOCK_SH)));
  start_child(flock_shared_child);
  show("child LOCK_SH|LOCK_NB beside the parent's", get(g_up[0]));
  show("child converts to LOCK_EX|LOCK_NB", get(g_up[0]));
  show("parent converts to LOCK_EX|LOCK_NB (the child lost its lock)",
       code(flock(fd, LOCK_EX | LOCK_NB)));
  put(g_down[1], 1);
  show("child LOCK_SH|LOCK_NB under the parent's LOCK_EX", get(g_up[0]));
  show("parent converts down to LOCK_SH", code(flock(fd, LOCK_SH | LOCK_NB)));
  put(g_down[1], 1);
  printf("child exit: %d\n", reap_child());
  close(fd);
}

/* ---- flock: one open file description through fork ------------------- */

static int g_fd;

static void flock_inherit_child(void) {
  int other = open_rw("f3");
  put(g_up[1], code(flock(other, LOCK_EX | LOCK_NB)));
  put(g_up[1], code(flock(g_fd, LOCK_EX | LOCK_NB))); /* its own already */
  put(g_up[1], code(flock(g_fd, LOCK_UN)));
  put(g_up[1], code(flock(other, LOCK_EX | LOCK_NB)));
  flock(other, LOCK_UN);
}

static void test_flock_inherit(void) {
  printf("-- flock through fork\n");
  g_fd = open_rw("f3");
  show("parent LOCK_EX", code(flock(g_fd, LOCK_EX)));
  start_child(flock_inherit_child);
  show("child, own open, LOCK_EX|LOCK_NB", get(g_up[0]));
  show("child, inherited fd, LOCK_EX|LOCK_NB", get(g_up[0]));
  show("child, inherited fd, LOCK_UN", get(g_up[0]));
  show("child, own open, LOCK_EX|LOCK_NB after that", get(g_up[0]));
  printf("child exit: %d\n", reap_child());
  int other = open_rw("f3");
  show("parent, second open, LOCK_EX|LOCK_NB (the lock is gone)",
       code(flock(other, LOCK_EX | LOCK_NB)));
  close(other);
  close(g_fd);
}

/* ---- flock: a blocked lock woken by the holder's last close ---------- */

static int g_fd2;

static void flock_block_child(void) {
  /* The description must not live on in the child. */
  close(g_fd);
  close(g_fd2);
  int fd = open_rw("f4");
  put(g_up[1], 0); /* about to block */
  put(g_up[1], code(flock(fd, LOCK_EX)));
}

static void test_flock_block(void) {
  printf("-- flock blocking\n");
  int fd = open_rw("f4");
  show("parent LOCK_EX", code(flock(fd, LOCK_EX)));
  int dup_fd = dup(fd);
  g_fd = fd;
  g_fd2 = dup_fd;
  start_child(flock_block_child);
  get(g_up[0]);
  FACT("child reported while blocked", child_reports_within(200));
  close(fd);
  FACT("child reported after closing one of two fds",
       child_reports_within(200));
  close(dup_fd);
  show("child LOCK_EX after the last close", get(g_up[0]));
  printf("child exit: %d\n", reap_child());
}

/* ---- signals cut a blocked wait short ------------------------------- */

static volatile sig_atomic_t g_handled;

static void on_alarm(int sig) {
  (void)sig;
  g_handled++;
}

/* SIGALRM every 50 ms: one of them comes while the call is asleep,
 * however late the child gets there. */
static void arm_timer(int restart) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 50000}, {0, 50000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm_timer(void) {
  struct itimerval it = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &it, NULL);
}

static void signal_child(void) {
  int fd = open_rw("f5");
  arm_timer(0);
  int rc = setlk(fd, F_SETLKW, F_WRLCK, 0, 0);
  disarm_timer();
  put(g_up[1], rc);
  arm_timer(0);
  rc = code(flock(fd, LOCK_EX));
  disarm_timer();
  put(g_up[1], rc);
  /* With SA_RESTART the wait goes on after the handler. */
  put(g_up[1], 0);
  arm_timer(1);
  int before = g_handled;
  rc = setlk(fd, F_SETLKW, F_WRLCK, 0, 0);
  int during = g_handled - before;
  disarm_timer();
  put(g_up[1], rc);
  put(g_up[1], during > 0);
}

static void test_signal(void) {
  printf("-- a signal during a wait\n");
  int fd = open_rw("f5");
  show("parent F_SETLK write", setlk(fd, F_SETLK, F_WRLCK, 0, 0));
  show("parent LOCK_EX", code(flock(fd, LOCK_EX)));
  start_child(signal_child);
  show("child F_SETLKW, handler without SA_RESTART", get(g_up[0]));
  show("child flock LOCK_EX, handler without SA_RESTART", get(g_up[0]));
  get(g_up[0]);
  FACT("child reported during the SA_RESTART wait", child_reports_within(400));
  show("parent F_SETLK unlock", setlk(fd, F_SETLK, F_UNLCK, 0, 0));
  show("child F_SETLKW, handler with SA_RESTART", get(g_up[0]));
  printf("handler ran during that wait: %d\n", get(g_up[0]));
  printf("child exit: %d\n", reap_child());
  close(fd);
}

/* ---- POSIX record locks: ranges, F_GETLK ----------------------------- */

enum {
  DO_UNLOCK_MIDDLE = 1,
  DO_RELOCK_MIDDLE,
  DO_EXTEND,
  DO_READ_MIDDLE,
  DO_DONE
};

static void ranges_child(void) {
  int fd = open_rw("r1");
  int rc = setlk(fd, F_SETLK, F_WRLCK, 10, 10);
  if (!rc)
    rc = setlk(fd, F_SETLK, F_RDLCK, 100, 0);
  put(g_up[1], rc);
  for (;;) {
    switch (get(g_down[0])) {
    case DO_UNLOCK_MIDDLE:
      put(g_up[1], setlk(fd, F_SETLK, F_UNLCK, 13, 4));
      break;
    case DO_RELOCK_MIDDLE:
      put(g_up[1], setlk(fd, F_SETLK, F_WRLCK, 13, 4));
      break;
    case DO_EXTEND:
      put(g_up[1], setlk(fd, F_SETLK, F_WRLCK, 20, 10));
      break;
    case DO_READ_MIDDLE:
      put(g_up[1], setlk(fd, F_SETLK, F_RDLCK, 15, 1));
      break;
    default:
      return;
    }
  }
}

static void ask(int what, const char *label) {
  put(g_down[1], what);
  show(label, get(g_up[0]));
}

static void test_ranges(void) {
  printf("-- record locks: ranges\n");
  int fd = open_rw("r1");
  if (write(fd, "0123456789012345678901234567890123456789", 40) != 40)
    printf("write failed\n");
  start_child(ranges_child);
  show("child locks write [10,20) and read [100,EOF)", get(g_up[0]));
  getlk("GETLK write [0,5)", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 5);
  getlk("GETLK write [0,15)", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 15);
  getlk("GETLK read [100,101)", fd, F_GETLK, F_RDLCK, SEEK_SET, 100, 1);
  getlk("GETLK write [150,151)", fd, F_GETLK, F_WRLCK, SEEK_SET, 150, 1);
  getlk("GETLK write [1000,EOF)", fd, F_GETLK, F_WRLCK, SEEK_SET, 1000, 0);
  lseek(fd, 12, SEEK_SET);
  getlk("GETLK write SEEK_CUR+0 len 1", fd, F_GETLK, F_WRLCK, SEEK_CUR, 0, 1);
  getlk("GETLK write SEEK_CUR+0 len -5", fd, F_GETLK, F_WRLCK, SEEK_CUR, 0, -5);
  getlk("GETLK write SEEK_CUR-12 len -1", fd, F_GETLK, F_WRLCK, SEEK_CUR, -12,
        -1);
  getlk("GETLK write SEEK_SET-1", fd, F_GETLK, F_WRLCK, SEEK_SET, -1, 1);
  getlk("GETLK write SEEK_END-25 len 2", fd, F_GETLK, F_WRLCK, SEEK_END, -25,
        2);
  getlk("GETLK write SEEK_END+60", fd, F_GETLK, F_WRLCK, SEEK_END, 60, 1);
  getlk("GETLK whence 9", fd, F_GETLK, F_WRLCK, 9, 0, 1);
  getlk("GETLK type F_UNLCK", fd, F_GETLK, F_UNLCK, SEEK_SET, 0, 1);
  getlk("GETLK type 7", fd, F_GETLK, 7, SEEK_SET, 0, 1);
  show("parent F_SETLK write [15,16)", setlk(fd, F_SETLK, F_WRLCK, 15, 1));
  show("parent F_SETLK read [15,16)", setlk(fd, F_SETLK, F_RDLCK, 15, 1));
  show("parent F_SETLK read [100,200)", setlk(fd, F_SETLK, F_RDLCK, 100, 100));
  show("parent F_SETLK write [0,10)", setlk(fd, F_SETLK, F_WRLCK, 0, 10));
  show("parent F_SETLK type 7", setlk(fd, F_SETLK, 7, 0, 1));
  show("parent F_SETLKW over its own lock", setlk(fd, F_SETLKW, F_WRLCK, 0, 5));
  getlk("GETLK start INT64_MAX len 2", fd, F_GETLK, F_WRLCK, SEEK_SET,
        INT64_MAX, 2);
  getlk("GETLK start INT64_MAX len 1", fd, F_GETLK, F_WRLCK, SEEK_SET,
        INT64_MAX, 1);
  getlk("GETLK SEEK_END+INT64_MAX", fd, F_GETLK, F_WRLCK, SEEK_END, INT64_MAX,
        1);

  ask(DO_UNLOCK_MIDDLE, "child unlocks [13,17)");
  getlk("GETLK write [10,100)", fd, F_GETLK, F_WRLCK, SEEK_SET, 10, 90);
  getlk("GETLK write [13,100)", fd, F_GETLK, F_WRLCK, SEEK_SET, 13, 87);
  getlk("GETLK write [13,17)", fd, F_GETLK, F_WRLCK, SEEK_SET, 13, 4);
  show("parent F_SETLK write [13,17)", setlk(fd, F_SETLK, F_WRLCK, 13, 4));
  show("parent F_SETLK unlock [13,17)", setlk(fd, F_SETLK, F_UNLCK, 13, 4));
  ask(DO_RELOCK_MIDDLE, "child locks [13,17) again");
  getlk("GETLK write [10,100) (merged)", fd, F_GETLK, F_WRLCK, SEEK_SET, 10,
        90);
  ask(DO_EXTEND, "child locks [20,30)");
  getlk("GETLK write [10,100) (merged)", fd, F_GETLK, F_WRLCK, SEEK_SET, 10,
        90);
  ask(DO_READ_MIDDLE, "child turns [15,16) into a read lock");
  getlk("GETLK read [10,100)", fd, F_GETLK, F_RDLCK, SEEK_SET, 10, 90);
  getlk("GETLK read [15,16)", fd, F_GETLK, F_RDLCK, SEEK_SET, 15, 1);
  getlk("GETLK read [15,100)", fd, F_GETLK, F_RDLCK, SEEK_SET, 15, 85);
  getlk("GETLK write [15,16)", fd, F_GETLK, F_WRLCK, SEEK_SET, 15, 1);
  put(g_down[1], DO_DONE);
  printf("child exit: %d\n", reap_child());
  getlk("GETLK write [0,EOF) after the child's exit", fd, F_GETLK, F_WRLCK,
        SEEK_SET, 0, 0);
  close(fd);

  int ro = open("r1", O_RDONLY), wo = open("r1", O_WRONLY);
  show("read lock on O_WRONLY", setlk(wo, F_SETLK, F_RDLCK, 0, 1));
  show("write lock on O_RDONLY", setlk(ro, F_SETLK, F_WRLCK, 0, 1));
  show("unlock on O_RDONLY", setlk(ro, F_SETLK, F_UNLCK, 0, 1));
  getlk("GETLK write on O_RDONLY", ro, F_GETLK, F_WRLCK, SEEK_SET, 0, 1);
  int path = open("r1", O_PATH);
  show("read lock on O_PATH", setlk(path, F_SETLK, F_RDLCK, 0, 1));
  show("lock on a bad fd", setlk(-1, F_SETLK, F_RDLCK, 0, 1));
  show("GETLK with a bad pointer", code(fcntl(ro, F_GETLK, (void *)8)));
  close(path);
  close(ro);
  close(wo);
}

/* ---- POSIX locks: owners, close, exit, fork -------------------------- */

static void posix_owner_child(void) {
  int fd = open_rw("r2");
  int rc = setlk(fd, F_SETLK, F_WRLCK, 0, 10);
  put(g_up[1], rc);
  get(g_down[0]);
  /* Closing another descriptor of the file, opened through a hard link,
   * drops the locks taken through fd. */
  int other = open("r2-link", O_RDONLY);
  put(g_up[1], code(close(other)));
  get(g_down[0]);
  /* Take new ones, then end without closing anything. */
  rc = setlk(fd, F_SETLK, F_WRLCK, 0, 0);
  if (!rc)
    rc = code(flock(fd, LOCK_EX));
  put(g_up[1], rc);
  get(g_down[0]);
  _exit(7);
}

static void posix_fork_child(void) {
  int fd = open_rw("r2");
  struct flock fl = {
      .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
  int rc = code(fcntl(fd, F_GETLK, &fl));
  put(g_up[1], rc ? -rc : fl.l_type);
  put(g_up[1], fl.l_pid == getppid());
  put(g_up[1], setlk(g_fd, F_SETLK, F_WRLCK, 0, 1)); /* not inherited */
  put(g_up[1], setlk(g_fd, F_SETLK, F_UNLCK, 0, 0)); /* not its own */
  fl.l_type = F_WRLCK;
  rc = code(fcntl(fd, F_GETLK, &fl));
  put(g_up[1], rc ? -rc : fl.l_type);
}

static void test_posix_owner(void) {
  printf("-- record locks: owners\n");
  int fd = open_rw("r2");
  if (link("r2", "r2-link") < 0)
    printf("link: %s\n", errname(errno));
  start_child(posix_owner_child);
  show("child locks write [0,10)", get(g_up[0]));
  int via_link = open("r2-link", O_RDWR);
  getlk("GETLK through the hard link", via_link, F_GETLK, F_WRLCK, SEEK_SET, 0,
        1);
  put(g_down[1], 1);
  show("child closes another fd of the file", get(g_up[0]));
  getlk("GETLK after that close", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 1);
  put(g_down[1], 1);
  show("child locks write [0,EOF) and LOCK_EX", get(g_up[0]));
  getlk("GETLK before the child's exit", fd, F_GETLK, F_RDLCK, SEEK_SET, 5, 1);
  show("parent LOCK_EX|LOCK_NB before the child's exit",
       code(flock(fd, LOCK_EX | LOCK_NB)));
  put(g_down[1], 1);
  printf("child exit: %d\n", reap_child());
  getlk("GETLK after the child's exit", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 0);
  show("parent LOCK_EX|LOCK_NB after the child's exit",
       code(flock(fd, LOCK_EX | LOCK_NB)));
  flock(fd, LOCK_UN);

  /* The parent's locks: never inherited by a child. */
  show("parent locks write [0,10)", setlk(fd, F_SETLK, F_WRLCK, 0, 10));
  show("parent locks write [0,10) again (its own)",
       setlk(via_link, F_SETLK, F_WRLCK, 0, 10));
  g_fd = fd;
  start_child(posix_fork_child);
  int type = get(g_up[0]);
  printf("child GETLK type: %s\n", type == F_WRLCK ? "write" : "other");
  printf("child GETLK l_pid is the parent's: %d\n", get(g_up[0]));
  show("child F_SETLK on the inherited fd", get(g_up[0]));
  show("child F_UNLCK on the inherited fd", get(g_up[0]));
  type = get(g_up[0]);
  printf("child GETLK type after that: %s\n",
         type == F_WRLCK ? "write" : "other");
  printf("child exit: %d\n", reap_child());
  g_child = 0;
  getlk("GETLK of my own lock", fd, F_GETLK, F_WRLCK, SEEK_SET, 0, 1);
  close(via_link);
  close(fd);
}

/* ---- EDEADLK --------------------------------------------------------- */

static void deadlock_child(void) {
  int fd = open_rw("r3");
  put(g_up[1], setlk(fd, F_SETLK, F_WRLCK, 1, 1));
  int rc = setlk(fd, F_SETLKW, F_WRLCK, 0, 1);
  _exit(rc == EDEADLK ? 1 : rc ? 2 : 0);
}

static void test_deadlock(void) {
  printf("-- record locks: deadlock\n");
  int fd = open_rw("r3");
  show("parent locks byte 0", setlk(fd, F_SETLK, F_WRLCK, 0, 1));
  start_child(deadlock_child);
  show("child locks byte 1", get(g_up[0]));
  pause_ms(100); /* the child should be asleep on byte 0 by now */
  int rc = setlk(fd, F_SETLKW, F_WRLCK, 1, 1);
  if (rc == EDEADLK)
    setlk(fd, F_SETLK, F_UNLCK, 0, 1); /* let the child have it */
  int child = reap_child();
  /* Whichever closed the cycle (the parent, unless the child was slow
   * to block) is told EDEADLK; the other one gets its lock. */
  FACT("exactly one of the two got EDEADLK", (rc == EDEADLK) != (child == 1));
  FACT("the other one got its lock", rc == EDEADLK ? child == 0 : rc == 0);
  close(fd);
}

/* ---- OFD locks -------------------------------------------------------- */

static void ofd_child(void) {
  int own = open_rw("o1");
  put(g_up[1], setlk(g_fd, F_OFD_SETLK, F_WRLCK, 0, 10));
  put(g_up[1], setlk(own, F_OFD_SETLK, F_WRLCK, 0, 10));
}

static void test_ofd(void) {
  printf("-- OFD locks\n");
  int a = open_rw("o1"), b = open_rw("o1");
  show("OFD write [0,10) on a", setlk(a, F_OFD_SETLK, F_WRLCK, 0, 10));
  show("OFD write [5,6) on b (same process)",
       setlk(b, F_OFD_SETLK, F_WRLCK, 5, 1));
  show("OFD read [20,30) on b", setlk(b, F_OFD_SETLK, F_RDLCK, 20, 10));
  getlk("OFD GETLK on b", b, F_OFD_GETLK, F_WRLCK, SEEK_SET, 0, 0);
  getlk("OFD GETLK on a", a, F_OFD_GETLK, F_WRLCK, SEEK_SET, 0, 0);
  getlk("GETLK (POSIX) on b", b, F_GETLK, F_WRLCK, SEEK_SET, 0, 0);
  show("POSIX write [5,6) beside the OFD lock",
       setlk(a, F_SETLK, F_WRLCK, 5, 1));
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_pid = 1};
  show("OFD SETLK with l_pid 1", code(fcntl(a, F_OFD_SETLK, &fl)));
  show("OFD GETLK with l_pid 1", code(fcntl(a, F_OFD_GETLK, &fl)));
  g_fd = a;
  start_child(ofd_child);
  show("child OFD write on the inherited description", get(g_up[0]));
  show("child OFD write on its own open", get(g_up[0]));
  printf("child exit: %d\n", reap_child());
  g_child = 0;
  close(b);
  int c = open_rw("o1");
  getlk("OFD GETLK after closing b", c, F_OFD_GETLK, F_WRLCK, SEEK_SET, 0, 0);
  int a2 = dup(a);
  close(a);
  getlk("OFD GETLK after closing a (a dup is open)", c, F_OFD_GETLK, F_WRLCK,
        SEEK_SET, 0, 0);
  close(a2);
  getlk("OFD GETLK after closing the dup", c, F_OFD_GETLK, F_WRLCK, SEEK_SET, 0,
        0);
  show("OFD SETLKW write [0,EOF) on c", setlk(c, F_OFD_SETLKW, F_WRLCK, 0, 0));
  close(c);
}

/* ---- SQLite's protocol (os_unix.c): a writer holds RESERVED, readers
 * hold SHARED, the commit needs PENDING then EXCLUSIVE. ---------------- */

#define PENDING 0x40000000
#define RESERVED (PENDING + 1)
#define SHARED_FIRST (PENDING + 2)
#define SHARED_SIZE 510

static void sqlite_child(void) {
  int fd = open_rw("db");
  /* A reader: SHARED needs PENDING briefly, then the shared range. */
  int rc = setlk(fd, F_SETLK, F_RDLCK, PENDING, 1);
  if (!rc)
    rc = setlk(fd, F_SETLK, F_RDLCK, SHARED_FIRST, SHARED_SIZE);
  if (!rc)
    rc = setlk(fd, F_SETLK, F_UNLCK, PENDING, 1);
  put(g_up[1], rc);
  put(g_up[1], setlk(fd, F_SETLK, F_WRLCK, RESERVED, 1));
  get(g_down[0]);
  put(g_up[1], setlk(fd, F_SETLK, F_RDLCK, PENDING, 1)); /* new reader */
  put(g_up[1], setlk(fd, F_SETLK, F_UNLCK, 0, 0));       /* done reading */
  get(g_down[0]);
}

static void test_sqlite(void) {
  printf("-- SQLite's protocol\n");
  int fd = open_rw("db");
  int rc = setlk(fd, F_SETLK, F_RDLCK, PENDING, 1);
  if (!rc)
    rc = setlk(fd, F_SETLK, F_RDLCK, SHARED_FIRST, SHARED_SIZE);
  if (!rc)
    rc = setlk(fd, F_SETLK, F_UNLCK, PENDING, 1);
  show("writer SHARED", rc);
  show("writer RESERVED", setlk(fd, F_SETLK, F_WRLCK, RESERVED, 1));
  start_child(sqlite_child);
  show("reader SHARED", get(g_up[0]));
  show("reader RESERVED while the writer has it", get(g_up[0]));
  show("writer PENDING", setlk(fd, F_SETLK, F_WRLCK, PENDING, 1));
  show("writer EXCLUSIVE while a reader reads",
       setlk(fd, F_SETLK, F_WRLCK, SHARED_FIRST, SHARED_SIZE));
  put(g_down[1], 1);
  show("a new reader while PENDING", get(g_up[0]));
  show("reader unlocks", get(g_up[0]));
  show("writer EXCLUSIVE",
       setlk(fd, F_SETLK, F_WRLCK, SHARED_FIRST, SHARED_SIZE));
  getlk("GETLK of the whole lock area", fd, F_GETLK, F_WRLCK, SEEK_SET, PENDING,
        0);
  put(g_down[1], 1);
  printf("child exit: %d\n", reap_child());
  close(fd);
}

/* ---- mutual exclusion under contention ------------------------------ */

#define WORKERS 4
#define ROUNDS 100

/* Read a number from the file, yield, write it back plus one: without
 * the lock, increments get lost. */
static void bump(int fd) {
  char buf[16] = {0};
  if (pread(fd, buf, sizeof buf - 1, 0) < 0)
    _exit(5);
  int n = atoi(buf);
  sched_yield();
  int len = snprintf(buf, sizeof buf, "%d\n", n + 1);
  if (pwrite(fd, buf, (size_t)len, 0) != len)
    _exit(5);
}

static void contend(const char *path, int use_flock) {
  pid_t pids[WORKERS];
  write_file(path, "0\n");
  for (int w = 0; w < WORKERS; w++) {
    pids[w] = fork();
    if (pids[w] == 0) {
      int fd = open_rw(path);
      for (int i = 0; i < ROUNDS; i++) {
        int rc = use_flock ? code(flock(fd, LOCK_EX))
                           : setlk(fd, F_SETLKW, F_WRLCK, 0, 0);
        if (rc)
          _exit(6);
        bump(fd);
        rc = use_flock ? code(flock(fd, LOCK_UN))
                       : setlk(fd, F_SETLK, F_UNLCK, 0, 0);
        if (rc)
          _exit(6);
      }
      _exit(0);
    }
  }
  int bad = 0;
  for (int w = 0; w < WORKERS; w++) {
    int st = 0;
    if (waitpid(pids[w], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
      bad++;
  }
  printf("%s: %d workers failed, counter %s", use_flock ? "flock" : "F_SETLKW",
         bad, read_file(path));
}

static void test_contention(void) {
  printf("-- %d processes x %d locked increments\n", WORKERS, ROUNDS);
  contend("c1", 1);
  contend("c2", 0);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("locks");
  test_flock_exclusion();
  test_flock_shared();
  test_flock_inherit();
  test_flock_block();
  test_signal();
  test_ranges();
  test_posix_owner();
  test_deadlock();
  test_ofd();
  test_sqlite();
  test_contention();
  return 0;
}
