/* memfs, the in-memory read-write file system (the default root): file
 * data through read/write/seek/pread/pwrite/readv/writev, truncation and
 * holes, O_APPEND/O_TRUNC/O_EXCL, hard links, unlink while open, rename in
 * all its forms, modes and umask, times, and directory listing. Expected
 * values are those of the Linux man pages. */
#include <string.h>

#include "unit.h"

#define RW (LINUX_O_RDWR | LINUX_O_CREAT)

START_TEST(read_write_seek) {
  boot_memfs();
  int fd = xopen("/tmp/f", RW, 0644);
  ck_assert_int_eq(moat_write(fd, "hello world", 11), 11);
  ck_assert_int_eq(moat_lseek(fd, 0, LINUX_SEEK_CUR), 11);
  ck_assert_int_eq(moat_lseek(fd, 0, LINUX_SEEK_SET), 0);
  char buf[64] = {0};
  ck_assert_int_eq(moat_read(fd, buf, 5), 5);
  ck_assert_str_eq(buf, "hello");
  ck_assert_int_eq(moat_lseek(fd, -5, LINUX_SEEK_END), 6);
  memset(buf, 0, sizeof buf);
  ck_assert_int_eq(moat_read(fd, buf, sizeof buf), 5);
  ck_assert_str_eq(buf, "world");
  ck_assert_int_eq(moat_read(fd, buf, sizeof buf), 0); /* at end */
  ck_assert_int_eq(moat_lseek(fd, -1, LINUX_SEEK_SET), E(EINVAL));
  ck_assert_int_eq(moat_lseek(fd, 0, 17), E(EINVAL));
  ck_assert_int_eq(moat_lseek(99, 0, LINUX_SEEK_SET), E(EBADF));
  /* pread/pwrite leave the offset alone */
  ck_assert_int_eq(moat_lseek(fd, 2, LINUX_SEEK_SET), 2);
  ck_assert_int_eq(moat_pwrite(fd, "W", 1, 6), 1);
  memset(buf, 0, sizeof buf);
  ck_assert_int_eq(moat_pread(fd, buf, 5, 6), 5);
  ck_assert_str_eq(buf, "World");
  ck_assert_int_eq(moat_lseek(fd, 0, LINUX_SEEK_CUR), 2);
  ck_assert_int_eq(moat_pread(fd, buf, 5, -1), E(EINVAL));
  /* a hole past the end reads as zeros */
  ck_assert_int_eq(moat_pwrite(fd, "Z", 1, 100), 1);
  struct linux_stat st;
  ck_assert_int_eq(moat_fstat(fd, &st), 0);
  ck_assert_int_eq(st.st_size, 101);
  ck_assert_int_eq(moat_pread(fd, buf, 4, 50), 4);
  ck_assert_mem_eq(buf, "\0\0\0\0", 4);
  /* readv / writev */
  char a[3], b[4];
  struct linux_iovec iov[2] = {{a, 3}, {b, 4}};
  ck_assert_int_eq(moat_lseek(fd, 0, LINUX_SEEK_SET), 0);
  ck_assert_int_eq(moat_readv(fd, iov, 2), 7);
  ck_assert_mem_eq(a, "hel", 3);
  ck_assert_mem_eq(b, "lo W", 4);
  struct linux_iovec out[2] = {{"AB", 2}, {"CDE", 3}};
  ck_assert_int_eq(moat_lseek(fd, 0, LINUX_SEEK_SET), 0);
  ck_assert_int_eq(moat_writev(fd, out, 2), 5);
  ck_assert_int_eq(moat_pread(fd, buf, 6, 0), 6);
  ck_assert_mem_eq(buf, "ABCDE ", 6);
  ck_assert_int_eq(moat_writev(fd, out, -1), E(EINVAL));
  ck_assert_int_eq(moat_close(fd), 0);
  ck_assert_int_eq(moat_close(fd), E(EBADF));
}
END_TEST

START_TEST(open_flags) {
  boot_memfs();
  put_file("/tmp/f", "0123456789");
  ck_assert_int_eq(moat_openat(AT, "/tmp/f",
                               LINUX_O_WRONLY | LINUX_O_CREAT | LINUX_O_EXCL,
                               0644),
                   E(EEXIST));
  ck_assert_int_eq(moat_openat(AT, "/tmp/none", LINUX_O_RDONLY, 0), E(ENOENT));
  ck_assert_int_eq(moat_openat(AT, "/tmp", LINUX_O_WRONLY, 0), E(EISDIR));
  ck_assert_int_eq(moat_openat(AT, "/tmp", LINUX_O_RDWR, 0), E(EISDIR));
  ck_assert_int_eq(
      moat_openat(AT, "/tmp/f", LINUX_O_RDONLY | LINUX_O_DIRECTORY, 0),
      E(ENOTDIR));
  /* O_APPEND: every write goes to the end, whatever the offset */
  int fd = xopen("/tmp/f", LINUX_O_WRONLY | LINUX_O_APPEND, 0);
  ck_assert_int_eq(moat_lseek(fd, 0, LINUX_SEEK_SET), 0);
  ck_assert_int_eq(moat_write(fd, "ab", 2), 2);
  ck_assert_int_eq(moat_lseek(fd, 0, LINUX_SEEK_CUR), 12);
  long fl = moat_fd_get_flags(fd);
  ck_assert_int_eq(fl & LINUX_O_ACCMODE, LINUX_O_WRONLY);
  ck_assert(fl & LINUX_O_APPEND);
  char buf[64];
  ck_assert_int_eq(moat_read(fd, buf, 1), E(EBADF));
  moat_close(fd);
  ck_assert_int_eq(get_file("/tmp/f", buf, sizeof buf), 12);
  ck_assert_str_eq(buf, "0123456789ab");
  fd = xopen("/tmp/f", LINUX_O_RDONLY, 0);
  ck_assert_int_eq(moat_write(fd, "x", 1), E(EBADF));
  ck_assert_int_eq(moat_ftruncate(fd, 0), E(EINVAL));
  moat_close(fd);
  fd = xopen("/tmp/f", LINUX_O_WRONLY | LINUX_O_TRUNC, 0);
  moat_close(fd);
  ck_assert_int_eq(get_file("/tmp/f", buf, sizeof buf), 0);
  /* reading a directory */
  fd = xopen("/tmp", LINUX_O_RDONLY, 0);
  ck_assert_int_eq(moat_read(fd, buf, sizeof buf), E(EISDIR));
  moat_close(fd);
}
END_TEST

START_TEST(truncation) {
  boot_memfs();
  put_file("/tmp/f", "abcdef");
  ck_assert_int_eq(moat_truncate("/tmp/f", 3), 0);
  char buf[64];
  ck_assert_int_eq(get_file("/tmp/f", buf, sizeof buf), 3);
  ck_assert_str_eq(buf, "abc");
  ck_assert_int_eq(moat_truncate("/tmp/f", 6), 0);
  ck_assert_int_eq(get_file("/tmp/f", buf, sizeof buf), 6);
  ck_assert_mem_eq(buf, "abc\0\0\0", 6);
  ck_assert_int_eq(moat_truncate("/tmp/f", -1), E(EINVAL));
  ck_assert_int_eq(moat_truncate("/tmp", 0), E(EISDIR));
  ck_assert_int_eq(moat_truncate("/tmp/none", 0), E(ENOENT));
  int fd = xopen("/tmp/f", LINUX_O_RDWR, 0);
  ck_assert_int_eq(moat_ftruncate(fd, 1), 0);
  struct linux_stat st;
  ck_assert_int_eq(moat_fstat(fd, &st), 0);
  ck_assert_int_eq(st.st_size, 1);
  /* big sparse extension then a read at the end */
  ck_assert_int_eq(moat_ftruncate(fd, 1 << 20), 0);
  ck_assert_int_eq(moat_pread(fd, buf, 8, (1 << 20) - 4), 4);
}
END_TEST

START_TEST(hard_links) {
  boot_memfs();
  put_file("/tmp/f", "one");
  ck_assert_int_eq(moat_linkat(AT, "/tmp/f", AT, "/tmp/g", 0), 0);
  struct linux_stat a, b;
  ck_assert_int_eq(moat_fstatat(AT, "/tmp/f", &a, 0), 0);
  ck_assert_int_eq(moat_fstatat(AT, "/tmp/g", &b, 0), 0);
  ck_assert_int_eq(a.st_ino, b.st_ino);
  ck_assert_int_eq(a.st_nlink, 2);
  put_file("/tmp/g", "two");
  char buf[16];
  ck_assert_int_eq(get_file("/tmp/f", buf, sizeof buf), 3);
  ck_assert_str_eq(buf, "two");
  ck_assert_int_eq(moat_linkat(AT, "/tmp/f", AT, "/tmp/g", 0), E(EEXIST));
  ck_assert_int_eq(moat_linkat(AT, "/tmp", AT, "/tmp/d", 0), E(EPERM));
  ck_assert_int_eq(moat_linkat(AT, "/tmp/none", AT, "/tmp/x", 0), E(ENOENT));
  ck_assert_int_eq(moat_unlinkat(AT, "/tmp/f", 0), 0);
  ck_assert_int_eq(moat_fstatat(AT, "/tmp/g", &b, 0), 0);
  ck_assert_int_eq(b.st_nlink, 1);
  /* linkat without AT_SYMLINK_FOLLOW links the symlink itself */
  ck_assert_int_eq(moat_symlinkat("/tmp/g", AT, "/tmp/s"), 0);
  ck_assert_int_eq(moat_linkat(AT, "/tmp/s", AT, "/tmp/s2", 0), 0);
  ck_assert_int_eq(ftype("/tmp/s2"), LINUX_S_IFLNK);
  ck_assert_int_eq(
      moat_linkat(AT, "/tmp/s", AT, "/tmp/s3", LINUX_AT_SYMLINK_FOLLOW), 0);
  ck_assert_int_eq(ftype("/tmp/s3"), LINUX_S_IFREG);
}
END_TEST

START_TEST(unlink_while_open) {
  boot_memfs();
  put_file("/tmp/f", "still here");
  int fd = xopen("/tmp/f", LINUX_O_RDWR, 0);
  ck_assert_int_eq(moat_unlinkat(AT, "/tmp/f", 0), 0);
  ck_assert_int_eq(ftype("/tmp/f"), E(ENOENT));
  char buf[32] = {0};
  ck_assert_int_eq(moat_read(fd, buf, sizeof buf), 10);
  ck_assert_str_eq(buf, "still here");
  ck_assert_int_eq(moat_write(fd, "!", 1), 1);
  struct linux_stat st;
  ck_assert_int_eq(moat_fstat(fd, &st), 0);
  ck_assert_int_eq(st.st_nlink, 0);
  ck_assert_int_eq(st.st_size, 11);
  ck_assert_int_eq(moat_close(fd), 0);
  /* a new file of the same name is a different one */
  put_file("/tmp/f", "new");
  ck_assert_int_eq(get_file("/tmp/f", buf, sizeof buf), 3);
}
END_TEST

START_TEST(rename_forms) {
  boot_memfs();
  put_file("/tmp/a", "A");
  put_file("/tmp/b", "B");
  ck_assert_int_eq(moat_mkdirat(AT, "/tmp/d", 0755), 0);
  ck_assert_int_eq(moat_mkdirat(AT, "/tmp/e", 0755), 0);
  ck_assert_int_eq(moat_mkdirat(AT, "/tmp/full", 0755), 0);
  put_file("/tmp/full/x", "x");
  char buf[16];
  /* over an existing file: replaced atomically */
  ck_assert_int_eq(moat_renameat2(AT, "/tmp/a", AT, "/tmp/b", 0), 0);
  ck_assert_int_eq(ftype("/tmp/a"), E(ENOENT));
  ck_assert_int_eq(get_file("/tmp/b", buf, sizeof buf), 1);
  ck_assert_str_eq(buf, "A");
  ck_assert_int_eq(moat_renameat2(AT, "/tmp/none", AT, "/tmp/x", 0), E(ENOENT));
  ck_assert_int_eq(moat_renameat2(AT, "/tmp/b", AT, "/tmp/d", 0), E(EISDIR));
  ck_assert_int_eq(moat_renameat2(AT, "/tmp/d", AT, "/tmp/b", 0), E(ENOTDIR));
  ck_assert_int_eq(moat_renameat2(AT, "/tmp/d", AT, "/tmp/full", 0),
                   E(ENOTEMPTY));
  ck_assert_int_eq(moat_renameat2(AT, "/tmp/d", AT, "/tmp/d/sub", 0),
                   E(EINVAL));
  /* a directory over an empty directory */
  ck_assert_int_eq(moat_renameat2(AT, "/tmp/d", AT, "/tmp/e", 0), 0);
  ck_assert_int_eq(ftype("/tmp/d"), E(ENOENT));
  ck_assert_int_eq(ftype("/tmp/e"), LINUX_S_IFDIR);
  /* into another directory */
  ck_assert_int_eq(moat_renameat2(AT, "/tmp/b", AT, "/tmp/e/b", 0), 0);
  ck_assert_int_eq(get_file("/tmp/e/b", buf, sizeof buf), 1);
  /* renaming a file onto a hard link of itself does nothing */
  ck_assert_int_eq(moat_linkat(AT, "/tmp/e/b", AT, "/tmp/e/b2", 0), 0);
  ck_assert_int_eq(moat_renameat2(AT, "/tmp/e/b", AT, "/tmp/e/b2", 0), 0);
  ck_assert_int_eq(ftype("/tmp/e/b"), LINUX_S_IFREG);
  ck_assert_int_eq(ftype("/tmp/e/b2"), LINUX_S_IFREG);
  /* flags */
  put_file("/tmp/p", "P");
  put_file("/tmp/q", "Q");
  ck_assert_int_eq(
      moat_renameat2(AT, "/tmp/p", AT, "/tmp/q", LINUX_RENAME_NOREPLACE),
      E(EEXIST));
  ck_assert_int_eq(
      moat_renameat2(AT, "/tmp/p", AT, "/tmp/q", LINUX_RENAME_EXCHANGE), 0);
  ck_assert_int_eq(get_file("/tmp/p", buf, sizeof buf), 1);
  ck_assert_str_eq(buf, "Q");
  ck_assert_int_eq(get_file("/tmp/q", buf, sizeof buf), 1);
  ck_assert_str_eq(buf, "P");
  ck_assert_int_eq(
      moat_renameat2(AT, "/tmp/p", AT, "/tmp/zz", LINUX_RENAME_EXCHANGE),
      E(ENOENT));
  ck_assert_int_eq(
      moat_renameat2(AT, "/tmp/p", AT, "/tmp/q",
                     LINUX_RENAME_EXCHANGE | LINUX_RENAME_NOREPLACE),
      E(EINVAL));
  char names[256];
  list_dir("/tmp", names, sizeof names);
  ck_assert_str_eq(names, "e full p q");
}
END_TEST

START_TEST(modes_and_times) {
  boot_memfs();
  ck_assert_int_eq(moat_umask(022), 022); /* Linux's initial umask */
  int fd = xopen("/tmp/f", LINUX_O_WRONLY | LINUX_O_CREAT, 0666);
  struct linux_stat st;
  ck_assert_int_eq(moat_fstat(fd, &st), 0);
  ck_assert_int_eq(st.st_mode, LINUX_S_IFREG | 0644);
  ck_assert_int_eq(moat_mkdirat(AT, "/tmp/d", 0777), 0);
  ck_assert_int_eq(moat_fstatat(AT, "/tmp/d", &st, 0), 0);
  ck_assert_int_eq(st.st_mode, LINUX_S_IFDIR | 0755);
  ck_assert_int_eq(moat_umask(0), 022);
  ck_assert_int_eq(moat_fchmodat(AT, "/tmp/f", 04711, 0), 0);
  ck_assert_int_eq(moat_fstatat(AT, "/tmp/f", &st, 0), 0);
  ck_assert_int_eq(st.st_mode, LINUX_S_IFREG | 04711);
  ck_assert_int_eq(moat_fchmod(fd, 0600), 0);
  ck_assert_int_eq(moat_fstat(fd, &st), 0);
  ck_assert_int_eq(st.st_mode & 07777, 0600);
  ck_assert_int_eq(moat_fchmodat(AT, "/tmp/none", 0600, 0), E(ENOENT));
  /* explicit times; UTIME_OMIT keeps one */
  struct linux_timespec t[2] = {{1000, 5}, {2000, 6}};
  ck_assert_int_eq(moat_utimensat(AT, "/tmp/f", t, 0), 0);
  ck_assert_int_eq(moat_fstatat(AT, "/tmp/f", &st, 0), 0);
  ck_assert_int_eq(st.st_atim.tv_sec, 1000);
  ck_assert_int_eq(st.st_atim.tv_nsec, 5);
  ck_assert_int_eq(st.st_mtim.tv_sec, 2000);
  ck_assert_int_eq(st.st_mtim.tv_nsec, 6);
  struct linux_timespec t2[2] = {{0, LINUX_UTIME_OMIT}, {3000, 0}};
  ck_assert_int_eq(moat_utimensat(AT, "/tmp/f", t2, 0), 0);
  ck_assert_int_eq(moat_fstatat(AT, "/tmp/f", &st, 0), 0);
  ck_assert_int_eq(st.st_atim.tv_sec, 1000);
  ck_assert_int_eq(st.st_mtim.tv_sec, 3000);
  struct linux_timespec bad[2] = {{0, 1000000000}, {0, 0}};
  ck_assert_int_eq(moat_utimensat(AT, "/tmp/f", bad, 0), E(EINVAL));
  /* times == NULL: now */
  ck_assert_int_eq(moat_utimensat(AT, "/tmp/f", NULL, 0), 0);
  ck_assert_int_eq(moat_fstatat(AT, "/tmp/f", &st, 0), 0);
  ck_assert_int_gt(st.st_mtim.tv_sec, 1600000000);
  /* writing moves mtime forward */
  ck_assert_int_eq(moat_utimensat(AT, "/tmp/f", t, 0), 0);
  ck_assert_int_eq(moat_write(fd, "x", 1), 1);
  ck_assert_int_eq(moat_fstat(fd, &st), 0);
  ck_assert_int_gt(st.st_mtim.tv_sec, 2000);
  /* statx reports the same */
  struct linux_statx stx;
  ck_assert_int_eq(moat_statx(AT, "/tmp/f", 0, LINUX_STATX_BASIC_STATS, &stx),
                   0);
  ck_assert(stx.stx_mask & LINUX_STATX_SIZE);
  ck_assert_int_eq(stx.stx_size, 1);
  ck_assert_int_eq(stx.stx_mode, LINUX_S_IFREG | 0600);
  ck_assert_int_eq(stx.stx_ino, st.st_ino);
  /* access checks */
  ck_assert_int_eq(moat_faccessat(AT, "/tmp/f", LINUX_F_OK, 0), 0);
  ck_assert_int_eq(moat_faccessat(AT, "/tmp/none", LINUX_F_OK, 0), E(ENOENT));
  ck_assert_int_eq(moat_faccessat(AT, "/tmp/f", 0x10, 0), E(EINVAL));
}
END_TEST

START_TEST(listing) {
  boot_memfs();
  ck_assert_int_eq(moat_mkdirat(AT, "/tmp/d", 0755), 0);
  put_file("/tmp/d/file", "");
  ck_assert_int_eq(moat_mkdirat(AT, "/tmp/d/sub", 0755), 0);
  ck_assert_int_eq(moat_symlinkat("file", AT, "/tmp/d/link"), 0);
  int fd = xopen("/tmp/d", LINUX_O_RDONLY | LINUX_O_DIRECTORY, 0);
  char buf[1024];
  long n = moat_getdents64(fd, buf, sizeof buf);
  ck_assert_int_gt(n, 0);
  int seen = 0;
  for (long off = 0; off < n;) {
    struct linux_dirent64 *d = (void *)(buf + off);
    ck_assert_int_eq(d->d_reclen % 8, 0);
    if (!strcmp(d->d_name, ".")) {
      seen |= 1;
      ck_assert_int_eq(d->d_type, LINUX_DT_DIR);
    } else if (!strcmp(d->d_name, "..")) {
      seen |= 2;
      ck_assert_int_eq(d->d_type, LINUX_DT_DIR);
    } else if (!strcmp(d->d_name, "file")) {
      seen |= 4;
      ck_assert_int_eq(d->d_type, LINUX_DT_REG);
    } else if (!strcmp(d->d_name, "sub")) {
      seen |= 8;
      ck_assert_int_eq(d->d_type, LINUX_DT_DIR);
    } else if (!strcmp(d->d_name, "link")) {
      seen |= 16;
      ck_assert_int_eq(d->d_type, LINUX_DT_LNK);
    } else
      ck_abort_msg("unexpected entry %s", d->d_name);
    off += d->d_reclen;
  }
  ck_assert_int_eq(seen, 31);
  ck_assert_int_eq(moat_getdents64(fd, buf, sizeof buf), 0);
  /* rewinding starts over; a too small buffer is EINVAL */
  ck_assert_int_eq(moat_lseek(fd, 0, LINUX_SEEK_SET), 0);
  ck_assert_int_eq(moat_getdents64(fd, buf, 8), E(EINVAL));
  ck_assert_int_gt(moat_getdents64(fd, buf, sizeof buf), 0);
  int f = xopen("/tmp/d/file", LINUX_O_RDONLY, 0);
  ck_assert_int_eq(moat_getdents64(f, buf, sizeof buf), E(ENOTDIR));
  /* many entries over several small calls: each exactly once */
  for (int i = 0; i < 200; i++) {
    char p[64];
    snprintf(p, sizeof p, "/tmp/d/sub/entry-%03d", i);
    put_file(p, "");
  }
  int d = xopen("/tmp/d/sub", LINUX_O_RDONLY | LINUX_O_DIRECTORY, 0);
  int count[200] = {0}, total = 0;
  for (;;) {
    long r = moat_getdents64(d, buf, 200);
    ck_assert_int_ge(r, 0);
    if (!r)
      break;
    for (long off = 0; off < r;) {
      struct linux_dirent64 *e = (void *)(buf + off);
      int i;
      if (sscanf(e->d_name, "entry-%d", &i) == 1) {
        count[i]++;
        total++;
      }
      off += e->d_reclen;
    }
  }
  ck_assert_int_eq(total, 200);
  for (int i = 0; i < 200; i++)
    ck_assert_int_eq(count[i], 1);
}
END_TEST

Suite *suite_memfs(void) {
  Suite *s = suite_create("memfs");
  TCase *tc = unit_tcase(s, "memfs");
  tcase_add_test(tc, read_write_seek);
  tcase_add_test(tc, open_flags);
  tcase_add_test(tc, truncation);
  tcase_add_test(tc, hard_links);
  tcase_add_test(tc, unlink_while_open);
  tcase_add_test(tc, rename_forms);
  tcase_add_test(tc, modes_and_times);
  tcase_add_test(tc, listing);
  return s;
}
