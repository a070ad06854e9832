/* hostfs: a granted host directory as a file system of the sandbox,
 * reached only through the South contract's plat_host_* calls.
 * core/hostfs.c. */
#ifndef MOAT_CORE_HOSTFS_H
#define MOAT_CORE_HOSTFS_H

#include "vfs.h"

#define HOSTFS_MAGIC 0x6d6f6174ull /* "moat" */

/* A file system over the granted directory handle. readonly: every change
 * fails with -EROFS inside the sandbox, before the host is asked. The
 * grant handle stays owned by the file system. */
int hostfs_create(int grant_handle, bool readonly, struct superblock **out);

#endif
