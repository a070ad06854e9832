/* procfs: the parts of /proc that ordinary programs read. core/procfs.c. */
#ifndef MOAT_CORE_PROCFS_H
#define MOAT_CORE_PROCFS_H

#include "vfs.h"

#define PROCFS_MAGIC 0x9fa0ull /* PROC_SUPER_MAGIC */

int procfs_create(struct superblock **out);

#endif
