/* The Linux shim's system call entry: north_syscall() dispatches on the
 * syscall number through the table built from syscall_table.h, warns once
 * about each unimplemented syscall, counts calls for --stats, traces them
 * for --strace, and delivers pending signals before the guest resumes.
 * The guest-memory helpers every handler uses live here too. */
#include "shim.h"

typedef long (*shim_handler)(SYSARGS);

enum { SHIM_UNSUPPORTED = 0, SHIM_SUPPORTED, SHIM_PARTIAL };

struct shim_status {
  uint8_t level;
  const char *note;
};

struct shim_syscall {
  const char *name;
  shim_handler handler;
  struct shim_status status;
  uint8_t args[SHIM_MAX_ARGS];
};

#define SUPPORTED                                                              \
  { SHIM_SUPPORTED, NULL }
#define PARTIAL(n)                                                             \
  { SHIM_PARTIAL, n }
#define ARGS(...)                                                              \
  { __VA_ARGS__ }
#define SYS(nr, name, st, a) [nr] = {#name, sys_##name, st, a},
#define NOSYS(nr, name, a) [nr] = {#name, NULL, {SHIM_UNSUPPORTED, NULL}, a},
static const struct shim_syscall g_syscalls[SHIM_NR_MAX] = {
#include "syscall_table.h"
};
#undef SYS
#undef NOSYS
#undef ARGS
#undef PARTIAL
#undef SUPPORTED

/* Per-process state: after a fork each process counts and warns for
 * itself, which is what a reader of its --stats expects. */
static uint64_t g_counts[SHIM_NR_MAX];
static uint64_t g_count_other;
static uint8_t g_warned[(SHIM_NR_MAX + 7) / 8];
static bool g_warned_other;
static bool g_stats_done;

const char *shim_syscall_name(long nr) {
  if (nr >= 0 && nr < SHIM_NR_MAX && g_syscalls[nr].name)
    return g_syscalls[nr].name;
  return NULL;
}

int shim_syscall_args(long nr, uint8_t out[SHIM_MAX_ARGS]) {
  int n = 0;
  if (nr < 0 || nr >= SHIM_NR_MAX || !g_syscalls[nr].name)
    return -1;
  for (int i = 0; i < SHIM_MAX_ARGS; i++) {
    out[i] = g_syscalls[nr].args[i];
    if (out[i] != T_NONE)
      n = i + 1;
  }
  return n;
}

static void warn_unimplemented(uint64_t nr) {
  if (nr < SHIM_NR_MAX) {
    uint8_t bit = (uint8_t)(1u << (nr % 8));
    if (__atomic_fetch_or(&g_warned[nr / 8], bit, __ATOMIC_RELAXED) & bit)
      return;
    if (g_syscalls[nr].name) {
      moat_log("moat: warning: unimplemented syscall %s (%lu)\n",
               g_syscalls[nr].name, (unsigned long)nr);
      return;
    }
  } else if (__atomic_exchange_n(&g_warned_other, true, __ATOMIC_RELAXED)) {
    return;
  }
  moat_log("moat: warning: unimplemented syscall %lu\n", (unsigned long)nr);
}

void shim_stats_print(void) {
  const struct moat_config *cfg = moat_config();
  bool shown[SHIM_NR_MAX] = {0};

  /* Nothing read before this: a page never written is a fault to read. */
  if (!cfg || !cfg->stats || g_stats_done)
    return;
  uint64_t total = g_count_other;
  g_stats_done = true;
  for (int i = 0; i < SHIM_NR_MAX; i++)
    total += g_counts[i];
  moat_log("moat: guest syscalls\n");
  moat_log("  %-24s %10s\n", "syscall", "calls");
  /* Highest count first: a selection sort is plenty for ~460 entries
   * printed once at exit. */
  for (;;) {
    int best = -1;
    for (int i = 0; i < SHIM_NR_MAX; i++) {
      if (shown[i] || !g_counts[i])
        continue;
      if (best < 0 || g_counts[i] > g_counts[best])
        best = i;
    }
    if (best < 0)
      break;
    shown[best] = true;
    moat_log("  %-24s %10llu\n", g_syscalls[best].name,
             (unsigned long long)g_counts[best]);
  }
  if (g_count_other)
    moat_log("  %-24s %10llu\n", "(unknown numbers)",
             (unsigned long long)g_count_other);
  moat_log("  %-24s %10llu\n", "total", (unsigned long long)total);
}

void north_syscall(struct moat_regs *regs) {
  uint64_t nr = regs->rax;
  uint64_t args[SHIM_MAX_ARGS] = {regs->rdi, regs->rsi, regs->rdx,
                                  regs->r10, regs->r8,  regs->r9};
  const struct moat_config *cfg = moat_config();
  bool strace = cfg && cfg->strace;
  shim_handler handler = NULL;
  long ret;

  /* Threads of a process share these counters. Written only for
   * --stats: a page written after a fork is a copy-on-write fault in
   * each process, which costs more than the count. */
  bool stats = cfg && cfg->stats;
  if (nr < SHIM_NR_MAX) {
    if (stats)
      __atomic_fetch_add(&g_counts[nr], 1, __ATOMIC_RELAXED);
    handler = g_syscalls[nr].handler;
  } else if (stats) {
    __atomic_fetch_add(&g_count_other, 1, __ATOMIC_RELAXED);
  }
  /* exit and exit_group never return: trace them before they run. */
  if (strace && (nr == SHIM_NR_EXIT || nr == SHIM_NR_EXIT_GROUP))
    shim_strace_call((int)nr, args, 0, STRACE_NORETURN);
  /* A successful execve leaves nothing of its arguments to decode. */
  if (strace && nr == SHIM_NR_EXECVE)
    shim_strace_call((int)nr, args, 0, STRACE_UNFINISHED);
  if (handler) {
    moat_call_begin();
    ret = handler(regs, args[0], args[1], args[2], args[3], args[4], args[5]);
    moat_call_end();
  } else {
    warn_unimplemented(nr);
    ret = -LINUX_ENOSYS;
  }
  if (strace)
    shim_strace_call(nr < SHIM_NR_MAX ? (int)nr : -1, args, ret,
                     nr == SHIM_NR_EXECVE ? STRACE_RESUMED : STRACE_DONE);
  regs->rax = (uint64_t)ret;
  /* rt_sigreturn restored a whole context, rax included: its value is
   * the interrupted code's, never a restart request. */
  shim_deliver_signals(regs, nr == SHIM_NR_RT_SIGRETURN ? -1 : (long)nr);
}

/* ---- guest memory ------------------------------------------------------ */

bool user_buf_ok(uint64_t addr, size_t len, int prot) {
  if (len == 0)
    return true;
  if (addr + len < addr)
    return false;
  return moat_user_ok(addr, len, prot);
}

int user_read(void *dst, uint64_t src, size_t len) {
  if (!user_buf_ok(src, len, LINUX_PROT_READ))
    return -LINUX_EFAULT;
  /* Checked, but another guest thread may unmap it before the copy. */
  if (rt_ucopy(dst, (const void *)(uintptr_t)src, len))
    return -LINUX_EFAULT;
  return 0;
}

int user_write(uint64_t dst, const void *src, size_t len) {
  if (!user_buf_ok(dst, len, LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  if (rt_ucopy((void *)(uintptr_t)dst, src, len))
    return -LINUX_EFAULT;
  return 0;
}

int user_path(char *buf, uint64_t guest) {
  long n;
  if (!guest)
    return -LINUX_EFAULT;
  n = moat_user_strncpy(buf, guest, LINUX_PATH_MAX);
  return n < 0 ? (int)n : 0;
}
