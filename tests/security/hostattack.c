/* A guest that has taken over the library OS and attacks the host through
 * the platform's syscall gate (issue 7, host holes 1-3). tests/run.py
 * passes the gate's address and first bytes (MOAT_GATE, MOAT_GATE_BYTES,
 * as for tests/security/gate.c; the bytes are checked before the jump).
 * With -n the same payload runs natively with the raw syscall()
 * instruction: that is the positive control, proving that the runner's
 * detector notices the payload's effect when nothing stops it.
 *
 *   hostattack [-n] fd CALL FD       one call of close, pread64, pwrite64,
 *                                    fchmod, ftruncate, fsync, getdents64
 *                                    or lseek on a 64-bit fd value (hex
 *                                    allowed): the kernel uses its low 32
 *                                    bits
 *   hostattack [-n] at CALL FD [PREFIX]  one *at call of openat, newfstatat,
 *                                    readlinkat, fchmodat, fchmodat2,
 *                                    utimensat, fchownat, mkdirat, unlinkat,
 *                                    renameat2, linkat or symlinkat
 *                                    relative to a 64-bit dirfd value
 *                                    (moat's stdin: a host directory), or
 *                                    FD grant:DIR (as for grant) with names
 *                                    PREFIX+name (absolute or ../)
 *   hostattack [-n] grant HOW DIR    set-id bits through a grant's host fd
 *                                    (found by MOAT_GRANT=dev:ino; with -n
 *                                    DIR is opened instead)
 *   hostattack [-n] kick PID [SIG]   the platform's kick signal (63) or
 *                                    its wake signal (62) to a host
 *                                    process outside the sandbox
 *   hostattack [-n] fork             a host child forked through the gate
 *                                    (clone with SIGCHLD) that waits
 *                                    forever: it must not outlive moat run
 *   hostattack chmod DIR             set-id bits the ordinary way (libc
 *                                    calls, under moat through the library
 *                                    OS): the same natively and inside
 *   hostattack [-n] chown HOW DIR [PATH]  fchownat through a grant's host
 *                                    fd (MOAT_GRANT, as for grant): to ids
 *                                    the grant does not map, following a
 *                                    symlink, another host user's file,
 *                                    files outside the grant (../NAME and
 *                                    the absolute PATH), and the control:
 *                                    a group change to the mapped id
 *   hostattack [-n] etc DIR          /etc/shadow, /etc/gshadow and
 *                                    /etc/passwd through /etc's grant fd
 *                                    (MOAT_GRANT; with -n DIR is opened)
 *
 * Each prints one line per call with its raw result (-errno on failure),
 * then "survived". File contents that may be secret are printed only as a
 * length and an FNV-1a hash, which the runner computes too. */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "gatefind.h"
#include "guest.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static bool g_native;
static gate_fn g_gate;

/* The gate from the environment, or exit 2/3 (never a silent pass). */
static void gate_from_env(void) {
  g_gate = find_gate();
}

/* One host syscall: raw natively, through the gate inside moat. */
static long hc(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
  if (!g_native)
    return g_gate(nr, a1, a2, a3, a4, a5, a6);
  long r = syscall(nr, a1, a2, a3, a4, a5, a6);
  return r == -1 ? -errno : r;
}

static uint64_t fnv(const char *p, long n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (long i = 0; i < n; i++)
    h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
  return h;
}

static char g_buf[65536];

static int attack_fd(const char *call, long fd) {
  long r;
  if (!strcmp(call, "close")) {
    r = hc(SYS_close, fd, 0, 0, 0, 0, 0);
    printf("close(%#lx) = %ld\n", fd, r);
    /* closed or not: the host's fd 0 answers a plain read */
    long q = hc(SYS_read, 0, (long)g_buf, 64, 0, 0, 0);
    printf("read host fd 0 after close: %s\n",
           q == -EBADF ? "EBADF (closed)" : (q < 0 ? "error" : "open"));
  } else if (!strcmp(call, "pread64") || !strcmp(call, "getdents64")) {
    bool pread = !strcmp(call, "pread64");
    r = hc(pread ? SYS_pread64 : SYS_getdents64, fd, (long)g_buf,
           pread ? 4096 : (long)sizeof(g_buf), 0, 0, 0);
    printf("%s(%#lx) = %ld\n", call, fd, r);
    if (pread && r > 0)
      printf("data: %.*s\n", (int)strcspn(g_buf, "\n"), g_buf);
    for (long off = 0; !pread && r > 0 && off < r;) {
      const char *d = g_buf + off;
      unsigned short reclen;
      memcpy(&reclen, d + 16, sizeof(reclen));
      if (reclen == 0)
        break;
      printf("entry: %s\n", d + 19);
      off += reclen;
    }
  } else if (!strcmp(call, "pwrite64")) {
    static const char msg[] = "PWNED-BY-GUEST\n";
    r = hc(SYS_pwrite64, fd, (long)msg, sizeof(msg) - 1, 0, 0, 0);
    printf("pwrite64(%#lx) = %ld\n", fd, r);
  } else if (!strcmp(call, "fchmod")) {
    r = hc(SYS_fchmod, fd, 06777, 0, 0, 0, 0);
    printf("fchmod(%#lx, 06777) = %ld\n", fd, r);
  } else if (!strcmp(call, "ftruncate")) {
    r = hc(SYS_ftruncate, fd, 0, 0, 0, 0, 0);
    printf("ftruncate(%#lx, 0) = %ld\n", fd, r);
  } else if (!strcmp(call, "fsync")) {
    r = hc(SYS_fsync, fd, 0, 0, 0, 0, 0);
    printf("fsync(%#lx) = %ld\n", fd, r);
  } else if (!strcmp(call, "lseek")) {
    r = hc(SYS_lseek, fd, 0, SEEK_SET, 0, 0, 0);
    printf("lseek(%#lx, 0, SEEK_SET) = %ld\n", fd, r);
  } else {
    printf("unknown call %s\n", call);
    return 2;
  }
  return 0;
}

/* Names in the directory: "file" (its first line a token), "link" (a
 * symlink whose target is a token); each name is prefixed by g_prefix
 * (an absolute path, or ../ to climb out of a grant). */
static const char *g_prefix = "";

static const char *nm(const char *name) {
  static char bufs[2][4096];
  static int next;
  char *b = bufs[next++ & 1];
  snprintf(b, sizeof(bufs[0]), "%s%s", g_prefix, name);
  return b;
}

static int attack_at(const char *call, long fd) {
  long r;
  if (!strcmp(call, "openat")) {
    r = hc(SYS_openat, fd, (long)nm("file"), O_RDONLY | O_NOFOLLOW | O_CLOEXEC,
           0, 0, 0);
    printf("openat(%#lx, file) = %s\n", fd, r >= 0 ? "fd" : errname((int)-r));
    long n = r < 0 ? r : hc(SYS_pread64, r, (long)g_buf, 4096, 0, 0, 0);
    if (n > 0)
      printf("data: %.*s\n", (int)strcspn(g_buf, "\n"), g_buf);
  } else if (!strcmp(call, "newfstatat")) {
    struct stat st;
    r = hc(SYS_newfstatat, fd, (long)nm("file"), (long)&st, AT_SYMLINK_NOFOLLOW,
           0, 0);
    printf("newfstatat(%#lx, file) = %ld\n", fd, r);
    if (r == 0)
      printf("inode %llu\n", (unsigned long long)st.st_ino);
  } else if (!strcmp(call, "readlinkat")) {
    r = hc(SYS_readlinkat, fd, (long)nm("link"), (long)g_buf, 255, 0, 0);
    printf("readlinkat(%#lx, link) = %ld\n", fd, r);
    if (r > 0)
      printf("data: %.*s\n", (int)r, g_buf);
  } else if (!strcmp(call, "fchmodat")) {
    r = hc(SYS_fchmodat, fd, (long)nm("file"), 0600, 0, 0, 0);
    printf("fchmodat(%#lx, file, 0600) = %ld\n", fd, r);
  } else if (!strcmp(call, "fchmodat2")) {
    r = hc(SYS_fchmodat2, fd, (long)nm("file"), 0600, AT_SYMLINK_NOFOLLOW, 0,
           0);
    printf("fchmodat2(%#lx, file, 0600) = %ld\n", fd, r);
  } else if (!strcmp(call, "utimensat")) {
    struct timespec ts[2] = {{1, 0}, {1, 0}};
    r = hc(SYS_utimensat, fd, (long)nm("file"), (long)ts, AT_SYMLINK_NOFOLLOW,
           0, 0);
    printf("utimensat(%#lx, file, 1970) = %ld\n", fd, r);
  } else if (!strcmp(call, "fchownat")) {
    /* the ids and flags the filter lets through: a no-op owner change
     * still sets the file's ctime, which the runner sees */
    r = hc(SYS_fchownat, fd, (long)nm("file"), 0, 0,
           AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH, 0);
    printf("fchownat(%#lx, file, 0, 0) = %ld\n", fd, r);
  } else if (!strcmp(call, "mkdirat")) {
    r = hc(SYS_mkdirat, fd, (long)nm("newdir"), 0755, 0, 0, 0);
    printf("mkdirat(%#lx, newdir) = %ld\n", fd, r);
  } else if (!strcmp(call, "unlinkat")) {
    r = hc(SYS_unlinkat, fd, (long)nm("file"), 0, 0, 0, 0);
    printf("unlinkat(%#lx, file) = %ld\n", fd, r);
  } else if (!strcmp(call, "renameat2")) {
    r = hc(SYS_renameat2, fd, (long)nm("file"), fd, (long)nm("moved"), 0, 0);
    printf("renameat2(%#lx, file, moved) = %ld\n", fd, r);
  } else if (!strcmp(call, "linkat")) {
    r = hc(SYS_linkat, fd, (long)nm("file"), fd, (long)nm("hard"), 0, 0);
    printf("linkat(%#lx, file, hard) = %ld\n", fd, r);
  } else if (!strcmp(call, "symlinkat")) {
    r = hc(SYS_symlinkat, (long)"file", fd, (long)nm("sym"), 0, 0, 0);
    printf("symlinkat(file, %#lx, sym) = %ld\n", fd, r);
  } else {
    printf("unknown call %s\n", call);
    return 2;
  }
  return 0;
}

/* The grant's host fd: the one whose device and inode are MOAT_GRANT's. */
static long grant_fd(const char *dir) {
  if (g_native) {
    long fd =
        hc(SYS_openat, AT_FDCWD, (long)dir, O_RDONLY | O_DIRECTORY, 0, 0, 0);
    if (fd < 0)
      printf("open %s: %ld\n", dir, fd);
    return fd;
  }
  const char *want = getenv("MOAT_GRANT");
  unsigned long long dev, ino;
  if (!want || sscanf(want, "%llu:%llu", &dev, &ino) != 2) {
    printf("MOAT_GRANT=dev:ino not set\n");
    return -1;
  }
  for (long fd = 3; fd < 5000; fd++) {
    struct stat st;
    long r = hc(SYS_newfstatat, fd, (long)"", (long)&st,
                AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, 0, 0);
    if (r == 0 && st.st_dev == dev && st.st_ino == ino) {
      printf("grant fd found\n");
      return fd;
    }
  }
  printf("no host fd of the grant among 3..4999\n");
  return -1;
}

static int attack_grant(const char *how, const char *dir) {
  long g = grant_fd(dir);
  if (g < 0)
    return 4;
  long r;
  const long nofollow = O_NOFOLLOW | O_CLOEXEC;
  if (!strcmp(how, "openat")) {
    r = hc(SYS_openat, g, (long)"gate-new", O_CREAT | O_WRONLY | nofollow,
           06777, 0, 0);
    printf("openat(grant, gate-new, O_CREAT, 06777) = %s\n",
           r >= 0 ? "fd" : errname((int)-r));
  } else if (!strcmp(how, "fchmodat")) {
    r = hc(SYS_fchmodat, g, (long)"file", 06755, 0, 0, 0);
    printf("fchmodat(grant, file, 06755) = %ld\n", r);
  } else if (!strcmp(how, "fchmodat2")) {
    r = hc(SYS_fchmodat2, g, (long)"file", 06755, AT_SYMLINK_NOFOLLOW, 0, 0);
    printf("fchmodat2(grant, file, 06755) = %ld\n", r);
  } else if (!strcmp(how, "fchmod")) {
    long fd = hc(SYS_openat, g, (long)"file", O_RDONLY | nofollow, 0, 0, 0);
    printf("openat(grant, file) = %s\n", fd >= 0 ? "fd" : errname((int)-fd));
    r = hc(SYS_fchmod, fd, 06755, 0, 0, 0, 0);
    printf("fchmod(file, 06755) = %ld\n", r);
  } else if (!strcmp(how, "fchmod-grant")) {
    /* the grant's own fd may be O_PATH: open the directory itself */
    long fd = hc(SYS_openat, g, (long)".", O_RDONLY | O_DIRECTORY | nofollow, 0,
                 0, 0);
    printf("openat(grant, .) = %s\n", fd >= 0 ? "fd" : errname((int)-fd));
    r = hc(SYS_fchmod, fd, 02777, 0, 0, 0, 0);
    printf("fchmod(grant, 02777) = %ld\n", r);
  } else if (!strcmp(how, "fchmodat-dir")) {
    r = hc(SYS_fchmodat, g, (long)"dir", 02777, 0, 0, 0);
    printf("fchmodat(grant, dir, 02777) = %ld\n", r);
  } else if (!strcmp(how, "mkdirat")) {
    r = hc(SYS_mkdirat, g, (long)"gate-dir", 06777, 0, 0, 0);
    printf("mkdirat(grant, gate-dir, 06777) = %ld\n", r);
  } else if (!strcmp(how, "mknodat-dev")) {
    /* a device node (/dev/null's numbers): never on the allowlist */
    r = hc(SYS_mknodat, g, (long)"gate-dev", S_IFCHR | 0666, 0x103, 0, 0);
    printf("mknodat(grant, gate-dev, S_IFCHR, 1:3) = %ld\n", r);
  } else if (!strcmp(how, "mknodat-setid")) {
    r = hc(SYS_mknodat, g, (long)"gate-fifo", S_IFIFO | 06666, 0, 0, 0);
    printf("mknodat(grant, gate-fifo, S_IFIFO|06666) = %ld\n", r);
  } else if (!strcmp(how, "mknodat-file")) {
    r = hc(SYS_mknodat, g, (long)"gate-file", S_IFREG | 0644, 0, 0, 0);
    printf("mknodat(grant, gate-file, S_IFREG) = %ld\n", r);
  } else {
    printf("unknown attack %s\n", how);
    return 2;
  }
  return 0;
}

/* fchownat through the gate: what hostfs never passes (an id other than
 * the sandbox's own, a followed symlink) the filter must kill; what it
 * may pass (ids 0 and -1, the link itself) the host kernel must refuse
 * for anything but the sandbox's own files below the grant. */
static int attack_chown(const char *how, const char *dir, const char *path) {
  long g = grant_fd(dir);
  if (g < 0)
    return 4;
  const long flags = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH, keep = 0xffffffff;
  long r;
  if (!strcmp(how, "uid")) {
    r = hc(SYS_fchownat, g, (long)"mine", 1234, keep, flags, 0);
    printf("fchownat(grant, mine, 1234, -1) = %ld\n", r);
  } else if (!strcmp(how, "gid")) {
    r = hc(SYS_fchownat, g, (long)"mine", keep, 1234, flags, 0);
    printf("fchownat(grant, mine, -1, 1234) = %ld\n", r);
  } else if (!strcmp(how, "public-uid")) {
    /* the sandbox's user namespace maps it (the default root's owners
     * show through it): host uid 0x40000000 */
    r = hc(SYS_fchownat, g, (long)"mine", 65536, keep, flags, 0);
    printf("fchownat(grant, mine, 65536, -1) = %ld\n", r);
  } else if (!strcmp(how, "uid-high")) {
    /* the kernel takes the low 32 bits: 0 */
    r = hc(SYS_fchownat, g, (long)"other", 1L << 32, keep, flags, 0);
    printf("fchownat(grant, other, 1<<32, -1) = %ld\n", r);
  } else if (!strcmp(how, "follow")) {
    r = hc(SYS_fchownat, g, (long)"outlink", 0, 0, 0, 0);
    printf("fchownat(grant, outlink, 0, 0, follow) = %ld\n", r);
  } else if (!strcmp(how, "other")) {
    r = hc(SYS_fchownat, g, (long)"other", 0, 0, flags, 0);
    printf("fchownat(grant, other, 0, 0) = %s\n", r ? errname((int)-r) : "0");
    r = hc(SYS_fchownat, g, (long)"otherdir", 0, keep, flags, 0);
    printf("fchownat(grant, otherdir, 0, -1) = %s\n",
           r ? errname((int)-r) : "0");
  } else if (!strcmp(how, "outside")) {
    r = hc(SYS_fchownat, g, (long)"../outside", 0, 0, flags, 0);
    printf("fchownat(grant, ../outside, 0, 0) = %s\n",
           r ? errname((int)-r) : "0");
    r = hc(SYS_fchownat, g, (long)path, 0, 0, flags, 0);
    printf("fchownat(grant, PATH, 0, 0) = %s\n", r ? errname((int)-r) : "0");
  } else if (!strcmp(how, "control")) {
    r = hc(SYS_fchownat, g, (long)"othergrp", keep, 0, flags, 0);
    printf("fchownat(grant, othergrp, -1, 0) = %s\n",
           r ? errname((int)-r) : "0");
  } else {
    printf("unknown attack %s\n", how);
    return 2;
  }
  return 0;
}

/* Open NAME below dir fd g without following symlinks and print its
 * length and hash (and the first line when show). */
static void read_below(long g, const char *name, bool show) {
  long fd =
      hc(SYS_openat, g, (long)name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0, 0, 0);
  if (fd < 0) {
    printf("%s: open %s\n", name, errname((int)-fd));
    return;
  }
  long n = hc(SYS_pread64, fd, (long)g_buf, sizeof(g_buf), 0, 0, 0);
  if (n == -EISDIR) {
    n = hc(SYS_getdents64, fd, (long)g_buf, sizeof(g_buf), 0, 0, 0);
    if (n < 0)
      printf("%s: list %s\n", name, errname((int)-n));
    else
      printf("%s: listed\n", name);
  } else if (n < 0) {
    printf("%s: read %s\n", name, errname((int)-n));
  } else {
    printf("%s: read %ld bytes, fnv %016llx\n", name, n,
           (unsigned long long)fnv(g_buf, n));
    if (show)
      printf("%s: first line: %.*s\n", name, (int)strcspn(g_buf, "\n"), g_buf);
  }
  hc(SYS_close, fd, 0, 0, 0, 0, 0);
}

static int attack_etc(const char *dir, char **more) {
  long g = grant_fd(dir);
  if (g < 0)
    return 4;
  read_below(g, "passwd", true); /* the control: world-readable */
  read_below(g, "shadow", false);
  read_below(g, "gshadow", false);
  for (; *more; more++)
    read_below(g, *more, false);
  long fd = hc(SYS_openat, g, (long)"../root",
               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0, 0, 0);
  printf("../root: open %s\n", fd >= 0 ? "ok" : errname((int)-fd));
  return 0;
}

static int attack_kick(long pid, long sig) {
  long r = hc(SYS_tgkill, pid, pid, sig, 0, 0, 0);
  printf("tgkill(host pid, %ld) = %s\n", sig, r == 0 ? "0" : errname((int)-r));
  return 0;
}

static int attack_fork(void) {
  static int word;
  long r = hc(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
  if (r == 0) {
    /* the child: only the gate from here on, no libc */
    for (;;)
      hc(SYS_futex, (long)&word, 0 /* FUTEX_WAIT */, 0, 0, 0, 0);
  }
  printf("clone(SIGCHLD) = %s\n", r > 0 ? "child" : errname((int)-r));
  return 0;
}

static void said(const char *what, long r) {
  if (r < 0)
    printf("%s: -1 %s\n", what, errname(errno));
  else
    printf("%s: 0\n", what);
}

/* The ordinary path: what any guest program may do with its own files. */
static int chmod_ordinary(const char *dir) {
  if (chdir(dir) < 0) {
    printf("chdir %s: %s\n", dir, errname(errno));
    return 4;
  }
  umask(0);
  said("chmod true 06755", chmod("true", 06755));
  int fd = open("f1", O_RDONLY);
  said("fchmod f1 06755", fd < 0 ? -1 : fchmod(fd, 06755));
  if (fd >= 0)
    close(fd);
  said("fchmodat f2 06755", fchmodat(AT_FDCWD, "f2", 06755, 0));
  said("fchmodat2 f3 06755 nofollow",
       syscall(SYS_fchmodat2, AT_FDCWD, "f3", 06755, AT_SYMLINK_NOFOLLOW));
  fd = open("new", O_CREAT | O_EXCL | O_WRONLY, 06755);
  said("open new O_CREAT 06755", fd);
  if (fd >= 0)
    close(fd);
  said("mkdir newdir 06777", mkdir("newdir", 06777));
  said("chmod d 02777", chmod("d", 02777));
  fd = open("d2", O_RDONLY | O_DIRECTORY);
  said("fchmod d2 03777", fd < 0 ? -1 : fchmod(fd, 03777));
  if (fd >= 0)
    close(fd);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int i = 1;
  if (i < argc && !strcmp(argv[i], "-n")) {
    g_native = true;
    i++;
  }
  if (argc - i == 1 && !strcmp(argv[i], "fork")) {
    if (!g_native)
      gate_from_env();
    if (attack_fork() == 0)
      printf("survived\n");
    return 0;
  }
  if (argc - i < 2) {
    printf("usage: hostattack [-n] fd CALL FD | at CALL FD | grant HOW DIR | "
           "kick PID [SIG] | fork | chmod DIR | etc DIR [NAME...] | "
           "chown HOW DIR [PATH]\n");
    return 2;
  }
  const char *cmd = argv[i];
  int r;
  if (!strcmp(cmd, "chmod")) {
    r = chmod_ordinary(argv[i + 1]);
  } else {
    if (!g_native)
      gate_from_env();
    if (!strcmp(cmd, "fd") && argc - i == 3)
      r = attack_fd(argv[i + 1], (long)strtoull(argv[i + 2], NULL, 0));
    else if (!strcmp(cmd, "at") && (argc - i == 3 || argc - i == 4)) {
      /* FD: a number, or grant:DIR for the grant's host fd */
      const char *f = argv[i + 2];
      bool grant = !strncmp(f, "grant:", 6);
      long fd = grant ? grant_fd(f + 6) : (long)strtoull(f, NULL, 0);
      if (argc - i == 4)
        g_prefix = argv[i + 3];
      r = grant && fd < 0 ? 4 : attack_at(argv[i + 1], fd);
    } else if (!strcmp(cmd, "grant") && argc - i == 3)
      r = attack_grant(argv[i + 1], argv[i + 2]);
    else if (!strcmp(cmd, "chown") && (argc - i == 3 || argc - i == 4))
      r = attack_chown(argv[i + 1], argv[i + 2],
                       argc - i == 4 ? argv[i + 3] : "/nonexistent");
    else if (!strcmp(cmd, "kick") && (argc - i == 2 || argc - i == 3))
      r = attack_kick(atol(argv[i + 1]),
                      argc - i == 3 ? atol(argv[i + 2]) : 63);
    else if (!strcmp(cmd, "etc"))
      r = attack_etc(argv[i + 1], argv + i + 2);
    else {
      printf("bad arguments\n");
      return 2;
    }
  }
  if (r == 0)
    printf("survived\n");
  return r;
}
