/* The file systems under concurrent use (issue 7, item 7), with ASan and
 * UBSan watching: several host threads of one sandbox process open, read,
 * stat, rename and close the same files at once, so inodes reach their
 * last reference (and hostfs evicts them) while other threads look the
 * same objects up. The test platform has no guest threads, but the core's
 * entry points may be called from host threads that share the caller's
 * task, as the Linux platform's guest threads do; its fork makes processes
 * whose host handles are private, so this covers threads, and
 * tests/run.py's stress/fs-concurrent covers processes. Every result is
 * checked: contents, sizes, and errors only where a concurrent rename
 * allows one (ENOENT). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "moat/platform.h"
#include "unit.h"

#define NFILES 3
#define NTHREADS 6
#define RUN_NS 1500000000ll

struct shared {
  const char *dir; /* guest directory holding fNN / gNN */
  void *ctx;       /* the test's task, shared by the threads */
  int64_t deadline;
  bool stat_only; /* no open files: getattr looks the host name up */
  int errors;
  char first_error[256];
  long ops;
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static size_t file_size(int i) {
  return 500 + (size_t)i * 1711;
}

static char file_byte(int i, size_t j) {
  return (char)('a' + (i * 7 + j) % 26);
}

static void note(struct shared *s, const char *what, int i, long r) {
  if (__atomic_fetch_add(&s->errors, 1, __ATOMIC_SEQ_CST) == 0)
    snprintf(s->first_error, sizeof s->first_error, "%s of file %d: %ld", what,
             i, r);
}

static void name(char *out, size_t len, const struct shared *s, int i, char c) {
  snprintf(out, len, "%s/%c%02d", s->dir, c, i);
}

static int open_any(const struct shared *s, int i) {
  char p[128];
  for (int t = 0; t < 6; t++) {
    name(p, sizeof p, s, i, t & 1 ? 'g' : 'f');
    int fd = moat_openat(AT, p, LINUX_O_RDONLY, 0);
    if (fd != E(ENOENT))
      return fd;
  }
  return E(ENOENT);
}

static void check_fd(struct shared *s, int fd, int i, char *buf) {
  struct linux_stat st;
  int r = moat_fstatat(fd, "", &st, LINUX_AT_EMPTY_PATH);
  if (r < 0 || st.st_size != (int64_t)file_size(i))
    note(s, "fstat", i, r < 0 ? r : st.st_size);
  size_t got = 0;
  for (;;) {
    long n = moat_read(fd, buf + got, 16384 - got);
    if (n < 0) {
      note(s, "read", i, n);
      return;
    }
    if (n == 0)
      break;
    got += (size_t)n;
  }
  if (got != file_size(i)) {
    note(s, "read length", i, (long)got);
    return;
  }
  for (size_t j = 0; j < got; j++)
    if (buf[j] != file_byte(i, j)) {
      note(s, "contents", i, (long)j);
      return;
    }
  long n = moat_pread(fd, buf, 1, (int64_t)got / 2);
  if (n != 1 || buf[0] != file_byte(i, got / 2))
    note(s, "pread", i, n);
}

static void do_rename(struct shared *s, int i) {
  char f[128], g[128];
  name(f, sizeof f, s, i, 'f');
  name(g, sizeof g, s, i, 'g');
  int r = moat_renameat2(AT, f, AT, g, 0);
  if (r == E(ENOENT))
    r = moat_renameat2(AT, g, AT, f, 0);
  if (r < 0 && r != E(ENOENT))
    note(s, "rename", i, r);
}

static void *worker(void *arg) {
  struct shared *s = arg;
  plat_ctx_set(s->ctx);
  char *buf = malloc(16384);
  unsigned seed = (unsigned)(uintptr_t)pthread_self();
  long ops = 0;
  while (now_ns() < s->deadline) {
    int i = (int)(rand_r(&seed) % NFILES);
    switch (s->stat_only ? 2 + (rand_r(&seed) % 8 == 0) : rand_r(&seed) % 6) {
    case 0: /* open, read, close: the last reference goes at the close */
    case 1: {
      int fd = open_any(s, i);
      if (fd == E(ENOENT))
        break;
      if (fd < 0) {
        note(s, "open", i, fd);
        break;
      }
      check_fd(s, fd, i, buf);
      moat_close(fd);
      break;
    }
    case 2: /* stat by name: lookups of a live inode rename its name */
    case 4:
    case 5: {
      char p[128];
      struct linux_stat st;
      name(p, sizeof p, s, i, rand_r(&seed) & 1 ? 'g' : 'f');
      int r = moat_fstatat(AT, p, &st, 0);
      if (r == 0 && st.st_size != (int64_t)file_size(i))
        note(s, "stat size", i, st.st_size);
      else if (r < 0 && r != E(ENOENT))
        note(s, "stat", i, r);
      break;
    }
    case 3: { /* rename under an open file, then read through it */
      if (s->stat_only) {
        do_rename(s, i);
        break;
      }
      int fd = open_any(s, i);
      do_rename(s, i);
      if (fd >= 0) {
        check_fd(s, fd, i, buf);
        moat_close(fd);
      } else if (fd != E(ENOENT)) {
        note(s, "open", i, fd);
      }
      break;
    }
    }
    ops++;
  }
  free(buf);
  __atomic_fetch_add(&s->ops, ops, __ATOMIC_SEQ_CST);
  return NULL;
}

static void make_files(const char *dir) {
  char p[128], *data = malloc(16384);
  for (int i = 0; i < NFILES; i++) {
    snprintf(p, sizeof p, "%s/f%02d", dir, i);
    for (size_t j = 0; j < file_size(i); j++)
      data[j] = file_byte(i, j);
    int fd = xopen(p, LINUX_O_WRONLY | LINUX_O_CREAT | LINUX_O_EXCL, 0644);
    ck_assert_int_eq(moat_write(fd, data, file_size(i)), (long)file_size(i));
    ck_assert_int_eq(moat_close(fd), 0);
  }
  free(data);
}

static void run_phase(struct shared *s, bool stat_only, int64_t ns) {
  s->stat_only = stat_only;
  s->deadline = now_ns() + ns;
  pthread_t th[NTHREADS];
  for (int t = 0; t < NTHREADS; t++)
    ck_assert_int_eq(pthread_create(&th[t], NULL, worker, s), 0);
  for (int t = 0; t < NTHREADS; t++)
    pthread_join(th[t], NULL);
  ck_assert_msg(s->errors == 0, "%d errors, first: %s", s->errors,
                s->first_error);
}

static void hammer(const char *dir) {
  struct shared s = {.dir = dir, .ctx = plat_ctx_get()};
  /* stats and renames only: names change under lookups and getattrs */
  run_phase(&s, true, RUN_NS / 2);
  /* everything: inodes reach their last reference at each close */
  run_phase(&s, false, RUN_NS);
  ck_assert_int_gt(s.ops, 100);
  /* afterwards each file has exactly one of its two names */
  for (int i = 0; i < NFILES; i++) {
    char f[128], g[128];
    name(f, sizeof f, &s, i, 'f');
    name(g, sizeof g, &s, i, 'g');
    ck_assert_int_eq((ftype(f) == LINUX_S_IFREG) + (ftype(g) == LINUX_S_IFREG),
                     1);
  }
}

START_TEST(hostfs_threads) {
  const char *d = host_tmpdir();
  boot_host(d, "/h", MOAT_ACCESS_RW);
  make_files("/h");
  hammer("/h");
}
END_TEST

START_TEST(memfs_threads) {
  boot_memfs();
  ck_assert_int_eq(moat_mkdirat(AT, "/m", 0755), 0);
  make_files("/m");
  hammer("/m");
}
END_TEST

Suite *suite_concurrent(void) {
  Suite *s = suite_create("concurrent");
  TCase *tc = unit_tcase(s, "threads");
  tcase_add_test(tc, hostfs_threads);
  tcase_add_test(tc, memfs_threads);
  return s;
}
