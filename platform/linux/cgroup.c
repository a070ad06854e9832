/* Host-enforced limits for the whole sandbox: the memory and pids cgroups
 * (v1 controllers or cgroup v2, whichever the host offers for each), and
 * where no memory cgroup can be made, RLIMIT_AS/RLIMIT_DATA per host
 * process. The library OS keeps the same limits for a clear error (ENOMEM,
 * EAGAIN); these hold when it has been subverted (docs/usage.md, --memory
 * and --pids).
 *
 * The supervisor (cmd/moat/main.c, outside the sandbox and never locked
 * down) makes one cgroup per hierarchy, "moat-<its pid>", below the cgroup
 * it runs in itself, before it forks; the child joins them first thing,
 * so every host process of the sandbox (the relay, the PID namespace's
 * init, every guest process and thread) is inside from the start. After
 * the sandbox ended, the supervisor reads the OOM-kill counter, kills
 * whatever is left inside (a degraded mode without a PID namespace can
 * leave processes behind) and removes the directories. Runs before
 * lockdown only: libc is fine here. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "linux_platform.h"
#include "plat_linux.h"

/* The arena the core maps at boot (core/rt_alloc.c, rt_arena_init(0)): a
 * shared mapping, so it counts in RLIMIT_AS but not in RLIMIT_DATA. */
#define ARENA_BYTES (4ull << 30)
/* The System V shared memory pool the core reserves at boot, also a
 * shared mapping (core/sysv_ipc.c, sysv_ipc_init: --memory, or the
 * core's 8 GiB default, plus a quarter and 64 MiB). */
#define SHM_POOL_BYTES(memory)                                                 \
  (((memory) ? (memory) : (8ull << 30)) * 5 / 4 + (64ull << 20))
/* The page cache's pool (core/pcache.c, pcache_init): the same size,
 * rounded up to its 256 KiB chunks. */
#define PCACHE_POOL_BYTES(memory) (SHM_POOL_BYTES(memory) + (256ull << 10))
/* What the library OS does not count in --memory but the host does:
 * copies of read-only file mappings (program text is copied in, not
 * shared with the host's page cache), the library OS's own structures in
 * the arena, signal stacks, page tables, host page cache of files read. */
#define MEMORY_SLACK_MIN (128ull << 20)
/* Host tasks of the sandbox beyond --pids: the relay outside the PID
 * namespace (1), and room for transients (7): a vfork child moving to a
 * host process of its own at exec is two tasks for a moment; a host
 * process that ended stays a task until its host parent collects it; an
 * exiting thread leaves its --pids slot a few instructions before its
 * host thread is gone. */
#define PIDS_EXTRA 8

enum { CG_MEMORY, CG_PIDS, CG_N };
static const char *const g_ctrl_name[CG_N] = {"memory", "pids"};

static struct {
  bool made[CG_N];
  bool v2[CG_N];
  char dir[CG_N][PATH_MAX];
  char why[CG_N][2 * PATH_MAX]; /* why none was made */
  uint64_t memory; /* the library OS's limit (--memory), 0 = none */
  uint64_t host_memory;
  uint32_t pids;
  bool rlimit_fallback;
  bool verbose;
} g_cg;

uint64_t plat_linux_pcache_pool_bytes(void) {
  return PCACHE_POOL_BYTES(g_cg.memory);
}

uint64_t plat_linux_host_memory(uint64_t memory) {
  uint64_t slack = memory / 2;
  if (slack < MEMORY_SLACK_MIN)
    slack = MEMORY_SLACK_MIN;
  return memory + slack;
}

/* Host tasks the runner's own helpers inside the sandbox take (an OCI
 * container's exec server and its shepherds), beyond the guest's. */
static uint32_t g_helper_tasks;

void plat_linux_helper_tasks(uint32_t n) {
  g_helper_tasks = n;
}

uint32_t plat_linux_host_tasks(uint32_t max_tasks) {
  return (max_tasks ? max_tasks : 1024) + PIDS_EXTRA + g_helper_tasks;
}

bool plat_linux_pids_cgroup(void) {
  return g_cg.made[CG_PIDS];
}

static int write_text(const char *dir, const char *file, const char *text) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof(path), "%s/%s", dir, file);
  return plat_linux_write_file(path, text);
}

static ssize_t read_text(const char *dir, const char *file, char *buf,
                         size_t len) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof(path), "%s/%s", dir, file);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  ssize_t n = read(fd, buf, len - 1);
  int e = errno;
  close(fd);
  if (n < 0)
    return -e;
  buf[n] = 0;
  return n;
}

/* Is word one of the separated words of list? */
static bool has_word(const char *list, const char *word, const char *seps) {
  size_t n = strlen(word);
  for (const char *p = list; *p;) {
    size_t k = strcspn(p, seps);
    if (k == n && !strncmp(p, word, n))
      return true;
    p += k;
    if (*p)
      p++;
  }
  return false;
}

/* The directory of the cgroup this process is in, for controller ctrl:
 * a v1 hierarchy that has it, else cgroup v2 if it offers it there. */
static int own_cgroup(const char *ctrl, char *dir, size_t len, bool *v2,
                      char *why, size_t wlen) {
  char v1_root[PATH_MAX] = "", v1_mnt[PATH_MAX] = "";
  char v2_root[PATH_MAX] = "", v2_mnt[PATH_MAX] = "";
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) {
    snprintf(why, wlen, "/proc/self/mountinfo: %s", strerror(errno));
    return -1;
  }
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    /* id parent dev root mountpoint options [tags] - fstype source super */
    char root[PATH_MAX], mnt[PATH_MAX];
    if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2)
      continue;
    char *dash = strstr(line, " - ");
    if (!dash)
      continue;
    char fstype[32], source[256], super[1024];
    if (sscanf(dash + 3, "%31s %255s %1023s", fstype, source, super) != 3)
      continue;
    if (!strcmp(fstype, "cgroup") && has_word(super, ctrl, ",") && !v1_mnt[0]) {
      snprintf(v1_root, sizeof(v1_root), "%s", root);
      snprintf(v1_mnt, sizeof(v1_mnt), "%s", mnt);
    } else if (!strcmp(fstype, "cgroup2") && !v2_mnt[0]) {
      snprintf(v2_root, sizeof(v2_root), "%s", root);
      snprintf(v2_mnt, sizeof(v2_mnt), "%s", mnt);
    }
  }
  fclose(f);
  char v1_path[PATH_MAX] = "", v2_path[PATH_MAX] = "";
  bool v1_seen = false, v2_seen = false;
  f = fopen("/proc/self/cgroup", "re");
  if (!f) {
    free(line);
    snprintf(why, wlen, "/proc/self/cgroup: %s", strerror(errno));
    return -1;
  }
  while (getline(&line, &cap, f) > 0) {
    line[strcspn(line, "\n")] = 0;
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    /* "ID:CONTROLLERS:PATH"; cgroup v2's line is "0::PATH" */
    *c1 = 0;
    *c2 = 0;
    if (!strcmp(line, "0") && c1[1] == 0) {
      snprintf(v2_path, sizeof(v2_path), "%s", c2 + 1);
      v2_seen = true;
    } else if (has_word(c1 + 1, ctrl, ",")) {
      snprintf(v1_path, sizeof(v1_path), "%s", c2 + 1);
      v1_seen = true;
    }
  }
  fclose(f);
  free(line);
  const char *mnt = NULL, *root = NULL, *path = NULL;
  if (v1_mnt[0] && v1_seen) {
    mnt = v1_mnt, root = v1_root, path = v1_path;
    *v2 = false;
  } else if (v2_mnt[0] && v2_seen) {
    mnt = v2_mnt, root = v2_root, path = v2_path;
    *v2 = true;
  } else {
    snprintf(why, wlen, "the host has no %s controller mounted", ctrl);
    return -1;
  }
  /* The path is relative to the hierarchy's root; the mount may show a
   * subtree of it (its root field), or a cgroup namespace its own root. */
  size_t rl = strlen(root);
  if (strcmp(root, "/") && !strncmp(path, root, rl) &&
      (path[rl] == '/' || path[rl] == 0))
    path += rl;
  snprintf(dir, len, "%s%s", mnt, strcmp(path, "/") ? path : "");
  if (*v2) {
    char ctrls[512];
    if (read_text(dir, "cgroup.controllers", ctrls, sizeof(ctrls)) < 0 ||
        !has_word(ctrls, ctrl, " \n")) {
      snprintf(why, wlen, "cgroup v2 does not offer %s at %s", ctrl, dir);
      return -1;
    }
    /* The sandbox's cgroup is always a child of moat's own: placed
     * anywhere higher it would leave the limits of whoever ran moat (a
     * systemd unit's MemoryMax or TasksMax). cgroup v2 gives children a
     * controller only if moat's own cgroup enables it, which a cgroup
     * holding processes (moat, the shell that started it) usually cannot:
     * make_one tries, and otherwise the rlimit fallbacks apply. */
  }
  return 0;
}

/* A moat killed by SIGKILL could not remove its cgroups: remove those of
 * supervisors that are gone (empty ones only: rmdir refuses the rest). */
static void remove_stale(const char *parent) {
  DIR *d = opendir(parent);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d))) {
    char *end;
    if (strncmp(e->d_name, "moat-", 5))
      continue;
    long pid = strtol(e->d_name + 5, &end, 10);
    if (*end || pid <= 0 || (kill((pid_t)pid, 0) == 0 || errno == EPERM))
      continue;
    char path[PATH_MAX + 300];
    snprintf(path, sizeof(path), "%s/%s", parent, e->d_name);
    rmdir(path);
  }
  closedir(d);
}

static int make_one(int which, char *why, size_t wlen) {
  const char *ctrl = g_ctrl_name[which];
  char parent[PATH_MAX];
  bool v2;
  if (own_cgroup(ctrl, parent, sizeof(parent), &v2, why, wlen) < 0)
    return -1;
  /* One v2 directory holds both controllers. */
  for (int i = 0; i < which; i++) {
    if (g_cg.made[i] && g_cg.v2[i] && v2) {
      memcpy(g_cg.dir[which], g_cg.dir[i], sizeof(g_cg.dir[which]));
      g_cg.v2[which] = true;
      return 0;
    }
  }
  if (v2) {
    char sub[512];
    if (read_text(parent, "cgroup.subtree_control", sub, sizeof(sub)) < 0)
      sub[0] = 0;
    if (!has_word(sub, ctrl, " \n")) {
      char plus[32];
      snprintf(plus, sizeof(plus), "+%s", ctrl);
      int err = write_text(parent, "cgroup.subtree_control", plus);
      if (err < 0) {
        snprintf(why, wlen, "cannot enable %s below %s (no delegation): %s",
                 ctrl, parent, strerror(-err));
        return -1;
      }
    }
  }
  remove_stale(parent);
  char dir[PATH_MAX];
  if ((size_t)snprintf(dir, sizeof(dir), "%s/moat-%d", parent, (int)getpid()) >=
      sizeof(dir)) {
    snprintf(why, wlen, "cgroup path too long");
    return -1;
  }
  if (mkdir(dir, 0755) < 0 &&
      (errno != EEXIST || rmdir(dir) < 0 || mkdir(dir, 0755) < 0)) {
    snprintf(why, wlen, "cannot make %s: %s", dir, strerror(errno));
    return -1;
  }
  snprintf(g_cg.dir[which], sizeof(g_cg.dir[which]), "%s", dir);
  g_cg.v2[which] = v2;
  return 0;
}

static int set_limits(int which, char *why, size_t wlen) {
  const char *dir = g_cg.dir[which];
  char num[32];
  int err = 0;
  if (which == CG_MEMORY) {
    snprintf(num, sizeof(num), "%llu", (unsigned long long)g_cg.host_memory);
    if (g_cg.v2[which]) {
      err = write_text(dir, "memory.max", num);
      write_text(dir, "memory.swap.max", "0"); /* no swap: best effort */
    } else {
      err = write_text(dir, "memory.limit_in_bytes", num);
      write_text(dir, "memory.memsw.limit_in_bytes", num); /* if swap */
    }
  } else {
    snprintf(num, sizeof(num), "%u", g_cg.pids);
    err = write_text(dir, "pids.max", num);
  }
  if (err < 0)
    snprintf(why, wlen, "cannot set the %s cgroup's limit: %s",
             g_ctrl_name[which], strerror(-err));
  return err;
}

void plat_linux_limits_setup(uint64_t memory, uint32_t max_tasks,
                             bool verbose) {
  memset(&g_cg, 0, sizeof(g_cg));
  g_cg.memory = memory;
  g_cg.host_memory = memory ? plat_linux_host_memory(memory) : 0;
  g_cg.pids = plat_linux_host_tasks(max_tasks);
  g_cg.verbose = verbose;
  for (int i = 0; i < CG_N; i++) {
    snprintf(g_cg.why[i], sizeof(g_cg.why[i]), "not asked for");
    if (i == CG_MEMORY && !memory)
      continue;
    if (make_one(i, g_cg.why[i], sizeof(g_cg.why[i])) < 0)
      continue;
    bool shared = false;
    for (int j = 0; j < i; j++)
      shared |= g_cg.made[j] && !strcmp(g_cg.dir[j], g_cg.dir[i]);
    if (set_limits(i, g_cg.why[i], sizeof(g_cg.why[i])) < 0) {
      if (!shared)
        rmdir(g_cg.dir[i]);
      continue;
    }
    g_cg.made[i] = true;
  }
  g_cg.rlimit_fallback = memory && !g_cg.made[CG_MEMORY];
}

int plat_linux_limits_enter(char *why, size_t wlen) {
  char pid[32];
  snprintf(pid, sizeof(pid), "%d", (int)getpid());
  for (int i = 0; i < CG_N; i++) {
    if (!g_cg.made[i])
      continue;
    bool again = false;
    for (int j = 0; j < i; j++)
      again |= g_cg.made[j] && !strcmp(g_cg.dir[j], g_cg.dir[i]);
    if (again)
      continue;
    int err = write_text(g_cg.dir[i], "cgroup.procs", pid);
    if (err < 0) {
      snprintf(why, wlen, "cannot join %s: %s", g_cg.dir[i], strerror(-err));
      /* This process's view: no cgroup holds it, so the fallbacks apply
       * (the supervisor still removes the directories). */
      for (int j = 0; j < CG_N; j++) {
        if (g_cg.made[j] && !strcmp(g_cg.dir[j], g_cg.dir[i])) {
          g_cg.made[j] = false;
          snprintf(g_cg.why[j], sizeof(g_cg.why[j]), "%s", why);
        }
      }
      g_cg.rlimit_fallback = g_cg.memory && !g_cg.made[CG_MEMORY];
      return err;
    }
  }
  return 0;
}

/* A figure from /proc/self/status, in bytes (0 when missing). */
static uint64_t status_bytes(const char *key) {
  FILE *f = fopen("/proc/self/status", "re");
  if (!f)
    return 0;
  char line[256];
  unsigned long long kb = 0;
  size_t n = strlen(key);
  while (fgets(line, sizeof(line), f))
    if (!strncmp(line, key, n) && line[n] == ':')
      sscanf(line + n + 1, "%llu", &kb);
  fclose(f);
  return (uint64_t)kb << 10;
}

void plat_linux_limits_rlimits(uint32_t max_tasks) {
  if (!g_cg.rlimit_fallback)
    return;
  /* Each host process may map what it has now, the arena, the sandbox's
   * memory with the host's slack, and a signal stack per thread (1 MiB
   * each, 2 MiB while one is made). */
  uint64_t stacks =
      ((uint64_t)(max_tasks ? max_tasks : 1024) + 2) * (1ull << 20);
  uint64_t base = g_cg.host_memory + stacks;
  uint64_t shared = ARENA_BYTES + SHM_POOL_BYTES(g_cg.memory) +
                    PCACHE_POOL_BYTES(g_cg.memory);
  struct rlimit as = {status_bytes("VmSize") + shared + base,
                      status_bytes("VmSize") + shared + base};
  struct rlimit data = {status_bytes("VmData") + base,
                        status_bytes("VmData") + base};
  setrlimit(RLIMIT_AS, &as);
  setrlimit(RLIMIT_DATA, &data);
  if (g_cg.verbose)
    fprintf(stderr,
            "moat: limits: memory: RLIMIT_AS %llu MiB, RLIMIT_DATA %llu MiB "
            "per host process (no memory cgroup: %s)\n",
            (unsigned long long)(as.rlim_cur >> 20),
            (unsigned long long)(data.rlim_cur >> 20), g_cg.why[CG_MEMORY]);
}

void plat_linux_limits_report(void) {
  if (!g_cg.verbose)
    return;
  if (g_cg.made[CG_MEMORY])
    fprintf(stderr,
            "moat: limits: memory: cgroup %s %s, %llu MiB (--memory %llu "
            "MiB and the host's slack)\n",
            g_cg.v2[CG_MEMORY] ? "v2" : "v1", g_cg.dir[CG_MEMORY],
            (unsigned long long)(g_cg.host_memory >> 20),
            (unsigned long long)(g_cg.memory >> 20));
  else if (!g_cg.memory)
    fprintf(stderr, "moat: limits: memory: no --memory, no host limit\n");
  if (g_cg.made[CG_PIDS])
    fprintf(stderr, "moat: limits: pids: cgroup %s %s, pids.max %u\n",
            g_cg.v2[CG_PIDS] ? "v2" : "v1", g_cg.dir[CG_PIDS], g_cg.pids);
  else
    fprintf(stderr,
            "moat: limits: pids: no pids cgroup (%s): only the library OS "
            "counts\n",
            g_cg.why[CG_PIDS]);
}

/* The "oom_kill N" figure of the memory cgroup (0 when unknown). */
static uint64_t oom_kills(void) {
  if (!g_cg.made[CG_MEMORY])
    return 0;
  char buf[2048];
  const char *file =
      g_cg.v2[CG_MEMORY] ? "memory.events" : "memory.oom_control";
  if (read_text(g_cg.dir[CG_MEMORY], file, buf, sizeof(buf)) < 0)
    return 0;
  for (char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
    if (!strncmp(p, "oom_kill ", 9))
      return strtoull(p + 9, NULL, 10);
  return 0;
}

static bool listed(const char *dir, long pid) {
  char buf[8192];
  if (read_text(dir, "cgroup.procs", buf, sizeof(buf)) <= 0)
    return false;
  for (char *p = buf; *p;) {
    if (strtol(p, &p, 10) == pid)
      return true;
    while (*p == '\n')
      p++;
  }
  return false;
}

/* SIGKILL to a process read from dir's cgroup.procs, by a pidfd taken
 * before the pid is checked again: a pid recycled since the list was read
 * is not hit (unless it too is in the sandbox's cgroup: a sandbox
 * process). */
static void kill_listed(const char *dir, long pid) {
  int pfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
  if (pfd < 0)
    return;
  if (listed(dir, pid))
    syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
  close(pfd);
}

/* Kill what is left in dir and remove it; bounded (about 2 s). */
static void empty_and_remove(const char *dir, bool v2) {
  for (int tries = 0; tries < 200; tries++) {
    if (rmdir(dir) == 0 || errno == ENOENT)
      return;
    if (errno != EBUSY)
      break;
    if (v2 && write_text(dir, "cgroup.kill", "1") == 0) {
      /* the kernel kills them all */
    } else {
      char buf[8192];
      if (read_text(dir, "cgroup.procs", buf, sizeof(buf)) > 0)
        for (char *p = buf; *p;) {
          long pid = strtol(p, &p, 10);
          if (pid > 0)
            kill_listed(dir, pid);
          while (*p == '\n')
            p++;
        }
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  fprintf(stderr, "moat: cannot remove the cgroup %s: %s\n", dir,
          strerror(errno));
}

uint64_t plat_linux_limits_finish(void) {
  uint64_t kills = oom_kills();
  for (int i = CG_N - 1; i >= 0; i--) {
    if (!g_cg.made[i])
      continue;
    bool shared = false;
    for (int j = 0; j < i; j++)
      shared |= g_cg.made[j] && !strcmp(g_cg.dir[j], g_cg.dir[i]);
    if (!shared)
      empty_and_remove(g_cg.dir[i], g_cg.v2[i]);
    g_cg.made[i] = false;
  }
  return kills;
}
