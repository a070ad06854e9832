/* Path resolution: absolute and relative paths, . and .., symlinks and
 * their loop limit, trailing slashes, the errors path_resolution(7) and the
 * syscall man pages give, and the rule that resolution never climbs above
 * the sandbox root. All on the default in-memory root. */
#include <string.h>

#include "unit.h"

static struct linux_stat st_of(const char *path) {
  struct linux_stat st;
  int r = moat_fstatat(AT, path, &st, 0);
  ck_assert_msg(r == 0, "stat %s: %d", path, r);
  return st;
}

static void mkdirs(void) {
  ck_assert_int_eq(moat_mkdirat(AT, "/a", 0755), 0);
  ck_assert_int_eq(moat_mkdirat(AT, "/a/b", 0755), 0);
  put_file("/a/b/f", "data");
}

START_TEST(dot_and_dotdot) {
  boot_memfs();
  mkdirs();
  struct linux_stat root = st_of("/");
  ck_assert_int_eq(S_TYPE(root.st_mode), LINUX_S_IFDIR);
  ck_assert_int_eq(st_of("/..").st_ino, root.st_ino);
  ck_assert_int_eq(st_of("/../../..").st_ino, root.st_ino);
  ck_assert_int_eq(st_of("/a/./b/../b/f").st_size, 4);
  ck_assert_int_eq(st_of("/../a/../../a/b/f").st_size, 4);
  ck_assert_int_eq(st_of("//a//b///f").st_size, 4);
  ck_assert_int_eq(st_of("/a/b/..").st_ino, st_of("/a").st_ino);
}
END_TEST

START_TEST(relative_and_cwd) {
  boot_memfs();
  mkdirs();
  char buf[256];
  ck_assert_int_eq(moat_getcwd(buf, sizeof buf), 2);
  ck_assert_str_eq(buf, "/");
  ck_assert_int_eq(moat_chdir("/a/b"), 0);
  ck_assert_int_eq(moat_getcwd(buf, sizeof buf), 5);
  ck_assert_str_eq(buf, "/a/b");
  ck_assert_int_eq(st_of("f").st_size, 4);
  ck_assert_int_eq(st_of("../b/./f").st_size, 4);
  ck_assert_int_eq(moat_getcwd(buf, 3), E(ERANGE));
  ck_assert_int_eq(moat_chdir(".."), 0);
  ck_assert_int_eq(moat_getcwd(buf, sizeof buf), 3);
  ck_assert_str_eq(buf, "/a");
  ck_assert_int_eq(moat_chdir("../../../.."), 0);
  ck_assert_int_eq(moat_getcwd(buf, sizeof buf), 2);
  ck_assert_int_eq(moat_chdir("/a/b/f"), E(ENOTDIR));
  ck_assert_int_eq(moat_chdir("/nope"), E(ENOENT));
  ck_assert_int_eq(moat_chdir(""), E(ENOENT));
  /* openat relative to a directory fd, and fchdir */
  int d = xopen("/a", LINUX_O_RDONLY | LINUX_O_DIRECTORY, 0);
  struct linux_stat st;
  ck_assert_int_eq(moat_fstatat(d, "b/f", &st, 0), 0);
  ck_assert_int_eq(moat_fstatat(d, "/a/b/f", &st, 0), 0); /* absolute wins */
  int f = xopen("/a/b/f", LINUX_O_RDONLY, 0);
  ck_assert_int_eq(moat_fstatat(f, "x", &st, 0), E(ENOTDIR));
  ck_assert_int_eq(moat_fstatat(99, "x", &st, 0), E(EBADF));
  ck_assert_int_eq(moat_fchdir(d), 0);
  ck_assert_int_eq(moat_getcwd(buf, sizeof buf), 3);
  ck_assert_str_eq(buf, "/a");
  ck_assert_int_eq(moat_fchdir(f), E(ENOTDIR));
}
END_TEST

START_TEST(symlinks) {
  boot_memfs();
  mkdirs();
  ck_assert_int_eq(moat_symlinkat("/a/b", AT, "/abs"), 0);
  ck_assert_int_eq(moat_symlinkat("b", AT, "/a/rel"), 0);
  ck_assert_int_eq(moat_symlinkat("../..", AT, "/a/b/up"), 0);
  ck_assert_int_eq(moat_symlinkat("../../../../../..", AT, "/a/b/far"), 0);
  ck_assert_int_eq(st_of("/abs/f").st_size, 4);
  ck_assert_int_eq(st_of("/a/rel/f").st_size, 4);
  ck_assert_int_eq(st_of("/a/b/up").st_ino, st_of("/").st_ino);
  ck_assert_int_eq(st_of("/a/b/far").st_ino, st_of("/").st_ino);
  ck_assert_int_eq(st_of("/a/b/far/a/b/f").st_size, 4);
  struct linux_stat st;
  ck_assert_int_eq(moat_fstatat(AT, "/abs", &st, LINUX_AT_SYMLINK_NOFOLLOW), 0);
  ck_assert_int_eq(S_TYPE(st.st_mode), LINUX_S_IFLNK);
  ck_assert_int_eq(st.st_size, 4); /* length of the target */
  /* a trailing slash follows the link even with NOFOLLOW */
  ck_assert_int_eq(moat_fstatat(AT, "/abs/", &st, LINUX_AT_SYMLINK_NOFOLLOW),
                   0);
  ck_assert_int_eq(S_TYPE(st.st_mode), LINUX_S_IFDIR);
  char buf[64];
  ck_assert_int_eq(moat_readlinkat(AT, "/a/rel", buf, sizeof buf), 1);
  ck_assert_int_eq(buf[0], 'b');
  ck_assert_int_eq(moat_readlinkat(AT, "/abs", buf, 2), 2); /* truncates */
  ck_assert_int_eq(moat_readlinkat(AT, "/a/b/f", buf, sizeof buf), E(EINVAL));
  ck_assert_int_eq(moat_readlinkat(AT, "/nope", buf, sizeof buf), E(ENOENT));
  /* O_NOFOLLOW on a final symlink */
  ck_assert_int_eq(
      moat_openat(AT, "/abs", LINUX_O_RDONLY | LINUX_O_NOFOLLOW, 0), E(ELOOP));
  /* dangling link: ENOENT; O_CREAT through it creates the target */
  ck_assert_int_eq(moat_symlinkat("/a/target", AT, "/dangling"), 0);
  ck_assert_int_eq(moat_openat(AT, "/dangling", LINUX_O_RDONLY, 0), E(ENOENT));
  int fd = moat_openat(AT, "/dangling", LINUX_O_WRONLY | LINUX_O_CREAT, 0644);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(ftype("/a/target"), LINUX_S_IFREG);
  /* O_CREAT|O_EXCL never follows */
  ck_assert_int_eq(moat_symlinkat("/a/t2", AT, "/dangling2"), 0);
  ck_assert_int_eq(moat_openat(AT, "/dangling2",
                               LINUX_O_WRONLY | LINUX_O_CREAT | LINUX_O_EXCL,
                               0644),
                   E(EEXIST));
  ck_assert_int_eq(ftype("/a/t2"), E(ENOENT));
  /* symlink over an existing name, empty target */
  ck_assert_int_eq(moat_symlinkat("x", AT, "/abs"), E(EEXIST));
  ck_assert_int_eq(moat_symlinkat("", AT, "/empty"), E(ENOENT));
}
END_TEST

START_TEST(symlink_loops) {
  boot_memfs();
  ck_assert_int_eq(moat_symlinkat("/loop2", AT, "/loop1"), 0);
  ck_assert_int_eq(moat_symlinkat("/loop1", AT, "/loop2"), 0);
  ck_assert_int_eq(moat_symlinkat("self", AT, "/self"), 0);
  struct linux_stat st;
  ck_assert_int_eq(moat_fstatat(AT, "/loop1", &st, 0), E(ELOOP));
  ck_assert_int_eq(moat_fstatat(AT, "/self/x", &st, 0), E(ELOOP));
  ck_assert_int_eq(moat_openat(AT, "/loop1", LINUX_O_RDONLY, 0), E(ELOOP));
  ck_assert_int_eq(moat_fstatat(AT, "/loop1", &st, LINUX_AT_SYMLINK_NOFOLLOW),
                   0);
  /* Linux follows at most 40 links in one resolution (path_resolution(7)):
   * a chain of 40 resolves, 41 is ELOOP. */
  put_file("/end", "e");
  char name[32], target[32];
  for (int i = 0; i < 41; i++) {
    snprintf(name, sizeof name, "/c%d", i);
    if (i == 0)
      snprintf(target, sizeof target, "/end");
    else
      snprintf(target, sizeof target, "/c%d", i - 1);
    ck_assert_int_eq(moat_symlinkat(target, AT, name), 0);
  }
  ck_assert_int_eq(moat_fstatat(AT, "/c39", &st, 0), 0);
  ck_assert_int_eq(moat_fstatat(AT, "/c40", &st, 0), E(ELOOP));
}
END_TEST

START_TEST(trailing_slashes) {
  boot_memfs();
  mkdirs();
  struct linux_stat st;
  ck_assert_int_eq(moat_fstatat(AT, "/a/b/f/", &st, 0), E(ENOTDIR));
  ck_assert_int_eq(moat_openat(AT, "/a/b/f/", LINUX_O_RDONLY, 0), E(ENOTDIR));
  ck_assert_int_eq(moat_fstatat(AT, "/a/b/", &st, 0), 0);
  ck_assert_int_eq(moat_mkdirat(AT, "/new/", 0755), 0);
  ck_assert_int_eq(ftype("/new"), LINUX_S_IFDIR);
  ck_assert_int_eq(
      moat_openat(AT, "/nofile/", LINUX_O_WRONLY | LINUX_O_CREAT, 0644),
      E(EISDIR));
  ck_assert_int_eq(moat_unlinkat(AT, "/a/b/f/", 0), E(ENOTDIR));
  ck_assert_int_eq(moat_unlinkat(AT, "/new/", LINUX_AT_REMOVEDIR), 0);
  ck_assert_int_eq(ftype("/new"), E(ENOENT));
}
END_TEST

START_TEST(errors) {
  boot_memfs();
  mkdirs();
  struct linux_stat st;
  ck_assert_int_eq(moat_fstatat(AT, "/a/b/f/x", &st, 0), E(ENOTDIR));
  ck_assert_int_eq(moat_fstatat(AT, "/nope/x", &st, 0), E(ENOENT));
  ck_assert_int_eq(moat_fstatat(AT, "", &st, 0), E(ENOENT));
  ck_assert_int_eq(moat_mkdirat(AT, "/nope/x", 0755), E(ENOENT));
  ck_assert_int_eq(moat_mkdirat(AT, "/a", 0755), E(EEXIST));
  ck_assert_int_eq(moat_mkdirat(AT, "/", 0755), E(EEXIST));
  ck_assert_int_eq(moat_unlinkat(AT, "/a", 0), E(EISDIR));
  ck_assert_int_eq(moat_unlinkat(AT, "/a", LINUX_AT_REMOVEDIR), E(ENOTEMPTY));
  ck_assert_int_eq(moat_unlinkat(AT, "/a/b/.", LINUX_AT_REMOVEDIR), E(EINVAL));
  ck_assert_int_eq(moat_unlinkat(AT, "/a/b/f", LINUX_AT_REMOVEDIR), E(ENOTDIR));
  ck_assert_int_eq(moat_unlinkat(AT, "/nope", 0), E(ENOENT));
  ck_assert_int_eq(moat_unlinkat(AT, "/a/b/f", 0), 0);
  ck_assert_int_eq(moat_unlinkat(AT, "/a/b", LINUX_AT_REMOVEDIR), 0);
  ck_assert_int_eq(ftype("/a/b"), E(ENOENT));
}
END_TEST

START_TEST(name_too_long) {
  boot_memfs();
  char name[300];
  memset(name, 'n', sizeof name);
  name[0] = '/';
  name[256] = 0; /* a 255-byte component: the limit, allowed */
  int fd = moat_openat(AT, name, LINUX_O_WRONLY | LINUX_O_CREAT, 0644);
  ck_assert_int_ge(fd, 0);
  name[256] = 'n';
  name[257] = 0; /* 256 bytes: too long */
  ck_assert_int_eq(moat_openat(AT, name, LINUX_O_WRONLY | LINUX_O_CREAT, 0644),
                   E(ENAMETOOLONG));
  ck_assert_int_eq(moat_mkdirat(AT, name, 0755), E(ENAMETOOLONG));
  static char path[5000];
  for (int i = 0; i < 4998; i += 2)
    memcpy(path + i, "/.", 2);
  path[4998] = 0; /* longer than PATH_MAX */
  struct linux_stat st;
  ck_assert_int_eq(moat_fstatat(AT, path, &st, 0), E(ENAMETOOLONG));
  path[4094] = 0; /* 4094 bytes + NUL fits */
  ck_assert_int_eq(moat_fstatat(AT, path, &st, 0), 0);
}
END_TEST

Suite *suite_paths(void) {
  Suite *s = suite_create("paths");
  TCase *tc = unit_tcase(s, "resolution");
  tcase_add_test(tc, dot_and_dotdot);
  tcase_add_test(tc, relative_and_cwd);
  tcase_add_test(tc, symlinks);
  tcase_add_test(tc, symlink_loops);
  tcase_add_test(tc, trailing_slashes);
  tcase_add_test(tc, errors);
  tcase_add_test(tc, name_too_long);
  return s;
}
