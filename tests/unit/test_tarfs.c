/* tarfs: a read-only file system served from a tar image in memory.
 * Proves ustar entries (with the prefix field), pax and GNU long names and
 * link names, symlinks, hard links, modes and times from the headers,
 * implicit parent directories, read-only behaviour (EROFS), and that
 * malformed images (bad checksum, truncated data, a bad size field) make
 * moat_boot fail instead of producing a half-read tree. */
#include <string.h>
#include <unistd.h>

#include "unit.h"

static char g_long[300];

static void build(struct tarbuf *t) {
  tar_init(t);
  tar_add(t, "d/", TAR_DIR, 0755, NULL, 0, NULL);
  tar_add(t, "d/f.txt", TAR_REG, 0640, "file data\n", 10, NULL);
  tar_add(t, "d/s", TAR_SYMLINK, 0777, NULL, 0, "f.txt");
  tar_add(t, "d/h", TAR_HARDLINK, 0640, NULL, 0, "d/f.txt");
  tar_add(t, "d/empty", TAR_REG, 0600, NULL, 0, NULL);
  /* 180 bytes: needs the ustar prefix field */
  char name[200];
  memset(name, 0, sizeof name);
  strcpy(name, "d/");
  memset(name + 2, 'p', 90);
  strcpy(name + 92, "/");
  memset(name + 93, 'q', 87);
  tar_add(t, name, TAR_REG, 0644, "prefix", 6, NULL);
  /* a 250-byte single component: pax path */
  memset(g_long, 'x', 250);
  g_long[250] = 0;
  char pax[320];
  snprintf(pax, sizeof pax, "d/%s", g_long);
  tar_add_pax(t, pax, TAR_REG, 0644, "pax", 3, NULL);
  /* GNU long name and long link target */
  char gnu[320], gnulink[320];
  snprintf(gnu, sizeof gnu, "d/g%s", g_long + 1);
  snprintf(gnulink, sizeof gnulink, "%s", pax + 2);
  tar_add_gnu(t, gnu, TAR_REG, 0644, "gnu", 3, NULL);
  gnu[2] = 'L';
  tar_add_gnu(t, gnu, TAR_SYMLINK, 0777, NULL, 0, gnulink);
  /* no entry for implicit/ or implicit/sub/ */
  tar_add(t, "implicit/sub/file", TAR_REG, 0644, "imp", 3, NULL);
  tar_finish(t);
}

START_TEST(contents) {
  static struct tarbuf t;
  build(&t);
  boot_tar(&t, MOAT_ACCESS_RO);
  char buf[512];
  ck_assert_int_eq(get_file("/d/f.txt", buf, sizeof buf), 10);
  ck_assert_str_eq(buf, "file data\n");
  struct linux_stat st, st2;
  ck_assert_int_eq(moat_fstatat(AT, "/d/f.txt", &st, 0), 0);
  ck_assert_int_eq(st.st_mode, LINUX_S_IFREG | 0640);
  ck_assert_int_eq(st.st_size, 10);
  ck_assert_int_eq(st.st_mtim.tv_sec, 1700000000);
  ck_assert_int_eq(moat_fstatat(AT, "/d", &st, 0), 0);
  ck_assert_int_eq(st.st_mode, LINUX_S_IFDIR | 0755);
  /* symlink */
  ck_assert_int_eq(ftype("/d/s"), LINUX_S_IFLNK);
  ck_assert_int_eq(moat_readlinkat(AT, "/d/s", buf, sizeof buf), 5);
  ck_assert_int_eq(get_file("/d/s", buf, sizeof buf), 10);
  /* hard link: the same inode */
  ck_assert_int_eq(moat_fstatat(AT, "/d/f.txt", &st, 0), 0);
  ck_assert_int_eq(moat_fstatat(AT, "/d/h", &st2, 0), 0);
  ck_assert_int_eq(st.st_ino, st2.st_ino);
  ck_assert_int_eq(st2.st_nlink, 2);
  ck_assert_int_eq(get_file("/d/h", buf, sizeof buf), 10);
  ck_assert_int_eq(get_file("/d/empty", buf, sizeof buf), 0);
  /* the prefix-field name */
  char name[200];
  strcpy(name, "/d/");
  memset(name + 3, 'p', 90);
  strcpy(name + 93, "/");
  memset(name + 94, 'q', 87);
  name[181] = 0;
  ck_assert_int_eq(get_file(name, buf, sizeof buf), 6);
  ck_assert_str_eq(buf, "prefix");
  /* pax and GNU long names, and a GNU long link target */
  char p[320];
  snprintf(p, sizeof p, "/d/%s", g_long);
  ck_assert_int_eq(get_file(p, buf, sizeof buf), 3);
  ck_assert_str_eq(buf, "pax");
  snprintf(p, sizeof p, "/d/g%s", g_long + 1);
  ck_assert_int_eq(get_file(p, buf, sizeof buf), 3);
  ck_assert_str_eq(buf, "gnu");
  p[3] = 'L';
  ck_assert_int_eq(moat_readlinkat(AT, p, buf, sizeof buf), 250);
  ck_assert_int_eq(get_file(p, buf, sizeof buf), 3);
  ck_assert_str_eq(buf, "pax");
  /* the short names of the long-name entries are not visible */
  ck_assert_int_eq(ftype("/pax-short-name"), E(ENOENT));
  ck_assert_int_eq(ftype("/gnu-short-name"), E(ENOENT));
  ck_assert_int_eq(ftype("/././@LongLink"), E(ENOENT));
  /* implicit parents */
  ck_assert_int_eq(ftype("/implicit/sub"), LINUX_S_IFDIR);
  ck_assert_int_eq(get_file("/implicit/sub/file", buf, sizeof buf), 3);
  char names[1024];
  list_dir("/implicit", names, sizeof names);
  ck_assert_str_eq(names, "sub");
}
END_TEST

START_TEST(read_only) {
  static struct tarbuf t;
  build(&t);
  boot_tar(&t, MOAT_ACCESS_RO);
  ck_assert_int_eq(moat_openat(AT, "/d/f.txt", LINUX_O_WRONLY, 0), E(EROFS));
  ck_assert_int_eq(
      moat_openat(AT, "/d/new", LINUX_O_WRONLY | LINUX_O_CREAT, 0644),
      E(EROFS));
  ck_assert_int_eq(moat_mkdirat(AT, "/d/x", 0755), E(EROFS));
  ck_assert_int_eq(moat_unlinkat(AT, "/d/f.txt", 0), E(EROFS));
  ck_assert_int_eq(moat_renameat2(AT, "/d/f.txt", AT, "/d/g", 0), E(EROFS));
  ck_assert_int_eq(moat_symlinkat("x", AT, "/d/l"), E(EROFS));
  ck_assert_int_eq(moat_fchmodat(AT, "/d/f.txt", 0600, 0), E(EROFS));
  ck_assert_int_eq(moat_truncate("/d/f.txt", 0), E(EROFS));
  /* reading still works, and so does /dev */
  char buf[64];
  ck_assert_int_eq(get_file("/d/f.txt", buf, sizeof buf), 10);
}
END_TEST

static int boot_image(const struct tarbuf *t) {
  static struct moat_config cfg;
  cfg.mounts[0] = (struct moat_mount){.guest_path = "/",
                                      .kind = MOAT_MOUNT_TAR,
                                      .access = MOAT_ACCESS_RO,
                                      .tar_base = t->data,
                                      .tar_size = t->len};
  cfg.nmounts = 1;
  const char *why = NULL;
  return moat_boot(&cfg, &why);
}

START_TEST(bad_checksum) {
  static struct tarbuf t;
  build(&t);
  t.data[tar_header_offset(&t, 1) + 10] ^= 1; /* a byte of d/f.txt's name */
  ck_assert_int_lt(boot_image(&t), 0);
}
END_TEST

START_TEST(truncated_data) {
  static struct tarbuf t;
  tar_init(&t);
  static char big[5000];
  memset(big, 'b', sizeof big);
  tar_add(&t, "big", TAR_REG, 0644, big, sizeof big, NULL);
  t.len = 512 + 2048; /* the header and part of the data */
  ck_assert_int_lt(boot_image(&t), 0);
}
END_TEST

START_TEST(truncated_header) {
  static struct tarbuf t;
  build(&t);
  t.len = tar_header_offset(&t, 2) + 100;
  ck_assert_int_lt(boot_image(&t), 0);
}
END_TEST

START_TEST(bad_size_field) {
  static struct tarbuf t;
  tar_init(&t);
  tar_add(&t, "f", TAR_REG, 0644, "abc", 3, NULL);
  tar_finish(&t);
  unsigned char *h = t.data;
  memcpy(h + 124, "99999999999", 11); /* not octal */
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; i++)
    sum += h[i];
  snprintf((char *)h + 148, 8, "%06o", sum);
  ck_assert_int_lt(boot_image(&t), 0);
}
END_TEST

START_TEST(escaping_names) {
  /* "../evil" and "/abs": never outside the root; whatever tarfs does with
   * them (refuse the image or keep them inside), the root stays the root. */
  static struct tarbuf t;
  tar_init(&t);
  tar_add(&t, "../evil", TAR_REG, 0644, "e", 1, NULL);
  tar_add(&t, "/abs", TAR_REG, 0644, "a", 1, NULL);
  tar_add(&t, "ok", TAR_REG, 0644, "o", 1, NULL);
  tar_finish(&t);
  if (boot_image(&t) < 0)
    return;
  struct linux_stat root, up;
  ck_assert_int_eq(moat_fstatat(AT, "/", &root, 0), 0);
  ck_assert_int_eq(moat_fstatat(AT, "/..", &up, 0), 0);
  ck_assert_int_eq(root.st_ino, up.st_ino);
}
END_TEST

Suite *suite_tarfs(void) {
  Suite *s = suite_create("tarfs");
  TCase *tc = unit_tcase(s, "tarfs");
  tcase_add_test(tc, contents);
  tcase_add_test(tc, read_only);
  tcase_add_test(tc, bad_checksum);
  tcase_add_test(tc, truncated_data);
  tcase_add_test(tc, truncated_header);
  tcase_add_test(tc, bad_size_field);
  tcase_add_test(tc, escaping_names);
  return s;
}
