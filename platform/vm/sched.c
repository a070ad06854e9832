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
  if (slot < 0 || kmap_pages(sp->pml4, stack_va(slot), KSTACK_SIZE, true)) {
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
  if (kmap_pages(sp->pml4, (uint64_t)(uintptr_t)__space_start, dlen, true)) {
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

/* ---- switching ----------------------------------------------------------- */

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

/* ---- waiting ----------------------------------------------------------------- */

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

static void check_deadlines(void) {
  int64_t now = vm_now();
  for (struct space *s = g_spaces; s; s = s->next) {
    if (s->dead)
      continue;
    bool fire = s->timer_deadline[0] && s->timer_deadline[0] <= now;
    if (fire)
      s->timer_deadline[0] = 0;
    for (struct ctx *c = s->ctxs; c; c = c->next_in_space) {
      if (fire) {
        c->kicked = true;
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

void sched_wake_io(void) {
  for (struct space *s = g_spaces; s; s = s->next)
    for (struct ctx *c = s->ctxs; c; c = c->next_in_space)
      if (c->state == CTX_WAITING && c->wait_nio &&
          io_check(c->wait_io, c->wait_nio) > 0)
        wake_ctx(c, 1);
}

int plat_wait(uint32_t *word, uint32_t expected, struct plat_io *io, int nio,
              int64_t timeout_ns) {
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
  c->wait_key = word ? mem_key(word) : 0;
  c->deadline = timeout_ns < 0 ? -1 : vm_now() + timeout_ns;
  c->wait_io = io;
  c->wait_nio = nio;
  c->wait_result = -LINUX_EINTR;
  c->state = CTX_WAITING;
  vm_schedule();
  c->wait_nio = 0;
  c->wait_key = 0;
  if (c->wait_result > 0)
    return io_check(io, nio) > 0 ? io_check(io, nio) : -LINUX_EINTR;
  return c->wait_result;
}

int plat_wake(uint32_t *word, int count) {
  if (!word)
    return 0;
  uint64_t key = mem_key(word);
  int n = 0;
  for (struct space *s = g_spaces; s && n < count; s = s->next)
    for (struct ctx *c = s->ctxs; c && n < count; c = c->next_in_space)
      if (c->state == CTX_WAITING && c->wait_key == key) {
        wake_ctx(c, 0);
        n++;
      }
  return n;
}

/* ---- time ------------------------------------------------------------------ */

void sched_tick(void) {
  check_deadlines();
}

/* Called at a timer interrupt that came in ring 3. */
static void maybe_preempt(void) {
  if (vm_now() - g_slice_start >= SLICE_NS && pick_next())
    vm_schedule();
}

int plat_timer_set(int which, int64_t ns, int64_t *out_now) {
  if (which != PLAT_TIMER_REAL)
    return -LINUX_EINVAL;
  if (ns < 0 && ns != PLAT_TIMER_KEEP)
    return -LINUX_EINVAL;
  int64_t now = vm_now();
  if (out_now)
    *out_now = now;
  if (ns == PLAT_TIMER_KEEP)
    return 0;
  vm_cur->sp->timer_deadline[0] = ns ? now + ns : 0;
  return 0;
}

int64_t sched_cpu_ns(bool thread) {
  struct ctx *c = vm_cur;
  int64_t now = vm_now();
  if (thread)
    return c->cpu_ns + (now - c->run_since);
  int64_t t = c->sp->dead_cpu_ns + (now - c->run_since);
  for (struct ctx *x = c->sp->ctxs; x; x = x->next_in_space)
    t += x->cpu_ns;
  return t;
}

/* ---- guest traps -------------------------------------------------------- */

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
    north_interrupt(r);
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
}

void vm_user_trap(struct vm_frame *f) {
  struct ctx *c = vm_cur;
  struct moat_regs r;
  frame_to_regs(f, &r, c);
  c->regs = &r;
  uint64_t v = f->vector;
  if (v == 0x80) {
    north_syscall(&r);
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
      code = (f->error & 1) ? 2 : 1; /* SEGV_ACCERR : SEGV_MAPERR */
      if (f->error & 1) {
        /* present but refused: a page whose protection allows nothing
         * (PROT_NONE) is not present to the CPU but mapped */
      }
      break;
    }
    default:
      break;
    }
    north_fault(&r, signo, code, addr, err);
  }
  return_to_guest(c, &r, f);
}

/* ---- contexts ------------------------------------------------------------------ */

_Noreturn static void enter_with(struct ctx *c, const struct moat_regs *regs) {
  struct vm_frame *f =
      (struct vm_frame *)(vm_kstack_top - sizeof(struct vm_frame));
  struct moat_regs r = *regs;
  r.fpstate = c->fpu;
  r.fpstate_lazy = 1;
  c->fs_base = ~r.fs_base; /* return_to_guest loads it */
  return_to_guest(c, &r, f);
  __asm__ volatile("mov %0, %%rsp; jmp vm_trap_return" : : "r"(f) : "memory");
  __builtin_unreachable();
}

_Noreturn void plat_enter(const struct moat_regs *regs) {
  enter_with(vm_cur, regs);
}

void vm_ctx_first(void);
void vm_ctx_first(void) {
  after_switch();
  struct ctx *c = vm_cur;
  enter_with(c, &c->start_regs);
}

/* The switch frame vm_switch pops (r15, r14, r13, r12, rbx, rbp, return
 * address) at the top of c's stack, written through the direct map. */
static void stack_frame(struct ctx *c, uint64_t at, uint64_t r12,
                        void (*ret)(void)) {
  uint64_t w[7] = {0, 0, 0, r12, 0, 0, (uint64_t)(uintptr_t)ret};
  uint64_t pa = mem_pa(c->sp->pml4, at);
  if (pa == (uint64_t)-1 || ((pa + sizeof(w) - 1) ^ pa) >= PAGE)
    vm_panic("stack_frame", at, pa);
  vm_memcpy(phys_to_virt(pa), w, sizeof(w));
  c->ksp = at;
}

int plat_ctx_create(const struct moat_regs *regs, void *core) {
  struct ctx *c = ctx_new(vm_cur->sp, -1);
  if (!c)
    return -LINUX_EAGAIN;
  c->core = core;
  c->start_regs = *regs;
  stack_frame(c, stack_va(c->slot) + KSTACK_SIZE - 128, 0, vm_ctx_trampoline);
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
  for (struct space *s = g_spaces; s; s = s->next)
    for (struct ctx *c = s->ctxs; c; c = c->next_in_space) {
      if (c->id != handle)
        continue;
      if (s->dead || c->state == CTX_DEAD)
        return 0;
      if (c->regs) { /* inside the library OS */
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
  g_nctx_total--;
}

_Noreturn void plat_ctx_exit(uint32_t *clear_word) {
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

/* ---- address spaces ----------------------------------------------------------- */

static void notify(struct space *sp) {
  for (struct ctx *c = sp->ctxs; c; c = c->next_in_space) {
    if (c->state == CTX_WAITING) {
      wake_ctx(c, -LINUX_EINTR);
      return;
    }
  }
  if (sp->ctxs)
    sp->ctxs->kicked = true;
}

static void report_end(int to, int id, int how) {
  struct space *p = space_by_id(to);
  if (!p || p->dead)
    p = space_by_id(1);
  if (!p || p->dead)
    return;
  if (p->nended == (int)(sizeof(p->ended) / sizeof(p->ended[0])))
    vm_panic("too many unreaped ends", (uint64_t)p->id, 0);
  p->ended[p->nended].id = id;
  p->ended[p->nended].how = how;
  p->nended++;
  notify(p);
}

_Noreturn void plat_space_exit(int status) {
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
  for (int i = 0; i < sp->nended; i++)
    report_end(1, sp->ended[i].id, sp->ended[i].how);
  report_end(sp->parent, sp->id, (status & 255) << 8);
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

int plat_space_reap(int *how) {
  struct space *sp = vm_cur->sp;
  if (!sp->nended)
    return 0;
  int id = sp->ended[0].id;
  *how = sp->ended[0].how;
  sp->nended--;
  for (int i = 0; i < sp->nended; i++)
    sp->ended[i] = sp->ended[i + 1];
  return id;
}

int plat_space_clone(void) {
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
  kcopy_range(ns->pml4, c->sp->pml4, sd,
              (size_t)(__space_end - __space_start));
  nc->core = c->core;
  nc->fs_base = c->fs_base;
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

/* ---- the first space ---------------------------------------------------------- */

extern char __space_load[];
static void (*g_first_fn)(void);

static void first_trampoline(void) {
  after_switch();
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
  stack_frame(c, stack_va(c->slot) + KSTACK_SIZE - 128, 0, first_trampoline);
  c->state = CTX_RUNNABLE;
  vm_cur = NULL;
  switch_to(c);
  vm_panic("the boot context resumed", 0, 0);
}
