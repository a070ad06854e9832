/* The moat_* file calls of include/moat/moat.h: descriptor and dirfd
 * handling, flag validation, then the vfs. Pointers are trusted here (the
 * shim checked guest memory); every flag, length and descriptor is
 * checked. */
#include "moat/moat.h"
#include "moat/platform.h"
#include "flock.h"
#include "inotify.h"
#include "pcache.h"
#include "poll.h"
#include "pty.h"
#include "task.h"
#include "vfs_impl.h"

#define MAX_IOV 1024
#define MAX_RW LINUX_MAX_RW_COUNT

static struct fd_table *fdt(void) {
  return proc_current_fdt();
}

/* The file at fd. allow_path: O_PATH descriptors are fine (fstat, fchdir,
 * fcntl, dirfd use); otherwise they count as bad descriptors. */
static struct file *fd_file(int fd, bool allow_path) {
  struct fd_table *t = fdt();
  if (!t)
    return NULL;
  struct file *f = fdt_lookup(t, fd);
  if (f && !allow_path && (f->flags & LINUX_O_PATH)) {
    file_put(f);
    return NULL;
  }
  return f;
}

/* The directory a relative path starts from: NULL for the cwd or an
 * absolute path, else a reference to dirfd's inode. With empty_ok and an
 * empty path, dirfd may name any file. */
static int dir_base(int dirfd, const char *path, bool empty_ok,
                    struct inode **out) {
  *out = NULL;
  if (path && path[0] == '/')
    return 0;
  if (path && !path[0] && !empty_ok)
    return -LINUX_ENOENT; /* Linux looks at the name before the dirfd */
  if (dirfd == LINUX_AT_FDCWD)
    return 0;
  struct file *f = fd_file(dirfd, true);
  if (!f)
    return -LINUX_EBADF;
  bool empty = !path || !path[0];
  if (!(empty && empty_ok) && !LINUX_S_ISTYPE(f->inode->mode, LINUX_S_IFDIR)) {
    file_put(f);
    return -LINUX_ENOTDIR;
  }
  *out = vfs_inode_get(f->inode);
  file_put(f);
  return 0;
}

/* Resolve dirfd + path into an inode (a reference). flags: AT_*. */
static int resolve_at(int dirfd, const char *path, int flags,
                      struct inode **out) {
  if (flags & ~(LINUX_AT_SYMLINK_NOFOLLOW | LINUX_AT_EMPTY_PATH |
                LINUX_AT_NO_AUTOMOUNT | LINUX_AT_STATX_SYNC_TYPE))
    return -LINUX_EINVAL;
  bool empty_ok = flags & LINUX_AT_EMPTY_PATH;
  struct inode *base = NULL;
  int rc = dir_base(dirfd, path, empty_ok, &base);
  if (rc < 0)
    return rc;
  unsigned rflags = (flags & LINUX_AT_SYMLINK_NOFOLLOW) ? 0 : VFS_FOLLOW;
  if (empty_ok)
    rflags |= VFS_EMPTY_PATH;
  rc = vfs_resolve(base, path, rflags, out);
  vfs_inode_put(base);
  return rc;
}

/* An inotify event about inode, reached by path from dirfd: its parent
 * directory's watches hear it with the name (a second walk, only while a
 * watch exists), its own watches without. */
static void notify_at(int dirfd, const char *path, struct inode *inode,
                      uint32_t mask) {
  if (!inotify_active())
    return;
  struct inode *base = NULL, *dir = NULL;
  char last[LINUX_NAME_MAX + 1];
  bool trailing;
  if (path && path[0] && dir_base(dirfd, path, false, &base) == 0) {
    vfs_lock();
    if (vfs_walk_parent(base, path, 0, &dir, last, &trailing) < 0)
      dir = NULL;
    vfs_unlock();
  }
  bool named = dir && last[0] && rt_strcmp(last, ".") && rt_strcmp(last, "..");
  if (named)
    inotify_child_event(dir, inode, mask, last);
  else
    inotify_inode_event(inode, mask);
  vfs_inode_put(dir);
  vfs_inode_put(base);
}

/* ---------------------------------------------------------------------
 * open, close, read, write
 * ------------------------------------------------------------------- */

int moat_openat(int dirfd, const char *path, int flags, uint32_t mode) {
  struct inode *base = NULL;
  struct file *f = NULL;
  if (!fdt())
    return -LINUX_EBADF;
  int rc = dir_base(dirfd, path, false, &base);
  if (rc < 0)
    return rc;
  rc = vfs_open(base, path, (unsigned)flags, mode, &f);
  vfs_inode_put(base);
  if (rc < 0)
    return rc;
  if (!(flags & LINUX_O_NOCTTY))
    pty_open_ctty(f); /* a session leader's first terminal */
  rc = fdt_install(fdt(), f, 0, flags & LINUX_O_CLOEXEC);
  file_put(f);
  return rc;
}

int moat_memfd_create(const char *name, bool cloexec) {
  struct file *f = NULL;
  if (!fdt())
    return -LINUX_EBADF;
  /* "/memfd:NAME": what /proc/PID/fd shows (with " (deleted)"), as on
   * Linux; no directory, so inotify sees none of it. */
  size_t n = rt_strlen(name);
  char *link = kmalloc(n + 8);
  if (!link)
    return -LINUX_ENOMEM;
  memcpy(link, "/memfd:", 7);
  memcpy(link + 7, name, n + 1);
  int rc = vfs_open(NULL, "/dev/shm", LINUX_O_TMPFILE | LINUX_O_RDWR, 0600, &f);
  if (rc < 0) {
    kfree(link);
    return rc;
  }
  kfree(f->notify_name); /* "/dev/shm/#INO": not the memfd's name */
  f->notify_name = link;
  rc = fdt_install(fdt(), f, 0, cloexec);
  file_put(f);
  return rc;
}

int moat_openat2(int dirfd, const char *path, int flags, uint32_t mode,
                 unsigned resolve) {
  struct inode *base = NULL;
  struct file *f = NULL;
  if (!fdt())
    return -LINUX_EBADF;
  /* The anchor of a scoped walk is dirfd, for an absolute path too. */
  bool scoped = resolve & (VFS_BENEATH | VFS_IN_ROOT);
  int rc = dir_base(dirfd, scoped && path[0] == '/' ? "." : path, false, &base);
  if (rc < 0)
    return rc;
  rc = vfs_open2(base, path, (unsigned)flags, mode, resolve & VFS_RESOLVE_MASK,
                 &f);
  vfs_inode_put(base);
  if (rc < 0)
    return rc;
  rc = fdt_install(fdt(), f, 0, flags & LINUX_O_CLOEXEC);
  file_put(f);
  return rc;
}

int moat_open_exec(const char *path, bool want_exec) {
  struct inode *inode = NULL;
  struct file *f = NULL;
  if (!fdt())
    return -LINUX_EBADF;
  int rc = vfs_resolve(NULL, path, VFS_FOLLOW, &inode);
  if (rc < 0)
    return rc;
  if (!LINUX_S_ISTYPE(inode->mode, LINUX_S_IFREG)) {
    rc = -LINUX_EACCES;
    goto out;
  }
  rc = vfs_permission(inode, want_exec ? LINUX_X_OK : LINUX_R_OK);
  if (rc < 0)
    goto out;
  rc = file_open_inode(inode, LINUX_O_RDONLY | LINUX_O_LARGEFILE, NULL, &f);
  if (rc < 0)
    goto out;
  rc = fdt_install(fdt(), f, 0, true);
  file_put(f);
out:
  vfs_inode_put(inode);
  return rc;
}

int moat_close(int fd) {
  struct fd_table *t = fdt();
  if (!t)
    return -LINUX_EBADF;
  return fdt_close(t, fd);
}

int moat_close_range(unsigned first, unsigned last, bool cloexec) {
  struct fd_table *t = fdt();
  if (!t)
    return 0;
  /* No descriptor lies beyond the table's slots, whatever the limit. */
  rt_lock(&t->lock);
  uint32_t cap = t->capacity;
  rt_unlock(&t->lock);
  if (cap == 0 || first >= cap)
    return 0;
  last = MIN(last, cap - 1);
  for (unsigned fd = first; fd <= last; fd++) {
    if (cloexec)
      fdt_set_cloexec(t, (int)fd, true);
    else
      fdt_close(t, (int)fd);
  }
  return 0;
}

void moat_close_on_exec(void) {
  struct fd_table *t = fdt();
  if (t)
    fdt_close_on_exec(t);
}

static long do_read_op(struct file *f, void *buf, size_t len, uint64_t *pos);
static long do_write_op(struct file *f, const void *buf, size_t len,
                        uint64_t *pos);

/* Read or write at the file's position (pos == NULL) or at *pos; what
 * moved is an inotify IN_ACCESS or IN_MODIFY. */
static long do_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  long n = do_read_op(f, buf, len, pos);
  if (n > 0 && inotify_active())
    inotify_file_event(f, IN_ACCESS);
  return n;
}

static long do_write(struct file *f, const void *buf, size_t len,
                     uint64_t *pos) {
  long n = do_write_op(f, buf, len, pos);
  if (n > 0 && inotify_active())
    inotify_file_event(f, IN_MODIFY);
  return n;
}

static long do_read_op(struct file *f, void *buf, size_t len, uint64_t *pos) {
  if (!file_readable(f))
    return -LINUX_EBADF;
  if (!f->ops->read)
    return -LINUX_EINVAL;
  len = MIN(len, MAX_RW);
  if (f->ops->stream)
    return pos ? -LINUX_ESPIPE : f->ops->read(f, buf, len, &f->pos);
  if (pos)
    return f->ops->read(f, buf, len, pos);
  rt_lock(&f->lock);
  long n = f->ops->read(f, buf, len, &f->pos);
  rt_unlock(&f->lock);
  return n;
}

static long do_write_op(struct file *f, const void *buf, size_t len,
                        uint64_t *pos) {
  if (!file_writable(f))
    return -LINUX_EBADF;
  if (!f->ops->write)
    return -LINUX_EINVAL;
  len = MIN(len, MAX_RW);
  if (f->ops->stream)
    return pos ? -LINUX_ESPIPE : f->ops->write(f, buf, len, &f->pos);
  if (pos)
    return f->ops->write(f, buf, len, pos);
  rt_lock(&f->lock);
  long n = f->ops->write(f, buf, len, &f->pos);
  rt_unlock(&f->lock);
  return n;
}

long moat_read(int fd, void *buf, size_t len) {
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  long n = do_read(f, buf, len, NULL);
  file_put(f);
  return n;
}

long moat_write(int fd, const void *buf, size_t len) {
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  long n = do_write(f, buf, len, NULL);
  file_put(f);
  return n;
}

long moat_pread(int fd, void *buf, size_t len, int64_t off) {
  if (off < 0)
    return -LINUX_EINVAL;
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  uint64_t pos = (uint64_t)off;
  long n = do_read(f, buf, len, &pos);
  file_put(f);
  return n;
}

long moat_pwrite(int fd, const void *buf, size_t len, int64_t off) {
  if (off < 0)
    return -LINUX_EINVAL;
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  uint64_t pos = (uint64_t)off;
  long n = do_write(f, buf, len, &pos);
  file_put(f);
  return n;
}

static int check_iov(const struct linux_iovec *iov, int iovcnt) {
  if (iovcnt < 0 || iovcnt > MAX_IOV)
    return -LINUX_EINVAL;
  uint64_t total = 0;
  for (int i = 0; i < iovcnt; i++) {
    if (iov[i].iov_len > (uint64_t)INT64_MAX - total)
      return -LINUX_EINVAL;
    total += iov[i].iov_len;
  }
  return 0;
}

int moat_rw_nowait(int fd, bool write) {
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  int rc = 0;
  /* Only a stream can make a caller wait here; a file's data is in
   * memory or a host call away, which Linux counts as not blocking. */
  if (f->ops->stream && f->ops->poll && !(f->flags & LINUX_O_NONBLOCK)) {
    unsigned want = write ? VFS_POLLOUT : VFS_POLLIN;
    unsigned ev = f->ops->poll(f, want | VFS_POLLHUP | VFS_POLLERR);
    if (!(ev & (want | VFS_POLLHUP | VFS_POLLERR)))
      rc = -LINUX_EAGAIN;
  }
  file_put(f);
  return rc;
}

long moat_writev_append(int fd, const struct linux_iovec *iov, int iovcnt,
                        int64_t off, bool append) {
  int rc = check_iov(iov, iovcnt);
  if (rc < 0)
    return rc;
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  if (!file_writable(f)) {
    file_put(f);
    return -LINUX_EBADF;
  }
  if (f->ops->stream || sock_file(f) || !f->ops->write) {
    file_put(f);
    return append || off < 0 ? moat_writev(fd, iov, iovcnt) : -LINUX_ESPIPE;
  }
  /* The same description with O_APPEND set or clear for this call only
   * (the write ops read the flag, nothing else of the copy changes). */
  struct file call = *f;
  if (append)
    call.flags |= LINUX_O_APPEND;
  else
    call.flags &= ~(unsigned)LINUX_O_APPEND;
  uint64_t pos = off < 0 ? 0 : (uint64_t)off;
  if (off < 0)
    rt_lock(&f->lock);
  uint64_t *at = off < 0 ? &f->pos : &pos;
  long done = 0;
  for (int i = 0; i < iovcnt; i++) {
    if (!iov[i].iov_len)
      continue;
    long n = f->ops->write(&call, iov[i].iov_base,
                           MIN(iov[i].iov_len, (uint64_t)MAX_RW), at);
    if (n < 0) {
      if (!done)
        done = n;
      break;
    }
    done += n;
    if ((size_t)n < iov[i].iov_len || (uint64_t)done >= MAX_RW)
      break;
  }
  if (off < 0)
    rt_unlock(&f->lock);
  file_put(f);
  return done;
}

long moat_readv(int fd, const struct linux_iovec *iov, int iovcnt) {
  int rc = check_iov(iov, iovcnt);
  if (rc < 0)
    return rc;
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  if (sock_file(f)) {
    long n = sock_readv(f, iov, iovcnt);
    file_put(f);
    return n;
  }
  long done = 0;
  for (int i = 0; i < iovcnt; i++) {
    if (!iov[i].iov_len)
      continue;
    long n = do_read(f, iov[i].iov_base, iov[i].iov_len, NULL);
    if (n < 0) {
      if (!done)
        done = n;
      break;
    }
    done += n;
    if ((size_t)n < iov[i].iov_len || (uint64_t)done >= MAX_RW)
      break;
  }
  if (iovcnt && !done && !file_readable(f))
    done = -LINUX_EBADF;
  file_put(f);
  return done;
}

long moat_writev(int fd, const struct linux_iovec *iov, int iovcnt) {
  int rc = check_iov(iov, iovcnt);
  if (rc < 0)
    return rc;
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  long done = 0;
  if (!file_writable(f)) {
    file_put(f);
    return -LINUX_EBADF;
  }
  if (sock_file(f)) {
    done = sock_writev(f, iov, iovcnt);
    file_put(f);
    return done;
  }
  if (pipe_is_pipe(f) && iovcnt > 1) {
    /* One write into a pipe, as Linux's: atomic up to PIPE_BUF bytes, one
     * packet in packet mode (a bounce buffer for the usual sizes). */
    uint64_t total = 0;
    for (int i = 0; i < iovcnt; i++)
      total += iov[i].iov_len;
    char *bounce = total && total <= 65536 ? kmalloc(total) : NULL;
    if (bounce) {
      size_t at = 0;
      long fault = 0;
      for (int i = 0; i < iovcnt && !fault; i++) {
        size_t left = rt_ucopy(bounce + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len - left;
        if (left)
          fault = -LINUX_EFAULT;
      }
      done = at ? do_write(f, bounce, at, NULL) : fault;
      kfree(bounce);
      file_put(f);
      return done;
    }
  }
  for (int i = 0; i < iovcnt; i++) {
    if (!iov[i].iov_len)
      continue;
    long n = do_write(f, iov[i].iov_base, iov[i].iov_len, NULL);
    if (n < 0) {
      if (!done)
        done = n;
      break;
    }
    done += n;
    if ((size_t)n < iov[i].iov_len || (uint64_t)done >= MAX_RW)
      break;
  }
  file_put(f);
  return done;
}

int64_t moat_lseek(int fd, int64_t off, int whence) {
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  int64_t rc;
  if (f->ops->stream) {
    rc = -LINUX_ESPIPE;
    goto out;
  }
  struct inode *inode = f->inode;
  rt_lock(&f->lock);
  if (f->ops->lseek) {
    rc = f->ops->lseek(f, off, whence);
    goto unlock;
  }
  if (LINUX_S_ISTYPE(inode->mode, LINUX_S_IFCHR)) {
    /* Devices have no position: Linux's /dev/null, zero and random all
     * answer 0 (or EINVAL for a bad whence). */
    rc = whence >= LINUX_SEEK_SET && whence <= LINUX_SEEK_END ? 0
                                                              : -LINUX_EINVAL;
    f->pos = 0;
    goto unlock;
  }
  int64_t base;
  switch (whence) {
  case LINUX_SEEK_SET:
    base = 0;
    break;
  case LINUX_SEEK_CUR:
    base = (int64_t)f->pos;
    break;
  case LINUX_SEEK_END:
  case LINUX_SEEK_DATA:
  case LINUX_SEEK_HOLE:
    if (inode->iops && inode->iops->getattr)
      inode->iops->getattr(inode);
    base = (int64_t)inode->size;
    break;
  default:
    rc = -LINUX_EINVAL;
    goto unlock;
  }
  if (whence == LINUX_SEEK_DATA || whence == LINUX_SEEK_HOLE) {
    /* No holes are reported: data runs to the end, the hole is there. */
    if (off < 0 || off >= base) {
      rc = -LINUX_ENXIO;
      goto unlock;
    }
    rc = whence == LINUX_SEEK_DATA ? off : base;
  } else {
    if ((off > 0 && base > INT64_MAX - off) || base + off < 0) {
      rc = -LINUX_EINVAL;
      goto unlock;
    }
    rc = base + off;
  }
  f->pos = (uint64_t)rc;
unlock:
  rt_unlock(&f->lock);
out:
  file_put(f);
  return rc;
}

/* ---------------------------------------------------------------------
 * stat family
 * ------------------------------------------------------------------- */

int moat_fstat(int fd, struct linux_stat *st) {
  struct file *f = fd_file(fd, true);
  if (!f)
    return -LINUX_EBADF;
  int rc = vfs_getattr(f->inode, st);
  file_put(f);
  return rc;
}

int moat_fstatat(int dirfd, const char *path, struct linux_stat *st,
                 int flags) {
  struct inode *inode = NULL;
  int rc = resolve_at(dirfd, path, flags, &inode);
  if (rc < 0)
    return rc;
  rc = vfs_getattr(inode, st);
  vfs_inode_put(inode);
  return rc;
}

int moat_statx(int dirfd, const char *path, int flags, unsigned mask,
               struct linux_statx *stx) {
  if (mask & 0x80000000u) /* STATX__RESERVED */
    return -LINUX_EINVAL;
  if ((flags & LINUX_AT_STATX_SYNC_TYPE) == LINUX_AT_STATX_SYNC_TYPE)
    return -LINUX_EINVAL;
  struct inode *inode = NULL;
  int rc = resolve_at(dirfd, path, flags, &inode);
  if (rc < 0)
    return rc;
  rc = vfs_getattr_statx(inode, mask, stx);
  vfs_inode_put(inode);
  return rc;
}

int moat_statfs(int fd_or_dirfd, const char *path, struct linux_statfs *out) {
  struct inode *inode = NULL;
  int rc;
  if (!path) {
    struct file *f = fd_file(fd_or_dirfd, true);
    if (!f)
      return -LINUX_EBADF;
    inode = vfs_inode_get(f->inode);
    file_put(f);
  } else {
    rc = resolve_at(fd_or_dirfd, path, 0, &inode);
    if (rc < 0)
      return rc;
  }
  rc = vfs_statfs(inode, out);
  vfs_inode_put(inode);
  return rc;
}

long moat_getdents64(int fd, void *buf, size_t len) {
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  long rc = vfs_getdents(f, buf, MIN(len, (size_t)MAX_RW));
  if (rc >= 0 && f->inode->nlink && inotify_active())
    inotify_file_event(f, IN_ACCESS); /* as Linux's iterate_dir */
  file_put(f);
  return rc;
}

int moat_faccessat(int dirfd, const char *path, int mode, int flags) {
  if (mode & ~7)
    return -LINUX_EINVAL;
  if (flags &
      ~(LINUX_AT_EACCESS | LINUX_AT_SYMLINK_NOFOLLOW | LINUX_AT_EMPTY_PATH))
    return -LINUX_EINVAL;
  struct inode *inode = NULL;
  /* Linux checks with the real ids unless AT_EACCESS, the walk too. */
  bool real = !(flags & LINUX_AT_EACCESS);
  if (real)
    proc_access_real(true);
  int rc = resolve_at(dirfd, path, flags & ~LINUX_AT_EACCESS, &inode);
  if (rc >= 0) {
    rc = vfs_access(inode, mode);
    vfs_inode_put(inode);
  }
  if (real)
    proc_access_real(false);
  return rc;
}

/* ---------------------------------------------------------------------
 * Names: symlinks, links, unlink, rename, mkdir, mknod
 * ------------------------------------------------------------------- */

long moat_readlinkat(int dirfd, const char *path, char *buf, size_t len) {
  if (!path[0] && dirfd == LINUX_AT_FDCWD)
    return -LINUX_ENOENT;
  struct inode *base = NULL;
  int rc = dir_base(dirfd, path, true, &base);
  if (rc < 0)
    return rc;
  long n = vfs_readlink_at(base, path, buf, len);
  vfs_inode_put(base);
  return n;
}

int moat_symlinkat(const char *target, int dirfd, const char *path) {
  struct inode *base = NULL;
  int rc = dir_base(dirfd, path, false, &base);
  if (rc < 0)
    return rc;
  rc = vfs_mknod_at(base, path, LINUX_S_IFLNK | 0777, 0, target);
  vfs_inode_put(base);
  return rc;
}

int moat_linkat(int olddirfd, const char *oldpath, int newdirfd,
                const char *newpath, int flags) {
  if (flags & ~(LINUX_AT_SYMLINK_FOLLOW | LINUX_AT_EMPTY_PATH))
    return -LINUX_EINVAL;
  struct inode *obase = NULL, *nbase = NULL;
  bool empty_ok = flags & LINUX_AT_EMPTY_PATH;
  int rc = dir_base(olddirfd, oldpath, empty_ok, &obase);
  if (rc < 0)
    return rc;
  rc = dir_base(newdirfd, newpath, false, &nbase);
  if (rc < 0)
    goto out;
  unsigned rflags = (flags & LINUX_AT_SYMLINK_FOLLOW) ? VFS_FOLLOW : 0;
  if (empty_ok)
    rflags |= VFS_EMPTY_PATH;
  rc = vfs_link_at(obase, oldpath, nbase, newpath, rflags);
out:
  vfs_inode_put(obase);
  vfs_inode_put(nbase);
  return rc;
}

int moat_unlinkat(int dirfd, const char *path, int flags) {
  if (flags & ~LINUX_AT_REMOVEDIR)
    return -LINUX_EINVAL;
  struct inode *base = NULL;
  int rc = dir_base(dirfd, path, false, &base);
  if (rc < 0)
    return rc;
  rc = vfs_unlink_at(base, path, flags & LINUX_AT_REMOVEDIR);
  vfs_inode_put(base);
  return rc;
}

int moat_renameat2(int olddirfd, const char *oldpath, int newdirfd,
                   const char *newpath, unsigned flags) {
  struct inode *obase = NULL, *nbase = NULL;
  int rc = dir_base(olddirfd, oldpath, false, &obase);
  if (rc < 0)
    return rc;
  rc = dir_base(newdirfd, newpath, false, &nbase);
  if (rc == 0)
    rc = vfs_rename_at(obase, oldpath, nbase, newpath, flags);
  vfs_inode_put(obase);
  vfs_inode_put(nbase);
  return rc;
}

int moat_mkdirat(int dirfd, const char *path, uint32_t mode) {
  struct inode *base = NULL;
  int rc = dir_base(dirfd, path, false, &base);
  if (rc < 0)
    return rc;
  rc = vfs_mknod_at(base, path, LINUX_S_IFDIR | (mode & 07777), 0, NULL);
  vfs_inode_put(base);
  return rc;
}

int moat_mknodat(int dirfd, const char *path, uint32_t mode, uint64_t dev) {
  uint32_t type = mode & LINUX_S_IFMT;
  if (type == 0)
    type = LINUX_S_IFREG;
  switch (type) {
  case LINUX_S_IFREG:
  case LINUX_S_IFIFO:
  case LINUX_S_IFSOCK:
    dev = 0;
    break;
  case LINUX_S_IFCHR:
  case LINUX_S_IFBLK: {
    if (!moat_capable(LINUX_CAP_MKNOD))
      return -LINUX_EPERM;
    break;
  }
  case LINUX_S_IFDIR:
    return -LINUX_EPERM;
  default:
    return -LINUX_EINVAL;
  }
  struct inode *base = NULL;
  int rc = dir_base(dirfd, path, false, &base);
  if (rc < 0)
    return rc;
  rc = vfs_mknod_at(base, path, type | (mode & 07777), dev, NULL);
  vfs_inode_put(base);
  return rc;
}

/* ---------------------------------------------------------------------
 * Working directory and umask
 * ------------------------------------------------------------------- */

int moat_chdir(const char *path) {
  struct inode *dir = NULL;
  int rc = vfs_resolve(NULL, path, VFS_FOLLOW | VFS_DIRECTORY, &dir);
  if (rc < 0)
    return rc;
  rc = vfs_chdir(dir);
  vfs_inode_put(dir);
  return rc;
}

int moat_chroot(const char *path) {
  struct inode *dir = NULL;
  int rc = vfs_resolve(NULL, path, VFS_FOLLOW | VFS_DIRECTORY, &dir);
  if (rc < 0)
    return rc;
  rc = vfs_chroot(dir);
  vfs_inode_put(dir);
  return rc;
}

int moat_fchdir(int fd) {
  struct file *f = fd_file(fd, true);
  if (!f)
    return -LINUX_EBADF;
  int rc = vfs_chdir(f->inode);
  file_put(f);
  return rc;
}

long moat_getcwd(char *buf, size_t len) {
  struct fs_context *fs = proc_current_fs();
  if (!fs)
    return -LINUX_ENOENT;
  rt_lock(&fs->lock);
  struct inode *cwd = vfs_inode_get(fs->cwd);
  rt_unlock(&fs->lock);
  long n = vfs_path_of(cwd, buf, len);
  vfs_inode_put(cwd);
  return n < 0 ? n : n + 1;
}

long moat_dir_path(int fd, char *buf, size_t len) {
  struct file *f = fd_file(fd, true);
  if (!f)
    return -LINUX_EBADF;
  long n = LINUX_S_ISTYPE(f->inode->mode, LINUX_S_IFDIR)
               ? vfs_path_of(f->inode, buf, len)
               : -LINUX_ENOTDIR;
  file_put(f);
  return n;
}

uint32_t moat_umask(uint32_t mask) {
  struct fs_context *fs = proc_current_fs();
  if (!fs)
    return 022;
  rt_lock(&fs->lock);
  uint32_t old = fs->umask;
  fs->umask = mask & 0777;
  rt_unlock(&fs->lock);
  return old;
}

/* ---------------------------------------------------------------------
 * Attributes
 * ------------------------------------------------------------------- */

int moat_fchmodat(int dirfd, const char *path, uint32_t mode, int flags) {
  if (flags & ~(LINUX_AT_SYMLINK_NOFOLLOW | LINUX_AT_EMPTY_PATH))
    return -LINUX_EINVAL;
  struct inode *inode = NULL;
  int rc = resolve_at(dirfd, path, flags, &inode);
  if (rc < 0)
    return rc;
  if (LINUX_S_ISTYPE(inode->mode, LINUX_S_IFLNK))
    rc = -LINUX_EOPNOTSUPP; /* Linux has no symlink modes */
  else
    rc = vfs_chmod(inode, mode);
  if (rc == 0)
    notify_at(dirfd, path, inode, IN_ATTRIB);
  vfs_inode_put(inode);
  return rc;
}

int moat_fchmod(int fd, uint32_t mode) {
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  int rc = vfs_chmod(f->inode, mode);
  if (rc == 0)
    inotify_file_event(f, IN_ATTRIB);
  file_put(f);
  return rc;
}

int moat_fchownat(int dirfd, const char *path, uint32_t uid, uint32_t gid,
                  int flags) {
  if (flags & ~(LINUX_AT_SYMLINK_NOFOLLOW | LINUX_AT_EMPTY_PATH))
    return -LINUX_EINVAL;
  struct inode *inode = NULL;
  int rc = resolve_at(dirfd, path, flags, &inode);
  if (rc < 0)
    return rc;
  rc = vfs_chown(inode, uid, gid);
  if (rc == 0)
    notify_at(dirfd, path, inode, IN_ATTRIB);
  vfs_inode_put(inode);
  return rc;
}

int moat_fchown(int fd, uint32_t uid, uint32_t gid) {
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  int rc = vfs_chown(f->inode, uid, gid);
  if (rc == 0)
    inotify_file_event(f, IN_ATTRIB);
  file_put(f);
  return rc;
}

/* ---------------------------------------------------------------------
 * Extended attributes
 * ------------------------------------------------------------------- */

/* The file an xattr call names (a reference): path from dirfd, or the
 * open file dirfd itself (then *out_file holds it, for its events). */
static int xattr_target(int dirfd, const char *path, int flags,
                        struct inode **out, struct file **out_file) {
  *out_file = NULL;
  if (flags & ~LINUX_AT_SYMLINK_NOFOLLOW)
    return -LINUX_EINVAL;
  if (path)
    return resolve_at(dirfd, path, flags, out);
  struct file *f = fd_file(dirfd, false);
  if (!f)
    return -LINUX_EBADF;
  *out = vfs_inode_get(f->inode);
  *out_file = f;
  return 0;
}

/* Linux checks the name before it looks the file up. */
static int xattr_name_ok(const char *name) {
  size_t len = rt_strnlen(name, VFS_XATTR_NAME_MAX + 1);
  return len == 0 || len > VFS_XATTR_NAME_MAX ? -LINUX_ERANGE : 0;
}

long moat_getxattrat(int dirfd, const char *path, int flags, const char *name,
                     void *value, size_t size) {
  long rc = xattr_name_ok(name);
  if (rc < 0)
    return rc;
  struct inode *inode;
  struct file *f;
  rc = xattr_target(dirfd, path, flags, &inode, &f);
  if (rc < 0)
    return rc;
  rc = vfs_getxattr(inode, name, value, size);
  file_put(f);
  vfs_inode_put(inode);
  return rc;
}

/* setxattr (value non-NULL) and removexattr (value NULL). */
static int change_xattr(int dirfd, const char *path, int flags,
                        const char *name, const void *value, size_t size,
                        int xflags) {
  if (xflags & ~(VFS_XATTR_CREATE | VFS_XATTR_REPLACE))
    return -LINUX_EINVAL;
  int rc = xattr_name_ok(name);
  if (rc < 0)
    return rc;
  if (value && size > VFS_XATTR_SIZE_MAX)
    return -LINUX_E2BIG;
  struct inode *inode;
  struct file *f;
  rc = xattr_target(dirfd, path, flags, &inode, &f);
  if (rc < 0)
    return rc;
  rc = vfs_setxattr(inode, name, value, size, (unsigned)xflags);
  if (rc == 0) {
    if (f)
      inotify_file_event(f, IN_ATTRIB);
    else
      notify_at(dirfd, path, inode, IN_ATTRIB);
  }
  file_put(f);
  vfs_inode_put(inode);
  return rc;
}

int moat_setxattrat(int dirfd, const char *path, int flags, const char *name,
                    const void *value, size_t size, int xflags) {
  if (!value && size)
    return -LINUX_EFAULT;
  return change_xattr(dirfd, path, flags, name, value ? value : "", size,
                      xflags);
}

int moat_removexattrat(int dirfd, const char *path, int flags,
                       const char *name) {
  return change_xattr(dirfd, path, flags, name, NULL, 0, 0);
}

long moat_listxattrat(int dirfd, const char *path, int flags, char *list,
                      size_t size) {
  struct inode *inode;
  struct file *f;
  long rc = xattr_target(dirfd, path, flags, &inode, &f);
  if (rc < 0)
    return rc;
  rc = vfs_listxattr(inode, list, size);
  file_put(f);
  vfs_inode_put(inode);
  return rc;
}

int moat_utimensat(int dirfd, const char *path,
                   const struct linux_timespec times[2], int flags) {
  if (flags & ~(LINUX_AT_SYMLINK_NOFOLLOW | LINUX_AT_EMPTY_PATH))
    return -LINUX_EINVAL;
  struct inode *inode = NULL;
  struct file *f = NULL;
  int rc;
  if (!path) {
    if (dirfd == LINUX_AT_FDCWD)
      return -LINUX_EFAULT; /* as Linux: futimens needs a real fd */
    f = fd_file(dirfd, true);
    if (!f)
      return -LINUX_EBADF;
    inode = vfs_inode_get(f->inode);
  } else {
    rc = resolve_at(dirfd, path, flags, &inode);
    if (rc < 0)
      return rc;
  }
  rc = vfs_utimes(inode, times);
  if (rc == 0 && f)
    inotify_file_event(f, IN_ATTRIB);
  else if (rc == 0)
    notify_at(dirfd, path, inode, IN_ATTRIB);
  file_put(f);
  vfs_inode_put(inode);
  return rc;
}

int moat_truncate(const char *path, int64_t len) {
  struct inode *inode = NULL;
  int rc = vfs_resolve(NULL, path, VFS_FOLLOW, &inode);
  if (rc < 0)
    return rc;
  if (LINUX_S_ISTYPE(inode->mode, LINUX_S_IFDIR))
    rc = -LINUX_EISDIR;
  else
    rc = vfs_permission(inode, LINUX_W_OK);
  if (rc == 0)
    rc = vfs_truncate(inode, len);
  if (rc == 0)
    notify_at(LINUX_AT_FDCWD, path, inode, IN_MODIFY);
  vfs_inode_put(inode);
  return rc;
}

int moat_ftruncate(int fd, int64_t len) {
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  int rc;
  if (len < 0 || !file_writable(f) ||
      !LINUX_S_ISTYPE(f->inode->mode, LINUX_S_IFREG))
    rc = -LINUX_EINVAL;
  else
    rc = vfs_truncate(f->inode, len);
  if (rc == 0)
    inotify_file_event(f, IN_MODIFY);
  file_put(f);
  return rc;
}

/* The mode checks of Linux's vfs_fallocate, made before the file is
 * looked at: one operation, KEEP_SIZE only with the ones it fits. */
static int fallocate_mode_check(unsigned mode) {
  const unsigned ops =
      LINUX_FALLOC_FL_PUNCH_HOLE | LINUX_FALLOC_FL_COLLAPSE_RANGE |
      LINUX_FALLOC_FL_ZERO_RANGE | LINUX_FALLOC_FL_INSERT_RANGE |
      LINUX_FALLOC_FL_UNSHARE_RANGE | LINUX_FALLOC_FL_WRITE_ZEROES;
  if (mode & ~(ops | LINUX_FALLOC_FL_KEEP_SIZE | LINUX_FALLOC_FL_NO_HIDE_STALE))
    return -LINUX_EOPNOTSUPP;
  switch (mode & (ops | LINUX_FALLOC_FL_NO_HIDE_STALE)) {
  case 0:
  case LINUX_FALLOC_FL_UNSHARE_RANGE:
  case LINUX_FALLOC_FL_ZERO_RANGE:
    return 0;
  case LINUX_FALLOC_FL_PUNCH_HOLE:
    return mode & LINUX_FALLOC_FL_KEEP_SIZE ? 0 : -LINUX_EOPNOTSUPP;
  case LINUX_FALLOC_FL_COLLAPSE_RANGE:
  case LINUX_FALLOC_FL_INSERT_RANGE:
  case LINUX_FALLOC_FL_WRITE_ZEROES:
    return mode & LINUX_FALLOC_FL_KEEP_SIZE ? -LINUX_EOPNOTSUPP : 0;
  default:
    return -LINUX_EOPNOTSUPP;
  }
}

int moat_fallocate(int fd, unsigned mode, int64_t off, int64_t len) {
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  struct inode *inode = f->inode;
  bool keep = mode & LINUX_FALLOC_FL_KEEP_SIZE;
  unsigned op = mode & ~(unsigned)LINUX_FALLOC_FL_KEEP_SIZE;
  int rc = off < 0 || len <= 0 ? -LINUX_EINVAL : fallocate_mode_check(mode);
  if (rc)
    goto out;
  if (!file_writable(f))
    rc = -LINUX_EBADF;
  else if (LINUX_S_ISTYPE(inode->mode, LINUX_S_IFIFO))
    rc = -LINUX_ESPIPE;
  else if (LINUX_S_ISTYPE(inode->mode, LINUX_S_IFDIR))
    rc = -LINUX_EISDIR;
  else if (!LINUX_S_ISTYPE(inode->mode, LINUX_S_IFREG))
    rc = -LINUX_ENODEV;
  else if (off > INT64_MAX - len)
    rc = -LINUX_EFBIG;
  else if (vfs_is_rdonly(inode))
    rc = -LINUX_EROFS;
  else if (op != 0 && (op != LINUX_FALLOC_FL_PUNCH_HOLE ||
                       !(inode->iops && inode->iops->punch)))
    rc = -LINUX_EOPNOTSUPP; /* what tmpfs answers */
  if (rc)
    goto out;
  if (op == LINUX_FALLOC_FL_PUNCH_HOLE) {
    rt_lock(&inode->lock);
    rc = inode->iops->punch(inode, (uint64_t)off, (uint64_t)len);
    if (rc == 0 && inode->pcache) /* mapped pages read zeros too */
      pcache_zeroed(inode, (uint64_t)off, (uint64_t)len);
    rt_unlock(&inode->lock);
    if (rc == 0)
      inotify_file_event(f, IN_MODIFY);
    goto out;
  }
  if (inode->iops && inode->iops->getattr)
    inode->iops->getattr(inode);
  uint64_t end = (uint64_t)off + (uint64_t)len;
  uint64_t limit = proc_current_fsize_limit();
  if (!keep && end > inode->size && limit != LINUX_RLIM_INFINITY &&
      end > limit) {
    proc_send_xfsz(); /* inode_newsize_ok, as Linux's tmpfs */
    rc = -LINUX_EFBIG;
    goto out;
  }
  if (inode->iops && inode->iops->allocate) {
    rt_lock(&inode->lock);
    rc = inode->iops->allocate(inode, (uint64_t)off, (uint64_t)len);
    rt_unlock(&inode->lock);
  }
  if (!rc && !keep && end > inode->size)
    rc = vfs_truncate(inode, (int64_t)end);
out:
  file_put(f);
  return rc;
}

int moat_fsync(int fd) {
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  int rc = vfs_fsync(f->inode);
  file_put(f);
  return rc;
}

/* ---------------------------------------------------------------------
 * Descriptors: flags, dup, owner, locks, ioctl, pipe
 * ------------------------------------------------------------------- */

/* Status flags that may change after open. */
#define SETFL_MASK                                                             \
  (LINUX_O_APPEND | LINUX_O_NONBLOCK | LINUX_O_ASYNC | LINUX_O_DIRECT |        \
   LINUX_O_NOATIME)

long moat_fd_get_flags(int fd) {
  struct file *f = fd_file(fd, true);
  if (!f)
    return -LINUX_EBADF;
  long rc = (long)f->flags;
  file_put(f);
  return rc;
}

int moat_fd_set_flags(int fd, unsigned flags) {
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  /* O_APPEND may not be cleared on an append-only file; we have none. */
  rt_lock(&f->lock);
  f->flags = (f->flags & ~SETFL_MASK) | (flags & SETFL_MASK);
  rt_unlock(&f->lock);
  file_put(f);
  return 0;
}

int moat_fd_get_cloexec(int fd) {
  struct fd_table *t = fdt();
  return t ? fdt_get_cloexec(t, fd) : -LINUX_EBADF;
}

int moat_fd_set_cloexec(int fd, bool cloexec) {
  struct fd_table *t = fdt();
  return t ? fdt_set_cloexec(t, fd, cloexec) : -LINUX_EBADF;
}

int moat_dup_min(int fd, unsigned min, bool cloexec) {
  struct fd_table *t = fdt();
  struct file *f = fd_file(fd, true);
  if (!f || !t) {
    file_put(f);
    return -LINUX_EBADF;
  }
  int rc = min >= fdt_get_max(t) ? -LINUX_EINVAL
                                 : fdt_install(t, f, (int)min, cloexec);
  file_put(f);
  return rc;
}

/* The SIGIO owner and signal, kept per open file and never used: moat
 * sends no SIGIO. */
int moat_fd_get_owner(int fd, enum moat_fd_owner *kind, int *id) {
  struct file *f = fd_file(fd, true);
  if (!f)
    return -LINUX_EBADF;
  rt_lock(&f->lock);
  *kind = (enum moat_fd_owner)f->owner_type;
  *id = f->owner_pid;
  rt_unlock(&f->lock);
  file_put(f);
  return 0;
}

int moat_fd_set_owner(int fd, enum moat_fd_owner kind, int id) {
  struct file *f = fd_file(fd, true);
  if (!f)
    return -LINUX_EBADF;
  int rc = 0;
  struct moat_sched exists;
  if ((kind != MOAT_OWNER_THREAD && kind != MOAT_OWNER_PROCESS &&
       kind != MOAT_OWNER_GROUP) ||
      id < 0)
    rc = -LINUX_EINVAL;
  else if (id && kind != MOAT_OWNER_GROUP && moat_sched_get(id, &exists) < 0)
    rc = -LINUX_ESRCH;
  if (rc == 0) {
    rt_lock(&f->lock);
    f->owner_type = (int32_t)kind;
    f->owner_pid = id;
    rt_unlock(&f->lock);
  }
  file_put(f);
  return rc;
}

int moat_fd_get_signal(int fd) {
  struct file *f = fd_file(fd, true);
  if (!f)
    return -LINUX_EBADF;
  rt_lock(&f->lock);
  int sig = f->owner_sig;
  rt_unlock(&f->lock);
  file_put(f);
  return sig;
}

int moat_fd_set_signal(int fd, int sig) {
  struct file *f = fd_file(fd, true);
  if (!f)
    return -LINUX_EBADF;
  int rc = -LINUX_EINVAL;
  if (sig >= 0 && sig <= LINUX_NSIG) {
    rt_lock(&f->lock);
    f->owner_sig = sig;
    rt_unlock(&f->lock);
    rc = 0;
  }
  file_put(f);
  return rc;
}

int moat_lock_range(int fd, enum moat_lock_owner owner,
                    const struct moat_lock *lk, bool wait) {
  struct file *f = fd_file(fd, true);
  if (!f)
    return -LINUX_EBADF;
  struct moat_lock copy = *lk;
  int rc = flock_record(f, owner, &copy, false, wait);
  file_put(f);
  return rc;
}

int moat_lock_test(int fd, enum moat_lock_owner owner, struct moat_lock *lk) {
  struct file *f = fd_file(fd, true);
  if (!f)
    return -LINUX_EBADF;
  int rc = flock_record(f, owner, lk, true, false);
  file_put(f);
  return rc;
}

int moat_flock(int fd, enum moat_lock_type type, bool wait) {
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  int rc = flock_bsd(f, type, wait);
  file_put(f);
  return rc;
}

int moat_ioctl(int fd, unsigned request, void *arg) {
  struct fd_table *t = fdt();
  struct file *f = fd_file(fd, false);
  if (!f || !t) {
    file_put(f);
    return -LINUX_EBADF;
  }
  int rc;
  switch (request) {
  case LINUX_FIOCLEX:
    rc = fdt_set_cloexec(t, fd, true);
    break;
  case LINUX_FIONCLEX:
    rc = fdt_set_cloexec(t, fd, false);
    break;
  case LINUX_FIONBIO:
    rt_lock(&f->lock);
    if (*(int32_t *)arg)
      f->flags |= LINUX_O_NONBLOCK;
    else
      f->flags &= ~(unsigned)LINUX_O_NONBLOCK;
    rt_unlock(&f->lock);
    rc = 0;
    break;
  default:
    if (request == LINUX_FIONREAD &&
        LINUX_S_ISTYPE(f->inode->mode, LINUX_S_IFREG)) {
      uint64_t size = f->inode->size;
      *(int32_t *)arg =
          (int32_t)MIN(size > f->pos ? size - f->pos : 0, (uint64_t)0x7fffffff);
      rc = 0;
    } else if (f->ops->ioctl) {
      rc = f->ops->ioctl(f, request, arg);
    } else {
      rc = -LINUX_ENOTTY;
    }
    break;
  }
  file_put(f);
  return rc;
}

int moat_dup(int fd) {
  struct fd_table *t = fdt();
  struct file *f = fd_file(fd, true);
  if (!f || !t) {
    file_put(f);
    return -LINUX_EBADF;
  }
  int rc = fdt_install(t, f, 0, false);
  file_put(f);
  return rc;
}

int moat_dup3(int oldfd, int newfd, int flags) {
  if (flags & ~LINUX_O_CLOEXEC)
    return -LINUX_EINVAL;
  struct fd_table *t = fdt();
  struct file *f = fd_file(oldfd, true);
  if (!f || !t) {
    file_put(f);
    return -LINUX_EBADF;
  }
  int rc;
  if (oldfd == newfd)
    rc = -LINUX_EINVAL;
  else
    rc = fdt_install_at(t, newfd, f, flags & LINUX_O_CLOEXEC);
  file_put(f);
  return rc;
}

int moat_pipe2(int fds[2], int flags) {
  struct fd_table *t = fdt();
  if (!t)
    return -LINUX_EBADF;
  struct file *r = NULL, *w = NULL;
  int rc = pipe_create((unsigned)flags, &r, &w);
  if (rc < 0)
    return rc;
  bool cloexec = flags & LINUX_O_CLOEXEC;
  int rfd = fdt_install(t, r, 0, cloexec);
  if (rfd < 0) {
    rc = rfd;
    goto out;
  }
  int wfd = fdt_install(t, w, 0, cloexec);
  if (wfd < 0) {
    fdt_close(t, rfd);
    rc = wfd;
    goto out;
  }
  fds[0] = rfd;
  fds[1] = wfd;
  rc = 0;
out:
  file_put(r);
  file_put(w);
  return rc;
}

long moat_pipe_get_size(int fd) {
  struct file *f = fd_file(fd, true);
  if (!f)
    return -LINUX_EBADF;
  long rc = pipe_get_size(f);
  file_put(f);
  return rc;
}

long moat_pipe_set_size(int fd, unsigned size) {
  struct file *f = fd_file(fd, true);
  if (!f)
    return -LINUX_EBADF;
  long rc = pipe_set_size(f, size);
  file_put(f);
  return rc;
}

long moat_tee(int in_fd, int out_fd, size_t len, bool nonblock) {
  if (len == 0)
    return 0;
  struct file *in = fd_file(in_fd, false), *out = fd_file(out_fd, false);
  long rc = -LINUX_EBADF;
  if (in && out && file_readable(in) && file_writable(out))
    rc = pipe_tee(in, out, len, nonblock);
  file_put(in);
  file_put(out);
  return rc;
}

long moat_vmsplice(int fd, const struct linux_iovec *iov, int iovcnt,
                   bool nonblock) {
  struct file *f = fd_file(fd, false);
  if (!f)
    return -LINUX_EBADF;
  long rc = check_iov(iov, iovcnt);
  if (rc == 0)
    rc = pipe_vmsplice(f, iov, iovcnt, nonblock);
  file_put(f);
  return rc;
}

/* ---------------------------------------------------------------------
 * poll
 * ------------------------------------------------------------------- */

static int16_t poll_one(struct moat_pollfd *p) {
  if (p->fd < 0)
    return 0;
  struct file *f = fd_file(p->fd, false);
  if (!f)
    return VFS_POLLNVAL;
  unsigned want = (uint16_t)p->events | VFS_POLLERR | VFS_POLLHUP;
  unsigned ready;
  if (f->ops->poll)
    ready = f->ops->poll(f, want);
  else
    ready = VFS_POLLIN | VFS_POLLRDNORM | VFS_POLLOUT | VFS_POLLWRNORM;
  file_put(f);
  return (int16_t)(ready & want);
}

long moat_poll(struct moat_pollfd *fds, size_t nfds, int64_t timeout_ns) {
  struct fd_table *t = fdt();
  if (nfds > (t ? fdt_get_max(t) : FDT_DEFAULT_MAX))
    return -LINUX_EINVAL;
  struct poll_wait w;
  long ready;
  poll_wait_begin(&w, timeout_ns);
  for (;;) {
    poll_wait_arm(&w);
    ready = 0;
    poll_scan_begin(&w);
    for (size_t i = 0; i < nfds; i++) {
      fds[i].revents = poll_one(&fds[i]);
      if (fds[i].revents)
        ready++;
    }
    poll_scan_end(&w);
    if (ready)
      break;
    int rc = poll_wait_sleep(&w);
    if (rc == -LINUX_ETIMEDOUT)
      break;
    if (rc < 0) {
      ready = rc;
      break;
    }
  }
  poll_wait_end(&w);
  return ready;
}
