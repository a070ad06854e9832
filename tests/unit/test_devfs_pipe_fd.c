/* devfs (null, zero, full, random, urandom, stdout), pipes (EOF, EPIPE and
 * SIGPIPE, O_NONBLOCK, fstat and lseek on a pipe) and the fd table (lowest
 * free fd, dup/dup3/moat_dup_min, close-on-exec, status flags, EMFILE and
 * RLIMIT_NOFILE; range and whole-file locks, the SIGIO owner, pipe
 * sizes), with the results the Linux man pages give. */
#include <string.h>

#include "unit.h"

/* ---- devfs ------------------------------------------------------------ */

static uint64_t rdev_of(const char *path) {
  struct linux_stat st;
  ck_assert_int_eq(moat_fstatat(AT, path, &st, 0), 0);
  ck_assert_int_eq(S_TYPE(st.st_mode), LINUX_S_IFCHR);
  return st.st_rdev;
}

START_TEST(dev_nodes) {
  boot_memfs();
  /* Linux's device numbers, encoded as stat(2) shows them */
  ck_assert_uint_eq(rdev_of("/dev/null"), 0x103);
  ck_assert_uint_eq(rdev_of("/dev/zero"), 0x105);
  ck_assert_uint_eq(rdev_of("/dev/full"), 0x107);
  ck_assert_uint_eq(rdev_of("/dev/random"), 0x108);
  ck_assert_uint_eq(rdev_of("/dev/urandom"), 0x109);
  ck_assert_uint_eq(rdev_of("/dev/tty"), 0x500);
}
END_TEST

START_TEST(dev_null_zero_full) {
  boot_memfs();
  char buf[64];
  int fd = xopen("/dev/null", LINUX_O_RDWR, 0);
  ck_assert_int_eq(moat_write(fd, "abc", 3), 3);
  ck_assert_int_eq(moat_read(fd, buf, sizeof buf), 0);
  ck_assert_int_eq(moat_lseek(fd, 100, LINUX_SEEK_SET), 0);
  moat_close(fd);
  fd = xopen("/dev/zero", LINUX_O_RDWR, 0);
  memset(buf, 'x', sizeof buf);
  ck_assert_int_eq(moat_read(fd, buf, sizeof buf), (long)sizeof buf);
  for (size_t i = 0; i < sizeof buf; i++)
    ck_assert_int_eq(buf[i], 0);
  ck_assert_int_eq(moat_write(fd, "abc", 3), 3);
  moat_close(fd);
  fd = xopen("/dev/full", LINUX_O_RDWR, 0);
  ck_assert_int_eq(moat_write(fd, "abc", 3), E(ENOSPC));
  memset(buf, 'x', sizeof buf);
  ck_assert_int_eq(moat_read(fd, buf, 16), 16);
  ck_assert_int_eq(buf[0], 0);
  moat_close(fd);
  /* not removable or creatable as files by the guest */
  ck_assert_int_eq(
      moat_openat(AT, "/dev/null", LINUX_O_RDONLY | LINUX_O_DIRECTORY, 0),
      E(ENOTDIR));
}
END_TEST

START_TEST(dev_random) {
  boot_memfs();
  const char *names[] = {"/dev/urandom", "/dev/random"};
  for (int n = 0; n < 2; n++) {
    unsigned char a[64], b[64], zero[64] = {0};
    int fd = xopen(names[n], LINUX_O_RDONLY, 0);
    ck_assert_int_eq(moat_read(fd, a, sizeof a), 64);
    ck_assert_int_eq(moat_read(fd, b, sizeof b), 64);
    ck_assert(memcmp(a, b, 64) != 0);
    ck_assert(memcmp(a, zero, 64) != 0);
    moat_close(fd);
  }
  unsigned char r[32];
  ck_assert_int_eq(moat_getrandom(r, sizeof r, 0), 32);
  ck_assert_int_eq(moat_getrandom(r, sizeof r, LINUX_GRND_NONBLOCK), 32);
  ck_assert_int_eq(moat_getrandom(r, sizeof r, 0x100), E(EINVAL));
}
END_TEST

START_TEST(dev_stdout) {
  boot_memfs();
  testplat_reset_output();
  ck_assert_int_eq(moat_write(1, "to-one;", 7), 7);
  int fd = xopen("/dev/stdout", LINUX_O_WRONLY, 0);
  ck_assert_int_eq(moat_write(fd, "via-dev", 7), 7);
  moat_close(fd);
  const char *out = testplat_output(1, NULL);
  ck_assert_str_eq(out, "to-one;via-dev");
  ck_assert_int_eq(moat_write(2, "err", 3), 3);
  ck_assert_str_eq(testplat_output(2, NULL), "err");
  testplat_set_stdin("input", 5);
  char buf[16] = {0};
  ck_assert_int_eq(moat_read(0, buf, sizeof buf), 5);
  ck_assert_str_eq(buf, "input");
  ck_assert_int_eq(moat_read(0, buf, sizeof buf), 0);
  /* the standard streams are not terminals here */
  struct linux_termios tio;
  ck_assert_int_eq(moat_ioctl(1, LINUX_TCGETS, &tio), E(ENOTTY));
}
END_TEST

/* ---- pipes ------------------------------------------------------------ */

START_TEST(pipe_basics) {
  boot_memfs();
  int p[2];
  ck_assert_int_eq(moat_pipe2(p, 0), 0);
  ck_assert_int_eq(p[0], 3);
  ck_assert_int_eq(p[1], 4);
  ck_assert_int_eq(moat_write(p[1], "abc", 3), 3);
  int avail = -1;
  ck_assert_int_eq(moat_ioctl(p[0], LINUX_FIONREAD, &avail), 0);
  ck_assert_int_eq(avail, 3);
  char buf[16] = {0};
  ck_assert_int_eq(moat_read(p[0], buf, sizeof buf), 3);
  ck_assert_str_eq(buf, "abc");
  ck_assert_int_eq(moat_read(p[1], buf, 1), E(EBADF));
  ck_assert_int_eq(moat_write(p[0], "x", 1), E(EBADF));
  ck_assert_int_eq(moat_lseek(p[0], 0, LINUX_SEEK_CUR), E(ESPIPE));
  ck_assert_int_eq(moat_pread(p[0], buf, 1, 0), E(ESPIPE));
  /* fsync(2): EINVAL for a special file that cannot be synchronised */
  ck_assert_int_eq(moat_fsync(p[0]), E(EINVAL));
  struct linux_stat st;
  ck_assert_int_eq(moat_fstat(p[0], &st), 0);
  ck_assert_int_eq(S_TYPE(st.st_mode), LINUX_S_IFIFO);
  ck_assert_int_eq(moat_fd_get_flags(p[0]) & LINUX_O_ACCMODE, LINUX_O_RDONLY);
  ck_assert_int_eq(moat_fd_get_flags(p[1]) & LINUX_O_ACCMODE, LINUX_O_WRONLY);
  /* EOF once every writer is gone and the data is drained */
  ck_assert_int_eq(moat_write(p[1], "z", 1), 1);
  ck_assert_int_eq(moat_close(p[1]), 0);
  ck_assert_int_eq(moat_read(p[0], buf, sizeof buf), 1);
  ck_assert_int_eq(moat_read(p[0], buf, sizeof buf), 0);
  ck_assert_int_eq(moat_pipe2(p, 0x1), E(EINVAL));
}
END_TEST

START_TEST(pipe_epipe) {
  boot_memfs();
  uint64_t block = LINUX_SIGBIT(LINUX_SIGPIPE), pending = 0;
  ck_assert_int_eq(moat_sigprocmask(LINUX_SIG_BLOCK, &block, NULL), 0);
  int p[2];
  ck_assert_int_eq(moat_pipe2(p, 0), 0);
  ck_assert_int_eq(moat_close(p[0]), 0);
  ck_assert_int_eq(moat_write(p[1], "x", 1), E(EPIPE));
  /* pipe(7): the writer also gets SIGPIPE */
  ck_assert_int_eq(moat_sigpending(&pending), 0);
  ck_assert(pending & LINUX_SIGBIT(LINUX_SIGPIPE));
}
END_TEST

START_TEST(pipe_nonblock) {
  boot_memfs();
  int p[2];
  ck_assert_int_eq(moat_pipe2(p, LINUX_O_NONBLOCK | LINUX_O_CLOEXEC), 0);
  ck_assert(moat_fd_get_flags(p[0]) & LINUX_O_NONBLOCK);
  ck_assert_int_eq(moat_fd_get_cloexec(p[0]), 1);
  char buf[4096];
  ck_assert_int_eq(moat_read(p[0], buf, sizeof buf), E(EAGAIN));
  memset(buf, 'p', sizeof buf);
  long total = 0, r;
  for (int i = 0; i < 1024; i++) {
    r = moat_write(p[1], buf, sizeof buf);
    if (r < 0)
      break;
    total += r;
  }
  ck_assert_int_eq(r, E(EAGAIN));
  ck_assert_int_ge(total, 4096); /* at least PIPE_BUF */
  long drained = 0;
  while ((r = moat_read(p[0], buf, sizeof buf)) > 0)
    drained += r;
  ck_assert_int_eq(r, E(EAGAIN));
  ck_assert_int_eq(drained, total);
  /* O_NONBLOCK through F_SETFL on a blocking pipe */
  int q[2];
  ck_assert_int_eq(moat_pipe2(q, 0), 0);
  ck_assert_int_eq(moat_fd_set_flags(q[0], LINUX_O_NONBLOCK), 0);
  ck_assert_int_eq(moat_read(q[0], buf, 1), E(EAGAIN));
}
END_TEST

/* ---- fd table ---------------------------------------------------------- */

START_TEST(fd_lowest_and_dup) {
  boot_memfs();
  put_file("/tmp/f", "0123456789");
  int a = xopen("/tmp/f", LINUX_O_RDONLY, 0);
  ck_assert_int_eq(a, 3);
  int b = xopen("/tmp/f", LINUX_O_RDONLY, 0);
  ck_assert_int_eq(b, 4);
  ck_assert_int_eq(moat_close(a), 0);
  ck_assert_int_eq(xopen("/tmp/f", LINUX_O_RDONLY, 0), 3);
  int d = moat_dup(b);
  ck_assert_int_eq(d, 5);
  /* a dup shares the offset */
  char c;
  ck_assert_int_eq(moat_read(b, &c, 1), 1);
  ck_assert_int_eq(moat_lseek(d, 0, LINUX_SEEK_CUR), 1);
  ck_assert_int_eq(moat_dup3(b, 10, 0), 10);
  ck_assert_int_eq(moat_lseek(10, 0, LINUX_SEEK_CUR), 1);
  ck_assert_int_eq(moat_dup3(b, b, 0), E(EINVAL));
  ck_assert_int_eq(moat_dup3(b, 11, 0x1), E(EINVAL));
  ck_assert_int_eq(moat_dup3(77, 11, 0), E(EBADF));
  ck_assert_int_eq(moat_dup3(b, 1 << 20, 0), E(EBADF));
  ck_assert_int_eq(moat_dup3(b, -1, 0), E(EBADF));
  ck_assert_int_eq(moat_dup(77), E(EBADF));
  ck_assert_int_eq(moat_close(-1), E(EBADF));
  /* dup3 over an open fd closes it first */
  ck_assert_int_eq(moat_dup3(3, 10, 0), 10);
  ck_assert_int_eq(moat_lseek(10, 0, LINUX_SEEK_CUR), 0);
  /* moat_dup_min: the lowest free fd >= min */
  ck_assert_int_eq(moat_dup_min(b, 20, false), 20);
  ck_assert_int_eq(moat_dup_min(b, 20, false), 21);
  ck_assert_int_eq(moat_dup_min(b, 0, false), 6);
  ck_assert_int_eq(moat_fd_get_cloexec(77), E(EBADF));
  ck_assert_int_eq(moat_dup_min(b, 1 << 20, false), E(EINVAL));
  ck_assert_int_eq(moat_dup_min(77, 0, false), E(EBADF));
}
END_TEST

START_TEST(fd_cloexec_and_flags) {
  boot_memfs();
  put_file("/tmp/f", "x");
  int a = xopen("/tmp/f", LINUX_O_RDONLY | LINUX_O_CLOEXEC, 0);
  ck_assert_int_eq(moat_fd_get_cloexec(a), 1);
  /* the flag belongs to the descriptor, not the open file */
  int d = moat_dup(a);
  ck_assert_int_eq(moat_fd_get_cloexec(d), 0);
  int e = moat_dup3(a, 30, LINUX_O_CLOEXEC);
  ck_assert_int_eq(moat_fd_get_cloexec(e), 1);
  int f = moat_dup_min(a, 0, true);
  ck_assert_int_eq(moat_fd_get_cloexec(f), 1);
  ck_assert_int_eq(moat_fd_set_cloexec(a, false), 0);
  ck_assert_int_eq(moat_fd_get_cloexec(a), 0);
  /* status flags are shared by dups; the access mode cannot change */
  int w = xopen("/tmp/f", LINUX_O_WRONLY, 0);
  int w2 = moat_dup(w);
  ck_assert_int_eq(moat_fd_set_flags(w, LINUX_O_APPEND | LINUX_O_RDWR), 0);
  long fl = moat_fd_get_flags(w2);
  ck_assert(fl & LINUX_O_APPEND);
  ck_assert_int_eq(fl & LINUX_O_ACCMODE, LINUX_O_WRONLY);
}
END_TEST

/* The core's lock operations in one process: a description's range lock
 * against another open and against the process's own locks, ranges from
 * the end, what a test reports, the checks; flock; the SIGIO owner. */
START_TEST(fd_locks_and_owner) {
  boot_memfs();
  put_file("/tmp/f", "0123456789");
  int a = xopen("/tmp/f", LINUX_O_RDWR, 0);
  int b = xopen("/tmp/f", LINUX_O_RDWR, 0);
  int ro = xopen("/tmp/f", LINUX_O_RDONLY, 0);
  struct moat_lock w05 = {MOAT_LOCK_WRITE, LINUX_SEEK_SET, 0, 5, 0};
  ck_assert_int_eq(moat_lock_range(a, MOAT_LOCK_FILE, &w05, false), 0);
  struct moat_lock t = {MOAT_LOCK_READ, LINUX_SEEK_END, -8, 1, 0};
  ck_assert_int_eq(moat_lock_test(b, MOAT_LOCK_FILE, &t), 0);
  ck_assert_int_eq(t.type, MOAT_LOCK_WRITE);
  ck_assert_int_eq(t.whence, LINUX_SEEK_SET);
  ck_assert_int_eq(t.start, 0);
  ck_assert_int_eq(t.len, 5);
  ck_assert_int_eq(t.pid, -1);
  /* the process's own locks and the description's conflict */
  struct moat_lock r2 = {MOAT_LOCK_READ, LINUX_SEEK_SET, 2, 1, 0};
  ck_assert_int_eq(moat_lock_range(a, MOAT_LOCK_PROCESS, &r2, false),
                   E(EAGAIN));
  ck_assert_int_eq(moat_lock_range(b, MOAT_LOCK_FILE, &r2, false), E(EAGAIN));
  /* the owner's own lock: no conflict, only the type changes */
  t = (struct moat_lock){MOAT_LOCK_WRITE, LINUX_SEEK_CUR, 1, -1, 0};
  ck_assert_int_eq(moat_lock_test(a, MOAT_LOCK_FILE, &t), 0);
  ck_assert_int_eq(t.type, MOAT_LOCK_UNLOCK);
  ck_assert_int_eq(t.whence, LINUX_SEEK_CUR);
  ck_assert_int_eq(t.start, 1);
  ck_assert_int_eq(t.len, -1);
  /* the checks */
  t.type = MOAT_LOCK_UNLOCK;
  ck_assert_int_eq(moat_lock_test(a, MOAT_LOCK_FILE, &t), E(EINVAL));
  t = (struct moat_lock){MOAT_LOCK_READ, 9, 0, 1, 0};
  ck_assert_int_eq(moat_lock_test(a, MOAT_LOCK_FILE, &t), E(EINVAL));
  t = (struct moat_lock){MOAT_LOCK_READ, LINUX_SEEK_END, INT64_MAX, 1, 0};
  ck_assert_int_eq(moat_lock_test(a, MOAT_LOCK_FILE, &t), E(EOVERFLOW));
  t = (struct moat_lock){MOAT_LOCK_WRITE, LINUX_SEEK_SET, 20, 1, 0};
  ck_assert_int_eq(moat_lock_range(ro, MOAT_LOCK_PROCESS, &t, false), E(EBADF));
  ck_assert_int_eq(moat_lock_test(ro, MOAT_LOCK_PROCESS, &t), 0);
  ck_assert_int_eq(moat_lock_range(77, MOAT_LOCK_PROCESS, &t, false), E(EBADF));
  /* unlocked, the range is free */
  struct moat_lock all = {MOAT_LOCK_UNLOCK, LINUX_SEEK_SET, 0, 0, 0};
  ck_assert_int_eq(moat_lock_range(a, MOAT_LOCK_FILE, &all, false), 0);
  ck_assert_int_eq(moat_lock_range(b, MOAT_LOCK_FILE, &r2, false), 0);
  ck_assert_int_eq(moat_lock_range(b, MOAT_LOCK_FILE, &all, false), 0);
  /* whole-file locks do not see range locks */
  ck_assert_int_eq(moat_lock_range(a, MOAT_LOCK_PROCESS, &w05, false), 0);
  ck_assert_int_eq(moat_flock(b, MOAT_LOCK_WRITE, false), 0);
  ck_assert_int_eq(moat_flock(a, MOAT_LOCK_READ, false), E(EAGAIN));
  ck_assert_int_eq(moat_flock(a, (enum moat_lock_type)7, false), E(EINVAL));
  ck_assert_int_eq(moat_flock(b, MOAT_LOCK_UNLOCK, false), 0);
  ck_assert_int_eq(moat_flock(a, MOAT_LOCK_READ, false), 0);
  /* the SIGIO owner and signal */
  enum moat_fd_owner kind;
  int id = -1;
  ck_assert_int_eq(moat_fd_get_owner(a, &kind, &id), 0);
  ck_assert_int_eq(id, 0);
  ck_assert_int_eq(moat_fd_set_owner(a, MOAT_OWNER_GROUP, 12345), 0);
  ck_assert_int_eq(moat_fd_get_owner(b, &kind, &id), 0);
  ck_assert_int_eq(id, 0); /* another open file */
  ck_assert_int_eq(moat_fd_get_owner(a, &kind, &id), 0);
  ck_assert_int_eq(kind, MOAT_OWNER_GROUP);
  ck_assert_int_eq(id, 12345);
  ck_assert_int_eq(moat_fd_set_owner(a, MOAT_OWNER_PROCESS, 999999), E(ESRCH));
  ck_assert_int_eq(moat_fd_set_owner(a, MOAT_OWNER_THREAD, -1), E(EINVAL));
  ck_assert_int_eq(moat_fd_set_signal(a, LINUX_NSIG + 1), E(EINVAL));
  ck_assert_int_eq(moat_fd_set_signal(a, LINUX_NSIG), 0);
  ck_assert_int_eq(moat_fd_get_signal(moat_dup(a)), LINUX_NSIG);
  ck_assert_int_eq(moat_fd_get_signal(77), E(EBADF));
  /* pipe sizes */
  ck_assert_int_eq(moat_pipe_get_size(a), E(EBADF));
  int p[2];
  ck_assert_int_eq(moat_pipe2(p, 0), 0);
  ck_assert_int_eq(moat_pipe_get_size(p[1]), 65536);
  ck_assert_int_eq(moat_pipe_set_size(p[0], 5000), 8192);
  ck_assert_int_eq(moat_pipe_get_size(p[1]), 8192);
}
END_TEST

START_TEST(fd_emfile) {
  static struct moat_config cfg;
  cfg.rlimits[LINUX_RLIMIT_NOFILE] = (struct linux_rlimit){16, 16};
  cfg.rlimits_set = 1u << LINUX_RLIMIT_NOFILE;
  boot_cfg(&cfg);
  put_file("/tmp/f", "x");
  int n = 0, r;
  while ((r = moat_openat(AT, "/tmp/f", LINUX_O_RDONLY, 0)) >= 0)
    n++;
  ck_assert_int_eq(r, E(EMFILE));
  ck_assert_int_eq(n, 13); /* 0, 1, 2 were open */
  ck_assert_int_eq(moat_dup(3), E(EMFILE));
  ck_assert_int_eq(moat_dup3(3, 16, 0), E(EBADF));
  int p[2];
  ck_assert_int_eq(moat_pipe2(p, 0), E(EMFILE));
  ck_assert_int_eq(moat_close(15), 0);
  ck_assert_int_eq(moat_dup(3), 15);
}
END_TEST

START_TEST(fd_rlimit_nofile) {
  boot_memfs();
  struct linux_rlimit old, lim;
  ck_assert_int_eq(moat_prlimit(0, LINUX_RLIMIT_NOFILE, NULL, &old), 0);
  ck_assert_uint_le(old.rlim_cur, old.rlim_max);
  lim.rlim_cur = 8;
  lim.rlim_max = old.rlim_max;
  ck_assert_int_eq(moat_prlimit(0, LINUX_RLIMIT_NOFILE, &lim, NULL), 0);
  ck_assert_int_eq(moat_prlimit(0, LINUX_RLIMIT_NOFILE, NULL, &old), 0);
  ck_assert_uint_eq(old.rlim_cur, 8);
  put_file("/tmp/f", "x");
  int n = 0;
  while (moat_openat(AT, "/tmp/f", LINUX_O_RDONLY, 0) >= 0)
    n++;
  ck_assert_int_eq(n, 5);
  /* soft above hard is EINVAL */
  lim.rlim_max = 16;
  lim.rlim_cur = 32;
  ck_assert_int_eq(moat_prlimit(0, LINUX_RLIMIT_NOFILE, &lim, NULL), E(EINVAL));
}
END_TEST

Suite *suite_devfs(void) {
  Suite *s = suite_create("devfs");
  TCase *tc = unit_tcase(s, "devfs");
  tcase_add_test(tc, dev_nodes);
  tcase_add_test(tc, dev_null_zero_full);
  tcase_add_test(tc, dev_random);
  tcase_add_test(tc, dev_stdout);
  return s;
}

Suite *suite_pipe(void) {
  Suite *s = suite_create("pipe");
  TCase *tc = unit_tcase(s, "pipe");
  tcase_add_test(tc, pipe_basics);
  tcase_add_test(tc, pipe_epipe);
  tcase_add_test(tc, pipe_nonblock);
  return s;
}

Suite *suite_fd(void) {
  Suite *s = suite_create("fd");
  TCase *tc = unit_tcase(s, "fd");
  tcase_add_test(tc, fd_lowest_and_dup);
  tcase_add_test(tc, fd_cloexec_and_flags);
  tcase_add_test(tc, fd_locks_and_owner);
  tcase_add_test(tc, fd_emfile);
  tcase_add_test(tc, fd_rlimit_nofile);
  return s;
}
