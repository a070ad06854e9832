/* The guest address space (mmap, munmap, mprotect, mremap, madvise, brk,
 * and the pointer checks moat_user_ok / moat_user_strncpy that guard every
 * guest pointer), and the process basics (ids, uname, sysinfo, clocks,
 * signal state), with Linux's documented results. Guest memory is real
 * memory of this test process inside the guest window, so the tests touch
 * it directly. */
#include <stdlib.h>
#include <string.h>

#include "mm.h"
#include "unit.h"
#include "vma.h"

#define PAGE 4096ul
#define RW (LINUX_PROT_READ | LINUX_PROT_WRITE)
#define ANON (LINUX_MAP_PRIVATE | LINUX_MAP_ANONYMOUS)
#define WINDOW_HIGH 0x400000000000ull

static uint64_t map(size_t len, int prot) {
  long a = moat_mmap(0, len, prot, ANON, -1, 0);
  ck_assert_msg(a > 0, "mmap: %ld", a);
  return (uint64_t)a;
}

START_TEST(mmap_basics) {
  boot_memfs();
  uint64_t a = map(2 * PAGE, RW);
  ck_assert_uint_eq(a % PAGE, 0);
  ck_assert_uint_ge(a, 0x10000);
  ck_assert_uint_le(a + 2 * PAGE, WINDOW_HIGH);
  ck_assert(moat_user_ok(a, 2 * PAGE, LINUX_PROT_READ | LINUX_PROT_WRITE));
  char *p = (char *)a;
  ck_assert_int_eq(p[0], 0); /* zero filled */
  memset(p, 'm', 2 * PAGE);
  ck_assert(!moat_user_ok(a, 3 * PAGE, LINUX_PROT_READ));
  ck_assert_int_eq(moat_munmap(a, 2 * PAGE), 0);
  ck_assert(!moat_user_ok(a, 1, LINUX_PROT_READ));
  /* errors */
  ck_assert_int_eq(moat_mmap(0, 0, RW, ANON, -1, 0), E(EINVAL));
  ck_assert_int_eq(moat_mmap(0, PAGE, RW, LINUX_MAP_ANONYMOUS, -1, 0),
                   E(EINVAL));
  ck_assert_int_eq(moat_mmap(a + 1, PAGE, RW, ANON | LINUX_MAP_FIXED, -1, 0),
                   E(EINVAL));
  ck_assert_int_eq(moat_munmap(a + 1, PAGE), E(EINVAL));
  ck_assert_int_eq(moat_munmap(a, 0), E(EINVAL));
  ck_assert_int_eq(moat_munmap(a, PAGE), 0); /* already unmapped: fine */
}
END_TEST

START_TEST(mmap_fixed_and_partial) {
  boot_memfs();
  uint64_t a = map(3 * PAGE, RW);
  memset((void *)a, 'x', 3 * PAGE);
  ck_assert_int_eq(moat_munmap(a + PAGE, PAGE), 0);
  ck_assert(moat_user_ok(a, PAGE, LINUX_PROT_READ));
  ck_assert(!moat_user_ok(a + PAGE, 1, LINUX_PROT_READ));
  ck_assert(moat_user_ok(a + 2 * PAGE, PAGE, LINUX_PROT_READ));
  ck_assert(!moat_user_ok(a, 3 * PAGE, LINUX_PROT_READ));
  /* MAP_FIXED replaces: the new page is zero */
  long r = moat_mmap(a + 2 * PAGE, PAGE, RW, ANON | LINUX_MAP_FIXED, -1, 0);
  ck_assert_int_eq(r, (long)(a + 2 * PAGE));
  ck_assert_int_eq(((char *)a)[2 * PAGE], 0);
  ck_assert_int_eq(((char *)a)[0], 'x');
  /* MAP_FIXED_NOREPLACE over a mapping is EEXIST */
  ck_assert_int_eq(
      moat_mmap(a, PAGE, RW, ANON | LINUX_MAP_FIXED_NOREPLACE, -1, 0),
      E(EEXIST));
  /* a fixed mapping outside the guest window is refused */
  ck_assert_int_lt(
      moat_mmap(0x7f0000000000ull, PAGE, RW, ANON | LINUX_MAP_FIXED, -1, 0), 0);
  ck_assert_int_eq(testplat_bad_fixed_maps, 0);
}
END_TEST

START_TEST(protections) {
  boot_memfs();
  uint64_t a = map(2 * PAGE, RW);
  ck_assert_int_eq(moat_mprotect(a, PAGE, LINUX_PROT_READ), 0);
  ck_assert(moat_user_ok(a, 2 * PAGE, LINUX_PROT_READ));
  ck_assert(!moat_user_ok(a, PAGE, LINUX_PROT_WRITE));
  ck_assert(moat_user_ok(a + PAGE, PAGE, LINUX_PROT_WRITE));
  ck_assert(!moat_user_ok(a, 2 * PAGE, LINUX_PROT_WRITE));
  ck_assert_int_eq(moat_mprotect(a, PAGE, LINUX_PROT_NONE), 0);
  ck_assert(!moat_user_ok(a, 1, LINUX_PROT_READ));
  ck_assert_int_eq(moat_mprotect(a + 1, PAGE, LINUX_PROT_READ), E(EINVAL));
  ck_assert_int_eq(moat_mprotect(a, PAGE, 0x100), E(EINVAL));
  ck_assert_int_eq(moat_munmap(a, 2 * PAGE), 0);
  ck_assert_int_eq(moat_mprotect(a, PAGE, LINUX_PROT_READ), E(ENOMEM));
}
END_TEST

START_TEST(mremap_madvise) {
  boot_memfs();
  uint64_t a = map(PAGE, RW);
  memset((void *)a, 'r', PAGE);
  long b = moat_mremap(a, PAGE, 4 * PAGE, LINUX_MREMAP_MAYMOVE, 0);
  ck_assert_int_gt(b, 0);
  ck_assert_int_eq(((char *)b)[PAGE - 1], 'r');
  ck_assert(moat_user_ok((uint64_t)b, 4 * PAGE, RW));
  long c = moat_mremap((uint64_t)b, 4 * PAGE, PAGE, 0, 0); /* shrink */
  ck_assert_int_eq(c, b);
  ck_assert(!moat_user_ok((uint64_t)b + PAGE, 1, LINUX_PROT_READ));
  /* growing in place into a neighbour without MAYMOVE: ENOMEM */
  uint64_t two = map(2 * PAGE, RW);
  ck_assert_int_eq(moat_mremap(two, PAGE, 2 * PAGE, 0, 0), E(ENOMEM));
  ck_assert_int_eq(moat_mremap(two + 1, PAGE, 2 * PAGE, 0, 0), E(EINVAL));
  /* MADV_DONTNEED on private anonymous memory: zero on next touch */
  memset((void *)two, 'd', 2 * PAGE);
  ck_assert_int_eq(moat_madvise(two, PAGE, LINUX_MADV_DONTNEED), 0);
  ck_assert_int_eq(((char *)two)[0], 0);
  ck_assert_int_eq(((char *)two)[PAGE], 'd');
  ck_assert_int_eq(moat_madvise(two, PAGE, LINUX_MADV_NORMAL), 0);
  ck_assert_int_eq(moat_madvise(two + 1, PAGE, LINUX_MADV_NORMAL), E(EINVAL));
  ck_assert_int_eq(moat_madvise(two, PAGE, 12345), E(EINVAL));
}
END_TEST

START_TEST(brk_moves) {
  boot_memfs();
  /* inside the window, clear of the sanitizer's shadow */
  uint64_t start = 0x200000000000ull;
  moat_brk_init(start);
  ck_assert_uint_eq(moat_brk(0), start);
  ck_assert_uint_eq(moat_brk(start + 10000), start + 10000);
  ck_assert(moat_user_ok(start, 10000, RW));
  memset((void *)start, 'b', 10000);
  ck_assert_uint_eq(moat_brk(start + 100000), start + 100000);
  ck_assert_int_eq(((char *)start)[9999], 'b');
  ck_assert_int_eq(((char *)start)[50000], 0);
  ck_assert_uint_eq(moat_brk(start + 4096), start + 4096);
  ck_assert(!moat_user_ok(start + 3 * PAGE, 1, LINUX_PROT_READ));
  /* below the start: refused, the break stays */
  ck_assert_uint_eq(moat_brk(start - PAGE), start + 4096);
  /* growing back gives zeroed memory */
  ck_assert_uint_eq(moat_brk(start + 3 * PAGE), start + 3 * PAGE);
  ck_assert_int_eq(((char *)start)[2 * PAGE + 5], 0);
}
END_TEST

START_TEST(user_pointers) {
  boot_memfs();
  /* the libOS's own memory is never guest memory */
  int local = 0;
  ck_assert(!moat_user_ok((uint64_t)(uintptr_t)&local, 4, LINUX_PROT_READ));
  ck_assert(!moat_user_ok(0, 1, LINUX_PROT_READ));
  ck_assert(!moat_user_ok(UINT64_MAX - 10, 100, LINUX_PROT_READ));
  uint64_t a = map(2 * PAGE, RW);
  ck_assert(!moat_user_ok(a, UINT64_MAX, LINUX_PROT_READ));
  char buf[64];
  strcpy((char *)a, "/some/path");
  ck_assert_int_eq(moat_user_strncpy(buf, a, sizeof buf), 10);
  ck_assert_str_eq(buf, "/some/path");
  ck_assert_int_eq(moat_user_strncpy(buf, a, 5), E(ENAMETOOLONG));
  ck_assert_int_eq(moat_user_strncpy(buf, (uint64_t)(uintptr_t) "host", 64),
                   E(EFAULT));
  /* a string that runs off the end of the mapping */
  ck_assert_int_eq(moat_munmap(a + PAGE, PAGE), 0);
  memset((void *)(a + PAGE - 8), 'z', 8);
  ck_assert_int_eq(moat_user_strncpy(buf, a + PAGE - 8, sizeof buf), E(EFAULT));
}
END_TEST

START_TEST(stack_top) {
  boot_memfs();
  uint64_t top = moat_stack_top();
  ck_assert_uint_le(top, WINDOW_HIGH);
  ck_assert_uint_gt(top, 0x100000000ull);
  ck_assert_uint_eq(top % PAGE, 0);
}
END_TEST

/* ---- process basics ---------------------------------------------------- */

START_TEST(ids_and_uname) {
  static struct moat_config cfg;
  cfg.uid = 1000;
  cfg.gid = 100;
  cfg.hostname = "box";
  boot_cfg(&cfg);
  ck_assert_int_eq(moat_getpid(), 1);
  ck_assert_int_eq(moat_gettid(), 1);
  ck_assert_int_eq(moat_getppid(), 0);
  ck_assert_uint_eq(moat_getuid(), 1000);
  ck_assert_uint_eq(moat_geteuid(), 1000);
  ck_assert_uint_eq(moat_getgid(), 100);
  ck_assert_uint_eq(moat_getegid(), 100);
  /* an unprivileged user cannot become root */
  ck_assert_int_eq(moat_setresuid(0, 0, 0), E(EPERM));
  ck_assert_int_eq(moat_setresuid((uint32_t)-1, 1000, (uint32_t)-1), 0);
  struct linux_utsname u;
  ck_assert_int_eq(moat_uname(&u), 0);
  ck_assert_str_eq(u.sysname, "Linux");
  ck_assert_str_eq(u.machine, "x86_64");
  ck_assert_str_eq(u.nodename, "box");
  int major = 0;
  ck_assert_int_eq(sscanf(u.release, "%d.", &major), 1);
  ck_assert_int_ge(major, 5);
  ck_assert_int_eq(moat_sethostname("other", 5), E(EPERM));
}
END_TEST

START_TEST(root_defaults) {
  boot_memfs();
  ck_assert_uint_eq(moat_getuid(), 0);
  ck_assert_uint_eq(moat_getgid(), 0);
  struct linux_utsname u;
  ck_assert_int_eq(moat_uname(&u), 0);
  ck_assert_str_eq(u.nodename, "moat");
  ck_assert_int_eq(moat_sethostname("renamed", 7), 0);
  ck_assert_int_eq(moat_uname(&u), 0);
  ck_assert_str_eq(u.nodename, "renamed");
  ck_assert_int_eq(moat_sethostname("x", 65), E(EINVAL));
  ck_assert_int_eq(moat_getgroups(0, NULL) >= 0, 1);
  /* the default root holds these, empty and writable */
  const char *dirs[] = {"/tmp", "/home", "/root", "/var", "/run", "/dev"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
    ck_assert_msg(ftype(dirs[i]) == LINUX_S_IFDIR, "%s", dirs[i]);
  char names[64];
  list_dir("/tmp", names, sizeof names);
  ck_assert_str_eq(names, "");
}
END_TEST

START_TEST(sysinfo_clocks) {
  boot_memfs();
  struct linux_sysinfo si;
  ck_assert_int_eq(moat_sysinfo(&si), 0);
  ck_assert_uint_gt(si.totalram, 0);
  ck_assert_uint_le(si.freeram, si.totalram);
  ck_assert_uint_ge(si.mem_unit, 1);
  ck_assert_uint_ge(si.procs, 1);
  struct linux_timespec a, b, res;
  ck_assert_int_eq(moat_clock_gettime(LINUX_CLOCK_MONOTONIC, &a), 0);
  ck_assert_int_eq(moat_clock_gettime(LINUX_CLOCK_MONOTONIC, &b), 0);
  ck_assert(b.tv_sec > a.tv_sec ||
            (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec));
  ck_assert_int_eq(moat_clock_gettime(LINUX_CLOCK_REALTIME, &a), 0);
  ck_assert_int_gt(a.tv_sec, 1600000000);
  ck_assert_int_eq(moat_clock_gettime(1000, &a), E(EINVAL));
  ck_assert_int_eq(moat_clock_getres(LINUX_CLOCK_MONOTONIC, &res), 0);
  ck_assert_int_eq(res.tv_sec, 0);
  ck_assert_int_gt(res.tv_nsec, 0);
  struct linux_timespec req = {0, 20 * 1000 * 1000};
  ck_assert_int_eq(moat_clock_gettime(LINUX_CLOCK_MONOTONIC, &a), 0);
  ck_assert_int_eq(moat_clock_nanosleep(LINUX_CLOCK_MONOTONIC, 0, &req, NULL),
                   0);
  ck_assert_int_eq(moat_clock_gettime(LINUX_CLOCK_MONOTONIC, &b), 0);
  int64_t ns = (b.tv_sec - a.tv_sec) * 1000000000ll + (b.tv_nsec - a.tv_nsec);
  ck_assert_int_ge(ns, 20 * 1000 * 1000);
  struct linux_timespec bad = {0, 1000000000};
  ck_assert_int_eq(moat_clock_nanosleep(LINUX_CLOCK_MONOTONIC, 0, &bad, NULL),
                   E(EINVAL));
  /* an absolute time in the past returns at once */
  struct linux_timespec past = {1, 0};
  ck_assert_int_eq(moat_clock_nanosleep(LINUX_CLOCK_MONOTONIC,
                                        LINUX_TIMER_ABSTIME, &past, NULL),
                   0);
}
END_TEST

START_TEST(signal_state) {
  boot_memfs();
  struct linux_sigaction act = {.handler = 0x1234,
                                .flags = LINUX_SA_SIGINFO,
                                .mask = LINUX_SIGBIT(LINUX_SIGUSR2)},
                         old;
  ck_assert_int_eq(moat_sigaction(LINUX_SIGUSR1, &act, &old), 0);
  ck_assert_uint_eq(old.handler, LINUX_SIG_DFL);
  ck_assert_int_eq(moat_sigaction(LINUX_SIGUSR1, NULL, &old), 0);
  ck_assert_uint_eq(old.handler, 0x1234);
  ck_assert(old.flags & LINUX_SA_SIGINFO);
  ck_assert_int_eq(moat_sigaction(LINUX_SIGKILL, &act, NULL), E(EINVAL));
  ck_assert_int_eq(moat_sigaction(LINUX_SIGSTOP, &act, NULL), E(EINVAL));
  ck_assert_int_eq(moat_sigaction(0, &act, NULL), E(EINVAL));
  ck_assert_int_eq(moat_sigaction(65, &act, NULL), E(EINVAL));
  /* masks: SIGKILL and SIGSTOP cannot be blocked */
  uint64_t set = LINUX_SIGBIT(LINUX_SIGUSR1) | LINUX_SIGBIT(LINUX_SIGKILL) |
                 LINUX_SIGBIT(LINUX_SIGSTOP),
           cur = 0;
  ck_assert_int_eq(moat_sigprocmask(LINUX_SIG_BLOCK, &set, NULL), 0);
  ck_assert_int_eq(moat_sigprocmask(LINUX_SIG_BLOCK, NULL, &cur), 0);
  ck_assert_uint_eq(cur, LINUX_SIGBIT(LINUX_SIGUSR1));
  ck_assert_int_eq(moat_sigprocmask(99, &set, NULL), E(EINVAL));
  /* a blocked signal stays pending */
  ck_assert_int_eq(moat_kill(moat_getpid(), LINUX_SIGUSR1), 0);
  uint64_t pending = 0;
  ck_assert_int_eq(moat_sigpending(&pending), 0);
  ck_assert_uint_eq(pending, LINUX_SIGBIT(LINUX_SIGUSR1));
  struct linux_siginfo info;
  struct linux_sigaction what;
  ck_assert_int_eq(moat_signal_dequeue(&info, &what), 0);
  /* unblocked, it is dequeued with its siginfo */
  ck_assert_int_eq(moat_sigprocmask(LINUX_SIG_UNBLOCK, &set, NULL), 0);
  ck_assert_int_eq(moat_signal_dequeue(&info, &what), LINUX_SIGUSR1);
  ck_assert_int_eq(info.si_signo, LINUX_SIGUSR1);
  ck_assert_int_eq(info.si_code, LINUX_SI_USER);
  ck_assert_int_eq(info.u.kill.pid, 1);
  ck_assert_uint_eq(what.handler, 0x1234);
  ck_assert_int_eq(moat_signal_dequeue(&info, &what), 0);
  /* kill with signal 0 checks existence; other pids are not there */
  ck_assert_int_eq(moat_kill(1, 0), 0);
  ck_assert_int_eq(moat_kill(4242, 0), E(ESRCH));
  ck_assert_int_eq(moat_kill(1, 99), E(EINVAL));
  /* an ignored signal is discarded */
  struct linux_sigaction ign = {.handler = LINUX_SIG_IGN};
  ck_assert_int_eq(moat_sigaction(LINUX_SIGUSR2, &ign, NULL), 0);
  ck_assert_int_eq(moat_kill(1, LINUX_SIGUSR2), 0);
  ck_assert_int_eq(moat_sigpending(&pending), 0);
  ck_assert_uint_eq(pending, 0);
}
END_TEST

/* --memory: one commit charge for the sandbox, counted as Linux's strict
 * overcommit (core/mm.c, docs/processes.md "Memory accounting"). */
START_TEST(commit_charge) {
  static struct moat_config cfg;
  cfg.mem_limit = 16ul << 20;
  boot_cfg(&cfg);
  uint64_t c0, limit;
  mm_usage(&c0, &limit);
  ck_assert_uint_eq(limit, 16ul << 20);
  /* PROT_NONE and read-only private mappings are not charged. */
  uint64_t none = map(64ul << 20, LINUX_PROT_NONE);
  uint64_t ro = map(64ul << 20, LINUX_PROT_READ);
  uint64_t c;
  mm_usage(&c, &limit);
  ck_assert_uint_eq(c, c0);
  /* Writable private mappings are, up to the limit. */
  uint64_t rw = map(8ul << 20, RW);
  mm_usage(&c, &limit);
  ck_assert_uint_eq(c, c0 + (8ul << 20));
  ck_assert_int_eq(moat_mmap(0, 12ul << 20, RW, ANON, -1, 0), E(ENOMEM));
  ck_assert_int_eq(moat_mprotect(none, 12ul << 20, RW), E(ENOMEM));
  ck_assert_int_eq(moat_mprotect(none, 4ul << 20, RW), 0);
  ck_assert_int_eq(
      moat_mremap(rw, 8ul << 20, 16ul << 20, LINUX_MREMAP_MAYMOVE, 0),
      E(ENOMEM));
  /* Shared anonymous memory is charged whatever its protection. */
  ck_assert_int_eq(moat_mmap(0, 8ul << 20, LINUX_PROT_READ,
                             LINUX_MAP_SHARED | LINUX_MAP_ANONYMOUS, -1, 0),
                   E(ENOMEM));
  /* munmap gives the charge back. */
  ck_assert_int_eq(moat_munmap(rw, 8ul << 20), 0);
  ck_assert_int_eq(moat_munmap(none, 4ul << 20), 0);
  mm_usage(&c, &limit);
  ck_assert_uint_eq(c, c0);
  /* memfs pages count too: a file may not grow past the limit. */
  int fd =
      moat_openat(LINUX_AT_FDCWD, "/tmp/f", LINUX_O_CREAT | LINUX_O_RDWR, 0600);
  ck_assert_int_ge(fd, 0);
  static char buf[1 << 20];
  long total = 0, n;
  while ((n = moat_write(fd, buf, sizeof(buf))) > 0)
    total += n;
  ck_assert_int_eq(n, E(ENOSPC));
  ck_assert_int_le(total, 16l << 20);
  ck_assert_int_ge(total, 15l << 20);
  ck_assert_int_eq(moat_ftruncate(fd, 0), 0);
  mm_usage(&c, &limit);
  ck_assert_uint_eq(c, c0);
  moat_close(fd);
  moat_munmap(ro, 64ul << 20);
  moat_munmap(none + (4ul << 20), 60ul << 20);
}
END_TEST

/* The VMA set (core/vma_tree.c) against a plain array: random inserts,
 * removals, moved ends and free-range searches, with the tree's
 * invariants (order, links, AVL balance, subtree gaps) checked after
 * every step. Units of one "page" in [base, top). */
#define T_BASE 16u
#define T_TOP 2048u
START_TEST(vma_tree_model) {
  static struct vma *at[T_TOP]; /* the node covering each unit, or NULL */
  struct vma_tree t;
  vma_tree_init(&t, T_BASE, T_TOP);
  srand(12345);
  uint64_t count = 0;
  for (int step = 0; step < 20000; step++) {
    int op = rand() % 8;
    uint64_t a = T_BASE + (uint64_t)rand() % (T_TOP - T_BASE);
    if (op < 4) { /* insert [a, a+len) if free */
      uint64_t len = 1 + (uint64_t)rand() % 8, e = a + len;
      bool free_range = e <= T_TOP;
      for (uint64_t u = a; free_range && u < e; u++)
        free_range = !at[u];
      if (free_range) {
        struct vma *n = calloc(1, sizeof(*n));
        n->start = a;
        n->end = e;
        vma_tree_insert(&t, n);
        for (uint64_t u = a; u < e; u++)
          at[u] = n;
        count++;
      }
    } else if (op < 6 && at[a]) { /* erase */
      struct vma *v = at[a];
      for (uint64_t u = v->start; u < v->end; u++)
        at[u] = NULL;
      vma_tree_erase(&t, v);
      free(v);
      count--;
    } else if (op == 6 && at[a] && at[a]->end - at[a]->start > 1) {
      struct vma *v = at[a]; /* shrink its end by one */
      at[--v->end] = NULL;
      vma_tree_end_changed(&t, v);
    }
    ck_assert_int_eq(vma_tree_check(&t), 0);
    ck_assert_uint_eq(t.count, count);
    /* find: the first node ending above a */
    struct vma *want = NULL;
    for (uint64_t u = a; u < T_TOP && !want; u++)
      want = at[u];
    ck_assert_ptr_eq(vma_tree_find(&t, a), want);
    /* the highest free run of len units ending at or below limit */
    uint64_t len = 1 + (uint64_t)rand() % 12;
    uint64_t limit = T_BASE + (uint64_t)rand() % (T_TOP - T_BASE + 1);
    uint64_t best = 0;
    for (uint64_t s = limit >= len ? limit - len : 0; s >= T_BASE && !best;
         s--) {
      bool ok = true;
      for (uint64_t u = s; ok && u < s + len; u++)
        ok = !at[u];
      if (ok)
        best = s;
    }
    ck_assert_uint_eq(vma_tree_gap_top_down(&t, len, limit), best);
  }
  for (struct vma *v = t.first, *n; v; v = n) {
    n = v->next;
    vma_tree_erase(&t, v);
    free(v);
  }
  ck_assert_ptr_null(t.root);
  ck_assert_uint_eq(t.count, 0);
}
END_TEST

static long map_fixed(uint64_t addr, size_t len, int prot) {
  return moat_mmap(addr, len, prot, ANON | LINUX_MAP_FIXED, -1, 0);
}

/* vm.max_map_count with Linux's rules, on a small limit: mmap works while
 * the count is at most the limit (so it ends one past it), a split that
 * adds a VMA needs the count below it, a split whose piece merges with a
 * neighbour instead costs nothing. */
START_TEST(map_count_limit) {
  boot_memfs();
  ck_assert_uint_eq(mm_max_map_count(), 65530);
  int c0 = mm_vma_count();
  ck_assert_int_ge(c0, 0);
  uint64_t lim = (uint64_t)c0 + 8;
  mm_set_max_map_count(lim);
  uint64_t base = map(64 * PAGE, RW);
  ck_assert_int_eq(moat_munmap(base, 64 * PAGE), 0);
  ck_assert_int_eq(map_fixed(base, 3 * PAGE, RW), (long)base);
  /* Single pages with a hole between each: no merging. */
  uint64_t i = 0;
  long r;
  while ((r = map_fixed(base + (4 + 2 * i) * PAGE, PAGE, LINUX_PROT_READ)) > 0)
    i++;
  ck_assert_int_eq(r, E(ENOMEM));
  ck_assert_uint_eq(i, lim - (uint64_t)c0);
  ck_assert_int_eq(mm_vma_count(), (int)lim + 1);
  /* Middle splits: refused, nothing changes. */
  ck_assert_int_eq(moat_mprotect(base + PAGE, PAGE, LINUX_PROT_READ),
                   E(ENOMEM));
  ck_assert_int_eq(moat_munmap(base + PAGE, PAGE), E(ENOMEM));
  ck_assert(moat_user_ok(base, 3 * PAGE, RW));
  /* An edge split for mprotect needs room too; for munmap it does not. */
  ck_assert_int_eq(moat_mprotect(base, PAGE, LINUX_PROT_READ), E(ENOMEM));
  ck_assert_int_eq(moat_munmap(base, PAGE), 0);
  ck_assert_int_eq(mm_vma_count(), (int)lim + 1);
  /* [base+P, base+3P) RW, then read-only pages at base+4P, base+6P, ...
   * Drop one, fill base+3P read-only: it joins base+4P's (count lim). */
  ck_assert_int_eq(moat_munmap(base + 6 * PAGE, PAGE), 0);
  ck_assert_int_eq(map_fixed(base + 3 * PAGE, PAGE, LINUX_PROT_READ),
                   (long)(base + 3 * PAGE));
  ck_assert_int_eq(mm_vma_count(), (int)lim);
  ck_assert_int_eq(map_fixed(base + 6 * PAGE, PAGE, RW),
                   (long)(base + 6 * PAGE));
  ck_assert_int_eq(mm_vma_count(), (int)lim + 1);
  ck_assert_int_eq(map_fixed(base + 62 * PAGE, PAGE, RW), E(ENOMEM));
  /* The tail page of the RW pair turns read-only: it joins the next VMA
   * instead of splitting (Linux's vma_modify), allowed at the limit; and
   * back. */
  ck_assert_int_eq(moat_mprotect(base + 2 * PAGE, PAGE, LINUX_PROT_READ), 0);
  ck_assert_int_eq(mm_vma_count(), (int)lim + 1);
  ck_assert_int_eq(moat_mprotect(base + 2 * PAGE, PAGE, RW), 0);
  ck_assert_int_eq(mm_vma_count(), (int)lim + 1);
  /* mremap that must move keeps Linux's margin of three. */
  ck_assert_int_eq(
      moat_mremap(base + PAGE, 2 * PAGE, 4 * PAGE, LINUX_MREMAP_MAYMOVE, 0),
      E(ENOMEM));
  mm_set_max_map_count(65530);
  long moved =
      moat_mremap(base + PAGE, 2 * PAGE, 4 * PAGE, LINUX_MREMAP_MAYMOVE, 0);
  ck_assert_int_gt(moved, 0);
  ck_assert_int_ne(moved, (long)(base + PAGE));
  ck_assert_int_ge(mm_vma_count(), 0);
}
END_TEST

Suite *suite_mm(void) {
  Suite *s = suite_create("mm");
  TCase *tc = unit_tcase(s, "mm");
  tcase_add_test(tc, mmap_basics);
  tcase_add_test(tc, mmap_fixed_and_partial);
  tcase_add_test(tc, protections);
  tcase_add_test(tc, mremap_madvise);
  tcase_add_test(tc, brk_moves);
  tcase_add_test(tc, user_pointers);
  tcase_add_test(tc, stack_top);
  tcase_add_test(tc, commit_charge);
  tcase_add_test(tc, vma_tree_model);
  tcase_add_test(tc, map_count_limit);
  return s;
}

Suite *suite_proc(void) {
  Suite *s = suite_create("proc");
  TCase *tc = unit_tcase(s, "proc");
  tcase_add_test(tc, ids_and_uname);
  tcase_add_test(tc, root_defaults);
  tcase_add_test(tc, sysinfo_clocks);
  tcase_add_test(tc, signal_state);
  return s;
}
