/* overlay: a writable file system made of an in-memory upper layer (memfs)
 * over a read-only lower directory of any file system (tarfs, hostfs ...).
 *
 * Reads go to the upper object if there is one, else to the lower one.
 * The first change to a lower object copies it up (its parent directories
 * first). A delete of something that exists below leaves a whiteout in the
 * upper directory (a character device 0:0, as Linux's overlayfs does) so
 * the lower entry stays hidden.
 *
 * Every overlay inode is cached in its parent directory's child list for
 * as long as it has that name, and every change to the upper layer goes
 * through the overlay, so the cache is authoritative: a directory that was
 * replaced (rmdir + mkdir) simply has no lower part any more, which is what
 * other overlays record as "opaque", and a renamed directory keeps its
 * lower part wherever it moves (a "redirect"). Inode numbers are the overlay's
 * own and stay stable because the cached inodes stay. Once a directory has been
 * listed, its child list is complete and doubles as the merged directory
 * listing, with stable readdir cookies (insertion order), so a listing that
 * is interleaved with deletes (rm -r) neither skips nor repeats entries.
 */
#include "vfs_impl.h"

struct ovl_child {
  struct ovl_child *next;
  struct inode *inode; /* a reference */
  uint64_t cookie;
  char name[];
};

struct ovl_node {
  struct inode *upper;  /* a reference, or NULL until copied up */
  struct inode *lower;  /* a reference, or NULL (upper only) */
  struct inode *parent; /* the overlay directory holding it (a reference) */
  char *name;           /* its name there */
  /* directories */
  struct ovl_child *children, *children_tail;
  uint64_t next_cookie;
  bool complete; /* children lists every entry */
};

static const struct inode_ops ovl_iops;
static const struct file_ops ovl_file_ops;

static struct ovl_node *node(struct inode *inode) {
  return inode->private;
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
  if (inode->nlink) /* an unlinked inode stays at 0 */
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
  struct inode *inode = vfs_inode_alloc(sb, r->mode, &ovl_iops, NULL);
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
  n->upper = vfs_inode_get(upper);
  n->lower = vfs_inode_get(lower);
  n->parent = vfs_inode_get(parent);
  n->name = copy;
  n->next_cookie = 2;
  inode->private = n;
  if (LINUX_S_ISTYPE(r->mode, LINUX_S_IFREG))
    inode->fops = &ovl_file_ops;
  refresh(r);
  inode->nlink = 1;
  sync_attrs(inode);
  return inode;
}

struct superblock *overlay_create(struct inode *lower_root) {
  if (!lower_root || !is_dir(lower_root))
    return NULL;
  struct superblock *upper = memfs_create();
  if (!upper)
    return NULL;
  struct superblock *sb = vfs_sb_alloc("overlay", VFS_OVERLAY_MAGIC, 0);
  if (!sb)
    return NULL;
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
  return sb;
}

/* ---------------------------------------------------------------------
 * The child cache
 * ------------------------------------------------------------------- */

static struct ovl_child *cache_find(struct inode *dir, const char *name,
                                    struct ovl_child **prev) {
  struct ovl_child *p = NULL;
  for (struct ovl_child *c = node(dir)->children; c; p = c, c = c->next) {
    if (!rt_strcmp(c->name, name)) {
      if (prev)
        *prev = p;
      return c;
    }
  }
  return NULL;
}

static int cache_add(struct inode *dir, const char *name, struct inode *child) {
  size_t len = rt_strlen(name);
  struct ovl_child *c = kmalloc(sizeof(*c) + len + 1);
  if (!c)
    return -LINUX_ENOMEM;
  memcpy(c->name, name, len + 1);
  c->inode = vfs_inode_get(child);
  c->next = NULL;
  struct ovl_node *d = node(dir);
  c->cookie = d->next_cookie++;
  if (d->children_tail)
    d->children_tail->next = c;
  else
    d->children = c;
  d->children_tail = c;
  return 0;
}

/* Remove name from dir's cache; returns the inode's reference to the
 * caller (or NULL). */
static struct inode *cache_remove(struct inode *dir, const char *name) {
  struct ovl_child *prev = NULL;
  struct ovl_child *c = cache_find(dir, name, &prev);
  if (!c)
    return NULL;
  struct ovl_node *d = node(dir);
  if (prev)
    prev->next = c->next;
  else
    d->children = c->next;
  if (d->children_tail == c)
    d->children_tail = prev;
  struct inode *inode = c->inode;
  kfree(c);
  return inode;
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
  struct ovl_child *c = cache_find(dir, name, NULL);
  if (c) {
    *out = vfs_inode_get(c->inode);
    return 0;
  }
  if (d->complete)
    return -LINUX_ENOENT;
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
  rc = cache_add(dir, name, inode);
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
  if (type == LINUX_S_IFREG) {
    rc = copy_data(lower, upper, data_limit);
    if (rc < 0) {
      udir->iops->unlink(udir, n->name, false);
      vfs_inode_put(upper);
      return rc;
    }
  }
  /* Keep the lower object's times (mode/owner came with create). */
  upper->atime = lower->atime;
  upper->mtime = lower->mtime;
  upper->ctime = lower->ctime;
  n->upper = upper;
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
  rc = cache_add(dir, name, inode);
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
  rc = cache_add(dir, name, target);
  sync_attrs(target);
  sync_attrs(dir);
  return rc;
}

struct names {
  char **v;
  size_t n, cap;
};

static int names_emit(void *ctx, const char *name, size_t len, uint64_t ino,
                      unsigned dtype, uint64_t next_pos) {
  struct names *s = ctx;
  if (len == 0 || len > LINUX_NAME_MAX || rt_strnlen(name, len) != len)
    return 0; /* skip what no lookup could find */
  if ((len == 1 && name[0] == '.') ||
      (len == 2 && name[0] == '.' && name[1] == '.'))
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

static void names_free(struct names *s) {
  for (size_t i = 0; i < s->n; i++)
    kfree(s->v[i]);
  kfree(s->v);
}

/* All names of a layer directory. */
static int layer_names(struct inode *dir, struct names *out) {
  if (!dir || !dir->iops || !dir->iops->readdir)
    return 0;
  uint64_t pos = 2;
  int rc = dir->iops->readdir(dir, &pos, names_emit, out);
  return rc;
}

/* Fill dir's child cache with every entry of both layers. */
static int populate(struct inode *dir) {
  struct ovl_node *d = node(dir);
  if (d->complete)
    return 0;
  struct names names = {NULL, 0, 0};
  int rc = layer_names(d->upper, &names);
  if (rc == 0 && d->lower)
    rc = layer_names(d->lower, &names);
  for (size_t i = 0; rc == 0 && i < names.n; i++) {
    if (cache_find(dir, names.v[i], NULL))
      continue;
    struct inode *child = NULL;
    int lrc = ovl_lookup(dir, names.v[i], &child);
    if (lrc == 0)
      vfs_inode_put(child);
    else if (lrc != -LINUX_ENOENT)
      rc = lrc;
  }
  names_free(&names);
  if (rc == 0)
    d->complete = true;
  return rc;
}

/* Is the merged directory empty? */
static int merged_empty(struct inode *dir) {
  int rc = populate(dir);
  if (rc < 0)
    return rc;
  return node(dir)->children ? -LINUX_ENOTEMPTY : 0;
}

/* Remove the whiteouts an emptied upper directory may hold. */
static int clear_upper_dir(struct inode *udir) {
  struct names names = {NULL, 0, 0};
  int rc = layer_names(udir, &names);
  for (size_t i = 0; rc == 0 && i < names.n; i++)
    rc = udir->iops->unlink(udir, names.v[i], false);
  names_free(&names);
  return rc;
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
  if (c->lower) {
    rc = make_whiteout(udir, name);
    if (rc < 0)
      goto out;
  }
  vfs_inode_put(cache_remove(dir, name));
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
  if (!exchange && node(old)->lower) {
    rc = make_whiteout(uold, oldname);
    if (rc < 0)
      goto out;
  }
  struct inode *moved = cache_remove(olddir, oldname);
  struct inode *replaced = cache_remove(newdir, newname);
  if (moved) {
    cache_add(newdir, newname, moved);
    set_place(moved, newdir, newname);
  }
  if (exchange && replaced) {
    cache_add(olddir, oldname, replaced);
    set_place(replaced, olddir, oldname);
  } else if (replaced) {
    if (is_dir(replaced) || !node(replaced)->upper)
      replaced->nlink = 0;
    else
      sync_attrs(replaced);
  }
  vfs_inode_put(moved);
  vfs_inode_put(replaced);
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

static int ovl_readdir(struct inode *dir, uint64_t *pos, vfs_emit_fn emit,
                       void *ctx) {
  int rc = populate(dir);
  if (rc < 0)
    return rc;
  for (struct ovl_child *c = node(dir)->children; c; c = c->next) {
    if (c->cookie < *pos)
      continue;
    rc = emit(ctx, c->name, rt_strlen(c->name), c->inode->ino,
              vfs_dtype(c->inode->mode), c->cookie + 1);
    if (rc > 0)
      return 0;
    if (rc < 0)
      return rc;
    *pos = c->cookie + 1;
  }
  return 0;
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

static int ovl_fsync(struct inode *inode) {
  struct inode *u = node(inode)->upper;
  if (u && u->iops && u->iops->fsync)
    return u->iops->fsync(u);
  return 0;
}

static void ovl_evict(struct inode *inode) {
  struct ovl_node *n = node(inode);
  if (!n)
    return;
  struct ovl_child *c = n->children;
  while (c) {
    struct ovl_child *next = c->next;
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
    .fsync = ovl_fsync,
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
