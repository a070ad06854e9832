/* Internals shared by the vfs (core/vfs*.c), the file layer (core/file.c),
 * the overlay and the moat_* file calls (core/fs_api.c). Not for file
 * system implementations outside this group: they use core/vfs.h. */
#ifndef MOAT_CORE_VFS_IMPL_H
#define MOAT_CORE_VFS_IMPL_H

#include "file.h"
#include "proc.h"
#include "vfs.h"

#define VFS_MAX_CHRDEV 32
#define VFS_POLL_WAITERS 256

/* The vfs's global state. It lives in the arena, not in a process's own
 * data, so that guest processes forked later share its locks and tables
 * (the arena sits at the same address in all of them). */
struct vfs_shared {
  struct rt_lock lock;       /* the namespace lock (see core/vfs.h) */
  struct rt_lock cache_lock; /* the overlay's child caches */
  struct rt_lock pipe_lock;  /* creation of fifo state and pipefs */
  struct superblock *pipefs;
  struct superblock *sockfs; /* core/socket.c, made under pipe_lock */
  /* core/socket.c's garbage collector of sockets in flight: every pair,
   * and whether a collection runs (both under sock_gc_lock). */
  struct rt_lock sock_gc_lock;
  void *sock_pairs;
  bool sock_gc_running;
  uint32_t sock_inflight;  /* atomic: socket files held by control data */
  uint32_t files_inflight; /* atomic: all files held by control data */
  struct inode *root;
  struct mount *mounts; /* newest first */
  uint32_t next_anon_dev;
  uint32_t tmpfile_seq;
  uint32_t poll_seq; /* futex word: bumped by vfs_poll_notify */
  /* Sleeping pollers (core/poll.c): struct task pointers, woken through
   * their wake words by vfs_poll_notify. */
  uint32_t poll_nwaiters;
  uint32_t poll_fallback; /* waiters sleeping on poll_seq (table full) */
  void *poll_waiters[VFS_POLL_WAITERS];
  int32_t poll_waiter_tids[VFS_POLL_WAITERS]; /* 0 while being set */
  void *poll_waiter_keys[VFS_POLL_WAITERS];   /* NULL: woken by anything */
  void *inotify; /* core/inotify.c's shared state, made on first use */
  struct rt_lock epoll_lock; /* the list of epoll sets (core/epoll.c) */
  void *epolls;
  int nchrdevs;
  struct {
    uint64_t rdev;
    const struct file_ops *ops;
  } chrdevs[VFS_MAX_CHRDEV];
};
/* Set up by vfs_init (or on first use, while boot is single-threaded). */
struct vfs_shared *vfs_shared(void);

/* The global namespace lock (see core/vfs.h). */
void vfs_lock(void);
void vfs_unlock(void);

/* Identity of two inodes (same object, or same superblock and ino). */
bool vfs_same_inode(const struct inode *a, const struct inode *b);
/* The current credentials (root when no process exists yet). */
void vfs_cred(uint32_t *euid, uint32_t *egid);
uint32_t vfs_umask(void);

/* Resolution pieces for core/vfs_ops.c (vfs lock held). */
int vfs_resolve_locked(struct inode *base, const char *path, unsigned flags,
                       struct inode **out);
/* The same, and for a non-directory reached by name, that directory (a
 * reference in *dir, NULL otherwise) and the name (a LINUX_NAME_MAX+1
 * buffer). */
int vfs_resolve_named_locked(struct inode *base, const char *path,
                             unsigned flags, struct inode **out,
                             struct inode **dir, char *name);
/* Resolve all but the last component: *dir (a reference) and last (a
 * LINUX_NAME_MAX+1 buffer; "" when the path has no last component, as
 * "/"), and whether a slash followed it. */
int vfs_walk_parent(struct inode *base, const char *path, unsigned flags,
                    struct inode **dir, char *last, bool *trailing_slash);
/* O_CREAT through a symlink in the last component: the link's target as a
 * parent + last name, counting *links against LINUX_SYMLOOP_MAX. */
int vfs_walk_link_parent(struct inode *dir, struct inode *link, int *links,
                         struct inode **out_dir, char *last,
                         bool *trailing_slash);
/* Look name up in dir (lookup_child crosses mount points, lookup_here
 * does not), remembering a directory's parent for "..". */
int vfs_lookup_child(struct inode *dir, const char *name, struct inode **out);
int vfs_lookup_here(struct inode *dir, const char *name, struct inode **out);
void vfs_note_parent(struct inode *dir, struct inode *child, const char *name);
/* Is inode a mount point, a mounted root or the sandbox root? */
bool vfs_is_mount_boundary(const struct inode *inode);
/* The ino ".." shows in a directory listing. */
uint64_t vfs_parent_ino(struct inode *dir);
/* The mount list, newest first (append-only). */
const struct mount *vfs_mounts(void);

/* Generic file ops pieces other ops tables reuse. */
long vfs_generic_read(struct file *f, void *buf, size_t len, uint64_t *pos);
long vfs_generic_write(struct file *f, const void *buf, size_t len,
                       uint64_t *pos);

/* The operations behind the moat_* calls. base: the directory a relative
 * path starts from (NULL = cwd). */
int vfs_mknod_at(struct inode *base, const char *path, uint32_t mode,
                 uint64_t rdev, const char *target);
int vfs_unlink_at(struct inode *base, const char *path, bool is_dir);
int vfs_rename_at(struct inode *obase, const char *opath, struct inode *nbase,
                  const char *npath, unsigned flags);
int vfs_link_at(struct inode *obase, const char *opath, struct inode *nbase,
                const char *npath, unsigned resolve_flags);
long vfs_readlink_at(struct inode *base, const char *path, char *buf,
                     size_t len);
int vfs_chmod(struct inode *inode, uint32_t mode);
int vfs_chown(struct inode *inode, uint32_t uid, uint32_t gid);
int vfs_utimes(struct inode *inode, const struct linux_timespec times[2]);
int vfs_truncate(struct inode *inode, int64_t len);
int vfs_access(struct inode *inode, int mode);
/* getdents64 on an open directory. */
long vfs_getdents(struct file *f, void *buf, size_t len);
int vfs_statfs(struct inode *inode, struct linux_statfs *out);
int vfs_chdir(struct inode *dir);
int vfs_chroot(struct inode *dir);
int vfs_fsync(struct inode *inode);
/* Extended attributes (core/vfs_xattr.c), the namespace and permission
 * rules applied; name is a full name of 1..255 bytes, len at most
 * VFS_XATTR_SIZE_MAX for a set. setxattr with value NULL removes. */
long vfs_getxattr(struct inode *inode, const char *name, void *buf, size_t len);
int vfs_setxattr(struct inode *inode, const char *name, const void *value,
                 size_t len, unsigned flags);
long vfs_listxattr(struct inode *inode, char *buf, size_t len);

#endif
