/* The system call fast path: guest `syscall` sites rewritten into jumps
 * that enter moat without a signal.
 *
 * Every guest system call traps (seccomp SECCOMP_RET_TRAP, a SIGSYS
 * handler, rt_sigreturn back), which costs several times a native call.
 * When a trap comes from the commonest site shape, `mov $NR, %eax;
 * syscall` (b8 NR 0f 05, the shape of glibc's and musl's wrappers), the
 * 5-byte `mov` is rewritten, at that first trap, into `jmp *ABS` (ff 24
 * 25 + a 32-bit absolute address), an indirect jump through slot k of a
 * table moat maps at PLAT_FAST_TABLE in the guest's address space. The
 * slot's address is chosen so that its two high bytes are 0f 05: the
 * jump's last two bytes are the unchanged `syscall` instruction. So:
 *   - the rewrite is exact: only the 5 bytes of one instruction change,
 *     and a jump to the `syscall` itself (a retry loop) still finds a
 *     `syscall` there, which traps as before;
 *   - a restarted call (SA_RESTART, restart_syscall) resumes at that
 *     `syscall` with rax = NR, as Linux does, through the trap;
 *   - the red zone below the guest's stack pointer is never touched (a
 *     jump pushes nothing).
 * Slot k holds the address of thunk k in moat's text (fast.S), which
 * joins plat_fast_common with k in %ecx; plat_fast_syscall finds NR and
 * the return address in this process's site table and runs the call
 * exactly as the trap handler does (north_syscall, kicks, the fs base),
 * with the guest's FPU state left in the registers (saved into the
 * thread block by the shim only for a signal frame, fast.S).
 *
 * Which sites are rewritten (fast_trap), at their second trap (a site
 * run once would not pay back its rewrite): the trapping instruction is a
 * `syscall` (the kernel reports the address after it), the five bytes
 * before it are b8 + a 32-bit immediate equal to the number the guest
 * asked for, the byte before them is no instruction prefix, the seven
 * bytes lie in one private executable mapping of the guest (the core
 * says so: never a shared mapping, whose bytes would reach a file), the
 * number is not one that rewrites the whole context (rt_sigreturn,
 * execve, execveat, fork, vfork, clone, clone3 stay on the trap) or ends
 * the thread or process (exit, exit_group: made once, a rewrite would
 * never pay back), and the
 * process runs one thread (no other thread can be executing the bytes
 * being changed). Everything else keeps trapping: the trap is the safety
 * net, the fast path changes speed, never what a guest can do.
 *
 * Security: the guest can read the rewritten bytes and the table, and
 * can jump to any thunk itself; that gives it nothing: a thunk runs the
 * system call its slot names through north_syscall, as a trap would,
 * and a guest that jumps into moat's code could do that anyway. Host
 * system calls are still allowed only from the gate (seccomp), so
 * nothing here widens the host interface; the one new host call is
 * arch_prctl(ARCH_SET_GS) once per thread (the gs base is the thread's
 * block; the guest never gets gs: its arch_prctl(ARCH_SET_GS) is EPERM).
 *
 * The table and the sites live in this host process's private memory;
 * a fork's child inherits both with the rewritten code. When guest
 * memory under a site is unmapped or replaced the site is forgotten;
 * when a guest mapping takes the table's place (MAP_FIXED there, brk
 * growing into it) every site is rewritten back first and the fast path
 * stays off in this process. */
#include <sys/mman.h>

#include "moat/hot.h"
#include "plat_linux.h"

/* The core's fault-safe copy (a fault returns nonzero, moat_fault_fixup) */
size_t rt_ucopy(void *dst, const void *src, size_t len);

#define FAST_TABLE 0x050f0000ull /* bytes 2 and 3 of every slot: 0f 05 */
#define FAST_SLOTS 4096          /* = PLAT_FAST_SLOTS in fast.S */
#define FAST_TABLE_SIZE (FAST_SLOTS * 8ull)
#define XSAVE_OFFSET 1024 /* of the XSAVE area in the thread block */
#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u

extern char plat_fast_thunks[], plat_fast_thunks_end[], plat_fast_common[],
    plat_fast_switched[], plat_fast_exit_jmp[];

_Static_assert(offsetof(struct plat_thread, fast_rsp) == 8, "fast.S");
_Static_assert(offsetof(struct plat_thread, fast_rip) == 16, "fast.S");
_Static_assert(offsetof(struct plat_thread, fast_stack) == 24, "fast.S");
_Static_assert(offsetof(struct plat_thread, fast_xsave) == 32, "fast.S");
_Static_assert(sizeof(struct plat_thread) <= XSAVE_OFFSET, "thread block");
_Static_assert(sizeof(struct moat_regs) <= 176, "fast.S REGS_SIZE");
_Static_assert(offsetof(struct moat_regs, fpstate_lazy) == 164,
               "fast.S R_FPSTATE_LAZY");
_Static_assert((FAST_TABLE >> 16) == 0x050f, "the slots end in 0f 05");

/* The shapes of site rewritten. Each ends in the `syscall` at call - 2
 * and begins with the one instruction the jump replaces (len bytes
 * before call; the jump takes that instruction's bytes, padded with
 * nops); the fast path performs that instruction and what follows up to
 * the `syscall` itself. */
enum {
  /* b8 imm32 0f 05: mov $NR, %eax; syscall (glibc's and musl's
   * wrappers). The jump's last two bytes are the `syscall` itself. */
  SITE_MOV_EAX = 1,
  /* 4c 8b 4c 24 08 0f 05: mov 0x8(%rsp), %r9; syscall: glibc's
   * syscall(3), the number in rax. */
  SITE_MOV_R9,
  /* 80 3d d32 00 74 r8 31 c0 0f 05: cmpb $0, d32(%rip); je r8; xor
   * %eax, %eax; syscall: read(2) in glibc's libc.so (the byte is
   * __libc_single_threaded: zero takes the cancellable path). */
  SITE_READ_DYN,
  /* 64 8b 04 25 18 00 00 00 85 c0 75 r8 0f 05: mov %fs:0x18, %eax; test
   * %eax, %eax; jne r8; syscall: read(2) in static glibc (eax is the
   * thread's cancellation state, zero when single-threaded). */
  SITE_READ_STATIC,
};

static const struct site_shape {
  uint8_t len;   /* bytes from the site to the end of its `syscall` */
  uint8_t patch; /* bytes of the replaced instruction */
} g_shapes[] = {
    [SITE_MOV_EAX] = {7, 5},
    [SITE_MOV_R9] = {7, 5},
    [SITE_READ_DYN] = {13, 7},
    [SITE_READ_STATIC] = {14, 8},
};
#define SHAPE_MAX_LEN 14

struct fast_site {
  uint64_t site; /* address of the rewritten instruction; 0: slot free */
  uint32_t nr;   /* SITE_MOV_EAX */
  uint8_t kind;
  uint8_t orig[8]; /* the replaced instruction's bytes */
  int prot;        /* the guest protection of the site's pages */
};

/* Private to the host process (a fork's child gets a copy). */
static struct {
  bool wanted;         /* --no-fast-path clears it */
  bool usable;         /* the CPU allows it (plat_fast_setup) */
  bool table;          /* the table is mapped in this process */
  bool off;            /* a guest mapping took the table's place */
  uint32_t xsave_size; /* XSAVE area for XCR0 */
  uint64_t xcr0;
  uint64_t lo, hi; /* every site lies in [lo, hi) */
  int used;        /* slots below this may be in use */
  struct fast_site sites[FAST_SLOTS];
} g_fast = {.wanted = true};

void plat_linux_set_fast_path(bool on) {
  g_fast.wanted = on;
}

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  __asm__ volatile("cpuid"
                   : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                   : "a"(leaf), "c"(sub));
}

/* Before lockdown: can this CPU save the guest's FPU state the way the
 * kernel saves it in a signal frame (XSAVE, standard format), within
 * the thread block? */
void plat_fast_setup(void) {
  uint32_t r[4];
  cpuid(0, 0, r);
  if (r[0] < 0xd)
    return;
  cpuid(1, 0, r);
  if (!(r[2] & (1u << 27))) /* OSXSAVE */
    return;
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  cpuid(0xd, 0, r);
  uint32_t size = r[1]; /* for the features enabled in XCR0 */
  if (size < 576 || XSAVE_OFFSET + size + 4 > 4096)
    return;
  g_fast.xcr0 = ((uint64_t)hi << 32) | lo;
  g_fast.xsave_size = size;
  g_fast.usable = true;
}

bool plat_fast_enabled(void) {
  return g_fast.wanted && g_fast.usable && !g_fast.off;
}

/* A new thread block: where the fast path saves the guest's state. The
 * XSAVE area carries the software bytes the kernel writes in a signal
 * frame, so the shim copies it into the guest's frames like a host one. */
void plat_fast_thread_init(struct plat_thread *t) {
  t->fast_stack = (uint64_t)(uintptr_t)t->stack_lo + t->stack_size;
  t->fast_xsave = (uint64_t)(uintptr_t)t + XSAVE_OFFSET;
  if (!g_fast.usable)
    return;
  uint32_t *sw = (uint32_t *)(uintptr_t)(t->fast_xsave + 464);
  sw[0] = FP_XSTATE_MAGIC1;
  sw[1] = g_fast.xsave_size + 4; /* extended_size */
  sw[2] = (uint32_t)g_fast.xcr0; /* xfeatures */
  sw[3] = (uint32_t)(g_fast.xcr0 >> 32);
  sw[4] = g_fast.xsave_size;
  *(uint32_t *)(uintptr_t)(t->fast_xsave + g_fast.xsave_size) =
      FP_XSTATE_MAGIC2;
}

/* Each thread's gs base is its block, before it first runs guest code. */
void plat_fast_thread_enter(struct plat_thread *t) {
  if (!g_fast.wanted || !g_fast.usable || t->gs_set)
    return;
  long r = hsys2(HNR_arch_prctl, LINUX_ARCH_SET_GS, t);
  if (r < 0)
    plat_die("internal error: cannot set the gs base", (uint64_t)-r);
  t->gs_set = true;
}

uint32_t plat_fast_fpstate_size(void) {
  return g_fast.xsave_size + 4;
}

static bool excluded(uint64_t nr) {
  switch (nr) {
  case 15:  /* rt_sigreturn: a whole context from guest memory */
  case 56:  /* clone */
  case 57:  /* fork */
  case 58:  /* vfork */
  case 59:  /* execve */
  case 322: /* execveat */
  case 435: /* clone3 */
    return true;
  case 60:  /* exit */
  case 231: /* exit_group: a process's last call. A rewrite would cost more
             * than the trap (two mprotects and a copy of the code page in
             * every forked child that ends) and never pay back. */
    return true;
  default:
    return nr >= 1024;
  }
}

static bool is_prefix(uint8_t b) {
  return (b >= 0x40 && b <= 0x4f) || b == 0x66 || b == 0x67 || b == 0xf0 ||
         b == 0xf2 || b == 0xf3 || b == 0x26 || b == 0x2e || b == 0x36 ||
         b == 0x3e || b == 0x64 || b == 0x65;
}

/* Make other threads of this process see changed code: every thread
 * running now executes a serializing instruction (membarrier's
 * SYNC_CORE; a thread that is not running does so on its way back to
 * user mode). The process registers at its first use (a forked child's
 * address space may need to register again). */
#define MEMBARRIER_SYNC_CORE 32          /* PRIVATE_EXPEDITED_SYNC_CORE */
#define MEMBARRIER_REGISTER_SYNC_CORE 64 /* REGISTER_PRIVATE_..._SYNC_CORE */
static bool sync_cores(void) {
  long r = hsys3(HNR_membarrier, MEMBARRIER_SYNC_CORE, 0, 0);
  if (r == -LINUX_EPERM &&
      hsys3(HNR_membarrier, MEMBARRIER_REGISTER_SYNC_CORE, 0, 0) == 0)
    r = hsys3(HNR_membarrier, MEMBARRIER_SYNC_CORE, 0, 0);
  return r == 0;
}

/* Cross-modified sites: where an int3 may have been seen (code_write).
 * A thread that hits one is resumed at the site (plat_fast_int3). */
#define XMOD_RECENT 64
static struct {
  uint64_t at;   /* the site being written now, or 0 */
  uint32_t seq;  /* odd while a site is being written; a futex word */
  unsigned next; /* of recent */
  uint64_t recent[XMOD_RECENT];
  bool broken; /* membarrier is not available: no cross-modification */
} g_xmod;

/* Write len bytes of guest code at addr, whose pages have guest
 * protection prot, making them writable for the moment. The caller holds
 * the memory map's lock (moat_mm_code_patch): no other thread maps,
 * unmaps or forks meanwhile. Other threads of the process may be running
 * these very bytes: then the bytes change as Linux's text_poke_bp
 * changes kernel code (the Intel SDM's rule for cross-modifying code):
 * the first byte becomes int3 and every running thread serializes; the
 * other bytes change and every thread serializes again; the first byte
 * changes last. A thread that fetches the site meanwhile sees either the
 * old instruction, the new one, or the int3, never a mix: the int3 traps
 * and plat_fast_int3 resumes that thread at the site once the write is
 * done. */
static bool code_write(uint64_t addr, const uint8_t *bytes, size_t len,
                       int prot) {
  bool others = plat_thread_count() > 1;
  if (others && (g_xmod.broken || !sync_cores())) {
    g_xmod.broken = true;
    return false;
  }
  uint64_t first = addr & ~4095ull;
  uint64_t span = ((addr + len + 4095) & ~4095ull) - first;
  bool writable = prot & LINUX_PROT_WRITE;
  if (!writable &&
      hsys3(HNR_mprotect, first, span, (prot & 7) | PROT_READ | PROT_WRITE) < 0)
    return false;
  volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)addr;
  if (!others) {
    for (size_t i = 0; i < len; i++)
      p[i] = bytes[i];
  } else {
    plat_count_entry(PE_XMOD);
    __atomic_store_n(&g_xmod.recent[g_xmod.next++ % XMOD_RECENT], addr,
                     __ATOMIC_SEQ_CST);
    __atomic_store_n(&g_xmod.at, addr, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&g_xmod.seq, 1, __ATOMIC_SEQ_CST);
    p[0] = 0xcc;
    if (!sync_cores())
      plat_die("internal error: membarrier failed while code changed", addr);
    for (size_t i = 1; i < len; i++)
      p[i] = bytes[i];
    if (!sync_cores())
      plat_die("internal error: membarrier failed while code changed", addr);
    p[0] = bytes[0];
    __atomic_store_n(&g_xmod.at, 0, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&g_xmod.seq, 1, __ATOMIC_SEQ_CST);
    plat_wake(&g_xmod.seq, 1 << 30);
  }
  if (!writable && hsys3(HNR_mprotect, first, span, prot & 7) < 0)
    plat_die("internal error: cannot restore a code page's protection", first);
  return true;
}

/* A guest thread trapped on an int3 just before rip. If it is the int3
 * of a site code_write is changing or changed, wait for the write to end
 * and say where to resume (the site, now whole); a guest's own int3
 * (the byte is still int3 once no write is under way) is its own. */
bool plat_fast_int3(uint64_t rip, uint64_t *resume) {
  uint64_t at = rip - 1;
  bool ours = false;
  for (int i = 0; i < XMOD_RECENT && !ours; i++)
    ours = __atomic_load_n(&g_xmod.recent[i], __ATOMIC_ACQUIRE) == at;
  /* A site still in the table also counts: more than XMOD_RECENT writes
   * may have ended while this thread was on its way here. */
  int used = __atomic_load_n(&g_fast.used, __ATOMIC_ACQUIRE);
  for (int k = 0; k < used && !ours; k++)
    ours = __atomic_load_n(&g_fast.sites[k].site, __ATOMIC_ACQUIRE) == at;
  if (!ours)
    return false;
  for (;;) {
    uint32_t seq = __atomic_load_n(&g_xmod.seq, __ATOMIC_ACQUIRE);
    if (!(seq & 1) || __atomic_load_n(&g_xmod.at, __ATOMIC_ACQUIRE) != at)
      break;
    plat_wait(&g_xmod.seq, seq, NULL, 0, 1000000);
  }
  uint8_t b;
  if (rt_ucopy(&b, (const void *)(uintptr_t)at, 1) || b == 0xcc)
    return false;
  plat_count_entry(PE_INT3);
  *resume = at;
  return true;
}

static bool map_table(void) {
  if (!moat_mm_range_free(FAST_TABLE, FAST_TABLE_SIZE))
    return false;
  long r = hsys6(HNR_mmap, FAST_TABLE, FAST_TABLE_SIZE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (r != (long)FAST_TABLE)
    return false;
  uint64_t *slot = (uint64_t *)(uintptr_t)FAST_TABLE;
  for (int k = 0; k < FAST_SLOTS; k++)
    slot[k] = (uint64_t)(uintptr_t)plat_fast_thunks + 16ull * (uint64_t)k;
  hsys3(HNR_mprotect, FAST_TABLE, FAST_TABLE_SIZE, PROT_READ);
  g_fast.table = true;
  return true;
}

static uint32_t le32(const volatile uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

/* The shape of the site ending at call (its bytes readable), or 0. */
static int site_kind(uint64_t call, uint64_t nr) {
  const volatile uint8_t *c = (const volatile uint8_t *)(uintptr_t)call;
  if (c[-2] != 0x0f || c[-1] != 0x05)
    return 0;
  const volatile uint8_t *p = c - 7;
  if (!is_prefix(p[-1])) {
    if (p[0] == 0xb8 && le32(p + 1) == nr && !excluded(nr))
      return SITE_MOV_EAX;
    if (p[0] == 0x4c && p[1] == 0x8b && p[2] == 0x4c && p[3] == 0x24 &&
        p[4] == 0x08)
      return SITE_MOV_R9;
  }
  if (nr != 0)
    return 0;
  p = c - 13;
  if (p[0] == 0x80 && p[1] == 0x3d && p[6] == 0 && p[7] == 0x74 &&
      p[9] == 0x31 && p[10] == 0xc0 && !is_prefix(p[-1]))
    return SITE_READ_DYN;
  p = c - 14;
  static const uint8_t fs18[10] = {0x64, 0x8b, 0x04, 0x25, 0x18,
                                   0x00, 0x00, 0x00, 0x85, 0xc0};
  for (int i = 0; i < 10; i++)
    if (p[i] != fs18[i])
      return 0;
  if (p[10] == 0x75 && !is_prefix(p[-1]))
    return SITE_READ_STATIC;
  return 0;
}

/* Sites that trapped once in this process (or in the parent before its
 * fork): a site is rewritten at its second trap. A site a process runs
 * once (a forked child's set_robust_list, start-up and exec paths) would
 * cost more to rewrite (two mprotects, a copy of the code page) than its
 * trap. Two-way sets, the older way replaced; a site that misses here
 * only waits one more trap. In the per-process hot page: a fork's child
 * that records a site pays no fault of its own for it. */
#define SEEN_SETS 32
static uint64_t g_fast_seen[SEEN_SETS][2] MOAT_PROCESS_HOT;

static bool seen_before(uint64_t call) {
  uint64_t *set = g_fast_seen[(call * 0x9e3779b97f4a7c15ull) >> 59];
  if (set[0] == call || set[1] == call)
    return true;
  set[1] = set[0];
  set[0] = call;
  return false;
}

struct rewrite {
  uint64_t call, nr;
};

/* Under the memory map's lock (moat_mm_code_patch): rewrite the site
 * ending at rw->call when it has one of the shapes above and trapped
 * before (seen_before). */
static int rewrite_site(void *arg, int prot) {
  const struct rewrite *rw = arg;
  uint64_t call = rw->call, nr = rw->nr;
  int kind = site_kind(call, nr);
  if (!kind || !seen_before(call))
    return 0;
  int slot = -1;
  for (int k = 0; k < g_fast.used && slot < 0; k++)
    if (!g_fast.sites[k].site)
      slot = k;
  if (slot < 0) {
    if (g_fast.used == FAST_SLOTS)
      return 0;
    slot = g_fast.used;
  }
  if (!g_fast.table && !map_table())
    return 0;
  const struct site_shape *sh = &g_shapes[kind];
  uint64_t site = call - sh->len;
  uint64_t entry = FAST_TABLE + 8ull * (uint64_t)slot;
  /* jmp *entry, then nops to the end of the replaced instruction */
  uint8_t jmp[8] = {0xff,
                    0x24,
                    0x25,
                    (uint8_t)entry,
                    (uint8_t)(entry >> 8),
                    (uint8_t)(entry >> 16),
                    (uint8_t)(entry >> 24),
                    0x90};
  /* The slot is whole before any thread can take the jump (code_write
   * serializes every thread before the jump's first byte appears). */
  struct fast_site *fs = &g_fast.sites[slot];
  struct fast_site entry_new = {
      .site = site, .nr = (uint32_t)nr, .kind = (uint8_t)kind, .prot = prot};
  for (int i = 0; i < sh->patch; i++)
    entry_new.orig[i] = ((const volatile uint8_t *)(uintptr_t)site)[i];
  *fs = entry_new;
  if (slot == g_fast.used)
    __atomic_store_n(&g_fast.used, g_fast.used + 1, __ATOMIC_RELEASE);
  if (!code_write(site, jmp, sh->patch, prot)) {
    fs->site = 0;
    return 0;
  }
  plat_count_entry(PE_SITES);
  if (!g_fast.lo || site < g_fast.lo)
    g_fast.lo = site;
  if (site + SHAPE_MAX_LEN > g_fast.hi)
    g_fast.hi = site + SHAPE_MAX_LEN;
  return 1;
}

/* A guest system call trapped; call is the address after its `syscall`.
 * Rewrite its site when it is one (rewrite_site). Threads of the process
 * may be running: the memory map's lock keeps their mmap, munmap,
 * mprotect and fork out, code_write the bytes they execute whole. */
void plat_fast_trap(uint64_t call, uint64_t nr) {
  if (!plat_fast_enabled() || call < 4096 + SHAPE_MAX_LEN + 1 ||
      !plat_in_guest_window(call))
    return;
  /* The `syscall` at call - 2 just ran, so its page is mapped and
   * readable: when the bytes before it share that page, look at their
   * shape before asking anything (most traps are no site to rewrite). */
  bool same_page = ((call - SHAPE_MAX_LEN - 1) >> 12) == ((call - 1) >> 12);
  if (same_page && !site_kind(call, nr))
    return;
  if (g_xmod.broken && plat_thread_count() > 1)
    return;
  /* The byte before the longest shape too: it must be no prefix. */
  struct rewrite rw = {call, nr};
  moat_mm_code_patch(call - SHAPE_MAX_LEN - 1, SHAPE_MAX_LEN + 1, rewrite_site,
                     &rw);
}

/* Rewrite every site back (the table is about to go). Their pages are
 * still mapped: a site goes from the table as soon as its page does. */
static void unpatch_all(void) {
  for (int k = 0; k < g_fast.used; k++) {
    struct fast_site *s = &g_fast.sites[k];
    if (!s->site)
      continue;
    const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)s->site;
    if ((s->prot & (LINUX_PROT_READ | LINUX_PROT_EXEC)) && p[0] == 0xff &&
        p[1] == 0x24 && p[2] == 0x25)
      code_write(s->site, s->orig, g_shapes[s->kind].patch, s->prot);
    s->site = 0;
  }
  g_fast.used = 0;
}

/* Guest memory [addr, addr + len) is about to be unmapped or replaced:
 * forget the sites there; when it covers the table, the guest is taking
 * that place: every site goes back to a plain `syscall` first. */
void plat_fast_range_gone(uint64_t addr, uint64_t len) {
  uint64_t end = addr + len;
  if (g_fast.table && addr < FAST_TABLE + FAST_TABLE_SIZE && end > FAST_TABLE) {
    unpatch_all();
    g_fast.table = false;
    g_fast.off = true;
    return;
  }
  /* A cross-modified address there is no longer moat's to resume at. */
  for (int i = 0; i < XMOD_RECENT; i++) {
    uint64_t a = __atomic_load_n(&g_xmod.recent[i], __ATOMIC_ACQUIRE);
    if (a >= addr && a < end)
      __atomic_store_n(&g_xmod.recent[i], 0, __ATOMIC_RELEASE);
  }
  if (!g_fast.used || end <= g_fast.lo || addr >= g_fast.hi)
    return;
  for (int k = 0; k < g_fast.used; k++) {
    struct fast_site *s = &g_fast.sites[k];
    if (s->site && s->site < end && s->site + g_shapes[s->kind].len > addr)
      s->site = 0;
  }
}

/* The guest changed the protection of [addr, addr + len). */
void plat_fast_range_protect(uint64_t addr, uint64_t len, int prot) {
  uint64_t end = addr + len;
  if (!g_fast.used || end <= g_fast.lo || addr >= g_fast.hi)
    return;
  for (int k = 0; k < g_fast.used; k++) {
    struct fast_site *s = &g_fast.sites[k];
    if (s->site && s->site < end && s->site + g_shapes[s->kind].len > addr)
      s->prot = prot;
  }
}

/* The arithmetic flags `test`/`cmp` with 0 leave for a value of width
 * bits (CF, OF and AF clear). */
static uint64_t flags_of(uint64_t v, int bits) {
  uint64_t f = 0;
  uint8_t low = (uint8_t)v;
  low ^= low >> 4;
  low ^= low >> 2;
  low ^= low >> 1;
  if (!(low & 1))
    f |= 0x4; /* PF: even parity of the low byte */
  if (!(v & ((bits == 64 ? 0 : 1ull << bits) - 1)))
    f |= 0x40; /* ZF */
  if (v >> (bits - 1) & 1)
    f |= 0x80; /* SF */
  return f;
}
#define FLAGS_TESTED 0x8d5ull /* CF PF AF ZF SF OF */

static void set_flags(struct moat_regs *r, uint64_t f) {
  r->rflags = (r->rflags & ~FLAGS_TESTED) | f;
}

/* Perform what slot k's site does before its `syscall`, on r (the
 * guest's registers at the jump), and say what comes next: FAST_RUN, the
 * system call runs here and returns to *ret; FAST_JUMP, the site's
 * branch leaves before the call: resume at r->rip; FAST_TRAP, r is at
 * the site's `syscall` (a number that must trap); FAST_FAULT, a load of
 * the site faults at *ret (r is at the site); FAST_NONE, the slot names
 * no site. */
int plat_fast_site(unsigned slot, struct moat_regs *r, uint64_t fs_base,
                   uint64_t *ret) {
  if (slot >= FAST_SLOTS || !g_fast.sites[slot].site)
    return FAST_NONE;
  const struct fast_site *s = &g_fast.sites[slot];
  uint64_t call = s->site + g_shapes[s->kind].len, at = 0;
  *ret = call;
  if (s->kind == SITE_MOV_EAX) { /* the common case: nothing to decode */
    r->rax = s->nr;
    return FAST_RUN;
  }
  /* The site's bytes as they were: the jump replaced the first ones. */
  uint8_t p[SHAPE_MAX_LEN];
  const volatile uint8_t *live = (const volatile uint8_t *)(uintptr_t)s->site;
  for (int i = 0; i < g_shapes[s->kind].len; i++)
    p[i] = i < g_shapes[s->kind].patch ? s->orig[i] : live[i];
  switch (s->kind) {
  case SITE_MOV_R9: {
    uint64_t v;
    at = r->rsp + 8;
    if (rt_ucopy(&v, (const void *)(uintptr_t)at, 8))
      break;
    r->r9 = v;
    if (!excluded(r->rax))
      return FAST_RUN;
    r->rip = call - 2;
    return FAST_TRAP;
  }
  case SITE_READ_DYN: {
    uint8_t b;
    at = s->site + 7 + (uint64_t)(int64_t)(int32_t)le32(p + 2);
    if (rt_ucopy(&b, (const void *)(uintptr_t)at, 1))
      break;
    if (!b) { /* cmpb: ZF, je taken */
      set_flags(r, flags_of(0, 8));
      r->rip = s->site + 9 + (uint64_t)(int64_t)(int8_t)p[8];
      return FAST_JUMP;
    }
    r->rax = 0; /* xor %eax, %eax */
    set_flags(r, flags_of(0, 32));
    return FAST_RUN;
  }
  case SITE_READ_STATIC: {
    uint32_t v;
    at = fs_base + 0x18;
    if (rt_ucopy(&v, (const void *)(uintptr_t)at, 4))
      break;
    r->rax = v;
    set_flags(r, flags_of(v, 32));
    if (v) { /* jne taken */
      r->rip = s->site + 12 + (uint64_t)(int64_t)(int8_t)p[11];
      return FAST_JUMP;
    }
    return FAST_RUN;
  }
  }
  r->rip = s->site;
  *ret = at;
  return FAST_FAULT;
}

/* A signal stopped the thread on its way into or out of the fast path,
 * while its stack was still the guest's (fast.S): make regs what the
 * guest's own state is. On the way in, the guest has not made its
 * system call: it is at its `syscall` with rax = NR. On the way out, it
 * is at its return address. */
void plat_fast_window(const struct plat_thread *t, struct moat_regs *r) {
  uint64_t rip = r->rip;
  unsigned slot;
  if (rip == (uint64_t)(uintptr_t)plat_fast_exit_jmp) {
    r->rip = t->fast_rip;
    return;
  }
  if (rip >= (uint64_t)(uintptr_t)plat_fast_thunks &&
      rip < (uint64_t)(uintptr_t)plat_fast_thunks_end)
    slot = (unsigned)((rip - (uint64_t)(uintptr_t)plat_fast_thunks) / 16);
  else if (rip >= (uint64_t)(uintptr_t)plat_fast_common &&
           rip < (uint64_t)(uintptr_t)plat_fast_switched)
    slot = (unsigned)r->rcx;
  else
    return;
  if (slot >= FAST_SLOTS || !g_fast.sites[slot].site)
    return;
  /* The jump has not been taken: the guest is at the site. */
  r->rip = g_fast.sites[slot].site;
}
