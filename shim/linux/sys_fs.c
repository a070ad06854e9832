/* File and file-system syscalls of the Linux shim: each handler checks the
 * guest's pointers and lengths, copies structures in or out, and calls the
 * core's moat_* file API. The core trusts its pointers; this file is where
 * guest memory stops being trusted. */
#include "shim.h"

/* Linux caps one read or write at this many bytes (MAX_RW_COUNT). */
#define SHIM_MAX_RW LINUX_MAX_RW_COUNT
#define SHIM_IOV_MAX 1024

/* A bad buffer on a bad fd is EBADF in Linux: the fd is looked up first. */
static long bad_buffer(int fd) {
  return moat_fd_get_cloexec(fd) < 0 ? -LINUX_EBADF : -LINUX_EFAULT;
}

/* ---- read and write ---------------------------------------------------- */

long sys_read(SYSARGS) {
  int fd = (int)a0;
  size_t len = MIN((size_t)a2, SHIM_MAX_RW);
  if (!user_buf_ok(a1, len, LINUX_PROT_WRITE))
    return bad_buffer(fd);
  return restartable(moat_read(fd, (void *)(uintptr_t)a1, len));
}

long sys_write(SYSARGS) {
  int fd = (int)a0;
  size_t len = MIN((size_t)a2, SHIM_MAX_RW);
  if (!user_buf_ok(a1, len, LINUX_PROT_READ))
    return bad_buffer(fd);
  return restartable(moat_write(fd, (const void *)(uintptr_t)a1, len));
}

long sys_pread64(SYSARGS) {
  int fd = (int)a0;
  size_t len = MIN((size_t)a2, SHIM_MAX_RW);
  if ((int64_t)a3 < 0)
    return -LINUX_EINVAL;
  if (!user_buf_ok(a1, len, LINUX_PROT_WRITE))
    return bad_buffer(fd);
  return moat_pread(fd, (void *)(uintptr_t)a1, len, (int64_t)a3);
}

long sys_pwrite64(SYSARGS) {
  int fd = (int)a0;
  size_t len = MIN((size_t)a2, SHIM_MAX_RW);
  if ((int64_t)a3 < 0)
    return -LINUX_EINVAL;
  if (!user_buf_ok(a1, len, LINUX_PROT_READ))
    return bad_buffer(fd);
  return moat_pwrite(fd, (const void *)(uintptr_t)a1, len, (int64_t)a3);
}

/* Copy and check a guest iovec array; *out is kmalloc'd (NULL for 0). */
long shim_iov_import(int fd, uint64_t guest, int64_t cnt, int prot,
                     struct linux_iovec **out) {
  struct linux_iovec *iov;
  size_t total = 0;
  long err;

  *out = NULL;
  if (cnt < 0 || cnt > SHIM_IOV_MAX)
    return -LINUX_EINVAL;
  if (cnt == 0)
    return 0;
  iov = kmalloc((size_t)cnt * sizeof(*iov));
  if (!iov)
    return -LINUX_ENOMEM;
  err = user_read(iov, guest, (size_t)cnt * sizeof(*iov));
  if (err < 0) {
    err = bad_buffer(fd);
    goto out;
  }
  for (int64_t i = 0; i < cnt; i++) {
    size_t len = iov[i].iov_len;
    if ((int64_t)len < 0 || total + len < total) {
      err = -LINUX_EINVAL;
      goto out;
    }
    /* Linux silently stops at MAX_RW_COUNT; so do we. */
    if (total + len > SHIM_MAX_RW) {
      len = SHIM_MAX_RW - total;
      iov[i].iov_len = len;
    }
    total += len;
    if (!user_buf_ok((uint64_t)(uintptr_t)iov[i].iov_base, len, prot)) {
      err = bad_buffer(fd);
      goto out;
    }
  }
  *out = iov;
  return 0;
out:
  kfree(iov);
  return err;
}

long sys_readv(SYSARGS) {
  struct linux_iovec *iov;
  long ret =
      shim_iov_import((int)a0, a1, (int64_t)(int)a2, LINUX_PROT_WRITE, &iov);
  if (ret < 0)
    return ret;
  ret = restartable(moat_readv((int)a0, iov, (int)a2));
  kfree(iov);
  return ret;
}

long sys_writev(SYSARGS) {
  struct linux_iovec *iov;
  long ret =
      shim_iov_import((int)a0, a1, (int64_t)(int)a2, LINUX_PROT_READ, &iov);
  if (ret < 0)
    return ret;
  ret = restartable(moat_writev((int)a0, iov, (int)a2));
  kfree(iov);
  return ret;
}

/* preadv/pwritev: one positioned transfer per buffer, stopping at the
 * first short one, as a regular file behaves. */
static long positioned_vector(uint64_t fd, uint64_t giov, uint64_t cnt,
                              uint64_t off, bool write) {
  struct linux_iovec *iov;
  long done = 0;
  long ret;

  if ((int64_t)off < 0)
    return -LINUX_EINVAL;
  ret = shim_iov_import((int)fd, giov, (int64_t)(int)cnt,
                        write ? LINUX_PROT_READ : LINUX_PROT_WRITE, &iov);
  if (ret < 0)
    return ret;
  for (int i = 0; i < (int)cnt; i++) {
    if (!iov[i].iov_len)
      continue;
    if (write)
      ret = moat_pwrite((int)fd, iov[i].iov_base, iov[i].iov_len,
                        (int64_t)off + done);
    else
      ret = moat_pread((int)fd, iov[i].iov_base, iov[i].iov_len,
                       (int64_t)off + done);
    if (ret < 0) {
      if (!done)
        done = ret;
      break;
    }
    done += ret;
    if ((size_t)ret < iov[i].iov_len)
      break;
  }
  if (!cnt || !iov) /* nothing asked: still report a bad fd */
    done = moat_fd_get_cloexec((int)fd) < 0 ? -LINUX_EBADF : 0;
  kfree(iov);
  return done;
}

long sys_preadv(SYSARGS) {
  return positioned_vector(a0, a1, a2, a3, false);
}

long sys_pwritev(SYSARGS) {
  return positioned_vector(a0, a1, a2, a3, true);
}

/* preadv2/pwritev2's flags: HIPRI, DSYNC and SYNC change nothing here
 * (every write is as durable as it gets at once), NOWAIT refuses to
 * wait on a stream, APPEND/NOAPPEND set or clear O_APPEND for the call;
 * ATOMIC, DONTCACHE and NOSIGNAL (Linux 6.11 to 6.14) are not handled and,
 * as unknown bits, EOPNOTSUPP, as older Linux answers them
 * (a5; a4 is the high half of the offset, unused on x86-64). */
#define RWF_HIPRI 0x01u
#define RWF_DSYNC 0x02u
#define RWF_SYNC 0x04u
#define RWF_NOWAIT 0x08u
#define RWF_APPEND 0x10u
#define RWF_NOAPPEND 0x20u
#define RWF_HANDLED                                                            \
  (RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND | RWF_NOAPPEND)

long sys_preadv2(SYSARGS) {
  if (a5 & ~(uint64_t)RWF_HANDLED)
    return -LINUX_EOPNOTSUPP;
  if ((int64_t)a3 < -1)
    return -LINUX_EINVAL;
  if (a5 & RWF_NOWAIT) {
    long r = moat_rw_nowait((int)a0, false);
    if (r < 0)
      return r;
  }
  if ((int64_t)a3 == -1) {
    struct linux_iovec *iov;
    long ret =
        shim_iov_import((int)a0, a1, (int64_t)(int)a2, LINUX_PROT_WRITE, &iov);
    if (ret < 0)
      return ret;
    ret = moat_readv((int)a0, iov, (int)a2);
    kfree(iov);
    return ret;
  }
  return positioned_vector(a0, a1, a2, a3, false);
}

long sys_pwritev2(SYSARGS) {
  if (a5 & ~(uint64_t)RWF_HANDLED)
    return -LINUX_EOPNOTSUPP;
  if ((int64_t)a3 < -1)
    return -LINUX_EINVAL;
  if (a5 & RWF_NOWAIT) {
    long r = moat_rw_nowait((int)a0, true);
    if (r < 0)
      return r;
  }
  if (a5 & (RWF_APPEND | RWF_NOAPPEND)) {
    struct linux_iovec *iov;
    long ret =
        shim_iov_import((int)a0, a1, (int64_t)(int)a2, LINUX_PROT_READ, &iov);
    if (ret < 0)
      return ret;
    /* Linux applies RWF_APPEND, then RWF_NOAPPEND clears it. */
    ret = moat_writev_append((int)a0, iov, (int)a2, (int64_t)a3,
                             !(a5 & RWF_NOAPPEND));
    kfree(iov);
    return ret;
  }
  if ((int64_t)a3 == -1) {
    struct linux_iovec *iov;
    long ret =
        shim_iov_import((int)a0, a1, (int64_t)(int)a2, LINUX_PROT_READ, &iov);
    if (ret < 0)
      return ret;
    ret = moat_writev((int)a0, iov, (int)a2);
    kfree(iov);
    return ret;
  }
  return positioned_vector(a0, a1, a2, a3, true);
}

long sys_lseek(SYSARGS) {
  return moat_lseek((int)a0, (int64_t)a1, (int)a2);
}

/* Move up to len bytes from in to out through a bounce buffer (sendfile,
 * copy_file_range): each side at *off (not moved here) when given, else
 * at its file position. Returns the bytes moved, or the first error when
 * none were. A long copy stops early when the process is about to die. */
static long copy_between(int in, const int64_t *off_in, int out,
                         const int64_t *off_out, size_t len) {
  char *buf = kmalloc(65536);
  if (!buf)
    return -LINUX_ENOMEM;
  size_t done = 0;
  long ret = 0;
  while (done < len && !moat_fatal_pending()) {
    size_t chunk = MIN(len - done, 65536);
    long got = off_in ? moat_pread(in, buf, chunk, *off_in + (int64_t)done)
                      : moat_read(in, buf, chunk);
    if (got <= 0) {
      ret = got;
      break;
    }
    long put = 0;
    while (put < got) {
      long w = off_out ? moat_pwrite(out, buf + put, (size_t)(got - put),
                                     *off_out + (int64_t)done + put)
                       : moat_write(out, buf + put, (size_t)(got - put));
      if (w <= 0) {
        ret = w ? w : -LINUX_EIO;
        break;
      }
      put += w;
    }
    done += (size_t)put;
    /* Bytes read but not written are lost for a stream; for a
     * positioned read they are simply not counted. */
    if (put < got)
      break;
  }
  kfree(buf);
  if (ret == -MOAT_EINTR_TIMED) /* a socket's timed wait: plain EINTR */
    ret = -LINUX_EINTR;
  return done ? (long)done : ret;
}

long sys_sendfile(SYSARGS) {
  int out_fd = (int)a0, in_fd = (int)a1;
  size_t count = MIN((size_t)a3, SHIM_MAX_RW);
  int64_t off = 0;

  if (a2) {
    if (user_read(&off, a2, sizeof(off)) < 0)
      return -LINUX_EFAULT;
    if (off < 0)
      return -LINUX_EINVAL;
  }
  long r = copy_between(in_fd, a2 ? &off : NULL, out_fd, NULL, count);
  if (a2 && r >= 0) {
    off += r;
    if (user_write(a2, &off, sizeof(off)) < 0)
      return -LINUX_EFAULT;
  }
  return r;
}

#define SHIM_SPLICE_F_NONBLOCK 2
#define SHIM_SPLICE_F_ALL 0xf
#define SHIM_POLLIN 0x001
#define SHIM_POLLOUT 0x004
#define SHIM_POLLERR 0x008
#define SHIM_POLLHUP 0x010

/* What splice needs to know of one side: -EBADF, else its file type. */
static long splice_side(int fd, bool want_write, uint32_t *mode) {
  long fl = moat_fd_get_flags(fd);
  if (fl < 0)
    return fl;
  unsigned acc = (unsigned)fl & LINUX_O_ACCMODE;
  if ((fl & LINUX_O_PATH) ||
      (want_write ? acc == LINUX_O_RDONLY : acc == LINUX_O_WRONLY))
    return -LINUX_EBADF;
  struct linux_stat st;
  long rc = moat_fstat(fd, &st);
  if (rc < 0)
    return rc;
  *mode = st.st_mode & LINUX_S_IFMT;
  return fl;
}

/* splice(2) through a bounce buffer: one side must be a pipe (Linux's
 * do_splice checks, in its order); up to 64 KiB move per call, read once
 * from the input and written whole to the output. SPLICE_F_NONBLOCK is
 * EAGAIN when the input has nothing or an output pipe is full now. */
long sys_splice(SYSARGS) {
  int in = (int)a0, out = (int)a2;
  size_t len = MIN((size_t)a4, SHIM_MAX_RW);
  unsigned flags = (unsigned)a5;
  uint32_t min, mout;
  int64_t off_in = 0, off_out = 0;
  if (len == 0)
    return 0;
  if (flags & ~(unsigned)SHIM_SPLICE_F_ALL)
    return -LINUX_EINVAL;
  long fin = splice_side(in, false, &min);
  if (fin < 0)
    return fin;
  long fout = splice_side(out, true, &mout);
  if (fout < 0)
    return fout;
  bool ipipe = min == LINUX_S_IFIFO, opipe = mout == LINUX_S_IFIFO;
  if (!ipipe && !opipe)
    return -LINUX_EINVAL;
  if ((ipipe && a1) || (opipe && a3))
    return -LINUX_ESPIPE;
  /* An offset needs a file with pread/pwrite (FMODE_PREAD). */
  if (a1 && min != LINUX_S_IFREG && min != LINUX_S_IFBLK)
    return -LINUX_EINVAL;
  if (a3 && mout != LINUX_S_IFREG && mout != LINUX_S_IFBLK)
    return -LINUX_EINVAL;
  if (ipipe && !opipe && (fout & LINUX_O_APPEND))
    return -LINUX_EINVAL;
  if ((a1 && user_read(&off_in, a1, sizeof(off_in)) < 0) ||
      (a3 && user_read(&off_out, a3, sizeof(off_out)) < 0))
    return -LINUX_EFAULT;
  if (off_in < 0 || off_out < 0)
    return -LINUX_EINVAL;
  if (flags & SHIM_SPLICE_F_NONBLOCK) {
    struct moat_pollfd p[2] = {{in, SHIM_POLLIN, 0}, {out, SHIM_POLLOUT, 0}};
    moat_poll(p, 2, 0);
    if (!(p[0].revents & (SHIM_POLLIN | SHIM_POLLHUP)) ||
        (opipe && !(p[1].revents & (SHIM_POLLOUT | SHIM_POLLERR))))
      return -LINUX_EAGAIN;
  }
  size_t chunk = MIN(len, 65536);
  char *buf = kmalloc(chunk);
  if (!buf)
    return -LINUX_ENOMEM;
  long got =
      a1 ? moat_pread(in, buf, chunk, off_in) : moat_read(in, buf, chunk);
  long put = 0;
  while (got > 0 && put < got) {
    long w =
        a3 ? moat_pwrite(out, buf + put, (size_t)(got - put), off_out + put)
           : moat_write(out, buf + put, (size_t)(got - put));
    if (w <= 0) {
      if (!put)
        got = w ? w : -LINUX_EIO;
      break;
    }
    put += w;
  }
  kfree(buf);
  if (got <= 0)
    return restartable(got);
  if (a1) {
    off_in += put;
    if (user_write(a1, &off_in, sizeof(off_in)) < 0)
      return -LINUX_EFAULT;
  }
  if (a3) {
    off_out += put;
    if (user_write(a3, &off_out, sizeof(off_out)) < 0)
      return -LINUX_EFAULT;
  }
  return put;
}

/* tee(2): both ends pipes (core/pipe.c copies the slots). */
long sys_tee(SYSARGS) {
  unsigned flags = (unsigned)a3;
  if (flags & ~(unsigned)SHIM_SPLICE_F_ALL)
    return -LINUX_EINVAL;
  return restartable(moat_tee((int)a0, (int)a1, MIN((size_t)a2, SHIM_MAX_RW),
                              flags & SHIM_SPLICE_F_NONBLOCK));
}

/* vmsplice(2): into a pipe opened for writing, else out of one opened
 * for reading; the data is copied (SPLICE_F_GIFT changes nothing). */
long sys_vmsplice(SYSARGS) {
  unsigned flags = (unsigned)a3;
  if (flags & ~(unsigned)SHIM_SPLICE_F_ALL)
    return -LINUX_EINVAL;
  long fl = moat_fd_get_flags((int)a0);
  if (fl < 0)
    return fl;
  if (fl & LINUX_O_PATH)
    return -LINUX_EBADF;
  if ((uint64_t)a2 > SHIM_IOV_MAX)
    return -LINUX_EINVAL;
  struct linux_iovec *iov;
  /* The buffers' rights matter only to the copy (a fault there is
   * EFAULT): a file that is no pipe is EBADF first, as Linux. */
  long ret = shim_iov_import((int)a0, a1, (int64_t)a2, 0, &iov);
  if (ret < 0)
    return ret;
  if (!iov)
    return 0;
  ret = restartable(
      moat_vmsplice((int)a0, iov, (int)a2, flags & SHIM_SPLICE_F_NONBLOCK));
  kfree(iov);
  return ret;
}

/* ---- opening, closing, descriptors ------------------------------------- */

long sys_open(SYSARGS) {
  char path[LINUX_PATH_MAX];
  int err = user_path(path, a0);
  if (err < 0)
    return err;
  return restartable(moat_openat(LINUX_AT_FDCWD, path, (int)a1, (uint32_t)a2));
}

long sys_openat(SYSARGS) {
  char path[LINUX_PATH_MAX];
  int err = user_path(path, a1);
  if (err < 0)
    return err;
  return restartable(moat_openat((int)a0, path, (int)a2, (uint32_t)a3));
}

/* openat2: struct open_how {flags, mode, resolve} (24 bytes, larger
 * versions zero past it), checked in Linux's order before the path. */
#define OPEN_HOW_VALID_FLAGS 037777703ull /* every O_* openat knows */
#define O_PATH_FLAGS                                                           \
  (LINUX_O_DIRECTORY | LINUX_O_NOFOLLOW | LINUX_O_PATH | LINUX_O_CLOEXEC)
#define RESOLVE_BENEATH 0x08u
#define RESOLVE_IN_ROOT 0x10u
#define RESOLVE_CACHED 0x20u
#define RESOLVE_VALID 0x3fu

long sys_openat2(SYSARGS) {
  uint64_t how[3] = {0, 0, 0}; /* flags, mode, resolve */
  if (a3 > 4096)
    return -LINUX_E2BIG;
  if (a3 < sizeof(how))
    return -LINUX_EINVAL;
  if (user_read(how, a2, sizeof(how)) < 0)
    return -LINUX_EFAULT;
  for (size_t at = sizeof(how); at < a3;) {
    uint8_t tail[128];
    size_t n = MIN(sizeof(tail), (size_t)a3 - at);
    if (user_read(tail, a2 + at, n) < 0)
      return -LINUX_EFAULT;
    for (size_t i = 0; i < n; i++)
      if (tail[i])
        return -LINUX_E2BIG;
    at += n;
  }
  uint64_t flags = how[0], mode = how[1], resolve = how[2];
  if (flags & ~OPEN_HOW_VALID_FLAGS)
    return -LINUX_EINVAL;
  if (resolve & ~(uint64_t)RESOLVE_VALID)
    return -LINUX_EINVAL;
  if (mode & ~07777ull)
    return -LINUX_EINVAL;
  bool tmpfile = (flags & LINUX_O_TMPFILE) == LINUX_O_TMPFILE;
  if (!(flags & LINUX_O_CREAT) && !tmpfile && mode)
    return -LINUX_EINVAL;
  if ((flags & LINUX_O_PATH) && (flags & ~(uint64_t)O_PATH_FLAGS))
    return -LINUX_EINVAL;
  if ((resolve & RESOLVE_BENEATH) && (resolve & RESOLVE_IN_ROOT))
    return -LINUX_EINVAL;
  if ((resolve & RESOLVE_CACHED) &&
      (flags & (LINUX_O_TRUNC | LINUX_O_CREAT | LINUX_O_TMPFILE)))
    return -LINUX_EAGAIN;
  char path[LINUX_PATH_MAX];
  int err = user_path(path, a1);
  if (err < 0)
    return err;
  /* RESOLVE_NO_XDEV 1, NO_MAGICLINKS 2, NO_SYMLINKS 4, BENEATH 8, IN_ROOT
   * 0x10 become the core's VFS_* bits (<< 8, in the reverse order of
   * moat.h's list); a walk in memory never needs RESOLVE_CACHED's EAGAIN. */
  unsigned r = 0;
  if (resolve & 0x01)
    r |= 0x1000; /* VFS_NO_XDEV */
  if (resolve & 0x02)
    r |= 0x800; /* VFS_NO_MAGICLINKS */
  if (resolve & 0x04)
    r |= 0x400; /* VFS_NO_SYMLINKS */
  if (resolve & RESOLVE_BENEATH)
    r |= 0x100; /* VFS_BENEATH */
  if (resolve & RESOLVE_IN_ROOT)
    r |= 0x200; /* VFS_IN_ROOT */
  return restartable(
      moat_openat2((int)a0, path, (int)flags, (uint32_t)mode, r));
}

long sys_creat(SYSARGS) {
  char path[LINUX_PATH_MAX];
  int err = user_path(path, a0);
  if (err < 0)
    return err;
  return moat_openat(LINUX_AT_FDCWD, path,
                     LINUX_O_CREAT | LINUX_O_WRONLY | LINUX_O_TRUNC,
                     (uint32_t)a1);
}

long sys_close(SYSARGS) {
  return moat_close((int)a0);
}

#define SHIM_CLOSE_RANGE_UNSHARE 2u
#define SHIM_CLOSE_RANGE_CLOEXEC 4u

long sys_close_range(SYSARGS) {
  unsigned first = (unsigned)a0, last = (unsigned)a1, flags = (unsigned)a2;

  if (flags & ~(SHIM_CLOSE_RANGE_UNSHARE | SHIM_CLOSE_RANGE_CLOEXEC))
    return -LINUX_EINVAL;
  if (first > last)
    return -LINUX_EINVAL;
  return moat_close_range(first, last, flags & SHIM_CLOSE_RANGE_CLOEXEC);
}

long sys_dup(SYSARGS) {
  return moat_dup((int)a0);
}

long sys_dup2(SYSARGS) {
  /* dup2 of an fd onto itself is a validity check, unlike dup3. */
  if ((int)a0 == (int)a1) {
    long r = moat_fd_get_cloexec((int)a0);
    return r < 0 ? r : (long)(int)a0;
  }
  return moat_dup3((int)a0, (int)a1, 0);
}

long sys_dup3(SYSARGS) {
  return moat_dup3((int)a0, (int)a1, (int)a2);
}

static long make_pipe(uint64_t guest, int flags) {
  int fds[2];
  int err;
  if (!user_buf_ok(guest, sizeof(fds), LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  err = moat_pipe2(fds, flags);
  if (err < 0)
    return err;
  if (user_write(guest, fds, sizeof(fds)) < 0) {
    moat_close(fds[0]);
    moat_close(fds[1]);
    return -LINUX_EFAULT;
  }
  return 0;
}

long sys_pipe(SYSARGS) {
  return make_pipe(a0, 0);
}

long sys_pipe2(SYSARGS) {
  return make_pipe(a0, (int)a1);
}

/* ---- fcntl and flock ------------------------------------------------- */

/* A lock type of struct flock as the core's, or -1. */
static int lock_type_in(int16_t type) {
  switch (type) {
  case LINUX_F_RDLCK:
    return MOAT_LOCK_READ;
  case LINUX_F_WRLCK:
    return MOAT_LOCK_WRITE;
  case LINUX_F_UNLCK:
    return MOAT_LOCK_UNLOCK;
  default:
    return -1;
  }
}

/* F_GETLK, F_SETLK, F_SETLKW and their OFD forms: struct flock from the
 * guest into the core's struct moat_lock; F_GETLK's answer back out. fl
 * is the open file's status flags (not O_PATH: sys_fcntl refused it,
 * before the structure is read). */
static long fcntl_lock(int fd, int cmd, uint64_t arg, long fl) {
  bool ofd = cmd == LINUX_F_OFD_GETLK || cmd == LINUX_F_OFD_SETLK ||
             cmd == LINUX_F_OFD_SETLKW;
  bool get = cmd == LINUX_F_GETLK || cmd == LINUX_F_OFD_GETLK;
  bool wait = cmd == LINUX_F_SETLKW || cmd == LINUX_F_OFD_SETLKW;
  enum moat_lock_owner owner = ofd ? MOAT_LOCK_FILE : MOAT_LOCK_PROCESS;
  struct linux_flock lf;
  long r;

  if (user_read(&lf, arg, sizeof(lf)) < 0)
    return -LINUX_EFAULT;
  /* F_GETLK checks the type first; the others after the range (whose
   * errors come from a test of it), as an OFD request's l_pid (reserved:
   * 0), which comes after the access mode too. */
  int type = lock_type_in(lf.l_type);
  if (get && type != MOAT_LOCK_READ && type != MOAT_LOCK_WRITE)
    return -LINUX_EINVAL;
  struct moat_lock lk = {.type = MOAT_LOCK_READ,
                         .whence = lf.l_whence,
                         .start = lf.l_start,
                         .len = lf.l_len};
  if (type < 0 || (ofd && lf.l_pid != 0)) {
    r = moat_lock_test(fd, owner, &lk);
    if (r < 0)
      return r;
    unsigned acc = (unsigned)fl & LINUX_O_ACCMODE;
    if (!get && ((type == MOAT_LOCK_READ && acc != LINUX_O_RDONLY &&
                  acc != LINUX_O_RDWR) ||
                 (type == MOAT_LOCK_WRITE && acc != LINUX_O_WRONLY &&
                  acc != LINUX_O_RDWR)))
      return -LINUX_EBADF;
    return -LINUX_EINVAL;
  }
  lk.type = (enum moat_lock_type)type;
  if (!get) {
    r = moat_lock_range(fd, owner, &lk, wait);
    /* Linux restarts a blocking lock wait under SA_RESTART. */
    return wait ? restartable(r) : r;
  }
  r = moat_lock_test(fd, owner, &lk);
  if (r < 0)
    return r;
  /* No conflict: only l_type changes, to F_UNLCK. */
  if (lk.type == MOAT_LOCK_UNLOCK) {
    lf.l_type = LINUX_F_UNLCK;
  } else {
    lf.l_type = lk.type == MOAT_LOCK_READ ? LINUX_F_RDLCK : LINUX_F_WRLCK;
    lf.l_whence = (int16_t)lk.whence;
    lf.l_start = lk.start;
    lf.l_len = lk.len;
    lf.l_pid = lk.pid;
  }
  if (user_write(arg, &lf, sizeof(lf)) < 0)
    return -LINUX_EFAULT;
  return 0;
}

/* F_SETOWN and F_SETOWN_EX: the owner's type as the core's. */
static long set_owner(int fd, const struct linux_f_owner_ex *own) {
  enum moat_fd_owner kind;
  switch (own->type) {
  case LINUX_F_OWNER_TID:
    kind = MOAT_OWNER_THREAD;
    break;
  case LINUX_F_OWNER_PID:
    kind = MOAT_OWNER_PROCESS;
    break;
  case LINUX_F_OWNER_PGRP:
    kind = MOAT_OWNER_GROUP;
    break;
  default:
    return -LINUX_EINVAL;
  }
  return moat_fd_set_owner(fd, kind, own->pid);
}

static int owner_type_out(enum moat_fd_owner kind) {
  return kind == MOAT_OWNER_THREAD  ? LINUX_F_OWNER_TID
         : kind == MOAT_OWNER_GROUP ? LINUX_F_OWNER_PGRP
                                    : LINUX_F_OWNER_PID;
}

/* What an O_PATH descriptor allows (Linux's check_fcntl_cmd). */
static bool path_cmd(int cmd) {
  return cmd == LINUX_F_DUPFD || cmd == LINUX_F_DUPFD_CLOEXEC ||
         cmd == LINUX_F_GETFD || cmd == LINUX_F_SETFD || cmd == LINUX_F_GETFL;
}

/* fcntl(2): each command decoded, as Linux's do_fcntl, into the core's
 * descriptor operations. The descriptor is looked up first (EBADF, also
 * for a command an O_PATH descriptor does not allow); an integer
 * argument is an int, as Linux reads it. */
long sys_fcntl(SYSARGS) {
  int fd = (int)a0, cmd = (int)a1, argi = (int)a2;
  struct linux_f_owner_ex own;
  enum moat_fd_owner kind;
  int id;
  long r;

  long fl = moat_fd_get_flags(fd);
  if (fl < 0)
    return fl;
  if ((fl & LINUX_O_PATH) && !path_cmd(cmd))
    return -LINUX_EBADF;
  switch (cmd) {
  case LINUX_F_DUPFD:
  case LINUX_F_DUPFD_CLOEXEC:
    return moat_dup_min(fd, (unsigned)argi, cmd == LINUX_F_DUPFD_CLOEXEC);
  case LINUX_F_GETFD:
    r = moat_fd_get_cloexec(fd);
    return r > 0 ? LINUX_FD_CLOEXEC : r;
  case LINUX_F_SETFD:
    return moat_fd_set_cloexec(fd, argi & LINUX_FD_CLOEXEC);
  case LINUX_F_GETFL:
    return fl;
  case LINUX_F_SETFL:
    return moat_fd_set_flags(fd, (unsigned)argi);
  case LINUX_F_GETLK:
  case LINUX_F_SETLK:
  case LINUX_F_SETLKW:
  case LINUX_F_OFD_GETLK:
  case LINUX_F_OFD_SETLK:
  case LINUX_F_OFD_SETLKW:
    return fcntl_lock(fd, cmd, a2, fl);
  /* The owner for SIGIO, as Linux keeps it: F_SETOWN's negative id is
   * a process group; F_GETOWN answers a group owner with minus its id,
   * F_GETOWN_EX no owner with F_OWNER_PID. */
  case LINUX_F_GETOWN:
    r = moat_fd_get_owner(fd, &kind, &id);
    if (r < 0)
      return r;
    return kind == MOAT_OWNER_GROUP ? -(long)id : id;
  case LINUX_F_GETOWN_EX:
    r = moat_fd_get_owner(fd, &kind, &id);
    if (r < 0)
      return r;
    own.type = id ? owner_type_out(kind) : LINUX_F_OWNER_PID;
    own.pid = id;
    if (user_write(a2, &own, sizeof(own)) < 0)
      return -LINUX_EFAULT;
    return 0;
  case LINUX_F_SETOWN:
    own.type = LINUX_F_OWNER_PID;
    own.pid = argi;
    if (argi < 0) {
      if (argi == INT32_MIN)
        return -LINUX_EINVAL;
      own.type = LINUX_F_OWNER_PGRP;
      own.pid = -argi;
    }
    return set_owner(fd, &own);
  case LINUX_F_SETOWN_EX:
    if (user_read(&own, a2, sizeof(own)) < 0)
      return -LINUX_EFAULT;
    return set_owner(fd, &own);
  case LINUX_F_GETSIG:
    return moat_fd_get_signal(fd);
  case LINUX_F_SETSIG:
    return moat_fd_set_signal(fd, argi);
  /* Leases and dnotify answer as on a Linux whose
   * /proc/sys/fs/leases-enable and dir-notify-enable are 0: no lease is
   * ever held, taking one and F_NOTIFY are EINVAL (docs/syscalls.md). */
  case LINUX_F_GETLEASE:
    return LINUX_F_UNLCK;
  case LINUX_F_SETLEASE:
    return argi == LINUX_F_UNLCK ? 0 : -LINUX_EINVAL;
  case LINUX_F_GETPIPE_SZ:
    return moat_pipe_get_size(fd);
  case LINUX_F_SETPIPE_SZ:
    return moat_pipe_set_size(fd, (unsigned)argi);
  default:
    return -LINUX_EINVAL;
  }
}

/* flock(2): the fd first, then the operation; LOCK_MAND is ignored, as
 * Linux does (it says so in its log). */
long sys_flock(SYSARGS) {
  int fd = (int)a0, op = (int)a1;
  long fl = moat_fd_get_flags(fd);
  if (fl < 0 || (fl & LINUX_O_PATH))
    return -LINUX_EBADF;
  if (op & LINUX_LOCK_MAND)
    return 0;
  enum moat_lock_type type;
  switch (op & ~LINUX_LOCK_NB) {
  case LINUX_LOCK_SH:
    type = MOAT_LOCK_READ;
    break;
  case LINUX_LOCK_EX:
    type = MOAT_LOCK_WRITE;
    break;
  case LINUX_LOCK_UN:
    type = MOAT_LOCK_UNLOCK;
    break;
  default:
    return -LINUX_EINVAL;
  }
  return restartable(moat_flock(fd, type, !(op & LINUX_LOCK_NB)));
}

long sys_fadvise64(SYSARGS) {
  long r = moat_fd_get_cloexec((int)a0);
  if (r < 0)
    return r;
  if ((int)a3 < 0 || (int)a3 > 5)
    return -LINUX_EINVAL;
  return 0;
}

long sys_readahead(SYSARGS) {
  long r = moat_fd_get_cloexec((int)a0);
  return r < 0 ? r : 0;
}

/* Terminal and fd ioctls: the size of each request's argument decides
 * what is copied in and out; everything else is "not a terminal". */
long sys_ioctl(SYSARGS) {
  int fd = (int)a0;
  unsigned req = (unsigned)a1;
  union {
    struct linux_termios t;
    struct linux_winsize w;
    int32_t i;
  } arg;
  size_t in = 0, out = 0;
  long r;

  if (moat_netif_request(req))
    return netif_ioctl(fd, req, a2); /* sys_netlink.c */
  memset(&arg, 0, sizeof(arg));
  switch (req) {
  case LINUX_TCGETS:
    out = sizeof(arg.t);
    break;
  case LINUX_TCSETS:
  case LINUX_TCSETSW:
  case LINUX_TCSETSF:
    in = sizeof(arg.t);
    break;
  case LINUX_TIOCGWINSZ:
    out = sizeof(arg.w);
    break;
  case LINUX_TIOCSWINSZ:
    in = sizeof(arg.w);
    break;
  case LINUX_TIOCGPGRP:
  case LINUX_FIONREAD:
  case LINUX_TIOCOUTQ:
  case LINUX_TIOCGSID:
  case LINUX_TIOCGPTN:
  case LINUX_TIOCGPTLCK:
  case LINUX_TIOCGETD:
  case LINUX_TIOCGEXCL:
  case LINUX_TIOCGPKT:
    out = sizeof(arg.i);
    break;
  case LINUX_TIOCSTI:
    in = 1;
    break;
  case LINUX_TIOCSPGRP:
  case LINUX_TIOCPKT:
  case LINUX_FIONBIO:
  case LINUX_TIOCSPTLCK:
  case LINUX_TIOCSETD:
    in = sizeof(arg.i);
    break;
  case LINUX_FIOCLEX:
    return moat_fd_set_cloexec(fd, true) < 0 ? -LINUX_EBADF : 0;
  case LINUX_FIONCLEX:
    return moat_fd_set_cloexec(fd, false) < 0 ? -LINUX_EBADF : 0;
  case LINUX_TIOCSCTTY:
  case LINUX_TIOCNOTTY:
  case LINUX_TIOCEXCL:
  case LINUX_TIOCNXCL:
  case LINUX_TCFLSH:
  case LINUX_TCXONC:
  case LINUX_TCSBRK:
  case LINUX_TCSBRKP:
  case LINUX_TIOCGPTPEER:
    /* the argument is a value, not a pointer */
    return restartable(moat_ioctl(fd, req, (void *)(uintptr_t)a2));
  default:
    r = moat_fd_get_cloexec(fd);
    return r < 0 ? r : -LINUX_ENOTTY;
  }
  r = moat_fd_get_cloexec(fd);
  if (r < 0)
    return r;
  if (in && user_read(&arg, a2, in) < 0)
    return -LINUX_EFAULT;
  if (out && !user_buf_ok(a2, out, LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  r = restartable(moat_ioctl(fd, req, &arg));
  if (r < 0)
    return r;
  if (out && user_write(a2, &arg, out) < 0)
    return -LINUX_EFAULT;
  return r;
}

/* ---- metadata ---------------------------------------------------------- */

static long stat_out(uint64_t guest, const struct linux_stat *st) {
  return user_write(guest, st, sizeof(*st)) < 0 ? -LINUX_EFAULT : 0;
}

static long stat_path(int dirfd, uint64_t gpath, uint64_t gbuf, int flags) {
  char path[LINUX_PATH_MAX];
  struct linux_stat st;
  int err;

  if (gpath == 0 && (flags & LINUX_AT_EMPTY_PATH)) {
    path[0] = 0;
  } else {
    err = user_path(path, gpath);
    if (err < 0)
      return err;
  }
  if (!user_buf_ok(gbuf, sizeof(st), LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  memset(&st, 0, sizeof(st));
  err = moat_fstatat(dirfd, path, &st, flags);
  if (err < 0)
    return err;
  return stat_out(gbuf, &st);
}

long sys_stat(SYSARGS) {
  return stat_path(LINUX_AT_FDCWD, a0, a1, 0);
}

long sys_lstat(SYSARGS) {
  return stat_path(LINUX_AT_FDCWD, a0, a1, LINUX_AT_SYMLINK_NOFOLLOW);
}

long sys_newfstatat(SYSARGS) {
  int flags = (int)a3;
  if (flags & ~(LINUX_AT_SYMLINK_NOFOLLOW | LINUX_AT_EMPTY_PATH |
                LINUX_AT_NO_AUTOMOUNT))
    return -LINUX_EINVAL;
  return stat_path((int)a0, a1, a2, flags);
}

long sys_fstat(SYSARGS) {
  struct linux_stat st;
  int err;
  memset(&st, 0, sizeof(st));
  err = moat_fstat((int)a0, &st);
  if (err < 0)
    return err;
  return stat_out(a1, &st);
}

long sys_statx(SYSARGS) {
  char path[LINUX_PATH_MAX];
  struct linux_statx stx;
  int flags = (int)a2;
  int err;

  if (flags & ~(LINUX_AT_SYMLINK_NOFOLLOW | LINUX_AT_EMPTY_PATH |
                LINUX_AT_NO_AUTOMOUNT | LINUX_AT_STATX_SYNC_TYPE))
    return -LINUX_EINVAL;
  if ((flags & LINUX_AT_STATX_SYNC_TYPE) == LINUX_AT_STATX_SYNC_TYPE)
    return -LINUX_EINVAL;
  if ((unsigned)a3 & 0x80000000u) /* STATX__RESERVED */
    return -LINUX_EINVAL;
  if (a1 == 0 && (flags & LINUX_AT_EMPTY_PATH)) {
    path[0] = 0;
  } else {
    err = user_path(path, a1);
    if (err < 0)
      return err;
  }
  if (!user_buf_ok(a4, sizeof(stx), LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  memset(&stx, 0, sizeof(stx));
  err = moat_statx((int)a0, path, flags, (unsigned)a3, &stx);
  if (err < 0)
    return err;
  return user_write(a4, &stx, sizeof(stx)) < 0 ? -LINUX_EFAULT : 0;
}

static long statfs_common(int fd, const char *path, uint64_t gbuf) {
  struct linux_statfs sf;
  int err;
  if (!user_buf_ok(gbuf, sizeof(sf), LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  memset(&sf, 0, sizeof(sf));
  err = moat_statfs(fd, path, &sf);
  if (err < 0)
    return err;
  return user_write(gbuf, &sf, sizeof(sf)) < 0 ? -LINUX_EFAULT : 0;
}

long sys_statfs(SYSARGS) {
  char path[LINUX_PATH_MAX];
  int err = user_path(path, a0);
  if (err < 0)
    return err;
  return statfs_common(LINUX_AT_FDCWD, path, a1);
}

long sys_fstatfs(SYSARGS) {
  return statfs_common((int)a0, NULL, a1);
}

long sys_getdents64(SYSARGS) {
  int fd = (int)a0;
  size_t len = MIN((size_t)a2, SHIM_MAX_RW);
  if (!user_buf_ok(a1, len, LINUX_PROT_WRITE))
    return bad_buffer(fd);
  return moat_getdents64(fd, (void *)(uintptr_t)a1, len);
}

/* The old getdents record: the type sits in the last byte of the record.
 * It is never longer than the getdents64 record for the same name, so
 * the conversion works in place. */
long sys_getdents(SYSARGS) {
  int fd = (int)a0;
  size_t len = MIN((size_t)a2, SHIM_MAX_RW);
  char *buf;
  long got, in = 0, out = 0;

  if (!user_buf_ok(a1, len, LINUX_PROT_WRITE))
    return bad_buffer(fd);
  buf = kmalloc(len ? len : 1);
  if (!buf)
    return -LINUX_ENOMEM;
  got = moat_getdents64(fd, buf, len);
  if (got < 0 || (size_t)got > len)
    goto out;
  while (in < got) {
    struct linux_dirent64 d;
    if ((size_t)(got - in) < sizeof(d))
      break;
    memcpy(&d, buf + in, sizeof(d));
    if (d.d_reclen < sizeof(d) || d.d_reclen > got - in)
      break;
    size_t namelen = rt_strnlen(buf + in + sizeof(d), d.d_reclen - sizeof(d));
    size_t reclen = ALIGN_UP(8 + 8 + 2 + namelen + 2, 8);
    char dst[ALIGN_UP(8 + 8 + 2 + LINUX_NAME_MAX + 2, 8)];
    if (reclen > sizeof(dst))
      break;
    uint64_t ino = d.d_ino;
    int64_t off = d.d_off;
    uint16_t rl = (uint16_t)reclen;
    memcpy(dst, &ino, 8);
    memcpy(dst + 8, &off, 8);
    memcpy(dst + 16, &rl, 2);
    memcpy(dst + 18, buf + in + sizeof(d), namelen);
    memset(dst + 18 + namelen, 0, reclen - 18 - namelen);
    dst[reclen - 1] = (char)d.d_type;
    if (user_write(a1 + (uint64_t)out, dst, reclen) < 0) {
      if (!out)
        out = -LINUX_EFAULT;
      break;
    }
    out += (long)reclen;
    in += d.d_reclen;
  }
  got = out;
out:
  kfree(buf);
  return got;
}

static long access_common(int dirfd, uint64_t gpath, int mode, int flags) {
  char path[LINUX_PATH_MAX];
  int err = user_path(path, gpath);
  if (err < 0)
    return err;
  if (mode & ~(LINUX_R_OK | LINUX_W_OK | LINUX_X_OK))
    return -LINUX_EINVAL;
  return moat_faccessat(dirfd, path, mode, flags);
}

long sys_access(SYSARGS) {
  return access_common(LINUX_AT_FDCWD, a0, (int)a1, 0);
}

long sys_faccessat(SYSARGS) {
  return access_common((int)a0, a1, (int)a2, 0);
}

long sys_faccessat2(SYSARGS) {
  if ((int)a3 &
      ~(LINUX_AT_EACCESS | LINUX_AT_SYMLINK_NOFOLLOW | LINUX_AT_EMPTY_PATH))
    return -LINUX_EINVAL;
  return access_common((int)a0, a1, (int)a2, (int)a3);
}

static long readlink_common(int dirfd, uint64_t gpath, uint64_t gbuf,
                            int64_t size) {
  char path[LINUX_PATH_MAX];
  char target[LINUX_PATH_MAX];
  long n;
  int err = user_path(path, gpath);
  if (err < 0)
    return err;
  if ((int)size <= 0)
    return -LINUX_EINVAL;
  size = MIN((size_t)(int)size, sizeof(target));
  if (!user_buf_ok(gbuf, (size_t)size, LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  n = moat_readlinkat(dirfd, path, target, (size_t)size);
  if (n < 0)
    return n;
  if (n > size)
    n = size;
  return user_write(gbuf, target, (size_t)n) < 0 ? -LINUX_EFAULT : n;
}

long sys_readlink(SYSARGS) {
  return readlink_common(LINUX_AT_FDCWD, a0, a1, (int64_t)a2);
}

long sys_readlinkat(SYSARGS) {
  return readlink_common((int)a0, a1, a2, (int64_t)a3);
}

static long chmod_common(int dirfd, uint64_t gpath, uint32_t mode, int flags) {
  char path[LINUX_PATH_MAX];
  int err = user_path(path, gpath);
  if (err < 0)
    return err;
  return moat_fchmodat(dirfd, path, mode & 07777, flags);
}

long sys_chmod(SYSARGS) {
  return chmod_common(LINUX_AT_FDCWD, a0, (uint32_t)a1, 0);
}

long sys_fchmodat(SYSARGS) {
  return chmod_common((int)a0, a1, (uint32_t)a2, 0);
}

long sys_fchmodat2(SYSARGS) {
  if ((int)a3 & ~(LINUX_AT_SYMLINK_NOFOLLOW | LINUX_AT_EMPTY_PATH))
    return -LINUX_EINVAL;
  return chmod_common((int)a0, a1, (uint32_t)a2, (int)a3);
}

long sys_fchmod(SYSARGS) {
  return moat_fchmod((int)a0, (uint32_t)a1 & 07777);
}

static long chown_common(int dirfd, uint64_t gpath, uint64_t uid, uint64_t gid,
                         int flags) {
  char path[LINUX_PATH_MAX];
  int err;
  if (gpath == 0 && (flags & LINUX_AT_EMPTY_PATH)) {
    path[0] = 0;
  } else {
    err = user_path(path, gpath);
    if (err < 0)
      return err;
  }
  return moat_fchownat(dirfd, path, (uint32_t)uid, (uint32_t)gid, flags);
}

long sys_chown(SYSARGS) {
  return chown_common(LINUX_AT_FDCWD, a0, a1, a2, 0);
}

long sys_lchown(SYSARGS) {
  return chown_common(LINUX_AT_FDCWD, a0, a1, a2, LINUX_AT_SYMLINK_NOFOLLOW);
}

long sys_fchownat(SYSARGS) {
  if ((int)a4 & ~(LINUX_AT_SYMLINK_NOFOLLOW | LINUX_AT_EMPTY_PATH))
    return -LINUX_EINVAL;
  return chown_common((int)a0, a1, a2, a3, (int)a4);
}

long sys_fchown(SYSARGS) {
  return moat_fchown((int)a0, (uint32_t)a1, (uint32_t)a2);
}

long sys_umask(SYSARGS) {
  return moat_umask((uint32_t)a0 & 0777);
}

/* ---- times ------------------------------------------------------------- */

static long utimens_common(int dirfd, uint64_t gpath,
                           const struct linux_timespec *times, int flags) {
  char path[LINUX_PATH_MAX];
  int err;
  if (flags & ~(LINUX_AT_SYMLINK_NOFOLLOW | LINUX_AT_EMPTY_PATH))
    return -LINUX_EINVAL;
  if (times) {
    for (int i = 0; i < 2; i++) {
      if (times[i].tv_nsec == LINUX_UTIME_NOW ||
          times[i].tv_nsec == LINUX_UTIME_OMIT)
        continue;
      if (times[i].tv_nsec < 0 || times[i].tv_nsec >= 1000000000)
        return -LINUX_EINVAL;
    }
  }
  if (!gpath) {
    /* Linux: a NULL path means the file dirfd itself, never the cwd. */
    if (dirfd == LINUX_AT_FDCWD)
      return -LINUX_EFAULT;
    if (flags & LINUX_AT_SYMLINK_NOFOLLOW)
      return -LINUX_EINVAL;
    return moat_utimensat(dirfd, NULL, times, flags);
  }
  err = user_path(path, gpath);
  if (err < 0)
    return err;
  return moat_utimensat(dirfd, path, times, flags);
}

long sys_utimensat(SYSARGS) {
  struct linux_timespec ts[2];
  if (a2 && user_read(ts, a2, sizeof(ts)) < 0)
    return -LINUX_EFAULT;
  return utimens_common((int)a0, a1, a2 ? ts : NULL, (int)a3);
}

/* utimes and futimesat take microseconds. */
static long utimes_common(int dirfd, uint64_t gpath, uint64_t gtimes) {
  struct linux_timeval tv[2];
  struct linux_timespec ts[2];
  if (!gtimes)
    return utimens_common(dirfd, gpath, NULL, 0);
  if (user_read(tv, gtimes, sizeof(tv)) < 0)
    return -LINUX_EFAULT;
  for (int i = 0; i < 2; i++) {
    if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
      return -LINUX_EINVAL;
    ts[i].tv_sec = tv[i].tv_sec;
    ts[i].tv_nsec = tv[i].tv_usec * 1000;
  }
  return utimens_common(dirfd, gpath, ts, 0);
}

long sys_utimes(SYSARGS) {
  return utimes_common(LINUX_AT_FDCWD, a0, a1);
}

long sys_futimesat(SYSARGS) {
  return utimes_common((int)a0, a1, a2);
}

long sys_utime(SYSARGS) {
  int64_t ub[2]; /* struct utimbuf: actime, modtime */
  struct linux_timespec ts[2];
  if (!a1)
    return utimens_common(LINUX_AT_FDCWD, a0, NULL, 0);
  if (user_read(ub, a1, sizeof(ub)) < 0)
    return -LINUX_EFAULT;
  ts[0].tv_sec = ub[0];
  ts[0].tv_nsec = 0;
  ts[1].tv_sec = ub[1];
  ts[1].tv_nsec = 0;
  return utimens_common(LINUX_AT_FDCWD, a0, ts, 0);
}

/* ---- names: create, link, remove, rename ------------------------------- */

static long mkdir_common(int dirfd, uint64_t gpath, uint32_t mode) {
  char path[LINUX_PATH_MAX];
  int err = user_path(path, gpath);
  if (err < 0)
    return err;
  return moat_mkdirat(dirfd, path, mode & 07777);
}

long sys_mkdir(SYSARGS) {
  return mkdir_common(LINUX_AT_FDCWD, a0, (uint32_t)a1);
}

long sys_mkdirat(SYSARGS) {
  return mkdir_common((int)a0, a1, (uint32_t)a2);
}

static long mknod_common(int dirfd, uint64_t gpath, uint32_t mode,
                         uint64_t dev) {
  char path[LINUX_PATH_MAX];
  int err = user_path(path, gpath);
  if (err < 0)
    return err;
  return moat_mknodat(dirfd, path, mode, dev);
}

long sys_mknod(SYSARGS) {
  return mknod_common(LINUX_AT_FDCWD, a0, (uint32_t)a1, (uint32_t)a2);
}

long sys_mknodat(SYSARGS) {
  return mknod_common((int)a0, a1, (uint32_t)a2, (uint32_t)a3);
}

static long unlink_common(int dirfd, uint64_t gpath, int flags) {
  char path[LINUX_PATH_MAX];
  int err;
  if (flags & ~LINUX_AT_REMOVEDIR)
    return -LINUX_EINVAL;
  err = user_path(path, gpath);
  if (err < 0)
    return err;
  return moat_unlinkat(dirfd, path, flags);
}

long sys_unlink(SYSARGS) {
  return unlink_common(LINUX_AT_FDCWD, a0, 0);
}

long sys_rmdir(SYSARGS) {
  return unlink_common(LINUX_AT_FDCWD, a0, LINUX_AT_REMOVEDIR);
}

long sys_unlinkat(SYSARGS) {
  return unlink_common((int)a0, a1, (int)a2);
}

static long two_paths(uint64_t g1, char *p1, uint64_t g2, char *p2) {
  int err = user_path(p1, g1);
  if (err < 0)
    return err;
  return user_path(p2, g2);
}

static long rename_common(int olddir, uint64_t gold, int newdir, uint64_t gnew,
                          unsigned flags) {
  char oldp[LINUX_PATH_MAX], newp[LINUX_PATH_MAX];
  long err = two_paths(gold, oldp, gnew, newp);
  if (err < 0)
    return err;
  if (flags &
      ~(LINUX_RENAME_NOREPLACE | LINUX_RENAME_EXCHANGE | LINUX_RENAME_WHITEOUT))
    return -LINUX_EINVAL;
  if ((flags & LINUX_RENAME_NOREPLACE) && (flags & LINUX_RENAME_EXCHANGE))
    return -LINUX_EINVAL;
  return moat_renameat2(olddir, oldp, newdir, newp, flags);
}

long sys_rename(SYSARGS) {
  return rename_common(LINUX_AT_FDCWD, a0, LINUX_AT_FDCWD, a1, 0);
}

long sys_renameat(SYSARGS) {
  return rename_common((int)a0, a1, (int)a2, a3, 0);
}

long sys_renameat2(SYSARGS) {
  return rename_common((int)a0, a1, (int)a2, a3, (unsigned)a4);
}

static long link_common(int olddir, uint64_t gold, int newdir, uint64_t gnew,
                        int flags) {
  char oldp[LINUX_PATH_MAX], newp[LINUX_PATH_MAX];
  long err;
  if (flags & ~(LINUX_AT_SYMLINK_FOLLOW | LINUX_AT_EMPTY_PATH))
    return -LINUX_EINVAL;
  err = two_paths(gold, oldp, gnew, newp);
  if (err < 0)
    return err;
  return moat_linkat(olddir, oldp, newdir, newp, flags);
}

long sys_link(SYSARGS) {
  return link_common(LINUX_AT_FDCWD, a0, LINUX_AT_FDCWD, a1, 0);
}

long sys_linkat(SYSARGS) {
  return link_common((int)a0, a1, (int)a2, a3, (int)a4);
}

static long symlink_common(uint64_t gtarget, int dirfd, uint64_t gpath) {
  char target[LINUX_PATH_MAX], path[LINUX_PATH_MAX];
  long err = two_paths(gtarget, target, gpath, path);
  if (err < 0)
    return err;
  return moat_symlinkat(target, dirfd, path);
}

long sys_symlink(SYSARGS) {
  return symlink_common(a0, LINUX_AT_FDCWD, a1);
}

long sys_symlinkat(SYSARGS) {
  return symlink_common(a0, (int)a1, a2);
}

/* ---- sizes and sync ----------------------------------------------------- */

long sys_truncate(SYSARGS) {
  char path[LINUX_PATH_MAX];
  int err = user_path(path, a0);
  if (err < 0)
    return err;
  if ((int64_t)a1 < 0)
    return -LINUX_EINVAL;
  return moat_truncate(path, (int64_t)a1);
}

long sys_ftruncate(SYSARGS) {
  if ((int64_t)a1 < 0)
    return -LINUX_EINVAL;
  return moat_ftruncate((int)a0, (int64_t)a1);
}

/* Pipes, sockets and character devices have nothing to flush: Linux
 * answers EINVAL for them. */
static long sync_fd(int fd) {
  struct linux_stat st;
  int err = moat_fstat(fd, &st);
  if (err < 0)
    return err;
  if (LINUX_S_ISTYPE(st.st_mode, LINUX_S_IFIFO) ||
      LINUX_S_ISTYPE(st.st_mode, LINUX_S_IFSOCK) ||
      LINUX_S_ISTYPE(st.st_mode, LINUX_S_IFCHR))
    return -LINUX_EINVAL;
  return moat_fsync(fd);
}

long sys_fsync(SYSARGS) {
  return sync_fd((int)a0);
}

long sys_fdatasync(SYSARGS) {
  return sync_fd((int)a0);
}

long sys_sync(SYSARGS) {
  return 0;
}

long sys_syncfs(SYSARGS) {
  long r = moat_fd_get_cloexec((int)a0);
  return r < 0 ? r : 0;
}

/* ---- working directory -------------------------------------------------- */

long sys_getcwd(SYSARGS) {
  char buf[LINUX_PATH_MAX];
  size_t size = MIN((size_t)a1, sizeof(buf));
  long n;
  if (!user_buf_ok(a0, size, LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  n = moat_getcwd(buf, size);
  if (n < 0)
    return n;
  if ((size_t)n > size)
    return -LINUX_ERANGE;
  return user_write(a0, buf, (size_t)n) < 0 ? -LINUX_EFAULT : n;
}

long sys_chdir(SYSARGS) {
  char path[LINUX_PATH_MAX];
  int err = user_path(path, a0);
  if (err < 0)
    return err;
  return moat_chdir(path);
}

long sys_fchdir(SYSARGS) {
  return moat_fchdir((int)a0);
}

/* ---- extended attributes ------------------------------------------------
 * Linux's order: the flags, the name and the value are copied in before
 * the file is looked up (E2BIG, ERANGE and EFAULT win over ENOENT); the
 * value and the list go through a buffer of the core, copied out only
 * when there is something to copy. The path variants name the file by
 * path (l*: without following a final symlink), the f* variants by
 * descriptor (path NULL for the core). */

/* The name into a buffer of XATTR_NAME_MAX + 1: -ERANGE when empty or
 * longer. */
static long xattr_name(char *name, uint64_t gname) {
  long n = moat_user_strncpy(name, gname, LINUX_XATTR_NAME_MAX + 1);
  if (n == -LINUX_ENAMETOOLONG || n == 0)
    return -LINUX_ERANGE;
  return n < 0 ? n : 0;
}

/* The path of a path variant (a buffer of LINUX_PATH_MAX), or NULL for
 * a descriptor variant. */
static long xattr_path(char *path, uint64_t gpath, bool by_fd,
                       const char **out) {
  *out = NULL;
  if (by_fd)
    return 0;
  int err = user_path(path, gpath);
  if (err < 0)
    return err;
  *out = path;
  return 0;
}

static long xattr_get(uint64_t gpath, int fd, bool by_fd, bool follow,
                      uint64_t gname, uint64_t gvalue, size_t size) {
  char name[LINUX_XATTR_NAME_MAX + 1], pathbuf[LINUX_PATH_MAX];
  const char *path;
  long rc = xattr_name(name, gname);
  if (rc == 0)
    rc = xattr_path(pathbuf, gpath, by_fd, &path);
  if (rc < 0)
    return rc;
  size = MIN(size, (size_t)LINUX_XATTR_SIZE_MAX);
  char *value = size ? kmalloc(size) : NULL;
  if (size && !value)
    return -LINUX_ENOMEM;
  rc = moat_getxattrat(by_fd ? fd : LINUX_AT_FDCWD, path,
                       follow ? 0 : LINUX_AT_SYMLINK_NOFOLLOW, name, value,
                       size);
  if (rc > 0 && size && user_write(gvalue, value, (size_t)rc) < 0)
    rc = -LINUX_EFAULT;
  kfree(value);
  return rc;
}

long sys_getxattr(SYSARGS) {
  return xattr_get(a0, -1, false, true, a1, a2, (size_t)a3);
}

long sys_lgetxattr(SYSARGS) {
  return xattr_get(a0, -1, false, false, a1, a2, (size_t)a3);
}

long sys_fgetxattr(SYSARGS) {
  return xattr_get(0, (int)a0, true, true, a1, a2, (size_t)a3);
}

static long xattr_list(uint64_t gpath, int fd, bool by_fd, bool follow,
                       uint64_t glist, size_t size) {
  char pathbuf[LINUX_PATH_MAX];
  const char *path;
  long rc = xattr_path(pathbuf, gpath, by_fd, &path);
  if (rc < 0)
    return rc;
  size = MIN(size, (size_t)LINUX_XATTR_LIST_MAX);
  char *list = size ? kmalloc(size) : NULL;
  if (size && !list)
    return -LINUX_ENOMEM;
  rc = moat_listxattrat(by_fd ? fd : LINUX_AT_FDCWD, path,
                        follow ? 0 : LINUX_AT_SYMLINK_NOFOLLOW, list, size);
  if (rc > 0 && size && user_write(glist, list, (size_t)rc) < 0)
    rc = -LINUX_EFAULT;
  kfree(list);
  return rc;
}

long sys_listxattr(SYSARGS) {
  return xattr_list(a0, -1, false, true, a1, (size_t)a2);
}

long sys_llistxattr(SYSARGS) {
  return xattr_list(a0, -1, false, false, a1, (size_t)a2);
}

long sys_flistxattr(SYSARGS) {
  return xattr_list(0, (int)a0, true, true, a1, (size_t)a2);
}

static long xattr_set(uint64_t gpath, int fd, bool by_fd, bool follow,
                      uint64_t gname, uint64_t gvalue, size_t size, int flags) {
  char name[LINUX_XATTR_NAME_MAX + 1], pathbuf[LINUX_PATH_MAX];
  const char *path;
  char *value = NULL;
  if (flags & ~(LINUX_XATTR_CREATE | LINUX_XATTR_REPLACE))
    return -LINUX_EINVAL;
  long rc = xattr_name(name, gname);
  if (rc < 0)
    return rc;
  if (size > LINUX_XATTR_SIZE_MAX)
    return -LINUX_E2BIG;
  if (size) {
    value = kmalloc(size);
    if (!value)
      return -LINUX_ENOMEM;
    if (user_read(value, gvalue, size) < 0) {
      rc = -LINUX_EFAULT;
      goto out;
    }
  }
  rc = xattr_path(pathbuf, gpath, by_fd, &path);
  if (rc < 0)
    goto out;
  rc = moat_setxattrat(by_fd ? fd : LINUX_AT_FDCWD, path,
                       follow ? 0 : LINUX_AT_SYMLINK_NOFOLLOW, name, value,
                       size, flags);
out:
  kfree(value);
  return rc;
}

long sys_setxattr(SYSARGS) {
  return xattr_set(a0, -1, false, true, a1, a2, (size_t)a3, (int)a4);
}

long sys_lsetxattr(SYSARGS) {
  return xattr_set(a0, -1, false, false, a1, a2, (size_t)a3, (int)a4);
}

long sys_fsetxattr(SYSARGS) {
  return xattr_set(0, (int)a0, true, true, a1, a2, (size_t)a3, (int)a4);
}

static long xattr_remove(uint64_t gpath, int fd, bool by_fd, bool follow,
                         uint64_t gname) {
  char name[LINUX_XATTR_NAME_MAX + 1], pathbuf[LINUX_PATH_MAX];
  const char *path;
  long rc = xattr_name(name, gname);
  if (rc == 0)
    rc = xattr_path(pathbuf, gpath, by_fd, &path);
  if (rc < 0)
    return rc;
  return moat_removexattrat(by_fd ? fd : LINUX_AT_FDCWD, path,
                            follow ? 0 : LINUX_AT_SYMLINK_NOFOLLOW, name);
}

long sys_removexattr(SYSARGS) {
  return xattr_remove(a0, -1, false, true, a1);
}

long sys_lremovexattr(SYSARGS) {
  return xattr_remove(a0, -1, false, false, a1);
}

long sys_fremovexattr(SYSARGS) {
  return xattr_remove(0, (int)a0, true, true, a1);
}

/* ---- space and sync hints ----------------------------------------------- */

long sys_fallocate(SYSARGS) {
  int fd = (int)a0;
  unsigned mode = (unsigned)a1;
  int64_t off = (int64_t)a2, len = (int64_t)a3;

  return moat_fallocate(fd, mode, off, len);
}

long sys_sync_file_range(SYSARGS) {
  long r;
  if ((int64_t)a1 < 0 || (int64_t)a2 < 0 || (a3 & ~7ull))
    return -LINUX_EINVAL;
  r = moat_fd_get_cloexec((int)a0);
  return r < 0 ? r : 0;
}

/* copy_file_range through a bounce buffer: each side uses its own file
 * position unless an offset pointer is given, as Linux does. */
long sys_copy_file_range(SYSARGS) {
  int in = (int)a0, out = (int)a2;
  size_t len = MIN((size_t)a4, SHIM_MAX_RW);
  int64_t off_in = 0, off_out = 0;

  if (a5)
    return -LINUX_EINVAL;
  if (a1 && user_read(&off_in, a1, sizeof(off_in)) < 0)
    return -LINUX_EFAULT;
  if (a3 && user_read(&off_out, a3, sizeof(off_out)) < 0)
    return -LINUX_EFAULT;
  if (off_in < 0 || off_out < 0)
    return -LINUX_EOVERFLOW; /* as Linux 6 answers a negative offset */
  /* Linux's checks: readable in, writable out not in append mode
   * (EBADF), regular files (EISDIR, EINVAL), no overlap within one
   * file (EINVAL). */
  long fin = moat_fd_get_flags(in);
  long fout = moat_fd_get_flags(out);
  if (fin < 0 || fout < 0 || (fin & LINUX_O_PATH) || (fout & LINUX_O_PATH) ||
      (fin & LINUX_O_ACCMODE) == LINUX_O_WRONLY ||
      (fout & LINUX_O_ACCMODE) == LINUX_O_RDONLY || (fout & LINUX_O_APPEND))
    return -LINUX_EBADF;
  struct linux_stat sin, sout;
  if (moat_fstat(in, &sin) < 0 || moat_fstat(out, &sout) < 0)
    return -LINUX_EBADF;
  if (LINUX_S_ISTYPE(sin.st_mode, LINUX_S_IFDIR) ||
      LINUX_S_ISTYPE(sout.st_mode, LINUX_S_IFDIR))
    return -LINUX_EISDIR;
  if (!LINUX_S_ISTYPE(sin.st_mode, LINUX_S_IFREG) ||
      !LINUX_S_ISTYPE(sout.st_mode, LINUX_S_IFREG))
    return -LINUX_EINVAL;
  if (sin.st_dev == sout.st_dev && sin.st_ino == sout.st_ino) {
    int64_t pin = a1 ? off_in : moat_lseek(in, 0, LINUX_SEEK_CUR);
    int64_t pout = a3 ? off_out : moat_lseek(out, 0, LINUX_SEEK_CUR);
    if (pin < pout + (int64_t)len && pout < pin + (int64_t)len)
      return -LINUX_EINVAL;
  }
  long r =
      copy_between(in, a1 ? &off_in : NULL, out, a3 ? &off_out : NULL, len);
  if (r < 0)
    return r;
  off_in += r;
  off_out += r;
  if (a1 && user_write(a1, &off_in, sizeof(off_in)) < 0)
    return -LINUX_EFAULT;
  if (a3 && user_write(a3, &off_out, sizeof(off_out)) < 0)
    return -LINUX_EFAULT;
  return r;
}

#define SHIM_MFD_CLOEXEC 1u
#define SHIM_MFD_ALLOW_SEALING 2u
#define SHIM_MFD_HUGETLB 4u
#define SHIM_MFD_NAME_MAX 249

/* An anonymous memory file: an unnamed file in the sandbox's /dev/shm. */
long sys_memfd_create(SYSARGS) {
  char name[SHIM_MFD_NAME_MAX + 2];
  unsigned flags = (unsigned)a1;
  long n;

  if (flags & ~(SHIM_MFD_CLOEXEC | SHIM_MFD_ALLOW_SEALING))
    return -LINUX_EINVAL;
  n = moat_user_strncpy(name, a0, sizeof(name));
  if (n == -LINUX_ENAMETOOLONG)
    return -LINUX_EINVAL;
  if (n < 0)
    return n;
  return moat_memfd_create(name, flags & SHIM_MFD_CLOEXEC);
}
