/* The guest address space: the VMAs in the guest window (a balanced
 * tree in address order, core/vma_tree.c, so that 65530 of them cost
 * O(log n) per call; vm.max_map_count enforced with Linux's rules) and
 * the moat_mmap family that edits them, brk, and the pointer checks the
 * shim runs on every guest pointer (moat_user_ok, moat_user_strncpy).
 *
 * Every guest mapping is placed by this file and made with PLAT_MAP_FIXED,
 * so the libOS's own memory (above the window) can never be named, moved
 * or unmapped by the guest.
 *
 * A MAP_SHARED file mapping maps the file's page cache (core/pcache.c),
 * which every process of the sandbox shares: the host range starts as a
 * reservation without access, and the shim's fault path asks
 * moat_mm_fault, which fills the page in the cache from the file if it is
 * not there yet and maps the cache's page at the faulting address with
 * plat_mem_alias (a little ahead for a reader); a clean page is mapped
 * without PROT_WRITE, so its first write faults again and marks it dirty.
 * Another process's mapping, read(2) and write(2) of the file therefore
 * see a write at once. Dirty pages are written back at msync, munmap,
 * when replaced, at exit, and when the last mapping of the file anywhere
 * goes. Past the end of the file a touch is SIGBUS; a truncation by this
 * process takes its mapped pages back (cache_map, mm_file_truncated).
 * mprotect and mremap let go of the pages, which the next touch maps
 * again. A shared mapping of a file open read-only can never become
 * writable (VMA_NOWRITE). Without the cache's pool (the host gave no
 * room at boot) shared file mappings are copies as private ones are.
 *
 * MAP_PRIVATE file mappings (VMA_COW) map the same cache's pages as
 * private views (plat_mem_view): the host copies a page at its first
 * write, in this process only, so an unwritten page sees later changes
 * of the file and a written one keeps its copy, fork and mprotect need
 * nothing of ours, and every process running a program shares its text
 * (the ELF loader and ld.so map files this way). The views are made at
 * mmap for every page the file covers; when the cache cannot (its pool
 * is full, or the platform has no views) the pages are copies: mapped
 * anonymous, filled through the file's read path, then given their
 * final protection. MADV_DONTNEED gives both the file's content back. Pages
 * wholly past the end of the file (at mmap time, or added by mremap)
 * are left unfilled, with no access at the host level: Linux raises
 * SIGBUS for an access there, so the shim's fault path asks
 * moat_mm_fault, which fills them once the file has grown over them and
 * otherwise says SIGBUS. A VMA keeps one boundary (the file offset from
 * which its pages are unfilled), so it still stands for exactly one Linux
 * VMA and mremap's one-VMA rule keeps working.
 *
 * An address space is a struct mm (the VMA set, its figures, the brk
 * area, its lock), which a process reaches from its struct proc
 * (proc->mm): each call here works on the calling thread's process's
 * (mm_current) and hands it down to the helpers. A process's threads
 * share it, and so does a vfork child until it execs; exec keeps it and
 * empties the window (moat_mm_exec_reset). It is private to the host
 * process it lives in: on the Linux platform every guest process is a
 * host process, and each host process has one instance (g_host_mm, on
 * the MOAT_PROCESS_HOT page), which a process is attached to when it
 * starts to run there: the first one at boot and one started from
 * outside get it empty (mm_attach_new), a fork's child gets the copy the
 * host fork made at the same address, with the VMA set copied before the
 * fork (mm_fork_child). struct proc lives in the arena, but only the
 * process itself follows its proc->mm; another one reads the figures
 * each address space publishes in its host record (task_host_note_vm:
 * /proc/PID/status, stat, statm), and /proc/PID/maps shows the caller's
 * own only. The VMA nodes come from kmalloc (the arena), so that fork can
 * copy them for the child before the host fork.
 *
 * Memory accounting (docs/processes.md): each address space counts its
 * commit charge (Linux's strict overcommit rules), its total and its data
 * mappings (RLIMIT_AS, RLIMIT_DATA); the sandbox's charge (--memory) is one
 * atomic counter in the arena that every process and the in-memory file
 * systems add to, checked before a mapping grows. */
#include "mm.h"

#include "file.h"
#include "moat/hot.h"
#include "moat/moat.h"
#include "moat/platform.h"
#include "pcache.h"
#include "proc.h"
#include "rt.h"
#include "task.h"
#include "vma.h"

#define PAGE LINUX_PAGE_SIZE

enum {
  VMA_SHARED = 1,    /* MAP_SHARED (anonymous, or a file open for writing,
                        which is then written back): shared host pages */
  VMA_FILE = 2,      /* filled from a file (madvise DONTNEED keeps it) */
  VMA_NOWRITE = 4,   /* a shared file mapped as a copy: may never be writable */
  VMA_BRK = 8,       /* the heap that brk moves */
  VMA_LAZY = 16,     /* a file mapping that had unfilled pages */
  VMA_STACK = 32,    /* the main stack (moat_mmap_stack): not data, and not
                        in the commit charge (Linux charges it as it grows) */
  VMA_NOACCT = 64,   /* not in this process's commit charge: a shared
                        anonymous mapping inherited by fork (its creator
                        carries it), a vfork child's copy before exec, or
                        anything left after mm_release */
  VMA_SHM = 128,     /* an attached System V shared memory segment (shm):
                        its pages are the segment's in the pool (charged to
                        the sandbox by shmget), each VMA counts one attach */
  VMA_COW = 256,     /* a MAP_PRIVATE file mapping whose filled pages are
                        private views of the page cache (plat_mem_view):
                        the host copies a page at its first write */
  VMA_HOSTMAP = 512, /* with VMA_COW, no cache: the views are private
                        mappings of the host file itself (plat_host_map) */
};

/* A MAP_SHARED file mapping of the page cache (mapped on fault, pages
 * written back); a VMA_COW one names the cache too but keeps the filled
 * run / unfilled run model of private file mappings. */
static bool shared_cache(const struct vma *v) {
  return v->cache && !(v->flags & VMA_COW);
}

/* First address of v whose page is unfilled (v->end when none is). */
static uint64_t vma_hole(const struct vma *v) {
  if (!v->file)
    return v->end;
  if (v->unfilled <= v->off)
    return v->start;
  if (v->unfilled - v->off >= v->end - v->start)
    return v->end;
  return v->start + (v->unfilled - v->off);
}

static void vma_free(struct vma *v) {
  if (v->cache) /* first: its last put writes back through the file */
    pcache_put(v->cache);
  if (v->file)
    file_put(v->file);
  if (v->shm)
    sysv_shm_vma_close(v->shm);
  kfree(v);
}

/* The sandbox-wide commit charge (--memory), in the arena: every
 * process's charge plus the in-memory file systems' pages. */
struct mm_shared {
  uint64_t committed; /* atomic */
  uint64_t limit;
};
static struct mm_shared *g_share;

/* An address space (Linux's mm_struct): the VMA set, its figures and the
 * brk area. A process reaches its own through proc->mm (mm_current);
 * the threads of one process, and a vfork child until it execs, share
 * it. */
struct mm {
  struct rt_lock lock;
  struct vma_tree vmas;
  uint64_t max_map_count; /* vm.max_map_count */
  /* Address ranges whose VMAs may have become mergeable with a neighbour
   * (vma_merge_dirty merges there, the set being too long to walk). */
  struct {
    uint64_t lo, hi;
  } dirty[4];
  int ndirty;
  /* This address space's figures (bytes): its commit charge, and what
   * RLIMIT_AS (every mapping) and RLIMIT_DATA (private writable, not the
   * stack) count, as Linux's total_vm and data_vm. */
  uint64_t charged;
  uint64_t total;
  uint64_t data;
  /* The part of charged already in g_share->committed, and room taken
   * there for the operation under way (charge_ok); mm_unlock settles. */
  uint64_t settled;
  uint64_t reserved;
  uint64_t fork_charge; /* what a forked child starts with */
  uint64_t brk_start, brk_cur;
  bool brk_ready;
  /* A thread that faulted on an unfilled page while another filled it
   * finds the page filled and runs the access again, once: a second
   * fault at the same page is a real one (a write to a read-only page),
   * which the platform does not tell apart. Each thread keeps its retried
   * page (struct task's mm_retry_*), valid while its generation is this
   * one; a change of the host mappings starts a new one (retry_forget). */
  uint64_t retry_gen;
  /* The record of the host process the address space lives in (in the
   * arena): it carries the charge for the collector when that process
   * dies without its exit path, and the figures /proc shows to other
   * processes (charge_settle). */
  struct task_host *host;
};

/* This host process's address space. On the Linux platform every guest
 * process is a host process of its own (a vfork child runs on its
 * parent's until it execs), so there is one address space per host
 * process, and a host fork copies it into the child at the same address.
 * Only mm_attach names it: everything else reaches it through proc->mm.
 * Every write of a fork's child lands on the same page (MOAT_PROCESS_HOT,
 * include/moat/hot.h). */
static struct mm g_host_mm MOAT_PROCESS_HOT;

/* The calling thread's process's address space; NULL for a thread of no
 * process (moat_boot before the first process, the runtime's exec
 * server). */
static inline struct mm *mm_current(void) {
  struct task *t = task_current();
  return t && t->proc ? t->proc->mm : NULL;
}

static int plat_prot(int prot) {
  return prot & (PLAT_PROT_READ | PLAT_PROT_WRITE | PLAT_PROT_EXEC);
}

/* Linux's strict overcommit accounting: private writable mappings and
 * shared anonymous memory are charged; PROT_NONE reservations, read-only
 * private mappings and shared file mappings are not. */
static bool charged_kind(int prot, unsigned flags, bool file) {
  if (flags & (VMA_STACK | VMA_NOACCT))
    return false;
  if (flags & VMA_SHARED)
    return !file;
  return !(flags & VMA_NOWRITE) && (prot & LINUX_PROT_WRITE);
}

/* Linux's is_data_mapping: writable, private, not the stack. */
static bool data_kind(int prot, unsigned flags) {
  return (prot & LINUX_PROT_WRITE) &&
         !(flags & (VMA_SHARED | VMA_NOWRITE | VMA_STACK));
}

static uint64_t vma_charge(const struct vma *v) {
  return charged_kind(v->prot, v->flags, v->file) ? v->end - v->start : 0;
}

static uint64_t vma_data(const struct vma *v) {
  return data_kind(v->prot, v->flags) ? v->end - v->start : 0;
}

/* Account v in (sign 1) or out of (-1) this address space's figures. */
static void vma_account(struct mm *mm, const struct vma *v, int sign) {
  uint64_t size = v->end - v->start;
  if (sign > 0) {
    mm->charged += vma_charge(v);
    mm->total += size;
    mm->data += vma_data(v);
  } else {
    mm->charged -= vma_charge(v);
    mm->total -= size;
    mm->data -= vma_data(v);
  }
}

/* Add bytes to the sandbox-wide charge if it stays within the limit. */
static bool share_try_add(uint64_t bytes) {
  if (!g_share || !bytes)
    return true;
  uint64_t cur = __atomic_load_n(&g_share->committed, __ATOMIC_RELAXED);
  for (;;) {
    if (cur + bytes < cur || cur + bytes > g_share->limit)
      return false;
    if (__atomic_compare_exchange_n(&g_share->committed, &cur, cur + bytes,
                                    false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
      return true;
  }
}

static void share_sub(uint64_t bytes) {
  if (g_share && bytes)
    __atomic_sub_fetch(&g_share->committed, bytes, __ATOMIC_SEQ_CST);
}

int mm_charge_sandbox(uint64_t bytes) {
  return share_try_add(bytes) ? 0 : -LINUX_ENOMEM;
}

void mm_uncharge_sandbox(uint64_t bytes) {
  share_sub(bytes);
}

/* Bring the sandbox-wide charge in line with this address space's
 * (caller holds the lock): give back what was reserved and not used, or
 * take what an operation added beyond it. */
static void charge_settle(struct mm *mm) {
  uint64_t want = mm->charged, have = mm->settled + mm->reserved;
  if (want > have)
    __atomic_add_fetch(&g_share->committed, want - have, __ATOMIC_SEQ_CST);
  else
    share_sub(have - want);
  mm->settled = want;
  mm->reserved = 0;
  struct task_host *h = mm->host;
  if (h) {
    __atomic_store_n(&h->mem_charge, want, __ATOMIC_SEQ_CST);
    task_host_note_vm(h, mm->total, mm->data, want); /* for /proc */
  }
}

static void mm_unlock(struct mm *mm) {
  if (g_share)
    charge_settle(mm);
  rt_unlock(&mm->lock);
}

int mm_init(uint64_t mem_limit) {
  if (!g_share)
    g_share = kzalloc(sizeof(*g_share));
  if (!g_share)
    return -LINUX_ENOMEM;
  g_share->committed = 0;
  g_share->limit = mem_limit ? mem_limit : MM_DEFAULT_LIMIT;
  return 0;
}

/* p's threads run in this host process from now on: its address space is
 * this host process's, whose charge and figures go to p's host record.
 * The one place that names g_host_mm. */
static struct mm *mm_attach(struct proc *p) {
  struct mm *mm = &g_host_mm;
  p->mm = mm;
  mm->host = p->host;
  return mm;
}

void mm_attach_new(struct proc *p) {
  struct mm *mm = mm_attach(p);
  /* What this host process's copy held came from the host process it was
   * forked from (the nodes of a VMA set are that one's): forgotten, not
   * freed. Only this thread runs here yet. */
  *mm = (struct mm){
      .max_map_count = MM_MAX_MAP_COUNT, .retry_gen = 1, .host = p->host};
  vma_tree_init(&mm->vmas, MM_WINDOW_START, MM_WINDOW_END);
}

void mm_usage(uint64_t *committed, uint64_t *limit) {
  *committed =
      g_share ? __atomic_load_n(&g_share->committed, __ATOMIC_SEQ_CST) : 0;
  *limit = g_share ? g_share->limit : MM_DEFAULT_LIMIT;
}

uint64_t mm_max_map_count(void) {
  struct mm *mm = mm_current();
  return mm ? mm->max_map_count : MM_MAX_MAP_COUNT;
}

void mm_set_max_map_count(uint64_t limit) {
  struct mm *mm = mm_current();
  if (!mm)
    return;
  rt_lock(&mm->lock);
  mm->max_map_count = limit;
  rt_unlock(&mm->lock);
}

int mm_vma_count(void) {
  struct mm *mm = mm_current();
  if (!mm)
    return 0;
  rt_lock(&mm->lock);
  int n = (int)mm->vmas.count;
  int bad = vma_tree_check(&mm->vmas);
  rt_unlock(&mm->lock);
  return bad ? bad : n;
}

void mm_host_gone(struct task_host *h) {
  share_sub(__atomic_exchange_n(&h->mem_charge, 0, __ATOMIC_SEQ_CST));
}

int mm_foreach(int (*fn)(void *ctx, uint64_t start, uint64_t end, int prot,
                         bool shared),
               void *ctx) {
  struct mm *mm = mm_current();
  int ret = 0;
  if (!mm)
    return 0;
  rt_lock(&mm->lock);
  for (struct vma *v = mm->vmas.first; v && !ret; v = v->next)
    ret = fn(ctx, v->start, v->end, v->prot,
             v->flags & (VMA_SHARED | VMA_NOWRITE)); /* both MAP_SHARED */
  rt_unlock(&mm->lock);
  return ret;
}

/* ---- VMA set primitives (caller holds the lock) ---- */

/* The first VMA that ends above addr, or NULL. */
static struct vma *vma_find(struct mm *mm, uint64_t addr) {
  return vma_tree_find(&mm->vmas, addr);
}

/* VMAs around [lo, hi] may now merge with a neighbour. */
static void mark_dirty(struct mm *mm, uint64_t lo, uint64_t hi) {
  for (int i = 0; i < mm->ndirty; i++) {
    if (lo <= mm->dirty[i].hi && mm->dirty[i].lo <= hi) {
      mm->dirty[i].lo = MIN(lo, mm->dirty[i].lo);
      mm->dirty[i].hi = MAX(hi, mm->dirty[i].hi);
      return;
    }
  }
  if (mm->ndirty == (int)ARRAY_SIZE(mm->dirty)) {
    int i = mm->ndirty - 1; /* full: widen the last one */
    mm->dirty[i].lo = MIN(lo, mm->dirty[i].lo);
    mm->dirty[i].hi = MAX(hi, mm->dirty[i].hi);
    return;
  }
  mm->dirty[mm->ndirty].lo = lo;
  mm->dirty[mm->ndirty].hi = hi;
  mm->ndirty++;
}

/* Make sure no VMA straddles addr. Splitting changes no semantics, so a
 * caller may split and still fail afterwards (the pieces merge again at
 * the next vma_merge_dirty). */
static int vma_split_at(struct mm *mm, uint64_t addr) {
  struct vma *v = vma_find(mm, addr);
  if (!v || v->start >= addr)
    return 0;
  struct vma *tail = kmalloc(sizeof(*tail));
  if (!tail)
    return -LINUX_ENOMEM;
  *tail = *v;
  tail->start = addr;
  tail->off = v->off + (addr - v->start);
  if (v->file)
    file_get(v->file);
  if (v->shm)
    sysv_shm_vma_open(v->shm);
  if (v->cache)
    pcache_ref(v->cache);
  v->end = addr;
  vma_tree_insert(&mm->vmas, tail);
  mark_dirty(mm, addr, addr);
  return 0;
}

/* Drop the VMAs inside [start, end) (already split at both ends) from the
 * set; the host mapping is the caller's business. */
static void vma_drop_range(struct mm *mm, uint64_t start, uint64_t end) {
  struct vma *v = vma_find(mm, start);
  while (v && v->start < end) {
    struct vma *next = v->next;
    if (v->start >= start && v->end <= end) {
      vma_account(mm, v, -1);
      vma_tree_erase(&mm->vmas, v);
      vma_free(v);
    }
    v = next;
  }
}

/* Link a prepared node into the free range it describes. */
static void vma_link(struct mm *mm, struct vma *n) {
  vma_tree_insert(&mm->vmas, n);
  vma_account(mm, n, 1);
  mark_dirty(mm, n->start, n->end);
}

/* Can v and its successor n be one VMA? Besides agreeing, a file mapping
 * must stay one run of filled pages followed by one run of unfilled. */
static bool vma_mergeable_but_prot(const struct vma *v, const struct vma *n) {
  if (v->shm || n->shm)
    return false; /* each attach piece counts in shm_nattch */
  if (v->end != n->start || (v->flags | VMA_LAZY) != (n->flags | VMA_LAZY) ||
      v->file != n->file || v->cache != n->cache)
    return false;
  if (!v->file)
    return true;
  if (shared_cache(v)) /* pages come from the cache: offsets matter */
    return v->off + (v->end - v->start) == n->off;
  return v->off + (v->end - v->start) == n->off &&
         (vma_hole(v) == v->end || vma_hole(n) == n->start);
}

static bool vma_mergeable(const struct vma *v, const struct vma *n) {
  return v->prot == n->prot && vma_mergeable_but_prot(v, n);
}

/* Merge neighbours that touch and agree around the ranges marked dirty
 * since the last call, so the set stays as short as Linux's. */
static void vma_merge_dirty(struct mm *mm) {
  for (int i = 0; i < mm->ndirty; i++) {
    uint64_t hi = mm->dirty[i].hi;
    struct vma *v = vma_find(mm, mm->dirty[i].lo);
    if (!v)
      v = mm->vmas.last;
    else if (v->prev)
      v = v->prev;
    while (v && v->next && v->start <= hi) {
      struct vma *n = v->next;
      if (vma_mergeable(v, n)) {
        if (v->file && vma_hole(v) == v->end)
          v->unfilled = MAX(n->unfilled, n->off);
        v->flags |= n->flags;
        vma_tree_erase(&mm->vmas, n);
        v->end = n->end;
        vma_tree_end_changed(&mm->vmas, v);
        vma_free(n);
        continue;
      }
      v = n;
    }
  }
  mm->ndirty = 0;
}

static bool range_free(struct mm *mm, uint64_t start, uint64_t end) {
  struct vma *v = vma_find(mm, start);
  return !v || v->start >= end;
}

/* Is [start, end) covered without holes? Fills *one with the VMA when a
 * single one covers it. */
static bool range_mapped(struct mm *mm, uint64_t start, uint64_t end,
                         struct vma **one) {
  uint64_t at = start;
  if (one)
    *one = NULL;
  for (struct vma *v = vma_find(mm, start); v && at < end; v = v->next) {
    if (v->start > at)
      return false;
    if (one && at == start && v->end >= end)
      *one = v;
    at = v->end;
  }
  return at >= end;
}

/* Linux's vm.max_map_count: would splitting the VMAs at start and end
 * (for an operation on [start, end) that changes them to prot) take the
 * address space past it? As Linux's split_vma, each split needs the count
 * below the limit, and a piece that merges with its outside neighbour
 * instead (Linux's vma_modify) costs none. munmap and a replacing mmap
 * only check the one split that adds a VMA (a range strictly inside one):
 * pass prot -1 for them. */
static bool split_over_limit(struct mm *mm, uint64_t start, uint64_t end,
                             int prot) {
  uint64_t count = mm->vmas.count;
  struct vma *v = vma_find(mm, start);
  if (!v || v->start >= end)
    return false;
  bool head = v->start < start;
  if (prot < 0) /* unmapping: only a hole in the middle of one VMA adds */
    return head && v->end > end && count >= mm->max_map_count;
  struct vma *last = v;
  while (last->next && last->next->start < end)
    last = last->next;
  bool tail = last->end > end;
  if (head && v->end <= end && v->next && v->next->start == v->end &&
      v->next->prot == prot && vma_mergeable_but_prot(v, v->next))
    head = false; /* the tail piece joins the next VMA */
  if (tail && last->start >= start && last->prev &&
      last->prev->end == last->start &&
      (last->prev->start >= start || last->prev->prot == prot) &&
      vma_mergeable_but_prot(last->prev, last))
    tail = false; /* the head piece joins the previous VMA */
  int splits = (head ? 1 : 0) + (tail ? 1 : 0);
  return splits && count + (uint64_t)splits > mm->max_map_count;
}

/* Bytes inside [start, end) that are charged (what 0), mapped at all
 * (1) or data (2). */
static uint64_t range_sum(struct mm *mm, uint64_t start, uint64_t end,
                          int what) {
  uint64_t sum = 0;
  for (struct vma *v = vma_find(mm, start); v && v->start < end; v = v->next) {
    if (v->end <= start)
      continue;
    bool counts = what == 0   ? charged_kind(v->prot, v->flags, v->file)
                  : what == 2 ? data_kind(v->prot, v->flags)
                              : true;
    if (counts)
      sum += MIN(v->end, end) - MAX(v->start, start);
  }
  return sum;
}

static uint64_t range_charge(struct mm *mm, uint64_t start, uint64_t end) {
  return range_sum(mm, start, end, 0);
}

/* Is there room in the sandbox's commit charge for add more bytes once
 * release bytes of this process's go? Takes the room (settled at
 * mm_unlock), so that processes allocating at once cannot both pass. */
static bool charge_ok(struct mm *mm, uint64_t release, uint64_t add) {
  if (add <= release)
    return true;
  if (!share_try_add(add - release))
    return false;
  mm->reserved += add - release;
  return true;
}

/* Linux's may_expand_vm: would the process's mappings grow past
 * RLIMIT_AS, or its data mappings past RLIMIT_DATA, by add bytes of which
 * overlap are replaced? data: the new pages are data. */
static bool expand_ok(struct mm *mm, uint64_t add, uint64_t overlap,
                      bool data) {
  uint64_t as = task_rlimit(LINUX_RLIMIT_AS);
  uint64_t grow = add > overlap ? add - overlap : 0;
  if (grow > as || mm->total > as - grow)
    return false;
  if (data) {
    uint64_t lim = task_rlimit(LINUX_RLIMIT_DATA);
    if (grow > lim || mm->data > lim - grow)
      return false;
  }
  return true;
}

static uint64_t mmap_base(void) {
  uint64_t gap = task_current() ? task_rlimit(LINUX_RLIMIT_STACK) : 0;
  if (gap < MM_STACK_GAP_MIN)
    gap = MM_STACK_GAP_MIN;
  if (gap > (MM_WINDOW_END - MM_WINDOW_START) / 6 * 5)
    gap = (MM_WINDOW_END - MM_WINDOW_START) / 6 * 5;
  return ALIGN_DOWN(MM_STACK_TOP - gap, PAGE);
}

/* The highest free range of len bytes below limit (0 when none). */
static uint64_t find_free_top_down(struct mm *mm, uint64_t len,
                                   uint64_t limit) {
  return vma_tree_gap_top_down(&mm->vmas, len, limit);
}

/* Write the pages of a shared file mapping in [s, e) back to the file,
 * never past its end (a mapping does not extend a file). */
static int writeback(struct vma *v, uint64_t s, uint64_t e) {
  if (v->cache && (v->flags & VMA_SHARED) && s < e) /* its dirty pages */
    return pcache_writeback(v->cache, (v->off + (s - v->start)) / PAGE,
                            (e - s) / PAGE);
  if (v->cache || !v->file || !(v->flags & VMA_SHARED) ||
      v->prot == LINUX_PROT_NONE)
    return 0;
  /* Unfilled pages hold nothing of the guest's (and no host access). */
  e = MIN(e, vma_hole(v));
  if (s >= e)
    return 0;
  uint64_t size = v->file->inode->size;
  uint64_t fo = v->off + (s - v->start);
  if (fo >= size)
    return 0;
  uint64_t len = MIN(e - s, size - fo);
  uint64_t done = 0;
  while (done < len) {
    long n = file_pwrite(v->file, (const void *)(s + done),
                         (size_t)MIN(len - done, (uint64_t)1 << 30), fo + done);
    if (n <= 0)
      return n < 0 ? (int)n : -LINUX_EIO;
    done += (uint64_t)n;
  }
  return 0;
}

static int writeback_range(struct mm *mm, uint64_t start, uint64_t end) {
  int err = 0;
  for (struct vma *v = vma_find(mm, start); v && v->start < end; v = v->next) {
    if (v->end <= start || !v->file)
      continue;
    int e = writeback(v, MAX(v->start, start), MIN(v->end, end));
    if (e && !err)
      err = e;
  }
  return err;
}

/* This process's host mappings change: a fault at a page already retried
 * once may be a new one (moat_mm_fault). */
static void retry_forget(struct mm *mm) {
  mm->retry_gen++;
}

/* Unmap the host pages of every VMA piece inside [start, end) and drop
 * them from the set. */
static int unmap_range(struct mm *mm, uint64_t start, uint64_t end) {
  int err = vma_split_at(mm, start);
  if (!err)
    err = vma_split_at(mm, end);
  if (err)
    return err;
  writeback_range(mm, start, end);
  /* The host may refuse (its own map count at its limit, when a piece is
   * the middle of a host mapping): the pieces from there on stay mapped
   * and in the set, and the caller gets its error. */
  uint64_t done = start;
  retry_forget(mm);
  for (struct vma *v = vma_find(mm, start); !err && v && v->start < end;
       v = v->next) {
    err = plat_mem_unmap((void *)v->start, v->end - v->start);
    if (!err)
      done = v->end;
  }
  vma_drop_range(mm, start, err ? done : end);
  return err;
}

static int host_map_fixed(struct mm *mm, uint64_t start, uint64_t len, int prot,
                          bool shared) {
  void *out = NULL;
  retry_forget(mm);
  int flags = PLAT_MAP_FIXED | (shared ? PLAT_MAP_SHARED : 0);
  int err = plat_mem_map((void *)start, len, plat_prot(prot), flags, &out);
  if (err)
    return err < 0 ? err : -LINUX_ENOMEM;
  if ((uint64_t)out != start)
    return -LINUX_ENOMEM; /* the host broke the contract; do not trust out */
  return 0;
}

/* ---- file mappings ---- */

/* /dev/zero is char device 1:5 (core/devfs.c): mapping it is anonymous. */
#define DEV_ZERO_RDEV ((1ull << 8) | 5)

/* Decide how fd may be mapped: 0 = a file to copy in, 1 = anonymous
 * (/dev/zero), or a negative errno. A file gets the open file in *file_out
 * (a reference: unfilled pages are read from it later, shared writable
 * ones written back) and its size in *size_out. */
static int check_map_file(int fd, int prot, int type, unsigned *vflags,
                          struct file **file_out, uint64_t *size_out) {
  long fl = moat_fd_get_flags(fd);
  if (fl < 0)
    return (int)fl;
  if (fl & LINUX_O_PATH)
    return -LINUX_EBADF;
  struct linux_stat st;
  int err = moat_fstat(fd, &st);
  if (err)
    return err;
  int acc = (int)(fl & LINUX_O_ACCMODE);
  if (acc == LINUX_O_WRONLY)
    return -LINUX_EACCES;
  if (LINUX_S_ISTYPE(st.st_mode, LINUX_S_IFCHR) && st.st_rdev == DEV_ZERO_RDEV)
    return 1;
  if (!LINUX_S_ISTYPE(st.st_mode, LINUX_S_IFREG))
    return -LINUX_ENODEV;
  if (type != LINUX_MAP_PRIVATE) {
    if ((prot & LINUX_PROT_WRITE) && acc != LINUX_O_RDWR)
      return -LINUX_EACCES;
    *vflags |= acc == LINUX_O_RDWR ? VMA_SHARED : VMA_NOWRITE;
  }
  *file_out = fdt_lookup(proc_current_fdt(), fd);
  if (!*file_out)
    return -LINUX_EBADF;
  *size_out = st.st_size > 0 ? (uint64_t)st.st_size : 0;
  *vflags |= VMA_FILE;
  return 0;
}

/* The file offset just past the last page that holds bytes of a file of
 * size bytes: pages from there on lie wholly past its end. */
static uint64_t file_pages_end(uint64_t size) {
  return size > UINT64_MAX - PAGE ? ALIGN_DOWN(UINT64_MAX, PAGE)
                                  : ALIGN_UP(size, PAGE);
}

static int fill_from_file(uint64_t start, uint64_t len, int fd, int64_t off) {
  uint64_t done = 0;
  while (done < len) {
    size_t chunk = (size_t)MIN(len - done, (uint64_t)1 << 30);
    long n = moat_pread(fd, (void *)(start + done), chunk, off + (int64_t)done);
    if (n < 0)
      return (int)n;
    if (n == 0 || (uint64_t)n > chunk)
      break; /* end of file: the rest stays zero */
    done += (uint64_t)n;
  }
  return 0;
}

/* Map v's pages of [s, e) (page-aligned, inside v; VMA_COW) as private
 * views of the file's page cache, filling the cache from the file as
 * needed; v's unfilled boundary follows (*done too: the first page not
 * viewed). 0, LINUX_SIGBUS when the file ends before e, or a negative
 * errno (-ENOMEM: the cache's pool is full; -EINVAL: the platform has
 * no views). The host range there must hold nothing of the guest's: a
 * view replaces it. */
static int cow_map(struct vma *v, uint64_t s, uint64_t e, uint64_t *done) {
  if (v->flags & VMA_HOSTMAP) {
    /* The host file itself (the core checked the range lies within the
     * file's pages); a file that shrank meanwhile gives SIGBUS past its
     * end from the host, as Linux does. */
    if (s >= e)
      return 0;
    const struct inode_ops *ops = v->file->inode->iops;
    int h = ops && ops->host_handle ? ops->host_handle(v->file->inode)
                                    : -LINUX_ENODEV;
    int err = h < 0 ? h
                    : plat_host_map(h, (void *)s, e - s, plat_prot(v->prot),
                                    v->off + (s - v->start));
    if (err)
      return err;
    v->unfilled = MAX(v->unfilled, v->off + (e - v->start));
    *done = e;
    return 0;
  }
  while (s < e) {
    void *pool;
    bool dirty;
    long n = pcache_pages(v->cache, (v->off + (s - v->start)) / PAGE,
                          (e - s) / PAGE, false, &pool, &dirty);
    if (n <= 0)
      return n < 0 ? (int)n : LINUX_SIGBUS;
    int err =
        plat_mem_view((void *)s, pool, (size_t)n * PAGE, plat_prot(v->prot));
    if (err)
      return err;
    s += (uint64_t)n * PAGE;
    v->unfilled = MAX(v->unfilled, v->off + (s - v->start));
    *done = s;
  }
  return 0;
}

static long mmap_common(struct mm *mm, uint64_t addr, size_t len, int prot,
                        int flags, int fd, int64_t off, unsigned vflags) {
  int type = flags & LINUX_MAP_TYPE;
  bool anon = flags & LINUX_MAP_ANONYMOUS;
  struct file *file = NULL;
  uint64_t file_size = 0;
  long ret;

  if (off & (int64_t)(PAGE - 1))
    return -LINUX_EINVAL;
  if (len == 0)
    return -LINUX_EINVAL;
  if (type != LINUX_MAP_SHARED && type != LINUX_MAP_PRIVATE &&
      type != LINUX_MAP_SHARED_VALIDATE)
    return -LINUX_EINVAL;
  if (type == LINUX_MAP_SHARED_VALIDATE) {
    const int known =
        LINUX_MAP_TYPE | LINUX_MAP_FIXED | LINUX_MAP_ANONYMOUS |
        LINUX_MAP_GROWSDOWN | LINUX_MAP_DENYWRITE | LINUX_MAP_EXECUTABLE |
        LINUX_MAP_LOCKED | LINUX_MAP_NORESERVE | LINUX_MAP_POPULATE |
        LINUX_MAP_NONBLOCK | LINUX_MAP_STACK | LINUX_MAP_FIXED_NOREPLACE;
    if (flags & ~known)
      return -LINUX_EOPNOTSUPP;
    type = LINUX_MAP_SHARED;
  }
  if (flags & LINUX_MAP_HUGETLB)
    return -LINUX_ENOMEM; /* no huge pages reserved (vm.nr_hugepages 0) */
  if (prot & ~(LINUX_PROT_READ | LINUX_PROT_WRITE | LINUX_PROT_EXEC))
    return -LINUX_EINVAL;
  if (len > MM_WINDOW_END)
    return -LINUX_ENOMEM;
  uint64_t size = ALIGN_UP((uint64_t)len, PAGE);

  if (!anon) {
    if (off < 0 || (uint64_t)off + size < (uint64_t)off)
      return -LINUX_EOVERFLOW;
    int kind = check_map_file(fd, prot, type, &vflags, &file, &file_size);
    if (kind < 0)
      return kind;
    if (kind == 1)
      anon = true;
  }
  if (anon && type == LINUX_MAP_SHARED)
    vflags |= VMA_SHARED;

  rt_lock(&mm->lock);
  uint64_t start;
  bool fixed = flags & (LINUX_MAP_FIXED | LINUX_MAP_FIXED_NOREPLACE);
  if (mm->vmas.count > mm->max_map_count) { /* as Linux's do_mmap */
    ret = -LINUX_ENOMEM;
    goto out;
  }
  if (fixed) {
    start = addr;
    if (start & (PAGE - 1)) {
      ret = -LINUX_EINVAL;
      goto out;
    }
    if (start < MM_WINDOW_START) {
      ret = -LINUX_EPERM; /* below mmap_min_addr, as Linux */
      goto out;
    }
    if (start >= MM_WINDOW_END || MM_WINDOW_END - start < size) {
      ret = -LINUX_ENOMEM;
      goto out;
    }
    if ((flags & LINUX_MAP_FIXED_NOREPLACE) && !(flags & LINUX_MAP_FIXED) &&
        !range_free(mm, start, start + size)) {
      ret = -LINUX_EEXIST;
      goto out;
    }
  } else if (flags & LINUX_MAP_32BIT) {
    /* The first 2 GiB, as Linux's x86-64 MAP_32BIT (the hint ignored). */
    start = find_free_top_down(mm, size, 0x80000000ull);
    if (!start) {
      ret = -LINUX_ENOMEM;
      goto out;
    }
  } else {
    start = ALIGN_UP(addr, PAGE);
    if (!addr || start < addr || start < MM_WINDOW_START ||
        start >= MM_WINDOW_END || MM_WINDOW_END - start < size ||
        !range_free(mm, start, start + size)) {
      start = find_free_top_down(mm, size, mmap_base());
      if (!start)
        start = find_free_top_down(mm, size, MM_WINDOW_END);
      if (!start) {
        ret = -LINUX_ENOMEM;
        goto out;
      }
    }
  }
  uint64_t end = start + size;

  if (split_over_limit(mm, start, end, -1) ||
      !expand_ok(mm, size, range_sum(mm, start, end, 1),
                 data_kind(prot, vflags)) ||
      !charge_ok(mm, range_charge(mm, start, end),
                 charged_kind(prot, vflags, file) ? size : 0)) {
    ret = -LINUX_ENOMEM;
    goto out;
  }
  struct vma *n = kmalloc(sizeof(*n));
  if (!n) {
    ret = -LINUX_ENOMEM;
    goto out;
  }
  int err = vma_split_at(mm, start);
  if (!err)
    err = vma_split_at(mm, end);
  if (err) {
    kfree(n);
    ret = err;
    goto out;
  }
  bool fill = !anon;
  /* A shared mapping of a file maps the file's page cache, page by page
   * as they are touched (moat_mm_fault); the host range is a
   * reservation meanwhile. Without the cache's pool it is a copy. A
   * private one maps the cache's pages as private views (VMA_COW), all
   * at once as a copy would be filled; when the cache cannot (no views,
   * no memory) it is a copy. */
  struct pcache *cache = NULL;
  bool cow = false;
  if (fill && (vflags & (VMA_SHARED | VMA_NOWRITE)) && pcache_ready()) {
    cache = pcache_get(file->inode);
    if (!cache) {
      kfree(n);
      ret = -LINUX_ENOMEM;
      goto out;
    }
    fill = false;
  } else if (fill && file->inode->iops && file->inode->iops->host_handle &&
             !file->inode->pcache &&
             file->inode->iops->host_handle(file->inode) >= 0) {
    /* (only a file that has a host handle now: an overlay's file over a
     * tar image has the operation but no handle, and goes to the page
     * cache below rather than to a copy) */
    /* A host file no shared mapping caches: map the host's own pages
     * (no read into memory, only the pages touched are ever loaded). */
    cow = true;
    vflags |= VMA_HOSTMAP;
  } else if (fill && pcache_ready()) {
    cache = pcache_get(file->inode);
    cow = cache != NULL;
  }
  /* Pages wholly past the end of the file stay unfilled from hole on. */
  uint64_t hole = end, pages_end = file_pages_end(file_size);
  if (fill && pages_end < (uint64_t)off + size)
    hole = pages_end <= (uint64_t)off ? start
                                      : start + (pages_end - (uint64_t)off);
  int map_prot = fill ? LINUX_PROT_READ | LINUX_PROT_WRITE : prot;
  if (hole == start || cache || (vflags & VMA_HOSTMAP))
    map_prot = LINUX_PROT_NONE;    /* views replace it page run by run */
  writeback_range(mm, start, end); /* a shared file mapping being replaced */
  err = host_map_fixed(mm, start, size, map_prot,
                       (vflags & VMA_SHARED) && !cache);
  if (err) {
    if (cache)
      pcache_put(cache);
    kfree(n);
    ret = err;
    goto out;
  }
  /* The old pages are gone (replaced); forget their VMAs. */
  vma_drop_range(mm, start, end);
  *n = (struct vma){.start = start,
                    .end = end,
                    .prot = prot,
                    .flags = vflags | (hole < end && fill ? VMA_LAZY : 0) |
                             (cow ? VMA_COW : 0),
                    .file = file,
                    .off = (uint64_t)off,
                    .unfilled = cow     ? (uint64_t)off
                                : cache ? (uint64_t)off + size
                                        : (uint64_t)off + (hole - start),
                    .cache = cache};
  file = NULL;
  vma_link(mm, n);

  if (cow && hole > start) {
    /* Views of the cache up to hole; what they cannot cover (the cache
     * is full, or the platform has no views) is copied below. */
    uint64_t from = start;
    err = cow_map(n, start, hole, &from);
    if (err == LINUX_SIGBUS) { /* the file shrank: the rest stays unfilled */
      n->flags |= VMA_LAZY;
      err = 0;
      fill = false;
    } else if (err) {
      if (from == start) { /* nothing viewed: a plain copy */
        if (n->cache)
          pcache_put(n->cache);
        n->cache = NULL;
        n->flags &= ~(unsigned)(VMA_COW | VMA_HOSTMAP);
      }
      err = host_map_fixed(mm, from, hole - from,
                           LINUX_PROT_READ | LINUX_PROT_WRITE, false);
      if (!err)
        err = fill_from_file(from, hole - from, fd,
                             off + (int64_t)(from - start));
      if (!err && prot != (LINUX_PROT_READ | LINUX_PROT_WRITE))
        err = plat_mem_protect((void *)from, hole - from, plat_prot(prot));
      n->unfilled = (uint64_t)off + (hole - start);
      if (err) {
        unmap_range(mm, start, end);
        ret = err;
        goto out;
      }
    }
  } else if (fill && hole > start) {
    err = fill_from_file(start, hole - start, fd, off);
    if (!err && map_prot != prot)
      err = plat_mem_protect((void *)start, hole - start, plat_prot(prot));
    if (!err && hole < end)
      err = plat_mem_protect((void *)hole, end - hole, 0);
    if (err) {
      unmap_range(mm, start, end);
      ret = err;
      goto out;
    }
  }
  vma_merge_dirty(mm);
  ret = (long)start;
out:
  mm_unlock(mm);
  if (file)
    file_put(file);
  return ret;
}

long moat_mmap(uint64_t addr, size_t len, int prot, int flags, int fd,
               int64_t off) {
  return mmap_common(mm_current(), addr, len, prot, flags, fd, off, 0);
}

long moat_mmap_stack(uint64_t addr, size_t len, int prot) {
  return mmap_common(mm_current(), addr, len, prot,
                     LINUX_MAP_FIXED | LINUX_MAP_PRIVATE | LINUX_MAP_ANONYMOUS,
                     -1, 0, VMA_STACK);
}

int moat_munmap(uint64_t addr, size_t len) {
  if ((addr & (PAGE - 1)) || len == 0)
    return -LINUX_EINVAL;
  uint64_t size = ALIGN_UP((uint64_t)len, PAGE);
  if (size < len || addr >= MM_WINDOW_END || MM_WINDOW_END - addr < size)
    return -LINUX_EINVAL;
  struct mm *mm = mm_current();
  rt_lock(&mm->lock);
  int err = split_over_limit(mm, addr, addr + size, -1)
                ? -LINUX_ENOMEM
                : unmap_range(mm, addr, addr + size);
  vma_merge_dirty(mm);
  mm_unlock(mm);
  return err;
}

int moat_mm_exec_reset(void) {
  /* A vfork child still on its parent's memory must get its own first. */
  task_vfork_detach();
  return moat_munmap(MM_WINDOW_START, MM_WINDOW_END - MM_WINDOW_START);
}

int moat_mprotect(uint64_t addr, size_t len, int prot) {
  const int grow = 0x01000000 | 0x02000000; /* PROT_GROWSDOWN/UP */
  if (addr & (PAGE - 1))
    return -LINUX_EINVAL;
  if (prot & ~(LINUX_PROT_READ | LINUX_PROT_WRITE | LINUX_PROT_EXEC | grow))
    return -LINUX_EINVAL;
  prot &= ~grow;
  if (len == 0)
    return 0;
  uint64_t size = ALIGN_UP((uint64_t)len, PAGE);
  if (size < len || addr >= MM_WINDOW_END || MM_WINDOW_END - addr < size)
    return -LINUX_ENOMEM;
  uint64_t end = addr + size;
  int err = 0;
  struct mm *mm = mm_current();
  rt_lock(&mm->lock);
  if (!range_mapped(mm, addr, end, NULL)) {
    err = -LINUX_ENOMEM;
    goto out;
  }
  for (struct vma *v = vma_find(mm, addr); v && v->start < end; v = v->next)
    if (v->end > addr && (v->flags & VMA_NOWRITE) &&
        (prot & LINUX_PROT_WRITE)) {
      err = -LINUX_EACCES;
      goto out;
    }
  /* What the range would be charged, and how much of it becomes data. */
  uint64_t charge_after = 0, new_data = 0;
  for (struct vma *v = vma_find(mm, addr); v && v->start < end; v = v->next) {
    if (v->end <= addr)
      continue;
    uint64_t piece = MIN(v->end, end) - MAX(v->start, addr);
    if (charged_kind(prot, v->flags, v->file))
      charge_after += piece;
    if (data_kind(prot, v->flags) && !data_kind(v->prot, v->flags))
      new_data += piece;
  }
  /* Linux: "check space limits when area turns into data". */
  if (split_over_limit(mm, addr, end, prot) ||
      (new_data && !expand_ok(mm, new_data, 0, true)) ||
      !charge_ok(mm, range_charge(mm, addr, end), charge_after)) {
    err = -LINUX_ENOMEM;
    goto out;
  }
  err = vma_split_at(mm, addr);
  if (!err)
    err = vma_split_at(mm, end);
  if (err)
    goto out;
  /* Unfilled pages keep no host access whatever the guest's protection
   * says: their first touch must come to moat_mm_fault. The filled runs
   * are protected one host call each. */
  uint64_t run = addr, run_end = addr;
  for (struct vma *v = vma_find(mm, addr); !err && v && v->start < end;
       v = v->next) {
    uint64_t hole = shared_cache(v) ? v->start : vma_hole(v);
    if (v->start < addr || hole == v->start)
      continue;
    if (v->start != run_end) {
      if (run_end > run)
        err = plat_mem_protect((void *)run, run_end - run, plat_prot(prot));
      run = v->start;
    }
    run_end = hole;
  }
  if (!err && run_end > run)
    err = plat_mem_protect((void *)run, run_end - run, plat_prot(prot));
  /* Page cache mappings let go of their pages: the next touch maps them
   * again with the new protection (and a page's dirtiness). */
  for (struct vma *v = vma_find(mm, addr); !err && v && v->start < end;
       v = v->next)
    if (shared_cache(v) && v->start >= addr)
      err = host_map_fixed(mm, v->start, v->end - v->start, LINUX_PROT_NONE,
                           false);
  if (err)
    goto out;
  for (struct vma *v = vma_find(mm, addr); v && v->start < end; v = v->next) {
    if (v->start < addr)
      continue;
    vma_account(mm, v, -1);
    v->prot = prot;
    vma_account(mm, v, 1);
  }
  mark_dirty(mm, addr, end);
out:
  vma_merge_dirty(mm); /* also the pieces of a split that failed after */
  mm_unlock(mm);
  return err;
}

/* Move the pages of v's [old, old+old_len) to a fresh mapping at dst of
 * new_len bytes (caller checked room and charge). */
/* keep_old (MREMAP_DONTUNMAP, private anonymous v only): the old range
 * stays mapped, with fresh zero pages. */
static int move_mapping(struct mm *mm, struct vma *v, uint64_t old,
                        uint64_t old_len, uint64_t dst, uint64_t new_len,
                        bool keep_old) {
  int prot = v->prot;
  unsigned flags = v->flags;
  struct file *file = v->file;
  uint64_t off = v->off + (old - v->start);
  /* Only the filled pages move; the rest stays unfilled at dst, and pages
   * a file mapping grows by are unfilled too (they are the file's). */
  uint64_t filled = MIN(old_len, MAX(vma_hole(v), old) - old);
  uint64_t dst_filled = file ? MIN(filled, new_len) : new_len;
  struct vma *n = kmalloc(sizeof(*n));
  if (!n)
    return -LINUX_ENOMEM;
  int err = vma_split_at(mm, dst);
  if (!err)
    err = vma_split_at(mm, dst + new_len);
  if (err) {
    kfree(n);
    return err;
  }
  if (shared_cache(v)) {
    /* The pages are the cache's: the new place maps them on fault. */
    err = host_map_fixed(mm, dst, new_len, LINUX_PROT_NONE, false);
    if (err) {
      kfree(n);
      return err;
    }
    vma_drop_range(mm, dst, dst + new_len);
    pcache_ref(v->cache);
    *n = (struct vma){.start = dst,
                      .end = dst + new_len,
                      .prot = prot,
                      .flags = flags,
                      .file = file_get(file),
                      .off = off,
                      .unfilled = off + new_len,
                      .cache = v->cache};
    vma_link(mm, n);
    return unmap_range(mm, old, old + old_len);
  }
  err = host_map_fixed(mm, dst, new_len, LINUX_PROT_READ | LINUX_PROT_WRITE,
                       flags & VMA_SHARED);
  if (err) {
    kfree(n);
    return err;
  }
  vma_drop_range(mm, dst, dst + new_len);
  uint64_t copy = MIN(filled, new_len);
  if (prot == LINUX_PROT_NONE && copy) /* PROT_NONE pages: make readable */
    plat_mem_protect((void *)old, copy, PLAT_PROT_READ);
  /* Guest memory on both sides: the user-copy routine (a platform whose
   * kernel runs with SMAP allows no other). Both ranges are mapped and
   * readable under the mm lock: it cannot fault but for the host. */
  if (rt_ucopy((void *)dst, (const void *)old, copy)) {
    plat_mem_unmap((void *)dst, new_len);
    kfree(n);
    return -LINUX_ENOMEM;
  }
  if (dst_filled && prot != (LINUX_PROT_READ | LINUX_PROT_WRITE))
    plat_mem_protect((void *)dst, dst_filled, plat_prot(prot));
  if (dst_filled < new_len)
    plat_mem_protect((void *)(dst + dst_filled), new_len - dst_filled, 0);
  /* A VMA_COW mapping moves as a copy (its written pages cannot be told
   * from its views here): it no longer sees later writes to the file. */
  *n = (struct vma){.start = dst,
                    .end = dst + new_len,
                    .prot = prot,
                    .flags = (flags & ~(unsigned)(VMA_COW | VMA_HOSTMAP)) |
                             (dst_filled < new_len ? VMA_LAZY : 0),
                    .file = file ? file_get(file) : NULL,
                    .off = off,
                    .unfilled = off + dst_filled};
  vma_link(mm, n);
  if (keep_old) /* the old VMA stays as it is: only its pages go */
    return host_map_fixed(mm, old, old_len, prot, false);
  /* v may have been split above only if it overlapped dst, which the
   * callers exclude; unmap the old range by address. */
  err = unmap_range(mm, old, old + old_len);
  return err;
}

long moat_mremap(uint64_t old_addr, size_t old_len, size_t new_len, int flags,
                 uint64_t new_addr) {
  long ret;
  if (old_addr & (PAGE - 1))
    return -LINUX_EINVAL;
  if (flags &
      ~(LINUX_MREMAP_MAYMOVE | LINUX_MREMAP_FIXED | LINUX_MREMAP_DONTUNMAP))
    return -LINUX_EINVAL;
  if ((flags & LINUX_MREMAP_FIXED) && !(flags & LINUX_MREMAP_MAYMOVE))
    return -LINUX_EINVAL;
  bool keep = flags & LINUX_MREMAP_DONTUNMAP;
  if (keep && (!(flags & LINUX_MREMAP_MAYMOVE) || old_len != new_len))
    return -LINUX_EINVAL;
  if (old_len > MM_WINDOW_END || new_len > MM_WINDOW_END)
    return -LINUX_ENOMEM;
  uint64_t olen = ALIGN_UP((uint64_t)old_len, PAGE);
  uint64_t nlen = ALIGN_UP((uint64_t)new_len, PAGE);
  if (nlen == 0 || olen == 0)
    return -LINUX_EINVAL; /* old_len 0 (duplicate a shared mapping): no */
  if (old_addr >= MM_WINDOW_END || MM_WINDOW_END - old_addr < olen)
    return -LINUX_EFAULT;

  struct mm *mm = mm_current();
  rt_lock(&mm->lock);
  struct vma *v;
  if (!range_mapped(mm, old_addr, old_addr + olen, &v) || !v) {
    ret = -LINUX_EFAULT;
    goto out;
  }
  if (v->shm) {
    ret = -LINUX_EINVAL; /* moving or resizing an attached segment: no */
    goto out;
  }
  uint64_t per_page = vma_charge(v) ? 1 : 0;
  bool data = data_kind(v->prot, v->flags);
  if (keep) {
    /* Private anonymous mappings only (Linux 5.7's rule: file and shared
     * ones, which 5.13 added, are EINVAL here). Both ranges stay: the
     * mapping grows by olen, and needs a VMA more. */
    if (v->file || (v->flags & (VMA_SHARED | VMA_SHM | VMA_FILE))) {
      ret = -LINUX_EINVAL;
      goto out;
    }
    if (mm->vmas.count + 2 >= mm->max_map_count - 3 ||
        !expand_ok(mm, olen, 0, data) || !charge_ok(mm, 0, per_page * olen)) {
      ret = -LINUX_ENOMEM;
      goto out;
    }
  }

  if (flags & LINUX_MREMAP_FIXED) {
    if ((new_addr & (PAGE - 1)) || new_addr < MM_WINDOW_START ||
        new_addr >= MM_WINDOW_END || MM_WINDOW_END - new_addr < nlen) {
      ret = -LINUX_EINVAL;
      goto out;
    }
    if (new_addr < old_addr + olen && old_addr < new_addr + nlen) {
      ret = -LINUX_EINVAL;
      goto out;
    }
    /* The target's mappings go first (Linux unmaps them first too).
     * Linux's mremap_to wants room for two more VMAs below its margin of
     * three under vm.max_map_count. */
    if (mm->vmas.count + 2 >= mm->max_map_count - 3 ||
        !expand_ok(mm, nlen > olen ? nlen - olen : 0,
                   range_sum(mm, new_addr, new_addr + nlen, 1), data) ||
        !charge_ok(mm, range_charge(mm, new_addr, new_addr + nlen),
                   per_page * (nlen > olen ? nlen - olen : 0))) {
      ret = -LINUX_ENOMEM;
      goto out;
    }
    int err = unmap_range(mm, new_addr, new_addr + nlen);
    if (!err) {
      range_mapped(mm, old_addr, old_addr + olen, &v);
      err = v ? move_mapping(mm, v, old_addr, olen, new_addr, nlen, keep)
              : -LINUX_EFAULT;
    }
    ret = err ? err : (long)new_addr;
    goto out;
  }

  if (nlen <= olen && !keep) {
    int err = 0;
    if (nlen < olen)
      err = split_over_limit(mm, old_addr + nlen, old_addr + olen, -1)
                ? -LINUX_ENOMEM
                : unmap_range(mm, old_addr + nlen, old_addr + olen);
    ret = err ? err : (long)old_addr;
    goto out;
  }

  uint64_t grow_start = old_addr + olen;
  uint64_t extra = nlen - olen;
  if (!expand_ok(mm, extra, 0, data) || !charge_ok(mm, 0, per_page * extra)) {
    ret = -LINUX_ENOMEM;
    goto out;
  }
  if (!keep && grow_start < MM_WINDOW_END &&
      MM_WINDOW_END - grow_start >= extra &&
      range_free(mm, grow_start, grow_start + extra)) {
    struct vma *n = kmalloc(sizeof(*n));
    if (!n) {
      ret = -LINUX_ENOMEM;
      goto out;
    }
    /* A file mapping grows by pages of the file: unfilled until touched. */
    int err = host_map_fixed(mm, grow_start, extra,
                             v->file ? LINUX_PROT_NONE : v->prot,
                             (v->flags & VMA_SHARED) && !shared_cache(v));
    if (err) {
      kfree(n);
      ret = err;
      goto out;
    }
    uint64_t off = v->off + (grow_start - v->start);
    *n = (struct vma){.start = grow_start,
                      .end = grow_start + extra,
                      .prot = v->prot,
                      .flags = v->flags |
                               (v->file && !shared_cache(v) ? VMA_LAZY : 0),
                      .file = v->file ? file_get(v->file) : NULL,
                      .off = off,
                      .unfilled = shared_cache(v) ? off + extra : off,
                      .cache = v->cache};
    if (v->cache)
      pcache_ref(v->cache);
    vma_link(mm, n);
    vma_merge_dirty(mm);
    ret = (long)old_addr;
    goto out;
  }
  /* Linux's move_vma keeps a margin of three under vm.max_map_count. */
  if (!(flags & LINUX_MREMAP_MAYMOVE) ||
      mm->vmas.count >= mm->max_map_count - 3) {
    ret = -LINUX_ENOMEM;
    goto out;
  }
  uint64_t dst = find_free_top_down(mm, nlen, mmap_base());
  if (!dst)
    dst = find_free_top_down(mm, nlen, MM_WINDOW_END);
  if (!dst) {
    ret = -LINUX_ENOMEM;
    goto out;
  }
  int err = move_mapping(mm, v, old_addr, olen, dst, nlen, keep);
  ret = err ? err : (long)dst;
out:
  vma_merge_dirty(mm);
  mm_unlock(mm);
  return ret;
}

/* Give v's filled pages [s, e) (VMA_FILE, private) the file's content
 * again, as Linux's MADV_DONTNEED does: views of the cache for a VMA_COW
 * mapping (the written copies go), a fresh copy otherwise. */
static int file_refill(struct mm *mm, struct vma *v, uint64_t s, uint64_t e) {
  if (s >= e)
    return 0;
  if (v->flags & VMA_COW) {
    uint64_t done = s;
    int err = cow_map(v, s, e, &done);
    if (!err || err == LINUX_SIGBUS) /* past the end now: left as is */
      return 0;
    s = done;
  }
  int err =
      host_map_fixed(mm, s, e - s, LINUX_PROT_READ | LINUX_PROT_WRITE, false);
  for (uint64_t at = s; !err && at < e;) {
    long n = file_pread(v->file, (void *)at, (size_t)MIN(e - at, 1ull << 30),
                        v->off + (at - v->start));
    if (n <= 0 || (uint64_t)n > e - at)
      break; /* the rest reads zero */
    at += (uint64_t)n;
  }
  if (!err && v->prot != (LINUX_PROT_READ | LINUX_PROT_WRITE))
    err = plat_mem_protect((void *)s, e - s, plat_prot(v->prot));
  return err;
}

int moat_madvise(uint64_t addr, size_t len, int advice) {
  if (addr & (PAGE - 1))
    return -LINUX_EINVAL;
  /* MADV_NORMAL .. MADV_COLLAPSE (25); the rest (HWPOISON ...) is not for
   * a sandbox. */
  if (advice < 0 || advice > 25 || (advice >= 5 && advice <= 7))
    return -LINUX_EINVAL;
  if (len == 0)
    return 0;
  uint64_t size = ALIGN_UP((uint64_t)len, PAGE);
  if (size < len || addr >= MM_WINDOW_END || MM_WINDOW_END - addr < size)
    return -LINUX_EINVAL;
  uint64_t end = addr + size;
  int err = 0;
  struct mm *mm = mm_current();
  rt_lock(&mm->lock);
  bool holes = !range_mapped(mm, addr, end, NULL);
  if (advice == LINUX_MADV_REMOVE) { /* shared mappings only */
    for (struct vma *v = vma_find(mm, addr); v && v->start < end; v = v->next)
      if (v->end > addr && !(v->flags & (VMA_SHARED | VMA_SHM))) {
        err = -LINUX_EINVAL;
        goto out;
      }
  }
  if (advice == LINUX_MADV_DONTNEED) {
    /* Private anonymous pages read back as zero afterwards: give them
     * fresh pages. Private file pages read back the file's content: its
     * views again (their written copies go), or a fresh copy. Shared ones
     * keep their content. */
    for (struct vma *v = vma_find(mm, addr); v && v->start < end; v = v->next) {
      if (v->end <= addr || (v->flags & (VMA_SHARED | VMA_NOWRITE | VMA_SHM)))
        continue;
      uint64_t s = MAX(v->start, addr), e = MIN(v->end, end);
      if (v->flags & VMA_FILE)
        err = file_refill(mm, v, s, MIN(e, MAX(s, vma_hole(v))));
      else
        err = host_map_fixed(mm, s, e - s, v->prot, false);
      if (err)
        goto out;
    }
  }
  if (holes)
    err = -LINUX_ENOMEM;
out:
  rt_unlock(&mm->lock);
  return err;
}

void moat_brk_init(uint64_t start) {
  struct mm *mm = mm_current();
  rt_lock(&mm->lock);
  mm->brk_start = mm->brk_cur = ALIGN_UP(start, PAGE);
  mm->brk_ready =
      mm->brk_start >= MM_WINDOW_START && mm->brk_start < MM_WINDOW_END;
  rt_unlock(&mm->lock);
}

uint64_t moat_brk(uint64_t addr) {
  struct mm *mm = mm_current();
  rt_lock(&mm->lock);
  uint64_t ret = mm->brk_cur;
  if (!mm->brk_ready || addr < mm->brk_start || addr >= MM_WINDOW_END)
    goto out;
  uint64_t limit = task_current() ? task_rlimit(LINUX_RLIMIT_DATA) : ~0ull;
  if (addr - mm->brk_start > limit)
    goto out;
  uint64_t old_end = ALIGN_UP(mm->brk_cur, PAGE);
  uint64_t new_end = ALIGN_UP(addr, PAGE);
  if (new_end < old_end) {
    if (unmap_range(mm, new_end, old_end))
      goto out;
  } else if (new_end > old_end) {
    uint64_t extra = new_end - old_end;
    /* Keep a page of distance to the next mapping, as Linux keeps its
     * stack guard gap. */
    if (mm->vmas.count > mm->max_map_count || /* Linux's do_brk_flags */
        MM_WINDOW_END - new_end < PAGE ||
        !range_free(mm, old_end, new_end + PAGE) ||
        !expand_ok(mm, extra, 0, true) || !charge_ok(mm, 0, extra))
      goto out;
    struct vma *n = kmalloc(sizeof(*n));
    if (!n)
      goto out;
    if (host_map_fixed(mm, old_end, extra, LINUX_PROT_READ | LINUX_PROT_WRITE,
                       false)) {
      kfree(n);
      goto out;
    }
    *n = (struct vma){.start = old_end,
                      .end = new_end,
                      .prot = LINUX_PROT_READ | LINUX_PROT_WRITE,
                      .flags = VMA_BRK};
    vma_link(mm, n);
    vma_merge_dirty(mm);
  }
  mm->brk_cur = addr;
  ret = addr;
out:
  mm_unlock(mm);
  return ret;
}

/* Fill v's unfilled pages below upto (page-aligned, inside v) from its
 * file, which must now cover them, and as far as ahead (>= upto) while
 * the file covers them: 0 when done, LINUX_SIGBUS when the file still
 * ends before upto's last page, or a negative errno. Every page up to
 * there is filled, so the VMA keeps a single boundary.
 *
 * Other threads may touch a page as soon as it is accessible, so the
 * file is read into a bounce buffer first and each page becomes
 * accessible just for its copy. The platform has no call that maps bytes
 * in one step, so a thread that reads a page during its copy (a few
 * hundred nanoseconds) can still see zeros. The mm lock keeps the range
 * mapped meanwhile. */
#define FILL_CHUNK (16 * PAGE)
static int vma_fill(struct vma *v, uint64_t upto, uint64_t ahead) {
  uint64_t hole = vma_hole(v);
  if (upto <= hole)
    return 0;
  struct linux_stat st;
  int err = vfs_getattr(v->file->inode, &st);
  if (err)
    return err;
  /* Bytes of v, from its start, that the file covers now. */
  uint64_t pages_end =
      file_pages_end(st.st_size > 0 ? (uint64_t)st.st_size : 0);
  uint64_t covered = pages_end > v->off ? pages_end - v->off : 0;
  if (covered < upto - v->start)
    return LINUX_SIGBUS;
  if (covered < ahead - v->start)
    ahead = v->start + covered;
  uint64_t need = upto;
  upto = MAX(upto, MIN(ahead, v->end));
  if (v->flags & VMA_COW) {
    /* Views of the cache; what they cannot cover is copied below. */
    uint64_t done = hole;
    err = cow_map(v, hole, upto, &done);
    if (err == LINUX_SIGBUS) /* the file shrank meanwhile */
      return vma_hole(v) >= need ? 0 : LINUX_SIGBUS;
    if (!err)
      return 0;
    hole = done;
    err = 0;
  }
  char *bounce = kmalloc(FILL_CHUNK);
  if (!bounce)
    return -LINUX_ENOMEM;
  for (uint64_t at = hole; at < upto;) {
    size_t chunk = (size_t)MIN(upto - at, (uint64_t)FILL_CHUNK), got = 0;
    uint64_t fo = v->off + (at - v->start);
    while (got < chunk) {
      long n = file_pread(v->file, bounce + got, chunk - got, fo + got);
      if (n < 0) {
        err = (int)n;
        goto out;
      }
      if (n == 0 || (size_t)n > chunk - got)
        break; /* the file shrank meanwhile: the rest reads zero */
      got += (size_t)n;
    }
    memset(bounce + got, 0, chunk - got);
    /* Page by page: a thread that comes to the next page meanwhile
     * faults and waits for this fill. */
    for (size_t o = 0; o < chunk; o += PAGE) {
      err = plat_mem_protect((void *)(at + o), PAGE,
                             PLAT_PROT_READ | PLAT_PROT_WRITE);
      if (err)
        goto out;
      if (rt_ucopy((void *)(at + o), bounce + o, PAGE)) { /* as above */
        err = -LINUX_ENOMEM;
        goto out;
      }
      v->unfilled = v->off + (at + o + PAGE - v->start);
      if (v->prot != (LINUX_PROT_READ | LINUX_PROT_WRITE)) {
        err = plat_mem_protect((void *)(at + o), PAGE, plat_prot(v->prot));
        if (err)
          goto out;
      }
    }
    at += chunk;
  }
out:
  kfree(bounce);
  return err;
}

/* Map v's pages of [s, e) (page-aligned, inside v) from the file's page
 * cache, filling them from the file as needed, marked dirty when write:
 * 0, or LINUX_SIGBUS when a page below need lies wholly past the end of
 * the file (pages from need on are a read-ahead that stops there), or a
 * negative errno. A clean page is mapped without PROT_WRITE, so that the
 * first write to it comes to moat_mm_fault, which marks it dirty. */
static int cache_map(struct vma *v, uint64_t s, uint64_t e, uint64_t need,
                     bool write) {
  while (s < e) {
    void *pool;
    bool dirty;
    long n = pcache_pages(v->cache, (v->off + (s - v->start)) / PAGE,
                          (e - s) / PAGE, write, &pool, &dirty);
    if (n <= 0)
      return n < 0 ? (int)n : s < need ? LINUX_SIGBUS : 0;
    int prot = v->prot;
    if (!dirty)
      prot &= ~LINUX_PROT_WRITE;
    int err =
        plat_mem_alias((void *)s, pool, (size_t)n * PAGE, plat_prot(prot));
    if (err)
      return err;
    s += (uint64_t)n * PAGE;
  }
  return 0;
}

/* Did thread t run an access at key again already (under mm->lock)? */
static bool retried(struct mm *mm, const struct task *t, uint64_t key) {
  return t->mm_retry_gen == mm->retry_gen && t->mm_retry_page == key;
}

static void retry_note(struct mm *mm, struct task *t, uint64_t key) {
  t->mm_retry_page = key;
  t->mm_retry_gen = mm->retry_gen;
}

int moat_mm_fault(uint64_t addr, int access) {
  int ret = 0;
  struct task *self = task_current();
  struct mm *mm = self->proc->mm;
  uint64_t page = ALIGN_DOWN(addr, PAGE);
  rt_lock(&mm->lock);
  struct vma *v = vma_find(mm, addr);
  while (v && v->end <= addr)
    v = v->next;
  /* Linux (x86) checks the protection before the file: a write needs
   * PROT_WRITE, anything else any access at all (a fetch from a page not
   * present is not checked for PROT_EXEC). */
  if (!v || v->start > addr || !v->file || !v->prot ||
      ((access & LINUX_PROT_WRITE) && !(v->prot & LINUX_PROT_WRITE)))
    goto out;
  if (shared_cache(v)) {
    /* Not mapped here yet (or clean, and this is its first write): map
     * it from the cache, a little ahead for a reader. The same fault
     * again right after is a real one (a fetch from a page without
     * PROT_EXEC, which the platform reports as a read): every change of
     * this process's host mappings forgets the retries (retry_forget). */
    bool write = access & LINUX_PROT_WRITE;
    uint64_t key = page | (write ? 1 : 0);
    if (retried(mm, self, key))
      goto out;
    ret =
        cache_map(v, page, write ? page + PAGE : MIN(v->end, page + FILL_CHUNK),
                  page + PAGE, write);
    if (ret != 0) {
      ret = LINUX_SIGBUS; /* past the end, or unreadable: as Linux */
      goto out;
    }
    retry_note(mm, self, key);
    ret = 1;
    goto out_keep;
  }
  if (addr < vma_hole(v)) {
    /* Filled: by another thread since this one faulted, or this is a
     * real fault. Run the access again once. */
    if (!(v->flags & VMA_LAZY) || retried(mm, self, page))
      goto out;
    retry_note(mm, self, page);
    ret = 1;
    goto out_keep;
  }
  /* Fill a little ahead (fewer faults for a sequential reader). */
  ret = vma_fill(v, page + PAGE, page + FILL_CHUNK);
  if (ret == 0)
    ret = 1;
  else if (ret < 0)
    ret = LINUX_SIGBUS; /* the file cannot be read: Linux says SIGBUS too */
out:
  self->mm_retry_gen = 0; /* this fault is settled */
out_keep:
  rt_unlock(&mm->lock);
  return ret;
}

int moat_mm_populate(uint64_t addr, size_t len) {
  uint64_t end = addr + len;
  int err = 0;
  if (end < addr)
    return -LINUX_ENOMEM;
  struct mm *mm = mm_current();
  rt_lock(&mm->lock);
  if (!range_mapped(mm, addr, end, NULL))
    err = -LINUX_ENOMEM;
  for (struct vma *v = vma_find(mm, addr); !err && v && v->start < end;
       v = v->next) {
    if (v->end <= addr || !v->prot)
      continue; /* PROT_NONE pages are not populated (Linux) */
    uint64_t upto = MIN(v->end, end);
    if (shared_cache(v)) {
      uint64_t s = ALIGN_DOWN(MAX(v->start, addr), PAGE);
      upto = ALIGN_UP(upto, PAGE);
      if (cache_map(v, s, upto, upto, false) != 0)
        err = -LINUX_ENOMEM;
    } else if (vma_hole(v) < upto && vma_fill(v, upto, upto) != 0) {
      err = -LINUX_ENOMEM;
    }
  }
  rt_unlock(&mm->lock);
  return err;
}

static bool user_ok_locked(struct mm *mm, uint64_t addr, uint64_t len,
                           int prot) {
  rt_assert_held(&mm->lock);
  uint64_t end = addr + len;
  if (end < addr || addr < MM_WINDOW_START || end > MM_WINDOW_END)
    return false;
  uint64_t at = addr;
  for (struct vma *v = vma_find(mm, addr); v && at < end; v = v->next) {
    if (v->end <= at)
      continue;
    if (v->start > at)
      return false;
    int have = v->prot;
    if (have) /* on x86 every accessible page is readable */
      have |= LINUX_PROT_READ;
    if ((have & prot) != prot)
      return false;
    /* The libOS is about to touch the pages: map a page cache
     * mapping's here (a write marks them dirty). */
    if (prot && shared_cache(v)) {
      uint64_t s = ALIGN_DOWN(at, PAGE), e = ALIGN_UP(MIN(v->end, end), PAGE);
      if (cache_map(v, s, e, e, prot & LINUX_PROT_WRITE) != 0)
        return false;
      at = v->end;
      continue;
    }
    /* The libOS is about to touch the pages: those past the end of the
     * file are a fault (EFAULT, as Linux) unless the file grew over them. */
    if (prot && vma_hole(v) < MIN(v->end, end) &&
        vma_fill(v, ALIGN_UP(MIN(v->end, end), PAGE),
                 ALIGN_UP(MIN(v->end, end), PAGE)) != 0)
      return false;
    at = v->end;
  }
  return at >= end;
}

bool moat_user_ok(uint64_t addr, size_t len, int prot) {
  if (len == 0)
    return true;
  struct mm *mm = mm_current();
  rt_lock(&mm->lock);
  bool ok = user_ok_locked(mm, addr, len, prot & 7);
  rt_unlock(&mm->lock);
  return ok;
}

/* The platform's system call fast path rewrites guest code only through
 * here: [addr, addr + len) must lie in one private mapping (not
 * MAP_SHARED, not the page cache, not System V shared memory, every page
 * filled) that is executable. The lock keeps every other thread's
 * mmap, munmap, mprotect and fork out while the bytes change. */
int moat_mm_code_patch(uint64_t addr, size_t len,
                       int (*patch)(void *arg, int prot), void *arg) {
  uint64_t end = addr + len;
  int r = -1;
  if (len == 0 || end < addr || addr < MM_WINDOW_START || end > MM_WINDOW_END)
    return -1;
  struct mm *mm = mm_current();
  rt_lock(&mm->lock);
  struct vma *v = vma_find(mm, addr);
  if (v && v->start <= addr && end <= v->end &&
      !(v->flags & (VMA_SHARED | VMA_SHM)) && !shared_cache(v) &&
      (v->prot & LINUX_PROT_EXEC) && vma_hole(v) >= end)
    r = patch(arg, v->prot);
  rt_unlock(&mm->lock);
  return r;
}

/* Nothing of the guest's is mapped in [addr, addr + len); the caller is
 * a moat_mm_code_patch callback, which holds the lock. */
bool moat_mm_range_free(uint64_t addr, size_t len) {
  struct mm *mm = mm_current();
  return range_free(mm, addr, addr + len);
}

long moat_user_strncpy(char *buf, uint64_t guest_str, size_t max) {
  size_t done = 0;
  while (done < max) {
    uint64_t at = guest_str + done;
    if (at < guest_str)
      return -LINUX_EFAULT;
    size_t chunk =
        (size_t)MIN((uint64_t)(max - done), PAGE - (at & (PAGE - 1)));
    if (!moat_user_ok(at, chunk, LINUX_PROT_READ))
      return -LINUX_EFAULT;
    long n = rt_ustrncpy(buf + done, (const char *)at, chunk);
    if (n < 0)
      return -LINUX_EFAULT; /* unmapped since the check */
    if ((size_t)n < chunk)
      return (long)(done + (size_t)n);
    done += chunk;
  }
  return -LINUX_ENAMETOOLONG;
}

uint64_t moat_stack_top(void) {
  return MM_STACK_TOP;
}

int moat_msync(uint64_t addr, size_t len, int flags) {
  const int ms_async = 1, ms_invalidate = 2, ms_sync = 4;
  if (addr & (PAGE - 1))
    return -LINUX_EINVAL;
  if ((flags & ~(ms_async | ms_invalidate | ms_sync)) ||
      ((flags & ms_async) && (flags & ms_sync)))
    return -LINUX_EINVAL;
  uint64_t size = ALIGN_UP((uint64_t)len, PAGE);
  if (size < len || addr >= MM_WINDOW_END || MM_WINDOW_END - addr < size)
    return -LINUX_ENOMEM;
  if (size == 0)
    return 0;
  struct mm *mm = mm_current();
  rt_lock(&mm->lock);
  int err = range_mapped(mm, addr, addr + size, NULL) ? 0 : -LINUX_ENOMEM;
  if (!err)
    err = writeback_range(mm, addr, addr + size);
  rt_unlock(&mm->lock);
  return err;
}

void mm_file_truncated(struct inode *inode, uint64_t size) {
  uint64_t keep = file_pages_end(size);
  struct mm *mm = mm_current();
  if (!mm) /* a truncation by no process (boot) */
    return;
  rt_lock(&mm->lock);
  for (struct vma *v = mm->vmas.first; v; v = v->next) {
    if (!v->cache || pcache_inode(v->cache) != inode)
      continue;
    uint64_t len = v->end - v->start;
    uint64_t from = keep <= v->off ? 0 : keep - v->off;
    if (from >= len)
      continue;
    if (shared_cache(v)) {
      host_map_fixed(mm, v->start + from, len - from, LINUX_PROT_NONE, false);
      continue;
    }
    /* A private mapping (VMA_COW): its views and written copies past the
     * end go too (Linux unmaps both), and its unfilled run starts there. */
    uint64_t at = v->start + from, hole = vma_hole(v);
    if (at < hole) {
      host_map_fixed(mm, at, hole - at, LINUX_PROT_NONE, false);
      v->unfilled = v->off + from;
      v->flags |= VMA_LAZY;
    }
  }
  rt_unlock(&mm->lock);
}

void mm_release(void) {
  struct mm *mm = mm_current();
  rt_lock(&mm->lock);
  writeback_range(mm, MM_WINDOW_START, MM_WINDOW_END);
  for (struct vma *v = mm->vmas.first; v; v = v->next) {
    if (v->cache) {
      pcache_put(v->cache);
      v->cache = NULL;
    }
    if (v->file) {
      file_put(v->file);
      v->file = NULL;
    }
    if (v->shm) { /* detached: the memory goes with the host process */
      sysv_shm_vma_close(v->shm);
      v->shm = NULL;
    }
  }
  /* The memory goes with the host process: so does its charge, and no
   * later change of the set may count it again. */
  for (struct vma *v = mm->vmas.first; v; v = v->next)
    v->flags |= VMA_NOACCT;
  mm->charged = 0;
  mm_unlock(mm);
}

/* ---- fork: the VMA set is private state of each process ---- */

bool mm_addr_shared(uint64_t addr) {
  struct mm *mm = mm_current();
  bool shared = false;
  rt_lock(&mm->lock);
  for (struct vma *v = vma_find(mm, addr); v && v->start <= addr; v = v->next)
    if (addr < v->end)
      shared = (v->flags & VMA_SHARED) != 0;
  rt_unlock(&mm->lock);
  return shared;
}

uint64_t mm_futex_file_page(uint64_t addr) {
  struct mm *mm = mm_current();
  uint64_t ret = 0;
  rt_lock(&mm->lock);
  struct vma *v = vma_find(mm, addr);
  if (v && v->start <= addr && shared_cache(v)) {
    void *pool;
    bool dirty;
    uint64_t page = ALIGN_DOWN(addr, PAGE);
    if (pcache_pages(v->cache, (v->off + (page - v->start)) / PAGE, 1, false,
                     &pool, &dirty) > 0)
      ret = (uint64_t)(uintptr_t)pool + (addr - page);
  }
  rt_unlock(&mm->lock);
  return ret;
}

/* Copy the set (new nodes in the arena, new file references) and keep
 * the lock held across the host fork, so no other thread changes the
 * address space between the copy and the fork. */
int mm_fork_begin(struct mm *mm, struct task_host *h, bool exec_soon,
                  void **out) {
  rt_lock(&mm->lock);
  struct vma *copy = NULL, **tail = &copy;
  uint64_t charge = 0;
  for (struct vma *v = mm->vmas.first; v; v = v->next) {
    struct vma *n = kmalloc(sizeof(*n));
    if (!n)
      break; /* the child then misses mappings: mm_fork_end fails it */
    *n = *v;
    n->next = NULL;
    if (n->file)
      file_get(n->file);
    if (n->shm)
      sysv_shm_vma_open(n->shm); /* the child's attach */
    if (n->cache)
      pcache_ref(n->cache);
    /* Shared anonymous memory stays charged to its creator (Linux charges
     * it once); a vfork child about to exec charges nothing. */
    if (exec_soon || ((n->flags & VMA_SHARED) && !n->file))
      n->flags |= VMA_NOACCT;
    charge += vma_charge(n);
    *tail = n;
    tail = &n->next;
  }
  /* The child's charge is taken now, so a fork past --memory fails with
   * ENOMEM as Linux's does, and its host record carries it from the
   * start (its death before it ran still gives it back). */
  if (!share_try_add(charge)) {
    rt_unlock(&mm->lock);
    while (copy) {
      struct vma *next = copy->next;
      vma_free(copy);
      copy = next;
    }
    return -LINUX_ENOMEM;
  }
  mm->fork_charge = charge;
  if (h)
    __atomic_store_n(&h->mem_charge, charge, __ATOMIC_SEQ_CST);
  *out = copy;
  return 0;
}

void mm_fork_end(struct mm *mm, void *copy, bool failed, struct task_host *h) {
  struct vma *c = copy;
  rt_unlock(&mm->lock);
  if (failed) {
    share_sub(mm->fork_charge);
    if (h)
      __atomic_store_n(&h->mem_charge, 0, __ATOMIC_SEQ_CST);
    while (c) {
      struct vma *next = c->next;
      vma_free(c);
      c = next;
    }
  }
}

void mm_fork_child(void *copy, struct proc *p) {
  /* The host fork copied the parent's address space here, at the same
   * address: its brk and vm.max_map_count stay. The lock word was copied
   * held; this process has one thread now. The VMA set is the copy. */
  struct mm *mm = mm_attach(p);
  struct vma *c = copy;
  vma_tree_init(&mm->vmas, MM_WINDOW_START, MM_WINDOW_END);
  mm->ndirty = 0;
  rt_lock_reset(&mm->lock);
  mm->retry_gen++; /* a retry of the parent's threads is not ours */
  mm->charged = mm->total = mm->data = 0;
  while (c) {
    struct vma *next = c->next;
    vma_tree_insert(&mm->vmas, c);
    vma_account(mm, c, 1);
    c = next;
  }
  mm->settled = mm->charged; /* == fork_charge, taken by the parent */
  mm->reserved = 0;
}

/* ---- System V shared memory (core/sysv_ipc.c) ---- */

long mm_shm_attach(uint64_t addr, uint64_t len, int prot, bool remap,
                   bool nowrite, const void *pool, void *seg) {
  uint64_t size = ALIGN_UP(len, PAGE);
  long ret;
  if (!size || size < len || size > MM_WINDOW_END)
    return -LINUX_EINVAL;
  struct mm *mm = mm_current();
  rt_lock(&mm->lock);
  uint64_t start = addr;
  if (mm->vmas.count > mm->max_map_count) { /* shmat is a do_mmap */
    ret = -LINUX_ENOMEM;
    goto out;
  }
  if (addr) {
    if (start < MM_WINDOW_START || start >= MM_WINDOW_END ||
        MM_WINDOW_END - start < size) {
      ret = -LINUX_EINVAL;
      goto out;
    }
    if (!remap && !range_free(mm, start, start + size)) {
      ret = -LINUX_EINVAL; /* Linux: busy without SHM_REMAP */
      goto out;
    }
  } else {
    start = find_free_top_down(mm, size, mmap_base());
    if (!start)
      start = find_free_top_down(mm, size, MM_WINDOW_END);
    if (!start) {
      ret = -LINUX_ENOMEM;
      goto out;
    }
  }
  uint64_t end = start + size;
  unsigned vflags =
      VMA_SHARED | VMA_SHM | VMA_NOACCT | (nowrite ? VMA_NOWRITE : 0);
  if (!expand_ok(mm, size, range_sum(mm, start, end, 1), false) ||
      !charge_ok(mm, range_charge(mm, start, end), 0)) {
    ret = -LINUX_ENOMEM;
    goto out;
  }
  struct vma *n = kzalloc(sizeof(*n));
  if (!n) {
    ret = -LINUX_ENOMEM;
    goto out;
  }
  int err = vma_split_at(mm, start);
  if (!err)
    err = vma_split_at(mm, end);
  if (!err) {
    writeback_range(mm, start, end);
    err = plat_mem_alias((void *)start, pool, size, plat_prot(prot));
  }
  if (err) {
    kfree(n);
    ret = err < 0 ? err : -LINUX_ENOMEM;
    goto out;
  }
  vma_drop_range(mm, start, end);
  *n = (struct vma){.start = start,
                    .end = end,
                    .prot = prot,
                    .flags = vflags,
                    .off = 0,
                    .unfilled = 0,
                    .shm = seg};
  sysv_shm_vma_open(seg);
  vma_link(mm, n);
  vma_merge_dirty(mm);
  ret = (long)start;
out:
  mm_unlock(mm);
  return ret;
}

int mm_shm_detach(uint64_t addr, uint64_t (*seg_size)(void *seg)) {
  struct mm *mm = mm_current();
  int ret = -LINUX_EINVAL;
  rt_lock(&mm->lock);
  /* As Linux's shmdt: the first shm VMA from addr on whose offset in its
   * segment is its distance from addr (the attach itself, or what munmap
   * or mprotect left of it) names the segment; then every such piece of
   * that segment within its size from addr goes. */
  void *seg = NULL;
  uint64_t limit = 0;
  for (;;) {
    struct vma *v = vma_find(mm, addr);
    while (v && !(v->end > addr && v->start >= addr && v->shm &&
                  v->off == v->start - addr &&
                  (!seg || (v->shm == seg && v->end - addr <= limit))))
      v = v->next;
    if (!v)
      break;
    if (!seg) {
      seg = v->shm;
      limit = ALIGN_UP(seg_size(seg), PAGE);
      ret = 0;
    }
    uint64_t s = v->start, e = v->end;
    plat_mem_unmap((void *)s, e - s);
    vma_drop_range(mm, s, e); /* may destroy seg: only compared after */
  }
  mm_unlock(mm);
  return ret;
}
