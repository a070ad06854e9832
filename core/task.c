/* Processes and threads: the task table in the arena, the first process,
 * identity (ids, credentials, uname, hostname), resource limits, sysinfo
 * and process exit.
 *
 * Pids are sandbox-local: the first process is pid 1 with ppid 0 and the
 * host never sees these numbers. The table, the processes and the threads
 * live in the arena so that guest processes that are separate host
 * processes (fork, next step) share them. */
#include "task.h"

#include "file.h"
#include "mm.h"
#include "moat/moat.h"
#include "moat/platform.h"
#include "proc.h"
#include "rt.h"

struct task_table *g_task_table;
struct task *g_task_current;

#define NR_OPEN_MAX 1048576 /* Linux's fs.nr_open default */

int task_table_init(const char *hostname, uint32_t max_tasks) {
  struct task_table *tt = kzalloc(sizeof(*tt));
  if (!tt)
    return -LINUX_ENOMEM;
  tt->max_tasks = max_tasks ? max_tasks : 1024;
  tt->procs = kzalloc(sizeof(*tt->procs) * tt->max_tasks);
  tt->tasks = kzalloc(sizeof(*tt->tasks) * tt->max_tasks);
  if (!tt->procs || !tt->tasks) {
    kfree(tt->procs);
    kfree(tt->tasks);
    kfree(tt);
    return -LINUX_ENOMEM;
  }
  rt_strlcpy(tt->hostname, hostname && *hostname ? hostname : "moat",
             sizeof(tt->hostname));
  rt_strlcpy(tt->domainname, "(none)", sizeof(tt->domainname));
  tt->boot_ns = rt_now_ns();
  g_task_table = tt;
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

static void default_rlimits(struct linux_rlimit *rl, uint32_t max_files,
                            uint32_t max_tasks) {
  for (int i = 0; i < LINUX_RLIMIT_NLIMITS; i++)
    rl[i].rlim_cur = rl[i].rlim_max = LINUX_RLIM_INFINITY;
  rl[LINUX_RLIMIT_STACK].rlim_cur = 8ull << 20;
  rl[LINUX_RLIMIT_CORE].rlim_cur = 0;
  rl[LINUX_RLIMIT_NPROC].rlim_cur = rl[LINUX_RLIMIT_NPROC].rlim_max = max_tasks;
  rl[LINUX_RLIMIT_NOFILE].rlim_cur = rl[LINUX_RLIMIT_NOFILE].rlim_max =
      max_files;
  rl[LINUX_RLIMIT_MEMLOCK].rlim_cur = rl[LINUX_RLIMIT_MEMLOCK].rlim_max = 8ull
                                                                          << 20;
  rl[11].rlim_cur = rl[11].rlim_max = TASK_SIGQUEUE_MAX; /* SIGPENDING */
  rl[12].rlim_cur = rl[12].rlim_max = 819200;            /* MSGQUEUE */
  rl[13].rlim_cur = rl[13].rlim_max = 0;                 /* NICE */
  rl[14].rlim_cur = rl[14].rlim_max = 0;                 /* RTPRIO */
}

int task_create_first(uint32_t uid, uint32_t gid, uint32_t max_files,
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
  if (ps < 0 || ts < 0) {
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
                               .fsgid = gid};
  default_rlimits(p->rlimit, max_files ? max_files : 1024, tt->max_tasks);
  signal_init_proc(p);
  p->start_ns = rt_now_ns();
  t->tid = 1;
  t->proc = p;
  t->altstack.ss_flags = LINUX_SS_DISABLE;
  p->threads = t;
  p->nthreads = 1;
  tt->procs[ps] = p;
  tt->tasks[ts] = t;
  tt->ntasks++;
  rt_unlock(&tt->lock);
  g_task_current = t;
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

void task_set_exe(const char *path) {
  if (!g_task_current || !path)
    return;
  struct proc *p = g_task_current->proc;
  rt_lock(&p->lock);
  rt_strlcpy(p->exe, path, sizeof(p->exe));
  rt_unlock(&p->lock);
}

int moat_set_program(const char *path, int argc, const char *const *argv) {
  if (!g_task_current)
    return -LINUX_ESRCH;
  task_set_exe(path);
  struct proc *p = g_task_current->proc;
  rt_lock(&p->lock);
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
  return 0;
}

uint64_t task_rlimit(int resource) {
  if (!g_task_current || resource < 0 || resource >= LINUX_RLIMIT_NLIMITS)
    return LINUX_RLIM_INFINITY;
  return g_task_current->proc->rlimit[resource].rlim_cur;
}

/* ---- the proc.h interface for the vfs and file layers ---- */

struct fs_context *proc_current_fs(void) {
  return g_task_current ? g_task_current->proc->fs : NULL;
}

struct fd_table *proc_current_fdt(void) {
  return g_task_current ? g_task_current->proc->fdt : NULL;
}

/* Before the first process exists (boot), the vfs acts as root. */
void proc_current_cred(uint32_t *euid, uint32_t *egid) {
  struct proc *p = g_task_current ? g_task_current->proc : NULL;
  *euid = p ? p->cred.fsuid : 0;
  *egid = p ? p->cred.fsgid : 0;
}

bool proc_in_group(uint32_t gid) {
  struct proc *p = g_task_current ? g_task_current->proc : NULL;
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
  return proc_current()->ppid;
}

int moat_gettid(void) {
  return task_current()->tid;
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

int moat_setresuid(uint32_t r, uint32_t e, uint32_t s) {
  struct proc *p = proc_current();
  rt_lock(&p->lock);
  struct task_cred *c = &p->cred;
  int err = set_res_ids(&c->ruid, &c->euid, &c->suid, &c->fsuid, r, e, s,
                        c->euid == 0);
  rt_unlock(&p->lock);
  return err;
}

int moat_setresgid(uint32_t r, uint32_t e, uint32_t s) {
  struct proc *p = proc_current();
  rt_lock(&p->lock);
  struct task_cred *c = &p->cred;
  int err = set_res_ids(&c->rgid, &c->egid, &c->sgid, &c->fsgid, r, e, s,
                        c->euid == 0);
  rt_unlock(&p->lock);
  return err;
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
  if (proc_current()->cred.euid != 0)
    return -LINUX_EPERM;
  rt_lock(&tt->lock);
  memcpy(tt->hostname, name, len);
  tt->hostname[len] = 0;
  rt_unlock(&tt->lock);
  return 0;
}

int moat_prlimit(int pid, int resource, const struct linux_rlimit *new_limit,
                 struct linux_rlimit *old_limit) {
  struct proc *p = proc_current();
  if (resource < 0 || resource >= LINUX_RLIMIT_NLIMITS)
    return -LINUX_EINVAL;
  if (pid < 0)
    return -LINUX_EINVAL;
  if (pid != 0 && pid != p->pid)
    return -LINUX_ESRCH;
  struct linux_rlimit nl;
  if (new_limit) {
    nl = *new_limit;
    if (nl.rlim_cur > nl.rlim_max)
      return -LINUX_EINVAL;
    if (resource == LINUX_RLIMIT_NOFILE && nl.rlim_max > NR_OPEN_MAX)
      return -LINUX_EPERM;
  }
  int err = 0;
  rt_lock(&p->lock);
  struct linux_rlimit *rl = &p->rlimit[resource];
  if (new_limit && nl.rlim_max > rl->rlim_max && p->cred.euid != 0) {
    err = -LINUX_EPERM;
    goto out;
  }
  if (new_limit && resource == LINUX_RLIMIT_NOFILE && p->fdt) {
    err = fdt_set_max(p->fdt, (uint32_t)MIN(nl.rlim_cur, FDT_HARD_MAX));
    if (err)
      goto out;
  }
  if (old_limit)
    *old_limit = *rl;
  if (new_limit)
    *rl = nl;
out:
  rt_unlock(&p->lock);
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

/* Drop the process's files (closing them flushes pipes' ends so readers
 * see EOF) and mark it dead for a future wait. */
static void proc_release(struct proc *p) {
  mm_release();
  struct fd_table *fdt = p->fdt;
  p->fdt = NULL;
  if (fdt)
    fdt_put(fdt);
}

_Noreturn void moat_exit_group(int status) {
  struct proc *p = proc_current();
  proc_release(p);
  p->state = PROC_ZOMBIE;
  p->exit_status = (status & 0xff) << 8;
  plat_exit(status & 0xff);
}

_Noreturn void moat_exit_signal(int sig) {
  struct proc *p = proc_current();
  proc_release(p);
  p->state = PROC_ZOMBIE;
  p->exit_status = sig & 0x7f;
  plat_exit(128 + (sig & 0x7f));
}
