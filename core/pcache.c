/* The page cache of file mappings: one cache per inode (memfs, tarfs,
 * overlay and host files alike: it sits above the file systems, on the
 * inode's read and write operations), made when the first mapping of
 * the file appears (MAP_SHARED, or MAP_PRIVATE, whose pages are private
 * copy-on-write views of the cache's: core/mm.c, plat_mem_view) and
 * dropped when the last one goes, in any process, unless it is kept.
 *
 * Kept caches: a file mapped again and again (a program of a shell
 * script on an image root, a shared read-only mapping) would be filled
 * from the file at every mapping and given back at every end. So a cache
 * whose last mapping goes with no dirty page, of a file whose data is
 * read-only to the sandbox (pcache_keepable), stays attached to its
 * inode on a keep list (oldest first, with a reference to the inode),
 * within a budget (a sixteenth of the sandbox's memory limit, at most 32
 * MiB and 64 files); the oldest go when a newer one would not fit.
 * (Private mappings of host files use no cache: core/mm.c maps the host
 * file itself.) The next mapping takes it back if the
 * file's size, mtime and ctime are what they were when it was kept (the
 * mapping's own fstat has just asked the file system, so a host file
 * changed by someone else is noticed; changes through the sandbox keep
 * the cache right anyway, as for a mapped file); else it is dropped and
 * a new one made.
 *
 * Its pages live in the pool: one PLAT_MAP_SHARED reservation (never
 * committed until touched) made at boot, before any fork, so every host
 * process of the sandbox has it at the same address and the library OS
 * reads and writes the pages there. core/mm.c maps a cached page into a
 * guest mapping with plat_mem_alias, so every process that maps the file
 * shares the very page, as every process shares a Linux page cache
 * page. The pool is carved in chunks of 64 pages (256 KiB); a file's
 * chunk covers 64 consecutive pages of the file, contiguous in the pool,
 * so consecutive pages map as one host mapping.
 *
 * A page is filled from the file on its first fault (pcache_pages): a
 * sparse 4 GiB file touched at both ends costs two pages. It is dirty
 * once a process wrote to it through a mapping (a clean page is mapped
 * read-only, so the first write faults and marks it); dirty pages are
 * written back at msync, munmap, exit and when the cache is dropped, and
 * stay dirty while the cache lives (another process may still hold it
 * writable). read(2) and write(2) keep the file and the cache one: a
 * write reaches the file and every cached page it covers, a read sees
 * the dirty pages. Truncation zeroes what lies past the new end (its
 * whole pages go back to the host); a fault there is SIGBUS.
 *
 * Locks: a cache's chunks are its inode's: every use of them holds the
 * inode lock (filling and writing back run the file system's read and
 * write under it, as the generic read and write paths do). The pool's
 * lock, a leaf (mm, then inode, then pool), guards the pool, each
 * cache's count of mappings and the inode's pointer to its cache. */
#include "pcache.h"

#include "mm.h"
#include "moat/platform.h"
#include "rt.h"
#include "vfs.h"

#define PAGE 4096ull
#define CHUNK_PAGES 64
#define CHUNK (CHUNK_PAGES * PAGE)

struct pc_chunk {
  uint64_t index;    /* file offset / CHUNK */
  uint64_t pool_off; /* in the pool */
  uint64_t filled;   /* one bit per page */
  uint64_t dirty;
};

struct pcache {
  struct inode *inode; /* not a reference: the mappings' files hold one */
  uint32_t maps;       /* VMAs that name this cache, in every process */
  uint32_t nchunks, cap;
  struct pc_chunk *chunks; /* sorted by index */
  /* On the keep list (no mapping; the list holds a reference to the
   * inode), and the file as it was then. */
  bool kept;
  struct pcache *kept_prev, *kept_next;
  uint64_t kept_size;
  struct linux_timespec kept_mtime, kept_ctime;
};

struct pc_pool {
  struct rt_lock lock; /* the pool, maps and inode->pcache */
  char *base;
  uint64_t size, next; /* chunks below next were handed out once */
  uint64_t *free;      /* offsets of chunks given back */
  uint32_t nfree, free_cap;
  /* The keep list, oldest first, and what it holds; its budget. */
  struct pcache *kept_old, *kept_new;
  uint64_t kept_chunks, kept_max_chunks;
  uint32_t nkept;
};

#define KEEP_MAX_BYTES (32ull << 20)
#define KEEP_MAX_FILES 64

static struct pc_pool *g_pc; /* in the arena, made at boot */

bool pcache_init(void) {
  struct pc_pool *p =
      kzalloc_once((void **)&g_pc, sizeof(*g_pc), "the page cache");
  if (p->base)
    return true;
  /* As large as --memory allows plus room for half-used chunks; only
   * address space until touched. The platform's RLIMIT_AS fallback
   * counts it (platform/linux/cgroup.c). */
  uint64_t used, limit;
  mm_usage(&used, &limit);
  uint64_t size = ALIGN_UP(limit + limit / 4 + (64ull << 20), CHUNK);
  void *base = NULL;
  if (plat_mem_map(NULL, size, PLAT_PROT_READ | PLAT_PROT_WRITE,
                   PLAT_MAP_SHARED | PLAT_MAP_NORESERVE | PLAT_MAP_VIEWS,
                   &base) != 0)
    return false;
  p->size = size;
  p->base = base;
  p->kept_max_chunks = MIN(limit / 16, KEEP_MAX_BYTES) / CHUNK;
  return true;
}

bool pcache_ready(void) {
  return g_pc && g_pc->base;
}

/* ---- pool chunks (they take the pool lock) ---- */

static uint64_t chunk_alloc(struct pc_pool *p) {
  uint64_t off = UINT64_MAX;
  rt_lock(&p->lock);
  if (p->nfree) {
    off = p->free[--p->nfree];
  } else if (p->size - p->next >= CHUNK) {
    off = p->next;
    p->next += CHUNK;
  }
  rt_unlock(&p->lock);
  return off;
}

/* The chunk's pages go back to the host (zeros for its next user). */
static void chunk_free(struct pc_pool *p, uint64_t off) {
  plat_mem_discard(p->base + off, CHUNK);
  rt_lock(&p->lock);
  if (p->nfree == p->free_cap) {
    uint32_t cap = p->free_cap ? p->free_cap * 2 : 64;
    uint64_t *n = krealloc(p->free, cap * sizeof(*n));
    if (!n) {
      rt_unlock(&p->lock);
      return; /* lost to the pool, nothing worse */
    }
    p->free = n;
    p->free_cap = cap;
  }
  p->free[p->nfree++] = off;
  rt_unlock(&p->lock);
}

/* The position of chunk index in c (or where it would go). */
static uint32_t chunk_pos(const struct pcache *c, uint64_t index) {
  uint32_t lo = 0, hi = c->nchunks;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (c->chunks[mid].index < index)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static struct pc_chunk *chunk_make(struct pcache *c, uint64_t index) {
  uint32_t at = chunk_pos(c, index);
  if (at < c->nchunks && c->chunks[at].index == index)
    return &c->chunks[at];
  if (c->nchunks == c->cap) {
    uint32_t cap = c->cap ? c->cap * 2 : 4;
    struct pc_chunk *n = krealloc(c->chunks, cap * sizeof(*n));
    if (!n)
      return NULL;
    c->chunks = n;
    c->cap = cap;
  }
  uint64_t off = chunk_alloc(g_pc);
  if (off == UINT64_MAX)
    return NULL;
  memmove(&c->chunks[at + 1], &c->chunks[at],
          (c->nchunks - at) * sizeof(c->chunks[0]));
  c->nchunks++;
  c->chunks[at] = (struct pc_chunk){.index = index, .pool_off = off};
  return &c->chunks[at];
}

static char *page_addr(const struct pc_chunk *k, unsigned page) {
  return g_pc->base + k->pool_off + (uint64_t)page * PAGE;
}

/* ---- the keep list (pool lock held) ---- */

static void kept_unlink(struct pc_pool *p, struct pcache *c) {
  if (c->kept_prev)
    c->kept_prev->kept_next = c->kept_next;
  else
    p->kept_old = c->kept_next;
  if (c->kept_next)
    c->kept_next->kept_prev = c->kept_prev;
  else
    p->kept_new = c->kept_prev;
  c->kept_prev = c->kept_next = NULL;
  c->kept = false;
  p->kept_chunks -= c->nchunks;
  p->nkept--;
}

static bool same_time(const struct linux_timespec *a,
                      const struct linux_timespec *b) {
  return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Free c's chunks and c (no mapping names it, nobody can reach it any
 * more but through its inode, whose lock the caller holds). */
static void cache_free(struct pcache *c) {
  for (uint32_t i = 0; i < c->nchunks; i++)
    chunk_free(g_pc, c->chunks[i].pool_off);
  kfree(c->chunks);
  kfree(c);
}

/* Caches taken off the keep list and off their inodes, chained by
 * kept_next: free each under its inode's lock (no other inode lock held),
 * then drop the list's reference. */
static void drop_detached(struct pcache *c) {
  while (c) {
    struct pcache *next = c->kept_next;
    struct inode *inode = c->inode;
    rt_lock(&inode->lock); /* a hook that still uses it finishes first */
    cache_free(c);
    rt_unlock(&inode->lock);
    vfs_inode_put(inode);
    c = next;
  }
}

/* ---- the cache of an inode ---- */

struct pcache *pcache_get(struct inode *inode) {
  if (!pcache_ready())
    return NULL;
  struct pcache *stale = NULL;
  bool was_kept = false;
  rt_lock(&g_pc->lock);
  struct pcache *c = inode->pcache;
  if (c && c->kept) {
    kept_unlink(g_pc, c);
    was_kept = true;
    if (c->kept_size != inode->size ||
        !same_time(&c->kept_mtime, &inode->mtime) ||
        !same_time(&c->kept_ctime, &inode->ctime)) {
      /* The file changed since: its pages may not be its content. */
      inode->pcache = NULL;
      stale = c;
      c = NULL;
    }
  }
  if (!c) {
    c = kzalloc(sizeof(*c));
    if (c) {
      c->inode = inode;
      inode->pcache = c;
    }
  }
  if (c)
    c->maps++;
  rt_unlock(&g_pc->lock);
  if (stale) {
    rt_lock(&inode->lock);
    cache_free(stale);
    rt_unlock(&inode->lock);
  }
  if (was_kept) /* the list's reference; the caller's file holds one */
    vfs_inode_put(inode);
  return c;
}

struct inode *pcache_inode(const struct pcache *c) {
  return c->inode;
}

void pcache_ref(struct pcache *c) {
  rt_lock(&g_pc->lock);
  c->maps++;
  rt_unlock(&g_pc->lock);
}

/* The file's size now (hostfs asks the host); inode->lock held. */
static uint64_t file_size(struct inode *inode) {
  if (inode->iops && inode->iops->getattr)
    inode->iops->getattr(inode);
  return inode->size;
}

/* Write k's dirty pages among mask back, never past size (caller holds
 * the inode lock). */
static int chunk_writeback(struct inode *inode, const struct pc_chunk *k,
                           uint64_t mask, uint64_t size) {
  int err = 0;
  uint64_t bits = k->dirty & k->filled & mask;
  if (!bits || !inode->iops || !inode->iops->write)
    return 0;
  for (unsigned i = 0; i < CHUNK_PAGES; i++) {
    if (!(bits & (1ull << i)))
      continue;
    uint64_t at = k->index * CHUNK + (uint64_t)i * PAGE;
    if (at >= size)
      break;
    size_t len = (size_t)MIN(PAGE, size - at);
    long n = inode->iops->write(inode, page_addr(k, i), len, at);
    if (n < 0 && !err)
      err = (int)n;
  }
  return err;
}

/* May c stay on the keep list (inode lock held)? Only the cache of a
 * regular file whose data is on a read-only file system (a read-only
 * grant, or the default root's copy-on-write grants of /usr, /bin, /lib
 * while the file is not copied up) that no mapping dirtied,
 * within the budget. A writable one could be unlinked while kept, and
 * the reference would hold its memory (an in-memory file) or its host
 * blocks (an open host handle) until the cache went. */
static bool pcache_keepable(const struct pcache *c, const struct inode *inode) {
  if (!LINUX_S_ISTYPE(inode->mode, LINUX_S_IFREG) ||
      !(vfs_is_rdonly(inode) || overlay_data_readonly(inode)) || !c->nchunks ||
      c->nchunks > g_pc->kept_max_chunks)
    return false;
  for (uint32_t i = 0; i < c->nchunks; i++)
    if (c->chunks[i].dirty)
      return false;
  return true;
}

void pcache_put(struct pcache *c) {
  struct inode *inode = c->inode;
  struct pcache *evict = NULL, **tail = &evict;
  rt_lock(&inode->lock);
  /* Under the inode lock no mapping can dirty a page meanwhile. */
  bool keep = pcache_keepable(c, inode);
  rt_lock(&g_pc->lock);
  bool last = --c->maps == 0;
  if (last && keep) {
    /* Room first: the oldest go (freed below, after this inode's lock). */
    while (g_pc->kept_old &&
           (g_pc->nkept >= KEEP_MAX_FILES ||
            g_pc->kept_chunks + c->nchunks > g_pc->kept_max_chunks)) {
      struct pcache *old = g_pc->kept_old;
      kept_unlink(g_pc, old);
      old->inode->pcache = NULL;
      *tail = old;
      tail = &old->kept_next;
    }
    c->kept = true;
    c->kept_size = inode->size;
    c->kept_mtime = inode->mtime;
    c->kept_ctime = inode->ctime;
    c->kept_prev = g_pc->kept_new;
    c->kept_next = NULL;
    if (g_pc->kept_new)
      g_pc->kept_new->kept_next = c;
    else
      g_pc->kept_old = c;
    g_pc->kept_new = c;
    g_pc->kept_chunks += c->nchunks;
    g_pc->nkept++;
    vfs_inode_get(inode);
  } else if (last) { /* a new mapping from now on makes a new cache */
    inode->pcache = NULL;
  }
  rt_unlock(&g_pc->lock);
  if (last && !keep) {
    uint64_t size = file_size(inode);
    for (uint32_t i = 0; i < c->nchunks; i++)
      chunk_writeback(inode, &c->chunks[i], ~0ull, size);
    cache_free(c);
  }
  rt_unlock(&inode->lock);
  drop_detached(evict);
}

long pcache_pages(struct pcache *c, uint64_t first, uint64_t count, bool write,
                  void **pool_out, bool *dirty_out) {
  struct inode *inode = c->inode;
  long ret;
  rt_lock(&inode->lock);
  uint64_t size = file_size(inode);
  uint64_t pages = size / PAGE + (size % PAGE ? 1 : 0);
  if (first >= pages) {
    ret = 0;
    goto out;
  }
  /* Stay inside one chunk and the file. */
  unsigned at = (unsigned)(first % CHUNK_PAGES);
  count = MIN(count, (uint64_t)(CHUNK_PAGES - at));
  count = MIN(count, pages - first);
  struct pc_chunk *k = chunk_make(c, first / CHUNK_PAGES);
  if (!k) {
    ret = -LINUX_ENOMEM;
    goto out;
  }
  /* Fill the unfilled pages, each run of them with as few reads as the
   * file system needs (one host call per run for host files, instead of
   * one per page: an ELF load fills whole segments). */
  for (unsigned i = at; i < at + count;) {
    if (k->filled & (1ull << i)) {
      i++;
      continue;
    }
    unsigned run = 1;
    while (i + run < at + count && !(k->filled & (1ull << (i + run))))
      run++;
    /* Bytes the file does not have (a hole, the tail past its end)
     * stay zero: the pool's pages start as zeros. */
    char *p = page_addr(k, i);
    uint64_t fo = k->index * CHUNK + (uint64_t)i * PAGE;
    size_t want = (size_t)run * PAGE, got = 0;
    long n = 0;
    while (got < want && inode->iops && inode->iops->read) {
      n = inode->iops->read(inode, p + got, want - got, fo + got);
      if (n <= 0 || (size_t)n > want - got)
        break;
      got += (size_t)n;
    }
    if (n < 0) {
      /* Unreadable: the run ends before the first page not wholly read
       * (the pages read whole are good). */
      unsigned whole = (unsigned)(got / PAGE);
      k->filled |= whole ? ((~0ull >> (64 - whole)) << i) : 0;
      if (i + whole == at) {
        ret = n;
        goto out;
      }
      count = i + whole - at;
      break;
    }
    if (got < want)
      memset(p + got, 0, want - got);
    k->filled |= (run == 64 ? ~0ull : ((1ull << run) - 1)) << i;
    i += run;
  }
  bool dirty = true;
  for (unsigned i = at; i < at + count; i++) {
    uint64_t bit = 1ull << i;
    if (write)
      k->dirty |= bit;
    dirty &= (k->dirty & bit) != 0;
  }
  *pool_out = page_addr(k, at);
  *dirty_out = dirty;
  ret = (long)count;
out:
  rt_unlock(&inode->lock);
  return ret;
}

int pcache_writeback(struct pcache *c, uint64_t first, uint64_t count) {
  struct inode *inode = c->inode;
  int err = 0;
  if (!count)
    return 0;
  uint64_t last = first + count - 1;
  if (last < first)
    last = UINT64_MAX;
  rt_lock(&inode->lock);
  uint64_t size = file_size(inode);
  for (uint32_t i = chunk_pos(c, first / CHUNK_PAGES); i < c->nchunks; i++) {
    const struct pc_chunk *k = &c->chunks[i];
    if (k->index > last / CHUNK_PAGES)
      break;
    uint64_t mask = ~0ull;
    if (k->index == first / CHUNK_PAGES)
      mask &= ~0ull << (first % CHUNK_PAGES);
    if (k->index == last / CHUNK_PAGES && last % CHUNK_PAGES != 63)
      mask &= (1ull << (last % CHUNK_PAGES + 1)) - 1;
    int e = chunk_writeback(inode, k, mask, size);
    if (e && !err)
      err = e;
  }
  rt_unlock(&inode->lock);
  return err;
}

/* ---- the generic read and write paths, truncation ---- */

/* Call fn for each filled page of inode's cache that [off, off + len)
 * overlaps, with the overlap (caller holds the inode lock). */
static void
for_cached(struct inode *inode, uint64_t off, size_t len, bool dirty_only,
           void (*fn)(char *page_part, size_t n, size_t buf_at, void *ctx),
           void *ctx) {
  struct pcache *c = inode->pcache;
  if (!c || !len)
    return;
  uint64_t end = off + len;
  if (end < off)
    end = UINT64_MAX;
  for (uint32_t i = chunk_pos(c, off / CHUNK); i < c->nchunks; i++) {
    const struct pc_chunk *k = &c->chunks[i];
    uint64_t kstart = k->index * CHUNK;
    if (kstart >= end)
      break;
    uint64_t bits = dirty_only ? k->dirty & k->filled : k->filled;
    for (unsigned p = 0; bits && p < CHUNK_PAGES; p++) {
      if (!(bits & (1ull << p)))
        continue;
      uint64_t ps = kstart + (uint64_t)p * PAGE, pe = ps + PAGE;
      uint64_t s = MAX(ps, off), e = MIN(pe, end);
      if (s < e)
        fn(page_addr(k, p) + (s - ps), (size_t)(e - s), (size_t)(s - off), ctx);
    }
  }
}

static void copy_out(char *page_part, size_t n, size_t buf_at, void *ctx) {
  rt_ucopy((char *)ctx + buf_at, page_part, n);
}

static void copy_in(char *page_part, size_t n, size_t buf_at, void *ctx) {
  rt_ucopy(page_part, (const char *)ctx + buf_at, n);
}

void pcache_after_read(struct inode *inode, void *buf, size_t len,
                       uint64_t off) {
  /* Clean pages hold what the file holds; dirty ones are newer. */
  for_cached(inode, off, len, true, copy_out, buf);
}

/* A change through the sandbox to a file whose cache is kept: drop the
 * cache (caller holds the inode lock, and a reference to the inode, so
 * the keep list's reference is never the last). A copied-up or rewritten
 * file's memory is then never held by the list. true if it was kept. */
static bool drop_if_kept(struct inode *inode) {
  struct pcache *c = inode->pcache;
  if (!c || !c->kept)
    return false;
  rt_lock(&g_pc->lock);
  bool kept = c->kept; /* pcache_get may have taken it meanwhile */
  if (kept) {
    kept_unlink(g_pc, c);
    inode->pcache = NULL;
  }
  rt_unlock(&g_pc->lock);
  if (!kept)
    return false;
  cache_free(c);
  vfs_inode_put(inode);
  return true;
}

void pcache_after_write(struct inode *inode, const void *buf, size_t len,
                        uint64_t off) {
  if (!drop_if_kept(inode))
    for_cached(inode, off, len, false, copy_in, (void *)buf);
}

static void zero_fill(char *page_part, size_t n, size_t buf_at, void *ctx) {
  (void)buf_at;
  (void)ctx;
  memset(page_part, 0, n);
}

void pcache_zeroed(struct inode *inode, uint64_t off, uint64_t len) {
  if (!drop_if_kept(inode))
    for_cached(inode, off, (size_t)len, false, zero_fill, NULL);
}

void pcache_truncated(struct inode *inode, uint64_t size) {
  if (drop_if_kept(inode))
    return;
  struct pcache *c = inode->pcache;
  if (!c)
    return;
  for (uint32_t i = chunk_pos(c, size / CHUNK); i < c->nchunks; i++) {
    struct pc_chunk *k = &c->chunks[i];
    for (unsigned p = 0; p < CHUNK_PAGES; p++) {
      uint64_t ps = k->index * CHUNK + (uint64_t)p * PAGE;
      if (ps + PAGE <= size || !(k->filled & (1ull << p)))
        continue;
      if (ps < size) { /* the page that holds the new end */
        memset(page_addr(k, p) + (size - ps), 0, (size_t)(ps + PAGE - size));
        continue;
      }
      /* Wholly past the end: back to the host; it stays filled (with
       * the zeros the file has there if it grows again) and clean. */
      plat_mem_discard(page_addr(k, p), PAGE);
      k->dirty &= ~(1ull << p);
    }
  }
}
