/* The VM platform's address spaces, execution contexts and scheduler
 * (docs/vm.md, "Processes"): the South contract's plat_space_*,
 * plat_ctx_*, plat_enter, plat_wait/plat_wake and plat_timer_set, and
 * the path of every guest trap into the North shim and back.
 *
 * One CPU. A context runs guest code in ring 3 or the library OS on its
 * own kernel stack (in its space's own region); the kernel runs with
 * interrupts off, so a context leaves the CPU only where it calls
 * vm_schedule: in plat_wait, at its end, or when the timer preempts it
 * in ring 3. Round robin, a 10 ms slice. */
#include "vm.h"

extern char __space_start[], __space_end[];

struct ctx *vm_cur;
uint64_t vm_kstack_top;
extern uint8_t vm_tss[104];

static struct space *g_spaces;
static int g_next_space_id = 1;
static uint64_t g_next_ctx_id = 1;
static struct ctx *g_zombie_ctx;
static struct space *g_zombie_space;
static int64_t g_slice_start;
static int g_nctx_total;

#define SLICE_NS 10000000

static uint64_t stack_va(int slot) {
  return KSTACK_BASE + (uint64_t)slot * KSTACK_STRIDE;
}

static void *kzpage(void) {
  uint64_t pa = page_alloc();
  return pa ? phys_to_virt(pa) : NULL;
}

static void kfree_page(void *p) {
  page_unref(virt_to_phys_direct(p));
}

static struct space *space_by_id(int id) {
  for (struct space *s = g_spaces; s; s = s->next)
    if (s->id == id)
      return s;
  return NULL;
}

static int slot_take(struct space *sp, int want) {
  for (int i = want >= 0 ? want : 0; i < KSTACK_SLOTS; i++) {
    if (!(sp->slots[i / 64] & (1ull << (i % 64)))) {
      sp->slots[i / 64] |= 1ull << (i % 64);
      return i;
    }
    if (want >= 0)
      return -1;
  }
  return -1;
}

static void fpu_init_area(uint8_t *a) {
  vm_memset(a, 0, vm_fpu_size);
  uint16_t fcw = 0x37f;
  uint32_t mxcsr = 0x1f80;
  vm_memcpy(a, &fcw, 2);
  vm_memcpy(a + 24, &mxcsr, 4);
}

static void xsave(uint8_t *a) {
  __asm__ volatile("xsave64 (%0)"
                   :
                   : "r"(a), "a"((uint32_t)vm_xcr0),
                     "d"((uint32_t)(vm_xcr0 >> 32))
                   : "memory");
}

static void xrstor(const uint8_t *a) {
  __asm__ volatile("xrstor64 (%0)"
                   :
                   : "r"(a), "a"((uint32_t)vm_xcr0),
                     "d"((uint32_t)(vm_xcr0 >> 32))
                   : "memory");
}

/* A context of sp with its kernel stack in slot (or any: -1). */
static struct ctx *ctx_new(struct space *sp, int want_slot) {
  if (g_nctx_total >= 4096)
    return NULL;
  struct ctx *c = kzpage();
  if (!c)
    return NULL;
  int slot = slot_take(sp, want_slot);
  if (slot < 0 || kmap_pages(sp->pml4, stack_va(slot), KSTACK_SIZE)) {
    if (slot >= 0)
      sp->slots[slot / 64] &= ~(1ull << (slot % 64));
    kfree_page(c);
    return NULL;
  }
  c->id = g_next_ctx_id++;
  c->sp = sp;
  c->slot = slot;
  c->fpu = (uint8_t *)c + 2048;
  fpu_init_area(c->fpu);
  c->next_in_space = sp->ctxs;
  sp->ctxs = c;
  sp->nctx++;
  g_nctx_total++;
  return c;
}

static struct space *space_new(int parent) {
  struct space *sp = kzpage();
  if (!sp)
    return NULL;
  sp->pml4 = space_pml4_new();
  if (!sp->pml4) {
    kfree_page(sp);
    return NULL;
  }
  sp->cr3 = virt_to_phys_direct(sp->pml4);
  size_t dlen = (size_t)(__space_end - __space_start);
  if (kmap_pages(sp->pml4, (uint64_t)(uintptr_t)__space_start, dlen)) {
    space_free_all(sp->pml4);
    kfree_page(sp);
    return NULL;
  }
  sp->id = g_next_space_id++;
  sp->parent = parent;
  sp->next = g_spaces;
  g_spaces = sp;
  return sp;
}

/* ---- switching ---- */

static void set_kstack(struct ctx *c) {
  vm_kstack_top = stack_va(c->slot) + KSTACK_SIZE;
  vm_memcpy(vm_tss + 4, &vm_kstack_top, 8);
}

/* What a context does first after it got the CPU: release the dead. */
static void after_switch(void) {
  while (g_zombie_ctx) {
    struct ctx *c = g_zombie_ctx;
    g_zombie_ctx = c->next_run;
    if (!c->sp->dead) {
      kunmap_pages(c->sp->pml4, stack_va(c->slot), KSTACK_SIZE);
      c->sp->slots[c->slot / 64] &= ~(1ull << (c->slot % 64));
    }
    kfree_page(c);
  }
  while (g_zombie_space) {
    struct space *sp = g_zombie_space;
    g_zombie_space = sp->next;
    space_free_all(sp->pml4);
    kfree_page(sp);
  }
  g_slice_start = vm_now();
}

static void switch_to(struct ctx *next) {
  struct ctx *prev = vm_cur;
  int64_t now = vm_now();
  if (prev && prev->state != CTX_DEAD) {
    prev->cpu_ns += now - prev->run_since;
    if (!prev->regs || prev->regs->fpstate_lazy)
      xsave(prev->fpu);
  }
  next->run_since = now;
  set_kstack(next);
  wrmsr(MSR_FS_BASE, next->fs_base);
  xrstor(next->fpu);
  uint64_t cr3 = 0;
  if (!prev || prev->sp != next->sp) {
    cr3 = next->sp->cr3;
    vm_cur_pml4 = next->sp->pml4;
  }
  vm_cur = next;
  static uint64_t dead_ksp;
  vm_switch(prev ? &prev->ksp : &dead_ksp, next->ksp, cr3);
  after_switch();
}

static struct ctx *pick_next(void) {
  /* round robin over every context of every space, after the current */
  struct ctx *first = NULL;
  bool after = false;
  for (struct space *s = g_spaces; s; s = s->next) {
    if (s->dead)
      continue;
    for (struct ctx *c = s->ctxs; c; c = c->next_in_space) {
      if (c == vm_cur) {
        after = true;
        continue;
      }
      if (c->state != CTX_RUNNABLE)
        continue;
      if (after)
        return c;
      if (!first)
        first = c;
    }
  }
  return first;
}

static void check_deadlines(void);

void vm_schedule(void) {
  for (;;) {
    struct ctx *next = pick_next();
    if (next) {
      switch_to(next);
      return;
    }
    if (vm_cur && vm_cur->state == CTX_RUNNABLE)
      return;
    vm_idle(); /* an interrupt may make a context runnable */
    check_deadlines();
  }
}

/* ---- waiting ---- */

static int io_check(struct plat_io *io, int nio) {
  int n = 0;
  for (int i = 0; i < nio; i++) {
    uint16_t r = 0;
    if (io[i].kind == PLAT_IO_STREAM && io[i].handle == 0) {
      vm_serial_rx_poll();
      if (vm_stdin_ready())
        r = io[i].events & VM_POLLIN;
    } else if (io[i].kind == PLAT_IO_STREAM &&
               (io[i].handle == 1 || io[i].handle == 2)) {
      r = io[i].events & VM_POLLOUT;
    } else {
      r = VM_POLLNVAL;
    }
    io[i].revents = r;
    if (r)
      n++;
  }
  return n;
}

static void wake_ctx(struct ctx *c, int result) {
  c->wait_result = result;
  c->state = CTX_RUNNABLE;
}

static int64_t space_cpu(struct space *sp, bool user, int64_t now);

static void check_deadlines(void) {
  int64_t now = vm_now();
  for (struct space *s = g_spaces; s; s = s->next) {
    if (s->dead)
      continue;
    bool fire = false;
    for (int w = 0; w < 3; w++) {
      if (!s->timer_deadline[w])
        continue;
      int64_t t = w == PLAT_TIMER_REAL
                      ? now
                      : space_cpu(s, w == PLAT_TIMER_VIRTUAL, now);
      if (s->timer_deadline[w] <= t) {
        s->timer_deadline[w] = 0;
        fire = true;
      }
    }
    for (struct ctx *c = s->ctxs; c; c = c->next_in_space) {
      if (fire) {
        c->kicked = true;
        if (c->in_core) /* between its look at signals and a sleep */
          c->kick_kernel = true;
        if (c->state == CTX_WAITING) {
          wake_ctx(c, -LINUX_EINTR);
          continue;
        }
      }
      if (c->state == CTX_WAITING && c->deadline >= 0 && c->deadline <= now)
        wake_ctx(c, -LINUX_ETIMEDOUT);
    }
  }
}

/* Standard input has bytes (an interrupt): wake its waiters, which look
 * at their io themselves (plat_wait). Their io arrays are not read here:
 * they are in the library OS's memory of the waiter's space (its kernel
 * stack, mostly), which the current space maps differently or not at
 * all. */
void sched_wake_io(void) {
  if (!vm_stdin_ready())
    return;
  for (struct space *s = g_spaces; s; s = s->next)
    for (struct ctx *c = s->ctxs; c; c = c->next_in_space)
      if (c->state == CTX_WAITING && c->wait_stdin)
        wake_ctx(c, 1);
}

int plat_wait(uint32_t *word, uint32_t expected, struct plat_io *io, int nio,
              int64_t timeout_ns) {
  IRQ_GUARD();
  if (nio < 0 || nio > PLAT_WAIT_IO_MAX || (nio && !io))
    return -LINUX_EINVAL;
  for (int i = 0; i < nio; i++)
    if (io[i].kind < PLAT_IO_STREAM || io[i].kind > PLAT_IO_PUBLISHED)
      return -LINUX_EINVAL;
  if (word && __atomic_load_n(word, __ATOMIC_SEQ_CST) != expected)
    return -LINUX_EAGAIN;
  struct ctx *c = vm_cur;
  int n = io_check(io, nio);
  if (n > 0)
    return n;
  if (timeout_ns == 0)
    return -LINUX_ETIMEDOUT;
  if (c->kick_kernel) {
    c->kick_kernel = false;
    return -LINUX_EINTR;
  }
  c->wait_key = word ? mem_key(word) : (struct wait_key){0, 0};
  c->deadline = timeout_ns < 0 ? -1 : vm_now() + timeout_ns;
  c->wait_nio = nio;
  c->wait_stdin = false;
  for (int i = 0; i < nio; i++)
    if (io[i].kind == PLAT_IO_STREAM && io[i].handle == 0)
      c->wait_stdin = true;
  c->wait_result = -LINUX_EINTR;
  c->state = CTX_WAITING;
  vm_schedule();
  c->wait_nio = 0;
  c->wait_stdin = false;
  c->wait_key = (struct wait_key){0, 0};
  if (c->wait_result > 0)
    return io_check(io, nio) > 0 ? io_check(io, nio) : -LINUX_EINTR;
  return c->wait_result;
}

int plat_wake(uint32_t *word, int count) {
  IRQ_GUARD();
  if (!word)
    return 0;
  struct wait_key key = mem_key(word);
  int n = 0;
  for (struct space *s = g_spaces; s && n < count; s = s->next)
    for (struct ctx *c = s->ctxs; c && n < count; c = c->next_in_space)
      if (c->state == CTX_WAITING && c->wait_key.addr == key.addr &&
          c->wait_key.space == key.space) {
        wake_ctx(c, 0);
        n++;
      }
  return n;
}

/* ---- time ---- */

void sched_tick(void) {
  check_deadlines();
}

/* At a timer interrupt in ring 3 or in the core (interrupts were on):
 * another context's turn when the slice is over. */
static void maybe_preempt(void) {
  if (vm_now() - g_slice_start >= SLICE_NS && pick_next())
    vm_schedule();
}

void sched_preempt(void) {
  if (vm_cur && vm_cur->state == CTX_RUNNABLE)
    maybe_preempt();
}

int plat_timer_set(int which, int64_t ns, int64_t *out_now) {
  IRQ_GUARD();
  if (which < PLAT_TIMER_REAL || which > PLAT_TIMER_PROF)
    return -LINUX_EINVAL;
  if (ns < 0 && ns != PLAT_TIMER_KEEP)
    return -LINUX_EINVAL;
  int64_t now = vm_now();
  if (which != PLAT_TIMER_REAL)
    now = space_cpu(vm_cur->sp, which == PLAT_TIMER_VIRTUAL, now);
  if (out_now)
    *out_now = now;
  if (ns == PLAT_TIMER_KEEP)
    return 0;
  vm_cur->sp->timer_deadline[which] = ns ? now + ns : 0;
  return 0;
}

/* The CPU time of sp's contexts, the running one's current stretch
 * included: all of it, or (user) only the time in ring 3. */
static int64_t space_cpu(struct space *sp, bool user, int64_t now) {
  int64_t t = user ? sp->dead_user_ns : sp->dead_cpu_ns;
  for (struct ctx *x = sp->ctxs; x; x = x->next_in_space)
    t += user ? x->user_ns : x->cpu_ns;
  struct ctx *c = vm_cur;
  if (c && c->sp == sp && c->state != CTX_DEAD) {
    if (!user)
      t += now - c->run_since;
    else if (!c->regs) /* an interrupt in ring 3 */
      t += now - c->user_since;
  }
  return t;
}

/* CPU time of the calling context (thread) or its space, all of it or
 * only the guest's own (user: from each return to ring 3 to the next
 * trap). */
int64_t sched_cpu_ns(bool thread, bool user) {
  IRQ_GUARD();
  struct ctx *c = vm_cur;
  int64_t now = vm_now();
  if (thread)
    return user ? c->user_ns : c->cpu_ns + (now - c->run_since);
  return space_cpu(c->sp, user, now);
}

/* ---- guest traps ---- */

static void frame_to_regs(const struct vm_frame *f, struct moat_regs *r,
                          struct ctx *c) {
  r->r8 = f->r8, r->r9 = f->r9, r->r10 = f->r10, r->r11 = f->r11;
  r->r12 = f->r12, r->r13 = f->r13, r->r14 = f->r14, r->r15 = f->r15;
  r->rdi = f->rdi, r->rsi = f->rsi, r->rbp = f->rbp, r->rbx = f->rbx;
  r->rdx = f->rdx, r->rax = f->rax, r->rcx = f->rcx, r->rsp = f->rsp;
  r->rip = f->rip, r->rflags = f->rflags;
  r->fs_base = c->fs_base;
  r->fpstate = c->fpu;
  r->fpstate_size = vm_fpu_size;
  r->fpstate_lazy = 1;
}

/* The arithmetic flags, DF, TF, AC and ID are the guest's; IF is always
 * on in ring 3, IOPL 0. */
#define USER_FLAGS 0x250fd5ull

static void regs_to_frame(const struct moat_regs *r, struct vm_frame *f) {
  f->r8 = r->r8, f->r9 = r->r9, f->r10 = r->r10, f->r11 = r->r11;
  f->r12 = r->r12, f->r13 = r->r13, f->r14 = r->r14, f->r15 = r->r15;
  f->rdi = r->rdi, f->rsi = r->rsi, f->rbp = r->rbp, f->rbx = r->rbx;
  f->rdx = r->rdx, f->rax = r->rax, f->rcx = r->rcx, f->rsp = r->rsp;
  f->rip = r->rip;
  f->rflags = (r->rflags & USER_FLAGS) | 0x202;
  f->cs = UCODE;
  f->ss = UDATA;
  f->vector = f->error = 0;
}

static bool canonical_user(uint64_t a) {
  return a < WINDOW_HI;
}

/* Back to the guest with r: the kicks first (north_interrupt), then the
 * thread pointer and the FPU state the shim may have changed. */
static void return_to_guest(struct ctx *c, struct moat_regs *r,
                            struct vm_frame *f) {
  while (c->kicked) {
    c->kicked = false;
    c->in_core = true;
    __asm__ volatile("sti" : : : "memory");
    north_interrupt(r);
    __asm__ volatile("cli" : : : "memory");
    c->in_core = false;
  }
  c->kick_kernel = false;
  if (r->fs_base != c->fs_base) {
    c->fs_base = canonical_user(r->fs_base) ? r->fs_base : 0;
    wrmsr(MSR_FS_BASE, c->fs_base);
  }
  if (!r->fpstate_lazy)
    xrstor(c->fpu);
  regs_to_frame(r, f);
  if (!canonical_user(f->rip)) /* iretq would #GP in ring 0 */
    f->rip = 0;
  c->regs = NULL;
  c->user_since = vm_now();
}

/* The legacy vsyscall page, as Linux emulates it: a call to one of its
 * three entries runs that system call (gettimeofday, time, getcpu) and
 * returns to the caller; a misaligned entry, a bad stack or a faulting
 * pointer argument is SIGSEGV (SI_KERNEL) at the entry. */
#define VSYSCALL_PAGE 0xffffffffff600000ull

static void vsyscall(struct ctx *c, struct moat_regs *r) {
  static const uint64_t nr[3] = {96, 201, 309};
  uint64_t entry = r->rip, off = entry - VSYSCALL_PAGE, ret;
  c->in_core = true;
  __asm__ volatile("sti" : : : "memory");
  /* the return address from the guest's stack: a user address only
   * (rt_ucopy checks nothing; the kernel's memory would be read) */
  if (off % 0x400 == 0 && off <= 0x800 && r->rsp <= WINDOW_HI - sizeof(ret) &&
      !rt_ucopy(&ret, (const void *)(uintptr_t)r->rsp, sizeof(ret))) {
    /* Linux checks the pointers first: one outside user space is a
     * SIGSEGV at it (SEGV_MAPERR) */
    static const uint8_t size[3][2] = {{16, 8}, {8, 0}, {4, 4}};
    uint64_t arg[2] = {r->rdi, r->rsi};
    for (int i = 0; i < 2; i++) {
      unsigned n = size[off / 0x400][i];
      if (n && arg[i] && (arg[i] >= WINDOW_HI || WINDOW_HI - arg[i] < n)) {
        r->rax = (uint64_t)-LINUX_ENOSYS;
        north_fault(r, LINUX_SIGSEGV, 1 /* SEGV_MAPERR */, arg[i],
                    MOAT_FAULT_WRITE);
        goto out;
      }
    }
    r->rax = nr[off / 0x400];
    r->rip = ret;
    r->rsp += 8;
    north_syscall(r);
    if (r->rax != (uint64_t)-LINUX_EFAULT)
      goto out;
    r->rip = entry;
    r->rsp -= 8;
    r->rax = (uint64_t)-LINUX_ENOSYS;
  }
  north_fault(r, LINUX_SIGSEGV, 0x80 /* SI_KERNEL */, 0, 0);
out:
  __asm__ volatile("cli" : : : "memory");
  vm_cur->in_core = false;
}

void vm_user_trap(struct vm_frame *f, bool refused) {
  struct ctx *c = vm_cur;
  struct moat_regs r;
  c->user_ns += vm_now() - c->user_since;
  frame_to_regs(f, &r, c);
  c->regs = &r;
  uint64_t v = f->vector;
  if (v == 14 && (f->error & MOAT_FAULT_FETCH) &&
      (f->rip & ~0xfffull) == VSYSCALL_PAGE) {
    vsyscall(c, &r);
  } else if (v == 0x80) {
    c->in_core = true;
    __asm__ volatile("sti" : : : "memory");
    north_syscall(&r);
    __asm__ volatile("cli" : : : "memory");
    vm_cur->in_core = false;
  } else if (v >= 32 && v < 48) {
    maybe_preempt();
  } else {
    int signo = LINUX_SIGSEGV, code = 0x80; /* SI_KERNEL */
    uint64_t addr = 0, err = 0;
    switch (v) {
    case 0:
      signo = LINUX_SIGFPE, code = 1; /* FPE_INTDIV */
      addr = f->rip;
      break;
    case 1:
    case 3:
      signo = LINUX_SIGTRAP, code = v == 1 ? 2 : 0x80; /* TRAP_TRACE */
      break;
    case 6:
      signo = LINUX_SIGILL, code = 2; /* ILL_ILLOPN */
      addr = f->rip;
      break;
    case 16:
    case 19:
      signo = LINUX_SIGFPE, code = 0;
      addr = f->rip;
      break;
    case 17:
      signo = LINUX_SIGBUS, code = 1; /* BUS_ADRALN */
      break;
    case 14: {
      uint64_t cr2;
      __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
      addr = cr2;
      err = f->error & (MOAT_FAULT_WRITE | MOAT_FAULT_FETCH);
      /* SEGV_ACCERR when something is mapped there (PROT_NONE pages
       * are not present to the CPU, but mapped), else SEGV_MAPERR */
      code = (f->error & 1) || refused ? 2 : 1;
      break;
    }
    default:
      break;
    }
    c->in_core = true;
    __asm__ volatile("sti" : : : "memory");
    north_fault(&r, signo, code, addr, err);
    __asm__ volatile("cli" : : : "memory");
    vm_cur->in_core = false;
  }
  /* vm_cur, not c: in the child of a fork, this stack is a copy */
  return_to_guest(vm_cur, &r, f);
}

/* ---- contexts ---- */

_Noreturn static void enter_with(struct ctx *c, const struct moat_regs *regs) {
  struct vm_frame *f =
      (struct vm_frame *)(vm_kstack_top - sizeof(struct vm_frame));
  struct moat_regs r = *regs;
  r.fpstate = c->fpu;
  r.fpstate_lazy = 1;
  c->fs_base = ~r.fs_base; /* return_to_guest loads it */
  c->in_core = false;
  return_to_guest(c, &r, f);
  __asm__ volatile("mov %0, %%rsp; jmp vm_trap_return" : : "r"(f) : "memory");
  __builtin_unreachable();
}

_Noreturn void plat_enter(const struct moat_regs *regs) {
  irq_save();
  enter_with(vm_cur, regs);
}

void vm_ctx_first(void);
void vm_ctx_first(void) {
  after_switch();
  struct ctx *c = vm_cur;
  enter_with(c, &c->start_regs);
}

/* The switch frame vm_switch pops (rflags, r15, r14, r13, r12, rbx,
 * rbp, return address) at the top of c's stack, written through the
 * direct map; interrupts off. */
static void stack_frame(struct ctx *c, uint64_t at, uint64_t r12,
                        void (*ret)(void)) {
  uint64_t w[8] = {0x2, 0, 0, 0, r12, 0, 0, (uint64_t)(uintptr_t)ret};
  uint64_t pa = mem_pa(c->sp->pml4, at);
  if (pa == (uint64_t)-1 || ((pa + sizeof(w) - 1) ^ pa) >= PAGE)
    vm_panic("stack_frame", at, pa);
  vm_memcpy(phys_to_virt(pa), w, sizeof(w));
  c->ksp = at;
}

int plat_ctx_create(const struct moat_regs *regs, void *core) {
  IRQ_GUARD();
  struct ctx *c = ctx_new(vm_cur->sp, -1);
  if (!c)
    return -LINUX_EAGAIN;
  c->core = core;
  c->start_regs = *regs;
  /* the creator's FPU state, as Linux's clone copies it */
  if (!vm_cur->regs || vm_cur->regs->fpstate_lazy)
    xsave(c->fpu);
  else
    vm_memcpy(c->fpu, vm_cur->fpu, vm_fpu_size);
  stack_frame(c, stack_va(c->slot) + KSTACK_SIZE - 1024, 0, vm_ctx_trampoline);
  c->state = CTX_RUNNABLE;
  return 0;
}

void *plat_ctx_get(void) {
  return vm_cur ? vm_cur->core : NULL;
}

void plat_ctx_set(void *core) {
  vm_cur->core = core;
}

uint64_t plat_ctx_self(void) {
  return vm_cur->id;
}

int plat_ctx_kick(uint64_t handle) {
  IRQ_GUARD();
  for (struct space *s = g_spaces; s; s = s->next)
    for (struct ctx *c = s->ctxs; c; c = c->next_in_space) {
      if (c->id != handle)
        continue;
      if (s->dead || c->state == CTX_DEAD)
        return 0;
      if (c->in_core) { /* inside the library OS */
        c->kick_kernel = true;
        if (c->state == CTX_WAITING)
          wake_ctx(c, -LINUX_EINTR);
      } else {
        c->kicked = true;
      }
      return 0;
    }
  return -LINUX_ESRCH;
}

static void unlink_ctx(struct ctx *c) {
  struct space *sp = c->sp;
  for (struct ctx **p = &sp->ctxs; *p; p = &(*p)->next_in_space)
    if (*p == c) {
      *p = c->next_in_space;
      break;
    }
  sp->nctx--;
  sp->dead_cpu_ns += c->cpu_ns;
  sp->dead_user_ns += c->user_ns;
  g_nctx_total--;
}

_Noreturn void plat_ctx_exit(uint32_t *clear_word) {
  irq_save();
  struct ctx *c = vm_cur;
  if (clear_word) {
    __atomic_store_n(clear_word, 0, __ATOMIC_SEQ_CST);
    plat_wake(clear_word, 1 << 30);
  }
  c->cpu_ns += vm_now() - c->run_since;
  c->state = CTX_DEAD;
  unlink_ctx(c);
  c->next_run = g_zombie_ctx;
  g_zombie_ctx = c;
  if (!c->sp->nctx)
    plat_space_exit(0);
  vm_schedule();
  vm_panic("a dead context was scheduled", c->id, 0);
}

/* ---- address spaces ---- */

static void notify(struct space *sp) {
  for (struct ctx *c = sp->ctxs; c; c = c->next_in_space) {
    if (c->state == CTX_WAITING) {
      wake_ctx(c, -LINUX_EINTR);
      return;
    }
  }
  if (sp->ctxs) {
    sp->ctxs->kicked = true;
    if (sp->ctxs->in_core) /* its next sleep ends at once */
      sp->ctxs->kick_kernel = true;
  }
}

/* Records of ended spaces, carved from pages, never given back (one per
 * space that ended and was not reaped yet). */
static struct ended *g_free_ended;

static struct ended *ended_new(void) {
  if (!g_free_ended) {
    struct ended *page = kzpage();
    if (!page)
      return NULL;
    for (size_t i = 0; i < PAGE / sizeof(*page); i++) {
      page[i].next = g_free_ended;
      g_free_ended = &page[i];
    }
  }
  struct ended *e = g_free_ended;
  g_free_ended = e->next;
  return e;
}

static void report_end(int to, int id, int how) {
  struct space *p = space_by_id(to);
  if (!p || p->dead)
    p = space_by_id(1);
  if (!p || p->dead)
    return;
  struct ended *e = ended_new();
  if (!e) /* no memory for a record: the end goes unreported */
    vm_panic("no memory to record a process's end", (uint64_t)id, 0);
  e->id = id;
  e->how = how;
  e->next = NULL;
  if (!p->ended_tail)
    p->ended_tail = &p->ended;
  *p->ended_tail = e;
  p->ended_tail = &e->next;
  notify(p);
}

/* End the calling space; how as plat_space_reap reports it. */
_Noreturn static void space_end(int how, int status) {
  struct space *sp = vm_cur->sp;
  if (sp->id == 1)
    vm_poweroff(status & 255);
  sp->dead = true;
  for (struct ctx *c = sp->ctxs; c;) {
    struct ctx *n = c->next_in_space;
    if (c != vm_cur) {
      c->state = CTX_DEAD;
      unlink_ctx(c);
      kfree_page(c);
    }
    c = n;
  }
  if (vm_cur->state != CTX_DEAD) {
    vm_cur->state = CTX_DEAD;
    unlink_ctx(vm_cur);
    vm_cur->next_run = g_zombie_ctx;
    g_zombie_ctx = vm_cur;
  }
  /* its children go to the first space; its unreported ends too */
  for (struct space *s = g_spaces; s; s = s->next)
    if (s->parent == sp->id)
      s->parent = 1;
  while (sp->ended) {
    struct ended *e = sp->ended;
    sp->ended = e->next;
    report_end(1, e->id, e->how);
    e->next = g_free_ended;
    g_free_ended = e;
  }
  report_end(sp->parent, sp->id, how);
  for (struct space **p = &g_spaces; *p; p = &(*p)->next)
    if (*p == sp) {
      *p = sp->next;
      break;
    }
  sp->next = g_zombie_space;
  g_zombie_space = sp;
  vm_schedule();
  vm_panic("a dead space was scheduled", (uint64_t)sp->id, 0);
}

_Noreturn void plat_space_exit(int status) {
  irq_save();
  space_end((status & 255) << 8, status);
}

/* The platform ends the calling space as if by signal sig (no memory
 * for a page it must have): the parent sees it killed, the first space's
 * end is the sandbox's status 128 + sig. */
_Noreturn void sched_kill_current(int sig) {
  irq_save();
  space_end(sig, 128 + sig);
}

int plat_space_reap(int *how) {
  IRQ_GUARD();
  struct space *sp = vm_cur->sp;
  struct ended *e = sp->ended;
  if (!e)
    return 0;
  sp->ended = e->next;
  if (!sp->ended)
    sp->ended_tail = &sp->ended;
  int id = e->id;
  *how = e->how;
  e->next = g_free_ended;
  g_free_ended = e;
  return id;
}

int plat_space_clone(void) {
  IRQ_GUARD();
  struct ctx *c = vm_cur;
  struct space *ns = space_new(c->sp->id);
  if (!ns)
    return -LINUX_ENOMEM;
  struct ctx *nc = ctx_new(ns, c->slot);
  if (!nc || space_copy_user(ns->pml4, c->sp->pml4) < 0) {
    /* not yet listed anywhere but g_spaces */
    ns->dead = true;
    g_spaces = ns->next;
    if (nc) {
      unlink_ctx(nc);
      kfree_page(nc);
    }
    space_free_all(ns->pml4);
    kfree_page(ns);
    return -LINUX_ENOMEM;
  }
  uint64_t sd = (uint64_t)(uintptr_t)__space_start;
  kcopy_range(ns->pml4, c->sp->pml4, sd, (size_t)(__space_end - __space_start));
  nc->core = c->core;
  nc->fs_base = c->fs_base;
  nc->in_core = true; /* it returns from this call */
  if (!c->regs || c->regs->fpstate_lazy)
    xsave(nc->fpu);
  else
    vm_memcpy(nc->fpu, c->fpu, vm_fpu_size);
  if (vm_fork_point(&nc->jb)) {
    /* the child, on its copy of the stack */
    after_switch();
    if (vm_cur->regs)
      vm_cur->regs->fpstate = vm_cur->fpu;
    return 0;
  }
  nc->regs = c->regs; /* the same address, on the child's copy */
  kcopy_range(ns->pml4, c->sp->pml4, stack_va(c->slot), KSTACK_SIZE);
  uint64_t at = (nc->jb.rsp - 1024) & ~15ull;
  stack_frame(nc, at, (uint64_t)(uintptr_t)&nc->jb, vm_fork_trampoline);
  nc->state = CTX_RUNNABLE;
  return ns->id;
}

/* ---- the first space ---- */

extern char __space_load[];
static void (*g_first_fn)(void);

static void first_trampoline(void) {
  after_switch();
  vm_cur->in_core = true;
  __asm__ volatile("sti" : : : "memory");
  g_first_fn();
  vm_panic("the first context returned", 0, 0);
}

_Noreturn void sched_start_first(void (*fn)(void)) {
  struct space *sp = space_new(0);
  if (!sp)
    vm_panic("no memory for the first address space", 0, 0);
  /* the core's writable data: its first contents from the image */
  uint64_t sd = (uint64_t)(uintptr_t)__space_start;
  size_t len = (size_t)(__space_end - __space_start);
  uint64_t load = (uint64_t)(uintptr_t)__space_load; /* physical */
  for (uint64_t off = 0; off < len; off += PAGE) {
    uint64_t pa = mem_pa(sp->pml4, sd + off);
    vm_memcpy(phys_to_virt(pa), phys_to_virt(load + off), PAGE);
  }
  struct ctx *c = ctx_new(sp, -1);
  if (!c)
    vm_panic("no memory for the first context", 0, 0);
  g_first_fn = fn;
  stack_frame(c, stack_va(c->slot) + KSTACK_SIZE - 1024, 0, first_trampoline);
  c->state = CTX_RUNNABLE;
  vm_cur = NULL;
  switch_to(c);
  vm_panic("the boot context resumed", 0, 0);
}
