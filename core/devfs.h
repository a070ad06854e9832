/* devfs: the sandbox's /dev and the files behind fds 0, 1, 2 of the first
 * process (the host's standard streams). core/devfs.c. */
#ifndef MOAT_CORE_DEVFS_H
#define MOAT_CORE_DEVFS_H

#include "file.h"
#include "vfs.h"

#define DEVFS_MAGIC 0x01021994ull /* devtmpfs reports TMPFS_MAGIC */

/* Build /dev (null, zero, full, random, urandom, tty, ptmx, stdin, stdout,
 * stderr, fd/, shm/, pts/) and register its character devices with the vfs.
 * uid/gid own the stdio devices (the guest's user, as a login's tty). */
int devfs_create(uint32_t uid, uint32_t gid, struct superblock **out);

/* The operations of /dev/fd (the caller's open files), for
 * /proc/<pid>/fd too. */
extern const struct inode_ops devfs_fd_iops;

/* A directory with devfs_fd_iops shows the open files of the process
 * whose pid is its private word (NULL: the caller, as /dev/fd). */

/* A new open file on host stream 0, 1 or 2 (after devfs_create). */
int devfs_open_stdio(int stream, struct file **out);
/* In a host process started for a process from outside (moat_spawn):
 * its host streams 0..2 are set number set (non-zero, unique, < 2^24);
 * new files of them at fds 0..2 of t. The caller records the set in its
 * process (struct proc, stdio_set), which its children inherit; files of
 * another set get EIO in such a process (devfs.c). */
int devfs_spawn_stdio(uint32_t set, struct fd_table *t);

#endif
