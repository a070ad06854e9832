/* procfs: the parts of /proc that ordinary programs read.
 *
 * /proc/self (a symlink to the caller's pid), /proc/<pid>/ for the live
 * processes of the sandbox (exe, fd/, maps, status, stat, comm, cmdline,
 * mounts), and meminfo, cpuinfo, mounts, uptime, version, loadavg,
 * sys/kernel/{hostname,osrelease,ostype,msgmni,msgmax,msgmnb,sem},
 * sys/vm/max_map_count,
 * sysvipc/{msg,sem,shm}. Files are generated when they
 * are opened, from the sandbox's own state only: nothing of the host shows
 * through (the CPU is described generically). /proc/<pid>/exe exists and
 * cmdline is filled once the loader calls moat_set_program. */
#include "procfs.h"

#include "devfs.h"
#include "file.h"
#include "mm.h"
#include "moat/moat.h"
#include "rt.h"
#include "task.h"
#include "vfs.h"

enum pkind {
  P_DIR,  /* a fixed directory */
  P_ROOT, /* /proc: fixed entries and the pids */
  P_PID,  /* /proc/<pid> */
  P_SELF, /* the symlink self */
  P_EXE,  /* /proc/<pid>/exe */
  P_FILE, /* generated text */
};

struct sbuf {
  char *buf;
  size_t len, cap;
  bool oom;
};

struct pnode;
typedef void (*gen_fn)(struct pnode *n, struct sbuf *b);

#define MAX_CHILDREN 12

struct pnode {
  enum pkind kind;
  int pid;
  gen_fn gen;
  int nchildren;
  const char *names[MAX_CHILDREN];
  struct inode *children[MAX_CHILDREN];
};

struct gen_file { /* file->private of a generated file */
  char *buf;
  size_t len;
};

static struct superblock *g_sb;
static const char *g_root_fs = "rootfs";
#define MAX_PIDS 16
static struct {
  int pid;
  struct inode *dir;
} g_pid_dirs[MAX_PIDS];

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

static void gen_meminfo(struct pnode *n, struct sbuf *b) {
  uint64_t used, limit;
  mm_usage(&used, &limit);
  uint64_t free = used < limit ? limit - used : 0;
  sb_printf(b,
            "MemTotal:       %8llu kB\nMemFree:        %8llu kB\n"
            "MemAvailable:   %8llu kB\nBuffers:               0 kB\n"
            "Cached:                0 kB\nSwapCached:            0 kB\n"
            "SwapTotal:             0 kB\nSwapFree:              0 kB\n"
            "Shmem:                 0 kB\n",
            (unsigned long long)(limit >> 10), (unsigned long long)(free >> 10),
            (unsigned long long)(free >> 10));
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

/* The CPU lines are what glibc's get_nprocs counts when there is no
 * /sys; the sandbox keeps no per-CPU times, so they are zero. */
static void gen_kstat(struct pnode *n, struct sbuf *b) {
  int cpus = moat_cpu_count();
  sb_printf(b, "cpu  0 0 0 0 0 0 0 0 0 0\n");
  for (int i = 0; i < cpus; i++)
    sb_printf(b, "cpu%d 0 0 0 0 0 0 0 0 0 0\n", i);
  int64_t boot = rt_realtime_ns() -
                 (rt_now_ns() - (g_task_table ? g_task_table->boot_ns : 0));
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

static void gen_uptime(struct pnode *n, struct sbuf *b) {
  int64_t up = rt_now_ns() - (g_task_table ? g_task_table->boot_ns : 0);
  if (up < 0)
    up = 0;
  unsigned long long s = (unsigned long long)(up / 1000000000);
  unsigned long long cs = (unsigned long long)(up % 1000000000 / 10000000);
  sb_printf(b, "%llu.%02llu %llu.%02llu\n", s, cs, s, cs);
}

static void gen_version(struct pnode *n, struct sbuf *b) {
  struct linux_utsname u;
  moat_uname(&u);
  sb_printf(b, "%s version %s (moat) %s\n", u.sysname, u.release, u.version);
}

static void gen_loadavg(struct pnode *n, struct sbuf *b) {
  int last = g_task_table ? g_task_table->last_pid : 1;
  sb_printf(b, "0.00 0.00 0.00 1/%u %d\n",
            g_task_table ? g_task_table->ntasks : 1, last);
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

static void gen_osrelease(struct pnode *n, struct sbuf *b) {
  struct linux_utsname u;
  moat_uname(&u);
  sb_printf(b, "%s\n", u.release);
}

/* The mapping-count limit core/mm.c enforces (Linux's default). */
static void gen_max_map_count(struct pnode *n, struct sbuf *b) {
  sb_printf(b, "%llu\n", (unsigned long long)mm_max_map_count());
}

static void gen_ostype(struct pnode *n, struct sbuf *b) {
  sb_printf(b, "Linux\n");
}

static const char *comm_of(struct proc *p) {
  const char *slash = rt_strrchr(p->exe, '/');
  const char *c = slash ? slash + 1 : p->exe;
  return *c ? c : "init";
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

static void gen_status(struct pnode *n, struct sbuf *b) {
  struct proc *p = task_find_proc_any(n->pid);
  if (!p)
    return;
  struct task_cred *c = &p->cred;
  sb_printf(b,
            "Name:\t%.15s\nUmask:\t0022\nState:\t%s\nTgid:\t%d\n"
            "Ngid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n"
            "Uid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\nFDSize:\t64\n"
            "Groups:\t\nThreads:\t%d\nSigQ:\t%d/%llu\n",
            comm_of(p), state_name(task_proc_state(p)), p->pid, p->pid, p->ppid,
            c->ruid, c->euid, c->suid, c->fsuid, c->rgid, c->egid, c->sgid,
            c->fsgid, p->nthreads, p->queued,
            (unsigned long long)p->rlimit[11 /* SIGPENDING */].rlim_cur);
}

/* Fields 14-17 (utime, stime, cutime, cstime): the core has one CPU clock
 * per process (user and system together), all shown as user time. */
static void gen_stat(struct pnode *n, struct sbuf *b) {
  struct proc *p = task_find_proc_any(n->pid);
  if (!p)
    return;
  char state = task_proc_state(p);
  unsigned long long cpu = ticks(task_proc_cpu_ns(p));
  unsigned long long ccpu =
      ticks(__atomic_load_n(&p->children_cpu_ns, __ATOMIC_ACQUIRE));
  sb_printf(b,
            "%d (%.15s) %c %d %d %d 0 -1 4194304 0 0 0 0 %llu 0 %llu 0 20 0 "
            "%d 0 0 0 0\n",
            p->pid, comm_of(p), state, p->ppid, p->pgid, p->sid, cpu, ccpu,
            p->nthreads);
}

static void gen_comm(struct pnode *n, struct sbuf *b) {
  struct proc *p = task_find_proc_any(n->pid);
  if (p)
    sb_printf(b, "%.15s\n", comm_of(p));
}

static void gen_cmdline(struct pnode *n, struct sbuf *b) {
  struct proc *p = task_find_proc(n->pid);
  if (!p || !p->cmdline_len)
    return;
  /* NUL-separated: copied as bytes, not through printf. */
  char *nb = krealloc(b->buf, p->cmdline_len);
  if (!nb) {
    b->oom = true;
    return;
  }
  memcpy(nb, p->cmdline, p->cmdline_len);
  b->buf = nb;
  b->len = b->cap = p->cmdline_len;
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
  return -LINUX_EACCES;
}

static const struct file_ops gen_fops = {
    .open = gen_open,
    .release = gen_release,
    .read = gen_read,
    .write = gen_write,
};

/* ---- the tree ---- */

static const struct inode_ops procfs_iops;

static struct inode *new_node(uint32_t mode, enum pkind kind, int pid,
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
  n->gen = gen;
  i->private = n;
  return i;
}

static int add(struct inode *dir, const char *name, struct inode *child) {
  struct pnode *d = dir->private;
  if (!child)
    return -LINUX_ENOMEM;
  RT_ASSERT(d->nchildren < MAX_CHILDREN);
  d->names[d->nchildren] = name;
  d->children[d->nchildren++] = child;
  if (LINUX_S_ISTYPE(child->mode, LINUX_S_IFDIR))
    dir->nlink++;
  return 0;
}

static int add_file(struct inode *dir, const char *name, gen_fn gen) {
  struct pnode *d = dir->private;
  return add(dir, name, new_node(LINUX_S_IFREG | 0444, P_FILE, d->pid, gen));
}

static struct inode *pid_dir(int pid) {
  struct proc *p = task_find_proc_any(pid);
  if (!p)
    return NULL;
  int free_slot = -1;
  for (int i = 0; i < MAX_PIDS; i++) {
    if (g_pid_dirs[i].dir && g_pid_dirs[i].pid == pid)
      return g_pid_dirs[i].dir;
    if (!g_pid_dirs[i].dir && free_slot < 0)
      free_slot = i;
  }
  if (free_slot < 0) {
    /* All slots taken: a slot whose process is gone (reaped) takes the
     * new pid, its nodes renamed in place (a file already open keeps the
     * text it was opened with). */
    for (int i = 0; i < MAX_PIDS && free_slot < 0; i++)
      if (!task_find_proc_any(g_pid_dirs[i].pid))
        free_slot = i;
    if (free_slot < 0)
      return NULL;
    struct inode *d = g_pid_dirs[free_slot].dir;
    struct pnode *dn = d->private;
    dn->pid = pid;
    for (int i = 0; i < dn->nchildren; i++) {
      struct inode *c = dn->children[i];
      if (c->iops == &procfs_iops) {
        ((struct pnode *)c->private)->pid = pid;
      } else { /* fd/ */
        c->uid = p->cred.euid;
        c->gid = p->cred.egid;
      }
    }
    d->uid = p->cred.euid;
    d->gid = p->cred.egid;
    g_pid_dirs[free_slot].pid = pid;
    return d;
  }
  struct inode *d = new_node(LINUX_S_IFDIR | 0555, P_PID, pid, NULL);
  if (!d)
    return NULL;
  d->uid = p->cred.euid;
  d->gid = p->cred.egid;
  struct inode *fd =
      vfs_inode_alloc(g_sb, LINUX_S_IFDIR | 0500, &devfs_fd_iops, NULL);
  if (fd) {
    fd->uid = d->uid;
    fd->gid = d->gid;
  }
  int err = add(d, "fd", fd);
  if (!err)
    err = add(d, "exe", new_node(LINUX_S_IFLNK | 0777, P_EXE, pid, NULL));
  if (!err)
    err = add_file(d, "maps", gen_maps);
  if (!err)
    err = add_file(d, "status", gen_status);
  if (!err)
    err = add_file(d, "stat", gen_stat);
  if (!err)
    err = add_file(d, "comm", gen_comm);
  if (!err)
    err = add_file(d, "cmdline", gen_cmdline);
  if (!err)
    err = add_file(d, "mounts", gen_mounts);
  if (err)
    return NULL; /* the partial directory stays unreachable in the arena */
  g_pid_dirs[free_slot].pid = pid;
  g_pid_dirs[free_slot].dir = d;
  return d;
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

static bool exe_known(struct pnode *n) {
  struct proc *p = task_find_proc(n->pid);
  return p && p->exe[0];
}

static int procfs_lookup(struct inode *dir, const char *name,
                         struct inode **out) {
  struct pnode *d = dir->private;
  for (int i = 0; i < d->nchildren; i++)
    if (!rt_strcmp(d->names[i], name)) {
      struct inode *c = d->children[i];
      struct pnode *cn = c->private;
      if (c->iops == &procfs_iops && cn->kind == P_EXE && !exe_known(cn))
        return -LINUX_ENOENT;
      *out = vfs_inode_get(c);
      return 0;
    }
  int pid;
  if (d->kind == P_ROOT && parse_pid(name, &pid)) {
    struct inode *p = pid_dir(pid);
    if (p) {
      *out = vfs_inode_get(p);
      return 0;
    }
  }
  return -LINUX_ENOENT;
}

static int procfs_readdir(struct inode *dir, uint64_t *pos, vfs_emit_fn emit,
                          void *ctx) {
  struct pnode *d = dir->private;
  uint64_t i = *pos - 2;
  for (; i < (uint64_t)d->nchildren; i++) {
    struct inode *c = d->children[i];
    struct pnode *cn = c->private;
    if (c->iops == &procfs_iops && cn->kind == P_EXE && !exe_known(cn)) {
      *pos = i + 3;
      continue;
    }
    const char *name = d->names[i];
    int r = emit(ctx, name, rt_strlen(name), c->ino, vfs_dtype(c->mode), i + 3);
    if (r > 0)
      return 0;
    if (r < 0)
      return r;
    *pos = i + 3;
  }
  if (d->kind == P_ROOT && i == (uint64_t)d->nchildren && task_current()) {
    /* The pids: only the caller's own for now (one process). */
    char name[16];
    int pid = proc_current()->pid;
    int len = rt_snprintf(name, sizeof(name), "%d", pid);
    struct inode *p = pid_dir(pid);
    if (p) {
      int r = emit(ctx, name, (size_t)len, p->ino, LINUX_DT_DIR, i + 3);
      if (r > 0)
        return 0;
      if (r < 0)
        return r;
      *pos = i + 3;
    }
  }
  return 0;
}

static long procfs_readlink(struct inode *inode, char *buf, size_t len) {
  struct pnode *n = inode->private;
  char tmp[16];
  const char *target = tmp;
  if (n->kind == P_SELF) {
    if (!task_current())
      return -LINUX_ENOENT;
    rt_snprintf(tmp, sizeof(tmp), "%d", proc_current()->pid);
  } else if (n->kind == P_EXE) {
    struct proc *p = task_find_proc(n->pid);
    if (!p || !p->exe[0])
      return -LINUX_ENOENT;
    target = p->exe;
  } else {
    return -LINUX_EINVAL;
  }
  size_t tl = rt_strlen(target);
  memcpy(buf, target, MIN(tl, len));
  return (long)tl;
}

static const struct inode_ops procfs_iops = {
    .lookup = procfs_lookup,
    .readdir = procfs_readdir,
    .readlink = procfs_readlink,
};

int procfs_create(struct superblock **out) {
  g_sb = vfs_sb_alloc("proc", PROCFS_MAGIC, 0);
  if (!g_sb)
    return -LINUX_ENOMEM;
  struct inode *root = vfs_root();
  if (root && root->sb && root->sb->fs_name)
    g_root_fs = root->sb->fs_name;
  vfs_inode_put(root);
  struct inode *r = new_node(LINUX_S_IFDIR | 0555, P_ROOT, 0, NULL);
  struct inode *sys = new_node(LINUX_S_IFDIR | 0555, P_DIR, 0, NULL);
  struct inode *kernel = new_node(LINUX_S_IFDIR | 0555, P_DIR, 0, NULL);
  struct inode *sysvipc = new_node(LINUX_S_IFDIR | 0555, P_DIR, 0, NULL);
  struct inode *vm = new_node(LINUX_S_IFDIR | 0555, P_DIR, 0, NULL);
  if (!r || !sys || !kernel || !sysvipc || !vm)
    return -LINUX_ENOMEM;
  g_sb->root = r;
  int err = add(r, "self", new_node(LINUX_S_IFLNK | 0777, P_SELF, 0, NULL));
  if (!err)
    err = add_file(r, "meminfo", gen_meminfo);
  if (!err)
    err = add_file(r, "cpuinfo", gen_cpuinfo);
  if (!err)
    err = add_file(r, "stat", gen_kstat);
  if (!err)
    err = add_file(r, "mounts", gen_mounts);
  if (!err)
    err = add_file(r, "uptime", gen_uptime);
  if (!err)
    err = add_file(r, "version", gen_version);
  if (!err)
    err = add_file(r, "loadavg", gen_loadavg);
  if (!err)
    err = add(r, "sys", sys);
  if (!err)
    err = add(sys, "kernel", kernel);
  if (!err)
    err = add_file(kernel, "hostname", gen_hostname);
  if (!err)
    err = add_file(kernel, "osrelease", gen_osrelease);
  if (!err)
    err = add_file(kernel, "ostype", gen_ostype);
  if (!err)
    err = add_file(kernel, "msgmni", gen_msgmni);
  if (!err)
    err = add_file(kernel, "msgmax", gen_msgmax);
  if (!err)
    err = add_file(kernel, "msgmnb", gen_msgmnb);
  if (!err)
    err = add_file(kernel, "sem", gen_sem);
  if (!err)
    err = add(sys, "vm", vm);
  if (!err)
    err = add_file(vm, "max_map_count", gen_max_map_count);
  if (!err)
    err = add(r, "sysvipc", sysvipc);
  if (!err)
    err = add_file(sysvipc, "msg", gen_sysvipc_msg);
  if (!err)
    err = add_file(sysvipc, "sem", gen_sysvipc_sem);
  if (!err)
    err = add_file(sysvipc, "shm", gen_sysvipc_shm);
  if (err)
    return err;
  *out = g_sb;
  return 0;
}
