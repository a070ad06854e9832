/* The namespace operations behind the moat_* file calls: open with its
 * creation rules, mknod/mkdir/symlink, unlink/rmdir, rename, link,
 * readlink, attribute changes with their permission rules, getdents.
 * Linux semantics are the reference (open(2), rename(2), unlink(2) ...);
 * each operation checks permissions, read-only file systems and types
 * before it asks the file system. */
#include "mm.h"
#include "pcache.h"
#include "moat/moat.h"
#include "inotify.h"
#include "vfs_impl.h"

#include "devfs.h"

static bool is_dot_or_dotdot(const char *name) {
  return (name[0] == '.' && name[1] == 0) ||
         (name[0] == '.' && name[1] == '.' && name[2] == 0);
}

static bool is_dir(const struct inode *inode) {
  return LINUX_S_ISTYPE(inode->mode, LINUX_S_IFDIR);
}

static bool is_reg(const struct inode *inode) {
  return LINUX_S_ISTYPE(inode->mode, LINUX_S_IFREG);
}

static bool is_lnk(const struct inode *inode) {
  return LINUX_S_ISTYPE(inode->mode, LINUX_S_IFLNK);
}

/* The sticky-bit rule: in a sticky directory only the owner of the entry,
 * the owner of the directory or root may remove or rename it. */
static int sticky_ok(struct inode *dir, struct inode *child) {
  if (!(dir->mode & LINUX_S_ISVTX))
    return 0;
  uint32_t euid, egid;
  vfs_cred(&euid, &egid);
  if (euid == dir->uid || euid == child->uid || moat_capable(LINUX_CAP_FOWNER))
    return 0;
  return -LINUX_EPERM;
}

/* May the caller add or remove entries of dir? (EROFS first: Linux asks
 * the mount before the inode.) */
static int may_change_dir(struct inode *dir) {
  if (!is_dir(dir))
    return -LINUX_ENOTDIR;
  if (vfs_is_rdonly(dir))
    return -LINUX_EROFS;
  return vfs_permission(dir, LINUX_W_OK | LINUX_X_OK);
}

/* Linux's may_delete: may the caller remove child (the entry name of dir)?
 * want_dir: the operation needs a directory (rmdir, rename of a dir). */
static int may_delete(struct inode *dir, struct inode *child, bool want_dir) {
  int rc = vfs_permission(dir, LINUX_W_OK | LINUX_X_OK);
  if (rc < 0)
    return rc;
  rc = sticky_ok(dir, child);
  if (rc < 0)
    return rc;
  if (want_dir && !is_dir(child))
    return -LINUX_ENOTDIR;
  if (!want_dir && is_dir(child))
    return -LINUX_EISDIR;
  return 0;
}

static int setattr_locked(struct inode *inode, struct vfs_attr *attr) {
  if (vfs_is_rdonly(inode))
    return -LINUX_EROFS;
  int rc;
  if (attr->valid & VFS_ATTR_SIZE)
    rt_lock(&inode->lock);
  if (inode->iops && inode->iops->setattr) {
    rc = inode->iops->setattr(inode, attr);
    if (!rc && (attr->valid & VFS_ATTR_SIZE) && inode->pcache)
      pcache_truncated(inode, inode->size);
  } else if (attr->valid & VFS_ATTR_SIZE) {
    rc = -LINUX_EPERM;
  } else {
    vfs_attr_copy(inode, attr);
    rc = 0;
  }
  if (attr->valid & VFS_ATTR_SIZE)
    rt_unlock(&inode->lock);
  /* This process's mappings of the pages past the end let go of them, so
   * that touching them is SIGBUS (after the inode lock: mm comes first). */
  if (!rc && (attr->valid & VFS_ATTR_SIZE) && inode->pcache)
    mm_file_truncated(inode, attr->size);
  return rc;
}

/* Create name in dir (lock held, name checked absent by the caller). */
static int create_in(struct inode *dir, const char *name, uint32_t mode,
                     uint64_t rdev, const char *target, struct inode **out) {
  if (dir->nlink == 0)
    return -LINUX_ENOENT; /* a removed directory takes no new entries */
  if (!dir->iops || !dir->iops->create)
    return -LINUX_EPERM;
  uint32_t euid, egid;
  vfs_cred(&euid, &egid);
  struct vfs_create args = {mode, euid, egid, rdev, target};
  if (dir->mode & LINUX_S_ISGID) {
    args.gid = dir->gid;
    if (LINUX_S_ISTYPE(mode, LINUX_S_IFDIR))
      args.mode |= LINUX_S_ISGID;
  }
  struct inode *child = NULL;
  int rc = dir->iops->create(dir, name, &args, &child);
  if (rc < 0)
    return rc;
  vfs_note_parent(dir, child, name);
  inotify_child_event(dir, child, IN_CREATE, name);
  *out = child;
  return 0;
}

/* An opened file remembers its directory and name, for the directory's
 * inotify watches (only once inotify is in use: it costs a walk). */
static void note_open_dir(struct inode *base, const char *path,
                          unsigned resolve, struct file *f) {
  if (!inotify_used() || (f->flags & LINUX_O_PATH))
    return;
  struct inode *dir = NULL;
  char last[LINUX_NAME_MAX + 1];
  bool trailing;
  if (vfs_walk_parent(base, path, resolve, &dir, last, &trailing) == 0 &&
      last[0] && !is_dot_or_dotdot(last)) {
    f->notify_name = rt_strdup(last);
    if (f->notify_name) {
      f->notify_dir = dir;
      dir = NULL;
    }
  }
  vfs_inode_put(dir);
}

/* ---------------------------------------------------------------------
 * open
 * ------------------------------------------------------------------- */

/* Find or create the last component for O_CREAT; *out gets a reference. */
static int open_create(struct inode *base, const char *path, unsigned flags,
                       uint32_t mode, unsigned resolve, struct inode **out,
                       bool *created, struct inode **named_dir, char *named) {
  struct inode *dir = NULL, *child = NULL;
  char last[LINUX_NAME_MAX + 1];
  bool trailing;
  int links = 0;
  int rc = vfs_walk_parent(base, path, resolve, &dir, last, &trailing);
  if (rc < 0)
    goto out;
  for (;;) {
    if (!last[0] || is_dot_or_dotdot(last)) {
      /* The name is a directory that exists: "/", ".", "..". */
      rc = (flags & LINUX_O_EXCL) ? -LINUX_EEXIST : -LINUX_EISDIR;
      goto out;
    }
    if (trailing) {
      rc = -LINUX_EISDIR;
      goto out;
    }
    rc = vfs_lookup_child(dir, last, &child);
    if (rc == -LINUX_ENOENT) {
      rc = may_change_dir(dir);
      if (rc < 0)
        goto out;
      uint32_t perm = mode & 07777 & ~vfs_umask();
      rc = create_in(dir, last, LINUX_S_IFREG | perm, 0, NULL, &child);
      if (rc < 0)
        goto out;
      *created = true;
      break;
    }
    if (rc < 0)
      goto out;
    if (flags & LINUX_O_EXCL) {
      rc = -LINUX_EEXIST;
      goto out;
    }
    if (!is_lnk(child) || (flags & LINUX_O_NOFOLLOW))
      break;
    /* openat2: the target is created only where a plain lookup of it
     * could go (the restricted walk does not continue through it). */
    if (resolve & (VFS_NO_SYMLINKS | VFS_BENEATH | VFS_IN_ROOT)) {
      rc = resolve & VFS_NO_SYMLINKS ? -LINUX_ELOOP : -LINUX_EXDEV;
      goto out;
    }
    /* O_CREAT through a symlink creates its target, as Linux does. */
    struct inode *next_dir = NULL;
    rc = vfs_walk_link_parent(dir, child, &links, &next_dir, last, &trailing);
    vfs_inode_put(child);
    child = NULL;
    if (rc < 0)
      goto out;
    vfs_inode_put(dir);
    dir = next_dir;
  }
  *out = child;
  child = NULL;
  if (!is_dir(*out)) {
    *named_dir = dir;
    dir = NULL;
    rt_strlcpy(named, last, LINUX_NAME_MAX + 1);
  }
out:
  vfs_inode_put(child);
  vfs_inode_put(dir);
  return rc;
}

/* An opened file keeps the directory and name it was opened through
 * (takes the reference in dir): readlink of /proc/PID/fd/N says it, and
 * the directory's inotify watches see the file's events. */
static void name_file(struct file *f, struct inode *dir, const char *name) {
  if (!dir)
    return;
  char *copy = rt_strdup(name);
  if (!copy) {
    vfs_inode_put(dir); /* readlink degrades to EINVAL */
    return;
  }
  f->notify_dir = dir;
  f->notify_name = copy;
}

/* O_TMPFILE: a regular file with no name in the directory at path. Any
 * file system that can create and unlink can do it: the file gets a
 * passing name, is opened (so a host-backed file keeps its handle) and
 * loses the name again. */
static int open_tmpfile(struct inode *base, const char *path, unsigned flags,
                        uint32_t mode, struct file **out) {
  struct inode *dir = NULL, *child = NULL;
  struct file *f = NULL;
  char name[32];
  vfs_lock();
  int rc = vfs_resolve_locked(base, path, VFS_FOLLOW | VFS_DIRECTORY, &dir);
  if (rc == 0)
    rc = may_change_dir(dir);
  if (rc < 0)
    goto out;
  if (!dir->iops || !dir->iops->unlink) {
    rc = -LINUX_EOPNOTSUPP;
    goto out;
  }
  for (int tries = 0;; tries++) {
    uint32_t seq =
        __atomic_fetch_add(&vfs_shared()->tmpfile_seq, 1, __ATOMIC_RELAXED);
    rt_snprintf(name, sizeof(name), ".moat-tmpfile.%u", seq);
    struct inode *existing = NULL;
    rc = vfs_lookup_here(dir, name, &existing);
    vfs_inode_put(existing);
    if (rc == -LINUX_ENOENT)
      break;
    if (rc < 0)
      goto out;
    if (tries > 100) {
      rc = -LINUX_EEXIST;
      goto out;
    }
  }
  uint32_t perm = mode & 07777 & ~vfs_umask();
  rc = create_in(dir, name, LINUX_S_IFREG | perm, 0, NULL, &child);
  if (rc < 0)
    goto out;
  unsigned fflags = (flags & ~(unsigned)LINUX_O_TMPFILE) | LINUX_O_LARGEFILE;
  rc = file_open_inode(child, fflags, NULL, &f);
  int urc = dir->iops->unlink(dir, name, false);
  if (rc == 0 && urc < 0) {
    file_put(f);
    rc = urc;
  }
  if (rc < 0)
    goto out;
  if (!(flags & LINUX_O_EXCL))
    child->vfs_flags |= VFS_INODE_TMPFILE;
  /* What /proc/PID/fd shows, as Linux: "DIR/#INO (deleted)"; a whole
   * text, no directory (inotify sees nothing of a file without a name). */
  char *text = kmalloc(LINUX_PATH_MAX);
  long n = text ? vfs_path_of_locked(dir, text, LINUX_PATH_MAX - 32) : -1;
  if (n >= 0) {
    rt_snprintf(text + n, 32, "%s#%llu", n == 1 ? "" : "/",
                (unsigned long long)child->ino);
    f->notify_name = text;
  } else {
    kfree(text);
  }
  *out = f;
out:
  vfs_unlock();
  vfs_inode_put(child);
  vfs_inode_put(dir);
  return rc;
}

int vfs_open(struct inode *base, const char *path, unsigned flags,
             uint32_t mode, struct file **out) {
  return vfs_open2(base, path, flags, mode, 0, out);
}

int vfs_open2(struct inode *base, const char *path, unsigned flags,
              uint32_t mode, unsigned resolve, struct file **out) {
  unsigned acc = flags & LINUX_O_ACCMODE;
  struct inode *inode = NULL, *named_dir = NULL;
  const struct file_ops *ops = NULL;
  bool created = false, truncated = false;
  char named[LINUX_NAME_MAX + 1];
  int rc;
  /* The flag checks Linux makes before it looks at the path. */
  if ((flags & LINUX_O_TMPFILE) == LINUX_O_TMPFILE) {
    if (acc != LINUX_O_WRONLY && acc != LINUX_O_RDWR)
      return -LINUX_EINVAL;
    return open_tmpfile(base, path, flags, mode, out);
  }
  if (!(flags & LINUX_O_PATH) &&
      (flags & (LINUX_O_CREAT | LINUX_O_DIRECTORY)) ==
          (LINUX_O_CREAT | LINUX_O_DIRECTORY))
    return -LINUX_EINVAL;
  if (flags & LINUX_O_PATH) {
    flags &=
        LINUX_O_PATH | LINUX_O_DIRECTORY | LINUX_O_NOFOLLOW | LINUX_O_CLOEXEC;
    acc = LINUX_O_RDONLY;
  } else {
    flags |= LINUX_O_LARGEFILE; /* as Linux does on 64-bit */
  }
  vfs_lock();
  if (flags & LINUX_O_CREAT) {
    rc = open_create(base, path, flags, mode, resolve, &inode, &created,
                     &named_dir, named);
  } else {
    unsigned rflags = resolve | ((flags & LINUX_O_NOFOLLOW) ? 0 : VFS_FOLLOW);
    if (flags & LINUX_O_DIRECTORY)
      rflags |= VFS_DIRECTORY;
    rc =
        vfs_resolve_named_locked(base, path, rflags, &inode, &named_dir, named);
  }
  if (rc < 0)
    goto out;
  if (is_lnk(inode) && !(flags & LINUX_O_PATH)) {
    rc = -LINUX_ELOOP; /* O_NOFOLLOW on a symlink */
    goto out;
  }
  if ((flags & LINUX_O_DIRECTORY) && !is_dir(inode)) {
    rc = -LINUX_ENOTDIR;
    goto out;
  }
  if (flags & LINUX_O_PATH)
    goto open_it;
  if (is_dir(inode) &&
      (acc != LINUX_O_RDONLY || (flags & (LINUX_O_CREAT | LINUX_O_TRUNC)))) {
    rc = -LINUX_EISDIR;
    goto out;
  }
  if (!created) {
    /* Access mode 3 reads and writes nothing but needs both rights
     * (Linux's ioctl-only open). */
    int want = 0;
    if (acc != LINUX_O_WRONLY)
      want |= LINUX_R_OK;
    if (acc != LINUX_O_RDONLY || (flags & LINUX_O_TRUNC))
      want |= LINUX_W_OK;
    rc = vfs_permission(inode, want);
    if (rc < 0)
      goto out;
    if ((want & LINUX_W_OK) && (is_reg(inode) || is_dir(inode)) &&
        vfs_is_rdonly(inode)) {
      rc = -LINUX_EROFS;
      goto out;
    }
  }
  switch (inode->mode & LINUX_S_IFMT) {
  case LINUX_S_IFIFO:
    ops = &pipe_fifo_ops;
    break;
  case LINUX_S_IFCHR:
    ops = inode->fops ? inode->fops : vfs_chrdev_ops(inode->rdev);
    if (!ops) {
      rc = -LINUX_ENXIO;
      goto out;
    }
    break;
  case LINUX_S_IFBLK:
  case LINUX_S_IFSOCK:
    rc = -LINUX_ENXIO;
    goto out;
  default:
    break;
  }
  /* Linux truncates even with O_RDONLY (write permission was checked). */
  if ((flags & LINUX_O_TRUNC) && is_reg(inode) && !created) {
    struct vfs_attr attr = {.valid = VFS_ATTR_SIZE | VFS_ATTR_MTIME};
    attr.mtime = vfs_now();
    rc = setattr_locked(inode, &attr);
    if (rc < 0)
      goto out;
    truncated = true;
  }
open_it:
  if (ops == &pipe_fifo_ops) {
    /* A fifo open may wait for the other end: not under the lock. */
    vfs_unlock();
    rc = file_open_inode(inode, flags, ops, out);
    vfs_inode_put(inode);
    if (rc == 0) {
      name_file(*out, named_dir, named);
      inotify_file_event(*out, IN_OPEN);
    } else {
      vfs_inode_put(named_dir);
    }
    return rc;
  }
  rc = file_open_inode(inode, flags, ops, out);
  if (rc == 0) {
    name_file(*out, named_dir, named);
    named_dir = NULL;
    if (!(*out)->notify_dir)
      note_open_dir(base, path, resolve, *out);
  }
out:
  vfs_unlock();
  vfs_inode_put(named_dir);
  vfs_inode_put(inode);
  if (rc == 0) {
    if (truncated)
      inotify_file_event(*out, IN_MODIFY);
    inotify_file_event(*out, IN_OPEN);
  }
  return rc;
}

/* ---------------------------------------------------------------------
 * mknod, mkdir, symlink
 * ------------------------------------------------------------------- */

int vfs_mknod_at(struct inode *base, const char *path, uint32_t mode,
                 uint64_t rdev, const char *target) {
  struct inode *dir = NULL, *child = NULL;
  char last[LINUX_NAME_MAX + 1];
  bool trailing;
  uint32_t type = mode & LINUX_S_IFMT;
  int rc;
  if (type == LINUX_S_IFLNK) {
    size_t tlen = rt_strnlen(target, LINUX_PATH_MAX);
    if (tlen == 0)
      return -LINUX_ENOENT;
    if (tlen >= LINUX_PATH_MAX)
      return -LINUX_ENAMETOOLONG;
  }
  vfs_lock();
  rc = vfs_walk_parent(base, path, 0, &dir, last, &trailing);
  if (rc < 0)
    goto out;
  if (!last[0] || is_dot_or_dotdot(last)) {
    rc = -LINUX_EEXIST;
    goto out;
  }
  rc = vfs_lookup_here(dir, last, &child);
  if (rc == 0) {
    rc = -LINUX_EEXIST;
    goto out;
  }
  if (rc != -LINUX_ENOENT)
    goto out;
  if (trailing && type != LINUX_S_IFDIR) {
    rc = -LINUX_ENOENT;
    goto out;
  }
  rc = may_change_dir(dir);
  if (rc < 0)
    goto out;
  uint32_t perm = type == LINUX_S_IFLNK ? 0777 : mode & 07777 & ~vfs_umask();
  if (type == LINUX_S_IFDIR)
    perm &= 01777;
  rc = create_in(dir, last, type | perm, rdev, target, &child);
out:
  vfs_unlock();
  vfs_inode_put(child);
  vfs_inode_put(dir);
  return rc;
}

/* ---------------------------------------------------------------------
 * unlink, rmdir
 * ------------------------------------------------------------------- */

int vfs_unlink_at(struct inode *base, const char *path, bool rmdir) {
  struct inode *dir = NULL, *child = NULL;
  char last[LINUX_NAME_MAX + 1];
  bool trailing;
  int rc;
  vfs_lock();
  rc = vfs_walk_parent(base, path, 0, &dir, last, &trailing);
  if (rc < 0)
    goto out;
  /* Linux's order: the kind of name, the mount, the entry, the rights. */
  if (!last[0]) {
    rc = rmdir ? -LINUX_EBUSY : -LINUX_EISDIR;
    goto out;
  }
  if (is_dot_or_dotdot(last)) {
    if (!rmdir)
      rc = -LINUX_EISDIR;
    else
      rc = last[1] ? -LINUX_ENOTEMPTY : -LINUX_EINVAL;
    goto out;
  }
  if (vfs_is_rdonly(dir)) {
    rc = -LINUX_EROFS;
    goto out;
  }
  rc = vfs_lookup_here(dir, last, &child);
  if (rc < 0)
    goto out;
  if (!rmdir && trailing) {
    rc = is_dir(child) ? -LINUX_EISDIR : -LINUX_ENOTDIR;
    goto out;
  }
  rc = may_delete(dir, child, rmdir);
  if (rc < 0)
    goto out;
  if (vfs_is_mount_boundary(child)) {
    rc = -LINUX_EBUSY;
    goto out;
  }
  if (!dir->iops || !dir->iops->unlink) {
    rc = -LINUX_EPERM;
    goto out;
  }
  rc = dir->iops->unlink(dir, last, rmdir);
  if (rc == 0) {
    if (!rmdir)
      inotify_child_event(NULL, child, IN_ATTRIB, NULL); /* its link count */
    if (!child->nlink || rmdir)
      inotify_inode_deleted(child);
    inotify_child_event(dir, NULL, IN_DELETE | (rmdir ? IN_ISDIR : 0), last);
  }
out:
  vfs_unlock();
  vfs_inode_put(child);
  vfs_inode_put(dir);
  return rc;
}

/* ---------------------------------------------------------------------
 * rename
 * ------------------------------------------------------------------- */

/* Is a below (or equal to) dir, following parents? */
static bool is_below(struct inode *a, struct inode *dir) {
  for (int guard = 0; a && guard < 4096; guard++) {
    if (vfs_same_inode(a, dir))
      return true;
    a = a->parent;
  }
  return false;
}

static void note_moved(struct inode *dir, struct inode *child,
                       const char *name) {
  if (child && is_dir(child))
    vfs_note_parent(dir, child, name);
}

int vfs_rename_at(struct inode *obase, const char *opath, struct inode *nbase,
                  const char *npath, unsigned flags) {
  struct inode *odir = NULL, *ndir = NULL, *old = NULL, *new = NULL;
  char oname[LINUX_NAME_MAX + 1], nname[LINUX_NAME_MAX + 1];
  bool otrail, ntrail;
  bool exchange = flags & LINUX_RENAME_EXCHANGE;
  int rc;
  if (flags & ~(unsigned)(LINUX_RENAME_NOREPLACE | LINUX_RENAME_EXCHANGE))
    return -LINUX_EINVAL;
  if ((flags & LINUX_RENAME_NOREPLACE) && exchange)
    return -LINUX_EINVAL;
  vfs_lock();
  /* The checks in the order of Linux's do_renameat2 and vfs_rename, so
   * every error a program can see is the one Linux gives. */
  rc = vfs_walk_parent(obase, opath, 0, &odir, oname, &otrail);
  if (rc < 0)
    goto out;
  rc = vfs_walk_parent(nbase, npath, 0, &ndir, nname, &ntrail);
  if (rc < 0)
    goto out;
  if (odir->sb != ndir->sb) {
    rc = -LINUX_EXDEV;
    goto out;
  }
  if (!oname[0] || is_dot_or_dotdot(oname)) {
    rc = -LINUX_EBUSY;
    goto out;
  }
  if (!nname[0] || is_dot_or_dotdot(nname)) {
    rc = (flags & LINUX_RENAME_NOREPLACE) ? -LINUX_EEXIST : -LINUX_EBUSY;
    goto out;
  }
  if (vfs_is_rdonly(odir)) {
    rc = -LINUX_EROFS;
    goto out;
  }
  rc = vfs_lookup_here(odir, oname, &old);
  if (rc < 0)
    goto out;
  rc = vfs_lookup_here(ndir, nname, &new);
  if (rc < 0 && rc != -LINUX_ENOENT)
    goto out;
  rc = 0;
  if (new && (flags & LINUX_RENAME_NOREPLACE)) {
    rc = -LINUX_EEXIST;
    goto out;
  }
  if (exchange) {
    if (!new) {
      rc = -LINUX_ENOENT;
      goto out;
    }
    if (!is_dir(new) && ntrail) {
      rc = -LINUX_ENOTDIR;
      goto out;
    }
  }
  /* Unless the source is a directory, trailing slashes give ENOTDIR. */
  if (!is_dir(old) && (otrail || (!exchange && ntrail))) {
    rc = -LINUX_ENOTDIR;
    goto out;
  }
  /* The source may not contain the target's directory, nor the target
   * the source's. */
  if (is_dir(old) && is_below(ndir, old)) {
    rc = -LINUX_EINVAL;
    goto out;
  }
  if (new &&is_dir(new) && is_below(odir, new)) {
    rc = exchange ? -LINUX_EINVAL : -LINUX_ENOTEMPTY;
    goto out;
  }
  if (new &&vfs_same_inode(old, new)) {
    rc = 0; /* both names for one inode: nothing to do */
    goto out;
  }
  rc = may_delete(odir, old, is_dir(old));
  if (rc < 0)
    goto out;
  if (!new)
    rc = vfs_permission(ndir, LINUX_W_OK | LINUX_X_OK);
  else
    rc = may_delete(ndir, new, exchange ? is_dir(new) : is_dir(old));
  if (rc < 0)
    goto out;
  if (!odir->iops || !odir->iops->rename) {
    rc = -LINUX_EPERM;
    goto out;
  }
  /* Moving a directory to a new parent rewrites its "..": needs write. */
  if (odir != ndir && is_dir(old)) {
    rc = vfs_permission(old, LINUX_W_OK);
    if (rc < 0)
      goto out;
  }
  if (odir != ndir && exchange && is_dir(new)) {
    rc = vfs_permission(new, LINUX_W_OK);
    if (rc < 0)
      goto out;
  }
  if (vfs_is_mount_boundary(old) || (new &&vfs_is_mount_boundary(new))) {
    rc = -LINUX_EBUSY;
    goto out;
  }
  rc = odir->iops->rename(odir, oname, ndir, nname, flags);
  if (rc < 0)
    goto out;
  note_moved(ndir, old, nname);
  if (exchange)
    note_moved(odir, new, oname);
  inotify_move(odir, oname, ndir, nname, old);
  if (exchange)
    inotify_move(ndir, nname, odir, oname, new);
  else if (new && (!new->nlink || is_dir(new)))
    inotify_inode_deleted(new);
out:
  vfs_unlock();
  vfs_inode_put(old);
  vfs_inode_put(new);
  vfs_inode_put(odir);
  vfs_inode_put(ndir);
  return rc;
}

/* ---------------------------------------------------------------------
 * link, readlink
 * ------------------------------------------------------------------- */

int vfs_link_at(struct inode *obase, const char *opath, struct inode *nbase,
                const char *npath, unsigned resolve_flags) {
  struct inode *target = NULL, *dir = NULL, *existing = NULL;
  char last[LINUX_NAME_MAX + 1];
  bool trailing;
  int rc;
  vfs_lock();
  /* Linux's do_linkat order: the old name, the new name, the mount, the
   * rights, then what only vfs_link checks (directories, dead inodes). */
  rc = vfs_resolve_locked(obase, opath, resolve_flags, &target);
  if (rc < 0)
    goto out;
  rc = vfs_walk_parent(nbase, npath, 0, &dir, last, &trailing);
  if (rc < 0)
    goto out;
  if (!last[0] || is_dot_or_dotdot(last)) {
    rc = -LINUX_EEXIST;
    goto out;
  }
  rc = vfs_lookup_here(dir, last, &existing);
  if (rc == 0) {
    rc = -LINUX_EEXIST;
    goto out;
  }
  if (rc != -LINUX_ENOENT)
    goto out;
  if (trailing) {
    rc = -LINUX_ENOENT;
    goto out;
  }
  if (vfs_is_rdonly(dir)) {
    rc = -LINUX_EROFS;
    goto out;
  }
  if (dir->sb != target->sb) {
    rc = -LINUX_EXDEV;
    goto out;
  }
  rc = vfs_permission(dir, LINUX_W_OK | LINUX_X_OK);
  if (rc < 0)
    goto out;
  if (!dir->iops || !dir->iops->link || is_dir(target)) {
    rc = -LINUX_EPERM;
    goto out;
  }
  if (target->nlink == 0 && !(target->vfs_flags & VFS_INODE_TMPFILE)) {
    rc = -LINUX_ENOENT;
    goto out;
  }
  if (dir->nlink == 0) {
    rc = -LINUX_ENOENT;
    goto out;
  }
  rc = dir->iops->link(dir, last, target);
  if (rc == 0) {
    inotify_child_event(NULL, target, IN_ATTRIB, NULL); /* its link count */
    inotify_child_event(dir, target, IN_CREATE, last);
  }
out:
  vfs_unlock();
  vfs_inode_put(existing);
  vfs_inode_put(dir);
  vfs_inode_put(target);
  return rc;
}

long vfs_readlink_at(struct inode *base, const char *path, char *buf,
                     size_t len) {
  struct inode *link = NULL;
  long rc;
  if (len == 0 || len > 0x7fffffff)
    return -LINUX_EINVAL;
  vfs_lock();
  rc = vfs_resolve_locked(base, path, VFS_EMPTY_PATH, &link);
  if (rc < 0)
    goto out;
  /* An empty path names dirfd's own file: only a symlink reads
   * (do_readlinkat: ENOENT otherwise); a nameless object reads only
   * through /proc/PID/fd. */
  if (!is_lnk(link) && !path[0]) {
    rc = -LINUX_ENOENT;
    goto out;
  }
  if (!link->iops || !link->iops->readlink ||
      (!is_lnk(link) && !link->iops->nameless)) {
    rc = -LINUX_EINVAL;
    goto out;
  }
  char *tmp = kmalloc(LINUX_PATH_MAX);
  if (!tmp) {
    rc = -LINUX_ENOMEM;
    goto out;
  }
  rc = link->iops->readlink(link, tmp, LINUX_PATH_MAX);
  if (rc >= 0) {
    size_t n = MIN((size_t)rc, MIN(len, (size_t)LINUX_PATH_MAX));
    memcpy(buf, tmp, n);
    rc = (long)n;
  }
  kfree(tmp);
out:
  vfs_unlock();
  vfs_inode_put(link);
  return rc;
}

/* ---------------------------------------------------------------------
 * Attributes
 * ------------------------------------------------------------------- */

static bool is_owner_or_root(struct inode *inode) {
  uint32_t euid, egid;
  vfs_cred(&euid, &egid);
  return euid == inode->uid || moat_capable(LINUX_CAP_FOWNER);
}

int vfs_chmod(struct inode *inode, uint32_t mode) {
  int rc;
  vfs_lock();
  if (!is_owner_or_root(inode)) {
    rc = -LINUX_EPERM;
    goto out;
  }
  uint32_t euid, egid;
  vfs_cred(&euid, &egid);
  mode &= 07777;
  /* A non-member may not leave the set-group-id bit on a file. */
  if (!is_dir(inode) && inode->gid != egid && !proc_in_group(inode->gid) &&
      !moat_capable(LINUX_CAP_FSETID))
    mode &= ~(uint32_t)LINUX_S_ISGID;
  struct vfs_attr attr = {.valid = VFS_ATTR_MODE, .mode = mode};
  rc = setattr_locked(inode, &attr);
out:
  vfs_unlock();
  return rc;
}

int vfs_chown(struct inode *inode, uint32_t uid, uint32_t gid) {
  int rc = 0;
  uint32_t euid, egid;
  vfs_cred(&euid, &egid);
  vfs_lock();
  struct vfs_attr attr = {0};
  bool can_chown = moat_capable(LINUX_CAP_CHOWN);
  if (uid != 0xffffffffu && uid != inode->uid) {
    if (!can_chown) {
      rc = -LINUX_EPERM;
      goto out;
    }
    attr.valid |= VFS_ATTR_UID;
    attr.uid = uid;
  }
  if (gid != 0xffffffffu && gid != inode->gid) {
    if (!can_chown &&
        (euid != inode->uid || (gid != egid && !proc_in_group(gid)))) {
      rc = -LINUX_EPERM;
      goto out;
    }
    attr.valid |= VFS_ATTR_GID;
    attr.gid = gid;
  }
  if (uid != 0xffffffffu || gid != 0xffffffffu) {
    if (!can_chown && euid != inode->uid) {
      rc = -LINUX_EPERM;
      goto out;
    }
  }
  /* Any chown of a non-directory, even chown(-1, -1) or one to the same
   * owner, drops set-user-ID, and set-group-ID where it means "set group
   * on exec" (group-exec set) or where the caller could not set it (not
   * in the file's group, no CAP_FSETID); Linux's chown_common and
   * notify_change. Changing the mode so needs the owner or CAP_FOWNER
   * (setattr_prepare), or the chown fails with EPERM. */
  uint32_t kill = 0;
  if (!is_dir(inode)) {
    if (inode->mode & LINUX_S_ISUID)
      kill |= LINUX_S_ISUID;
    if ((inode->mode & LINUX_S_ISGID) &&
        ((inode->mode & 0010) ||
         (inode->gid != egid && !proc_in_group(inode->gid) &&
          !moat_capable(LINUX_CAP_FSETID))))
      kill |= LINUX_S_ISGID;
  }
  if (kill) {
    if (!is_owner_or_root(inode)) {
      rc = -LINUX_EPERM;
      goto out;
    }
    attr.valid |= VFS_ATTR_MODE;
    attr.mode = inode->mode & 07777 & ~kill;
  }
  rc = setattr_locked(inode, &attr);
out:
  vfs_unlock();
  return rc;
}

int vfs_utimes(struct inode *inode, const struct linux_timespec times[2]) {
  int rc;
  struct vfs_attr attr = {0};
  struct linux_timespec now = vfs_now();
  bool only_now = true;
  if (times) {
    for (int i = 0; i < 2; i++) {
      if (times[i].tv_nsec != LINUX_UTIME_NOW &&
          times[i].tv_nsec != LINUX_UTIME_OMIT &&
          (times[i].tv_nsec < 0 || times[i].tv_nsec >= 1000000000))
        return -LINUX_EINVAL;
      if (times[i].tv_nsec != LINUX_UTIME_NOW &&
          times[i].tv_nsec != LINUX_UTIME_OMIT)
        only_now = false;
    }
    if (times[0].tv_nsec != LINUX_UTIME_OMIT) {
      attr.valid |= VFS_ATTR_ATIME;
      attr.atime = times[0].tv_nsec == LINUX_UTIME_NOW ? now : times[0];
    }
    if (times[1].tv_nsec != LINUX_UTIME_OMIT) {
      attr.valid |= VFS_ATTR_MTIME;
      attr.mtime = times[1].tv_nsec == LINUX_UTIME_NOW ? now : times[1];
    }
    if (!attr.valid)
      return 0;
  } else {
    attr.valid = VFS_ATTR_ATIME | VFS_ATTR_MTIME;
    attr.atime = attr.mtime = now;
  }
  vfs_lock();
  if (!is_owner_or_root(inode)) {
    /* Setting "now" needs write permission; explicit times, ownership. */
    rc = only_now ? vfs_permission(inode, LINUX_W_OK) : -LINUX_EPERM;
    if (rc < 0)
      goto out;
  }
  rc = setattr_locked(inode, &attr);
out:
  vfs_unlock();
  return rc;
}

int vfs_truncate(struct inode *inode, int64_t len) {
  if (len < 0)
    return -LINUX_EINVAL;
  if (is_dir(inode))
    return -LINUX_EISDIR;
  if (!is_reg(inode))
    return -LINUX_EINVAL;
  uint64_t limit = proc_current_fsize_limit();
  if (limit != LINUX_RLIM_INFINITY && (uint64_t)len > limit) {
    /* Growing past RLIMIT_FSIZE (inode_newsize_ok); shrinking is fine. */
    if (inode->iops && inode->iops->getattr)
      inode->iops->getattr(inode);
    if ((uint64_t)len > inode->size) {
      proc_send_xfsz();
      return -LINUX_EFBIG;
    }
  }
  vfs_lock();
  struct vfs_attr attr = {.valid = VFS_ATTR_SIZE | VFS_ATTR_MTIME,
                          .size = (uint64_t)len};
  attr.mtime = vfs_now();
  int rc = setattr_locked(inode, &attr);
  vfs_unlock();
  return rc;
}

int vfs_access(struct inode *inode, int mode) {
  if (mode & ~7)
    return -LINUX_EINVAL;
  int rc = vfs_permission(inode, mode);
  if (rc == 0 && (mode & LINUX_W_OK) && vfs_is_rdonly(inode) &&
      (is_reg(inode) || is_dir(inode) || is_lnk(inode)))
    rc = -LINUX_EROFS;
  return rc;
}

int vfs_fsync(struct inode *inode) {
  /* Only files with storage behind them can be synced: Linux answers
   * EINVAL for pipes, sockets and character devices. */
  if (!is_reg(inode) && !is_dir(inode))
    return -LINUX_EINVAL;
  if (inode->iops && inode->iops->fsync)
    return inode->iops->fsync(inode);
  return 0;
}

int vfs_statfs(struct inode *inode, struct linux_statfs *out) {
  memset(out, 0, sizeof(*out));
  struct superblock *sb = inode->sb;
  out->f_type = sb ? (int64_t)sb->magic : 0;
  out->f_bsize = 4096;
  out->f_frsize = 4096;
  out->f_namelen = LINUX_NAME_MAX;
  size_t used = 0, size = 0;
  rt_arena_usage(&used, &size);
  out->f_blocks = size / 4096;
  out->f_bfree = out->f_bavail = (size - used) / 4096;
  out->f_files = 1u << 20;
  out->f_ffree = 1u << 19;
  if (sb) {
    out->f_fsid[0] = (int32_t)sb->dev;
    out->f_fsid[1] = (int32_t)(sb->dev >> 32);
    if (sb->flags & VFS_SB_RDONLY)
      out->f_flags |= 1; /* ST_RDONLY */
    if (sb->statfs)
      return sb->statfs(sb, out);
  }
  return 0;
}

/* ---------------------------------------------------------------------
 * getdents64
 * ------------------------------------------------------------------- */

struct dents {
  char *buf;
  size_t len;
  size_t used;
  int taken;
  bool full;
  bool fault; /* the buffer is gone: -EFAULT unless entries were taken */
};

static int emit_dirent(void *ctx, const char *name, size_t namelen,
                       uint64_t ino, unsigned dtype, uint64_t next_pos) {
  struct dents *d = ctx;
  if (namelen == 0 || namelen > LINUX_NAME_MAX)
    return 0; /* never show a malformed name; skip it */
  size_t reclen =
      ALIGN_UP(offsetof(struct linux_dirent64, d_name) + namelen + 1, 8);
  if (d->used + reclen > d->len) {
    d->full = true;
    return 1;
  }
  /* Built here, then one copy into the caller's (the guest's) buffer. */
  union {
    struct linux_dirent64 rec;
    char bytes[ALIGN_UP(
        offsetof(struct linux_dirent64, d_name) + LINUX_NAME_MAX + 1, 8)];
  } u;
  memset(&u, 0, reclen);
  u.rec.d_ino = ino;
  u.rec.d_off = (int64_t)next_pos;
  u.rec.d_reclen = (uint16_t)reclen;
  u.rec.d_type = (uint8_t)dtype;
  memcpy(u.bytes + offsetof(struct linux_dirent64, d_name), name, namelen);
  if (rt_ucopy(d->buf + d->used, u.bytes, reclen)) {
    d->fault = true;
    return 1;
  }
  d->used += reclen;
  d->taken++;
  return 0;
}

long vfs_getdents(struct file *f, void *buf, size_t len) {
  struct inode *dir = f->inode;
  if (!is_dir(dir))
    return -LINUX_ENOTDIR;
  struct dents d = {buf, len, 0, 0, false, false};
  long rc = 0;
  rt_lock(&f->lock);
  vfs_lock();
  if (dir->nlink == 0)
    goto out; /* a removed directory lists nothing */
  if (f->pos == 0) {
    if (emit_dirent(&d, ".", 1, dir->ino, LINUX_DT_DIR, 1))
      goto out;
    f->pos = 1;
  }
  if (f->pos == 1) {
    if (emit_dirent(&d, "..", 2, vfs_parent_ino(dir), LINUX_DT_DIR, 2))
      goto out;
    f->pos = 2;
  }
  if (dir->iops && dir->iops->readdir) {
    uint64_t pos = f->pos;
    rc = dir->iops->readdir(dir, &pos, emit_dirent, &d);
    if (pos >= 2)
      f->pos = pos;
  }
out:
  vfs_unlock();
  rt_unlock(&f->lock);
  if (rc < 0 && d.taken == 0)
    return rc;
  if (d.taken == 0 && d.fault)
    return -LINUX_EFAULT;
  if (d.taken == 0 && d.full)
    return -LINUX_EINVAL; /* not even one entry fits */
  return (long)d.used;
}
