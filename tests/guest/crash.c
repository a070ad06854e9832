/* Death by a synchronous fault with no handler: SIGSEGV from a NULL write,
 * so the status is 128+11 natively and inside moat. RLIMIT_CORE is set to
 * 0 first, so the native run leaves no core file. */
#include <sys/resource.h>

#include "guest.h"

int main(void) {
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none);
  printf("about to fault\n");
  fflush(stdout);
  *(volatile int *)16 = 1;
  printf("still alive\n");
  return 0;
}
