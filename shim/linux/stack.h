/* The initial stack builder of the Linux shim (stack.c). */
#ifndef MOAT_SHIM_LINUX_STACK_H
#define MOAT_SHIM_LINUX_STACK_H

#include <stddef.h>
#include <stdint.h>

#include "elf.h"

/* Map the stack (RLIMIT_STACK's size) below moat_stack_top() and lay out argc,
 * argv, envp, the auxiliary vector and their strings as Linux does for img.
 * *sp_out receives the initial stack pointer (16-byte aligned, pointing
 * at argc). Returns 0 or a negative errno with a reason in why. */
int linux_stack_build(const struct linux_image *img, int argc,
                      const char *const *argv, const char *const *envp,
                      const char *execfn, uint64_t *sp_out, char *why,
                      size_t whylen);

#endif
