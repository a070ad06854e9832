/* --strace for the Linux shim: prints each guest syscall as strace does,
 * `name(decoded args) = result`, on the host's error stream. Arguments are
 * decoded from the argument types in syscall_table.h; guest memory is
 * only read after moat_user_ok() says it is there. Also the errno and
 * signal name tables that strace and messages share. */
#include "shim.h"

#define STRACE_STRLEN 32
#define STRACE_LINE 512

struct line {
  char buf[STRACE_LINE];
  size_t len;
};

static void put(struct line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(struct line *l, const char *fmt, ...) {
  va_list ap;
  int n;
  if (l->len >= sizeof(l->buf) - 1)
    return;
  va_start(ap, fmt);
  n = rt_vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
  va_end(ap);
  if (n > 0)
    l->len = MIN(l->len + (size_t)n, sizeof(l->buf) - 1);
}

/* ---- names ----------------------------------------------------------- */

struct errno_entry {
  const char *name;
  const char *text;
};

static const struct errno_entry g_errnos[] = {
    [LINUX_EPERM] = {"EPERM", "Operation not permitted"},
    [LINUX_ENOENT] = {"ENOENT", "No such file or directory"},
    [LINUX_ESRCH] = {"ESRCH", "No such process"},
    [LINUX_EINTR] = {"EINTR", "Interrupted system call"},
    [LINUX_EIO] = {"EIO", "Input/output error"},
    [LINUX_ENXIO] = {"ENXIO", "No such device or address"},
    [LINUX_E2BIG] = {"E2BIG", "Argument list too long"},
    [LINUX_ENOEXEC] = {"ENOEXEC", "Exec format error"},
    [LINUX_EBADF] = {"EBADF", "Bad file descriptor"},
    [LINUX_ECHILD] = {"ECHILD", "No child processes"},
    [LINUX_EAGAIN] = {"EAGAIN", "Resource temporarily unavailable"},
    [LINUX_ENOMEM] = {"ENOMEM", "Cannot allocate memory"},
    [LINUX_EACCES] = {"EACCES", "Permission denied"},
    [LINUX_EFAULT] = {"EFAULT", "Bad address"},
    [LINUX_ENOTBLK] = {"ENOTBLK", "Block device required"},
    [LINUX_EBUSY] = {"EBUSY", "Device or resource busy"},
    [LINUX_EEXIST] = {"EEXIST", "File exists"},
    [LINUX_EXDEV] = {"EXDEV", "Invalid cross-device link"},
    [LINUX_ENODEV] = {"ENODEV", "No such device"},
    [LINUX_ENOTDIR] = {"ENOTDIR", "Not a directory"},
    [LINUX_EISDIR] = {"EISDIR", "Is a directory"},
    [LINUX_EINVAL] = {"EINVAL", "Invalid argument"},
    [LINUX_ENFILE] = {"ENFILE", "Too many open files in system"},
    [LINUX_EMFILE] = {"EMFILE", "Too many open files"},
    [LINUX_ENOTTY] = {"ENOTTY", "Inappropriate ioctl for device"},
    [LINUX_ETXTBSY] = {"ETXTBSY", "Text file busy"},
    [LINUX_EFBIG] = {"EFBIG", "File too large"},
    [LINUX_ENOSPC] = {"ENOSPC", "No space left on device"},
    [LINUX_ESPIPE] = {"ESPIPE", "Illegal seek"},
    [LINUX_EROFS] = {"EROFS", "Read-only file system"},
    [LINUX_EMLINK] = {"EMLINK", "Too many links"},
    [LINUX_EPIPE] = {"EPIPE", "Broken pipe"},
    [LINUX_EDOM] = {"EDOM", "Numerical argument out of domain"},
    [LINUX_ERANGE] = {"ERANGE", "Numerical result out of range"},
    [LINUX_EDEADLK] = {"EDEADLK", "Resource deadlock avoided"},
    [LINUX_ENAMETOOLONG] = {"ENAMETOOLONG", "File name too long"},
    [LINUX_ENOLCK] = {"ENOLCK", "No locks available"},
    [LINUX_ENOSYS] = {"ENOSYS", "Function not implemented"},
    [LINUX_ENOTEMPTY] = {"ENOTEMPTY", "Directory not empty"},
    [LINUX_ELOOP] = {"ELOOP", "Too many levels of symbolic links"},
    [LINUX_ENOMSG] = {"ENOMSG", "No message of desired type"},
    [LINUX_ENODATA] = {"ENODATA", "No data available"},
    [LINUX_ETIME] = {"ETIME", "Timer expired"},
    [80] = {"ELIBBAD", "Accessing a corrupted shared library"},
    [LINUX_EOVERFLOW] = {"EOVERFLOW", "Value too large for defined data type"},
    [LINUX_EBADFD] = {"EBADFD", "File descriptor in bad state"},
    [LINUX_EILSEQ] = {"EILSEQ", "Invalid or incomplete multibyte or wide "
                                "character"},
    [LINUX_ENOTSOCK] = {"ENOTSOCK", "Socket operation on non-socket"},
    [LINUX_EDESTADDRREQ] = {"EDESTADDRREQ", "Destination address required"},
    [LINUX_EMSGSIZE] = {"EMSGSIZE", "Message too long"},
    [LINUX_EPROTOTYPE] = {"EPROTOTYPE", "Protocol wrong type for socket"},
    [LINUX_ENOPROTOOPT] = {"ENOPROTOOPT", "Protocol not available"},
    [LINUX_EPROTONOSUPPORT] = {"EPROTONOSUPPORT", "Protocol not supported"},
    [LINUX_EOPNOTSUPP] = {"EOPNOTSUPP", "Operation not supported"},
    [LINUX_EAFNOSUPPORT] = {"EAFNOSUPPORT",
                            "Address family not supported by protocol"},
    [LINUX_EADDRINUSE] = {"EADDRINUSE", "Address already in use"},
    [LINUX_EADDRNOTAVAIL] = {"EADDRNOTAVAIL",
                             "Cannot assign requested address"},
    [LINUX_ENETUNREACH] = {"ENETUNREACH", "Network is unreachable"},
    [LINUX_ECONNABORTED] = {"ECONNABORTED", "Software caused connection abort"},
    [LINUX_ECONNRESET] = {"ECONNRESET", "Connection reset by peer"},
    [LINUX_ENOBUFS] = {"ENOBUFS", "No buffer space available"},
    [LINUX_EISCONN] = {"EISCONN", "Transport endpoint is already connected"},
    [LINUX_ENOTCONN] = {"ENOTCONN", "Transport endpoint is not connected"},
    [LINUX_ETIMEDOUT] = {"ETIMEDOUT", "Connection timed out"},
    [LINUX_ECONNREFUSED] = {"ECONNREFUSED", "Connection refused"},
    [LINUX_EALREADY] = {"EALREADY", "Operation already in progress"},
    [LINUX_EINPROGRESS] = {"EINPROGRESS", "Operation now in progress"},
    [LINUX_ESTALE] = {"ESTALE", "Stale file handle"},
    [LINUX_EDQUOT] = {"EDQUOT", "Disk quota exceeded"},
    [LINUX_ECANCELED] = {"ECANCELED", "Operation canceled"},
};

const char *shim_errno_name(int err) {
  if (err > 0 && (size_t)err < ARRAY_SIZE(g_errnos) && g_errnos[err].name)
    return g_errnos[err].name;
  return NULL;
}

const char *shim_errno_text(int err) {
  if (err > 0 && (size_t)err < ARRAY_SIZE(g_errnos) && g_errnos[err].text)
    return g_errnos[err].text;
  return "Unknown error";
}

static const char *const g_signames[] = {
    NULL,      "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",    "SIGTRAP",
    "SIGABRT", "SIGBUS",  "SIGFPE",    "SIGKILL", "SIGUSR1",   "SIGSEGV",
    "SIGUSR2", "SIGPIPE", "SIGALRM",   "SIGTERM", "SIGSTKFLT", "SIGCHLD",
    "SIGCONT", "SIGSTOP", "SIGTSTP",   "SIGTTIN", "SIGTTOU",   "SIGURG",
    "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH",  "SIGIO",
    "SIGPWR",  "SIGSYS",
};

const char *shim_signal_name(int sig) {
  /* Constant strings only: threads may trace at the same time. */
  static const char *const rt[] = {
      "SIGRT_1",  "SIGRT_2",  "SIGRT_3",  "SIGRT_4",  "SIGRT_5",  "SIGRT_6",
      "SIGRT_7",  "SIGRT_8",  "SIGRT_9",  "SIGRT_10", "SIGRT_11", "SIGRT_12",
      "SIGRT_13", "SIGRT_14", "SIGRT_15", "SIGRT_16", "SIGRT_17", "SIGRT_18",
      "SIGRT_19", "SIGRT_20", "SIGRT_21", "SIGRT_22", "SIGRT_23", "SIGRT_24",
      "SIGRT_25", "SIGRT_26", "SIGRT_27", "SIGRT_28", "SIGRT_29", "SIGRT_30",
      "SIGRT_31", "SIGRT_32"};
  if (sig > 0 && (size_t)sig < ARRAY_SIZE(g_signames))
    return g_signames[sig];
  if (sig == LINUX_SIGRTMIN)
    return "SIGRTMIN";
  if (sig > LINUX_SIGRTMIN && sig <= LINUX_NSIG)
    return rt[sig - LINUX_SIGRTMIN - 1];
  return "SIG?";
}

/* ---- flag sets ---------------------------------------------------------- */

struct flag_name {
  uint64_t bit;
  const char *name;
};

static void put_flags(struct line *l, uint64_t v, const struct flag_name *f,
                      size_t n, const char *zero) {
  bool first = true;
  for (size_t i = 0; i < n; i++) {
    if ((v & f[i].bit) == f[i].bit && f[i].bit) {
      put(l, "%s%s", first ? "" : "|", f[i].name);
      v &= ~f[i].bit;
      first = false;
    }
  }
  if (v || first) {
    if (first && !v && zero)
      put(l, "%s", zero);
    else
      put(l, "%s0x%llx", first ? "" : "|", (unsigned long long)v);
  }
}

#define FLAG(x)                                                                \
  { LINUX_##x, #x }

static const struct flag_name g_oflags[] = {
    FLAG(O_CREAT),    FLAG(O_EXCL),     FLAG(O_NOCTTY),    FLAG(O_TRUNC),
    FLAG(O_APPEND),   FLAG(O_NONBLOCK), FLAG(O_SYNC),      FLAG(O_DSYNC),
    FLAG(O_ASYNC),    FLAG(O_DIRECT),   FLAG(O_LARGEFILE), FLAG(O_DIRECTORY),
    FLAG(O_NOFOLLOW), FLAG(O_NOATIME),  FLAG(O_CLOEXEC),   FLAG(O_TMPFILE),
    FLAG(O_PATH),
};

static void put_oflags(struct line *l, uint64_t v) {
  static const char *const acc[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "0x3"};
  put(l, "%s", acc[v & LINUX_O_ACCMODE]);
  v &= ~(uint64_t)LINUX_O_ACCMODE;
  if (v) {
    put(l, "|");
    put_flags(l, v, g_oflags, ARRAY_SIZE(g_oflags), NULL);
  }
}

static const struct flag_name g_atflags[] = {
    FLAG(AT_SYMLINK_NOFOLLOW), FLAG(AT_REMOVEDIR),  FLAG(AT_SYMLINK_FOLLOW),
    FLAG(AT_NO_AUTOMOUNT),     FLAG(AT_EMPTY_PATH),
};

static const struct flag_name g_prot[] = {
    FLAG(PROT_READ),
    FLAG(PROT_WRITE),
    FLAG(PROT_EXEC),
};

static const struct flag_name g_mapflags[] = {
    FLAG(MAP_FIXED),     FLAG(MAP_ANONYMOUS),  FLAG(MAP_GROWSDOWN),
    FLAG(MAP_DENYWRITE), FLAG(MAP_EXECUTABLE), FLAG(MAP_LOCKED),
    FLAG(MAP_NORESERVE), FLAG(MAP_POPULATE),   FLAG(MAP_NONBLOCK),
    FLAG(MAP_STACK),     FLAG(MAP_HUGETLB),    FLAG(MAP_FIXED_NOREPLACE),
};

static void put_mapflags(struct line *l, uint64_t v) {
  switch (v & LINUX_MAP_TYPE) {
  case LINUX_MAP_SHARED:
    put(l, "MAP_SHARED");
    break;
  case LINUX_MAP_PRIVATE:
    put(l, "MAP_PRIVATE");
    break;
  case LINUX_MAP_SHARED_VALIDATE:
    put(l, "MAP_SHARED_VALIDATE");
    break;
  default:
    put(l, "0x%llx", (unsigned long long)(v & LINUX_MAP_TYPE));
  }
  v &= ~(uint64_t)LINUX_MAP_TYPE;
  if (v) {
    put(l, "|");
    put_flags(l, v, g_mapflags, ARRAY_SIZE(g_mapflags), NULL);
  }
}

static const char *pick(uint64_t v, const char *const *names, size_t n) {
  return v < n ? names[v] : NULL;
}

static void put_enum(struct line *l, uint64_t v, const char *const *names,
                     size_t n) {
  const char *s = pick(v, names, n);
  if (s)
    put(l, "%s", s);
  else
    put(l, "%lld", (long long)(int)v);
}

static const char *const g_whence[] = {"SEEK_SET", "SEEK_CUR", "SEEK_END",
                                       "SEEK_DATA", "SEEK_HOLE"};
static const char *const g_sighow[] = {"SIG_BLOCK", "SIG_UNBLOCK",
                                       "SIG_SETMASK"};
static const char *const g_clocks[] = {
    "CLOCK_REALTIME",           "CLOCK_MONOTONIC",
    "CLOCK_PROCESS_CPUTIME_ID", "CLOCK_THREAD_CPUTIME_ID",
    "CLOCK_MONOTONIC_RAW",      "CLOCK_REALTIME_COARSE",
    "CLOCK_MONOTONIC_COARSE",   "CLOCK_BOOTTIME"};
static const char *const g_rlimits[] = {
    "RLIMIT_CPU",      "RLIMIT_FSIZE", "RLIMIT_DATA",   "RLIMIT_STACK",
    "RLIMIT_CORE",     "RLIMIT_RSS",   "RLIMIT_NPROC",  "RLIMIT_NOFILE",
    "RLIMIT_MEMLOCK",  "RLIMIT_AS",    "RLIMIT_LOCKS",  "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO", "RLIMIT_RTTIME"};
static const char *const g_fcntl[] = {
    "F_DUPFD", "F_GETFD", "F_SETFD",  "F_GETFL",  "F_SETFL",
    "F_GETLK", "F_SETLK", "F_SETLKW", "F_SETOWN", "F_GETOWN"};

static void put_fcntl(struct line *l, uint64_t v) {
  switch ((int)v) {
  case LINUX_F_DUPFD_CLOEXEC:
    put(l, "F_DUPFD_CLOEXEC");
    return;
  case LINUX_F_OFD_GETLK:
    put(l, "F_OFD_GETLK");
    return;
  case LINUX_F_OFD_SETLK:
    put(l, "F_OFD_SETLK");
    return;
  case LINUX_F_OFD_SETLKW:
    put(l, "F_OFD_SETLKW");
    return;
  case LINUX_F_SETPIPE_SZ:
    put(l, "F_SETPIPE_SZ");
    return;
  case LINUX_F_GETPIPE_SZ:
    put(l, "F_GETPIPE_SZ");
    return;
  default:
    put_enum(l, v, g_fcntl, ARRAY_SIZE(g_fcntl));
  }
}

static void put_ioctl(struct line *l, uint64_t v) {
  static const struct flag_name reqs[] = {
      FLAG(TCGETS),     FLAG(TCSETS),    FLAG(TCSETSW),   FLAG(TCSETSF),
      FLAG(TIOCSCTTY),  FLAG(TIOCGPGRP), FLAG(TIOCSPGRP), FLAG(TIOCGWINSZ),
      FLAG(TIOCSWINSZ), FLAG(FIONREAD),  FLAG(FIONBIO),   FLAG(FIOCLEX),
      FLAG(FIONCLEX),
  };
  for (size_t i = 0; i < ARRAY_SIZE(reqs); i++) {
    if (reqs[i].bit == (uint32_t)v) {
      put(l, "%s", reqs[i].name);
      return;
    }
  }
  put(l, "0x%x", (unsigned)v);
}

static void put_archprctl(struct line *l, uint64_t v) {
  switch ((int)v) {
  case LINUX_ARCH_SET_GS:
    put(l, "ARCH_SET_GS");
    return;
  case LINUX_ARCH_SET_FS:
    put(l, "ARCH_SET_FS");
    return;
  case LINUX_ARCH_GET_FS:
    put(l, "ARCH_GET_FS");
    return;
  case LINUX_ARCH_GET_GS:
    put(l, "ARCH_GET_GS");
    return;
  default:
    put(l, "0x%llx", (unsigned long long)v);
  }
}

/* ---- guest data ---------------------------------------------------------- */

static void put_escaped(struct line *l, const char *s, size_t n, bool more) {
  put(l, "\"");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '\n':
      put(l, "\\n");
      break;
    case '\t':
      put(l, "\\t");
      break;
    case '\r':
      put(l, "\\r");
      break;
    case '\v':
      put(l, "\\v");
      break;
    case '\f':
      put(l, "\\f");
      break;
    case '"':
      put(l, "\\\"");
      break;
    case '\\':
      put(l, "\\\\");
      break;
    default:
      if (c >= 0x20 && c < 0x7f)
        put(l, "%c", c);
      else
        put(l, "\\%o", c);
    }
  }
  put(l, "\"%s", more ? "..." : "");
}

static void put_ptr(struct line *l, uint64_t v) {
  if (!v)
    put(l, "NULL");
  else
    put(l, "0x%llx", (unsigned long long)v);
}

/* A NUL-terminated guest string, read a byte range at a time so that a
 * string ending just before an unmapped page still prints. */
static void put_guest_string(struct line *l, uint64_t p) {
  char s[STRACE_STRLEN + 1];
  size_t n = 0;
  if (!p) {
    put(l, "NULL");
    return;
  }
  while (n <= STRACE_STRLEN) {
    if (!moat_user_ok(p + n, 1, LINUX_PROT_READ) ||
        rt_ucopy(&s[n], (const char *)(uintptr_t)(p + n), 1))
      break;
    if (!s[n])
      break;
    n++;
  }
  if (n == 0 && !moat_user_ok(p, 1, LINUX_PROT_READ)) {
    put_ptr(l, p);
    return;
  }
  if (n > STRACE_STRLEN)
    put_escaped(l, s, STRACE_STRLEN, true);
  else
    put_escaped(l, s, n, false);
}

static void put_guest_buf(struct line *l, uint64_t p, int64_t len) {
  size_t n;
  if (len < 0 || !p) {
    put_ptr(l, p);
    return;
  }
  char s[STRACE_STRLEN];
  n = MIN((size_t)len, (size_t)STRACE_STRLEN);
  if (user_read(s, p, n) < 0) {
    put_ptr(l, p);
    return;
  }
  put_escaped(l, s, n, (size_t)len > n);
}

static void put_timespec(struct line *l, uint64_t p) {
  struct linux_timespec ts;
  if (!p || user_read(&ts, p, sizeof(ts)) < 0) {
    put_ptr(l, p);
    return;
  }
  put(l, "{tv_sec=%lld, tv_nsec=%lld}", (long long)ts.tv_sec,
      (long long)ts.tv_nsec);
}

static void put_stat(struct line *l, uint64_t p) {
  static const struct {
    uint32_t type;
    const char *name;
  } types[] = {
      {LINUX_S_IFREG, "S_IFREG"},   {LINUX_S_IFDIR, "S_IFDIR"},
      {LINUX_S_IFLNK, "S_IFLNK"},   {LINUX_S_IFCHR, "S_IFCHR"},
      {LINUX_S_IFBLK, "S_IFBLK"},   {LINUX_S_IFIFO, "S_IFIFO"},
      {LINUX_S_IFSOCK, "S_IFSOCK"},
  };
  struct linux_stat st;
  const char *type = NULL;
  if (user_read(&st, p, sizeof(st)) < 0) {
    put_ptr(l, p);
    return;
  }
  for (size_t i = 0; i < ARRAY_SIZE(types); i++)
    if ((st.st_mode & LINUX_S_IFMT) == types[i].type)
      type = types[i].name;
  if (type)
    put(l, "{st_mode=%s|0%o", type, st.st_mode & 07777);
  else
    put(l, "{st_mode=0%o", st.st_mode);
  if (LINUX_S_ISTYPE(st.st_mode, LINUX_S_IFCHR) ||
      LINUX_S_ISTYPE(st.st_mode, LINUX_S_IFBLK))
    put(l, ", st_rdev=makedev(0x%llx, 0x%llx), ...}",
        (unsigned long long)((st.st_rdev >> 8) & 0xfff),
        (unsigned long long)((st.st_rdev & 0xff) |
                             ((st.st_rdev >> 12) & ~0xffull)));
  else
    put(l, ", st_size=%lld, ...}", (long long)st.st_size);
}

static void put_sigset_value(struct line *l, uint64_t set) {
  bool first = true, invert;
  int bits = 0;
  /* No __builtin_popcount: it may call libgcc, which is not ours. */
  for (uint64_t v = set; v; v &= v - 1)
    bits++;
  invert = bits > 32;
  if (invert) {
    set = ~set;
    put(l, "~");
  }
  put(l, "[");
  for (int sig = 1; sig <= LINUX_NSIG; sig++) {
    const char *name;
    if (!(set & LINUX_SIGBIT(sig)))
      continue;
    name = shim_signal_name(sig);
    if (!rt_strncmp(name, "SIG", 3))
      name += 3;
    put(l, "%s%s", first ? "" : " ", name);
    first = false;
  }
  put(l, "]");
}

static void put_sigset(struct line *l, uint64_t p) {
  uint64_t set;
  if (!p || user_read(&set, p, sizeof(set)) < 0) {
    put_ptr(l, p);
    return;
  }
  put_sigset_value(l, set);
}

static void put_sigaction(struct line *l, uint64_t p) {
  static const struct flag_name flags[] = {
      FLAG(SA_NOCLDSTOP), FLAG(SA_NOCLDWAIT), FLAG(SA_SIGINFO),
      FLAG(SA_RESTORER),  FLAG(SA_ONSTACK),   FLAG(SA_RESTART),
      FLAG(SA_NODEFER),   FLAG(SA_RESETHAND),
  };
  struct linux_sigaction act;
  if (!p || user_read(&act, p, sizeof(act)) < 0) {
    put_ptr(l, p);
    return;
  }
  if (act.handler == LINUX_SIG_DFL)
    put(l, "{sa_handler=SIG_DFL, sa_mask=");
  else if (act.handler == LINUX_SIG_IGN)
    put(l, "{sa_handler=SIG_IGN, sa_mask=");
  else
    put(l, "{sa_handler=0x%llx, sa_mask=", (unsigned long long)act.handler);
  put_sigset_value(l, act.mask);
  put(l, ", sa_flags=");
  put_flags(l, act.flags, flags, ARRAY_SIZE(flags), "0");
  if (act.flags & LINUX_SA_RESTORER)
    put(l, ", sa_restorer=0x%llx", (unsigned long long)act.restorer);
  put(l, "}");
}

static void put_arg(struct line *l, int type, const uint64_t *args, int i,
                    long ret, bool returned) {
  uint64_t v = args[i];
  switch (type) {
  case T_INT:
  case T_FD:
    put(l, "%d", (int)v);
    break;
  case T_UINT:
    put(l, "%u", (unsigned)v);
    break;
  case T_SIZE:
    put(l, "%llu", (unsigned long long)v);
    break;
  case T_OFF:
    put(l, "%lld", (long long)v);
    break;
  case T_DIRFD:
    if ((int)v == LINUX_AT_FDCWD)
      put(l, "AT_FDCWD");
    else
      put(l, "%d", (int)v);
    break;
  case T_PATH:
  case T_STR:
    put_guest_string(l, v);
    break;
  case T_INBUF:
    put_guest_buf(l, v, i + 1 < SHIM_MAX_ARGS ? (int64_t)args[i + 1] : 0);
    break;
  case T_OUTBUF:
  case T_OUTSTR:
    if (returned && ret >= 0)
      put_guest_buf(l, v, ret);
    else
      put_ptr(l, v);
    break;
  case T_OFLAGS:
    put_oflags(l, v);
    break;
  case T_MODE:
    put(l, "0%03llo", (unsigned long long)v);
    break;
  case T_ATFLAGS:
    put_flags(l, v, g_atflags, ARRAY_SIZE(g_atflags), "0");
    break;
  case T_ACCMODE: {
    static const struct flag_name acc[] = {FLAG(R_OK), FLAG(W_OK), FLAG(X_OK)};
    put_flags(l, v, acc, ARRAY_SIZE(acc), "F_OK");
    break;
  }
  case T_PROT:
    put_flags(l, v, g_prot, ARRAY_SIZE(g_prot), "PROT_NONE");
    break;
  case T_MMAPFL:
    put_mapflags(l, v);
    break;
  case T_SIG:
    put(l, "%s", (int)v ? shim_signal_name((int)v) : "0");
    break;
  case T_SIGHOW:
    put_enum(l, v, g_sighow, ARRAY_SIZE(g_sighow));
    break;
  case T_CLOCK:
    put_enum(l, v, g_clocks, ARRAY_SIZE(g_clocks));
    break;
  case T_WHENCE:
    put_enum(l, v, g_whence, ARRAY_SIZE(g_whence));
    break;
  case T_FCNTL:
    put_fcntl(l, v);
    break;
  case T_IOCTL:
    put_ioctl(l, v);
    break;
  case T_RLIMIT:
    put_enum(l, v, g_rlimits, ARRAY_SIZE(g_rlimits));
    break;
  case T_ARCHPRCTL:
    put_archprctl(l, v);
    break;
  case T_TIMESPEC:
    put_timespec(l, v);
    break;
  case T_OUTSTAT:
    if (returned && ret == 0)
      put_stat(l, v);
    else
      put_ptr(l, v);
    break;
  case T_SIGSET:
    put_sigset(l, v);
    break;
  case T_SIGACTION:
    put_sigaction(l, v);
    break;
  case T_OUTSIGSET:
    if (returned && ret == 0)
      put_sigset(l, v);
    else
      put_ptr(l, v);
    break;
  case T_OUTSIGACTION:
    if (returned && ret == 0)
      put_sigaction(l, v);
    else
      put_ptr(l, v);
    break;
  case T_PTR:
    put_ptr(l, v);
    break;
  case T_HEX:
  default:
    if (v)
      put(l, "0x%llx", (unsigned long long)v);
    else
      put(l, "0");
    break;
  }
}

static bool returns_address(int nr) {
  const char *name = shim_syscall_name(nr);
  return name && (!rt_strcmp(name, "mmap") || !rt_strcmp(name, "mremap") ||
                  !rt_strcmp(name, "brk"));
}

static void put_result(struct line *l, int nr, long ret) {
  if (ret == -LINUX_ERESTARTSYS) {
    put(l, " = ? ERESTARTSYS (To be restarted if SA_RESTART is set)");
  } else if (ret == -LINUX_ERESTARTNOINTR) {
    put(l, " = ? ERESTARTNOINTR (To be restarted)");
  } else if (ret == -LINUX_ERESTARTNOHAND) {
    put(l, " = ? ERESTARTNOHAND (To be restarted if no handler)");
  } else if (ret == -LINUX_ERESTART_RESTARTBLOCK) {
    put(l, " = ? ERESTART_RESTARTBLOCK (Interrupted by signal)");
  } else if (ret < 0 && ret >= -4095) {
    const char *en = shim_errno_name((int)-ret);
    if (en)
      put(l, " = -1 %s (%s)", en, shim_errno_text((int)-ret));
    else
      put(l, " = -1 E%ld (Unknown error %ld)", -ret, -ret);
  } else if (returns_address(nr)) {
    put(l, " = 0x%llx", (unsigned long long)ret);
  } else {
    put(l, " = %ld", ret);
  }
}

void shim_strace_call(int nr, const uint64_t args[SHIM_MAX_ARGS], long ret,
                      int phase) {
  struct line l;
  uint8_t types[SHIM_MAX_ARGS];
  int nargs = shim_syscall_args(nr, types);
  const char *name = shim_syscall_name(nr);
  bool returned = phase == STRACE_DONE;

  l.len = 0;
  l.buf[0] = 0;
  if (phase == STRACE_RESUMED) {
    put(&l, "<... %s resumed>)", name ? name : "syscall");
    put_result(&l, nr, ret);
    moat_log("%s\n", l.buf);
    return;
  }
  if (name)
    put(&l, "%s(", name);
  else
    put(&l, "syscall_%d(", nr);
  if (nargs < 0) {
    nargs = SHIM_MAX_ARGS;
    memset(types, T_HEX, sizeof(types));
  }
  /* As strace: the mode of open only means something when creating. */
  if (nargs > 0 && types[nargs - 1] == T_MODE && nargs >= 2 &&
      types[nargs - 2] == T_OFLAGS &&
      !(args[nargs - 2] & (LINUX_O_CREAT | LINUX_O_TMPFILE)))
    nargs--;
  for (int i = 0; i < nargs; i++) {
    if (i)
      put(&l, ", ");
    put_arg(&l, types[i], args, i, ret, returned);
  }
  if (phase == STRACE_UNFINISHED) {
    put(&l, " <unfinished ...>");
  } else {
    put(&l, ")");
    if (phase == STRACE_NORETURN)
      put(&l, " = ?");
    else
      put_result(&l, nr, ret);
  }
  moat_log("%s\n", l.buf);
}
