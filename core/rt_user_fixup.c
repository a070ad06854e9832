/* The lookup behind moat_fault_fixup: the platform asks it when a fault
 * hits the library OS, and only the guest-memory accessors of
 * core/rt_user.S may resume. Everything else is a bug of moat. */
#include "moat/regs.h"
#include "rt.h"

/* (instruction, resume) pairs, ended by a zero pair. */
extern const uint64_t rt_user_fixups[];

uint64_t moat_fault_fixup(uint64_t rip) {
  for (const uint64_t *f = rt_user_fixups; f[0]; f += 2)
    if (f[0] == rip)
      return f[1];
  return 0;
}
