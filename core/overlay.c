/* overlay: a writable file system made of an in-memory upper layer (memfs)
 * over a read-only lower directory of any file system (tarfs, hostfs ...).
 *
 * Reads go to the upper object if there is one, else to the lower one.
 * The first change to a lower object copies it up (its parent directories
 * first). A delete of something that exists below leaves a whiteout in the
 * upper directory (a character device 0:0, as Linux's overlayfs does) so
 * the lower entry stays hidden.
 *
 * Overlay inodes are cached in their parent directory's child list. An
 * inode that has an upper part is pinned there for as long as it has that
 * name, and every change to the upper layer goes through the overlay, so
 * for such inodes the cache is authoritative: a directory that was
 * replaced (rmdir + mkdir) has no lower part any more (what other overlays
 * call "opaque"), and a renamed directory keeps its lower part wherever it
 * moves (a "redirect"). An inode with only a lower part carries no state
 * of its own, so it is not pinned: it goes away with its last user, which
 * releases the lower inode (and a host handle behind it) too; looking it up
 * again gives the same answer. Inode numbers are therefore computed, not
 * counted: the lower object's number, or for upper-only objects the upper
 * number in a range of its own.
 *
 * A merged listing is the lower directory's listing (minus whiteouts and
 * with upper replacements), with the lower's own cookies, followed by the
 * upper-only entries with the upper's cookies moved into a range of their
 * own. Both kinds of cookie stay valid while entries are deleted, so a
 * listing interleaved with deletes (rm -r) neither skips nor repeats.
 */
#include "vfs_impl.h"

/* Upper-only objects are numbered from here (the upper's own number
 * added), so they never meet the lower's numbers. */
#define UPPER_INO_BASE (1ull << 62)
/* Merged listings: cookies below this are the lower's, from here on the
 * upper's (plus this). */
#define UPPER_COOKIE_BASE (1ull << 61)

struct ovl_child {
  struct ovl_child *next;
  struct inode *inode; /* a reference when pinned, else a weak pointer */
  bool pinned;
  char name[];
};

struct ovl_node {
  struct inode *upper;  /* a reference, or NULL until copied up */
  struct inode *lower;  /* a reference, or NULL (upper only) */
  struct inode *parent; /* the overlay directory holding it (a reference) */
  char *name;           /* its name there */
  struct ovl_child *children; /* directories: the cache */
};

/* vfs_shared()->cache_lock guards every child list: lookups run under the
 * vfs lock, but the last reference to an unpinned inode may go anywhere. */

static const struct inode_ops ovl_iops;
static const struct file_ops ovl_file_ops;

static struct ovl_node *node(struct inode *inode) {
  return inode->private;
}

/* The lower file's host handle while nothing is copied up (a copy up
 * replaces the data; a mapping made before keeps the old bytes, as a
 * private mapping of a file that was replaced). */
static int ovl_host_handle(struct inode *inode) {
  struct ovl_node *n = node(inode);
  if (!n || n->upper || !n->lower || !n->lower->iops ||
      !n->lower->iops->host_handle)
    return -LINUX_ENODEV;
  return n->lower->iops->host_handle(n->lower);
}

bool overlay_data_readonly(const struct inode *inode) {
  if (inode->iops != &ovl_iops)
    return false;
  const struct ovl_node *n = inode->private;
  return n && !n->upper && n->lower && vfs_is_rdonly(n->lower);
}

static struct inode *real(struct inode *inode) {
  struct ovl_node *n = node(inode);
  return n->upper ? n->upper : n->lower;
}

static bool is_dir(const struct inode *inode) {
  return LINUX_S_ISTYPE(inode->mode, LINUX_S_IFDIR);
}

static bool is_whiteout(const struct inode *inode) {
  return LINUX_S_ISTYPE(inode->mode, LINUX_S_IFCHR) && inode->rdev == 0;
}

static uint64_t ino_of(struct inode *upper, struct inode *lower) {
  return lower ? lower->ino : UPPER_INO_BASE + upper->ino;
}

/* Mirror the real inode's attributes (not ino or dev: those are ours). */
static void sync_attrs(struct inode *inode) {
  struct inode *r = real(inode);
  if (!r)
    return;
  inode->mode = r->mode;
  inode->uid = r->uid;
  inode->gid = r->gid;
  inode->size = r->size;
  inode->blocks = r->blocks;
  inode->rdev = r->rdev;
  inode->atime = r->atime;
  inode->mtime = r->mtime;
  inode->ctime = r->ctime;
  inode->btime = r->sb && (r->sb->flags & VFS_SB_BTIME)
                     ? r->btime
                     : (struct linux_timespec){0, 0};
  /* The upper layer counts its links itself; a lower-only inode that was
   * deleted stays at 0 (its lower object still has its links). */
  if (r == node(inode)->upper || inode->nlink)
    inode->nlink = r->nlink;
  /* A merged directory shows the lower one's size and link count: the
   * upper copy holds only what changed. */
  struct inode *lower = node(inode)->lower;
  if (lower && r != lower && LINUX_S_ISTYPE(r->mode, LINUX_S_IFDIR)) {
    inode->size = lower->size;
    inode->blocks = lower->blocks;
    if (inode->nlink)
      inode->nlink = MAX(lower->nlink, r->nlink);
  }
}

static int refresh(struct inode *r) {
  if (r && r->iops && r->iops->getattr)
    return r->iops->getattr(r);
  return 0;
}

/* A new overlay inode for the pair (references taken here). */
static struct inode *ovl_new(struct superblock *sb, struct inode *upper,
                             struct inode *lower, struct inode *parent,
                             const char *name) {
  struct inode *r = upper ? upper : lower;
  /* sync_attrs below takes the real inode's times. */
  struct inode *inode = vfs_inode_alloc_untimed(sb, r->mode, &ovl_iops, NULL);
  if (!inode)
    return NULL;
  struct ovl_node *n = kzalloc(sizeof(*n));
  char *copy = name ? rt_strdup(name) : NULL;
  if (!n || (name && !copy)) {
    kfree(n);
    kfree(copy);
    kfree(inode);
    return NULL;
  }
  inode->ino = ino_of(upper, lower);
  n->upper = vfs_inode_get(upper);
  n->lower = vfs_inode_get(lower);
  n->parent = vfs_inode_get(parent);
  n->name = copy;
  inode->private = n;
  if (LINUX_S_ISTYPE(r->mode, LINUX_S_IFREG))
    inode->fops = &ovl_file_ops;
  inode->nlink = 1;
  sync_attrs(inode);
  return inode;
}

/* Its data lives in the upper memfs: the in-memory budget is its size.
 * (A local function: taking the address of another file's would need the
 * GOT, outside the freestanding contract.) */
static int ovl_statfs(struct superblock *sb, struct linux_statfs *out) {
  return memfs_pool_statfs(sb, out);
}

struct superblock *overlay_create(struct inode *lower_root) {
  if (!lower_root || !is_dir(lower_root))
    return NULL;
  struct superblock *upper = memfs_create();
  if (!upper)
    return NULL;
  /* Birth times and chattr flags are the real inode's: the upper
   * layer's (memfs), none for a lower-only file of a host directory. */
  struct superblock *sb =
      vfs_sb_alloc("overlay", VFS_OVERLAY_MAGIC, VFS_SB_BTIME);
  if (!sb)
    return NULL;
  sb->statx_attributes = upper->statx_attributes;
  refresh(lower_root);
  /* The upper root takes the lower root's ownership and mode. */
  struct inode *ur = upper->root;
  ur->mode = lower_root->mode;
  ur->uid = lower_root->uid;
  ur->gid = lower_root->gid;
  ur->atime = lower_root->atime;
  ur->mtime = lower_root->mtime;
  ur->ctime = lower_root->ctime;
  sb->root = ovl_new(sb, ur, lower_root, NULL, NULL);
  if (!sb->root)
    return NULL;
  sb->private = upper;
  sb->statfs = ovl_statfs;
  return sb;
}

/* ---------------------------------------------------------------------
 * The child cache
 * ------------------------------------------------------------------- */

/* Unhook and free the entry after prev (or the head); caller holds
 * the cache lock. Returns the pinned reference it held, or NULL. */
static struct inode *unhook(struct ovl_node *d, struct ovl_child *prev,
                            struct ovl_child *c) {
  if (prev)
    prev->next = c->next;
  else
    d->children = c->next;
  struct inode *ref = c->pinned ? c->inode : NULL;
  kfree(c);
  return ref;
}

/* The cached inode for name (a new reference), or NULL. */
static struct inode *cache_get(struct inode *dir, const char *name) {
  struct ovl_node *d = node(dir);
  struct inode *found = NULL;
  rt_lock(&vfs_shared()->cache_lock);
  struct ovl_child *prev = NULL;
  for (struct ovl_child *c = d->children; c; prev = c, c = c->next) {
    if (rt_strcmp(c->name, name))
      continue;
    if (vfs_inode_tryget(c->inode))
      found = c->inode;
    else
      unhook(d, prev, c); /* dying, never pinned: no reference to drop */
    break;
  }
  rt_unlock(&vfs_shared()->cache_lock);
  return found;
}

static int cache_add(struct inode *dir, const char *name, struct inode *child,
                     bool pin) {
  size_t len = rt_strlen(name);
  struct ovl_child *c = kmalloc(sizeof(*c) + len + 1);
  if (!c)
    return -LINUX_ENOMEM;
  memcpy(c->name, name, len + 1);
  c->inode = pin ? vfs_inode_get(child) : child;
  c->pinned = pin;
  rt_lock(&vfs_shared()->cache_lock);
  c->next = node(dir)->children;
  node(dir)->children = c;
  rt_unlock(&vfs_shared()->cache_lock);
  return 0;
}

/* Remove name from dir's cache. */
static void cache_remove(struct inode *dir, const char *name) {
  struct ovl_node *d = node(dir);
  struct inode *ref = NULL;
  rt_lock(&vfs_shared()->cache_lock);
  struct ovl_child *prev = NULL;
  for (struct ovl_child *c = d->children; c; prev = c, c = c->next) {
    if (!rt_strcmp(c->name, name)) {
      ref = unhook(d, prev, c);
      break;
    }
  }
  rt_unlock(&vfs_shared()->cache_lock);
  vfs_inode_put(ref);
}

/* Pin child's entry in dir (it just got an upper part). */
static void cache_pin(struct inode *dir, struct inode *child) {
  rt_lock(&vfs_shared()->cache_lock);
  for (struct ovl_child *c = node(dir)->children; c; c = c->next) {
    if (c->inode == child && !c->pinned) {
      c->pinned = true;
      vfs_inode_get(child);
    }
  }
  rt_unlock(&vfs_shared()->cache_lock);
}

/* Give child a new parent and name (after a rename). */
static void set_place(struct inode *child, struct inode *dir,
                      const char *name) {
  struct ovl_node *n = node(child);
  char *copy = rt_strdup(name);
  if (copy) {
    kfree(n->name);
    n->name = copy;
  }
  if (n->parent != dir) {
    struct inode *old = n->parent;
    n->parent = vfs_inode_get(dir);
    vfs_inode_put(old);
  }
}

/* ---------------------------------------------------------------------
 * Lookup
 * ------------------------------------------------------------------- */

static int layer_lookup(struct inode *dir, const char *name,
                        struct inode **out) {
  *out = NULL;
  if (!dir || !dir->iops || !dir->iops->lookup)
    return -LINUX_ENOENT;
  int rc = dir->iops->lookup(dir, name, out);
  if (rc == 0 && !*out)
    rc = -LINUX_ENOENT;
  return rc;
}

static int ovl_lookup(struct inode *dir, const char *name, struct inode **out) {
  struct ovl_node *d = node(dir);
  struct inode *cached = cache_get(dir, name);
  if (cached) {
    *out = cached;
    return 0;
  }
  struct inode *upper = NULL, *lower = NULL;
  int rc = 0;
  if (d->upper) {
    rc = layer_lookup(d->upper, name, &upper);
    if (rc < 0 && rc != -LINUX_ENOENT)
      goto out;
    if (upper && is_whiteout(upper)) {
      rc = -LINUX_ENOENT;
      goto out;
    }
  }
  /* An upper object here would have been found pinned in the cache;
   * finding one uncached means the upper directory was filled before the
   * overlay saw it (the root): it merges like any other. */
  if (d->lower && (!upper || is_dir(upper))) {
    rc = layer_lookup(d->lower, name, &lower);
    if (rc < 0 && rc != -LINUX_ENOENT)
      goto out;
    /* Below an upper directory only a directory merges. */
    if (upper && lower && !is_dir(lower)) {
      vfs_inode_put(lower);
      lower = NULL;
    }
  }
  if (!upper && !lower) {
    rc = -LINUX_ENOENT;
    goto out;
  }
  struct inode *inode = ovl_new(dir->sb, upper, lower, dir, name);
  if (!inode) {
    rc = -LINUX_ENOMEM;
    goto out;
  }
  rc = cache_add(dir, name, inode, upper != NULL);
  if (rc < 0) {
    vfs_inode_put(inode);
    goto out;
  }
  *out = inode;
  rc = 0;
out:
  vfs_inode_put(upper);
  vfs_inode_put(lower);
  return rc;
}

/* ---------------------------------------------------------------------
 * Copy-up
 * ------------------------------------------------------------------- */

#define COPY_CHUNK 65536

static int copy_data(struct inode *from, struct inode *to, uint64_t limit) {
  if (!from->iops || !from->iops->read || !to->iops || !to->iops->write)
    return -LINUX_EIO;
  uint64_t size = MIN(from->size, limit);
  if (size == 0)
    return 0;
  char *buf = kmalloc(COPY_CHUNK);
  if (!buf)
    return -LINUX_ENOMEM;
  int rc = 0;
  uint64_t off = 0;
  while (off < size) {
    size_t want = (size_t)MIN((uint64_t)COPY_CHUNK, size - off);
    long n = from->iops->read(from, buf, want, off);
    if (n < 0) {
      rc = (int)n;
      break;
    }
    if (n == 0)
      break; /* the lower file got shorter: copy what is there */
    if ((size_t)n > want)
      n = (long)want;
    long w = to->iops->write(to, buf, (size_t)n, off);
    if (w < 0) {
      rc = (int)w;
      break;
    }
    if (w != n) {
      rc = -LINUX_EIO;
      break;
    }
    off += (uint64_t)n;
  }
  kfree(buf);
  return rc;
}

/* A copied-up object keeps the lower one's extended attributes (a lower
 * file system that keeps none has nothing to copy). */
static int copy_xattrs(struct inode *from, struct inode *to) {
  if (!from->iops || !from->iops->listxattr || !from->iops->getxattr)
    return 0;
  long len = from->iops->listxattr(from, NULL, 0, true);
  if (len <= 0)
    return (int)len;
  if (!to->iops || !to->iops->setxattr)
    return -LINUX_EOPNOTSUPP;
  char *names = kmalloc((size_t)len);
  char *value = kmalloc(VFS_XATTR_SIZE_MAX);
  int rc = names && value ? 0 : -LINUX_ENOMEM;
  if (rc == 0) {
    long got = from->iops->listxattr(from, names, (size_t)len, true);
    rc = got < 0 ? (int)got : 0;
    for (long at = 0; rc == 0 && at < got;
         at += (long)rt_strnlen(names + at, (size_t)(got - at)) + 1) {
      if (rt_strnlen(names + at, (size_t)(got - at)) == (size_t)(got - at))
        break; /* not terminated: a lower fs we cannot trust with more */
      long vlen =
          from->iops->getxattr(from, names + at, value, VFS_XATTR_SIZE_MAX);
      if (vlen == -LINUX_ENODATA)
        continue;
      if (vlen < 0 || vlen > VFS_XATTR_SIZE_MAX)
        rc = vlen < 0 ? (int)vlen : -LINUX_EIO;
      else
        rc = to->iops->setxattr(to, names + at, value, (size_t)vlen, 0);
    }
  }
  kfree(names);
  kfree(value);
  return rc;
}

static int upper_create(struct inode *udir, const char *name, uint32_t mode,
                        uint32_t uid, uint32_t gid, uint64_t rdev,
                        const char *target, struct inode **out) {
  if (!udir->iops || !udir->iops->create)
    return -LINUX_EROFS;
  struct vfs_create args = {mode, uid, gid, rdev, target};
  return udir->iops->create(udir, name, &args, out);
}

/* Make sure inode has an upper copy; a regular file takes at most
 * data_limit bytes of its data along (0 when about to be truncated). */
static int copy_up_limited(struct inode *inode, uint64_t data_limit) {
  struct ovl_node *n = node(inode);
  if (n->upper)
    return 0;
  if (!n->parent || !n->name || inode->nlink == 0)
    return -LINUX_ESTALE; /* removed and nameless: nowhere to copy to */
  int rc = copy_up_limited(n->parent, 0);
  if (rc < 0)
    return rc;
  struct inode *udir = node(n->parent)->upper;
  struct inode *lower = n->lower;
  rc = refresh(lower);
  if (rc < 0)
    return rc;
  char *target = NULL;
  uint32_t type = lower->mode & LINUX_S_IFMT;
  if (type == LINUX_S_IFLNK) {
    target = kmalloc(LINUX_PATH_MAX);
    if (!target)
      return -LINUX_ENOMEM;
    long len = lower->iops && lower->iops->readlink
                   ? lower->iops->readlink(lower, target, LINUX_PATH_MAX - 1)
                   : -LINUX_EINVAL;
    if (len <= 0 || len >= LINUX_PATH_MAX) {
      kfree(target);
      return len < 0 ? (int)len : -LINUX_EIO;
    }
    target[len] = 0;
  }
  struct inode *upper = NULL;
  rc = upper_create(udir, n->name, lower->mode, lower->uid, lower->gid,
                    lower->rdev, target, &upper);
  kfree(target);
  if (rc < 0)
    return rc;
  if (type == LINUX_S_IFREG)
    rc = copy_data(lower, upper, data_limit);
  if (rc == 0)
    rc = copy_xattrs(lower, upper);
  if (rc < 0) {
    udir->iops->unlink(udir, n->name, type == LINUX_S_IFDIR);
    vfs_inode_put(upper);
    return rc;
  }
  /* Keep the lower object's times (mode/owner came with create). */
  upper->atime = lower->atime;
  upper->mtime = lower->mtime;
  upper->ctime = lower->ctime;
  n->upper = upper;
  cache_pin(n->parent, inode); /* it has state now: keep it */
  return 0;
}

static int copy_up(struct inode *inode) {
  return copy_up_limited(inode, UINT64_MAX);
}

/* ---------------------------------------------------------------------
 * Namespace operations
 * ------------------------------------------------------------------- */

/* Remove a whiteout at name in the upper directory, if there is one.
 * Returns 1 when one was removed. */
static int clear_whiteout(struct inode *udir, const char *name) {
  struct inode *u = NULL;
  int rc = layer_lookup(udir, name, &u);
  if (rc == -LINUX_ENOENT)
    return 0;
  if (rc < 0)
    return rc;
  bool wh = is_whiteout(u);
  vfs_inode_put(u);
  if (!wh)
    return -LINUX_EEXIST;
  rc = udir->iops->unlink(udir, name, false);
  return rc < 0 ? rc : 1;
}

static int make_whiteout(struct inode *udir, const char *name) {
  struct inode *wh = NULL;
  int rc = upper_create(udir, name, LINUX_S_IFCHR, 0, 0, 0, NULL, &wh);
  vfs_inode_put(wh);
  return rc;
}

static int ovl_create(struct inode *dir, const char *name,
                      const struct vfs_create *args, struct inode **out) {
  int rc = copy_up(dir);
  if (rc < 0)
    return rc;
  struct inode *udir = node(dir)->upper;
  rc = clear_whiteout(udir, name);
  if (rc < 0)
    return rc;
  bool had_whiteout = rc == 1;
  struct inode *upper = NULL;
  rc = upper_create(udir, name, args->mode, args->uid, args->gid, args->rdev,
                    args->target, &upper);
  if (rc < 0) {
    if (had_whiteout)
      make_whiteout(udir, name);
    return rc;
  }
  /* A new object has no lower part, whatever the lower layer holds. */
  struct inode *inode = ovl_new(dir->sb, upper, NULL, dir, name);
  vfs_inode_put(upper);
  if (!inode)
    return -LINUX_ENOMEM;
  rc = cache_add(dir, name, inode, true);
  if (rc < 0) {
    vfs_inode_put(inode);
    return rc;
  }
  sync_attrs(dir);
  *out = inode;
  return 0;
}

static int ovl_link(struct inode *dir, const char *name, struct inode *target) {
  int rc = copy_up(target);
  if (rc == 0)
    rc = copy_up(dir);
  if (rc < 0)
    return rc;
  struct inode *udir = node(dir)->upper;
  rc = clear_whiteout(udir, name);
  if (rc < 0)
    return rc;
  if (!udir->iops->link)
    return -LINUX_EPERM;
  rc = udir->iops->link(udir, name, node(target)->upper);
  if (rc < 0)
    return rc;
  rc = cache_add(dir, name, target, true);
  sync_attrs(target);
  sync_attrs(dir);
  return rc;
}

/* ---------------------------------------------------------------------
 * Merged listings
 * ------------------------------------------------------------------- */

struct merge {
  struct inode *dir;
  vfs_emit_fn emit;
  void *ctx;
  bool full;
};

/* The entry name of dir as the overlay shows it: its inode number and
 * type, or false when it is hidden (a whiteout). */
static bool shown_as(struct inode *dir, const char *name, uint64_t *ino,
                     unsigned *dtype) {
  struct inode *inode = NULL;
  if (ovl_lookup(dir, name, &inode) < 0)
    return false;
  *ino = inode->ino;
  *dtype = vfs_dtype(inode->mode);
  vfs_inode_put(inode);
  return true;
}

static int merge_lower(void *ctx, const char *name, size_t len, uint64_t ino,
                       unsigned dtype, uint64_t next_pos) {
  struct merge *m = ctx;
  if (len == 0 || len > LINUX_NAME_MAX || rt_strnlen(name, len) != len)
    return 0;
  if (next_pos >= UPPER_COOKIE_BASE)
    return -LINUX_EOVERFLOW; /* a lower fs with cookies we cannot nest */
  char buf[LINUX_NAME_MAX + 1];
  memcpy(buf, name, len);
  buf[len] = 0;
  struct inode *udir = node(m->dir)->upper;
  if (udir) {
    /* Deleted (whiteout) or replaced by an upper object: ask the overlay
     * itself, which knows both. */
    struct inode *u = NULL;
    if (layer_lookup(udir, buf, &u) == 0) {
      vfs_inode_put(u);
      if (!shown_as(m->dir, buf, &ino, &dtype))
        return 0;
    }
  }
  int rc = m->emit(m->ctx, buf, len, ino, dtype, next_pos);
  if (rc > 0)
    m->full = true;
  return rc;
}

static int merge_upper(void *ctx, const char *name, size_t len, uint64_t ino,
                       unsigned dtype, uint64_t next_pos) {
  struct merge *m = ctx;
  if (len == 0 || len > LINUX_NAME_MAX || rt_strnlen(name, len) != len)
    return 0;
  char buf[LINUX_NAME_MAX + 1];
  memcpy(buf, name, len);
  buf[len] = 0;
  struct inode *lower_dir = node(m->dir)->lower;
  if (lower_dir) {
    /* Names the lower also has were listed with the lower's entries. */
    struct inode *l = NULL;
    if (layer_lookup(lower_dir, buf, &l) == 0) {
      vfs_inode_put(l);
      return 0;
    }
  }
  if (!shown_as(m->dir, buf, &ino, &dtype))
    return 0; /* a whiteout over nothing below */
  int rc = m->emit(m->ctx, buf, len, ino, dtype, next_pos + UPPER_COOKIE_BASE);
  if (rc > 0)
    m->full = true;
  return rc;
}

static int ovl_readdir(struct inode *dir, uint64_t *pos, vfs_emit_fn emit,
                       void *ctx) {
  struct ovl_node *d = node(dir);
  struct merge m = {dir, emit, ctx, false};
  int rc;
  if (*pos < UPPER_COOKIE_BASE) {
    struct inode *lower = d->lower;
    if (lower && lower->iops && lower->iops->readdir) {
      rc = lower->iops->readdir(lower, pos, merge_lower, &m);
      if (rc < 0 || m.full)
        return rc;
    }
    *pos = UPPER_COOKIE_BASE + 2;
  }
  struct inode *upper = d->upper;
  if (!upper || !upper->iops || !upper->iops->readdir)
    return 0;
  uint64_t upos = *pos - UPPER_COOKIE_BASE;
  rc = upper->iops->readdir(upper, &upos, merge_upper, &m);
  if (upos >= 2)
    *pos = upos + UPPER_COOKIE_BASE;
  return rc;
}

static int first_entry(void *ctx, const char *name, size_t len, uint64_t ino,
                       unsigned dtype, uint64_t next_pos) {
  *(bool *)ctx = true;
  return 1;
}

/* Is the merged directory empty? */
static int merged_empty(struct inode *dir) {
  bool any = false;
  uint64_t pos = 2;
  int rc = ovl_readdir(dir, &pos, first_entry, &any);
  if (rc < 0)
    return rc;
  return any ? -LINUX_ENOTEMPTY : 0;
}

struct names {
  char **v;
  size_t n, cap;
};

static int names_emit(void *ctx, const char *name, size_t len, uint64_t ino,
                      unsigned dtype, uint64_t next_pos) {
  struct names *s = ctx;
  if (len == 0 || len > LINUX_NAME_MAX || rt_strnlen(name, len) != len)
    return 0;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    char **v = krealloc(s->v, cap * sizeof(*v));
    if (!v)
      return -LINUX_ENOMEM;
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n] = rt_strndup(name, len);
  if (!s->v[s->n])
    return -LINUX_ENOMEM;
  s->n++;
  return 0;
}

/* Remove the whiteouts an emptied upper directory may hold. */
static int clear_upper_dir(struct inode *udir) {
  struct names names = {NULL, 0, 0};
  int rc = 0;
  if (udir->iops && udir->iops->readdir) {
    uint64_t pos = 2;
    rc = udir->iops->readdir(udir, &pos, names_emit, &names);
  }
  for (size_t i = 0; rc == 0 && i < names.n; i++)
    rc = udir->iops->unlink(udir, names.v[i], false);
  for (size_t i = 0; i < names.n; i++)
    kfree(names.v[i]);
  kfree(names.v);
  return rc;
}

/* ---------------------------------------------------------------------
 * Removing and renaming
 * ------------------------------------------------------------------- */

/* Does dir's lower part hold name (so removing it needs a whiteout)? */
static bool lower_has(struct inode *dir, const char *name) {
  struct inode *l = NULL;
  if (layer_lookup(node(dir)->lower, name, &l) < 0)
    return false;
  vfs_inode_put(l);
  return true;
}

static int ovl_unlink(struct inode *dir, const char *name, bool want_dir) {
  struct inode *child = NULL;
  int rc = ovl_lookup(dir, name, &child);
  if (rc < 0)
    return rc;
  struct ovl_node *c = node(child);
  if (want_dir) {
    rc = merged_empty(child);
    if (rc < 0)
      goto out;
  }
  rc = copy_up(dir);
  if (rc < 0)
    goto out;
  struct inode *udir = node(dir)->upper;
  if (c->upper) {
    if (want_dir) {
      rc = clear_upper_dir(c->upper);
      if (rc < 0)
        goto out;
    }
    rc = udir->iops->unlink(udir, name, want_dir);
    if (rc < 0)
      goto out;
  }
  if (lower_has(dir, name)) {
    rc = make_whiteout(udir, name);
    if (rc < 0)
      goto out;
  }
  cache_remove(dir, name);
  if (want_dir || !c->upper)
    child->nlink = 0;
  else
    sync_attrs(child);
  child->ctime = vfs_now();
  sync_attrs(dir);
out:
  vfs_inode_put(child);
  return rc;
}

static int ovl_rename(struct inode *olddir, const char *oldname,
                      struct inode *newdir, const char *newname,
                      unsigned flags) {
  struct inode *old = NULL, *new = NULL;
  bool exchange = flags & LINUX_RENAME_EXCHANGE;
  int rc = ovl_lookup(olddir, oldname, &old);
  if (rc < 0)
    return rc;
  rc = ovl_lookup(newdir, newname, &new);
  if (rc == -LINUX_ENOENT)
    rc = 0;
  if (rc < 0)
    goto out;
  /* A directory with a lower part moves as a whole: its node keeps
   * pointing at the lower directory at the old place (the cache remembers
   * the redirect), and a whiteout hides the old name. */
  if (new && !exchange && is_dir(new)) {
    rc = merged_empty(new);
    if (rc < 0)
      goto out;
  }
  rc = copy_up(old);
  if (rc == 0 && exchange)
    rc = copy_up(new);
  if (rc == 0)
    rc = copy_up(olddir);
  if (rc == 0)
    rc = copy_up(newdir);
  if (rc < 0)
    goto out;
  struct inode *uold = node(olddir)->upper, *unew = node(newdir)->upper;
  if (!exchange) {
    if (new &&node(new)->upper && is_dir(new)) {
      rc = clear_upper_dir(node(new)->upper);
      if (rc < 0)
        goto out;
    }
    if (!new || !node(new)->upper) {
      /* Nothing real above: a whiteout may sit there, or nothing. */
      rc = clear_whiteout(unew, newname);
      if (rc < 0)
        goto out;
    }
  }
  rc = uold->iops->rename(uold, oldname, unew, newname,
                          flags & LINUX_RENAME_EXCHANGE);
  if (rc < 0)
    goto out;
  /* Whatever was below the old name must stay hidden. */
  if (!exchange && lower_has(olddir, oldname)) {
    rc = make_whiteout(uold, oldname);
    if (rc < 0)
      goto out;
  }
  cache_remove(olddir, oldname);
  cache_remove(newdir, newname);
  cache_add(newdir, newname, old, true);
  set_place(old, newdir, newname);
  if (exchange) {
    cache_add(olddir, oldname, new, true);
    set_place(new, olddir, oldname);
  } else if (new) {
    if (is_dir(new) || !node(new)->upper)
      new->nlink = 0;
    else
      sync_attrs(new);
  }
  sync_attrs(old);
  if (new)
    sync_attrs(new);
  sync_attrs(olddir);
  sync_attrs(newdir);
out:
  vfs_inode_put(old);
  vfs_inode_put(new);
  return rc;
}

static long ovl_readlink(struct inode *inode, char *buf, size_t len) {
  struct inode *r = real(inode);
  if (!r->iops || !r->iops->readlink)
    return -LINUX_EINVAL;
  return r->iops->readlink(r, buf, len);
}

static int ovl_setattr(struct inode *inode, const struct vfs_attr *attr) {
  uint64_t keep = UINT64_MAX;
  if (attr->valid & VFS_ATTR_SIZE)
    keep = attr->size;
  int rc = copy_up_limited(inode, keep);
  if (rc < 0)
    return rc;
  struct inode *u = node(inode)->upper;
  if (u->iops && u->iops->setattr)
    rc = u->iops->setattr(u, attr);
  else
    vfs_attr_copy(u, attr);
  sync_attrs(inode);
  return rc;
}

static int ovl_getattr(struct inode *inode) {
  int rc = refresh(real(inode));
  if (rc < 0)
    return rc;
  sync_attrs(inode);
  return 0;
}

static long ovl_read(struct inode *inode, void *buf, size_t len, uint64_t off) {
  struct inode *r = real(inode);
  if (!r->iops || !r->iops->read)
    return -LINUX_EINVAL;
  long n = r->iops->read(r, buf, len, off);
  return n;
}

static long ovl_write(struct inode *inode, const void *buf, size_t len,
                      uint64_t off) {
  struct inode *u = node(inode)->upper;
  if (!u || !u->iops || !u->iops->write)
    return -LINUX_EROFS; /* open for writing copies up; this is a bug path */
  long n = u->iops->write(u, buf, len, off);
  sync_attrs(inode);
  return n;
}

/* fallocate: the upper file's (open for writing copied it up). */
static int ovl_allocate(struct inode *inode, uint64_t off, uint64_t len) {
  struct inode *u = node(inode)->upper;
  if (!u || !u->iops || !u->iops->allocate)
    return 0; /* nothing to reserve */
  int rc = u->iops->allocate(u, off, len);
  sync_attrs(inode);
  return rc;
}

static int ovl_punch(struct inode *inode, uint64_t off, uint64_t len) {
  struct inode *u = node(inode)->upper;
  if (!u || !u->iops || !u->iops->punch)
    return -LINUX_EOPNOTSUPP;
  int rc = u->iops->punch(u, off, len);
  sync_attrs(inode);
  return rc;
}

static int ovl_fsync(struct inode *inode) {
  struct inode *u = node(inode)->upper;
  if (u && u->iops && u->iops->fsync)
    return u->iops->fsync(u);
  return 0;
}

/* Extended attributes: the real object's. A lower layer without any
 * (a host directory) answers as a file system that keeps them but has
 * none here; a change copies up first, as other writes do. */
static long ovl_getxattr(struct inode *inode, const char *name, void *buf,
                         size_t len) {
  struct inode *r = real(inode);
  if (!r->iops || !r->iops->getxattr)
    return -LINUX_ENODATA;
  return r->iops->getxattr(r, name, buf, len);
}

static long ovl_listxattr(struct inode *inode, char *buf, size_t len,
                          bool trusted) {
  struct inode *r = real(inode);
  if (!r->iops || !r->iops->listxattr)
    return 0;
  return r->iops->listxattr(r, buf, len, trusted);
}

static int ovl_setxattr(struct inode *inode, const char *name,
                        const void *value, size_t len, unsigned flags) {
  struct ovl_node *n = node(inode);
  int rc;
  if (!n->upper) {
    /* Removing what the lower object lacks changes nothing: no copy. */
    if (!value || (flags & VFS_XATTR_REPLACE)) {
      long got = ovl_getxattr(inode, name, NULL, 0);
      if (got < 0)
        return (int)got;
    }
    rc = copy_up(inode);
    if (rc < 0)
      return rc;
  }
  struct inode *u = n->upper;
  if (!u->iops || !u->iops->setxattr)
    return -LINUX_EOPNOTSUPP;
  rc = u->iops->setxattr(u, name, value, len, flags);
  sync_attrs(inode);
  return rc;
}

static void ovl_evict(struct inode *inode) {
  struct ovl_node *n = node(inode);
  if (!n)
    return;
  /* An unpinned inode may still have its (weak) entry in the parent. */
  if (n->parent) {
    struct ovl_node *d = node(n->parent);
    rt_lock(&vfs_shared()->cache_lock);
    struct ovl_child *prev = NULL;
    for (struct ovl_child *c = d->children; c; prev = c, c = c->next) {
      if (c->inode == inode) {
        unhook(d, prev, c); /* never pinned: we are at zero */
        break;
      }
    }
    rt_unlock(&vfs_shared()->cache_lock);
  }
  struct ovl_child *c = n->children;
  while (c) {
    struct ovl_child *next = c->next;
    if (c->pinned)
      vfs_inode_put(c->inode);
    kfree(c);
    c = next;
  }
  vfs_inode_put(n->upper);
  vfs_inode_put(n->lower);
  vfs_inode_put(n->parent);
  kfree(n->name);
  kfree(n);
  inode->private = NULL;
}

static const struct inode_ops ovl_iops = {
    .host_handle = ovl_host_handle,
    .lookup = ovl_lookup,
    .create = ovl_create,
    .link = ovl_link,
    .unlink = ovl_unlink,
    .rename = ovl_rename,
    .readdir = ovl_readdir,
    .readlink = ovl_readlink,
    .setattr = ovl_setattr,
    .getattr = ovl_getattr,
    .read = ovl_read,
    .write = ovl_write,
    .allocate = ovl_allocate,
    .punch = ovl_punch,
    .fsync = ovl_fsync,
    .getxattr = ovl_getxattr,
    .setxattr = ovl_setxattr,
    .listxattr = ovl_listxattr,
    .evict = ovl_evict,
};

/* Opening a regular file for writing copies it up first. vfs_open calls
 * this with the vfs lock held. */
static int ovl_open(struct inode *inode, struct file *f) {
  if (file_writable(f))
    return copy_up(inode);
  return 0;
}

static const struct file_ops ovl_file_ops = {
    .open = ovl_open,
    .read = vfs_generic_read,
    .write = vfs_generic_write,
};
