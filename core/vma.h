/* A VMA (one guest mapping of core/mm.c) and the address-ordered set that
 * holds one address space's VMAs: a balanced tree (core/vma_tree.c), so a
 * lookup, an insertion, a removal and the search for a free range cost
 * O(log n) with the 65530 mappings Linux allows a process, and a doubly
 * linked list in address order for walking neighbours. Nothing here
 * locks: the address space's owner (core/mm.c, under its mm lock) does. */
#ifndef MOAT_CORE_VMA_H
#define MOAT_CORE_VMA_H

#include <stdint.h>

struct file;

struct vma {
  uint64_t start, end;
  int prot;
  unsigned flags;    /* VMA_* of core/mm.c */
  struct file *file; /* file mappings (a reference); written back when
                        VMA_SHARED */
  uint64_t off;      /* file offset of start */
  /* File offset from which the pages are unfilled (no host access until
   * the file covers them); at or past the end of the VMA when all are
   * filled. Meaningless without file. */
  uint64_t unfilled;
  /* VMA_SHM: the segment (core/sysv_ipc.c; off is then the offset in
   * the segment). Each VMA that names it counts in its shm_nattch:
   * sysv_shm_vma_open when one appears (attach, split, fork's copy),
   * sysv_shm_vma_close when it goes. Lock order: mm, then IPC. */
  void *shm;
  /* A MAP_SHARED file mapping: its pages are the file's page cache
   * (core/pcache.c; a count of it per VMA), mapped on fault. */
  struct pcache *cache;

  /* The set's links (core/vma_tree.c's to maintain): neighbours in
   * address order, and the tree. */
  struct vma *prev, *next;
  struct vma *left, *right, *parent;
  /* The largest free gap in front of a VMA of this subtree (a VMA's gap
   * runs from its predecessor's end, or the set's base, to its start). */
  uint64_t max_gap;
  int height;
};

struct vma_tree {
  struct vma *root;
  struct vma *first, *last;
  uint64_t count;
  uint64_t base; /* lowest address: the first VMA's gap starts here */
  uint64_t top;  /* end of the space after the last VMA */
};

/* An empty set of VMAs inside [base, top). */
void vma_tree_init(struct vma_tree *t, uint64_t base, uint64_t top);

/* The first VMA that ends above addr (the one holding addr, or the next
 * one up), or NULL. */
struct vma *vma_tree_find(const struct vma_tree *t, uint64_t addr);

/* Add n, whose [start, end) MUST be free in the set. */
void vma_tree_insert(struct vma_tree *t, struct vma *n);

/* Take v out of the set (v itself is the caller's to free). */
void vma_tree_erase(struct vma_tree *t, struct vma *v);

/* v->end moved (v stays in order): the gap after it changed. */
void vma_tree_end_changed(struct vma_tree *t, struct vma *v);

/* The highest address a such that [a, a+len) is free, inside
 * [base, top), and a+len <= limit; 0 when there is none. */
uint64_t vma_tree_gap_top_down(const struct vma_tree *t, uint64_t len,
                               uint64_t limit);

/* Check the set's invariants (order, links, balance, gaps); 0 when they
 * hold. For tests. */
int vma_tree_check(const struct vma_tree *t);

#endif
