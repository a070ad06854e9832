/* tarfs: a read-only file system served straight out of one mapping of a
 * tar image (ustar, GNU long names, pax). core/tarfs.c. */
#ifndef MOAT_CORE_TARFS_H
#define MOAT_CORE_TARFS_H

#include "vfs.h"

#define TARFS_MAGIC 0x74617266ull /* "tarf"; Linux has no tar fs */

/* Parse the image [base, base+size) and build the tree. File data is not
 * copied: the mapping must outlive the sandbox. On a malformed image
 * returns -EINVAL and writes a one-line reason ("tar image: bad header
 * checksum at offset 1024") into why. */
int tarfs_create(const void *base, size_t size, struct superblock **out,
                 char *why, size_t whylen);

#endif
