/* plat_space_reap on the Linux platform: the host-level ends of this process's
 * children (guest processes it forked, and orphans the host hands to the
 * sandbox's first process: the init of the PID namespace, or a child
 * subreaper without one, see lockdown.c). The host SIGCHLD is caught
 * (context.c) and only noted here; the core asks at its safe points, so
 * an end costs one wait4 and nothing is collected while nothing ended.
 * A host child not yet collected stays a host zombie until then. After
 * lockdown: gate only (wait4 with pid -1, WNOHANG|__WALL and no rusage,
 * pinned by the filter). */
#include <sys/wait.h>

#include "moat/hot.h"
#include "plat_linux.h"

/* Private to the host process. Set by the SIGCHLD handler, cleared by
 * plat_space_reap before it asks the host, so an end that comes in between is
 * never lost. */
static uint32_t g_child_ended MOAT_PROCESS_HOT;

void plat_reap_note(void) {
  __atomic_store_n(&g_child_ended, 1, __ATOMIC_SEQ_CST);
}

int plat_space_reap(int *how) {
  if (!__atomic_load_n(&g_child_ended, __ATOMIC_SEQ_CST))
    return 0;
  plat_count(PF_REAP);
  __atomic_store_n(&g_child_ended, 0, __ATOMIC_SEQ_CST);
  int status = 0;
  long r = hsys4(HNR_wait4, -1, &status, WNOHANG | __WALL, 0);
  if (r <= 0)
    return 0; /* none ended (0), or no children at all (-ECHILD) */
  /* More may have ended under the same signal: look again next time. */
  __atomic_store_n(&g_child_ended, 1, __ATOMIC_SEQ_CST);
  /* A thread of it that died asleep in plat_wait left its entry. */
  plat_linux_wait_forget((int)r);
  if (WIFSIGNALED(status))
    *how = WTERMSIG(status);
  else if (WIFEXITED(status))
    *how = WEXITSTATUS(status) << 8;
  else
    *how = LINUX_SIGKILL; /* wait4 reports only ends here */
  return r > 0x7fffffff ? 0 : (int)r;
}
