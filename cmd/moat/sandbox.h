/* Turning the runner's options into a sandbox description: host grants,
 * the root file system, the guest's environment (cmd/moat/sandbox.c). */
#ifndef MOAT_CMD_SANDBOX_H
#define MOAT_CMD_SANDBOX_H

#include "moat/moat.h"
#include "options.h"

/* Fill cfg from o, opening the host grants and mapping a root image
 * through the platform. Runs in the sandbox's process before lockdown.
 * Returns 0, or prints one "moat: ..." line and returns -1. */
int sandbox_config(const struct run_options *o, struct moat_config *cfg);

/* The guest's initial environment: a small clean set (PATH, HOME, TERM if
 * the host has one), then every --env in order, a later NAME replacing an
 * earlier one. NULL-terminated; allocated, lives until exit. */
const char *const *sandbox_environment(const struct run_options *o);

#endif
