/* plat_host_*: granted host directories. A handle is an index into a
 * table of host fds; each entry remembers the grant it descends from and
 * whether that grant is writable, so a write below a read-only grant fails
 * with EROFS before the host sees it and a move across grants fails with
 * EXDEV. Names are single components, every open adds O_NOFOLLOW and every
 * *at call is relative to a handle's fd, so nothing can leave the grant:
 * no "..", no absolute paths, no symlinks followed. Landlock (lockdown.c)
 * enforces the same boundary a second time in the host kernel. */
#include <fcntl.h>
#include <sys/stat.h>

#include "plat_linux.h"

#define MAX_HANDLES 4096
#define NAME_CAP 256
#define OPEN_FLAGS_ALLOWED                                                     \
  (LINUX_O_ACCMODE | LINUX_O_CREAT | LINUX_O_EXCL | LINUX_O_TRUNC |            \
   LINUX_O_DIRECTORY | LINUX_O_PATH)

struct host_handle {
  int fd;    /* host fd; -1 when the slot is free */
  int grant; /* index of the grant this handle descends from */
  bool writable;
  bool public_only; /* grant shows only what any host user may read */
  uint32_t mode;    /* host mode at open, kept for public_only grants */
  bool core_open; /* the core still holds this handle */
  int refs;       /* core_open + children that may need us to reopen */
  int parent;     /* handle we were opened below, -1 for a grant */
  char name[NAME_CAP];
};

static struct host_handle g_handles[MAX_HANDLES];
static int g_nhandles; /* high-water mark */

static long host_result(long r) {
  return (r < 0 && r < -4095) ? -LINUX_EIO : r;
}

static bool name_ok(const char *name) {
  if (!name || !name[0])
    return false;
  if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
    return false;
  size_t n = 0;
  for (; name[n]; n++)
    if (name[n] == '/' || n >= NAME_CAP - 1)
      return false;
  return true;
}

static struct host_handle *get(int h) {
  if (h < 0 || h >= g_nhandles || g_handles[h].fd < 0 ||
      !g_handles[h].core_open)
    return NULL;
  return &g_handles[h];
}

static int alloc_slot(void) {
  for (int i = 0; i < MAX_HANDLES; i++) {
    if (i >= g_nhandles || g_handles[i].fd < 0) {
      if (i >= g_nhandles)
        g_nhandles = i + 1;
      return i;
    }
  }
  return -LINUX_ENFILE;
}

static void release(int h) {
  while (h >= 0) {
    struct host_handle *e = &g_handles[h];
    if (--e->refs > 0)
      return;
    hsys1(HNR_close, e->fd);
    e->fd = -1;
    h = e->parent;
  }
}

int plat_hostfs_add_grant(int fd, bool writable, bool public_only,
                          int *out_handle) {
  int h = alloc_slot();
  if (h < 0)
    return h;
  struct host_handle *e = &g_handles[h];
  struct stat st;
  if (public_only && hsys4(HNR_newfstatat, fd, "", &st, AT_EMPTY_PATH) < 0)
    return -LINUX_EACCES;
  e->fd = fd;
  e->grant = h;
  e->writable = writable;
  e->public_only = public_only;
  e->mode = public_only ? st.st_mode : 0;
  e->core_open = true;
  e->refs = 1;
  e->parent = -1;
  e->name[0] = 0;
  *out_handle = h;
  return 0;
}

int plat_hostfs_grants(int *fds, bool *writable, int max) {
  int n = 0;
  for (int i = 0; i < g_nhandles && n < max; i++) {
    if (g_handles[i].fd >= 0 && g_handles[i].grant == i) {
      fds[n] = g_handles[i].fd;
      writable[n] = g_handles[i].writable;
      n++;
    }
  }
  return n;
}

static long stat_fd(int fd, const char *name, struct stat *st) {
  int flags = AT_SYMLINK_NOFOLLOW | (name ? 0 : AT_EMPTY_PATH);
  return hsys4(HNR_newfstatat, fd, name ? name : "", st, flags);
}

/* A public-only grant (the default root's system directories) offers what
 * an unprivileged host user could reach: names below a directory need its
 * search bit for others, contents need the read bit for others. The host's
 * secrets (/etc/shadow, private keys) thus stay out even of a guest that
 * is root inside. */
static bool public_search_ok(const struct host_handle *d) {
  return !d->public_only || (d->mode & S_IXOTH);
}

/* A (directory fd, name) pair naming the handle's own object, checked to
 * still be the same inode (the name may have moved since we opened it). */
static int self_path(struct host_handle *e, int *dfd, const char **name) {
  if (e->parent < 0) {
    *dfd = e->fd;
    *name = ".";
    return 0;
  }
  struct stat a, b;
  struct host_handle *p = &g_handles[e->parent];
  long r = stat_fd(e->fd, NULL, &a);
  if (r == 0)
    r = stat_fd(p->fd, e->name, &b);
  if (r < 0)
    return (int)host_result(r);
  if (a.st_ino != b.st_ino || a.st_dev != b.st_dev)
    return -LINUX_ESTALE;
  *dfd = p->fd;
  *name = e->name;
  return 0;
}

int plat_host_open(int dir, const char *name, int flags, uint32_t mode,
                   int *out) {
  plat_count(PF_HOST_OPEN);
  struct host_handle *d = get(dir);
  if (!d)
    return -LINUX_EBADF;
  if ((name && !name_ok(name)) || (flags & LINUX_O_ACCMODE) == 3)
    return -LINUX_EINVAL;
  if (name && !public_search_ok(d))
    return -LINUX_EACCES;
  flags &= OPEN_FLAGS_ALLOWED;
  int hflags;
  if (flags & LINUX_O_PATH) {
    hflags = O_PATH | (flags & O_DIRECTORY);
  } else {
    bool writes = (flags & LINUX_O_ACCMODE) != LINUX_O_RDONLY ||
                  (flags & (LINUX_O_CREAT | LINUX_O_TRUNC));
    if (writes && !d->writable)
      return -LINUX_EROFS;
    /* O_NONBLOCK: a FIFO in a granted directory must not hang the open. */
    hflags = flags | O_NOCTTY | O_NONBLOCK | O_LARGEFILE;
  }
  hflags |= O_NOFOLLOW | O_CLOEXEC;
  int slot = alloc_slot();
  if (slot < 0)
    return slot;
  long fd;
  int dfd = d->fd;
  const char *nm = name;
  if (!name) {
    /* Reopen: a directory reopens as "."; anything else through the
     * name it was opened by. */
    fd = hsys4(HNR_openat, d->fd, ".", hflags, mode & 07777);
    if (fd != -LINUX_ENOTDIR)
      goto opened;
    int r = self_path(d, &dfd, &nm);
    if (r < 0)
      return r;
  }
  fd = hsys4(HNR_openat, dfd, nm, hflags, mode & 07777);
opened:
  /* O_PATH|O_NOFOLLOW names a symlink instead of failing; the contract
   * wants -ELOOP for a symlink whatever the flags. */
  if ((flags & LINUX_O_PATH) && nm &&
      (fd == -LINUX_ENOTDIR || (fd >= 0 && !(flags & LINUX_O_DIRECTORY)))) {
    struct stat st;
    if (stat_fd(dfd, nm, &st) == 0 && S_ISLNK(st.st_mode)) {
      if (fd >= 0)
        hsys1(HNR_close, fd);
      return -LINUX_ELOOP;
    }
  }
  if (fd < 0)
    return (int)host_result(fd);
  uint32_t host_mode = 0;
  if (d->public_only) {
    struct stat st;
    if (stat_fd((int)fd, NULL, &st) < 0 ||
        (!(flags & LINUX_O_PATH) && !(st.st_mode & S_IROTH))) {
      hsys1(HNR_close, fd);
      return -LINUX_EACCES;
    }
    host_mode = st.st_mode;
  }
  struct host_handle *e = &g_handles[slot];
  e->fd = (int)fd;
  e->grant = d->grant;
  e->writable = d->writable;
  e->public_only = d->public_only;
  e->mode = host_mode;
  e->core_open = true;
  e->refs = 1;
  /* The parent stays open while we may need it to reopen by name. */
  if (nm && dfd >= 0) {
    int parent = dfd == d->fd ? dir : d->parent;
    e->parent = parent;
    g_handles[parent].refs++;
    size_t i = 0;
    for (; nm[i] && i < NAME_CAP - 1; i++)
      e->name[i] = nm[i];
    e->name[i] = 0;
  } else {
    e->parent = d->parent >= 0 ? d->parent : -1;
    if (e->parent >= 0)
      g_handles[e->parent].refs++;
    for (size_t i = 0; i < NAME_CAP; i++)
      e->name[i] = d->name[i];
  }
  *out = slot;
  return 0;
}

int plat_host_close(int handle) {
  plat_count(PF_HOST_CLOSE);
  struct host_handle *e = get(handle);
  if (!e)
    return -LINUX_EBADF;
  e->core_open = false;
  release(handle);
  return 0;
}

static size_t clamp_len(size_t len) {
  return len > 0x7ffff000 ? 0x7ffff000 : len;
}

long plat_host_pread(int handle, void *buf, size_t len, uint64_t off) {
  plat_count(PF_HOST_PREAD);
  struct host_handle *e = get(handle);
  if (!e)
    return -LINUX_EBADF;
  if (off > (uint64_t)INT64_MAX)
    return -LINUX_EINVAL;
  len = clamp_len(len);
  long r;
  do
    r = hsys4(HNR_pread64, e->fd, buf, len, off);
  while (r == -LINUX_EINTR);
  if (r > (long)len)
    return -LINUX_EIO;
  return host_result(r);
}

long plat_host_pwrite(int handle, const void *buf, size_t len, uint64_t off) {
  plat_count(PF_HOST_PWRITE);
  struct host_handle *e = get(handle);
  if (!e)
    return -LINUX_EBADF;
  if (!e->writable)
    return -LINUX_EROFS;
  if (off > (uint64_t)INT64_MAX)
    return -LINUX_EINVAL;
  len = clamp_len(len);
  long r;
  do
    r = hsys4(HNR_pwrite64, e->fd, buf, len, off);
  while (r == -LINUX_EINTR);
  if (r > (long)len)
    return -LINUX_EIO;
  return host_result(r);
}

int plat_host_stat(int dir, const char *name, struct plat_host_stat *out) {
  plat_count(PF_HOST_STAT);
  struct host_handle *d = get(dir);
  if (!d)
    return -LINUX_EBADF;
  if (name && !name_ok(name))
    return -LINUX_EINVAL;
  if (name && !public_search_ok(d))
    return -LINUX_EACCES;
  struct stat st;
  long r = stat_fd(d->fd, name, &st);
  if (r < 0)
    return (int)host_result(r);
  out->ino = st.st_ino;
  out->dev = st.st_dev;
  out->size = (uint64_t)st.st_size;
  out->blocks = (uint64_t)st.st_blocks;
  out->mode = st.st_mode;
  out->nlink = (uint32_t)st.st_nlink;
  out->uid = st.st_uid;
  out->gid = st.st_gid;
  out->rdev = st.st_rdev;
  out->atime.tv_sec = st.st_atim.tv_sec;
  out->atime.tv_nsec = st.st_atim.tv_nsec;
  out->mtime.tv_sec = st.st_mtim.tv_sec;
  out->mtime.tv_nsec = st.st_mtim.tv_nsec;
  out->ctime.tv_sec = st.st_ctim.tv_sec;
  out->ctime.tv_nsec = st.st_ctim.tv_nsec;
  return 0;
}

long plat_host_readdir(int handle, void *buf, size_t len, bool rewind) {
  plat_count(PF_HOST_READDIR);
  struct host_handle *e = get(handle);
  if (!e)
    return -LINUX_EBADF;
  if (rewind) {
    long r = hsys3(HNR_lseek, e->fd, 0, 0);
    if (r < 0)
      return host_result(r);
  }
  len = clamp_len(len);
  long r = hsys3(HNR_getdents64, e->fd, buf, len);
  if (r > (long)len)
    return -LINUX_EIO;
  return host_result(r);
}

long plat_host_readlink(int dir, const char *name, char *buf, size_t len) {
  plat_count(PF_HOST_READLINK);
  struct host_handle *d = get(dir);
  if (!d)
    return -LINUX_EBADF;
  if (name && !name_ok(name))
    return -LINUX_EINVAL;
  if (name && !public_search_ok(d))
    return -LINUX_EACCES;
  len = clamp_len(len);
  long r = hsys4(HNR_readlinkat, d->fd, name ? name : "", buf, len);
  if (r > (long)len)
    return -LINUX_EIO;
  return host_result(r);
}

int plat_host_create(int dir, const char *name, int kind, uint32_t mode,
                     const char *target) {
  plat_count(PF_HOST_CREATE);
  struct host_handle *d = get(dir);
  if (!d)
    return -LINUX_EBADF;
  if (!name_ok(name))
    return -LINUX_EINVAL;
  if (!d->writable)
    return -LINUX_EROFS;
  long r;
  if (kind == PLAT_HOST_DIR) {
    r = hsys3(HNR_mkdirat, d->fd, name, mode & 07777);
  } else if (kind == PLAT_HOST_SYMLINK) {
    if (!target || !target[0])
      return -LINUX_EINVAL;
    r = hsys3(HNR_symlinkat, target, d->fd, name);
  } else {
    return -LINUX_EINVAL;
  }
  return (int)host_result(r);
}

int plat_host_remove(int dir, const char *name, bool remove_dir) {
  plat_count(PF_HOST_REMOVE);
  struct host_handle *d = get(dir);
  if (!d)
    return -LINUX_EBADF;
  if (!name_ok(name))
    return -LINUX_EINVAL;
  if (!d->writable)
    return -LINUX_EROFS;
  long r = hsys3(HNR_unlinkat, d->fd, name, remove_dir ? AT_REMOVEDIR : 0);
  return (int)host_result(r);
}

int plat_host_move(int olddir, const char *oldname, int newdir,
                   const char *newname, unsigned flags, bool hard_link) {
  plat_count(PF_HOST_MOVE);
  struct host_handle *o = get(olddir), *n = get(newdir);
  if (!o || !n)
    return -LINUX_EBADF;
  if (!name_ok(oldname) || !name_ok(newname) ||
      (flags & ~(unsigned)(LINUX_RENAME_NOREPLACE | LINUX_RENAME_EXCHANGE)) ||
      (hard_link && flags))
    return -LINUX_EINVAL;
  if (o->grant != n->grant)
    return -LINUX_EXDEV;
  if (!o->writable)
    return -LINUX_EROFS;
  long r;
  if (hard_link)
    r = hsys5(HNR_linkat, o->fd, oldname, n->fd, newname, 0);
  else
    r = hsys5(HNR_renameat2, o->fd, oldname, n->fd, newname, flags);
  return (int)host_result(r);
}

static long chmod_at(int dfd, const char *name, uint32_t mode) {
  long r = hsys4(HNR_fchmodat2, dfd, name, mode, AT_SYMLINK_NOFOLLOW);
  if (r != -LINUX_ENOSYS)
    return r;
  /* Kernels before 6.6: refuse symlinks ourselves, then chmod by name. */
  struct stat st;
  r = stat_fd(dfd, name, &st);
  if (r < 0)
    return r;
  if (S_ISLNK(st.st_mode))
    return -LINUX_EOPNOTSUPP;
  return hsys3(HNR_fchmodat, dfd, name, mode);
}

static long truncate_at(int dfd, const char *name, uint64_t size) {
  long fd = hsys4(HNR_openat, dfd, name,
                  O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0);
  if (fd < 0)
    return fd;
  long r = hsys2(HNR_ftruncate, fd, size);
  hsys1(HNR_close, fd);
  return r;
}

static long setattr_name(int dfd, const char *name, unsigned what,
                         uint32_t mode, const struct linux_timespec times[2],
                         uint64_t size) {
  long r = 0;
  if (what & PLAT_SET_MODE)
    r = chmod_at(dfd, name, mode);
  if (!r && (what & PLAT_SET_TIMES))
    r = hsys4(HNR_utimensat, dfd, name, times, AT_SYMLINK_NOFOLLOW);
  if (!r && (what & PLAT_SET_SIZE))
    r = truncate_at(dfd, name, size);
  return r;
}

int plat_host_setattr(int dir, const char *name, unsigned what, uint32_t mode,
                      const struct linux_timespec times[2], uint64_t size) {
  plat_count(PF_HOST_SETATTR);
  struct host_handle *d = get(dir);
  if (!d)
    return -LINUX_EBADF;
  if ((name && !name_ok(name)) ||
      (what & ~(unsigned)(PLAT_SET_MODE | PLAT_SET_TIMES | PLAT_SET_SIZE)) ||
      ((what & PLAT_SET_SIZE) && size > (uint64_t)INT64_MAX))
    return -LINUX_EINVAL;
  if (!d->writable)
    return -LINUX_EROFS;
  mode &= 07777;
  if (name)
    return (int)host_result(setattr_name(d->fd, name, what, mode, times, size));

  /* The handle itself: use its fd where the host allows (not O_PATH, open
   * for writing), else its verified name below its parent. */
  long r = 0;
  unsigned rest = 0;
  if (what & PLAT_SET_MODE) {
    r = hsys2(HNR_fchmod, d->fd, mode);
    if (r == -LINUX_EBADF) {
      rest |= PLAT_SET_MODE;
      r = 0;
    }
  }
  if (!r && (what & PLAT_SET_TIMES)) {
    r = hsys4(HNR_utimensat, d->fd, 0, times, 0);
    if (r == -LINUX_EBADF) {
      rest |= PLAT_SET_TIMES;
      r = 0;
    }
  }
  if (!r && (what & PLAT_SET_SIZE)) {
    r = hsys2(HNR_ftruncate, d->fd, size);
    if (r == -LINUX_EBADF || r == -LINUX_EINVAL) {
      rest |= PLAT_SET_SIZE;
      r = 0;
    }
  }
  if (!r && rest) {
    int dfd;
    const char *nm;
    int e = self_path(d, &dfd, &nm);
    if (e < 0)
      return e;
    r = setattr_name(dfd, nm, rest, mode, times, size);
  }
  return (int)host_result(r);
}

int plat_host_sync(int handle) {
  plat_count(PF_HOST_SYNC);
  struct host_handle *e = get(handle);
  if (!e)
    return -LINUX_EBADF;
  long r = hsys1(HNR_fsync, e->fd);
  return (int)host_result(r);
}
