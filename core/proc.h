/* The small contract between the file layer (vfs, fd tables) and the
 * process layer (core/task.c): what the vfs needs to know about the
 * current process. core/task.c implements the proc_current_* functions;
 * core/vfs.c implements the fs_context helpers.
 */
#ifndef MOAT_CORE_PROC_H
#define MOAT_CORE_PROC_H

#include "rt.h"

struct inode;
struct fd_table;

/* Root, working directory and umask; shared by threads created with
 * CLONE_FS, copied by fork (fs_context_clone). */
struct fs_context {
  uint32_t refcount; /* atomic */
  struct rt_lock lock;
  struct inode *root; /* a reference */
  struct inode *cwd;  /* a reference */
  uint32_t umask;
};

/* The current process's file system context and fd table, or NULL before
 * the first process exists (then the vfs uses the sandbox root as root
 * and cwd, and root credentials). */
struct fs_context *proc_current_fs(void);
struct fd_table *proc_current_fdt(void);
/* The effective (file system) ids of the current thread. */
void proc_current_cred(uint32_t *euid, uint32_t *egid);
/* Until called again with false, the calling thread's permission checks
 * use its real ids (faccessat without AT_EACCESS). */
void proc_access_real(bool on);
/* A reference to the fd table of live process pid (0: the caller's), or
 * NULL: /proc/PID/fd and fdinfo. */
struct fd_table *proc_fdt_get(int pid);
/* A reference to the root (root true) or working directory of live
 * process pid, or NULL: /proc/PID/root and cwd. */
struct inode *proc_fs_inode(int pid, bool root);
/* Is gid one of the current thread's supplementary groups? (May always
 * return false while groups are not supported.) */
bool proc_in_group(uint32_t gid);
/* RLIMIT_FSIZE of the current process (~0: none): the vfs cuts writes to
 * regular files at it and refuses to grow one past it (EFBIG), after
 * proc_send_xfsz, as Linux's generic_write_check_limits and
 * inode_newsize_ok. */
uint64_t proc_current_fsize_limit(void);
/* SIGXFSZ to the calling thread. Call with no lock held. */
void proc_send_xfsz(void);

/* Implemented in core/vfs.c. */
/* A context with root and cwd (both referenced here), umask 022. */
struct fs_context *fs_context_create(struct inode *root, struct inode *cwd);
/* A copy for fork (new references); NULL on ENOMEM. */
struct fs_context *fs_context_clone(struct fs_context *fs);
struct fs_context *fs_context_get(struct fs_context *fs);
void fs_context_put(struct fs_context *fs);

#endif
