/* plat_mem_*: the South contract's memory calls on the Linux host. Guest
 * mappings arrive with PLAT_MAP_FIXED inside the guest window; the core's
 * own memory (non-FIXED) must land above the window, so a hint inside the
 * window is ignored and a result inside it is refused. Only anonymous
 * mappings exist after lockdown (the filter allows nothing else); a
 * second mapping of shared anonymous pages is made by mremap with an old
 * size of 0 (plat_mem_alias), which only shared mappings allow. */
#include <sys/mman.h>

#include "plat_linux.h"

#define PAGE_MASK 4095ul

static int host_prot(int prot) {
  int p = 0;
  if (prot & PLAT_PROT_READ)
    p |= PROT_READ;
  if (prot & PLAT_PROT_WRITE)
    p |= PROT_WRITE;
  if (prot & PLAT_PROT_EXEC)
    p |= PROT_EXEC;
  return p;
}

static bool range_ok(void *addr, size_t len) {
  uintptr_t a = (uintptr_t)addr;
  return len && !(a & PAGE_MASK) && !(len & PAGE_MASK) && a + len > a;
}

int plat_mem_map(void *addr, size_t len, int prot, int flags, void **out) {
  plat_count(PF_MEM_MAP);
  if (!len || (len & PAGE_MASK) || (prot & ~7) || (flags & ~7))
    return -LINUX_EINVAL;
  int hflags = MAP_ANONYMOUS;
  hflags |= (flags & PLAT_MAP_SHARED) ? MAP_SHARED : MAP_PRIVATE;
  if ((flags & PLAT_MAP_NORESERVE) && (flags & PLAT_MAP_SHARED))
    hflags |= MAP_NORESERVE;
  if (flags & PLAT_MAP_FIXED) {
    if (!range_ok(addr, len))
      return -LINUX_EINVAL;
    hflags |= MAP_FIXED;
    plat_fast_range_gone((uintptr_t)addr, len);
  } else if (plat_range_touches_window((uintptr_t)addr,
                                       (uintptr_t)addr + len)) {
    addr = NULL;
  }
  long r = hsys6(HNR_mmap, addr, len, host_prot(prot), hflags, -1, 0);
  if (r < 0 && r > -4096)
    return r == -LINUX_ENOMEM ? -LINUX_ENOMEM : (int)r;
  uintptr_t got = (uintptr_t)r;
  if ((flags & PLAT_MAP_FIXED) && got != (uintptr_t)addr) {
    hsys2(HNR_munmap, got, len);
    return -LINUX_ENOMEM;
  }
  if (!(flags & PLAT_MAP_FIXED) &&
      (plat_range_touches_window(got, got + len) || got + len < got)) {
    hsys2(HNR_munmap, got, len);
    return -LINUX_ENOMEM;
  }
  *out = (void *)got;
  return 0;
}

int plat_mem_unmap(void *addr, size_t len) {
  plat_count(PF_MEM_UNMAP);
  if (!range_ok(addr, len))
    return -LINUX_EINVAL;
  plat_fast_range_gone((uintptr_t)addr, len);
  long r = hsys2(HNR_munmap, addr, len);
  return r < 0 ? (int)r : 0;
}

int plat_mem_protect(void *addr, size_t len, int prot) {
  plat_count(PF_MEM_PROTECT);
  if (!range_ok(addr, len) || (prot & ~7))
    return -LINUX_EINVAL;
  long r = hsys3(HNR_mprotect, addr, len, host_prot(prot));
  if (r == 0)
    plat_fast_range_protect((uintptr_t)addr, len, host_prot(prot));
  return r < 0 ? (int)r : 0;
}

int plat_mem_alias(void *addr, const void *src, size_t len, int prot) {
  plat_count(PF_MEM_ALIAS);
  if (!range_ok(addr, len) || !range_ok((void *)src, len) || (prot & ~7))
    return -LINUX_EINVAL;
  if (!plat_range_touches_window((uintptr_t)addr, (uintptr_t)addr + len) ||
      plat_range_touches_window((uintptr_t)src, (uintptr_t)src + len))
    return -LINUX_EINVAL;
  plat_fast_range_gone((uintptr_t)addr, len);
  /* Old size 0: a new mapping of the same shared pages, placed at addr
   * (replacing what was there). It gets the source's protection first. */
  long r = hsys5(HNR_mremap, src, 0, len, MREMAP_MAYMOVE | MREMAP_FIXED, addr);
  if (r < 0 && r > -4096)
    return (int)r;
  if ((uintptr_t)r != (uintptr_t)addr) {
    hsys2(HNR_munmap, r, len);
    return -LINUX_ENOMEM;
  }
  r = hsys3(HNR_mprotect, addr, len, host_prot(prot));
  return r < 0 ? (int)r : 0;
}

int plat_mem_discard(void *addr, size_t len) {
  plat_count(PF_MEM_DISCARD);
  if (!range_ok(addr, len) ||
      plat_range_touches_window((uintptr_t)addr, (uintptr_t)addr + len))
    return -LINUX_EINVAL;
  long r = hsys3(HNR_madvise, addr, len, MADV_REMOVE);
  return r < 0 ? (int)r : 0;
}
