/* procfs: the parts of /proc that ordinary programs read. core/procfs.c. */
#ifndef MOAT_CORE_PROCFS_H
#define MOAT_CORE_PROCFS_H

#include "vfs.h"

#define PROCFS_MAGIC 0x9fa0ull /* PROC_SUPER_MAGIC */

int procfs_create(struct superblock **out);
struct file;
/* f is a /proc/<pid> directory (not a task/<tid> one): its pid and the
 * start time of the process it was looked up for (Linux lets such a
 * file stand for a pidfd in pidfd_send_signal); -EBADF otherwise. */
int procfs_pid_dir(struct file *f, int *pid, int64_t *start_ns);

#endif
