/* plat_host_*: granted host directories. A handle is an index into a
 * table of host fds; each entry remembers the grant it descends from and
 * whether that grant is writable, so a write below a read-only grant fails
 * with EROFS before the host sees it and a move across grants fails with
 * EXDEV. Names are single components, every open adds O_NOFOLLOW and every
 * *at call is relative to a handle's fd, so nothing can leave the grant:
 * no "..", no absolute paths, no symlinks followed. Landlock (lockdown.c)
 * enforces the same boundary a second time in the host kernel.
 *
 * The handle table is shared by every process of the sandbox (the core
 * keeps handles in shared inodes), host fds are not: each process keeps
 * its own fd per handle (g_local), valid while the entry's generation
 * matches. A process that meets a handle another process opened reopens
 * it through its parent handle and name, and checks that it is still the
 * same host inode (-ESTALE otherwise, e.g. after the name was removed).
 * A rename through plat_host_move carries the names of the handles it
 * moves along (under the table lock, with the host's rename, so a reopen
 * never sees the host's new name beside our old one).
 *
 * Locking: the table lock guards the shared table and this process's
 * g_local; it is a leaf (nothing else is taken under it). A host fd that
 * hfd returns stays open after the lock is dropped because the core never
 * closes a handle another of its threads is using. */
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "linux_platform.h"
#include "plat_linux.h"

/* The contract's neutral types are the host's own layouts here: times go
 * to utimensat and come from newfstatat as they are, getdents64's
 * records are plat_dirent records. */
_Static_assert(sizeof(struct plat_time) == sizeof(struct timespec) &&
                   offsetof(struct plat_time, tv_nsec) ==
                       offsetof(struct timespec, tv_nsec),
               "plat_time is struct timespec");
_Static_assert(PLAT_TIME_OMIT == UTIME_OMIT, "PLAT_TIME_OMIT is UTIME_OMIT");
_Static_assert(offsetof(struct plat_dirent, reclen) ==
                       offsetof(struct linux_dirent64, d_reclen) &&
                   offsetof(struct plat_dirent, type) ==
                       offsetof(struct linux_dirent64, d_type) &&
                   offsetof(struct plat_dirent, name) ==
                       offsetof(struct linux_dirent64, d_name),
               "plat_dirent is getdents64's record");

#define MAX_HANDLES 4096
/* Mode bits a host file may get from the sandbox: never set-user-ID or
 * set-group-ID (a guest must not leave a setuid file on the host; the
 * seccomp filter kills a call through the gate that tries). A guest's
 * chmod 4755 succeeds and the host file gets 0755. */
#define HOST_MODE_BITS 01777
#define NAME_CAP 256
#define OPEN_FLAGS_ALLOWED                                                     \
  (LINUX_O_ACCMODE | LINUX_O_CREAT | LINUX_O_EXCL | LINUX_O_TRUNC |            \
   LINUX_O_DIRECTORY | LINUX_O_PATH)

struct host_handle {
  int fd;    /* host fd in the process that opened it; -1: slot free */
  int grant; /* index of the grant this handle descends from */
  bool writable;
  bool public_only;  /* grant shows only what any host user may read */
  uint32_t mode;     /* host mode at open, kept for public_only grants */
  bool core_open;    /* the core still holds this handle */
  int refs;          /* core_open + children that may need us to reopen */
  int parent;        /* handle we were opened below, -1 for a grant */
  uint32_t gen;      /* bumped whenever the slot is reused */
  int hflags;        /* host open flags, to reopen in another process */
  uint64_t ino, dev; /* the host object, to check a reopen */
  char name[NAME_CAP];
};

struct handle_table {
  uint32_t lock; /* futex word: 0 free, 1 held, 2 held with waiters */
  int nhandles;  /* high-water mark */
  struct host_handle h[MAX_HANDLES];
};

static struct handle_table *g_table; /* shared mapping, made before fork */
#define g_handles (g_table->h)
#define g_nhandles (g_table->nhandles)

/* This process's host fd for each handle. */
static struct {
  int fd;
  uint32_t gen;
} g_local[MAX_HANDLES];

static void table_lock(void) {
  uint32_t c = 0;
  if (__atomic_compare_exchange_n(&g_table->lock, &c, 1, false,
                                  __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
    return;
  if (c != 2)
    c = __atomic_exchange_n(&g_table->lock, 2, __ATOMIC_ACQUIRE);
  while (c != 0) {
    hsys6(HNR_futex, &g_table->lock, 0 /* FUTEX_WAIT */, 2, 0, 0, 0);
    c = __atomic_exchange_n(&g_table->lock, 2, __ATOMIC_ACQUIRE);
  }
}

static void table_unlock(void) {
  if (__atomic_fetch_sub(&g_table->lock, 1, __ATOMIC_RELEASE) != 1) {
    __atomic_store_n(&g_table->lock, 0, __ATOMIC_RELEASE);
    hsys6(HNR_futex, &g_table->lock, 1 /* FUTEX_WAKE */, 1, 0, 0, 0);
  }
}

static int table_init(void) {
  if (g_table)
    return 0;
  long r = hsys6(HNR_mmap, 0, sizeof(struct handle_table),
                 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (r < 0 && r > -4096)
    return (int)r;
  g_table = (struct handle_table *)r;
  /* Slots at or above the high-water mark are never read before
   * alloc_slot fills them, so the shared table stays untouched (1.2 MiB
   * of fresh pages faulted in at every start when each slot's fd was
   * set to -1 here); this process's g_local is small. */
  for (int i = 0; i < MAX_HANDLES; i++)
    g_local[i].fd = -1;
  return 0;
}

/* How many of g_local's fds are open, and the count at which this
 * process next closes those whose handle was released meanwhile. A
 * release closes only the releasing process's own fd: the others'
 * would stay open until the slot's next use here, and a sandbox whose
 * processes touch thousands of files ran out of host fds (EMFILE). */
static int g_nlocal, g_sweep_at = 256;

/* Close this process's fd for slot h, whatever use of the slot it was
 * opened for (caller holds the table lock, or runs before any fork). */
static void forget_local(int h) {
  if (g_local[h].fd >= 0) {
    hsys1(HNR_close, g_local[h].fd);
    g_nlocal--;
  }
  g_local[h].fd = -1;
}

static void sweep_locals(void) {
  for (int i = 0; i < g_nhandles; i++)
    if (g_local[i].fd >= 0 &&
        (g_handles[i].fd < 0 || g_local[i].gen != g_handles[i].gen))
      forget_local(i);
  g_sweep_at = g_nlocal > 128 ? 2 * g_nlocal : 256;
}

static void remember_local(int h, int fd) {
  if (g_local[h].fd < 0)
    g_nlocal++;
  g_local[h].fd = fd;
  g_local[h].gen = g_handles[h].gen;
  if (g_nlocal > g_sweep_at)
    sweep_locals();
}

static long host_result(long r) {
  return (r < 0 && r < -4095) ? -LINUX_EIO : r;
}

static bool name_ok(const char *name) {
  if (!name || !name[0])
    return false;
  if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
    return false;
  size_t n = 0;
  for (; name[n]; n++)
    if (name[n] == '/' || n >= NAME_CAP - 1)
      return false;
  return true;
}

static struct host_handle *get(int h) {
  if (!g_table || h < 0 || h >= g_nhandles || g_handles[h].fd < 0 ||
      !g_handles[h].core_open)
    return NULL;
  return &g_handles[h];
}

/* Caller holds the table lock; the slot is reserved (fd 0) until filled. */
static int alloc_slot(void) {
  for (int i = 0; i < MAX_HANDLES; i++) {
    if (i >= g_nhandles || g_handles[i].fd < 0) {
      if (i >= g_nhandles)
        g_nhandles = i + 1;
      g_handles[i].gen++;
      g_handles[i].fd = 0;
      g_handles[i].core_open = false;
      forget_local(i); /* left from an older use of the slot */
      return i;
    }
  }
  return -LINUX_ENFILE;
}

static void close_local(int h) {
  forget_local(h); /* this use's fd, or one left from an older use */
}

/* Caller holds the table lock. */
static void release(int h) {
  while (h >= 0) {
    struct host_handle *e = &g_handles[h];
    if (--e->refs > 0)
      return;
    close_local(h);
    e->fd = -1;
    h = e->parent;
  }
}

static long stat_fd(int fd, const char *name, struct stat *st);

/* This process's host fd for handle e, reopened through its parent and
 * name when another process opened it. -1 when that is impossible (never
 * hand -1 to the host: see NO_FD). Caller holds the table lock. */
static int local_fd_locked(struct host_handle *e, int depth) {
  int h = (int)(e - g_handles);
  if (g_local[h].fd >= 0 && g_local[h].gen == e->gen)
    return g_local[h].fd;
  forget_local(h); /* a stale fd of an older use */
  if (e->parent < 0 || depth > 64)
    return -1; /* grants are open in every process since before fork */
  int pfd = local_fd_locked(&g_handles[e->parent], depth + 1);
  if (pfd < 0)
    return -1;
  long fd = hsys4(HNR_openat, pfd, e->name[0] ? e->name : ".",
                  e->hflags & ~(O_CREAT | O_EXCL | O_TRUNC), 0);
  if (fd < 0)
    return -1;
  struct stat st;
  if (stat_fd((int)fd, NULL, &st) < 0 || st.st_ino != e->ino ||
      st.st_dev != e->dev) {
    hsys1(HNR_close, fd);
    return -1;
  }
  remember_local(h, (int)fd);
  return (int)fd;
}

/* An fd number no process can have open (above any RLIMIT_NOFILE the
 * kernel accepts), that the seccomp filter's pin on host fds (3..INT_MAX)
 * still lets through: a call on it fails with EBADF. Passing -1 instead
 * would make the filter kill the host process, and the whole sandbox. */
#define NO_FD 0x7fffffff

/* This process's host fd for e, or NO_FD when the handle cannot be
 * reopened here (its name no longer names it). */
static int hfd(struct host_handle *e) {
  table_lock();
  int fd = local_fd_locked(e, 0);
  table_unlock();
  return fd >= 0 ? fd : NO_FD;
}

int plat_hostfs_add_grant(int fd, bool writable, bool public_only,
                          int *out_handle) {
  int err = table_init();
  if (err)
    return err;
  table_lock();
  int h = alloc_slot();
  table_unlock();
  if (h < 0)
    return h;
  struct host_handle *e = &g_handles[h];
  struct stat st;
  if (hsys4(HNR_newfstatat, fd, "", &st, AT_EMPTY_PATH) < 0) {
    e->fd = -1;
    return -LINUX_EACCES;
  }
  e->fd = fd;
  e->ino = st.st_ino;
  e->dev = st.st_dev;
  e->hflags = O_PATH | O_DIRECTORY;
  remember_local(h, fd);
  e->grant = h;
  e->writable = writable;
  e->public_only = public_only;
  e->mode = public_only ? st.st_mode : 0;
  e->core_open = true;
  e->refs = 1;
  e->parent = -1;
  e->name[0] = 0;
  *out_handle = h;
  return 0;
}

int plat_hostfs_grants(int *fds, bool *writable, int max) {
  int n = 0;
  if (!g_table)
    return 0;
  for (int i = 0; i < g_nhandles && n < max; i++) {
    if (g_handles[i].fd >= 0 && g_handles[i].grant == i) {
      fds[n] = g_handles[i].fd;
      writable[n] = g_handles[i].writable;
      n++;
    }
  }
  return n;
}

static bool g_public_ids;

void plat_hostfs_public_ids(bool on) {
  g_public_ids = on;
}

/* The owner a guest sees: the host's own id for the default root's
 * files, which our user namespace shows shifted (plat_linux.h). */
static uint32_t host_id(uint32_t id) {
  if (g_public_ids && id >= PLAT_PUBLIC_ID_BASE &&
      id - PLAT_PUBLIC_ID_BASE < PLAT_PUBLIC_ID_BASE)
    return id - PLAT_PUBLIC_ID_BASE;
  return id;
}

/* The one id of each kind the grants map (plat_hostfs_set_owner). */
static uint32_t g_owner_uid, g_owner_gid;

void plat_hostfs_set_owner(uint32_t uid, uint32_t gid) {
  g_owner_uid = uid;
  g_owner_gid = gid;
}

void plat_hostfs_owner(uint32_t *uid, uint32_t *gid) {
  *uid = g_owner_uid;
  *gid = g_owner_gid;
}

bool plat_hostfs_grant_public_only(int fd) {
  for (int i = 0; g_table && i < g_nhandles; i++)
    if (g_handles[i].fd == fd && g_handles[i].grant == i)
      return g_handles[i].public_only;
  return false;
}

static long stat_fd(int fd, const char *name, struct stat *st) {
  int flags = AT_SYMLINK_NOFOLLOW | (name ? 0 : AT_EMPTY_PATH);
  return hsys4(HNR_newfstatat, fd, name ? name : "", st, flags);
}

/* A public-only grant (the default root's system directories) offers what
 * an unprivileged host user could reach: names below a directory need its
 * search bit for others, contents need the read bit for others. The host's
 * secrets (/etc/shadow, private keys) thus stay out even of a guest that
 * is root inside. */
static bool public_search_ok(const struct host_handle *d) {
  return !d->public_only || (d->mode & S_IXOTH);
}

/* A (directory fd, name) pair naming the handle's own object, checked to
 * still be the same inode (the name may have moved since we opened it). */
static int self_path(struct host_handle *e, int *dfd, const char **name) {
  if (e->parent < 0) {
    *dfd = hfd(e);
    *name = ".";
    return 0;
  }
  struct stat a, b;
  struct host_handle *p = &g_handles[e->parent];
  long r = stat_fd(hfd(e), NULL, &a);
  if (r == 0)
    r = stat_fd(hfd(p), e->name, &b);
  if (r < 0)
    return (int)host_result(r);
  if (a.st_ino != b.st_ino || a.st_dev != b.st_dev)
    return -LINUX_ESTALE;
  *dfd = hfd(p);
  *name = e->name;
  return 0;
}

int plat_host_open(int dir, const char *name, int flags, uint32_t mode,
                   int *out) {
  plat_count(PF_HOST_OPEN);
  struct host_handle *d = get(dir);
  if (!d)
    return -LINUX_EBADF;
  if ((name && !name_ok(name)) || (flags & LINUX_O_ACCMODE) == 3)
    return -LINUX_EINVAL;
  if (name && !public_search_ok(d))
    return -LINUX_EACCES;
  flags &= OPEN_FLAGS_ALLOWED;
  int hflags;
  if (flags & LINUX_O_PATH) {
    hflags = O_PATH | (flags & O_DIRECTORY);
  } else {
    bool writes = (flags & LINUX_O_ACCMODE) != LINUX_O_RDONLY ||
                  (flags & (LINUX_O_CREAT | LINUX_O_TRUNC));
    if (writes && !d->writable)
      return -LINUX_EROFS;
    /* O_NONBLOCK: a FIFO in a granted directory must not hang the open. */
    hflags = flags | O_NOCTTY | O_NONBLOCK | O_LARGEFILE;
  }
  hflags |= O_NOFOLLOW | O_CLOEXEC;
  long fd;
  int dfd = hfd(d);
  const char *nm = name;
  if (!name) {
    /* Reopen: a directory reopens as "."; anything else through the
     * name it was opened by. */
    fd = hsys4(HNR_openat, dfd, ".", hflags, mode & HOST_MODE_BITS);
    if (fd != -LINUX_ENOTDIR)
      goto opened;
    int r = self_path(d, &dfd, &nm);
    if (r < 0)
      return r;
  }
  fd = hsys4(HNR_openat, dfd, nm, hflags, mode & HOST_MODE_BITS);
opened:
  /* O_PATH|O_NOFOLLOW names a symlink instead of failing; the contract
   * wants -ELOOP for a symlink whatever the flags. */
  if ((flags & LINUX_O_PATH) && nm &&
      (fd == -LINUX_ENOTDIR || (fd >= 0 && !(flags & LINUX_O_DIRECTORY)))) {
    struct stat st;
    if (stat_fd(dfd, nm, &st) == 0 && S_ISLNK(st.st_mode)) {
      if (fd >= 0)
        hsys1(HNR_close, fd);
      return -LINUX_ELOOP;
    }
  }
  if (fd < 0)
    return (int)host_result(fd);
  struct stat st;
  if (stat_fd((int)fd, NULL, &st) < 0 ||
      (d->public_only && !(flags & LINUX_O_PATH) && !(st.st_mode & S_IROTH))) {
    hsys1(HNR_close, fd);
    return -LINUX_EACCES;
  }
  uint32_t host_mode = d->public_only ? st.st_mode : 0;
  table_lock();
  int slot = alloc_slot();
  if (slot < 0) {
    table_unlock();
    hsys1(HNR_close, fd);
    return slot;
  }
  struct host_handle *e = &g_handles[slot];
  e->fd = (int)fd;
  remember_local(slot, (int)fd);
  e->hflags = hflags;
  e->ino = st.st_ino;
  e->dev = st.st_dev;
  e->grant = d->grant;
  e->writable = d->writable;
  e->public_only = d->public_only;
  e->mode = host_mode;
  e->core_open = true;
  e->refs = 1;
  /* The parent stays open while we may need it to reopen by name. */
  if (nm && name) {
    e->parent = dir;
    g_handles[dir].refs++;
    size_t i = 0;
    for (; nm[i] && i < NAME_CAP - 1; i++)
      e->name[i] = nm[i];
    e->name[i] = 0;
  } else if (nm) {
    /* reopened by its own name below its parent */
    e->parent = d->parent;
    g_handles[e->parent].refs++;
    for (size_t i = 0; i < NAME_CAP; i++)
      e->name[i] = d->name[i];
  } else {
    /* a directory reopened as "." */
    e->parent = d->parent >= 0 ? d->parent : -1;
    if (e->parent >= 0)
      g_handles[e->parent].refs++;
    for (size_t i = 0; i < NAME_CAP; i++)
      e->name[i] = d->name[i];
    if (e->parent < 0) {
      /* a grant reopened: reach it again through the grant itself */
      e->parent = dir;
      g_handles[dir].refs++;
      e->name[0] = 0;
    }
  }
  table_unlock();
  *out = slot;
  return 0;
}

int plat_host_close(int handle) {
  plat_count(PF_HOST_CLOSE);
  struct host_handle *e = get(handle);
  if (!e)
    return -LINUX_EBADF;
  table_lock();
  e->core_open = false;
  release(handle);
  table_unlock();
  return 0;
}

static size_t clamp_len(size_t len) {
  return len > LINUX_MAX_RW_COUNT ? LINUX_MAX_RW_COUNT : len;
}

/* pread64/pwrite64 on a checked handle: the offset in range, the length
 * clamped, EINTR retried, and never more bytes than asked believed. */
static long host_io(int nr, struct host_handle *e, void *buf, size_t len,
                    uint64_t off) {
  if (off > (uint64_t)INT64_MAX)
    return -LINUX_EINVAL;
  len = clamp_len(len);
  long r;
  do
    r = hsys4(nr, hfd(e), buf, len, off);
  while (r == -LINUX_EINTR);
  if (r > (long)len)
    return -LINUX_EIO;
  return host_result(r);
}

long plat_host_pread(int handle, void *buf, size_t len, uint64_t off) {
  plat_count(PF_HOST_PREAD);
  struct host_handle *e = get(handle);
  if (!e)
    return -LINUX_EBADF;
  /* Into the page cache's pool: without a copy through mapped memory. */
  long r = plat_linux_pool_fill(hfd(e), buf, clamp_len(len), off);
  if (r != -LINUX_ENOSYS)
    return r;
  return host_io(HNR_pread64, e, buf, len, off);
}

int plat_host_map(int handle, void *addr, size_t len, int prot, uint64_t off) {
  plat_count(PF_HOST_MAP);
  struct host_handle *e = get(handle);
  uintptr_t a = (uintptr_t)addr;
  if (!e)
    return -LINUX_EBADF;
  if (!len || (a & 4095) || (len & 4095) || (off & 4095) || (prot & ~7) ||
      off > (uint64_t)INT64_MAX || a + len < a || !plat_in_guest_window(a) ||
      !plat_in_guest_window(a + len - 1))
    return -LINUX_EINVAL;
  plat_fast_range_gone(a, len);
  long r = hsys6(HNR_mmap, a, len, host_prot(prot), MAP_PRIVATE | MAP_FIXED,
                 hfd(e), off);
  if (r < 0 && r > -4096)
    return (int)host_result(r);
  if ((uintptr_t)r != a) {
    hsys2(HNR_munmap, r, len);
    return -LINUX_ENOMEM;
  }
  return 0;
}

long plat_host_pwrite(int handle, const void *buf, size_t len, uint64_t off) {
  plat_count(PF_HOST_PWRITE);
  struct host_handle *e = get(handle);
  if (!e)
    return -LINUX_EBADF;
  if (!e->writable)
    return -LINUX_EROFS;
  return host_io(HNR_pwrite64, e, (void *)buf, len, off);
}

int plat_host_stat(int dir, const char *name, struct plat_host_stat *out) {
  plat_count(PF_HOST_STAT);
  struct host_handle *d = get(dir);
  if (!d)
    return -LINUX_EBADF;
  if (name && !name_ok(name))
    return -LINUX_EINVAL;
  if (name && !public_search_ok(d))
    return -LINUX_EACCES;
  struct stat st;
  long r = stat_fd(hfd(d), name, &st);
  if (r < 0)
    return (int)host_result(r);
  out->ino = st.st_ino;
  out->dev = st.st_dev;
  out->size = (uint64_t)st.st_size;
  out->blocks = (uint64_t)st.st_blocks;
  out->mode = st.st_mode;
  out->nlink = (uint32_t)st.st_nlink;
  out->uid = host_id(st.st_uid);
  out->gid = host_id(st.st_gid);
  out->rdev = st.st_rdev;
  out->atime.tv_sec = st.st_atim.tv_sec;
  out->atime.tv_nsec = st.st_atim.tv_nsec;
  out->mtime.tv_sec = st.st_mtim.tv_sec;
  out->mtime.tv_nsec = st.st_mtim.tv_nsec;
  out->ctime.tv_sec = st.st_ctim.tv_sec;
  out->ctime.tv_nsec = st.st_ctim.tv_nsec;
  return 0;
}

long plat_host_readdir(int handle, void *buf, size_t len, bool rewind) {
  plat_count(PF_HOST_READDIR);
  struct host_handle *e = get(handle);
  if (!e)
    return -LINUX_EBADF;
  if (rewind) {
    long r = hsys3(HNR_lseek, hfd(e), 0, 0);
    if (r < 0)
      return host_result(r);
  }
  len = clamp_len(len);
  long r = hsys3(HNR_getdents64, hfd(e), buf, len);
  if (r > (long)len)
    return -LINUX_EIO;
  return host_result(r);
}

long plat_host_readlink(int dir, const char *name, char *buf, size_t len) {
  plat_count(PF_HOST_READLINK);
  struct host_handle *d = get(dir);
  if (!d)
    return -LINUX_EBADF;
  if (name && !name_ok(name))
    return -LINUX_EINVAL;
  if (name && !public_search_ok(d))
    return -LINUX_EACCES;
  len = clamp_len(len);
  long r = hsys4(HNR_readlinkat, hfd(d), name ? name : "", buf, len);
  if (r > (long)len)
    return -LINUX_EIO;
  return host_result(r);
}

int plat_host_create(int dir, const char *name, int kind, uint32_t mode,
                     const char *target) {
  plat_count(PF_HOST_CREATE);
  struct host_handle *d = get(dir);
  if (!d)
    return -LINUX_EBADF;
  if (!name_ok(name))
    return -LINUX_EINVAL;
  if (!d->writable)
    return -LINUX_EROFS;
  long r;
  if (kind == PLAT_HOST_DIR) {
    r = hsys3(HNR_mkdirat, hfd(d), name, mode & HOST_MODE_BITS);
  } else if (kind == PLAT_HOST_SYMLINK) {
    if (!target || !target[0])
      return -LINUX_EINVAL;
    r = hsys3(HNR_symlinkat, target, hfd(d), name);
  } else if (kind == PLAT_HOST_FIFO || kind == PLAT_HOST_SOCKET) {
    r = hsys4(HNR_mknodat, hfd(d), name,
              (kind == PLAT_HOST_FIFO ? S_IFIFO : S_IFSOCK) |
                  (mode & HOST_MODE_BITS),
              0);
  } else {
    return -LINUX_EINVAL;
  }
  return (int)host_result(r);
}

int plat_host_remove(int dir, const char *name, bool remove_dir) {
  plat_count(PF_HOST_REMOVE);
  struct host_handle *d = get(dir);
  if (!d)
    return -LINUX_EBADF;
  if (!name_ok(name))
    return -LINUX_EINVAL;
  if (!d->writable)
    return -LINUX_EROFS;
  long r = hsys3(HNR_unlinkat, hfd(d), name, remove_dir ? AT_REMOVEDIR : 0);
  return (int)host_result(r);
}

static bool same_dir(const struct host_handle *a, const struct host_handle *b) {
  return a->ino == b->ino && a->dev == b->dev;
}

static bool same_name(const char *a, const char *b) {
  for (; *a && *a == *b; a++, b++)
    ;
  return *a == *b;
}

static void copy_name(char *dst, const char *src) {
  size_t i = 0;
  for (; src[i] && i < NAME_CAP - 1; i++)
    dst[i] = src[i];
  dst[i] = 0;
}

/* After olddir/oldname moved to newdir/newname (and, for an exchange, the
 * reverse): every live handle opened under one of those names, below any
 * handle of the same directory, takes the new name, so that a process
 * reopening it finds the object where it now is. Caller holds the table
 * lock. */
static void follow_rename(int olddir, const char *oldname, int newdir,
                          const char *newname, bool exchange) {
  struct host_handle *o = &g_handles[olddir], *n = &g_handles[newdir];
  for (int i = 0; i < g_nhandles; i++) {
    struct host_handle *e = &g_handles[i];
    if (e->fd < 0 || e->parent < 0)
      continue;
    struct host_handle *p = &g_handles[e->parent];
    int to;
    const char *name;
    if (same_dir(p, o) && same_name(e->name, oldname)) {
      to = newdir;
      name = newname;
    } else if (exchange && same_dir(p, n) && same_name(e->name, newname)) {
      to = olddir;
      name = oldname;
    } else {
      continue;
    }
    copy_name(e->name, name);
    if (e->parent != to) {
      int old = e->parent;
      e->parent = to;
      g_handles[to].refs++;
      release(old);
    }
  }
}

int plat_host_move(int olddir, const char *oldname, int newdir,
                   const char *newname, unsigned flags, bool hard_link) {
  plat_count(PF_HOST_MOVE);
  struct host_handle *o = get(olddir), *n = get(newdir);
  if (!o || !n)
    return -LINUX_EBADF;
  if (!name_ok(oldname) || !name_ok(newname) ||
      (flags & ~(unsigned)(LINUX_RENAME_NOREPLACE | LINUX_RENAME_EXCHANGE)) ||
      (hard_link && flags))
    return -LINUX_EINVAL;
  if (o->grant != n->grant)
    return -LINUX_EXDEV;
  if (!o->writable)
    return -LINUX_EROFS;
  long r;
  if (hard_link) {
    r = hsys5(HNR_linkat, hfd(o), oldname, hfd(n), newname, 0);
    return (int)host_result(r);
  }
  table_lock();
  int ofd = local_fd_locked(o, 0), nfd = local_fd_locked(n, 0);
  r = hsys5(HNR_renameat2, ofd >= 0 ? ofd : NO_FD, oldname,
            nfd >= 0 ? nfd : NO_FD, newname, flags);
  if (r == 0)
    follow_rename(olddir, oldname, newdir, newname,
                  (flags & LINUX_RENAME_EXCHANGE) != 0);
  table_unlock();
  return (int)host_result(r);
}

static long chmod_at(int dfd, const char *name, uint32_t mode) {
  long r = hsys4(HNR_fchmodat2, dfd, name, mode, AT_SYMLINK_NOFOLLOW);
  if (r != -LINUX_ENOSYS)
    return r;
  /* Kernels before 6.6: refuse symlinks ourselves, then chmod by name. */
  struct stat st;
  r = stat_fd(dfd, name, &st);
  if (r < 0)
    return r;
  if (S_ISLNK(st.st_mode))
    return -LINUX_EOPNOTSUPP;
  return hsys3(HNR_fchmodat, dfd, name, mode);
}

static long truncate_at(int dfd, const char *name, uint64_t size) {
  long fd = hsys4(HNR_openat, dfd, name,
                  O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0);
  if (fd < 0)
    return fd;
  long r = hsys2(HNR_ftruncate, fd, size);
  hsys1(HNR_close, fd);
  return r;
}

/* The owner of name below dfd, or of dfd itself (name ""): the link
 * itself, never followed. The filter pins uid and gid to the sandbox's own
 * or -1 and these flags; the host kernel maps nothing else anyway. */
#define CHOWN_FLAGS (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)
static long chown_at(int dfd, const char *name, uint32_t uid, uint32_t gid) {
  return hsys5(HNR_fchownat, dfd, name, uid, gid, CHOWN_FLAGS);
}

static long setattr_name(int dfd, const char *name, unsigned what,
                         uint32_t mode, const struct plat_time times[2],
                         uint64_t size, uint32_t uid, uint32_t gid) {
  long r = 0;
  if (what & PLAT_SET_OWNER)
    r = chown_at(dfd, name, uid, gid);
  if (!r && (what & PLAT_SET_MODE))
    r = chmod_at(dfd, name, mode);
  if (!r && (what & PLAT_SET_TIMES))
    r = hsys4(HNR_utimensat, dfd, name, times, AT_SYMLINK_NOFOLLOW);
  if (!r && (what & PLAT_SET_SIZE))
    r = truncate_at(dfd, name, size);
  return r;
}

int plat_host_setattr(int dir, const char *name, unsigned what, uint32_t mode,
                      const struct plat_time times[2], uint64_t size,
                      uint32_t uid, uint32_t gid) {
  plat_count(PF_HOST_SETATTR);
  struct host_handle *d = get(dir);
  if (!d)
    return -LINUX_EBADF;
  if ((name && !name_ok(name)) ||
      (what & ~(unsigned)(PLAT_SET_MODE | PLAT_SET_TIMES | PLAT_SET_SIZE |
                          PLAT_SET_OWNER)) ||
      ((what & PLAT_SET_SIZE) && size > (uint64_t)INT64_MAX))
    return -LINUX_EINVAL;
  if (!d->writable)
    return -LINUX_EROFS;
  /* The grant's idmap maps one id of each kind (the header's contract):
   * any other is refused here, and by the filter and the host's id maps
   * should this check ever be skipped. */
  if ((what & PLAT_SET_OWNER) && ((uid != PLAT_ID_KEEP && uid != g_owner_uid) ||
                                  (gid != PLAT_ID_KEEP && gid != g_owner_gid)))
    return -LINUX_EOVERFLOW;
  mode &= HOST_MODE_BITS;
  if (name)
    return (int)host_result(
        setattr_name(hfd(d), name, what, mode, times, size, uid, gid));

  /* The handle itself: use its fd where the host allows (not O_PATH, open
   * for writing), else its verified name below its parent. fchownat with
   * AT_EMPTY_PATH takes any fd, O_PATH included. */
  long r = 0;
  unsigned rest = 0;
  if (what & PLAT_SET_OWNER)
    r = chown_at(hfd(d), "", uid, gid);
  if (!r && (what & PLAT_SET_MODE)) {
    r = hsys2(HNR_fchmod, hfd(d), mode);
    if (r == -LINUX_EBADF) {
      rest |= PLAT_SET_MODE;
      r = 0;
    }
  }
  if (!r && (what & PLAT_SET_TIMES)) {
    r = hsys4(HNR_utimensat, hfd(d), 0, times, 0);
    if (r == -LINUX_EBADF) {
      rest |= PLAT_SET_TIMES;
      r = 0;
    }
  }
  if (!r && (what & PLAT_SET_SIZE)) {
    r = hsys2(HNR_ftruncate, hfd(d), size);
    if (r == -LINUX_EBADF || r == -LINUX_EINVAL) {
      rest |= PLAT_SET_SIZE;
      r = 0;
    }
  }
  if (!r && rest) {
    int dfd;
    const char *nm;
    int e = self_path(d, &dfd, &nm);
    if (e < 0)
      return e;
    r = setattr_name(dfd, nm, rest, mode, times, size, uid, gid);
  }
  return (int)host_result(r);
}

int plat_host_sync(int handle) {
  plat_count(PF_HOST_SYNC);
  struct host_handle *e = get(handle);
  if (!e)
    return -LINUX_EBADF;
  long r = hsys1(HNR_fsync, hfd(e));
  return (int)host_result(r);
}
