/* The VM platform (docs/vm.md): moat as the kernel of its own x86-64
 * machine under QEMU (TCG, or KVM where /dev/kvm exists). This file
 * boots it: the CPU's tables (GDT, TSS, IDT, SYSCALL), the FPU, the
 * devices (the serial port, the 8259s and the PIT, the TSC, the CMOS
 * clock), the initrd the runner built (docs/vm.md, "The runner's
 * protocol"), and then the core and the Linux shim, as on the Linux
 * platform. It also serves the South contract's calls that are devices:
 * clocks, randomness, the standard streams; host files and the host
 * network do not exist here. */
#include "moat/moat.h"
#include "moat/shim_linux.h"
#include "vm.h"

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
struct hvm_modlist_entry {
  uint64_t paddr, size, cmdline_paddr, reserved;
};
#define HVM_START_MAGIC 0x336ec578u

#define COM1 0x3f8
#define DEBUG_EXIT 0xf4 /* QEMU's isa-debug-exit: status (v << 1) | 1 */

uint32_t vm_fpu_size;
bool vm_smap;
extern const uint64_t __uaccess_start[], __uaccess_end[];
uint64_t vm_xcr0;
uint8_t vm_tss[104] __attribute__((aligned(16)));

/* ---- the serial line (docs/vm.md, the framing) ---- */

static int g_out_stream = 1;

static void serial_putc(uint8_t c) {
  while (!(inb(COM1 + 5) & 0x20))
    __asm__ volatile("pause");
  outb(COM1, c);
}

static void serial_init(void) {
  outb(COM1 + 1, 0x00);
  outb(COM1 + 3, 0x80); /* divisor latch */
  outb(COM1 + 0, 0x01); /* 115200 baud */
  outb(COM1 + 1, 0x00);
  outb(COM1 + 3, 0x03); /* 8N1 */
  outb(COM1 + 2, 0xc7); /* FIFO on, cleared, interrupt at 14 bytes */
  outb(COM1 + 4, 0x0b); /* DTR, RTS, OUT2 (the interrupt line) */
  /* Only now may standard input come (docs/vm.md, the protocol): QEMU
   * empties the receiver when the FIFO goes on. */
  serial_putc(0xfe);
  serial_putc(0x11);
}

static void stream_write(int stream, const uint8_t *p, size_t n) {
  if (stream != g_out_stream) {
    serial_putc(0xfe);
    serial_putc(stream == 2 ? 0x02 : 0x01);
    g_out_stream = stream;
  }
  for (size_t i = 0; i < n; i++) {
    if (p[i] == 0xfe)
      serial_putc(0xfe);
    serial_putc(p[i]);
  }
}

void vm_say(const char *s) {
  size_t n = 0;
  while (s[n])
    n++;
  stream_write(2, (const uint8_t *)s, n);
}

void vm_say_hex(uint64_t v) {
  char buf[19] = "0x";
  for (int i = 0; i < 16; i++)
    buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
  buf[18] = 0;
  vm_say(buf);
}

_Noreturn void vm_poweroff(int status) {
  serial_putc(0xfe);
  serial_putc(0x10);
  serial_putc((uint8_t)status);
  while (!(inb(COM1 + 5) & 0x40)) /* the transmitter empty */
    __asm__ volatile("pause");
  outb(DEBUG_EXIT, (uint8_t)status);
  for (;;)
    __asm__ volatile("cli; hlt");
}

/* The return addresses up the frame-pointer chain from rbp (the kernel
 * is built with frame pointers), for addr2line. */
static void backtrace(uint64_t rbp) {
  vm_say("moat vm: backtrace:");
  for (int i = 0; i < 16 && rbp >= KBASE && !(rbp & 7); i++) {
    uint64_t *fp = (uint64_t *)(uintptr_t)rbp;
    vm_say(" ");
    vm_say_hex(fp[1]);
    rbp = fp[0];
  }
  vm_say("\n");
}

_Noreturn void vm_panic(const char *what, uint64_t a, uint64_t b) {
  irq_save();
  vm_say("moat vm: panic: ");
  vm_say(what);
  vm_say(" ");
  vm_say_hex(a);
  vm_say(" ");
  vm_say_hex(b);
  vm_say("\n");
  vm_poweroff(125);
}

/* Standard input: what the runner relays, 0xfe escaped, 0xfe 0x01 at its
 * end. */
static uint8_t g_rx[8192];
static unsigned g_rx_head, g_rx_tail; /* free-running */
static bool g_rx_eof, g_rx_esc;

static void vm_rx_byte(uint8_t c) {
  if (g_rx_esc) {
    g_rx_esc = false;
    if (c == 0x01) {
      g_rx_eof = true;
      return;
    }
    if (c != 0xfe)
      return;
  } else if (c == 0xfe) {
    g_rx_esc = true;
    return;
  }
  if (!g_rx_eof)
    g_rx[g_rx_head++ % sizeof(g_rx)] = c;
}

void vm_serial_rx_poll(void) {
  while (g_rx_head - g_rx_tail < sizeof(g_rx) && (inb(COM1 + 5) & 1))
    vm_rx_byte(inb(COM1));
}

bool vm_stdin_ready(void) {
  return g_rx_head != g_rx_tail || g_rx_eof;
}

/* ---- time: the PIT's tick, the TSC, the CMOS clock ---- */

static uint64_t g_tsc0, g_tsc_khz;
static int64_t g_epoch_ns;

static uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

int64_t vm_now(void) {
  uint64_t d = rdtsc() - g_tsc0;
  return (int64_t)((d / g_tsc_khz) * 1000000 +
                   (d % g_tsc_khz) * 1000000 / g_tsc_khz);
}

/* The TSC's rate against the PIT's channel 2 over 20 ms. */
static void tsc_calibrate(void) {
  outb(0x61, (inb(0x61) & ~0x02) | 0x01); /* gate on, speaker off */
  outb(0x43, 0xb0);                       /* channel 2, mode 0, binary */
  uint16_t count = 23864;                 /* 20 ms at 1.193182 MHz */
  outb(0x42, (uint8_t)count);
  outb(0x42, (uint8_t)(count >> 8));
  uint64_t t0 = rdtsc();
  while (!(inb(0x61) & 0x20))
    ;
  uint64_t t1 = rdtsc();
  g_tsc_khz = (t1 - t0) / 20;
  if (!g_tsc_khz)
    g_tsc_khz = 1;
  g_tsc0 = rdtsc();
}

static uint8_t cmos(uint8_t reg) {
  outb(0x70, reg);
  return inb(0x71);
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void rtc_read(void) {
  while (cmos(0x0a) & 0x80) /* an update in progress */
    ;
  unsigned s = cmos(0), mi = cmos(2), h = cmos(4), d = cmos(7), mo = cmos(8),
           y = cmos(9), b = cmos(0x0b);
  if (!(b & 4)) {
#define BCD(x) (((x)&15) + ((x) >> 4) * 10)
    s = BCD(s), mi = BCD(mi), h = BCD(h & 0x7f) | (h & 0x80), d = BCD(d);
    mo = BCD(mo), y = BCD(y);
  }
  if (!(b & 2) && (h & 0x80))
    h = ((h & 0x7f) + 12) % 24;
  int64_t days = days_from_civil(2000 + y, mo, d);
  g_epoch_ns = (days * 86400 + h * 3600 + mi * 60 + s) * 1000000000ll;
}

static void pic_pit_init(void) {
  outb(0x20, 0x11), outb(0xa0, 0x11);           /* ICW1 */
  outb(0x21, 0x20), outb(0xa1, 0x28);           /* vectors 32.., 40.. */
  outb(0x21, 0x04), outb(0xa1, 0x02);           /* cascade */
  outb(0x21, 0x01), outb(0xa1, 0x01);           /* 8086 mode */
  outb(0x21, (uint8_t) ~((1 << 0) | (1 << 4))); /* the PIT, COM1 */
  outb(0xa1, 0xff);
  outb(0x43, 0x34); /* channel 0, rate generator */
  outb(0x40, 1193 & 0xff);
  outb(0x40, 1193 >> 8); /* 1000 Hz */
  outb(COM1 + 1, 0x01);  /* interrupt on received data */
}

/* ---- the CPU's tables ---- */

static uint64_t g_gdt[7];
static uint8_t g_df_stack[16384] __attribute__((aligned(16)));
static struct {
  uint16_t lo, sel;
  uint8_t ist, attr;
  uint16_t mid;
  uint32_t hi, zero;
} g_idt[48] __attribute__((aligned(16)));

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  __asm__ volatile("cpuid"
                   : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                   : "a"(leaf), "c"(sub));
}

static void cpu_setup(void) {
  g_gdt[0] = 0;
  g_gdt[1] = 0x00af9a000000ffffull; /* kernel code, 64-bit */
  g_gdt[2] = 0x00cf92000000ffffull; /* kernel data */
  g_gdt[3] = 0x00cff2000000ffffull; /* user data, DPL 3 */
  g_gdt[4] = 0x00affa000000ffffull; /* user code, 64-bit, DPL 3 */
  uint64_t base = (uint64_t)(uintptr_t)vm_tss, limit = sizeof(vm_tss) - 1;
  g_gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
             (((base >> 24) & 0xff) << 56);
  g_gdt[6] = base >> 32;
  uint64_t ist1 = (uint64_t)(uintptr_t)(g_df_stack + sizeof(g_df_stack));
  vm_memcpy(vm_tss + 36, &ist1, 8);
  uint16_t iomap = sizeof(vm_tss); /* no I/O bitmap: every port faults */
  vm_memcpy(vm_tss + 102, &iomap, 2);
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
  __asm__ volatile("ltr %w0" : : "r"(0x28));
  for (int i = 0; i < 48; i++) {
    uint64_t a = (uint64_t)(uintptr_t)(vm_stubs + 16 * i);
    g_idt[i].lo = (uint16_t)a;
    g_idt[i].sel = KCODE;
    /* a double fault (a kernel stack overflow: the page fault could
     * not push its frame) on a stack of its own, to say so */
    g_idt[i].ist = i == 8 ? 1 : 0;
    /* interrupt gates, ring 0 only but for int3 and into, which ring 3
     * may raise (SIGTRAP, SIGSEGV as on Linux) */
    g_idt[i].attr = i == 3 || i == 4 ? 0xee : 0x8e;
    g_idt[i].mid = (uint16_t)(a >> 16);
    g_idt[i].hi = (uint32_t)(a >> 32);
    g_idt[i].zero = 0;
  }
  struct __attribute__((packed)) {
    uint16_t limit;
    uint64_t base;
  } ip = {sizeof(g_idt) - 1, (uint64_t)(uintptr_t)g_idt};
  __asm__ volatile("lidt %0" : : "m"(ip));
  /* SYSCALL: kernel CS 0x08 (SS 0x10); user base 0x10 (SS 0x1b, CS
   * 0x23); IF, DF, TF, AC and NT cleared on entry. */
  wrmsr(0xc0000080, rdmsr(0xc0000080) | 1);
  wrmsr(0xc0000081, ((uint64_t)0x10 << 48) | ((uint64_t)KCODE << 32));
  wrmsr(0xc0000082, (uint64_t)(uintptr_t)vm_syscall_entry);
  wrmsr(0xc0000084, 0x44700);
  /* FPU: SSE and XSAVE on, the x87, SSE and AVX states */
  uint32_t r[4];
  cpuid(1, 0, r);
  if (!(r[2] & (1u << 26)))
    vm_panic("the CPU has no XSAVE", r[2], 0);
  uint64_t cr0, cr4;
  __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
  cr0 &= ~(1ull << 2); /* EM */
  cr0 |= 1ull << 1;    /* MP */
  cr0 |= 1ull << 18;   /* AM: a guest that sets AC gets #AC (SIGBUS), as
                          on Linux; ring 0 is never checked */
  __asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
  __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
  cr4 |=
      (1ull << 9) | (1ull << 10) | (1ull << 18); /* OSFXSR, XMMEXCPT, XSAVE */
  uint32_t r7[4];
  cpuid(7, 0, r7);
  if (r7[1] & (1u << 7))
    cr4 |= 1ull << 20; /* SMEP: the kernel never runs guest pages */
  /* SMAP: the kernel touches guest pages only in the core's user-copy
   * routines (core/rt_user.S, between stac and clac); without it their
   * stac and clac become 3-byte NOPs */
  vm_smap = r7[1] & (1u << 20);
  if (vm_smap) {
    cr4 |= 1ull << 21;
  } else {
    for (const uint64_t *site = __uaccess_start; site < __uaccess_end; site++)
      vm_memcpy((void *)(uintptr_t)*site, "\x0f\x1f\x00", 3);
  }
  __asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
  vm_xcr0 = 3 | ((r[2] & (1u << 28)) ? 4 : 0);
  __asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)vm_xcr0), "d"(0));
  uint32_t d[4];
  cpuid(0xd, 0, d);
  vm_fpu_size = d[1];
  if (vm_fpu_size > 2048)
    vm_panic("XSAVE area too large", vm_fpu_size, 0);
}

/* ---- traps ---- */

static void irq(unsigned n) {
  if (n == 0) {
    sched_tick();
  } else if (n == 4) {
    vm_serial_rx_poll();
    sched_wake_io();
  } else if (n == 7 || n == 15) {
    return; /* spurious: no EOI */
  }
  if (n >= 8)
    outb(0xa0, 0x20);
  outb(0x20, 0x20);
}

void vm_trap(struct vm_frame *f);
void vm_trap(struct vm_frame *f) {
  bool refused = false; /* a #PF on something mapped (SEGV_ACCERR) */
  uint64_t v = f->vector;
  bool user = (f->cs & 3) == 3;
  if (v >= 32 && v < 48) {
    irq((unsigned)v - 32);
    if (user)
      vm_user_trap(f, false);
    else if ((f->rflags & 0x200) && v == 32) /* in the core */
      sched_preempt();
    return;
  }
  if (v == 14) {
    uint64_t cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    if (!user && vm_smap && cr2 < WINDOW_HI && !(f->rflags & 0x40000) &&
        (f->error & 1)) {
      /* a present guest page touched outside the user-copy routines */
      vm_say("moat vm: SMAP stopped the kernel at a guest page ");
      vm_say_hex(cr2);
      vm_say("\n");
      backtrace(f->rbp);
      vm_panic("rip", f->rip, f->rsp);
    }
    /* From ring 3 but a supervisor-mode access (error bit 2 clear): an
     * implicit one, which SMAP refuses on a guest page whatever the
     * page table says (QEMU 7.2's TCG pops a far return's or iretq's
     * frame so): retrying it would fault forever. */
    int r = user && !(f->error & 4) ? 2 : mem_fault(cr2, f->error, user);
    if (r == 1)
      return;
    refused = r == 2;
    if (r < 0) {
      vm_say("moat vm: out of memory at a page fault: the process is "
             "killed\n");
      sched_kill_current(9);
    }
    if (!user) {
      uint64_t fix = moat_fault_fixup(f->rip);
      if (fix) {
        f->rip = fix;
        return;
      }
      vm_say("moat vm: kernel page fault at ");
      vm_say_hex(cr2);
      vm_say(" error ");
      vm_say_hex(f->error);
      vm_say("\n");
      backtrace(f->rbp);
      vm_panic("rip", f->rip, f->rsp);
    }
  }
  if (user) {
    vm_user_trap(f, refused);
    return;
  }
  vm_say("moat vm: kernel trap ");
  vm_say_hex(v);
  vm_say(" error ");
  vm_say_hex(f->error);
  vm_say("\n");
  backtrace(f->rbp);
  vm_panic("rip", f->rip, f->rsp);
}

/* ---- the South contract: what this platform is ---- */

void plat_info(struct plat_info *out) {
  out->version = PLAT_CONTRACT_VERSION;
  out->features = PLAT_F_SPACES | PLAT_F_VIEWS | PLAT_F_CPU_TIME;
  out->window_lo = WINDOW_LO;
  out->window_hi = WINDOW_HI;
  out->vdso = 0;
}

int plat_clock(int clock, int64_t *out_ns) {
  IRQ_GUARD();
  switch (clock) {
  case PLAT_CLOCK_REALTIME:
    *out_ns = g_epoch_ns + vm_now();
    return 0;
  case PLAT_CLOCK_MONOTONIC:
  case PLAT_CLOCK_BOOTTIME:
    *out_ns = vm_now();
    return 0;
  case PLAT_CLOCK_CPU:
    *out_ns = sched_cpu_ns(false, false);
    return 0;
  case PLAT_CLOCK_CPU_USER:
    *out_ns = sched_cpu_ns(false, true);
    return 0;
  case PLAT_CLOCK_THREAD_CPU:
    *out_ns = sched_cpu_ns(true, false);
    return 0;
  }
  return -LINUX_EINVAL;
}

static bool g_rdrand;

int plat_random(void *buf, size_t len) {
  if (!g_rdrand)
    return -LINUX_EIO;
  uint8_t *p = buf;
  while (len) {
    uint64_t v;
    unsigned char ok = 0;
    for (int tries = 0; tries < 100 && !ok; tries++)
      __asm__ volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok));
    if (!ok)
      return -LINUX_EIO;
    size_t n = len < 8 ? len : 8;
    vm_memcpy(p, &v, n);
    p += n;
    len -= n;
  }
  return 0;
}

long plat_io_read(int kind, int handle, void *buf, size_t len, unsigned flags) {
  IRQ_GUARD();
  if (kind != PLAT_IO_STREAM)
    return kind == PLAT_IO_NET ? -LINUX_EBADF : -LINUX_EINVAL;
  if (flags)
    return -LINUX_EINVAL;
  if (handle != 0)
    return -LINUX_EBADF;
  for (;;) {
    vm_serial_rx_poll();
    if (g_rx_head != g_rx_tail) {
      /* buf may be guest memory: the user-copy routine (SMAP, faults) */
      uint8_t bounce[256];
      size_t n = 0;
      while (n < len && n < sizeof(bounce) && g_rx_head != g_rx_tail)
        bounce[n++] = g_rx[g_rx_tail++ % sizeof(g_rx)];
      if (rt_ucopy(buf, bounce, n)) {
        g_rx_tail -= (unsigned)n; /* not taken */
        return -LINUX_EFAULT;
      }
      return (long)n;
    }
    if (g_rx_eof || !len)
      return 0;
    struct plat_io io = {.kind = PLAT_IO_STREAM, .events = VM_POLLIN};
    int r = plat_wait(NULL, 0, &io, 1, -1);
    if (r == -LINUX_EINTR)
      return r;
  }
}

long plat_io_write(int kind, int handle, const void *buf, size_t len,
                   unsigned flags) {
  if (kind != PLAT_IO_STREAM)
    return kind == PLAT_IO_NET ? -LINUX_EBADF : -LINUX_EINVAL;
  if (flags)
    return -LINUX_EINVAL;
  if (handle != 1 && handle != 2)
    return -LINUX_EBADF;
  size_t done = 0;
  while (done < len) {
    /* A runner that does not read (its own output blocked) holds the
     * line: wait for the transmitter with interrupts on, so the rest of
     * the machine goes on, a millisecond at a time. */
    while (!(inb(COM1 + 5) & 0x20)) {
      int r = plat_wait(NULL, 0, NULL, 0, 1000000);
      if (r == -LINUX_EINTR)
        return done ? (long)done : r;
    }
    /* A FIFO's worth at a time, interrupts off (the framing's stream
     * switch and the bytes go out together); buf may be guest memory:
     * the user-copy routine (SMAP, faults). */
    IRQ_GUARD();
    uint8_t bounce[16];
    size_t n = len - done < sizeof(bounce) ? len - done : sizeof(bounce);
    if (rt_ucopy(bounce, (const uint8_t *)buf + done, n))
      return done ? (long)done : -LINUX_EFAULT;
    stream_write(handle, bounce, n);
    done += n;
  } /* (IRQ_GUARD's cleanup turns interrupts back on at each turn) */
  return (long)len;
}

int plat_stdio_term(int stream, int op, void *arg) {
  (void)stream, (void)arg;
  if (op < PLAT_TERM_GET || op > PLAT_TERM_SET_SIZE)
    return -LINUX_EINVAL;
  return -LINUX_ENOTTY;
}

/* ---- no host files, no host network ---- */

int plat_host_open(int dir, const char *name, int flags, uint32_t mode,
                   int *out) {
  (void)dir, (void)name, (void)flags, (void)mode, (void)out;
  return -LINUX_ENOSYS;
}
int plat_host_close(int handle) {
  (void)handle;
  return -LINUX_EBADF;
}
long plat_host_pread(int handle, void *buf, size_t len, uint64_t off) {
  (void)handle, (void)buf, (void)len, (void)off;
  return -LINUX_EBADF;
}
int plat_host_map(int handle, void *addr, size_t len, int prot, uint64_t off) {
  (void)handle, (void)addr, (void)len, (void)prot, (void)off;
  return -LINUX_ENODEV;
}
long plat_host_pwrite(int handle, const void *buf, size_t len, uint64_t off) {
  (void)handle, (void)buf, (void)len, (void)off;
  return -LINUX_EBADF;
}
int plat_host_stat(int dir, const char *name, struct plat_host_stat *out) {
  (void)dir, (void)name, (void)out;
  return -LINUX_ENOSYS;
}
long plat_host_readdir(int handle, void *buf, size_t len, bool rewind) {
  (void)handle, (void)buf, (void)len, (void)rewind;
  return -LINUX_EBADF;
}
long plat_host_readlink(int dir, const char *name, char *buf, size_t len) {
  (void)dir, (void)name, (void)buf, (void)len;
  return -LINUX_ENOSYS;
}
int plat_host_create(int dir, const char *name, int kind, uint32_t mode,
                     const char *target) {
  (void)dir, (void)name, (void)kind, (void)mode, (void)target;
  return -LINUX_ENOSYS;
}
int plat_host_remove(int dir, const char *name, bool remove_dir) {
  (void)dir, (void)name, (void)remove_dir;
  return -LINUX_ENOSYS;
}
int plat_host_move(int olddir, const char *oldname, int newdir,
                   const char *newname, unsigned flags, bool hard_link) {
  (void)olddir, (void)oldname, (void)newdir, (void)newname, (void)flags;
  (void)hard_link;
  return -LINUX_ENOSYS;
}
int plat_host_setattr(int dir, const char *name, unsigned what, uint32_t mode,
                      const struct plat_time times[2], uint64_t size,
                      uint32_t uid, uint32_t gid) {
  (void)dir, (void)name, (void)what, (void)mode, (void)times, (void)size;
  (void)uid, (void)gid;
  return -LINUX_ENOSYS;
}
int plat_host_sync(int handle) {
  (void)handle;
  return -LINUX_EBADF;
}
int plat_net_connect(int proto, const struct plat_net_addr *dst, unsigned flags,
                     int *out_handle, struct plat_net_addr *out_local,
                     struct plat_net_addr *out_peer) {
  (void)proto, (void)dst, (void)flags, (void)out_handle, (void)out_local;
  (void)out_peer;
  return -LINUX_ENETUNREACH;
}
int plat_net_accept(int index, int *out_handle,
                    struct plat_net_addr *out_peer) {
  (void)index, (void)out_handle, (void)out_peer;
  return -LINUX_EINVAL;
}
long plat_net_dgram_recv(int index, void *buf, size_t len, unsigned flags,
                         struct plat_net_addr *out_from) {
  (void)index, (void)buf, (void)len, (void)flags, (void)out_from;
  return -LINUX_EINVAL;
}
long plat_net_dgram_send(int index, const void *buf, size_t len,
                         const struct plat_net_addr *to) {
  (void)index, (void)buf, (void)len, (void)to;
  return -LINUX_EINVAL;
}
int plat_net_shutdown(int handle, int how) {
  (void)handle, (void)how;
  return -LINUX_EBADF;
}
int plat_net_close(int handle) {
  (void)handle;
  return -LINUX_EBADF;
}

/* ---- the initrd and the first process ---- */

#define MAX_ARGS 4096
static const char *g_argv[MAX_ARGS + 1], *g_envp[MAX_ARGS + 1];
static int g_argc;
static struct moat_config g_cfg;

static uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  vm_memcpy(&v, p, 4);
  return v;
}
static uint64_t rd64(const uint8_t *p) {
  uint64_t v;
  vm_memcpy(&v, p, 8);
  return v;
}

/* The runner's header (docs/vm.md); NULL and *why on a bad one. */
static bool parse_initrd(const uint8_t *m, uint64_t size, const char **why) {
  if (size < 64 || rd64(m) != 0x32304d5654414f4dull) { /* "MOATVM02" */
    *why = "the initrd is not a moat VM image (magic)";
    return false;
  }
  uint32_t hsize = rd32(m + 8), argc = rd32(m + 12), envc = rd32(m + 16);
  uint64_t tsize = rd64(m + 32);
  if (hsize < 64 || hsize % 4096 || hsize > size || tsize > size - hsize) {
    *why = "the initrd's header or tar size is out of range";
    return false;
  }
  if (argc < 1 || argc > MAX_ARGS || envc > MAX_ARGS) {
    *why = "the initrd's argument or environment count is out of range";
    return false;
  }
  const char *s = (const char *)m + 64, *end = (const char *)m + hsize;
  const char *strs[2 * MAX_ARGS + 2];
  uint32_t nstr = argc + envc + 2;
  for (uint32_t i = 0; i < nstr; i++) {
    const char *z = s;
    while (z < end && *z)
      z++;
    if (z >= end) {
      *why = "the initrd's strings run past its header";
      return false;
    }
    strs[i] = s;
    s = z + 1;
  }
  g_argc = (int)argc;
  for (uint32_t i = 0; i < argc; i++)
    g_argv[i] = strs[i];
  g_argv[argc] = NULL;
  for (uint32_t i = 0; i < envc; i++)
    g_envp[i] = strs[argc + i];
  g_envp[envc] = NULL;
  uint32_t flags = rd32(m + 28);
  struct moat_mount *root = &g_cfg.mounts[0];
  root->guest_path = "/";
  root->kind = MOAT_MOUNT_TAR;
  root->access = (flags & 4) ? MOAT_ACCESS_RO : MOAT_ACCESS_COW;
  root->tar_base = m + hsize;
  root->tar_size = tsize;
  g_cfg.nmounts = 1;
  g_cfg.cwd = *strs[argc + envc] ? strs[argc + envc] : "/";
  g_cfg.hostname = *strs[argc + envc + 1] ? strs[argc + envc + 1] : NULL;
  g_cfg.uid = rd32(m + 20);
  g_cfg.gid = rd32(m + 24);
  g_cfg.strace = flags & 1;
  g_cfg.stats = flags & 2;
  g_cfg.mem_limit = rd64(m + 40);
  g_cfg.sig_ignored = rd64(m + 48);
  g_cfg.sig_blocked = rd64(m + 56);
  g_cfg.ncpus = 1;
  return true;
}

static void first_process(void) {
  const char *why = NULL;
  int err = moat_boot(&g_cfg, &why);
  if (err < 0) {
    vm_say("moat: ");
    vm_say(why ? why : "cannot build the sandbox");
    vm_say("\n");
    vm_poweroff(125);
  }
  char msg[256];
  err = shim_linux_start(g_argc, g_argv, g_envp, msg, sizeof(msg));
  vm_say("moat: ");
  vm_say(g_argv[0]);
  vm_say(": ");
  vm_say(msg);
  vm_say("\n");
  vm_poweroff(err == -LINUX_ENOENT ? 127 : 126);
}

extern char __load_end[];

void vm_main(const struct hvm_start_info *si_phys);
void vm_main(const struct hvm_start_info *si_phys) {
  serial_init();
  const struct hvm_start_info *si = phys_to_virt((uint64_t)(uintptr_t)si_phys);
  if (si->magic != HVM_START_MAGIC)
    vm_panic("not booted by PVH", si->magic, 0);
  cpu_setup();
  uint32_t r[4];
  cpuid(1, 0, r);
  g_rdrand = r[2] & (1u << 30);
  if (!si->nr_modules)
    vm_panic("no initrd (moat run --platform vm builds one)", 0, 0);
  const struct hvm_modlist_entry *mod = phys_to_virt(si->modlist_paddr);
  uint64_t excl[] = {
      (uint64_t)(uintptr_t)si_phys & ~(PAGE - 1),
      ((uint64_t)(uintptr_t)si_phys & ~(PAGE - 1)) + PAGE,
      si->modlist_paddr & ~(PAGE - 1),
      (si->modlist_paddr & ~(PAGE - 1)) + PAGE,
      si->memmap_paddr & ~(PAGE - 1),
      (si->memmap_paddr & ~(PAGE - 1)) + 2 * PAGE,
      si->cmdline_paddr & ~(PAGE - 1),
      (si->cmdline_paddr & ~(PAGE - 1)) + PAGE,
      mod->paddr & ~(PAGE - 1),
      mod->paddr + mod->size,
  };
  if (mod->paddr + mod->size > DIRECT_MAX)
    vm_panic("the initrd lies above the direct map", mod->paddr, mod->size);
  mem_init((uint64_t)(uintptr_t)__load_end, excl, 5,
           phys_to_virt(si->memmap_paddr), (int)si->memmap_entries);
  tsc_calibrate();
  rtc_read();
  pic_pit_init();
  const char *why = NULL;
  if (!parse_initrd(phys_to_virt(mod->paddr), mod->size, &why)) {
    vm_say("moat: ");
    vm_say(why);
    vm_say("\n");
    vm_poweroff(125);
  }
  sched_start_first(first_process);
}
