/* The VM platform's internal interface (docs/vm.md): moat as the kernel
 * of its own x86-64 machine. One CPU; the kernel runs with interrupts
 * off, so its own data needs no locks. */
#ifndef MOAT_VM_H
#define MOAT_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moat/platform.h"
#include "moat/regs.h"

#define PAGE 4096ull
#define KBASE 0xffffffff80000000ull
#define DIRECT_BASE 0xffff800000000000ull /* PML4[256]: physical memory */
#define DIRECT_MAX (64ull << 30)          /* boot.S maps this much */
#define HEAP_BASE 0xffff808000000000ull   /* PML4[257]: plat_mem_map's */
#define HEAP_SIZE (512ull << 30)
#define SPACE_BASE 0xffffffffc0000000ull  /* each space's own 1 GiB */
#define KSTACK_BASE 0xffffffffe0000000ull /* kernel stacks, in it */
#define KSTACK_SIZE (64 * 1024ull)
#define KSTACK_STRIDE (128 * 1024ull) /* the rest: an unmapped guard */
#define KSTACK_SLOTS 2048
#define WINDOW_LO 0x10000ull
#define WINDOW_HI 0x800000000000ull

#define KCODE 0x08
#define KDATA 0x10
#define UDATA 0x1b
#define UCODE 0x23

/* Page table entry bits. */
#define PTE_P 1ull
#define PTE_W 2ull
#define PTE_U 4ull
#define PTE_PS 0x80ull
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull
/* Software bits of guest entries (the CPU ignores them): */
#define PTE_DEMAND (1ull << 9)  /* not present: a zero page on first touch */
#define PTE_COW (1ull << 10)    /* shared after a clone: copy on write */
#define PTE_SHARED (1ull << 11) /* an alias of shared memory: never COW */
#define PTE_NONE (1ull << 52)   /* not present: PROT_NONE, the page kept */
/* and the guest's protection (PLAT_PROT_*) in bits 54..56 of each */

static inline void *phys_to_virt(uint64_t pa) {
  return (void *)(uintptr_t)(DIRECT_BASE + pa);
}
static inline uint64_t virt_to_phys_direct(const void *va) {
  return (uint64_t)(uintptr_t)va - DIRECT_BASE;
}
static inline uint64_t virt_to_phys_kernel(const void *va) {
  return (uint64_t)(uintptr_t)va - KBASE;
}

/* What entry.S saves. */
struct vm_frame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx,
      rax;
  uint64_t vector, error;
  uint64_t rip, cs, rflags, rsp, ss;
};

struct vm_jmp {
  uint64_t rip, rsp, rbp, rbx, r12, r13, r14, r15;
};

struct space;

/* plat_wait's key: a physical address (space 0) for memory every space
 * may share, else a space and an address (mem.c, mem_key). */
struct wait_key {
  uint64_t addr;
  int space;
};

/* An execution context: a guest thread. */
struct ctx {
  uint64_t id; /* plat_ctx_self's handle, never reused */
  struct space *sp;
  void *core;   /* plat_ctx_get */
  uint64_t ksp; /* saved by vm_switch */
  int slot;     /* kernel stack slot in sp's region */
  int state;    /* CTX_* */
  struct ctx *next_run, *next_in_space;
  /* plat_wait */
  struct wait_key wait_key; /* what it sleeps on (space 0: shared) */
  int64_t deadline;         /* monotonic ns, < 0: none */
  int wait_result;
  int wait_nio;
  bool wait_stdin;  /* its io watches standard input */
  bool kicked;      /* north_interrupt before the next return to the guest */
  bool kick_kernel; /* kicked inside the library OS: the next wait EINTR */
  bool in_core;     /* in north_*: the library OS works for it */
  uint64_t fs_base;
  struct moat_regs *regs;      /* while inside the kernel for a trap */
  struct moat_regs start_regs; /* plat_ctx_create / clone's child */
  struct vm_jmp jb;
  uint32_t *clear_word;
  int64_t cpu_ns, run_since;
  int64_t user_ns, user_since; /* in ring 3 */
  uint8_t *fpu;                /* XSAVE area, 64-aligned */
};

#define CTX_RUNNABLE 1
#define CTX_WAITING 2
#define CTX_DEAD 3

struct space {
  int id;
  int parent; /* space id that reaps it; 0: the first one's */
  uint64_t *pml4;
  uint64_t cr3;
  struct ctx *ctxs;
  int nctx;
  bool dead;
  /* ended children to report, oldest first */
  struct ended {
    int id, how;
    struct ended *next;
  } * ended, **ended_tail;
  int64_t timer_deadline[3];         /* monotonic ns, 0: off */
  int64_t dead_cpu_ns, dead_user_ns; /* of its contexts that ended */
  uint64_t slots[KSTACK_SLOTS / 64];
  struct space *next;
};

/* main.c */
void vm_say(const char *s);
void vm_say_hex(uint64_t v);
_Noreturn void vm_panic(const char *what, uint64_t a, uint64_t b);
_Noreturn void vm_poweroff(int status);
int64_t vm_now(void);
extern uint32_t vm_fpu_size;
extern uint64_t vm_xcr0;
void vm_serial_rx_poll(void);
bool vm_stdin_ready(void);

/* mem.c */
void mem_init(uint64_t lo_reserved_end, const uint64_t *excl, int nexcl,
              const void *memmap, int nmap);
uint64_t page_alloc(void); /* a zeroed page's physical address, 0 */
void page_ref(uint64_t pa);
void page_unref(uint64_t pa);
uint64_t mem_free_pages(void);
uint64_t *space_pml4_new(void); /* kernel half shared, own SPACE_BASE */
int space_copy_user(uint64_t *dst, uint64_t *src);
void space_free_all(uint64_t *pml4);
int kmap_pages(uint64_t *pml4, uint64_t va, size_t len);
void kunmap_pages(uint64_t *pml4, uint64_t va, size_t len);
void kcopy_range(uint64_t *dst, uint64_t *src, uint64_t va, size_t len);
uint64_t mem_pa(uint64_t *pml4, uint64_t va);
/* 1: handled (filled, copied); 0: nothing mapped there; 2: mapped, but
 * the access is refused; -1: no memory */
int mem_fault(uint64_t addr, uint64_t err, bool user);
extern uint64_t *vm_kernel_pml4;
extern uint64_t *vm_cur_pml4;
struct wait_key mem_key(const void *word);

/* sched.c */
extern struct ctx *vm_cur;
extern uint64_t vm_kstack_top;
void sched_init_first(uint64_t *pml4);
_Noreturn void sched_start_first(void (*fn)(void));
int64_t sched_cpu_ns(bool thread, bool user);
extern uint8_t vm_tss[104];
void sched_tick(void);
void sched_preempt(void);
_Noreturn void sched_kill_current(int sig);
void sched_wake_io(void);
void vm_schedule(void);
/* refused: a page fault on something mapped there (SEGV_ACCERR) */
void vm_user_trap(struct vm_frame *f, bool refused);

/* The core's user-copy routine (core/rt_user.S): the platform touches a
 * buffer the core hands it, which may be guest memory, only through it
 * (SMAP; a guest thread may have unmapped it: bytes not copied). */
size_t rt_ucopy(void *dst, const void *src, size_t n);

/* entry.S */
void vm_switch(uint64_t *save_rsp, uint64_t rsp, uint64_t cr3);
void vm_ctx_trampoline(void);
void vm_fork_trampoline(void);
int vm_fork_point(struct vm_jmp *jb);
_Noreturn void vm_fork_jump(struct vm_jmp *jb);
void vm_idle(void);
extern char vm_stubs[];
extern char vm_syscall_entry[];
_Noreturn void vm_trap_return(void);

static inline void outb(uint16_t port, uint8_t v) {
  __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port) {
  uint8_t v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
static inline void wrmsr(uint32_t msr, uint64_t v) {
  __asm__ volatile("wrmsr"
                   :
                   : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t rdmsr(uint32_t msr) {
  uint32_t lo, hi;
  __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return ((uint64_t)hi << 32) | lo;
}
static inline void invlpg(uint64_t va) {
  __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}
static inline void vm_memcpy(void *d, const void *s, size_t n) {
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}
static inline void vm_memset(void *d, int c, size_t n) {
  __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
}

#define MSR_FS_BASE 0xc0000100

/* The core runs with interrupts on (the timer may preempt it: it is
 * written for many threads at once); the platform's own code with them
 * off. Each platform call that touches the platform's state starts with
 * IRQ_GUARD(), which turns them off until it returns. */
static inline uint64_t irq_save(void) {
  uint64_t f;
  __asm__ volatile("pushfq; pop %0; cli" : "=r"(f) : : "memory");
  return f;
}
static inline void irq_restore(uint64_t f) {
  if (f & 0x200)
    __asm__ volatile("sti" : : : "memory");
}
static inline void irq_restore_p(uint64_t *f) {
  irq_restore(*f);
}
#define IRQ_GUARD()                                                            \
  uint64_t irq_flags_ __attribute__((cleanup(irq_restore_p), unused)) =        \
      irq_save()

/* poll(2)'s bits, the contract's readiness vocabulary */
#define VM_POLLIN 0x001
#define VM_POLLOUT 0x004
#define VM_POLLHUP 0x010
#define VM_POLLNVAL 0x020

#endif
