/* A South platform for the unit tests: every plat_* function of
 * include/moat/platform.h implemented on top of libc, in an ordinary
 * process with no seccomp, so the core can be tested hosted under ASan and
 * UBSan. Host directories are reached with the *at() calls and O_NOFOLLOW,
 * as the contract asks of a real platform; standard streams go to capture
 * buffers the tests read back. Guest fixed mappings are guarded: ASan's
 * shadow lives inside the guest window, so a fixed mapping is only allowed
 * over memory this platform mapped for the core (or free memory). */

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "moat/platform.h"
#include "testplat.h"

#define WINDOW_LOW 0x10000ull
#define WINDOW_HIGH 0x400000000000ull
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

jmp_buf *testplat_exit_jump;
int testplat_exit_status;
int testplat_bad_fixed_maps;

/* ---- fixed guest mappings ------------------------------------------- */

struct range {
  uint64_t start, end;
};
#define MAX_RANGES 65536
static struct range g_ranges[MAX_RANGES];
static int g_nranges;

static void ranges_remove(uint64_t start, uint64_t end) {
  struct range out[MAX_RANGES];
  int n = 0;
  for (int i = 0; i < g_nranges; i++) {
    struct range r = g_ranges[i];
    if (r.end <= start || r.start >= end) {
      out[n++] = r;
      continue;
    }
    if (r.start < start && n < MAX_RANGES)
      out[n++] = (struct range){r.start, start};
    if (r.end > end && n < MAX_RANGES)
      out[n++] = (struct range){end, r.end};
  }
  memcpy(g_ranges, out, n * sizeof(out[0]));
  g_nranges = n;
}

static int ranges_add(uint64_t start, uint64_t end) {
  ranges_remove(start, end);
  if (g_nranges >= MAX_RANGES)
    return -1;
  int i = g_nranges;
  while (i > 0 && g_ranges[i - 1].start > start) {
    g_ranges[i] = g_ranges[i - 1];
    i--;
  }
  g_ranges[i] = (struct range){start, end};
  g_nranges++;
  return 0;
}

/* Reserve with MAP_FIXED_NOREPLACE every part of [start, end) that this
 * platform has not mapped for the core. Returns false (and releases what it
 * reserved) if some part is taken by someone else: ASan's shadow, the test
 * binary, libc. */
static bool map_gap(uint64_t s, uint64_t e, int prot, int mflags) {
  void *p = mmap((void *)s, e - s, prot, mflags | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED)
    return false;
  if (p != (void *)s) { /* old kernels ignore the flag */
    munmap(p, e - s);
    return false;
  }
  return true;
}

static bool reserve_gaps(uint64_t start, uint64_t end, int prot, int mflags) {
  struct range done[256];
  int ndone = 0;
  uint64_t cur = start;
  for (int i = 0; i <= g_nranges && cur < end; i++) {
    uint64_t gap_end = end;
    if (i < g_nranges) {
      if (g_ranges[i].end <= cur)
        continue;
      gap_end = g_ranges[i].start < end ? g_ranges[i].start : end;
    }
    if (gap_end > cur) {
      if (ndone == 256 || !map_gap(cur, gap_end, prot, mflags))
        goto fail;
      done[ndone++] = (struct range){cur, gap_end};
    }
    cur = i < g_nranges ? g_ranges[i].end : end;
  }
  return true;
fail:
  for (int i = 0; i < ndone; i++)
    munmap((void *)done[i].start, done[i].end - done[i].start);
  return false;
}

int plat_mem_map(void *addr, size_t len, int prot, int flags, void **out) {
  if (len == 0 || len % 4096 != 0 || (uintptr_t)addr % 4096 != 0)
    return -LINUX_EINVAL;
  int mflags =
      MAP_ANONYMOUS | ((flags & PLAT_MAP_SHARED) ? MAP_SHARED : MAP_PRIVATE);
  if ((flags & PLAT_MAP_NORESERVE) && (flags & PLAT_MAP_SHARED))
    mflags |= MAP_NORESERVE;
  if (!(flags & PLAT_MAP_FIXED)) {
    void *p = mmap(addr, len, prot, mflags, -1, 0);
    if (p == MAP_FAILED)
      return -errno;
    *out = p;
    return 0;
  }
  uint64_t start = (uintptr_t)addr, end = start + len;
  if (start < WINDOW_LOW || end > WINDOW_HIGH || end < start) {
    fprintf(stderr, "testplat: fixed map outside the guest window %p+%zx\n",
            addr, len);
    testplat_bad_fixed_maps++;
    return -LINUX_ENOMEM;
  }
  if (!reserve_gaps(start, end, prot, mflags)) {
    /* Not necessarily a core bug: the test process owns parts of the
     * window (ASan shadow). Report it as no room, as a host would. */
    return -LINUX_ENOMEM;
  }
  void *p = mmap(addr, len, prot, mflags | MAP_FIXED, -1, 0);
  if (p == MAP_FAILED)
    return -errno;
  if (ranges_add(start, end) < 0)
    return -LINUX_ENOMEM;
  *out = p;
  return 0;
}

static bool is_ours(uint64_t start, uint64_t end) {
  uint64_t cur = start;
  for (int i = 0; i < g_nranges; i++) {
    if (g_ranges[i].end <= cur)
      continue;
    if (g_ranges[i].start > cur)
      return false;
    cur = g_ranges[i].end;
    if (cur >= end)
      return true;
  }
  return cur >= end;
}

int plat_mem_unmap(void *addr, size_t len) {
  uint64_t start = (uintptr_t)addr, end = start + len;
  if (len == 0 || start % 4096 != 0 || len % 4096 != 0)
    return -LINUX_EINVAL;
  if (start < WINDOW_HIGH && end > WINDOW_LOW) {
    /* Inside the window only what we mapped may go: replace it with an
     * inaccessible reservation-free hole piece by piece. */
    for (int i = 0; i < g_nranges; i++) {
      uint64_t s = MAX(g_ranges[i].start, start);
      uint64_t e = MIN(g_ranges[i].end, end);
      if (s < e)
        munmap((void *)s, e - s);
    }
    ranges_remove(start, end);
    return 0;
  }
  if (munmap(addr, len) < 0)
    return -errno;
  return 0;
}

int plat_mem_protect(void *addr, size_t len, int prot) {
  uint64_t start = (uintptr_t)addr, end = start + len;
  if (start < WINDOW_HIGH && end > WINDOW_LOW && !is_ours(start, end))
    return -LINUX_ENOMEM;
  if (mprotect(addr, len, prot) < 0)
    return -errno;
  return 0;
}

int plat_mem_alias(void *addr, const void *src, size_t len, int prot) {
  uint64_t start = (uintptr_t)addr, end = start + len;
  if (len == 0 || start % 4096 != 0 || len % 4096 != 0)
    return -LINUX_EINVAL;
  if (start < WINDOW_LOW || end > WINDOW_HIGH || end < start)
    return -LINUX_EINVAL;
  void *p = mremap((void *)src, 0, len, MREMAP_MAYMOVE | MREMAP_FIXED, addr);
  if (p == MAP_FAILED)
    return -errno;
  if (ranges_add(start, end) < 0)
    return -LINUX_ENOMEM;
  if (mprotect(addr, len, prot) < 0)
    return -errno;
  return 0;
}

/* No views here: private file mappings are copies in the unit tests. */
int plat_mem_view(void *addr, const void *src, size_t len, int prot) {
  (void)addr;
  (void)src;
  (void)len;
  (void)prot;
  return -LINUX_EINVAL;
}

int plat_mem_discard(void *addr, size_t len) {
  if (madvise(addr, len, MADV_REMOVE) < 0)
    return -errno;
  return 0;
}

/* ---- execution -------------------------------------------------------- */

_Noreturn void plat_enter(const struct moat_regs *regs) {
  (void)regs;
  if (testplat_exit_jump) {
    testplat_exit_status = TESTPLAT_ENTERED;
    longjmp(*testplat_exit_jump, 1);
  }
  fflush(NULL);
  _exit(TESTPLAT_ENTERED);
}

_Noreturn void plat_space_exit(int status) {
  if (testplat_exit_jump) {
    testplat_exit_status = status;
    longjmp(*testplat_exit_jump, 1);
  }
  fflush(NULL);
  _exit(status);
}

/* ---- processes and threads ------------------------------------------------
 * The unit tests run one thread; fork is a real fork of the test process
 * (the arena is MAP_SHARED, so it stays shared as the contract asks). */

static void child_ended(int sig) {
  (void)sig; /* only to cut the parent's futex sleeps short */
}

int plat_space_clone(void) {
  static bool caught;
  if (!caught) {
    struct sigaction sa = {.sa_handler = child_ended};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    caught = true;
  }
  fflush(NULL);
  pid_t pid = fork();
  return pid < 0 ? -errno : (int)pid;
}

/* No SIGCHLD note here: every call asks the host. */
int plat_space_reap(int *how) {
  int status = 0;
  pid_t pid = waitpid(-1, &status, WNOHANG | __WALL);
  if (pid <= 0)
    return 0;
  *how = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status) << 8;
  return (int)pid;
}

int plat_ctx_create(const struct moat_regs *regs, void *ctx) {
  (void)regs, (void)ctx;
  return -LINUX_EAGAIN; /* no guest threads on the test platform */
}

_Noreturn void plat_ctx_exit(uint32_t *clear_word) {
  if (clear_word) {
    __atomic_store_n(clear_word, 0, __ATOMIC_SEQ_CST);
    plat_wake(clear_word, 1);
  }
  fflush(NULL);
  _exit(0);
}

static _Thread_local void *g_thread_ctx;

void *plat_ctx_get(void) {
  return g_thread_ctx;
}

void plat_ctx_set(void *ctx) {
  g_thread_ctx = ctx;
}

uint64_t plat_ctx_self(void) {
  return (uint64_t)syscall(SYS_gettid);
}

int plat_ctx_kick(uint64_t handle) {
  /* the only thread is the caller, inside the library OS: nothing to do */
  return handle == plat_ctx_self() ? 0 : -LINUX_ESRCH;
}

/* The unit tests never let a timer fire (nothing would interrupt the
 * caller here); the core's bookkeeping is what they check. The clocks are
 * the host's: the CPU-time timers both read the process's CPU clock. */
int64_t testplat_timer_ns;

int plat_timer_set(int which, int64_t ns, int64_t *out_now) {
  if (which < PLAT_TIMER_REAL || which > PLAT_TIMER_PROF ||
      (ns < 0 && ns != PLAT_TIMER_KEEP))
    return -LINUX_EINVAL;
  if (out_now) {
    struct timespec ts;
    clock_gettime(which == PLAT_TIMER_REAL ? CLOCK_MONOTONIC
                                           : CLOCK_PROCESS_CPUTIME_ID,
                  &ts);
    *out_now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
  }
  if (ns != PLAT_TIMER_KEEP)
    testplat_timer_ns = ns;
  return 0;
}

/* ---- waiting and time ---------------------------------------------------- */

static unsigned io_now(const struct plat_io *io);

/* The word by the host's futex; the io by looking, in steps of 1 ms (a
 * step that ends with nothing is a spurious -EINTR, which the contract
 * allows). */
int plat_wait(uint32_t *word, uint32_t expected, struct plat_io *io, int nio,
              int64_t timeout_ns) {
  if (nio < 0 || nio > PLAT_WAIT_IO_MAX || (nio && !io))
    return -LINUX_EINVAL;
  int ready = 0;
  for (int i = 0; i < nio; i++) {
    if (io[i].kind < PLAT_IO_STREAM || io[i].kind > PLAT_IO_PUBLISHED)
      return -LINUX_EINVAL;
    io[i].revents = (uint16_t)io_now(&io[i]);
    ready += io[i].revents != 0;
  }
  if (ready)
    return ready;
  if (word && __atomic_load_n(word, __ATOMIC_SEQ_CST) != expected)
    return -LINUX_EAGAIN;
  if (timeout_ns == 0)
    return -LINUX_ETIMEDOUT;
  int64_t step = timeout_ns;
  if (nio && (step < 0 || step > 1000000))
    step = 1000000;
  struct timespec ts = {step / 1000000000, step % 1000000000};
  long r = 0;
  if (word)
    r = syscall(SYS_futex, word, FUTEX_WAIT, expected, step < 0 ? NULL : &ts,
                NULL, 0) < 0
            ? -errno
            : 0;
  else if (nanosleep(&ts, NULL) < 0)
    r = -errno;
  else
    r = -LINUX_ETIMEDOUT;
  if (r == -LINUX_ETIMEDOUT && step != timeout_ns)
    return -LINUX_EINTR;
  if (r == 0 || r == -LINUX_EAGAIN || r == -LINUX_ETIMEDOUT)
    return (int)r;
  return -LINUX_EINTR;
}

int plat_wake(uint32_t *word, int count) {
  long r = syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
  return r < 0 ? -errno : (int)r;
}

/* The skeleton: one address space of the host process (it never forks
 * in the unit tests), no views, host files read in, the Linux shim's
 * window, no vDSO. */
void plat_info(struct plat_info *out) {
  *out = (struct plat_info){.version = PLAT_CONTRACT_VERSION,
                            .features = PLAT_F_CPU_TIME | PLAT_F_HOST_NET,
                            .window_lo = 0x10000,
                            .window_hi = 0x400000000000ull};
}

int plat_clock(int clock, int64_t *out_ns) {
  clockid_t id;
  switch (clock) {
  case PLAT_CLOCK_REALTIME:
    id = CLOCK_REALTIME;
    break;
  case PLAT_CLOCK_MONOTONIC:
    id = CLOCK_MONOTONIC;
    break;
  case PLAT_CLOCK_CPU:
    id = CLOCK_PROCESS_CPUTIME_ID;
    break;
  case PLAT_CLOCK_BOOTTIME:
    id = CLOCK_BOOTTIME;
    break;
  default:
    return -LINUX_EINVAL;
  }
  struct timespec ts;
  if (clock_gettime(id, &ts) < 0)
    return -errno;
  *out_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
  return 0;
}

int plat_random(void *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t r = getrandom((char *)buf + done, len - done, 0);
    if (r <= 0) {
      if (r < 0 && errno == EINTR)
        continue;
      return -LINUX_EIO;
    }
    done += r;
  }
  return 0;
}

/* ---- standard streams ------------------------------------------------- */

static char *g_stdin;
static size_t g_stdin_len, g_stdin_pos;
static char *g_out[3];
static size_t g_out_len[3], g_out_cap[3];

void testplat_set_stdin(const void *data, size_t len) {
  free(g_stdin);
  g_stdin = malloc(len ? len : 1);
  memcpy(g_stdin, data, len);
  g_stdin_len = len;
  g_stdin_pos = 0;
}

const char *testplat_output(int stream, size_t *len) {
  if (stream < 1 || stream > 2)
    return NULL;
  if (len)
    *len = g_out_len[stream];
  return g_out[stream] ? g_out[stream] : "";
}

void testplat_reset_output(void) {
  for (int i = 1; i < 3; i++) {
    g_out_len[i] = 0;
    if (g_out[i])
      g_out[i][0] = 0;
  }
}

static long stdio_read(int stream, void *buf, size_t len) {
  if (stream != 0)
    return -LINUX_EBADF;
  size_t n = MIN(len, g_stdin_len - g_stdin_pos);
  memcpy(buf, g_stdin + g_stdin_pos, n);
  g_stdin_pos += n;
  return (long)n;
}

static long stdio_write(int stream, const void *buf, size_t len) {
  if (stream < 1 || stream > 2)
    return -LINUX_EBADF;
  if (len == 0)
    return 0;
  if (stream == 2) /* diagnostics and panics stay visible in test logs */
    (void)!write(2, buf, len);
  if (g_out_len[stream] + len + 1 > g_out_cap[stream]) {
    size_t cap = (g_out_len[stream] + len + 1) * 2;
    g_out[stream] = realloc(g_out[stream], cap);
    g_out_cap[stream] = cap;
  }
  memcpy(g_out[stream] + g_out_len[stream], buf, len);
  g_out_len[stream] += len;
  g_out[stream][g_out_len[stream]] = 0;
  return (long)len;
}

/* The test streams are no terminals. */
int plat_stdio_term(int stream, int op, void *arg) {
  (void)arg;
  if (stream < 0 || stream > 2)
    return -LINUX_EBADF;
  if (op < PLAT_TERM_GET || op > PLAT_TERM_SET_SIZE)
    return -LINUX_EINVAL;
  return -LINUX_ENOTTY;
}

/* ---- host directories --------------------------------------------------- */

struct handle {
  bool used;
  bool read_only;
  int fd;
  int grant; /* the granted directory this handle descends from */
};
#define MAX_HANDLES 1024
static struct handle g_handles[MAX_HANDLES];

/* Tests may call the core from several host threads (test_concurrent.c). */
static pthread_mutex_t g_handles_lock = PTHREAD_MUTEX_INITIALIZER;

static int handle_new(int fd, int grant, bool read_only) {
  pthread_mutex_lock(&g_handles_lock);
  for (int i = 0; i < MAX_HANDLES; i++) {
    if (!g_handles[i].used) {
      g_handles[i] =
          (struct handle){true, read_only, fd, grant < 0 ? i : grant};
      pthread_mutex_unlock(&g_handles_lock);
      return i;
    }
  }
  pthread_mutex_unlock(&g_handles_lock);
  close(fd);
  return -LINUX_ENFILE;
}

static struct handle *handle_get(int h) {
  if (h < 0 || h >= MAX_HANDLES || !g_handles[h].used)
    return NULL;
  return &g_handles[h];
}

int testplat_grant_dir(const char *path, bool read_only) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  return handle_new(fd, -1, read_only);
}

static bool name_ok(const char *name) {
  return name && name[0] && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
         !strchr(name, '/');
}

static void proc_path(char *buf, size_t len, int fd) {
  snprintf(buf, len, "/proc/self/fd/%d", fd);
}

int plat_host_open(int dir, const char *name, int flags, uint32_t mode,
                   int *out) {
  struct handle *d = handle_get(dir);
  if (!d)
    return -LINUX_EBADF;
  if (name && !name_ok(name))
    return -LINUX_EINVAL;
  int acc = flags & LINUX_O_ACCMODE;
  if (d->read_only && !(flags & LINUX_O_PATH) &&
      (acc != LINUX_O_RDONLY || (flags & (LINUX_O_CREAT | LINUX_O_TRUNC))))
    return -LINUX_EROFS;
  int hflags = O_NOFOLLOW | O_CLOEXEC;
  if (flags & LINUX_O_PATH) {
    hflags |= O_PATH | (flags & LINUX_O_DIRECTORY);
  } else {
    hflags |= flags & (LINUX_O_ACCMODE | LINUX_O_CREAT | LINUX_O_EXCL |
                       LINUX_O_TRUNC | LINUX_O_DIRECTORY);
  }
  int fd;
  if (name) {
    fd = openat(d->fd, name, hflags, mode);
  } else {
    char p[64];
    proc_path(p, sizeof p, d->fd);
    fd = open(p, hflags & ~O_NOFOLLOW, mode);
  }
  if (fd < 0)
    return -errno;
  struct stat st;
  if ((hflags & O_PATH) && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
    close(fd);
    return -LINUX_ELOOP;
  }
  int h = handle_new(fd, d->grant, d->read_only);
  if (h < 0)
    return h;
  *out = h;
  return 0;
}

int plat_host_close(int handle) {
  struct handle *h = handle_get(handle);
  if (!h)
    return -LINUX_EBADF;
  pthread_mutex_lock(&g_handles_lock);
  close(h->fd);
  h->used = false;
  pthread_mutex_unlock(&g_handles_lock);
  return 0;
}

long plat_host_pread(int handle, void *buf, size_t len, uint64_t off) {
  struct handle *h = handle_get(handle);
  if (!h)
    return -LINUX_EBADF;
  ssize_t r = pread(h->fd, buf, len, (off_t)off);
  return r < 0 ? -errno : r;
}

int plat_host_map(int handle, void *addr, size_t len, int prot, uint64_t off) {
  struct handle *h = handle_get(handle);
  if (!h)
    return -LINUX_EBADF;
  int hp = (prot & PLAT_PROT_READ ? PROT_READ : 0) |
           (prot & PLAT_PROT_WRITE ? PROT_WRITE : 0) |
           (prot & PLAT_PROT_EXEC ? PROT_EXEC : 0);
  void *r = mmap(addr, len, hp, MAP_PRIVATE | MAP_FIXED, h->fd, (off_t)off);
  if (r == MAP_FAILED)
    return -errno;
  return r == addr ? 0 : -LINUX_ENOMEM;
}

long plat_host_pwrite(int handle, const void *buf, size_t len, uint64_t off) {
  struct handle *h = handle_get(handle);
  if (!h)
    return -LINUX_EBADF;
  if (h->read_only)
    return -LINUX_EROFS;
  ssize_t r = pwrite(h->fd, buf, len, (off_t)off);
  return r < 0 ? -errno : r;
}

int plat_host_stat(int dir, const char *name, struct plat_host_stat *out) {
  struct handle *d = handle_get(dir);
  if (!d)
    return -LINUX_EBADF;
  if (name && !name_ok(name))
    return -LINUX_EINVAL;
  struct stat st;
  int r = name ? fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW)
               : fstatat(d->fd, "", &st, AT_EMPTY_PATH);
  if (r < 0)
    return -errno;
  memset(out, 0, sizeof *out);
  out->ino = st.st_ino;
  out->dev = st.st_dev;
  out->size = st.st_size;
  out->blocks = st.st_blocks;
  out->mode = st.st_mode;
  out->nlink = st.st_nlink;
  out->uid = st.st_uid;
  out->gid = st.st_gid;
  out->rdev = st.st_rdev;
  out->atime = (struct plat_time){st.st_atim.tv_sec, st.st_atim.tv_nsec};
  out->mtime = (struct plat_time){st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
  out->ctime = (struct plat_time){st.st_ctim.tv_sec, st.st_ctim.tv_nsec};
  return 0;
}

long plat_host_readdir(int handle, void *buf, size_t len, bool rewind) {
  struct handle *h = handle_get(handle);
  if (!h)
    return -LINUX_EBADF;
  if (rewind && lseek(h->fd, 0, SEEK_SET) < 0)
    return -errno;
  long r = syscall(SYS_getdents64, h->fd, buf, len);
  return r < 0 ? -errno : r;
}

long plat_host_readlink(int dir, const char *name, char *buf, size_t len) {
  struct handle *d = handle_get(dir);
  if (!d)
    return -LINUX_EBADF;
  if (!name_ok(name))
    return -LINUX_EINVAL;
  ssize_t r = readlinkat(d->fd, name, buf, len);
  return r < 0 ? -errno : r;
}

int plat_host_create(int dir, const char *name, int kind, uint32_t mode,
                     const char *target) {
  struct handle *d = handle_get(dir);
  if (!d)
    return -LINUX_EBADF;
  if (!name_ok(name))
    return -LINUX_EINVAL;
  if (d->read_only)
    return -LINUX_EROFS;
  int r;
  if (kind == PLAT_HOST_DIR)
    r = mkdirat(d->fd, name, mode);
  else if (kind == PLAT_HOST_SYMLINK && target)
    r = symlinkat(target, d->fd, name);
  else
    return -LINUX_EINVAL;
  return r < 0 ? -errno : 0;
}

int plat_host_remove(int dir, const char *name, bool remove_dir) {
  struct handle *d = handle_get(dir);
  if (!d)
    return -LINUX_EBADF;
  if (!name_ok(name))
    return -LINUX_EINVAL;
  if (d->read_only)
    return -LINUX_EROFS;
  int r = unlinkat(d->fd, name, remove_dir ? AT_REMOVEDIR : 0);
  return r < 0 ? -errno : 0;
}

int plat_host_move(int olddir, const char *oldname, int newdir,
                   const char *newname, unsigned flags, bool hard_link) {
  struct handle *o = handle_get(olddir), *n = handle_get(newdir);
  if (!o || !n)
    return -LINUX_EBADF;
  if (!name_ok(oldname) || !name_ok(newname))
    return -LINUX_EINVAL;
  if (o->grant != n->grant)
    return -LINUX_EXDEV;
  if (o->read_only)
    return -LINUX_EROFS;
  long r;
  if (hard_link)
    r = linkat(o->fd, oldname, n->fd, newname, 0);
  else
    r = syscall(SYS_renameat2, o->fd, oldname, n->fd, newname, flags);
  return r < 0 ? -errno : 0;
}

int plat_host_setattr(int dir, const char *name, unsigned what, uint32_t mode,
                      const struct plat_time times[2], uint64_t size,
                      uint32_t uid, uint32_t gid) {
  struct handle *d = handle_get(dir);
  if (!d)
    return -LINUX_EBADF;
  if (name && !name_ok(name))
    return -LINUX_EINVAL;
  if (d->read_only)
    return -LINUX_EROFS;
  int fd = d->fd;
  bool close_fd = false;
  if (name) {
    fd = openat(d->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return -errno;
    close_fd = true;
  }
  int ret = 0;
  struct stat st;
  char p[64];
  proc_path(p, sizeof p, fd);
  if (fstat(fd, &st) < 0) {
    ret = -errno;
    goto out;
  }
  if (S_ISLNK(st.st_mode) && (what & (PLAT_SET_MODE | PLAT_SET_SIZE))) {
    ret = -LINUX_EOPNOTSUPP;
    goto out;
  }
  /* The test platform's grants map the test's own ids only. */
  if ((what & PLAT_SET_OWNER) && ((uid != PLAT_ID_KEEP && uid != getuid()) ||
                                  (gid != PLAT_ID_KEEP && gid != getgid()))) {
    ret = -LINUX_EOVERFLOW;
    goto out;
  }
  if ((what & PLAT_SET_OWNER) &&
      fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
    ret = -errno;
    goto out;
  }
  if ((what & PLAT_SET_MODE) && chmod(p, mode & 07777) < 0) {
    ret = -errno;
    goto out;
  }
  if (what & PLAT_SET_TIMES) {
    struct timespec ts[2] = {{times[0].tv_sec, times[0].tv_nsec},
                             {times[1].tv_sec, times[1].tv_nsec}};
    int r = name ? utimensat(d->fd, name, ts, AT_SYMLINK_NOFOLLOW)
                 : utimensat(AT_FDCWD, p, ts, 0);
    if (r < 0) {
      ret = -errno;
      goto out;
    }
  }
  if ((what & PLAT_SET_SIZE) && truncate(p, (off_t)size) < 0) {
    ret = -errno;
    goto out;
  }
out:
  if (close_fd)
    close(fd);
  return ret;
}

int plat_host_sync(int handle) {
  struct handle *h = handle_get(handle);
  if (!h)
    return -LINUX_EBADF;
  return fsync(h->fd) < 0 ? -errno : 0;
}

/* ---- the host network ------------------------------------------------
 * Real host sockets (the unit tests run unconfined), for the grants the
 * test gave with testplat_net_grant: one family, address and port each.
 * A handle is the host fd. */
#include <netinet/in.h>
#include <sys/poll.h>
#include <sys/socket.h>

static struct {
  int family;
  uint8_t addr[16];
  uint16_t port;
} g_net_grants[16];
static int g_net_ngrants;

void testplat_net_grant(int family, const uint8_t *addr, uint16_t port) {
  g_net_grants[g_net_ngrants].family = family;
  memcpy(g_net_grants[g_net_ngrants].addr, addr, family == AF_INET ? 4 : 16);
  g_net_grants[g_net_ngrants++].port = port;
}

void testplat_net_reset(void) {
  g_net_ngrants = 0;
}

static void net_addr_of(const struct sockaddr_storage *ss,
                        struct plat_net_addr *out) {
  memset(out, 0, sizeof(*out));
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *s = (const void *)ss;
    out->family = LINUX_AF_INET;
    out->port = ntohs(s->sin_port);
    memcpy(out->addr, &s->sin_addr, 4);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const void *)ss;
    out->family = LINUX_AF_INET6;
    out->port = ntohs(s->sin6_port);
    memcpy(out->addr, &s->sin6_addr, 16);
  }
}

/* flags: PLAT_NET_DONTWAIT starts a non-blocking connect (-EINPROGRESS
 * with the handle while it is under way), as the contract allows. */
int plat_net_connect(int proto, const struct plat_net_addr *dst, unsigned flags,
                     int *out_handle, struct plat_net_addr *out_local,
                     struct plat_net_addr *out_peer) {
  if (proto != PLAT_NET_TCP && proto != PLAT_NET_UDP)
    return -LINUX_EINVAL;
  bool ok = false;
  size_t alen = dst->family == LINUX_AF_INET ? 4 : 16;
  for (int i = 0; i < g_net_ngrants; i++)
    ok |= g_net_grants[i].family == dst->family &&
          g_net_grants[i].port == dst->port &&
          !memcmp(g_net_grants[i].addr, dst->addr, alen);
  if (!ok)
    return -LINUX_ENETUNREACH;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  socklen_t len;
  if (dst->family == LINUX_AF_INET) {
    struct sockaddr_in *s = (void *)&ss;
    s->sin_family = AF_INET;
    s->sin_port = htons(dst->port);
    memcpy(&s->sin_addr, dst->addr, 4);
    len = sizeof(*s);
  } else {
    struct sockaddr_in6 *s = (void *)&ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(dst->port);
    memcpy(&s->sin6_addr, dst->addr, 16);
    len = sizeof(*s);
  }
  bool nb = flags & PLAT_NET_DONTWAIT;
  int fd = socket(ss.ss_family,
                  (proto == PLAT_NET_TCP ? SOCK_STREAM : SOCK_DGRAM) |
                      SOCK_CLOEXEC | (nb ? SOCK_NONBLOCK : 0),
                  0);
  if (fd < 0)
    return -errno;
  int pending = 0;
  if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
    int e = errno;
    if (!(nb && e == EINPROGRESS)) {
      close(fd);
      return -e;
    }
    pending = 1;
  }
  if (nb)
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  len = sizeof(ss);
  getsockname(fd, (struct sockaddr *)&ss, &len);
  net_addr_of(&ss, out_local);
  len = sizeof(ss);
  getpeername(fd, (struct sockaddr *)&ss, &len);
  net_addr_of(&ss, out_peer);
  *out_handle = fd;
  return pending ? -LINUX_EINPROGRESS : 0;
}

int plat_net_accept(int index, int *out_handle,
                    struct plat_net_addr *out_peer) {
  (void)index, (void)out_handle, (void)out_peer;
  return -LINUX_EINVAL;
}

long plat_net_dgram_recv(int index, void *buf, size_t len, unsigned flags,
                         struct plat_net_addr *out_from) {
  (void)index, (void)buf, (void)len, (void)flags, (void)out_from;
  return -LINUX_EINVAL;
}

long plat_net_dgram_send(int index, const void *buf, size_t len,
                         const struct plat_net_addr *to) {
  (void)index, (void)buf, (void)len, (void)to;
  return -LINUX_EINVAL;
}

static long net_send(int handle, const void *buf, size_t len, unsigned flags) {
  long r =
      send(handle, buf, len,
           MSG_NOSIGNAL | ((flags & PLAT_NET_DONTWAIT) ? MSG_DONTWAIT : 0));
  return r < 0 ? -errno : r;
}

static long net_recv(int handle, void *buf, size_t len, unsigned flags) {
  long r = recv(handle, buf, len,
                ((flags & PLAT_NET_DONTWAIT) ? MSG_DONTWAIT : 0) |
                    ((flags & PLAT_NET_PEEK) ? MSG_PEEK : 0));
  return r < 0 ? -errno : r;
}

/* plat_wait's look at one entry. The test streams never block: input is
 * ready while bytes remain (and at its end, as a pipe whose writer
 * left), output always; a network handle is a host fd; no port is
 * published here. */
static unsigned io_now(const struct plat_io *io) {
  if (io->kind == PLAT_IO_STREAM) {
    if (io->handle < 0 || io->handle > 2)
      return POLLNVAL;
    unsigned ready = io->handle == 0 ? 0x041u : 0x104u;
    return ready & io->events;
  }
  if (io->kind == PLAT_IO_PUBLISHED)
    return POLLNVAL;
  struct pollfd p = {io->handle, (short)io->events, 0};
  int r = poll(&p, 1, 0);
  return r <= 0 ? 0 : (unsigned short)p.revents;
}

int plat_net_shutdown(int handle, int how) {
  return shutdown(handle, how) < 0 ? -errno : 0;
}

int plat_net_close(int handle) {
  shutdown(handle, SHUT_RDWR);
  return close(handle) < 0 ? -errno : 0;
}

long plat_io_read(int kind, int handle, void *buf, size_t len, unsigned flags) {
  if (kind == PLAT_IO_NET)
    return net_recv(handle, buf, len, flags);
  if (kind != PLAT_IO_STREAM || flags)
    return -LINUX_EINVAL;
  return stdio_read(handle, buf, len);
}

long plat_io_write(int kind, int handle, const void *buf, size_t len,
                   unsigned flags) {
  if (kind == PLAT_IO_NET)
    return net_send(handle, buf, len, flags);
  if (kind != PLAT_IO_STREAM || flags)
    return -LINUX_EINVAL;
  return stdio_write(handle, buf, len);
}
