/* The core unit tests' main: runs every suite with Check, each test in its
 * own process, and prints one line per test (CK_VERBOSE) that
 * tests/run.py counts. Optional argv[1]: run only the suite of that name. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

/* ---- booting ------------------------------------------------------- */

void boot_cfg(struct moat_config *cfg) {
  const char *why = NULL;
  int r = moat_boot(cfg, &why);
  ck_assert_msg(r == 0, "moat_boot failed: %d (%s)", r, why ? why : "?");
}

void boot_memfs(void) {
  static struct moat_config cfg;
  boot_cfg(&cfg);
}

void boot_tar(const struct tarbuf *t, enum moat_mount_access access) {
  static struct moat_config cfg;
  cfg.mounts[0] = (struct moat_mount){.guest_path = "/",
                                      .kind = MOAT_MOUNT_TAR,
                                      .access = access,
                                      .tar_base = t->data,
                                      .tar_size = t->len};
  cfg.nmounts = 1;
  boot_cfg(&cfg);
}

void boot_host(const char *dir, const char *guest_path,
               enum moat_mount_access access) {
  static struct moat_config cfg;
  int h = testplat_grant_dir(dir, access != MOAT_ACCESS_RW);
  ck_assert_int_ge(h, 0);
  cfg.mounts[0] = (struct moat_mount){.guest_path = guest_path,
                                      .kind = MOAT_MOUNT_HOSTDIR,
                                      .access = access,
                                      .handle = h};
  cfg.nmounts = 1;
  boot_cfg(&cfg);
}

/* ---- host trees ----------------------------------------------------- */

static char g_tmpdir[64];

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void rm_tmpdir(void) {
  if (g_tmpdir[0])
    nftw(g_tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *host_tmpdir(void) {
  strcpy(g_tmpdir, "/tmp/moat-unit-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(g_tmpdir));
  atexit(rm_tmpdir);
  return g_tmpdir;
}

void host_write(const char *dir, const char *rel, const char *content) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  FILE *f = fopen(p, "w");
  ck_assert_msg(f != NULL, "host_write %s: %s", p, strerror(errno));
  fputs(content, f);
  fclose(f);
}

bool host_read(const char *dir, const char *rel, char *buf, size_t len) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  buf[0] = 0;
  int fd = open(p, O_RDONLY);
  if (fd < 0)
    return false;
  ssize_t n = read(fd, buf, len - 1);
  close(fd);
  buf[n > 0 ? n : 0] = 0;
  return true;
}

bool host_exists(const char *dir, const char *rel) {
  char p[4096];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  return lstat(p, &st) == 0;
}

/* ---- moat helpers ----------------------------------------------------- */

int xopen(const char *path, int flags, uint32_t mode) {
  int fd = moat_openat(LINUX_AT_FDCWD, path, flags, mode);
  ck_assert_msg(fd >= 0, "open %s: %d", path, fd);
  return fd;
}

void put_file(const char *path, const char *content) {
  int fd = xopen(path, LINUX_O_WRONLY | LINUX_O_CREAT | LINUX_O_TRUNC, 0644);
  size_t n = strlen(content);
  ck_assert_int_eq(moat_write(fd, content, n), (long)n);
  ck_assert_int_eq(moat_close(fd), 0);
}

long get_file(const char *path, char *buf, size_t len) {
  int fd = moat_openat(LINUX_AT_FDCWD, path, LINUX_O_RDONLY, 0);
  if (fd < 0)
    return fd;
  size_t got = 0;
  for (;;) {
    long r = moat_read(fd, buf + got, len - 1 - got);
    if (r < 0) {
      moat_close(fd);
      return r;
    }
    if (r == 0)
      break;
    got += r;
  }
  buf[got] = 0;
  moat_close(fd);
  return (long)got;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void list_dir(const char *path, char *out, size_t len) {
  int fd = xopen(path, LINUX_O_RDONLY | LINUX_O_DIRECTORY, 0);
  char buf[4096];
  char *names[512];
  int n = 0;
  for (;;) {
    long r = moat_getdents64(fd, buf, sizeof buf);
    ck_assert_int_ge(r, 0);
    if (r == 0)
      break;
    for (long off = 0; off < r;) {
      struct linux_dirent64 *d = (void *)(buf + off);
      ck_assert_int_gt(d->d_reclen, 0);
      if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..") && n < 512)
        names[n++] = strdup(d->d_name);
      off += d->d_reclen;
    }
  }
  moat_close(fd);
  qsort(names, n, sizeof names[0], cmp_str);
  out[0] = 0;
  for (int i = 0; i < n; i++) {
    if (i)
      strncat(out, " ", len - strlen(out) - 1);
    strncat(out, names[i], len - strlen(out) - 1);
    free(names[i]);
  }
}

long ftype(const char *path) {
  struct linux_stat st;
  int r = moat_fstatat(LINUX_AT_FDCWD, path, &st, LINUX_AT_SYMLINK_NOFOLLOW);
  if (r < 0)
    return r;
  return S_TYPE(st.st_mode);
}

int main(int argc, char **argv) {
  Suite *(*suites[])(void) = {suite_paths,      suite_memfs,    suite_overlay,
                              suite_tarfs,      suite_hostfs,   suite_devfs,
                              suite_pipe,       suite_fd,       suite_mm,
                              suite_proc,       suite_model,    suite_hostdeath,
                              suite_concurrent, suite_hostsock, suite_locks};
  SRunner *sr = NULL;
  for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
    Suite *s = suites[i]();
    if (!sr)
      sr = srunner_create(s);
    else
      srunner_add_suite(sr, s);
  }
  srunner_set_fork_status(sr, CK_FORK);
  if (argc > 1)
    setenv("CK_RUN_SUITE", argv[1], 1);
  srunner_run_all(sr, CK_VERBOSE);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
