/* Our own copies of the Linux x86-64 ABI constants and structures that the
 * core API and the Linux shim speak. Freestanding: no host header may be
 * included here, so the core builds for any South platform. */
#ifndef MOAT_LINUX_ABI_H
#define MOAT_LINUX_ABI_H

#include <stddef.h>
#include <stdint.h>

/* ---- errno (negative values are returned everywhere) ---- */
#define LINUX_EPERM 1
#define LINUX_ENOENT 2
#define LINUX_ESRCH 3
#define LINUX_EINTR 4
#define LINUX_EIO 5
#define LINUX_ENXIO 6
#define LINUX_E2BIG 7
#define LINUX_ENOEXEC 8
#define LINUX_EBADF 9
#define LINUX_ECHILD 10
#define LINUX_EAGAIN 11
#define LINUX_ENOMEM 12
#define LINUX_EACCES 13
#define LINUX_EFAULT 14
#define LINUX_ENOTBLK 15
#define LINUX_EBUSY 16
#define LINUX_EEXIST 17
#define LINUX_EXDEV 18
#define LINUX_ENODEV 19
#define LINUX_ENOTDIR 20
#define LINUX_EISDIR 21
#define LINUX_EINVAL 22
#define LINUX_ENFILE 23
#define LINUX_EMFILE 24
#define LINUX_ENOTTY 25
#define LINUX_ETXTBSY 26
#define LINUX_EFBIG 27
#define LINUX_ENOSPC 28
#define LINUX_ESPIPE 29
#define LINUX_EROFS 30
#define LINUX_EMLINK 31
#define LINUX_EPIPE 32
#define LINUX_EDOM 33
#define LINUX_ERANGE 34
#define LINUX_EDEADLK 35
#define LINUX_ENAMETOOLONG 36
#define LINUX_ENOLCK 37
#define LINUX_ENOSYS 38
#define LINUX_ENOTEMPTY 39
#define LINUX_ELOOP 40
#define LINUX_ENOMSG 42
#define LINUX_EIDRM 43
#define LINUX_ENODATA 61
#define LINUX_ETIME 62
#define LINUX_EOVERFLOW 75
#define LINUX_EBADFD 77
#define LINUX_EILSEQ 84
#define LINUX_ENOTSOCK 88
#define LINUX_EDESTADDRREQ 89
#define LINUX_EMSGSIZE 90
#define LINUX_EPROTOTYPE 91
#define LINUX_ENOPROTOOPT 92
#define LINUX_EPROTONOSUPPORT 93
#define LINUX_ESOCKTNOSUPPORT 94
#define LINUX_EOPNOTSUPP 95
#define LINUX_EAFNOSUPPORT 97
#define LINUX_EADDRINUSE 98
#define LINUX_EADDRNOTAVAIL 99
#define LINUX_ENETUNREACH 101
#define LINUX_ECONNABORTED 103
#define LINUX_ECONNRESET 104
#define LINUX_ENOBUFS 105
#define LINUX_ETOOMANYREFS 109
#define LINUX_EISCONN 106
#define LINUX_ENOTCONN 107
#define LINUX_ETIMEDOUT 110
#define LINUX_ECONNREFUSED 111
#define LINUX_EALREADY 114
#define LINUX_EINPROGRESS 115
#define LINUX_ESTALE 116
#define LINUX_EDQUOT 122
#define LINUX_ECANCELED 125
/* kernel-internal restart codes, never seen by a guest */
#define LINUX_ERESTARTSYS 512
#define LINUX_ERESTARTNOINTR 513
#define LINUX_ERESTARTNOHAND 514
#define LINUX_ERESTART_RESTARTBLOCK 516

/* ---- open flags ---- */
#define LINUX_O_ACCMODE 00000003
#define LINUX_O_RDONLY 00000000
#define LINUX_O_WRONLY 00000001
#define LINUX_O_RDWR 00000002
#define LINUX_O_CREAT 00000100
#define LINUX_O_EXCL 00000200
#define LINUX_O_NOCTTY 00000400
#define LINUX_O_TRUNC 00001000
#define LINUX_O_APPEND 00002000
#define LINUX_O_NONBLOCK 00004000
#define LINUX_O_DSYNC 00010000
#define LINUX_O_ASYNC 00020000
#define LINUX_O_DIRECT 00040000
#define LINUX_O_LARGEFILE 00100000
#define LINUX_O_DIRECTORY 00200000
#define LINUX_O_NOFOLLOW 00400000
#define LINUX_O_NOATIME 01000000
#define LINUX_O_CLOEXEC 02000000
#define LINUX_O_SYNC 04010000
#define LINUX_O_PATH 010000000
#define LINUX_O_TMPFILE 020200000

/* fallocate(2) modes */
#define LINUX_FALLOC_FL_KEEP_SIZE 0x01
#define LINUX_FALLOC_FL_PUNCH_HOLE 0x02
#define LINUX_FALLOC_FL_NO_HIDE_STALE 0x04
#define LINUX_FALLOC_FL_COLLAPSE_RANGE 0x08
#define LINUX_FALLOC_FL_ZERO_RANGE 0x10
#define LINUX_FALLOC_FL_INSERT_RANGE 0x20
#define LINUX_FALLOC_FL_UNSHARE_RANGE 0x40
#define LINUX_FALLOC_FL_WRITE_ZEROES 0x80

#define LINUX_AT_FDCWD (-100)
#define LINUX_AT_SYMLINK_NOFOLLOW 0x100
#define LINUX_AT_REMOVEDIR 0x200
#define LINUX_AT_EACCESS 0x200
#define LINUX_AT_SYMLINK_FOLLOW 0x400
#define LINUX_AT_NO_AUTOMOUNT 0x800
#define LINUX_AT_EMPTY_PATH 0x1000
#define LINUX_AT_STATX_SYNC_TYPE 0x6000

#define LINUX_RENAME_NOREPLACE 1
#define LINUX_RENAME_EXCHANGE 2
#define LINUX_RENAME_WHITEOUT 4

#define LINUX_F_OK 0
#define LINUX_X_OK 1
#define LINUX_W_OK 2
#define LINUX_R_OK 4

#define LINUX_SEEK_SET 0
#define LINUX_SEEK_CUR 1
#define LINUX_SEEK_END 2
#define LINUX_SEEK_DATA 3
#define LINUX_SEEK_HOLE 4

/* ---- fcntl ---- */
#define LINUX_F_DUPFD 0
#define LINUX_F_GETFD 1
#define LINUX_F_SETFD 2
#define LINUX_F_GETFL 3
#define LINUX_F_SETFL 4
#define LINUX_F_GETLK 5
#define LINUX_F_SETLK 6
#define LINUX_F_SETLKW 7
#define LINUX_F_SETOWN 8
#define LINUX_F_GETOWN 9
#define LINUX_F_SETSIG 10
#define LINUX_F_GETSIG 11
#define LINUX_F_SETOWN_EX 15
#define LINUX_F_GETOWN_EX 16
#define LINUX_F_OWNER_TID 0
#define LINUX_F_OWNER_PID 1
#define LINUX_F_OWNER_PGRP 2
struct linux_f_owner_ex {
  int32_t type;
  int32_t pid;
};
#define LINUX_F_OFD_GETLK 36
#define LINUX_F_OFD_SETLK 37
#define LINUX_F_OFD_SETLKW 38
#define LINUX_F_DUPFD_CLOEXEC 1030
#define LINUX_F_SETPIPE_SZ 1031
#define LINUX_F_GETPIPE_SZ 1032
#define LINUX_F_SETLEASE 1024
#define LINUX_F_GETLEASE 1025
#define LINUX_F_NOTIFY 1026
#define LINUX_F_ADD_SEALS 1033
#define LINUX_F_GET_SEALS 1034
#define LINUX_FD_CLOEXEC 1
/* struct flock as x86-64 Linux lays it out, and its lock types */
struct linux_flock {
  int16_t l_type;
  int16_t l_whence;
  int32_t pad;
  int64_t l_start;
  int64_t l_len;
  int32_t l_pid;
  int32_t pad2;
};
#define LINUX_F_RDLCK 0
#define LINUX_F_WRLCK 1
#define LINUX_F_UNLCK 2
/* flock(2)'s operations */
#define LINUX_LOCK_SH 1
#define LINUX_LOCK_EX 2
#define LINUX_LOCK_NB 4
#define LINUX_LOCK_UN 8
#define LINUX_LOCK_MAND 32

/* ---- file modes ---- */
#define LINUX_S_IFMT 0170000
#define LINUX_S_IFSOCK 0140000
#define LINUX_S_IFLNK 0120000
#define LINUX_S_IFREG 0100000
#define LINUX_S_IFBLK 0060000
#define LINUX_S_IFDIR 0040000
#define LINUX_S_IFCHR 0020000
#define LINUX_S_IFIFO 0010000
#define LINUX_S_ISUID 04000
#define LINUX_S_ISGID 02000
#define LINUX_S_ISVTX 01000
#define LINUX_S_ISTYPE(m, t) (((m)&LINUX_S_IFMT) == (t))

#define LINUX_DT_UNKNOWN 0
#define LINUX_DT_FIFO 1
#define LINUX_DT_CHR 2
#define LINUX_DT_DIR 4
#define LINUX_DT_BLK 6
#define LINUX_DT_REG 8
#define LINUX_DT_LNK 10
#define LINUX_DT_SOCK 12

#define LINUX_UTIME_NOW ((1l << 30) - 1l)
#define LINUX_UTIME_OMIT ((1l << 30) - 2l)

#define LINUX_PATH_MAX 4096
/* extended attributes (linux/limits.h, linux/xattr.h) */
#define LINUX_XATTR_CREATE 0x1
#define LINUX_XATTR_REPLACE 0x2
#define LINUX_XATTR_NAME_MAX 255
#define LINUX_XATTR_SIZE_MAX 65536
#define LINUX_XATTR_LIST_MAX 65536
#define LINUX_NAME_MAX 255
#define LINUX_SYMLOOP_MAX 40

struct linux_timespec {
  int64_t tv_sec;
  int64_t tv_nsec;
};

struct linux_timeval {
  int64_t tv_sec;
  int64_t tv_usec;
};

struct linux_stat { /* x86-64 struct stat */
  uint64_t st_dev;
  uint64_t st_ino;
  uint64_t st_nlink;
  uint32_t st_mode;
  uint32_t st_uid;
  uint32_t st_gid;
  uint32_t pad0;
  uint64_t st_rdev;
  int64_t st_size;
  int64_t st_blksize;
  int64_t st_blocks;
  struct linux_timespec st_atim;
  struct linux_timespec st_mtim;
  struct linux_timespec st_ctim;
  int64_t reserved[3];
};

struct linux_statx_timestamp {
  int64_t tv_sec;
  uint32_t tv_nsec;
  int32_t reserved;
};

struct linux_statx {
  uint32_t stx_mask;
  uint32_t stx_blksize;
  uint64_t stx_attributes;
  uint32_t stx_nlink;
  uint32_t stx_uid;
  uint32_t stx_gid;
  uint16_t stx_mode;
  uint16_t spare0;
  uint64_t stx_ino;
  uint64_t stx_size;
  uint64_t stx_blocks;
  uint64_t stx_attributes_mask;
  struct linux_statx_timestamp stx_atime;
  struct linux_statx_timestamp stx_btime;
  struct linux_statx_timestamp stx_ctime;
  struct linux_statx_timestamp stx_mtime;
  uint32_t stx_rdev_major;
  uint32_t stx_rdev_minor;
  uint32_t stx_dev_major;
  uint32_t stx_dev_minor;
  uint64_t stx_mnt_id;
  uint32_t stx_dio_mem_align;
  uint32_t stx_dio_offset_align;
  uint64_t spare3[12];
};

#define LINUX_STATX_TYPE 0x1u
#define LINUX_STATX_MODE 0x2u
#define LINUX_STATX_NLINK 0x4u
#define LINUX_STATX_UID 0x8u
#define LINUX_STATX_GID 0x10u
#define LINUX_STATX_ATIME 0x20u
#define LINUX_STATX_MTIME 0x40u
#define LINUX_STATX_CTIME 0x80u
#define LINUX_STATX_INO 0x100u
#define LINUX_STATX_SIZE 0x200u
#define LINUX_STATX_BLOCKS 0x400u
#define LINUX_STATX_BASIC_STATS 0x7ffu
#define LINUX_STATX_BTIME 0x800u
#define LINUX_STATX_MNT_ID 0x1000u
#define LINUX_STATX_DIOALIGN 0x2000u
#define LINUX_STATX_MNT_ID_UNIQUE 0x4000u
#define LINUX_STATX_ATTR_COMPRESSED 0x4ull
#define LINUX_STATX_ATTR_IMMUTABLE 0x10ull
#define LINUX_STATX_ATTR_APPEND 0x20ull
#define LINUX_STATX_ATTR_NODUMP 0x40ull
#define LINUX_STATX_ATTR_AUTOMOUNT 0x1000ull
#define LINUX_STATX_ATTR_MOUNT_ROOT 0x2000ull
#define LINUX_STATX_ATTR_DAX 0x200000ull

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  uint16_t d_reclen;
  uint8_t d_type;
  char d_name[];
};

struct linux_statfs {
  int64_t f_type;
  int64_t f_bsize;
  uint64_t f_blocks;
  uint64_t f_bfree;
  uint64_t f_bavail;
  uint64_t f_files;
  uint64_t f_ffree;
  int32_t f_fsid[2];
  int64_t f_namelen;
  int64_t f_frsize;
  int64_t f_flags;
  int64_t f_spare[4];
};

struct linux_iovec {
  void *iov_base;
  size_t iov_len;
};

struct linux_utsname {
  char sysname[65];
  char nodename[65];
  char release[65];
  char version[65];
  char machine[65];
  char domainname[65];
};

struct linux_sysinfo {
  int64_t uptime;
  uint64_t loads[3];
  uint64_t totalram;
  uint64_t freeram;
  uint64_t sharedram;
  uint64_t bufferram;
  uint64_t totalswap;
  uint64_t freeswap;
  uint16_t procs;
  uint16_t pad;
  uint64_t totalhigh;
  uint64_t freehigh;
  uint32_t mem_unit;
};

struct linux_rlimit {
  uint64_t rlim_cur;
  uint64_t rlim_max;
};
#define LINUX_RLIM_INFINITY (~0ull)
#define LINUX_RLIMIT_CPU 0
#define LINUX_RLIMIT_FSIZE 1
#define LINUX_RLIMIT_DATA 2
#define LINUX_RLIMIT_STACK 3
#define LINUX_RLIMIT_CORE 4
#define LINUX_RLIMIT_RSS 5
#define LINUX_RLIMIT_NPROC 6
#define LINUX_RLIMIT_NOFILE 7
#define LINUX_RLIMIT_MEMLOCK 8
#define LINUX_RLIMIT_AS 9
#define LINUX_RLIMIT_NLIMITS 16

/* ---- memory ---- */
#define LINUX_PROT_NONE 0
#define LINUX_PROT_READ 1
#define LINUX_PROT_WRITE 2
#define LINUX_PROT_EXEC 4
#define LINUX_MAP_SHARED 0x01
#define LINUX_MAP_PRIVATE 0x02
#define LINUX_MAP_SHARED_VALIDATE 0x03
#define LINUX_MAP_TYPE 0x0f
#define LINUX_MAP_FIXED 0x10
#define LINUX_MAP_ANONYMOUS 0x20
#define LINUX_MAP_GROWSDOWN 0x0100
#define LINUX_MAP_DENYWRITE 0x0800
#define LINUX_MAP_EXECUTABLE 0x1000
#define LINUX_MAP_LOCKED 0x2000
#define LINUX_MAP_NORESERVE 0x4000
#define LINUX_MAP_POPULATE 0x8000
#define LINUX_MAP_NONBLOCK 0x10000
#define LINUX_MAP_STACK 0x20000
#define LINUX_MAP_HUGETLB 0x40000
#define LINUX_MAP_32BIT 0x40
#define LINUX_MADV_REMOVE 9
#define LINUX_PROT_SEM 0x8
#define LINUX_PROT_GROWSDOWN 0x01000000
#define LINUX_PROT_GROWSUP 0x02000000
#define LINUX_MAP_FIXED_NOREPLACE 0x100000
#define LINUX_MREMAP_MAYMOVE 1
#define LINUX_MREMAP_FIXED 2
#define LINUX_MREMAP_DONTUNMAP 4
#define LINUX_MADV_NORMAL 0
#define LINUX_MADV_RANDOM 1
#define LINUX_MADV_SEQUENTIAL 2
#define LINUX_MADV_WILLNEED 3
#define LINUX_MADV_DONTNEED 4
#define LINUX_MADV_FREE 8
#define LINUX_PAGE_SIZE 4096ul

/* ---- time ---- */
#define LINUX_CLOCK_REALTIME 0
#define LINUX_CLOCK_MONOTONIC 1
#define LINUX_CLOCK_PROCESS_CPUTIME_ID 2
#define LINUX_CLOCK_THREAD_CPUTIME_ID 3

/* capabilities(7) */
#define LINUX_CAP_CHOWN 0
#define LINUX_CAP_DAC_OVERRIDE 1
#define LINUX_CAP_DAC_READ_SEARCH 2
#define LINUX_CAP_FOWNER 3
#define LINUX_CAP_FSETID 4
#define LINUX_CAP_KILL 5
#define LINUX_CAP_SETGID 6
#define LINUX_CAP_SETUID 7
#define LINUX_CAP_SETPCAP 8
#define LINUX_CAP_LINUX_IMMUTABLE 9
#define LINUX_CAP_IPC_OWNER 15
#define LINUX_CAP_SYS_PTRACE 19
#define LINUX_CAP_SYS_CHROOT 18
#define LINUX_CAP_SYS_ADMIN 21
#define LINUX_CAP_SYS_NICE 23
#define LINUX_CAP_SYS_RESOURCE 24
#define LINUX_CAP_MKNOD 27
#define LINUX_CAP_SETFCAP 31
#define LINUX_CAP_MAC_OVERRIDE 32
#define LINUX_CAP_LAST_CAP 40
#define LINUX_CAP_ALL ((1ull << (LINUX_CAP_LAST_CAP + 1)) - 1)
#define LINUX_CLOCK_MONOTONIC_RAW 4
#define LINUX_CLOCK_REALTIME_COARSE 5
#define LINUX_CLOCK_MONOTONIC_COARSE 6
#define LINUX_CLOCK_BOOTTIME 7
#define LINUX_CLOCK_REALTIME_ALARM 8
#define LINUX_CLOCK_BOOTTIME_ALARM 9
#define LINUX_CLOCK_TAI 11
#define LINUX_TIMER_ABSTIME 1

/* ---- signals ---- */
#define LINUX_NSIG 64
#define LINUX_SIGHUP 1
#define LINUX_SIGINT 2
#define LINUX_SIGQUIT 3
#define LINUX_SIGILL 4
#define LINUX_SIGTRAP 5
#define LINUX_SIGABRT 6
#define LINUX_SIGBUS 7
#define LINUX_SIGFPE 8
#define LINUX_SIGKILL 9
#define LINUX_SIGUSR1 10
#define LINUX_SIGSEGV 11
#define LINUX_SIGUSR2 12
#define LINUX_SIGPIPE 13
#define LINUX_SIGALRM 14
#define LINUX_SIGTERM 15
#define LINUX_SIGSTKFLT 16
#define LINUX_SIGCHLD 17
#define LINUX_SIGCONT 18
#define LINUX_SIGSTOP 19
#define LINUX_SIGTSTP 20
#define LINUX_SIGTTIN 21
#define LINUX_SIGTTOU 22
#define LINUX_SIGURG 23
#define LINUX_SIGXCPU 24
#define LINUX_SIGXFSZ 25
#define LINUX_SIGVTALRM 26
#define LINUX_SIGPROF 27
#define LINUX_SIGWINCH 28
#define LINUX_SIGIO 29
#define LINUX_SIGPWR 30
#define LINUX_SIGSYS 31
#define LINUX_SIGRTMIN 32

#define LINUX_SIG_DFL ((uint64_t)0)
#define LINUX_SIG_IGN ((uint64_t)1)
#define LINUX_SA_NOCLDSTOP 0x00000001u
#define LINUX_SA_NOCLDWAIT 0x00000002u
#define LINUX_SA_SIGINFO 0x00000004u
#define LINUX_SA_RESTORER 0x04000000u
#define LINUX_SA_ONSTACK 0x08000000u
#define LINUX_SA_RESTART 0x10000000u
#define LINUX_SA_NODEFER 0x40000000u
#define LINUX_SA_RESETHAND 0x80000000u
#define LINUX_SIG_BLOCK 0
#define LINUX_SIG_UNBLOCK 1
#define LINUX_SIG_SETMASK 2
#define LINUX_SIGBIT(sig) (1ull << ((sig)-1))

/* what rt_sigaction passes: the kernel's struct, not libc's */
struct linux_sigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};

struct linux_stack {
  void *ss_sp;
  int32_t ss_flags;
  int32_t pad;
  size_t ss_size;
};
#define LINUX_SS_ONSTACK 1
#define LINUX_SS_DISABLE 2
#define LINUX_MINSIGSTKSZ 2048

struct linux_siginfo {
  int32_t si_signo;
  int32_t si_errno;
  int32_t si_code;
  int32_t pad0;
  union {
    struct {
      int32_t pid;
      uint32_t uid;
      int32_t status; /* SIGCHLD */
      int32_t pad;
      int64_t utime, stime;
    } kill;
    struct {
      uint64_t addr; /* SIGSEGV, SIGBUS, SIGILL, SIGFPE */
    } fault;
    struct {
      int32_t tid;
      int32_t overrun;
      uint64_t value;
    } timer;
    char pad[128 - 16];
  } u;
};
#define LINUX_SI_USER 0
#define LINUX_SI_KERNEL 0x80
#define LINUX_ILL_ILLOPN 2
#define LINUX_SI_QUEUE (-1)
#define LINUX_SI_TIMER (-2)
#define LINUX_SI_TKILL (-6)
#define LINUX_SEGV_MAPERR 1
#define LINUX_SEGV_ACCERR 2
#define LINUX_BUS_ADRERR 2 /* a page past the end of a mapped file */

/* ---- terminals ---- */
#define LINUX_TCGETS 0x5401
#define LINUX_TCSETS 0x5402
#define LINUX_TCSETSW 0x5403
#define LINUX_TCSETSF 0x5404
#define LINUX_TIOCSCTTY 0x540E
#define LINUX_TIOCGPGRP 0x540F
#define LINUX_TIOCSPGRP 0x5410
#define LINUX_TIOCGWINSZ 0x5413
#define LINUX_TIOCSWINSZ 0x5414
#define LINUX_FIONREAD 0x541B /* SIOCINQ */
#define LINUX_TIOCOUTQ 0x5411 /* SIOCOUTQ */
#define LINUX_FIONBIO 0x5421
#define LINUX_FIOCLEX 0x5451
#define LINUX_FIONCLEX 0x5450
#define LINUX_TCSBRK 0x5409
#define LINUX_TCXONC 0x540A
#define LINUX_TCFLSH 0x540B
#define LINUX_TIOCEXCL 0x540C
#define LINUX_TIOCNXCL 0x540D
#define LINUX_TIOCSTI 0x5412
#define LINUX_TIOCPKT 0x5420
#define LINUX_TIOCNOTTY 0x5422
#define LINUX_TIOCSETD 0x5423
#define LINUX_TIOCGETD 0x5424
#define LINUX_TCSBRKP 0x5425
#define LINUX_TIOCGSID 0x5429
#define LINUX_TIOCGPTN 0x80045430u
#define LINUX_TIOCGPKT 0x80045438u
#define LINUX_TIOCPKT_DATA 0
#define LINUX_TIOCPKT_FLUSHREAD 1
#define LINUX_TIOCPKT_FLUSHWRITE 2
#define LINUX_TIOCPKT_STOP 4
#define LINUX_TIOCPKT_START 8
#define LINUX_TIOCPKT_NOSTOP 16
#define LINUX_TIOCPKT_DOSTOP 32
#define LINUX_TIOCSPTLCK 0x40045431u
#define LINUX_TIOCGPTLCK 0x80045439u
#define LINUX_TIOCGEXCL 0x80045440u
#define LINUX_TIOCGPTPEER 0x5441

/* termios flags (c_iflag, c_oflag, c_cflag, c_lflag) and c_cc indexes */
#define LINUX_ISTRIP 0000040
#define LINUX_INLCR 0000100
#define LINUX_IGNCR 0000200
#define LINUX_ICRNL 0000400
#define LINUX_IUCLC 0001000
#define LINUX_IXON 0002000
#define LINUX_IXANY 0004000
#define LINUX_IUTF8 0040000
#define LINUX_OPOST 0000001
#define LINUX_OLCUC 0000002
#define LINUX_ONLCR 0000004
#define LINUX_OCRNL 0000010
#define LINUX_ONOCR 0000020
#define LINUX_ONLRET 0000040
#define LINUX_TABDLY 0014000
#define LINUX_XTABS 0014000
#define LINUX_B38400 0000017
#define LINUX_CSIZE 0000060
#define LINUX_CS8 0000060
#define LINUX_CREAD 0000200
#define LINUX_PARENB 0000400
#define LINUX_ISIG 0000001
#define LINUX_ICANON 0000002
#define LINUX_ECHO 0000010
#define LINUX_ECHOE 0000020
#define LINUX_ECHOK 0000040
#define LINUX_ECHONL 0000100
#define LINUX_NOFLSH 0000200
#define LINUX_TOSTOP 0000400
#define LINUX_ECHOCTL 0001000
#define LINUX_ECHOPRT 0002000
#define LINUX_ECHOKE 0004000
#define LINUX_IEXTEN 0100000
#define LINUX_VINTR 0
#define LINUX_VQUIT 1
#define LINUX_VERASE 2
#define LINUX_VKILL 3
#define LINUX_VEOF 4
#define LINUX_VTIME 5
#define LINUX_VMIN 6
#define LINUX_VSTART 8
#define LINUX_VSTOP 9
#define LINUX_VSUSP 10
#define LINUX_VEOL 11
#define LINUX_VREPRINT 12
#define LINUX_VWERASE 14
#define LINUX_VLNEXT 15
#define LINUX_VEOL2 16

struct linux_termios {
  uint32_t c_iflag;
  uint32_t c_oflag;
  uint32_t c_cflag;
  uint32_t c_lflag;
  uint8_t c_line;
  uint8_t c_cc[19];
};

struct linux_winsize {
  uint16_t ws_row;
  uint16_t ws_col;
  uint16_t ws_xpixel;
  uint16_t ws_ypixel;
};

/* ---- misc ---- */
#define LINUX_GRND_NONBLOCK 1
#define LINUX_GRND_RANDOM 2
#define LINUX_ARCH_SET_GS 0x1001
#define LINUX_ARCH_SET_FS 0x1002
#define LINUX_ARCH_GET_FS 0x1003
#define LINUX_ARCH_GET_GS 0x1004
#define LINUX_ARCH_GET_CPUID 0x1011
#define LINUX_ARCH_SET_CPUID 0x1012

/* auxv */
#define LINUX_AT_NULL 0
#define LINUX_AT_IGNORE 1
#define LINUX_AT_EXECFD 2
#define LINUX_AT_PHDR 3
#define LINUX_AT_PHENT 4
#define LINUX_AT_PHNUM 5
#define LINUX_AT_PAGESZ 6
#define LINUX_AT_BASE 7
#define LINUX_AT_FLAGS 8
#define LINUX_AT_ENTRY 9
#define LINUX_AT_UID 11
#define LINUX_AT_EUID 12
#define LINUX_AT_GID 13
#define LINUX_AT_EGID 14
#define LINUX_AT_PLATFORM 15
#define LINUX_AT_HWCAP 16
#define LINUX_AT_CLKTCK 17
#define LINUX_AT_SECURE 23
#define LINUX_AT_RANDOM 25
#define LINUX_AT_HWCAP2 26
#define LINUX_AT_EXECFN 31
#define LINUX_AT_SYSINFO_EHDR 33
#define LINUX_AT_MINSIGSTKSZ 51

/* The sizes Linux's x86-64 ABI fixes; a mismatch here would corrupt guest
 * memory, so the build refuses it. */
_Static_assert(sizeof(struct linux_stat) == 144, "struct stat");
_Static_assert(sizeof(struct linux_statx) == 256, "struct statx");
_Static_assert(sizeof(struct linux_statfs) == 120, "struct statfs");
_Static_assert(sizeof(struct linux_sysinfo) == 112, "struct sysinfo");
_Static_assert(sizeof(struct linux_utsname) == 390, "struct utsname");
_Static_assert(sizeof(struct linux_sigaction) == 32, "struct sigaction");
_Static_assert(sizeof(struct linux_siginfo) == 128, "siginfo_t");
_Static_assert(sizeof(struct linux_stack) == 24, "stack_t");
_Static_assert(sizeof(struct linux_termios) == 36, "struct termios");
_Static_assert(sizeof(struct linux_winsize) == 8, "struct winsize");
_Static_assert(sizeof(struct linux_rlimit) == 16, "struct rlimit");
_Static_assert(sizeof(struct linux_flock) == 32, "struct flock");
_Static_assert(offsetof(struct linux_flock, l_pid) == 24, "struct flock");
_Static_assert(offsetof(struct linux_dirent64, d_name) == 19, "dirent64");

/* Sockets. */
#define LINUX_AF_UNIX 1
#define LINUX_SOCK_STREAM 1
#define LINUX_SOCK_DGRAM 2
#define LINUX_SOCK_SEQPACKET 5
#define LINUX_SOCK_NONBLOCK 04000
#define LINUX_SOCK_CLOEXEC 02000000
#define LINUX_MSG_OOB 0x1
#define LINUX_MSG_PEEK 0x2
#define LINUX_MSG_TRUNC 0x20
#define LINUX_MSG_DONTWAIT 0x40
#define LINUX_MSG_WAITALL 0x100
#define LINUX_MSG_NOSIGNAL 0x4000
#define LINUX_MSG_CMSG_CLOEXEC 0x40000000
#define LINUX_SOL_SOCKET 1
#define LINUX_SO_TYPE 3
#define LINUX_SO_ERROR 4
#define LINUX_SO_SNDBUF 7
#define LINUX_SO_RCVBUF 8
#define LINUX_SO_PEERCRED 17
#define LINUX_SO_ACCEPTCONN 30
#define LINUX_SO_PROTOCOL 38
#define LINUX_SO_DOMAIN 39
#define LINUX_AF_UNSPEC 0
#define LINUX_AF_INET 2
#define LINUX_AF_INET6 10
/* The most one read or write moves (Linux's MAX_RW_COUNT: INT_MAX rounded
 * down to a page). */
#define LINUX_MAX_RW_COUNT 0x7ffff000ul
#define LINUX_SOCK_RAW 3
#define LINUX_IPPROTO_IP 0
#define LINUX_IPPROTO_TCP 6
#define LINUX_IPPROTO_UDP 17
#define LINUX_IPPROTO_IPV6 41
#define LINUX_SO_REUSEADDR 2
#define LINUX_SO_DONTROUTE 5
#define LINUX_SO_BROADCAST 6
#define LINUX_SO_KEEPALIVE 9
#define LINUX_SO_OOBINLINE 10
#define LINUX_SO_PRIORITY 12
#define LINUX_SO_LINGER 13
#define LINUX_SO_REUSEPORT 15
#define LINUX_SO_PASSCRED 16
#define LINUX_SO_RCVLOWAT 18
#define LINUX_SO_SNDLOWAT 19
#define LINUX_IP_TOS 1
#define LINUX_IP_TTL 2
#define LINUX_IPV6_UNICAST_HOPS 16
#define LINUX_IPV6_V6ONLY 26
#define LINUX_IPV6_TCLASS 67
#define LINUX_TCP_NODELAY 1
#define LINUX_TCP_MAXSEG 2
#define LINUX_TCP_KEEPIDLE 4
#define LINUX_TCP_KEEPINTVL 5
#define LINUX_TCP_KEEPCNT 6
#define LINUX_TCP_INFO 11
#define LINUX_TCP_QUICKACK 12
#define LINUX_TCP_USER_TIMEOUT 18
#define LINUX_SOMAXCONN 4096
#define LINUX_POLLWRBAND 0x200
#define LINUX_POLLRDHUP 0x2000

struct linux_ucred {
  int32_t pid;
  uint32_t uid, gid;
};

struct linux_msghdr {
  uint64_t msg_name;
  uint32_t msg_namelen;
  uint32_t pad0;
  uint64_t msg_iov;
  uint64_t msg_iovlen;
  uint64_t msg_control;
  uint64_t msg_controllen;
  int32_t msg_flags;
  uint32_t pad1;
};

/* Netlink and network interfaces (core/netlink.c, core/netif.c). */
#define LINUX_AF_NETLINK 16
#define LINUX_AF_PACKET 17
#define LINUX_SOCK_RAW 3
#define LINUX_NETLINK_ROUTE 0
#define LINUX_SOL_NETLINK 270
#define LINUX_SO_RCVBUFFORCE 33
#define LINUX_SO_SNDBUFFORCE 32
#define LINUX_SIOCGIFNAME 0x8910
#define LINUX_SIOCGIFCONF 0x8912
#define LINUX_SIOCGIFFLAGS 0x8913
#define LINUX_SIOCGIFADDR 0x8915
#define LINUX_SIOCGIFDSTADDR 0x8917
#define LINUX_SIOCGIFBRDADDR 0x8919
#define LINUX_SIOCGIFNETMASK 0x891b
#define LINUX_SIOCGIFMETRIC 0x891d
#define LINUX_SIOCGIFMTU 0x8921
#define LINUX_SIOCGIFHWADDR 0x8927
#define LINUX_SIOCGIFINDEX 0x8933
#define LINUX_SIOCGIFTXQLEN 0x8942
#define LINUX_IFNAMSIZ 16

/* struct ifreq: a name, then a 24-byte union (sockaddr, flags, index,
 * mtu ...). */
struct linux_ifreq {
  char ifr_name[LINUX_IFNAMSIZ];
  union {
    struct {
      uint16_t family;
      uint8_t data[14];
    } addr;
    int16_t flags;
    int32_t ivalue; /* ifindex, mtu, metric, qlen */
    uint8_t raw[24];
  } u;
};

struct linux_ifconf {
  int32_t ifc_len;
  uint32_t pad;
  uint64_t ifc_buf;
};

struct linux_sockaddr_nl {
  uint16_t nl_family;
  uint16_t nl_pad;
  uint32_t nl_pid;
  uint32_t nl_groups;
};

struct linux_nlmsghdr {
  uint32_t nlmsg_len;
  uint16_t nlmsg_type;
  uint16_t nlmsg_flags;
  uint32_t nlmsg_seq;
  uint32_t nlmsg_pid;
};

_Static_assert(sizeof(struct linux_ifreq) == 40, "struct ifreq");
_Static_assert(sizeof(struct linux_ifconf) == 16, "struct ifconf");

/* Control messages and the options around them (SCM_RIGHTS,
 * SCM_CREDENTIALS, SO_PASSCRED, timeouts, sendmmsg/recvmmsg). */
#define LINUX_MSG_CTRUNC 0x8
#define LINUX_MSG_EOR 0x80
#define LINUX_MSG_WAITFORONE 0x10000
#define LINUX_SCM_RIGHTS 1
#define LINUX_SCM_CREDENTIALS 2
#define LINUX_SCM_MAX_FD 253
#define LINUX_UIO_MAXIOV 1024
#define LINUX_SO_PASSCRED 16
#define LINUX_SO_RCVTIMEO_OLD 20
#define LINUX_SO_SNDTIMEO_OLD 21
#define LINUX_SO_RCVTIMEO_NEW 66
#define LINUX_SO_SNDTIMEO_NEW 67

struct linux_cmsghdr {
  uint64_t cmsg_len;
  int32_t cmsg_level;
  int32_t cmsg_type;
};

struct linux_mmsghdr {
  struct linux_msghdr msg_hdr;
  uint32_t msg_len;
  uint32_t pad;
};
_Static_assert(sizeof(struct linux_msghdr) == 56, "struct msghdr");
_Static_assert(sizeof(struct linux_mmsghdr) == 64, "struct mmsghdr");
_Static_assert(sizeof(struct linux_cmsghdr) == 16, "struct cmsghdr");

/* clone(2) flags */
#define LINUX_CLONE_CHILD_CLEARTID 0x00200000ull
#define LINUX_CLONE_CHILD_SETTID 0x01000000ull
#define LINUX_CLONE_DETACHED 0x00400000ull
#define LINUX_CLONE_FILES 0x00000400ull
#define LINUX_CLONE_FS 0x00000200ull
#define LINUX_CLONE_IO 0x80000000ull
#define LINUX_CLONE_NEWCGROUP 0x02000000ull
#define LINUX_CLONE_NEWIPC 0x08000000ull
#define LINUX_CLONE_NEWNET 0x40000000ull
#define LINUX_CLONE_NEWNS 0x00020000ull
#define LINUX_CLONE_NEWPID 0x20000000ull
#define LINUX_CLONE_NEWUSER 0x10000000ull
#define LINUX_CLONE_NEWUTS 0x04000000ull
#define LINUX_CLONE_PARENT 0x00008000ull
#define LINUX_CLONE_PARENT_SETTID 0x00100000ull
#define LINUX_CLONE_PIDFD 0x00001000ull
#define LINUX_CLONE_PTRACE 0x00002000ull
#define LINUX_CLONE_SETTLS 0x00080000ull
#define LINUX_CLONE_SIGHAND 0x00000800ull
#define LINUX_CLONE_SYSVSEM 0x00040000ull
#define LINUX_CLONE_THREAD 0x00010000ull
#define LINUX_CLONE_UNTRACED 0x00800000ull
#define LINUX_CLONE_VFORK 0x00004000ull
#define LINUX_CLONE_VM 0x00000100ull

/* futex(2) and futex_waitv(2) */
#define LINUX_FUTEX2_NUMA 0x04u
#define LINUX_FUTEX2_PRIVATE 128u
#define LINUX_FUTEX2_SIZE_MASK 0x03u
#define LINUX_FUTEX2_SIZE_U32 0x02u
#define LINUX_FUTEX_CLOCK_REALTIME 256
#define LINUX_FUTEX_CMD_MASK 0x7f
#define LINUX_FUTEX_CMP_REQUEUE 4
#define LINUX_FUTEX_LOCK_PI 6
#define LINUX_FUTEX_OWNER_DIED 0x40000000u
#define LINUX_FUTEX_PRIVATE 128
#define LINUX_FUTEX_REQUEUE 3
#define LINUX_FUTEX_TID_MASK 0x3fffffffu
#define LINUX_FUTEX_WAIT 0
#define LINUX_FUTEX_WAITERS 0x80000000u
#define LINUX_FUTEX_WAIT_BITSET 9
#define LINUX_FUTEX_WAKE 1
#define LINUX_FUTEX_WAKE_BITSET 10
#define LINUX_FUTEX_WAKE_OP 5

/* epoll_event on x86-64: packed (12 bytes) */
struct linux_epoll_event {
  uint32_t events;
  uint64_t data;
} __attribute__((packed));

#endif
