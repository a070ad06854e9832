/* Host-call counting and the platform's own output: the table --stats
 * prints at exit, plat_space_exit, plat_die, and a libc-free formatter, because
 * after lockdown every byte the platform prints must go through the gate. */
#include "plat_linux.h"

uint64_t g_plat_fn_count[PF_COUNT];
uint64_t g_host_syscall_count[HNR_MAX];
bool g_plat_stats;
uint64_t g_plat_entry_count[PE_COUNT];

static const char *const g_plat_fn_names[PF_COUNT] = {
    [PF_MEM_MAP] = "plat_mem_map",
    [PF_MEM_UNMAP] = "plat_mem_unmap",
    [PF_MEM_PROTECT] = "plat_mem_protect",
    [PF_MEM_ALIAS] = "plat_mem_alias",
    [PF_MEM_DISCARD] = "plat_mem_discard",
    [PF_MEM_VIEW] = "plat_mem_view",
    [PF_ENTER] = "plat_enter",
    [PF_EXIT] = "plat_space_exit",
    [PF_WAIT] = "plat_wait",
    [PF_WAKE] = "plat_wake",
    [PF_CLOCK] = "plat_clock",
    [PF_RANDOM] = "plat_random",
    [PF_STDIO_READ] = "plat_io_read/stream",
    [PF_STDIO_WRITE] = "plat_io_write/stream",
    [PF_STDIO_IOCTL] = "plat_stdio_term",
    [PF_HOST_OPEN] = "plat_host_open",
    [PF_HOST_CLOSE] = "plat_host_close",
    [PF_HOST_PREAD] = "plat_host_pread",
    [PF_HOST_PWRITE] = "plat_host_pwrite",
    [PF_HOST_MAP] = "plat_host_map",
    [PF_HOST_STAT] = "plat_host_stat",
    [PF_HOST_READDIR] = "plat_host_readdir",
    [PF_HOST_READLINK] = "plat_host_readlink",
    [PF_HOST_CREATE] = "plat_host_create",
    [PF_HOST_REMOVE] = "plat_host_remove",
    [PF_HOST_MOVE] = "plat_host_move",
    [PF_HOST_SETATTR] = "plat_host_setattr",
    [PF_HOST_SYNC] = "plat_host_sync",
    [PF_FORK] = "plat_space_clone",
    [PF_THREAD_CREATE] = "plat_ctx_create",
    [PF_THREAD_EXIT] = "plat_ctx_exit",
    [PF_THREAD_CTX] = "plat_ctx_get",
    [PF_THREAD_HANDLE] = "plat_ctx_self",
    [PF_KICK] = "plat_ctx_kick",
    [PF_TIMER_SET] = "plat_timer_set",
    [PF_REAP] = "plat_space_reap",
    [PF_NET_CONNECT] = "plat_net_connect",
    [PF_NET_ACCEPT] = "plat_net_accept",
    [PF_NET_SEND] = "plat_io_write/net",
    [PF_NET_RECV] = "plat_io_read/net",
    [PF_NET_SHUTDOWN] = "plat_net_shutdown",
    [PF_NET_CLOSE] = "plat_net_close",
    [PF_NET_DGRAM] = "plat_net_dgram_recv/send",
};

/* Names of the host syscalls the platform can make (the allowlist and the
 * setup calls made through the gate before lockdown). */
static const struct {
  int nr;
  const char *name;
} g_host_syscall_names[] = {
    {HNR_read, "read"},
    {HNR_write, "write"},
    {HNR_close, "close"},
    {HNR_lseek, "lseek"},
    {HNR_mmap, "mmap"},
    {HNR_mprotect, "mprotect"},
    {HNR_munmap, "munmap"},
    {HNR_mremap, "mremap"},
    {HNR_madvise, "madvise"},
    {HNR_rt_sigaction, "rt_sigaction"},
    {HNR_rt_sigprocmask, "rt_sigprocmask"},
    {HNR_rt_sigreturn, "rt_sigreturn"},
    {HNR_getpid, "getpid"},
    {HNR_sendto, "sendto"},
    {HNR_recvfrom, "recvfrom"},
    {HNR_sendmsg, "sendmsg"},
    {HNR_recvmsg, "recvmsg"},
    {HNR_shutdown, "shutdown"},
    {HNR_setitimer, "setitimer"},
    {HNR_clone, "clone"},
    {HNR_exit, "exit"},
    {HNR_gettid, "gettid"},
    {HNR_tgkill, "tgkill"},
    {HNR_ioctl, "ioctl"},
    {HNR_pread64, "pread64"},
    {HNR_pwrite64, "pwrite64"},
    {HNR_fsync, "fsync"},
    {HNR_ftruncate, "ftruncate"},
    {HNR_fchmod, "fchmod"},
    {HNR_sigaltstack, "sigaltstack"},
    {HNR_arch_prctl, "arch_prctl"},
    {HNR_futex, "futex"},
    {HNR_getdents64, "getdents64"},
    {HNR_clock_gettime, "clock_gettime"},
    {HNR_exit_group, "exit_group"},
    {HNR_openat, "openat"},
    {HNR_mkdirat, "mkdirat"},
    {HNR_newfstatat, "newfstatat"},
    {HNR_unlinkat, "unlinkat"},
    {HNR_linkat, "linkat"},
    {HNR_symlinkat, "symlinkat"},
    {HNR_readlinkat, "readlinkat"},
    {HNR_fchmodat, "fchmodat"},
    {HNR_ppoll, "ppoll"},
    {HNR_splice, "splice"},
    {HNR_dup3, "dup3"},
    {HNR_pipe2, "pipe2"},
    {HNR_utimensat, "utimensat"},
    {HNR_renameat2, "renameat2"},
    {HNR_getrandom, "getrandom"},
    {HNR_fchmodat2, "fchmodat2"},
    {HNR_fchownat, "fchownat"},
};

size_t plat_strlen(const char *s) {
  size_t n = 0;
  while (s[n])
    n++;
  return n;
}

static void po_char(struct plat_out *o, char c) {
  if (o->len < sizeof(o->buf))
    o->buf[o->len++] = c;
}

void po_str(struct plat_out *o, const char *s) {
  if (!s)
    s = "(null)";
  while (*s)
    po_char(o, *s++);
}

void po_udec(struct plat_out *o, uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n)
    po_char(o, tmp[--n]);
}

void po_dec(struct plat_out *o, int64_t v) {
  if (v < 0) {
    po_char(o, '-');
    po_udec(o, (uint64_t)0 - (uint64_t)v);
    return;
  }
  po_udec(o, (uint64_t)v);
}

void po_hex(struct plat_out *o, uint64_t v) {
  char tmp[16];
  int n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  po_str(o, "0x");
  while (n)
    po_char(o, tmp[--n]);
}

void po_pad(struct plat_out *o, size_t column) {
  size_t line = o->len;
  while (line > 0 && o->buf[line - 1] != '\n')
    line--;
  do
    po_char(o, ' ');
  while (o->len - line < column);
}

/* Partial writes and EINTR are retried; anything else drops the rest,
 * there is nowhere left to report it. */
void po_flush(struct plat_out *o, int fd) {
  size_t done = 0;
  while (done < o->len) {
    long n = hsys3(HNR_write, fd, o->buf + done, o->len - done);
    if (n == -4)
      continue;
    if (n <= 0 || (size_t)n > o->len - done)
      break;
    done += (size_t)n;
  }
  o->len = 0;
}

/* Same layout as the shim's guest syscall table: "  %-24s %10llu". */
static void print_row(struct plat_out *o, const char *name, uint64_t count) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = (char)('0' + count % 10);
    count /= 10;
  } while (count);
  po_str(o, "  ");
  po_str(o, name);
  po_pad(o, 26);
  for (int i = n; i < 11; i++)
    po_str(o, " ");
  while (n)
    po_char(o, digits[--n]);
  po_str(o, "\n");
  po_flush(o, 2);
}

static void print_header(struct plat_out *o, const char *title,
                         const char *column) {
  po_str(o, title);
  po_str(o, "\n  ");
  po_str(o, column);
  po_pad(o, 26);
  po_str(o, "      calls\n");
  po_flush(o, 2);
}

/* Counts are copied first so that printing the table does not change it. */
static void print_stats(void) {
  uint64_t fn[PF_COUNT], sys[HNR_MAX], total_fn = 0, total_sys = 0;
  struct plat_out o = {.len = 0};
  for (int i = 0; i < PF_COUNT; i++)
    total_fn += fn[i] = g_plat_fn_count[i];
  for (int i = 0; i < HNR_MAX; i++)
    total_sys += sys[i] = g_host_syscall_count[i];

  print_header(&o, "moat: host calls by kind (South contract)", "call");
  for (int i = 0; i < PF_COUNT; i++)
    if (fn[i])
      print_row(&o, g_plat_fn_names[i], fn[i]);
  print_row(&o, "total", total_fn);

  print_header(&o,
               "moat: host calls by kind (host syscalls, all through the gate)",
               "syscall");
  for (size_t i = 0;
       i < sizeof(g_host_syscall_names) / sizeof(g_host_syscall_names[0]);
       i++) {
    int nr = g_host_syscall_names[i].nr;
    if (sys[nr]) {
      print_row(&o, g_host_syscall_names[i].name, sys[nr]);
      sys[nr] = 0;
    }
  }
  for (int i = 0; i < HNR_MAX; i++) {
    if (sys[i]) {
      char name[16] = "syscall ";
      int len = 8, v = i;
      char tmp[4];
      int n = 0;
      do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
      } while (v);
      while (n)
        name[len++] = tmp[--n];
      name[len] = 0;
      print_row(&o, name, sys[i]);
    }
  }
  print_row(&o, "total", total_sys);

  print_header(&o, "moat: guest system calls by entry", "entry");
  print_row(&o, "trap (SIGSYS)", g_plat_entry_count[PE_TRAP]);
  print_row(&o, "fast path", g_plat_entry_count[PE_FAST]);
  print_row(&o, "sites rewritten", g_plat_entry_count[PE_SITES]);
  print_row(&o, "  under other threads", g_plat_entry_count[PE_XMOD]);
  print_row(&o, "  int3 seen by one", g_plat_entry_count[PE_INT3]);
  if (g_plat_lockdown.seccomp_on)
    plat_lockdown_report();
}

_Noreturn void plat_space_exit(int status) {
  plat_count(PF_EXIT);
  if (g_plat_stats)
    print_stats();
  for (;;)
    hsys1(HNR_exit_group, status & 255);
}

_Noreturn void plat_die(const char *what, uint64_t value) {
  struct plat_out o = {.len = 0};
  po_str(&o, "moat: ");
  po_str(&o, what);
  if (value != ~0ull) {
    po_str(&o, " ");
    po_hex(&o, value);
  }
  po_str(&o, "\n");
  po_flush(&o, 2);
  for (;;)
    hsys1(HNR_exit_group, 125);
}
