/* Metadata syscalls: stat, lstat, fstat, newfstatat (AT_SYMLINK_NOFOLLOW,
 * AT_EMPTY_PATH), statx, access/faccessat, chmod/fchmod/fchmodat,
 * chown/fchown/lchown, utimensat/futimens, umask. Prints only what is the
 * same natively and inside moat (no inode numbers, devices or "now"). */
#include <sys/syscall.h>
#include <sys/time.h>

#include "guest.h"

/* Our own copy of Linux's struct statx: musl's headers may lack it. */
struct guest_statx_ts {
  long long tv_sec;
  unsigned tv_nsec;
  int pad;
};
struct guest_statx {
  unsigned stx_mask, stx_blksize;
  unsigned long long stx_attributes;
  unsigned stx_nlink, stx_uid, stx_gid;
  unsigned short stx_mode, pad0;
  unsigned long long stx_ino, stx_size, stx_blocks, stx_attributes_mask;
  struct guest_statx_ts stx_atime, stx_btime, stx_ctime, stx_mtime;
  unsigned stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
  unsigned long long spare[14];
};
#define G_STATX_SIZE 0x200u
#define G_STATX_BASIC_STATS 0x7ffu

static long do_statx(const char *path, int flags, unsigned mask,
                     struct guest_statx *sx) {
  return syscall(332, AT_FDCWD, path, flags, mask, sx);
}

static void show(const char *label, const char *path, int flags) {
  struct stat st;
  if (fstatat(AT_FDCWD, path, &st, flags) < 0) {
    printf("%s: -1 %s\n", label, errname(errno));
    return;
  }
  /* a directory's size is the file system's business: not printed */
  printf("%s: mode %o size %ld nlink %ld uid==me %d gid==me %d\n", label,
         (unsigned)st.st_mode, S_ISDIR(st.st_mode) ? -1L : (long)st.st_size,
         (long)st.st_nlink, st.st_uid == geteuid(), st.st_gid == getegid());
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("metadata");
  R("umask set", umask(022));
  R("umask get", umask(022));
  R("open 0666", open("f", O_WRONLY | O_CREAT, 0666));
  R("write", write(3, "12345", 5));
  show("stat f", "f", 0);
  R("mkdir 0777", mkdir("d", 0777));
  show("stat d (type, perms)", "d", 0);
  R("umask 077", umask(077));
  R("open under 077", open("g", O_WRONLY | O_CREAT, 0666));
  show("stat g", "g", 0);
  R("umask back", umask(022));
  R("symlink", symlink("f", "l"));
  show("stat l", "l", 0);
  show("lstat l", "l", AT_SYMLINK_NOFOLLOW);
  show("stat l/", "l/", AT_SYMLINK_NOFOLLOW);
  show("stat missing", "missing", 0);
  show("stat f/x", "f/x", 0);
  show("stat empty", "", 0);
  struct stat st, st2;
  R("fstatat empty path", fstatat(3, "", &st, AT_EMPTY_PATH));
  R("fstat", fstat(3, &st2));
  FACT("empty path same ino", st.st_ino == st2.st_ino);
  R("fstatat bad flags", fstatat(AT_FDCWD, "f", &st, 0x40000000));
  R("fstat bad fd", fstat(77, &st));
  FACT("blksize positive", st.st_blksize > 0);
  R("stat f", stat("f", &st));
  R("stat ./f", stat("./f", &st2));
  FACT("same ino via ./", st.st_ino == st2.st_ino && st.st_dev == st2.st_dev);
  R("stat d/..", stat("d/..", &st2));
  R("stat .", stat(".", &st));
  FACT("d/.. is .", st.st_ino == st2.st_ino);
  R("stat /..", stat("/..", &st));
  R("stat /", stat("/", &st2));
  FACT("/.. is /", st.st_ino == st2.st_ino);

  /* statx */
  struct guest_statx sx;
  R("statx", do_statx("f", 0, G_STATX_BASIC_STATS, &sx));
  printf("statx: mask has size %d mode %o size %lld nlink %u\n",
         (sx.stx_mask & G_STATX_SIZE) != 0, sx.stx_mode, (long long)sx.stx_size,
         sx.stx_nlink);
  R("statx nofollow",
    do_statx("l", AT_SYMLINK_NOFOLLOW, G_STATX_BASIC_STATS, &sx));
  printf("statx l: mode %o size %lld\n", sx.stx_mode, (long long)sx.stx_size);
  R("statx missing", do_statx("nope", 0, G_STATX_BASIC_STATS, &sx));
  R("statx bad mask", do_statx("f", 0, 0x80000000u, &sx));

  /* access */
  R("access F_OK", access("f", F_OK));
  R("access R_OK|W_OK", access("f", R_OK | W_OK));
  R("access missing", access("nope", F_OK));
  R("access bad mode", access("f", 0x40));
  R("faccessat", faccessat(AT_FDCWD, "d", X_OK, 0));
  R("faccessat f X_OK (0644)", faccessat(AT_FDCWD, "f", X_OK, 0));
  R("faccessat nofollow", faccessat(AT_FDCWD, "l", F_OK, AT_SYMLINK_NOFOLLOW));

  /* chmod family */
  R("chmod 0600", chmod("f", 0600));
  show("after chmod", "f", 0);
  R("chmod 04755", chmod("f", 04755));
  show("after chmod suid", "f", 0);
  R("fchmod 0640", fchmod(3, 0640));
  show("after fchmod", "f", 0);
  R("fchmodat", fchmodat(AT_FDCWD, "d", 0700, 0));
  show("after fchmodat", "d", 0);
  R("chmod via symlink", chmod("l", 0644));
  show("target after chmod via link", "f", 0);
  R("chmod missing", chmod("nope", 0644));
  R("fchmod bad fd", fchmod(77, 0644));

  /* chown to ourselves always works; -1 keeps */
  R("chown self", chown("f", geteuid(), getegid()));
  R("chown keep", chown("f", (uid_t)-1, (gid_t)-1));
  R("fchown self", fchown(3, geteuid(), (gid_t)-1));
  R("lchown link", lchown("l", geteuid(), getegid()));
  R("chown missing", chown("nope", 0, 0));
  show("after chown", "f", 0);

  /* times */
  struct timespec ts[2] = {{1000000000, 123456789}, {1100000000, 987654321}};
  R("utimensat", utimensat(AT_FDCWD, "f", ts, 0));
  R("stat", stat("f", &st));
  printf("atime %ld.%09ld mtime %ld.%09ld\n", (long)st.st_atim.tv_sec,
         st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  struct timespec omit[2] = {{0, UTIME_OMIT}, {1200000000, 0}};
  R("utimensat omit atime", utimensat(AT_FDCWD, "f", omit, 0));
  R("stat", stat("f", &st));
  printf("atime %ld mtime %ld\n", (long)st.st_atim.tv_sec,
         (long)st.st_mtim.tv_sec);
  struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
  R("utimensat bad nsec", utimensat(AT_FDCWD, "f", bad, 0));
  R("utimensat missing", utimensat(AT_FDCWD, "nope", ts, 0));
  R("futimens", futimens(3, ts));
  R("stat", stat("f", &st));
  printf("mtime %ld\n", (long)st.st_mtim.tv_sec);
  R("utimensat now", utimensat(AT_FDCWD, "f", NULL, 0));
  R("stat", stat("f", &st));
  FACT("mtime is recent", st.st_mtim.tv_sec > 1600000000);
  R("utimensat link nofollow",
    utimensat(AT_FDCWD, "l", ts, AT_SYMLINK_NOFOLLOW));
  R("lstat", lstat("l", &st));
  printf("link mtime %ld\n", (long)st.st_mtim.tv_sec);
  R("stat", stat("f", &st));
  FACT("target untouched by link times", st.st_mtim.tv_sec != 1100000000);
  struct timeval tv[2] = {{1300000000, 0}, {1300000001, 0}};
  R("utimes", utimes("f", tv));
  R("stat", stat("f", &st));
  printf("mtime %ld\n", (long)st.st_mtim.tv_sec);
  /* a write moves mtime to now */
  R("write", write(3, "x", 1));
  R("fstat", fstat(3, &st));
  FACT("write updates mtime", st.st_mtim.tv_sec > 1600000000);
  R("close", close(3));
  return 0;
}
