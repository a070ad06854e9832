/* A tiny in-memory tar writer for the unit tests and the fuzz harness:
 * builds ustar images with pax and GNU long names, symlinks and hard links,
 * so tests can hand tarfs exactly the image they mean. */
#ifndef MOAT_TESTS_TARBUILD_H
#define MOAT_TESTS_TARBUILD_H

#include <stddef.h>
#include <stdint.h>

struct tarbuf {
  unsigned char *data;
  size_t len, cap;
};

/* typeflags */
#define TAR_REG '0'
#define TAR_HARDLINK '1'
#define TAR_SYMLINK '2'
#define TAR_DIR '5'

void tar_init(struct tarbuf *t);
void tar_free(struct tarbuf *t);
/* One entry with a name that fits the ustar header (<= 100 bytes, or split
 * into prefix/name when possible). linkname for links, data for files. */
void tar_add(struct tarbuf *t, const char *name, char type, uint32_t mode,
             const void *data, size_t len, const char *linkname);
/* The same, with the name given through a pax extended header (path=). */
void tar_add_pax(struct tarbuf *t, const char *name, char type, uint32_t mode,
                 const void *data, size_t len, const char *linkname);
/* The same, with the name given through a GNU ././@LongLink 'L' entry. */
void tar_add_gnu(struct tarbuf *t, const char *name, char type, uint32_t mode,
                 const void *data, size_t len, const char *linkname);
/* The two zero blocks that end an archive. */
void tar_finish(struct tarbuf *t);
/* Offset of the header of the n-th (0-based) header block in the image. */
size_t tar_header_offset(const struct tarbuf *t, int n);

#endif
