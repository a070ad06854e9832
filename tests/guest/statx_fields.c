/* statx(2) fields programs read, beyond the basic stats (tests/guest/
 * metadata.c has those): stx_mask for what was asked (STATX_BTIME,
 * STATX_MNT_ID, STATX_MNT_ID_UNIQUE, STATX_DIOALIGN), stx_attributes and
 * stx_attributes_mask (STATX_ATTR_MOUNT_ROOT ...), stx_btime of a new
 * tmpfs file, stx_mnt_id against /proc/self/mountinfo, stx_dev_* against
 * stat's st_dev, the sync flags, AT_EMPTY_PATH, and the errors. Checked
 * on a tmpfs (/dev/shm, memfs inside moat), /proc and a file of the host's
 * root (/etc/passwd: the default root's lower layer inside moat); only
 * what holds on both is printed. */
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <stdbool.h>
#include <time.h>

#include "guest.h"

/* Our own copy of Linux's struct statx: musl's headers may lack it. */
struct g_statx_ts {
  long long tv_sec;
  unsigned tv_nsec;
  int pad;
};
struct g_statx {
  unsigned stx_mask, stx_blksize;
  unsigned long long stx_attributes;
  unsigned stx_nlink, stx_uid, stx_gid;
  unsigned short stx_mode, pad0;
  unsigned long long stx_ino, stx_size, stx_blocks, stx_attributes_mask;
  struct g_statx_ts stx_atime, stx_btime, stx_ctime, stx_mtime;
  unsigned stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
  unsigned long long stx_mnt_id;
  unsigned stx_dio_mem_align, stx_dio_offset_align;
  unsigned long long spare[12];
};

#define G_BASIC 0x7ffu
#define G_BTIME 0x800u
#define G_MNT_ID 0x1000u
#define G_DIOALIGN 0x2000u
#define G_MNT_ID_UNIQUE 0x4000u
#define G_RESERVED 0x80000000u
#define G_ATTR_APPEND 0x20ull
#define G_ATTR_IMMUTABLE 0x10ull
#define G_ATTR_NODUMP 0x40ull
#define G_ATTR_AUTOMOUNT 0x1000ull
#define G_ATTR_MOUNT_ROOT 0x2000ull
#define G_ATTR_DAX 0x200000ull
#define G_SYNC_FORCE 0x2000
#define G_SYNC_DONT 0x4000

static long sx(int dirfd, const char *path, int flags, unsigned mask,
               struct g_statx *out) {
  memset(out, 0, sizeof(*out));
  return syscall(SYS_statx, dirfd, path, flags, mask, out);
}

/* The mount id mountinfo gives the mount at path's longest mount point
 * (the last one listed there: stacked mounts). */
static unsigned long long mountinfo_id(const char *path) {
  FILE *f = fopen("/proc/self/mountinfo", "r");
  char line[1024], mp[512];
  unsigned long long id, best_id = 0;
  size_t best = 0;
  while (f && fgets(line, sizeof line, f)) {
    unsigned long long parent;
    if (sscanf(line, "%llu %llu %*s %*s %511s", &id, &parent, mp) != 3)
      continue;
    size_t l = strlen(mp);
    bool under = !strcmp(mp, "/") ||
                 (!strncmp(path, mp, l) && (path[l] == 0 || path[l] == '/'));
    if (under && l >= best) {
      best = l;
      best_id = id;
    }
  }
  if (f)
    fclose(f);
  return best_id;
}

/* What holds for path on both sides. tmpfs: a tmpfs on both. */
static void facts(const char *label, const char *path, bool tmpfs,
                  bool mount_root) {
  struct g_statx x;
  struct stat st;
  char l[160];
  snprintf(l, sizeof l, "%s: statx basic", label);
  R(l, sx(AT_FDCWD, path, 0, G_BASIC, &x));
  printf("%s: mask basic|mnt_id %d\n", label,
         (x.stx_mask & (G_BASIC | G_MNT_ID | G_MNT_ID_UNIQUE | G_DIOALIGN)) ==
             (G_BASIC | G_MNT_ID));
  stat(path, &st);
  FACT("  dev as stat's", x.stx_dev_major == major(st.st_dev) &&
                              x.stx_dev_minor == minor(st.st_dev));
  FACT("  ino as stat's", x.stx_ino == st.st_ino);
  FACT("  mnt_id as mountinfo's", x.stx_mnt_id == mountinfo_id(path));
  FACT("  MOUNT_ROOT in attributes_mask",
       x.stx_attributes_mask & G_ATTR_MOUNT_ROOT);
  FACT("  AUTOMOUNT, DAX in attributes_mask",
       (x.stx_attributes_mask & (G_ATTR_AUTOMOUNT | G_ATTR_DAX)) ==
           (G_ATTR_AUTOMOUNT | G_ATTR_DAX));
  FACT("  MOUNT_ROOT is a mount root",
       !!(x.stx_attributes & G_ATTR_MOUNT_ROOT) == mount_root);
  FACT("  no other attribute", !(x.stx_attributes & ~G_ATTR_MOUNT_ROOT));
  FACT("  btime not given unasked", !(x.stx_mask & G_BTIME));
  R("  statx mnt_id_unique", sx(AT_FDCWD, path, 0, G_MNT_ID_UNIQUE, &x));
  FACT("  unique id given instead",
       (x.stx_mask & (G_MNT_ID | G_MNT_ID_UNIQUE)) == G_MNT_ID_UNIQUE);
  FACT("  unique id is not mountinfo's", x.stx_mnt_id != mountinfo_id(path));
  if (!tmpfs)
    return;
  FACT("  APPEND, IMMUTABLE, NODUMP in attributes_mask",
       (x.stx_attributes_mask &
        (G_ATTR_APPEND | G_ATTR_IMMUTABLE | G_ATTR_NODUMP)) ==
           (G_ATTR_APPEND | G_ATTR_IMMUTABLE | G_ATTR_NODUMP));
  R("  statx btime|dioalign",
    sx(AT_FDCWD, path, 0, G_BASIC | G_BTIME | G_DIOALIGN, &x));
  printf("  mask 0x%x\n", x.stx_mask & 0xffffu);
  FACT("  no dio alignment", !x.stx_dio_mem_align && !x.stx_dio_offset_align);
  FACT("  btime set", x.stx_btime.tv_sec > 0);
  FACT("  btime <= ctime", x.stx_btime.tv_sec < x.stx_ctime.tv_sec ||
                               (x.stx_btime.tv_sec == x.stx_ctime.tv_sec &&
                                x.stx_btime.tv_nsec <= x.stx_ctime.tv_nsec));
  unsigned char *p = (unsigned char *)x.spare;
  bool zero = true;
  for (size_t i = 0; i < sizeof x.spare; i++)
    zero = zero && !p[i];
  FACT("  nothing past dio_offset_align", zero);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  /* tmpfs natively (this host's /tmp may be a disk file system). */
  snprintf(g_workdir, sizeof g_workdir, "/dev/shm/moat-statx-XXXXXX");
  if (!mkdtemp(g_workdir) || chdir(g_workdir) < 0) {
    printf("cannot make a work directory: %s\n", errname(errno));
    return 2;
  }
  atexit(leave_workdir);
  struct timespec before;
  clock_gettime(CLOCK_REALTIME, &before);
  write_file("f", "data");
  R("symlink", symlink("f", "l"));
  char fpath[128];
  snprintf(fpath, sizeof fpath, "%s/f", g_workdir);

  facts("/dev/shm", "/dev/shm", true, true);
  facts("workdir", g_workdir, true, false);
  facts("file", fpath, true, false);
  facts("/proc", "/proc", false, true);
  facts("/proc/self/status", "/proc/self/status", false, false);
  facts("/etc/passwd", "/etc/passwd", false, false);

  struct g_statx x;
  R("btime of new file", sx(AT_FDCWD, "f", 0, G_BTIME, &x));
  FACT("btime given", x.stx_mask & G_BTIME);
  FACT("btime not before the test",
       x.stx_btime.tv_sec > before.tv_sec - 1 &&
           x.stx_btime.tv_sec < before.tv_sec + 60);
  R("btime of /proc", sx(AT_FDCWD, "/proc/self/status", 0, G_BTIME, &x));
  FACT("no btime for /proc", !(x.stx_mask & G_BTIME));

  R("nofollow", sx(AT_FDCWD, "l", AT_SYMLINK_NOFOLLOW, G_BASIC, &x));
  FACT("  a symlink", S_ISLNK(x.stx_mode));
  R("follow", sx(AT_FDCWD, "l", 0, G_BASIC, &x));
  FACT("  a file", S_ISREG(x.stx_mode));
  R("force sync", sx(AT_FDCWD, "f", G_SYNC_FORCE, G_BASIC, &x));
  R("dont sync", sx(AT_FDCWD, "f", G_SYNC_DONT, G_BASIC, &x));
  R("both sync flags", sx(AT_FDCWD, "f", G_SYNC_FORCE | G_SYNC_DONT, 0, &x));
  R("reserved mask bit", sx(AT_FDCWD, "f", 0, G_RESERVED, &x));
  R("reserved bit, missing file", sx(AT_FDCWD, "nope", 0, G_RESERVED, &x));
  R("unknown mask bits", sx(AT_FDCWD, "f", 0, 0x7fff0000u, &x));
  R("unknown flag 1", sx(AT_FDCWD, "f", 1, G_BASIC, &x));
  R("unknown flag 0x10000000", sx(AT_FDCWD, "f", 0x10000000, G_BASIC, &x));
  R("AT_NO_AUTOMOUNT", sx(AT_FDCWD, "f", AT_NO_AUTOMOUNT, G_BASIC, &x));
  int fd = open("f", O_RDONLY);
  R("empty path with AT_EMPTY_PATH", sx(fd, "", AT_EMPTY_PATH, G_BASIC, &x));
  FACT("  the file's size", x.stx_size == 4);
  R("NULL path with AT_EMPTY_PATH", sx(fd, NULL, AT_EMPTY_PATH, G_BASIC, &x));
  FACT("  the file's size", x.stx_size == 4);
  R("empty path without AT_EMPTY_PATH", sx(fd, "", 0, G_BASIC, &x));
  R("NULL path without AT_EMPTY_PATH", sx(fd, NULL, 0, G_BASIC, &x));
  R("relative path from a file fd", sx(fd, "x", 0, G_BASIC, &x));
  R("bad dirfd", sx(99, "f", 0, G_BASIC, &x));
  R("bad dirfd, absolute path", sx(99, fpath, 0, G_BASIC, &x));
  int pfd = open("f", O_PATH);
  R("O_PATH fd with AT_EMPTY_PATH", sx(pfd, "", AT_EMPTY_PATH, G_BASIC, &x));
  R("bad buffer", syscall(SYS_statx, AT_FDCWD, "f", 0, G_BASIC, (void *)8));
  R("bad path", sx(AT_FDCWD, (const char *)8, 0, G_BASIC, &x));
  close(pfd);
  close(fd);
  return 0;
}
