/* overlay: an in-memory upper layer over a read-only lower (a host
 * directory granted read-only, or a tar image). Proves copy-up on write and
 * on attribute changes, whiteouts for delete and rename, opaque directories
 * (a re-created directory does not show the lower's old entries), merged
 * listings without duplicates, and that the lower (the host) never
 * changes. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

static const char *lower(void) {
  const char *d = host_tmpdir();
  char p[256];
  host_write(d, "a.txt", "lower a");
  snprintf(p, sizeof p, "%s/dir", d);
  ck_assert_int_eq(mkdir(p, 0755), 0);
  host_write(d, "dir/b.txt", "lower b");
  host_write(d, "dir/c.txt", "lower c");
  snprintf(p, sizeof p, "%s/dir/deep", d);
  ck_assert_int_eq(mkdir(p, 0755), 0);
  host_write(d, "dir/deep/d.txt", "lower d");
  snprintf(p, sizeof p, "%s/sym", d);
  ck_assert_int_eq(symlink("a.txt", p), 0);
  return d;
}

START_TEST(read_through) {
  const char *d = lower();
  boot_host(d, "/", MOAT_ACCESS_COW);
  char buf[64], names[256];
  ck_assert_int_eq(get_file("/a.txt", buf, sizeof buf), 7);
  ck_assert_str_eq(buf, "lower a");
  ck_assert_int_eq(get_file("/sym", buf, sizeof buf), 7);
  list_dir("/dir", names, sizeof names);
  ck_assert_str_eq(names, "b.txt c.txt deep");
}
END_TEST

START_TEST(copy_up) {
  const char *d = lower();
  boot_host(d, "/", MOAT_ACCESS_COW);
  int fd = xopen("/a.txt", LINUX_O_WRONLY | LINUX_O_APPEND, 0);
  ck_assert_int_eq(moat_write(fd, "+more", 5), 5);
  moat_close(fd);
  char buf[64], names[256];
  ck_assert_int_eq(get_file("/a.txt", buf, sizeof buf), 12);
  ck_assert_str_eq(buf, "lower a+more");
  host_read(d, "a.txt", buf, sizeof buf);
  ck_assert_str_eq(buf, "lower a");
  /* attribute change copies up too */
  ck_assert_int_eq(moat_fchmodat(AT, "/dir/b.txt", 0600, 0), 0);
  struct linux_stat st;
  ck_assert_int_eq(moat_fstatat(AT, "/dir/b.txt", &st, 0), 0);
  ck_assert_int_eq(st.st_mode & 07777, 0600);
  char p[256];
  struct stat hst;
  snprintf(p, sizeof p, "%s/dir/b.txt", d);
  ck_assert_int_eq(stat(p, &hst), 0);
  ck_assert_int_eq(hst.st_mode & 07777, 0644);
  /* truncation of a lower file */
  ck_assert_int_eq(moat_truncate("/dir/c.txt", 2), 0);
  ck_assert_int_eq(get_file("/dir/c.txt", buf, sizeof buf), 2);
  host_read(d, "dir/c.txt", buf, sizeof buf);
  ck_assert_str_eq(buf, "lower c");
  /* a copied-up file is listed once */
  list_dir("/dir", names, sizeof names);
  ck_assert_str_eq(names, "b.txt c.txt deep");
  /* new files in a lower directory merge with the lower's */
  put_file("/dir/new.txt", "n");
  list_dir("/dir", names, sizeof names);
  ck_assert_str_eq(names, "b.txt c.txt deep new.txt");
  ck_assert(!host_exists(d, "dir/new.txt"));
  /* an open file keeps working across a copy-up by another open */
  int r = xopen("/dir/deep/d.txt", LINUX_O_RDONLY, 0);
  put_file("/dir/deep/d.txt", "upper d");
  ck_assert_int_eq(get_file("/dir/deep/d.txt", buf, sizeof buf), 7);
  ck_assert_str_eq(buf, "upper d");
  moat_close(r);
}
END_TEST

START_TEST(whiteouts) {
  const char *d = lower();
  boot_host(d, "/", MOAT_ACCESS_COW);
  char buf[64], names[256];
  ck_assert_int_eq(moat_unlinkat(AT, "/dir/b.txt", 0), 0);
  ck_assert_int_eq(ftype("/dir/b.txt"), E(ENOENT));
  ck_assert_int_eq(moat_unlinkat(AT, "/dir/b.txt", 0), E(ENOENT));
  list_dir("/dir", names, sizeof names);
  ck_assert_str_eq(names, "c.txt deep");
  ck_assert(host_exists(d, "dir/b.txt"));
  /* re-create over the whiteout: only the new content */
  put_file("/dir/b.txt", "again");
  ck_assert_int_eq(get_file("/dir/b.txt", buf, sizeof buf), 5);
  list_dir("/dir", names, sizeof names);
  ck_assert_str_eq(names, "b.txt c.txt deep");
  /* a lower directory with entries is not empty */
  ck_assert_int_eq(moat_unlinkat(AT, "/dir/deep", LINUX_AT_REMOVEDIR),
                   E(ENOTEMPTY));
  ck_assert_int_eq(moat_unlinkat(AT, "/dir/deep/d.txt", 0), 0);
  ck_assert_int_eq(moat_unlinkat(AT, "/dir/deep", LINUX_AT_REMOVEDIR), 0);
  ck_assert_int_eq(ftype("/dir/deep"), E(ENOENT));
  /* re-created, it is empty (opaque): the lower's d.txt stays hidden */
  ck_assert_int_eq(moat_mkdirat(AT, "/dir/deep", 0755), 0);
  list_dir("/dir/deep", names, sizeof names);
  ck_assert_str_eq(names, "");
  ck_assert_int_eq(ftype("/dir/deep/d.txt"), E(ENOENT));
  ck_assert(host_exists(d, "dir/deep/d.txt"));
  /* symlink removal */
  ck_assert_int_eq(moat_unlinkat(AT, "/sym", 0), 0);
  ck_assert_int_eq(ftype("/sym"), E(ENOENT));
  ck_assert(host_exists(d, "sym"));
}
END_TEST

START_TEST(renames) {
  const char *d = lower();
  boot_host(d, "/", MOAT_ACCESS_COW);
  char buf[64], names[256];
  ck_assert_int_eq(moat_renameat2(AT, "/a.txt", AT, "/z.txt", 0), 0);
  ck_assert_int_eq(ftype("/a.txt"), E(ENOENT));
  ck_assert_int_eq(get_file("/z.txt", buf, sizeof buf), 7);
  ck_assert_str_eq(buf, "lower a");
  /* rename over a lower file */
  ck_assert_int_eq(moat_renameat2(AT, "/z.txt", AT, "/dir/c.txt", 0), 0);
  ck_assert_int_eq(get_file("/dir/c.txt", buf, sizeof buf), 7);
  ck_assert_str_eq(buf, "lower a");
  /* rename a lower directory with lower content */
  ck_assert_int_eq(moat_renameat2(AT, "/dir", AT, "/dir2", 0), 0);
  ck_assert_int_eq(ftype("/dir"), E(ENOENT));
  list_dir("/dir2", names, sizeof names);
  ck_assert_str_eq(names, "b.txt c.txt deep");
  ck_assert_int_eq(get_file("/dir2/deep/d.txt", buf, sizeof buf), 7);
  list_dir("/", names, sizeof names);
  ck_assert_ptr_null(strstr(names, "a.txt"));
  ck_assert_ptr_nonnull(strstr(names, "dir2"));
  /* and the name it left can be a new directory, empty */
  ck_assert_int_eq(moat_mkdirat(AT, "/dir", 0755), 0);
  list_dir("/dir", names, sizeof names);
  ck_assert_str_eq(names, "");
  /* host untouched */
  ck_assert(host_exists(d, "a.txt"));
  ck_assert(host_exists(d, "dir/b.txt"));
  ck_assert(!host_exists(d, "dir2"));
  ck_assert(!host_exists(d, "z.txt"));
  host_read(d, "dir/c.txt", buf, sizeof buf);
  ck_assert_str_eq(buf, "lower c");
}
END_TEST

START_TEST(hard_link_of_lower) {
  const char *d = lower();
  boot_host(d, "/", MOAT_ACCESS_COW);
  char buf[64];
  ck_assert_int_eq(moat_linkat(AT, "/a.txt", AT, "/a2.txt", 0), 0);
  ck_assert_int_eq(get_file("/a2.txt", buf, sizeof buf), 7);
  ck_assert_str_eq(buf, "lower a");
  ck_assert(!host_exists(d, "a2.txt"));
}
END_TEST

START_TEST(tar_lower) {
  static struct tarbuf t;
  tar_init(&t);
  tar_add(&t, "etc/", TAR_DIR, 0755, NULL, 0, NULL);
  tar_add(&t, "etc/passwd", TAR_REG, 0644, "root:x:0:0\n", 11, NULL);
  tar_add(&t, "etc/gone", TAR_REG, 0644, "g", 1, NULL);
  tar_finish(&t);
  boot_tar(&t, MOAT_ACCESS_COW);
  char buf[64], names[128];
  put_file("/etc/passwd", "changed\n");
  ck_assert_int_eq(get_file("/etc/passwd", buf, sizeof buf), 8);
  ck_assert_int_eq(moat_unlinkat(AT, "/etc/gone", 0), 0);
  ck_assert_int_eq(moat_renameat2(AT, "/etc/passwd", AT, "/etc/pw", 0), 0);
  list_dir("/etc", names, sizeof names);
  ck_assert_str_eq(names, "pw");
  ck_assert_int_eq(moat_mkdirat(AT, "/tmp2", 0755), 0);
}
END_TEST

/* Extended attributes: a lower-only file has none and keeps none on the
 * host; a set copies it up with its data; a rename keeps them; removing
 * what a lower-only file lacks does not copy it up. */
START_TEST(xattrs) {
  const char *d = lower();
  boot_host(d, "/", MOAT_ACCESS_COW);
  char buf[64];
  ck_assert_int_eq(moat_getxattrat(AT, "/a.txt", 0, "user.k", buf, 64),
                   -LINUX_ENODATA);
  ck_assert_int_eq(moat_listxattrat(AT, "/a.txt", 0, buf, sizeof buf), 0);
  ck_assert_int_eq(moat_removexattrat(AT, "/dir/c.txt", 0, "user.k"),
                   -LINUX_ENODATA);
  ck_assert_int_eq(
      moat_setxattrat(AT, "/a.txt", 0, "user.k", "v", 1, LINUX_XATTR_REPLACE),
      -LINUX_ENODATA);
  ck_assert_int_eq(moat_setxattrat(AT, "/a.txt", 0, "user.k", "v1", 2, 0), 0);
  ck_assert_int_eq(moat_setxattrat(AT, "/a.txt", 0, "user.j", "", 0, 0), 0);
  ck_assert_int_eq(moat_getxattrat(AT, "/a.txt", 0, "user.k", buf, 64), 2);
  ck_assert_int_eq(memcmp(buf, "v1", 2), 0);
  ck_assert_int_eq(moat_listxattrat(AT, "/a.txt", 0, buf, sizeof buf), 14);
  ck_assert_int_eq(memcmp(buf, "user.k\0user.j\0", 14), 0);
  ck_assert_int_eq(get_file("/a.txt", buf, sizeof buf), 7);
  ck_assert_str_eq(buf, "lower a");
  ck_assert_int_eq(moat_renameat2(AT, "/a.txt", AT, "/dir/a2", 0), 0);
  ck_assert_int_eq(moat_getxattrat(AT, "/dir/a2", 0, "user.k", NULL, 0), 2);
  /* a symlink takes no user attributes, a directory does */
  ck_assert_int_eq(moat_setxattrat(AT, "/sym", LINUX_AT_SYMLINK_NOFOLLOW,
                                   "user.k", "v", 1, 0),
                   -LINUX_EPERM);
  ck_assert_int_eq(moat_setxattrat(AT, "/dir/deep", 0, "user.d", "x", 1, 0), 0);
  ck_assert_int_eq(moat_getxattrat(AT, "/dir/deep", 0, "user.d", buf, 1), 1);
  ck_assert_int_eq(moat_getxattrat(AT, "/dir/deep", 0, "user.d", buf, 0), 1);
  ck_assert_int_eq(moat_getxattrat(AT, "/dir/deep", 0, "nope.x", buf, 8),
                   -LINUX_EOPNOTSUPP);
  ck_assert_int_eq(get_file("/dir/deep/d.txt", buf, sizeof buf), 7);
  ck_assert(!host_exists(d, "dir/a2"));
  ck_assert(host_exists(d, "a.txt"));
}
END_TEST

Suite *suite_overlay(void) {
  Suite *s = suite_create("overlay");
  TCase *tc = unit_tcase(s, "overlay");
  tcase_add_test(tc, read_through);
  tcase_add_test(tc, copy_up);
  tcase_add_test(tc, whiteouts);
  tcase_add_test(tc, renames);
  tcase_add_test(tc, hard_link_of_lower);
  tcase_add_test(tc, tar_lower);
  tcase_add_test(tc, xattrs);
  return s;
}
