/* The page cache of shared file mappings: one cache per inode, whose
 * pages live in a pool of host memory every process of the sandbox
 * shares (core/pcache.c). core/mm.c maps them into the guest with
 * plat_mem_alias; read(2) and write(2) of the file see them
 * (vfs_generic_read/write); truncation takes them back.
 *
 * Lock order: mm, then the inode's lock, then the page cache's own lock
 * (a leaf). Callers of pcache_get/put/pages/writeback hold no inode
 * lock; the hooks run under the inode lock the generic paths take. */
#ifndef MOAT_CORE_PCACHE_H
#define MOAT_CORE_PCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct inode;
struct pcache;

/* Reserve the pool (boot, before any fork). false when the host gave no
 * room: shared file mappings then stay copies (core/mm.c). */
bool pcache_init(void);
bool pcache_ready(void);

/* The inode's cache, made on first use, with one more mapping counted
 * (NULL: out of memory). Each VMA that names the cache holds one. */
struct pcache *pcache_get(struct inode *inode);
void pcache_ref(struct pcache *c);
/* One mapping fewer; the last writes the dirty pages back and gives the
 * pages to the pool. */
void pcache_put(struct pcache *c);

/* Make file pages [first, first + count) present (filled from the file,
 * never past a chunk of the pool or the end of the file), marking them
 * all dirty when write. Returns how many are there from first (> 0),
 * 0 when first lies wholly past the end of the file, or a negative
 * errno; *pool_out is the pool address of first (the run is
 * contiguous there), *dirty_out whether every page of the run is
 * dirty (a clean page is mapped read-only, so its first write comes
 * back here to mark it). */
long pcache_pages(struct pcache *c, uint64_t first, uint64_t count, bool write,
                  void **pool_out, bool *dirty_out);

/* Write the dirty pages among file pages [first, first + count) back to
 * the file (never past its end). 0 or the first error. */
int pcache_writeback(struct pcache *c, uint64_t first, uint64_t count);

/* The inode whose pages c caches. */
struct inode *pcache_inode(const struct pcache *c);

/* Hooks of the generic read and write paths and of truncation, called
 * with inode->lock held when inode->pcache is set: a read sees the
 * mappings' dirty pages, a write reaches every cached page it covers, a
 * smaller size zeroes the cached pages past it. */
void pcache_after_read(struct inode *inode, void *buf, size_t len,
                       uint64_t off);
void pcache_after_write(struct inode *inode, const void *buf, size_t len,
                        uint64_t off);
void pcache_truncated(struct inode *inode, uint64_t size);
/* [off, off + len) of the file became zeros (a punched hole). */
void pcache_zeroed(struct inode *inode, uint64_t off, uint64_t len);

#endif
