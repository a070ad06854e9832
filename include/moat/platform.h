/* The South contract: everything the sandbox may ask of its host.
 *
 * This header is the whole host interface of moat. The core calls only
 * what is declared here; a South platform (platform/linux, later
 * platform/kvm) implements it and nothing else. Keep it small enough to
 * audit in one sitting; docs/south.md counts it.
 *
 * Conventions for every function below:
 *  - Errors are negative Linux errno values (LINUX_E*); 0 or a positive
 *    count is success.
 *  - The host is untrusted: the core checks every value that comes back
 *    (counts never larger than asked, sizes and offsets in range). A
 *    platform MUST still return only values within the documented range.
 *  - No ambient authority: a host object is named by a handle that policy
 *    granted when the sandbox was created (struct moat_config) or that a
 *    platform call returned. Names passed with a handle are single path
 *    components: never empty, never "." or "..", never containing '/'. A
 *    platform MUST refuse anything else with -LINUX_EINVAL, and MUST NOT
 *    follow a host symlink for any name (the sandbox resolves symlinks).
 */
#ifndef MOAT_PLATFORM_H
#define MOAT_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linux_abi.h"
#include "regs.h"

/* ---------------------------------------------------------------------
 * What the platform is
 * ------------------------------------------------------------------- */

/* The version of this contract. A platform reports the version it
 * implements; the core refuses to start on any other. */
#define PLAT_CONTRACT_VERSION 2

/* What a platform offers beyond the calls every platform MUST serve.
 * Without a bit, the matching calls fail as their text says (and the
 * core does without: one guest process, file pages copied, ...). */
#define PLAT_F_SPACES 1    /* plat_space_clone makes new address spaces */
#define PLAT_F_VIEWS 2     /* plat_mem_view (PLAT_MAP_VIEWS regions) */
#define PLAT_F_HOST_MAP 4  /* plat_host_map maps host files */
#define PLAT_F_CPU_TIME 8  /* PLAT_CLOCK_CPU*, PLAT_TIMER_VIRTUAL/_PROF */
#define PLAT_F_HOST_NET 16 /* plat_net_*: a host network by grant */

struct plat_info {
  uint32_t version;  /* PLAT_CONTRACT_VERSION implemented */
  uint32_t features; /* PLAT_F_* */
  /* The guest window: every guest mapping lies in [window_lo,
   * window_hi), and nothing of the library OS or the platform does; the
   * core places guest memory only there (plat_mem_map with
   * PLAT_MAP_FIXED) and refuses to start when it is smaller than its
   * North ABI needs (the Linux shim: [64 KiB, 128 TiB)). */
  uint64_t window_lo, window_hi;
  /* A vDSO the guest may call (its ELF header, page-aligned, outside the
   * guest window), or 0. The shim hands it to the guest as
   * AT_SYSINFO_EHDR. Its code runs as guest code: what it cannot answer
   * itself it asks with a system call, which traps like any other; its
   * clocks agree with plat_clock's. */
  uint64_t vdso;
};

/* Describe the platform. MUST be callable before anything else and give
 * the same answer every time. */
void plat_info(struct plat_info *out);

/* ---------------------------------------------------------------------
 * Memory
 * ------------------------------------------------------------------- */

#define PLAT_PROT_READ 1
#define PLAT_PROT_WRITE 2
#define PLAT_PROT_EXEC 4

#define PLAT_MAP_FIXED 1  /* place exactly at addr, replacing what is there */
#define PLAT_MAP_SHARED 2 /* the same memory in every address space */
/* With PLAT_MAP_SHARED: a reservation whose pages are taken only when
 * touched (the System V shared memory pool, core/sysv_ipc.c). */
#define PLAT_MAP_NORESERVE 4
/* With PLAT_MAP_SHARED | PLAT_MAP_NORESERVE, before the first clone: a
 * region plat_mem_view can make private views of (the page cache's pool,
 * core/pcache.c). A platform MAY offer only one such region, or none
 * (then it maps the region as without the flag, and plat_mem_view says
 * -EINVAL). */
#define PLAT_MAP_VIEWS 8

/* Map len bytes (a multiple of the page size) of zeroed memory.
 * MUST: return page-aligned memory with protection prot in *out.
 * With PLAT_MAP_FIXED, MUST place it at addr or fail; without, addr is a
 * hint the platform MAY ignore.
 * Errors: -ENOMEM when the host has no room, -EINVAL for a bad length or
 * alignment. */
int plat_mem_map(void *addr, size_t len, int prot, int flags, void **out);

/* Unmap [addr, addr+len). MUST succeed for page-aligned ranges the core
 * mapped with plat_mem_map (holes are fine). -EINVAL otherwise. */
int plat_mem_unmap(void *addr, size_t len);

/* Change the protection of [addr, addr+len). -EINVAL, -ENOMEM as mprotect. */
int plat_mem_protect(void *addr, size_t len, int prot);

/* Map at addr (PLAT_MAP_FIXED semantics, inside the guest window) the
 * same pages as [src, src+len) of a region the core mapped with
 * PLAT_MAP_SHARED before the first clone, with protection prot. MUST:
 * afterwards a write through either address, in any address space of the
 * sandbox that maps those pages, is seen through all of them at once
 * (this is how two guest processes that did not inherit a mapping from
 * each other share memory: System V shared memory, and shared file
 * mappings, whose pages are the core's page cache). The core calls it
 * again on pages it already aliased (to change their protection, or
 * after a fault) and for single pages next to each other: a platform
 * SHOULD keep that cheap (the Linux host merges such mappings into one).
 * -EINVAL when src is not such memory or a range is not page-aligned,
 * -ENOMEM as mmap. */
int plat_mem_alias(void *addr, const void *src, size_t len, int prot);

/* Map at addr (PLAT_MAP_FIXED semantics, inside the guest window) a
 * private, copy-on-write view of [src, src+len), part of the region made
 * with PLAT_MAP_VIEWS, with protection prot. MUST: until this space
 * writes a page of the view, reading it gives what the region holds
 * there now (a later write to the region, or a discard, included); the
 * first write to a page (by the guest, or by the library OS itself)
 * gives this space a copy of its own, which the region and every other
 * space never see; plat_space_clone copies those pages like private memory and
 * keeps the untouched ones views. mprotect (plat_mem_protect) of a view
 * MAY add PROT_WRITE: writes still only reach the copies. This is how
 * MAP_PRIVATE file mappings share the page cache's pages until written.
 * -EINVAL when src is not inside such a region (or the platform has
 * none: the core then copies), -ENOMEM as mmap. */
int plat_mem_view(void *addr, const void *src, size_t len, int prot);

/* Give the pages of [addr, addr+len), part of a PLAT_MAP_SHARED region,
 * back to the host: they read as zeros afterwards in every space.
 * -EINVAL for a range that is not such memory. */
int plat_mem_discard(void *addr, size_t len);

/* ---------------------------------------------------------------------
 * Waiting: one primitive for every sleep of the library OS
 *
 * A wait sleeps on a word of memory and, at the same time, on any number
 * (up to PLAT_WAIT_IO_MAX) of the host objects the sandbox was granted,
 * with a deadline. Everything that blocks in the core (its locks, guest
 * futexes, poll/select/epoll, sleeps, waiting for a child) is this call.
 * ------------------------------------------------------------------- */

/* What a wait watches besides its word. events and revents are Linux's
 * poll bits (LINUX_POLLIN, ...), the neutral readiness vocabulary here. */
#define PLAT_IO_STREAM 1 /* handle: a standard stream, 0..2 */
#define PLAT_IO_NET 2    /* handle: a network handle (plat_net_*) */
#define PLAT_IO_PUBLISHED                                                      \
  3 /* handle: a published port's index; POLLIN                                \
       when plat_net_accept (TCP) or                                           \
       plat_net_dgram_recv (UDP) has something */
struct plat_io {
  uint16_t kind;
  uint16_t events;
  uint16_t revents; /* written by plat_wait */
  uint16_t pad;
  int32_t handle;
};
#define PLAT_WAIT_IO_MAX 16

/* Sleep until one of:
 *  - word != NULL and *word != expected when the call starts: -EAGAIN;
 *  - plat_wake(word) from any context of any address space
 *    (after *word changed): 0;
 *  - an io entry is ready as poll(2) would say (POLLIN, POLLOUT as asked;
 *    POLLHUP, POLLERR unasked; POLLNVAL for an entry naming nothing):
 *    the number of ready entries (> 0), each entry's revents set
 *    (0 for the others);
 *  - timeout_ns (relative, on the monotonic clock) passed: -ETIMEDOUT;
 *    timeout_ns == 0 only looks, timeout_ns < 0 has no deadline;
 *  - the context was kicked (plat_ctx_kick), a timer expired (plat_timer_set)
 *    or a child ended (plat_space_reap): -EINTR. A platform MAY also return
 *    -EINTR spuriously; the caller MUST tolerate it (it looks again).
 * MUST NOT lose a wake: a plat_wake that follows a change of *word made
 * after this call read it ends the wait, whether or not io is given.
 * MUST NOT report readiness the host does not report at that moment.
 * The word may be anywhere the core can read (memory shared between
 * address spaces or private); the platform tells the two apart itself.
 * -EINVAL for nio < 0, nio > PLAT_WAIT_IO_MAX or an unknown kind.
 * Safe from any context; never takes a lock of the core. */
int plat_wait(uint32_t *word, uint32_t expected, struct plat_io *io, int nio,
              int64_t timeout_ns);

/* Wake up to count waiters of plat_wait on word (in any address space
 * of the sandbox). Returns the number woken (>= 0; a waiter that also watched
 * io MAY not be counted). */
int plat_wake(uint32_t *word, int count);

/* ---------------------------------------------------------------------
 * Time
 * ------------------------------------------------------------------- */

#define PLAT_CLOCK_REALTIME 0  /* wall clock, ns since the Unix epoch */
#define PLAT_CLOCK_MONOTONIC 1 /* ns since an arbitrary fixed point */
#define PLAT_CLOCK_CPU 2       /* CPU time of this address space, ns */
#define PLAT_CLOCK_BOOTTIME 3  /* as MONOTONIC, plus time the host slept */
/* The part of PLAT_CLOCK_CPU the host counts as the space's own work
 * (user time; the rest is time the host spent for it). It may be coarser
 * than PLAT_CLOCK_CPU (sampled at the host's tick); a platform that does
 * not split CPU time answers PLAT_CLOCK_CPU's figure. */
#define PLAT_CLOCK_CPU_USER 4
#define PLAT_CLOCK_THREAD_CPU 5 /* CPU time of the calling context, ns */

/* Read a clock into *out_ns. -EINVAL for an unknown clock. The core MUST
 * tolerate a monotonic clock that the host moves backwards (it clamps). */
int plat_clock(int clock, int64_t *out_ns);

/* Fill buf with len bytes from the host's cryptographic random source.
 * MUST fill all of it or fail with -EIO. */
int plat_random(void *buf, size_t len);

/* ---------------------------------------------------------------------
 * Address spaces and execution contexts (docs/processes.md)
 *
 * Guest code runs in execution contexts (a guest thread each), each in
 * one address space (a guest process). An address space holds the guest
 * window's mappings and the library OS's memory; memory from
 * plat_mem_map with PLAT_MAP_SHARED (the arena) is the same memory, at
 * the same address, in every address space of the sandbox. The Linux
 * platform makes an address space a host process and a context a host
 * thread; a platform where moat is the kernel makes them page tables and
 * its own scheduler's threads. Nothing here says which.
 * ------------------------------------------------------------------- */

/* Start running guest code in the calling context with the register file
 * regs (rip, rsp, the general registers, rflags' arithmetic bits, the fs
 * base). The fs base is part of the register file everywhere: a change
 * the North shim makes to regs->fs_base in north_syscall or north_fault
 * MUST take effect when the guest resumes (there is no separate call for
 * the thread pointer). MUST NOT return. From then on every guest system
 * call of the context arrives in the North shim's north_syscall(), every
 * guest fault in north_fault(), every kick in north_interrupt(). */
_Noreturn void plat_enter(const struct moat_regs *regs);

/* End the calling address space and every context in it, with status
 * (0..255): plat_space_reap reports it to the address space that made
 * it; the first address space's status is the sandbox's. MUST NOT
 * return. MAY print the host-call statistics first when the sandbox was
 * created with stats enabled. */
_Noreturn void plat_space_exit(int status);

/* A new address space, a copy of the calling one (its private memory
 * copied, copy-on-write where the platform can; PLAT_MAP_SHARED memory
 * shared), with one context: a copy of the calling context, which
 * returns 0 from this call. The caller gets the new space's id, a
 * positive number that plat_space_reap reports when it ends (the core
 * keeps guest zombies itself). No new space outlives the sandbox's first
 * one. Without PLAT_F_SPACES: -ENOSYS. Errors: -EAGAIN (a limit),
 * -ENOMEM. */
int plat_space_clone(void);

/* Without blocking, report one address space that ended among those the
 * calling one made with plat_space_clone, or that the platform handed to
 * it because the space that made them ended first (the sandbox's first
 * space receives these). Returns the id plat_space_clone gave (> 0),
 * with *how its end as a wait status: status << 8 after
 * plat_space_exit(status), or a number 1..127 when the platform ended it
 * itself (the host killed it; on Linux, the host signal); 0 when no end
 * is left to report. Each end is reported once, whether or not the
 * core's exit path ran. When a space ends, the platform makes the one it
 * reports to look soon: a plat_ctx_kick of some context of it, or a
 * spurious wake (-EINTR) of a sleeping plat_wait. MUST cost no host
 * call when nothing ended: the core asks at every return to the guest. */
int plat_space_reap(int *how);

/* A new execution context in the calling address space that runs guest
 * code with regs (as plat_enter) and whose context pointer (plat_ctx_get)
 * is ctx from its first instruction. Each context has its own platform
 * stack for traps. Errors: -EAGAIN, -ENOMEM. */
int plat_ctx_create(const struct moat_regs *regs, void *ctx);

/* End the calling context only. When clear_word is not NULL, after the
 * context stopped using all of its memory, MUST store 0 into *clear_word
 * and plat_wake it, for the core to know the context is gone. MUST NOT
 * return. */
_Noreturn void plat_ctx_exit(uint32_t *clear_word);

/* The calling context's pointer for the core (NULL until set), and
 * setting it (the first context, and the copy plat_space_clone made). */
void *plat_ctx_get(void);
void plat_ctx_set(void *ctx);

/* An opaque non-zero handle naming the calling context for
 * plat_ctx_kick, valid in every address space of the sandbox while the
 * context lives (it changes in plat_space_clone's copy). */
uint64_t plat_ctx_self(void);

/* Make the context named by handle look at its signals soon: if it is
 * running guest code, the platform interrupts it and calls
 * north_interrupt() on it; if it is inside the library OS, nothing
 * happens but a blocking platform call's early -EINTR (the shim looks
 * before it returns to the guest). A context asleep in plat_wait is
 * woken with plat_wake on its word, not by this. MAY be a no-op for a
 * context that is gone. Errors: -ESRCH. */
int plat_ctx_kick(uint64_t handle);

/* The calling address space's three one-shot timers, one per clock
 * (which):
 *   PLAT_TIMER_REAL     the monotonic clock (ITIMER_REAL);
 *   PLAT_TIMER_VIRTUAL  the CPU time its contexts spend in guest code
 *                       (ITIMER_VIRTUAL);
 *   PLAT_TIMER_PROF     the CPU time of its contexts, guest code and the
 *                       library OS's work for them (ITIMER_PROF).
 * Without PLAT_F_CPU_TIME the two CPU timers fail with -EINVAL.
 * ns > 0 arms timer which to expire once its clock has advanced by at
 * least ns; ns == 0 disarms it; ns == PLAT_TIMER_KEEP leaves it as it is.
 * When out_now is not NULL, MUST store there the timer's clock in ns
 * (from an arbitrary fixed point of this space; never going backwards)
 * read BEFORE arming: the timer MUST NOT expire before its clock reaches
 * *out_now + ns, so that the core, which keeps the deadline and the
 * period itself, finds the deadline passed when the expiry reaches it.
 * When a timer expires the platform makes the space look at its
 * signals: north_interrupt() on a context running guest code, or, inside
 * the library OS, a spurious wake of a sleeping plat_wait (-EINTR)
 * and north_interrupt() before the next return to the guest. The expiry
 * MAY come late (a host's timer tick). Timers are not inherited by
 * plat_space_clone's child.
 * Errors: -EINVAL for an unknown which, or ns < 0 other than
 * PLAT_TIMER_KEEP; -EIO for a clock reading the platform cannot give. */
#define PLAT_TIMER_REAL 0
#define PLAT_TIMER_VIRTUAL 1
#define PLAT_TIMER_PROF 2
#define PLAT_TIMER_KEEP (-1)
int plat_timer_set(int which, int64_t ns, int64_t *out_now);

/* ---------------------------------------------------------------------
 * Host byte streams: the three standard streams the sandbox was given
 * (PLAT_IO_STREAM, 0 = input, 1 = output, 2 = error; nothing else of the
 * host's descriptors is reachable) and network handles (PLAT_IO_NET,
 * below). plat_wait waits for their readiness.
 * ------------------------------------------------------------------- */

/* Read up to len bytes from a stream: kind PLAT_IO_STREAM (blocks; flags
 * MUST be 0) or PLAT_IO_NET (flags PLAT_NET_DONTWAIT, PLAT_NET_PEEK; a
 * datagram socket gives one datagram, cut to len). Returns bytes read
 * (<= len), 0 at the end, -EAGAIN (DONTWAIT, nothing there), -EINTR
 * when the context was kicked (plat_ctx_kick, a timer) while it waited:
 * the caller looks at its signals and MAY call again; -EBADF for a
 * handle that names nothing, -EINVAL for another kind or flags. */
long plat_io_read(int kind, int handle, void *buf, size_t len, unsigned flags);

/* Write up to len bytes to a stream (flags as plat_io_read, without
 * PEEK). Returns bytes written (<= len, > 0 unless len == 0), -EPIPE or
 * -ECONNRESET when the other end went away (never a signal), -EAGAIN,
 * -EIO, -EINTR and -EBADF as plat_io_read. A datagram socket sends one
 * datagram. On a network connection still under way (plat_net_connect),
 * 0 bytes with PLAT_NET_DONTWAIT answer 0 (connected), -EAGAIN (still
 * under way) or the connect's error (once). */
long plat_io_write(int kind, int handle, const void *buf, size_t len,
                   unsigned flags);

/* A terminal's settings and size (the POSIX termios fields; the flag
 * bits and c_cc indexes have Linux's values). */
struct plat_termios {
  uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
  uint8_t c_line;
  uint8_t c_cc[19];
};
struct plat_winsize {
  uint16_t ws_row, ws_col, ws_xpixel, ws_ypixel;
};
#define PLAT_TERM_GET 1       /* *(struct plat_termios *)arg = settings */
#define PLAT_TERM_SET 2       /* settings = *arg, now */
#define PLAT_TERM_SET_DRAIN 3 /* the same once output is written */
#define PLAT_TERM_SET_FLUSH 4 /* the same, and pending input dropped */
#define PLAT_TERM_GET_SIZE 5  /* *(struct plat_winsize *)arg = size */
#define PLAT_TERM_SET_SIZE 6  /* size = *arg */

/* Terminal control on a stream that is a terminal, op one of PLAT_TERM_*
 * with arg in core memory. Returns 0, -ENOTTY when the stream is not a
 * terminal (a platform without terminals: always), -EINVAL for another
 * op. A platform MAY refuse the SET ops (-ENOTTY) when the host's
 * terminal is not the sandbox's to change (the console, docs/ptys.md). */
int plat_stdio_term(int stream, int op, void *arg);

/* ---------------------------------------------------------------------
 * Host directories granted by policy (hostfs)
 *
 * A handle is a small non-negative integer. The sandbox's granted
 * directories arrive as handles in struct moat_config; every other handle
 * comes from plat_host_open. A platform MUST confine every call to the
 * tree below the granted directory the handle descends from, and MUST
 * refuse writes (-EROFS) below a grant that is read-only.
 * ------------------------------------------------------------------- */

/* A point in time: seconds and nanoseconds (0..999999999) since the
 * Unix epoch. In plat_host_setattr, tv_nsec PLAT_TIME_OMIT leaves that
 * time as it is. */
struct plat_time {
  int64_t tv_sec;
  int64_t tv_nsec;
};
#define PLAT_TIME_OMIT ((1l << 30) - 2l)

/* What the host says about an object. The core treats it as untrusted. */
struct plat_host_stat {
  uint64_t ino;
  uint64_t dev;
  uint64_t size;
  uint64_t blocks;
  uint32_t mode; /* LINUX_S_IF* | permission bits */
  uint32_t nlink;
  uint32_t uid;
  uint32_t gid;
  uint64_t rdev;
  struct plat_time atime, mtime, ctime;
};

/* Open name below directory handle dir. flags: LINUX_O_RDONLY,
 * LINUX_O_WRONLY, LINUX_O_RDWR, optionally with LINUX_O_CREAT,
 * LINUX_O_EXCL, LINUX_O_TRUNC, LINUX_O_DIRECTORY; also LINUX_O_PATH for a
 * handle that only names the object (to stat it or open below it).
 * name == NULL reopens dir itself with the new flags.
 * MUST NOT follow a symlink (-ELOOP). Returns a new handle in *out. */
int plat_host_open(int dir, const char *name, int flags, uint32_t mode,
                   int *out);

/* Release a handle. */
int plat_host_close(int handle);

/* pread/pwrite on an open handle. Return bytes moved (<= len), 0 at end. */
long plat_host_pread(int handle, void *buf, size_t len, uint64_t off);

/* Map at addr (PLAT_MAP_FIXED semantics, inside the guest window) a
 * private, copy-on-write mapping of [off, off+len) of the host file open
 * as handle, with protection prot (PLAT_PROT_*). MUST: until this
 * space writes a page, reading it gives the file's bytes there now
 * (later writes to the file included); a write gives this space a copy
 * of its own and never reaches the file; pages past the file's end raise
 * the platform's fault (SIGBUS on Linux); plat_space_clone copies as private
 * memory. MAY fail (-ENODEV: this platform maps no host files, -EPERM:
 * the host refuses, e.g. PROT_EXEC on a noexec mount): the core then
 * reads the file in. This is how a program on a host grant runs without
 * its file being read into memory first. */
int plat_host_map(int handle, void *addr, size_t len, int prot, uint64_t off);
long plat_host_pwrite(int handle, const void *buf, size_t len, uint64_t off);

/* Attributes of name below dir, or of dir itself when name == NULL.
 * Never follows a symlink. */
int plat_host_stat(int dir, const char *name, struct plat_host_stat *out);

/* One record of plat_host_readdir; records follow each other at reclen
 * bytes (any alignment: the core copies the fields out). */
struct plat_dirent {
  uint64_t ino;
  int64_t off;     /* the platform's own cookie; the core ignores it */
  uint16_t reclen; /* the whole record, name and padding included */
  uint8_t type;    /* DT_UNKNOWN 0, DT_FIFO 1, DT_CHR 2, DT_DIR 4, DT_BLK 6,
                      DT_REG 8, DT_LNK 10, DT_SOCK 12 (dirent.h's values) */
  char name[];     /* terminated within reclen */
} __attribute__((packed));

/* Read directory entries (struct plat_dirent) from a handle opened with
 * LINUX_O_DIRECTORY, continuing where the last call stopped, or from the
 * beginning when rewind is true. Returns bytes placed in buf, 0 at the
 * end. The core validates every record (lengths, name termination)
 * before use. */
long plat_host_readdir(int handle, void *buf, size_t len, bool rewind);

/* Read the target of symlink name below dir. Returns its length (<= len,
 * not terminated). */
long plat_host_readlink(int dir, const char *name, char *buf, size_t len);

#define PLAT_HOST_DIR 1     /* mkdir name with mode */
#define PLAT_HOST_SYMLINK 2 /* symlink name -> target */
#define PLAT_HOST_FIFO 3    /* a FIFO node name with mode */
#define PLAT_HOST_SOCKET 4  /* a socket node name with mode */

/* Create a directory, a symlink, a FIFO node or a socket node name below
 * dir. -EEXIST if present. A FIFO or socket node is only a name on the
 * host: what it carries is the sandbox's own (the core serves it); the
 * platform MUST NOT create any other kind of node (devices: -EPERM). The
 * mode is the one the core computed (umask applied): the platform MUST
 * NOT let a host umask change it, and MUST drop set-id bits. */
int plat_host_create(int dir, const char *name, int kind, uint32_t mode,
                     const char *target);

/* Remove name below dir; remove_dir selects rmdir over unlink. */
int plat_host_remove(int dir, const char *name, bool remove_dir);

/* Rename (flags: LINUX_RENAME_NOREPLACE, LINUX_RENAME_EXCHANGE) or, with
 * hard_link, link olddir/oldname as newdir/newname. Both handles MUST
 * descend from the same grant (-EXDEV otherwise). */
int plat_host_move(int olddir, const char *oldname, int newdir,
                   const char *newname, unsigned flags, bool hard_link);

#define PLAT_SET_MODE 1  /* mode */
#define PLAT_SET_TIMES 2 /* atime and mtime (PLAT_TIME_OMIT honoured) */
#define PLAT_SET_SIZE 4  /* size: truncate or extend */
#define PLAT_SET_OWNER 8 /* uid, gid (PLAT_ID_KEEP: unchanged) */
#define PLAT_ID_KEEP 0xffffffffu

/* Change attributes of an open handle (name == NULL) or of name below
 * dir: what selects which of mode, times, size, owner apply (the owner
 * first, so a mode given with it is the one that stays). A grant maps
 * exactly one id of each kind, the one plat_host_stat reports for the
 * sandbox's own files: an owner change to any other uid or gid MUST fail
 * with -EOVERFLOW (as Linux's on a mount whose idmap cannot map the id)
 * before the host is asked, and the host MUST enforce the same. A
 * symlink's own owner changes (the link is never followed). */
int plat_host_setattr(int dir, const char *name, unsigned what, uint32_t mode,
                      const struct plat_time times[2], uint64_t size,
                      uint32_t uid, uint32_t gid);

/* Flush an open handle's data to stable storage. */
int plat_host_sync(int handle);

/* ---------------------------------------------------------------------
 * The host network, only by grant (docs/south.md, "Host network")
 *
 * A sandbox starts with no host network. Policy (--allow-connect,
 * --publish) names the destinations it may reach and the host ports
 * that reach it; the platform holds that list outside the sandbox's
 * reach and checks every request against it. A handle names one host
 * socket the platform connected or accepted for the sandbox: a positive
 * integer, valid in every address space of the sandbox, until
 * plat_net_close.
 * ------------------------------------------------------------------- */

#define PLAT_NET_TCP 1
#define PLAT_NET_UDP 2

/* An IPv4 or IPv6 endpoint. family LINUX_AF_INET (addr[0..3]) or
 * LINUX_AF_INET6 (addr[0..15]), in network byte order; port in host
 * order. */
struct plat_net_addr {
  uint16_t family;
  uint16_t port;
  uint8_t addr[16];
};

#define PLAT_NET_DONTWAIT 1 /* never block: -EAGAIN / -EINPROGRESS */
#define PLAT_NET_PEEK 2     /* receive without taking */

/* Connect a new host socket of proto (PLAT_NET_TCP, PLAT_NET_UDP: a
 * connected datagram socket) to dst. MUST refuse every destination the
 * policy did not grant with -ENETUNREACH before any host connection is
 * attempted; an IPv4-mapped IPv6 address counts as its IPv4 address.
 * Returns 0 with *out_handle naming the connected socket and *out_local,
 * *out_peer its host addresses; or, with a valid *out_handle (the host's
 * connect still under way), -EINPROGRESS with PLAT_NET_DONTWAIT in flags,
 * -EINTR when the context was kicked while it waited. The outcome of such
 * a connection is then as for a non-blocking connect(2): plat_wait
 * reports POLLOUT once it is decided, and plat_io_write of 0 bytes with
 * PLAT_NET_DONTWAIT answers 0 (connected), -EAGAIN (still under way) or
 * the connect's error (once). Errors without a handle: -ENETUNREACH,
 * -EINVAL (family, proto), the host's connect errors (-ECONNREFUSED,
 * -ETIMEDOUT, -EHOSTUNREACH, ...), -EMFILE/-ENOBUFS when the platform
 * has no room. */
int plat_net_connect(int proto, const struct plat_net_addr *dst, unsigned flags,
                     int *out_handle, struct plat_net_addr *out_local,
                     struct plat_net_addr *out_peer);

/* Take one connection waiting at published port index (0..n-1, in the
 * order of the policy's --publish list) without blocking: *out_handle as
 * plat_net_connect, *out_peer the host's client. -EAGAIN when none
 * waits, -EINVAL for an index the policy does not have. */
int plat_net_accept(int index, int *out_handle, struct plat_net_addr *out_peer);

/* A published UDP port (--publish .../udp), by index as plat_net_accept:
 * the next datagram that reached it, without blocking (-EAGAIN when none;
 * wait with plat_wait on PLAT_IO_PUBLISHED), cut to len, its
 * full length returned, its sender in *out_from; PLAT_NET_PEEK leaves it
 * there. A datagram back goes only to a sender the port received from
 * (-ENETUNREACH otherwise: a published port is no way to the host network
 * around the grants), from the published port. -EINVAL for an index the
 * policy does not have or that is not UDP. */
long plat_net_dgram_recv(int index, void *buf, size_t len, unsigned flags,
                         struct plat_net_addr *out_from);
long plat_net_dgram_send(int index, const void *buf, size_t len,
                         const struct plat_net_addr *to);

/* shutdown(2) of a handle: how 0 (reading), 1 (writing), 2 (both). */
int plat_net_shutdown(int handle, int how);

/* The core's last reference to the handle is gone: the host connection
 * ends (both directions) for every address space of the sandbox, and the
 * handle is no longer valid. */
int plat_net_close(int handle);

#endif
