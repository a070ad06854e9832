/* Open file descriptions and per-process file descriptor tables.
 *
 * A struct file is what open(2) creates: an inode, the access mode and
 * status flags, a position. It is shared by every descriptor that dup or
 * fork made from it, so it is reference counted and lives in the arena.
 * A struct fd_table maps small integers to files, with close-on-exec per
 * descriptor; threads that share descriptors (CLONE_FILES) share one
 * table, fork copies it (fdt_clone).
 */
#ifndef MOAT_CORE_FILE_H
#define MOAT_CORE_FILE_H

#include "rt.h"
#include "vfs.h"

struct file {
  uint32_t refcount; /* atomic; file_get / file_put */
  /* Protects pos and the directory cursor. Taken before the VFS lock
   * (getdents holds it across the walk): never under it. */
  struct rt_lock lock;
  struct inode *inode; /* a reference */
  const struct file_ops *ops;
  /* LINUX_O_ACCMODE bits plus the status flags that stay meaningful after
   * open: LINUX_O_APPEND, LINUX_O_NONBLOCK, LINUX_O_DIRECT, LINUX_O_SYNC,
   * LINUX_O_DSYNC, LINUX_O_NOATIME, LINUX_O_PATH, LINUX_O_LARGEFILE,
   * LINUX_O_ASYNC. */
  unsigned flags;
  uint64_t pos;
  void *private; /* the file_ops' own */
  /* The directory it was opened through (a reference) and its name there:
   * readlink of /proc/PID/fd/N, inotify's events in that directory. Set
   * for a non-directory opened by name (a directory knows its own path;
   * one is noted here only while inotify is in use). */
  struct inode *notify_dir;
  char *notify_name;
  /* The SIGIO owner (owner_type an enum moat_fd_owner) and signal of
   * moat_fd_set_owner and moat_fd_set_signal, under lock: kept and
   * reported (no SIGIO is sent: docs/syscalls.md). */
  int32_t owner_type, owner_pid, owner_sig;
  /* Reads [0] and writes [1] of the host object behind the file (a host
   * stream or socket) that found it not ready (-EAGAIN): counted by
   * epoll_host_drained for edge-triggered epoll items (core/epoll.c). */
  uint32_t host_drained[2];
};

/* A new open file description for inode (takes a new inode reference)
 * with ops (NULL: the inode's own, or the generic ones for its type).
 * Calls ops->open. Does NOT check permissions: vfs_open does. */
int file_open_inode(struct inode *inode, unsigned flags,
                    const struct file_ops *ops, struct file **out);
/* Open path like openat(2) (flags LINUX_O_*, mode before umask) relative
 * to base (NULL: cwd). All permission, type and creation rules apply. */
/* vfs_open with openat2's resolve flags (VFS_BENEATH ... in vfs.h). */
int vfs_open2(struct inode *base, const char *path, unsigned flags,
              uint32_t mode, unsigned resolve, struct file **out);
int vfs_open(struct inode *base, const char *path, unsigned flags,
             uint32_t mode, struct file **out);
struct file *file_get(struct file *f);
void file_put(struct file *f);
/* Can the file be read / written (access mode and not O_PATH)? */
bool file_readable(const struct file *f);
bool file_writable(const struct file *f);
/* pread/pwrite-like access for core users (the ELF loader, mmap of a
 * file): -ESPIPE on streams. */
long file_pread(struct file *f, void *buf, size_t len, uint64_t off);
long file_pwrite(struct file *f, const void *buf, size_t len, uint64_t off);

#define FDT_DEFAULT_MAX 1024u
#define FDT_HARD_MAX 65536u

struct fd_table {
  uint32_t refcount; /* atomic: threads sharing it */
  struct rt_lock lock;
  uint32_t max;      /* RLIMIT_NOFILE soft limit: fds are < max */
  uint32_t capacity; /* slots allocated in files/cloexec */
  struct file **files;
  uint8_t *cloexec;
};

/* An empty table with the default limit (or the config's max_files). */
struct fd_table *fdt_create(void);
/* A copy for fork: every file gets one more reference. NULL on ENOMEM. */
struct fd_table *fdt_clone(struct fd_table *fdt);
struct fd_table *fdt_get(struct fd_table *fdt);
/* Drop a reference; the last one closes every descriptor. */
void fdt_put(struct fd_table *fdt);
/* Install f (the table takes its own reference) at the lowest free
 * descriptor >= min_fd. Returns the fd or -EMFILE. */
int fdt_install(struct fd_table *fdt, struct file *f, int min_fd, bool cloexec);
/* Install f at fd exactly, closing what was there (dup2). -EBADF if fd is
 * out of range. */
int fdt_install_at(struct fd_table *fdt, int fd, struct file *f, bool cloexec);
/* A new reference to the file at fd, or NULL. */
struct file *fdt_lookup(struct fd_table *fdt, int fd);
int fdt_close(struct fd_table *fdt, int fd);
int fdt_get_cloexec(struct fd_table *fdt, int fd); /* 0/1 or -EBADF */
int fdt_set_cloexec(struct fd_table *fdt, int fd, bool on);
/* execve: close every close-on-exec descriptor. */
void fdt_close_on_exec(struct fd_table *fdt);
/* RLIMIT_NOFILE: change the limit (existing fds above stay open). */
int fdt_set_max(struct fd_table *fdt, uint32_t max);
uint32_t fdt_get_max(struct fd_table *fdt);

/* Pipes (core/pipe.c): a connected pair of files, read end and write
 * end, flags LINUX_O_NONBLOCK / LINUX_O_DIRECT honoured. */
int pipe_create(unsigned flags, struct file **out_read,
                struct file **out_write);
/* Open a named pipe (fifo) inode: the vfs calls this for S_IFIFO. */
extern const struct file_ops pipe_fifo_ops;
/* Free a fifo's pipe state when its inode goes (the vfs calls this). */
void pipe_fifo_release(struct pipe *p);
/* Is f an open pipe or fifo (not an O_PATH one)? */
bool pipe_is_pipe(struct file *f);
/* F_GETPIPE_SZ / F_SETPIPE_SZ: the size in bytes, or -EBADF when f is no
 * pipe, -EINVAL, -EPERM (above pipe-max-size), -EBUSY (below what the
 * pipe holds), as Linux. */
long pipe_get_size(struct file *f);
long pipe_set_size(struct file *f, unsigned arg);
/* tee(2) between two pipes (-EINVAL otherwise) and vmsplice(2) on one
 * (-EBADF otherwise); iov is in the core's memory, its buffers the
 * guest's (checked by the caller). */
long pipe_tee(struct file *in, struct file *out, size_t len, bool nonblock);
long pipe_vmsplice(struct file *f, const struct linux_iovec *iov, int iovcnt,
                   bool nonblock);
/* SIGPIPE to the calling thread, as a write into a pipe without readers
 * (or a stream socket without a peer) raises it. */
void pipe_raise_sigpipe(void);

/* Sockets (core/socket.c): is f one? readv/writev on one are a single
 * message each (a datagram is not split over the vector). */
bool sock_file(const struct file *f);
/* The socket name table (core/sock_conn.c), made at boot before any fork. */
void sock_init(void);
long sock_readv(struct file *f, const struct linux_iovec *iov, int iovcnt);
long sock_writev(struct file *f, const struct linux_iovec *iov, int iovcnt);

#endif
