/* The core API: the POSIX-like calls of the moat library OS.
 *
 * Both the Linux shim (shim/linux) and programs that embed moat use this.
 * Every call acts for the current guest process and thread, takes
 * pointers that are already valid in the caller's memory (the shim checks
 * guest pointers before it calls in) and returns a negative Linux errno on
 * failure. Types and constants are our copies of Linux's (linux_abi.h).
 */
#ifndef MOAT_MOAT_H
#define MOAT_MOAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linux_abi.h"

/* ---------------------------------------------------------------------
 * Sandbox creation
 * ------------------------------------------------------------------- */

enum moat_mount_kind {
  MOAT_MOUNT_HOSTDIR = 1, /* a granted host directory (handle) */
  MOAT_MOUNT_TAR,         /* a tar image, mapped read-only at tar_base */
  MOAT_MOUNT_SYMLINK,     /* not a mount: a symlink guest_path -> target */
  MOAT_MOUNT_MEMFS,       /* an empty in-memory file system */
  MOAT_MOUNT_FILE,        /* not a mount: a regular file guest_path made
                             at boot with file_size bytes of file_data
                             (a copy of a host file taken at start) */
};

enum moat_mount_access {
  MOAT_ACCESS_RO = 1, /* writes fail with EROFS */
  MOAT_ACCESS_RW,     /* writes go to the object itself (host dir: host) */
  MOAT_ACCESS_COW,    /* read-only lower, writes land in an in-memory upper
                         layer that vanishes with the sandbox */
};

struct moat_mount {
  const char *guest_path; /* absolute; "/" replaces the default root */
  enum moat_mount_kind kind;
  enum moat_mount_access access;
  int handle;           /* MOAT_MOUNT_HOSTDIR: South handle */
  const void *tar_base; /* MOAT_MOUNT_TAR */
  size_t tar_size;
  const char *target; /* MOAT_MOUNT_SYMLINK */
  /* MOAT_MOUNT_FILE: the contents and mode bits; MOAT_MOUNT_MEMFS: the
   * root directory's mode bits (0: 01777, as a tmpfs) */
  const void *file_data;
  size_t file_size;
  uint32_t file_mode;
};

#define MOAT_MAX_MOUNTS 64
#define MOAT_MAX_GROUPS 32

#define MOAT_MAX_PUBLISHED 32

struct moat_config {
  /* Mounts in order; a later one may sit inside an earlier one. Without a
   * "/" entry the root is an in-memory file system holding /tmp, /home,
   * /root, /var, /run (empty, private). /dev and /proc are always the
   * sandbox's own. */
  struct moat_mount mounts[MOAT_MAX_MOUNTS];
  int nmounts;
  const char *cwd;   /* initial working directory, default "/" */
  uint32_t uid, gid; /* the guest's ids inside; the host never sees them */
  /* The first process's supplementary groups (getgroups). */
  uint32_t ngroups;
  uint32_t groups[MOAT_MAX_GROUPS];
  const char *hostname; /* default "moat" */
  bool strace;          /* print every guest syscall on stderr */
  bool stats;           /* count syscalls and host calls, print at exit */
  uint64_t mem_limit;   /* bytes of guest memory, 0 = default */
  /* Bytes of file data all in-memory file systems together may hold (the
   * default root, the writable layer over a read-only root, /dev/shm):
   * ENOSPC beyond, and statfs shows it as their size. 0 = no limit of
   * their own (mem_limit and the arena still bound them). */
  uint64_t tmp_size;
  /* Resource limits of the first process, which every later one
   * inherits: for each bit (1 << r) of rlimits_set, rlimits[r] replaces
   * moat's default for LINUX_RLIMIT_r (RLIMIT_NOFILE 1024:4096,
   * RLIMIT_NPROC max_tasks, RLIMIT_STACK 8 MiB:unlimited, RLIMIT_CORE 0,
   * the rest unlimited), and its hard limit becomes the sandbox's ceiling
   * for r: no guest process, not even uid 0, may raise its hard limit
   * above it (EPERM). */
  struct linux_rlimit rlimits[LINUX_RLIMIT_NLIMITS];
  uint32_t rlimits_set;
  uint32_t max_tasks; /* processes + threads, 0 = default (1024) */
  uint32_t ncpus;     /* CPUs the guest is shown, 0 = 1 (at most 1024) */
  /* --publish: the guest's TCP ports whose listeners take the host's
   * connections, and UDP ports (published_udp[i]) whose sockets take the
   * host's datagrams; published[i] is plat_net_accept's and
   * plat_net_dgram_recv's index i. */
  uint16_t published[MOAT_MAX_PUBLISHED];
  bool published_udp[MOAT_MAX_PUBLISHED];
  int npublished;
  /* What the first guest process inherits, as across execve(2): the
   * signals (LINUX_SIGBIT) the launcher ignored (nohup: SIGHUP) and its
   * blocked mask. SIGKILL and SIGSTOP are never taken. */
  uint64_t sig_ignored, sig_blocked;
  /* The host's stream 0 is a terminal the runner put in raw mode (and
   * restores): the host streams in console_streams (bit s for stream s;
   * 0 always) are the slave of a pseudo-terminal of the sandbox whose
   * master is that terminal, with termios console_tio (the terminal's
   * own before raw mode), the first process's controlling terminal
   * (docs/ptys.md, "The host's terminal"). */
  bool console;
  unsigned console_streams;
  struct linux_termios console_tio;
};

/* Build the sandbox from cfg: the arena, the file system tree and the
 * first process (pid 1, fds 0/1/2 on the host streams). Call once.
 * Returns 0 or a negative errno; *why (if given) points to a static
 * one-line explanation on failure. */
int moat_boot(const struct moat_config *cfg, const char **why);

/* The configuration moat_boot was given. */
const struct moat_config *moat_config(void);
/* The number of CPUs the guest is shown (sched_getaffinity, /proc):
 * cfg->ncpus within [1, 1024]. */
int moat_cpu_count(void);

/* ---------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------- */
int moat_openat(int dirfd, const char *path, int flags, uint32_t mode);
/* memfd_create: an anonymous read-write file (in the sandbox's /dev/shm
 * file system, without a name there) that /proc/PID/fd shows as
 * "/memfd:NAME (deleted)". */
int moat_memfd_create(const char *name, bool cloexec);
/* openat2's resolution rules (VFS_BENEATH ... of core/vfs.h: 0x100
 * BENEATH, 0x200 IN_ROOT, 0x400 NO_SYMLINKS, 0x800 NO_MAGICLINKS, 0x1000
 * NO_XDEV); the shim checks struct open_how. */
int moat_openat2(int dirfd, const char *path, int flags, uint32_t mode,
                 unsigned resolve);
int moat_close(int fd);
/* close_range: close (or, with cloexec, mark close-on-exec) every open
 * descriptor from first to last, also those above a lowered
 * RLIMIT_NOFILE. Returns 0. */
int moat_close_range(unsigned first, unsigned last, bool cloexec);
/* execve: close every close-on-exec descriptor, wherever it is. */
void moat_close_on_exec(void);
long moat_read(int fd, void *buf, size_t len);
long moat_write(int fd, const void *buf, size_t len);
long moat_pread(int fd, void *buf, size_t len, int64_t off);
long moat_pwrite(int fd, const void *buf, size_t len, int64_t off);
long moat_readv(int fd, const struct linux_iovec *iov, int iovcnt);
long moat_writev(int fd, const struct linux_iovec *iov, int iovcnt);
/* preadv2/pwritev2's RWF_NOWAIT: -EAGAIN when a read (write) of the
 * stream fd would wait now, else 0. */
int moat_rw_nowait(int fd, bool write);
/* pwritev2 with RWF_APPEND (append true) or RWF_NOAPPEND: the write as
 * if O_APPEND were set or clear for this call; off < 0: at the file
 * position. */
long moat_writev_append(int fd, const struct linux_iovec *iov, int iovcnt,
                        int64_t off, bool append);
int64_t moat_lseek(int fd, int64_t off, int whence);
int moat_fstat(int fd, struct linux_stat *st);
/* flags: LINUX_AT_SYMLINK_NOFOLLOW, LINUX_AT_EMPTY_PATH */
int moat_fstatat(int dirfd, const char *path, struct linux_stat *st, int flags);
int moat_statx(int dirfd, const char *path, int flags, unsigned mask,
               struct linux_statx *stx);
int moat_statfs(int fd_or_dirfd, const char *path, struct linux_statfs *out);
long moat_getdents64(int fd, void *buf, size_t len);
int moat_faccessat(int dirfd, const char *path, int mode, int flags);
long moat_readlinkat(int dirfd, const char *path, char *buf, size_t len);
int moat_symlinkat(const char *target, int dirfd, const char *path);
int moat_linkat(int olddirfd, const char *oldpath, int newdirfd,
                const char *newpath, int flags);
int moat_unlinkat(int dirfd, const char *path, int flags);
int moat_renameat2(int olddirfd, const char *oldpath, int newdirfd,
                   const char *newpath, unsigned flags);
int moat_mkdirat(int dirfd, const char *path, uint32_t mode);
int moat_mknodat(int dirfd, const char *path, uint32_t mode, uint64_t dev);
int moat_chdir(const char *path);
/* chroot(2): the caller's root becomes path (a directory it may search);
 * -EPERM without CAP_SYS_CHROOT. The working directory stays. */
int moat_chroot(const char *path);
int moat_fchdir(int fd);
/* Returns the length including the terminating NUL. */
long moat_getcwd(char *buf, size_t len);
/* The path of the directory open at fd, from the process root, as getcwd
 * shows it. Returns its length, -ENOTDIR when fd is not a directory. */
long moat_dir_path(int fd, char *buf, size_t len);
int moat_fchmodat(int dirfd, const char *path, uint32_t mode, int flags);
int moat_fchmod(int fd, uint32_t mode);
int moat_fchownat(int dirfd, const char *path, uint32_t uid, uint32_t gid,
                  int flags);
int moat_fchown(int fd, uint32_t uid, uint32_t gid);
/* Extended attributes (setxattr(2) and its family). The file: path from
 * dirfd (flags: LINUX_AT_SYMLINK_NOFOLLOW), or with path NULL the file
 * open at dirfd (an O_PATH descriptor is -EBADF). name: a full name
 * ("user.x"); value, list: core memory. getxattr and listxattr return the
 * size (only that when size is 0); setxattr's xflags are XATTR_CREATE (1)
 * and XATTR_REPLACE (2). */
long moat_getxattrat(int dirfd, const char *path, int flags, const char *name,
                     void *value, size_t size);
int moat_setxattrat(int dirfd, const char *path, int flags, const char *name,
                    const void *value, size_t size, int xflags);
long moat_listxattrat(int dirfd, const char *path, int flags, char *list,
                      size_t size);
int moat_removexattrat(int dirfd, const char *path, int flags,
                       const char *name);
/* times NULL = now; path NULL = the file dirfd itself */
int moat_utimensat(int dirfd, const char *path,
                   const struct linux_timespec times[2], int flags);
int moat_truncate(const char *path, int64_t len);
int moat_ftruncate(int fd, int64_t len);
/* fallocate on a regular file open for writing. mode 0: storage for
 * [off, off + len) now (-ENOSPC, e.g. past --tmp-size), the size extended
 * to off + len if smaller (RLIMIT_FSIZE applies: SIGXFSZ, -EFBIG);
 * LINUX_FALLOC_FL_KEEP_SIZE: the size stays; with
 * LINUX_FALLOC_FL_PUNCH_HOLE: the range reads as zeros and whole pages
 * give their storage back. Other modes: -EOPNOTSUPP (tmpfs's answer),
 * after Linux's checks of the mode's combinations. */
int moat_fallocate(int fd, unsigned mode, int64_t off, int64_t len);
int moat_fsync(int fd);
uint32_t moat_umask(uint32_t mask);

/* Descriptors and their open files: the operations behind fcntl(2)
 * (the Linux shim decodes its commands and struct flock into them).
 * Each is -EBADF when fd is not open; an O_PATH descriptor is accepted
 * where not said otherwise. */
/* The open file's access mode and status flags (LINUX_O_*), as the open
 * set them and moat_fd_set_flags changed them. */
long moat_fd_get_flags(int fd);
/* Set the status flags that may change after the open (LINUX_O_APPEND,
 * _NONBLOCK, _ASYNC, _DIRECT, _NOATIME) to those in flags; its other
 * bits (the access mode, creation flags) are ignored. The flags belong to
 * the open file: every descriptor of it sees them. -EBADF on O_PATH. */
int moat_fd_set_flags(int fd, unsigned flags);
/* The descriptor's close-on-exec flag: 1 or 0. (Also the way to ask
 * whether fd is open at all.) */
int moat_fd_get_cloexec(int fd);
int moat_fd_set_cloexec(int fd, bool cloexec);
/* A new descriptor of fd's open file, the lowest free one >= min, with
 * its close-on-exec flag: -EINVAL when min is not below RLIMIT_NOFILE,
 * -EMFILE when none is free. */
int moat_dup_min(int fd, unsigned min, bool cloexec);
/* The owner of fd's open file for I/O signals (SIGIO): a thread, a
 * process or a process group, by id, 0 for none. It is kept and reported,
 * but moat never sends the signal. set: -EINVAL for a bad kind or a
 * negative id, -ESRCH when the thread or process does not exist (a
 * group is not looked up). */
enum moat_fd_owner {
  MOAT_OWNER_THREAD,
  MOAT_OWNER_PROCESS,
  MOAT_OWNER_GROUP,
};
int moat_fd_get_owner(int fd, enum moat_fd_owner *kind, int *id);
int moat_fd_set_owner(int fd, enum moat_fd_owner kind, int id);
/* The signal for the owner instead of SIGIO (0: SIGIO), kept as the
 * owner is: get returns it; set: -EINVAL outside 0..LINUX_NSIG. */
int moat_fd_get_signal(int fd);
int moat_fd_set_signal(int fd, int sig);

/* Advisory locks, enforced between the sandbox's processes. A range lock
 * covers len bytes from whence (LINUX_SEEK_SET: 0, _CUR: the file
 * position, _END: the file's size) + start; len 0 reaches to the end of
 * the file and beyond, a negative len takes the -len bytes before. */
enum moat_lock_type {
  MOAT_LOCK_UNLOCK,
  MOAT_LOCK_READ,  /* shared */
  MOAT_LOCK_WRITE, /* exclusive */
};
/* Who holds a range lock. MOAT_LOCK_PROCESS (POSIX record locks): the
 * calling process; its locks on a file go when it closes any descriptor
 * of the file or ends, and a child does not inherit them.
 * MOAT_LOCK_FILE (open file description locks): fd's open file, shared
 * by its dups and by children; its locks go with its last descriptor.
 * The two kinds conflict with each other; an owner's own locks never
 * conflict, a new one replaces what it overlaps (and merges with what it
 * touches of its type). */
enum moat_lock_owner {
  MOAT_LOCK_PROCESS,
  MOAT_LOCK_FILE,
};
struct moat_lock {
  enum moat_lock_type type;
  int whence; /* LINUX_SEEK_SET, _CUR or _END */
  int64_t start, len;
  /* moat_lock_test's answer: the holder's pid; -1 when an open file
   * holds it */
  int pid;
};
/* Set owner's locks over lk's range to lk->type (unlocking what it had
 * there for MOAT_LOCK_UNLOCK). Another owner's conflicting lock is -EAGAIN
 * without wait; with it the call sleeps until it can have the lock,
 * -EINTR when a signal comes first, -EDEADLK when the wait would close a
 * cycle of processes waiting for each other's locks. Also -EBADF (O_PATH;
 * a read lock on a file not open for reading, a write lock on one not
 * open for writing), -EINVAL (type, whence, a range starting before 0),
 * -EOVERFLOW (a range past INT64_MAX), -ENOLCK. */
int moat_lock_range(int fd, enum moat_lock_owner owner,
                    const struct moat_lock *lk, bool wait);
/* Would owner get lk (type read or write)? lk becomes the first lock of
 * another owner that conflicts (its type, whence LINUX_SEEK_SET, start,
 * len (0: to the end), pid), or only its type becomes MOAT_LOCK_UNLOCK
 * when none does. Errors as moat_lock_range's (no access mode check). */
int moat_lock_test(int fd, enum moat_lock_owner owner, struct moat_lock *lk);
/* A whole-file lock of fd's open file (flock(2)'s): shared by its dups
 * and children, gone with its last descriptor, never in conflict with
 * range locks; changing its type drops the old lock first. A conflict is
 * -EAGAIN without wait; with it -EINTR when a signal comes first. -EBADF
 * on O_PATH. */
int moat_flock(int fd, enum moat_lock_type type, bool wait);

/* arg points to the request's structure in core memory (or is the value
 * for requests that take an integer). */
int moat_ioctl(int fd, unsigned request, void *arg);
int moat_dup(int fd);
int moat_dup3(int oldfd, int newfd, int flags);
int moat_pipe2(int fds[2], int flags);
/* A pipe's capacity in bytes; set rounds size up to a power of two pages
 * (one at least) and returns the new capacity: -EPERM above
 * /proc/sys/fs/pipe-max-size (unless shrinking), -EBUSY when the pipe
 * holds more than that, -EINVAL above 2^31. -EBADF when fd is not a
 * pipe or FIFO. */
long moat_pipe_get_size(int fd);
long moat_pipe_set_size(int fd, unsigned size);
/* tee(2) (in and out pipes) and vmsplice(2) (fd a pipe; iov in the
 * caller's memory, its buffers checked by the caller); nonblock is
 * SPLICE_F_NONBLOCK. */
long moat_tee(int in_fd, int out_fd, size_t len, bool nonblock);
long moat_vmsplice(int fd, const struct linux_iovec *iov, int iovcnt,
                   bool nonblock);

/* poll(2) over the sandbox's files. Entries have the layout of Linux's
 * struct pollfd; events and revents use Linux's POLL* bits. timeout_ns < 0
 * waits forever, 0 not at all. Returns the number of entries whose
 * revents is not 0, or -EINTR when a signal arrives first. Files without
 * readiness of their own (regular files, directories, devices without a
 * poll hook) are always ready, as Linux reports regular files. */
struct moat_pollfd {
  int32_t fd;
  int16_t events;
  int16_t revents;
};
long moat_poll(struct moat_pollfd *fds, size_t nfds, int64_t timeout_ns);

/* epoll(7): create1 flags LINUX_O_CLOEXEC only; ctl ops ADD 1, DEL 2,
 * MOD 3 with Linux's EPOLL* bits (EPOLLET, EPOLLONESHOT, EPOLLEXCLUSIVE
 * accepted); wait fills up to maxevents entries, timeout_ns as moat_poll,
 * -EINTR when a signal arrives first. (The Linux shim converts to and
 * from Linux's packed x86-64 layout, struct linux_epoll_event.) */
struct moat_epoll_event {
  uint32_t events;
  uint64_t data;
};
int moat_epoll_create1(int flags);
int moat_epoll_ctl(int epfd, int op, int fd,
                   const struct moat_epoll_event *event);
long moat_epoll_wait(int epfd, struct moat_epoll_event *events, int maxevents,
                     int64_t timeout_ns);
/* How many items the set holds (one event each at most); -EBADF, -EINVAL. */
long moat_epoll_items(int epfd);
/* eventfd2(2): flags EFD_SEMAPHORE (1), LINUX_O_NONBLOCK, LINUX_O_CLOEXEC. */
int moat_eventfd2(unsigned initval, int flags);
/* inotify (core/inotify.c): flags IN_NONBLOCK|IN_CLOEXEC; mask IN_*. */
int moat_inotify_init1(int flags);
int moat_inotify_add_watch(int fd, const char *path, uint32_t mask);
int moat_inotify_rm_watch(int fd, int wd);
/* signalfd4(2): fd -1 makes a new signalfd, an existing one gets the
 * new mask (SIGKILL, SIGSTOP dropped); flags LINUX_O_NONBLOCK,
 * LINUX_O_CLOEXEC. Reads dequeue the reader's own pending signals. */
int moat_signalfd4(int fd, uint64_t mask, int flags);
/* timerfd_create(2): CLOCK_REALTIME, _MONOTONIC, _BOOTTIME; flags
 * LINUX_O_NONBLOCK, LINUX_O_CLOEXEC. */
int moat_timerfd_create(int clock, int flags);
/* timerfd_settime(2), timerfd_gettime(2): times in ns, [0] the value
 * (relative, or absolute on the timer's clock with TFD_TIMER_ABSTIME; 0
 * disarms), [1] the period. old may be NULL. */
int moat_timerfd_settime(int fd, int flags, const int64_t val[2],
                         int64_t old[2]);
int moat_timerfd_gettime(int fd, int64_t cur[2]);
/* POSIX timers (timer_create(2) & co.): the notification of a struct
 * sigevent (notify SIGEV_SIGNAL 0, SIGEV_NONE 1, SIGEV_THREAD 2 or
 * SIGEV_SIGNAL|SIGEV_THREAD_ID 4), NULL for the default (SIGALRM, the
 * timer's id as value). create returns the id; times as for timerfd. */
struct moat_sigevent {
  uint64_t value;
  int signo;
  int notify;
  int tid;
};
int moat_timer_create(int clock, const struct moat_sigevent *sev);
int moat_timer_settime(int id, int flags, const int64_t val[2], int64_t old[2]);
int moat_timer_gettime(int id, int64_t cur[2]);
int moat_timer_getoverrun(int id);
int moat_timer_delete(int id);

/* Sockets (core/socket.c, core/sock_conn.c, docs/sockets.md): AF_UNIX
 * (pairs, paths, abstract names), AF_INET and AF_INET6 over loopback.
 * type carries LINUX_SOCK_NONBLOCK / LINUX_SOCK_CLOEXEC. Addresses are
 * sockaddr bytes in core memory (the shim copied them, at most 128).
 * Sends and receives take iovecs in core memory whose buffers the shim
 * checked; flags are Linux's MSG_*. A send's address (addr NULL or
 * addrlen 0: none) names a datagram's destination. A receive sets
 * *msg_flags (LINUX_MSG_TRUNC for a cut datagram) and, when addrlen is
 * not NULL, up to *addrlen bytes of the sender's address into addr and
 * *addrlen to its full length (0: none). -ENOTSOCK for a file that is not
 * a socket. */
int moat_socketpair(int domain, int type, int protocol, int sv[2]);
/* Control data of one message. Send: nfds descriptors to pass
 * (SCM_RIGHTS, at most LINUX_SCM_MAX_FD), creds when has_creds
 * (SCM_CREDENTIALS, checked as Linux's scm_check_creds). Receive:
 * control_len (in) is the size of the guest's control buffer (0 for
 * none), which bounds the descriptors handed out after the credentials'
 * message; cloexec (in) asks for MSG_CMSG_CLOEXEC; out: nfds descriptors
 * installed in the caller's table, has_creds with creds when the
 * receiver has SO_PASSCRED, ctrunc when passed descriptors were dropped
 * (no room, EMFILE) and closed. */
struct moat_sock_ctl {
  int nfds;
  uint64_t control_len;
  bool has_creds;
  bool cloexec;
  bool ctrunc;
  struct linux_ucred creds;
  int fds[LINUX_SCM_MAX_FD];
};
/* A flag of moat_sock_recv beside Linux's MSG_*: the guest's buffer is
 * not writable. The receive waits as any other and fails with -EFAULT
 * where it would have copied (Linux checks the buffer only then). */
#define MOAT_MSG_BADBUF 0x80000000u
/* A socket wait with SO_RCVTIMEO/SO_SNDTIMEO cut short by a signal:
 * -EINTR that signal delivery never restarts (signal(7)); the shim's
 * restartable() turns it into plain -EINTR. */
#define MOAT_EINTR_TIMED 600
int moat_socket(int domain, int type, int protocol);
int moat_bind(int fd, const void *addr, uint32_t len);
int moat_listen(int fd, int backlog);
int moat_connect(int fd, const void *addr, uint32_t len);
/* addr/len as a receive's; flags LINUX_SOCK_NONBLOCK | _CLOEXEC. */
int moat_accept4(int fd, void *addr, uint32_t *len, int flags);
long moat_sock_send(int fd, const struct linux_iovec *iov, int iovcnt,
                    int flags, const void *addr, uint32_t addrlen,
                    const struct moat_sock_ctl *ctl);
long moat_sock_recv(int fd, const struct linux_iovec *iov, int iovcnt,
                    int flags, int *msg_flags, void *addr, uint32_t *addrlen,
                    struct moat_sock_ctl *ctl);
int moat_shutdown(int fd, int how);
/* val/len in core memory; len is in-out as socklen_t. */
int moat_getsockopt(int fd, int level, int name, void *val, uint32_t *len);
int moat_setsockopt(int fd, int level, int name, const void *val, uint32_t len);
/* getsockname (peer false) / getpeername: up to *len bytes of the address
 * into addr, *len set to its full length. */
int moat_sock_name(int fd, bool peer, void *addr, uint32_t *len);

/* The sandbox's network interfaces (core/netif.c): lo only. */
struct moat_netif {
  const char *name;
  int index;
  unsigned flags; /* IFF_* */
  unsigned type;  /* ARPHRD_* */
  unsigned mtu, txqlen;
  uint8_t inet[4];
  int inet_prefix;
  uint8_t inet6[16];
  int inet6_prefix;
};
extern const struct moat_netif g_moat_netifs[];
extern const int g_moat_nnetifs;
const struct moat_netif *moat_netif_by_index(int index);
const struct moat_netif *moat_netif_by_name(const char *name);
/* Is request one of the SIOCGIF* interface requests? */
bool moat_netif_request(unsigned request);
/* One SIOCGIF* request (not SIOCGIFCONF) on a socket of family domain,
 * ifr in core memory, as Linux's dev_ioctl/devinet_ioctl. */
int moat_netif_ioctl(int domain, unsigned request, struct linux_ifreq *ifr);

/* Netlink sockets (core/netlink.c): NETLINK_ROUTE, answering the
 * rtnetlink requests that list interfaces and addresses (RTM_GETLINK,
 * RTM_GETADDR) from core/netif.c. type carries LINUX_SOCK_NONBLOCK /
 * CLOEXEC. Addresses are struct linux_sockaddr_nl in core memory; iovecs
 * as moat_sock_send. moat_netlink_fd: 1 when fd is a netlink socket, 0
 * for another file, -EBADF. */
int moat_netlink_socket(int type, int protocol);
int moat_netlink_fd(int fd);
long moat_netlink_send(int fd, const struct linux_iovec *iov, int iovcnt,
                       int flags, const void *addr, uint32_t addrlen);
long moat_netlink_recv(int fd, const struct linux_iovec *iov, int iovcnt,
                       int flags, int *msg_flags, void *addr,
                       uint32_t *addrlen);
int moat_netlink_bind(int fd, const void *addr, uint32_t len);
int moat_netlink_connect(int fd, const void *addr, uint32_t len);
int moat_netlink_name(int fd, bool peer, void *addr, uint32_t *len);
int moat_netlink_getsockopt(int fd, int level, int name, void *val,
                            uint32_t *len);
int moat_netlink_setsockopt(int fd, int level, int name, const void *val,
                            uint32_t len);

/* Read a whole file of the sandbox (for the ELF loader): opens path,
 * checks exec permission when want_exec, returns an fd. */
int moat_open_exec(const char *path, bool want_exec);

/* ---------------------------------------------------------------------
 * Memory: the guest's address space. The core tracks every guest mapping
 * (VMAs) and places them in the guest window; the libOS's own memory is
 * never reachable by a guest mapping call.
 * ------------------------------------------------------------------- */
/* Returns the address, or a negative errno (as a long). */
long moat_mmap(uint64_t addr, size_t len, int prot, int flags, int fd,
               int64_t off);
/* The main stack of a new program (the ELF loader): a fixed private
 * mapping that is not data (RLIMIT_DATA) and not in the commit charge. */
long moat_mmap_stack(uint64_t addr, size_t len, int prot);
int moat_munmap(uint64_t addr, size_t len);
/* exec's point of no return for memory: the calling process's whole
 * guest window is emptied (a vfork child still on its parent's memory
 * gets its own first). */
int moat_mm_exec_reset(void);
int moat_mprotect(uint64_t addr, size_t len, int prot);
long moat_mremap(uint64_t old_addr, size_t old_len, size_t new_len, int flags,
                 uint64_t new_addr);
int moat_madvise(uint64_t addr, size_t len, int advice);
/* flags: MS_ASYNC 1, MS_INVALIDATE 2, MS_SYNC 4. Writes the shared file
 * mappings in the range back to their files. */
int moat_msync(uint64_t addr, size_t len, int flags);
/* Returns the new break (or the current one when the request fails). */
uint64_t moat_brk(uint64_t addr);
/* Set the initial break just above the loaded image (ELF loader). */
void moat_brk_init(uint64_t start);
/* Is [addr, addr+len) entirely mapped in the guest with at least prot
 * (LINUX_PROT_READ / LINUX_PROT_WRITE)? The shim checks every guest
 * pointer with this before the core touches it. */
bool moat_user_ok(uint64_t addr, size_t len, int prot);
/* Copy a NUL-terminated guest string of at most max bytes (including the
 * NUL) into buf. -EFAULT for a bad pointer, -ENAMETOOLONG if too long. */
long moat_user_strncpy(char *buf, uint64_t guest_str, size_t max);
/* Top of the guest window: where the ELF loader puts the initial stack. */
uint64_t moat_stack_top(void);
/* A guest access at addr faulted with SIGSEGV; access is LINUX_PROT_WRITE
 * for a write, LINUX_PROT_READ for a read, a fetch or an unknown kind.
 * Returns 1 when addr is in a page of a file mapping left unfilled because
 * it lay past the end of the file, and the file now covers it: the page
 * is filled and the access may be retried. LINUX_SIGBUS when the page
 * still lies wholly past the end of the file (the guest gets SIGBUS,
 * BUS_ADRERR, as on Linux). 0 otherwise: the SIGSEGV stands. */
int moat_mm_fault(uint64_t addr, int access);
/* mlock's population of [addr, addr+len) (page-aligned): fills the pages
 * of file mappings that are still unfilled, in mappings with some access.
 * -ENOMEM for a hole in the range or a page wholly past the end of its
 * file, as Linux's mlock. */
int moat_mm_populate(uint64_t addr, size_t len);

/* ---------------------------------------------------------------------
 * Processes, identity, limits
 * ------------------------------------------------------------------- */
int moat_getpid(void);
int moat_getppid(void);
int moat_gettid(void);
/* The North shim's own per-thread state: MOAT_NORTH_WORDS words of the
 * calling thread, zero when a thread or process is made, which the core
 * never reads (the Linux shim keeps rt_sigsuspend's caller mask there). */
#define MOAT_NORTH_WORDS 4
uint64_t *moat_north_slot(void);
uint32_t moat_getuid(void);
uint32_t moat_geteuid(void);
uint32_t moat_getgid(void);
uint32_t moat_getegid(void);
int moat_setresuid(uint32_t r, uint32_t e, uint32_t s); /* -1 = keep */
int moat_setresgid(uint32_t r, uint32_t e, uint32_t s);

/* Capabilities (capabilities(7)) of the sandbox's processes, kept per
 * process with Linux's rules: root's sets are full, a uid change away
 * from root clears them, exec recomputes them. They gate what the
 * library OS lets a guest do; the host grants the sandbox none. */
struct moat_caps {
  uint64_t effective, permitted, inheritable;
};
/* Is cap in the calling process's effective set? (true before any
 * process exists: the library OS's own start.) */
bool moat_capable(int cap);
/* The sets of process pid (0: the caller); -ESRCH. */
int moat_capget(int pid, struct moat_caps *out);

/* Scheduling attributes of a thread (sched(7)): the library OS keeps and
 * reports them with Linux's rules (permissions, ranges, inheritance,
 * SCHED_RESET_ON_FORK); the host runs every thread as it is. */
#define MOAT_SCHED_CPU_WORDS 16 /* 1024 CPUs */
struct moat_sched {
  int policy; /* 0 OTHER, 1 FIFO, 2 RR, 3 BATCH, 5 IDLE */
  int prio;   /* 1..99 for FIFO and RR, else 0 */
  int nice;   /* -20..19 */
  bool reset_on_fork;
  int ioprio; /* ioprio_set's value: class << 13 | data */
  /* sched_setaffinity's mask, as the CPUs taken out of it (all zero:
   * every CPU); kept and reported, not enforced. */
  uint64_t cpus_off[MOAT_SCHED_CPU_WORDS];
};
#define MOAT_SCHED_SET_POLICY 1 /* policy, prio and reset_on_fork */
#define MOAT_SCHED_SET_PRIO 2   /* prio only, for the current policy */
#define MOAT_SCHED_SET_NICE 4   /* nice */
#define MOAT_SCHED_SET_IOPRIO                                                  \
  8 /* ioprio (the real-time class needs CAP_SYS_NICE) */
#define MOAT_SCHED_SET_AFFINITY 16 /* cpus_off */
/* Thread tid (0: the caller) of any process of the sandbox; -ESRCH. */
int moat_sched_get(int tid, struct moat_sched *out);
/* -ESRCH; -EINVAL for a bad policy or priority; -EPERM for another
 * user's thread without CAP_SYS_NICE, a real-time policy without it or
 * clearing reset_on_fork without it; -EACCES for a lower nice without
 * it. */
int moat_sched_set(int tid, const struct moat_sched *in, unsigned what);
/* Set the caller's sets: -EPERM unless permitted only shrinks, effective
 * stays within the new permitted set and inheritable within the old
 * inheritable and permitted sets (any, with CAP_SETPCAP) and within the
 * bounding set. */
int moat_capset(const struct moat_caps *in);
/* prctl: PR_CAPBSET_READ/DROP, PR_CAP_AMBIENT (op 1 IS_SET, 2 RAISE,
 * 3 LOWER, 4 CLEAR_ALL), PR_GET/SET_KEEPCAPS (set < 0: get). */
int moat_capbset(int cap, bool drop);
int moat_cap_ambient(int op, int cap);
int moat_keepcaps(int set);
int moat_getgroups(int size, uint32_t *list);
/* Replace the supplementary groups (CAP_SETGID; EINVAL above 65536,
 * ENOMEM above what a process of the sandbox may hold, 128). */
int moat_setgroups(int size, const uint32_t *list);
int moat_uname(struct linux_utsname *out);
int moat_sethostname(const char *name, size_t len);
/* The one store of resource limits: per process (struct proc's rlimit
 * array, core/task.c), inherited by fork, kept across exec. pid 0 is the
 * caller; another pid of the sandbox needs Linux's permission (same real
 * ids, or euid 0). Per-resource side effects (RLIMIT_NOFILE's table size)
 * happen here; readers use task_rlimit (core/task.h). */
int moat_prlimit(int pid, int resource, const struct linux_rlimit *new_limit,
                 struct linux_rlimit *old_limit);
int moat_sysinfo(struct linux_sysinfo *out);
/* Ends every thread of the sandbox process; never returns. */
_Noreturn void moat_exit_group(int status);
/* Record the program the current process runs (its absolute path and
 * arguments) for /proc/self/exe, cmdline, comm and status. The ELF loader
 * calls it after a successful load; argv may be NULL. */
int moat_set_program(const char *path, int argc, const char *const *argv);
/* The environment the program started with (NULL-terminated), for
 * /proc/PID/environ (kept up to 4 KiB, as cmdline). */
int moat_set_environ(const char *const *envp);
/* The calling thread's name (PR_SET_NAME, /proc/self/comm): set cuts it
 * at 15 bytes; get fills 16 bytes, NUL-terminated. */
int moat_set_comm(const char *name);
void moat_get_comm(char out[16]);
/* PR_SET_NO_NEW_PRIVS (set true; it cannot be cleared) and its value. */
bool moat_no_new_privs(bool set);
/* personality(2): set persona (0xffffffff: only ask), return the old one. */
uint32_t moat_personality(uint32_t persona);
/* Add membarrier registrations (bits of the REGISTER commands) to the
 * calling process; returns them all (0 adds nothing). */
uint32_t moat_membarrier_register(uint32_t add);
/* Exit status for death by signal sig (128 + sig). */
_Noreturn void moat_exit_signal(int sig);

/* ---- processes started from outside the sandbox (docs/oci.md, exec) ----
 * What a runtime's `exec` needs: a new guest process that is nobody's
 * child in the sandbox (ppid 0, its own session and process group, no
 * controlling terminal, its caller's standard streams: moat_spawn_stdio),
 * made by a host process of the sandbox that runs no guest task, which
 * learns its end. Handles are small positive numbers. */
#define MOAT_SPAWN_MAX 32 /* such processes at once */
struct moat_spawn {
  uint32_t uid, gid;
  uint32_t ngroups;
  uint32_t groups[MOAT_MAX_GROUPS];
  const char *cwd; /* absolute; NULL: "/" */
};
/* Make the process (not running yet; no descriptors, a working
 * directory that exists): a handle, or -errno with *why (EAGAIN: the
 * task limit, or MOAT_SPAWN_MAX processes from outside). */
int moat_spawn(const struct moat_spawn *s, const char **why);
/* Undo moat_spawn when its host process cannot be made. */
void moat_spawn_cancel(int handle);
/* Its host process: 0 in the child, which is now that process's only
 * thread (load its program next: shim_linux_start); its pid in the
 * caller; -errno (the process is gone, the handle free). */
int moat_spawn_fork(int handle);
/* In that child, once its host standard streams are the caller's: its
 * fds 0..2 become files of them, a set of host streams of its own (a
 * file of another set, the sandbox's first process's stdout reached
 * through /proc/1/fd/1 say, gets EIO here: never the wrong stream). */
int moat_spawn_stdio(void);
/* Wait up to timeout_ns (-1: no limit) for the end of the process of
 * handle: 1 with its wait status in *status (the handle is then free),
 * 0 when it still runs. Also collects the caller's host children. */
int moat_spawn_wait(int handle, int64_t timeout_ns, int *status);
/* Signal sig from outside the sandbox (si_pid 0, SI_USER) to the process
 * of handle, or to pid 1 for handle 0, which as a PID namespace's init
 * is sent only the signals it handles, and SIGKILL and SIGSTOP; sig 0
 * only asks whether it lives. A process without its host process yet
 * keeps the signal until it starts. 0, or -ESRCH when it is gone,
 * -EINVAL for a bad signal. */
int moat_spawn_signal(int handle, int sig);
/* A helper: a new host process of the sandbox that runs no guest task
 * (the exec server, a shepherd), recorded as the sandbox's host
 * processes are, so that its death while holding a lock of the library
 * OS ends the sandbox (status 125) instead of hanging it. 0 in the
 * child, its id in the caller, -errno. */
int moat_helper_fork(void);
/* One ended child of the calling helper, collected (plat_space_reap): its id
 * and *how (a wait status), or 0 when none ended. */
int moat_helper_reap(int *how);

/* ---- processes and threads (docs/processes.md) ---- */
#define MOAT_FORK_VFORK 1 /* the parent waits until the child execs or ends */
/* A new process, a copy of the caller (host fork): returns the child's
 * pid in the parent, 0 in the child; -EAGAIN beyond the task limit. */
int moat_fork(unsigned flags);
/* A new thread of the current process that starts with *regs (the shim
 * sets rax 0, the stack and the thread pointer). flags: the clone flags
 * (CLONE_PARENT_SETTID, CLONE_CHILD_SETTID, CLONE_CHILD_CLEARTID act on
 * ptid / ctid, guest addresses the shim checked). Returns the new tid. */
struct moat_regs;
/* vfork, and clone(CLONE_VM|CLONE_VFORK) without CLONE_THREAD: the child
 * starts with *regs as a thread on the parent's memory (as Linux) and
 * gets its own host process when it execs; the parent sleeps until then
 * or until the child ends. Returns the child's pid. */
int moat_vfork_thread(const struct moat_regs *regs);
/* A new thread of the calling process, starting with *regs: its id.
 * tid_at: guest addresses (0: none) that get the new id (32 bits) before
 * the thread runs; clear_at: a guest address cleared and futex-woken
 * when the thread ends (0: none). */
struct moat_thread_start {
  uint64_t tid_at[2];
  uint64_t clear_at;
};
int moat_clone_thread(const struct moat_regs *regs,
                      const struct moat_thread_start *start);
/* execve: end every other thread of the process first (they leave at
 * their next return to the library OS). 0, or -EAGAIN when one would not
 * leave in time. The calling thread then carries the process's id. */
int moat_exec_single_thread(void);
/* End the calling thread (exit); the last one ends the process. */
_Noreturn void moat_exit_thread(int status);
/* What wait4/waitid report about a child. */
struct moat_wait_info {
  int pid;
  int status; /* wait4's status word */
  int code;   /* CLD_EXITED, CLD_KILLED, CLD_STOPPED, CLD_CONTINUED */
  int value;  /* exit code or signal number */
  uint32_t uid;
  int64_t cpu_ns;     /* a reaped child's CPU time with its waited-for ones */
  int64_t cpu_sys_ns; /* its system-time part */
};
#define MOAT_P_ALL 0
#define MOAT_P_PID 1
#define MOAT_P_PGID 2
/* waitid: options LINUX-style WNOHANG 1, WUNTRACED/WSTOPPED 2, WEXITED 4,
 * WCONTINUED 8, WNOWAIT 0x01000000. Returns the pid (info filled), 0 for
 * WNOHANG with nothing to report, -ECHILD, -EINTR. */
int moat_wait(int idtype, int id, int options, struct moat_wait_info *info);
/* CPU time (ns) of the calling process's waited-for children, theirs
 * included (getrusage RUSAGE_CHILDREN, times). */
int64_t moat_children_cpu_ns(int64_t *sys_ns);
/* CPU time (ns) of the calling process, its waited-for children or the
 * calling thread; *sys_ns (optional) gets its system-time part. */
#define MOAT_CPU_SELF 0
#define MOAT_CPU_CHILDREN (-1)
#define MOAT_CPU_THREAD 1
int64_t moat_cpu_ns(int who, int64_t *sys_ns);
/* The core's part of north_interrupt: a reader of /proc/<pid>/stat in
 * another process may have kicked this thread for its process's CPU time,
 * which the core then publishes (core/task.c). */
void moat_interrupted(void);
/* A guest system call of the calling thread begins and ends (the North
 * shim brackets each one): what the core fetched from the host during
 * one call may serve the rest of that call (hostfs's attributes,
 * DESIGN.md "Host files"), never a later one. */
void moat_call_begin(void);
void moat_call_end(void);
int moat_setpgid(int pid, int pgid);
int moat_getpgid(int pid);
int moat_setsid(void);
int moat_getsid(int pid);
int moat_set_pdeathsig(int sig);
int moat_get_pdeathsig(void);
/* prctl flags of the calling process: the old value; set < 0 reads. */
#define MOAT_PRCTL_SUBREAPER 0    /* PR_SET_CHILD_SUBREAPER */
#define MOAT_PRCTL_THP 1          /* PR_SET_THP_DISABLE */
#define MOAT_PRCTL_NOT_DUMPABLE 2 /* PR_SET_DUMPABLE 0 */
int moat_prctl_flag(int which, int set);
/* PR_SET/GET_TIMERSLACK of the calling thread: the old slack (50 us by
 * default); (uint64_t)-1 reads only, 0 restores the default. */
uint64_t moat_timer_slack(uint64_t ns);
/* PR_GET_TID_ADDRESS: the calling thread's clear_child_tid address. */
uint64_t moat_clear_tid_address(void);
/* setfsuid/setfsgid: the old id; the new one is taken when it is one of
 * the real, effective, saved or file-system ids or with CAP_SETUID/GID
 * (an fsuid leaving 0 drops the file capabilities, reaching it raises
 * them from the permitted set). */
uint32_t moat_setfsid(bool group, uint32_t id);
int moat_setdomainname(const char *name, size_t len);
/* set_tid_address: returns the tid. */
int moat_set_tid_address(uint64_t addr);
int moat_set_robust_list(uint64_t head, uint64_t len);
int moat_get_robust_list(int tid, uint64_t *head, uint64_t *len);
/* futex_waitv(2): one entry per 32-bit futex word (the shim checks the
 * flags); deadline_ns absolute on clock (REALTIME or MONOTONIC), or < 0
 * for none. The index of the futex woken, or -EAGAIN (a word differs),
 * -ETIMEDOUT, -EINTR, -EFAULT. */
struct moat_futex_waiter {
  uint64_t uaddr;
  uint32_t val;
  bool private_key;
};
long moat_futex_waitv(const struct moat_futex_waiter *ws, int n,
                      int64_t deadline_ns, int clock);
/* Futex words in guest memory (the core checks the addresses; a word is
 * 4-byte aligned, else -EINVAL). shared: the word may be shared between
 * processes (keyed by the memory, not the address space). */
/* Sleep while *uaddr == val, until woken by a wake whose bitset meets
 * bitset (non-zero), deadline_ns (absolute on clock, MOAT's
 * LINUX_CLOCK_REALTIME or _MONOTONIC; < 0: none), or a signal: 0,
 * -EAGAIN (the word differed), -ETIMEDOUT, -EINTR, -EFAULT. */
long moat_futex_wait(uint64_t uaddr, uint32_t val, bool shared,
                     int64_t deadline_ns, int clock, uint32_t bitset);
/* Wake up to count (< 0: all) waiters whose bitset meets bitset: how
 * many. */
long moat_futex_wake(uint64_t uaddr, bool shared, int count, uint32_t bitset);
/* Wake nwake waiters of uaddr and move up to nmove others to uaddr2;
 * with cmp, only while *uaddr == expected (else -EAGAIN). */
long moat_futex_requeue(uint64_t uaddr, uint64_t uaddr2, bool shared, int nwake,
                        int nmove, bool cmp, uint32_t expected);
/* Linux's FUTEX_WAKE_OP with its encoded op (an atomic operation on
 * *uaddr2 and a comparison of its old value): wake nwake of uaddr and,
 * when the comparison holds, nwake2 of uaddr2. */
long moat_futex_wake_op(uint64_t uaddr, uint64_t uaddr2, bool shared, int nwake,
                        int nwake2, uint32_t op);
/* ITIMER_REAL (setitimer, alarm) in nanoseconds: value 0 disarms,
 * interval 0 is one-shot. The old setting (remaining time) goes to
 * old_value/old_interval when not NULL. */
int moat_itimer_real(const int64_t *value, const int64_t *interval,
                     int64_t *old_value, int64_t *old_interval);
/* setitimer/getitimer (value NULL: only read) of any of the three timers,
 * as moat_itimer_real: MOAT_ITIMER_REAL, MOAT_ITIMER_VIRTUAL (SIGVTALRM
 * after the process's user CPU time) or MOAT_ITIMER_PROF (SIGPROF after
 * its user and system CPU time). A CPU timer keeps its interval while
 * disarmed, as Linux. -EINVAL for another which or a negative time. */
#define MOAT_ITIMER_REAL 0
#define MOAT_ITIMER_VIRTUAL 1
#define MOAT_ITIMER_PROF 2
int moat_itimer(int which, const int64_t *value, const int64_t *interval,
                int64_t *old_value, int64_t *old_interval);
/* Send sig with info to a process / a thread (rt_sigqueueinfo,
 * rt_tgsigqueueinfo). */
int moat_sigqueue(int pid, int tid, const struct linux_siginfo *info);
/* System V IPC (core/sysv_ipc.c, docs/ipc.md): message queues and
 * semaphore sets of the sandbox, with Linux's x86-64 structures (struct
 * ipc64_perm, msqid64_ds, semid64_ds, msginfo, seminfo). Keys and flags
 * as msgget(2)/semget(2); errors as Linux. Blocking calls return
 * -ERESTARTNOHAND when a signal interrupts them. */
struct moat_ipc_perm {
  int32_t key;
  uint32_t uid, gid, cuid, cgid, mode;
  uint16_t seq, pad;
  uint64_t unused[2];
};
struct moat_msqid_ds {
  struct moat_ipc_perm perm;
  int64_t stime, rtime, ctime;
  uint64_t cbytes, qnum, qbytes;
  int32_t lspid, lrpid;
  uint64_t unused[2];
};
struct moat_semid_ds {
  struct moat_ipc_perm perm;
  int64_t otime;
  uint64_t unused1;
  int64_t ctime;
  uint64_t unused2;
  uint64_t nsems;
  uint64_t unused[2];
};
struct moat_msginfo {
  int32_t msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql;
  uint16_t msgseg, pad;
};
struct moat_seminfo {
  int32_t semmap, semmni, semmns, semmnu, semmsl, semopm, semume, semusz,
      semvmx, semaem;
};
struct moat_sembuf {
  uint16_t num;
  int16_t op;
  int16_t flg;
};
/* semctl's argument, in the kernel: ds for IPC_STAT/SET/SEM_STAT, info
 * for IPC_INFO/SEM_INFO, val for SETVAL, values (room for nvalues) for
 * GETALL/SETALL; GETALL sets nvalues to the set's size. */
struct moat_semctl_arg {
  struct moat_semid_ds ds;
  struct moat_seminfo info;
  int val;
  int nvalues;
  uint16_t *values;
};
int moat_msgget(int32_t key, int flags);
long moat_msgsnd(int id, long mtype, const void *text, size_t size, int flags);
/* Copies at most size bytes of the message's text into text (a kernel
 * buffer) and its type into *out_mtype: the number of bytes. */
long moat_msgrcv(int id, void *text, size_t size, long type, int flags,
                 long *out_mtype);
int moat_msgctl(int id, int cmd, struct moat_msqid_ds *buf,
                struct moat_msginfo *info);
int moat_semget(int32_t key, int nsems, int flags);
/* timeout_ns < 0: no timeout (semop). */
int moat_semtimedop(int id, const struct moat_sembuf *ops, size_t nsops,
                    int64_t timeout_ns);
int moat_semctl(int id, int semnum, int cmd, struct moat_semctl_arg *arg);
/* Shared memory: struct shmid64_ds, and for IPC_INFO struct shminfo64
 * (a..e: shmmax, shmmin, shmmni, shmseg, shmall) or for SHM_INFO struct
 * shm_info (used_ids; a, b: shm_tot, shm_rss in pages). shmat returns
 * the address. */
struct moat_shmid_ds {
  struct moat_ipc_perm perm;
  uint64_t segsz;
  int64_t atime, dtime, ctime;
  int32_t cpid, lpid;
  uint64_t nattch;
  uint64_t unused[2];
};
struct moat_shminfo {
  int32_t used_ids, pad;
  uint64_t a, b, c, d, e;
  uint64_t unused[3];
};
int moat_shmget(int32_t key, uint64_t size, int flags);
long moat_shmat(int id, uint64_t addr, int flags);
int moat_shmdt(uint64_t addr);
int moat_shmctl(int id, int cmd, struct moat_shmid_ds *buf,
                struct moat_shminfo *info);
/* The number of semaphores of set id, or -EINVAL. */
int moat_semnsems(int id);
/* pidfds (core/pidfd.c). open: flags LINUX_O_NONBLOCK only, the fd is
 * close-on-exec. send_signal: info NULL for kill's, flags 0. getfd: the
 * same open file description as targetfd of the process, close-on-exec.
 * pid: the pid a pidfd names (-ECHILD once reaped, -EBADF for another
 * kind of fd) and whether it is non-blocking. */
int moat_pidfd_open(int pid, unsigned flags);
int moat_pidfd_send_signal(int fd, int sig, const struct linux_siginfo *info,
                           unsigned flags);
int moat_pidfd_getfd(int fd, int targetfd, unsigned flags);

/* kcmp(2): do the processes of threads pid1 and pid2 share the object of kind
 * type (MOAT_KCMP_*, Linux's KCMP_* numbers)? 0 the same, 1 or 2 an
 * order of two different ones (the same every time in the sandbox), or
 * -ESRCH (no such process), -EPERM (not the caller's real ids, without
 * CAP_SYS_PTRACE), -EBADF (a descriptor that is not open), -ENOENT (no
 * such epoll item), -EFAULT (slot NULL for MOAT_KCMP_EPOLL_TFD: the
 * caller could not read it; before the descriptors), -EINVAL (type).
 * MOAT_KCMP_FILE compares descriptor idx1 of pid1 with idx2 of pid2;
 * MOAT_KCMP_EPOLL_TFD descriptor idx1 of pid1 with the file registered in
 * pid2's epoll set slot->efd under slot->tfd (the slot->toff-th such item). I/O
 * contexts and semaphore undo lists are not shared by clone in moat: those
 * kinds compare as the same, as Linux's answer for tasks that have neither. */
enum {
  MOAT_KCMP_FILE,
  MOAT_KCMP_VM,
  MOAT_KCMP_FILES,
  MOAT_KCMP_FS,
  MOAT_KCMP_SIGHAND,
  MOAT_KCMP_IO,
  MOAT_KCMP_SYSVSEM,
  MOAT_KCMP_EPOLL_TFD,
  MOAT_KCMP_TYPES
};
struct moat_kcmp_slot {
  uint32_t efd, tfd, toff;
};
int moat_kcmp(int tid1, int tid2, int type, int idx1, int idx2,
              const struct moat_kcmp_slot *slot);
int moat_pidfd_pid(int fd, bool *nonblock);

/* ---------------------------------------------------------------------
 * Time and randomness
 * ------------------------------------------------------------------- */
int moat_clock_gettime(int clock, struct linux_timespec *ts);
int moat_clock_getres(int clock, struct linux_timespec *ts);
/* flags: LINUX_TIMER_ABSTIME; rem may be NULL. -EINTR when a signal
 * arrives (rem then holds what was left). */
int moat_clock_nanosleep(int clock, int flags, const struct linux_timespec *req,
                         struct linux_timespec *rem);
/* 0 when clock_nanosleep can sleep on clock; -EOPNOTSUPP for a clock
 * without a sleep, -EINVAL for one that does not exist. */
int moat_clock_sleep_check(int clock);
long moat_getrandom(void *buf, size_t len, unsigned flags);

/* ---------------------------------------------------------------------
 * Signals: state lives in the core, delivery (frames) in the North shim.
 * ------------------------------------------------------------------- */
int moat_sigaction(int sig, const struct linux_sigaction *act,
                   struct linux_sigaction *old);
int moat_sigprocmask(int how, const uint64_t *set, uint64_t *old);
/* The set rt_sigtimedwait waits for, 0 when it is done: a signal of it is
 * queued even when ignored, as Linux's real_blocked makes it. */
void moat_sigwait_set(uint64_t set);
int moat_sigpending(uint64_t *out);
/* Is a signal pending that will end the calling process (SIGKILL, an
 * exit_group of another thread, or an unblocked signal whose action is
 * to terminate)? Long loops that Linux would not interrupt for other
 * signals (regular-file I/O, sendfile, getrandom) stop early on it. */
bool moat_fatal_pending(void);
int moat_sigaltstack(const struct linux_stack *ss, struct linux_stack *old);
/* Send sig to process pid (this sandbox's pids only). */
int moat_kill(int pid, int sig);
int moat_tgkill(int tgid, int tid, int sig);
/* Take the lowest pending unblocked signal of the current thread: returns
 * its number and fills info and the action to run, or 0 when none. */
int moat_signal_dequeue(struct linux_siginfo *info,
                        struct linux_sigaction *action);
/* Queue a signal raised by a fault or by the core itself to the current
 * thread. */
int moat_signal_raise(const struct linux_siginfo *info);

/* ---------------------------------------------------------------------
 * Diagnostics
 * ------------------------------------------------------------------- */
/* Formatted output to the host's error stream (the core's own printf:
 * %d %i %u %x %lx %ld %lu %llx %lld %llu %zu %zd %s %c %p %%, widths and
 * 0/- flags). */
void moat_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
