/* The guest address space: the window every guest mapping lives in, and
 * the memory accounting that moat_sysinfo and --stats report. The calls
 * themselves are moat_mmap & co. in moat.h (core/mm.c). */
#ifndef MOAT_CORE_MM_H
#define MOAT_CORE_MM_H

#include <stdbool.h>
#include <stdint.h>

/* [MM_WINDOW_START, MM_WINDOW_END) holds every guest mapping; the libOS
 * itself lives above it (DESIGN.md, the runtime model). */
#define MM_WINDOW_START 0x10000ull
#define MM_WINDOW_END 0x400000000000ull
/* Top of the initial stack: one page below the end of the window, as
 * Linux keeps one page below the end of user space. */
#define MM_STACK_TOP 0x3ffffffff000ull
/* Linux leaves at least this much between the stack top and the highest
 * mmap placement, so the stack can grow to its rlimit. */
#define MM_STACK_GAP_MIN (128ull << 20)
/* Linux's default vm.max_map_count: how many VMAs one address space may
 * have (/proc/sys/vm/max_map_count). */
#define MM_MAX_MAP_COUNT 65530
/* Guest memory limit when the configuration says 0. */
#define MM_DEFAULT_LIMIT (8ull << 30)

/* Set up the sandbox's commit charge (moat_boot). mem_limit 0 = the
 * default. Each process's address space is attached to it when it starts
 * (mm_attach_new, mm_fork_child: core/task.h). */
int mm_init(uint64_t mem_limit);

/* The sandbox's commit charge (every process's charged mappings and the
 * in-memory file systems' pages) and its limit (--memory). */
void mm_usage(uint64_t *committed, uint64_t *limit);

/* Charge bytes of the in-memory file systems to the sandbox's commit
 * charge (-ENOMEM past --memory), or give them back. */
int mm_charge_sandbox(uint64_t bytes);
void mm_uncharge_sandbox(uint64_t bytes);

/* The process is ending: write shared file mappings back and let go of
 * their files (moat_exit_group). */
void mm_release(void);

/* System V shared memory (core/sysv_ipc.c). attach: map len bytes of the
 * pool at pool (shared memory of the arena's kind, plat_mem_alias) at
 * addr (0: anywhere; else exactly there, -EINVAL if busy unless remap),
 * as one VMA naming seg (nowrite: SHM_RDONLY, mprotect may never add
 * PROT_WRITE); the address or -errno. detach: unmap the attach that
 * starts at addr (seg_size gives its segment's size); -EINVAL if none.
 * Both take the mm lock, then (through sysv_shm_vma_open/close) the IPC
 * lock: never call them holding the IPC lock. */
long mm_shm_attach(uint64_t addr, uint64_t len, int prot, bool remap,
                   bool nowrite, const void *pool, void *seg);
int mm_shm_detach(uint64_t addr, uint64_t (*seg_size)(void *seg));

/* vm.max_map_count: the VMAs an address space may have (Linux's rules:
 * mmap fails past it, a split that would go beyond it fails; ENOMEM).
 * Kept per address space (the calling process's; a fork's child keeps
 * its parent's): the setter is for tests, and a new address space starts
 * from MM_MAX_MAP_COUNT. */
uint64_t mm_max_map_count(void);
void mm_set_max_map_count(uint64_t limit);

/* How many VMAs the calling process's address space has, or a negative
 * number when the bookkeeping's invariants do not hold (for tests). */
int mm_vma_count(void);

/* inode's size became size: this process's page cache mappings of it
 * drop their pages past the end (a touch there is then SIGBUS, as
 * Linux). Other processes see zeros there until they map them again. */
struct inode;
void mm_file_truncated(struct inode *inode, uint64_t size);

/* Call fn for every guest mapping of the calling process in address
 * order (for /proc/self/maps: another process's address space is not
 * reachable from here); stops early when fn returns non-zero and returns
 * that value. */
int mm_foreach(int (*fn)(void *ctx, uint64_t start, uint64_t end, int prot,
                         bool shared),
               void *ctx);

#endif
