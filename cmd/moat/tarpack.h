/* A small tar writer for the VM platform's root image (cmd/moat/tarpack.c):
 * host directories, files and made-up entries packed into an uncompressed
 * tar stream written to a file descriptor. The format is what core/tarfs.c
 * reads: GNU-style ustar headers ("ustar  " magic), GNU 'L' and 'K'
 * records for names and link targets longer than 100 bytes, base-256 for
 * numbers too large for their octal field. */
#ifndef MOAT_CMD_TARPACK_H
#define MOAT_CMD_TARPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TARPACK_MAX_SKIP 64

struct tarpack {
  int fd;        /* the stream goes here, from its current offset */
  uint64_t size; /* bytes written so far */
  /* Archive names (no leading '/') whose whole subtree is left out:
   * where a later --mount or --file will put something else. */
  const char *skip[TARPACK_MAX_SKIP];
  int nskip;
  char why[1024]; /* the reason after a -1 */
};

/* An entry's attributes; mode is the permission bits (07777). */
struct tarpack_attr {
  uint32_t mode, uid, gid;
  int64_t mtime;
};

void tarpack_init(struct tarpack *t, int fd);

/* Made-up entries. name is an archive path without a leading '/' ("" or
 * "." is the root directory). 0, or -1 with t->why. */
int tarpack_dir(struct tarpack *t, const char *name,
                const struct tarpack_attr *a);
int tarpack_symlink(struct tarpack *t, const char *name, const char *target,
                    const struct tarpack_attr *a);
int tarpack_data(struct tarpack *t, const char *name, const void *data,
                 size_t len, const struct tarpack_attr *a);

/* The host's path (a directory with everything under it, not following
 * symlinks, in name order; or a single file) at name. Regular files,
 * directories, symlinks, fifos and devices are packed with their modes,
 * owners and mtimes; sockets are left out. what names the option in
 * messages ("--root"). 0, or -1 with t->why. */
int tarpack_host(struct tarpack *t, const char *host, const char *name,
                 const char *what);

/* The end of the archive (two zero blocks). */
int tarpack_end(struct tarpack *t);

/* An archive name for a guest path: without leading slashes, "" for "/";
 * NULL (with t->why) when it has a "." or ".." component or is too long.
 * Allocated. */
char *tarpack_name(struct tarpack *t, const char *guest_path);

#endif
