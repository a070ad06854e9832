/* Processes and threads of the sandbox: the task table, credentials,
 * resource limits and the per-process / per-thread signal state.
 *
 * Every struct here lives in the sandbox arena (kmalloc) because the next
 * step makes each guest process a host process sharing that arena: a
 * process must be able to find, signal and wait for another one through
 * these structures. Only the pointer to the current task (task_current) is
 * private to a host process, and the address space that proc->mm points
 * at (core/mm.c). */
#ifndef MOAT_CORE_TASK_H
#define MOAT_CORE_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "moat/linux_abi.h"
#include "moat/platform.h"
#include "rt.h"

#define TASK_NGROUPS_MAX 128 /* supplementary groups a process may hold */
#define TASK_PID_MAX 4194304 /* Linux's pid_max ceiling */
#define TASK_HOSTNAME_MAX 64
#define TASK_SIGQUEUE_MAX 1024 /* queued real-time signals per process */

struct task_cred {
  uint32_t ruid, euid, suid, fsuid;
  uint32_t rgid, egid, sgid, fsgid;
  uint32_t ngroups;
  uint32_t groups[TASK_NGROUPS_MAX];
  /* capabilities(7): bit n is capability n */
  uint64_t cap_eff, cap_prm, cap_inh, cap_bnd, cap_amb;
  bool keep_caps; /* PR_SET_KEEPCAPS: a uid change keeps permitted */
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
struct poll_wait;
struct pty;
struct mm;

/* One host process of the sandbox: a guest process, with the vfork
 * children that run as its threads until they exec. Kept apart from the
 * procs (a guest zombie may be freed before the host process has been
 * collected) so that the host parent can tell, when plat_space_reap reports the
 * host process's end, which guest processes died with it and whether it
 * held an arena lock. */
struct task_host {
  int32_t id; /* the id plat_space_clone returned; 0 until known (and pid 1) */
  uint32_t used;  /* the slot is taken */
  uint32_t locks; /* arena rt_locks it holds now (core/rt_lock.c) */
  /* vfork children running as threads of this host process, until each
   * is done with the arena: the host process's end waits for them (it
   * would take their threads down, perhaps holding a lock) */
  uint32_t vfork_threads;
  /* Its address space's part of the sandbox's commit charge (core/mm.c),
   * given back by the collector when it dies without its exit path. */
  uint64_t mem_charge;
  /* Its address space's figures as /proc shows them (bytes), published
   * by core/mm.c at each change (task_host_note_vm): every mapping, the
   * data mappings, the resident estimate (the commit charge), and the
   * peaks of the first and the last since the last exec. */
  uint64_t vm_total, vm_data, vm_rss, vm_peak, vm_hwm;
};

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
  uint32_t mm_id; /* address-space identity: private futex keys */
  /* Its address space (core/mm.c), attached when its threads start to run
   * in their host process (mm_attach_new, mm_fork_child); a vfork child's
   * is its parent's until it execs. NULL before then. Unlike the rest of
   * struct proc it is private to that host process: on the Linux
   * platform it points at the host process's own address space, which
   * is at the same address in every host process, so followed from
   * another process it would silently show that one's. Only the process
   * itself follows it (core/mm.c, through the calling thread); others
   * read the figures published in its host record (task_host_note_vm). */
  struct mm *mm;
  bool exiting;        /* exit_group or a fatal signal: threads leave */
  struct task *exiter; /* the thread that ends the process */
  int exit_code;       /* wait status the process will report */
  /* CPU time (ns) of the process at its end, and what its waited-for
   * children (with theirs) used: wait4's and getrusage's figures. */
  int64_t cpu_ns;
  int64_t children_cpu_ns;
  /* The system-time parts of those two (the rest is user time). */
  int64_t cpu_sys_ns;
  int64_t children_sys_ns;
  /* CPU time (ns) the live process last published (publish_cpu),
   * for /proc/<pid>/stat read by another process: the host's CPU clock
   * of a process is only readable by that process. cpu_seq counts the
   * publications (a futex word); cpu_wanted asks a running thread for a
   * fresh one at its next north_interrupt. */
  int64_t cpu_live_ns;
  int64_t cpu_live_sys_ns; /* its system part, published when asked */
  int64_t cpu_live_at;     /* monotonic time of that publication */
  uint32_t cpu_seq;
  uint32_t cpu_wanted;
  struct task *vfork_parent; /* set until the vfork child execs or ends */
  bool vfork_thread; /* a vfork child running as a thread of the parent's
                        host process, on its memory, until it execs */
  int pdeathsig;     /* PR_SET_PDEATHSIG */
  /* PR_SET_CHILD_SUBREAPER: orphans below it come here, not to pid 1 (not
   * inherited) */
  bool child_subreaper;
  bool thp_disable; /* PR_SET_THP_DISABLE (recorded) */
  /* PR_SET_DUMPABLE 0: inherited by fork, cleared by execve (recorded:
   * the sandbox has no core dumps and no ptrace) */
  bool not_dumpable;
  /* Linux's sysvsem.undo_list exists (kcmp KCMP_SYSVSEM): made by the
   * first SEM_UNDO operation or thread (CLONE_SYSVSEM), not inherited by
   * fork. */
  bool sem_undo_list;
  /* The controlling terminal, a pty (core/pty.c; under the task table's
   * lock), and whether the host's terminal can no longer be it (a new
   * session was made): /dev/tty then fails without a pty. */
  struct pty *ctty;
  bool no_host_tty;
  /* Which set of host standard streams this process's files of them
   * reach (core/devfs.c): 0 the sandbox's own, another a set a process
   * started from outside brought (moat_spawn_stdio); inherited. */
  uint32_t stdio_set;
  /* A netlink socket of this process has its pid as port id
   * (core/netlink.c); not inherited. */
  bool netlink_pid_port;
  bool stopped; /* SIGSTOP & co. took effect */
  int stop_sig;
  bool stop_report;   /* a stop not yet reported by wait (WUNTRACED) */
  bool cont_report;   /* a continue not yet reported (WCONTINUED) */
  uint32_t stop_word; /* futex word the stopped threads sleep on */
  /* ITIMER_REAL / alarm: monotonic deadline (0 = disarmed) and period;
   * the host timer of this process fires at the deadline. */
  int64_t itimer_deadline;
  int64_t itimer_interval;
  /* POSIX timers (core/posix_timer.c), under lock: the table (NULL until
   * the first timer_create) and the earliest monotonic deadline of those
   * that signal (0: none), for which the host timer is also armed. */
  struct ptimer_table *ptimers;
  int64_t ptimer_next;
  /* ITIMER_VIRTUAL, ITIMER_PROF (core/time.c), indexed by which - 1: the
   * deadline on the timer's CPU clock as plat_timer_set reads it (0 =
   * disarmed) and the period, which Linux keeps while disarmed. */
  int64_t itimer_cpu_deadline[2];
  int64_t itimer_cpu_interval[2];
  /* RLIMIT_CPU (core/time.c): the PROF clock reading at which to check
   * the limits next (0: none), and the one this process's PROF timer was
   * last armed for (prlimit from another process changes the first). */
  int64_t cpu_limit_due;
  int64_t cpu_limit_armed;
  int64_t start_ns;
  struct task_host *host; /* the host process its threads run in */
  bool host_dead;         /* that host process ended without this proc's exit */
  /* Started from outside the sandbox (moat_spawn): 1 + its slot in the
   * table's spawns, where its end is reported; 0 for every other. */
  uint32_t spawn_slot;
  char exe[LINUX_PATH_MAX];     /* the program's path, for /proc/<pid>/exe */
  char cmdline[LINUX_PATH_MAX]; /* NUL-separated arguments (cut) */
  size_t cmdline_len;
  char environ[LINUX_PATH_MAX]; /* NUL-separated environment (cut) */
  size_t environ_len;
  bool no_new_privs;    /* PR_SET_NO_NEW_PRIVS: kept by fork and exec */
  uint32_t personality; /* personality(2): kept by fork and exec */
  uint32_t membarrier;  /* membarrier registrations: reset by fork, exec */
};

struct task {
  int tid;
  struct proc *proc;
  /* faccessat without AT_EACCESS: permission checks use the real ids,
   * and for real uid 0 the permitted capabilities (proc_access_real). */
  bool access_real;
  struct task *next_in_proc;
  uint64_t sigblocked;
  /* rt_sigtimedwait's set while it waits (unblocked for the wait): Linux's
   * real_blocked, so a signal ignored but waited for is still queued. */
  uint64_t sigwait_set;
  struct sigqueue pending; /* signals sent to this thread (tgkill, faults) */
  struct linux_stack altstack;
  /* Bumped and futex-woken whenever a signal is queued for this thread,
   * so a sleeping thread (nanosleep, later poll/wait) notices it. */
  uint32_t wake_word;
  /* Set by a file's poll op that becomes ready at a time (a timerfd):
   * the earliest such monotonic instant, 0 for none; the poll sleep
   * (core/poll.c) wakes then. Reset by poll_wait_arm. */
  int64_t poll_due;
  uint64_t host; /* plat_ctx_self, for plat_ctx_kick */
  /* The guest system call this thread is in (moat_call_begin/end):
   * in_call, and its sandbox-wide id once task_call_id gave it one. */
  bool in_call;
  uint64_t call_id;
  uint32_t vfork_wait;      /* futex word: 0 while a vfork child runs */
  uint64_t clear_child_tid; /* guest address: CLONE_CHILD_CLEARTID */
  uint64_t robust_head;     /* guest address of the robust list head */
  uint64_t robust_len;
  uint64_t timer_slack; /* PR_SET_TIMERSLACK, ns (recorded) */
  /* Futex wait (core/futex.c): a thread waits on at most one futex. */
  struct task *fw_next;
  uint64_t fw_addr;
  uint32_t fw_key; /* mm_id, or 0 for memory shared between processes */
  uint32_t fw_bitset;
  uint32_t fw_woken;
  int fw_bucket; /* -1 when not queued */
  /* futex_waitv: a stand-in queued for one futex of its owner's wait
   * (whose wake it is), and the owner's array of them while it waits. */
  struct task *fw_owner;
  struct task *fw_proxies;
  int fw_nproxies;
  /* Non-zero while the thread is blocked in an interruptible wait of the
   * library OS (task_sleep_wait, a blocking host read): /proc shows S. */
  uint32_t sleeping;
  bool reaping; /* inside task_reap_poll (no nesting) */
  /* Depth of nested epoll polls in this thread's current call
   * (core/epoll.c): Linux counts it per call, so one thread's nesting
   * never limits another's. */
  uint8_t epoll_nest;
  /* The poll sleep whose scan this thread is in (core/poll.c,
   * poll_scan_begin): poll_host adds the host objects to watch to it. */
  struct poll_wait *poll_scan;
  /* The thread's name (PR_SET_NAME, /proc/PID/task/TID/comm), under
   * proc->lock: the program's base name at exec, a creator's for a new
   * thread or process. */
  char comm[16];
  /* Scheduling (sched(7)), under proc->lock: kept and reported with
   * Linux's rules, inherited by new threads and processes; the host
   * schedules every sandbox thread as its own SCHED_OTHER thread. */
  int8_t nice;           /* -20..19 */
  uint8_t sched_policy;  /* SCHED_OTHER 0, FIFO 1, RR 2, BATCH 3, IDLE 5 */
  uint8_t sched_prio;    /* 1..99 for FIFO and RR, else 0 */
  bool sched_reset;      /* SCHED_RESET_ON_FORK */
  uint16_t ioprio;       /* ioprio_set (0: none set, as Linux answers) */
  uint64_t cpus_off[16]; /* sched_setaffinity's: MOAT_SCHED_CPU_WORDS */
  /* The page this thread ran an access at again after a fault (core/
   * mm.c, moat_mm_fault), valid while mm_retry_gen is its address
   * space's. */
  uint64_t mm_retry_page;
  uint64_t mm_retry_gen;
  uint64_t north[4]; /* the North shim's: moat_north_slot, MOAT_NORTH_WORDS */
};

/* Processes started from outside at once (moat exec). */
#define TASK_SPAWN_MAX 32 /* MOAT_SPAWN_MAX, checked in task.c */

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
  uint32_t next_mm_id;
  uint64_t next_call_id;   /* task_call_id's, sandbox-wide */
  struct task_host *hosts; /* nhosts slots */
  uint32_t nhosts;
  /* Set when a process died holding an arena lock: the arena can no
   * longer be trusted and every process ends with status 125. */
  uint32_t doomed;
  uint64_t init_host; /* plat_ctx_self of pid 1's first thread */
  /* The highest hard limit a guest process may set, per resource: the
   * runner's limits (struct moat_config's rlimits) hold even for uid 0. */
  uint64_t rlimit_ceiling[LINUX_RLIMIT_NLIMITS];
  /* Processes started from outside (moat_spawn), under the lock: a slot
   * from moat_spawn until moat_spawn_wait saw the end; spawn_word is
   * bumped and woken at each end. */
  struct task_spawn {
    uint32_t used;
    uint32_t ended;
    int pid;
    int code;         /* wait status once ended */
    struct proc *p;   /* until its host process exists */
    uint64_t pending; /* signals sent before then (bit sig-1) */
  } spawns[TASK_SPAWN_MAX];
  uint32_t spawn_word;
  uint32_t stdio_sets; /* the last set of host streams given (devfs.c) */
};

extern struct task_table *g_task_table;

/* The task of the calling thread: each host thread carries its own in
 * the platform's per-thread context (plat_ctx_get). */
static inline struct task *task_current(void) {
  return (struct task *)plat_ctx_get();
}
static inline struct proc *proc_current(void) {
  return task_current()->proc;
}

/* Set up the task table (moat_boot, after the arena). */
int task_table_init(const char *hostname, uint32_t max_tasks);
/* Create the first process (pid 1, ppid 0) with one thread and make it
 * current, with moat's default limits except those in rlimits_set (bit
 * 1 << r: rlimits[r]), whose hard limits become the sandbox's ceilings.
 * fs and fdt are filled in by the caller. */
int task_create_first(uint32_t uid, uint32_t gid,
                      const struct linux_rlimit *rlimits, uint32_t rlimits_set,
                      struct proc **out);
/* A free pid/tid for a new process or thread (fork and clone, next
 * step), or -EAGAIN. */
int task_alloc_pid(void);
/* A number naming the calling thread's current guest system call, unique
 * in the sandbox (never reused), or 0 outside one (boot, a fault of guest
 * code, a host thread without a task): a cache stamped with it is valid
 * for the rest of this call only. */
uint64_t task_call_id(void);
/* Look up a live process by pid (NULL if none). */
struct proc *task_find_proc(int pid);
/* The same, zombies included (/proc shows them until they are reaped). */
struct proc *task_find_proc_any(int pid);

/* An interruptible wait of the calling thread: plat_wait with the
 * thread marked sleeping meanwhile (state S in /proc/<pid>/stat), and
 * its process's CPU time published first. */
int task_sleep_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns);
/* The same, also watching host objects io[0..nio) (plat_wait's rules:
 * > 0 when one is ready). */
struct plat_io;
int task_sleep_wait_io(uint32_t *word, uint32_t expected, struct plat_io *io,
                       int nio, int64_t timeout_ns);
/* Mark the calling thread as in an interruptible wait or out of it, for
 * blocking calls that do not go through task_sleep_wait. */
void task_sleep_mark(bool sleeping);
/* Publish the calling process's CPU time (p->cpu_live_ns). */
/* The CPU time (ns) of p so far, its own (not its children's): read
 * directly for the calling process; for another one, the figure it last
 * published, after asking a thread of it that runs guest code for a fresh
 * one (kicked, waited for up to 20 ms). */
/* p's CPU time (ns) and, in *sys_ns when not NULL, its system part. */
int64_t task_proc_cpu_ns(struct proc *p, int64_t *sys_ns);
/* p's state as /proc shows it: 'R', 'S', 'T' or 'Z'. */
char task_proc_state(struct proc *p);

/* Publish h's address-space figures (core/mm.c, under its lock). */
void task_host_note_vm(struct task_host *h, uint64_t total, uint64_t data,
                       uint64_t rss);
/* A thread of p by tid (NULL if none); caller holds p->lock. */
struct task *task_find_thread_locked(struct proc *p, int tid);
/* Set the name of thread tid of the calling process (0: the calling
 * thread), cut at 15 bytes: 0 or -ESRCH (not one of its threads). */
int task_set_comm(int tid, const char *name, size_t len);

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
/* Queue info to thread tid of process tgid (-1: any process): 0 or
 * -ESRCH, -EPERM (core/signal.c). */
int moat_tgkill_info(int tgid, int tid, const struct linux_siginfo *info);
/* signalfd (core/signalfd.c): take the first pending signal of mask
 * (SIGKILL and SIGSTOP never) of the calling thread, its own queue
 * first, then its process's, whether blocked or not: its number, or 0
 * when none is. pending_of: what is pending for t (thread and process),
 * blocked or not. */
int signal_take(uint64_t mask, struct linux_siginfo *info);
uint64_t signal_pending_of(struct task *t);
/* Is a signal pending that the thread does not block? (Used by sleeping
 * calls to return -EINTR.) */
bool signal_pending(struct task *t);
/* Bump t's wake word and wake it (a sleeping call notices). */
void task_wake(struct task *t);
/* Make p (or thread t) notice a new signal: wake its sleepers and kick
 * one thread that runs guest code and does not block sig. Caller holds
 * p->lock. */
void signal_notify(struct proc *p, struct task *t, int sig);
/* The current thread must leave now (its process is exiting): never
 * returns. */
_Noreturn void task_exit_now(void);
/* Is the address inside a guest MAP_SHARED mapping (core/mm.c)? Shared
 * futexes there are keyed by address alone. */
bool mm_addr_shared(uint64_t addr);
/* The pool address of the page cache byte a MAP_SHARED file mapping
 * shows at addr (the futex key of a shared futex there), or 0. */
uint64_t mm_futex_file_page(uint64_t addr);
/* A process whose threads start to run in a new host process gets that
 * host process's address space, empty (core/mm.c): the first process
 * (task_create_first) and one started from outside (moat_spawn_fork).
 * Call in that host process, before p runs. */
void mm_attach_new(struct proc *p);
/* fork (core/mm.c): copy the VMA list of mm (the forking process's
 * address space) before the host fork and install the copy in the child.
 * begin takes mm's lock, held across the host fork, and the child's
 * commit charge (recorded in h, the child's host record): -ENOMEM when it
 * does not fit under --memory. exec_soon: a vfork child about to exec
 * (charged nothing). In the parent, end (same mm) drops the lock and
 * gives the charge back when the fork failed. In the child, fork_child
 * makes the copy its host process's address space and attaches p to it
 * (p->host set: the child's record). */
int mm_fork_begin(struct mm *mm, struct task_host *h, bool exec_soon,
                  void **copy);
void mm_fork_end(struct mm *mm, void *copy, bool failed, struct task_host *h);
void mm_fork_child(void *copy, struct proc *p);
/* h's host process died without its exit path: its charge goes. */
void mm_host_gone(struct task_host *h);
/* A vfork child that runs as a thread of its parent's host process
 * moves into a host process of its own (exec is about to replace the
 * memory). No-op for everyone else. */
void task_vfork_detach(void);
/* The vfork child execs or ends: its parent goes on. */
void task_vfork_release(struct proc *p);
/* The real-time timer expired: queue SIGALRM (and re-arm a periodic
 * one). Called on the way back to the guest, with no lock held. */
void signal_timer_poll(struct proc *p);
/* The CPU-time timers (core/time.c): queue SIGVTALRM/SIGPROF for those
 * whose deadline passed (and re-arm a periodic one), no lock held; and
 * whether one has expired whose signal t does not block. */
void time_itimer_poll(struct proc *p);
/* POSIX timers (core/posix_timer.c). poll: queue the signals of those
 * that expired, no lock held. dequeued: a SI_TIMER signal leaves a queue
 * (caller holds p->lock): its overrun count goes into info. free_locked:
 * exec and exit delete them all (caller holds p->lock). arm_real_locked:
 * arm the host's real-time timer for the earlier of ITIMER_REAL and the
 * POSIX timers (caller holds p->lock, p is the calling process). */
void ptimer_poll(struct proc *p);
void ptimer_dequeued(struct proc *p, struct linux_siginfo *info);
void ptimer_free_locked(struct proc *p);
void ptimer_arm_real_locked(struct proc *p, int64_t now);
bool time_itimer_due(struct task *t);
/* RLIMIT_CPU of p changed (setrlimit, prlimit): recompute when to check it
 * and, if p is the calling process, arm its timer. Caller holds p->lock;
 * another process arms its timer at its next time_itimer_poll. */
void time_cpu_limit_changed(struct proc *p);
/* The same for a process starting in a new host process (the first one,
 * a fork child): takes p->lock. */
void time_cpu_limit_start(struct proc *p);
/* Wake all of proc p's threads (children changed state). */
void task_wake_proc(struct proc *p);
/* Collect the host-level ends of this host process's children
 * (plat_space_reap). A guest process that ended without its exit path (killed
 * by the host, the seccomp filter, an internal error) is ended on its
 * behalf as if killed by that signal (SIGKILL for an exit code): files
 * closed, children re-parented, threads' slots freed, the parent told.
 * One that died holding an arena lock ends the whole sandbox (status
 * 125). Called where the calling thread may take locks (the way back to
 * the guest, sleeps): returns at once while this host process holds an
 * arena lock. Also ends this process (125) once the sandbox is doomed. */
void task_reap_poll(void);
/* System V IPC (core/sysv_ipc.c): make its table (before the first
 * fork), and apply and forget the SEM_UNDO adjustments of a process
 * that ends. */
void sysv_ipc_init(void);
void sysv_ipc_proc_gone(int pid);
/* A VMA of an attached shm segment appears or goes (core/mm.c, which
 * holds its own lock): the segment's shm_nattch counts them, and the
 * last one of a segment marked for removal destroys it. */
void sysv_shm_vma_open(void *seg);
void sysv_shm_vma_close(void *seg);
/* The text of /proc/sysvipc/{msg,sem,shm} and of the limits in
 * /proc/sys/kernel, handed to out line by line. */
enum {
  SYSV_PROC_MSG,
  SYSV_PROC_SEM,
  SYSV_PROC_SHM,
  SYSV_PROC_LIMITS_MSGMNI,
  SYSV_PROC_LIMITS_MSGMAX,
  SYSV_PROC_LIMITS_MSGMNB,
  SYSV_PROC_LIMITS_SEM,
};
void sysv_ipc_proc_text(int which, void (*out)(void *ctx, const char *line),
                        void *ctx);
/* Take a thread that will never run again off its futex queue. */
void futex_forget(struct task *t);
/* Futex wake for clear_child_tid and robust lists (core/futex.c). */
int futex_wake_addr(uint64_t uaddr, bool shared, int count, uint32_t bitset);
void futex_robust_exit(struct task *t);
/* Make the futex table (before the first fork: every process shares it). */
void futex_init(void);

#endif
