/* Execution on the Linux platform: per-thread signal stacks, the SIGSYS
 * handler that turns a trapped guest syscall into north_syscall(), the
 * fault handlers that hand guest faults to north_fault(), plat_enter
 * (which starts the guest through a hand-built rt_sigreturn frame, so the
 * kernel loads every register and a clean FPU state at once) and the
 * guest's fs base on every way back to the guest. All of it runs after
 * lockdown: no libc, gate only. */
#include <signal.h>
#include <sys/mman.h>
#include <sys/ucontext.h>

#include "plat_linux.h"

#define RFLAGS_ARITH 0xcd5ull /* CF PF AF ZF SF DF OF */
#define SYS_SECCOMP_CODE 1

bool g_plat_have_fsgsbase;
/* Private to the host process (threads of a guest process share it, a
 * forked child gets a copy and drops the other threads' entries). */
static struct plat_thread *g_threads[PLAT_MAX_THREADS];
static int g_threads_high; /* slots below this may be in use */
static struct plat_thread *g_boot_thread;

/* Layout of a signal stack block (PLAT_ALTSTACK_SIZE, aligned to it):
 * [thread block page][guard page][stack ... top]. */
int plat_thread_create_stack(struct plat_thread **out) {
  size_t size = PLAT_ALTSTACK_SIZE;
  long r = hsys6(HNR_mmap, 0, 2 * size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r < 0 && r > -4096)
    return (int)r;
  uintptr_t raw = (uintptr_t)r;
  uintptr_t base = (raw + size - 1) & ~(size - 1);
  if (base > raw)
    hsys2(HNR_munmap, raw, base - raw);
  if (raw + 2 * size > base + size)
    hsys2(HNR_munmap, base + size, raw + 2 * size - (base + size));
  if (plat_range_touches_window(base, base + size)) {
    hsys2(HNR_munmap, base, size);
    return -LINUX_ENOMEM;
  }
  hsys3(HNR_mprotect, base + 4096, 4096, PROT_NONE);
  struct plat_thread *t = (struct plat_thread *)base;
  t->magic = PLAT_THREAD_MAGIC;
  t->stack_lo = (void *)(base + 8192);
  t->stack_size = size - 8192;
  plat_fast_thread_init(t);
  bool placed = false;
  for (int i = 0; i < PLAT_MAX_THREADS && !placed; i++) {
    struct plat_thread *none = NULL;
    if (__atomic_compare_exchange_n(&g_threads[i], &none, t, false,
                                    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
      placed = true;
      int high = __atomic_load_n(&g_threads_high, __ATOMIC_RELAXED);
      while (high < i + 1 &&
             !__atomic_compare_exchange_n(&g_threads_high, &high, i + 1, true,
                                          __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
        ;
    }
  }
  if (!placed) {
    hsys2(HNR_munmap, base, size);
    return -LINUX_EAGAIN;
  }
  if (!g_boot_thread)
    g_boot_thread = t;
  *out = t;
  return 0;
}

/* On a signal stack the block is found by masking the stack pointer;
 * before plat_enter the boot thread runs on its ordinary stack. */
struct plat_thread *plat_current_thread(void) {
  uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
  uintptr_t base = sp & ~(PLAT_ALTSTACK_SIZE - 1);
  int high = __atomic_load_n(&g_threads_high, __ATOMIC_ACQUIRE);
  for (int i = 0; i < high; i++)
    if ((uintptr_t)__atomic_load_n(&g_threads[i], __ATOMIC_RELAXED) == base)
      return g_threads[i];
  return g_boot_thread;
}

/* Threads of this host process. */
int plat_thread_count(void) {
  int n = 0, high = __atomic_load_n(&g_threads_high, __ATOMIC_ACQUIRE);
  for (int i = 0; i < high; i++)
    if (__atomic_load_n(&g_threads[i], __ATOMIC_RELAXED))
      n++;
  return n;
}

int plat_thread_slots(void) {
  return __atomic_load_n(&g_threads_high, __ATOMIC_ACQUIRE);
}

void plat_thread_forget(struct plat_thread *t) {
  int high = plat_thread_slots();
  for (int i = 0; i < high; i++)
    if (g_threads[i] == t)
      __atomic_store_n(&g_threads[i], NULL, __ATOMIC_SEQ_CST);
  if (g_boot_thread == t)
    g_boot_thread = NULL;
}

struct plat_thread *plat_thread_at(int index) {
  if (index < 0 || index >= PLAT_MAX_THREADS)
    return NULL;
  return __atomic_load_n(&g_threads[index], __ATOMIC_ACQUIRE);
}

static uint64_t read_fs_base(struct plat_thread *t) {
  if (g_plat_have_fsgsbase) {
    uint64_t v;
    __asm__ volatile("rdfsbase %0" : "=r"(v));
    return v;
  }
  return t->fs_base;
}

static int set_fs_base(struct plat_thread *t, uint64_t value) {
  long r = hsys2(HNR_arch_prctl, LINUX_ARCH_SET_FS, value);
  if (r < 0)
    return (int)r;
  if (t)
    t->fs_base = value;
  return 0;
}

static uint32_t fpstate_size(const void *fp) {
  const struct _fpstate *f = fp;
  if (!f)
    return 0;
  /* The kernel's sw_reserved bytes sit at offset 464 of the FXSAVE area. */
  const uint32_t *sw = f->__glibc_reserved1 + 12;
  if (sw[0] == FP_XSTATE_MAGIC1 && sw[1] >= 512 && sw[1] <= 1u << 20)
    return sw[1];
  return 512;
}

static void regs_from_uc(struct moat_regs *r, const ucontext_t *uc,
                         struct plat_thread *t) {
  const greg_t *g = uc->uc_mcontext.gregs;
  r->r8 = (uint64_t)g[REG_R8];
  r->r9 = (uint64_t)g[REG_R9];
  r->r10 = (uint64_t)g[REG_R10];
  r->r11 = (uint64_t)g[REG_R11];
  r->r12 = (uint64_t)g[REG_R12];
  r->r13 = (uint64_t)g[REG_R13];
  r->r14 = (uint64_t)g[REG_R14];
  r->r15 = (uint64_t)g[REG_R15];
  r->rdi = (uint64_t)g[REG_RDI];
  r->rsi = (uint64_t)g[REG_RSI];
  r->rbp = (uint64_t)g[REG_RBP];
  r->rbx = (uint64_t)g[REG_RBX];
  r->rdx = (uint64_t)g[REG_RDX];
  r->rax = (uint64_t)g[REG_RAX];
  r->rcx = (uint64_t)g[REG_RCX];
  r->rsp = (uint64_t)g[REG_RSP];
  r->rip = (uint64_t)g[REG_RIP];
  r->rflags = (uint64_t)g[REG_EFL];
  r->fs_base = read_fs_base(t);
  r->fpstate = uc->uc_mcontext.fpregs;
  r->fpstate_size = fpstate_size(uc->uc_mcontext.fpregs);
  r->fpstate_lazy = 0; /* the kernel saved it in the signal frame */
}

/* The shim may rewrite any register; only rflags' arithmetic bits pass
 * (the guest may not set TF, IF, IOPL ...). fpstate is edited in place:
 * the frame's pointer stays ours. */
static void regs_to_uc(const struct moat_regs *r, ucontext_t *uc) {
  greg_t *g = uc->uc_mcontext.gregs;
  g[REG_R8] = (greg_t)r->r8;
  g[REG_R9] = (greg_t)r->r9;
  g[REG_R10] = (greg_t)r->r10;
  g[REG_R11] = (greg_t)r->r11;
  g[REG_R12] = (greg_t)r->r12;
  g[REG_R13] = (greg_t)r->r13;
  g[REG_R14] = (greg_t)r->r14;
  g[REG_R15] = (greg_t)r->r15;
  g[REG_RDI] = (greg_t)r->rdi;
  g[REG_RSI] = (greg_t)r->rsi;
  g[REG_RBP] = (greg_t)r->rbp;
  g[REG_RBX] = (greg_t)r->rbx;
  g[REG_RDX] = (greg_t)r->rdx;
  g[REG_RAX] = (greg_t)r->rax;
  g[REG_RCX] = (greg_t)r->rcx;
  g[REG_RSP] = (greg_t)r->rsp;
  g[REG_RIP] = (greg_t)r->rip;
  g[REG_EFL] = (greg_t)(((uint64_t)g[REG_EFL] & ~RFLAGS_ARITH) |
                        (r->rflags & RFLAGS_ARITH));
}

/* Apply a thread pointer the shim chose (regs->fs_base). */
static void finish_fs_base(struct plat_thread *t, uint64_t entry_fs,
                           uint64_t new_fs) {
  if (new_fs != entry_fs && set_fs_base(t, new_fs) < 0)
    plat_die("internal error: cannot set the guest's fs base", new_fs);
}

extern char __executable_start[], _end[];

/* A rip inside moat's binary is printed as moat+offset too, ready for
 * addr2line -e build/moat. */
static void po_code_address(struct plat_out *o, uint64_t rip) {
  po_hex(o, rip);
  uint64_t lo = (uint64_t)(uintptr_t)__executable_start;
  if (rip >= lo && rip < (uint64_t)(uintptr_t)_end) {
    po_str(o, " (moat+");
    po_hex(o, rip - lo);
    po_str(o, ")");
  }
}

static _Noreturn void internal_fault(int sig, const ucontext_t *uc,
                                     uint64_t addr) {
  struct plat_out o = {.len = 0};
  po_str(&o, "moat: internal fault: signal ");
  po_dec(&o, sig);
  po_str(&o, " at ");
  po_code_address(&o, (uint64_t)uc->uc_mcontext.gregs[REG_RIP]);
  po_str(&o, ", address ");
  po_hex(&o, addr);
  po_str(&o, "\n");
  po_flush(&o, 2);
  for (;;)
    hsys1(HNR_exit_group, 125);
}

/* The host vDSO's clock_gettime, called by moat (plat_clock), fell back
 * to a system call (the host's clock source no longer serves the vDSO):
 * run it through the gate, where the filter pins the clock, and return
 * to the vDSO after its `syscall`. Only that call, only from the vDSO's
 * text, only while moat runs (from guest code it is the guest's call). */
static bool vdso_fallback(ucontext_t *uc, const siginfo_t *info) {
  uint64_t call = (uint64_t)(uintptr_t)info->si_call_addr;
  if (!g_plat_vdso_clock || call <= g_plat_vdso_lo || call > g_plat_vdso_hi ||
      info->si_syscall != HNR_clock_gettime)
    return false;
  greg_t *g = uc->uc_mcontext.gregs;
  g[REG_RAX] = (greg_t)hsys2(HNR_clock_gettime, g[REG_RDI], g[REG_RSI]);
  return true;
}

static _Noreturn void stray_syscall(const ucontext_t *uc, int nr) {
  struct plat_out o = {.len = 0};
  po_str(&o, "moat: internal error: host system call ");
  po_dec(&o, nr);
  po_str(&o, " made outside the gate after lockdown (a libc call?) at ");
  po_code_address(&o, (uint64_t)uc->uc_mcontext.gregs[REG_RIP]);
  po_str(&o, "\n");
  po_flush(&o, 2);
  for (;;)
    hsys1(HNR_exit_group, 125);
}

/* Did a kick or a child's end come in while inside the library OS?
 * Takes both notes. */
static bool take_notes(struct plat_thread *t) {
  bool kicked = __atomic_exchange_n(&t->kicked, false, __ATOMIC_SEQ_CST);
  bool ended = __atomic_exchange_n(&t->child_ended, false, __ATOMIC_SEQ_CST);
  return kicked || ended;
}

/* Was the thread running guest code when this signal stopped it? That is
 * decided by the thread's state, not by where rip is: guest code also
 * runs outside the window (the host's vDSO, the kernel's vsyscall
 * emulation, a jump into moat's own code), and a trap or fault there is
 * the guest's. The thread is inside the library OS before plat_enter,
 * while a handler runs (in_handler), and in the few instructions after a
 * handler clears in_handler until the rt_sigreturn that resumes the guest
 * (and in plat_enter before its rt_sigreturn): moat's own code on this
 * thread's signal stack, or, in the boot thread's first plat_enter, on
 * its host stack. Guest code that jumps into moat's code runs it on its
 * own stack and stays the guest. */
static bool running_guest(const struct plat_thread *t, const ucontext_t *uc) {
  if (!t || !t->in_guest || t->in_handler)
    return false;
  uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
  uint64_t rsp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
  if (rip < (uint64_t)(uintptr_t)__executable_start ||
      rip >= (uint64_t)(uintptr_t)_end)
    return true;
  uint64_t block = (uint64_t)(uintptr_t)t; /* the signal stack's base */
  bool signal_stack = rsp >= block && rsp <= block + PLAT_ALTSTACK_SIZE;
  bool host_stack = t->entering && !plat_in_guest_window(rsp);
  return !signal_stack && !host_stack;
}

/* Guest code was stopped by a trap, fault or kick: take its registers and
 * mark the thread as inside the library OS. Returns the fs base it had. */
static uint64_t enter_library_os(struct plat_thread *t, const ucontext_t *uc,
                                 struct moat_regs *regs) {
  regs_from_uc(regs, uc, t);
  plat_fast_window(t, regs);
  t->kicked = false;
  t->in_handler = true;
  t->entering = false;
  return regs->fs_base;
}

/* Back to guest code with regs. A kick (or a child's end) that arrived
 * while we were inside the library OS, after the shim last looked at the
 * signals: look again first. */
static void leave_library_os(struct plat_thread *t, ucontext_t *uc,
                             struct moat_regs *regs, uint64_t entry_fs) {
  while (take_notes(t))
    north_interrupt(regs);
  t->in_handler = false;
  finish_fs_base(t, entry_fs, regs->fs_base);
  regs_to_uc(regs, uc);
}

/* The legacy vsyscall page: the kernel emulates a call to one of its
 * three entries (gettimeofday, time, getcpu) by running the system call
 * itself, and seccomp sees it with the entry's address as the call
 * address. By the time our SIGSYS handler runs the kernel has already
 * emulated the entry's `ret` (rip is the caller's return address, rsp is
 * 8 higher). */
#define VSYSCALL_PAGE 0xffffffffff600000ull

/* The kernel hands a handler the interrupted flags but DF: a guest that
 * set AC (popf) would have moat's own unaligned accesses raise #AC
 * (SIGBUS, an internal fault). The guest's flags come back with its
 * context at sigreturn. */
static inline void clear_ac(void) {
  __asm__ volatile("pushfq\n\tandq $~0x40000, (%%rsp)\n\tpopfq"
                   :
                   :
                   : "memory", "cc");
}

static void sigsys_handler(int sig, siginfo_t *info, void *ctx) {
  clear_ac();
  ucontext_t *uc = ctx;
  struct plat_thread *t = plat_current_thread();
  if (info->si_code != SYS_SECCOMP_CODE)
    return; /* not a trap of ours (sent by someone): nothing to emulate */
  /* A trapped syscall while the thread is inside moat means a libc call
   * after lockdown: a bug of moat, never emulated. From guest code it is
   * a guest system call, wherever rip is (the vDSO's fallback `syscall`,
   * the vsyscall page, guest code that jumped into moat's code). */
  if (!running_guest(t, uc)) {
    if (vdso_fallback(uc, info))
      return;
    stray_syscall(uc, info->si_syscall);
  }
  uint64_t call = (uint64_t)(uintptr_t)info->si_call_addr;
  bool vsyscall = (call & ~0xfffull) == VSYSCALL_PAGE;
  struct moat_regs regs;
  uint64_t entry_fs = enter_library_os(t, uc, &regs);
  /* The kernel put -ENOSYS in rax before the filter ran. */
  regs.rax = (uint64_t)(int64_t)info->si_syscall;
  plat_count_entry(PE_TRAP);
  if (!vsyscall)
    plat_fast_trap(call, regs.rax);
  north_syscall(&regs);
  if (vsyscall && regs.rax == (uint64_t)-LINUX_EFAULT) {
    /* Linux ends a vsyscall whose call faulted on a pointer in SIGSEGV
     * (SI_KERNEL), at the entry, before the emulated ret, with rax still
     * -ENOSYS. */
    regs.rip = call;
    regs.rsp -= 8;
    regs.rax = (uint64_t)-LINUX_ENOSYS;
    north_fault(&regs, LINUX_SIGSEGV, LINUX_SI_KERNEL, 0, 0);
  }
  leave_library_os(t, uc, &regs, entry_fs);
}

static void fault_handler(int sig, siginfo_t *info, void *ctx) {
  clear_ac();
  ucontext_t *uc = ctx;
  struct plat_thread *t = plat_current_thread();
  uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
  uint64_t addr = (uint64_t)info->si_addr;
  /* A fault of guest code is the guest's signal wherever rip is: a jump
   * out of the window (the fetch at rip faults), a return to a
   * non-canonical rip, a bad pointer handed to the vDSO, a misaligned
   * vsyscall entry or one with a bad stack or pointer (the kernel's
   * emulation sends SIGSEGV), a jump into moat's own code. */
  if (!running_guest(t, uc)) {
    /* Inside the library OS, only a guest-memory accessor may fault (the
     * guest unmapped a buffer under a call): it resumes and returns
     * EFAULT. Anything else is a bug of moat. */
    bool guest_access = (sig == LINUX_SIGSEGV || sig == LINUX_SIGBUS) &&
                        info->si_code > 0 && plat_in_guest_window(addr);
    uint64_t fix =
        guest_access && t && t->in_handler ? moat_fault_fixup(rip) : 0;
    if (!fix)
      internal_fault(sig, uc, addr);
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)fix;
    return;
  }
  struct moat_regs regs;
  uint64_t entry_fs = enter_library_os(t, uc, &regs);
  /* The int3 of a site the fast path is rewriting under other threads
   * (fastpath.c, code_write): resume at the site once it is whole, by
   * the ordinary way back (a kick that came meanwhile is taken). */
  uint64_t resume;
  if (sig == LINUX_SIGTRAP && info->si_code == LINUX_SI_KERNEL &&
      plat_fast_int3(rip, &resume)) {
    regs.rip = resume;
    leave_library_os(t, uc, &regs, entry_fs);
    return;
  }
  /* The kernel's page-fault error code, for page faults only. */
  uint64_t err = sig == LINUX_SIGSEGV || sig == LINUX_SIGBUS
                     ? (uint64_t)uc->uc_mcontext.gregs[REG_ERR]
                     : 0;
  north_fault(&regs, sig, info->si_code, addr, err);
  leave_library_os(t, uc, &regs, entry_fs);
}

/* plat_ctx_kick's signal. In guest code: let the shim deliver what is
 * pending. Inside the library OS: only note it; the shim looks at the
 * signals before it returns to the guest, and the trap handlers look
 * again when a kick came in while they ran. */
static void kick_handler(int sig, siginfo_t *info, void *ctx) {
  clear_ac();
  ucontext_t *uc = ctx;
  struct plat_thread *t = plat_current_thread();
  if (!t)
    return;
  if (!running_guest(t, uc)) {
    __atomic_store_n(&t->kicked, true, __ATOMIC_SEQ_CST);
    return;
  }
  struct moat_regs regs;
  uint64_t entry_fs = enter_library_os(t, uc, &regs);
  north_interrupt(&regs);
  leave_library_os(t, uc, &regs, entry_fs);
}

/* A child process ended (plat_space_reap collects it). In guest code: as a
 * kick, so the shim's way back collects it now. Inside the library OS:
 * a sleeping futex wait was cut short (the core looks on its way round),
 * and the trap handler looks before it returns to the guest. Unlike a
 * kick it does not end a blocking read or write of a host stream: no
 * guest signal needs to be delivered for it. */
static void chld_handler(int sig, siginfo_t *info, void *ctx) {
  ucontext_t *uc = ctx;
  struct plat_thread *t = plat_current_thread();
  plat_reap_note();
  if (!t)
    return;
  if (!running_guest(t, uc)) {
    __atomic_store_n(&t->child_ended, true, __ATOMIC_SEQ_CST);
    return;
  }
  kick_handler(sig, info, ctx);
}

/* PLAT_SIG_WAKE (wait.c): unblocked only inside plat_wait's ppoll, which
 * it ends; nothing else to do. */
static void wake_handler(int sig, siginfo_t *info, void *ctx) {
  (void)sig, (void)info, (void)ctx;
}

/* The host terminal's size changed (console mode only). Nothing to do
 * here: the signal ends the console reader's plat_stdio_poll, which then
 * reads the new size (core/pty_console.c); elsewhere it is as harmless
 * as a SIGCHLD (a host call ends with EINTR and is retried). */
static void winch_handler(int sig, siginfo_t *info, void *ctx) {
  (void)sig, (void)info, (void)ctx;
}

/* The platform's own real-time signals (the kick, 63; the wake, 62) queue
 * one instance per send: with SA_NODEFER, hundreds sent to a thread the
 * host had not run for a while would all be delivered at once, each
 * frame nested on the last, and overflow the signal stack (SIGSEGV:
 * programs/kick-flood, 3000 queued guest signals at a stopped process;
 * programs/host-wait-edges once in a loaded CI run).
 * They are blocked while their own handler runs: delivered one after the
 * other, never nested. */
#define SA_NESTED 0    /* SA_NODEFER: a nested fault still reaches us */
#define SA_IGNORED 1   /* SIG_IGN */
#define SA_DEFER_OWN 2 /* blocked while its own handler runs */

static int raw_sigaction(int sig, void (*fn)(int, siginfo_t *, void *),
                         int how) {
  bool ignore = how == SA_IGNORED;
  struct linux_sigaction sa = {
      .handler = ignore ? LINUX_SIG_IGN : (uint64_t)(uintptr_t)fn,
      .flags = ignore
                   ? 0
                   : LINUX_SA_SIGINFO | LINUX_SA_ONSTACK | LINUX_SA_RESTORER |
                         (how == SA_DEFER_OWN ? 0 : LINUX_SA_NODEFER),
      .restorer = (uint64_t)(uintptr_t)plat_gate_restorer,
      .mask = 0,
  };
  long r = hsys4(HNR_rt_sigaction, sig, &sa, 0, 8);
  return r < 0 ? (int)r : 0;
}

/* SA_NODEFER: a nested trap or fault (a bug inside a handler) must reach
 * our handler and be reported, not kill the process silently. SIGPIPE and
 * SIGXFSZ are ignored so writes fail with EPIPE/EFBIG instead. */
int plat_signals_install(struct plat_thread *t) {
  struct linux_stack ss = {
      .ss_sp = t->stack_lo, .ss_flags = 0, .pad = 0, .ss_size = t->stack_size};
  long r = hsys2(HNR_sigaltstack, &ss, 0);
  if (r < 0)
    return (int)r;
  static const int faults[] = {LINUX_SIGSEGV, LINUX_SIGBUS, LINUX_SIGFPE,
                               LINUX_SIGILL, LINUX_SIGTRAP};
  int err = raw_sigaction(LINUX_SIGSYS, sigsys_handler, SA_NESTED);
  for (size_t i = 0; !err && i < sizeof(faults) / sizeof(faults[0]); i++)
    err = raw_sigaction(faults[i], fault_handler, SA_NESTED);
  if (!err)
    err = raw_sigaction(LINUX_SIGPIPE, NULL, SA_IGNORED);
  if (!err)
    err = raw_sigaction(LINUX_SIGXFSZ, NULL, SA_IGNORED);
  if (!err)
    err = raw_sigaction(PLAT_SIG_KICK, kick_handler, SA_DEFER_OWN);
  /* plat_wake's signal to a thread in plat_wait's ppoll: only ends it. */
  if (!err)
    err = raw_sigaction(PLAT_SIG_WAKE, wake_handler, SA_DEFER_OWN);
  /* plat_timer_set's expiries (ITIMER_REAL, _VIRTUAL, _PROF) act as a
   * kick of whichever thread they hit. */
  if (!err)
    err = raw_sigaction(LINUX_SIGALRM, kick_handler, SA_NESTED);
  if (!err)
    err = raw_sigaction(LINUX_SIGVTALRM, kick_handler, SA_NESTED);
  if (!err)
    err = raw_sigaction(LINUX_SIGPROF, kick_handler, SA_NESTED);
  /* A child's host-level end: collected by plat_space_reap (reap.c), so that
   * one killed from outside is noticed; guest zombies live in the arena. */
  if (!err)
    err = raw_sigaction(LINUX_SIGCHLD, chld_handler, SA_NESTED);
  if (!err && g_plat_console)
    err = raw_sigaction(LINUX_SIGWINCH, winch_handler, SA_NESTED);
  return err;
}

_Noreturn void plat_enter(const struct moat_regs *regs) {
  plat_count(PF_ENTER);
  struct plat_thread *t = plat_current_thread();
  if (!t)
    plat_die("internal error: plat_enter before lockdown", ~0ull);
  ucontext_t uc;
  __builtin_memset(&uc, 0, sizeof(uc));
  struct moat_regs r = *regs;
  r.rflags &= RFLAGS_ARITH;
  regs_to_uc(&r, &uc);
  uint16_t cs, ss;
  __asm__("mov %%cs, %0" : "=r"(cs));
  __asm__("mov %%ss, %0" : "=r"(ss));
  uc.uc_mcontext.gregs[REG_EFL] = (greg_t)(r.rflags | 0x202);
  uc.uc_mcontext.gregs[REG_CSGSFS] =
      (greg_t)((uint64_t)cs | ((uint64_t)ss << 48));
  uc.uc_mcontext.fpregs = NULL; /* the kernel starts a clean FPU state */
  uc.uc_stack.ss_sp = t->stack_lo;
  uc.uc_stack.ss_size = t->stack_size;
  uc.uc_stack.ss_flags = 0;
  if (set_fs_base(t, regs->fs_base) < 0)
    plat_die("cannot set the guest's fs base", regs->fs_base);
  plat_fast_thread_enter(t);
  t->entering = true;
  t->in_guest = true;
  t->in_handler = false;
  plat_gate_sigreturn(&uc);
}

/* A rewritten system call site jumped here (fast.S, fastpath.c) with
 * the guest's registers in r (rsp, rip, rcx, r11 and rax still to be
 * filled in) and its FPU state still in the registers (saved into the
 * thread block's XSAVE area by the shim if a signal frame needs it): run
 * the call as sigsys_handler does. fast.S resumes the guest at t->fast_rip
 * on t->fast_rsp with r. */
void plat_fast_syscall(unsigned slot, struct moat_regs *r) {
  struct plat_thread *t = plat_current_thread();
  uint64_t flags_in = r->rflags, ret = 0;
  r->rsp = t->fast_rsp;
  r->r11 = flags_in; /* what `syscall` leaves in r11 and rcx */
  r->fs_base = read_fs_base(t);
  r->fpstate = (void *)(uintptr_t)t->fast_xsave;
  r->fpstate_size = plat_fast_fpstate_size();
  /* Not saved by fast.S: a call that delivers no signal never needs it
   * (an XSAVE and XRSTOR of a guest's AVX-512 state cost over a
   * microsecond a call). fast.S loads it back if the shim saved it. */
  r->fpstate_lazy = 1;
  t->kicked = false;
  t->in_handler = true;
  t->entering = false;
  uint64_t entry_fs = r->fs_base;
  plat_count_entry(PE_FAST);
  switch (plat_fast_site(slot, r, entry_fs, &ret)) {
  case FAST_RUN:
    r->rip = r->rcx = ret;
    r->r11 = r->rflags; /* with the flags the site's own code set */
    north_syscall(r);
    break;
  case FAST_JUMP:
  case FAST_TRAP:
    break;
  case FAST_FAULT:
    north_fault(r, LINUX_SIGSEGV, LINUX_SEGV_MAPERR, ret, 4);
    break;
  default:
    /* A jump through a slot that names no site (the guest's own): an
     * invalid instruction there. */
    r->rip = 0x050f0000ull + 8ull * slot;
    north_fault(r, LINUX_SIGILL, LINUX_ILL_ILLOPN, r->rip, 0);
  }
  while (take_notes(t))
    north_interrupt(r);
  t->in_handler = false;
  finish_fs_base(t, entry_fs, r->fs_base);
  r->rflags = (flags_in & ~RFLAGS_ARITH) | (r->rflags & RFLAGS_ARITH);
  t->fast_rip = r->rip;
  t->fast_rsp = r->rsp;
}
