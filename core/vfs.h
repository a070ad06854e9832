/* The virtual file system: inodes, superblocks, mounts, the operations a
 * file system implements, and path resolution. Every file system of the
 * core (memfs, overlay, tarfs, devfs, hostfs) plugs in here; the moat_*
 * file calls (core/fs_api.c) go through it.
 *
 * Locking model (keep it in mind when writing a file system):
 *  - Namespace operations (lookup, create, link, unlink, rename, readdir,
 *    readlink, setattr) are called with the global vfs lock held,
 *    so a file system needs no locking of its directory structures. A file
 *    system MUST NOT call back into functions of this header that resolve
 *    paths or take the vfs lock (vfs_resolve, vfs_mount, vfs_mkdir_p ...);
 *    it may call the helpers marked "lock-free" and other inodes' ops.
 *  - getattr (a stat, lseek(SEEK_END), O_APPEND) runs without the vfs lock:
 *    it may only refresh the struct inode's attribute fields.
 *  - Data operations (inode_ops read/write/fsync, file_ops read/write/ioctl)
 *    run WITHOUT the vfs lock (a pipe or tty read may block). inode->lock
 *    is held by the generic file ops around inode_ops read/write of regular
 *    files, and by the vfs around a size change (setattr with VFS_ATTR_SIZE).
 *  - Every object is allocated from the arena (kmalloc) so it can later be
 *    shared across guest processes.
 *
 * Inode identity: a file system SHOULD return the same struct inode for the
 * same object while it is referenced (memfs, tarfs, devfs and overlay do).
 * The vfs does not depend on it for mounts: a mount point is matched by
 * (superblock, ino).
 */
#ifndef MOAT_CORE_VFS_H
#define MOAT_CORE_VFS_H

#include "rt.h"

struct inode;
struct superblock;
struct mount;
struct file;
struct pipe;

/* ---------------------------------------------------------------------
 * Device numbers (Linux's encoding, so stat shows what Linux shows)
 * ------------------------------------------------------------------- */
#define VFS_MKDEV(major, minor)                                                \
  ((((uint64_t)(major)&0xfffff000ull) << 32) |                                 \
   (((uint64_t)(major)&0xfffull) << 8) |                                       \
   (((uint64_t)(minor)&0xffffff00ull) << 12) | ((uint64_t)(minor)&0xffull))
#define VFS_MAJOR(dev)                                                         \
  ((uint32_t)((((dev) >> 32) & 0xfffff000u) | (((dev) >> 8) & 0xfffu)))
#define VFS_MINOR(dev)                                                         \
  ((uint32_t)((((dev) >> 12) & 0xffffff00u) | ((dev)&0xffu)))

/* ---------------------------------------------------------------------
 * Attribute changes (setattr)
 * ------------------------------------------------------------------- */
#define VFS_ATTR_MODE 0x01 /* permission bits only (type bits kept) */
#define VFS_ATTR_UID 0x02
#define VFS_ATTR_GID 0x04
#define VFS_ATTR_SIZE 0x08  /* truncate or extend a regular file */
#define VFS_ATTR_ATIME 0x10 /* atime from attr->atime */
#define VFS_ATTR_MTIME 0x20
#define VFS_ATTR_CTIME 0x40 /* the vfs sets this along with any change */

struct vfs_attr {
  unsigned valid; /* VFS_ATTR_* */
  uint32_t mode;
  uint32_t uid, gid;
  uint64_t size;
  struct linux_timespec atime, mtime, ctime;
};

/* What create makes: mode carries the type (LINUX_S_IFREG, S_IFDIR,
 * S_IFLNK, S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK) and the permission bits
 * (umask already applied). */
struct vfs_create {
  uint32_t mode;
  uint32_t uid, gid;
  uint64_t rdev;      /* S_IFCHR / S_IFBLK */
  const char *target; /* S_IFLNK: NUL-terminated, 1..PATH_MAX-1 bytes */
};

/* readdir hands each entry to emit. emit returns 0 when it took the entry,
 * > 0 when the caller's buffer is full (the entry was NOT taken: leave
 * *pos on it), < 0 on error (stop and return it). next_pos is the cookie
 * of the entry after this one (it becomes d_off). */
typedef int (*vfs_emit_fn)(void *ctx, const char *name, size_t namelen,
                           uint64_t ino, unsigned dtype, uint64_t next_pos);

/* ---------------------------------------------------------------------
 * Extended attributes (Linux's limits, include/uapi/linux/limits.h)
 * ------------------------------------------------------------------- */
#define VFS_XATTR_CREATE LINUX_XATTR_CREATE
#define VFS_XATTR_REPLACE LINUX_XATTR_REPLACE
#define VFS_XATTR_NAME_MAX LINUX_XATTR_NAME_MAX
#define VFS_XATTR_SIZE_MAX LINUX_XATTR_SIZE_MAX
#define VFS_XATTR_LIST_MAX LINUX_XATTR_LIST_MAX

/* ---------------------------------------------------------------------
 * Operations on inodes. Names are single components, NUL-terminated,
 * 1..255 bytes, never "." or "..", never containing '/'. The vfs has
 * already checked permissions, read-only superblocks, existence and types
 * as described per op; the file system checks what only it can know.
 * Any op may be NULL: the vfs then answers as noted.
 * ------------------------------------------------------------------- */
struct inode_ops {
  /* Find name in dir; store a new reference in *out. -ENOENT if absent.
   * NULL: every lookup fails with -ENOENT. */
  int (*lookup)(struct inode *dir, const char *name, struct inode **out);
  /* Make a new object name in dir (the vfs checked that name is absent).
   * Store a new reference in *out. NULL: -EPERM (-EROFS on a read-only
   * superblock). */
  int (*create)(struct inode *dir, const char *name,
                const struct vfs_create *args, struct inode **out);
  /* Add name in dir for target (same superblock, not a directory, name
   * absent). The file system increments target->nlink. */
  int (*link)(struct inode *dir, const char *name, struct inode *target);
  /* Remove name from dir. is_dir: rmdir (the vfs checked the entry is a
   * directory; the fs returns -ENOTEMPTY if it has entries); otherwise
   * unlink (the vfs checked it is not a directory). The fs decrements
   * nlink; the inode lives on while referenced. */
  int (*unlink)(struct inode *dir, const char *name, bool is_dir);
  /* Move olddir/oldname to newdir/newname within one superblock. flags:
   * LINUX_RENAME_NOREPLACE (the vfs already checked newname is absent),
   * LINUX_RENAME_EXCHANGE (both exist; swap them). Without flags, an
   * existing newname is replaced; the vfs checked types are compatible
   * (dir over dir, non-dir over non-dir), that a directory is not moved
   * below itself, and that both names do not name the same inode. The fs
   * returns -ENOTEMPTY for a non-empty directory being replaced. */
  int (*rename)(struct inode *olddir, const char *oldname, struct inode *newdir,
                const char *newname, unsigned flags);
  /* Emit the entries of dir from cookie *pos, excluding "." and "..",
   * which the vfs emits itself. The first call has *pos == 2; cookies are
   * in [2, 2^62) and chosen by the fs. After each entry taken, set *pos to
   * its next_pos. Return 0 at the end or when emit said full, or -errno.
   * NULL: the directory looks empty. */
  int (*readdir)(struct inode *dir, uint64_t *pos, vfs_emit_fn emit, void *ctx);
  /* Copy a symlink's target (not terminated, at most len bytes) into buf;
   * return its full length. */
  long (*readlink)(struct inode *inode, char *buf, size_t len);
  /* The inode of an object without a name (a pipe, a socket, an
   * anonymous file), which only /proc/PID/fd/N and /dev/fd/N reach: it is
   * no symlink, but readlink there says what it is (Linux's d_dname:
   * "socket:[INO]"). */
  bool nameless;
  /* openat2's RESOLVE_NO_MAGICLINKS: a symlink of this inode_ops is a
   * magic link (/proc/PID/exe); every entry a directory of this
   * inode_ops holds stands for one (/proc/PID/fd/N, /dev/fd/N). */
  bool magic_link;
  bool magic_entries;
  /* With magic_entries: entry name as the link it stands for, a new
   * inode (lstat, readlink, O_PATH|O_NOFOLLOW: any walk that does not
   * follow the last component; lookup gives what it points to). */
  int (*link_entry)(struct inode *dir, const char *name, struct inode **out);
  /* Optional: the platform handle of the host file that holds this
   * regular file's data (for plat_host_map), or a negative errno. The
   * inode must be open (an open file holds it). */
  int (*host_handle)(struct inode *inode);
  /* Apply attr (valid fields) and set ctime. The fs MUST update the
   * struct inode fields (vfs_attr_copy does the generic part) and, for
   * VFS_ATTR_SIZE, free or extend data. NULL: the vfs copies the fields
   * itself (sizes then fail with -EPERM). */
  int (*setattr)(struct inode *inode, const struct vfs_attr *attr);
  /* Refresh the struct inode fields from the backing store before a stat
   * (hostfs asks the host). Called WITHOUT the vfs lock (see above), also
   * with inode->lock held (O_APPEND). NULL: fields are always current. */
  int (*getattr)(struct inode *inode);
  /* Regular file data at an offset. read returns bytes copied (0 at or
   * past the end); write returns bytes written and updates size, mtime
   * and ctime. Called with inode->lock held. */
  long (*read)(struct inode *inode, void *buf, size_t len, uint64_t off);
  long (*write)(struct inode *inode, const void *buf, size_t len, uint64_t off);
  int (*fsync)(struct inode *inode);
  /* fallocate mode 0: give the range [off, off + len) storage now
   * (-ENOSPC when there is none; then nothing was added), without
   * changing the size (the vfs extends it afterwards). Called with
   * inode->lock held. NULL: the file system has nothing to reserve. */
  int (*allocate)(struct inode *inode, uint64_t off, uint64_t len);
  /* fallocate PUNCH_HOLE|KEEP_SIZE: [off, off + len) reads as zeros
   * afterwards, pages wholly inside give their storage back; the size
   * stays. Called with inode->lock held. NULL: -EOPNOTSUPP. */
  int (*punch)(struct inode *inode, uint64_t off, uint64_t len);
  /* Extended attributes, by full name ("user.x", 1..255 bytes). The vfs
   * checked the name's namespace (user., trusted. or security., with a
   * non-empty rest), the namespace rules, permissions and read-only
   * superblocks, and holds the vfs lock.
   * getxattr: the value's size, copied into buf when len > 0 (-ERANGE
   * when it is longer than len); -ENODATA when absent.
   * setxattr: value NULL removes (-ENODATA when absent); flags
   * VFS_XATTR_CREATE (-EEXIST when present), VFS_XATTR_REPLACE (-ENODATA
   * when absent); len <= VFS_XATTR_SIZE_MAX. A change sets ctime.
   * listxattr: the names, each NUL-terminated, in buf (len 0: only the
   * total size; -ERANGE when longer than len); trusted.* names only when
   * trusted. getxattr NULL: the file system keeps no attributes (get and
   * set fail with -EOPNOTSUPP, the list is empty); setxattr NULL: none
   * can be set (-EOPNOTSUPP). */
  long (*getxattr)(struct inode *inode, const char *name, void *buf,
                   size_t len);
  int (*setxattr)(struct inode *inode, const char *name, const void *value,
                  size_t len, unsigned flags);
  long (*listxattr)(struct inode *inode, char *buf, size_t len, bool trusted);
  /* The last reference is gone: free private data. The vfs then frees
   * the struct inode. Runs wherever the last reference went, with or
   * without the vfs lock: a file system that finds inodes in a cache of
   * its own (hostfs, overlay) takes references from it only with
   * vfs_inode_tryget, under a lock that evict also takes to unhook the
   * inode. */
  void (*evict)(struct inode *inode);
};

/* ---------------------------------------------------------------------
 * Operations on open files. Regular files and directories of every fs use
 * the generic ops below unless the fs supplies its own; devices and pipes
 * supply theirs. pos points to the position to use and advance (the
 * file's own, or a pread/pwrite offset); streams ignore it.
 * ------------------------------------------------------------------- */
#define VFS_POLLIN 0x001
#define VFS_POLLPRI 0x002
#define VFS_POLLOUT 0x004
#define VFS_POLLERR 0x008
#define VFS_POLLHUP 0x010
#define VFS_POLLNVAL 0x020
#define VFS_POLLRDNORM 0x040
#define VFS_POLLWRNORM 0x100
/* Call after any change that may make a file ready (pipes do): wakes
 * moat_poll sleepers, who then look again. Lock-free. */
void vfs_poll_notify(void);

struct file_ops {
  /* Called once when the file is opened (file->inode, flags, ops set).
   * May set file->private. NULL: nothing to do. vfs_open calls it with the
   * vfs lock held (fifos excepted: their open waits for the other end), so
   * it must not take that lock. */
  int (*open)(struct inode *inode, struct file *file);
  /* The last reference to the open file description is gone. */
  void (*release)(struct file *file);
  long (*read)(struct file *file, void *buf, size_t len, uint64_t *pos);
  long (*write)(struct file *file, const void *buf, size_t len, uint64_t *pos);
  /* NULL: -ENOTTY (after the generic FIOCLEX/FIONCLEX/FIONBIO/FIONREAD). */
  int (*ioctl)(struct file *file, unsigned request, void *arg);
  /* Ready events (VFS_POLL*) right now; NULL: always readable and
   * writable. A file whose readiness is the host's (a host stream or
   * socket, which never calls vfs_poll_notify) asks with poll_host
   * (core/poll.h), so that a poller's sleep also watches it. */
  unsigned (*poll)(struct file *file, unsigned events);
  /* true: release calls epoll_file_released (core/poll.h), so an epoll
   * set need not hold a reference to watch the file. */
  bool epoll_release_hook;
  /* true: a stream (pipe, tty, socket): lseek, pread and pwrite fail
   * with -ESPIPE and pos is not used. */
  bool stream;
  /* Optional lseek policy (called with file->lock held; update file->pos
   * and return it). NULL: regular files and directories seek normally;
   * character devices stay at 0 and return 0, as /dev/null does. */
  int64_t (*lseek)(struct file *file, int64_t off, int whence);
};

/* Generic ops: regular files (inode_ops read/write under inode->lock,
 * O_APPEND), directories (read fails with -EISDIR). */
extern const struct file_ops vfs_regular_file_ops;
extern const struct file_ops vfs_dir_file_ops;

/* ---------------------------------------------------------------------
 * Superblocks, inodes, mounts
 * ------------------------------------------------------------------- */
#define VFS_SB_RDONLY 0x1 /* every change fails with -EROFS */
#define VFS_SB_BTIME 0x2  /* inodes keep a birth time (statx STATX_BTIME) */

struct superblock {
  const char *fs_name;    /* "memfs", "overlay", "tarfs", "devfs", "hostfs" */
  uint64_t dev;           /* st_dev; assigned by vfs_sb_alloc */
  uint64_t magic;         /* statfs f_type */
  unsigned flags;         /* VFS_SB_* */
  struct inode *root;     /* the file system's root directory (a reference) */
  uint64_t next_ino;      /* vfs_inode_alloc numbers inodes from here */
  uint32_t mounts_inside; /* mounts whose mount point is in this sb */
  void *private;
  /* statx's stx_attributes_mask: the STATX_ATTR_* flags the file system
   * supports (the vfs adds those it handles itself). */
  uint64_t statx_attributes;
  /* Optional: fill f_blocks/f_bfree/... (the vfs fills the rest). */
  int (*statfs)(struct superblock *sb, struct linux_statfs *out);
};

struct inode {
  uint64_t ino;
  uint32_t mode; /* LINUX_S_IF* | permission bits */
  uint32_t uid, gid;
  uint32_t nlink;
  uint64_t size;
  uint64_t blocks; /* 512-byte units; 0 = derive from size */
  uint64_t rdev;
  struct linux_timespec atime, mtime, ctime;
  /* Birth time, on a VFS_SB_BTIME superblock (zero: unknown, as for a
   * lower layer's file): vfs_inode_alloc sets it. */
  struct linux_timespec btime;
  uint32_t refcount; /* atomic; use vfs_inode_get / vfs_inode_put */
  struct rt_lock lock;
  struct superblock *sb;
  const struct inode_ops *iops;
  const struct file_ops *fops; /* for regular files, dirs and devices of
                                  the fs itself (devfs); NULL = generic */
  void *private;               /* the file system's own */
  /* Directories only, maintained by the vfs (a file system need not set
   * them): the parent directory (a reference; NULL for a file system
   * root) and the name in it, for ".." and getcwd. */
  struct inode *parent;
  char *name;
  /* Named pipe state, created by the vfs on the first open of a fifo. */
  struct pipe *fifo;
  /* The page cache of its shared mappings (core/pcache.c), while one
   * exists; set and cleared under the page cache's lock and this
   * inode's lock. */
  struct pcache *pcache;
  unsigned vfs_flags; /* VFS_INODE_*: the vfs's own marks */
  /* Its inotify watches (core/inotify.c), under that file's lock. */
  void *inotify;
};

/* An O_TMPFILE file that linkat may still give a name. */
#define VFS_INODE_TMPFILE 0x1

struct mount {
  struct mount *next;       /* the global mount list */
  struct inode *mountpoint; /* the covered directory (a reference) */
  struct inode *root;       /* the mounted root (a reference) */
  struct superblock *sb;
  char *path; /* absolute path at mount time, for /proc/mounts */
};

/* A new superblock with a unique dev number (lock-free). flags: VFS_SB_*.
 * Returns NULL when out of memory. */
struct superblock *vfs_sb_alloc(const char *fs_name, uint64_t magic,
                                unsigned flags);
/* A new inode of sb with refcount 1, nlink 1 (2 for directories), times
 * now, ino = sb->next_ino++ (the fs may overwrite ino). fops NULL means
 * generic for the type. Lock-free. */
struct inode *vfs_inode_alloc(struct superblock *sb, uint32_t mode,
                              const struct inode_ops *iops,
                              const struct file_ops *fops);
/* The same with zero times, for a file system that fills in the times
 * itself (from the host, an image, a lower layer): reading the clock is a
 * host call. */
struct inode *vfs_inode_alloc_untimed(struct superblock *sb, uint32_t mode,
                                      const struct inode_ops *iops,
                                      const struct file_ops *fops);
/* A superblock with an empty root directory of mode (S_IFDIR added). */
struct superblock *vfs_sb_create_with_root(const char *fs_name, uint64_t magic,
                                           unsigned flags, uint32_t root_mode,
                                           const struct inode_ops *iops);
struct inode *vfs_inode_get(struct inode *inode); /* NULL-safe; lock-free */
void vfs_inode_put(struct inode *inode);          /* NULL-safe; lock-free */
/* Take a reference unless the count already reached zero (the inode is
 * being evicted); lock-free. */
bool vfs_inode_tryget(struct inode *inode);

/* Copy the valid fields of attr into inode (generic setattr part); sets
 * ctime to now unless VFS_ATTR_CTIME gave one. Does not touch size. */
void vfs_attr_copy(struct inode *inode, const struct vfs_attr *attr);
/* Current wall clock time as a timespec. */
struct linux_timespec vfs_now(void);
/* Boot only (one thread, before any fork): from freeze(true) on,
 * vfs_now answers the time read then, until freeze(false). */
void vfs_now_freeze(bool on);
/* Mark inode data changed (mtime = ctime = now). */
void vfs_touch_mtime(struct inode *inode);
/* Directory entry type (LINUX_DT_*) for a mode. */
unsigned vfs_dtype(uint32_t mode);

/* Fill stat/statx from an inode (calls iops->getattr first). */
int vfs_getattr(struct inode *inode, struct linux_stat *st);
int vfs_getattr_statx(struct inode *inode, unsigned mask,
                      struct linux_statx *stx);

/* Character devices by number, for device nodes in any fs (mknod in
 * memfs, a tar image's /dev entries). devfs registers its devices here. */
int vfs_register_chrdev(uint64_t rdev, const struct file_ops *ops);
const struct file_ops *vfs_chrdev_ops(uint64_t rdev);

/* ---------------------------------------------------------------------
 * The tree and path resolution
 * ------------------------------------------------------------------- */

/* Make root the sandbox's "/" (takes a reference). Called by moat_boot
 * before anything else is mounted. */
void vfs_set_root(struct inode *root);
struct inode *vfs_root(void); /* a new reference */

/* Resolution flags */
#define VFS_FOLLOW 0x1     /* follow a symlink in the last component */
#define VFS_DIRECTORY 0x2  /* the result must be a directory */
#define VFS_EMPTY_PATH 0x4 /* "" names base itself (AT_EMPTY_PATH) */
#define VFS_NO_PERM 0x8    /* skip search permission (boot) */
/* openat2's RESOLVE_* (core/vfs.c walk): base is the anchor, for an
 * absolute path too (base NULL: the cwd). */
#define VFS_BENEATH 0x100       /* never above base: EXDEV */
#define VFS_IN_ROOT 0x200       /* base is "/" for this walk */
#define VFS_NO_SYMLINKS 0x400   /* a symlink to follow: ELOOP */
#define VFS_NO_MAGICLINKS 0x800 /* a /proc magic link to follow: ELOOP */
#define VFS_NO_XDEV 0x1000      /* crossing a mount: EXDEV */
#define VFS_RESOLVE_MASK 0x1f00

/* Resolve path relative to base (NULL: the process cwd; absolute paths
 * start at the process root) and store a new reference in *out.
 * Never climbs above the process root; crosses mounts; follows at most
 * LINUX_SYMLOOP_MAX symlinks (-ELOOP). */
int vfs_resolve(struct inode *base, const char *path, unsigned flags,
                struct inode **out);

/* Mount sb's root on the directory at path (absolute, from the sandbox
 * root), creating missing directories (mode 0755) on the way. Used by
 * moat_boot. */
int vfs_mount(const char *path, struct superblock *sb);
/* mkdir -p from the sandbox root. */
int vfs_mkdir_p(const char *path, uint32_t mode);
/* Create the symlink path -> target (parents created as by vfs_mkdir_p). */
int vfs_symlink_path(const char *path, const char *target);
/* The mount list, newest first (append-only; for /proc/mounts). */
const struct mount *vfs_mounts(void);
/* The mount id /proc/PID/mountinfo gives the mount of sb (1: the root's,
 * or when none: pipes, sockets); lock-free (the list only grows). */
int vfs_mount_id(const struct superblock *sb);
/* Is inode on a read-only superblock? */
bool vfs_is_rdonly(const struct inode *inode);

/* Permission check of inode for the current credentials. mask: LINUX_R_OK
 * | LINUX_W_OK | LINUX_X_OK. Root passes R/W always and X when any exec
 * bit is set or the inode is a directory. Returns 0 or -EACCES. */
int vfs_permission(struct inode *inode, int mask);

/* The path of inode from the process root ("/a/b"), as getcwd shows it.
 * Returns the length without the NUL, -ERANGE if it does not fit, -ENOENT
 * for a removed directory. */
long vfs_path_of(struct inode *inode, char *buf, size_t len);
/* The same with the VFS lock held (an inode op's readlink). */
long vfs_path_of_locked(struct inode *inode, char *buf, size_t len);

/* ---------------------------------------------------------------------
 * File systems the core provides (constructors; lock-free)
 * ------------------------------------------------------------------- */
#define VFS_MEMFS_MAGIC 0x01021994ull   /* TMPFS_MAGIC */
#define VFS_OVERLAY_MAGIC 0x794c7630ull /* OVERLAYFS_SUPER_MAGIC */

/* An empty in-memory file system (root mode 0755, owned by 0:0). */
struct superblock *memfs_create(void);
/* --tmp-size: one budget (bytes, 0 = none) for the file data of every
 * memfs, kept in the arena; call once at boot before the first memfs. */
int memfs_pool_init(uint64_t limit);
/* statfs of an in-memory file system (memfs, an overlay's upper layer):
 * the budget as its size when there is one. */
int memfs_pool_statfs(struct superblock *sb, struct linux_statfs *out);
/* A writable overlay: an in-memory upper layer over the read-only lower
 * directory (any fs; the overlay never writes to it). Returns NULL when out
 * of memory. */
struct superblock *overlay_create(struct inode *lower_root);
/* Is inode an overlay inode whose data is still its lower object's, on a
 * read-only file system (nothing copied up)? */
bool overlay_data_readonly(const struct inode *inode);

/* Set up the vfs (its lock and tables). moat_boot calls it after
 * rt_arena_init. */
int vfs_init(void);

#endif
