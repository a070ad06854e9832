/* procfs: the parts of /proc that ordinary programs read.
 *
 * /proc/self and /proc/thread-self (symlinks), /proc/<pid>/ for every
 * process of the sandbox (exe, cwd-less fd/, task/<tid>/, maps, status,
 * stat, statm, comm, cmdline, environ, limits, mounts, mountinfo,
 * cgroup), and meminfo, cpuinfo, stat, mounts, uptime, version, loadavg,
 * sys/kernel/{hostname,domainname,osrelease,ostype,version,pid_max,
 * threads-max,ngroups_max,cap_last_cap,overflowuid,overflowgid,
 * random/{boot_id,uuid},msgmni,msgmax,msgmnb,sem}, sys/fs/{file-max,
 * file-nr,nr_open,pipe-max-size}, sys/vm/{overcommit_memory,
 * max_map_count}, sysvipc/{msg,sem,shm}. Files are generated when they
 * are opened, from the sandbox's own state only: nothing of the host
 * shows through (the CPU is described generically, limits are the
 * sandbox's, boot_id is drawn at boot). /proc/<pid>/exe exists and
 * cmdline and environ are filled once the loader calls moat_set_program
 * and moat_set_environ.
 *
 * The fixed part of the tree is built once at boot. A /proc/<pid> or
 * task/<tid> directory and its files are made at each lookup (fresh
 * inodes with numbers derived from the ids, freed with their last
 * reference), so any number of processes and threads show. */
#include "inotify.h"
#include "procfs.h"
#include "pty.h"

#include "devfs.h"
#include "file.h"
#include "mm.h"
#include "moat/moat.h"
#include "moat/platform.h"
#include "proc.h"
#include "rt.h"
#include "task.h"
#include "vfs.h"

enum pkind {
  P_DIR,         /* a fixed directory */
  P_ROOT,        /* /proc: fixed entries and the pids */
  P_PID,         /* /proc/<pid> */
  P_TASKDIR,     /* /proc/<pid>/task */
  P_TID,         /* /proc/<pid>/task/<tid> */
  P_SELF,        /* the symlink self */
  P_THREAD_SELF, /* the symlink thread-self */
  P_EXE,         /* /proc/<pid>/exe */
  P_CWD,         /* /proc/<pid>/cwd */
  P_ROOTLINK,    /* /proc/<pid>/root */
  P_FDINFODIR,   /* /proc/<pid>/fdinfo */
  P_FILE,        /* generated text */
};

struct sbuf {
  char *buf;
  size_t len, cap;
  bool oom;
};

struct pnode;
typedef void (*gen_fn)(struct pnode *n, struct sbuf *b);
/* A writable file's handler: the bytes written, all at once. */
typedef long (*put_fn)(struct pnode *n, const char *buf, size_t len);

struct pnode {
  enum pkind kind;
  int pid; /* the process of a /proc/<pid> node, 0 elsewhere */
  int tid; /* the thread of a task/<tid> node, 0 for the process's */
  int fd;  /* the descriptor of a fdinfo/<fd> file */
  /* P_PID: the start time of the process found at lookup (its identity,
   * as Linux's inode pins a struct pid; 0: none was found). */
  int64_t start_ns;
  gen_fn gen;
  put_fn put;
  /* fixed directories: their entries */
  int nchildren, cap;
  const char **names;
  struct inode **children;
};

struct gen_file { /* file->private of a generated file */
  char *buf;
  size_t len;
};

static struct superblock *g_sb;
static const char *g_root_fs = "rootfs";
static uint64_t g_root_dev; /* generators run under the vfs lock: no vfs_root */
static char g_boot_id[40];  /* drawn at boot, inherited by every process */

/* ---- text ---- */

static void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...) {
  va_list ap;
  for (int round = 0; round < 2 && !b->oom; round++) {
    va_start(ap, fmt);
    int n = rt_vsnprintf(b->buf ? b->buf + b->len : NULL,
                         b->buf ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0)
      return;
    if (b->buf && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = MAX(b->cap * 2, b->len + (size_t)n + 256);
    char *nb = krealloc(b->buf, cap);
    if (!nb) {
      b->oom = true;
      return;
    }
    b->buf = nb;
    b->cap = cap;
  }
}

/* Bytes as they are (NUL-separated lists). */
static void sb_bytes(struct sbuf *b, const char *src, size_t len) {
  if (b->oom || !len)
    return;
  if (b->len + len > b->cap) {
    size_t cap = b->len + len;
    char *nb = krealloc(b->buf, cap);
    if (!nb) {
      b->oom = true;
      return;
    }
    b->buf = nb;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, src, len);
  b->len += len;
}

/* ---- system-wide files ---- */

static void gen_meminfo(struct pnode *n, struct sbuf *b) {
  uint64_t used, limit;
  mm_usage(&used, &limit);
  unsigned long long total = limit >> 10, u = used >> 10;
  unsigned long long free = u < total ? total - u : 0;
  /* The sandbox's memory is its --memory limit; what it has committed is
   * in use. No swap, no page cache of its own to report. */
  sb_printf(b,
            "MemTotal:       %8llu kB\nMemFree:        %8llu kB\n"
            "MemAvailable:   %8llu kB\nBuffers:               0 kB\n"
            "Cached:                0 kB\nSwapCached:            0 kB\n"
            "Active:         %8llu kB\nInactive:              0 kB\n"
            "Active(anon):   %8llu kB\nInactive(anon):        0 kB\n"
            "Active(file):          0 kB\nInactive(file):        0 kB\n"
            "Unevictable:           0 kB\nMlocked:               0 kB\n"
            "SwapTotal:             0 kB\nSwapFree:              0 kB\n"
            "Dirty:                 0 kB\nWriteback:             0 kB\n"
            "AnonPages:      %8llu kB\nMapped:                0 kB\n"
            "Shmem:                 0 kB\nKReclaimable:          0 kB\n"
            "Slab:                  0 kB\nSReclaimable:          0 kB\n"
            "SUnreclaim:            0 kB\nKernelStack:           0 kB\n"
            "PageTables:            0 kB\nCommitLimit:    %8llu kB\n"
            "Committed_AS:   %8llu kB\nVmallocTotal:   34359738367 kB\n"
            "VmallocUsed:           0 kB\nVmallocChunk:          0 kB\n"
            "HugePages_Total:       0\nHugePages_Free:        0\n"
            "HugePages_Rsvd:        0\nHugePages_Surp:        0\n"
            "Hugepagesize:       2048 kB\n",
            total, free, free, u, u, u, total, u);
}

/* As many CPUs as the host lets the sandbox run on (moat_cpu_count), and
 * nothing that identifies the host's hardware. */
static void gen_cpuinfo(struct pnode *n, struct sbuf *b) {
  int cpus = moat_cpu_count();
  for (int i = 0; i < cpus; i++)
    sb_printf(b,
              "processor\t: %d\nvendor_id\t: moat\ncpu family\t: 6\n"
              "model name\t: moat virtual CPU\ncpu MHz\t\t: 1000.000\n"
              "cache size\t: 0 KB\nphysical id\t: 0\nsiblings\t: %d\n"
              "core id\t\t: %d\ncpu cores\t: %d\n"
              "flags\t\t: fpu sse sse2\nbogomips\t: 2000.00\n\n",
              i, cpus, i, cpus);
}

static int64_t uptime_ns(void) {
  int64_t up = rt_now_ns() - (g_task_table ? g_task_table->boot_ns : 0);
  return up > 0 ? up : 0;
}

/* The CPU lines are what glibc's get_nprocs counts when there is no
 * /sys; the sandbox keeps no per-CPU times, so they are zero. */
static void gen_kstat(struct pnode *n, struct sbuf *b) {
  int cpus = moat_cpu_count();
  sb_printf(b, "cpu  0 0 0 0 0 0 0 0 0 0\n");
  for (int i = 0; i < cpus; i++)
    sb_printf(b, "cpu%d 0 0 0 0 0 0 0 0 0 0\n", i);
  int64_t boot = rt_realtime_ns() - uptime_ns();
  sb_printf(b,
            "intr 0\nctxt 0\nbtime %lld\nprocesses %u\nprocs_running 1\n"
            "procs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
            (long long)(boot > 0 ? boot / 1000000000 : 0),
            g_task_table ? (unsigned)g_task_table->ntasks : 1u);
}

static void print_mount(struct sbuf *b, const struct mount *m) {
  if (m->next)
    print_mount(b, m->next); /* the list is newest first */
  bool ro = m->sb->flags & VFS_SB_RDONLY;
  sb_printf(b, "%s %s %s %s 0 0\n", m->sb->fs_name, m->path ? m->path : "?",
            m->sb->fs_name, ro ? "ro" : "rw");
}

static void gen_mounts(struct pnode *n, struct sbuf *b) {
  sb_printf(b, "%s / %s rw 0 0\n", g_root_fs, g_root_fs);
  const struct mount *m = vfs_mounts();
  if (m)
    print_mount(b, m);
}

/* mountinfo: ids in mount order from 1 (the root), each mount's parent
 * the one whose path is the longest prefix of its own. */
#define MOUNTINFO_MAX 64
static void gen_mountinfo(struct pnode *n, struct sbuf *b) {
  const struct mount *list[MOUNTINFO_MAX];
  int count = 0;
  for (const struct mount *m = vfs_mounts(); m && count < MOUNTINFO_MAX;
       m = m->next)
    list[count++] = m;
  uint64_t rdev = g_root_dev;
  sb_printf(b, "1 0 %u:%u / / rw,relatime shared:1 - %s %s rw\n",
            VFS_MAJOR(rdev), VFS_MINOR(rdev), g_root_fs, g_root_fs);
  for (int i = count - 1; i >= 0; i--) {
    const struct mount *m = list[i];
    const char *path = m->path ? m->path : "?";
    size_t best = 0;
    int parent = 1;
    for (int j = count - 1; j > i; j--) {
      const char *pp = list[j]->path ? list[j]->path : "";
      size_t pl = rt_strlen(pp);
      if (pl > best && !rt_strncmp(path, pp, pl) &&
          (path[pl] == '/' || (pl == 1 && pp[0] == '/'))) {
        best = pl;
        parent = count - j + 1;
      }
    }
    bool ro = m->sb->flags & VFS_SB_RDONLY;
    sb_printf(b, "%d %d %u:%u / %s %s,relatime - %s %s %s\n", count - i + 1,
              parent, VFS_MAJOR(m->sb->dev), VFS_MINOR(m->sb->dev), path,
              ro ? "ro" : "rw", m->sb->fs_name, m->sb->fs_name,
              ro ? "ro" : "rw");
  }
}

static void gen_cgroup(struct pnode *n, struct sbuf *b) {
  sb_printf(b, "0::/\n"); /* one cgroup v2 hierarchy, the sandbox at its root */
}

static void gen_uptime(struct pnode *n, struct sbuf *b) {
  int64_t up = uptime_ns();
  unsigned long long s = (unsigned long long)(up / 1000000000);
  unsigned long long cs = (unsigned long long)(up % 1000000000 / 10000000);
  sb_printf(b, "%llu.%02llu %llu.%02llu\n", s, cs, s, cs);
}

static void gen_version(struct pnode *n, struct sbuf *b) {
  struct linux_utsname u;
  moat_uname(&u);
  sb_printf(b, "%s version %s (moat) %s\n", u.sysname, u.release, u.version);
}

/* Threads not asleep in the library OS count as running. */
static void gen_loadavg(struct pnode *n, struct sbuf *b) {
  struct task_table *tt = g_task_table;
  unsigned running = 0, total = 0;
  int last = 1;
  if (tt) {
    rt_lock(&tt->lock);
    for (uint32_t i = 0; i < tt->max_tasks; i++) {
      struct task *t = tt->tasks[i];
      if (!t)
        continue;
      total++;
      if (!__atomic_load_n(&t->sleeping, __ATOMIC_ACQUIRE))
        running++;
    }
    last = tt->last_pid;
    rt_unlock(&tt->lock);
  }
  sb_printf(b, "0.00 0.00 0.00 %u/%u %d\n", MAX(running, 1u), MAX(total, 1u),
            last);
}

/* System V IPC (core/sysv_ipc.c): /proc/sysvipc and the limits. */
static void sysv_line(void *ctx, const char *line) {
  sb_printf(ctx, "%s", line);
}
#define GEN_SYSV(name, which)                                                  \
  static void name(struct pnode *n, struct sbuf *b) {                          \
    sysv_ipc_proc_text(which, sysv_line, b);                                   \
  }
GEN_SYSV(gen_sysvipc_msg, SYSV_PROC_MSG)
GEN_SYSV(gen_sysvipc_sem, SYSV_PROC_SEM)
GEN_SYSV(gen_sysvipc_shm, SYSV_PROC_SHM)
GEN_SYSV(gen_msgmni, SYSV_PROC_LIMITS_MSGMNI)
GEN_SYSV(gen_msgmax, SYSV_PROC_LIMITS_MSGMAX)
GEN_SYSV(gen_msgmnb, SYSV_PROC_LIMITS_MSGMNB)
GEN_SYSV(gen_sem, SYSV_PROC_LIMITS_SEM)

static void gen_hostname(struct pnode *n, struct sbuf *b) {
  struct linux_utsname u;
  moat_uname(&u);
  sb_printf(b, "%s\n", u.nodename);
}

static void gen_domainname(struct pnode *n, struct sbuf *b) {
  struct linux_utsname u;
  moat_uname(&u);
  sb_printf(b, "%s\n", u.domainname);
}

static void gen_osrelease(struct pnode *n, struct sbuf *b) {
  struct linux_utsname u;
  moat_uname(&u);
  sb_printf(b, "%s\n", u.release);
}

static void gen_kversion(struct pnode *n, struct sbuf *b) {
  struct linux_utsname u;
  moat_uname(&u);
  sb_printf(b, "%s\n", u.version);
}

static void gen_ostype(struct pnode *n, struct sbuf *b) {
  sb_printf(b, "Linux\n");
}

/* The sandbox's own limits and Linux's constants. */
#define GEN_NUMBER(name, expr)                                                 \
  static void name(struct pnode *n, struct sbuf *b) {                          \
    sb_printf(b, "%llu\n", (unsigned long long)(expr));                        \
  }
GEN_NUMBER(gen_pid_max, TASK_PID_MAX)
GEN_NUMBER(gen_threads_max, g_task_table ? g_task_table->max_tasks : 1)
GEN_NUMBER(gen_ngroups_max, 65536)
GEN_NUMBER(gen_cap_last_cap, 40)
GEN_NUMBER(gen_overflowid, 65534)
GEN_NUMBER(gen_file_max, 9223372036854775807ull)
GEN_NUMBER(gen_nr_open, 1048576) /* Linux's default, above every ceiling */
GEN_NUMBER(gen_pipe_max_size, 1048576)
GEN_NUMBER(gen_in_queued, INOTIFY_MAX_QUEUED)
GEN_NUMBER(gen_in_instances, INOTIFY_MAX_INSTANCES)
GEN_NUMBER(gen_in_watches, INOTIFY_MAX_WATCHES)
/* Strict accounting: mappings are charged against --memory when made
 * (core/mm.c), as Linux's mode 2. */
GEN_NUMBER(gen_overcommit, 2)
GEN_NUMBER(gen_max_map_count, mm_max_map_count()) /* core/mm.c enforces it */

static void gen_file_nr(struct pnode *n, struct sbuf *b) {
  sb_printf(b, "0\t0\t9223372036854775807\n");
}

static void print_uuid(struct sbuf *b, const uint8_t r[16]) {
  static const char hex[] = "0123456789abcdef";
  char s[37];
  int at = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      s[at++] = '-';
    s[at++] = hex[r[i] >> 4];
    s[at++] = hex[r[i] & 15];
  }
  s[at] = 0;
  sb_printf(b, "%s\n", s);
}

/* A random (version 4) uuid. */
static void make_uuid(uint8_t r[16]) {
  if (plat_random(r, 16) != 0)
    memset(r, 0, 16);
  r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
  r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
}

static void gen_uuid(struct pnode *n, struct sbuf *b) {
  uint8_t r[16];
  make_uuid(r);
  print_uuid(b, r);
}

static void gen_boot_id(struct pnode *n, struct sbuf *b) {
  sb_printf(b, "%s", g_boot_id);
}

/* ---- per process and per thread ---- */

/* What a process's files show, copied under its lock. */
struct psnap {
  int pid, tid, ppid, pgid, sid, nthreads;
  char state;
  bool zombie;
  char comm[16];
  struct task_cred cred;
  uint32_t umask;
  bool have_umask;
  uint64_t blocked, pending, shared, ignored, caught;
  int queued;
  struct linux_rlimit rlimit[LINUX_RLIMIT_NLIMITS];
  int64_t start_ns;
  bool nnp;
  uint64_t vm_total, vm_data, vm_rss, vm_peak, vm_hwm;
};

static char thread_state(struct proc *p, struct task *t) {
  if (p->state == PROC_ZOMBIE)
    return 'Z';
  if (p->stopped)
    return 'T';
  return __atomic_load_n(&t->sleeping, __ATOMIC_ACQUIRE) ? 'S' : 'R';
}

/* The process of n (NULL when gone); *out filled for n's thread, or for
 * the process (its main thread) when n->tid is 0. */
static struct proc *snapshot(struct pnode *n, struct psnap *out) {
  struct proc *p = task_find_proc_any(n->pid);
  if (!p)
    return NULL;
  memset(out, 0, sizeof(*out));
  rt_lock(&p->lock);
  struct task *t = NULL;
  if (n->tid) {
    t = task_find_thread_locked(p, n->tid);
    if (!t) {
      rt_unlock(&p->lock);
      return NULL;
    }
  } else {
    t = task_find_thread_locked(p, p->pid);
    if (!t)
      t = p->threads;
  }
  out->pid = p->pid;
  out->tid = n->tid ? n->tid : p->pid;
  out->ppid = p->ppid;
  out->pgid = p->pgid;
  out->sid = p->sid;
  out->nthreads = p->nthreads;
  out->zombie = p->state == PROC_ZOMBIE;
  out->state = t ? thread_state(p, t) : out->zombie ? 'Z' : 'R';
  if (t)
    memcpy(out->comm, t->comm, 15);
  else
    rt_strlcpy(out->comm, "moat", sizeof(out->comm));
  out->cred = p->cred;
  if (p->fs) {
    out->umask = __atomic_load_n(&p->fs->umask, __ATOMIC_RELAXED);
    out->have_umask = true;
  }
  if (t) {
    out->blocked = t->sigblocked;
    out->pending = t->pending.set;
  }
  out->shared = p->shared_pending.set;
  for (int s = 1; s <= 64 && s <= LINUX_NSIG; s++) {
    uint64_t h = p->sigaction[s - 1].handler;
    if (h == LINUX_SIG_IGN)
      out->ignored |= LINUX_SIGBIT(s);
    else if (h != LINUX_SIG_DFL)
      out->caught |= LINUX_SIGBIT(s);
  }
  out->queued = p->queued;
  memcpy(out->rlimit, p->rlimit, sizeof(out->rlimit));
  out->start_ns = p->start_ns;
  out->nnp = p->no_new_privs;
  struct task_host *h = p->host;
  if (h && !out->zombie) {
    out->vm_total = __atomic_load_n(&h->vm_total, __ATOMIC_RELAXED);
    out->vm_data = __atomic_load_n(&h->vm_data, __ATOMIC_RELAXED);
    out->vm_rss = __atomic_load_n(&h->vm_rss, __ATOMIC_RELAXED);
    out->vm_peak = __atomic_load_n(&h->vm_peak, __ATOMIC_RELAXED);
    out->vm_hwm = __atomic_load_n(&h->vm_hwm, __ATOMIC_RELAXED);
  }
  rt_unlock(&p->lock);
  out->vm_peak = MAX(out->vm_peak, out->vm_total);
  out->vm_hwm = MAX(out->vm_hwm, out->vm_rss);
  return p;
}

static const char *state_name(char c) {
  switch (c) {
  case 'S':
    return "S (sleeping)";
  case 'T':
    return "T (stopped)";
  case 'Z':
    return "Z (zombie)";
  default:
    return "R (running)";
  }
}

/* CPU time in clock ticks (USER_HZ, 100 a second), as /proc counts it. */
static unsigned long long ticks(int64_t ns) {
  return ns > 0 ? (unsigned long long)(ns / 10000000) : 0;
}

static unsigned long long kb(uint64_t bytes) {
  return (unsigned long long)(bytes >> 10);
}

static void gen_status(struct pnode *n, struct sbuf *b) {
  struct psnap s;
  if (!snapshot(n, &s))
    return;
  struct task_cred *c = &s.cred;
  sb_printf(b, "Name:\t%s\n", s.comm);
  if (s.have_umask)
    sb_printf(b, "Umask:\t%04o\n", s.umask);
  sb_printf(b,
            "State:\t%s\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\n"
            "TracerPid:\t0\nUid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\n"
            "FDSize:\t64\nGroups:\t",
            state_name(s.state), s.pid, s.tid, s.ppid, c->ruid, c->euid,
            c->suid, c->fsuid, c->rgid, c->egid, c->sgid, c->fsgid);
  /* Linux: the groups separated by spaces, then one space, always */
  for (uint32_t i = 0; i < c->ngroups && i < TASK_NGROUPS_MAX; i++)
    sb_printf(b, i ? " %u" : "%u", c->groups[i]);
  sb_printf(b,
            " \nNStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n"
            "Kthread:\t0\n",
            s.pid, s.tid, s.pgid, s.sid);
  if (!s.zombie)
    sb_printf(b,
              "VmPeak:\t%8llu kB\nVmSize:\t%8llu kB\nVmLck:\t       0 kB\n"
              "VmPin:\t       0 kB\nVmHWM:\t%8llu kB\nVmRSS:\t%8llu kB\n"
              "RssAnon:\t%8llu kB\nRssFile:\t       0 kB\n"
              "RssShmem:\t       0 kB\nVmData:\t%8llu kB\n"
              "VmStk:\t       0 kB\nVmExe:\t       0 kB\n"
              "VmLib:\t       0 kB\nVmPTE:\t       0 kB\n"
              "VmSwap:\t       0 kB\nHugetlbPages:\t       0 kB\n"
              "CoreDumping:\t0\nTHP_enabled:\t1\n",
              kb(s.vm_peak), kb(s.vm_total), kb(s.vm_hwm), kb(s.vm_rss),
              kb(s.vm_rss), kb(s.vm_data));

  int cpus = moat_cpu_count();
  sb_printf(b,
            "Threads:\t%d\nSigQ:\t%d/%llu\nSigPnd:\t%016llx\n"
            "ShdPnd:\t%016llx\nSigBlk:\t%016llx\nSigIgn:\t%016llx\n"
            "SigCgt:\t%016llx\nCapInh:\t%016llx\n"
            "CapPrm:\t%016llx\nCapEff:\t%016llx\nCapBnd:\t%016llx\n"
            "CapAmb:\t%016llx\nNoNewPrivs:\t%d\nSeccomp:\t0\n"
            "Seccomp_filters:\t0\nCpus_allowed:\t",
            s.nthreads, s.queued,
            (unsigned long long)s.rlimit[11 /* SIGPENDING */].rlim_cur,
            (unsigned long long)s.pending, (unsigned long long)s.shared,
            (unsigned long long)s.blocked, (unsigned long long)s.ignored,
            (unsigned long long)s.caught, (unsigned long long)c->cap_inh,
            (unsigned long long)c->cap_prm, (unsigned long long)c->cap_eff,
            (unsigned long long)c->cap_bnd, (unsigned long long)c->cap_amb,
            s.nnp ? 1 : 0);
  /* The mask in 32-bit words, most significant first, comma-separated. */
  int words = (cpus + 31) / 32;
  for (int w = words - 1; w >= 0; w--) {
    int bits = MIN(32, cpus - w * 32);
    uint32_t v = bits == 32 ? 0xffffffffu : (1u << bits) - 1;
    sb_printf(b, w == words - 1 ? "%x" : "%08x", v);
    if (w)
      sb_printf(b, ",");
  }
  if (cpus > 1)
    sb_printf(b, "\nCpus_allowed_list:\t0-%d\n", cpus - 1);
  else
    sb_printf(b, "\nCpus_allowed_list:\t0\n");
  sb_printf(b, "Mems_allowed:\t00000001\nMems_allowed_list:\t0\n"
               "voluntary_ctxt_switches:\t0\n"
               "nonvoluntary_ctxt_switches:\t0\n");
}

/* The 52 fields of Linux 6's stat. CPU time: the process's, split into
 * user and system time as getrusage splits it (a thread's entry shows
 * its process's). */
static void gen_stat(struct pnode *n, struct sbuf *b) {
  struct psnap s;
  struct proc *p = snapshot(n, &s);
  if (!p)
    return;
  int64_t sys = 0, csys;
  int64_t cpu = task_proc_cpu_ns(p, &sys);
  rt_lock(&p->lock);
  int64_t ccpu = p->children_cpu_ns;
  csys = p->children_sys_ns;
  rt_unlock(&p->lock);
  int64_t boot = g_task_table ? g_task_table->boot_ns : 0;
  unsigned long long start = ticks(s.start_ns - boot);
  unsigned long long rsslim =
      (unsigned long long)s.rlimit[LINUX_RLIMIT_RSS].rlim_cur;
  int exit_signal = s.tid == s.pid ? LINUX_SIGCHLD : -1;
  uint32_t tty_nr;
  int tpgid;
  pty_ctty_of(p, &tty_nr, &tpgid);
  /* priority: 20 + nice, or -1 - the real-time priority (as Linux). */
  struct moat_sched sc = {0};
  moat_sched_get(s.tid, &sc);
  int prio = sc.prio ? -1 - sc.prio : 20 + sc.nice;
  sb_printf(b,
            "%d (%s) %c %d %d %d %u %d 4194304 0 0 0 0 %llu %llu %llu %llu %d "
            "%d %d 0 "
            "%llu %llu %llu %llu 0 0 0 0 0 %llu %llu %llu %llu 0 0 0 %d 0 %d "
            "%d 0 0 0 0 0 0 0 0 0 0 0\n",
            s.tid, s.comm, s.state, s.ppid, s.pgid, s.sid, tty_nr, tpgid,
            ticks(cpu - sys), ticks(sys), ticks(ccpu - csys), ticks(csys), prio,
            sc.nice, s.nthreads, start, (unsigned long long)s.vm_total,
            (unsigned long long)(s.vm_rss >> 12), rsslim,
            (unsigned long long)(s.shared | s.pending) & 0x7fffffffffffffffull,
            (unsigned long long)s.blocked, (unsigned long long)s.ignored,
            (unsigned long long)s.caught, exit_signal, sc.prio, sc.policy);
}

static void gen_statm(struct pnode *n, struct sbuf *b) {
  struct psnap s;
  if (!snapshot(n, &s))
    return;
  sb_printf(b, "%llu %llu 0 0 0 %llu 0\n",
            (unsigned long long)(s.vm_total >> 12),
            (unsigned long long)(s.vm_rss >> 12),
            (unsigned long long)(s.vm_data >> 12));
}

static void gen_comm(struct pnode *n, struct sbuf *b) {
  struct psnap s;
  if (snapshot(n, &s))
    sb_printf(b, "%s\n", s.comm);
}

/* Writing comm renames a thread of the caller's own process (Linux:
 * EINVAL for another process's). */
static long put_comm(struct pnode *n, const char *buf, size_t len) {
  if (!task_current() || proc_current()->pid != n->pid)
    return -LINUX_EINVAL;
  int err = task_set_comm(n->tid ? n->tid : n->pid, buf, len);
  return err < 0 ? err : (long)len;
}

static const struct {
  const char *name, *unit;
} g_limit_names[LINUX_RLIMIT_NLIMITS] = {
    {"Max cpu time", "seconds"},     {"Max file size", "bytes"},
    {"Max data size", "bytes"},      {"Max stack size", "bytes"},
    {"Max core file size", "bytes"}, {"Max resident set", "bytes"},
    {"Max processes", "processes"},  {"Max open files", "files"},
    {"Max locked memory", "bytes"},  {"Max address space", "bytes"},
    {"Max file locks", "locks"},     {"Max pending signals", "signals"},
    {"Max msgqueue size", "bytes"},  {"Max nice priority", NULL},
    {"Max realtime priority", NULL}, {"Max realtime timeout", "us"},
};

static void print_limit(struct sbuf *b, uint64_t v) {
  if (v == LINUX_RLIM_INFINITY)
    sb_printf(b, "%-20s ", "unlimited");
  else
    sb_printf(b, "%-20llu ", (unsigned long long)v);
}

static void gen_limits(struct pnode *n, struct sbuf *b) {
  struct psnap s;
  if (!snapshot(n, &s))
    return;
  sb_printf(b, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit",
            "Units");
  for (int i = 0; i < LINUX_RLIMIT_NLIMITS; i++) {
    sb_printf(b, "%-25s ", g_limit_names[i].name);
    print_limit(b, s.rlimit[i].rlim_cur);
    print_limit(b, s.rlimit[i].rlim_max);
    if (g_limit_names[i].unit)
      sb_printf(b, "%-10s\n", g_limit_names[i].unit);
    else
      sb_printf(b, "\n");
  }
}

static void gen_cmdline(struct pnode *n, struct sbuf *b) {
  struct proc *p = task_find_proc(n->pid);
  if (!p)
    return;
  rt_lock(&p->lock);
  sb_bytes(b, p->cmdline, p->cmdline_len);
  rt_unlock(&p->lock);
}

static void gen_environ(struct pnode *n, struct sbuf *b) {
  struct proc *p = task_find_proc(n->pid);
  if (!p)
    return;
  rt_lock(&p->lock);
  sb_bytes(b, p->environ, p->environ_len);
  rt_unlock(&p->lock);
}

static int map_line(void *ctx, uint64_t start, uint64_t end, int prot,
                    bool shared) {
  sb_printf(ctx, "%08llx-%08llx %c%c%c%c 00000000 00:00 0\n",
            (unsigned long long)start, (unsigned long long)end,
            prot & LINUX_PROT_READ ? 'r' : '-',
            prot & LINUX_PROT_WRITE ? 'w' : '-',
            prot & LINUX_PROT_EXEC ? 'x' : '-', shared ? 's' : 'p');
  return 0;
}

static void gen_maps(struct pnode *n, struct sbuf *b) {
  /* The address space is the caller's: only its own pid shows maps. */
  if (task_current() && n->pid == proc_current()->pid)
    mm_foreach(map_line, b);
}

/* ---- generated files ---- */

static int gen_open(struct inode *inode, struct file *file) {
  struct pnode *n = inode->private;
  struct sbuf b = {0};
  n->gen(n, &b);
  if (b.oom) {
    kfree(b.buf);
    return -LINUX_ENOMEM;
  }
  struct gen_file *g = kzalloc(sizeof(*g));
  if (!g) {
    kfree(b.buf);
    return -LINUX_ENOMEM;
  }
  g->buf = b.buf;
  g->len = b.len;
  file->private = g;
  return 0;
}

static void gen_release(struct file *file) {
  struct gen_file *g = file->private;
  if (g) {
    kfree(g->buf);
    kfree(g);
  }
}

static long gen_read(struct file *file, void *buf, size_t len, uint64_t *pos) {
  struct gen_file *g = file->private;
  if (!g || *pos >= g->len)
    return 0;
  size_t n = MIN(len, g->len - (size_t)*pos);
  long rc = rt_ucopy_result(n, rt_ucopy(buf, g->buf + *pos, n));
  if (rc > 0)
    *pos += (uint64_t)rc;
  return rc;
}

static long gen_write(struct file *file, const void *buf, size_t len,
                      uint64_t *pos) {
  struct pnode *n = file->inode->private;
  if (!n->put)
    return -LINUX_EACCES;
  char tmp[64];
  size_t take = MIN(len, sizeof(tmp));
  long rc = rt_ucopy_result(take, rt_ucopy(tmp, buf, take));
  if (rc < 0)
    return rc;
  return n->put(n, tmp, take) < 0 ? -LINUX_EINVAL : (long)len;
}

static const struct file_ops gen_fops = {
    .open = gen_open,
    .release = gen_release,
    .read = gen_read,
    .write = gen_write,
};

/* ---- the tree ---- */

static const struct inode_ops procfs_iops;
static const struct inode_ops procfs_magic_iops;

static struct inode *new_node(uint32_t mode, enum pkind kind, int pid, int tid,
                              gen_fn gen) {
  struct pnode *n = kzalloc(sizeof(*n));
  struct inode *i = n ? vfs_inode_alloc(g_sb, mode, &procfs_iops,
                                        kind == P_FILE ? &gen_fops : NULL)
                      : NULL;
  if (!i) {
    kfree(n);
    return NULL;
  }
  n->kind = kind;
  n->pid = pid;
  n->tid = tid;
  n->gen = gen;
  i->private = n;
  return i;
}

static int add(struct inode *dir, const char *name, struct inode *child) {
  struct pnode *d = dir->private;
  if (!child)
    return -LINUX_ENOMEM;
  if (d->nchildren == d->cap) {
    int cap = d->cap ? d->cap * 2 : 8;
    const char **names = krealloc(d->names, sizeof(*names) * (size_t)cap);
    if (!names)
      return -LINUX_ENOMEM;
    d->names = names;
    struct inode **children =
        krealloc(d->children, sizeof(*children) * (size_t)cap);
    if (!children)
      return -LINUX_ENOMEM;
    d->children = children;
    d->cap = cap;
  }
  d->names[d->nchildren] = name;
  d->children[d->nchildren++] = child;
  if (LINUX_S_ISTYPE(child->mode, LINUX_S_IFDIR))
    dir->nlink++;
  return 0;
}

static int add_file(struct inode *dir, const char *name, gen_fn gen) {
  return add(dir, name, new_node(LINUX_S_IFREG | 0444, P_FILE, 0, 0, gen));
}

static struct inode *add_dir(struct inode *dir, const char *name, int *err) {
  struct inode *d = new_node(LINUX_S_IFDIR | 0555, P_DIR, 0, 0, NULL);
  if (!*err)
    *err = add(dir, name, d);
  return *err ? NULL : d;
}

static void owner_of(int pid, struct inode *i);

/* /proc/<pid>/fdinfo/<fd>: the position, the status flags (with
 * O_CLOEXEC for a close-on-exec descriptor, in octal), the mount and the
 * inode, as Linux's first four lines. */
static void gen_fdinfo(struct pnode *n, struct sbuf *b) {
  struct fd_table *fdt = proc_fdt_get(n->pid);
  if (!fdt)
    return;
  struct file *f = fdt_lookup(fdt, n->fd);
  int cloexec = fdt_get_cloexec(fdt, n->fd);
  fdt_put(fdt);
  if (!f)
    return;
  /* Generators run under the VFS lock, and a getdents holds the file's
   * lock while it takes the VFS lock: the file lock is not taken here
   * (that order deadlocked). An aligned 64-bit load is not torn. */
  uint64_t pos = __atomic_load_n(&f->pos, __ATOMIC_RELAXED);
  unsigned flags = f->flags | (cloexec > 0 ? LINUX_O_CLOEXEC : 0);
  sb_printf(b, "pos:\t%llu\nflags:\t0%o\nmnt_id:\t%d\nino:\t%llu\n",
            (unsigned long long)pos, flags, vfs_mount_id(f->inode->sb),
            (unsigned long long)f->inode->ino);
  file_put(f);
}

static bool parse_fd_name(const char *name, int *out) {
  int v = 0;
  if (!name[0] || (name[0] == '0' && name[1]))
    return false;
  for (const char *p = name; *p; p++) {
    if (*p < '0' || *p > '9' || v > (0x7fffffff - 9) / 10)
      return false;
    v = v * 10 + (*p - '0');
  }
  *out = v;
  return true;
}

static int fdinfo_lookup(struct pnode *d, const char *name,
                         struct inode **out) {
  int fd;
  if (!parse_fd_name(name, &fd))
    return -LINUX_ENOENT;
  struct fd_table *fdt = proc_fdt_get(d->pid);
  struct file *f = fdt ? fdt_lookup(fdt, fd) : NULL;
  if (fdt)
    fdt_put(fdt);
  if (!f)
    return -LINUX_ENOENT;
  file_put(f);
  struct inode *i =
      new_node(LINUX_S_IFREG | 0444, P_FILE, d->pid, 0, gen_fdinfo);
  if (!i)
    return -LINUX_ENOMEM;
  ((struct pnode *)i->private)->fd = fd;
  owner_of(d->pid, i);
  *out = i;
  return 0;
}

static int fdinfo_readdir(struct pnode *d, uint64_t *pos, vfs_emit_fn emit,
                          void *ctx) {
  struct fd_table *fdt = proc_fdt_get(d->pid);
  if (!fdt)
    return 0;
  uint32_t max = fdt_get_max(fdt);
  int r = 0;
  for (uint64_t fd = *pos - 2; fd < max; fd++) {
    struct file *f = fdt_lookup(fdt, (int)fd);
    if (!f)
      continue;
    uint64_t ino = f->inode->ino;
    file_put(f);
    char name[16];
    int n = rt_snprintf(name, sizeof(name), "%llu", (unsigned long long)fd);
    r = emit(ctx, name, (size_t)n, ino, LINUX_DT_REG, fd + 3);
    if (r)
      break;
    *pos = fd + 3;
  }
  fdt_put(fdt);
  return r > 0 ? 0 : r;
}

/* What a /proc/<pid> and a task/<tid> directory hold. */
enum pid_what { W_FD, W_EXE, W_CWD, W_ROOT, W_FDINFO, W_TASK, W_FILE };
static const struct pid_entry {
  const char *name;
  enum pid_what what;
  uint32_t mode;
  gen_fn gen;
  put_fn put;
} g_pid_entries[] = {
    {"fd", W_FD, LINUX_S_IFDIR | 0500, NULL, NULL},
    {"exe", W_EXE, LINUX_S_IFLNK | 0777, NULL, NULL},
    {"cwd", W_CWD, LINUX_S_IFLNK | 0777, NULL, NULL},
    {"root", W_ROOT, LINUX_S_IFLNK | 0777, NULL, NULL},
    {"fdinfo", W_FDINFO, LINUX_S_IFDIR | 0500, NULL, NULL},
    {"task", W_TASK, LINUX_S_IFDIR | 0555, NULL, NULL},
    {"maps", W_FILE, LINUX_S_IFREG | 0444, gen_maps, NULL},
    {"status", W_FILE, LINUX_S_IFREG | 0444, gen_status, NULL},
    {"stat", W_FILE, LINUX_S_IFREG | 0444, gen_stat, NULL},
    {"statm", W_FILE, LINUX_S_IFREG | 0444, gen_statm, NULL},
    {"comm", W_FILE, LINUX_S_IFREG | 0644, gen_comm, put_comm},
    {"cmdline", W_FILE, LINUX_S_IFREG | 0444, gen_cmdline, NULL},
    {"environ", W_FILE, LINUX_S_IFREG | 0400, gen_environ, NULL},
    {"limits", W_FILE, LINUX_S_IFREG | 0444, gen_limits, NULL},
    {"mounts", W_FILE, LINUX_S_IFREG | 0444, gen_mounts, NULL},
    {"mountinfo", W_FILE, LINUX_S_IFREG | 0444, gen_mountinfo, NULL},
    {"cgroup", W_FILE, LINUX_S_IFREG | 0444, gen_cgroup, NULL},
};
#define NPID_ENTRIES (sizeof(g_pid_entries) / sizeof(g_pid_entries[0]))

/* Inode numbers of the made-on-lookup nodes: apart from the fixed ones
 * (counted from 1 by vfs_inode_alloc), stable for one id and entry. */
static uint64_t dyn_ino(int id, bool thread, int entry) {
  return (1ull << 40) | ((uint64_t)thread << 39) | ((uint64_t)id << 8) |
         (uint64_t)(entry + 1);
}

/* The owner of a process's directory and files: its effective ids.
 * The process's start time goes into n->start_ns. */
static void owner_of(int pid, struct inode *i) {
  struct proc *p = task_find_proc_any(pid);
  if (p) {
    i->uid = p->cred.euid;
    i->gid = p->cred.egid;
    if (i->iops == &procfs_iops)
      ((struct pnode *)i->private)->start_ns = p->start_ns;
  }
}

int procfs_pid_dir(struct file *f, int *pid, int64_t *start_ns) {
  struct inode *i = f->inode;
  if (!i || i->sb != g_sb || i->iops != &procfs_iops)
    return -LINUX_EBADF;
  struct pnode *n = i->private;
  if (n->kind != P_PID)
    return -LINUX_EBADF;
  *pid = n->pid;
  *start_ns = n->start_ns;
  return 0;
}

/* A pid or tid directory (tid 0: /proc/<pid>). */
static struct inode *pid_dir(int pid, int tid) {
  struct inode *d =
      new_node(LINUX_S_IFDIR | 0555, tid ? P_TID : P_PID, pid, tid, NULL);
  if (!d)
    return NULL;
  d->ino = dyn_ino(tid ? tid : pid, tid != 0, -1);
  d->nlink = 4;
  owner_of(pid, d);
  return d;
}

static struct inode *pid_entry_node(struct pnode *dn, int e) {
  const struct pid_entry *pe = &g_pid_entries[e];
  struct inode *i;
  if (pe->what == W_FD) {
    i = vfs_inode_alloc(g_sb, pe->mode, &devfs_fd_iops, NULL);
    if (i) /* the process's own files, not the reader's */
      i->private = (void *)(uintptr_t)dn->pid;
  } else {
    enum pkind kind = pe->what == W_EXE      ? P_EXE
                      : pe->what == W_CWD    ? P_CWD
                      : pe->what == W_ROOT   ? P_ROOTLINK
                      : pe->what == W_FDINFO ? P_FDINFODIR
                      : pe->what == W_TASK   ? P_TASKDIR
                                             : P_FILE;
    i = new_node(pe->mode, kind, dn->pid, dn->tid, pe->gen);
    if (i)
      ((struct pnode *)i->private)->put = pe->put;
    if (i && (kind == P_EXE || kind == P_CWD || kind == P_ROOTLINK))
      i->iops = &procfs_magic_iops;
  }
  if (!i)
    return NULL;
  i->ino = dyn_ino(dn->tid ? dn->tid : dn->pid, dn->tid != 0, e);
  owner_of(dn->pid, i);
  return i;
}

static bool parse_pid(const char *name, int *out) {
  int v = 0;
  if (!name[0] || name[0] == '0')
    return false;
  for (const char *p = name; *p; p++) {
    if (*p < '0' || *p > '9' || v > (TASK_PID_MAX / 10))
      return false;
    v = v * 10 + (*p - '0');
  }
  *out = v;
  return v < TASK_PID_MAX;
}

static bool exe_known(int pid) {
  struct proc *p = task_find_proc(pid);
  return p && p->exe[0];
}

static bool thread_of(int pid, int tid) {
  struct proc *p = task_find_proc_any(pid);
  if (!p)
    return false;
  rt_lock(&p->lock);
  bool found = task_find_thread_locked(p, tid) != NULL;
  rt_unlock(&p->lock);
  return found;
}

static int procfs_lookup(struct inode *dir, const char *name,
                         struct inode **out) {
  struct pnode *d = dir->private;
  int id;
  switch (d->kind) {
  case P_PID:
  case P_TID:
    if (!task_find_proc_any(d->pid))
      return -LINUX_ENOENT;
    for (int e = 0; e < (int)NPID_ENTRIES; e++) {
      if (rt_strcmp(g_pid_entries[e].name, name))
        continue;
      if (d->kind == P_TID && g_pid_entries[e].what == W_TASK)
        break;
      if (g_pid_entries[e].what == W_EXE && !exe_known(d->pid))
        return -LINUX_ENOENT;
      *out = pid_entry_node(d, e);
      return *out ? 0 : -LINUX_ENOMEM;
    }
    return -LINUX_ENOENT;
  case P_TASKDIR:
    if (!parse_pid(name, &id) || !thread_of(d->pid, id))
      return -LINUX_ENOENT;
    *out = pid_dir(d->pid, id);
    return *out ? 0 : -LINUX_ENOMEM;
  case P_FDINFODIR:
    return fdinfo_lookup(d, name, out);
  default:
    break;
  }
  for (int i = 0; i < d->nchildren; i++)
    if (!rt_strcmp(d->names[i], name)) {
      *out = vfs_inode_get(d->children[i]);
      return 0;
    }
  if (d->kind == P_ROOT && parse_pid(name, &id) && task_find_proc_any(id)) {
    *out = pid_dir(id, 0);
    return *out ? 0 : -LINUX_ENOMEM;
  }
  return -LINUX_ENOENT;
}

/* The smallest pid (a process of the table) or tid (a thread of process
 * pid) above after, or 0. */
static int next_id(int pid, int after) {
  struct task_table *tt = g_task_table;
  int best = 0;
  if (!tt)
    return 0;
  if (pid) {
    struct proc *p = task_find_proc_any(pid);
    if (!p)
      return 0;
    rt_lock(&p->lock);
    for (struct task *t = p->threads; t; t = t->next_in_proc)
      if (t->tid > after && (!best || t->tid < best))
        best = t->tid;
    rt_unlock(&p->lock);
    return best;
  }
  rt_lock(&tt->lock);
  for (uint32_t i = 0; i < tt->max_tasks; i++) {
    struct proc *p = tt->procs[i];
    if (p && (p->state == PROC_RUNNING || p->state == PROC_ZOMBIE) &&
        p->pid > after && (!best || p->pid < best))
      best = p->pid;
  }
  rt_unlock(&tt->lock);
  return best;
}

/* Ids listed from this cookie on: cookie = ID_BASE + id. */
#define ID_BASE 1024

static int emit_ids(int pid, bool thread, uint64_t *pos, vfs_emit_fn emit,
                    void *ctx) {
  int after = *pos > ID_BASE ? (int)(*pos - ID_BASE) : 0;
  for (int id; (id = next_id(pid, after)); after = id) {
    char name[16];
    int len = rt_snprintf(name, sizeof(name), "%d", id);
    int r = emit(ctx, name, (size_t)len, dyn_ino(id, thread, -1), LINUX_DT_DIR,
                 ID_BASE + (uint64_t)id);
    if (r > 0)
      return 0;
    if (r < 0)
      return r;
    *pos = ID_BASE + (uint64_t)id;
  }
  return 0;
}

static int procfs_readdir(struct inode *dir, uint64_t *pos, vfs_emit_fn emit,
                          void *ctx) {
  struct pnode *d = dir->private;
  if (d->kind == P_TASKDIR)
    return emit_ids(d->pid, true, pos, emit, ctx);
  if (d->kind == P_FDINFODIR)
    return fdinfo_readdir(d, pos, emit, ctx);
  if (d->kind == P_PID || d->kind == P_TID) {
    for (uint64_t e = *pos - 2; e < NPID_ENTRIES; e++) {
      const struct pid_entry *pe = &g_pid_entries[e];
      if ((d->kind == P_TID && pe->what == W_TASK) ||
          (pe->what == W_EXE && !exe_known(d->pid))) {
        *pos = e + 3;
        continue;
      }
      int r = emit(ctx, pe->name, rt_strlen(pe->name),
                   dyn_ino(d->tid ? d->tid : d->pid, d->tid != 0, (int)e),
                   vfs_dtype(pe->mode), e + 3);
      if (r > 0)
        return 0;
      if (r < 0)
        return r;
      *pos = e + 3;
    }
    return 0;
  }
  for (uint64_t i = *pos - 2; i < (uint64_t)d->nchildren && *pos < ID_BASE;
       i++) {
    struct inode *c = d->children[i];
    const char *name = d->names[i];
    int r = emit(ctx, name, rt_strlen(name), c->ino, vfs_dtype(c->mode), i + 3);
    if (r > 0)
      return 0;
    if (r < 0)
      return r;
    *pos = i + 3;
  }
  if (d->kind == P_ROOT)
    return emit_ids(0, false, pos, emit, ctx);
  return 0;
}

static long procfs_readlink(struct inode *inode, char *buf, size_t len) {
  struct pnode *n = inode->private;
  char tmp[32];
  const char *target = tmp;
  char exe[LINUX_PATH_MAX];
  if (n->kind == P_SELF || n->kind == P_THREAD_SELF) {
    if (!task_current())
      return -LINUX_ENOENT;
    if (n->kind == P_SELF)
      rt_snprintf(tmp, sizeof(tmp), "%d", proc_current()->pid);
    else
      rt_snprintf(tmp, sizeof(tmp), "%d/task/%d", proc_current()->pid,
                  task_current()->tid);
  } else if (n->kind == P_CWD || n->kind == P_ROOTLINK) {
    struct inode *i = proc_fs_inode(n->pid, n->kind == P_ROOTLINK);
    if (!i)
      return -LINUX_ENOENT;
    long r = vfs_path_of_locked(i, exe, sizeof(exe)); /* under the lock */
    vfs_inode_put(i);
    if (r < 0)
      return r;
    target = exe;
  } else if (n->kind == P_EXE) {
    struct proc *p = task_find_proc(n->pid);
    if (!p)
      return -LINUX_ENOENT;
    rt_lock(&p->lock);
    rt_strlcpy(exe, p->exe, sizeof(exe));
    rt_unlock(&p->lock);
    if (!exe[0])
      return -LINUX_ENOENT;
    target = exe;
  } else {
    return -LINUX_EINVAL;
  }
  size_t tl = rt_strlen(target);
  memcpy(buf, target, MIN(tl, len));
  return (long)tl;
}

static void procfs_evict(struct inode *inode) {
  struct pnode *n = inode->private;
  if (n) {
    kfree(n->names);
    kfree(n->children);
    kfree(n);
  }
}

static const struct inode_ops procfs_iops = {
    .lookup = procfs_lookup,
    .readdir = procfs_readdir,
    .readlink = procfs_readlink,
    .evict = procfs_evict,
};

/* /proc/<pid>/exe: a magic link (openat2's RESOLVE_NO_MAGICLINKS). */
static const struct inode_ops procfs_magic_iops = {
    .readlink = procfs_readlink,
    .evict = procfs_evict,
    .magic_link = true,
};

int procfs_create(struct superblock **out) {
  g_sb = vfs_sb_alloc("proc", PROCFS_MAGIC, 0);
  if (!g_sb)
    return -LINUX_ENOMEM;
  struct inode *root = vfs_root();
  if (root && root->sb && root->sb->fs_name) {
    g_root_fs = root->sb->fs_name;
    g_root_dev = root->sb->dev;
  }
  vfs_inode_put(root);
  uint8_t id[16];
  make_uuid(id);
  struct sbuf idb = {g_boot_id, 0, sizeof(g_boot_id), false};
  print_uuid(&idb, id);

  struct inode *r = new_node(LINUX_S_IFDIR | 0555, P_ROOT, 0, 0, NULL);
  if (!r)
    return -LINUX_ENOMEM;
  g_sb->root = r;
  int err = add(r, "self", new_node(LINUX_S_IFLNK | 0777, P_SELF, 0, 0, NULL));
  if (!err)
    err = add(r, "thread-self",
              new_node(LINUX_S_IFLNK | 0777, P_THREAD_SELF, 0, 0, NULL));
  static const struct {
    const char *name;
    gen_fn gen;
  } top[] = {
      {"meminfo", gen_meminfo}, {"cpuinfo", gen_cpuinfo},
      {"stat", gen_kstat},      {"mounts", gen_mounts},
      {"uptime", gen_uptime},   {"version", gen_version},
      {"loadavg", gen_loadavg},
  };
  for (size_t i = 0; i < sizeof(top) / sizeof(top[0]) && !err; i++)
    err = add_file(r, top[i].name, top[i].gen);
  struct inode *sys = add_dir(r, "sys", &err);
  struct inode *kernel = add_dir(sys, "kernel", &err);
  struct inode *random = add_dir(kernel, "random", &err);
  struct inode *fs = add_dir(sys, "fs", &err);
  struct inode *vm = add_dir(sys, "vm", &err);
  struct inode *ino = add_dir(fs, "inotify", &err);
  struct inode *sysvipc = add_dir(r, "sysvipc", &err);
  if (err)
    return err;
  static const struct {
    int dir;
    const char *name;
    gen_fn gen;
  } files[] = {
      {0, "hostname", gen_hostname},
      {0, "domainname", gen_domainname},
      {0, "osrelease", gen_osrelease},
      {0, "ostype", gen_ostype},
      {0, "version", gen_kversion},
      {0, "pid_max", gen_pid_max},
      {0, "threads-max", gen_threads_max},
      {0, "ngroups_max", gen_ngroups_max},
      {0, "cap_last_cap", gen_cap_last_cap},
      {0, "overflowuid", gen_overflowid},
      {0, "overflowgid", gen_overflowid},
      {0, "msgmni", gen_msgmni},
      {0, "msgmax", gen_msgmax},
      {0, "msgmnb", gen_msgmnb},
      {0, "sem", gen_sem},
      {1, "boot_id", gen_boot_id},
      {1, "uuid", gen_uuid},
      {2, "file-max", gen_file_max},
      {2, "file-nr", gen_file_nr},
      {2, "nr_open", gen_nr_open},
      {2, "pipe-max-size", gen_pipe_max_size},
      {3, "overcommit_memory", gen_overcommit},
      {3, "max_map_count", gen_max_map_count},
      {4, "msg", gen_sysvipc_msg},
      {4, "sem", gen_sysvipc_sem},
      {4, "shm", gen_sysvipc_shm},
      {5, "max_queued_events", gen_in_queued},
      {5, "max_user_instances", gen_in_instances},
      {5, "max_user_watches", gen_in_watches},
  };
  struct inode *dirs[] = {kernel, random, fs, vm, sysvipc, ino};
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]) && !err; i++)
    err = add_file(dirs[files[i].dir], files[i].name, files[i].gen);
  if (err)
    return err;
  *out = g_sb;
  return 0;
}
