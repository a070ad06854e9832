/* Processes and threads: the task table in the arena, the first process,
 * identity (ids, credentials, uname, hostname), resource limits, sysinfo
 * and process exit.
 *
 * Pids are sandbox-local: the first process is pid 1 with ppid 0 and the
 * host never sees these numbers. The table, the processes and the threads
 * live in the arena so that guest processes that are separate host
 * processes (fork, next step) share them.
 *
 * Locks (DESIGN.md, "Locks"): the table's (tt->lock: the table, pids,
 * parents, process states, the host records) before a process's
 * (p->lock: its signal actions, credentials, threads, limits), never the
 * other way; a signal sent under the table lock takes the process's.
 * Functions named *_locked need tt->lock held (rt_assert_held checks it
 * in debug builds). */
#include "task.h"

#include "devfs.h"
#include "file.h"
#include "flock.h"
#include "mm.h"
#include "pcache.h"
#include "poll.h"
#include "moat/hot.h"
#include "moat/moat.h"
#include "moat/platform.h"
#include "proc.h"
#include "pty.h"
#include "rt.h"
#include "moat/regs.h"

struct task_table *g_task_table;

#define NR_OPEN_MAX 1048576 /* Linux's fs.nr_open default */

void moat_call_begin(void) {
  struct task *t = task_current();
  if (t) {
    t->call_id = 0;
    t->in_call = true;
  }
}

void moat_call_end(void) {
  struct task *t = task_current();
  if (t)
    t->in_call = false;
}

uint64_t task_call_id(void) {
  struct task *t = task_current();
  if (!t || !t->in_call || !g_task_table)
    return 0;
  if (!t->call_id)
    t->call_id =
        __atomic_add_fetch(&g_task_table->next_call_id, 1, __ATOMIC_RELAXED);
  return t->call_id;
}

int task_table_init(const char *hostname, uint32_t max_tasks) {
  struct task_table *tt = kzalloc(sizeof(*tt));
  if (!tt)
    return -LINUX_ENOMEM;
  tt->max_tasks = max_tasks ? max_tasks : 1024;
  tt->procs = kzalloc(sizeof(*tt->procs) * tt->max_tasks);
  tt->tasks = kzalloc(sizeof(*tt->tasks) * tt->max_tasks);
  /* Every live host process has a task, but a host process that ended
   * keeps its record until its host parent collects it: room for both. */
  /* (the helpers of moat_helper_fork: an exec server, a shepherd per
   * process from outside) */
  tt->nhosts = 2 * tt->max_tasks + 1 + TASK_SPAWN_MAX;
  tt->hosts = kzalloc(sizeof(*tt->hosts) * tt->nhosts);
  if (!tt->procs || !tt->tasks || !tt->hosts) {
    kfree(tt->procs);
    kfree(tt->tasks);
    kfree(tt->hosts);
    kfree(tt);
    return -LINUX_ENOMEM;
  }
  rt_strlcpy(tt->hostname, hostname && *hostname ? hostname : "moat",
             sizeof(tt->hostname));
  rt_strlcpy(tt->domainname, "(none)", sizeof(tt->domainname));
  tt->boot_ns = rt_now_ns();
  tt->next_mm_id = 1;
  g_task_table = tt;
  futex_init();
  sysv_ipc_init();
  pcache_init(); /* without it shared file mappings stay copies */
  return 0;
}

/* The next free pid after the last one handed out (caller holds the table
 * lock). Pids and tids share one number space, as in Linux. */
static int alloc_pid_locked(struct task_table *tt) {
  for (int tries = 0; tries < TASK_PID_MAX; tries++) {
    int pid = tt->last_pid + 1;
    if (pid >= TASK_PID_MAX)
      pid = 2; /* pid 1 is the first process for good */
    tt->last_pid = pid;
    bool used = false;
    for (uint32_t i = 0; i < tt->max_tasks && !used; i++)
      used = (tt->tasks[i] && tt->tasks[i]->tid == pid) ||
             (tt->procs[i] && tt->procs[i]->pid == pid);
    if (!used)
      return pid;
  }
  return -LINUX_EAGAIN;
}

int task_alloc_pid(void) {
  struct task_table *tt = g_task_table;
  rt_lock(&tt->lock);
  int pid = alloc_pid_locked(tt);
  rt_unlock(&tt->lock);
  return pid;
}

static int table_slot(void **slots, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (!slots[i])
      return (int)i;
  return -1;
}

/* Linux's defaults for a new boot (INR_OPEN_CUR:INR_OPEN_MAX open files,
 * an 8 MiB stack, no core files), with --pids as RLIMIT_NPROC. */
static void default_rlimits(struct linux_rlimit *rl, uint32_t max_tasks) {
  for (int i = 0; i < LINUX_RLIMIT_NLIMITS; i++)
    rl[i].rlim_cur = rl[i].rlim_max = LINUX_RLIM_INFINITY;
  rl[LINUX_RLIMIT_STACK].rlim_cur = 8ull << 20;
  rl[LINUX_RLIMIT_CORE].rlim_cur = 0;
  rl[LINUX_RLIMIT_NPROC].rlim_cur = rl[LINUX_RLIMIT_NPROC].rlim_max = max_tasks;
  rl[LINUX_RLIMIT_NOFILE].rlim_cur = FDT_DEFAULT_MAX;
  rl[LINUX_RLIMIT_NOFILE].rlim_max = 4096;
  rl[LINUX_RLIMIT_MEMLOCK].rlim_cur = rl[LINUX_RLIMIT_MEMLOCK].rlim_max = 8ull
                                                                          << 20;
  rl[11].rlim_cur = rl[11].rlim_max = TASK_SIGQUEUE_MAX; /* SIGPENDING */
  rl[12].rlim_cur = rl[12].rlim_max = 819200;            /* MSGQUEUE */
  rl[13].rlim_cur = rl[13].rlim_max = 0;                 /* NICE */
  rl[14].rlim_cur = rl[14].rlim_max = 0;                 /* RTPRIO */
}

int task_create_first(uint32_t uid, uint32_t gid,
                      const struct linux_rlimit *rlimits, uint32_t rlimits_set,
                      struct proc **out) {
  struct task_table *tt = g_task_table;
  if (!tt)
    return -LINUX_EINVAL;
  struct proc *p = kzalloc(sizeof(*p));
  struct task *t = kzalloc(sizeof(*t));
  if (!p || !t) {
    kfree(p);
    kfree(t);
    return -LINUX_ENOMEM;
  }
  rt_lock(&tt->lock);
  int ps = table_slot((void **)tt->procs, tt->max_tasks);
  int ts = table_slot((void **)tt->tasks, tt->max_tasks);
  /* Its host id stays 0: its host parent is outside the sandbox. */
  struct task_host *h = tt->hosts;
  if (ps < 0 || ts < 0 || h->used) {
    rt_unlock(&tt->lock);
    kfree(p);
    kfree(t);
    return -LINUX_EAGAIN;
  }
  tt->last_pid = 1;
  p->pid = p->pgid = p->sid = 1;
  p->ppid = 0;
  p->state = PROC_RUNNING;
  p->cred = (struct task_cred){.ruid = uid,
                               .euid = uid,
                               .suid = uid,
                               .fsuid = uid,
                               .rgid = gid,
                               .egid = gid,
                               .sgid = gid,
                               .fsgid = gid,
                               .cap_bnd = LINUX_CAP_ALL};
  if (uid == 0)
    p->cred.cap_eff = p->cred.cap_prm = LINUX_CAP_ALL;
  default_rlimits(p->rlimit, tt->max_tasks);
  for (int r = 0; r < LINUX_RLIMIT_NLIMITS; r++) {
    tt->rlimit_ceiling[r] =
        r == LINUX_RLIMIT_NOFILE ? NR_OPEN_MAX : LINUX_RLIM_INFINITY;
    if (rlimits && (rlimits_set & (1u << r)) &&
        rlimits[r].rlim_cur <= rlimits[r].rlim_max) {
      p->rlimit[r] = rlimits[r];
      tt->rlimit_ceiling[r] = MIN(tt->rlimit_ceiling[r], rlimits[r].rlim_max);
    }
  }
  signal_init_proc(p);
  const struct moat_config *cfg = moat_config();
  uint64_t keep = ~(LINUX_SIGBIT(LINUX_SIGKILL) | LINUX_SIGBIT(LINUX_SIGSTOP));
  for (int sig = 1; sig <= LINUX_NSIG && cfg; sig++)
    if (cfg->sig_ignored & keep & LINUX_SIGBIT(sig))
      p->sigaction[sig - 1].handler = LINUX_SIG_IGN;
  rt_strlcpy(t->comm, "moat", sizeof(t->comm));
  t->sigblocked = cfg ? cfg->sig_blocked & keep : 0;
  p->start_ns = rt_now_ns();
  p->mm_id = tt->next_mm_id++;
  h->used = 1;
  p->host = h;
  t->tid = 1;
  t->proc = p;
  t->fw_bucket = -1;
  t->altstack.ss_flags = LINUX_SS_DISABLE;
  p->threads = t;
  p->nthreads = 1;
  tt->procs[ps] = p;
  tt->tasks[ts] = t;
  tt->ntasks++;
  rt_unlock(&tt->lock);
  rt_lock_account(&h->locks, &tt->doomed);
  rt_lock_on_stall(task_reap_poll);
  mm_attach_new(p);
  plat_ctx_set(t);
  t->host = plat_ctx_self();
  tt->init_host = t->host;
  *out = p;
  return 0;
}

struct proc *task_find_proc(int pid) {
  struct task_table *tt = g_task_table;
  struct proc *found = NULL;
  if (!tt || pid <= 0)
    return NULL;
  rt_lock(&tt->lock);
  for (uint32_t i = 0; i < tt->max_tasks && !found; i++)
    if (tt->procs[i] && tt->procs[i]->pid == pid &&
        tt->procs[i]->state == PROC_RUNNING)
      found = tt->procs[i];
  rt_unlock(&tt->lock);
  return found;
}

struct proc *task_find_proc_any(int pid) {
  struct task_table *tt = g_task_table;
  struct proc *found = NULL;
  if (!tt || pid <= 0)
    return NULL;
  rt_lock(&tt->lock);
  for (uint32_t i = 0; i < tt->max_tasks && !found; i++)
    if (tt->procs[i] && tt->procs[i]->pid == pid &&
        (tt->procs[i]->state == PROC_RUNNING ||
         tt->procs[i]->state == PROC_ZOMBIE))
      found = tt->procs[i];
  rt_unlock(&tt->lock);
  return found;
}

/* ---- the state and CPU time /proc shows ----
 * A thread is S while it is blocked in an interruptible wait of the
 * library OS (every such wait goes through task_sleep_wait or
 * task_sleep_mark); the process's state is its main thread's, as on
 * Linux, T while stopped, Z once a zombie. The host's CPU clock of a
 * process is only readable by that process, so each process publishes
 * its own in its proc (arena) whenever one of its threads goes to sleep,
 * and at a north_interrupt after a reader asked for it (kicking it). */

/* The calling process's CPU time now and its system part: what the host
 * does not count as the process's own (user) time. The user clock may
 * be coarser than the total (sampled at the host's tick), so the split
 * is clamped into [0, total]. */
static int64_t own_cpu_ns(int64_t *sys_ns) {
  int64_t total = 0, user = 0;
  if (plat_clock(PLAT_CLOCK_CPU, &total) != 0 || total < 0)
    total = 0;
  if (sys_ns) {
    if (plat_clock(PLAT_CLOCK_CPU_USER, &user) != 0 || user < 0 || user > total)
      user = total;
    *sys_ns = total - user;
  }
  return total;
}

/* The total is published when a thread goes to sleep (one host clock
 * read, a system call: the monotonic clock is far cheaper), unless the
 * last publication is less than CPU_PUBLISH_NS old: a sleeping process's
 * figure then misses at most that much wall time of CPU per thread (a
 * /proc tick is 10 ms), and a thread handing work back and forth (a
 * condition variable, a pipe) does not read the host's CPU clock at
 * every hand-off. The split costs a second read, so only a reader's
 * request (cpu_wanted) gets a fresh one. */
#define CPU_PUBLISH_NS 1000000
static void publish_cpu(bool sleeping) {
  struct task *t = task_current();
  if (!t || t->proc->vfork_thread)
    return; /* a vfork child's host process is its parent's */
  struct proc *p = t->proc;
  int64_t now = rt_now_ns();
  if (sleeping && !__atomic_load_n(&p->cpu_wanted, __ATOMIC_ACQUIRE) &&
      now - __atomic_load_n(&p->cpu_live_at, __ATOMIC_ACQUIRE) < CPU_PUBLISH_NS)
    return;
  __atomic_store_n(&p->cpu_live_at, now, __ATOMIC_RELEASE);
  bool asked = __atomic_exchange_n(&p->cpu_wanted, 0, __ATOMIC_ACQ_REL);
  int64_t sys = 0;
  int64_t cpu = own_cpu_ns(asked ? &sys : NULL);
  if (cpu <= 0 && !asked)
    return;
  if (asked)
    __atomic_store_n(&p->cpu_live_sys_ns, sys, __ATOMIC_RELEASE);
  __atomic_store_n(&p->cpu_live_ns, cpu, __ATOMIC_RELEASE);
  __atomic_add_fetch(&p->cpu_seq, 1, __ATOMIC_ACQ_REL);
  if (asked)
    plat_wake(&p->cpu_seq, 1 << 30);
}

void moat_interrupted(void) {
  struct task *t = task_current();
  if (t && __atomic_load_n(&t->proc->cpu_wanted, __ATOMIC_ACQUIRE))
    publish_cpu(false);
}

void task_sleep_mark(bool sleeping) {
  struct task *t = task_current();
  if (!t)
    return;
  if (sleeping)
    publish_cpu(true);
  __atomic_store_n(&t->sleeping, sleeping ? 1u : 0u, __ATOMIC_RELEASE);
}

int task_sleep_wait_io(uint32_t *word, uint32_t expected, struct plat_io *io,
                       int nio, int64_t timeout_ns) {
  task_sleep_mark(true);
  int rc = plat_wait(word, expected, io, nio, timeout_ns);
  task_sleep_mark(false);
  return rc;
}

int task_sleep_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns) {
  return task_sleep_wait_io(word, expected, NULL, 0, timeout_ns);
}

/* The thread whose state stands for p's: its main thread while it lives,
 * else the first one left. Caller holds p->lock. */
static struct task *main_thread_locked(struct proc *p) {
  for (struct task *t = p->threads; t; t = t->next_in_proc)
    if (t->tid == p->pid)
      return t;
  return p->threads;
}

char task_proc_state(struct proc *p) {
  if (__atomic_load_n(&p->state, __ATOMIC_ACQUIRE) == PROC_ZOMBIE)
    return 'Z';
  rt_lock(&p->lock);
  char c = 'R';
  struct task *t = main_thread_locked(p);
  if (p->state == PROC_ZOMBIE)
    c = 'Z';
  else if (p->stopped)
    c = 'T';
  else if (t && __atomic_load_n(&t->sleeping, __ATOMIC_ACQUIRE))
    c = 'S';
  rt_unlock(&p->lock);
  return c;
}

#define CPU_ASK_NS 20000000 /* how long a reader waits for a publication */

/* A published split may be older than the total: the time since counts
 * as user time. */
static int64_t split_of(int64_t total, int64_t sys, int64_t *sys_ns) {
  if (sys_ns)
    *sys_ns = sys < 0 ? 0 : sys > total ? total : sys;
  return total;
}

int64_t task_proc_cpu_ns(struct proc *p, int64_t *sys_ns) {
  if (__atomic_load_n(&p->state, __ATOMIC_ACQUIRE) == PROC_ZOMBIE)
    return split_of(p->cpu_ns, p->cpu_sys_ns, sys_ns);
  struct task *self = task_current();
  if (self && self->proc == p && !p->vfork_thread) {
    int64_t sys = 0;
    int64_t cpu = own_cpu_ns(&sys);
    __atomic_store_n(&p->cpu_live_sys_ns, sys, __ATOMIC_RELEASE);
    __atomic_store_n(&p->cpu_live_ns, cpu, __ATOMIC_RELEASE);
    return split_of(cpu, sys, sys_ns);
  }
  /* Ask a thread of p that runs (not asleep: a sleeper published its
   * figure when it went to sleep) to publish, and wait a little. */
  uint32_t seq = __atomic_load_n(&p->cpu_seq, __ATOMIC_ACQUIRE);
  uint64_t handle = 0;
  rt_lock(&p->lock);
  if (p->state == PROC_RUNNING && !p->stopped)
    for (struct task *t = p->threads; t && !handle; t = t->next_in_proc)
      if (t->host && !__atomic_load_n(&t->sleeping, __ATOMIC_ACQUIRE))
        handle = t->host;
  rt_unlock(&p->lock);
  if (handle) {
    __atomic_store_n(&p->cpu_wanted, 1, __ATOMIC_RELEASE);
    if (plat_ctx_kick(handle) == 0) {
      int64_t end = rt_now_ns() + CPU_ASK_NS;
      while (__atomic_load_n(&p->cpu_seq, __ATOMIC_ACQUIRE) == seq) {
        int64_t left = end - rt_now_ns();
        if (left <= 0)
          break;
        plat_wait(&p->cpu_seq, seq, NULL, 0, left);
      }
    }
  }
  return split_of(__atomic_load_n(&p->cpu_live_ns, __ATOMIC_ACQUIRE),
                  __atomic_load_n(&p->cpu_live_sys_ns, __ATOMIC_ACQUIRE),
                  sys_ns);
}

void task_set_exe(const char *path) {
  if (!task_current() || !path)
    return;
  struct proc *p = task_current()->proc;
  rt_lock(&p->lock);
  rt_strlcpy(p->exe, path, sizeof(p->exe));
  rt_unlock(&p->lock);
}

/* Linux's execve of a file without file capabilities or set-id bits:
 * for root (real or effective uid 0) the permitted set becomes the
 * bounding and inheritable sets, and the effective one the permitted
 * set when the effective uid is 0; for anyone else both become the
 * ambient set. keep_caps is cleared. */
static void caps_exec_locked(struct task_cred *c) {
  if (c->euid == 0 || c->ruid == 0) {
    c->cap_prm = (c->cap_bnd | c->cap_inh) & LINUX_CAP_ALL;
    c->cap_eff = c->euid == 0 ? c->cap_prm : 0;
    c->cap_amb = 0;
  } else {
    c->cap_prm = c->cap_amb;
    c->cap_eff = c->cap_amb;
  }
  c->keep_caps = false;
}

int moat_set_program(const char *path, int argc, const char *const *argv) {
  if (!task_current())
    return -LINUX_ESRCH;
  task_set_exe(path);
  struct proc *p = task_current()->proc;
  /* A successful exec: a vfork parent may go on; the old image's robust
   * list and tid address are gone with it. */
  task_vfork_release(p);
  task_current()->robust_head = 0;
  task_current()->clear_child_tid = 0;
  rt_lock(&p->lock);
  caps_exec_locked(&p->cred);
  p->not_dumpable = false; /* execve of a file without set-id bits */
  ptimer_free_locked(p);   /* POSIX timers do not survive exec */
  size_t at = 0;
  for (int i = 0; argv && i < argc && argv[i]; i++) {
    size_t n = rt_strlen(argv[i]) + 1;
    if (at + n > sizeof(p->cmdline))
      break; /* Linux shows a long command line cut, too */
    memcpy(p->cmdline + at, argv[i], n);
    at += n;
  }
  p->cmdline_len = at;
  rt_unlock(&p->lock);
  /* A new address space: its peaks and membarrier registrations start
   * again, as Linux's new mm. */
  __atomic_store_n(&p->membarrier, 0, __ATOMIC_RELAXED);
  struct task_host *h = p->host;
  if (h && !p->vfork_thread) {
    __atomic_store_n(&h->vm_peak,
                     __atomic_load_n(&h->vm_total, __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
    __atomic_store_n(&h->vm_hwm, __atomic_load_n(&h->vm_rss, __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
  }
  return 0;
}

int moat_set_environ(const char *const *envp) {
  if (!task_current())
    return -LINUX_ESRCH;
  struct proc *p = task_current()->proc;
  rt_lock(&p->lock);
  size_t at = 0;
  for (int i = 0; envp && envp[i]; i++) {
    size_t n = rt_strlen(envp[i]) + 1;
    if (at + n > sizeof(p->environ))
      break;
    memcpy(p->environ + at, envp[i], n);
    at += n;
  }
  p->environ_len = at;
  rt_unlock(&p->lock);
  return 0;
}

void task_host_note_vm(struct task_host *h, uint64_t total, uint64_t data,
                       uint64_t rss) {
  rss = MIN(rss, total);
  __atomic_store_n(&h->vm_total, total, __ATOMIC_RELAXED);
  __atomic_store_n(&h->vm_data, data, __ATOMIC_RELAXED);
  __atomic_store_n(&h->vm_rss, rss, __ATOMIC_RELAXED);
  if (total > __atomic_load_n(&h->vm_peak, __ATOMIC_RELAXED))
    __atomic_store_n(&h->vm_peak, total, __ATOMIC_RELAXED);
  if (rss > __atomic_load_n(&h->vm_hwm, __ATOMIC_RELAXED))
    __atomic_store_n(&h->vm_hwm, rss, __ATOMIC_RELAXED);
}

struct task *task_find_thread_locked(struct proc *p, int tid) {
  for (struct task *t = p->threads; t; t = t->next_in_proc)
    if (t->tid == tid)
      return t;
  return NULL;
}

int task_set_comm(int tid, const char *name, size_t len) {
  struct task *self = task_current();
  if (!self)
    return -LINUX_ESRCH;
  struct proc *p = self->proc;
  rt_lock(&p->lock);
  struct task *t = tid ? task_find_thread_locked(p, tid) : self;
  if (t) {
    len = MIN(len, sizeof(t->comm) - 1);
    memcpy(t->comm, name, len);
    memset(t->comm + len, 0, sizeof(t->comm) - len);
  }
  rt_unlock(&p->lock);
  return t ? 0 : -LINUX_ESRCH;
}

int moat_set_comm(const char *name) {
  return task_set_comm(0, name, rt_strlen(name));
}

void moat_get_comm(char out[16]) {
  struct task *self = task_current();
  memset(out, 0, 16);
  if (!self)
    return;
  rt_lock(&self->proc->lock);
  memcpy(out, self->comm, 15);
  rt_unlock(&self->proc->lock);
}

uint32_t moat_personality(uint32_t persona) {
  struct task *self = task_current();
  if (!self)
    return 0;
  if (persona == 0xffffffffu)
    return __atomic_load_n(&self->proc->personality, __ATOMIC_RELAXED);
  return __atomic_exchange_n(&self->proc->personality, persona,
                             __ATOMIC_RELAXED);
}

uint32_t moat_membarrier_register(uint32_t add) {
  struct task *self = task_current();
  if (!self)
    return 0;
  return __atomic_or_fetch(&self->proc->membarrier, add, __ATOMIC_RELAXED);
}

bool moat_no_new_privs(bool set) {
  struct task *self = task_current();
  if (!self)
    return false;
  if (set)
    __atomic_store_n(&self->proc->no_new_privs, true, __ATOMIC_RELAXED);
  return __atomic_load_n(&self->proc->no_new_privs, __ATOMIC_RELAXED);
}

uint64_t task_rlimit(int resource) {
  if (!task_current() || resource < 0 || resource >= LINUX_RLIMIT_NLIMITS)
    return LINUX_RLIM_INFINITY;
  return task_current()->proc->rlimit[resource].rlim_cur;
}

/* ---- the proc.h interface for the vfs and file layers ---- */

struct fs_context *proc_current_fs(void) {
  struct task *t = task_current();
  return t ? t->proc->fs : NULL;
}

struct fd_table *proc_current_fdt(void) {
  struct task *t = task_current();
  return t ? t->proc->fdt : NULL;
}

/* Before the first process exists (boot), the vfs acts as root. */
void proc_current_cred(uint32_t *euid, uint32_t *egid) {
  struct task *t = task_current();
  struct proc *p = t ? t->proc : NULL;
  bool real = t && t->access_real;
  *euid = p ? (real ? p->cred.ruid : p->cred.fsuid) : 0;
  *egid = p ? (real ? p->cred.rgid : p->cred.fsgid) : 0;
}

struct fd_table *proc_fdt_get(int pid) {
  struct task *t = task_current();
  if (pid == 0 || (t && pid == t->proc->pid)) {
    struct fd_table *fdt = proc_current_fdt();
    return fdt ? fdt_get(fdt) : NULL;
  }
  struct proc *p = task_find_proc(pid);
  if (!p)
    return NULL;
  rt_lock(&p->lock);
  struct fd_table *fdt = p->pid == pid && p->fdt ? fdt_get(p->fdt) : NULL;
  rt_unlock(&p->lock);
  return fdt;
}

struct inode *proc_fs_inode(int pid, bool root) {
  struct proc *p = task_find_proc(pid);
  struct inode *i = NULL;
  if (!p)
    return NULL;
  rt_lock(&p->lock);
  struct fs_context *fs = p->pid == pid ? p->fs : NULL;
  if (fs) {
    rt_lock(&fs->lock);
    i = vfs_inode_get(root ? fs->root : fs->cwd);
    rt_unlock(&fs->lock);
  }
  rt_unlock(&p->lock);
  return i;
}

void proc_access_real(bool on) {
  struct task *t = task_current();
  if (t)
    t->access_real = on;
}

uint64_t proc_current_fsize_limit(void) {
  struct task *t = task_current();
  return t ? t->proc->rlimit[LINUX_RLIMIT_FSIZE].rlim_cur : LINUX_RLIM_INFINITY;
}

void proc_send_xfsz(void) {
  struct task *t = task_current();
  if (!t)
    return;
  struct linux_siginfo info;
  memset(&info, 0, sizeof(info));
  info.si_signo = LINUX_SIGXFSZ;
  info.si_code = LINUX_SI_USER; /* Linux's send_sig(SIGXFSZ, current, 0) */
  info.u.kill.pid = t->proc->pid;
  info.u.kill.uid = t->proc->cred.ruid;
  signal_send(t->proc, t, &info);
}

bool proc_in_group(uint32_t gid) {
  struct task *t = task_current();
  struct proc *p = t ? t->proc : NULL;
  if (!p)
    return false;
  for (uint32_t i = 0; i < p->cred.ngroups && i < TASK_NGROUPS_MAX; i++)
    if (p->cred.groups[i] == gid)
      return true;
  return false;
}

/* ---- identity ---- */

int moat_getpid(void) {
  return proc_current()->pid;
}

int moat_getppid(void) {
  struct task_table *tt = g_task_table;
  rt_lock(&tt->lock);
  int ppid = proc_current()->ppid;
  rt_unlock(&tt->lock);
  return ppid;
}

int moat_gettid(void) {
  return task_current()->tid;
}

_Static_assert(sizeof(((struct task *)0)->north) ==
                   MOAT_NORTH_WORDS * sizeof(uint64_t),
               "the North slot's size");

uint64_t *moat_north_slot(void) {
  return task_current()->north;
}

uint32_t moat_getuid(void) {
  return proc_current()->cred.ruid;
}

uint32_t moat_geteuid(void) {
  return proc_current()->cred.euid;
}

uint32_t moat_getgid(void) {
  return proc_current()->cred.rgid;
}

uint32_t moat_getegid(void) {
  return proc_current()->cred.egid;
}

/* setresuid/setresgid as Linux: a privileged caller (euid 0, standing in
 * for CAP_SETUID/CAP_SETGID) sets anything; others may only pick among
 * their current real, effective and saved ids. The fs id follows the
 * effective one. */
static int set_res_ids(uint32_t *real, uint32_t *eff, uint32_t *saved,
                       uint32_t *fs, uint32_t r, uint32_t e, uint32_t s,
                       bool privileged) {
  const uint32_t keep = (uint32_t)-1;
  uint32_t want[3] = {r, e, s};
  if (!privileged) {
    for (int i = 0; i < 3; i++)
      if (want[i] != keep && want[i] != *real && want[i] != *eff &&
          want[i] != *saved)
        return -LINUX_EPERM;
  }
  if (r != keep)
    *real = r;
  if (e != keep)
    *eff = e;
  if (s != keep)
    *saved = s;
  *fs = *eff;
  return 0;
}

static bool cred_capable(const struct task_cred *c, int cap) {
  return (c->cap_eff >> cap) & 1;
}

/* Linux's cap_emulate_setxuid: leaving uid 0 in all of the real,
 * effective and saved ids drops the permitted set (unless keep_caps) and
 * the effective one; an effective uid leaving 0 drops the effective set,
 * one becoming 0 raises it to the permitted set. */
static void caps_fix_setuid(struct task_cred *c, const struct task_cred *old) {
  bool was_root = old->ruid == 0 || old->euid == 0 || old->suid == 0;
  if (was_root && c->ruid != 0 && c->euid != 0 && c->suid != 0) {
    if (!c->keep_caps)
      c->cap_prm = 0;
    c->cap_eff = 0;
    c->cap_amb = 0;
  }
  if (old->euid == 0 && c->euid != 0)
    c->cap_eff = 0;
  if (old->euid != 0 && c->euid == 0)
    c->cap_eff = c->cap_prm;
  c->cap_amb &= c->cap_prm & c->cap_inh;
}

int moat_setresuid(uint32_t r, uint32_t e, uint32_t s) {
  struct proc *p = proc_current();
  rt_lock(&p->lock);
  struct task_cred *c = &p->cred;
  struct task_cred old = *c;
  int err = set_res_ids(&c->ruid, &c->euid, &c->suid, &c->fsuid, r, e, s,
                        cred_capable(c, LINUX_CAP_SETUID));
  if (!err)
    caps_fix_setuid(c, &old);
  rt_unlock(&p->lock);
  return err;
}

int moat_setresgid(uint32_t r, uint32_t e, uint32_t s) {
  struct proc *p = proc_current();
  rt_lock(&p->lock);
  struct task_cred *c = &p->cred;
  int err = set_res_ids(&c->rgid, &c->egid, &c->sgid, &c->fsgid, r, e, s,
                        cred_capable(c, LINUX_CAP_SETGID));
  rt_unlock(&p->lock);
  return err;
}

bool moat_capable(int cap) {
  struct task *t = task_current();
  if (!t)
    return true; /* the library OS's own start */
  if (cap < 0 || cap > LINUX_CAP_LAST_CAP)
    return false;
  /* Lock-free: callers may hold any lock (an aligned 64-bit load). */
  struct task_cred *c = &t->proc->cred;
  uint64_t set = __atomic_load_n(&c->cap_eff, __ATOMIC_RELAXED);
  if (t->access_real) /* Linux's faccessat: root's permitted set */
    set = c->ruid == 0 ? __atomic_load_n(&c->cap_prm, __ATOMIC_RELAXED) : 0;
  return (set >> cap) & 1;
}

int moat_capget(int pid, struct moat_caps *out) {
  struct proc *p = pid ? task_find_proc(pid) : proc_current();
  if (!p)
    return -LINUX_ESRCH;
  rt_lock(&p->lock);
  out->effective = p->cred.cap_eff;
  out->permitted = p->cred.cap_prm;
  out->inheritable = p->cred.cap_inh;
  rt_unlock(&p->lock);
  return 0;
}

/* ---- scheduling attributes (sched(7)) ----
 * Kept per thread under its process's lock and found through the task
 * table (table lock, then the process's: the documented order). */

#define SCHED_OTHER_ 0
#define SCHED_FIFO_ 1
#define SCHED_RR_ 2
#define SCHED_BATCH_ 3
#define SCHED_IDLE_ 5

static bool sched_rt(int policy) {
  return policy == SCHED_FIFO_ || policy == SCHED_RR_;
}

/* Thread tid (0: the caller) with the table and its process locked;
 * NULL (nothing locked) when there is none. */
static struct task *sched_lock(int tid) {
  struct task_table *tt = g_task_table;
  struct task *self = task_current();
  if (!tt || !self)
    return NULL;
  if (!tid)
    tid = self->tid;
  rt_lock(&tt->lock);
  for (uint32_t i = 0; i < tt->max_tasks; i++) {
    struct task *t = tt->tasks[i];
    if (t && t->tid == tid && t->proc->state == PROC_RUNNING) {
      rt_lock(&t->proc->lock);
      return t;
    }
  }
  rt_unlock(&tt->lock);
  return NULL;
}

static void sched_unlock(struct task *t) {
  rt_unlock(&t->proc->lock);
  rt_unlock(&g_task_table->lock);
}

int moat_sched_get(int tid, struct moat_sched *out) {
  struct task *t = sched_lock(tid);
  if (!t)
    return -LINUX_ESRCH;
  out->policy = t->sched_policy;
  out->prio = t->sched_prio;
  out->nice = t->nice;
  out->reset_on_fork = t->sched_reset;
  out->ioprio = t->ioprio;
  memcpy(out->cpus_off, t->cpus_off, sizeof(out->cpus_off));
  sched_unlock(t);
  return 0;
}

int moat_sched_set(int tid, const struct moat_sched *in, unsigned what) {
  bool nice_cap = moat_capable(LINUX_CAP_SYS_NICE);
  uint32_t euid = proc_current()->cred.euid;
  struct task *t = sched_lock(tid);
  if (!t)
    return -LINUX_ESRCH;
  int err = 0;
  int policy = what & MOAT_SCHED_SET_POLICY ? in->policy : t->sched_policy;
  /* Another user's thread: CAP_SYS_NICE (Linux's check_same_owner). */
  const struct task_cred *c = &t->proc->cred;
  if (t->proc != proc_current() && euid != c->euid && euid != c->ruid &&
      !nice_cap) {
    err = -LINUX_EPERM;
    goto out;
  }
  if (what & (MOAT_SCHED_SET_POLICY | MOAT_SCHED_SET_PRIO)) {
    if (policy != SCHED_OTHER_ && policy != SCHED_BATCH_ &&
        policy != SCHED_IDLE_ && !sched_rt(policy)) {
      err = -LINUX_EINVAL;
      goto out;
    }
    if (sched_rt(policy) ? in->prio < 1 || in->prio > 99 : in->prio != 0) {
      err = -LINUX_EINVAL;
      goto out;
    }
    /* Real-time scheduling needs the capability (RLIMIT_RTPRIO is 0). */
    if (sched_rt(policy) && !nice_cap) {
      err = -LINUX_EPERM;
      goto out;
    }
    if ((what & MOAT_SCHED_SET_POLICY) && t->sched_reset &&
        !in->reset_on_fork && !nice_cap) {
      err = -LINUX_EPERM;
      goto out;
    }
    t->sched_policy = (uint8_t)policy;
    t->sched_prio = (uint8_t)in->prio;
    if (what & MOAT_SCHED_SET_POLICY)
      t->sched_reset = in->reset_on_fork;
  }
  if (what & MOAT_SCHED_SET_IOPRIO) {
    if ((in->ioprio >> 13) == 1 && !nice_cap) { /* IOPRIO_CLASS_RT */
      err = -LINUX_EPERM;
      goto out;
    }
    t->ioprio = (uint16_t)in->ioprio;
  }
  if (what & MOAT_SCHED_SET_NICE) {
    int nice = MAX(-20, MIN(19, in->nice));
    if (nice < t->nice && !nice_cap) {
      err = -LINUX_EACCES;
      goto out;
    }
    t->nice = (int8_t)nice;
  }
  if (what & MOAT_SCHED_SET_AFFINITY)
    memcpy(t->cpus_off, in->cpus_off, sizeof(t->cpus_off));
out:
  sched_unlock(t);
  return err;
}

/* A new thread or process takes its creator's attributes, less what
 * SCHED_RESET_ON_FORK takes back (creator's process locked). */
_Static_assert(sizeof(((struct task *)0)->cpus_off) ==
                   MOAT_SCHED_CPU_WORDS * sizeof(uint64_t),
               "task cpus_off");

static void sched_inherit(struct task *t, const struct task *from) {
  t->nice = from->nice;
  t->ioprio = from->ioprio;
  memcpy(t->cpus_off, from->cpus_off, sizeof(t->cpus_off));
  t->sched_policy = from->sched_policy;
  t->sched_prio = from->sched_prio;
  t->sched_reset = false;
  if (from->sched_reset) {
    if (sched_rt(from->sched_policy)) {
      t->sched_policy = SCHED_OTHER_;
      t->sched_prio = 0;
    }
    if (t->nice < 0)
      t->nice = 0;
  }
}

static bool subset(uint64_t a, uint64_t b) {
  return (a & ~b) == 0;
}

int moat_capset(const struct moat_caps *in) {
  struct proc *p = proc_current();
  rt_lock(&p->lock);
  struct task_cred *c = &p->cred;
  int err = 0;
  uint64_t eff = in->effective & LINUX_CAP_ALL;
  uint64_t prm = in->permitted & LINUX_CAP_ALL;
  uint64_t inh = in->inheritable & LINUX_CAP_ALL;
  if (!cred_capable(c, LINUX_CAP_SETPCAP) &&
      !subset(inh, c->cap_inh | c->cap_prm))
    err = -LINUX_EPERM;
  else if (!subset(inh, c->cap_inh | c->cap_bnd))
    err = -LINUX_EPERM;
  else if (!subset(prm, c->cap_prm))
    err = -LINUX_EPERM;
  else if (!subset(eff, prm))
    err = -LINUX_EPERM;
  else {
    c->cap_eff = eff;
    c->cap_prm = prm;
    c->cap_inh = inh;
    c->cap_amb &= prm & inh;
  }
  rt_unlock(&p->lock);
  return err;
}

int moat_capbset(int cap, bool drop) {
  if (cap < 0 || cap > LINUX_CAP_LAST_CAP)
    return -LINUX_EINVAL;
  struct proc *p = proc_current();
  rt_lock(&p->lock);
  int r = (int)((p->cred.cap_bnd >> cap) & 1);
  if (drop) {
    if (cred_capable(&p->cred, LINUX_CAP_SETPCAP)) {
      p->cred.cap_bnd &= ~(1ull << cap);
      r = 0;
    } else
      r = -LINUX_EPERM;
  }
  rt_unlock(&p->lock);
  return r;
}

int moat_cap_ambient(int op, int cap) {
  struct proc *p = proc_current();
  if (op != 4 && (cap < 0 || cap > LINUX_CAP_LAST_CAP))
    return -LINUX_EINVAL;
  uint64_t bit = op == 4 ? 0 : 1ull << cap;
  rt_lock(&p->lock);
  struct task_cred *c = &p->cred;
  int r = 0;
  switch (op) {
  case 1: /* IS_SET */
    r = (c->cap_amb & bit) != 0;
    break;
  case 2: /* RAISE: permitted and inheritable */
    if (!(c->cap_prm & bit) || !(c->cap_inh & bit))
      r = -LINUX_EPERM;
    else
      c->cap_amb |= bit;
    break;
  case 3: /* LOWER */
    c->cap_amb &= ~bit;
    break;
  case 4: /* CLEAR_ALL */
    c->cap_amb = 0;
    break;
  default:
    r = -LINUX_EINVAL;
  }
  rt_unlock(&p->lock);
  return r;
}

int moat_keepcaps(int set) {
  struct proc *p = proc_current();
  rt_lock(&p->lock);
  int r = p->cred.keep_caps;
  if (set >= 0) {
    p->cred.keep_caps = set;
    r = 0;
  }
  rt_unlock(&p->lock);
  return r;
}

int moat_getgroups(int size, uint32_t *list) {
  struct proc *p = proc_current();
  if (size < 0)
    return -LINUX_EINVAL;
  rt_lock(&p->lock);
  int n = (int)p->cred.ngroups;
  int ret = n;
  if (size != 0) {
    if (size < n)
      ret = -LINUX_EINVAL;
    else
      for (int i = 0; i < n; i++)
        list[i] = p->cred.groups[i];
  }
  rt_unlock(&p->lock);
  return ret;
}

int moat_setgroups(int size, const uint32_t *list) {
  if (size < 0 || size > 65536) /* Linux's NGROUPS_MAX */
    return -LINUX_EINVAL;
  if (size > TASK_NGROUPS_MAX)
    return -LINUX_ENOMEM; /* more than a process of the sandbox may hold */
  struct proc *p = proc_current();
  rt_lock(&p->lock);
  int ret = -LINUX_EPERM;
  if (cred_capable(&p->cred, LINUX_CAP_SETGID)) {
    /* Linux keeps the list sorted (groups_sort): getgroups shows it so */
    uint32_t *g = p->cred.groups;
    for (int i = 0; i < size; i++) {
      uint32_t v = list[i];
      int j = i;
      for (; j > 0 && g[j - 1] > v; j--)
        g[j] = g[j - 1];
      g[j] = v;
    }
    p->cred.ngroups = (uint32_t)size;
    ret = 0;
  }
  rt_unlock(&p->lock);
  return ret;
}

int moat_uname(struct linux_utsname *out) {
  struct task_table *tt = g_task_table;
  memset(out, 0, sizeof(*out));
  rt_strlcpy(out->sysname, "Linux", sizeof(out->sysname));
  rt_strlcpy(out->release, "6.1.0-moat", sizeof(out->release));
  rt_strlcpy(out->version, "#1 SMP moat", sizeof(out->version));
  rt_strlcpy(out->machine, "x86_64", sizeof(out->machine));
  rt_lock(&tt->lock);
  rt_strlcpy(out->nodename, tt->hostname, sizeof(out->nodename));
  rt_strlcpy(out->domainname, tt->domainname, sizeof(out->domainname));
  rt_unlock(&tt->lock);
  return 0;
}

int moat_sethostname(const char *name, size_t len) {
  struct task_table *tt = g_task_table;
  if (len > TASK_HOSTNAME_MAX)
    return -LINUX_EINVAL;
  if (!moat_capable(LINUX_CAP_SYS_ADMIN))
    return -LINUX_EPERM;
  rt_lock(&tt->lock);
  memcpy(tt->hostname, name, len);
  tt->hostname[len] = 0;
  rt_unlock(&tt->lock);
  return 0;
}

int moat_setdomainname(const char *name, size_t len) {
  struct task_table *tt = g_task_table;
  if (len >= sizeof(tt->domainname))
    return -LINUX_EINVAL;
  if (!moat_capable(LINUX_CAP_SYS_ADMIN))
    return -LINUX_EPERM;
  rt_lock(&tt->lock);
  memcpy(tt->domainname, name, len);
  tt->domainname[len] = 0;
  rt_unlock(&tt->lock);
  return 0;
}

static struct proc *find_proc_locked(int pid);

/* Linux's check_prlimit_permission: another process's limits are the
 * caller's to read or change only if all its user ids are the caller's
 * real uid and all its group ids the caller's real gid, or with
 * CAP_SYS_RESOURCE (euid 0 inside). */
static bool prlimit_allowed(const struct task_cred *c,
                            const struct task_cred *t) {
  return cred_capable(c, LINUX_CAP_SYS_RESOURCE) ||
         (c->ruid == t->ruid && c->ruid == t->euid && c->ruid == t->suid &&
          c->rgid == t->rgid && c->rgid == t->egid && c->rgid == t->sgid);
}

/* Caller holds p->lock. Linux's do_prlimit rules: soft above hard is
 * EINVAL; RLIMIT_NOFILE above fs.nr_open, and raising a hard limit
 * without CAP_SYS_RESOURCE (euid 0 inside), are EPERM; and moat's: no
 * hard limit above the sandbox's ceiling (struct moat_config's
 * rlimits), whoever asks. */
static int set_rlimit_locked(struct proc *p, int resource,
                             const struct linux_rlimit *nl, bool capable) {
  struct linux_rlimit *rl = &p->rlimit[resource];
  if (nl->rlim_max > rl->rlim_max &&
      (!capable || nl->rlim_max > g_task_table->rlimit_ceiling[resource]))
    return -LINUX_EPERM;
  if (resource == LINUX_RLIMIT_NOFILE && p->fdt) {
    int err = fdt_set_max(p->fdt, (uint32_t)MIN(nl->rlim_cur, FDT_HARD_MAX));
    if (err)
      return err;
  }
  *rl = *nl;
  if (resource == LINUX_RLIMIT_CPU)
    time_cpu_limit_changed(p);
  return 0;
}

int moat_prlimit(int pid, int resource, const struct linux_rlimit *new_limit,
                 struct linux_rlimit *old_limit) {
  struct task_table *tt = g_task_table;
  struct proc *self = proc_current();
  struct linux_rlimit nl;
  if (pid < 0)
    return -LINUX_ESRCH;
  /* Another process stays in the table while the table lock is held. */
  bool other = pid != 0 && pid != self->pid;
  if (other)
    rt_lock(&tt->lock);
  struct proc *p = other ? find_proc_locked(pid) : self;
  int err = 0;
  if (!p || p->state != PROC_RUNNING) {
    err = -LINUX_ESRCH;
    goto out;
  }
  if (other && !prlimit_allowed(&self->cred, &p->cred)) {
    err = -LINUX_EPERM;
    goto out;
  }
  if (resource < 0 || resource >= LINUX_RLIMIT_NLIMITS) {
    err = -LINUX_EINVAL;
    goto out;
  }
  if (new_limit) {
    nl = *new_limit;
    if (nl.rlim_cur > nl.rlim_max)
      err = -LINUX_EINVAL;
    else if (resource == LINUX_RLIMIT_NOFILE && nl.rlim_max > NR_OPEN_MAX)
      err = -LINUX_EPERM;
    if (err)
      goto out;
  }
  bool capable = cred_capable(&self->cred, LINUX_CAP_SYS_RESOURCE);
  rt_lock(&p->lock);
  if (old_limit)
    *old_limit = p->rlimit[resource];
  if (new_limit)
    err = set_rlimit_locked(p, resource, &nl, capable);
  /* Another process arms its CPU-time timer when it looks at its
   * signals: make it look. */
  if (!err && other && new_limit && resource == LINUX_RLIMIT_CPU)
    for (struct task *t = p->threads; t; t = t->next_in_proc)
      if (t->host)
        plat_ctx_kick(t->host);
  rt_unlock(&p->lock);
out:
  if (other)
    rt_unlock(&tt->lock);
  return err;
}

int moat_sysinfo(struct linux_sysinfo *out) {
  uint64_t committed, limit;
  mm_usage(&committed, &limit);
  memset(out, 0, sizeof(*out));
  int64_t up = rt_now_ns() - g_task_table->boot_ns;
  out->uptime = up > 0 ? up / 1000000000 : 0;
  out->totalram = limit;
  out->freeram = committed < limit ? limit - committed : 0;
  out->procs = (uint16_t)MIN(g_task_table->ntasks, 0xffffu);
  out->mem_unit = 1;
  return 0;
}

/* ---- the life of processes and threads ----
 *
 * Locking order: the task table lock, then a process's lock. Every link
 * between processes (parent, children, groups) is read and changed under
 * the table lock; a process's threads list under its own lock. */

#define WNOHANG 1
#define WUNTRACED 2
#define WEXITED 4
#define WCONTINUED 8
#define WNOWAIT 0x01000000
#define CLD_EXITED 1
#define CLD_KILLED 2
#define CLD_STOPPED 5
#define CLD_CONTINUED 6

void task_wake(struct task *t) {
  __atomic_add_fetch(&t->wake_word, 1, __ATOMIC_SEQ_CST);
  plat_wake(&t->wake_word, 1);
}

void task_wake_proc(struct proc *p) {
  rt_lock(&p->lock);
  for (struct task *t = p->threads; t; t = t->next_in_proc)
    task_wake(t);
  rt_unlock(&p->lock);
}

static struct proc *find_proc_locked(int pid) {
  struct task_table *tt = g_task_table;
  rt_assert_held(&tt->lock);
  for (uint32_t i = 0; i < tt->max_tasks; i++)
    if (tt->procs[i] && tt->procs[i]->pid == pid)
      return tt->procs[i];
  return NULL;
}

static void remove_slot(void **slots, uint32_t n, void *what) {
  for (uint32_t i = 0; i < n; i++)
    if (slots[i] == what)
      slots[i] = NULL;
}

/* RLIMIT_NPROC, as Linux's copy_process: a new process or thread fails
 * with EAGAIN when the caller's real uid already has that many tasks
 * (threads, and zombies until they are reaped) in the sandbox, unless
 * the real uid is 0 or the caller has CAP_SYS_RESOURCE or CAP_SYS_ADMIN
 * (euid 0). Caller holds the table lock. */
static int nproc_check_locked(struct proc *caller) {
  struct task_table *tt = g_task_table;
  uint32_t uid = caller->cred.ruid;
  uint64_t limit = caller->rlimit[LINUX_RLIMIT_NPROC].rlim_cur;
  if (uid == 0 || cred_capable(&caller->cred, LINUX_CAP_SYS_RESOURCE) ||
      cred_capable(&caller->cred, LINUX_CAP_SYS_ADMIN) ||
      limit >= tt->max_tasks)
    return 0;
  uint64_t n = 0;
  for (uint32_t i = 0; i < tt->max_tasks; i++) {
    struct proc *q = tt->procs[i];
    if (q && q->state != PROC_FREE && q->cred.ruid == uid)
      n += q->state == PROC_ZOMBIE
               ? 1
               : (uint64_t)__atomic_load_n(&q->nthreads, __ATOMIC_RELAXED);
  }
  return n >= limit ? -LINUX_EAGAIN : 0;
}

/* A new task for process p (caller holds the table lock): a tid, a slot,
 * the task limit. */
static int new_task_locked(struct proc *p, struct task **out) {
  struct task_table *tt = g_task_table;
  rt_assert_held(&tt->lock);
  if (tt->ntasks >= tt->max_tasks)
    return -LINUX_EAGAIN;
  int ts = table_slot((void **)tt->tasks, tt->max_tasks);
  if (ts < 0)
    return -LINUX_EAGAIN;
  struct task *t = kzalloc(sizeof(*t));
  if (!t)
    return -LINUX_ENOMEM;
  int tid = alloc_pid_locked(tt);
  if (tid < 0) {
    kfree(t);
    return tid;
  }
  t->tid = tid;
  t->proc = p;
  t->fw_bucket = -1;
  tt->tasks[ts] = t;
  tt->ntasks++;
  *out = t;
  return 0;
}

static void free_task_locked(struct task *t) {
  struct task_table *tt = g_task_table;
  rt_assert_held(&tt->lock);
  remove_slot((void **)tt->tasks, tt->max_tasks, t);
  tt->ntasks--;
  kfree(t);
}

/* ---- host processes (docs/processes.md, "Host-level deaths") ---- */

/* A child's end cuts a sleep short (plat_space_reap's contract), but one that
 * comes just before the sleep begins is only noted: a parent that waits
 * for its children looks this often anyway. */
#define REAP_CHECK_NS 500000000ll

/* A free host record (caller holds the table lock), or NULL. */
static struct task_host *host_alloc_locked(void) {
  struct task_table *tt = g_task_table;
  rt_assert_held(&tt->lock);
  for (uint32_t i = 0; i < tt->nhosts; i++) {
    struct task_host *h = &tt->hosts[i];
    if (!h->used) {
      h->used = 1;
      h->locks = 0;
      h->mem_charge = 0;
      __atomic_store_n(&h->id, 0, __ATOMIC_SEQ_CST);
      return h;
    }
  }
  return NULL;
}

static void host_free_locked(struct task_host *h) {
  __atomic_store_n(&h->id, 0, __ATOMIC_SEQ_CST);
  h->locks = 0;
  h->used = 0;
}

static struct task_host *host_find(int id) {
  struct task_table *tt = g_task_table;
  for (uint32_t i = 0; i < tt->nhosts; i++)
    if (__atomic_load_n(&tt->hosts[i].id, __ATOMIC_SEQ_CST) == id)
      return &tt->hosts[i];
  return NULL;
}

/* Ends plat_space_reap reported for an id not recorded yet: the child died
 * before the thread that forked it got back from plat_space_clone, and another
 * thread collected it. Kept only while a fork of this process is in
 * flight (an id kept longer could come back for another child), private
 * to this host process (the only one that can collect its children),
 * guarded by the table lock. */
#define EARLY_ENDS 16
static struct { int id, how; } g_early_ends[EARLY_ENDS];
static int g_forks_in_flight
    MOAT_PROCESS_HOT; /* atomic; plat_space_clone calls not yet recorded */

static void host_ended(int id, int how);

static void host_fork_begin(void) {
  __atomic_add_fetch(&g_forks_in_flight, 1, __ATOMIC_SEQ_CST);
}

/* The fork is over: recorded, failed, or this is its child (which starts
 * with no children and no forks of its own). */
static void host_fork_done_locked(bool child) {
  int left =
      child ? 0 : __atomic_sub_fetch(&g_forks_in_flight, 1, __ATOMIC_SEQ_CST);
  if (child)
    __atomic_store_n(&g_forks_in_flight, 0, __ATOMIC_SEQ_CST);
  if (left <= 0)
    memset(g_early_ends, 0, sizeof(g_early_ends));
}

/* Record the id plat_space_clone returned for the host process of h. */
static void host_set_id(struct task_host *h, int id) {
  struct task_table *tt = g_task_table;
  int how = -1;
  rt_lock(&tt->lock);
  __atomic_store_n(&h->id, id, __ATOMIC_SEQ_CST);
  for (int i = 0; i < EARLY_ENDS; i++) {
    if (g_early_ends[i].id == id) {
      how = g_early_ends[i].how;
      g_early_ends[i].id = 0;
    }
  }
  host_fork_done_locked(false);
  rt_unlock(&tt->lock);
  if (how >= 0)
    host_ended(id, how);
}

/* A lock of the arena died with its holder: nothing that takes it can go
 * on, and nothing can be trusted that it guarded. Every guest process must
 * end. This one says why (once for the sandbox), marks the arena, kicks
 * pid 1 (whose end is moat's status and, in a PID namespace, makes the
 * kernel kill every other process) and, if the table lock can still be
 * had, every thread; each leaves with 125 at its next look at its signals
 * or, waiting for a lock, within LOCK_DOOM_CHECK_NS (core/rt_lock.c). */
static _Noreturn void task_doom(struct task_host *h, int id, int how) {
  struct task_table *tt = g_task_table;
  uint32_t none = 0;
  if (__atomic_compare_exchange_n(&tt->doomed, &none, 1, false,
                                  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    /* Its guest pid, for the message: read without the table lock (the
     * dead one may hold it); the arena stays mapped, so this is safe. */
    int pid = 0;
    for (uint32_t i = 0; i < tt->max_tasks && !pid; i++) {
      struct proc *p = __atomic_load_n(&tt->procs[i], __ATOMIC_ACQUIRE);
      if (p && p->host == h && p->state == PROC_RUNNING)
        pid = p->pid;
    }
    if (how & 0x7f)
      moat_log("moat: guest process %d (host pid %d) was killed by host "
               "signal %d while holding a lock of the sandbox; ending the "
               "sandbox\n",
               pid, id, how & 0x7f);
    else
      moat_log("moat: guest process %d (host pid %d) ended with status %d "
               "outside moat's exit path while holding a lock of the "
               "sandbox; ending the sandbox\n",
               pid, id, (how >> 8) & 0xff);
    plat_ctx_kick(tt->init_host);
    for (int i = 0; i < 100; i++) {
      if (rt_trylock(&tt->lock)) {
        for (uint32_t k = 0; k < tt->max_tasks; k++) {
          struct task *t = tt->tasks[k];
          if (!t || (t->proc->host && t->proc->host->id == id))
            continue; /* the dead one's ids may be reused */
          task_wake(t);
          if (t->host && t != task_current())
            plat_ctx_kick(t->host);
        }
        rt_unlock(&tt->lock);
        break;
      }
      plat_wait(&tt->doomed, 1, NULL, 0, 1000000);
    }
  }
  plat_space_exit(125);
}

/* A vfork child's thread in host record h takes no more locks: the host
 * process may end now without taking one down with it. */
static void vfork_thread_gone(struct task_host *h) {
  __atomic_sub_fetch(&h->vfork_threads, 1, __ATOMIC_SEQ_CST);
  plat_wake(&h->vfork_threads, 1 << 30);
}

/* Before a host process ends: its vfork children's threads finish what
 * they are doing in the library OS (a parent released by its child's
 * exit can be back and dying before that thread has left). Bounded: a
 * vfork child that runs on and never execs cannot keep its parent's end
 * waiting. */
static void wait_vfork_threads(struct task_host *h) {
  for (int i = 0; h && i < 1000; i++) {
    uint32_t n = __atomic_load_n(&h->vfork_threads, __ATOMIC_SEQ_CST);
    if (!n)
      return;
    plat_wait(&h->vfork_threads, n, NULL, 0, 10000000);
  }
}

static int fork_common(unsigned flags, const struct moat_regs *thread_regs) {
  struct task_table *tt = g_task_table;
  struct task *self = task_current();
  struct proc *parent = self->proc;
  struct proc *p = kzalloc(sizeof(*p));
  if (!p)
    return -LINUX_ENOMEM;
  struct task *t = NULL;
  int err;

  rt_lock(&tt->lock);
  int ps = table_slot((void **)tt->procs, tt->max_tasks);
  /* A vfork child runs in this host process until it execs. */
  struct task_host *h = thread_regs ? parent->host : host_alloc_locked();
  err = ps < 0 || !h ? -LINUX_EAGAIN : nproc_check_locked(parent);
  if (!err)
    err = new_task_locked(p, &t);
  /* A fatal signal already sent to the parent (kill of its group holds
   * the table lock as it goes): the child would escape it; Linux fails
   * the fork then too, and the signal ends the caller on its way out.
   * Otherwise the child is in the table before the lock drops, and a
   * later kill finds it. */
  uint64_t fatal = LINUX_SIGBIT(LINUX_SIGKILL);
  if (!err &&
      (__atomic_load_n(&parent->exiting, __ATOMIC_ACQUIRE) ||
       ((__atomic_load_n(&parent->shared_pending.set, __ATOMIC_ACQUIRE) |
         __atomic_load_n(&self->pending.set, __ATOMIC_ACQUIRE)) &
        fatal))) {
    free_task_locked(t);
    err = -LINUX_ERESTARTNOINTR;
  }
  if (err) {
    if (h && !thread_regs)
      host_free_locked(h);
    rt_unlock(&tt->lock);
    kfree(p);
    return err;
  }
  p->host = h;
  p->pid = t->tid;
  p->ppid = parent->pid;
  p->parent = parent;
  p->pgid = parent->pgid;
  p->sid = parent->sid;
  p->ctty = parent->ctty;
  p->no_host_tty = parent->no_host_tty;
  p->stdio_set = parent->stdio_set;
  p->state = PROC_RUNNING;
  p->mm_id = tt->next_mm_id++;
  tt->procs[ps] = p;
  rt_unlock(&tt->lock);

  rt_lock(&parent->lock);
  p->cred = parent->cred;
  memcpy(p->rlimit, parent->rlimit, sizeof(p->rlimit));
  memcpy(p->sigaction, parent->sigaction, sizeof(p->sigaction));
  memcpy(p->exe, parent->exe, sizeof(p->exe));
  memcpy(p->cmdline, parent->cmdline, sizeof(p->cmdline));
  p->cmdline_len = parent->cmdline_len;
  memcpy(p->environ, parent->environ, sizeof(p->environ));
  p->environ_len = parent->environ_len;
  p->no_new_privs = parent->no_new_privs;
  p->not_dumpable = parent->not_dumpable;
  p->personality = parent->personality;
  memcpy(t->comm, self->comm, sizeof(t->comm));
  t->sigblocked = self->sigblocked;
  t->altstack = self->altstack;
  t->robust_head = 0;
  sched_inherit(t, self);
  rt_unlock(&parent->lock);
  p->start_ns = rt_now_ns();
  p->threads = t;
  p->nthreads = 1;
  p->fs = parent->fs ? fs_context_clone(parent->fs) : NULL;
  p->fdt = parent->fdt ? fdt_clone(parent->fdt) : NULL;
  if ((parent->fs && !p->fs) || (parent->fdt && !p->fdt)) {
    err = -LINUX_ENOMEM;
    goto undo;
  }

  /* The child may end and be reaped before plat_space_clone returns here: keep
   * what the parent needs. */
  int child_tid = t->tid;
  if (flags & MOAT_FORK_VFORK) {
    self->vfork_wait = 0;
    p->vfork_parent = self;
  }
  if (thread_regs) {
    /* vfork: the child is a thread of this host process on the same
     * memory, as Linux's vfork child shares the parent's; it moves to a
     * host process of its own when it execs (task_vfork_detach). */
    p->vfork_thread = true;
    p->mm_id = parent->mm_id;
    p->mm = parent->mm;
    __atomic_add_fetch(&h->vfork_threads, 1, __ATOMIC_SEQ_CST);
    err = plat_ctx_create(thread_regs, t);
    if (err) {
      vfork_thread_gone(h);
      goto undo;
    }
    while (!__atomic_load_n(&self->vfork_wait, __ATOMIC_ACQUIRE))
      plat_wait(&self->vfork_wait, 0, NULL, 0, -1);
    return child_tid;
  }
  void *vmas = NULL;
  err = mm_fork_begin(parent->mm, h, false, &vmas);
  if (err)
    goto undo;        /* ENOMEM: the child's memory does not fit (--memory) */
  if (parent->host) { /* the child's address space is a copy */
    h->vm_total = parent->host->vm_total;
    h->vm_data = parent->host->vm_data;
    h->vm_rss = parent->host->vm_rss;
    h->vm_peak = parent->host->vm_total;
    h->vm_hwm = parent->host->vm_rss;
  }
  host_fork_begin();
  int r = plat_space_clone();
  if (r == 0) {
    /* The child: a new host process (this thread only), whose locks
     * count in its own record from its first one on. */
    rt_lock_account(&h->locks, &tt->doomed);
    host_fork_done_locked(true); /* nothing else runs here yet */
    mm_fork_child(vmas, p);
    plat_ctx_set(t);
    t->host = plat_ctx_self();
    time_cpu_limit_start(p); /* host timers are not inherited */
    return 0;
  }
  mm_fork_end(parent->mm, vmas, r < 0, h);
  if (r < 0) {
    rt_lock(&tt->lock);
    host_fork_done_locked(false);
    rt_unlock(&tt->lock);
    err = r;
    goto undo;
  }
  host_set_id(h, r);
  if (flags & MOAT_FORK_VFORK) {
    /* The parent sleeps until the child has exec'd or gone (its memory
     * is a copy, so this is only about order, as programs expect); a
     * child killed by the host is collected here. */
    while (!__atomic_load_n(&self->vfork_wait, __ATOMIC_ACQUIRE)) {
      task_reap_poll();
      plat_wait(&self->vfork_wait, 0, NULL, 0, REAP_CHECK_NS);
    }
  }
  return child_tid;

undo:
  if (p->fs)
    fs_context_put(p->fs);
  if (p->fdt)
    fdt_put(p->fdt);
  rt_lock(&tt->lock);
  remove_slot((void **)tt->procs, tt->max_tasks, p);
  free_task_locked(t);
  if (!thread_regs)
    host_free_locked(h);
  rt_unlock(&tt->lock);
  kfree(p);
  return err;
}

int moat_fork(unsigned flags) {
  return fork_common(flags, NULL);
}

int moat_vfork_thread(const struct moat_regs *regs) {
  return fork_common(MOAT_FORK_VFORK, regs);
}

void task_vfork_detach(void) {
  struct task_table *tt = g_task_table;
  struct task *t = task_current();
  struct proc *p = t->proc;
  if (!p->vfork_thread)
    return;
  /* The child moves to its own host record before the fork, so that the
   * end of the parent's host process does not end it once it left. */
  struct task_host *old = p->host;
  rt_lock(&tt->lock);
  struct task_host *h = host_alloc_locked();
  if (h)
    p->host = h;
  rt_unlock(&tt->lock);
  if (!h)
    moat_exit_signal(LINUX_SIGKILL); /* exec would clobber the parent */
  /* The address space it runs on (its parent's) is copied for it. */
  struct mm *mm = p->mm;
  void *vmas = NULL;
  if (mm_fork_begin(mm, h, true, &vmas) < 0) /* charges nothing: cannot fail */
    moat_exit_signal(LINUX_SIGKILL);
  host_fork_begin();
  int r = plat_space_clone();
  if (r == 0) {
    /* The new host process: from here on this child has its own copy of
     * the memory, which exec replaces. */
    rt_lock_account(&h->locks, &tt->doomed);
    host_fork_done_locked(true);
    mm_fork_child(vmas, p);
    t->host = plat_ctx_self();
    rt_lock(&tt->lock);
    p->mm_id = tt->next_mm_id++;
    p->vfork_thread = false;
    rt_unlock(&tt->lock);
    time_cpu_limit_start(p);
    task_vfork_release(p);
    return;
  }
  mm_fork_end(mm, vmas, r < 0, h);
  if (r < 0) {
    rt_lock(&tt->lock);
    p->host = old;
    host_free_locked(h);
    host_fork_done_locked(false);
    rt_unlock(&tt->lock);
    moat_exit_signal(LINUX_SIGKILL); /* exec would clobber the parent */
  }
  host_set_id(h, r);
  /* The thread in the parent's host process has moved on. */
  vfork_thread_gone(old);
  plat_ctx_exit(NULL);
}

int moat_clone_thread(const struct moat_regs *regs,
                      const struct moat_thread_start *start) {
  struct task_table *tt = g_task_table;
  struct task *self = task_current();
  struct proc *p = self->proc;
  struct task *t = NULL;
  rt_lock(&tt->lock);
  int err = nproc_check_locked(p);
  if (!err)
    err = new_task_locked(p, &t);
  rt_unlock(&tt->lock);
  if (err)
    return err;
  int tid = t->tid;
  rt_lock(&p->lock);
  t->sigblocked = self->sigblocked;
  memcpy(t->comm, self->comm, sizeof(t->comm));
  t->altstack.ss_flags = LINUX_SS_DISABLE;
  sched_inherit(t, self);
  t->clear_child_tid = start->clear_at;
  t->next_in_proc = p->threads;
  p->threads = t;
  p->sem_undo_list = true; /* LINUX_CLONE_SYSVSEM makes one */
  p->nthreads++;
  rt_unlock(&p->lock);
  for (int i = 0; i < 2; i++) /* as put_user: a fault is ignored */
    if (start->tid_at[i] && moat_user_ok(start->tid_at[i], 4, LINUX_PROT_WRITE))
      rt_ustore32((uint32_t *)(uintptr_t)start->tid_at[i], (uint32_t)tid);
  err = plat_ctx_create(regs, t);
  if (err) {
    rt_lock(&tt->lock);
    rt_lock(&p->lock);
    struct task **pp = &p->threads;
    while (*pp && *pp != t)
      pp = &(*pp)->next_in_proc;
    if (*pp)
      *pp = t->next_in_proc;
    p->nthreads--;
    rt_unlock(&p->lock);
    free_task_locked(t);
    rt_unlock(&tt->lock);
    return err;
  }
  return tid;
}

void task_vfork_release(struct proc *p) {
  struct task *parent =
      __atomic_exchange_n(&p->vfork_parent, NULL, __ATOMIC_SEQ_CST);
  if (parent) {
    __atomic_store_n(&parent->vfork_wait, 1, __ATOMIC_SEQ_CST);
    plat_wake(&parent->vfork_wait, 1);
  }
}

/* The new thread records its host handle itself (first kick may come
 * before that: it then only gets the wake-up). */
static void note_host_handle(struct task *t) {
  if (!t->host)
    t->host = plat_ctx_self();
}

/* Unlink the calling thread from its process and end its host thread
 * (not the last one: the process goes on). */
static _Noreturn void thread_leave(struct task *t) {
  struct task_table *tt = g_task_table;
  struct proc *p = t->proc;
  futex_robust_exit(t);
  uint64_t ctid = t->clear_child_tid;
  if (ctid && moat_user_ok(ctid, 4, LINUX_PROT_WRITE) &&
      rt_ustore32((uint32_t *)(uintptr_t)ctid, 0) == 0) {
    futex_wake_addr(ctid, true, 1, ~0u);
  }
  rt_lock(&tt->lock);
  rt_lock(&p->lock);
  struct task **pp = &p->threads;
  while (*pp && *pp != t)
    pp = &(*pp)->next_in_proc;
  if (*pp)
    *pp = t->next_in_proc;
  p->nthreads--;
  struct task *exiter = p->exiting ? p->exiter : NULL;
  rt_unlock(&p->lock);
  free_task_locked(t);
  rt_unlock(&tt->lock);
  if (exiter)
    task_wake(exiter);
  plat_ctx_exit(NULL);
}

/* Every other thread of the process must leave before it can end: they
 * hold no lock at the point where they notice (return to the guest, or a
 * sleep cut short), so the arena stays consistent. */
static void stop_other_threads(struct proc *p, struct task *self, int code) {
  rt_lock(&p->lock);
  if (p->exiting && p->exiter != self) {
    rt_unlock(&p->lock);
    task_exit_now(); /* someone else is ending the process */
  }
  p->exiting = true;
  p->exiter = self;
  p->exit_code = code;
  for (struct task *o = p->threads; o; o = o->next_in_proc) {
    if (o == self)
      continue;
    task_wake(o);
    if (o->host)
      plat_ctx_kick(o->host);
  }
  rt_unlock(&p->lock);
  /* Bounded: a thread that never comes back (stuck in the host) must not
   * keep the process from ending; the host exit ends it anyway. But a
   * kick cuts every host wait short, so one that is slow to come back is
   * mostly busy in the library OS (a copy of gigabytes, say): ending the
   * host process under it would free its task while it runs and take
   * down any arena lock it holds, which ends the whole sandbox. So: up to
   * a minute, kicking again every 100 ms. */
  for (int i = 0; i < 6000; i++) {
    uint32_t seen = __atomic_load_n(&self->wake_word, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&p->nthreads, __ATOMIC_ACQUIRE) <= 1)
      break;
    if (i % 10 == 9) {
      rt_lock(&p->lock);
      for (struct task *o = p->threads; o; o = o->next_in_proc)
        if (o != self && o->host)
          plat_ctx_kick(o->host);
      rt_unlock(&p->lock);
    }
    plat_wait(&self->wake_word, seen, NULL, 0, 10000000);
  }
}

static void send_chld(struct proc *parent, struct proc *child, int code,
                      int value) {
  struct linux_siginfo info;
  memset(&info, 0, sizeof(info));
  info.si_signo = LINUX_SIGCHLD;
  info.si_code = code;
  info.u.kill.pid = child->pid;
  info.u.kill.uid = child->cred.ruid;
  info.u.kill.status = value;
  signal_send(parent, NULL, &info);
}

/* What the end of a process leaves to do once the table lock is down. */
struct proc_end {
  struct proc *parent, *init;
  struct proc *heir; /* a subreaper that took children, or NULL */
  bool init_has_zombie;
  bool reap; /* nobody will wait for it: free it */
};

/* The end of process p with wait status code, whoever ends it (its own
 * last thread, or the host parent collecting a host-level death): its
 * children move to pid 1, its threads' slots are freed (all but self,
 * which the caller still runs on, then self), it becomes a zombie and its
 * parent hears of it. Caller holds the table lock; its files are gone. */
static void proc_end_locked(struct proc *p, int code, struct task *self,
                            struct proc_end *e) {
  struct task_table *tt = g_task_table;
  struct proc *init = find_proc_locked(1);
  e->init = init;
  e->init_has_zombie = false;
  e->heir = NULL;
  /* Orphans go to the nearest living ancestor that is a child subreaper
   * (PR_SET_CHILD_SUBREAPER), else to pid 1, as Linux's find_new_reaper. */
  struct proc *heir = NULL;
  int depth = 0;
  for (struct proc *a = p->ppid ? find_proc_locked(p->ppid) : NULL;
       a && depth < 4096;
       a = a->ppid ? find_proc_locked(a->ppid) : NULL, depth++) {
    if (a != p && a->child_subreaper && a->state == PROC_RUNNING &&
        a->pid != 1) {
      heir = a;
      break;
    }
  }
  if (p->pid == 1) {
    /* The sandbox's first process ends the sandbox: every other guest
     * process gets SIGKILL and leaves at its next safe point. (In a PID
     * namespace the host kernel kills them anyway; without one this is
     * what ends them.) */
    struct linux_siginfo kill;
    memset(&kill, 0, sizeof(kill));
    kill.si_signo = LINUX_SIGKILL;
    kill.si_code = LINUX_SI_KERNEL;
    for (uint32_t i = 0; i < tt->max_tasks; i++) {
      struct proc *o = tt->procs[i];
      if (o && o != p && o->state == PROC_RUNNING)
        signal_send(o, NULL, &kill);
    }
  }
  for (uint32_t i = 0; i < tt->max_tasks; i++) {
    struct proc *c = tt->procs[i];
    if (!c || c == p)
      continue;
    /* A vfork child must not wake a thread of p once it is freed. */
    struct task *vp = __atomic_load_n(&c->vfork_parent, __ATOMIC_SEQ_CST);
    if (vp && vp->proc == p)
      __atomic_compare_exchange_n(&c->vfork_parent, &vp, NULL, false,
                                  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    if (c->ppid != p->pid)
      continue;
    if (c->pdeathsig && c->state == PROC_RUNNING) {
      struct linux_siginfo info;
      memset(&info, 0, sizeof(info));
      info.si_signo = c->pdeathsig;
      info.si_code = LINUX_SI_USER;
      signal_send(c, NULL, &info);
    }
    if (heir) {
      c->ppid = heir->pid;
      c->parent = heir;
      e->heir = heir;
      if (c->state == PROC_ZOMBIE) { /* the new parent hears of it */
        int code = c->exit_code;
        send_chld(heir, c, (code & 0x7f) ? CLD_KILLED : CLD_EXITED,
                  (code & 0x7f) ? (code & 0x7f) : ((code >> 8) & 0xff));
      }
      continue;
    }
    c->ppid = init && init != p ? 1 : 0;
    c->parent = init != p ? init : NULL;
    e->init_has_zombie |= c->state == PROC_ZOMBIE;
  }
  rt_lock(&p->lock);
  p->state = PROC_ZOMBIE;
  ptimer_free_locked(p);
  p->exit_code = code;
  p->exit_status = code;
  for (struct task *t = p->threads, *next; t; t = next) {
    next = t->next_in_proc;
    if (t != self)
      free_task_locked(t);
  }
  p->threads = NULL;
  p->nthreads = 0;
  rt_unlock(&p->lock);
  struct proc *parent = p->ppid ? find_proc_locked(p->ppid) : NULL;
  bool reap = !parent;
  if (parent) {
    struct linux_sigaction *a = &parent->sigaction[LINUX_SIGCHLD - 1];
    reap = a->handler == LINUX_SIG_IGN || (a->flags & 2 /* SA_NOCLDWAIT */);
    int cld = (code & 0x7f) ? CLD_KILLED : CLD_EXITED;
    int value = (code & 0x7f) ? (code & 0x7f) : ((code >> 8) & 0xff);
    send_chld(parent, p, cld, value);
  }
  if (p->spawn_slot && p->spawn_slot <= TASK_SPAWN_MAX) {
    /* Started from outside: its end goes to the exec server. */
    struct task_spawn *s = &tt->spawns[p->spawn_slot - 1];
    if (s->used && s->pid == p->pid) {
      s->code = code;
      s->ended = 1;
      __atomic_add_fetch(&tt->spawn_word, 1, __ATOMIC_SEQ_CST);
      plat_wake(&tt->spawn_word, 0x7fffffff);
    }
  }
  if (reap)
    remove_slot((void **)tt->procs, tt->max_tasks, p);
  if (self)
    free_task_locked(self);
  e->parent = parent;
  e->reap = reap;
}

static void proc_end_finish(struct proc *p, const struct proc_end *e) {
  poll_notify_obj(p); /* its pidfds are readable now (core/pidfd.c) */
  if (e->parent)
    task_wake_proc(e->parent);
  if (e->init_has_zombie && e->init && e->init != p)
    task_wake_proc(e->init);
  if (e->heir)
    task_wake_proc(e->heir);
  if (e->reap)
    kfree(p);
}

/* End the current process with wait status code: its threads, files and
 * memory go, its children move to pid 1, its parent hears of it. */
static _Noreturn void proc_exit(int code, int host_status) {
  struct task_table *tt = g_task_table;
  struct task *self = task_current();
  struct proc *p = self->proc;
  stop_other_threads(p, self, code);
  futex_robust_exit(self);
  bool shared_host = p->vfork_thread; /* a vfork child before its exec */
  struct task_host *host = p->host;   /* p may be freed at its end */
  /* A vfork child's host process is its parent's: nothing of its own. */
  if (!shared_host) {
    int64_t sys = 0;
    int64_t cpu = own_cpu_ns(&sys);
    if (cpu > 0) {
      p->cpu_ns = cpu;
      p->cpu_sys_ns = sys;
    }
  }
  if (!shared_host)
    mm_release();
  /* Under the lock: pidfd_getfd of another process looks at p->fdt. */
  rt_lock(&p->lock);
  struct fd_table *fdt = p->fdt;
  struct fs_context *fs = p->fs;
  p->fdt = NULL;
  p->fs = NULL;
  rt_unlock(&p->lock);
  if (fdt)
    fdt_put(fdt);
  pty_proc_exit(p);           /* a session leader's terminal hangs up */
  flock_proc_gone(p->pid);    /* its POSIX record locks */
  sysv_ipc_proc_gone(p->pid); /* its SEM_UNDO adjustments */
  if (fs)
    fs_context_put(fs);
  task_vfork_release(p);

  struct proc_end e;
  rt_lock(&tt->lock);
  proc_end_locked(p, code, self, &e);
  rt_unlock(&tt->lock);
  proc_end_finish(p, &e);
  if (shared_host) {
    vfork_thread_gone(host);
    plat_ctx_exit(NULL); /* the parent's host process goes on */
  }
  wait_vfork_threads(host);
  /* A thread that has left may still be releasing its last lock (the
   * count drops just after the lock word): this host process must not end
   * under it, which would look like a death holding the lock and end the
   * sandbox. This thread holds none now, and one that left takes no more. */
  for (int i = 0; i < 1000 && rt_lock_held(); i++) {
    uint32_t nap = 0;
    plat_wait(&nap, 0, NULL, 0, 1000000);
  }
  plat_space_exit(host_status);
}

/* Process p died with its host process (host_dead set by the caller):
 * end it as its exit would have, as if killed by signal sig. Its memory
 * went with the host process (the arena nodes of its mappings stay); its
 * robust futexes cannot be walked. No lock of the arena was held by it. */
static void proc_end_dead(struct proc *p, int sig) {
  struct task_table *tt = g_task_table;
  rt_lock(&p->lock);
  struct fd_table *fdt = p->fdt;
  struct fs_context *fs = p->fs;
  p->fdt = NULL;
  p->fs = NULL;
  rt_unlock(&p->lock);
  if (fdt)
    fdt_put(fdt); /* pipe peers see EOF or EPIPE */
  pty_proc_exit(p);
  flock_proc_gone(p->pid);
  sysv_ipc_proc_gone(p->pid);
  if (fs)
    fs_context_put(fs);
  task_vfork_release(p);
  for (struct task *t = p->threads; t; t = t->next_in_proc)
    futex_forget(t);
  struct proc_end e;
  rt_lock(&tt->lock);
  proc_end_locked(p, sig & 0x7f, NULL, &e);
  rt_unlock(&tt->lock);
  proc_end_finish(p, &e);
}

/* Host process id ended with wait status how (plat_space_reap). */
static void host_ended(int id, int how) {
  struct task_table *tt = g_task_table;
  /* Its count is final now. Looked at before the table lock, which the
   * dead process may be the one to hold. */
  struct task_host *h = host_find(id);
  if (h && __atomic_load_n(&h->locks, __ATOMIC_SEQ_CST))
    task_doom(h, id, how);
  rt_lock(&tt->lock);
  h = host_find(id);
  if (!h) {
    /* Not recorded yet (see g_early_ends), or not one of ours. */
    for (int i = 0; i < EARLY_ENDS &&
                    __atomic_load_n(&g_forks_in_flight, __ATOMIC_SEQ_CST);
         i++) {
      if (!g_early_ends[i].id) {
        g_early_ends[i].id = id;
        g_early_ends[i].how = how;
        break;
      }
    }
    rt_unlock(&tt->lock);
    return;
  }
  if (h->locks) {
    rt_unlock(&tt->lock);
    task_doom(h, id, how);
  }
  rt_unlock(&tt->lock);
  mm_host_gone(h); /* its memory went with it */
  /* Killed by a host signal: that signal; an exit status without the
   * exit path (an internal error of moat): SIGKILL. */
  int sig = (how & 0x7f) ? (how & 0x7f) : LINUX_SIGKILL;
  for (;;) {
    struct proc *p = NULL;
    rt_lock(&tt->lock);
    for (uint32_t i = 0; i < tt->max_tasks && !p; i++) {
      struct proc *c = tt->procs[i];
      if (c && c->host == h && c->state == PROC_RUNNING && !c->host_dead)
        p = c;
    }
    if (p)
      p->host_dead = true;
    else
      host_free_locked(h); /* every proc of it went its exit path */
    rt_unlock(&tt->lock);
    if (!p)
      return;
    proc_end_dead(p, sig);
  }
}

/* Collect every ended host child of the calling host process. */
static void reap_host_children(void) {
  int how = 0, id;
  while ((id = plat_space_reap(&how)) > 0)
    host_ended(id, how);
}

void task_reap_poll(void) {
  struct task_table *tt = g_task_table;
  if (!tt)
    return;
  if (__atomic_load_n(&tt->doomed, __ATOMIC_ACQUIRE))
    plat_space_exit(125);
  struct task *self = task_current();
  if (!self || self->reaping || rt_lock_held())
    return;
  self->reaping = true;
  reap_host_children();
  self->reaping = false;
}

int moat_exec_single_thread(void) {
  task_vfork_detach();
  struct task *self = task_current();
  struct proc *p = self->proc;
  rt_lock(&p->lock);
  bool alone = p->nthreads <= 1;
  rt_unlock(&p->lock);
  if (alone)
    return 0;
  stop_other_threads(p, self, p->exit_code);
  rt_lock(&p->lock);
  int left = p->nthreads;
  if (left <= 1) {
    p->exiting = false;
    p->exiter = NULL;
    /* As Linux: the thread that execs takes over the process's id. */
    self->tid = p->pid;
  }
  rt_unlock(&p->lock);
  return left <= 1 ? 0 : -LINUX_EAGAIN;
}

_Noreturn void task_exit_now(void) {
  struct task *t = task_current();
  struct proc *p = t->proc;
  if (p->exiting && p->exiter != t)
    thread_leave(t);
  proc_exit(p->exit_code, p->exit_code & 0x7f ? 128 + (p->exit_code & 0x7f)
                                              : (p->exit_code >> 8) & 0xff);
}

_Noreturn void moat_exit_group(int status) {
  proc_exit((status & 0xff) << 8, status & 0xff);
}

_Noreturn void moat_exit_signal(int sig) {
  proc_exit(sig & 0x7f, 128 + (sig & 0x7f));
}

_Noreturn void moat_exit_thread(int status) {
  struct task *t = task_current();
  struct proc *p = t->proc;
  rt_lock(&p->lock);
  bool last = p->nthreads <= 1 && !p->exiting;
  rt_unlock(&p->lock);
  if (last)
    moat_exit_group(status);
  thread_leave(t);
}

/* ---- wait ---- */

static bool wait_match(struct proc *c, int idtype, int id) {
  if (idtype == MOAT_P_PID)
    return c->pid == id;
  if (idtype == MOAT_P_PGID)
    return c->pgid == id;
  return true;
}

int64_t moat_children_cpu_ns(int64_t *sys_ns) {
  struct proc *me = task_current()->proc;
  rt_lock(&me->lock);
  int64_t ns = me->children_cpu_ns;
  if (sys_ns)
    *sys_ns = me->children_sys_ns;
  rt_unlock(&me->lock);
  return ns;
}

int64_t moat_cpu_ns(int who, int64_t *sys_ns) {
  struct task *t = task_current();
  if (who == MOAT_CPU_CHILDREN)
    return moat_children_cpu_ns(sys_ns);
  int64_t sys = 0;
  int64_t total = task_proc_cpu_ns(t->proc, &sys);
  if (who != MOAT_CPU_THREAD)
    return split_of(total, sys, sys_ns);
  /* The host splits only the process's time: a thread's gets its
   * process's proportion. */
  int64_t mine = 0;
  if (plat_clock(PLAT_CLOCK_THREAD_CPU, &mine) != 0 || mine < 0)
    mine = 0;
  if (mine > total)
    mine = total;
  /* mine * sys / total without a 128-bit division (the core has none):
   * all three scaled down together until the product fits. */
  uint64_t a = (uint64_t)mine, b = (uint64_t)sys, c = (uint64_t)total;
  int shift = 0;
  while (a > 0xffffffffu || b > 0xffffffffu) {
    a >>= 1, b >>= 1, c >>= 1;
    shift++;
  }
  int64_t msys = c ? (int64_t)((a * b / c) << shift) : 0;
  return split_of(mine, msys, sys_ns);
}

int moat_wait(int idtype, int id, int options, struct moat_wait_info *info) {
  struct task_table *tt = g_task_table;
  struct task *self = task_current();
  struct proc *me = self->proc;
  note_host_handle(self);
  if (!(options & (WEXITED | WUNTRACED | WCONTINUED)))
    return -LINUX_EINVAL;
  for (;;) {
    task_reap_poll(); /* a child the host killed becomes a zombie here */
    uint32_t seen = __atomic_load_n(&self->wake_word, __ATOMIC_ACQUIRE);
    bool any = false;
    struct proc *found = NULL;
    rt_lock(&tt->lock);
    for (uint32_t i = 0; i < tt->max_tasks && !found; i++) {
      struct proc *c = tt->procs[i];
      if (!c || c->ppid != me->pid || c == me || !wait_match(c, idtype, id))
        continue;
      any = true;
      memset(info, 0, sizeof(*info));
      info->pid = c->pid;
      info->uid = c->cred.ruid;
      if ((options & WEXITED) && c->state == PROC_ZOMBIE) {
        int code = c->exit_code;
        info->status = code;
        info->code = (code & 0x7f) ? CLD_KILLED : CLD_EXITED;
        info->value = (code & 0x7f) ? (code & 0x7f) : ((code >> 8) & 0xff);
        info->cpu_ns = c->cpu_ns + c->children_cpu_ns;
        info->cpu_sys_ns = c->cpu_sys_ns + c->children_sys_ns;
        found = c;
        if (!(options & WNOWAIT)) {
          remove_slot((void **)tt->procs, tt->max_tasks, c);
          rt_lock(&me->lock);
          me->children_cpu_ns += info->cpu_ns;
          me->children_sys_ns += info->cpu_sys_ns;
          rt_unlock(&me->lock);
        } else
          found = NULL, i = tt->max_tasks; /* report without reaping */
        break;
      }
      if ((options & WUNTRACED) && c->state == PROC_RUNNING && c->stopped &&
          c->stop_report) {
        info->status = (c->stop_sig << 8) | 0x7f;
        info->code = CLD_STOPPED;
        info->value = c->stop_sig;
        if (!(options & WNOWAIT))
          c->stop_report = false;
        rt_unlock(&tt->lock);
        return info->pid;
      }
      if ((options & WCONTINUED) && c->state == PROC_RUNNING &&
          c->cont_report) {
        info->status = 0xffff;
        info->code = CLD_CONTINUED;
        info->value = LINUX_SIGCONT;
        if (!(options & WNOWAIT))
          c->cont_report = false;
        rt_unlock(&tt->lock);
        return info->pid;
      }
    }
    rt_unlock(&tt->lock);
    if (found) {
      poll_notify_obj(found); /* its pidfds hang up */
      kfree(found);
      return info->pid;
    }
    if (info->pid && (options & WNOWAIT) && info->code)
      return info->pid;
    if (!any)
      return -LINUX_ECHILD;
    if (options & WNOHANG) {
      memset(info, 0, sizeof(*info));
      return 0;
    }
    if (signal_pending(self))
      return -LINUX_EINTR;
    task_sleep_wait(&self->wake_word, seen, REAP_CHECK_NS);
  }
}

/* ---- process groups and sessions ---- */

/* The process group (or the session) of process pid, 0 for the caller. */
static int group_of(int pid, bool session) {
  struct task_table *tt = g_task_table;
  if (pid < 0)
    return -LINUX_ESRCH;
  rt_lock(&tt->lock);
  struct proc *p = pid ? find_proc_locked(pid) : proc_current();
  int r = !p ? -LINUX_ESRCH : session ? p->sid : p->pgid;
  rt_unlock(&tt->lock);
  return r;
}

int moat_getpgid(int pid) {
  return group_of(pid, false);
}

int moat_getsid(int pid) {
  return group_of(pid, true);
}

int moat_setpgid(int pid, int pgid) {
  struct task_table *tt = g_task_table;
  struct proc *me = proc_current();
  if (pgid < 0)
    return -LINUX_EINVAL;
  int err = 0;
  rt_lock(&tt->lock);
  struct proc *p = pid ? find_proc_locked(pid) : me;
  if (!p || (p != me && p->ppid != me->pid)) {
    err = -LINUX_ESRCH;
    goto out;
  }
  if (p != me && p->sid != me->sid) {
    err = -LINUX_EPERM;
    goto out;
  }
  if (p->sid == p->pid) { /* a session leader */
    err = -LINUX_EPERM;
    goto out;
  }
  if (!pgid)
    pgid = p->pid;
  if (pgid != p->pid) {
    /* The group must exist in the same session. */
    bool ok = false;
    for (uint32_t i = 0; i < tt->max_tasks && !ok; i++) {
      struct proc *q = tt->procs[i];
      ok = q && q->state == PROC_RUNNING && q->pgid == pgid && q->sid == p->sid;
    }
    if (!ok) {
      err = -LINUX_EPERM;
      goto out;
    }
  }
  p->pgid = pgid;
out:
  rt_unlock(&tt->lock);
  return err;
}

int moat_setsid(void) {
  struct task_table *tt = g_task_table;
  struct proc *me = proc_current();
  int err;
  rt_lock(&tt->lock);
  bool leader = false;
  for (uint32_t i = 0; i < tt->max_tasks && !leader; i++) {
    struct proc *q = tt->procs[i];
    leader = q && q->pgid == me->pid;
  }
  if (leader) {
    err = -LINUX_EPERM;
  } else {
    me->sid = me->pgid = me->pid;
    me->ctty = NULL; /* a new session has no controlling terminal */
    me->no_host_tty = true;
    err = me->pid;
  }
  rt_unlock(&tt->lock);
  return err;
}

int moat_set_pdeathsig(int sig) {
  if (sig < 0 || sig > LINUX_NSIG)
    return -LINUX_EINVAL;
  proc_current()->pdeathsig = sig;
  return 0;
}

int moat_get_pdeathsig(void) {
  return proc_current()->pdeathsig;
}

int moat_prctl_flag(int which, int set) {
  struct proc *p = proc_current();
  bool *flag = which == MOAT_PRCTL_SUBREAPER ? &p->child_subreaper
               : which == MOAT_PRCTL_THP     ? &p->thp_disable
                                             : &p->not_dumpable;
  rt_lock(&p->lock);
  bool old = *flag;
  if (set >= 0)
    *flag = set != 0;
  rt_unlock(&p->lock);
  return old;
}

uint64_t moat_timer_slack(uint64_t ns) {
  struct task *t = task_current();
  uint64_t old = t->timer_slack ? t->timer_slack : 50000;
  if (ns != (uint64_t)-1)
    t->timer_slack = ns ? ns : 50000; /* 0: back to the default */
  return old;
}

uint64_t moat_clear_tid_address(void) {
  return task_current()->clear_child_tid;
}

/* CAP_FS_MASK: what an fsuid leaving or reaching 0 takes or gives back. */
#define FS_CAPS                                                                \
  ((1ull << LINUX_CAP_CHOWN) | (1ull << LINUX_CAP_DAC_OVERRIDE) |              \
   (1ull << LINUX_CAP_DAC_READ_SEARCH) | (1ull << LINUX_CAP_FOWNER) |          \
   (1ull << LINUX_CAP_FSETID) | (1ull << 9) | (1ull << LINUX_CAP_MKNOD) |      \
   (1ull << LINUX_CAP_MAC_OVERRIDE))

uint32_t moat_setfsid(bool group, uint32_t id) {
  struct proc *p = proc_current();
  rt_lock(&p->lock);
  struct task_cred *c = &p->cred;
  uint32_t *fs = group ? &c->fsgid : &c->fsuid;
  uint32_t old = *fs;
  bool ok = id != (uint32_t)-1 &&
            (group ? id == c->rgid || id == c->egid || id == c->sgid ||
                         id == c->fsgid || cred_capable(c, LINUX_CAP_SETGID)
                   : id == c->ruid || id == c->euid || id == c->suid ||
                         id == c->fsuid || cred_capable(c, LINUX_CAP_SETUID));
  if (ok && id != old) {
    *fs = id;
    if (!group && old == 0 && id != 0)
      c->cap_eff &= ~FS_CAPS;
    else if (!group && old != 0 && id == 0)
      c->cap_eff |= c->cap_prm & FS_CAPS;
  }
  rt_unlock(&p->lock);
  return old;
}

int moat_set_tid_address(uint64_t addr) {
  struct task *t = task_current();
  t->clear_child_tid = addr;
  note_host_handle(t);
  return t->tid;
}

int moat_set_robust_list(uint64_t head, uint64_t len) {
  struct task *t = task_current();
  if (len != 24)
    return -LINUX_EINVAL;
  t->robust_head = head;
  t->robust_len = len;
  note_host_handle(t);
  return 0;
}

int moat_get_robust_list(int tid, uint64_t *head, uint64_t *len) {
  struct task_table *tt = g_task_table;
  struct task *self = task_current();
  if (tid < 0)
    return -LINUX_ESRCH;
  if (!tid) {
    *head = self->robust_head;
    *len = self->robust_len ? self->robust_len : 24;
    return 0;
  }
  int err = -LINUX_ESRCH;
  rt_lock(&tt->lock);
  for (uint32_t i = 0; i < tt->max_tasks; i++) {
    struct task *t = tt->tasks[i];
    if (t && t->tid == tid) {
      *head = t->robust_head;
      *len = t->robust_len ? t->robust_len : 24;
      err = 0;
      break;
    }
  }
  rt_unlock(&tt->lock);
  return err;
}

/* ---- processes started from outside the sandbox (moat_spawn) ----
 * The runtime's exec (docs/oci.md): the sandbox's exec server (a host
 * process forked at boot that runs no guest task) makes the process here,
 * forks its host process, and waits for its end, which proc_end_locked
 * records in the process's slot of the table. */

_Static_assert(TASK_SPAWN_MAX == MOAT_SPAWN_MAX, "one number of handles");

/* A host fork whose child runs under the host record h (its locks count
 * there: if it dies holding one, the reaper dooms the sandbox instead of
 * letting it hang) with thread context ctx. plat_space_clone's result; the
 * caller records a child it made (host_set_id). */
static int host_fork_recorded(struct task_host *h, void *ctx) {
  struct task_table *tt = g_task_table;
  host_fork_begin();
  int r = plat_space_clone();
  if (r == 0) {
    rt_lock_account(&h->locks, &tt->doomed);
    host_fork_done_locked(true);
    plat_ctx_set(ctx);
  } else if (r < 0) {
    rt_lock(&tt->lock);
    host_fork_done_locked(false);
    rt_unlock(&tt->lock);
  }
  return r;
}

int moat_helper_fork(void) {
  struct task_table *tt = g_task_table;
  rt_lock(&tt->lock);
  struct task_host *h = host_alloc_locked();
  rt_unlock(&tt->lock);
  if (!h)
    return -LINUX_EAGAIN;
  int r = host_fork_recorded(h, NULL);
  if (r < 0) {
    rt_lock(&tt->lock);
    host_free_locked(h);
    rt_unlock(&tt->lock);
  } else if (r > 0) {
    host_set_id(h, r);
  }
  return r;
}

int moat_helper_reap(int *how) {
  int id = plat_space_reap(how);
  if (id > 0)
    host_ended(id, *how);
  return id;
}

static struct task_spawn *spawn_slot_of(int handle) {
  struct task_table *tt = g_task_table;
  if (!tt || handle < 1 || handle > TASK_SPAWN_MAX)
    return NULL;
  struct task_spawn *s = &tt->spawns[handle - 1];
  return s->used ? s : NULL;
}

/* Undo moat_spawn before its host process exists. */
void moat_spawn_cancel(int handle) {
  struct task_table *tt = g_task_table;
  rt_lock(&tt->lock);
  struct task_spawn *s = spawn_slot_of(handle);
  struct proc *p = s ? s->p : NULL;
  if (s)
    memset(s, 0, sizeof(*s));
  if (p) {
    remove_slot((void **)tt->procs, tt->max_tasks, p);
    free_task_locked(p->threads);
    host_free_locked(p->host);
  }
  rt_unlock(&tt->lock);
  if (!p)
    return;
  if (p->fdt)
    fdt_put(p->fdt);
  if (p->fs)
    fs_context_put(p->fs);
  kfree(p);
}

int moat_spawn(const struct moat_spawn *req, const char **why) {
  struct task_table *tt = g_task_table;
  *why = "the process";
  if (!tt || !req || req->ngroups > MOAT_MAX_GROUPS)
    return -LINUX_EINVAL;
  const char *cwd_path = req->cwd && req->cwd[0] ? req->cwd : "/";
  if (cwd_path[0] != '/') {
    *why = "the working directory (not absolute)";
    return -LINUX_EINVAL;
  }
  struct inode *cwd = NULL;
  int err = vfs_resolve(NULL, cwd_path, VFS_FOLLOW | VFS_DIRECTORY, &cwd);
  if (err) {
    *why = "the working directory";
    return err;
  }
  struct proc *p = kzalloc(sizeof(*p));
  struct fd_table *fdt = fdt_create();
  struct inode *root = vfs_root();
  struct fs_context *fs = root ? fs_context_create(root, cwd) : NULL;
  vfs_inode_put(root);
  vfs_inode_put(cwd);
  if (!p || !fdt || !fs) {
    err = -LINUX_ENOMEM;
    goto fail;
  }
  p->cred = (struct task_cred){.ruid = req->uid,
                               .euid = req->uid,
                               .suid = req->uid,
                               .fsuid = req->uid,
                               .rgid = req->gid,
                               .egid = req->gid,
                               .sgid = req->gid,
                               .fsgid = req->gid,
                               .cap_bnd = LINUX_CAP_ALL};
  if (req->uid == 0)
    p->cred.cap_eff = p->cred.cap_prm = LINUX_CAP_ALL;
  p->cred.ngroups = req->ngroups;
  for (uint32_t i = 0; i < req->ngroups; i++)
    p->cred.groups[i] = req->groups[i];
  default_rlimits(p->rlimit, tt->max_tasks);
  const struct moat_config *cfg = moat_config();
  for (int r = 0; cfg && r < LINUX_RLIMIT_NLIMITS; r++)
    if ((cfg->rlimits_set & (1u << r)) &&
        cfg->rlimits[r].rlim_cur <= cfg->rlimits[r].rlim_max)
      p->rlimit[r] = cfg->rlimits[r];
  signal_init_proc(p);
  fdt_set_max(fdt, (uint32_t)MIN(p->rlimit[LINUX_RLIMIT_NOFILE].rlim_cur,
                                 FDT_HARD_MAX));

  struct task *t = NULL;
  int handle = -1;
  rt_lock(&tt->lock);
  int ps = table_slot((void **)tt->procs, tt->max_tasks);
  for (int i = 0; i < TASK_SPAWN_MAX && handle < 0; i++)
    if (!tt->spawns[i].used)
      handle = i + 1;
  struct task_host *h = ps >= 0 && handle > 0 ? host_alloc_locked() : NULL;
  err = h ? new_task_locked(p, &t) : -LINUX_EAGAIN;
  if (err) {
    if (h)
      host_free_locked(h);
    rt_unlock(&tt->lock);
    *why = "the process (the sandbox's task limit, or too many processes "
           "from outside at once)";
    goto fail;
  }
  p->host = h;
  p->pid = p->pgid = p->sid = t->tid;
  p->ppid = 0;
  p->no_host_tty = true;
  p->state = PROC_RUNNING;
  p->mm_id = tt->next_mm_id++;
  p->start_ns = rt_now_ns();
  p->threads = t;
  p->nthreads = 1;
  p->fs = fs;
  p->fdt = fdt;
  p->spawn_slot = (uint32_t)handle;
  rt_strlcpy(t->comm, "moat", sizeof(t->comm));
  t->altstack.ss_flags = LINUX_SS_DISABLE;
  struct task_spawn *s = &tt->spawns[handle - 1];
  memset(s, 0, sizeof(*s));
  s->used = 1;
  s->pid = p->pid;
  s->p = p;
  tt->procs[ps] = p;
  rt_unlock(&tt->lock);
  return handle;

fail:
  if (fdt)
    fdt_put(fdt);
  if (fs)
    fs_context_put(fs);
  kfree(p);
  return err ? err : -LINUX_ENOMEM;
}

int moat_spawn_stdio(void) {
  struct task_table *tt = g_task_table;
  struct task *t = task_current();
  if (!t || !t->proc->spawn_slot)
    return -LINUX_EINVAL;
  uint32_t set = __atomic_add_fetch(&tt->stdio_sets, 1, __ATOMIC_SEQ_CST);
  set &= 0xffffffu;
  if (!set) /* wrapped: 0 is the sandbox's own */
    set = __atomic_add_fetch(&tt->stdio_sets, 1, __ATOMIC_SEQ_CST) & 0xffffffu;
  int err = devfs_spawn_stdio(set, t->proc->fdt);
  if (!err)
    t->proc->stdio_set = set;
  return err;
}

int moat_spawn_fork(int handle) {
  struct task_table *tt = g_task_table;
  rt_lock(&tt->lock);
  struct task_spawn *s = spawn_slot_of(handle);
  struct proc *p = s ? s->p : NULL;
  rt_unlock(&tt->lock);
  if (!p)
    return -LINUX_EINVAL;
  struct task_host *h = p->host;
  struct task *t = p->threads;
  int pid = p->pid;
  int r = host_fork_recorded(h, t);
  if (r == 0) {
    mm_attach_new(p);
    t->host = plat_ctx_self();
    /* Run only once the forker has recorded this host process: an end
     * the host causes before then would otherwise go unnoticed. */
    while (!__atomic_load_n(&h->id, __ATOMIC_SEQ_CST))
      plat_wait((uint32_t *)&h->id, 0, NULL, 0, 10000000);
    time_cpu_limit_start(p);
    /* Signals from outside that came before it had a host process. */
    rt_lock(&tt->lock);
    uint64_t pending = s->pending;
    s->pending = 0;
    for (int sig = 1; sig <= LINUX_NSIG; sig++) {
      if (!(pending & LINUX_SIGBIT(sig)))
        continue;
      struct linux_siginfo info;
      memset(&info, 0, sizeof(info));
      info.si_signo = sig;
      info.si_code = LINUX_SI_USER;
      signal_send(p, NULL, &info);
    }
    rt_unlock(&tt->lock);
    return 0;
  }
  if (r < 0) {
    moat_spawn_cancel(handle);
    return r;
  }
  rt_lock(&tt->lock);
  s->p = NULL; /* from now on it ends as every process does */
  rt_unlock(&tt->lock);
  host_set_id(h, r);
  plat_wake((uint32_t *)&h->id, 1);
  return pid;
}

int moat_spawn_wait(int handle, int64_t timeout_ns, int *status) {
  struct task_table *tt = g_task_table;
  int64_t deadline = timeout_ns < 0 ? -1 : rt_now_ns() + timeout_ns;
  for (;;) {
    /* Its host process is a child of this one: a host-level end (killed
     * from outside moat) is collected here. */
    reap_host_children();
    uint32_t seen = __atomic_load_n(&tt->spawn_word, __ATOMIC_SEQ_CST);
    rt_lock(&tt->lock);
    struct task_spawn *s = spawn_slot_of(handle);
    bool ended = s && s->ended;
    if (ended) {
      *status = s->code;
      memset(s, 0, sizeof(*s));
    }
    rt_unlock(&tt->lock);
    if (!s)
      return -LINUX_EINVAL;
    if (ended)
      return 1;
    int64_t left = deadline < 0 ? REAP_CHECK_NS : deadline - rt_now_ns();
    if (left <= 0)
      return 0;
    plat_wait(&tt->spawn_word, seen, NULL, 0, MIN(left, REAP_CHECK_NS));
  }
}

int moat_spawn_signal(int handle, int sig) {
  struct task_table *tt = g_task_table;
  if (sig < 0 || sig > LINUX_NSIG)
    return -LINUX_EINVAL;
  struct linux_siginfo info;
  memset(&info, 0, sizeof(info));
  info.si_signo = sig;
  info.si_code = LINUX_SI_USER; /* si_pid 0: from outside the namespace */
  int err = -LINUX_ESRCH;
  rt_lock(&tt->lock);
  struct task_spawn *s = handle ? spawn_slot_of(handle) : NULL;
  if (s && s->p) {
    /* No host process yet: the process takes it as it starts. */
    if (sig)
      s->pending |= LINUX_SIGBIT(sig);
    rt_unlock(&tt->lock);
    return 0;
  }
  int pid = handle == 0 ? 1 : s && !s->ended ? s->pid : 0;
  struct proc *p = pid ? find_proc_locked(pid) : NULL;
  if (p && p->state == PROC_RUNNING && sig == 0) {
    err = 0;
  } else if (p && p->state == PROC_RUNNING) {
    err = 0;
    /* A PID namespace's init gets from its parent namespace only the
     * signals it handles, and SIGKILL and SIGSTOP (Linux's
     * SIGNAL_UNKILLABLE). */
    rt_lock(&p->lock);
    bool dfl = p->sigaction[sig - 1].handler == LINUX_SIG_DFL;
    rt_unlock(&p->lock);
    if (pid != 1 || !dfl || sig == LINUX_SIGKILL || sig == LINUX_SIGSTOP)
      err = signal_send(p, NULL, &info);
  }
  rt_unlock(&tt->lock);
  return err;
}
