/* Open file descriptions (struct file), the generic file ops for regular
 * files and directories, and per-process descriptor tables. Files and
 * tables live in the arena and are reference counted: dup and fork share
 * a description, CLONE_FILES shares a table. Closing a descriptor and
 * releasing a description drop the file locks tied to them
 * (core/flock.c). */
#include "flock.h"
#include "inotify.h"
#include "pcache.h"
#include "vfs_impl.h"

/* The largest single transfer, as Linux caps it (MAX_RW_COUNT). */
#define MAX_RW LINUX_MAX_RW_COUNT

/* ---------------------------------------------------------------------
 * Generic ops
 * ------------------------------------------------------------------- */

long vfs_generic_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  struct inode *inode = f->inode;
  if (!inode->iops || !inode->iops->read)
    return -LINUX_EINVAL;
  if (*pos > (uint64_t)INT64_MAX)
    return -LINUX_EINVAL;
  len = MIN(len, MAX_RW);
  if (len == 0)
    return 0;
  rt_lock(&inode->lock);
  long n = inode->iops->read(inode, buf, len, *pos);
  if (n > 0 && inode->pcache) /* a mapping's writes not yet written back */
    pcache_after_read(inode, buf, MIN((size_t)n, len), *pos);
  rt_unlock(&inode->lock);
  if (n > 0) {
    if ((size_t)n > len)
      n = (long)len; /* never trust a count larger than asked */
    *pos += (uint64_t)n;
  }
  return n;
}

long vfs_generic_write(struct file *f, const void *buf, size_t len,
                       uint64_t *pos) {
  struct inode *inode = f->inode;
  if (!inode->iops || !inode->iops->write)
    return -LINUX_EINVAL;
  if (vfs_is_rdonly(inode))
    return -LINUX_EROFS;
  len = MIN(len, MAX_RW);
  if (len == 0)
    return 0;
  rt_lock(&inode->lock);
  if (f->flags & LINUX_O_APPEND) {
    if (inode->iops->getattr)
      inode->iops->getattr(inode);
    *pos = inode->size;
  }
  long n;
  /* RLIMIT_FSIZE binds regular files only (not devices, not pipes). */
  uint64_t limit = LINUX_S_ISTYPE(inode->mode, LINUX_S_IFREG)
                       ? proc_current_fsize_limit()
                       : LINUX_RLIM_INFINITY;
  bool too_big = limit != LINUX_RLIM_INFINITY && *pos >= limit;
  if (*pos > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - *pos ||
      too_big) {
    n = -LINUX_EFBIG;
  } else {
    if (limit != LINUX_RLIM_INFINITY)
      len = (size_t)MIN(len, limit - *pos);
    n = inode->iops->write(inode, buf, len, *pos);
    if (n > 0) {
      if ((size_t)n > len)
        n = (long)len;
      if (inode->pcache) /* the mappings see it at once */
        pcache_after_write(inode, buf, (size_t)n, *pos);
      *pos += (uint64_t)n;
    }
  }
  rt_unlock(&inode->lock);
  if (too_big)
    proc_send_xfsz();
  return n;
}

static long dir_read(struct file *f, void *buf, size_t len, uint64_t *pos) {
  return -LINUX_EISDIR;
}

static long dir_write(struct file *f, const void *buf, size_t len,
                      uint64_t *pos) {
  return -LINUX_EISDIR;
}

const struct file_ops vfs_regular_file_ops = {
    .read = vfs_generic_read,
    .write = vfs_generic_write,
};

const struct file_ops vfs_dir_file_ops = {
    .read = dir_read,
    .write = dir_write,
};

/* ---------------------------------------------------------------------
 * Open file descriptions
 * ------------------------------------------------------------------- */

#define KEPT_FLAGS                                                             \
  (LINUX_O_ACCMODE | LINUX_O_APPEND | LINUX_O_NONBLOCK | LINUX_O_DIRECT |      \
   LINUX_O_SYNC | LINUX_O_DSYNC | LINUX_O_NOATIME | LINUX_O_PATH |             \
   LINUX_O_LARGEFILE | LINUX_O_ASYNC)

int file_open_inode(struct inode *inode, unsigned flags,
                    const struct file_ops *ops, struct file **out) {
  if (!ops)
    ops = inode->fops;
  if (!ops)
    ops = LINUX_S_ISTYPE(inode->mode, LINUX_S_IFDIR) ? &vfs_dir_file_ops
                                                     : &vfs_regular_file_ops;
  struct file *f = kzalloc(sizeof(*f));
  if (!f)
    return -LINUX_ENOMEM;
  f->refcount = 1;
  f->inode = vfs_inode_get(inode);
  f->ops = ops;
  f->flags = flags & KEPT_FLAGS;
  if (!(flags & LINUX_O_PATH) && ops->open) {
    int rc = ops->open(inode, f);
    if (rc < 0) {
      vfs_inode_put(f->inode);
      kfree(f);
      return rc;
    }
  }
  *out = f;
  return 0;
}

struct file *file_get(struct file *f) {
  if (f)
    __atomic_add_fetch(&f->refcount, 1, __ATOMIC_RELAXED);
  return f;
}

void file_put(struct file *f) {
  if (!f)
    return;
  uint32_t left = __atomic_sub_fetch(&f->refcount, 1, __ATOMIC_ACQ_REL);
  if (left == 0xffffffffu)
    rt_panic("open file released too often");
  if (left)
    return;
  flock_file_released(f); /* its flock and OFD locks */
  if (inotify_active() && !(f->flags & LINUX_O_PATH))
    inotify_file_event(f, file_writable(f) ? IN_CLOSE_WRITE : IN_CLOSE_NOWRITE);
  if (!(f->flags & LINUX_O_PATH) && f->ops->release)
    f->ops->release(f);
  vfs_inode_put(f->notify_dir);
  kfree(f->notify_name);
  vfs_inode_put(f->inode);
  kfree(f);
}

bool file_readable(const struct file *f) {
  if (f->flags & LINUX_O_PATH)
    return false;
  unsigned acc = f->flags & LINUX_O_ACCMODE;
  return acc == LINUX_O_RDONLY || acc == LINUX_O_RDWR;
}

bool file_writable(const struct file *f) {
  if (f->flags & LINUX_O_PATH)
    return false;
  unsigned acc = f->flags & LINUX_O_ACCMODE;
  return acc == LINUX_O_WRONLY || acc == LINUX_O_RDWR;
}

long file_pread(struct file *f, void *buf, size_t len, uint64_t off) {
  if (!file_readable(f))
    return -LINUX_EBADF;
  if (f->ops->stream)
    return -LINUX_ESPIPE;
  if (!f->ops->read)
    return -LINUX_EINVAL;
  return f->ops->read(f, buf, len, &off);
}

long file_pwrite(struct file *f, const void *buf, size_t len, uint64_t off) {
  if (!file_writable(f))
    return -LINUX_EBADF;
  if (f->ops->stream)
    return -LINUX_ESPIPE;
  if (!f->ops->write)
    return -LINUX_EINVAL;
  return f->ops->write(f, buf, len, &off);
}

/* ---------------------------------------------------------------------
 * Descriptor tables
 * ------------------------------------------------------------------- */

struct fd_table *fdt_create(void) {
  /* The first table is made at boot, before any fork: the lock table
   * made now is inherited by every guest process. */
  flock_init();
  sock_init();
  struct fd_table *t = kzalloc(sizeof(*t));
  if (!t)
    return NULL;
  t->refcount = 1;
  t->max = FDT_DEFAULT_MAX;
  return t;
}

/* Make room for descriptor fd; caller holds the table lock. */
static int fdt_grow(struct fd_table *t, uint32_t fd) {
  if (fd < t->capacity)
    return 0;
  uint32_t cap = t->capacity ? t->capacity : 64;
  while (cap <= fd)
    cap *= 2;
  if (cap > FDT_HARD_MAX)
    cap = FDT_HARD_MAX;
  if (fd >= cap)
    return -LINUX_EMFILE;
  struct file **files = kzalloc(cap * sizeof(*files));
  uint8_t *cloexec = kzalloc(cap);
  if (!files || !cloexec) {
    kfree(files);
    kfree(cloexec);
    return -LINUX_ENOMEM;
  }
  if (t->capacity) {
    memcpy(files, t->files, t->capacity * sizeof(*files));
    memcpy(cloexec, t->cloexec, t->capacity);
  }
  kfree(t->files);
  kfree(t->cloexec);
  t->files = files;
  t->cloexec = cloexec;
  t->capacity = cap;
  return 0;
}

struct fd_table *fdt_clone(struct fd_table *t) {
  struct fd_table *n = fdt_create();
  if (!n)
    return NULL;
  rt_lock(&t->lock);
  n->max = t->max;
  if (t->capacity && fdt_grow(n, t->capacity - 1) < 0) {
    rt_unlock(&t->lock);
    fdt_put(n);
    return NULL;
  }
  for (uint32_t i = 0; i < t->capacity; i++) {
    n->files[i] = file_get(t->files[i]);
    n->cloexec[i] = t->cloexec[i];
  }
  rt_unlock(&t->lock);
  return n;
}

struct fd_table *fdt_get(struct fd_table *t) {
  if (t)
    __atomic_add_fetch(&t->refcount, 1, __ATOMIC_RELAXED);
  return t;
}

void fdt_put(struct fd_table *t) {
  if (!t || __atomic_sub_fetch(&t->refcount, 1, __ATOMIC_ACQ_REL))
    return;
  for (uint32_t i = 0; i < t->capacity; i++)
    file_put(t->files[i]);
  kfree(t->files);
  kfree(t->cloexec);
  kfree(t);
}

int fdt_install(struct fd_table *t, struct file *f, int min_fd, bool cloexec) {
  if (min_fd < 0)
    return -LINUX_EINVAL;
  int rc;
  rt_lock(&t->lock);
  uint32_t fd = (uint32_t)min_fd;
  while (fd < t->capacity && t->files[fd])
    fd++;
  if (fd >= t->max) {
    rc = -LINUX_EMFILE;
    goto out;
  }
  rc = fdt_grow(t, fd);
  if (rc < 0)
    goto out;
  t->files[fd] = file_get(f);
  t->cloexec[fd] = cloexec;
  rc = (int)fd;
out:
  rt_unlock(&t->lock);
  return rc;
}

int fdt_install_at(struct fd_table *t, int fd, struct file *f, bool cloexec) {
  if (fd < 0)
    return -LINUX_EBADF;
  struct file *old = NULL;
  int rc;
  rt_lock(&t->lock);
  if ((uint32_t)fd >= t->max) {
    rc = -LINUX_EBADF;
    goto out;
  }
  rc = fdt_grow(t, (uint32_t)fd);
  if (rc < 0)
    goto out;
  old = t->files[fd];
  t->files[fd] = file_get(f);
  t->cloexec[fd] = cloexec;
  rc = fd;
out:
  rt_unlock(&t->lock);
  if (old)
    flock_file_closed(old); /* a close: the process's POSIX locks go */
  file_put(old);
  return rc;
}

struct file *fdt_lookup(struct fd_table *t, int fd) {
  struct file *f = NULL;
  if (!t || fd < 0)
    return NULL;
  rt_lock(&t->lock);
  if ((uint32_t)fd < t->capacity)
    f = file_get(t->files[fd]);
  rt_unlock(&t->lock);
  return f;
}

int fdt_close(struct fd_table *t, int fd) {
  struct file *f = NULL;
  if (fd < 0)
    return -LINUX_EBADF;
  rt_lock(&t->lock);
  if ((uint32_t)fd < t->capacity) {
    f = t->files[fd];
    t->files[fd] = NULL;
    t->cloexec[fd] = 0;
  }
  rt_unlock(&t->lock);
  if (!f)
    return -LINUX_EBADF;
  /* Closing any descriptor of a file drops the process's POSIX locks on
   * it, as POSIX demands (and OFD locks were invented to avoid). */
  flock_file_closed(f);
  file_put(f);
  return 0;
}

int fdt_get_cloexec(struct fd_table *t, int fd) {
  int rc = -LINUX_EBADF;
  if (fd < 0)
    return rc;
  rt_lock(&t->lock);
  if ((uint32_t)fd < t->capacity && t->files[fd])
    rc = t->cloexec[fd] ? 1 : 0;
  rt_unlock(&t->lock);
  return rc;
}

int fdt_set_cloexec(struct fd_table *t, int fd, bool on) {
  int rc = -LINUX_EBADF;
  if (fd < 0)
    return rc;
  rt_lock(&t->lock);
  if ((uint32_t)fd < t->capacity && t->files[fd]) {
    t->cloexec[fd] = on;
    rc = 0;
  }
  rt_unlock(&t->lock);
  return rc;
}

void fdt_close_on_exec(struct fd_table *t) {
  for (uint32_t i = 0;; i++) {
    struct file *f = NULL;
    rt_lock(&t->lock);
    if (i >= t->capacity) {
      rt_unlock(&t->lock);
      return;
    }
    if (t->files[i] && t->cloexec[i]) {
      f = t->files[i];
      t->files[i] = NULL;
      t->cloexec[i] = 0;
    }
    rt_unlock(&t->lock);
    if (f)
      flock_file_closed(f);
    file_put(f);
  }
}

int fdt_set_max(struct fd_table *t, uint32_t max) {
  if (max > FDT_HARD_MAX)
    return -LINUX_EPERM;
  rt_lock(&t->lock);
  t->max = max;
  rt_unlock(&t->lock);
  return 0;
}

uint32_t fdt_get_max(struct fd_table *t) {
  return t->max;
}
