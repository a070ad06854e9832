/* hostfs: a granted host directory, reached only through plat_host_*.
 *
 * The host is untrusted: every attribute it reports is checked (known file
 * type, nanoseconds in range, sizes that fit), every directory record it
 * returns is validated (record length in bounds, name terminated, no '/',
 * not "." or ".."), every count it returns is bounded by what was asked.
 * Names sent to the host are single components; the platform never
 * follows a host symlink, and symlinks are resolved by the sandbox's vfs,
 * so resolution cannot leave the grant.
 *
 * Inodes: a directory keeps an O_PATH handle (the grant handle for the
 * root) so lookups below it are relative to it; any other object is named
 * by its directory inode and its name, and a regular file gets real
 * read/write handles when it is opened (kept on the inode until it is
 * evicted, so an open file stays usable after it is unlinked). One struct
 * inode per host object while referenced (a table by host dev and ino);
 * inode numbers are the host's.
 *
 * Directory listings: the host's d_off cookies cannot be handed back
 * (the contract has only "rewind"), so a listing is read whole when a
 * reader starts at the beginning and served from that snapshot by index.
 * This keeps "delete while iterating" (rm -r) correct.
 *
 * Locking. Lock order: vfs lock -> inode->lock -> hostfs->lock -> the
 * allocator. The vfs lock covers the namespace ops (lookup, create,
 * unlink, rename, readdir: the listing snapshot). But an inode's last
 * reference may go anywhere (a close, an exit, with or without the vfs
 * lock), and data and getattr calls run without the vfs lock, so
 * hostfs->lock guards what those paths share with the namespace ops:
 *  - the inode table (buckets, hash_next, host_dev/host_ino). A node found
 *    there is used only under the lock, or after taking a reference with
 *    vfs_inode_tryget: an inode whose count reached zero is being evicted
 *    and is treated as absent (evict removes it, under the lock, before it
 *    frees anything);
 *  - a non-directory's name and parent. Readers copy the name and take a
 *    reference on the parent under the lock (name_ref), since a rename or
 *    unlink may change or free them at any moment. References are never
 *    dropped under hostfs->lock (the drop may evict, which takes it).
 * h_dir is set at creation and closed at eviction; h_ro and h_rw are set
 * once, under inode->lock, and closed at eviction. */
#include "hostfs.h"

#include "file.h"
#include "moat/platform.h"
#include "rt.h"
#include "task.h"
#include "vfs.h"

#define NBUCKETS 1024
#define DIRBUF 32768

struct hostfs_entry { /* one name of a listing snapshot */
  uint64_t ino;
  uint8_t type;
  uint8_t namelen;
  char name[LINUX_NAME_MAX + 1];
};

struct hostfs_node { /* inode->private */
  struct inode *inode;
  struct hostfs_node *hash_next;
  uint64_t host_dev, host_ino;
  int h_dir;            /* directories: O_PATH handle; -1 otherwise */
  int h_ro, h_rw;       /* regular files: data handles, -1 until needed */
  struct inode *parent; /* non-directories: the directory of name */
  char *name;
  struct hostfs_entry *snap; /* directories: the listing being read */
  size_t nsnap;
  /* The attributes' freshness (attrs_fresh): the guest system call that
   * fetched them from the host and the file system's count of changes
   * then. */
  uint64_t attr_call, attr_changes;
  /* In the read-only grant's ring of recent inodes (ring_hold), and
   * looked up again since the clock hand last passed. */
  bool in_ring, ring_ref;
};

/* A read-only grant keeps its most recently looked-up inodes (with their
 * directory and read handles) alive in a ring, so that a walk, a stat or
 * an open that comes back finds them instead of making the inode and
 * opening the host handles again (a program's libraries, a script's
 * commands, python's module directories). Attributes are still fetched
 * from the host at every lookup. Only read-only grants: a kept
 * reference to a file the guest unlinked would hold its host blocks (the
 * open handle), and a file kept open for writing would make the host's
 * exec of it fail (ETXTBSY). */
#define RING 64

struct hostfs {
  struct rt_lock lock; /* the table, nodes' names and parents (see above) */
  bool readonly;
  int grant;
  /* Bumped by every change the sandbox makes through this file system
   * (data, attributes, names): cached attributes older than the last
   * change are never used. */
  uint64_t changes;
  struct hostfs_node *buckets[NBUCKETS];
  struct hostfs_node *ring[RING]; /* read-only grants (see above) */
  unsigned hand;
};

static const struct inode_ops hostfs_iops;
static struct file_ops g_reg_fops; /* the generic ops plus our open */
static bool g_reg_fops_ready;

static bool is_dir(const struct inode *i) {
  return LINUX_S_ISTYPE(i->mode, LINUX_S_IFDIR);
}

static int host_err(long r) {
  /* Only errno values may come back; anything else is the host lying. */
  if (r < 0 && r >= -4095)
    return (int)r;
  return -LINUX_EIO;
}

/* ---- attributes ---- */

static bool ts_ok(const struct plat_time *t) {
  return t->tv_nsec >= 0 && t->tv_nsec < 1000000000;
}

static bool stat_ok(const struct plat_host_stat *st) {
  switch (st->mode & LINUX_S_IFMT) {
  case LINUX_S_IFREG:
  case LINUX_S_IFDIR:
  case LINUX_S_IFLNK:
  case LINUX_S_IFCHR:
  case LINUX_S_IFBLK:
  case LINUX_S_IFIFO:
  case LINUX_S_IFSOCK:
    break;
  default:
    return false;
  }
  if ((st->mode & ~(uint32_t)(LINUX_S_IFMT | 07777)) != 0)
    return false;
  if (st->size > (uint64_t)INT64_MAX || st->blocks > (uint64_t)INT64_MAX)
    return false;
  if (LINUX_S_ISTYPE(st->mode, LINUX_S_IFLNK) && st->size >= LINUX_PATH_MAX)
    return false;
  return ts_ok(&st->atime) && ts_ok(&st->mtime) && ts_ok(&st->ctime);
}

static int host_stat(int dir, const char *name, struct plat_host_stat *st) {
  memset(st, 0, sizeof(*st));
  int r = plat_host_stat(dir, name, st);
  if (r)
    return host_err(r);
  return stat_ok(st) ? 0 : -LINUX_EIO;
}

static void fill_attrs(struct inode *inode, const struct plat_host_stat *st) {
  inode->mode = st->mode;
  inode->uid = st->uid;
  inode->gid = st->gid;
  inode->nlink = st->nlink;
  inode->size = st->size;
  inode->blocks = st->blocks;
  inode->rdev = st->rdev;
  inode->atime = (struct linux_timespec){st->atime.tv_sec, st->atime.tv_nsec};
  inode->mtime = (struct linux_timespec){st->mtime.tv_sec, st->mtime.tv_nsec};
  inode->ctime = (struct linux_timespec){st->ctime.tv_sec, st->ctime.tv_nsec};
  inode->ino = st->ino;
}

static struct hostfs *fs_of(const struct inode *i) {
  return i->sb->private;
}

static struct hostfs_node *node_of(const struct inode *i) {
  return i->private;
}

/* The directory and name that name a non-directory now: a reference to
 * the directory in *dir (the caller puts it; its h_dir stays open while
 * referenced) and a copy of the name, as a rename may change both. */
static int name_ref(struct inode *inode, struct inode **dir,
                    char name[LINUX_NAME_MAX + 1]) {
  struct hostfs *fs = fs_of(inode);
  struct hostfs_node *n = node_of(inode);
  int err = 0;
  rt_lock(&fs->lock);
  if (!n->parent || !n->name) {
    err = -LINUX_ESTALE;
  } else {
    size_t len = rt_strnlen(n->name, LINUX_NAME_MAX);
    memcpy(name, n->name, len);
    name[len] = 0;
    *dir = vfs_inode_get(n->parent); /* n's reference keeps it above 0 */
  }
  rt_unlock(&fs->lock);
  return err;
}

/* A regular file's open data handle (read-write first), or -1. Lock-free:
 * data_handle may publish one at any time. */
static int open_data_handle(struct hostfs_node *n) {
  int h = __atomic_load_n(&n->h_rw, __ATOMIC_ACQUIRE);
  return h >= 0 ? h : __atomic_load_n(&n->h_ro, __ATOMIC_ACQUIRE);
}

/* ---- the attribute cache ----
 *
 * Attributes the host reported during the calling thread's current
 * guest system call serve the rest of that call: a stat after the
 * lookup that found the file, the size checks of an mmap or an exec's
 * loads, ask the host once. A new call asks again, and so does any call
 * after the sandbox changed something in this file system (any change:
 * the count is per file system, so no rule has to know which attributes
 * of which objects a change touches). Outside a guest system call
 * (boot, page faults) nothing is cached. */

static uint64_t changes_now(struct hostfs *fs) {
  return __atomic_load_n(&fs->changes, __ATOMIC_ACQUIRE);
}

static void changed(struct hostfs *fs) {
  __atomic_add_fetch(&fs->changes, 1, __ATOMIC_RELEASE);
}

static bool attrs_fresh(struct hostfs_node *n, uint64_t call) {
  return call && __atomic_load_n(&n->attr_call, __ATOMIC_ACQUIRE) == call &&
         __atomic_load_n(&n->attr_changes, __ATOMIC_ACQUIRE) ==
             changes_now(fs_of(n->inode));
}

/* n's attributes came from the host during call, the file system having
 * counted changes changes before it asked. */
static void attrs_fetched(struct hostfs_node *n, uint64_t call,
                          uint64_t changes) {
  __atomic_store_n(&n->attr_changes, changes, __ATOMIC_RELEASE);
  __atomic_store_n(&n->attr_call, call, __ATOMIC_RELEASE);
}

static int refresh(struct inode *inode) {
  struct hostfs_node *n = node_of(inode);
  uint64_t call = task_call_id();
  if (attrs_fresh(n, call))
    return 0;
  uint64_t changes = changes_now(fs_of(inode));
  struct plat_host_stat st;
  int err, h = open_data_handle(n);
  if (n->h_dir >= 0) {
    err = host_stat(n->h_dir, NULL, &st);
  } else if (h >= 0) {
    err = host_stat(h, NULL, &st);
  } else {
    struct inode *dir;
    char name[LINUX_NAME_MAX + 1];
    err = name_ref(inode, &dir, name);
    if (!err) {
      err = host_stat(node_of(dir)->h_dir, name, &st);
      vfs_inode_put(dir);
    }
  }
  if (err)
    return err;
  if ((st.mode & LINUX_S_IFMT) != (inode->mode & LINUX_S_IFMT))
    return -LINUX_ESTALE; /* replaced on the host behind our back */
  fill_attrs(inode, &st);
  attrs_fetched(n, call, changes);
  return 0;
}

/* ---- the inode table ---- */

static size_t bucket(uint64_t dev, uint64_t ino) {
  uint64_t h = (ino * 0x9e3779b97f4a7c15ull) ^ dev;
  return (size_t)((h >> 20) % NBUCKETS);
}

/* Caller holds fs->lock (all four table helpers). */
static struct hostfs_node *table_find(struct hostfs *fs, uint64_t dev,
                                      uint64_t ino) {
  for (struct hostfs_node *n = fs->buckets[bucket(dev, ino)]; n;
       n = n->hash_next)
    if (n->host_dev == dev && n->host_ino == ino)
      return n;
  return NULL;
}

static void table_remove(struct hostfs *fs, struct hostfs_node *node) {
  struct hostfs_node **pp =
      &fs->buckets[bucket(node->host_dev, node->host_ino)];
  for (; *pp; pp = &(*pp)->hash_next)
    if (*pp == node) {
      *pp = node->hash_next;
      return;
    }
}

/* Take n out of the table: its host number may now name another object. */
static void table_forget(struct hostfs *fs, struct hostfs_node *n) {
  table_remove(fs, n);
  n->host_dev = n->host_ino = ~0ull;
}

/* The live node for (dev, ino), with a new reference to its inode, or
 * NULL. A node being evicted leaves the table here already. */
static struct hostfs_node *table_get(struct hostfs *fs, uint64_t dev,
                                     uint64_t ino) {
  struct hostfs_node *n = table_find(fs, dev, ino);
  if (n && !vfs_inode_tryget(n->inode)) {
    table_forget(fs, n);
    n = NULL;
  }
  return n;
}

/* Give a non-directory node its current name (caller holds fs->lock).
 * Returns the reference to the old parent, for the caller to put after
 * unlocking (the put may evict, which takes fs->lock). */
static struct inode *set_name(struct hostfs_node *n, struct inode *dir,
                              const char *name) {
  if (is_dir(n->inode))
    return NULL;
  char *copy = rt_strdup(name);
  if (!copy)
    return NULL; /* keep the old name: names the object or fails cleanly */
  kfree(n->name);
  n->name = copy;
  if (n->parent == dir)
    return NULL;
  struct inode *old = n->parent;
  n->parent = vfs_inode_get(dir);
  return old;
}

/* Hold a reference to n's inode in the ring of a read-only grant (caller
 * holds fs->lock): a CLOCK, whose hand passes over entries looked up
 * again since and takes the first that was not. Returns the inode whose
 * reference the ring let go, for the caller to put after unlocking. */
static struct inode *ring_hold(struct hostfs *fs, struct hostfs_node *n) {
  if (!fs->readonly)
    return NULL;
  if (n->in_ring) {
    n->ring_ref = true;
    return NULL;
  }
  while (fs->ring[fs->hand] && fs->ring[fs->hand]->ring_ref) {
    fs->ring[fs->hand]->ring_ref = false;
    fs->hand = (fs->hand + 1) % RING;
  }
  struct hostfs_node *old = fs->ring[fs->hand];
  if (old)
    old->in_ring = false;
  fs->ring[fs->hand] = n;
  n->in_ring = true;
  n->ring_ref = false;
  vfs_inode_get(n->inode);
  fs->hand = (fs->hand + 1) % RING;
  return old ? old->inode : NULL;
}

/* The inode for name below dir, given what the host said about it. For a
 * directory, h_dir is an O_PATH handle already opened (consumed). */
static int make_inode(struct inode *dir, const char *name,
                      const struct plat_host_stat *st, int h_dir,
                      struct inode **out) {
  struct hostfs *fs = fs_of(dir);
  struct inode *drop = NULL, *old_parent = NULL;
  rt_lock(&fs->lock);
  struct hostfs_node *n = table_get(fs, st->dev, st->ino);
  if (n && !is_dir(n->inode) && !n->name) {
    /* every name we knew is gone: this number names another file now */
    table_forget(fs, n);
    drop = n->inode;
    n = NULL;
  } else if (n &&
             (n->inode->mode & LINUX_S_IFMT) != (st->mode & LINUX_S_IFMT)) {
    /* the host reused the number for another type: forget it */
    table_forget(fs, n);
    drop = n->inode;
    n = NULL;
  }
  if (n) {
    fill_attrs(n->inode, st);
    old_parent = set_name(n, dir, name);
    struct inode *ring_out = ring_hold(fs, n);
    rt_unlock(&fs->lock);
    vfs_inode_put(old_parent);
    vfs_inode_put(ring_out);
    if (h_dir >= 0)
      plat_host_close(h_dir);
    *out = n->inode; /* the reference table_get took */
    return 0;
  }
  rt_unlock(&fs->lock);
  vfs_inode_put(drop);
  if (LINUX_S_ISTYPE(st->mode, LINUX_S_IFDIR) && h_dir < 0)
    return -LINUX_EAGAIN; /* lookup_host opens a handle and comes back */
  n = kzalloc(sizeof(*n));
  const struct file_ops *fops =
      LINUX_S_ISTYPE(st->mode, LINUX_S_IFREG) ? &g_reg_fops : NULL;
  struct inode *inode =
      n ? vfs_inode_alloc_untimed(dir->sb, st->mode, &hostfs_iops, fops) : NULL;
  if (!inode) {
    kfree(n);
    if (h_dir >= 0)
      plat_host_close(h_dir);
    return -LINUX_ENOMEM;
  }
  n->inode = inode;
  n->host_dev = st->dev;
  n->host_ino = st->ino;
  n->h_dir = h_dir;
  n->h_ro = n->h_rw = -1;
  inode->private = n;
  fill_attrs(inode, st);
  if (!is_dir(inode)) {
    n->name = rt_strdup(name);
    if (!n->name) {
      vfs_inode_put(inode);
      return -LINUX_ENOMEM;
    }
    n->parent = vfs_inode_get(dir);
  }
  /* Namespace ops run under the vfs lock, so no other lookup added this
   * object since table_get above; only evictions ran meanwhile. */
  rt_lock(&fs->lock);
  n->hash_next = fs->buckets[bucket(st->dev, st->ino)];
  fs->buckets[bucket(st->dev, st->ino)] = n;
  struct inode *ring_out = ring_hold(fs, n);
  rt_unlock(&fs->lock);
  vfs_inode_put(ring_out);
  *out = inode;
  return 0;
}

/* Look name up on the host and return its inode. */
static int lookup_host(struct inode *dir, const char *name,
                       struct inode **out) {
  struct hostfs_node *d = node_of(dir);
  struct plat_host_stat st;
  uint64_t call = task_call_id(), changes = changes_now(fs_of(dir));
  int err = host_stat(d->h_dir, name, &st);
  if (err)
    return err;
  /* A directory already known needs no new handle: make_inode asks for
   * one (-EAGAIN) only when it must make a new directory inode. */
  err = make_inode(dir, name, &st, -1, out);
  if (!err)
    attrs_fetched(node_of(*out), call, changes);
  if (err != -LINUX_EAGAIN)
    return err;
  int h;
  err = plat_host_open(d->h_dir, name, LINUX_O_PATH | LINUX_O_DIRECTORY, 0, &h);
  if (err)
    return host_err(err);
  /* The name may have been replaced between the stat and the open:
   * describe what the handle holds. */
  err = host_stat(h, NULL, &st);
  if (!err && !LINUX_S_ISTYPE(st.mode, LINUX_S_IFDIR))
    err = -LINUX_ENOTDIR;
  if (err) {
    plat_host_close(h);
    return err;
  }
  err = make_inode(dir, name, &st, h, out);
  if (!err)
    attrs_fetched(node_of(*out), call, changes);
  return err;
}

/* ---- inode operations ---- */

static int hostfs_lookup(struct inode *dir, const char *name,
                         struct inode **out) {
  return lookup_host(dir, name, out);
}

static int check_writable(struct inode *inode) {
  return fs_of(inode)->readonly ? -LINUX_EROFS : 0;
}

static int hostfs_create_op(struct inode *dir, const char *name,
                            const struct vfs_create *args, struct inode **out) {
  struct hostfs_node *d = node_of(dir);
  int err = check_writable(dir);
  if (err)
    return err;
  uint32_t perm = args->mode & 07777;
  int h = -1;
  switch (args->mode & LINUX_S_IFMT) {
  case LINUX_S_IFREG:
    err = plat_host_open(d->h_dir, name,
                         LINUX_O_RDWR | LINUX_O_CREAT | LINUX_O_EXCL, perm, &h);
    break;
  case LINUX_S_IFDIR:
    err = plat_host_create(d->h_dir, name, PLAT_HOST_DIR, perm, NULL);
    break;
  case LINUX_S_IFLNK:
    err = plat_host_create(d->h_dir, name, PLAT_HOST_SYMLINK, 0, args->target);
    break;
  case LINUX_S_IFIFO: /* a name on the host; the pipe is the core's */
    err = plat_host_create(d->h_dir, name, PLAT_HOST_FIFO, perm, NULL);
    break;
  case LINUX_S_IFSOCK: /* a name on the host; bind keys on its (dev, ino) */
    err = plat_host_create(d->h_dir, name, PLAT_HOST_SOCKET, perm, NULL);
    break;
  default:
    return -LINUX_EPERM; /* devices: as in a user namespace */
  }
  if (err)
    return host_err(err);
  changed(fs_of(dir));
  err = lookup_host(dir, name, out);
  if (err) {
    if (h >= 0)
      plat_host_close(h);
    return err;
  }
  if (h >= 0) {
    struct hostfs_node *n = node_of(*out);
    rt_lock(&(*out)->lock);
    if (n->h_rw < 0) {
      __atomic_store_n(&n->h_rw, h, __ATOMIC_RELEASE);
      h = -1;
    }
    rt_unlock(&(*out)->lock);
    if (h >= 0)
      plat_host_close(h);
  }
  return 0;
}

static int hostfs_link(struct inode *dir, const char *name,
                       struct inode *target) {
  int err = check_writable(dir);
  if (err)
    return err;
  struct inode *odir;
  char oname[LINUX_NAME_MAX + 1];
  err = name_ref(target, &odir, oname);
  if (err)
    return err;
  err = plat_host_move(node_of(odir)->h_dir, oname, node_of(dir)->h_dir, name,
                       0, true);
  vfs_inode_put(odir);
  if (err)
    return host_err(err);
  changed(fs_of(dir));
  target->nlink++;
  refresh(target);
  return 0;
}

/* A name of the object st describes went away (unlink, or replaced by a
 * rename). When its last link is gone, the host may hand its inode number
 * to a new file: the node leaves the table so a later lookup cannot
 * mistake the new file for it (an open file keeps its handles). */
static void forget_name(struct inode *dir, const char *name,
                        const struct plat_host_stat *st) {
  struct hostfs *fs = fs_of(dir);
  rt_lock(&fs->lock);
  struct hostfs_node *n = table_find(fs, st->dev, st->ino);
  if (n) {
    if (n->inode->nlink)
      n->inode->nlink--;
    if (n->parent == dir && n->name && !rt_strcmp(n->name, name)) {
      kfree(n->name);
      n->name = NULL;
    }
    if (n->inode->nlink == 0 || (is_dir(n->inode) && n->inode->nlink <= 1))
      table_forget(fs, n);
  }
  rt_unlock(&fs->lock);
}

/* After a rename: the node of the object now at dir/name (if we know it)
 * takes that name. */
static void follow_name(struct inode *dir, const char *name) {
  struct hostfs *fs = fs_of(dir);
  struct plat_host_stat st;
  if (host_stat(node_of(dir)->h_dir, name, &st))
    return;
  struct inode *old_parent = NULL;
  rt_lock(&fs->lock);
  struct hostfs_node *n = table_find(fs, st.dev, st.ino);
  if (n)
    old_parent = set_name(n, dir, name);
  rt_unlock(&fs->lock);
  vfs_inode_put(old_parent);
}

static int hostfs_unlink(struct inode *dir, const char *name, bool is_dir_op) {
  int err = check_writable(dir);
  if (err)
    return err;
  struct plat_host_stat st;
  bool known = host_stat(node_of(dir)->h_dir, name, &st) == 0;
  err = plat_host_remove(node_of(dir)->h_dir, name, is_dir_op);
  if (err)
    return host_err(err);
  changed(fs_of(dir));
  if (known)
    forget_name(dir, name, &st);
  return 0;
}

static int hostfs_rename(struct inode *olddir, const char *oldname,
                         struct inode *newdir, const char *newname,
                         unsigned flags) {
  int err = check_writable(olddir);
  if (err)
    return err;
  struct plat_host_stat replaced;
  bool replacing =
      !(flags & (LINUX_RENAME_EXCHANGE | LINUX_RENAME_NOREPLACE)) &&
      host_stat(node_of(newdir)->h_dir, newname, &replaced) == 0;
  err = plat_host_move(node_of(olddir)->h_dir, oldname, node_of(newdir)->h_dir,
                       newname, flags, false);
  if (err)
    return host_err(err);
  changed(fs_of(olddir));
  if (replacing)
    forget_name(newdir, newname, &replaced);
  /* Names that our inodes use may have moved: follow them. */
  follow_name(newdir, newname);
  if (flags & LINUX_RENAME_EXCHANGE)
    follow_name(olddir, oldname);
  return 0;
}

static bool has_slash(const char *name, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (name[i] == '/')
      return true;
  return false;
}

/* Read the whole listing of dir into a fresh snapshot. */
static int snapshot(struct inode *dir) {
  struct hostfs_node *d = node_of(dir);
  int h;
  int err =
      plat_host_open(d->h_dir, NULL, LINUX_O_RDONLY | LINUX_O_DIRECTORY, 0, &h);
  if (err)
    return host_err(err);
  char *buf = kmalloc(DIRBUF);
  struct hostfs_entry *ents = NULL;
  size_t n = 0, cap = 0;
  if (!buf) {
    err = -LINUX_ENOMEM;
    goto out;
  }
  for (bool first = true;; first = false) {
    long got = plat_host_readdir(h, buf, DIRBUF, first);
    if (got < 0) {
      err = host_err(got);
      goto out;
    }
    if (got == 0)
      break;
    if (got > DIRBUF) {
      err = -LINUX_EIO;
      goto out;
    }
    size_t at = 0;
    const size_t hdr = offsetof(struct plat_dirent, name);
    while (at < (size_t)got) {
      uint64_t ino;
      uint16_t reclen;
      uint8_t type;
      if ((size_t)got - at < hdr + 2) {
        err = -LINUX_EIO;
        goto out;
      }
      memcpy(&ino, buf + at + offsetof(struct plat_dirent, ino), sizeof(ino));
      memcpy(&reclen, buf + at + offsetof(struct plat_dirent, reclen),
             sizeof(reclen));
      memcpy(&type, buf + at + offsetof(struct plat_dirent, type), 1);
      if (reclen < hdr + 2 || reclen > (size_t)got - at) {
        err = -LINUX_EIO;
        goto out;
      }
      const char *name = buf + at + hdr;
      size_t room = reclen - hdr;
      size_t len = rt_strnlen(name, room);
      at += reclen;
      if (len == room || len == 0 || len > LINUX_NAME_MAX ||
          has_slash(name, len)) {
        err = -LINUX_EIO;
        goto out;
      }
      if ((len == 1 && name[0] == '.') ||
          (len == 2 && name[0] == '.' && name[1] == '.'))
        continue;
      if (n == cap) {
        size_t ncap = cap ? cap * 2 : 64;
        struct hostfs_entry *bigger = krealloc(ents, ncap * sizeof(*ents));
        if (!bigger) {
          err = -LINUX_ENOMEM;
          goto out;
        }
        ents = bigger;
        cap = ncap;
      }
      ents[n].ino = ino;
      ents[n].type = type <= 14 ? type : LINUX_DT_UNKNOWN;
      ents[n].namelen = (uint8_t)len;
      memcpy(ents[n].name, name, len);
      ents[n].name[len] = 0;
      n++;
    }
  }
  kfree(d->snap);
  d->snap = ents;
  d->nsnap = n;
  ents = NULL;
  err = 0;
out:
  kfree(ents);
  kfree(buf);
  plat_host_close(h);
  return err;
}

static int hostfs_readdir(struct inode *dir, uint64_t *pos, vfs_emit_fn emit,
                          void *ctx) {
  struct hostfs_node *d = node_of(dir);
  if (*pos == 2 || !d->snap) {
    int err = snapshot(dir);
    if (err)
      return err;
  }
  for (uint64_t i = *pos - 2; i < d->nsnap; i++) {
    struct hostfs_entry *e = &d->snap[i];
    int r = emit(ctx, e->name, e->namelen, e->ino, e->type, i + 3);
    if (r > 0)
      return 0;
    if (r < 0)
      return r;
    *pos = i + 3;
  }
  /* The whole listing was taken: the snapshot's memory goes back. */
  kfree(d->snap);
  d->snap = NULL;
  d->nsnap = 0;
  return 0;
}

static long readlink_at(int dir, const char *name, char *buf, size_t len) {
  long n = plat_host_readlink(dir, name, buf, len);
  if (n < 0)
    return host_err(n);
  if ((size_t)n > len)
    return -LINUX_EIO;
  if ((size_t)n == len && len < LINUX_PATH_MAX) {
    /* Maybe cut: ask with room to learn the full length. */
    char *tmp = kmalloc(LINUX_PATH_MAX);
    if (!tmp)
      return n;
    long full = plat_host_readlink(dir, name, tmp, LINUX_PATH_MAX);
    kfree(tmp);
    if (full > n && full <= LINUX_PATH_MAX)
      return full;
  }
  return n;
}

static long hostfs_readlink(struct inode *inode, char *buf, size_t len) {
  struct inode *dir;
  char name[LINUX_NAME_MAX + 1];
  int err = name_ref(inode, &dir, name);
  if (err)
    return err;
  long n = readlink_at(node_of(dir)->h_dir, name, buf, len);
  vfs_inode_put(dir);
  return n;
}

static int hostfs_setattr(struct inode *inode, const struct vfs_attr *attr) {
  struct hostfs_node *n = node_of(inode);
  int err = check_writable(inode);
  if (err)
    return err;
  unsigned what = 0;
  uint32_t uid = PLAT_ID_KEEP, gid = PLAT_ID_KEEP;
  /* An owner the grant cannot map: -EOVERFLOW from the platform, as
   * Linux's notify_change on an idmapped mount. */
  if (attr->valid & VFS_ATTR_UID)
    uid = attr->uid;
  if (attr->valid & VFS_ATTR_GID)
    gid = attr->gid;
  if (uid != PLAT_ID_KEEP || gid != PLAT_ID_KEEP)
    what |= PLAT_SET_OWNER;
  struct plat_time times[2] = {{0, PLAT_TIME_OMIT}, {0, PLAT_TIME_OMIT}};
  if (attr->valid & VFS_ATTR_MODE)
    what |= PLAT_SET_MODE;
  if (attr->valid & VFS_ATTR_ATIME) {
    times[0] = (struct plat_time){attr->atime.tv_sec, attr->atime.tv_nsec};
    what |= PLAT_SET_TIMES;
  }
  if (attr->valid & VFS_ATTR_MTIME) {
    times[1] = (struct plat_time){attr->mtime.tv_sec, attr->mtime.tv_nsec};
    what |= PLAT_SET_TIMES;
  }
  if (attr->valid & VFS_ATTR_SIZE)
    what |= PLAT_SET_SIZE;
  if (what) {
    int h =
        n->h_dir >= 0 ? n->h_dir : __atomic_load_n(&n->h_rw, __ATOMIC_ACQUIRE);
    struct inode *dir = NULL;
    char name[LINUX_NAME_MAX + 1];
    if (h < 0) {
      err = name_ref(inode, &dir, name);
      if (err)
        return err;
      h = node_of(dir)->h_dir;
    }
    err = plat_host_setattr(h, dir ? name : NULL, what, attr->mode & 07777,
                            times, attr->size, uid, gid);
    vfs_inode_put(dir);
    changed(fs_of(inode)); /* even a failure may have done a part */
    if (err)
      return host_err(err);
  }
  refresh(inode);
  return 0;
}

static int hostfs_getattr(struct inode *inode) {
  return refresh(inode);
}

/* A data handle: read-write when asked (or when one exists), else
 * read-only. Called with inode->lock held or from open. */
static int data_handle(struct inode *inode, bool write, int *out) {
  struct hostfs_node *n = node_of(inode);
  if (n->h_rw >= 0) {
    *out = n->h_rw;
    return 0;
  }
  if (!write && n->h_ro >= 0) {
    *out = n->h_ro;
    return 0;
  }
  if (write) {
    int err = check_writable(inode);
    if (err)
      return err;
  }
  struct inode *dir;
  char name[LINUX_NAME_MAX + 1];
  int err = name_ref(inode, &dir, name);
  if (err)
    return err;
  int d = node_of(dir)->h_dir, h;
  if (write) {
    err = plat_host_open(d, name, LINUX_O_RDWR, 0, &h);
    if (err == -LINUX_EACCES) /* write-only on the host */
      err = plat_host_open(d, name, LINUX_O_WRONLY, 0, &h);
  } else {
    err = plat_host_open(d, name, LINUX_O_RDONLY, 0, &h);
  }
  vfs_inode_put(dir);
  if (err)
    return host_err(err);
  /* Published for the lock-free readers (refresh, fsync, setattr). */
  __atomic_store_n(write ? &n->h_rw : &n->h_ro, h, __ATOMIC_RELEASE);
  *out = h;
  return 0;
}

static long hostfs_read(struct inode *inode, void *buf, size_t len,
                        uint64_t off) {
  int h;
  int err = data_handle(inode, false, &h);
  if (err)
    return err;
  long n = plat_host_pread(h, buf, len, off);
  if (n < 0)
    return host_err(n);
  return (size_t)n > len ? -LINUX_EIO : n;
}

static long hostfs_write(struct inode *inode, const void *buf, size_t len,
                         uint64_t off) {
  int h;
  int err = check_writable(inode);
  if (err)
    return err;
  err = data_handle(inode, true, &h);
  if (err)
    return err;
  long n = plat_host_pwrite(h, buf, len, off);
  changed(fs_of(inode));
  if (n < 0)
    return host_err(n);
  if ((size_t)n > len)
    return -LINUX_EIO;
  if (off + (uint64_t)n > inode->size)
    inode->size = off + (uint64_t)n;
  vfs_touch_mtime(inode);
  return n;
}

static int hostfs_fsync(struct inode *inode) {
  struct hostfs_node *n = node_of(inode);
  int h = open_data_handle(n);
  if (h < 0)
    return 0;
  int r = plat_host_sync(h);
  return r < 0 ? host_err(r) : 0;
}

static void hostfs_evict(struct inode *inode) {
  struct hostfs_node *n = node_of(inode);
  if (!n)
    return;
  struct hostfs *fs = fs_of(inode);
  /* table_get may meet n until it is out of the table, but never takes a
   * reference to it (the count is zero): after this nobody can reach n. */
  rt_lock(&fs->lock);
  table_remove(fs, n);
  rt_unlock(&fs->lock);
  if (n->h_dir >= 0 && n->h_dir != fs->grant)
    plat_host_close(n->h_dir);
  if (n->h_ro >= 0)
    plat_host_close(n->h_ro);
  if (n->h_rw >= 0)
    plat_host_close(n->h_rw);
  vfs_inode_put(n->parent);
  kfree(n->name);
  kfree(n->snap);
  kfree(n);
  inode->private = NULL;
}

static int hostfs_host_handle(struct inode *inode) {
  if (!LINUX_S_ISTYPE(inode->mode, LINUX_S_IFREG) || !node_of(inode))
    return -LINUX_ENODEV;
  int h = -1;
  rt_lock(&inode->lock);
  int err = data_handle(inode, false, &h);
  rt_unlock(&inode->lock);
  return err ? err : h;
}

static const struct inode_ops hostfs_iops = {
    .host_handle = hostfs_host_handle,
    .lookup = hostfs_lookup,
    .create = hostfs_create_op,
    .link = hostfs_link,
    .unlink = hostfs_unlink,
    .rename = hostfs_rename,
    .readdir = hostfs_readdir,
    .readlink = hostfs_readlink,
    .setattr = hostfs_setattr,
    .getattr = hostfs_getattr,
    .read = hostfs_read,
    .write = hostfs_write,
    .fsync = hostfs_fsync,
    .evict = hostfs_evict,
};

/* Open the host handles a new open file needs now, so errors show at
 * open time and the file stays usable if its name is removed. */
static int hostfs_file_open(struct inode *inode, struct file *file) {
  if (file->flags & LINUX_O_PATH)
    return 0;
  unsigned acc = file->flags & LINUX_O_ACCMODE;
  struct hostfs_node *n = node_of(inode);
  int h = -1, err = 0;
  rt_lock(&inode->lock);
  int had_ro = n->h_ro, had_rw = n->h_rw;
  if (acc == LINUX_O_RDONLY || acc == LINUX_O_RDWR)
    err = data_handle(inode, acc == LINUX_O_RDWR, &h);
  else if (acc == LINUX_O_WRONLY)
    err = data_handle(inode, true, &h);
  rt_unlock(&inode->lock);
  if (err)
    return err;
  /* A handle another guest process opened is reopened in this one on
   * first use, by its name: do it now, while the name we just looked up
   * still names the file, so a later unlink or rename elsewhere cannot
   * take the file away from this open description. */
  if (h >= 0 && (h == had_ro || h == had_rw)) {
    struct plat_host_stat st;
    plat_host_stat(h, NULL, &st);
  }
  return vfs_regular_file_ops.open ? vfs_regular_file_ops.open(inode, file) : 0;
}

int hostfs_create(int grant_handle, bool readonly, struct superblock **out) {
  if (!g_reg_fops_ready) {
    g_reg_fops = vfs_regular_file_ops;
    g_reg_fops.open = hostfs_file_open;
    g_reg_fops_ready = true;
  }
  struct plat_host_stat st;
  int err = host_stat(grant_handle, NULL, &st);
  if (err)
    return err;
  if (!LINUX_S_ISTYPE(st.mode, LINUX_S_IFDIR))
    return -LINUX_ENOTDIR;
  struct hostfs *fs = kzalloc(sizeof(*fs));
  struct superblock *sb =
      fs ? vfs_sb_alloc("hostfs", HOSTFS_MAGIC, readonly ? VFS_SB_RDONLY : 0)
         : NULL;
  struct hostfs_node *n = sb ? kzalloc(sizeof(*n)) : NULL;
  struct inode *root =
      n ? vfs_inode_alloc_untimed(sb, st.mode, &hostfs_iops, NULL) : NULL;
  if (!root) {
    kfree(n);
    kfree(fs);
    return -LINUX_ENOMEM;
  }
  fs->readonly = readonly;
  fs->grant = grant_handle;
  sb->private = fs;
  n->inode = root;
  n->host_dev = st.dev;
  n->host_ino = st.ino;
  n->h_dir = grant_handle;
  n->h_ro = n->h_rw = -1;
  root->private = n;
  fill_attrs(root, &st);
  fs->buckets[bucket(st.dev, st.ino)] = n;
  sb->root = root;
  *out = sb;
  return 0;
}
