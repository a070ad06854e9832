/* The VM platform (issue 13), first step: the image boots under QEMU by
 * the PVH protocol (boot.S), reaches long mode, says so on the serial
 * console and ends the machine with a status through QEMU's
 * isa-debug-exit device. Nothing of the South contract yet: this is the
 * skeleton the contract's implementation grows on (docs/vm.md). */
#include <stdint.h>

/* PVH's start information (Xen's struct hvm_start_info, version 1). */
struct hvm_start_info {
  uint32_t magic; /* 0x336ec578 */
  uint32_t version;
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;
  uint64_t rsdp_paddr;
  uint64_t memmap_paddr;
  uint32_t memmap_entries;
  uint32_t reserved;
};
#define HVM_START_MAGIC 0x336ec578u

#define COM1 0x3f8
/* QEMU's -device isa-debug-exit,iobase=0xf4: writing v ends QEMU with
 * status (v << 1) | 1. */
#define DEBUG_EXIT 0xf4

static inline void outb(uint16_t port, uint8_t v) {
  __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port) {
  uint8_t v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

static void serial_init(void) {
  outb(COM1 + 1, 0x00); /* no interrupts */
  outb(COM1 + 3, 0x80); /* divisor latch */
  outb(COM1 + 0, 0x01); /* 115200 baud */
  outb(COM1 + 1, 0x00);
  outb(COM1 + 3, 0x03); /* 8N1 */
  outb(COM1 + 2, 0xc7); /* FIFO on, cleared */
}

static void serial_putc(char c) {
  for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
    ;
  outb(COM1, (uint8_t)c);
}

static void say(const char *s) {
  for (; *s; s++) {
    if (*s == '\n')
      serial_putc('\r');
    serial_putc(*s);
  }
}

static void say_hex(uint64_t v) {
  char buf[19] = "0x";
  for (int i = 0; i < 16; i++)
    buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
  buf[18] = 0;
  say(buf);
}

static _Noreturn void vm_exit(uint8_t status) {
  outb(DEBUG_EXIT, status);
  for (;;)
    __asm__ volatile("cli; hlt");
}

/* ---- ring 3: segments, TSS, IDT, SYSCALL ------------------------------ */

/* What entry.S saves: the general registers, the vector (0x80 for a
 * system call) and error code, and the CPU's interrupt frame. */
struct vm_frame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx,
      rax;
  uint64_t vector, error;
  uint64_t rip, cs, rflags, rsp, ss;
};

#define KCODE 0x08
#define KDATA 0x10
#define UDATA 0x1b /* 0x18 | RPL 3 */
#define UCODE 0x23 /* 0x20 | RPL 3 */
#define TSS_SEL 0x28

static uint64_t g_gdt[7];
static uint8_t g_tss[104] __attribute__((aligned(16)));
static uint8_t g_trap_stack[16384] __attribute__((aligned(16)));
static struct {
  uint16_t lo, sel;
  uint8_t ist, attr;
  uint16_t mid;
  uint32_t hi, zero;
} g_idt[32] __attribute__((aligned(16)));

extern char vm_stubs[];
extern char vm_syscall_entry[];
extern uint64_t vm_pd[512];

static void wrmsr(uint32_t msr, uint64_t v) {
  __asm__ volatile("wrmsr"
                   :
                   : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint64_t rdmsr(uint32_t msr) {
  uint32_t lo, hi;
  __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return ((uint64_t)hi << 32) | lo;
}

static void ring3_setup(void) {
  /* GDT: kernel code/data, user data/code (SYSRET's order), the TSS. */
  g_gdt[0] = 0;
  g_gdt[1] = 0x00af9a000000ffffull; /* kernel code, 64-bit */
  g_gdt[2] = 0x00cf92000000ffffull; /* kernel data */
  g_gdt[3] = 0x00cff2000000ffffull; /* user data, DPL 3 */
  g_gdt[4] = 0x00affa000000ffffull; /* user code, 64-bit, DPL 3 */
  uint64_t base = (uint64_t)(uintptr_t)g_tss, limit = sizeof(g_tss) - 1;
  g_gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
             (((base >> 24) & 0xff) << 56);
  g_gdt[6] = base >> 32;
  uint64_t rsp0 = (uint64_t)(uintptr_t)(g_trap_stack + sizeof(g_trap_stack));
  __builtin_memcpy(g_tss + 4, &rsp0, 8);
  uint16_t iomap = sizeof(g_tss); /* no I/O bitmap: every port faults */
  __builtin_memcpy(g_tss + 102, &iomap, 2);
  struct __attribute__((packed)) {
    uint16_t limit;
    uint64_t base;
  } gp = {sizeof(g_gdt) - 1, (uint64_t)(uintptr_t)g_gdt};
  __asm__ volatile("lgdt %0" : : "m"(gp));
  __asm__ volatile("pushq %0; leaq 1f(%%rip), %%rax; pushq %%rax; lretq; 1:"
                   :
                   : "i"(KCODE)
                   : "rax", "memory");
  __asm__ volatile("mov %0, %%ds; mov %0, %%es; mov %0, %%ss" : : "r"(KDATA));
  __asm__ volatile("ltr %w0" : : "r"(TSS_SEL));
  /* IDT: the 32 exceptions, interrupt gates, ring 0 only. */
  for (int i = 0; i < 32; i++) {
    uint64_t a = (uint64_t)(uintptr_t)(vm_stubs + 16 * i);
    g_idt[i].lo = (uint16_t)a;
    g_idt[i].sel = KCODE;
    g_idt[i].ist = 0;
    g_idt[i].attr = 0x8e;
    g_idt[i].mid = (uint16_t)(a >> 16);
    g_idt[i].hi = (uint32_t)(a >> 32);
    g_idt[i].zero = 0;
  }
  struct __attribute__((packed)) {
    uint16_t limit;
    uint64_t base;
  } ip = {sizeof(g_idt) - 1, (uint64_t)(uintptr_t)g_idt};
  __asm__ volatile("lidt %0" : : "m"(ip));
  /* SYSCALL: EFER.SCE, kernel CS 0x08 (SS 0x10), user base 0x10 (SS
   * 0x1b, CS 0x23), the entry, IF/DF/TF cleared on entry. */
  wrmsr(0xc0000080, rdmsr(0xc0000080) | 1);
  wrmsr(0xc0000081, ((uint64_t)0x10 << 48) | ((uint64_t)KCODE << 32));
  wrmsr(0xc0000082, (uint64_t)(uintptr_t)vm_syscall_entry);
  wrmsr(0xc0000084, 0x700);
  /* The second 2 MiB page (the .user region) is the only one ring 3 may
   * touch; the kernel's first 2 MiB stay supervisor-only. */
  vm_pd[1] |= 4;
  uint64_t cr3;
  __asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
}

/* ---- the ring-3 program: each step tries what ring 3 must not do ----- */

#define USER_TEXT __attribute__((section(".user.text"), noinline))
#define USER_DATA __attribute__((section(".user.data")))

static const char u_hello[] USER_DATA = "hello from ring 3\n";
static uint8_t u_stack[8192] __attribute__((section(".user.bss"), aligned(16)));

USER_TEXT static long u_syscall(long nr, long a, long b) {
  long r;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "a"(nr), "D"(a), "S"(b)
                   : "rcx", "r11", "memory");
  return r;
}

/* Runs with the step in rdi; a fault makes the kernel start it again
 * with the next step. */
USER_TEXT __attribute__((noreturn)) void vm_user_step(long step) {
  switch (step) {
  case 0:
    u_syscall(1, (long)u_hello, sizeof(u_hello) - 1);
    __asm__ volatile("cli");
    break;
  case 1:
    __asm__ volatile("inb $0x60, %%al" : : : "rax");
    break;
  case 2:
    __asm__ volatile("outb %%al, $0xf4" : : "a"(0));
    break;
  case 3:
    __asm__ volatile("wrmsr" : : "c"(0xc0000082), "a"(0), "d"(0));
    break;
  case 4:
    (void)*(volatile uint64_t *)0x100000; /* the kernel's image */
    break;
  case 5:
    ((void (*)(void))0x100020)(); /* into the kernel's code */
    break;
  case 6:
    __asm__ volatile("hlt");
    break;
  }
  u_syscall(60, step, 0);
  for (;;)
    ;
}

/* What each step must meet: #GP (13) for the privileged instructions and
 * ports, #PF (14) for the kernel's memory (data and code). */
static const uint8_t g_expect[] = {13, 13, 13, 13, 14, 14, 13};
#define STEPS (int)(sizeof(g_expect) / sizeof(g_expect[0]))
static int g_step, g_matched;

static void enter_step(struct vm_frame *f, int step) {
  f->rip = (uint64_t)(uintptr_t)vm_user_step;
  f->rdi = (uint64_t)step;
  f->cs = UCODE;
  f->ss = UDATA;
  f->rsp = (uint64_t)(uintptr_t)(u_stack + sizeof(u_stack)) - 8;
  f->rflags = 0x2; /* no interrupts in ring 3 yet */
}

void vm_trap(struct vm_frame *f);

void vm_trap(struct vm_frame *f) {
  if (f->vector == 0x80) { /* a system call from ring 3 */
    if (f->rax == 1 && f->rdi >= 0x200000 && f->rdi + f->rsi <= 0x400000 &&
        f->rsi < 4096) {
      say("moat vm: ring 3 wrote: ");
      char buf[4096];
      const char *src = (const char *)(uintptr_t)f->rdi;
      for (uint64_t i = 0; i < f->rsi; i++)
        buf[i] = src[i];
      buf[f->rsi] = 0;
      say(buf);
      f->rax = f->rsi;
      return;
    }
    if (f->rax == 60) {
      say("moat vm: ring 3 exited after ");
      say_hex((uint64_t)g_step);
      say(" steps, ");
      say_hex((uint64_t)g_matched);
      say(" faulted as they must\n");
      vm_exit(g_step == STEPS && g_matched == STEPS ? 0 : 1);
    }
    f->rax = (uint64_t)-38; /* ENOSYS */
    return;
  }
  if ((f->cs & 3) != 3) {
    say("moat vm: kernel fault, vector ");
    say_hex(f->vector);
    say(" at ");
    say_hex(f->rip);
    say("\n");
    vm_exit(2);
  }
  say("moat vm: ring 3 step ");
  say_hex((uint64_t)g_step);
  say(": vector ");
  say_hex(f->vector);
  if (f->vector == 14) {
    uint64_t cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    say(" at ");
    say_hex(cr2);
    say(" error ");
    say_hex(f->error);
    say(" rip ");
    say_hex(f->rip);
  }
  say("\n");
  if (g_step < STEPS && f->vector == g_expect[g_step])
    g_matched++;
  g_step++;
  enter_step(f, g_step); /* the kernel goes on serving */
}

static _Noreturn void ring3_run(void) {
  struct vm_frame f;
  __builtin_memset(&f, 0, sizeof(f));
  enter_step(&f, 0);
  __asm__ volatile("pushq %0; pushq %1; pushq %2; pushq %3; pushq %4; "
                   "xor %%edi, %%edi; iretq"
                   :
                   : "r"(f.ss), "r"(f.rsp), "r"(f.rflags), "r"(f.cs), "r"(f.rip)
                   : "memory");
  __builtin_unreachable();
}

static int streq(const char *a, const char *b) {
  while (*a && *a == *b)
    a++, b++;
  return *a == *b;
}

void vm_main(const struct hvm_start_info *si);

void vm_main(const struct hvm_start_info *si) {
  serial_init();
  uint64_t efer_lo, efer_hi, cr0;
  __asm__ volatile("rdmsr" : "=a"(efer_lo), "=d"(efer_hi) : "c"(0xc0000080));
  __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
  int long_mode = (efer_lo & 0x400) != 0; /* EFER.LMA */
  say("moat vm: booted by PVH, start info ");
  say(si && si->magic == HVM_START_MAGIC ? "valid" : "missing");
  say(", long mode ");
  say(long_mode ? "on" : "off");
  say(", paging ");
  say((cr0 & 0x80000000u) ? "on" : "off");
  say("\n");
  if (si && si->magic == HVM_START_MAGIC && si->cmdline_paddr) {
    say("moat vm: command line \"");
    say((const char *)(uintptr_t)si->cmdline_paddr);
    say("\"\n");
  }
  say("moat vm: memory map entries ");
  say_hex(si && si->magic == HVM_START_MAGIC ? si->memmap_entries : 0);
  say("\n");
  if (long_mode && si && si->magic == HVM_START_MAGIC && si->cmdline_paddr &&
      streq((const char *)(uintptr_t)si->cmdline_paddr, "ring3")) {
    ring3_setup();
    ring3_run();
  }
  vm_exit(long_mode && si && si->magic == HVM_START_MAGIC ? 0 : 1);
}
