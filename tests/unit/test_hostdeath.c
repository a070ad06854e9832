/* Guest processes that end at host level without the core's exit path
 * (docs/processes.md, "Host-level deaths"): the bookkeeping of core/task.c
 * and core/rt_lock.c on the test platform, whose plat_space_clone is a real
 * fork and whose plat_space_reap is a real waitpid. A child that kills itself
 * from the host stands for one killed from outside; the parent must see
 * it as killed by that signal, its pipe ends closed, its slots free, and
 * a child that died holding an arena lock must end the whole sandbox
 * (status 125 and one "moat: " line). */
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "mm.h"
#include "rt.h"
#include "task.h"
#include "unit.h"

#define WEXITED 4
#define WNOHANG 1

/* The host pid of guest process pid. */
static int host_pid_of(int pid) {
  struct proc *p = task_find_proc(pid);
  ck_assert_ptr_nonnull(p);
  return p->host->id;
}

/* Collect host ends until only pid 1's record is left. */
static void settle_hosts(void);

/* The task-table records of host processes in use. */
static int hosts_used(void) {
  int n = 0;
  for (uint32_t i = 0; i < g_task_table->nhosts; i++)
    n += g_task_table->hosts[i].used != 0;
  return n;
}

static void settle_hosts(void) {
  for (int i = 0; i < 400 && hosts_used() > 1; i++) {
    task_reap_poll();
    usleep(5000);
  }
}

START_TEST(lock_count_is_per_arena_lock) {
  boot_memfs();
  ck_assert_uint_eq(rt_lock_held(), 0);
  struct rt_lock *shared = kzalloc(sizeof(*shared));
  ck_assert_ptr_nonnull(shared);
  struct rt_lock private_lock = {0};
  rt_lock(shared);
  ck_assert_uint_eq(rt_lock_held(), 1);
  rt_lock(&private_lock); /* outside the arena: nobody else can wait on it */
  ck_assert_uint_eq(rt_lock_held(), 1);
  ck_assert(!rt_trylock(shared));
  ck_assert_uint_eq(rt_lock_held(), 1);
  rt_unlock(&private_lock);
  rt_unlock(shared);
  ck_assert_uint_eq(rt_lock_held(), 0);
  ck_assert(rt_trylock(shared));
  ck_assert_uint_eq(rt_lock_held(), 1);
  rt_unlock(shared);
  ck_assert_uint_eq(rt_lock_held(), 0);
  kfree(shared);
}
END_TEST

START_TEST(killed_child_ends_as_killed) {
  boot_memfs();
  int p[2];
  ck_assert_int_eq(moat_pipe2(p, 0), 0);
  int before = (int)g_task_table->ntasks;
  int pid = moat_fork(0);
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    /* The child: killed at host level while it holds the write end. */
    moat_close(p[0]);
    kill(getpid(), SIGKILL);
    for (;;)
      pause();
  }
  ck_assert_int_eq(moat_close(p[1]), 0);
  struct moat_wait_info info;
  ck_assert_int_eq(moat_wait(MOAT_P_PID, pid, WEXITED, &info), pid);
  ck_assert_int_eq(info.status, LINUX_SIGKILL); /* WIFSIGNALED, SIGKILL */
  ck_assert_int_eq(info.code, 2 /* CLD_KILLED */);
  ck_assert_int_eq(info.value, LINUX_SIGKILL);
  char c;
  ck_assert_int_eq(moat_read(p[0], &c, 1), 0); /* EOF: its end was closed */
  ck_assert_int_eq((int)g_task_table->ntasks, before);
  ck_assert_int_eq(hosts_used(), 1); /* pid 1's own */
  ck_assert_int_eq(moat_wait(MOAT_P_ALL, 0, WEXITED, &info), E(ECHILD));
}
END_TEST

/* A child's commit charge (--memory) is taken at fork and given back by
 * the collector when the child dies at host level, and by the exit path
 * when it exits; a fork whose child would not fit fails with ENOMEM. */
START_TEST(charge_returns_at_host_death) {
  static struct moat_config cfg;
  cfg.mem_limit = 64ul << 20;
  boot_cfg(&cfg);
  long a = moat_mmap(0, 24ul << 20, LINUX_PROT_READ | LINUX_PROT_WRITE,
                     LINUX_MAP_PRIVATE | LINUX_MAP_ANONYMOUS, -1, 0);
  ck_assert_int_gt(a, 0);
  uint64_t c0, c, limit;
  mm_usage(&c0, &limit);
  for (int how = 0; how < 2; how++) {
    int pid = moat_fork(0);
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
      if (how == 0)
        kill(getpid(), SIGKILL);
      moat_exit_group(0);
    }
    struct moat_wait_info info;
    ck_assert_int_eq(moat_wait(MOAT_P_PID, pid, WEXITED, &info), pid);
    settle_hosts();
    mm_usage(&c, &limit);
    ck_assert_uint_eq(c, c0);
  }
  /* With 12 MiB more, a second copy of the 36 MiB does not fit in 64. */
  long b = moat_mmap(0, 12ul << 20, LINUX_PROT_READ | LINUX_PROT_WRITE,
                     LINUX_MAP_PRIVATE | LINUX_MAP_ANONYMOUS, -1, 0);
  ck_assert_int_gt(b, 0);
  int pid = moat_fork(0);
  if (pid == 0)
    moat_exit_group(0); /* must not happen; the parent's check fails */
  ck_assert_int_eq(pid, E(ENOMEM));
  mm_usage(&c, &limit);
  ck_assert_uint_eq(c, c0 + (12ul << 20));
}
END_TEST

START_TEST(exit_without_exit_path_is_sigkill) {
  boot_memfs();
  int pid = moat_fork(0);
  ck_assert_int_ge(pid, 0);
  if (pid == 0)
    _exit(125); /* as rt_panic or an internal fault would */
  struct moat_wait_info info;
  ck_assert_int_eq(moat_wait(MOAT_P_PID, pid, WEXITED, &info), pid);
  ck_assert_int_eq(info.status, LINUX_SIGKILL);
}
END_TEST

START_TEST(normal_exit_is_not_ended_twice) {
  boot_memfs();
  int pid = moat_fork(0);
  ck_assert_int_ge(pid, 0);
  if (pid == 0)
    moat_exit_group(3);
  struct moat_wait_info info;
  ck_assert_int_eq(moat_wait(MOAT_P_PID, pid, WEXITED, &info), pid);
  ck_assert_int_eq(info.status, 3 << 8);
  /* The host end is collected too and its record freed. */
  settle_hosts();
  ck_assert_int_eq(hosts_used(), 1);
  ck_assert_int_eq(moat_wait(MOAT_P_ALL, 0, WEXITED | WNOHANG, &info),
                   E(ECHILD));
}
END_TEST

START_TEST(orphan_goes_to_pid_1) {
  /* As lockdown makes the first guest process (without a PID namespace):
   * orphans come to it at host level too. */
  ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  boot_memfs();
  int p[2];
  ck_assert_int_eq(moat_pipe2(p, 0), 0);
  int child = moat_fork(0);
  ck_assert_int_ge(child, 0);
  if (child == 0) {
    int grandchild = moat_fork(0);
    if (grandchild == 0) {
      /* Waits for its parent to be gone, then tells pid 1 its ppid. */
      moat_close(p[0]);
      char c;
      while (moat_getppid() != 1)
        usleep(1000);
      c = (char)moat_getppid();
      moat_write(p[1], &c, 1);
      moat_exit_group(0);
    }
    kill(getpid(), SIGKILL);
  }
  moat_close(p[1]);
  struct moat_wait_info info;
  ck_assert_int_eq(moat_wait(MOAT_P_PID, child, WEXITED, &info), child);
  ck_assert_int_eq(info.status, LINUX_SIGKILL);
  char c = 0;
  ck_assert_int_eq(moat_read(p[0], &c, 1), 1);
  ck_assert_int_eq(c, 1);
  /* The grandchild is pid 1's to wait for now. */
  int r = moat_wait(MOAT_P_ALL, 0, WEXITED, &info);
  ck_assert_int_gt(r, 0);
  ck_assert_int_eq(info.status, 0);
  settle_hosts();
  ck_assert_int_eq(hosts_used(), 1);
}
END_TEST

START_TEST(death_holding_a_lock_ends_the_sandbox) {
  boot_memfs();
  struct rt_lock *l = kzalloc(sizeof(*l));
  ck_assert_ptr_nonnull(l);
  int pid = moat_fork(0);
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    rt_lock(l);
    kill(getpid(), SIGKILL);
    for (;;)
      pause();
  }
  testplat_reset_output();
  jmp_buf out;
  testplat_exit_jump = &out;
  if (setjmp(out) == 0) {
    struct moat_wait_info info;
    moat_wait(MOAT_P_PID, pid, WEXITED, &info);
    ck_abort_msg("the sandbox went on after a death holding a lock");
  }
  testplat_exit_jump = NULL;
  ck_assert_int_eq(testplat_exit_status, 125);
  size_t len;
  const char *err = testplat_output(2, &len);
  ck_assert_msg(strstr(err, "moat: guest process") &&
                    strstr(err, "holding a lock of the sandbox"),
                "stderr: %s", err);
  ck_assert_ptr_eq(strchr(err, '\n'), err + len - 1); /* one line */
  ck_assert_uint_ne(g_task_table->doomed, 0);
}
END_TEST

START_TEST(death_waiting_for_a_lock_does_not) {
  boot_memfs();
  struct rt_lock *l = kzalloc(sizeof(*l));
  ck_assert_ptr_nonnull(l);
  rt_lock(l);
  int pid = moat_fork(0);
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    rt_lock(l); /* the parent holds it: sleeps here, holding nothing */
    _exit(9);
  }
  usleep(50000);
  kill(host_pid_of(pid), SIGKILL);
  rt_unlock(l);
  struct moat_wait_info info;
  ck_assert_int_eq(moat_wait(MOAT_P_PID, pid, WEXITED, &info), pid);
  ck_assert_int_eq(info.status, LINUX_SIGKILL);
  ck_assert_uint_eq(g_task_table->doomed, 0);
}
END_TEST

Suite *suite_hostdeath(void) {
  Suite *s = suite_create("hostdeath");
  TCase *tc = unit_tcase(s, "hostdeath");
  tcase_add_test(tc, lock_count_is_per_arena_lock);
  tcase_add_test(tc, killed_child_ends_as_killed);
  tcase_add_test(tc, exit_without_exit_path_is_sigkill);
  tcase_add_test(tc, charge_returns_at_host_death);
  tcase_add_test(tc, normal_exit_is_not_ended_twice);
  tcase_add_test(tc, orphan_goes_to_pid_1);
  tcase_add_test(tc, death_holding_a_lock_ends_the_sandbox);
  tcase_add_test(tc, death_waiting_for_a_lock_does_not);
  return s;
}
