/* Shared helpers of the guest test programs (tests/guest, tests/security):
 * printing what a call returned in a form that is identical natively and
 * inside moat (errno by name, never addresses, pids, inode numbers or
 * times), and a fresh working directory under /tmp. Header-only so each
 * program is one static binary built from one file. */
#ifndef MOAT_TESTS_GUEST_H
#define MOAT_TESTS_GUEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline const char *errname(int e) {
  static const char *names[] = {
      [EPERM] = "EPERM",
      [ENOENT] = "ENOENT",
      [ESRCH] = "ESRCH",
      [EINTR] = "EINTR",
      [EIO] = "EIO",
      [ENXIO] = "ENXIO",
      [E2BIG] = "E2BIG",
      [ENOEXEC] = "ENOEXEC",
      [EBADF] = "EBADF",
      [ECHILD] = "ECHILD",
      [EAGAIN] = "EAGAIN",
      [ENOMEM] = "ENOMEM",
      [EACCES] = "EACCES",
      [EFAULT] = "EFAULT",
      [EBUSY] = "EBUSY",
      [EEXIST] = "EEXIST",
      [EXDEV] = "EXDEV",
      [ENODEV] = "ENODEV",
      [ENOTDIR] = "ENOTDIR",
      [EISDIR] = "EISDIR",
      [EINVAL] = "EINVAL",
      [ENFILE] = "ENFILE",
      [EMFILE] = "EMFILE",
      [ENOTTY] = "ENOTTY",
      [ETXTBSY] = "ETXTBSY",
      [EFBIG] = "EFBIG",
      [ENOSPC] = "ENOSPC",
      [ESPIPE] = "ESPIPE",
      [EROFS] = "EROFS",
      [EMLINK] = "EMLINK",
      [EPIPE] = "EPIPE",
      [EDOM] = "EDOM",
      [ERANGE] = "ERANGE",
      [ENAMETOOLONG] = "ENAMETOOLONG",
      [ENOSYS] = "ENOSYS",
      [ENOTEMPTY] = "ENOTEMPTY",
      [ELOOP] = "ELOOP",
      [ENOMSG] = "ENOMSG",
      [EIDRM] = "EIDRM",
      [ENODATA] = "ENODATA",
      [EOVERFLOW] = "EOVERFLOW",
      [EOPNOTSUPP] = "EOPNOTSUPP",
      [ENOTSOCK] = "ENOTSOCK",
      [EMSGSIZE] = "EMSGSIZE",
      [ENOPROTOOPT] = "ENOPROTOOPT",
      [EPROTONOSUPPORT] = "EPROTONOSUPPORT",
      [ESOCKTNOSUPPORT] = "ESOCKTNOSUPPORT",
      [EAFNOSUPPORT] = "EAFNOSUPPORT",
      [ECONNREFUSED] = "ECONNREFUSED",
      [ENETUNREACH] = "ENETUNREACH",
      [EADDRNOTAVAIL] = "EADDRNOTAVAIL",
      [ENOTCONN] = "ENOTCONN",
      [EISCONN] = "EISCONN",
      [ETIMEDOUT] = "ETIMEDOUT",
      [ETOOMANYREFS] = "ETOOMANYREFS",
      [EADDRINUSE] = "EADDRINUSE",
      [EPROTOTYPE] = "EPROTOTYPE",
      [ECONNRESET] = "ECONNRESET",
      [EINPROGRESS] = "EINPROGRESS",
      [EALREADY] = "EALREADY",
      [EDESTADDRREQ] = "EDESTADDRREQ",
  };
  if (e > 0 && e < (int)(sizeof names / sizeof names[0]) && names[e])
    return names[e];
  static char buf[32];
  snprintf(buf, sizeof buf, "errno%d", e);
  return buf;
}

/* Print "label: <value>" for a call's result, or "label: -1 ENAME". */
#define R(label, expr)                                                         \
  do {                                                                         \
    errno = 0;                                                                 \
    long r_ = (long)(expr);                                                    \
    if (r_ < 0)                                                                \
      printf("%s: -1 %s\n", label, errname(errno));                            \
    else                                                                       \
      printf("%s: %ld\n", label, r_);                                          \
  } while (0)

/* Print "label: ok" for success (any non-negative result), or the errno. */
#define OK(label, expr)                                                        \
  do {                                                                         \
    errno = 0;                                                                 \
    long r_ = (long)(expr);                                                    \
    if (r_ < 0)                                                                \
      printf("%s: -1 %s\n", label, errname(errno));                            \
    else                                                                       \
      printf("%s: ok\n", label);                                               \
  } while (0)

/* A truth printed as 0/1, for facts whose values differ between runs. */
#define FACT(label, cond) printf("%s: %d\n", label, (cond) ? 1 : 0)

static char g_workdir[64];

static inline int rm_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0)
    return -1;
  if (S_ISDIR(st.st_mode)) {
    chmod(path, 0700);
    DIR *d = opendir(path);
    if (d) {
      struct dirent *e;
      while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
          continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        rm_tree(p);
      }
      closedir(d);
    }
    return rmdir(path);
  }
  return unlink(path);
}

static inline void leave_workdir(void) {
  if (g_workdir[0]) {
    if (chdir("/") == 0)
      rm_tree(g_workdir);
  }
}

/* mkdtemp under /tmp and chdir into it; removed at exit. */
static inline void enter_workdir(const char *name) {
  snprintf(g_workdir, sizeof g_workdir, "/tmp/moat-%s-XXXXXX", name);
  if (!mkdtemp(g_workdir) || chdir(g_workdir) < 0) {
    printf("cannot make a work directory: %s\n", errname(errno));
    exit(2);
  }
  atexit(leave_workdir);
}

static inline void write_file(const char *path, const char *s) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s)) {
    printf("write_file %s: %s\n", path, errname(errno));
    exit(2);
  }
  close(fd);
}

/* Content of a file as a short string for printing ("<ENAME>" on error). */
static inline const char *read_file(const char *path) {
  static char buf[256];
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    snprintf(buf, sizeof buf, "<%s>", errname(errno));
    return buf;
  }
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n > 0 ? n : 0] = 0;
  return buf;
}

/* Until pid is in an interruptible sleep (state S in /proc/PID/stat): a
 * child blocked in the call under test, so that what wakes it comes after. */
static inline void wait_sleeping(pid_t pid) {
  char path[64], buf[256];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  for (;;) {
    int f = open(path, O_RDONLY);
    if (f < 0)
      return;
    ssize_t n = read(f, buf, sizeof(buf) - 1);
    close(f);
    if (n > 0) {
      buf[n] = 0;
      char *r = strrchr(buf, ')');
      if (r && r[1] == ' ' && r[2] == 'S')
        return;
    }
    usleep(1000);
  }
}

#endif
