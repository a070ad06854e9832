/* Corners programs check, each with Linux's answer: getcwd into a short
 * buffer, SA_RESETHAND with SA_SIGINFO, clone3's size and flag errors,
 * personality, sched_getaffinity of a bad pid, dup3 onto itself,
 * preadv2/pwritev2 flags (RWF_NOWAIT on an empty pipe, RWF_APPEND, an
 * unknown flag), lseek SEEK_DATA/SEEK_HOLE, close_range's flags,
 * sched_rr_get_interval, membarrier, epoll loops and nesting depth,
 * openat2 with its RESOLVE_* flags and its EINVAL/E2BIG rules, and
 * futex_waitv. Raw syscall numbers so that glibc and musl make the same
 * calls. Output is identical natively and in moat. */
#include "guest.h"

#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#define NR_clone3 435
#define NR_close_range 436
#define NR_openat2 437
#define NR_futex_waitv 449
#define NR_preadv2 327
#define NR_pwritev2 328
#define NR_membarrier 324
#define NR_personality 135

static long sc(long nr, long a, long b, long c, long d, long e, long f) {
  errno = 0;
  return syscall(nr, a, b, c, d, e, f);
}

/* ---- getcwd ---- */

static void cwd(void) {
  char buf[4096];
  R("getcwd size 1", sc(SYS_getcwd, (long)buf, 1, 0, 0, 0, 0));
  R("getcwd size 0", sc(SYS_getcwd, (long)buf, 0, 0, 0, 0, 0));
  long n = sc(SYS_getcwd, (long)buf, sizeof(buf), 0, 0, 0, 0);
  FACT("getcwd returns the length with the NUL", n == (long)strlen(buf) + 1);
  R("getcwd exact size", sc(SYS_getcwd, (long)buf, n, 0, 0, 0, 0) == n);
  R("getcwd one short", sc(SYS_getcwd, (long)buf, n - 1, 0, 0, 0, 0));
  R("getcwd bad buffer", sc(SYS_getcwd, 8, sizeof(buf), 0, 0, 0, 0));
}

/* ---- SA_RESETHAND ---- */

static volatile int g_got;
static void on_sig(int sig, siginfo_t *si, void *uc) {
  struct sigaction now;
  sigaction(SIGUSR1, NULL, &now);
  g_got = 1 + (now.sa_handler == SIG_DFL) * 2 + (si->si_signo == SIGUSR1) * 4;
}

static void resethand(void) {
  struct sigaction sa = {0}, old;
  sa.sa_sigaction = on_sig;
  sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  printf("SA_RESETHAND: in handler %d (1 + 2 reset + 4 siginfo)\n", g_got);
  sigaction(SIGUSR1, NULL, &old);
  printf("SA_RESETHAND: after: default %d, SA_SIGINFO kept %d, "
         "SA_RESETHAND kept %d\n",
         old.sa_handler == SIG_DFL, !!(old.sa_flags & SA_SIGINFO),
         !!(old.sa_flags & SA_RESETHAND));
  signal(SIGUSR1, SIG_DFL);
}

/* ---- clone3 ---- */

struct clone_args_v2 {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
      tls, set_tid, set_tid_size, cgroup;
};

static void clone3_errors(void) {
  struct {
    struct clone_args_v2 a;
    uint64_t extra[8];
  } big;
  memset(&big, 0, sizeof(big));
  big.a.exit_signal = SIGCHLD;
  R("clone3 size 0", sc(NR_clone3, (long)&big, 0, 0, 0, 0, 0));
  R("clone3 size 63", sc(NR_clone3, (long)&big, 63, 0, 0, 0, 0));
  R("clone3 size 4097", sc(NR_clone3, (long)&big, 4097, 0, 0, 0, 0));
  big.extra[2] = 1;
  R("clone3 non-zero bytes past the struct",
    sc(NR_clone3, (long)&big, sizeof(big), 0, 0, 0, 0));
  big.extra[2] = 0;
  R("clone3 bad pointer", sc(NR_clone3, 8, 88, 0, 0, 0, 0));
  big.a.flags = 1ull << 40;
  R("clone3 unknown flag", sc(NR_clone3, (long)&big, 88, 0, 0, 0, 0));
  big.a.flags = SIGCHLD; /* the exit signal goes in its own field */
  R("clone3 CSIGNAL bits", sc(NR_clone3, (long)&big, 88, 0, 0, 0, 0));
  big.a.flags = 0;
  big.a.exit_signal = 65;
  R("clone3 exit_signal 65", sc(NR_clone3, (long)&big, 88, 0, 0, 0, 0));
  big.a.exit_signal = SIGCHLD;
  big.a.flags = CLONE_THREAD;
  R("clone3 CLONE_THREAD alone", sc(NR_clone3, (long)&big, 88, 0, 0, 0, 0));
  big.a.flags = CLONE_SIGHAND;
  R("clone3 CLONE_SIGHAND without VM",
    sc(NR_clone3, (long)&big, 88, 0, 0, 0, 0));
  big.a.flags = 0;
  big.a.stack = 0x10000;
  R("clone3 stack without size", sc(NR_clone3, (long)&big, 88, 0, 0, 0, 0));
  big.a.stack = 0;
  big.a.set_tid_size = 1;
  R("clone3 set_tid_size without set_tid",
    sc(NR_clone3, (long)&big, 88, 0, 0, 0, 0));
  big.a.set_tid_size = 0;
  /* a good one past the known size: zeros are fine */
  fflush(stdout);
  long pid = sc(NR_clone3, (long)&big, sizeof(big), 0, 0, 0, 0);
  if (pid == 0)
    _exit(7);
  int st = 0;
  if (pid > 0)
    waitpid((pid_t)pid, &st, 0);
  printf("clone3 with zeros past the struct: %s, child exit %d\n",
         pid > 0 ? "ok" : errname(errno), WEXITSTATUS(st));
}

/* ---- personality, affinity, dup3 ---- */

static void misc(void) {
  R("personality query", sc(NR_personality, 0xffffffff, 0, 0, 0, 0, 0));
  R("personality ADDR_NO_RANDOMIZE (old)",
    sc(NR_personality, 0x0040000, 0, 0, 0, 0, 0));
  R("personality query after", sc(NR_personality, 0xffffffff, 0, 0, 0, 0, 0));
  fflush(stdout);
  pid_t c = fork();
  if (c == 0)
    _exit((int)(sc(NR_personality, 0xffffffff, 0, 0, 0, 0, 0) == 0x0040000));
  int st;
  waitpid(c, &st, 0);
  printf("personality inherited by fork: %d\n", WEXITSTATUS(st));
  R("personality back to PER_LINUX (old)",
    sc(NR_personality, 0, 0, 0, 0, 0, 0));
  R("personality query last", sc(NR_personality, 0xffffffff, 0, 0, 0, 0, 0));

  char mask[128];
  R("sched_getaffinity(-1)",
    sc(SYS_sched_getaffinity, -1, sizeof(mask), (long)mask, 0, 0, 0));
  R("sched_setaffinity(-1)",
    sc(SYS_sched_setaffinity, -1, sizeof(mask), (long)mask, 0, 0, 0));
  R("sched_getaffinity(no such pid)",
    sc(SYS_sched_getaffinity, 999999, sizeof(mask), (long)mask, 0, 0, 0));
  R("sched_getaffinity size 4",
    sc(SYS_sched_getaffinity, 0, 4, (long)mask, 0, 0, 0));

  int fd = open("/", O_RDONLY);
  R("dup3(fd, fd, 0)", sc(SYS_dup3, fd, fd, 0, 0, 0, 0));
  R("dup3(fd, fd, O_CLOEXEC)", sc(SYS_dup3, fd, fd, O_CLOEXEC, 0, 0, 0));
  R("dup3 bad flag", sc(SYS_dup3, fd, 100, O_NONBLOCK, 0, 0, 0));
  R("dup2(fd, fd) is fd", sc(SYS_dup2, fd, fd, 0, 0, 0, 0) == fd);
  close(fd);

  struct timespec ts = {9, 9};
  R("sched_rr_get_interval(0)",
    sc(SYS_sched_rr_get_interval, 0, (long)&ts, 0, 0, 0, 0));
  FACT("rr interval of SCHED_OTHER is zero", ts.tv_sec == 0 && ts.tv_nsec == 0);
  R("sched_rr_get_interval(-1)",
    sc(SYS_sched_rr_get_interval, -1, (long)&ts, 0, 0, 0, 0));
  R("sched_rr_get_interval(no such pid)",
    sc(SYS_sched_rr_get_interval, 999999, (long)&ts, 0, 0, 0, 0));
  R("sched_rr_get_interval bad pointer",
    sc(SYS_sched_rr_get_interval, 0, 8, 0, 0, 0, 0));

  long q = sc(NR_membarrier, 0, 0, 0, 0, 0, 0);
  FACT("membarrier QUERY has GLOBAL", q > 0 && (q & 1));
  FACT("membarrier QUERY has PRIVATE_EXPEDITED", q > 0 && (q & 8));
  R("membarrier PRIVATE_EXPEDITED before registering",
    sc(NR_membarrier, 8, 0, 0, 0, 0, 0));
  R("membarrier REGISTER_PRIVATE_EXPEDITED",
    sc(NR_membarrier, 16, 0, 0, 0, 0, 0));
  R("membarrier PRIVATE_EXPEDITED", sc(NR_membarrier, 8, 0, 0, 0, 0, 0));
  R("membarrier GLOBAL", sc(NR_membarrier, 1, 0, 0, 0, 0, 0));
  R("membarrier bad flags", sc(NR_membarrier, 1, 4, 0, 0, 0, 0));
  R("membarrier unknown command", sc(NR_membarrier, 1 << 12, 0, 0, 0, 0, 0));
}

/* ---- preadv2 / pwritev2 ---- */

static void rw2(void) {
  char buf[16];
  struct iovec iov = {buf, sizeof(buf)};
  int p[2];
  if (pipe(p) < 0)
    return;
  R("preadv2 RWF_NOWAIT on an empty pipe",
    sc(NR_preadv2, p[0], (long)&iov, 1, -1, 0, 8));
  write(p[1], "abc", 3);
  R("preadv2 RWF_NOWAIT with data",
    sc(NR_preadv2, p[0], (long)&iov, 1, -1, 0, 8));
  R("preadv2 on a pipe at an offset",
    sc(NR_preadv2, p[0], (long)&iov, 1, 0, 0, 0));
  close(p[0]);
  close(p[1]);

  int fd = open("rw2", O_RDWR | O_CREAT | O_TRUNC, 0644);
  write(fd, "0123456789", 10);
  struct iovec w = {"XY", 2};
  R("pwritev2 RWF_APPEND at offset 0",
    sc(NR_pwritev2, fd, (long)&w, 1, 0, 0, 0x10));
  printf("file after RWF_APPEND: %s\n", read_file("rw2"));
  R("pwritev2 RWF_DSYNC", sc(NR_pwritev2, fd, (long)&w, 1, 0, 0, 2));
  R("pwritev2 RWF_SYNC", sc(NR_pwritev2, fd, (long)&w, 1, 2, 0, 4));
  R("preadv2 RWF_HIPRI", sc(NR_preadv2, fd, (long)&iov, 1, 0, 0, 1));
  R("preadv2 unknown flag 0x10000",
    sc(NR_preadv2, fd, (long)&iov, 1, 0, 0, 0x10000));
  R("pwritev2 unknown flag 0x10000",
    sc(NR_pwritev2, fd, (long)&w, 1, 0, 0, 0x10000));
  R("preadv2 offset -1 uses the file position",
    sc(NR_preadv2, fd, (long)&iov, 1, -1, 0, 0));
  printf("file after DSYNC/SYNC writes: %s\n", read_file("rw2"));
  close(fd);
  int ro = open("rw2", O_RDONLY);
  R("pwritev2 on a read-only fd", sc(NR_pwritev2, ro, (long)&w, 1, 0, 0, 0));
  close(ro);
  int ap = open("rw2", O_WRONLY | O_APPEND);
  struct iovec na = {"NA", 2};
  R("pwritev2 RWF_NOAPPEND on O_APPEND",
    sc(NR_pwritev2, ap, (long)&na, 1, 0, 0, 0x20));
  close(ap);
  printf("file after RWF_NOAPPEND: %s\n", read_file("rw2"));
}

/* ---- SEEK_DATA / SEEK_HOLE ---- */

static void seek_data(void) {
  int fd = open("dense", O_RDWR | O_CREAT | O_TRUNC, 0644);
  char block[8192];
  memset(block, 'x', sizeof(block));
  write(fd, block, sizeof(block));
  R("SEEK_DATA 0", lseek(fd, 0, SEEK_DATA));
  R("SEEK_DATA 100", lseek(fd, 100, SEEK_DATA));
  R("SEEK_HOLE 0 (end of a dense file)", lseek(fd, 0, SEEK_HOLE));
  R("SEEK_HOLE 8191", lseek(fd, 8191, SEEK_HOLE));
  R("SEEK_DATA at the end", lseek(fd, 8192, SEEK_DATA));
  R("SEEK_HOLE at the end", lseek(fd, 8192, SEEK_HOLE));
  R("SEEK_DATA past the end", lseek(fd, 100000, SEEK_DATA));
  R("SEEK_DATA negative", lseek(fd, -1, SEEK_DATA));
  R("position after SEEK_HOLE 100",
    lseek(fd, 100, SEEK_HOLE) == lseek(fd, 0, SEEK_CUR));
  close(fd);
  int e = open("empty", O_RDWR | O_CREAT | O_TRUNC, 0644);
  R("SEEK_DATA on an empty file", lseek(e, 0, SEEK_DATA));
  R("SEEK_HOLE on an empty file", lseek(e, 0, SEEK_HOLE));
  close(e);
  int p[2];
  pipe(p);
  R("SEEK_DATA on a pipe", lseek(p[0], 0, SEEK_DATA));
  close(p[0]);
  close(p[1]);
  int d = open(".", O_RDONLY);
  R("SEEK_HOLE on a directory", lseek(d, 0, SEEK_HOLE) < 0 ? -1 : 0);
  close(d);
}

/* ---- close_range ---- */

static void close_ranges(void) {
  int a = dup(1), b = dup(1), c = dup(1);
  R("close_range CLOEXEC", sc(NR_close_range, a, c, 4, 0, 0, 0));
  FACT("close_range CLOEXEC: fds stay open", fcntl(b, F_GETFD) >= 0);
  FACT("close_range CLOEXEC: FD_CLOEXEC set",
       (fcntl(a, F_GETFD) & FD_CLOEXEC) && (fcntl(c, F_GETFD) & FD_CLOEXEC));
  R("close_range unknown flag", sc(NR_close_range, a, c, 8, 0, 0, 0));
  R("close_range first > last", sc(NR_close_range, c, a, 0, 0, 0, 0));
  R("close_range UNSHARE", sc(NR_close_range, b, b, 2, 0, 0, 0));
  FACT("close_range UNSHARE closed it", fcntl(b, F_GETFD) < 0);
  R("close_range UNSHARE|CLOEXEC", sc(NR_close_range, a, a, 6, 0, 0, 0));
  FACT("still open after UNSHARE|CLOEXEC", fcntl(a, F_GETFD) >= 0);
  R("close_range to ~0", sc(NR_close_range, a, ~0u, 0, 0, 0, 0));
  FACT("closed up to the end", fcntl(c, F_GETFD) < 0);
}

/* ---- epoll loops and depth ---- */

static void epoll_nesting(void) {
  struct epoll_event ev = {.events = EPOLLIN};
  int e1 = epoll_create1(0), e2 = epoll_create1(0);
  R("epoll add itself", epoll_ctl(e1, EPOLL_CTL_ADD, e1, &ev));
  R("epoll add e2 to e1", epoll_ctl(e1, EPOLL_CTL_ADD, e2, &ev));
  R("epoll add e1 to e2 (a loop)", epoll_ctl(e2, EPOLL_CTL_ADD, e1, &ev));
  close(e1);
  close(e2);
  /* a chain: e[0] watches e[1] watches ... ; Linux allows a path of 5
   * epoll sets below the one being waited on (EP_MAX_NESTS 4) */
  int e[8];
  for (int i = 0; i < 8; i++)
    e[i] = epoll_create1(0);
  for (int i = 0; i < 7; i++) {
    char label[64];
    snprintf(label, sizeof(label), "epoll chain link %d", i + 1);
    R(label, epoll_ctl(e[i], EPOLL_CTL_ADD, e[i + 1], &ev));
  }
  for (int i = 0; i < 8; i++)
    close(e[i]);
  /* built from the bottom up: the depth is found when the top is added */
  for (int i = 0; i < 8; i++)
    e[i] = epoll_create1(0);
  for (int i = 6; i >= 0; i--) {
    char label[64];
    snprintf(label, sizeof(label), "epoll chain from below, link %d", i + 1);
    R(label, epoll_ctl(e[i], EPOLL_CTL_ADD, e[i + 1], &ev));
  }
  for (int i = 0; i < 8; i++)
    close(e[i]);
}

/* ---- openat2 ---- */

struct open_how {
  uint64_t flags, mode, resolve;
};
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#define RESOLVE_CACHED 0x20

static long o2(int dirfd, const char *path, uint64_t flags, uint64_t mode,
               uint64_t resolve) {
  struct open_how how = {flags, mode, resolve};
  long fd = sc(NR_openat2, dirfd, (long)path, (long)&how, sizeof(how), 0, 0);
  if (fd >= 0) {
    close((int)fd);
    return 0;
  }
  return fd;
}

static void openat2_calls(void) {
  mkdir("root", 0755);
  mkdir("root/sub", 0755);
  write_file("root/sub/file", "f");
  write_file("outside", "o");
  symlink("sub/file", "root/rel");
  symlink("/sub/file", "root/abs");
  symlink("../outside", "root/up");
  int dir = open("root", O_RDONLY | O_DIRECTORY);
  R("openat2 plain", o2(dir, "sub/file", O_RDONLY, 0, 0));
  R("openat2 BENEATH inside",
    o2(dir, "sub/file", O_RDONLY, 0, RESOLVE_BENEATH));
  R("openat2 BENEATH ..", o2(dir, "../outside", O_RDONLY, 0, RESOLVE_BENEATH));
  R("openat2 BENEATH sub/..",
    o2(dir, "sub/../sub/file", O_RDONLY, 0, RESOLVE_BENEATH));
  R("openat2 BENEATH absolute", o2(dir, "/etc", O_RDONLY, 0, RESOLVE_BENEATH));
  R("openat2 BENEATH relative link",
    o2(dir, "rel", O_RDONLY, 0, RESOLVE_BENEATH));
  R("openat2 BENEATH absolute link",
    o2(dir, "abs", O_RDONLY, 0, RESOLVE_BENEATH));
  R("openat2 BENEATH link going up",
    o2(dir, "up", O_RDONLY, 0, RESOLVE_BENEATH));
  R("openat2 IN_ROOT absolute link",
    o2(dir, "abs", O_RDONLY, 0, RESOLVE_IN_ROOT));
  R("openat2 IN_ROOT ../../sub/file",
    o2(dir, "../../sub/file", O_RDONLY, 0, RESOLVE_IN_ROOT));
  R("openat2 IN_ROOT link going up",
    o2(dir, "up", O_RDONLY, 0, RESOLVE_IN_ROOT));
  R("openat2 IN_ROOT /sub/file",
    o2(dir, "/sub/file", O_RDONLY, 0, RESOLVE_IN_ROOT));
  R("openat2 NO_SYMLINKS plain",
    o2(dir, "sub/file", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
  R("openat2 NO_SYMLINKS link",
    o2(dir, "rel", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
  R("openat2 NO_SYMLINKS O_PATH|O_NOFOLLOW link",
    o2(dir, "rel", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS));
  R("openat2 NO_MAGICLINKS /proc/self/exe",
    o2(AT_FDCWD, "/proc/self/exe", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
  R("openat2 NO_MAGICLINKS /proc/self (not magic)",
    o2(AT_FDCWD, "/proc/self", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
  int proc = open("/proc", O_RDONLY | O_DIRECTORY);
  R("openat2 BENEATH /proc: self/fd/0",
    o2(proc, "self/fd/0", O_RDONLY, 0, RESOLVE_BENEATH));
  R("openat2 BENEATH /proc: self/status",
    o2(proc, "self/status", O_RDONLY, 0, RESOLVE_BENEATH));
  close(proc);
  R("openat2 IN_ROOT O_CREAT",
    o2(dir, "/sub/created", O_RDWR | O_CREAT, 0600, RESOLVE_IN_ROOT));
  FACT("created inside the root", access("root/sub/created", F_OK) == 0);
  R("openat2 BENEATH O_CREAT ..",
    o2(dir, "../escaped", O_RDWR | O_CREAT, 0600, RESOLVE_BENEATH));
  R("openat2 NO_SYMLINKS O_CREAT through a link",
    o2(dir, "rel", O_RDWR | O_CREAT, 0600, RESOLVE_NO_SYMLINKS));
  R("openat2 NO_SYMLINKS O_DIRECTORY",
    o2(dir, "sub", O_RDONLY | O_DIRECTORY, 0, RESOLVE_NO_SYMLINKS));
  R("openat2 O_PATH with O_RDWR", o2(dir, "sub", O_PATH | O_RDWR, 0, 0));
  R("openat2 NO_MAGICLINKS /proc/self/fd/0",
    o2(AT_FDCWD, "/proc/self/fd/0", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
  R("openat2 NO_MAGICLINKS ordinary link",
    o2(dir, "rel", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
  R("openat2 NO_XDEV same fs",
    o2(dir, "sub/file", O_RDONLY, 0, RESOLVE_NO_XDEV));
  R("openat2 NO_XDEV into /proc",
    o2(AT_FDCWD, "/proc/self/status", O_RDONLY, 0, RESOLVE_NO_XDEV));
  R("openat2 BENEATH|IN_ROOT",
    o2(dir, "sub/file", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT));
  R("openat2 unknown resolve flag", o2(dir, "sub/file", O_RDONLY, 0, 0x40));
  R("openat2 unknown open flag", o2(dir, "sub/file", 1ull << 40, 0, 0));
  R("openat2 mode without O_CREAT", o2(dir, "sub/file", O_RDONLY, 0644, 0));
  R("openat2 mode with high bits", o2(dir, "new", O_RDWR | O_CREAT, 010000, 0));
  R("openat2 O_CREAT with a mode", o2(dir, "new", O_RDWR | O_CREAT, 0600, 0));
  R("openat2 RESOLVE_CACHED with O_CREAT",
    o2(dir, "new", O_RDWR | O_CREAT, 0600, RESOLVE_CACHED));
  struct open_how how = {O_RDONLY, 0, 0};
  R("openat2 size 0",
    sc(NR_openat2, dir, (long)"sub/file", (long)&how, 0, 0, 0));
  R("openat2 size 23",
    sc(NR_openat2, dir, (long)"sub/file", (long)&how, 23, 0, 0));
  struct {
    struct open_how h;
    uint64_t more;
  } big = {{O_RDONLY, 0, 0}, 0};
  long fd =
      sc(NR_openat2, dir, (long)"sub/file", (long)&big, sizeof(big), 0, 0);
  printf("openat2 bigger struct with zeros: %s\n",
         fd < 0 ? errname(errno) : "ok");
  if (fd >= 0)
    close((int)fd);
  big.more = 1;
  R("openat2 bigger struct with non-zero",
    sc(NR_openat2, dir, (long)"sub/file", (long)&big, sizeof(big), 0, 0));
  R("openat2 size past a page",
    sc(NR_openat2, dir, (long)"sub/file", (long)&big, 4097, 0, 0));
  R("openat2 bad pointer", sc(NR_openat2, dir, (long)"sub/file", 8, 24, 0, 0));
  close(dir);
}

/* ---- futex_waitv ---- */

struct futex_waitv {
  uint64_t val, uaddr;
  uint32_t flags, reserved;
};
#define FUTEX2_SIZE_U32 0x02
#define FUTEX2_PRIVATE 128

static uint32_t g_words[2];
static int g_waiter_done;

static void *waker(void *arg) {
  /* wake the second word until the waiter has returned (a wake before
   * it sleeps is lost; the word's value never changes) */
  while (!__atomic_load_n(&g_waiter_done, __ATOMIC_SEQ_CST)) {
    syscall(SYS_futex, &g_words[1], 1 /* FUTEX_WAKE */ | 128, 1, 0, 0, 0);
    struct timespec d = {0, 1000000};
    nanosleep(&d, NULL);
  }
  return NULL;
}

#include <pthread.h>

static void futex_waitv_calls(void) {
  struct futex_waitv w[2];
  memset(w, 0, sizeof(w));
  for (int i = 0; i < 2; i++) {
    w[i].uaddr = (uint64_t)(uintptr_t)&g_words[i];
    w[i].val = 0;
    w[i].flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE;
  }
  struct timespec now, ts;
  clock_gettime(CLOCK_MONOTONIC, &now);
  ts = now;
  ts.tv_nsec += 10000000;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  R("futex_waitv times out",
    sc(NR_futex_waitv, (long)w, 2, 0, (long)&ts, CLOCK_MONOTONIC, 0));
  g_words[0] = 5;
  R("futex_waitv value differs",
    sc(NR_futex_waitv, (long)w, 2, 0, (long)&ts, CLOCK_MONOTONIC, 0));
  g_words[0] = 0;
  R("futex_waitv flags non-zero",
    sc(NR_futex_waitv, (long)w, 2, 1, (long)&ts, CLOCK_MONOTONIC, 0));
  R("futex_waitv 0 waiters",
    sc(NR_futex_waitv, (long)w, 0, 0, (long)&ts, CLOCK_MONOTONIC, 0));
  R("futex_waitv 129 waiters",
    sc(NR_futex_waitv, (long)w, 129, 0, (long)&ts, CLOCK_MONOTONIC, 0));
  R("futex_waitv bad clock",
    sc(NR_futex_waitv, (long)w, 2, 0, (long)&ts, CLOCK_PROCESS_CPUTIME_ID, 0));
  w[1].flags = 3; /* a 64-bit size: not supported */
  R("futex_waitv 64-bit word",
    sc(NR_futex_waitv, (long)w, 2, 0, (long)&ts, CLOCK_MONOTONIC, 0));
  w[1].flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE;
  w[1].reserved = 1;
  R("futex_waitv reserved set",
    sc(NR_futex_waitv, (long)w, 2, 0, (long)&ts, CLOCK_MONOTONIC, 0));
  w[1].reserved = 0;
  R("futex_waitv bad array",
    sc(NR_futex_waitv, 8, 2, 0, (long)&ts, CLOCK_MONOTONIC, 0));
  pthread_t th;
  pthread_create(&th, NULL, waker, NULL);
  R("futex_waitv woken on the second word (its index)",
    sc(NR_futex_waitv, (long)w, 2, 0, 0, CLOCK_MONOTONIC, 0));
  __atomic_store_n(&g_waiter_done, 1, __ATOMIC_SEQ_CST);
  pthread_join(th, NULL);
}

/* ---- capability queries of prctl (root: every cap bounded, none
 * inheritable, so none can be raised into the ambient set) ---- */

static void caps(void) {
  R("PR_CAPBSET_READ CAP_SYS_ADMIN", prctl(23, 21, 0, 0, 0));
  R("PR_CAPBSET_READ 64", prctl(23, 64, 0, 0, 0));
  R("PR_CAP_AMBIENT IS_SET", prctl(47, 1, 21, 0, 0));
  R("PR_CAP_AMBIENT RAISE (not inheritable)", prctl(47, 2, 21, 0, 0));
  R("PR_CAP_AMBIENT LOWER", prctl(47, 3, 21, 0, 0));
  R("PR_CAP_AMBIENT CLEAR_ALL", prctl(47, 4, 0, 0, 0));
  R("PR_CAP_AMBIENT CLEAR_ALL with an argument", prctl(47, 4, 1, 0, 0));
  R("PR_CAP_AMBIENT IS_SET of cap 64", prctl(47, 1, 64, 0, 0));
  R("PR_CAP_AMBIENT unknown op", prctl(47, 9, 0, 0, 0));
  R("PR_CAP_AMBIENT IS_SET extra argument", prctl(47, 1, 21, 1, 0));
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("exact");
  cwd();
  resethand();
  clone3_errors();
  misc();
  rw2();
  seek_data();
  close_ranges();
  epoll_nesting();
  openat2_calls();
  futex_waitv_calls();
  caps();
  return 0;
}
