/* Memory syscalls of the Linux shim: argument checks Linux makes before
 * touching the address space, then the core's VMA calls, which keep every
 * guest mapping inside the guest window. */
#include "shim.h"

#define PAGE LINUX_PAGE_SIZE

long sys_mmap(SYSARGS) {
  uint64_t addr = a0;
  size_t len = (size_t)a1;
  int prot = (int)a2, flags = (int)a3, fd = (int)a4;
  int64_t off = (int64_t)a5;

  if (off & (int64_t)(PAGE - 1))
    return -LINUX_EINVAL;
  /* A file mapping's descriptor first, as Linux's ksys_mmap_pgoff. */
  if (!(flags & LINUX_MAP_ANONYMOUS) && moat_fd_get_cloexec(fd) < 0)
    return -LINUX_EBADF;
  if (!len)
    return -LINUX_EINVAL;
  if (ALIGN_UP(len, PAGE) < len)
    return -LINUX_ENOMEM;
  if ((flags & LINUX_MAP_TYPE) != LINUX_MAP_SHARED &&
      (flags & LINUX_MAP_TYPE) != LINUX_MAP_PRIVATE &&
      (flags & LINUX_MAP_TYPE) != LINUX_MAP_SHARED_VALIDATE)
    return -LINUX_EINVAL;
  if ((flags & (LINUX_MAP_FIXED | LINUX_MAP_FIXED_NOREPLACE)) &&
      (addr & (PAGE - 1)))
    return -LINUX_EINVAL;
  /* PROT_SEM means nothing on x86 (Linux accepts and drops it). */
  prot &= ~LINUX_PROT_SEM;
  if (prot & ~(LINUX_PROT_READ | LINUX_PROT_WRITE | LINUX_PROT_EXEC))
    return -LINUX_EINVAL;
  return moat_mmap(addr, len, prot, flags, fd, off);
}

long sys_munmap(SYSARGS) {
  if ((a0 & (PAGE - 1)) || !a1)
    return -LINUX_EINVAL;
  return moat_munmap(a0, (size_t)a1);
}

long sys_mprotect(SYSARGS) {
  if (a0 & (PAGE - 1))
    return -LINUX_EINVAL;
  int prot = (int)a2 & ~LINUX_PROT_SEM; /* accepted and dropped on x86 */
  if (prot & ~(LINUX_PROT_READ | LINUX_PROT_WRITE | LINUX_PROT_EXEC |
               LINUX_PROT_GROWSDOWN | LINUX_PROT_GROWSUP))
    return -LINUX_EINVAL;
  if ((prot & LINUX_PROT_GROWSDOWN) && (prot & LINUX_PROT_GROWSUP))
    return -LINUX_EINVAL;
  prot &= ~(LINUX_PROT_GROWSDOWN | LINUX_PROT_GROWSUP);
  if (!a1)
    return 0;
  return moat_mprotect(a0, (size_t)a1, prot);
}

/* Deprecated nonlinear mappings: not emulated. */
long sys_remap_file_pages(SYSARGS) {
  return -LINUX_EINVAL;
}

/* Protection keys: none here (Linux without PKU support: EINVAL);
 * pkey_mprotect with key -1 is mprotect. */
long sys_pkey_alloc(SYSARGS) {
  return -LINUX_EINVAL;
}

long sys_pkey_free(SYSARGS) {
  return -LINUX_EINVAL;
}

long sys_pkey_mprotect(SYSARGS) {
  if ((int)a3 != -1)
    return -LINUX_EINVAL;
  return sys_mprotect(regs, a0, a1, a2, 0, 0, 0);
}

long sys_brk(SYSARGS) {
  return (long)moat_brk(a0);
}

long sys_mremap(SYSARGS) {
  if (a0 & (PAGE - 1))
    return -LINUX_EINVAL;
  if (a3 & ~(uint64_t)(LINUX_MREMAP_MAYMOVE | LINUX_MREMAP_FIXED |
                       LINUX_MREMAP_DONTUNMAP))
    return -LINUX_EINVAL;
  if ((a3 & LINUX_MREMAP_FIXED) && !(a3 & LINUX_MREMAP_MAYMOVE))
    return -LINUX_EINVAL;
  if (!a2)
    return -LINUX_EINVAL;
  return moat_mremap(a0, (size_t)a1, (size_t)a2, (int)a3, a4);
}

long sys_madvise(SYSARGS) {
  if (a0 & (PAGE - 1))
    return -LINUX_EINVAL;
  if (!a1)
    return 0;
  return moat_madvise(a0, (size_t)a1, (int)a2);
}

long sys_msync(SYSARGS) {
  if (a0 & (PAGE - 1))
    return -LINUX_EINVAL;
  /* MS_ASYNC 1, MS_INVALIDATE 2, MS_SYNC 4; ASYNC and SYNC exclude each
   * other. */
  if ((a2 & ~7ull) || ((a2 & 1) && (a2 & 4)))
    return -LINUX_EINVAL;
  return moat_msync(a0, (size_t)a1, (int)a2);
}

static long lock_range(uint64_t addr, uint64_t len) {
  uint64_t start = ALIGN_DOWN(addr, PAGE);
  uint64_t end = ALIGN_UP(addr + len, PAGE);
  if (addr + len < addr)
    return -LINUX_EINVAL;
  if (end > start && !moat_user_ok(start, (size_t)(end - start), 0))
    return -LINUX_ENOMEM;
  return 0;
}

long sys_mlock(SYSARGS) {
  long err = lock_range(a0, a1);
  uint64_t start = ALIGN_DOWN(a0, PAGE), end = ALIGN_UP(a0 + a1, PAGE);
  /* mlock faults the pages in: past the end of a mapped file it fails. */
  if (!err && end > start)
    err = moat_mm_populate(start, (size_t)(end - start));
  return err;
}

/* MLOCK_ONFAULT (1) locks pages as they are touched: nothing to fault in
 * now. */
long sys_mlock2(SYSARGS) {
  if (a2 & ~1ull)
    return -LINUX_EINVAL;
  if (a2)
    return lock_range(a0, a1);
  return sys_mlock(regs, a0, a1, 0, 0, 0, 0);
}

long sys_munlock(SYSARGS) {
  return lock_range(a0, a1);
}

long sys_mlockall(SYSARGS) {
  if (!a0 || (a0 & ~7ull)) /* MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT */
    return -LINUX_EINVAL;
  return 0;
}

long sys_munlockall(SYSARGS) {
  return 0;
}

/* Every mapped page counts as resident: the platform maps guest memory
 * up front. */
long sys_mincore(SYSARGS) {
  uint64_t pages;
  if (a0 & (PAGE - 1))
    return -LINUX_EINVAL;
  if (a0 + a1 < a0)
    return -LINUX_ENOMEM;
  pages = ALIGN_UP(a1, PAGE) / PAGE;
  if (!user_buf_ok(a2, (size_t)pages, LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  for (uint64_t i = 0; i < pages; i++)
    if (!moat_user_ok(a0 + i * PAGE, PAGE, LINUX_PROT_NONE))
      return -LINUX_ENOMEM;
  if (rt_ufill((void *)(uintptr_t)a2, 1, (size_t)pages))
    return -LINUX_EFAULT;
  return 0;
}
