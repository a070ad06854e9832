/* plat_mem_*: the South contract's memory calls on the Linux host. Guest
 * mappings arrive with PLAT_MAP_FIXED inside the guest window; the core's
 * own memory (non-FIXED) must land above the window, so a hint inside the
 * window is ignored and a result inside it is refused. Only anonymous
 * mappings are made here after lockdown (file mappings are only ever
 * MAP_PRIVATE|MAP_FIXED, the one form the filter allows: plat_mem_view
 * below and plat_host_map in hostfs.c); a second mapping of shared
 * anonymous pages is made by mremap with an old size of 0
 * (plat_mem_alias), which only shared mappings allow. The one shared file
 * mapping is the page cache's pool: a host memfd made before lockdown
 * (plat_linux_pool_setup), mapped shared once (PLAT_MAP_VIEWS, the filter
 * pins that form to its descriptor) and privately at fixed guest
 * addresses (plat_mem_view): a private mapping of a file is the only host
 * object whose pages are shared until written and copied at the first
 * write, which MAP_PRIVATE file mappings need (docs/south.md). */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "linux_platform.h"
#include "plat_linux.h"

#define PAGE_MASK 4095ul

/* The page cache's pool: its memfd (-1: none), and once mapped, where. */
static struct {
  int fd;
  uint64_t size;  /* of the memfd */
  uintptr_t base; /* 0 until plat_mem_map(PLAT_MAP_VIEWS) */
  uint64_t len;   /* of the mapping */
} g_pool = {.fd = -1};

static void pool_pipe_setup(void);

int plat_linux_pool_setup(uint64_t size) {
  /* Before lockdown (libc is fine). A host without memfd (or with
   * vm.memfd_noexec = 2) leaves the pool anonymous: private file mappings
   * are then copies. */
  int fd = memfd_create("moat-pcache", MFD_CLOEXEC);
  if (fd < 0)
    return -1;
  if (ftruncate(fd, (off_t)size) < 0) {
    close(fd);
    return -1;
  }
  g_pool.fd = fd;
  g_pool.size = size;
  pool_pipe_setup();
  return fd;
}

int plat_linux_pool_fd(void) {
  return g_pool.fd;
}

/* Filling the pool from host files. A pread into a pool page the host has
 * not yet backed costs a page fault per page (in this kind of VM, 2 MiB of
 * a program took about 6 ms); splice(2) moves the host page cache's pages
 * into a pipe and the pipe's into the memfd, with no page fault and no
 * copy through mapped memory (0.3 ms for the same 2 MiB). The pipe is
 * this host process's: a forked child shares its parent's until it makes
 * its own at its first fill (pipe2, then dup3 onto the same numbers,
 * which the filter pins); a thread that finds another of its process
 * filling preads instead. Both are told apart by host pid, so that a
 * fork writes nothing here (a page written after a fork is a
 * copy-on-write fault in each process). */
static struct {
  int rd, wr; /* -1: no pipe (no pool) */
  int owner;  /* the host process that made the pipe there */
  int busy;   /* 0, or the process one of whose threads is filling */
} g_fill = {.rd = -1, .wr = -1};

/* Below this, a pread is as cheap (two host calls per fill). */
#define FILL_SPLICE_MIN (16 * 1024)

static void pool_pipe_setup(void) {
  int p[2];
  if (g_pool.fd < 0 || pipe2(p, O_CLOEXEC) < 0)
    return;
  g_fill.rd = p[0];
  g_fill.wr = p[1];
  g_fill.owner = getpid();
}

void plat_linux_pool_pipe(int *rd, int *wr) {
  *rd = g_fill.rd;
  *wr = g_fill.wr;
}

static int host_pid(void) {
  struct plat_thread *t = plat_current_thread();
  return t && t->host_tgid ? t->host_tgid : (int)hsys0(HNR_getpid);
}

/* This process's own pipe at the pinned numbers (false: none). */
static bool pool_pipe_own(int pid) {
  if (g_fill.owner == pid)
    return true;
  int p[2];
  if (hsys2(HNR_pipe2, p, O_CLOEXEC) < 0)
    return false;
  bool ok = hsys3(HNR_dup3, p[0], g_fill.rd, O_CLOEXEC) == g_fill.rd &&
            hsys3(HNR_dup3, p[1], g_fill.wr, O_CLOEXEC) == g_fill.wr;
  hsys1(HNR_close, p[0]);
  hsys1(HNR_close, p[1]);
  g_fill.owner = ok ? pid : 0;
  return ok;
}

long plat_linux_pool_fill(int fd, void *buf, size_t len, uint64_t off) {
  uintptr_t b = (uintptr_t)buf;
  if (len < FILL_SPLICE_MIN || g_fill.rd < 0 || !g_pool.base ||
      b < g_pool.base || b - g_pool.base > g_pool.len ||
      len > g_pool.len - (b - g_pool.base) || off > (uint64_t)INT64_MAX)
    return -LINUX_ENOSYS;
  /* Free, or held by a thread of the parent when this process forked. */
  int pid = host_pid(), was = __atomic_load_n(&g_fill.busy, __ATOMIC_ACQUIRE);
  if (was == pid ||
      !__atomic_compare_exchange_n(&g_fill.busy, &was, pid, false,
                                   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
    return -LINUX_ENOSYS;
  long done = 0;
  if (!pool_pipe_own(pid))
    goto out;
  int64_t in_off = (int64_t)off, out_off = (int64_t)(b - g_pool.base);
  while ((size_t)done < len) {
    long n =
        hsys6(HNR_splice, fd, &in_off, g_fill.wr, NULL, len - (size_t)done, 0);
    if (n == -LINUX_EINTR)
      continue;
    if (n <= 0)
      break; /* the end of the file, or the host cannot: pread the rest */
    /* Empty the pipe into the pool; if that fails, bytes may be left in
     * it: this process makes a new pipe at its next fill. */
    for (long left = n; left > 0;) {
      long k = hsys6(HNR_splice, g_fill.rd, NULL, g_pool.fd, &out_off,
                     (size_t)left, 0);
      if (k == -LINUX_EINTR)
        continue;
      if (k <= 0 || k > left) {
        g_fill.owner = 0;
        goto out;
      }
      left -= k;
      done += k;
    }
  }
out:
  __atomic_store_n(&g_fill.busy, 0, __ATOMIC_RELEASE);
  return done > 0 ? done : -LINUX_ENOSYS;
}

static bool range_ok(void *addr, size_t len) {
  uintptr_t a = (uintptr_t)addr;
  return len && !(a & PAGE_MASK) && !(len & PAGE_MASK) && a + len > a;
}

int plat_mem_map(void *addr, size_t len, int prot, int flags, void **out) {
  plat_count(PF_MEM_MAP);
  if (!len || (len & PAGE_MASK) || (prot & ~7) || (flags & ~15))
    return -LINUX_EINVAL;
  if ((flags & PLAT_MAP_VIEWS) && (flags & PLAT_MAP_SHARED) &&
      !(flags & PLAT_MAP_FIXED) && g_pool.fd >= 0 && !g_pool.base &&
      len <= g_pool.size) {
    long r = hsys6(HNR_mmap, NULL, len, host_prot(prot),
                   MAP_SHARED | MAP_NORESERVE, g_pool.fd, 0);
    if (r >= 0 || r <= -4096) {
      uintptr_t got = (uintptr_t)r;
      if (plat_range_touches_window(got, got + len) || got + len < got) {
        hsys2(HNR_munmap, got, len);
        return -LINUX_ENOMEM;
      }
      g_pool.base = got;
      g_pool.len = len;
      *out = (void *)got;
      return 0;
    }
    /* The memfd refused: an anonymous region, without views. */
  }
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

int plat_mem_view(void *addr, const void *src, size_t len, int prot) {
  plat_count(PF_MEM_VIEW);
  uintptr_t s = (uintptr_t)src;
  if (!range_ok(addr, len) || !range_ok((void *)src, len) || (prot & ~7))
    return -LINUX_EINVAL;
  if (!g_pool.base || s < g_pool.base || s - g_pool.base > g_pool.len ||
      len > g_pool.len - (s - g_pool.base))
    return -LINUX_EINVAL;
  if (!plat_range_touches_window((uintptr_t)addr, (uintptr_t)addr + len))
    return -LINUX_EINVAL;
  plat_fast_range_gone((uintptr_t)addr, len);
  long r = hsys6(HNR_mmap, addr, len, host_prot(prot), MAP_PRIVATE | MAP_FIXED,
                 g_pool.fd, s - g_pool.base);
  if (r < 0 && r > -4096)
    return (int)r;
  if ((uintptr_t)r != (uintptr_t)addr) {
    hsys2(HNR_munmap, r, len);
    return -LINUX_ENOMEM;
  }
  return 0;
}

int plat_mem_discard(void *addr, size_t len) {
  plat_count(PF_MEM_DISCARD);
  if (!range_ok(addr, len) ||
      plat_range_touches_window((uintptr_t)addr, (uintptr_t)addr + len))
    return -LINUX_EINVAL;
  long r = hsys3(HNR_madvise, addr, len, MADV_REMOVE);
  return r < 0 ? (int)r : 0;
}
