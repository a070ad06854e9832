/* The VM platform's memory (docs/vm.md, "Memory"): physical pages, page
 * tables per address space, the South contract's plat_mem_* calls, and
 * the page-fault paths that fill demand-zero pages and break
 * copy-on-write.
 *
 * Virtual layout of every address space:
 *   [64 KiB, 128 TiB)   the guest window (PML4[0..255]), the space's own
 *   PML4[256]           the direct map of physical memory (shared)
 *   PML4[257]           the heap: plat_mem_map without PLAT_MAP_FIXED,
 *                       filled page by page when touched (shared)
 *   top 2 GiB           the kernel image (shared) and, in its last 1 GiB,
 *                       the space's own region: the core's writable data
 *                       and the kernel stacks of its contexts
 * Only the guest window has user-accessible pages. */
#include "vm.h"

extern uint64_t boot_pml4[512], boot_pdpt_hi[512];

uint64_t *vm_kernel_pml4; /* no guest window; the idle path's */
uint64_t *vm_cur_pml4;

static uint64_t g_free; /* a stack of freed pages through the direct map */
static uint64_t g_nfree, g_max_pfn;
/* Memory never used yet, taken in order: untouched until needed, so the
 * host (QEMU) commits the machine's memory only as the guest uses it. */
#define FRESH_MAX 32
static struct { uint64_t next, end; } g_fresh[FRESH_MAX];
static int g_nfresh;
static uint16_t *g_refs; /* per page frame */

/* ---- physical pages ---- */

static void page_push(uint64_t pa) {
  *(uint64_t *)phys_to_virt(pa) = g_free;
  g_free = pa;
  g_nfree++;
}

uint64_t page_alloc(void) {
  uint64_t pa = g_free;
  if (pa) {
    g_free = *(uint64_t *)phys_to_virt(pa);
  } else {
    while (g_nfresh && g_fresh[g_nfresh - 1].next >= g_fresh[g_nfresh - 1].end)
      g_nfresh--;
    if (!g_nfresh)
      return 0;
    pa = g_fresh[g_nfresh - 1].next;
    g_fresh[g_nfresh - 1].next += PAGE;
  }
  g_nfree--;
  vm_memset(phys_to_virt(pa), 0, PAGE);
  g_refs[pa / PAGE] = 1;
  return pa;
}

void page_ref(uint64_t pa) {
  if (pa / PAGE >= g_max_pfn || g_refs[pa / PAGE] == 0xffff)
    vm_panic("page_ref", pa, 0);
  g_refs[pa / PAGE]++;
}

void page_unref(uint64_t pa) {
  uint64_t pfn = pa / PAGE;
  if (pfn >= g_max_pfn || g_refs[pfn] == 0)
    vm_panic("page_unref", pa, 0);
  if (--g_refs[pfn] == 0)
    page_push(pa);
}

static unsigned page_refs(uint64_t pa) {
  return g_refs[pa / PAGE];
}

uint64_t mem_free_pages(void) {
  return g_nfree;
}

struct memmap_entry {
  uint64_t addr, size;
  uint32_t type, reserved;
};

static bool excluded(uint64_t pa, const uint64_t *excl, int nexcl) {
  for (int i = 0; i < nexcl; i++)
    if (pa + PAGE > excl[2 * i] && pa < excl[2 * i + 1])
      return true;
  return false;
}

/* W^X for the kernel's image: its first 2 MiB (vm.ld keeps it there)
 * with 4 KiB pages, its code read-only, its read-only data read-only and
 * never executable, its data never executable, nothing else of that
 * 2 MiB mapped (physical memory is reached through the direct map).
 * After the boot's last write of code (main.c, the SMAP sites). */
extern uint64_t boot_pd0[512];
extern char __text_end[], __rodata_end[], __image_end[];

static void image_protect(void) {
  uint64_t pa = page_alloc();
  if (!pa)
    vm_panic("no memory for the image's page table", 0, 0);
  uint64_t *pt = phys_to_virt(pa);
  uint64_t text = virt_to_phys_kernel(__text_end);
  uint64_t ro = virt_to_phys_kernel(__rodata_end);
  uint64_t end = virt_to_phys_kernel(__image_end);
  for (uint64_t p = 0x100000; p < end; p += PAGE)
    pt[p / PAGE] = p | PTE_P | (p < text ? 0 : PTE_NX) | (p < ro ? 0 : PTE_W);
  boot_pd0[0] = pa | PTE_P | PTE_W;
  uint64_t cr3;
  __asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
}

void mem_init(uint64_t lo_reserved_end, const uint64_t *excl, int nexcl,
              const void *memmap, int nmap) {
  const struct memmap_entry *m = memmap;
  uint64_t top = 0;
  for (int i = 0; i < nmap; i++)
    if (m[i].type == 1 && m[i].addr + m[i].size > top)
      top = m[i].addr + m[i].size;
  if (top > DIRECT_MAX)
    top = DIRECT_MAX;
  g_max_pfn = top / PAGE;
  /* the reference counts: the first pages above the image */
  uint64_t refs_pa = (lo_reserved_end + PAGE - 1) & ~(PAGE - 1);
  uint64_t refs_len = (g_max_pfn * 2 + PAGE - 1) & ~(PAGE - 1);
  while (excluded(refs_pa, excl, nexcl))
    refs_pa += PAGE;
  g_refs = phys_to_virt(refs_pa);
  vm_memset(g_refs, 0, refs_len);
  uint64_t start = refs_pa + refs_len;
  for (int i = 0; i < nmap; i++) {
    if (m[i].type != 1)
      continue;
    uint64_t a = (m[i].addr + PAGE - 1) & ~(PAGE - 1);
    uint64_t e = (m[i].addr + m[i].size) & ~(PAGE - 1);
    if (e > top)
      e = top;
    if (a < start)
      a = start;
    /* runs of pages outside the excluded ranges */
    while (a < e) {
      while (a < e && excluded(a, excl, nexcl))
        a += PAGE;
      uint64_t b = a;
      while (b < e && !excluded(b, excl, nexcl))
        b += PAGE;
      if (b > a && g_nfresh < FRESH_MAX) {
        g_fresh[g_nfresh].next = a;
        g_fresh[g_nfresh].end = b;
        g_nfresh++;
        g_nfree += (b - a) / PAGE;
      }
      a = b;
    }
  }
  image_protect();
  /* the kernel's own top-level table: the boot one without the
   * identity map, with the heap's PDPT */
  vm_kernel_pml4 = boot_pml4;
  boot_pml4[0] = 0;
  uint64_t hp = page_alloc();
  if (!hp)
    vm_panic("no memory for the heap's tables", 0, 0);
  boot_pml4[257] = hp | PTE_P | PTE_W;
  __asm__ volatile("mov %0, %%cr3"
                   :
                   : "r"(virt_to_phys_kernel(boot_pml4))
                   : "memory");
  vm_cur_pml4 = boot_pml4;
}

/* ---- page tables ---- */

/* The level-2 entry (page directory) for va, tables above made on the
 * way when alloc; NULL when one is missing (or no memory). In the guest
 * window a non-present level-2 entry that is not zero is a "chunk":
 * all of its 2 MiB is demand-zero (PTE_DEMAND, the same soft bits and
 * protection as a page's entry), with no page table under it yet, so a
 * huge reservation costs a word per 2 MiB (pte_walk splits it). */
static uint64_t *pd_walk(uint64_t *pml4, uint64_t va, bool alloc) {
  uint64_t *t = pml4;
  bool user = va < WINDOW_HI;
  for (int shift = 39; shift > 21; shift -= 9) {
    uint64_t *e = &t[(va >> shift) & 511];
    if (!(*e & PTE_P)) {
      if (!alloc)
        return NULL;
      uint64_t pa = page_alloc();
      if (!pa)
        return NULL;
      *e = pa | PTE_P | PTE_W | (user ? PTE_U : 0);
    } else if (*e & PTE_PS) {
      return NULL;
    }
    t = phys_to_virt(*e & PTE_ADDR);
  }
  return &t[(va >> 21) & 511];
}

#define CHUNK (2ull << 20)

static bool is_chunk(uint64_t pde) {
  return !(pde & PTE_P) && (pde & PTE_DEMAND);
}

/* The entry for va at level 1 (4 KiB pages), tables made on the way when
 * alloc (a chunk is split into a table of 512 demand entries); NULL when
 * a table is missing (a chunk, without alloc), no memory, or a large
 * page covers the address. */
static uint64_t *pte_walk(uint64_t *pml4, uint64_t va, bool alloc) {
  uint64_t *pde = pd_walk(pml4, va, alloc);
  if (!pde)
    return NULL;
  if (!(*pde & PTE_P)) {
    if (!alloc)
      return NULL;
    uint64_t pa = page_alloc();
    if (!pa)
      return NULL;
    if (is_chunk(*pde)) {
      uint64_t *t = phys_to_virt(pa);
      for (int i = 0; i < 512; i++)
        t[i] = *pde;
    }
    *pde = pa | PTE_P | PTE_W | (va < WINDOW_HI ? PTE_U : 0);
  } else if (*pde & PTE_PS) {
    return NULL;
  }
  uint64_t *t = phys_to_virt(*pde & PTE_ADDR);
  return &t[(va >> 12) & 511];
}

/* The physical address of va in pml4 (large pages included), or -1. */
static uint64_t va_to_pa(uint64_t *pml4, uint64_t va) {
  uint64_t *t = pml4;
  for (int shift = 39; shift >= 12; shift -= 9) {
    uint64_t e = t[(va >> shift) & 511];
    if (!(e & PTE_P))
      return (uint64_t)-1;
    if (shift == 12 || (e & PTE_PS)) {
      uint64_t mask = (1ull << shift) - 1;
      return (e & PTE_ADDR & ~mask) | (va & mask);
    }
    t = phys_to_virt(e & PTE_ADDR);
  }
  return (uint64_t)-1;
}

static inline unsigned pte_prot(uint64_t e) {
  return (unsigned)(e >> 54) & 7;
}

/* A present leaf entry for guest page pa with protection prot. */
static uint64_t pte_user(uint64_t pa, unsigned prot, uint64_t soft) {
  uint64_t e = pa | soft | ((uint64_t)prot << 54);
  if (!prot)
    return e | PTE_NONE;
  e |= PTE_P | PTE_U;
  if ((prot & PLAT_PROT_WRITE) && !(soft & PTE_COW))
    e |= PTE_W;
  if (!(prot & PLAT_PROT_EXEC))
    e |= PTE_NX;
  return e;
}

static bool has_frame(uint64_t e) {
  return (e & PTE_P) || (e & PTE_NONE);
}

uint64_t mem_pa(uint64_t *pml4, uint64_t va) {
  return va_to_pa(pml4, va);
}

/* plat_wait's key for a word: its physical address when the word is
 * memory every space may share (the kernel's, the heap, a guest alias of
 * shared memory), else the space and the address (private memory, which
 * a clone's copy-on-write shares physically but not logically). */
struct wait_key mem_key(const void *word) {
  uint64_t va = (uint64_t)(uintptr_t)word;
  struct wait_key priv = {va, vm_cur->sp->id};
  if (va < WINDOW_HI) {
    uint64_t *e = pte_walk(vm_cur_pml4, va & ~(PAGE - 1), false);
    if (e && has_frame(*e) && (*e & PTE_SHARED))
      return (struct wait_key){(*e & PTE_ADDR) | (va & (PAGE - 1)), 0};
    return priv;
  }
  if (va >= SPACE_BASE)
    return priv;
  uint64_t pa = va_to_pa(vm_cur_pml4, va);
  return pa == (uint64_t)-1 ? priv : (struct wait_key){pa, 0};
}

static void flush_all(void) {
  uint64_t cr3;
  __asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
}

static void user_unmap(uint64_t *pml4, uint64_t va, uint64_t end) {
  while (va < end) {
    uint64_t next = (va | (CHUNK - 1)) + 1; /* the next chunk's start */
    uint64_t *pde = pd_walk(pml4, va, false);
    if (pde && is_chunk(*pde)) {
      /* a whole chunk goes at once; part of one is split first (with no
       * memory for its table, the whole chunk goes: a reservation's
       * untouched pages, none of the guest's data) */
      bool whole = !(va & (CHUNK - 1)) && end >= next;
      if (whole || !pte_walk(pml4, va, true)) {
        *pde = 0;
        va = next;
        continue;
      }
    }
    uint64_t *e = pte_walk(pml4, va, false);
    if (!e) { /* no table: nothing mapped up to the next one */
      va = next;
      continue;
    }
    if (has_frame(*e))
      page_unref(*e & PTE_ADDR);
    *e = 0;
    if (pml4 == vm_cur_pml4)
      invlpg(va);
    va += PAGE;
  }
}

static bool in_window(uint64_t a, size_t len) {
  return a >= WINDOW_LO && a <= WINDOW_HI && len <= WINDOW_HI - a;
}

/* ---- the heap: plat_mem_map without PLAT_MAP_FIXED ---- */

#define HEAP_REGIONS 64
static struct heap_region {
  uint64_t start, len;
  bool views; /* PLAT_MAP_VIEWS: plat_mem_view's source */
} g_heap[HEAP_REGIONS];
static bool g_views_given;
static uint64_t g_heap_next = HEAP_BASE;

static struct heap_region *heap_find(uint64_t a) {
  for (int i = 0; i < HEAP_REGIONS; i++)
    if (g_heap[i].len && a >= g_heap[i].start &&
        a < g_heap[i].start + g_heap[i].len)
      return &g_heap[i];
  return NULL;
}

static int heap_fill(uint64_t va) {
  uint64_t *e = pte_walk(vm_kernel_pml4, va, true);
  if (!e)
    return -LINUX_ENOMEM;
  if (*e & PTE_P)
    return 0;
  uint64_t pa = page_alloc();
  if (!pa)
    return -LINUX_ENOMEM;
  *e = pa | PTE_P | PTE_W | PTE_NX;
  return 0;
}

static void heap_release(uint64_t va, uint64_t end) {
  for (; va < end; va += PAGE) {
    uint64_t *e = pte_walk(vm_kernel_pml4, va, false);
    if (!e) {
      va = (va | ((2ull << 20) - 1)) & ~(PAGE - 1);
      continue;
    }
    if (*e & PTE_P) {
      page_unref(*e & PTE_ADDR);
      *e = 0;
      invlpg(va);
    }
  }
}

/* ---- the South contract: memory ---- */

/* Pages plat_mem_map keeps free after the page tables of a guest
 * mapping (16 MiB): for the faults that fill pages and the core's own. */
#define MAP_RESERVE 4096ull

/* The most page-table pages a mapping of [a, a + len) can need: the
 * directories and above, and at most two page tables (whole 2 MiB
 * pieces are chunk entries). */
static uint64_t map_tables_max(uint64_t a, uint64_t len) {
  uint64_t last = a + len - 1, n = 2;
  for (int shift = 30; shift <= 39; shift += 9)
    n += (last >> shift) - (a >> shift) + 1;
  return n;
}

int plat_mem_map(void *addr, size_t len, int prot, int flags, void **out) {
  IRQ_GUARD();
  if (!len || (len & (PAGE - 1)) || (prot & ~7))
    return -LINUX_EINVAL;
  uint64_t a = (uint64_t)(uintptr_t)addr;
  if (!(flags & PLAT_MAP_FIXED)) {
    if (g_heap_next >= HEAP_BASE + HEAP_SIZE ||
        len > HEAP_BASE + HEAP_SIZE - g_heap_next)
      return -LINUX_ENOMEM;
    for (int i = 0; i < HEAP_REGIONS; i++) {
      if (g_heap[i].len)
        continue;
      g_heap[i].start = g_heap_next;
      g_heap[i].len = len;
      g_heap[i].views = (flags & PLAT_MAP_VIEWS) && !g_views_given;
      g_views_given |= g_heap[i].views;
      g_heap_next += len + (2ull << 20); /* a gap between regions */
      g_heap_next = (g_heap_next + (2ull << 20) - 1) & ~((2ull << 20) - 1);
      *out = (void *)(uintptr_t)g_heap[i].start;
      return 0;
    }
    return -LINUX_ENOMEM;
  }
  if ((a & (PAGE - 1)) || !in_window(a, len))
    return -LINUX_EINVAL;
  /* Every page of the range gets an entry now (PTE_DEMAND), so its page
   * tables are made now, and nothing charges them to the guest: a huge
   * mapping (PROT_NONE costs the guest nothing) would take all of memory,
   * and the next process to fault a page in would be killed (pid 1's
   * death ends the sandbox). Refuse one whose tables could leave less
   * than MAP_RESERVE pages free. */
  if (map_tables_max(a, len) + MAP_RESERVE > mem_free_pages())
    return -LINUX_ENOMEM;
  /* shared: stays shared with the spaces cloned from this one (filled
   * at the clone at the latest, space_copy_user) */
  uint64_t soft = (flags & PLAT_MAP_SHARED) ? PTE_SHARED : 0;
  user_unmap(vm_cur_pml4, a, a + len);
  uint64_t demand = PTE_DEMAND | soft | ((uint64_t)prot << 54);
  for (uint64_t va = a; va < a + len;) {
    if (!(va & (CHUNK - 1)) && a + len - va >= CHUNK) {
      /* a whole 2 MiB with no table under it: one chunk entry */
      uint64_t *pde = pd_walk(vm_cur_pml4, va, true);
      if (pde && !*pde) {
        *pde = demand;
        va += CHUNK;
        continue;
      }
    }
    uint64_t *e = pte_walk(vm_cur_pml4, va, true);
    if (!e) {
      user_unmap(vm_cur_pml4, a, va);
      return -LINUX_ENOMEM;
    }
    *e = demand;
    va += PAGE;
  }
  *out = addr;
  return 0;
}

int plat_mem_unmap(void *addr, size_t len) {
  IRQ_GUARD();
  uint64_t a = (uint64_t)(uintptr_t)addr;
  if ((a & (PAGE - 1)) || (len & (PAGE - 1)))
    return -LINUX_EINVAL;
  if (in_window(a, len)) {
    user_unmap(vm_cur_pml4, a, a + len);
    return 0;
  }
  struct heap_region *r = heap_find(a);
  if (!r || len > r->start + r->len - a)
    return -LINUX_EINVAL;
  heap_release(a, a + len);
  if (a == r->start && len == r->len)
    r->len = 0; /* its addresses are not given out again */
  return 0;
}

int plat_mem_protect(void *addr, size_t len, int prot) {
  IRQ_GUARD();
  uint64_t a = (uint64_t)(uintptr_t)addr;
  if ((a & (PAGE - 1)) || (len & (PAGE - 1)) || (prot & ~7))
    return -LINUX_EINVAL;
  if (!in_window(a, len))
    return heap_find(a) ? 0 : -LINUX_EINVAL;
  for (uint64_t va = a; va < a + len;) {
    uint64_t next = (va | (CHUNK - 1)) + 1;
    uint64_t *pde = pd_walk(vm_cur_pml4, va, false);
    if (pde && is_chunk(*pde)) {
      if (!(va & (CHUNK - 1)) && a + len >= next) { /* the whole chunk */
        *pde = (*pde & (PTE_DEMAND | PTE_SHARED)) | ((uint64_t)prot << 54);
        va = next;
        continue;
      }
      if (!pte_walk(vm_cur_pml4, va, true))
        return -LINUX_ENOMEM;
    }
    uint64_t *e = pte_walk(vm_cur_pml4, va, false);
    if (!e) {
      va = next;
      continue;
    }
    if (*e & PTE_DEMAND)
      *e = (*e & (PTE_DEMAND | PTE_SHARED)) | ((uint64_t)prot << 54);
    else if (*e)
      *e = pte_user(*e & PTE_ADDR, (unsigned)prot, *e & (PTE_COW | PTE_SHARED));
    invlpg(va);
    va += PAGE;
  }
  return 0;
}

/* Map the heap's pages [src, src + len) at guest address addr with
 * protection prot and soft bits soft: PTE_SHARED for an alias (the same
 * page in every space that maps it), PTE_COW for a view (reads see the
 * heap's page as it is now, the first write copies it). A view's source
 * must be the PLAT_MAP_VIEWS region. */
static int map_heap_pages(uint64_t a, uint64_t s, size_t len, int prot,
                          uint64_t soft) {
  if ((a & (PAGE - 1)) || (s & (PAGE - 1)) || (len & (PAGE - 1)) || !len ||
      !in_window(a, len) || (prot & ~7))
    return -LINUX_EINVAL;
  struct heap_region *r = heap_find(s);
  if (!r || ((soft & PTE_COW) && !r->views) || len > r->start + r->len - s)
    return -LINUX_EINVAL;
  for (uint64_t off = 0; off < len; off += PAGE) {
    int err = heap_fill(s + off);
    if (err < 0)
      return err;
    uint64_t pa = va_to_pa(vm_kernel_pml4, s + off) & PTE_ADDR;
    uint64_t *e = pte_walk(vm_cur_pml4, a + off, true);
    if (!e)
      return -LINUX_ENOMEM;
    /* the same page already there (a new protection): no new reference */
    if (!(has_frame(*e) && (*e & PTE_ADDR) == pa && (*e & soft))) {
      if (has_frame(*e))
        page_unref(*e & PTE_ADDR);
      page_ref(pa);
    }
    *e = pte_user(pa, (unsigned)prot, soft);
    invlpg(a + off);
  }
  return 0;
}

int plat_mem_alias(void *addr, const void *src, size_t len, int prot) {
  IRQ_GUARD();
  return map_heap_pages((uint64_t)(uintptr_t)addr, (uint64_t)(uintptr_t)src,
                        len, prot, PTE_SHARED);
}

/* (A discard of the region's page leaves a view with the page it had:
 * the core discards only pages nothing maps.) */
int plat_mem_view(void *addr, const void *src, size_t len, int prot) {
  IRQ_GUARD();
  return map_heap_pages((uint64_t)(uintptr_t)addr, (uint64_t)(uintptr_t)src,
                        len, prot, PTE_COW);
}

int plat_mem_discard(void *addr, size_t len) {
  IRQ_GUARD();
  uint64_t a = (uint64_t)(uintptr_t)addr;
  struct heap_region *r = heap_find(a);
  if ((a & (PAGE - 1)) || (len & (PAGE - 1)) || !r ||
      len > r->start + r->len - a)
    return -LINUX_EINVAL;
  heap_release(a, a + len);
  return 0;
}

/* ---- faults ---- */

int mem_fault(uint64_t addr, uint64_t err, bool user) {
  uint64_t va = addr & ~(PAGE - 1);
  if (addr >= HEAP_BASE && addr < HEAP_BASE + HEAP_SIZE) {
    if (user || !heap_find(addr))
      return 0;
    return heap_fill(va) == 0 ? 1 : -1;
  }
  if (addr < WINDOW_LO || addr >= WINDOW_HI)
    return 0;
  uint64_t *e = pte_walk(vm_cur_pml4, va, false);
  if (!e) { /* a chunk's first touch: its table now */
    uint64_t *pde = pd_walk(vm_cur_pml4, va, false);
    if (!pde || !is_chunk(*pde))
      return 0;
    e = pte_walk(vm_cur_pml4, va, true);
    if (!e)
      return -1;
  }
  if (!*e)
    return 0;
  unsigned prot = pte_prot(*e);
  bool write = err & 2, fetch = err & 16;
  if (write && !(prot & PLAT_PROT_WRITE))
    return 2;
  if (fetch && !(prot & PLAT_PROT_EXEC))
    return 2;
  if (!prot)
    return 2;
  if (*e & PTE_DEMAND) {
    uint64_t pa = page_alloc();
    if (!pa)
      return -1;
    *e = pte_user(pa, prot, *e & PTE_SHARED);
    invlpg(va);
    return 1;
  }
  if ((*e & PTE_P) && write && (*e & PTE_COW)) {
    uint64_t old = *e & PTE_ADDR;
    if (page_refs(old) == 1) {
      *e = pte_user(old, prot, 0);
    } else {
      uint64_t pa = page_alloc();
      if (!pa)
        return -1;
      vm_memcpy(phys_to_virt(pa), phys_to_virt(old), PAGE);
      page_unref(old);
      *e = pte_user(pa, prot, 0);
    }
    invlpg(va);
    return 1;
  }
  /* present and allowed: a stale TLB entry (a protection just widened) */
  if ((*e & PTE_P) && (!write || (*e & PTE_W))) {
    invlpg(va);
    return 1;
  }
  return 2;
}

/* ---- address spaces ---- */

uint64_t *space_pml4_new(void) {
  uint64_t pa = page_alloc(), pdpt = page_alloc(), pd = page_alloc();
  if (!pa || !pdpt || !pd) {
    if (pa)
      page_unref(pa);
    if (pdpt)
      page_unref(pdpt);
    if (pd)
      page_unref(pd);
    return NULL;
  }
  uint64_t *t = phys_to_virt(pa), *p = phys_to_virt(pdpt);
  for (int i = 256; i < 511; i++)
    t[i] = boot_pml4[i];
  p[510] = boot_pdpt_hi[510];
  p[511] = pd | PTE_P | PTE_W;
  t[511] = pdpt | PTE_P | PTE_W;
  return t;
}

/* Copy the guest window of src into dst (empty): private pages become
 * copy-on-write in both, shared ones stay shared. */
int space_copy_user(uint64_t *dst, uint64_t *src) {
  for (int i4 = 0; i4 < 256; i4++) {
    if (!(src[i4] & PTE_P))
      continue;
    uint64_t *p3 = phys_to_virt(src[i4] & PTE_ADDR);
    for (int i3 = 0; i3 < 512; i3++) {
      if (!(p3[i3] & PTE_P))
        continue;
      uint64_t *p2 = phys_to_virt(p3[i3] & PTE_ADDR);
      for (int i2 = 0; i2 < 512; i2++) {
        if (is_chunk(p2[i2])) {
          uint64_t va2 = ((uint64_t)i4 << 39) | ((uint64_t)i3 << 30) |
                         ((uint64_t)i2 << 21);
          if (!(p2[i2] & PTE_SHARED)) { /* private: the child's own */
            uint64_t *d = pd_walk(dst, va2, true);
            if (!d)
              return -LINUX_ENOMEM;
            *d = p2[i2];
            continue;
          }
          /* shared: split, and its pages are made below, one for both */
          if (!pte_walk(src, va2, true))
            return -LINUX_ENOMEM;
        }
        if (!(p2[i2] & PTE_P))
          continue;
        uint64_t *p1 = phys_to_virt(p2[i2] & PTE_ADDR);
        for (int i1 = 0; i1 < 512; i1++) {
          uint64_t e = p1[i1];
          if (!e)
            continue;
          uint64_t va = ((uint64_t)i4 << 39) | ((uint64_t)i3 << 30) |
                        ((uint64_t)i2 << 21) | ((uint64_t)i1 << 12);
          uint64_t *d = pte_walk(dst, va, true);
          if (!d)
            return -LINUX_ENOMEM;
          if ((e & PTE_DEMAND) && (e & PTE_SHARED)) {
            /* shared memory nobody touched yet: one page for both */
            uint64_t pa = page_alloc();
            if (!pa)
              return -LINUX_ENOMEM;
            e = pte_user(pa, pte_prot(e), PTE_SHARED);
            p1[i1] = e;
          }
          if (has_frame(e)) {
            page_ref(e & PTE_ADDR);
            if (!(e & PTE_SHARED)) {
              e = pte_user(e & PTE_ADDR, pte_prot(e), PTE_COW);
              p1[i1] = e;
            }
          }
          *d = e;
        }
      }
    }
  }
  if (src == vm_cur_pml4)
    flush_all();
  return 0;
}

static void free_table(uint64_t *t, int level, int from, int to) {
  for (int i = from; i < to; i++) {
    uint64_t e = t[i];
    if (level == 1) {
      if (has_frame(e))
        page_unref(e & PTE_ADDR);
    } else if ((e & PTE_P) && !(e & PTE_PS)) {
      free_table(phys_to_virt(e & PTE_ADDR), level - 1, 0, 512);
      page_unref(e & PTE_ADDR);
    }
    t[i] = 0;
  }
}

void space_free_all(uint64_t *pml4) {
  free_table(pml4, 4, 0, 256);
  uint64_t *pdpt = phys_to_virt(pml4[511] & PTE_ADDR);
  uint64_t pd = pdpt[511];
  free_table(phys_to_virt(pd & PTE_ADDR), 2, 0, 512);
  page_unref(pd & PTE_ADDR);
  page_unref(pml4[511] & PTE_ADDR);
  page_unref(virt_to_phys_direct(pml4));
}

/* Pages of the space's own region [va, va + len) in pml4. */
/* (page_alloc gives zeroed pages) */
int kmap_pages(uint64_t *pml4, uint64_t va, size_t len) {
  for (uint64_t a = va; a < va + len; a += PAGE) {
    uint64_t *e = pte_walk(pml4, a, true);
    if (!e)
      return -LINUX_ENOMEM;
    if (*e & PTE_P)
      continue;
    uint64_t pa = page_alloc();
    if (!pa)
      return -LINUX_ENOMEM;
    *e = pa | PTE_P | PTE_W | PTE_NX;
  }
  return 0;
}

void kunmap_pages(uint64_t *pml4, uint64_t va, size_t len) {
  for (uint64_t a = va; a < va + len; a += PAGE) {
    uint64_t *e = pte_walk(pml4, a, false);
    if (e && (*e & PTE_P)) {
      page_unref(*e & PTE_ADDR);
      *e = 0;
      if (pml4 == vm_cur_pml4)
        invlpg(a);
    }
  }
}

/* Copy the bytes of [va, va + len) of src's own region to dst's (both
 * mapped there). */
void kcopy_range(uint64_t *dst, uint64_t *src, uint64_t va, size_t len) {
  for (uint64_t a = va; a < va + len; a += PAGE) {
    uint64_t s = va_to_pa(src, a), d = va_to_pa(dst, a);
    if (s == (uint64_t)-1 || d == (uint64_t)-1)
      vm_panic("kcopy_range", a, 0);
    vm_memcpy(phys_to_virt(d), phys_to_virt(s), PAGE);
  }
}
