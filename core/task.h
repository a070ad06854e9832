/* Processes and threads of the sandbox: the task table, credentials,
 * resource limits and the per-process / per-thread signal state.
 *
 * Every struct here lives in the sandbox arena (kmalloc) because the next
 * step makes each guest process a host process sharing that arena: a
 * process must be able to find, signal and wait for another one through
 * these structures. Only the pointer to the current task (task_current) is
 * private to a host process. */
#ifndef MOAT_CORE_TASK_H
#define MOAT_CORE_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "moat/linux_abi.h"
#include "rt.h"

#define TASK_NGROUPS_MAX 32
#define TASK_PID_MAX 4194304 /* Linux's pid_max ceiling */
#define TASK_HOSTNAME_MAX 64
#define TASK_SIGQUEUE_MAX 1024 /* queued real-time signals per process */

struct task_cred {
  uint32_t ruid, euid, suid, fsuid;
  uint32_t rgid, egid, sgid, fsgid;
  uint32_t ngroups;
  uint32_t groups[TASK_NGROUPS_MAX];
};

/* One queued signal. Standard signals (< SIGRTMIN) have at most one entry
 * per set (they coalesce); real-time signals queue one entry per send. */
struct sigqueue_entry {
  struct sigqueue_entry *next;
  struct linux_siginfo info;
};

struct sigqueue {
  uint64_t set; /* bit (sig-1) set when at least one entry of sig is queued */
  struct sigqueue_entry *head, *tail;
};

enum proc_state {
  PROC_FREE = 0,
  PROC_RUNNING,
  PROC_ZOMBIE,
};

struct task;

struct proc {
  int pid, ppid, pgid, sid;
  enum proc_state state;
  int exit_status;
  struct proc *parent;
  struct rt_lock lock; /* guards everything below */
  struct task_cred cred;
  struct fs_context *fs; /* root, cwd, umask (core/proc.h) */
  struct fd_table *fdt;  /* open files (core/file.h) */
  struct linux_rlimit rlimit[LINUX_RLIMIT_NLIMITS];
  /* Signals: handlers are per process, the shared pending set collects
   * signals sent to the process as a whole (kill). */
  struct linux_sigaction sigaction[LINUX_NSIG];
  struct sigqueue shared_pending;
  int queued; /* real-time entries queued in the whole process */
  struct task *threads;
  int nthreads;
  int64_t start_ns;
  char exe[LINUX_PATH_MAX];     /* the program's path, for /proc/<pid>/exe */
  char cmdline[LINUX_PATH_MAX]; /* NUL-separated arguments (cut) */
  size_t cmdline_len;
};

struct task {
  int tid;
  struct proc *proc;
  struct task *next_in_proc;
  uint64_t sigblocked;
  struct sigqueue pending; /* signals sent to this thread (tgkill, faults) */
  struct linux_stack altstack;
  /* Bumped and futex-woken whenever a signal is queued for this thread,
   * so a sleeping thread (nanosleep, later poll/wait) notices it. */
  uint32_t wake_word;
};

/* The shared state of the sandbox: the task table and the UTS names. */
struct task_table {
  struct rt_lock lock;
  int last_pid;
  uint32_t max_tasks;
  uint32_t ntasks;
  struct proc **procs; /* max_tasks slots */
  struct task **tasks; /* max_tasks slots */
  char hostname[TASK_HOSTNAME_MAX + 1];
  char domainname[TASK_HOSTNAME_MAX + 1];
  int64_t boot_ns;
};

extern struct task_table *g_task_table;
/* The task running in this host process. */
extern struct task *g_task_current;

static inline struct task *task_current(void) {
  return g_task_current;
}
static inline struct proc *proc_current(void) {
  return g_task_current->proc;
}

/* Set up the task table (moat_boot, after the arena). */
int task_table_init(const char *hostname, uint32_t max_tasks);
/* Create the first process (pid 1, ppid 0) with one thread and make it
 * current. fs and fdt are filled in by the caller. */
int task_create_first(uint32_t uid, uint32_t gid, uint32_t max_files,
                      struct proc **out);
/* A free pid/tid for a new process or thread (fork and clone, next
 * step), or -EAGAIN. */
int task_alloc_pid(void);
/* Look up a live process by pid (NULL if none). */
struct proc *task_find_proc(int pid);

/* Record the path of the program the current process runs (absolute, as
 * /proc/self/exe shows it); moat_set_program does this and more. */
void task_set_exe(const char *path);

/* The soft limit of resource for the current process (RLIM_INFINITY is
 * ~0). */
uint64_t task_rlimit(int resource);

/* Signals (core/signal.c). */
void signal_init_proc(struct proc *p);
/* Queue info to the current process (to_thread false) or thread. Honours
 * ignore-at-generation; returns 0 or a negative errno (-EAGAIN when the
 * real-time queue is full). */
int signal_send(struct proc *p, struct task *t,
                const struct linux_siginfo *info);
/* Is a signal pending that the thread does not block? (Used by sleeping
 * calls to return -EINTR.) */
bool signal_pending(struct task *t);

#endif
