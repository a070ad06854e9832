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
  vm_exit(long_mode && si && si->magic == HVM_START_MAGIC ? 0 : 1);
}
