/* The kernel heap: kmalloc/kfree over the sandbox arena.
 *
 * The arena is one big shared mapping (PLAT_MAP_SHARED) so that later
 * every guest process of the sandbox sees the same kernel objects at the
 * same address. All allocator state lives inside the arena itself (the
 * header and the page table at its start), guarded by an rt_lock, so it
 * stays consistent across processes. Address space is reserved up front;
 * pages are only backed by the host once touched.
 *
 * Small blocks (<= 2048 bytes) come from per-size-class free lists carved
 * out of 16 KiB slabs; bigger blocks are runs of pages, found first-fit in
 * power-of-two bins of free runs, coalesced with their neighbours on free.
 * A page-descriptor table (one word per page) says what every page is, so
 * kfree needs no header and can reject pointers it never handed out.
 */
#include "moat/platform.h"
#include "rt.h"

#ifdef MOAT_TEST_LIBC_HEAP
/* Hosted test builds may take every block from libc instead, so that
 * AddressSanitizer sees each one: overflows, use after free and leaks in
 * the core show up there. Nothing is shared between processes then. */
void *malloc(size_t size);
void *realloc(void *p, size_t size);
void free(void *p);

static size_t g_test_arena_size;

int rt_arena_init(size_t size) {
  g_test_arena_size = size ? size : 4ull << 30;
  return 0;
}

void rt_arena_usage(size_t *used, size_t *size) {
  *used = 0;
  *size = g_test_arena_size;
}

void rt_arena_range(uintptr_t *lo, uintptr_t *hi) {
  *lo = *hi = 0;
}

void *kmalloc(size_t size) {
  return malloc(size ? size : 1);
}

void *kzalloc(size_t size) {
  void *p = kmalloc(size);
  if (p)
    memset(p, 0, size);
  return p;
}

void *krealloc(void *p, size_t size) {
  if (size == 0) {
    free(p);
    return NULL;
  }
  return realloc(p, size);
}

void kfree(void *p) {
  free(p);
}
#else

#define PAGE 4096ul
#define SLAB_PAGES 4
#define NBINS 32
#define MAX_SMALL 2048

/* Page descriptor: kind in the top 3 bits, a value in the rest. */
#define PD_KIND(d) ((d) >> 29)
#define PD_VALUE(d) ((d)&0x1fffffffu)
#define PD_UNUSED 0   /* never allocated (above top) */
#define PD_SLAB 1     /* value: size class index */
#define PD_RUN 2      /* first page of an allocated run; value: pages */
#define PD_RUN_CONT 3 /* other pages of an allocated run */
#define PD_FREE 4     /* first or last page of a free run; value: pages */
#define PD_FREE_IN 5  /* inside a free run */
#define PD(kind, value) (((uint32_t)(kind) << 29) | (uint32_t)(value))

static const uint16_t g_class_size[] = {
    16,  32,  48,  64,  80,  96,  112, 128,  160,  192,  224,  256,
    320, 384, 448, 512, 640, 768, 896, 1024, 1280, 1536, 1792, 2048,
};
#define NCLASSES (sizeof(g_class_size) / sizeof(g_class_size[0]))

struct free_run {
  struct free_run *next, *prev;
};

struct free_obj {
  struct free_obj *next;
  uint64_t magic; /* FREE_MAGIC while on a free list: catches double frees */
};
#define FREE_MAGIC 0x6d6f61744672ee5aull

struct arena {
  struct rt_lock lock;
  size_t size;       /* bytes of the whole arena */
  size_t npages;     /* pages of the whole arena */
  size_t first_page; /* first page after header and page table */
  size_t top;        /* pages below this index have been handed out */
  size_t fresh;      /* pages from this index on were never handed out */
  size_t used;       /* bytes in live allocations (approximate for slabs) */
  struct free_run *bins[NBINS];
  struct free_obj *classes[NCLASSES];
  uint32_t *pd; /* the page descriptor table */
};

static struct arena *g_arena;

static inline char *page_addr(size_t index) {
  return (char *)g_arena + index * PAGE;
}

static inline size_t page_index(const void *p) {
  return (size_t)((const char *)p - (const char *)g_arena) / PAGE;
}

int rt_arena_init(size_t size) {
  if (g_arena)
    return 0;
  if (size == 0)
    size = 4ull << 30;
  size = ALIGN_UP(size, PAGE);
  if (size < 64 * PAGE)
    return -LINUX_EINVAL;
  void *p = NULL;
  int rc = plat_mem_map(NULL, size, PLAT_PROT_READ | PLAT_PROT_WRITE,
                        PLAT_MAP_SHARED, &p);
  if (rc < 0)
    return rc;
  if (!p || ((uintptr_t)p & (PAGE - 1)))
    return -LINUX_EINVAL;
  struct arena *a = p;
  a->size = size;
  a->npages = size / PAGE;
  a->pd = (uint32_t *)((char *)p + ALIGN_UP(sizeof(*a), 64));
  size_t meta = ALIGN_UP(sizeof(*a), 64) + a->npages * sizeof(uint32_t);
  a->first_page = ALIGN_UP(meta, PAGE) / PAGE;
  a->top = a->first_page;
  a->fresh = a->first_page;
  g_arena = a;
  return 0;
}

void rt_arena_usage(size_t *used, size_t *size) {
  if (!g_arena) {
    *used = 0;
    *size = 0;
    return;
  }
  *used = g_arena->used;
  *size = g_arena->size;
}

void rt_arena_range(uintptr_t *lo, uintptr_t *hi) {
  *lo = (uintptr_t)g_arena;
  *hi = g_arena ? (uintptr_t)g_arena + g_arena->size : 0;
}

static unsigned bin_of(size_t pages) {
  unsigned b = 0;
  while (pages > 1 && b < NBINS - 1) {
    pages >>= 1;
    b++;
  }
  return b;
}

static void run_mark_free(size_t index, size_t pages) {
  uint32_t *pd = g_arena->pd;
  pd[index] = PD(PD_FREE, pages);
  pd[index + pages - 1] = PD(PD_FREE, pages);
  for (size_t i = index + 1; i + 1 < index + pages; i++)
    pd[i] = PD(PD_FREE_IN, 0);
}

static void bin_insert(size_t index, size_t pages) {
  struct free_run *r = (struct free_run *)page_addr(index);
  unsigned b = bin_of(pages);
  r->prev = NULL;
  r->next = g_arena->bins[b];
  if (r->next)
    r->next->prev = r;
  g_arena->bins[b] = r;
  run_mark_free(index, pages);
}

static void bin_remove(size_t index, size_t pages) {
  struct free_run *r = (struct free_run *)page_addr(index);
  if (r->prev)
    r->prev->next = r->next;
  else
    g_arena->bins[bin_of(pages)] = r->next;
  if (r->next)
    r->next->prev = r->prev;
}

/* Take a run of pages; caller holds the lock. Returns the first page index
 * or 0 when the arena is full. */
static size_t pages_take(size_t pages) {
  struct arena *a = g_arena;
  for (unsigned b = bin_of(pages); b < NBINS; b++) {
    for (struct free_run *r = a->bins[b]; r; r = r->next) {
      size_t index = page_index(r);
      size_t have = PD_VALUE(a->pd[index]);
      if (have < pages)
        continue;
      bin_remove(index, have);
      if (have > pages)
        bin_insert(index + pages, have - pages);
      return index;
    }
  }
  if (pages > a->npages - a->top)
    return 0;
  size_t index = a->top;
  a->top += pages;
  return index;
}

/* Give a run back, merging it with free neighbours; caller holds the lock. */
static void pages_give(size_t index, size_t pages) {
  struct arena *a = g_arena;
  if (index > a->first_page && PD_KIND(a->pd[index - 1]) == PD_FREE) {
    size_t prev_pages = PD_VALUE(a->pd[index - 1]);
    size_t prev = index - prev_pages;
    bin_remove(prev, prev_pages);
    index = prev;
    pages += prev_pages;
  }
  size_t next = index + pages;
  if (next < a->top && PD_KIND(a->pd[next]) == PD_FREE) {
    size_t next_pages = PD_VALUE(a->pd[next]);
    bin_remove(next, next_pages);
    pages += next_pages;
  }
  if (index + pages == a->top) {
    /* The run ends at the top: lower the top instead of keeping a run. */
    for (size_t i = index; i < index + pages; i++)
      a->pd[i] = PD(PD_UNUSED, 0);
    a->top = index;
    return;
  }
  bin_insert(index, pages);
}

static unsigned class_of(size_t size) {
  unsigned c = 0;
  while (g_class_size[c] < size)
    c++;
  return c;
}

static void *small_alloc(unsigned c) {
  struct arena *a = g_arena;
  if (!a->classes[c]) {
    size_t index = pages_take(SLAB_PAGES);
    if (!index)
      return NULL;
    for (size_t i = 0; i < SLAB_PAGES; i++)
      a->pd[index + i] = PD(PD_SLAB, c);
    size_t osize = g_class_size[c];
    char *base = page_addr(index);
    /* Objects never straddle a page boundary, so the page a pointer is in
     * always names its class. */
    struct free_obj *list = NULL;
    for (size_t pg = 0; pg < SLAB_PAGES; pg++) {
      char *page = base + pg * PAGE;
      for (size_t off = 0; off + osize <= PAGE; off += osize) {
        struct free_obj *o = (struct free_obj *)(page + off);
        o->next = list;
        o->magic = FREE_MAGIC;
        list = o;
      }
    }
    a->classes[c] = list;
  }
  struct free_obj *o = a->classes[c];
  if (o->magic != FREE_MAGIC)
    rt_panic("kmalloc: free list of class %u corrupted", c);
  a->classes[c] = o->next;
  o->magic = 0;
  a->used += g_class_size[c];
  return o;
}

/* *zero_out: the block is known to hold zeros (a run of pages never
 * handed out: the host gave the arena as zeros). */
static void *alloc(size_t size, bool *zero_out) {
  if (unlikely(!g_arena))
    rt_panic("kmalloc before rt_arena_init");
  if (size == 0)
    size = 1;
  *zero_out = false;
  if (size > g_arena->size)
    return NULL;
  void *p = NULL;
  rt_lock(&g_arena->lock);
  if (size <= MAX_SMALL) {
    p = small_alloc(class_of(size));
  } else {
    size_t pages = ALIGN_UP(size, PAGE) / PAGE;
    size_t index = pages_take(pages);
    if (index) {
      g_arena->pd[index] = PD(PD_RUN, pages);
      for (size_t i = 1; i < pages; i++)
        g_arena->pd[index + i] = PD(PD_RUN_CONT, 0);
      g_arena->used += pages * PAGE;
      p = page_addr(index);
      if (index >= g_arena->fresh)
        *zero_out = true;
      if (index + pages > g_arena->fresh)
        g_arena->fresh = index + pages;
    }
  }
  /* A slab's pages count as handed out too (small_alloc took them
   * through pages_take, which only moves top). */
  if (g_arena->top > g_arena->fresh)
    g_arena->fresh = g_arena->top;
  rt_unlock(&g_arena->lock);
  return p;
}

void *kmalloc(size_t size) {
  bool zero;
  return alloc(size, &zero);
}

void *kzalloc(size_t size) {
  bool zero;
  void *p = alloc(size, &zero);
  /* A large zeroing of fresh pages would only fault them in for nothing
   * (task tables, handle tables at boot). */
  if (p && !zero)
    memset(p, 0, size);
  return p;
}

/* The usable size of a live block; panics on a pointer kmalloc never gave.
 * Caller holds the lock. */
static size_t block_size(const void *p) {
  struct arena *a = g_arena;
  uintptr_t addr = (uintptr_t)p;
  uintptr_t lo = (uintptr_t)page_addr(a->first_page);
  uintptr_t hi = (uintptr_t)page_addr(a->top);
  if (addr < lo || addr >= hi)
    rt_panic("kfree of %p outside the arena", p);
  uint32_t d = a->pd[page_index(p)];
  if (PD_KIND(d) == PD_SLAB) {
    size_t c = PD_VALUE(d);
    if (c >= NCLASSES || (addr & (PAGE - 1)) % g_class_size[c] != 0)
      rt_panic("kfree of %p: not a block start", p);
    return g_class_size[c];
  }
  if (PD_KIND(d) == PD_RUN && (addr & (PAGE - 1)) == 0)
    return PD_VALUE(d) * PAGE;
  rt_panic("kfree of %p: not an allocated block", p);
}

void kfree(void *p) {
  if (!p)
    return;
  struct arena *a = g_arena;
  rt_lock(&a->lock);
  size_t size = block_size(p);
  if (size <= MAX_SMALL) {
    struct free_obj *o = p;
    if (o->magic == FREE_MAGIC)
      rt_panic("kfree of %p: already free", p);
    size_t c = PD_VALUE(a->pd[page_index(p)]);
    o->next = a->classes[c];
    o->magic = FREE_MAGIC;
    a->classes[c] = o;
  } else {
    pages_give(page_index(p), size / PAGE);
  }
  a->used -= size;
  rt_unlock(&a->lock);
}

void *krealloc(void *p, size_t size) {
  if (!p)
    return kmalloc(size);
  if (size == 0) {
    kfree(p);
    return NULL;
  }
  rt_lock(&g_arena->lock);
  size_t old = block_size(p);
  rt_unlock(&g_arena->lock);
  if (size <= old && (size > MAX_SMALL || old <= MAX_SMALL))
    return p;
  void *n = kmalloc(size);
  if (!n)
    return NULL;
  memcpy(n, p, MIN(old, size));
  kfree(p);
  return n;
}
#endif

void *kzalloc_once(void **slot, size_t size, const char *what) {
  void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (p)
    return p;
  p = kzalloc(size);
  if (!p)
    rt_panic("out of memory for %s", what);
  void *none = NULL;
  if (!__atomic_compare_exchange_n(slot, &none, p, false, __ATOMIC_SEQ_CST,
                                   __ATOMIC_ACQUIRE)) {
    kfree(p);
    p = none;
  }
  return p;
}
