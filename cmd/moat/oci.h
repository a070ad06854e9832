/* moat as an OCI runtime (cmd/moat/oci.c, docs/oci.md): the command line
 * container engines call as they call runc. */
#ifndef MOAT_CMD_OCI_H
#define MOAT_CMD_OCI_H

#include <stdbool.h>

#include "options.h"

/* argv is a runtime command (create, start, state, kill, delete, list,
 * ps, exec, features, spec, or run with a bundle or after global runtime
 * options) rather than `moat run PROGRAM`. */
bool oci_command(int argc, char **argv);

/* Carry the command out; returns the process's exit status. */
int oci_main(int argc, char **argv);

/* cmd/moat/main.c: run the sandbox opts describes in this process and
 * return its exit status. */
int run_main(struct run_options *opts);

#endif
