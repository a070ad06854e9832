/* hostfs: a granted host directory mounted into the sandbox, read-only
 * (every write EROFS), read-write (writes reach the host) and copy-on-write
 * (writes stay in memory). Also proves that host symlinks are resolved in
 * the sandbox, never on the host, so a link cannot lead out of the grant. */
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

static const char *tree(void) {
  const char *d = host_tmpdir();
  char p[256];
  host_write(d, "f.txt", "host file");
  snprintf(p, sizeof p, "%s/sub", d);
  ck_assert_int_eq(mkdir(p, 0755), 0);
  host_write(d, "sub/g.txt", "in sub");
  snprintf(p, sizeof p, "%s/abs-link", d);
  ck_assert_int_eq(symlink("/etc/hostname", p), 0);
  snprintf(p, sizeof p, "%s/up-link", d);
  ck_assert_int_eq(symlink("../../../../../../etc/hostname", p), 0);
  snprintf(p, sizeof p, "%s/ok-link", d);
  ck_assert_int_eq(symlink("sub/g.txt", p), 0);
  return d;
}

START_TEST(read_only) {
  const char *d = tree();
  boot_host(d, "/h", MOAT_ACCESS_RO);
  char buf[64], names[256];
  ck_assert_int_eq(get_file("/h/f.txt", buf, sizeof buf), 9);
  ck_assert_str_eq(buf, "host file");
  list_dir("/h", names, sizeof names);
  ck_assert_str_eq(names, "abs-link f.txt ok-link sub up-link");
  struct linux_stat st;
  struct stat hst;
  char p[256];
  snprintf(p, sizeof p, "%s/f.txt", d);
  ck_assert_int_eq(stat(p, &hst), 0);
  ck_assert_int_eq(moat_fstatat(AT, "/h/f.txt", &st, 0), 0);
  ck_assert_int_eq(st.st_size, 9);
  ck_assert_int_eq(st.st_mode, hst.st_mode);
  ck_assert_int_eq(st.st_mtim.tv_sec, hst.st_mtim.tv_sec);
  ck_assert_int_eq(get_file("/h/ok-link", buf, sizeof buf), 6);
  ck_assert_int_eq(moat_openat(AT, "/h/f.txt", LINUX_O_RDWR, 0), E(EROFS));
  ck_assert_int_eq(
      moat_openat(AT, "/h/new", LINUX_O_WRONLY | LINUX_O_CREAT, 0644),
      E(EROFS));
  ck_assert_int_eq(moat_mkdirat(AT, "/h/nd", 0755), E(EROFS));
  ck_assert_int_eq(moat_unlinkat(AT, "/h/f.txt", 0), E(EROFS));
  ck_assert_int_eq(moat_renameat2(AT, "/h/f.txt", AT, "/h/x", 0), E(EROFS));
  ck_assert_int_eq(moat_symlinkat("x", AT, "/h/l"), E(EROFS));
  ck_assert_int_eq(moat_fchmodat(AT, "/h/f.txt", 0600, 0), E(EROFS));
  ck_assert_int_eq(moat_truncate("/h/f.txt", 0), E(EROFS));
  ck_assert_int_eq(moat_unlinkat(AT, "/h/sub", LINUX_AT_REMOVEDIR), E(EROFS));
  host_read(d, "f.txt", buf, sizeof buf);
  ck_assert_str_eq(buf, "host file");
}
END_TEST

START_TEST(read_write) {
  const char *d = tree();
  boot_host(d, "/h", MOAT_ACCESS_RW);
  char buf[64];
  put_file("/h/new.txt", "from the sandbox");
  ck_assert(host_read(d, "new.txt", buf, sizeof buf));
  ck_assert_str_eq(buf, "from the sandbox");
  ck_assert_int_eq(moat_mkdirat(AT, "/h/nd", 0755), 0);
  ck_assert(host_exists(d, "nd"));
  ck_assert_int_eq(moat_renameat2(AT, "/h/new.txt", AT, "/h/nd/moved", 0), 0);
  ck_assert(host_exists(d, "nd/moved"));
  ck_assert(!host_exists(d, "new.txt"));
  ck_assert_int_eq(moat_unlinkat(AT, "/h/f.txt", 0), 0);
  ck_assert(!host_exists(d, "f.txt"));
  ck_assert_int_eq(moat_symlinkat("nd/moved", AT, "/h/sl"), 0);
  ck_assert_int_eq(get_file("/h/sl", buf, sizeof buf), 16);
  ck_assert_int_eq(moat_truncate("/h/nd/moved", 4), 0);
  host_read(d, "nd/moved", buf, sizeof buf);
  ck_assert_str_eq(buf, "from");
  int fd = xopen("/h/nd/moved", LINUX_O_WRONLY | LINUX_O_APPEND, 0);
  ck_assert_int_eq(moat_write(fd, "!", 1), 1);
  moat_close(fd);
  host_read(d, "nd/moved", buf, sizeof buf);
  ck_assert_str_eq(buf, "from!");
  ck_assert_int_eq(moat_linkat(AT, "/h/nd/moved", AT, "/h/hard", 0), 0);
  ck_assert(host_exists(d, "hard"));
  /* a rename across two mounts is EXDEV */
  put_file("/tmp/mem", "m");
  ck_assert_int_eq(moat_renameat2(AT, "/tmp/mem", AT, "/h/mem", 0), E(EXDEV));
  /* the mount point itself cannot be removed or renamed */
  ck_assert_int_ne(moat_unlinkat(AT, "/h", LINUX_AT_REMOVEDIR), 0);
}
END_TEST

/* A grant maps one id of each kind (the test platform's: the test's
 * own): chown to it reaches the host, to any other id is EOVERFLOW. */
START_TEST(chown_grant) {
  const char *d = tree();
  char p[256];
  snprintf(p, sizeof p, "%s/f.txt", d);
  bool root = getuid() == 0;
  if (root)
    ck_assert_int_eq(chown(p, 0, 1234), 0);
  boot_host(d, "/h", MOAT_ACCESS_RW);
  uint32_t uid = (uint32_t)getuid(), gid = (uint32_t)getgid();
  ck_assert_int_eq(moat_fchownat(AT, "/h/f.txt", uid + 1000, 0xffffffffu, 0),
                   E(EOVERFLOW));
  ck_assert_int_eq(moat_fchownat(AT, "/h/f.txt", 0xffffffffu, gid + 1000, 0),
                   E(EOVERFLOW));
  ck_assert_int_eq(moat_fchownat(AT, "/h/f.txt", uid, gid, 0), 0);
  struct stat hst;
  ck_assert_int_eq(stat(p, &hst), 0);
  ck_assert_int_eq(hst.st_uid, uid);
  ck_assert_int_eq(hst.st_gid, gid);
  ck_assert_int_eq(
      moat_fchownat(AT, "/h/ok-link", uid, gid, LINUX_AT_SYMLINK_NOFOLLOW), 0);
}
END_TEST

START_TEST(copy_on_write) {
  const char *d = tree();
  boot_host(d, "/h", MOAT_ACCESS_COW);
  char buf[64];
  put_file("/h/f.txt", "changed");
  ck_assert_int_eq(get_file("/h/f.txt", buf, sizeof buf), 7);
  host_read(d, "f.txt", buf, sizeof buf);
  ck_assert_str_eq(buf, "host file");
  put_file("/h/new", "n");
  ck_assert(!host_exists(d, "new"));
  ck_assert_int_eq(moat_unlinkat(AT, "/h/sub/g.txt", 0), 0);
  ck_assert(host_exists(d, "sub/g.txt"));
}
END_TEST

START_TEST(symlinks_stay_inside) {
  const char *d = tree();
  boot_host(d, "/h", MOAT_ACCESS_RW);
  char buf[256];
  /* resolved in the sandbox: /etc/hostname does not exist in a memfs root */
  ck_assert_int_eq(get_file("/h/abs-link", buf, sizeof buf), E(ENOENT));
  ck_assert_int_eq(get_file("/h/up-link", buf, sizeof buf), E(ENOENT));
  /* .. from the mount goes to the sandbox root, not the host parent */
  struct linux_stat root, up;
  ck_assert_int_eq(moat_fstatat(AT, "/", &root, 0), 0);
  ck_assert_int_eq(moat_fstatat(AT, "/h/..", &up, 0), 0);
  ck_assert_int_eq(root.st_ino, up.st_ino);
  ck_assert_int_eq(moat_fstatat(AT, "/h/../../../..", &up, 0), 0);
  ck_assert_int_eq(root.st_ino, up.st_ino);
  /* a link the guest makes to a host path is still a sandbox path */
  char target[256];
  snprintf(target, sizeof target, "%s/f.txt", d);
  ck_assert_int_eq(moat_symlinkat(target, AT, "/h/guest-link"), 0);
  ck_assert_int_eq(get_file("/h/guest-link", buf, sizeof buf), E(ENOENT));
  /* writing through it does not create anything on the host outside */
  ck_assert_int_eq(moat_symlinkat("/outside-file", AT, "/h/w-link"), 0);
  int fd = moat_openat(AT, "/h/w-link", LINUX_O_WRONLY | LINUX_O_CREAT, 0644);
  if (fd >= 0)
    moat_close(fd);
  ck_assert_int_ne(access("/outside-file", F_OK), 0);
}
END_TEST

Suite *suite_hostfs(void) {
  Suite *s = suite_create("hostfs");
  TCase *tc = unit_tcase(s, "hostfs");
  tcase_add_test(tc, read_only);
  tcase_add_test(tc, read_write);
  tcase_add_test(tc, chown_grant);
  tcase_add_test(tc, copy_on_write);
  tcase_add_test(tc, symlinks_stay_inside);
  return s;
}
