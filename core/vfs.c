/* The vfs core: inode and superblock life cycle, mounts, permissions and
 * path resolution. Resolution is the sandbox's wall: every path, symlink
 * target and ".." goes through walk() below, which never leaves the
 * process root and counts every symlink it follows.
 * The namespace-changing operations are in core/vfs_ops.c. */
#include "moat/moat.h"
#include "vfs_impl.h"

static struct vfs_shared *g_vfs;

struct vfs_shared *vfs_shared(void) {
  if (unlikely(!g_vfs)) {
    g_vfs = kzalloc(sizeof(*g_vfs));
    if (!g_vfs)
      rt_panic("no memory for the vfs");
    g_vfs->next_anon_dev = 1;
  }
  return g_vfs;
}

void vfs_lock(void) {
  rt_lock(&vfs_shared()->lock);
}

void vfs_unlock(void) {
  rt_unlock(&vfs_shared()->lock);
}

int vfs_init(void) {
  vfs_shared();
  return 0;
}

/* ---------------------------------------------------------------------
 * Credentials and the process context
 * ------------------------------------------------------------------- */

void vfs_cred(uint32_t *euid, uint32_t *egid) {
  if (!proc_current_fs()) {
    *euid = 0;
    *egid = 0;
    return;
  }
  proc_current_cred(euid, egid);
}

uint32_t vfs_umask(void) {
  struct fs_context *fs = proc_current_fs();
  return fs ? fs->umask : 022;
}

struct fs_context *fs_context_create(struct inode *root, struct inode *cwd) {
  struct fs_context *fs = kzalloc(sizeof(*fs));
  if (!fs)
    return NULL;
  fs->refcount = 1;
  fs->root = vfs_inode_get(root);
  fs->cwd = vfs_inode_get(cwd);
  fs->umask = 022;
  return fs;
}

struct fs_context *fs_context_clone(struct fs_context *fs) {
  rt_lock(&fs->lock);
  struct fs_context *n = fs_context_create(fs->root, fs->cwd);
  if (n)
    n->umask = fs->umask;
  rt_unlock(&fs->lock);
  return n;
}

struct fs_context *fs_context_get(struct fs_context *fs) {
  if (fs)
    __atomic_add_fetch(&fs->refcount, 1, __ATOMIC_RELAXED);
  return fs;
}

void fs_context_put(struct fs_context *fs) {
  if (!fs || __atomic_sub_fetch(&fs->refcount, 1, __ATOMIC_ACQ_REL))
    return;
  vfs_inode_put(fs->root);
  vfs_inode_put(fs->cwd);
  kfree(fs);
}

/* The root and cwd to resolve from, as new references. */
static void context_dirs(struct inode **root, struct inode **cwd) {
  struct fs_context *fs = proc_current_fs();
  if (!fs) {
    *root = vfs_inode_get(g_vfs->root);
    *cwd = vfs_inode_get(g_vfs->root);
    return;
  }
  rt_lock(&fs->lock);
  *root = vfs_inode_get(fs->root);
  *cwd = vfs_inode_get(fs->cwd);
  rt_unlock(&fs->lock);
}

/* Make dir the caller's working directory (root false) or root. */
static int set_fs_dir(struct inode *dir, bool root) {
  if (!LINUX_S_ISTYPE(dir->mode, LINUX_S_IFDIR))
    return -LINUX_ENOTDIR;
  int rc = vfs_permission(dir, LINUX_X_OK);
  if (rc < 0)
    return rc;
  if (root && !moat_capable(LINUX_CAP_SYS_CHROOT))
    return -LINUX_EPERM;
  struct fs_context *fs = proc_current_fs();
  if (!fs)
    return -LINUX_ESRCH;
  vfs_inode_get(dir);
  rt_lock(&fs->lock);
  struct inode **slot = root ? &fs->root : &fs->cwd;
  struct inode *old = *slot;
  *slot = dir;
  rt_unlock(&fs->lock);
  vfs_inode_put(old);
  return 0;
}

int vfs_chdir(struct inode *dir) {
  return set_fs_dir(dir, false);
}

/* The caller's root becomes dir: every later absolute path and ".." stop
 * there, as Linux's chroot (the working directory may stay outside). */
int vfs_chroot(struct inode *dir) {
  return set_fs_dir(dir, true);
}

/* ---------------------------------------------------------------------
 * Superblocks and inodes
 * ------------------------------------------------------------------- */

/* While the sandbox's boot builds its file systems (one thread, before
 * any fork), every inode it makes gets the one time read when the build
 * began: a hundred clock reads fewer at every start (procfs, devfs, the
 * root's directories), and those objects were all made "at boot". */
static bool g_now_frozen;
static struct linux_timespec g_now_frozen_at;

struct linux_timespec vfs_now(void) {
  if (g_now_frozen)
    return g_now_frozen_at;
  int64_t ns = rt_realtime_ns();
  struct linux_timespec ts = {ns / 1000000000, ns % 1000000000};
  return ts;
}

void vfs_now_freeze(bool on) {
  g_now_frozen = false;
  if (on)
    g_now_frozen_at = vfs_now();
  g_now_frozen = on;
}

void vfs_touch_mtime(struct inode *inode) {
  inode->mtime = inode->ctime = vfs_now();
}

unsigned vfs_dtype(uint32_t mode) {
  return (mode & LINUX_S_IFMT) >> 12;
}

struct superblock *vfs_sb_alloc(const char *fs_name, uint64_t magic,
                                unsigned flags) {
  struct superblock *sb = kzalloc(sizeof(*sb));
  if (!sb)
    return NULL;
  sb->fs_name = fs_name;
  sb->magic = magic;
  sb->flags = flags;
  sb->next_ino = 1;
  uint32_t minor =
      __atomic_fetch_add(&vfs_shared()->next_anon_dev, 1, __ATOMIC_RELAXED);
  sb->dev = VFS_MKDEV(0, 32 + minor);
  return sb;
}

struct inode *vfs_inode_alloc_untimed(struct superblock *sb, uint32_t mode,
                                      const struct inode_ops *iops,
                                      const struct file_ops *fops) {
  struct inode *inode = kzalloc(sizeof(*inode));
  if (!inode)
    return NULL;
  inode->ino = __atomic_fetch_add(&sb->next_ino, 1, __ATOMIC_RELAXED);
  inode->mode = mode;
  inode->nlink = LINUX_S_ISTYPE(mode, LINUX_S_IFDIR) ? 2 : 1;
  inode->refcount = 1;
  inode->sb = sb;
  inode->iops = iops;
  inode->fops = fops;
  return inode;
}

struct inode *vfs_inode_alloc(struct superblock *sb, uint32_t mode,
                              const struct inode_ops *iops,
                              const struct file_ops *fops) {
  struct inode *inode = vfs_inode_alloc_untimed(sb, mode, iops, fops);
  if (inode)
    inode->atime = inode->mtime = inode->ctime = inode->btime = vfs_now();
  return inode;
}

struct superblock *vfs_sb_create_with_root(const char *fs_name, uint64_t magic,
                                           unsigned flags, uint32_t root_mode,
                                           const struct inode_ops *iops) {
  struct superblock *sb = vfs_sb_alloc(fs_name, magic, flags);
  if (!sb)
    return NULL;
  sb->root =
      vfs_inode_alloc(sb, LINUX_S_IFDIR | (root_mode & 07777), iops, NULL);
  if (!sb->root) {
    kfree(sb);
    return NULL;
  }
  return sb;
}

struct inode *vfs_inode_get(struct inode *inode) {
  if (inode)
    __atomic_add_fetch(&inode->refcount, 1, __ATOMIC_RELAXED);
  return inode;
}

bool vfs_inode_tryget(struct inode *inode) {
  uint32_t c = __atomic_load_n(&inode->refcount, __ATOMIC_ACQUIRE);
  while (c) {
    if (__atomic_compare_exchange_n(&inode->refcount, &c, c + 1, true,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return true;
  }
  return false;
}

void vfs_inode_put(struct inode *inode) {
  /* A loop, not recursion: dropping a directory drops its parent. */
  while (inode) {
    uint32_t left = __atomic_sub_fetch(&inode->refcount, 1, __ATOMIC_ACQ_REL);
    if (left == 0xffffffffu)
      rt_panic("inode %llu released too often", (unsigned long long)inode->ino);
    if (left)
      return;
    struct inode *parent = inode->parent;
    if (inode->iops && inode->iops->evict)
      inode->iops->evict(inode);
    if (inode->fifo)
      pipe_fifo_release(inode->fifo);
    kfree(inode->name);
    kfree(inode);
    inode = parent;
  }
}

bool vfs_same_inode(const struct inode *a, const struct inode *b) {
  return a == b || (a && b && a->sb == b->sb && a->ino == b->ino);
}

bool vfs_is_rdonly(const struct inode *inode) {
  return inode->sb && (inode->sb->flags & VFS_SB_RDONLY);
}

void vfs_attr_copy(struct inode *inode, const struct vfs_attr *attr) {
  if (attr->valid & VFS_ATTR_MODE)
    inode->mode = (inode->mode & LINUX_S_IFMT) | (attr->mode & 07777);
  if (attr->valid & VFS_ATTR_UID)
    inode->uid = attr->uid;
  if (attr->valid & VFS_ATTR_GID)
    inode->gid = attr->gid;
  if (attr->valid & VFS_ATTR_ATIME)
    inode->atime = attr->atime;
  if (attr->valid & VFS_ATTR_MTIME)
    inode->mtime = attr->mtime;
  inode->ctime = (attr->valid & VFS_ATTR_CTIME) ? attr->ctime : vfs_now();
}

static uint64_t blocks_of(const struct inode *inode) {
  if (inode->blocks)
    return inode->blocks;
  if (!LINUX_S_ISTYPE(inode->mode, LINUX_S_IFREG) &&
      !LINUX_S_ISTYPE(inode->mode, LINUX_S_IFDIR))
    return 0;
  return ALIGN_UP(inode->size, 4096ull) / 512;
}

int vfs_getattr(struct inode *inode, struct linux_stat *st) {
  if (inode->iops && inode->iops->getattr) {
    int rc = inode->iops->getattr(inode);
    if (rc < 0)
      return rc;
  }
  memset(st, 0, sizeof(*st));
  st->st_dev = inode->sb ? inode->sb->dev : 0;
  st->st_ino = inode->ino;
  st->st_nlink = inode->nlink;
  st->st_mode = inode->mode;
  st->st_uid = inode->uid;
  st->st_gid = inode->gid;
  st->st_rdev = inode->rdev;
  st->st_size = (int64_t)inode->size;
  st->st_blksize = 4096;
  st->st_blocks = (int64_t)blocks_of(inode);
  st->st_atim = inode->atime;
  st->st_mtim = inode->mtime;
  st->st_ctim = inode->ctime;
  return 0;
}

static struct linux_statx_timestamp statx_time(struct linux_timespec ts) {
  struct linux_statx_timestamp t = {ts.tv_sec, (uint32_t)ts.tv_nsec, 0};
  return t;
}

int vfs_getattr_statx(struct inode *inode, unsigned mask,
                      struct linux_statx *stx) {
  struct linux_stat st;
  int rc = vfs_getattr(inode, &st);
  if (rc < 0)
    return rc;
  memset(stx, 0, sizeof(*stx));
  stx->stx_mask = LINUX_STATX_BASIC_STATS;
  /* As Linux's vfs_statx: the mount id always (the unique one when
   * asked: ours never repeat, shown above 2^31 as Linux's are), whether
   * this is a mount's root, and the attributes the fs supports. */
  int mnt_id = vfs_mount_id(inode->sb);
  if (mask & LINUX_STATX_MNT_ID_UNIQUE) {
    stx->stx_mask |= LINUX_STATX_MNT_ID_UNIQUE;
    stx->stx_mnt_id = (1ull << 31) + (uint64_t)mnt_id;
  } else {
    stx->stx_mask |= LINUX_STATX_MNT_ID;
    stx->stx_mnt_id = (uint64_t)mnt_id;
  }
  stx->stx_attributes_mask = LINUX_STATX_ATTR_AUTOMOUNT |
                             LINUX_STATX_ATTR_MOUNT_ROOT | LINUX_STATX_ATTR_DAX;
  if (inode->sb)
    stx->stx_attributes_mask |= inode->sb->statx_attributes;
  if (vfs_is_mount_boundary(inode))
    stx->stx_attributes |= LINUX_STATX_ATTR_MOUNT_ROOT;
  /* A birth time, asked for and known (tmpfs answers it only when
   * asked). */
  if ((mask & LINUX_STATX_BTIME) && inode->sb &&
      (inode->sb->flags & VFS_SB_BTIME) &&
      (inode->btime.tv_sec || inode->btime.tv_nsec)) {
    stx->stx_mask |= LINUX_STATX_BTIME;
    stx->stx_btime = statx_time(inode->btime);
  }
  stx->stx_blksize = 4096;
  stx->stx_nlink = (uint32_t)st.st_nlink;
  stx->stx_uid = st.st_uid;
  stx->stx_gid = st.st_gid;
  stx->stx_mode = (uint16_t)st.st_mode;
  stx->stx_ino = st.st_ino;
  stx->stx_size = (uint64_t)st.st_size;
  stx->stx_blocks = (uint64_t)st.st_blocks;
  stx->stx_atime = statx_time(st.st_atim);
  stx->stx_mtime = statx_time(st.st_mtim);
  stx->stx_ctime = statx_time(st.st_ctim);
  stx->stx_rdev_major = VFS_MAJOR(st.st_rdev);
  stx->stx_rdev_minor = VFS_MINOR(st.st_rdev);
  stx->stx_dev_major = VFS_MAJOR(st.st_dev);
  stx->stx_dev_minor = VFS_MINOR(st.st_dev);
  return 0;
}

int vfs_register_chrdev(uint64_t rdev, const struct file_ops *ops) {
  int rc = 0;
  vfs_lock();
  for (int i = 0; i < g_vfs->nchrdevs; i++) {
    if (g_vfs->chrdevs[i].rdev == rdev) {
      g_vfs->chrdevs[i].ops = ops;
      goto out;
    }
  }
  if (g_vfs->nchrdevs == VFS_MAX_CHRDEV) {
    rc = -LINUX_ENOSPC;
    goto out;
  }
  g_vfs->chrdevs[g_vfs->nchrdevs].rdev = rdev;
  g_vfs->chrdevs[g_vfs->nchrdevs].ops = ops;
  g_vfs->nchrdevs++;
out:
  vfs_unlock();
  return rc;
}

const struct file_ops *vfs_chrdev_ops(uint64_t rdev) {
  vfs_shared();
  for (int i = 0; i < g_vfs->nchrdevs; i++) {
    if (g_vfs->chrdevs[i].rdev == rdev)
      return g_vfs->chrdevs[i].ops;
  }
  return NULL;
}

/* ---------------------------------------------------------------------
 * Permissions
 * ------------------------------------------------------------------- */

int vfs_permission(struct inode *inode, int mask) {
  uint32_t euid, egid;
  vfs_cred(&euid, &egid);
  mask &= 7;
  uint32_t bits;
  if (inode->uid == euid)
    bits = inode->mode >> 6;
  else if (inode->gid == egid || proc_in_group(inode->gid))
    bits = inode->mode >> 3;
  else
    bits = inode->mode;
  if (((uint32_t)mask & bits & 7) == (uint32_t)mask)
    return 0;
  /* Linux's generic_permission: CAP_DAC_OVERRIDE grants everything on a
   * directory, and reading, writing and (with any execute bit set)
   * executing a file; CAP_DAC_READ_SEARCH reading a file and reading and
   * searching a directory. */
  bool dir = LINUX_S_ISTYPE(inode->mode, LINUX_S_IFDIR);
  if (moat_capable(LINUX_CAP_DAC_OVERRIDE) &&
      (dir || !(mask & LINUX_X_OK) || (inode->mode & 0111)))
    return 0;
  if (moat_capable(LINUX_CAP_DAC_READ_SEARCH) &&
      (dir ? !(mask & LINUX_W_OK) : mask == LINUX_R_OK))
    return 0;
  return -LINUX_EACCES;
}

/* ---------------------------------------------------------------------
 * Mounts
 * ------------------------------------------------------------------- */

/* The newest mount whose mount point is inode. */
static struct mount *mount_on(const struct inode *inode) {
  if (!inode->sb || !inode->sb->mounts_inside)
    return NULL;
  for (struct mount *m = g_vfs->mounts; m; m = m->next) {
    if (vfs_same_inode(m->mountpoint, inode))
      return m;
  }
  return NULL;
}

/* The mount whose root is inode. */
static struct mount *mount_rooted_at(const struct inode *inode) {
  if (!inode->sb || !vfs_same_inode(inode, inode->sb->root))
    return NULL;
  for (struct mount *m = g_vfs->mounts; m; m = m->next) {
    if (vfs_same_inode(m->root, inode))
      return m;
  }
  return NULL;
}

/* Step from a mount point onto what is mounted there (stacked mounts
 * included). Consumes the reference to inode, returns one. */
static struct inode *cross_mounts(struct inode *inode) {
  for (int guard = 0; guard < 64; guard++) {
    struct mount *m = mount_on(inode);
    if (!m)
      break;
    struct inode *next = vfs_inode_get(m->root);
    vfs_inode_put(inode);
    inode = next;
  }
  return inode;
}

int vfs_mount_id(const struct superblock *sb) {
  /* Ids count from 2 for the oldest mount (mountinfo's order); the list
   * is newest first and only grows. */
  int count = 0, found = -1;
  for (const struct mount *m = g_vfs->mounts; m; m = m->next, count++)
    if (m->sb == sb)
      found = count; /* the oldest mount of sb wins */
  return found < 0 ? 1 : count - found + 1;
}

bool vfs_is_mount_boundary(const struct inode *inode) {
  return mount_on(inode) || mount_rooted_at(inode) ||
         vfs_same_inode(inode, g_vfs->root);
}

void vfs_set_root(struct inode *root) {
  vfs_lock();
  struct inode *old = g_vfs->root;
  g_vfs->root = vfs_inode_get(root);
  vfs_unlock();
  vfs_inode_put(old);
}

struct inode *vfs_root(void) {
  vfs_lock();
  struct inode *r = vfs_inode_get(g_vfs->root);
  vfs_unlock();
  return r;
}

/* ---------------------------------------------------------------------
 * Path resolution
 * ------------------------------------------------------------------- */

struct walk {
  struct inode *root;      /* the process root: ".." never goes above it */
  struct inode *cur;       /* where we are */
  int links;               /* symlinks followed so far */
  unsigned flags;          /* VFS_NO_PERM, VFS_BENEATH ... */
  struct inode *anchor;    /* VFS_BENEATH: the walk stays below it */
  struct superblock *home; /* VFS_NO_XDEV: the file system it stays on */
  /* parent mode: the last component, not looked up */
  char last[LINUX_NAME_MAX + 1];
  size_t last_len;
  bool trailing_slash;
  /* The directory (a reference) and name through which the walk last
   * reached a non-directory by name, and that inode (no reference): the
   * name an opened file keeps for /proc/PID/fd/N. */
  struct inode *leaf_dir;
  const struct inode *leaf;
  char leaf_name[LINUX_NAME_MAX + 1];
};

static void walk_set(struct walk *w, struct inode *inode) {
  struct inode *old = w->cur;
  w->cur = inode; /* takes the caller's reference */
  vfs_inode_put(old);
}

static void walk_up(struct walk *w) {
  for (int guard = 0; guard < 64; guard++) {
    if (vfs_same_inode(w->cur, w->root))
      return;
    struct mount *m = mount_rooted_at(w->cur);
    if (!m)
      break;
    walk_set(w, vfs_inode_get(m->mountpoint));
  }
  if (vfs_same_inode(w->cur, w->root))
    return;
  if (w->cur->parent)
    walk_set(w, vfs_inode_get(w->cur->parent));
}

/* Remember the parent and name of a directory we reached by name. */
static void note_parent(struct inode *dir, struct inode *child,
                        const char *name) {
  if (!LINUX_S_ISTYPE(child->mode, LINUX_S_IFDIR) || child == dir)
    return;
  /* /proc/PID/fd/N stands for a directory opened elsewhere: not its name. */
  if (dir->iops && dir->iops->magic_entries)
    return;
  /* A file system root has no parent of its own ("..": the mount point's
   * side). A host that shows it again further down (a bind mount) must
   * not turn it into somebody's child. */
  if (child->sb && vfs_same_inode(child, child->sb->root))
    return;
  if (child->parent == dir && child->name && !rt_strcmp(child->name, name))
    return;
  char *copy = rt_strdup(name);
  if (!copy)
    return; /* ".." and getcwd degrade; resolution stays correct */
  kfree(child->name);
  child->name = copy;
  if (child->parent != dir) {
    struct inode *old = child->parent;
    child->parent = vfs_inode_get(dir);
    vfs_inode_put(old);
  }
}

/* Look name up in dir; a new reference in *out, mount points crossed. */
static int lookup_child(struct inode *dir, const char *name,
                        struct inode **out) {
  if (!dir->iops || !dir->iops->lookup)
    return -LINUX_ENOENT;
  struct inode *child = NULL;
  int rc = dir->iops->lookup(dir, name, &child);
  if (rc < 0)
    return rc;
  if (!child)
    return -LINUX_ENOENT;
  note_parent(dir, child, name);
  *out = cross_mounts(child);
  return 0;
}

/* Look up without crossing mounts (for rename/unlink of the name itself). */
static int lookup_here(struct inode *dir, const char *name,
                       struct inode **out) {
  if (!dir->iops || !dir->iops->lookup)
    return -LINUX_ENOENT;
  struct inode *child = NULL;
  int rc = dir->iops->lookup(dir, name, &child);
  if (rc < 0)
    return rc;
  if (!child)
    return -LINUX_ENOENT;
  note_parent(dir, child, name);
  *out = child;
  return 0;
}

/* Read a symlink's target into a fresh PATH_MAX buffer. */
static int read_link(struct inode *link, char **out) {
  if (!link->iops || !link->iops->readlink)
    return -LINUX_EINVAL;
  char *buf = kmalloc(LINUX_PATH_MAX);
  if (!buf)
    return -LINUX_ENOMEM;
  long n = link->iops->readlink(link, buf, LINUX_PATH_MAX - 1);
  if (n < 0) {
    kfree(buf);
    return (int)n;
  }
  if (n >= LINUX_PATH_MAX) {
    kfree(buf);
    return -LINUX_ENAMETOOLONG;
  }
  if (n == 0) {
    kfree(buf);
    return -LINUX_ENOENT;
  }
  buf[n] = 0;
  if (rt_strlen(buf) != (size_t)n) { /* an embedded NUL: treat as broken */
    kfree(buf);
    return -LINUX_ENOENT;
  }
  *out = buf;
  return 0;
}

static int walk_path(struct walk *w, const char *path, bool want_parent,
                     bool follow_last);

/* Follow the symlink link (w->cur is the directory holding it). On success
 * w->cur is what the link resolves to, fully. */
static int walk_link(struct walk *w, struct inode *link) {
  if (++w->links > LINUX_SYMLOOP_MAX)
    return -LINUX_ELOOP;
  char *target = NULL;
  int rc = read_link(link, &target);
  if (rc < 0)
    return rc;
  rc = walk_path(w, target, false, true);
  kfree(target);
  return rc;
}

/* Resolve path from w->cur. want_parent: stop before the last component and
 * store it in w->last (length 0 when the path has none, as "/"). */
static int walk_path(struct walk *w, const char *path, bool want_parent,
                     bool follow_last) {
  const char *p = path;
  if (*p == '/') {
    if (w->flags & VFS_BENEATH)
      return -LINUX_EXDEV;
    walk_set(w, vfs_inode_get(w->root));
    if ((w->flags & VFS_NO_XDEV) && w->cur->sb != w->home)
      return -LINUX_EXDEV;
    while (*p == '/')
      p++;
  }
  if (want_parent) {
    w->last_len = 0;
    w->last[0] = 0;
    w->trailing_slash = false;
  }
  while (*p) {
    const char *comp = p;
    size_t len = 0;
    while (comp[len] && comp[len] != '/')
      len++;
    p = comp + len;
    bool slash_after = *p == '/';
    while (*p == '/')
      p++;
    bool is_last = *p == 0;
    if (len > LINUX_NAME_MAX)
      return -LINUX_ENAMETOOLONG;
    if (!LINUX_S_ISTYPE(w->cur->mode, LINUX_S_IFDIR))
      return -LINUX_ENOTDIR;
    if (!(w->flags & VFS_NO_PERM)) {
      int rc = vfs_permission(w->cur, LINUX_X_OK);
      if (rc < 0)
        return rc;
    }
    if (is_last && want_parent) {
      memcpy(w->last, comp, len);
      w->last[len] = 0;
      w->last_len = len;
      w->trailing_slash = slash_after;
      return 0;
    }
    if (len == 1 && comp[0] == '.')
      continue;
    if (len == 2 && comp[0] == '.' && comp[1] == '.') {
      if ((w->flags & VFS_BENEATH) && vfs_same_inode(w->cur, w->anchor))
        return -LINUX_EXDEV;
      walk_up(w);
      if ((w->flags & VFS_NO_XDEV) && w->cur->sb != w->home)
        return -LINUX_EXDEV;
      continue;
    }
    char name[LINUX_NAME_MAX + 1];
    memcpy(name, comp, len);
    name[len] = 0;
    struct inode *child = NULL;
    bool follow = !is_last || follow_last || slash_after;
    int rc = !follow && w->cur->iops && w->cur->iops->link_entry
                 ? w->cur->iops->link_entry(w->cur, name, &child)
                 : lookup_child(w->cur, name, &child);
    if (rc < 0)
      return rc;
    if (w->flags & VFS_RESOLVE_MASK) {
      bool link = LINUX_S_ISTYPE(child->mode, LINUX_S_IFLNK);
      bool magic = (link && child->iops && child->iops->magic_link) ||
                   (w->cur->iops && w->cur->iops->magic_entries);
      rc = 0;
      if ((w->flags & VFS_NO_XDEV) && child->sb != w->home)
        rc = -LINUX_EXDEV;
      else if (follow && link && (w->flags & VFS_NO_SYMLINKS))
        rc = -LINUX_ELOOP;
      else if (follow && magic && (w->flags & VFS_NO_MAGICLINKS))
        rc = -LINUX_ELOOP;
      else if (magic && follow && (w->flags & (VFS_BENEATH | VFS_IN_ROOT)))
        rc = -LINUX_EXDEV; /* Linux: a magic link may jump anywhere */
      if (rc < 0) {
        vfs_inode_put(child);
        return rc;
      }
    }
    if (LINUX_S_ISTYPE(child->mode, LINUX_S_IFLNK) && follow) {
      rc = walk_link(w, child);
      vfs_inode_put(child);
      if (rc < 0)
        return rc;
    } else {
      if (!LINUX_S_ISTYPE(child->mode, LINUX_S_IFDIR) &&
          !(w->cur->iops && w->cur->iops->magic_entries)) {
        vfs_inode_put(w->leaf_dir);
        w->leaf_dir = vfs_inode_get(w->cur);
        w->leaf = child;
        memcpy(w->leaf_name, name, len + 1);
      }
      walk_set(w, child);
    }
    if (slash_after && !LINUX_S_ISTYPE(w->cur->mode, LINUX_S_IFDIR))
      return -LINUX_ENOTDIR;
  }
  return 0;
}

static int walk_start(struct walk *w, struct inode *base, const char *path,
                      unsigned flags) {
  memset(w, 0, sizeof(*w));
  w->flags = flags;
  struct inode *cwd;
  context_dirs(&w->root, &cwd);
  if (!w->root) {
    vfs_inode_put(cwd);
    return -LINUX_ENOENT;
  }
  bool anchored = flags & (VFS_BENEATH | VFS_IN_ROOT);
  if (base && (path[0] != '/' || anchored)) {
    vfs_inode_put(cwd);
    w->cur = vfs_inode_get(base);
  } else {
    w->cur = cwd;
  }
  if (flags & VFS_IN_ROOT) { /* ".." and "/" stop at the start */
    vfs_inode_put(w->root);
    w->root = vfs_inode_get(w->cur);
  }
  if (flags & VFS_BENEATH)
    w->anchor = vfs_inode_get(w->cur);
  w->home = w->cur->sb;
  size_t len = rt_strnlen(path, LINUX_PATH_MAX);
  if (len >= LINUX_PATH_MAX)
    return -LINUX_ENAMETOOLONG;
  if (len == 0 && !(flags & VFS_EMPTY_PATH))
    return -LINUX_ENOENT;
  return 0;
}

static void walk_end(struct walk *w) {
  vfs_inode_put(w->cur);
  vfs_inode_put(w->root);
  vfs_inode_put(w->anchor);
  vfs_inode_put(w->leaf_dir);
  w->cur = w->root = w->anchor = w->leaf_dir = NULL;
}

/* Resolve a whole path with the lock held; with dir, also the directory
 * and name through which a non-directory result was reached (*dir NULL
 * when there is none: a directory, a magic link's target). */
static int resolve_locked(struct inode *base, const char *path, unsigned flags,
                          struct inode **out, struct inode **dir, char *name) {
  struct walk w;
  int rc = walk_start(&w, base, path, flags);
  if (rc < 0)
    goto out;
  rc = walk_path(&w, path, false, flags & VFS_FOLLOW);
  if (rc < 0)
    goto out;
  if ((flags & VFS_DIRECTORY) && !LINUX_S_ISTYPE(w.cur->mode, LINUX_S_IFDIR)) {
    rc = -LINUX_ENOTDIR;
    goto out;
  }
  if (dir && w.leaf_dir && w.leaf == w.cur) {
    *dir = w.leaf_dir;
    w.leaf_dir = NULL;
    rt_strlcpy(name, w.leaf_name, LINUX_NAME_MAX + 1);
  } else if (dir) {
    *dir = NULL;
  }
  *out = w.cur;
  w.cur = NULL;
out:
  walk_end(&w);
  return rc;
}

int vfs_resolve(struct inode *base, const char *path, unsigned flags,
                struct inode **out) {
  vfs_lock();
  int rc = resolve_locked(base, path, flags, out, NULL, NULL);
  vfs_unlock();
  return rc;
}

/* ---------------------------------------------------------------------
 * getcwd
 * ------------------------------------------------------------------- */

long vfs_path_of(struct inode *inode, char *buf, size_t len) {
  vfs_lock();
  long rc = vfs_path_of_locked(inode, buf, len);
  vfs_unlock();
  return rc;
}

long vfs_path_of_locked(struct inode *inode, char *buf, size_t len) {
  if (len == 0)
    return -LINUX_ERANGE;
  struct inode *root, *cwd;
  long rc;
  context_dirs(&root, &cwd);
  vfs_inode_put(cwd);
  /* Build the path backwards at the end of a scratch buffer. */
  char *tmp = kmalloc(LINUX_PATH_MAX);
  if (!tmp) {
    rc = -LINUX_ENOMEM;
    goto out;
  }
  size_t pos = LINUX_PATH_MAX - 1;
  tmp[pos] = 0;
  bool unreachable = false;
  struct inode *cur = inode;
  if (LINUX_S_ISTYPE(cur->mode, LINUX_S_IFDIR) && cur->nlink == 0) {
    rc = -LINUX_ENOENT;
    goto out;
  }
  for (int depth = 0; depth < LINUX_PATH_MAX; depth++) {
    if (vfs_same_inode(cur, root))
      break;
    struct mount *m = mount_rooted_at(cur);
    if (m) {
      cur = m->mountpoint;
      continue;
    }
    if (!cur->parent || !cur->name) {
      unreachable = true; /* not below our root: Linux's "(unreachable)" */
      break;
    }
    size_t n = rt_strlen(cur->name);
    if (pos < n + 1) {
      rc = -LINUX_ENAMETOOLONG;
      goto out;
    }
    pos -= n;
    memcpy(tmp + pos, cur->name, n);
    tmp[--pos] = '/';
    cur = cur->parent;
  }
  if (unreachable) {
    static const char prefix[] = "(unreachable)";
    size_t n = sizeof(prefix) - 1;
    if (pos < n) {
      rc = -LINUX_ENAMETOOLONG;
      goto out;
    }
    pos -= n;
    memcpy(tmp + pos, prefix, n);
  } else if (tmp[pos] == 0) {
    tmp[--pos] = '/'; /* the root itself */
  }
  size_t n = LINUX_PATH_MAX - 1 - pos;
  if (n + 1 > len) {
    rc = -LINUX_ERANGE;
    goto out;
  }
  memcpy(buf, tmp + pos, n + 1);
  rc = (long)n;
out:
  kfree(tmp);
  vfs_inode_put(root);
  return rc;
}

/* ---------------------------------------------------------------------
 * Building the tree at boot
 * ------------------------------------------------------------------- */

/* Create directory name in dir unless it exists; a new reference. */
static int mkdir_one(struct inode *dir, const char *name, uint32_t mode,
                     struct inode **out) {
  int rc = lookup_child(dir, name, out);
  if (rc != -LINUX_ENOENT)
    return rc;
  if (vfs_is_rdonly(dir))
    return -LINUX_EROFS;
  if (!dir->iops || !dir->iops->create)
    return -LINUX_EPERM;
  struct vfs_create args = {LINUX_S_IFDIR | (mode & 07777), 0, 0, 0, NULL};
  struct inode *child = NULL;
  rc = dir->iops->create(dir, name, &args, &child);
  if (rc < 0)
    return rc;
  note_parent(dir, child, name);
  *out = child;
  return 0;
}

/* mkdir -p with the lock held: each prefix of path is resolved like any
 * path (symlinks followed, confined to the root) and created if missing. */
static int mkdir_p_locked(const char *path, uint32_t mode, struct inode **out) {
  size_t len = rt_strnlen(path, LINUX_PATH_MAX);
  if (path[0] != '/' || len >= LINUX_PATH_MAX)
    return -LINUX_EINVAL;
  char *buf = kmalloc(LINUX_PATH_MAX);
  if (!buf)
    return -LINUX_ENOMEM;
  memcpy(buf, path, len + 1);
  struct inode *cur = NULL;
  int rc = 0;
  size_t end = 0;
  for (;;) {
    while (end < len && buf[end] == '/')
      end++;
    while (end < len && buf[end] != '/')
      end++;
    char saved = buf[end];
    buf[end] = 0;
    vfs_inode_put(cur);
    cur = NULL;
    rc = resolve_locked(NULL, buf, VFS_FOLLOW | VFS_NO_PERM, &cur, NULL, NULL);
    if (rc == -LINUX_ENOENT) {
      struct inode *dir = NULL;
      char last[LINUX_NAME_MAX + 1];
      bool trailing;
      rc = vfs_walk_parent(NULL, buf, VFS_NO_PERM, &dir, last, &trailing);
      if (rc == 0 &&
          (!last[0] || !rt_strcmp(last, ".") || !rt_strcmp(last, "..")))
        rc = -LINUX_EINVAL;
      if (rc == 0)
        rc = mkdir_one(dir, last, mode, &cur);
      vfs_inode_put(dir);
    }
    buf[end] = saved;
    if (rc < 0)
      goto out;
    if (!LINUX_S_ISTYPE(cur->mode, LINUX_S_IFDIR)) {
      rc = -LINUX_ENOTDIR;
      goto out;
    }
    while (end < len && buf[end] == '/')
      end++;
    if (end >= len)
      break;
  }
  *out = cur;
  cur = NULL;
out:
  vfs_inode_put(cur);
  kfree(buf);
  return rc;
}

int vfs_mkdir_p(const char *path, uint32_t mode) {
  struct inode *dir = NULL;
  vfs_lock();
  int rc = mkdir_p_locked(path, mode, &dir);
  vfs_unlock();
  vfs_inode_put(dir);
  return rc;
}

int vfs_symlink_path(const char *path, const char *target) {
  size_t tlen = rt_strnlen(target, LINUX_PATH_MAX);
  size_t plen = rt_strnlen(path, LINUX_PATH_MAX);
  if (tlen == 0 || tlen >= LINUX_PATH_MAX || path[0] != '/' ||
      plen >= LINUX_PATH_MAX)
    return -LINUX_EINVAL;
  char last[LINUX_NAME_MAX + 1];
  bool trailing;
  struct inode *dir = NULL;
  int rc;
  vfs_lock();
  /* The parent directories first: cut the path at its last slash. */
  char *parent = rt_strndup(path, plen);
  if (!parent) {
    rc = -LINUX_ENOMEM;
    goto out;
  }
  char *slash = rt_strrchr(parent, '/');
  if (slash && slash != parent) {
    *slash = 0;
    rc = mkdir_p_locked(parent, 0755, &dir);
    vfs_inode_put(dir);
    dir = NULL;
  } else {
    rc = 0;
  }
  kfree(parent);
  if (rc < 0)
    goto out;
  rc = vfs_walk_parent(NULL, path, VFS_NO_PERM, &dir, last, &trailing);
  if (rc < 0)
    goto out;
  if (!last[0] || !rt_strcmp(last, ".") || !rt_strcmp(last, "..")) {
    rc = -LINUX_EEXIST;
    goto out;
  }
  struct inode *existing = NULL;
  rc = lookup_here(dir, last, &existing);
  if (rc == 0) {
    vfs_inode_put(existing);
    rc = -LINUX_EEXIST;
    goto out;
  }
  if (rc != -LINUX_ENOENT)
    goto out;
  if (vfs_is_rdonly(dir)) {
    rc = -LINUX_EROFS;
    goto out;
  }
  if (!dir->iops || !dir->iops->create) {
    rc = -LINUX_EPERM;
    goto out;
  }
  struct vfs_create args = {LINUX_S_IFLNK | 0777, 0, 0, 0, target};
  struct inode *link = NULL;
  rc = dir->iops->create(dir, last, &args, &link);
  vfs_inode_put(link);
out:
  vfs_unlock();
  vfs_inode_put(dir);
  return rc;
}

int vfs_mount(const char *path, struct superblock *sb) {
  if (!sb || !sb->root)
    return -LINUX_EINVAL;
  struct inode *point = NULL;
  struct mount *m = NULL;
  int rc;
  vfs_lock();
  rc = mkdir_p_locked(path, 0755, &point);
  if (rc < 0)
    goto out;
  if (vfs_same_inode(point, g_vfs->root)) {
    rc = -LINUX_EBUSY; /* replace the root with vfs_set_root instead */
    goto out;
  }
  m = kzalloc(sizeof(*m));
  if (!m) {
    rc = -LINUX_ENOMEM;
    goto out;
  }
  m->path = rt_strdup(path);
  m->mountpoint = point;
  point = NULL;
  m->root = vfs_inode_get(sb->root);
  m->sb = sb;
  m->mountpoint->sb->mounts_inside++;
  m->next = g_vfs->mounts;
  g_vfs->mounts = m;
out:
  vfs_unlock();
  vfs_inode_put(point);
  return rc;
}

/* The mount list, for /proc/mounts (lock-free read of an append-only list). */
const struct mount *vfs_mounts(void) {
  return vfs_shared()->mounts;
}

/* ---------------------------------------------------------------------
 * Shared by vfs_ops.c
 * ------------------------------------------------------------------- */
int vfs_walk_parent(struct inode *base, const char *path, unsigned flags,
                    struct inode **dir, char *last, bool *trailing_slash) {
  struct walk w;
  int rc = walk_start(&w, base, path, flags);
  if (rc < 0)
    goto out;
  rc = walk_path(&w, path, true, false);
  if (rc < 0)
    goto out;
  if (w.last_len == 0 && !LINUX_S_ISTYPE(w.cur->mode, LINUX_S_IFDIR)) {
    rc = -LINUX_ENOTDIR;
    goto out;
  }
  memcpy(last, w.last, w.last_len + 1);
  *trailing_slash = w.trailing_slash;
  *dir = w.cur;
  w.cur = NULL;
out:
  walk_end(&w);
  return rc;
}

/* Continue an O_CREAT open through a symlink in the last component:
 * resolve the link's target as a parent + last name, counting links. */
int vfs_walk_link_parent(struct inode *dir, struct inode *link, int *links,
                         struct inode **out_dir, char *last,
                         bool *trailing_slash) {
  if (++*links > LINUX_SYMLOOP_MAX)
    return -LINUX_ELOOP;
  char *target = NULL;
  int rc = read_link(link, &target);
  if (rc < 0)
    return rc;
  struct walk w;
  memset(&w, 0, sizeof(w));
  struct inode *cwd;
  context_dirs(&w.root, &cwd);
  vfs_inode_put(cwd);
  w.cur = vfs_inode_get(dir);
  w.links = *links;
  rc = walk_path(&w, target, true, false);
  *links = w.links;
  if (rc < 0)
    goto out;
  memcpy(last, w.last, w.last_len + 1);
  *trailing_slash = w.trailing_slash;
  *out_dir = w.cur;
  w.cur = NULL;
out:
  kfree(target);
  walk_end(&w);
  return rc;
}

int vfs_lookup_child(struct inode *dir, const char *name, struct inode **out) {
  return lookup_child(dir, name, out);
}

int vfs_lookup_here(struct inode *dir, const char *name, struct inode **out) {
  return lookup_here(dir, name, out);
}

void vfs_note_parent(struct inode *dir, struct inode *child, const char *name) {
  note_parent(dir, child, name);
}

int vfs_resolve_locked(struct inode *base, const char *path, unsigned flags,
                       struct inode **out) {
  return resolve_locked(base, path, flags, out, NULL, NULL);
}

int vfs_resolve_named_locked(struct inode *base, const char *path,
                             unsigned flags, struct inode **out,
                             struct inode **dir, char *name) {
  return resolve_locked(base, path, flags, out, dir, name);
}

/* ".." of an open directory for getdents: its parent's ino. */
uint64_t vfs_parent_ino(struct inode *dir) {
  struct inode *root, *cwd;
  context_dirs(&root, &cwd);
  vfs_inode_put(cwd);
  struct inode *cur = dir;
  uint64_t ino = dir->ino;
  for (int guard = 0; guard < 64; guard++) {
    if (vfs_same_inode(cur, root))
      break;
    struct mount *m = mount_rooted_at(cur);
    if (m) {
      cur = m->mountpoint;
      continue;
    }
    if (cur->parent)
      ino = cur->parent->ino;
    else
      ino = cur->ino;
    break;
  }
  if (vfs_same_inode(cur, root))
    ino = cur->ino;
  vfs_inode_put(root);
  return ino;
}
