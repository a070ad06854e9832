/* tarfs: a read-only file system over a tar image held in one mapping.
 *
 * The image is parsed once at boot into a tree of inodes; regular files
 * point into the mapping, so file data is never copied. Supported: ustar
 * (name + prefix), old v7 headers, GNU long names and link names ('L',
 * 'K'), pax extended headers ('x' for the next entry, 'g' for all that
 * follow: path, linkpath, size, mtime, uid, gid). Entry types: regular
 * files, hard links, symlinks, character and block devices, directories,
 * fifos; GNU sparse files, volume labels and unknown types are skipped.
 *
 * The image is untrusted input. Every header is checked (checksum, every
 * numeric field, sizes against the end of the mapping, overflow) and a bad
 * one fails the whole image with a reason naming the offset. Names are
 * cleaned ("./" and leading "/" dropped); an entry with a ".." component,
 * an over-long name or a path through a non-directory is skipped, as tar
 * itself refuses to extract it. Later entries replace earlier ones of the
 * same name, as extraction would. */
#include "tarfs.h"

#include "rt.h"
#include "vfs.h"

#define BLOCK 512u

/* Header field offsets and sizes (POSIX ustar). */
#define H_NAME 0
#define H_MODE 100
#define H_UID 108
#define H_GID 116
#define H_SIZE 124
#define H_MTIME 136
#define H_CHKSUM 148
#define H_TYPE 156
#define H_LINKNAME 157
#define H_MAGIC 257
#define H_DEVMAJOR 329
#define H_DEVMINOR 337
#define H_PREFIX 345

struct tarfs_dirent {
  struct tarfs_dirent *sibling;   /* next in the directory, in order */
  struct tarfs_dirent *hash_next; /* next in the hash bucket */
  struct inode *dir;
  struct inode *inode; /* the fs holds one reference per dirent */
  uint64_t cookie;     /* readdir position, >= 2 */
  uint32_t hash;
  uint32_t namelen;
  char name[];
};

struct tarfs_node { /* inode->private */
  const char *data; /* regular: bytes in the image; symlink: the target */
  uint64_t size;
  struct tarfs_dirent *first, *last; /* directories */
  uint64_t next_cookie;
};

struct tarfs {
  struct tarfs_dirent **buckets;
  size_t nbuckets, count;
};

/* Everything the meta headers ('L', 'K', 'x', 'g') say about what follows. */
struct tar_meta {
  char *longname, *longlink; /* kmalloc'd */
  char *path, *linkpath;     /* pax, kmalloc'd */
  bool name_bad, link_bad;   /* too long: skip the entry */
  bool has_size, has_mtime, has_uid, has_gid;
  uint64_t size;
  int64_t mtime_sec;
  int64_t mtime_nsec;
  uint32_t uid, gid;
};

struct parser {
  const unsigned char *base;
  size_t size;
  struct superblock *sb;
  struct tarfs *fs;
  struct tar_meta meta;   /* for the next entry only */
  struct tar_meta global; /* from 'g' headers: mtime, uid, gid */
  char *why;
  size_t whylen;
};

static const struct inode_ops tarfs_iops;

/* ---- the tree ---- */

static uint32_t name_hash(const struct inode *dir, const char *name,
                          size_t len) {
  uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)dir;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)name[i];
    h *= 1099511628211ull;
  }
  return (uint32_t)(h ^ (h >> 32));
}

static struct tarfs_dirent *tree_find(struct tarfs *fs, struct inode *dir,
                                      const char *name, size_t len) {
  uint32_t h = name_hash(dir, name, len);
  for (struct tarfs_dirent *d = fs->buckets[h & (fs->nbuckets - 1)]; d;
       d = d->hash_next)
    if (d->hash == h && d->dir == dir && d->namelen == len &&
        memcmp(d->name, name, len) == 0)
      return d;
  return NULL;
}

static int tree_grow(struct tarfs *fs) {
  size_t n = fs->nbuckets * 2;
  struct tarfs_dirent **b = kzalloc(n * sizeof(*b));
  if (!b)
    return -LINUX_ENOMEM;
  for (size_t i = 0; i < fs->nbuckets; i++) {
    struct tarfs_dirent *d = fs->buckets[i];
    while (d) {
      struct tarfs_dirent *next = d->hash_next;
      d->hash_next = b[d->hash & (n - 1)];
      b[d->hash & (n - 1)] = d;
      d = next;
    }
  }
  kfree(fs->buckets);
  fs->buckets = b;
  fs->nbuckets = n;
  return 0;
}

static int tree_add(struct tarfs *fs, struct inode *dir, const char *name,
                    size_t len, struct inode *inode) {
  if (fs->count >= fs->nbuckets * 2) {
    int err = tree_grow(fs);
    if (err)
      return err;
  }
  struct tarfs_dirent *d = kmalloc(sizeof(*d) + len + 1);
  if (!d)
    return -LINUX_ENOMEM;
  struct tarfs_node *dn = dir->private;
  memcpy(d->name, name, len);
  d->name[len] = 0;
  d->namelen = (uint32_t)len;
  d->dir = dir;
  d->inode = inode;
  d->hash = name_hash(dir, name, len);
  d->cookie = dn->next_cookie++;
  d->sibling = NULL;
  if (dn->last)
    dn->last->sibling = d;
  else
    dn->first = d;
  dn->last = d;
  d->hash_next = fs->buckets[d->hash & (fs->nbuckets - 1)];
  fs->buckets[d->hash & (fs->nbuckets - 1)] = d;
  fs->count++;
  if (LINUX_S_ISTYPE(inode->mode, LINUX_S_IFDIR))
    dir->nlink++;
  return 0;
}

static struct inode *node_alloc(struct superblock *sb, uint32_t mode) {
  struct tarfs_node *n = kzalloc(sizeof(*n));
  if (!n)
    return NULL;
  struct inode *inode = vfs_inode_alloc(sb, mode, &tarfs_iops, NULL);
  if (!inode) {
    kfree(n);
    return NULL;
  }
  n->next_cookie = 2;
  inode->private = n;
  return inode;
}

/* ---- inode operations (read-only) ---- */

static int tarfs_lookup(struct inode *dir, const char *name,
                        struct inode **out) {
  struct tarfs *fs = dir->sb->private;
  struct tarfs_dirent *d = tree_find(fs, dir, name, rt_strlen(name));
  if (!d)
    return -LINUX_ENOENT;
  *out = vfs_inode_get(d->inode);
  return 0;
}

static int tarfs_readdir(struct inode *dir, uint64_t *pos, vfs_emit_fn emit,
                         void *ctx) {
  struct tarfs_node *dn = dir->private;
  for (struct tarfs_dirent *d = dn->first; d; d = d->sibling) {
    if (d->cookie < *pos)
      continue;
    int r = emit(ctx, d->name, d->namelen, d->inode->ino,
                 vfs_dtype(d->inode->mode), d->cookie + 1);
    if (r > 0)
      return 0;
    if (r < 0)
      return r;
    *pos = d->cookie + 1;
  }
  return 0;
}

static long tarfs_readlink(struct inode *inode, char *buf, size_t len) {
  struct tarfs_node *n = inode->private;
  if (!LINUX_S_ISTYPE(inode->mode, LINUX_S_IFLNK))
    return -LINUX_EINVAL;
  memcpy(buf, n->data, MIN(len, (size_t)n->size));
  return (long)n->size;
}

static long tarfs_read(struct inode *inode, void *buf, size_t len,
                       uint64_t off) {
  struct tarfs_node *n = inode->private;
  if (!LINUX_S_ISTYPE(inode->mode, LINUX_S_IFREG))
    return -LINUX_EINVAL;
  if (off >= n->size)
    return 0;
  size_t count = (size_t)MIN((uint64_t)len, n->size - off);
  return rt_ucopy_result(count, rt_ucopy(buf, n->data + off, count));
}

/* An image's files have no extended attributes (PAX SCHILY.xattr records
 * are not read): a file system that could keep them, with none. */
static long tarfs_getxattr(struct inode *inode, const char *name, void *buf,
                           size_t len) {
  return -LINUX_ENODATA;
}

static long tarfs_listxattr(struct inode *inode, char *buf, size_t len,
                            bool trusted) {
  return 0;
}

static void tarfs_evict(struct inode *inode) {
  struct tarfs_node *n = inode->private;
  if (!n)
    return;
  if (LINUX_S_ISTYPE(inode->mode, LINUX_S_IFLNK))
    kfree((void *)n->data);
  kfree(n);
  inode->private = NULL;
}

static const struct inode_ops tarfs_iops = {
    .evict = tarfs_evict,
    .lookup = tarfs_lookup,
    .readdir = tarfs_readdir,
    .readlink = tarfs_readlink,
    .read = tarfs_read,
    .getxattr = tarfs_getxattr,
    .listxattr = tarfs_listxattr,
};

/* ---- parsing ---- */

static int fail(struct parser *ps, const char *what, uint64_t off) {
  rt_snprintf(ps->why, ps->whylen, "tar image: %s at offset %llu", what,
              (unsigned long long)off);
  return -LINUX_EINVAL;
}

/* A numeric header field: octal digits with optional leading spaces and a
 * space or NUL terminator (an all-NUL or all-space field is 0), or GNU
 * base-256 (first byte 0x80, big-endian value after it). */
static bool parse_number(const unsigned char *f, size_t n, uint64_t *out) {
  uint64_t v = 0;
  if (f[0] == 0x80) {
    for (size_t i = 1; i < n; i++) {
      if (v >> 56)
        return false;
      v = (v << 8) | f[i];
    }
    *out = v;
    return true;
  }
  if (f[0] & 0x80)
    return false; /* negative base-256 */
  size_t i = 0;
  while (i < n && f[i] == ' ')
    i++;
  bool digits = false;
  for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
    if (v >> 61)
      return false;
    v = (v << 3) | (uint64_t)(f[i] - '0');
    digits = true;
  }
  for (; i < n; i++)
    if (f[i] != ' ' && f[i] != 0)
      return false;
  (void)digits;
  *out = v;
  return true;
}

static bool checksum_ok(const unsigned char *h) {
  uint64_t want;
  if (!parse_number(h + H_CHKSUM, 8, &want))
    return false;
  uint64_t usum = 0;
  int64_t ssum = 0;
  for (size_t i = 0; i < BLOCK; i++) {
    unsigned char c = (i >= H_CHKSUM && i < H_CHKSUM + 8) ? ' ' : h[i];
    usum += c;
    ssum += (signed char)c;
  }
  return usum == want || (uint64_t)ssum == want;
}

static bool block_zero(const unsigned char *h, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (h[i])
      return false;
  return true;
}

static void meta_clear(struct tar_meta *m) {
  kfree(m->longname);
  kfree(m->longlink);
  kfree(m->path);
  kfree(m->linkpath);
  memset(m, 0, sizeof(*m));
}

/* A copy of a name from entry data (up to its first NUL); NULL and *bad
 * when empty or longer than PATH_MAX. */
static int copy_name(const unsigned char *p, size_t n, char **out, bool *bad) {
  size_t len = rt_strnlen((const char *)p, n);
  kfree(*out);
  *out = NULL;
  *bad = false;
  if (len == 0 || len >= LINUX_PATH_MAX) {
    *bad = true;
    return 0;
  }
  *out = rt_strndup((const char *)p, len);
  return *out ? 0 : -LINUX_ENOMEM;
}

static bool parse_decimal(const char *s, size_t n, uint64_t *out) {
  uint64_t v = 0;
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    if (v > (UINT64_MAX - 9) / 10)
      return false;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  *out = v;
  return true;
}

/* A pax time: [-]seconds[.fraction]. */
static bool parse_pax_time(const char *s, size_t n, int64_t *sec,
                           int64_t *nsec) {
  bool neg = n > 0 && s[0] == '-';
  size_t i = neg ? 1 : 0;
  size_t dot = i;
  while (dot < n && s[dot] != '.')
    dot++;
  uint64_t v;
  if (!parse_decimal(s + i, dot - i, &v) || v > (uint64_t)INT64_MAX)
    return false;
  int64_t ns = 0;
  if (dot < n) {
    int64_t scale = 100000000;
    for (size_t j = dot + 1; j < n; j++) {
      if (s[j] < '0' || s[j] > '9')
        return false;
      ns += (s[j] - '0') * scale;
      scale /= 10;
    }
  }
  *sec = neg ? -(int64_t)v : (int64_t)v;
  *nsec = neg ? 0 : ns;
  return true;
}

static int parse_pax(struct parser *ps, const char *p, size_t n, bool global,
                     uint64_t off) {
  struct tar_meta *m = global ? &ps->global : &ps->meta;
  size_t at = 0;
  while (at < n) {
    if (p[at] == 0 && block_zero((const unsigned char *)p + at, n - at))
      break; /* NUL padding after the last record */
    size_t sp = at;
    while (sp < n && p[sp] >= '0' && p[sp] <= '9' && sp - at < 20)
      sp++;
    uint64_t reclen;
    if (sp >= n || p[sp] != ' ' || !parse_decimal(p + at, sp - at, &reclen) ||
        reclen < 5 || reclen > n - at || p[at + reclen - 1] != '\n')
      return fail(ps, "bad pax header record", off);
    const char *key = p + sp + 1;
    const char *end = p + at + reclen - 1; /* the '\n' */
    const char *eq = key;
    while (eq < end && *eq != '=')
      eq++;
    if (eq >= end || eq == key)
      return fail(ps, "bad pax header record", off);
    size_t klen = (size_t)(eq - key);
    const char *val = eq + 1;
    size_t vlen = (size_t)(end - val);
#define KEY_IS(s) (klen == sizeof(s) - 1 && memcmp(key, s, klen) == 0)
    uint64_t num;
    int err = 0;
    if (KEY_IS("path") && !global) {
      if (rt_strnlen(val, vlen) != vlen)
        return fail(ps, "bad pax path", off);
      err = copy_name((const unsigned char *)val, vlen, &m->path, &m->name_bad);
    } else if (KEY_IS("linkpath") && !global) {
      if (rt_strnlen(val, vlen) != vlen)
        return fail(ps, "bad pax linkpath", off);
      err = copy_name((const unsigned char *)val, vlen, &m->linkpath,
                      &m->link_bad);
    } else if (KEY_IS("size") && !global) {
      if (!parse_decimal(val, vlen, &num))
        return fail(ps, "bad pax size", off);
      m->size = num;
      m->has_size = true;
    } else if (KEY_IS("mtime")) {
      if (!parse_pax_time(val, vlen, &m->mtime_sec, &m->mtime_nsec))
        return fail(ps, "bad pax mtime", off);
      m->has_mtime = true;
    } else if (KEY_IS("uid") || KEY_IS("gid")) {
      if (!parse_decimal(val, vlen, &num) || num > UINT32_MAX)
        return fail(ps, "bad pax uid/gid", off);
      if (key[0] == 'u') {
        m->uid = (uint32_t)num;
        m->has_uid = true;
      } else {
        m->gid = (uint32_t)num;
        m->has_gid = true;
      }
    }
#undef KEY_IS
    if (err)
      return err;
    at += reclen;
  }
  return 0;
}

/* Clean a member name into out (components joined by '/', no leading '/',
 * no "." components). false: skip the entry (".." or a too long
 * component). An empty result names the root. */
static bool clean_name(const char *in, char *out, size_t outlen) {
  size_t o = 0;
  const char *p = in;
  while (*p) {
    while (*p == '/')
      p++;
    const char *c = p;
    while (*p && *p != '/')
      p++;
    size_t len = (size_t)(p - c);
    if (len == 0 || (len == 1 && c[0] == '.'))
      continue;
    if (len == 2 && c[0] == '.' && c[1] == '.')
      return false;
    if (len > LINUX_NAME_MAX || o + len + 2 > outlen)
      return false;
    if (o)
      out[o++] = '/';
    memcpy(out + o, c, len);
    o += len;
  }
  out[o] = 0;
  return true;
}

/* Walk the directories of the cleaned path, creating missing ones, and
 * leave in *dir the parent of the last component and in *last its name.
 * Returns 1 when a component is not a directory (skip the entry). */
static int walk_parent(struct parser *ps, char *path, struct inode **dir,
                       const char **last, const struct inode *attrs) {
  struct inode *cur = ps->sb->root;
  char *p = path;
  for (;;) {
    char *slash = rt_strchr(p, '/');
    if (!slash)
      break;
    size_t len = (size_t)(slash - p);
    struct tarfs_dirent *d = tree_find(ps->fs, cur, p, len);
    if (d) {
      if (!LINUX_S_ISTYPE(d->inode->mode, LINUX_S_IFDIR))
        return 1;
      cur = d->inode;
    } else {
      struct inode *n = node_alloc(ps->sb, LINUX_S_IFDIR | 0755);
      if (!n)
        return -LINUX_ENOMEM;
      n->mtime = n->atime = n->ctime = attrs->mtime;
      int err = tree_add(ps->fs, cur, p, len, n);
      if (err) {
        vfs_inode_put(n);
        return err;
      }
      cur = n;
    }
    p = slash + 1;
  }
  *dir = cur;
  *last = p;
  return 0;
}

/* Resolve a hard link target (a member name, no symlinks followed). */
static struct inode *find_member(struct parser *ps, char *path) {
  struct inode *cur = ps->sb->root;
  char *p = path;
  if (!*p)
    return cur;
  for (;;) {
    char *slash = rt_strchr(p, '/');
    size_t len = slash ? (size_t)(slash - p) : rt_strlen(p);
    struct tarfs_dirent *d = tree_find(ps->fs, cur, p, len);
    if (!d)
      return NULL;
    cur = d->inode;
    if (!slash)
      return cur;
    if (!LINUX_S_ISTYPE(cur->mode, LINUX_S_IFDIR))
      return NULL;
    p = slash + 1;
  }
}

static void apply_attrs(struct inode *dst, const struct inode *src) {
  uint32_t type = dst->mode & LINUX_S_IFMT;
  dst->mode = type | (src->mode & 07777);
  dst->uid = src->uid;
  dst->gid = src->gid;
  dst->atime = dst->mtime = dst->ctime = src->mtime;
}

/* Put node under dir as name, replacing an earlier entry of that name.
 * Consumes the caller's reference to node. */
static int place(struct parser *ps, struct inode *dir, const char *name,
                 struct inode *node) {
  size_t len = rt_strlen(name);
  struct tarfs_dirent *d = tree_find(ps->fs, dir, name, len);
  if (!d)
    return tree_add(ps->fs, dir, name, len, node);
  struct inode *old = d->inode;
  bool old_dir = LINUX_S_ISTYPE(old->mode, LINUX_S_IFDIR);
  bool new_dir = LINUX_S_ISTYPE(node->mode, LINUX_S_IFDIR);
  if (old_dir && new_dir) {
    apply_attrs(old, node); /* a directory listed twice */
    vfs_inode_put(node);
    return 0;
  }
  if (old_dir && ((struct tarfs_node *)old->private)->first) {
    vfs_inode_put(node); /* tar cannot replace a non-empty directory */
    return 0;
  }
  if (old_dir)
    dir->nlink--;
  if (new_dir)
    dir->nlink++;
  if (old->nlink)
    old->nlink--;
  d->inode = node;
  vfs_inode_put(old);
  return 0;
}

static int add_entry(struct parser *ps, const unsigned char *h, char type,
                     const char *name, const char *link, uint64_t data_off,
                     uint64_t size, uint64_t hoff) {
  uint64_t mode, uid, gid, mtime, major, minor;
  if (!parse_number(h + H_MODE, 8, &mode) ||
      !parse_number(h + H_UID, 8, &uid) || !parse_number(h + H_GID, 8, &gid) ||
      !parse_number(h + H_MTIME, 12, &mtime))
    return fail(ps, "bad number in header", hoff);
  if (type == '3' || type == '4') {
    if (!parse_number(h + H_DEVMAJOR, 8, &major) ||
        !parse_number(h + H_DEVMINOR, 8, &minor) || major > 0xffffffffu ||
        minor > 0xffffffffu)
      return fail(ps, "bad device number in header", hoff);
  } else {
    major = minor = 0;
  }
  if (uid > UINT32_MAX || gid > UINT32_MAX)
    return fail(ps, "bad uid/gid in header", hoff);

  struct inode attrs = {0};
  attrs.mode = (uint32_t)(mode & 07777);
  attrs.uid = ps->meta.has_uid     ? ps->meta.uid
              : ps->global.has_uid ? ps->global.uid
                                   : (uint32_t)uid;
  attrs.gid = ps->meta.has_gid     ? ps->meta.gid
              : ps->global.has_gid ? ps->global.gid
                                   : (uint32_t)gid;
  if (ps->meta.has_mtime) {
    attrs.mtime.tv_sec = ps->meta.mtime_sec;
    attrs.mtime.tv_nsec = ps->meta.mtime_nsec;
  } else if (ps->global.has_mtime) {
    attrs.mtime.tv_sec = ps->global.mtime_sec;
    attrs.mtime.tv_nsec = ps->global.mtime_nsec;
  } else {
    attrs.mtime.tv_sec = mtime > (uint64_t)INT64_MAX ? 0 : (int64_t)mtime;
  }

  uint32_t ftype;
  switch (type) {
  case '0':
  case '7':
  case 0:
    ftype = LINUX_S_IFREG;
    break;
  case '1':
    ftype = 0; /* hard link */
    break;
  case '2':
    ftype = LINUX_S_IFLNK;
    break;
  case '3':
    ftype = LINUX_S_IFCHR;
    break;
  case '4':
    ftype = LINUX_S_IFBLK;
    break;
  case '5':
  case 'D':
    ftype = LINUX_S_IFDIR;
    break;
  case '6':
    ftype = LINUX_S_IFIFO;
    break;
  default:
    return 0; /* sparse, labels, unknown: skip */
  }
  size_t nlen = rt_strlen(name);
  if ((type == 0 || type == '0') && nlen && name[nlen - 1] == '/')
    ftype = LINUX_S_IFDIR; /* old tars mark directories by a slash */

  char *clean = kmalloc(LINUX_PATH_MAX);
  char *lclean = NULL;
  int err = 0;
  if (!clean)
    return -LINUX_ENOMEM;
  if (!clean_name(name, clean, LINUX_PATH_MAX))
    goto out; /* skipped */

  if (!*clean) { /* the root itself */
    if (ftype == LINUX_S_IFDIR)
      apply_attrs(ps->sb->root, &attrs);
    goto out;
  }
  struct inode *dir;
  const char *last;
  err = walk_parent(ps, clean, &dir, &last, &attrs);
  if (err) {
    err = err > 0 ? 0 : err;
    goto out;
  }

  if (ftype == 0) {
    lclean = kmalloc(LINUX_PATH_MAX);
    if (!lclean) {
      err = -LINUX_ENOMEM;
      goto out;
    }
    if (!link || !clean_name(link, lclean, LINUX_PATH_MAX))
      goto out;
    struct inode *target = find_member(ps, lclean);
    if (!target || LINUX_S_ISTYPE(target->mode, LINUX_S_IFDIR))
      goto out;
    struct tarfs_dirent *d = tree_find(ps->fs, dir, last, rt_strlen(last));
    if (d && d->inode == target)
      goto out;
    target->nlink++;
    err = place(ps, dir, last, vfs_inode_get(target));
    goto out;
  }

  if (ftype == LINUX_S_IFLNK && (!link || !*link))
    goto out; /* a symlink to nothing */
  struct inode *node = node_alloc(ps->sb, ftype | attrs.mode);
  if (!node) {
    err = -LINUX_ENOMEM;
    goto out;
  }
  apply_attrs(node, &attrs);
  struct tarfs_node *tn = node->private;
  if (ftype == LINUX_S_IFREG) {
    tn->data = (const char *)ps->base + data_off;
    tn->size = size;
    node->size = size;
  } else if (ftype == LINUX_S_IFLNK) {
    tn->data = rt_strdup(link);
    if (!tn->data) {
      vfs_inode_put(node);
      err = -LINUX_ENOMEM;
      goto out;
    }
    tn->size = rt_strlen(link);
    node->size = tn->size;
  } else if (ftype == LINUX_S_IFCHR || ftype == LINUX_S_IFBLK) {
    node->rdev = VFS_MKDEV(major, minor);
  }
  err = place(ps, dir, last, node);
out:
  kfree(clean);
  kfree(lclean);
  return err;
}

static int parse(struct parser *ps) {
  uint64_t off = 0;
  int err = 0;
  while (off < ps->size) {
    if (ps->size - off < BLOCK) {
      if (!block_zero(ps->base + off, ps->size - off))
        return fail(ps, "truncated header", off);
      break;
    }
    const unsigned char *h = ps->base + off;
    if (block_zero(h, BLOCK))
      break; /* end of archive */
    if (!checksum_ok(h))
      return fail(ps, "bad header checksum", off);
    uint64_t size;
    if (!parse_number(h + H_SIZE, 12, &size))
      return fail(ps, "bad size field", off);
    char type = (char)h[H_TYPE];
    bool meta_hdr = type == 'x' || type == 'g' || type == 'L' || type == 'K';
    if (ps->meta.has_size && !meta_hdr)
      size = ps->meta.size;
    /* Links, devices, directories and fifos have no data in the archive;
     * everything else (including unknown types, which POSIX says to read
     * as regular files) does. */
    bool has_data = !(type >= '1' && type <= '6');
    uint64_t data_off = off + BLOCK;
    uint64_t avail = ps->size - data_off;
    uint64_t dsize = has_data ? size : 0;
    if (dsize > avail)
      return fail(ps, "entry data past the end of the image", off);
    uint64_t padded = ALIGN_UP(dsize, (uint64_t)BLOCK);
    if (padded > avail)
      padded = avail; /* the last block may lack its padding */
    const unsigned char *data = ps->base + data_off;

    switch (type) {
    case 'L':
      err = copy_name(data, (size_t)dsize, &ps->meta.longname,
                      &ps->meta.name_bad);
      break;
    case 'K':
      err = copy_name(data, (size_t)dsize, &ps->meta.longlink,
                      &ps->meta.link_bad);
      break;
    case 'x':
    case 'g':
      err = parse_pax(ps, (const char *)data, (size_t)dsize, type == 'g', off);
      break;
    default: {
      char name[H_PREFIX + 155 + 2];
      bool ustar = memcmp(h + H_MAGIC, "ustar", 5) == 0;
      bool posix = ustar && h[H_MAGIC + 5] == 0;
      size_t nl = rt_strnlen((const char *)h + H_NAME, 100);
      size_t pl = posix ? rt_strnlen((const char *)h + H_PREFIX, 155) : 0;
      size_t o = 0;
      if (pl) {
        memcpy(name, h + H_PREFIX, pl);
        o = pl;
        name[o++] = '/';
      }
      memcpy(name + o, h + H_NAME, nl);
      name[o + nl] = 0;
      char link[101];
      size_t ll = rt_strnlen((const char *)h + H_LINKNAME, 100);
      memcpy(link, h + H_LINKNAME, ll);
      link[ll] = 0;
      const char *use_name = ps->meta.path       ? ps->meta.path
                             : ps->meta.longname ? ps->meta.longname
                                                 : name;
      const char *use_link = ps->meta.linkpath   ? ps->meta.linkpath
                             : ps->meta.longlink ? ps->meta.longlink
                                                 : link;
      bool skip = (ps->meta.name_bad && !ps->meta.path) ||
                  ((type == '1' || type == '2') && ps->meta.link_bad &&
                   !ps->meta.linkpath);
      if (!skip)
        err = add_entry(ps, h, type, use_name, use_link, data_off, dsize, off);
      meta_clear(&ps->meta);
      break;
    }
    }
    if (err)
      return err;
    off = data_off + padded;
  }
  if (ps->meta.longname || ps->meta.path || ps->meta.longlink ||
      ps->meta.linkpath)
    return fail(ps, "extended header without an entry", off);
  return 0;
}

/* Undo a half-built tree after a parse error. */
static void destroy(struct tarfs *fs, struct inode *root) {
  for (size_t i = 0; i < fs->nbuckets; i++) {
    struct tarfs_dirent *d = fs->buckets[i];
    while (d) {
      struct tarfs_dirent *next = d->hash_next;
      vfs_inode_put(d->inode);
      kfree(d);
      d = next;
    }
  }
  vfs_inode_put(root);
  kfree(fs->buckets);
  kfree(fs);
}

int tarfs_create(const void *base, size_t size, struct superblock **out,
                 char *why, size_t whylen) {
  struct parser ps = {.base = base, .size = size, .why = why, .whylen = whylen};
  int err;
  if (why && whylen)
    why[0] = 0;
  if (!base && size)
    return fail(&ps, "no image", 0);
  ps.fs = kzalloc(sizeof(*ps.fs));
  ps.sb = vfs_sb_alloc("tarfs", TARFS_MAGIC, VFS_SB_RDONLY);
  if (!ps.fs || !ps.sb) {
    err = -LINUX_ENOMEM;
    goto fail_out;
  }
  ps.fs->nbuckets = 256;
  ps.fs->buckets = kzalloc(ps.fs->nbuckets * sizeof(*ps.fs->buckets));
  struct inode *root = node_alloc(ps.sb, LINUX_S_IFDIR | 0755);
  if (!ps.fs->buckets || !root) {
    err = -LINUX_ENOMEM;
    goto fail_out;
  }
  ps.sb->root = root;
  ps.sb->private = ps.fs;
  err = parse(&ps);
  meta_clear(&ps.meta);
  meta_clear(&ps.global);
  if (err) {
    if (err == -LINUX_ENOMEM && why && !why[0])
      rt_snprintf(why, whylen, "tar image: out of memory while reading it");
    destroy(ps.fs, root);
    /* The superblock itself stays (the vfs has no way to free one). */
    return err;
  }
  *out = ps.sb;
  return 0;
fail_out:
  if (why && whylen)
    rt_snprintf(why, whylen, "tar image: out of memory");
  return err;
}
