/* memfs: the in-memory file system (/tmp, the overlay's upper layer, the
 * default root). Everything lives in the arena. File data is kept in
 * 4 KiB pages reached through a two-level table (a directory of 512-page
 * leaves), so a sparse or large file never needs one big buffer and holes
 * cost nothing. Directories are lists of entries in creation order (the
 * readdir order, with stable cookies) plus a hash table for lookups; each
 * entry holds a reference to its inode, so an inode lives while it has a
 * name or an open file. */
#include "mm.h"
#include "vfs_impl.h"

#define PAGE 4096ull
#define LEAF_PAGES 512ull /* pages per leaf: 2 MiB */
#define MAX_FILE_SIZE (1ull << 40)
/* A directory's size grows by this per entry, as on Linux's tmpfs. */
#define DIRENT_SIZE 20

struct memfs_dirent {
  struct memfs_dirent *next, *prev; /* creation order */
  struct memfs_dirent *hash_next;
  uint32_t hash;
  struct inode *inode; /* a reference */
  uint64_t cookie;     /* readdir position; increasing along the list */
  char name[];
};

struct memfs_node {
  /* directories */
  struct memfs_dirent *head, *tail;
  uint64_t next_cookie;
  struct memfs_dirent **buckets;
  uint32_t nbuckets, nentries;
  /* regular files: leaves[i][j] is page i * LEAF_PAGES + j */
  uint8_t ***leaves;
  size_t nleaves;
  uint64_t pages; /* pages allocated, for st_blocks */
  /* symlinks */
  char *target;
  /* extended attributes, in descending name order (the order Linux's
   * tmpfs lists them in), and the space they take (see XATTR_SPACE_MAX) */
  struct memfs_xattr *xattrs;
  uint64_t xattr_space;
};

struct memfs_xattr {
  struct memfs_xattr *next;
  uint32_t size;  /* of the value */
  uint64_t space; /* charged for it */
  char name[];    /* NUL-terminated, then the value */
};

/* Attributes of one inode take at most this much (names, values and
 * their bookkeeping; -ENOSPC beyond). Linux's tmpfs bounds them only
 * per file system (every inode brings 1 KiB of attribute space, and each
 * attribute takes its name, value and about 40 bytes of it); moat bounds
 * each inode (one file holds 15 values of the largest size) and charges
 * them to --tmp-size and --memory as file pages are. */
#define XATTR_SPACE_MAX (1ull << 20)

static const struct inode_ops memfs_iops;

/* --tmp-size: the pages of every memfs together, in the arena so that all
 * host processes share the count. NULL: no budget of its own. */
struct memfs_pool {
  uint64_t limit, used; /* bytes; used is atomic */
};
static struct memfs_pool *g_pool;

int memfs_pool_init(uint64_t limit) {
  if (!limit)
    return 0;
  g_pool = kzalloc(sizeof(*g_pool));
  if (!g_pool)
    return -LINUX_ENOMEM;
  g_pool->limit = limit;
  return 0;
}

static bool pool_take(uint64_t bytes) {
  if (!g_pool)
    return true;
  uint64_t cur = __atomic_load_n(&g_pool->used, __ATOMIC_RELAXED);
  for (;;) {
    if (cur + bytes > g_pool->limit)
      return false;
    if (__atomic_compare_exchange_n(&g_pool->used, &cur, cur + bytes, false,
                                    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
      return true;
  }
}

static void pool_give(uint64_t bytes) {
  if (g_pool)
    __atomic_sub_fetch(&g_pool->used, bytes, __ATOMIC_SEQ_CST);
}

static uint64_t pool_free(void) {
  uint64_t used = __atomic_load_n(&g_pool->used, __ATOMIC_RELAXED);
  return used < g_pool->limit ? g_pool->limit - used : 0;
}

int memfs_pool_statfs(struct superblock *sb, struct linux_statfs *out) {
  (void)sb;
  if (g_pool) {
    out->f_blocks = g_pool->limit / 4096;
    out->f_bfree = out->f_bavail = pool_free() / 4096;
  }
  return 0;
}

static struct memfs_node *node(struct inode *inode) {
  return inode->private;
}

static struct inode *memfs_new_inode(struct superblock *sb, uint32_t mode) {
  struct inode *inode = vfs_inode_alloc(sb, mode, &memfs_iops, NULL);
  if (!inode)
    return NULL;
  struct memfs_node *n = kzalloc(sizeof(*n));
  if (!n) {
    kfree(inode);
    return NULL;
  }
  n->next_cookie = 2;
  inode->private = n;
  if (LINUX_S_ISTYPE(mode, LINUX_S_IFDIR))
    inode->size = 2 * DIRENT_SIZE;
  return inode;
}

struct superblock *memfs_create(void) {
  struct superblock *sb = vfs_sb_alloc("tmpfs", VFS_MEMFS_MAGIC, VFS_SB_BTIME);
  if (!sb)
    return NULL;
  /* tmpfs's chattr flags (moat sets none of them) */
  sb->statx_attributes = LINUX_STATX_ATTR_APPEND | LINUX_STATX_ATTR_IMMUTABLE |
                         LINUX_STATX_ATTR_NODUMP;
  sb->root = memfs_new_inode(sb, LINUX_S_IFDIR | 0755);
  if (!sb->root) {
    kfree(sb);
    return NULL;
  }
  sb->statfs = memfs_pool_statfs;
  return sb;
}

/* ---------------------------------------------------------------------
 * Directories
 * ------------------------------------------------------------------- */

static uint32_t name_hash(const char *name) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *name; name++)
    h = (h ^ (uint8_t)*name) * 16777619u;
  return h;
}

static struct memfs_dirent *find(struct inode *dir, const char *name) {
  struct memfs_node *d = node(dir);
  if (!d->nbuckets)
    return NULL;
  uint32_t h = name_hash(name);
  for (struct memfs_dirent *e = d->buckets[h & (d->nbuckets - 1)]; e;
       e = e->hash_next) {
    if (e->hash == h && !rt_strcmp(e->name, name))
      return e;
  }
  return NULL;
}

/* Make room in the hash table for one more entry. */
static int hash_reserve(struct memfs_node *d) {
  if (d->nbuckets && d->nentries < d->nbuckets * 2)
    return 0;
  uint32_t n = d->nbuckets ? d->nbuckets * 4 : 16;
  struct memfs_dirent **b = kzalloc(n * sizeof(*b));
  if (!b)
    return d->nbuckets ? 0 : -LINUX_ENOMEM; /* a full table still works */
  for (struct memfs_dirent *e = d->head; e; e = e->next) {
    e->hash_next = b[e->hash & (n - 1)];
    b[e->hash & (n - 1)] = e;
  }
  kfree(d->buckets);
  d->buckets = b;
  d->nbuckets = n;
  return 0;
}

/* Append e at the end of dir (hash_reserve succeeded). */
static void hook(struct inode *dir, struct memfs_dirent *e) {
  struct memfs_node *d = node(dir);
  e->cookie = d->next_cookie++;
  e->next = NULL;
  e->prev = d->tail;
  if (d->tail)
    d->tail->next = e;
  else
    d->head = e;
  d->tail = e;
  uint32_t b = e->hash & (d->nbuckets - 1);
  e->hash_next = d->buckets[b];
  d->buckets[b] = e;
  d->nentries++;
  dir->size += DIRENT_SIZE;
  vfs_touch_mtime(dir);
}

/* Take e out of dir without dropping its reference. */
static void unhook(struct inode *dir, struct memfs_dirent *e) {
  struct memfs_node *d = node(dir);
  if (e->prev)
    e->prev->next = e->next;
  else
    d->head = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    d->tail = e->prev;
  struct memfs_dirent **p = &d->buckets[e->hash & (d->nbuckets - 1)];
  while (*p != e)
    p = &(*p)->hash_next;
  *p = e->hash_next;
  d->nentries--;
  dir->size -= DIRENT_SIZE;
  vfs_touch_mtime(dir);
}

static struct memfs_dirent *new_entry(const char *name) {
  size_t len = rt_strlen(name);
  struct memfs_dirent *e = kmalloc(sizeof(*e) + len + 1);
  if (!e)
    return NULL;
  memcpy(e->name, name, len + 1);
  e->hash = name_hash(name);
  e->inode = NULL;
  return e;
}

/* Append an entry for inode (the entry takes a new reference). */
static int add_entry(struct inode *dir, const char *name, struct inode *inode) {
  if (hash_reserve(node(dir)) < 0)
    return -LINUX_ENOMEM;
  struct memfs_dirent *e = new_entry(name);
  if (!e)
    return -LINUX_ENOMEM;
  e->inode = vfs_inode_get(inode);
  hook(dir, e);
  return 0;
}

static int memfs_lookup(struct inode *dir, const char *name,
                        struct inode **out) {
  struct memfs_dirent *e = find(dir, name);
  if (!e)
    return -LINUX_ENOENT;
  *out = vfs_inode_get(e->inode);
  return 0;
}

static int memfs_create_op(struct inode *dir, const char *name,
                           const struct vfs_create *args, struct inode **out) {
  if (find(dir, name))
    return -LINUX_EEXIST;
  struct inode *inode = memfs_new_inode(dir->sb, args->mode);
  if (!inode)
    return -LINUX_ENOMEM;
  inode->uid = args->uid;
  inode->gid = args->gid;
  uint32_t type = args->mode & LINUX_S_IFMT;
  if (type == LINUX_S_IFCHR || type == LINUX_S_IFBLK)
    inode->rdev = args->rdev;
  if (type == LINUX_S_IFLNK) {
    size_t len = rt_strnlen(args->target, LINUX_PATH_MAX);
    if (len == 0 || len >= LINUX_PATH_MAX) {
      vfs_inode_put(inode);
      return -LINUX_EINVAL;
    }
    node(inode)->target = rt_strndup(args->target, len);
    if (!node(inode)->target) {
      vfs_inode_put(inode);
      return -LINUX_ENOMEM;
    }
    inode->size = len;
  }
  int rc = add_entry(dir, name, inode);
  if (rc < 0) {
    vfs_inode_put(inode);
    return rc;
  }
  if (type == LINUX_S_IFDIR)
    dir->nlink++;
  *out = inode; /* the allocation's reference goes to the caller */
  return 0;
}

static int memfs_link(struct inode *dir, const char *name,
                      struct inode *target) {
  if (find(dir, name))
    return -LINUX_EEXIST;
  if (target->nlink >= 65000)
    return -LINUX_EMLINK;
  int rc = add_entry(dir, name, target);
  if (rc < 0)
    return rc;
  target->nlink++;
  target->ctime = vfs_now();
  return 0;
}

/* Drop a name of inode: nlink bookkeeping for the removed entry. */
static void drop_link(struct inode *dir, struct inode *inode) {
  if (LINUX_S_ISTYPE(inode->mode, LINUX_S_IFDIR)) {
    inode->nlink = 0;
    dir->nlink--;
  } else if (inode->nlink) {
    inode->nlink--;
  }
  inode->ctime = vfs_now();
}

static int memfs_unlink(struct inode *dir, const char *name, bool is_dir) {
  struct memfs_dirent *e = find(dir, name);
  if (!e)
    return -LINUX_ENOENT;
  if (is_dir && node(e->inode)->head)
    return -LINUX_ENOTEMPTY;
  unhook(dir, e);
  drop_link(dir, e->inode);
  vfs_inode_put(e->inode);
  kfree(e);
  return 0;
}

static int memfs_rename(struct inode *olddir, const char *oldname,
                        struct inode *newdir, const char *newname,
                        unsigned flags) {
  struct memfs_dirent *oe = find(olddir, oldname);
  if (!oe)
    return -LINUX_ENOENT;
  struct memfs_dirent *ne = find(newdir, newname);
  struct inode *moved = oe->inode;
  bool moved_dir = LINUX_S_ISTYPE(moved->mode, LINUX_S_IFDIR);
  if (flags & LINUX_RENAME_EXCHANGE) {
    if (!ne)
      return -LINUX_ENOENT;
    struct inode *other = ne->inode;
    bool other_dir = LINUX_S_ISTYPE(other->mode, LINUX_S_IFDIR);
    oe->inode = other;
    ne->inode = moved;
    if (olddir != newdir && moved_dir != other_dir) {
      if (moved_dir) {
        olddir->nlink--;
        newdir->nlink++;
      } else {
        olddir->nlink++;
        newdir->nlink--;
      }
    }
    moved->ctime = other->ctime = vfs_now();
    vfs_touch_mtime(olddir);
    vfs_touch_mtime(newdir);
    return 0;
  }
  if (ne) {
    if (flags & LINUX_RENAME_NOREPLACE)
      return -LINUX_EEXIST;
    if (LINUX_S_ISTYPE(ne->inode->mode, LINUX_S_IFDIR) && node(ne->inode)->head)
      return -LINUX_ENOTEMPTY;
  }
  /* Allocate first so a failure leaves everything as it was. */
  if (hash_reserve(node(newdir)) < 0)
    return -LINUX_ENOMEM;
  struct memfs_dirent *e = new_entry(newname);
  if (!e)
    return -LINUX_ENOMEM;
  e->inode = moved; /* the old entry's reference moves here */
  if (ne) {
    unhook(newdir, ne);
    drop_link(newdir, ne->inode);
    vfs_inode_put(ne->inode);
    kfree(ne);
  }
  unhook(olddir, oe);
  kfree(oe);
  hook(newdir, e);
  if (moved_dir && olddir != newdir) {
    olddir->nlink--;
    newdir->nlink++;
  }
  moved->ctime = vfs_now();
  return 0;
}

static int memfs_readdir(struct inode *dir, uint64_t *pos, vfs_emit_fn emit,
                         void *ctx) {
  for (struct memfs_dirent *e = node(dir)->head; e; e = e->next) {
    if (e->cookie < *pos)
      continue;
    int rc = emit(ctx, e->name, rt_strlen(e->name), e->inode->ino,
                  vfs_dtype(e->inode->mode), e->cookie + 1);
    if (rc > 0)
      return 0;
    if (rc < 0)
      return rc;
    *pos = e->cookie + 1;
  }
  return 0;
}

static long memfs_readlink(struct inode *inode, char *buf, size_t len) {
  const char *t = node(inode)->target;
  if (!t)
    return -LINUX_EINVAL;
  size_t n = rt_strlen(t);
  memcpy(buf, t, MIN(n, len));
  return (long)n;
}

/* ---------------------------------------------------------------------
 * File data
 * ------------------------------------------------------------------- */

static uint8_t *page_at(struct memfs_node *n, uint64_t index) {
  uint64_t leaf = index / LEAF_PAGES;
  if (leaf >= n->nleaves || !n->leaves[leaf])
    return NULL;
  return n->leaves[leaf][index % LEAF_PAGES];
}

static uint8_t *page_make(struct memfs_node *n, uint64_t index) {
  uint64_t leaf = index / LEAF_PAGES;
  if (leaf >= n->nleaves) {
    size_t want = MAX((size_t)leaf + 1, n->nleaves * 2);
    uint8_t ***leaves = kzalloc(want * sizeof(*leaves));
    if (!leaves)
      return NULL;
    if (n->nleaves)
      memcpy(leaves, n->leaves, n->nleaves * sizeof(*leaves));
    kfree(n->leaves);
    n->leaves = leaves;
    n->nleaves = want;
  }
  if (!n->leaves[leaf]) {
    n->leaves[leaf] = kzalloc(LEAF_PAGES * sizeof(uint8_t *));
    if (!n->leaves[leaf])
      return NULL;
  }
  uint8_t **slot = &n->leaves[leaf][index % LEAF_PAGES];
  if (!*slot) {
    /* File pages live in the arena: they count against --memory, as
     * tmpfs pages count against a memory cgroup (ENOSPC beyond). */
    if (!pool_take(PAGE))
      return NULL; /* --tmp-size */
    if (mm_charge_sandbox(PAGE) < 0) {
      pool_give(PAGE);
      return NULL;
    }
    *slot = kzalloc(PAGE);
    if (!*slot) {
      mm_uncharge_sandbox(PAGE);
      pool_give(PAGE);
      return NULL;
    }
    n->pages++;
  }
  return *slot;
}

static void update_blocks(struct inode *inode) {
  inode->blocks = node(inode)->pages * (PAGE / 512);
}

static long memfs_read(struct inode *inode, void *buf, size_t len,
                       uint64_t off) {
  struct memfs_node *n = node(inode);
  if (off >= inode->size)
    return 0;
  len = (size_t)MIN((uint64_t)len, inode->size - off);
  size_t done = 0;
  while (done < len) {
    uint64_t at = off + done;
    size_t in_page = (size_t)(at % PAGE);
    size_t chunk = MIN(len - done, (size_t)(PAGE - in_page));
    uint8_t *p = page_at(n, at / PAGE);
    size_t left = p ? rt_ucopy((char *)buf + done, p + in_page, chunk)
                    : rt_ufill((char *)buf + done, 0, chunk);
    done += chunk - left;
    if (left)
      return rt_ucopy_result(len, len - done);
  }
  return (long)done;
}

static long memfs_write(struct inode *inode, const void *buf, size_t len,
                        uint64_t off) {
  struct memfs_node *n = node(inode);
  if (off >= MAX_FILE_SIZE)
    return -LINUX_EFBIG;
  len = (size_t)MIN((uint64_t)len, MAX_FILE_SIZE - off);
  size_t done = 0;
  while (done < len) {
    uint64_t at = off + done;
    size_t in_page = (size_t)(at % PAGE);
    size_t chunk = MIN(len - done, (size_t)(PAGE - in_page));
    uint8_t *p = page_make(n, at / PAGE);
    if (!p)
      break;
    size_t left = rt_ucopy(p + in_page, (const char *)buf + done, chunk);
    done += chunk - left;
    if (left) {
      if (done == 0)
        return -LINUX_EFAULT;
      break;
    }
  }
  if (done == 0)
    return -LINUX_ENOSPC;
  if (off + done > inode->size)
    inode->size = off + done;
  update_blocks(inode);
  vfs_touch_mtime(inode);
  return (long)done;
}

/* Give back the pages [first, end) that exist. */
static void drop_pages(struct memfs_node *n, uint64_t first, uint64_t end) {
  for (size_t leaf = first / LEAF_PAGES; leaf < n->nleaves; leaf++) {
    uint8_t **l = n->leaves[leaf];
    uint64_t base = leaf * LEAF_PAGES;
    if (base >= end)
      break;
    if (!l)
      continue;
    bool empty = true;
    for (uint64_t j = 0; j < LEAF_PAGES; j++) {
      if (base + j >= first && base + j < end && l[j]) {
        kfree(l[j]);
        l[j] = NULL;
        n->pages--;
        mm_uncharge_sandbox(PAGE);
        pool_give(PAGE);
      }
      if (l[j])
        empty = false;
    }
    if (empty) {
      kfree(l);
      n->leaves[leaf] = NULL;
    }
  }
}

/* Drop the data at and beyond size; zero the tail of the last page so a
 * later extension reads zeros. */
static void truncate_data(struct inode *inode, uint64_t size) {
  struct memfs_node *n = node(inode);
  if (size % PAGE) {
    uint8_t *p = page_at(n, size / PAGE);
    if (p)
      memset(p + size % PAGE, 0, PAGE - size % PAGE);
  }
  drop_pages(n, (size + PAGE - 1) / PAGE, UINT64_MAX);
}

/* fallocate PUNCH_HOLE: zeros in the partial pages at the ends, the whole
 * pages between given back (a hole reads as zeros). */
static int memfs_punch(struct inode *inode, uint64_t off, uint64_t len) {
  struct memfs_node *n = node(inode);
  if (off >= MAX_FILE_SIZE)
    return 0;
  uint64_t end = MIN(off + len, MAX_FILE_SIZE);
  uint64_t first_whole = (off + PAGE - 1) / PAGE, end_whole = end / PAGE;
  for (uint64_t idx = off / PAGE; idx * PAGE < end; idx++) {
    if (idx >= first_whole && idx < end_whole) {
      idx = end_whole - 1; /* whole pages: dropped below */
      continue;
    }
    uint64_t from = MAX(off, idx * PAGE), to = MIN(end, (idx + 1) * PAGE);
    uint8_t *p = page_at(n, idx);
    if (p)
      memset(p + from % PAGE, 0, (size_t)(to - from));
  }
  if (first_whole < end_whole)
    drop_pages(n, first_whole, end_whole);
  update_blocks(inode);
  vfs_touch_mtime(inode);
  return 0;
}

/* fallocate: every page of the range made now, or none (ENOSPC). */
static int memfs_allocate(struct inode *inode, uint64_t off, uint64_t len) {
  struct memfs_node *n = node(inode);
  if (off >= MAX_FILE_SIZE || len > MAX_FILE_SIZE - off)
    return -LINUX_EFBIG;
  uint64_t first = off / PAGE, end = (off + len + PAGE - 1) / PAGE;
  uint64_t missing = 0;
  for (uint64_t i = first; i < end; i++)
    missing += !page_at(n, i);
  if (g_pool && missing * PAGE > pool_free())
    return -LINUX_ENOSPC;
  for (uint64_t i = first; i < end; i++) {
    if (!page_make(n, i)) {
      /* Give back what lies past the end; pages inside it stay, as
       * Linux keeps what a failed fallocate wrote in a hole. */
      truncate_data(inode, inode->size);
      update_blocks(inode);
      return -LINUX_ENOSPC;
    }
  }
  update_blocks(inode);
  return 0;
}

static int memfs_setattr(struct inode *inode, const struct vfs_attr *attr) {
  if (attr->valid & VFS_ATTR_SIZE) {
    if (!LINUX_S_ISTYPE(inode->mode, LINUX_S_IFREG))
      return -LINUX_EINVAL;
    if (attr->size > MAX_FILE_SIZE)
      return -LINUX_EFBIG;
    if (attr->size < inode->size)
      truncate_data(inode, attr->size);
    if (attr->size != inode->size) {
      inode->size = attr->size;
      update_blocks(inode);
      vfs_touch_mtime(inode);
    }
  }
  vfs_attr_copy(inode, attr);
  return 0;
}

/* ---------------------------------------------------------------------
 * Extended attributes (the vfs checked names and permissions)
 * ------------------------------------------------------------------- */

static struct memfs_xattr *xattr_find(struct memfs_node *n, const char *name,
                                      struct memfs_xattr ***link) {
  struct memfs_xattr **p = &n->xattrs;
  for (; *p; p = &(*p)->next) {
    int c = rt_strcmp((*p)->name, name);
    if (c == 0)
      break;
    if (c < 0) { /* past where it would be */
      if (link)
        *link = p;
      return NULL;
    }
  }
  if (link)
    *link = p;
  return *p;
}

static void xattr_free(struct memfs_node *n, struct memfs_xattr *x) {
  n->xattr_space -= x->space;
  mm_uncharge_sandbox(x->space);
  pool_give(x->space);
  kfree(x);
}

static long memfs_getxattr(struct inode *inode, const char *name, void *buf,
                           size_t len) {
  struct memfs_xattr *x = xattr_find(node(inode), name, NULL);
  if (!x)
    return -LINUX_ENODATA;
  if (len) {
    if (x->size > len)
      return -LINUX_ERANGE;
    memcpy(buf, x->name + rt_strlen(x->name) + 1, x->size);
  }
  return x->size;
}

static int memfs_setxattr(struct inode *inode, const char *name,
                          const void *value, size_t len, unsigned flags) {
  struct memfs_node *n = node(inode);
  struct memfs_xattr **link;
  struct memfs_xattr *old = xattr_find(n, name, &link);
  if (old && (flags & VFS_XATTR_CREATE))
    return -LINUX_EEXIST;
  if (!old && (!value || (flags & VFS_XATTR_REPLACE)))
    return -LINUX_ENODATA;
  if (!value) {
    *link = old->next;
    xattr_free(n, old);
    inode->ctime = vfs_now();
    return 0;
  }
  size_t namelen = rt_strlen(name);
  uint64_t space = sizeof(struct memfs_xattr) + namelen + 1 + len;
  if (n->xattr_space - (old ? old->space : 0) + space > XATTR_SPACE_MAX)
    return -LINUX_ENOSPC;
  if (!pool_take(space))
    return -LINUX_ENOSPC; /* --tmp-size */
  if (mm_charge_sandbox(space) < 0) {
    pool_give(space);
    return -LINUX_ENOSPC;
  }
  struct memfs_xattr *x = kmalloc(sizeof(*x) + namelen + 1 + len);
  if (!x) {
    mm_uncharge_sandbox(space);
    pool_give(space);
    return -LINUX_ENOMEM;
  }
  memcpy(x->name, name, namelen + 1);
  memcpy(x->name + namelen + 1, value, len);
  x->size = (uint32_t)len;
  x->space = space;
  n->xattr_space += space;
  if (old) {
    x->next = old->next;
    xattr_free(n, old);
  } else {
    x->next = *link;
  }
  *link = x;
  inode->ctime = vfs_now();
  return 0;
}

static long memfs_listxattr(struct inode *inode, char *buf, size_t len,
                            bool trusted) {
  size_t total = 0;
  for (struct memfs_xattr *x = node(inode)->xattrs; x; x = x->next) {
    if (!trusted && !rt_strncmp(x->name, "trusted.", 8))
      continue;
    size_t need = rt_strlen(x->name) + 1;
    if (len) {
      if (total + need > len)
        return -LINUX_ERANGE;
      memcpy(buf + total, x->name, need);
    }
    total += need;
  }
  return (long)total;
}

static void memfs_evict(struct inode *inode) {
  struct memfs_node *n = node(inode);
  if (!n)
    return;
  truncate_data(inode, 0);
  while (n->xattrs) {
    struct memfs_xattr *x = n->xattrs;
    n->xattrs = x->next;
    xattr_free(n, x);
  }
  kfree(n->leaves);
  kfree(n->target);
  kfree(n->buckets);
  struct memfs_dirent *e = n->head;
  while (e) {
    struct memfs_dirent *next = e->next;
    vfs_inode_put(e->inode);
    kfree(e);
    e = next;
  }
  kfree(n);
  inode->private = NULL;
}

static const struct inode_ops memfs_iops = {
    .lookup = memfs_lookup,
    .create = memfs_create_op,
    .link = memfs_link,
    .unlink = memfs_unlink,
    .rename = memfs_rename,
    .readdir = memfs_readdir,
    .readlink = memfs_readlink,
    .setattr = memfs_setattr,
    .read = memfs_read,
    .write = memfs_write,
    .allocate = memfs_allocate,
    .punch = memfs_punch,
    .getxattr = memfs_getxattr,
    .setxattr = memfs_setxattr,
    .listxattr = memfs_listxattr,
    .evict = memfs_evict,
};
