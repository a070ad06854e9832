/* Lockdown of the Linux platform: the ordered steps that turn the runner's
 * child into a sandbox before the first guest instruction. Every step
 * before the last may use libc; the last installs the seccomp filter,
 * after which only the gate may make host syscalls. What took effect is
 * recorded in g_plat_lockdown (--verbose, --stats, docs/security.md). */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux_platform.h"
#include "plat_linux.h"

#define HOSTFS_FD_BUDGET 4200
#define MAX_GRANTS 256
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

struct plat_lockdown_status g_plat_lockdown;
extern bool g_plat_have_fsgsbase;
extern bool g_plat_verbose;

static int fail(char *why, size_t len, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *why, size_t len, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, len, fmt, ap);
  va_end(ap);
  return err < 0 ? err : -EPERM;
}

int plat_linux_write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  ssize_t n = write(fd, text, strlen(text));
  int err = n == (ssize_t)strlen(text) ? 0 : (n < 0 ? -errno : -EIO);
  close(fd);
  return err;
}

static volatile pid_t g_ns_init;
static volatile int g_relay_signal;

static void relay_signal(int sig) {
  /* The namespace's init ignores signals it has no handler for, so a
   * termination request from outside ends it (and with it every guest
   * process) by SIGKILL; moat's status still names the request. */
  g_relay_signal = sig;
  if (g_ns_init > 0)
    kill(g_ns_init, SIGKILL);
}

/* After unshare(CLONE_NEWPID) our next child is the namespace's init
 * (pid 1): it becomes the sandbox's first guest process, and when it dies
 * the kernel kills every process left in the namespace. This process stays
 * outside as a relay: it waits for init and passes its fate on, and dies
 * with the supervisor (parent-death signal). */
static void become_pid_namespace_init(void) {
  static const int relayed[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  pid_t supervisor = getppid();
  fflush(NULL);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
      getppid() != supervisor) {
    g_plat_lockdown.ns_flags &= ~(unsigned)CLONE_NEWPID;
    return;
  }
  struct sigaction sa = {.sa_handler = relay_signal};
  sigemptyset(&sa.sa_mask);
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  for (size_t i = 0; i < sizeof(relayed) / sizeof(relayed[0]); i++)
    sigaction(relayed[i], &sa, NULL);
  pid_t child = fork();
  if (child < 0) {
    /* No init could be made: carry on without the PID namespace layer
     * (recorded); the namespace is unusable for further forks. */
    g_plat_lockdown.ns_flags &= ~(unsigned)CLONE_NEWPID;
    g_plat_lockdown.pid_ns_broken = true;
    sigprocmask(SIG_SETMASK, &old, NULL);
    return;
  }
  if (child == 0) {
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (size_t i = 0; i < sizeof(relayed) / sizeof(relayed[0]); i++)
      sigaction(relayed[i], &dfl, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return;
  }
  g_ns_init = child;
  sigprocmask(SIG_SETMASK, &old, NULL);
  /* The relay holds nothing of the sandbox's (grants, the image). */
  syscall(SYS_close_range, 3, ~0u, 0);
  int status;
  while (waitpid(child, &status, 0) < 0)
    if (errno != EINTR)
      _exit(125);
  if (WIFEXITED(status) && !g_relay_signal)
    _exit(WEXITSTATUS(status));
  int sig = g_relay_signal ? g_relay_signal
                           : (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  if (!sig)
    _exit(125);
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  sigaction(sig, &dfl, NULL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  sigprocmask(SIG_UNBLOCK, &one, NULL);
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  kill(getpid(), sig);
  _exit(128 + sig);
}

static uint32_t g_host_uid = 65534, g_host_gid = 65534;
static bool g_allow_no_userns;
/* User namespaces made while still root (prepare_host_uid), -1: none.
 *  g_userns_fd   the sandbox's own: uid/gid 0 are its unprivileged host
 *                ids; PLAT_PUBLIC_ID_BASE + k shows host id
 *                PUBLIC_HOST_BASE + k (the public view, below);
 *  g_grant_idmap the idmap of the user's grants: host id 0 (the invoking
 *                user) is the sandbox's host uid, so the user's files are
 *                the sandbox's own and what it writes is the user's;
 *  g_public_idmap the idmap of the default root's system directories:
 *                host id k appears as PUBLIC_HOST_BASE + k, an id the
 *                sandbox never has, so the host kernel grants it only
 *                what "others" may do, and hostfs shows the guest the
 *                true owner k. */
static int g_userns_fd = -1, g_grant_idmap = -1, g_public_idmap = -1;
/* The sandbox's host processes are in a user namespace of their own whose
 * ids are the sandbox's alone (root-run: the unprivileged host ids; a
 * user: the user's own): then they keep the file capabilities there. */
static bool g_own_userns;
#define PUBLIC_HOST_BASE 0x40000000u
#define PUBLIC_IDS 65536u

void plat_linux_set_host_ids(uint32_t uid, uint32_t gid) {
  g_host_uid = uid;
  g_host_gid = gid;
}

static uint32_t g_max_tasks = 1024;

void plat_linux_set_max_tasks(uint32_t n) {
  g_max_tasks = n ? n : 1024;
}

void plat_linux_allow_no_userns(bool on) {
  g_allow_no_userns = on;
}

/* The child that holds a user namespace while make_userns maps it. It
 * shares the launcher's memory (CLONE_VM, so making it copies no page
 * tables: a fork of the launcher, with the arena and the page cache's
 * pool mapped, cost about a millisecond, and start made three), so it
 * runs only raw system calls, on its own small stack (a failing one
 * would set the launcher's errno, nothing worse). */
struct userns_child {
  int done_read, done_write;
};

static int userns_child_main(void *arg) {
  const struct userns_child *c = arg;
  char byte;
  syscall(SYS_close, c->done_write);
  /* Until the parent closes its end: then it has the namespace's fd. */
  syscall(SYS_read, c->done_read, &byte, 1);
  return 0;
}

/* As host root: a user namespace with the given maps, kept by an fd. A
 * short-lived child is made in it (clone with CLONE_NEWUSER); we write
 * its maps (only a process privileged in the parent namespace may map
 * ids other than its own). -EPERM without a message: this host has no
 * user namespaces. */
static int make_userns(const char *uid_map, const char *gid_map, int *out_fd,
                       char *why, size_t len) {
  static char stack[16384] __attribute__((aligned(64)));
  int done[2];
  if (pipe2(done, O_CLOEXEC) < 0)
    return fail(why, len, -errno, "pipe: %s", strerror(errno));
  struct userns_child arg = {done[0], done[1]};
  pid_t child = clone(userns_child_main, stack + sizeof(stack),
                      CLONE_VM | CLONE_NEWUSER | SIGCHLD, &arg);
  int err = 0;
  char path[64];
  if (child < 0) {
    if (errno == EPERM || errno == EINVAL || errno == ENOSPC || errno == EUSERS)
      err = -EPERM;
    else
      err = fail(why, len, -errno, "clone: %s", strerror(errno));
    goto out;
  }
  snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)child);
  err = plat_linux_write_file(path, uid_map);
  if (!err) {
    snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)child);
    err = plat_linux_write_file(path, gid_map);
  }
  if (err) {
    err = fail(why, len, err, "cannot map the sandbox's host ids %u:%u: %s",
               g_host_uid, g_host_gid, strerror(-err));
    goto out;
  }
  snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)child);
  *out_fd = open(path, O_RDONLY | O_CLOEXEC);
  if (*out_fd < 0)
    err = fail(why, len, -errno, "cannot keep a user namespace: %s",
               strerror(errno));
out:
  close(done[1]);
  close(done[0]);
  if (child > 0)
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
      ;
  return err;
}

static bool in_public_range(uint32_t id) {
  return id >= PUBLIC_HOST_BASE && id - PUBLIC_HOST_BASE < PUBLIC_IDS;
}

/* The grant idmap for one kind of id: host id 0 (the invoking user) is
 * the sandbox's host id, every other id except that one is itself. The
 * kernel refuses any write to an inode whose owner or group the mount's
 * idmap cannot map (EACCES even for its owner), so with id 0 alone a
 * root-owned directory of another group, or a world-writable file of
 * another user, could not be changed; mapped as themselves they give the
 * sandbox what "others" (or the invoking user, as owner) may do. The
 * sandbox's own host id stays unmapped on disk: files that host id owns
 * are not the sandbox's. */
static int identity(char *buf, size_t len, uint32_t from, uint32_t to) {
  if (from >= to)
    return 0;
  return snprintf(buf, len, "%u %u %u\n", from, from, to - from);
}

/* The public view's host ids (PUBLIC_HOST_BASE...) stay unmapped as well:
 * the sandbox's user namespace maps them (the default root's owners show
 * through them), so without this a chown to one through the gate would
 * give a grant file to such a host id; unmapped, the host kernel refuses
 * it (EOVERFLOW), as the filter does first. */
static void grant_map(char *buf, size_t len, uint32_t id) {
  int n = snprintf(buf, len, "0 %u 1\n", id);
  uint32_t pub_end = PUBLIC_HOST_BASE + PUBLIC_IDS;
  if (id < PUBLIC_HOST_BASE) {
    n += identity(buf + n, len - (size_t)n, 1, id);
    n += identity(buf + n, len - (size_t)n, id + 1, PUBLIC_HOST_BASE);
    identity(buf + n, len - (size_t)n, pub_end, 0xffffffffu);
  } else {
    n += identity(buf + n, len - (size_t)n, 1, PUBLIC_HOST_BASE);
    n += identity(buf + n, len - (size_t)n, pub_end, id);
    identity(buf + n, len - (size_t)n, id + 1, 0xffffffffu);
  }
}

/* The three namespaces of g_userns_fd's comment. */
static int prepare_host_uid(char *why, size_t len) {
  if (in_public_range(g_host_uid) || in_public_range(g_host_gid))
    return fail(why, len, -EINVAL,
                "--host-uid %u:%u: ids %u to %u are reserved for the view "
                "of host files",
                g_host_uid, g_host_gid, PUBLIC_HOST_BASE,
                PUBLIC_HOST_BASE + PUBLIC_IDS - 1);
  char umap[160], gmap[160], upub[64], gpub[64];
  snprintf(umap, sizeof(umap), "0 %u 1\n%u %u %u\n", g_host_uid,
           PLAT_PUBLIC_ID_BASE, PUBLIC_HOST_BASE, PUBLIC_IDS);
  /* The public view maps owners, not groups: the sandbox keeps the file
   * capabilities of its user namespace (drop_capabilities), which the
   * kernel honours only for an inode whose owner AND group both map
   * there, so no default-root file may have a mapped group (its groups
   * show as the overflow gid). */
  snprintf(gmap, sizeof(gmap), "0 %u 1\n", g_host_gid);
  int err = make_userns(umap, gmap, &g_userns_fd, why, len);
  if (err)
    return err;
  grant_map(umap, sizeof(umap), g_host_uid);
  grant_map(gmap, sizeof(gmap), g_host_gid);
  err = make_userns(umap, gmap, &g_grant_idmap, why, len);
  snprintf(upub, sizeof(upub), "0 %u %u\n", PUBLIC_HOST_BASE, PUBLIC_IDS);
  snprintf(gpub, sizeof(gpub), "0 %u %u\n", PUBLIC_HOST_BASE, PUBLIC_IDS);
  if (!err)
    err = make_userns(upub, gpub, &g_public_idmap, why, len);
  if (err == -EPERM)
    err = fail(why, len, err, "cannot make a user namespace");
  return err;
}

/* As host root, before the switch (after it, the grants' mounts would
 * belong to a mount namespace we no longer are in, and open_tree could
 * not clone them): every grant becomes a private clone. The user's grants
 * (--mount, --root DIR) are idmapped, so the invoking user's files there
 * are the sandbox's own and what it writes is the invoking user's on the
 * host. The default root's system directories are not: the host's owners
 * stay, and the host kernel refuses the sandbox what "others" may not
 * read. A file system that cannot be idmapped keeps a plain clone: files
 * written there are owned by the sandbox's host uid (said on stderr). */
static int clone_grants_as_root(char *why, size_t len) {
  int fds[MAX_GRANTS];
  bool writable[MAX_GRANTS];
  int n = plat_hostfs_grants(fds, writable, MAX_GRANTS);
  for (int i = 0; i < n; i++) {
    int err;
    if (plat_hostfs_grant_public_only(fds[i])) {
      if (plat_mounts_clone(fds[i], writable[i], g_public_idmap) == 0) {
        g_plat_lockdown.public_idmapped++;
        continue;
      }
      /* A plain clone: unmapped owners show as the overflow id (65534),
       * and files the host uid itself owns there are the sandbox's. */
      err = plat_mounts_clone(fds[i], writable[i], -1);
    } else if (plat_mounts_clone(fds[i], writable[i], g_grant_idmap) == 0) {
      g_plat_lockdown.grants_idmapped++;
      continue;
    } else {
      g_plat_lockdown.grants_not_idmapped++;
      err = plat_mounts_clone(fds[i], writable[i], -1);
      if (!err && writable[i]) {
        char link[64], target[512];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fds[i]);
        ssize_t k = readlink(link, target, sizeof(target) - 1);
        target[k > 0 ? k : 0] = 0;
        fprintf(stderr,
                "moat: warning: %s cannot be an idmapped mount: files the "
                "sandbox writes there will be owned by host uid %u\n",
                k > 0 ? target : "a read-write grant", g_host_uid);
      }
    }
    if (err)
      return fail(why, len, err, "cannot make a private mount of a grant: %s",
                  strerror(-err));
  }
  return 0;
}

/* The user namespace maps our own ids to themselves (moat run by a user)
 * so files created in rw grants keep their owner; as root, the prepared
 * namespace of the sandbox's unprivileged host uid is entered instead. A
 * host without user namespaces gets a sandbox only when the user agreed
 * to the weaker isolation (--allow-no-userns). */
static int enter_namespaces(char *why, size_t len) {
  static bool done;
  if (done)
    return 0;
  done = true;
  uid_t uid = getuid();
  gid_t gid = getgid();
  const int rest = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS;
  if (g_userns_fd >= 0) {
    /* setns keeps our host ids: the set*id calls inside the namespace
     * make them the namespace's 0, the unprivileged host ids; root's
     * supplementary groups (gid 0 among them) go first. */
    if (setgroups(0, NULL) < 0 || setns(g_userns_fd, CLONE_NEWUSER) < 0 ||
        setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
      return fail(why, len, -errno,
                  "cannot become the sandbox's host uid %u: %s", g_host_uid,
                  strerror(errno));
    close(g_userns_fd);
    close(g_grant_idmap);
    close(g_public_idmap);
    g_userns_fd = g_grant_idmap = g_public_idmap = -1;
    plat_hostfs_public_ids(true);
    g_plat_lockdown.ns_flags = CLONE_NEWUSER;
    g_plat_lockdown.uid_mapped = true;
    g_plat_lockdown.host_uid_switched = true;
    g_plat_lockdown.host_uid = g_host_uid;
    g_plat_lockdown.host_gid = g_host_gid;
    if (unshare(rest) == 0)
      g_plat_lockdown.ns_flags |= rest;
    g_own_userns = true;
  } else if (unshare(CLONE_NEWUSER | rest) == 0) {
    g_plat_lockdown.ns_flags = CLONE_NEWUSER | rest;
    g_own_userns = uid != 0; /* not --host-uid 0: root's ids stay root's */
  } else {
    if (!g_allow_no_userns)
      return fail(why, len, -EPERM,
                  "this host refuses user namespaces (%s), so the host kernel "
                  "could not hold a subverted sandbox to its grants; pass "
                  "--allow-no-userns to run with weaker isolation "
                  "(docs/security.md)",
                  strerror(errno));
    static const int each[] = {CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWIPC,
                               CLONE_NEWUTS, CLONE_NEWNS};
    for (size_t i = 0; i < sizeof(each) / sizeof(each[0]); i++)
      if (unshare(each[i]) == 0)
        g_plat_lockdown.ns_flags |= (unsigned)each[i];
  }
  if ((g_plat_lockdown.ns_flags & CLONE_NEWUSER) &&
      !g_plat_lockdown.host_uid_switched) {
    char map[64];
    int err = plat_linux_write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof(map), "%u %u 1\n", uid, uid);
    if (!err)
      err = plat_linux_write_file("/proc/self/uid_map", map);
    snprintf(map, sizeof(map), "%u %u 1\n", gid, gid);
    if (!err)
      err = plat_linux_write_file("/proc/self/gid_map", map);
    g_plat_lockdown.uid_mapped = !err;
  }
  /* A PID namespace needs our own user namespace, or host root's
   * CAP_SYS_ADMIN without one (--allow-no-userns run as root): then too
   * the kick signal reaches only the sandbox, and its end ends every
   * process forked through the gate. Without either, EPERM (recorded). */
  if (unshare(CLONE_NEWPID) == 0) {
    g_plat_lockdown.ns_flags |= CLONE_NEWPID;
    become_pid_namespace_init();
  }
  return 0;
}

int plat_linux_isolate(char *why, size_t len) {
  if (geteuid() == 0 && g_host_uid != 0) {
    static bool prepared;
    if (prepared)
      return 0;
    prepared = true;
    int err = prepare_host_uid(why, len);
    if (err != -EPERM)
      return err;
    /* no user namespace here: enter_namespaces says what follows */
  }
  return enter_namespaces(why, len);
}

static int set_limits(char *why, size_t len) {
  struct rlimit no_core = {0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) < 0)
    return fail(why, len, -errno, "cannot disable core dumps: %s",
                strerror(errno));
  struct rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    rlim_t want = HOSTFS_FD_BUDGET;
    if (files.rlim_max != RLIM_INFINITY && files.rlim_max < want)
      want = files.rlim_max;
    files.rlim_cur = want;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  /* --pids in the host kernel where no pids cgroup holds the sandbox:
   * RLIMIT_NPROC binds the sandbox's unprivileged host uid (the kernel
   * counts it per user namespace: each sandbox has its own count). */
  if (g_plat_lockdown.host_uid_switched && !plat_linux_pids_cgroup()) {
    rlim_t n = (rlim_t)plat_linux_host_tasks(g_max_tasks);
    struct rlimit nproc = {n, n};
    if (setrlimit(RLIMIT_NPROC, &nproc) == 0)
      g_plat_lockdown.nproc_limit = (unsigned)n;
  }
  g_plat_lockdown.rlimits = true;
  return 0;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* Close every descriptor except 0, 1, 2, the grants, the broker's
 * channel and the control channel. */
static int close_other_fds(char *why, size_t len) {
  int fds[MAX_GRANTS + 5];
  bool writable[MAX_GRANTS + 5];
  int n = plat_hostfs_grants(fds, writable, MAX_GRANTS);
  if (plat_linux_net_channel() >= 0) /* the network broker's channel */
    fds[n++] = plat_linux_net_channel();
  if (plat_linux_control_fd() >= 0) /* an OCI container's control */
    fds[n++] = plat_linux_control_fd();
  if (plat_linux_pool_fd() >= 0) /* the page cache's pool */
    fds[n++] = plat_linux_pool_fd();
  int rd, wr; /* and the pipe that fills it */
  plat_linux_pool_pipe(&rd, &wr);
  if (rd >= 0) {
    fds[n++] = rd;
    fds[n++] = wr;
  }
  qsort(fds, (size_t)n, sizeof(int), cmp_int);
  unsigned next = 3;
  for (int i = 0; i <= n; i++) {
    unsigned stop = i < n ? (unsigned)fds[i] : ~0u;
    if (stop > next && syscall(SYS_close_range, next, stop - 1, 0) < 0) {
      if (errno != ENOSYS)
        return fail(why, len, -errno, "cannot close host descriptors: %s",
                    strerror(errno));
      struct rlimit rl;
      unsigned top = getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
                             rl.rlim_cur != RLIM_INFINITY &&
                             rl.rlim_cur < 1u << 20
                         ? (unsigned)rl.rlim_cur
                         : 65536;
      for (unsigned fd = next; fd < stop && fd < top; fd++)
        close((int)fd);
    }
    if (i < n)
      next = (unsigned)fds[i] + 1;
  }
  g_plat_lockdown.fds_closed = true;
  return 0;
}

/* Needs our own user and mount namespaces; without them this layer is
 * skipped (recorded), the others still hold. */
static void harden_mounts(void) {
  /* Our own user namespace gives the rights to mount; so does host root
   * without one (degraded mode). Without either this fails (recorded). */
  if (!(g_plat_lockdown.ns_flags & CLONE_NEWNS))
    return;
  int fds[MAX_GRANTS];
  bool writable[MAX_GRANTS];
  int n = plat_hostfs_grants(fds, writable, MAX_GRANTS);
  plat_mounts_harden(fds, writable, n, &g_plat_lockdown.grants_cloned,
                     &g_plat_lockdown.root_emptied);
}

static int apply_landlock(char *why, size_t len) {
  int fds[MAX_GRANTS];
  bool writable[MAX_GRANTS];
  int n = plat_hostfs_grants(fds, writable, MAX_GRANTS);
  int err =
      plat_landlock_apply(fds, writable, n, &g_plat_lockdown.landlock_abi);
  if (err == -EOPNOTSUPP)
    return 0; /* kernel without Landlock: recorded, not fatal */
  if (err)
    return fail(why, len, err, "cannot apply Landlock rules: %s",
                strerror(-err));
  g_plat_lockdown.landlock_on = true;
  return 0;
}

/* No host mapping may sit in the guest window: the core places guest
 * mappings there with MAP_FIXED and would silently replace ours. */
static int check_guest_window(char *why, size_t len) {
  static char maps[1 << 16];
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(why, len, -errno, "cannot read /proc/self/maps: %s",
                strerror(errno));
  size_t used = 0;
  ssize_t n;
  while (used < sizeof(maps) - 1 &&
         (n = read(fd, maps + used, sizeof(maps) - 1 - used)) > 0)
    used += (size_t)n;
  close(fd);
  maps[used] = 0;
  for (char *line = maps; line && *line;) {
    char *next = strchr(line, '\n');
    if (next)
      *next++ = 0;
    unsigned long long lo, hi;
    if (sscanf(line, "%llx-%llx", &lo, &hi) == 2 &&
        plat_range_touches_window(lo, hi))
      return fail(why, len, -EEXIST,
                  "host mapping %s lies inside the guest window "
                  "[0x%llx, 0x%llx)",
                  line, (unsigned long long)PLAT_GUEST_LO,
                  (unsigned long long)PLAT_GUEST_HI);
    line = next;
  }
  return 0;
}

/* Degraded mode as host root (no user namespace, --allow-no-userns): the
 * sandbox still leaves host root's identity, so the host kernel refuses
 * what "others" may not read; without a user namespace there is no
 * idmap, and files written in rw grants are owned by the host uid. Best
 * effort (a uid the host cannot map stays as it was; --verbose says).
 * Before the parent-death signal, which a change of ids clears. */
static void drop_root_without_userns(void) {
  if (g_plat_lockdown.host_uid_switched || geteuid() != 0)
    return;
  g_plat_lockdown.root_kept = true;
  if (g_host_uid == 0 || (g_plat_lockdown.ns_flags & CLONE_NEWUSER))
    return;
  if (setgroups(0, NULL) == 0 &&
      setresgid(g_host_gid, g_host_gid, g_host_gid) == 0 &&
      setresuid(g_host_uid, g_host_uid, g_host_uid) == 0) {
    g_plat_lockdown.host_uid_switched = true;
    g_plat_lockdown.host_uid = g_host_uid;
    g_plat_lockdown.host_gid = g_host_gid;
    g_plat_lockdown.root_kept = false;
  }
}

/* Whatever capabilities we hold (all of them in our own user namespace,
 * real ones when the host runs moat as root without one) go, except, in
 * a user namespace of the sandbox's own (g_own_userns), the four that
 * make guest root's file access Linux's root's: CAP_CHOWN,
 * CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER. The kernel honours
 * them only for inodes whose owner and group both map into that
 * namespace (capable_wrt_inode_uidgid): the sandbox's own files on the
 * grants (the invoking user's, idmapped), never the default root's system
 * files (their groups are unmapped, prepare_host_uid), never another host
 * user's. Landlock, the mounts and the filter bound them as before; none
 * of them reaches beyond the sandbox's user namespace. */
#define KEPT_CAPS                                                              \
  ((1u << 0) /* CAP_CHOWN */ | (1u << 1) /* CAP_DAC_OVERRIDE */ |              \
   (1u << 2) /* CAP_DAC_READ_SEARCH */ | (1u << 3) /* CAP_FOWNER */)
static int drop_capabilities(char *why, size_t len) {
  struct {
    uint32_t version;
    int pid;
  } header = {0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0};
  uint32_t keep = g_own_userns && (g_plat_lockdown.ns_flags & CLONE_NEWUSER)
                      ? KEPT_CAPS
                      : 0;
  struct {
    uint32_t effective, permitted, inheritable;
  } data[2] = {{keep, keep, 0}, {0, 0, 0}};
  if (syscall(SYS_capset, &header, data) < 0)
    return fail(why, len, -errno, "cannot drop capabilities: %s",
                strerror(errno));
  g_plat_lockdown.caps_dropped = true;
  g_plat_lockdown.file_caps_kept = keep != 0;
  return 0;
}

void plat_lockdown_report(void) {
  struct plat_out o = {.len = 0};
  const struct plat_lockdown_status *s = &g_plat_lockdown;
  static const struct {
    unsigned flag;
    const char *name;
  } ns[] = {{CLONE_NEWUSER, " user"}, {CLONE_NEWNET, " net"},
            {CLONE_NEWIPC, " ipc"},   {CLONE_NEWUTS, " uts"},
            {CLONE_NEWNS, " mount"},  {CLONE_NEWPID, " pid"}};
  po_str(&o, "moat: lockdown: namespaces:");
  for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
    if (s->ns_flags & ns[i].flag)
      po_str(&o, ns[i].name);
  if (!s->ns_flags)
    po_str(&o, " none");
  po_str(&o, s->uid_mapped ? " (ids mapped)\n" : "\n");
  if (s->host_uid_switched) {
    po_str(&o, "moat: lockdown: host ids: ");
    po_dec(&o, s->host_uid);
    po_str(&o, ":");
    po_dec(&o, s->host_gid);
    po_str(&o, " (not root); user grants idmapped: ");
    po_dec(&o, s->grants_idmapped);
    if (s->grants_not_idmapped) {
      po_str(&o, ", not idmapped (file system refused): ");
      po_dec(&o, s->grants_not_idmapped);
    }
    po_str(&o, "\n");
  } else if (s->root_kept) {
    po_str(&o, "moat: lockdown: host ids: root's (--host-uid 0, or the host "
               "could not switch; weaker: docs/security.md)\n");
  }
  if (s->nproc_limit) {
    po_str(&o, "moat: lockdown: host tasks: RLIMIT_NPROC ");
    po_dec(&o, s->nproc_limit);
    po_str(&o, " (no pids cgroup)\n");
  }
  po_str(&o, "moat: lockdown: landlock: ");
  if (s->landlock_on) {
    po_str(&o, "on, ABI ");
    po_dec(&o, s->landlock_abi);
  } else {
    po_str(&o, "unavailable on this kernel");
  }
  po_str(&o, "\nmoat: lockdown: mounts: ");
  po_str(&o, s->grants_cloned ? "grants are private mounts (ro grants "
                                "read-only), "
                              : "grants not remounted, ");
  po_str(&o, s->root_emptied ? "root is an empty read-only tmpfs"
                             : "host root still visible");
  po_str(&o, "\nmoat: lockdown: no_new_privs, capabilities dropped, core "
             "dumps off, fds closed, parent-death signal\n");
  po_flush(&o, 2);
  if (s->file_caps_kept)
    po_str(&o, "moat: lockdown: kept over the sandbox's own files only: "
               "CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER "
               "(in its user namespace)\n");
  po_str(&o, "moat: lockdown: seccomp: ");
  po_dec(&o, s->seccomp_rules);
  po_str(&o, " host syscalls allowed from the gate, ");
  po_dec(&o, s->bpf_len);
  po_str(&o, " BPF instructions; gate ");
  po_hex(&o, (uint64_t)(uintptr_t)plat_gate_start);
  po_str(&o, "-");
  po_hex(&o, (uint64_t)(uintptr_t)plat_gate_end);
  po_str(&o, "\n");
  po_flush(&o, 2);
}

int plat_linux_lockdown(char *why, size_t len) {
  int err;
  g_plat_have_fsgsbase = (getauxval(AT_HWCAP2) & 2) != 0;
  plat_fast_setup();
  /* Before the filter, which pins its descriptor. */
  plat_linux_pool_setup(plat_linux_pcache_pool_bytes());
  err = plat_linux_wait_setup();
  if (err)
    return fail(why, len, err, "cannot set up waiting: %s", strerror(-err));

  /* The ids the sandbox's host processes will have in their namespace
   * (root: 0 in the sandbox's own; a user: their own, mapped to
   * themselves): the one id of each kind a grant maps, which the filter
   * pins chown to. */
  plat_hostfs_set_owner((uint32_t)getuid(), (uint32_t)getgid());
  struct sock_filter *filter = NULL;
  int rules = 0;
  int bpf_len = plat_seccomp_build(&filter, &rules);
  if (bpf_len < 0)
    return fail(why, len, bpf_len, "cannot build the seccomp filter: %s",
                strerror(-bpf_len));

  err = plat_linux_isolate(why, len);
  if (err)
    return err;
  if (g_userns_fd >= 0) {
    err = clone_grants_as_root(why, len);
    if (err)
      return err;
  }
  err = enter_namespaces(why, len);
  if (err)
    return err;
  /* After the PID namespace's fork: init's parent is the relay (pid 0
   * from inside), or the supervisor without a PID namespace. */
  pid_t parent = getppid();
  err = set_limits(why, len);
  if (err)
    return err;

  struct plat_thread *t;
  err = plat_thread_create_stack(&t);
  if (!err)
    err = plat_signals_install(t);
  if (err)
    return fail(why, len, err, "cannot set up signal handling: %s",
                strerror(-err));

  /* Before Landlock, which hides /proc/self/maps from us; nothing below
   * maps memory without MAP_FIXED inside the window. */
  err = check_guest_window(why, len);
  if (err)
    return err;
  harden_mounts();
  err = close_other_fds(why, len);
  if (err)
    return err;
  /* no_new_privs first: Landlock requires it without CAP_SYS_ADMIN. */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return fail(why, len, -errno, "cannot set no_new_privs: %s",
                strerror(errno));
  g_plat_lockdown.no_new_privs = true;
  err = apply_landlock(why, len);
  if (err)
    return err;
  drop_root_without_userns();
  /* This process becomes the sandbox's first guest process. Orphans of
   * the sandbox must come to it at host level as they do in the guest's
   * task table, so that their host-level end is collected (plat_space_reap):
   * in a PID namespace it is the init anyway; without one, a subreaper. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    return fail(why, len, -errno, "cannot become the child subreaper: %s",
                strerror(errno));
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    return fail(why, len, -errno, "cannot set the parent-death signal: %s",
                strerror(errno));
  if (getppid() != parent)
    return fail(why, len, -ESRCH, "the supervisor went away");
  g_plat_lockdown.pdeathsig = true;
  err = drop_capabilities(why, len);
  if (err)
    return err;
  /* The guest's umask is the core's: a mode reaches the host with it
   * applied already, and the host's own must not take more away. */
  umask(0);

  struct sock_fprog prog = {.len = (unsigned short)bpf_len, .filter = filter};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
    return fail(why, len, -errno, "cannot install the seccomp filter: %s",
                strerror(errno));
  /* Locked down: from here on, no libc. The filter copy stays allocated:
   * free() is libc. */
  g_plat_lockdown.seccomp_on = true;
  g_plat_lockdown.seccomp_rules = rules;
  g_plat_lockdown.bpf_len = bpf_len;
  if (g_plat_verbose)
    plat_lockdown_report();
  return 0;
}
