/* Memory calls' argument and error paths as Linux answers them (mmap(2),
 * mremap(2), madvise(2), mlock(2), mincore(2), msync(2), mprotect(2),
 * pkeys(7)): flags, alignment, unmapped ranges, MAP_32BIT below 2 GiB,
 * MAP_HUGETLB without huge pages, PROT_SEM, MADV_REMOVE on a private
 * mapping, mlock2, no protection keys. Native vs moat. */
#include "guest.h"
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/resource.h>

#ifndef PROT_SEM
#define PROT_SEM 0x8
#endif
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  long pg = 4096;
  char *p = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  R("mremap grow maymove", (long)mremap(p, 4 * pg, 8 * pg, MREMAP_MAYMOVE) > 0);
  R("mremap bad flags", (long)syscall(SYS_mremap, p, 4 * pg, 8 * pg, 8));
  R("mremap fixed no maymove",
    (long)syscall(SYS_mremap, p, 4 * pg, 8 * pg, MREMAP_FIXED, p + 100 * pg));
  R("mremap unaligned", (long)syscall(SYS_mremap, p + 1, 4 * pg, 8 * pg, 0));
  R("mremap zero new", (long)syscall(SYS_mremap, p, 4 * pg, 0, 0));
  R("mremap fixed overlap",
    (long)syscall(SYS_mremap, p, 4 * pg, 4 * pg, MREMAP_MAYMOVE | MREMAP_FIXED,
                  p + pg));
  char *q = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  q[0] = 1;
  R("madvise bad", madvise(q, pg, 999));
  R("madvise unaligned", madvise(q + 1, pg, MADV_NORMAL));
  R("madvise dontneed", madvise(q, pg, MADV_DONTNEED));
  R("madvise free", madvise(q, pg, MADV_FREE));
  R("madvise hugepage", madvise(q, pg, MADV_HUGEPAGE));
  R("madvise unmapped", madvise((void *)0x300000000000, pg, MADV_NORMAL));
  R("madvise remove anon", madvise(q, pg, MADV_REMOVE));
  R("madvise cold", madvise(q, pg, MADV_COLD));
  R("madvise pageout", madvise(q, pg, MADV_PAGEOUT));
  R("madvise dontfork", madvise(q, pg, MADV_DONTFORK));
  R("madvise wipeonfork", madvise(q, pg, MADV_WIPEONFORK));
  R("madvise populate_write", madvise(q, pg, 23));
  R("mlock", mlock(q, pg));
  R("munlock", munlock(q, pg));
  R("mlockall bad", mlockall(0));
  R("mlockall", mlockall(MCL_CURRENT));
  R("munlockall", munlockall());
  R("mlock2 bad", syscall(SYS_mlock2, q, pg, 4));
  R("mlock unmapped", mlock((void *)0x300000000000, pg));
  unsigned char vec[4];
  R("mincore", mincore(q, 4 * pg, vec));
  printf("vec %d\n", vec[1] & 1);
  R("mincore unaligned", mincore(q + 1, pg, vec));
  R("mincore unmapped", mincore((void *)0x300000000000, pg, vec));
  R("msync bad flags", msync(q, pg, 0xff));
  R("msync both", msync(q, pg, MS_SYNC | MS_ASYNC));
  R("msync unmapped", msync((void *)0x300000000000, pg, MS_SYNC));
  R("msync unaligned", msync(q + 1, pg, MS_SYNC));
  R("mprotect sem", mprotect(q, pg, PROT_READ | PROT_SEM));
  R("pkey_alloc", syscall(SYS_pkey_alloc, 0, 0));
  R("brk 0 > 0", syscall(SYS_brk, 0) > 0);
  R("mmap fixed_noreplace over",
    (long)mmap(q, pg, PROT_READ,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
  R("mmap shared_validate bad",
    (long)mmap(NULL, pg, PROT_READ, MAP_SHARED_VALIDATE | 0x800000, -1, 0));
  R("mmap anon fd nonneg",
    (long)mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, 5, 0) > 0);
  R("mmap bad fd", (long)mmap(NULL, pg, PROT_READ, MAP_PRIVATE, 99, 0));
  R("mmap huge len",
    (long)mmap(NULL, 1ul << 62, PROT_READ,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  R("mmap off unaligned",
    (long)mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 1));
  R("mmap hugetlb",
    (long)mmap(NULL, 2 << 20, PROT_READ,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0));
  R("mmap growsdown",
    (long)mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN,
               -1, 0) > 0);
  R("mmap 32bit",
    (long)mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1,
               0) < 0x80000000l);
  R("remap_file_pages", syscall(SYS_remap_file_pages, q, pg, 0, 0, 0));
  int fd = open("/etc/passwd", O_RDONLY);
  R("mmap ro file shared write",
    (long)mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  R("mmap ro file private write",
    (long)mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0) > 0);
  char *r = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, 0);
  R("mprotect ro shared write", mprotect(r, pg, PROT_READ | PROT_WRITE));
  R("mprotect exec", mprotect(r, pg, PROT_READ | PROT_EXEC));
  struct rlimit rl = {1 << 20, 1 << 20};
  R("setrlimit memlock", setrlimit(RLIMIT_MEMLOCK, &rl));

  /* MREMAP_DONTUNMAP on a private anonymous mapping: the pages move, the
   * old range stays mapped and reads zeros, and is writable. */
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
  char *d = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(d, 'a', 3 * pg);
  d[pg] = 'b';
  char *moved = (char *)syscall(SYS_mremap, d, 3 * pg, 3 * pg,
                                MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0);
  if (moved == MAP_FAILED) {
    printf("mremap dontunmap: -1 %s\n", errname(errno));
  } else {
    printf("mremap dontunmap: moved %d, new [0] %c [pg] %c, old [0] %d [pg] "
           "%d\n",
           moved != d, moved[0], moved[pg], d[0], d[pg]);
    d[5] = 'c';
    printf("  old written: %c, new unchanged: %c\n", d[5], moved[5]);
  }
  char *target =
      mmap(NULL, 3 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *fixed =
      (char *)syscall(SYS_mremap, d, 3 * pg, 3 * pg,
                      MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED, target);
  printf("mremap dontunmap fixed: at the target %d, [5] %c, old [5] %d\n",
         fixed == target, fixed == target ? fixed[5] : '?', d[5]);
  R("mremap dontunmap without maymove",
    syscall(SYS_mremap, d, 3 * pg, 3 * pg, MREMAP_DONTUNMAP, 0));
  R("mremap dontunmap other size",
    syscall(SYS_mremap, d, 3 * pg, 4 * pg, MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
            0));
  R("mremap dontunmap unmapped", syscall(SYS_mremap, d + 1000 * pg, pg, pg,
                                         MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0));
  return 0;
}
