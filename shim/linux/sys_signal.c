/* Signals in the Linux shim: the signal syscalls (state lives in the
 * core), delivery at the end of every syscall and after every fault
 * (default actions, or a real x86-64 rt signal frame on the guest's
 * stack), rt_sigreturn, and north_fault().
 *
 * The frame is the kernel's (arch/x86 rt_sigframe): a return address, the
 * ucontext with the sigcontext GPR block, the siginfo, and the FPU state
 * 64-byte aligned above it. Everything read back at rt_sigreturn is guest
 * memory and is checked before it becomes register state. */
#include "shim.h"

struct shim_sigcontext {
  uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip;
  uint64_t eflags;
  uint16_t cs, gs, fs, ss;
  uint64_t err, trapno, oldmask, cr2;
  uint64_t fpstate;
  uint64_t reserved1[8];
};

struct shim_ucontext {
  uint64_t uc_flags;
  uint64_t uc_link;
  struct linux_stack uc_stack;
  struct shim_sigcontext uc_mcontext;
  uint64_t uc_sigmask;
};

struct shim_rt_sigframe {
  uint64_t pretcode;
  struct shim_ucontext uc;
  struct linux_siginfo info;
};

_Static_assert(sizeof(struct shim_sigcontext) == 256, "sigcontext layout");
_Static_assert(sizeof(struct shim_rt_sigframe) == 440, "rt_sigframe layout");

#define SHIM_UC_FP_XSTATE 0x1
#define SHIM_UC_SIGCONTEXT_SS 0x2
#define SHIM_UC_STRICT_RESTORE_SS 0x4
#define SHIM_FP_XSTATE_MAGIC1 0x46505853u
#define SHIM_USER_CS 0x33
#define SHIM_USER_SS 0x2b
#define SHIM_REDZONE 128
#define SHIM_SS_AUTODISARM (1u << 31)

/* The rflags bits a guest may set through a signal frame (Linux's
 * FIX_EFLAGS): AC OF DF TF SF ZF AF PF CF RF. */
#define SHIM_FIX_EFLAGS 0x50dd5ull
#define SHIM_EFLAGS_TF 0x100ull
#define SHIM_EFLAGS_DF 0x400ull
#define SHIM_EFLAGS_RF 0x10000ull

/* Offsets in the legacy FXSAVE area. */
#define SHIM_FX_FCW 0
#define SHIM_FX_MXCSR 24
#define SHIM_FX_MXCSR_MASK 28
#define SHIM_FX_SW_RESERVED 464
#define SHIM_FX_LEGACY_SIZE 512
#define SHIM_XSAVE_HEADER_SIZE 64

/* rt_sigsuspend's (and ppoll's, pselect6's) caller mask: restored by the
 * frame of the handler that ends the call (it is the frame's saved mask),
 * or right after delivery when no handler runs. It belongs to one thread
 * for the length of one syscall: the thread's North slot keeps it (word
 * SLOT_SAVED_MASK, and SLOT_HAS_SAVED_MASK says it is there). */
enum { SLOT_SAVED_MASK, SLOT_HAS_SAVED_MASK };

static void saved_mask_put(uint64_t mask) {
  uint64_t *slot = moat_north_slot();
  slot[SLOT_SAVED_MASK] = mask; /* at most one per thread */
  slot[SLOT_HAS_SAVED_MASK] = 1;
}

static bool saved_mask_take(uint64_t *mask) {
  uint64_t *slot = moat_north_slot();
  if (!slot[SLOT_HAS_SAVED_MASK])
    return false;
  *mask = slot[SLOT_SAVED_MASK];
  slot[SLOT_HAS_SAVED_MASK] = 0;
  return true;
}

static uint64_t current_mask(void) {
  uint64_t mask = 0;
  moat_sigprocmask(LINUX_SIG_BLOCK, NULL, &mask);
  return mask;
}

static bool sig_default_ignored(int sig) {
  switch (sig) {
  case LINUX_SIGCHLD:
  case LINUX_SIGURG:
  case LINUX_SIGWINCH:
  case LINUX_SIGCONT:
  /* Stopping needs a parent that could continue us; with none, a stop
   * signal is treated as ignored rather than hanging the sandbox. */
  case LINUX_SIGSTOP:
  case LINUX_SIGTSTP:
  case LINUX_SIGTTIN:
  case LINUX_SIGTTOU:
    return true;
  default:
    return false;
  }
}

_Noreturn void shim_die_of_signal(int sig) {
  const struct moat_config *cfg = moat_config();
  if (cfg && cfg->strace)
    moat_log("+++ killed by %s +++\n", shim_signal_name(sig));
  shim_stats_print();
  moat_exit_signal(sig);
}

static bool on_alt_stack(const struct linux_stack *ss, uint64_t sp) {
  uint64_t base = (uint64_t)(uintptr_t)ss->ss_sp;
  if (ss->ss_flags & LINUX_SS_DISABLE || !ss->ss_size)
    return false;
  return sp > base && sp - base <= ss->ss_size;
}

/* Build the frame for sig on the guest stack and point regs at the
 * handler. Returns false when the frame cannot be written (the caller
 * then kills the guest with SIGSEGV, as Linux does). */
static bool setup_frame(struct moat_regs *regs, int sig,
                        const struct linux_siginfo *info,
                        const struct linux_sigaction *act, uint64_t oldmask) {
  struct shim_rt_sigframe frame;
  struct shim_sigcontext *mc = &frame.uc.uc_mcontext;
  struct linux_stack ss;
  uint64_t sp = regs->rsp - SHIM_REDZONE;
  uint64_t top, fpaddr = 0;
  shim_fpstate_ready(regs);
  uint32_t fpsize = regs->fpstate ? regs->fpstate_size : 0;
  bool alt;

  if (!(act->flags & LINUX_SA_RESTORER))
    return false;
  memset(&ss, 0, sizeof(ss));
  ss.ss_flags = LINUX_SS_DISABLE;
  moat_sigaltstack(NULL, &ss);
  alt = on_alt_stack(&ss, regs->rsp);
  if ((act->flags & LINUX_SA_ONSTACK) && !(ss.ss_flags & LINUX_SS_DISABLE) &&
      ss.ss_size && !alt)
    sp = (uint64_t)(uintptr_t)ss.ss_sp + ss.ss_size;
  top = sp;
  if (fpsize) {
    sp -= fpsize;
    sp = ALIGN_DOWN(sp, 64);
    fpaddr = sp;
  }
  sp -= sizeof(frame);
  sp = ALIGN_DOWN(sp, 16) - 8;
  if (sp > top || !user_buf_ok(sp, top - sp, LINUX_PROT_WRITE))
    return false;

  memset(&frame, 0, sizeof(frame));
  frame.pretcode = act->restorer;
  frame.uc.uc_flags = SHIM_UC_SIGCONTEXT_SS | SHIM_UC_STRICT_RESTORE_SS;
  frame.uc.uc_stack.ss_sp = ss.ss_sp;
  frame.uc.uc_stack.ss_size = ss.ss_size;
  frame.uc.uc_stack.ss_flags =
      ((ss.ss_flags & LINUX_SS_DISABLE) ? LINUX_SS_DISABLE
                                        : (alt ? LINUX_SS_ONSTACK : 0)) |
      (int32_t)((uint32_t)ss.ss_flags & SHIM_SS_AUTODISARM);
  mc->r8 = regs->r8;
  mc->r9 = regs->r9;
  mc->r10 = regs->r10;
  mc->r11 = regs->r11;
  mc->r12 = regs->r12;
  mc->r13 = regs->r13;
  mc->r14 = regs->r14;
  mc->r15 = regs->r15;
  mc->rdi = regs->rdi;
  mc->rsi = regs->rsi;
  mc->rbp = regs->rbp;
  mc->rbx = regs->rbx;
  mc->rdx = regs->rdx;
  mc->rax = regs->rax;
  mc->rcx = regs->rcx;
  mc->rsp = regs->rsp;
  mc->rip = regs->rip;
  mc->eflags = regs->rflags;
  mc->cs = SHIM_USER_CS;
  mc->ss = SHIM_USER_SS;
  mc->oldmask = oldmask;
  if (sig == LINUX_SIGSEGV || sig == LINUX_SIGBUS) {
    mc->cr2 = info->u.fault.addr;
    mc->trapno = 14; /* page fault */
  }
  mc->fpstate = fpaddr;
  frame.uc.uc_sigmask = oldmask;
  frame.info = *info;

  if (fpsize) {
    uint32_t magic = 0;
    if (rt_ucopy((void *)(uintptr_t)fpaddr, regs->fpstate, fpsize))
      return false; /* another thread unmapped the stack meanwhile */
    if (fpsize > SHIM_FX_LEGACY_SIZE)
      memcpy(&magic, (char *)regs->fpstate + SHIM_FX_SW_RESERVED, 4);
    if (magic == SHIM_FP_XSTATE_MAGIC1)
      frame.uc.uc_flags |= SHIM_UC_FP_XSTATE;
  }
  if (rt_ucopy((void *)(uintptr_t)sp, &frame, sizeof(frame)))
    return false;
  /* SS_AUTODISARM: the handler runs without an alternate stack; the
   * frame's copy re-arms it at rt_sigreturn. */
  if ((uint32_t)ss.ss_flags & SHIM_SS_AUTODISARM) {
    struct linux_stack off;
    memset(&off, 0, sizeof(off));
    off.ss_flags = LINUX_SS_DISABLE;
    moat_sigaltstack(&off, NULL);
  }

  /* The handler starts with the x87 and SSE control words at their
   * defaults, as after Linux clears the FPU for a handler. */
  if (fpsize >= SHIM_FX_LEGACY_SIZE) {
    uint16_t fcw = 0x37f;
    uint32_t mxcsr = 0x1f80;
    memcpy((char *)regs->fpstate + SHIM_FX_FCW, &fcw, 2);
    memcpy((char *)regs->fpstate + SHIM_FX_MXCSR, &mxcsr, 4);
  }
  regs->rsp = sp;
  regs->rip = act->handler;
  regs->rdi = (uint64_t)sig;
  regs->rsi = sp + offsetof(struct shim_rt_sigframe, info);
  regs->rdx = sp + offsetof(struct shim_rt_sigframe, uc);
  regs->rax = 0;
  regs->rflags &= ~(SHIM_EFLAGS_DF | SHIM_EFLAGS_RF | SHIM_EFLAGS_TF);
  return true;
}

static const char *si_code_name(int sig, int code) {
  static char buf[16];
  switch (code) {
  case LINUX_SI_USER:
    return "SI_USER";
  case LINUX_SI_KERNEL:
    return "SI_KERNEL";
  case LINUX_SI_QUEUE:
    return "SI_QUEUE";
  case LINUX_SI_TIMER:
    return "SI_TIMER";
  case LINUX_SI_TKILL:
    return "SI_TKILL";
  default:
    break;
  }
  if (sig == LINUX_SIGSEGV && code == LINUX_SEGV_MAPERR)
    return "SEGV_MAPERR";
  if (sig == LINUX_SIGSEGV && code == LINUX_SEGV_ACCERR)
    return "SEGV_ACCERR";
  rt_snprintf(buf, sizeof(buf), "%d", code);
  return buf;
}

static void trace_signal(int sig, const struct linux_siginfo *info) {
  const struct moat_config *cfg = moat_config();
  if (!cfg || !cfg->strace)
    return;
  if (info->si_code > 0 &&
      (sig == LINUX_SIGSEGV || sig == LINUX_SIGBUS || sig == LINUX_SIGILL ||
       sig == LINUX_SIGFPE || sig == LINUX_SIGTRAP)) {
    if (info->u.fault.addr)
      moat_log("--- %s {si_signo=%s, si_code=%s, si_addr=0x%llx} ---\n",
               shim_signal_name(sig), shim_signal_name(sig),
               si_code_name(sig, info->si_code),
               (unsigned long long)info->u.fault.addr);
    else
      moat_log("--- %s {si_signo=%s, si_code=%s, si_addr=NULL} ---\n",
               shim_signal_name(sig), shim_signal_name(sig),
               si_code_name(sig, info->si_code));
  } else {
    moat_log("--- %s {si_signo=%s, si_code=%s, si_pid=%d, si_uid=%u} ---\n",
             shim_signal_name(sig), shim_signal_name(sig),
             si_code_name(sig, info->si_code), info->u.kill.pid,
             info->u.kill.uid);
  }
}

static bool is_restart_code(long ret) {
  return ret == -LINUX_ERESTARTSYS || ret == -LINUX_ERESTARTNOINTR ||
         ret == -LINUX_ERESTARTNOHAND || ret == -LINUX_ERESTART_RESTARTBLOCK;
}

/* The syscall instruction is two bytes: stepping back over it and putting
 * the number back in rax runs the call again when the guest resumes. */
static void restart_syscall_now(struct moat_regs *regs, long nr) {
  regs->rax = (uint64_t)nr;
  regs->rip -= 2;
}

void shim_deliver_signals(struct moat_regs *regs, long syscall_nr) {
  bool restart = syscall_nr >= 0 && is_restart_code((long)regs->rax);

  /* Each pass delivers one signal; several pending handlers nest their
   * frames, the lowest signal number ending up innermost... as Linux. */
  for (int round = 0; round < LINUX_NSIG; round++) {
    struct linux_siginfo info;
    struct linux_sigaction act;
    uint64_t oldmask, newmask;
    int sig;

    memset(&info, 0, sizeof(info));
    memset(&act, 0, sizeof(act));
    sig = moat_signal_dequeue(&info, &act);
    if (sig <= 0 || sig > LINUX_NSIG)
      break;
    if (act.handler == LINUX_SIG_IGN)
      continue;
    if (act.handler == LINUX_SIG_DFL) {
      if (sig_default_ignored(sig))
        continue;
      shim_die_of_signal(sig);
    }
    trace_signal(sig, &info);
    if (restart) {
      long ret = (long)regs->rax;
      if (ret == -LINUX_ERESTARTNOINTR ||
          (ret == -LINUX_ERESTARTSYS && (act.flags & LINUX_SA_RESTART)))
        restart_syscall_now(regs, syscall_nr);
      else
        regs->rax = (uint64_t)-LINUX_EINTR;
      restart = false;
    }
    oldmask = current_mask();
    saved_mask_take(&oldmask);
    if (!setup_frame(regs, sig, &info, &act, oldmask))
      shim_die_of_signal(LINUX_SIGSEGV);
    newmask = oldmask | act.mask;
    if (!(act.flags & LINUX_SA_NODEFER))
      newmask |= LINUX_SIGBIT(sig);
    moat_sigprocmask(LINUX_SIG_SETMASK, &newmask, NULL);
    if (act.flags & LINUX_SA_RESETHAND) {
      /* The handler only, as Linux: the flags and mask stay. */
      struct linux_sigaction cur;
      if (moat_sigaction(sig, NULL, &cur) == 0 && cur.handler == act.handler) {
        cur.handler = LINUX_SIG_DFL;
        moat_sigaction(sig, &cur, NULL);
      }
    }
  }
  {
    uint64_t saved;
    if (saved_mask_take(&saved))
      moat_sigprocmask(LINUX_SIG_SETMASK, &saved, NULL);
  }
  /* No handler ran: the interrupted call starts again, invisibly. A
   * restart-block call has no saved state, so it reports EINTR. */
  if (restart) {
    if ((long)regs->rax == -LINUX_ERESTART_RESTARTBLOCK)
      regs->rax = (uint64_t)-LINUX_EINTR;
    else
      restart_syscall_now(regs, syscall_nr);
  }
}

long sys_rt_sigreturn(SYSARGS) {
  struct shim_ucontext uc;
  const struct shim_sigcontext *mc = &uc.uc_mcontext;
  uint64_t frame = regs->rsp - 8;
  uint64_t handler_sp = regs->rsp;
  uint64_t mask;

  if (user_read(&uc, frame + offsetof(struct shim_rt_sigframe, uc),
                sizeof(uc)) < 0)
    shim_die_of_signal(LINUX_SIGSEGV);
  shim_fpstate_ready(regs);
  if (mc->fpstate && regs->fpstate && regs->fpstate_size) {
    char *fp = regs->fpstate;
    uint32_t size = regs->fpstate_size;
    uint32_t mxcsr, mxcsr_mask, magic2 = 0;
    char keep[SHIM_FX_LEGACY_SIZE - SHIM_FX_SW_RESERVED +
              SHIM_XSAVE_HEADER_SIZE];
    size_t keep_len =
        MIN(sizeof(keep),
            size > SHIM_FX_SW_RESERVED ? size - SHIM_FX_SW_RESERVED : 0);
    if (!user_buf_ok(mc->fpstate, size, LINUX_PROT_READ))
      shim_die_of_signal(LINUX_SIGSEGV);
    /* The guest may edit its registers in the frame, never the layout
     * bookkeeping the platform's XRSTOR depends on: the software bytes
     * and the XSAVE header stay the platform's own. */
    memcpy(keep, fp + SHIM_FX_SW_RESERVED, keep_len);
    if (size > SHIM_FX_LEGACY_SIZE + SHIM_XSAVE_HEADER_SIZE + 4)
      memcpy(&magic2, fp + size - 4, 4);
    if (rt_ucopy(fp, (const void *)(uintptr_t)mc->fpstate, size))
      shim_die_of_signal(LINUX_SIGSEGV);
    memcpy(fp + SHIM_FX_SW_RESERVED, keep, keep_len);
    if (size > SHIM_FX_LEGACY_SIZE + SHIM_XSAVE_HEADER_SIZE + 4)
      memcpy(fp + size - 4, &magic2, 4);
    if (size >= SHIM_FX_LEGACY_SIZE) {
      memcpy(&mxcsr, fp + SHIM_FX_MXCSR, 4);
      memcpy(&mxcsr_mask, fp + SHIM_FX_MXCSR_MASK, 4);
      if (!mxcsr_mask)
        mxcsr_mask = 0xffbf;
      mxcsr &= mxcsr_mask;
      memcpy(fp + SHIM_FX_MXCSR, &mxcsr, 4);
    }
  }
  regs->r8 = mc->r8;
  regs->r9 = mc->r9;
  regs->r10 = mc->r10;
  regs->r11 = mc->r11;
  regs->r12 = mc->r12;
  regs->r13 = mc->r13;
  regs->r14 = mc->r14;
  regs->r15 = mc->r15;
  regs->rdi = mc->rdi;
  regs->rsi = mc->rsi;
  regs->rbp = mc->rbp;
  regs->rbx = mc->rbx;
  regs->rdx = mc->rdx;
  regs->rax = mc->rax;
  regs->rcx = mc->rcx;
  regs->rsp = mc->rsp;
  regs->rip = mc->rip;
  regs->rflags =
      (regs->rflags & ~SHIM_FIX_EFLAGS) | (mc->eflags & SHIM_FIX_EFLAGS);
  mask = uc.uc_sigmask &
         ~(LINUX_SIGBIT(LINUX_SIGKILL) | LINUX_SIGBIT(LINUX_SIGSTOP));
  moat_sigprocmask(LINUX_SIG_SETMASK, &mask, NULL);
  /* The frame's alternate stack becomes the current one (this is how
   * SS_AUTODISARM re-arms). As in Linux, a refusal is ignored: a handler
   * still running on the alternate stack cannot replace it. */
  {
    struct linux_stack cur, ss = uc.uc_stack;
    unsigned mode = (unsigned)ss.ss_flags & ~SHIM_SS_AUTODISARM;
    memset(&cur, 0, sizeof(cur));
    cur.ss_flags = LINUX_SS_DISABLE;
    moat_sigaltstack(NULL, &cur);
    if (!on_alt_stack(&cur, handler_sp)) {
      if (mode & LINUX_SS_DISABLE) {
        memset(&ss, 0, sizeof(ss));
        ss.ss_flags = LINUX_SS_DISABLE;
        moat_sigaltstack(&ss, NULL);
      } else if (ss.ss_size >= LINUX_MINSIGSTKSZ) {
        ss.ss_flags = (int32_t)((uint32_t)ss.ss_flags & SHIM_SS_AUTODISARM);
        moat_sigaltstack(&ss, NULL);
      }
    }
  }
  return (long)regs->rax;
}

/* ---- the signal syscalls ---------------------------------------------- */

long sys_rt_sigaction(SYSARGS) {
  struct linux_sigaction act, old;
  int sig = (int)a0;
  int err;

  if (a3 != sizeof(uint64_t))
    return -LINUX_EINVAL;
  if (sig < 1 || sig > LINUX_NSIG)
    return -LINUX_EINVAL;
  if (a1) {
    if (user_read(&act, a1, sizeof(act)) < 0)
      return -LINUX_EFAULT;
    if (sig == LINUX_SIGKILL || sig == LINUX_SIGSTOP)
      return -LINUX_EINVAL;
  }
  if (a2 && !user_buf_ok(a2, sizeof(old), LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  memset(&old, 0, sizeof(old));
  err = moat_sigaction(sig, a1 ? &act : NULL, a2 ? &old : NULL);
  if (err < 0)
    return err;
  if (a2 && user_write(a2, &old, sizeof(old)) < 0)
    return -LINUX_EFAULT;
  return 0;
}

long sys_rt_sigprocmask(SYSARGS) {
  uint64_t set, old = 0;
  int how = (int)a0;
  int err;

  if (a3 != sizeof(uint64_t))
    return -LINUX_EINVAL;
  if (a1) {
    if (user_read(&set, a1, sizeof(set)) < 0)
      return -LINUX_EFAULT;
    if (how != LINUX_SIG_BLOCK && how != LINUX_SIG_UNBLOCK &&
        how != LINUX_SIG_SETMASK)
      return -LINUX_EINVAL;
    set &= ~(LINUX_SIGBIT(LINUX_SIGKILL) | LINUX_SIGBIT(LINUX_SIGSTOP));
  }
  if (a2 && !user_buf_ok(a2, sizeof(old), LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  err = moat_sigprocmask(a1 ? how : LINUX_SIG_BLOCK, a1 ? &set : NULL, &old);
  if (err < 0)
    return err;
  if (a2 && user_write(a2, &old, sizeof(old)) < 0)
    return -LINUX_EFAULT;
  return 0;
}

long sys_rt_sigpending(SYSARGS) {
  uint64_t set = 0;
  int err;
  if (a1 > sizeof(set))
    return -LINUX_EINVAL;
  err = moat_sigpending(&set);
  if (err < 0)
    return err;
  return user_write(a0, &set, (size_t)a1) < 0 ? -LINUX_EFAULT : 0;
}

long sys_sigaltstack(SYSARGS) {
  struct linux_stack ss, cur;
  int err;
  bool on;

  memset(&cur, 0, sizeof(cur));
  cur.ss_flags = LINUX_SS_DISABLE;
  moat_sigaltstack(NULL, &cur);
  on = on_alt_stack(&cur, regs->rsp);
  if (a1 && !user_buf_ok(a1, sizeof(cur), LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  if (a0) {
    unsigned mode;
    if (user_read(&ss, a0, sizeof(ss)) < 0)
      return -LINUX_EFAULT;
    if (on)
      return -LINUX_EPERM;
    mode = (unsigned)ss.ss_flags & ~SHIM_SS_AUTODISARM;
    if (mode != LINUX_SS_DISABLE && mode != LINUX_SS_ONSTACK && mode != 0)
      return -LINUX_EINVAL;
    if (mode == LINUX_SS_DISABLE) {
      ss.ss_sp = NULL;
      ss.ss_size = 0;
    } else if (ss.ss_size < LINUX_MINSIGSTKSZ) {
      return -LINUX_ENOMEM;
    }
    ss.ss_flags = (int32_t)(mode == LINUX_SS_DISABLE
                                ? LINUX_SS_DISABLE
                                : ((uint32_t)ss.ss_flags & SHIM_SS_AUTODISARM));
    err = moat_sigaltstack(&ss, NULL);
    if (err < 0)
      return err;
  }
  if (a1) {
    uint32_t autodisarm = (uint32_t)cur.ss_flags & SHIM_SS_AUTODISARM;
    if ((cur.ss_flags & LINUX_SS_DISABLE) || !cur.ss_size)
      cur.ss_flags = LINUX_SS_DISABLE;
    else
      cur.ss_flags = on ? LINUX_SS_ONSTACK : 0;
    cur.ss_flags |= (int32_t)autodisarm;
    if (user_write(a1, &cur, sizeof(cur)) < 0)
      return -LINUX_EFAULT;
  }
  return 0;
}

long sys_kill(SYSARGS) {
  int sig = (int)a1;
  if (sig < 0 || sig > LINUX_NSIG)
    return -LINUX_EINVAL;
  return moat_kill((int)a0, sig);
}

long sys_tgkill(SYSARGS) {
  int sig = (int)a2;
  if ((int)a0 <= 0 || (int)a1 <= 0 || sig < 0 || sig > LINUX_NSIG)
    return -LINUX_EINVAL;
  return moat_tgkill((int)a0, (int)a1, sig);
}

long sys_tkill(SYSARGS) {
  int sig = (int)a1;
  if ((int)a0 <= 0 || sig < 0 || sig > LINUX_NSIG)
    return -LINUX_EINVAL;
  return moat_tgkill(-1, (int)a0, sig); /* any thread of the sandbox */
}

/* Sleep until a signal interrupts: with one thread, only a signal from
 * outside (or none at all) can end this, exactly as on Linux. */
static long wait_for_signal(void) {
  for (;;) {
    struct linux_timespec hour = {3600, 0};
    int err = moat_clock_nanosleep(LINUX_CLOCK_MONOTONIC, 0, &hour, NULL);
    if (err == -LINUX_EINTR)
      return -LINUX_ERESTARTNOHAND;
    if (err < 0)
      return err;
  }
}

/* rt_sigtimedwait: take a signal of set (normally blocked) without running
 * its handler. The wait runs with set unblocked on top of the caller's
 * mask, so the core's sleep ends when one arrives; any other signal that
 * turns up is handed back for normal delivery and the wait reports EINTR,
 * as on Linux. */
static long sigtimedwait(struct moat_regs *regs, uint64_t a0, uint64_t a1,
                         uint64_t a2, uint64_t a3) {
  uint64_t set, old = 0, open;
  struct linux_timespec left = {0, 0};
  bool forever = !a2;

  if (a3 != sizeof(uint64_t))
    return -LINUX_EINVAL;
  if (user_read(&set, a0, sizeof(set)) < 0)
    return -LINUX_EFAULT;
  set &= ~(LINUX_SIGBIT(LINUX_SIGKILL) | LINUX_SIGBIT(LINUX_SIGSTOP));
  if (a2) {
    if (user_read(&left, a2, sizeof(left)) < 0)
      return -LINUX_EFAULT;
    if (left.tv_sec < 0 || left.tv_nsec < 0 || left.tv_nsec >= 1000000000)
      return -LINUX_EINVAL;
  }
  if (a1 && !user_buf_ok(a1, sizeof(struct linux_siginfo), LINUX_PROT_WRITE))
    return -LINUX_EFAULT;
  moat_sigprocmask(LINUX_SIG_BLOCK, NULL, &old);
  open = old & ~set;
  moat_sigwait_set(set);
  for (;;) {
    struct linux_siginfo info;
    struct linux_sigaction act;
    struct linux_timespec rem = {0, 0};
    int sig, err;

    memset(&info, 0, sizeof(info));
    moat_sigprocmask(LINUX_SIG_SETMASK, &open, NULL);
    sig = moat_signal_dequeue(&info, &act);
    if (sig > 0) {
      moat_sigprocmask(LINUX_SIG_SETMASK, &old, NULL);
      if (set & LINUX_SIGBIT(sig)) {
        if (a1 && user_write(a1, &info, sizeof(info)) < 0)
          return -LINUX_EFAULT;
        return sig;
      }
      /* Not one we wait for: it is delivered as usual on the way out. */
      moat_signal_raise(&info);
      return -LINUX_EINTR;
    }
    if (!forever && !left.tv_sec && !left.tv_nsec) {
      moat_sigprocmask(LINUX_SIG_SETMASK, &old, NULL);
      return -LINUX_EAGAIN;
    }
    if (forever) {
      left.tv_sec = 3600;
      left.tv_nsec = 0;
    }
    err = moat_clock_nanosleep(LINUX_CLOCK_MONOTONIC, 0, &left, &rem);
    moat_sigprocmask(LINUX_SIG_SETMASK, &old, NULL);
    if (err == 0) {
      left.tv_sec = 0;
      left.tv_nsec = 0;
    } else if (err == -LINUX_EINTR) {
      left = rem;
    } else {
      return err;
    }
  }
}

long sys_rt_sigtimedwait(SYSARGS) {
  long r = sigtimedwait(regs, a0, a1, a2, a3);
  moat_sigwait_set(0);
  return r;
}

long sys_pause(SYSARGS) {
  return wait_for_signal();
}

void shim_sigmask_swap(uint64_t mask) {
  uint64_t old = 0;
  mask &= ~(LINUX_SIGBIT(LINUX_SIGKILL) | LINUX_SIGBIT(LINUX_SIGSTOP));
  moat_sigprocmask(LINUX_SIG_SETMASK, &mask, &old);
  saved_mask_put(old);
}

long sys_rt_sigsuspend(SYSARGS) {
  uint64_t mask, old = 0, pending = 0, all = ~0ull;
  if (a1 != sizeof(uint64_t))
    return -LINUX_EINVAL;
  if (user_read(&mask, a0, sizeof(mask)) < 0)
    return -LINUX_EFAULT;
  mask &= ~(LINUX_SIGBIT(LINUX_SIGKILL) | LINUX_SIGBIT(LINUX_SIGSTOP));
  /* Under a full mask, moat_sigpending shows every pending signal. */
  moat_sigprocmask(LINUX_SIG_SETMASK, &all, &old);
  moat_sigpending(&pending);
  moat_sigprocmask(LINUX_SIG_SETMASK, &mask, NULL);
  saved_mask_put(old);
  /* A signal already pending that the new mask lets through ends the
   * suspension at once; delivery then runs its handler. */
  if (pending & ~mask)
    return -LINUX_ERESTARTNOHAND;
  return wait_for_signal();
}

/* ---- faults ------------------------------------------------------------ */

void north_fault(struct moat_regs *regs, int signo, int code, uint64_t addr,
                 uint64_t err) {
  struct linux_sigaction act;
  struct linux_siginfo info;

  if (signo < 1 || signo > LINUX_NSIG)
    signo = LINUX_SIGSEGV;
  if (signo == LINUX_SIGSEGV) {
    /* Pages of a file mapping past the file's end have no host access:
     * the core fills them if the file has grown, else it is SIGBUS (a
     * write to a read-only mapping stays SIGSEGV, as on Linux). */
    int r = moat_mm_fault(addr, (err & MOAT_FAULT_WRITE) ? LINUX_PROT_WRITE
                                                         : LINUX_PROT_READ);
    if (r == 1)
      return; /* filled: the access runs again */
    if (r == LINUX_SIGBUS) {
      signo = LINUX_SIGBUS;
      code = LINUX_BUS_ADRERR;
    }
  }
  memset(&act, 0, sizeof(act));
  moat_sigaction(signo, NULL, &act);
  /* A fault cannot be ignored or blocked away: resuming would fault
   * again forever. Linux then forces the default action; so do we. */
  memset(&info, 0, sizeof(info));
  info.si_signo = signo;
  info.si_code = code;
  info.u.fault.addr = addr;
  if (act.handler == LINUX_SIG_DFL || act.handler == LINUX_SIG_IGN ||
      (current_mask() & LINUX_SIGBIT(signo))) {
    trace_signal(signo, &info);
    shim_die_of_signal(signo);
  }
  if (moat_signal_raise(&info) < 0)
    shim_die_of_signal(signo);
  shim_deliver_signals(regs, -1);
}

/* signalfd, signalfd4 (core/signalfd.c): the mask is a kernel sigset of
 * exactly 8 bytes. */
static long do_signalfd(uint64_t fd, uint64_t umask, uint64_t size,
                        uint64_t flags) {
  uint64_t mask;
  if (size != sizeof(mask))
    return -LINUX_EINVAL;
  if ((int)flags & ~(LINUX_O_NONBLOCK | LINUX_O_CLOEXEC))
    return -LINUX_EINVAL;
  if (user_read(&mask, umask, sizeof(mask)) < 0)
    return -LINUX_EFAULT;
  return moat_signalfd4((int)fd, mask, (int)flags);
}

long sys_signalfd(SYSARGS) {
  return do_signalfd(a0, a1, a2, 0);
}

long sys_signalfd4(SYSARGS) {
  return do_signalfd(a0, a1, a2, a3);
}
